# frozen_string_literal: true

require "spec_helper"
require "fileutils"
require "timeout"
require "tmpdir"
require_relative "support/temp_domain"

# Issue 21: loading a hostile export from Ruby neither hangs nor reads outside the domain,
# and a load of a huge tree can be interrupted (Timeout, Thread#kill, Ctrl-C).
RSpec.describe "MiqAutomate::Engine.new on a hostile datastore" do
  around do |example|
    Dir.mktmpdir("miq-hostile") do |dir|
      @dir = File.realpath(dir)
      example.run
    end
  end

  let(:domain) { TempDomain.write(@dir, { "m" => "exit MIQ_OK\n" }) }
  let(:body) { File.join(domain, "Demo/Run.class/__methods__/m.rb") }

  # Every example must end: a hang fails it instead of blocking the suite.
  def within(seconds = 10, &block)
    Timeout.timeout(seconds, &block)
  end

  it "refuses a FIFO method body up front, naming it" do
    FileUtils.rm_f(body)
    File.mkfifo(body)
    expect { within { MiqAutomate::Engine.new(datastore: domain) } }
      .to raise_error(MiqAutomate::DatastoreError, /#{Regexp.escape(body)}: a FIFO, not a regular file: refused/)
  end

  it "refuses a method body linked outside the domain, without quoting it" do
    FileUtils.rm_f(body)
    File.symlink("/etc/passwd", body)
    expect { within { MiqAutomate::Engine.new(datastore: domain) } }.to raise_error(MiqAutomate::DatastoreError) { |e|
      expect(e.message).to include("#{body}: a symbolic link resolving outside the domain directory: refused")
      expect(e.message).not_to include("root:")
    }
  end

  it "loads a namespace that links to itself twice once" do
    File.symlink(".", File.join(domain, "Demo/loop1"))
    File.symlink(".", File.join(domain, "Demo/loop2"))
    engine = within { MiqAutomate::Engine.new(datastore: domain) }
    expect(engine.datastore.stats).to include(classes: 1, instances: 1, methods: 1)
  end

  it "is interrupted by Timeout.timeout while it loads a huge tree" do
    # 2,000 instances, each a hard link to one 256 KiB YAML file that is slow to parse: the
    # whole load takes many seconds, the interrupted one stops between two files.
    klass = File.join(domain, "Demo/Run.class")
    junk = +"  junk:\n"
    junk << "  - {a: 1, b: [x, y, z], c: 'some text'}\n" while junk.bytesize < 256 * 1024
    first = File.join(klass, "huge0.yaml")
    File.write(first, "---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: huge\n#{junk}")
    (1...2000).each { |i| File.link(first, File.join(klass, "huge#{i}.yaml")) }

    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect { Timeout.timeout(1) { MiqAutomate::Engine.new(datastore: domain) } }.to raise_error(Timeout::Error)
    took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    expect(took).to be < 3
  end
end
