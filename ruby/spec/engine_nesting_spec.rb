# frozen_string_literal: true

require "spec_helper"
require "fileutils"
require "tmpdir"

# Issue 18: instantiations nest at most 64 levels (relationships, `$evm.instantiate` from
# methods, nested state machines). Past it the engine stops with an error naming the limit
# and the chain, where an unbounded recursion would end in SystemStackError or a crash, on
# the main thread as in a Thread (whose machine stack is 1 MiB). The domain is written here:
# Nest/Chain/Link is a chain of 10,000 instances, each with a relationship to the next;
# Nest/Chain/Rec's `.missing` runs `recurse`, which instantiates /Chain/Rec/r<depth + 1>.
RSpec.describe "MiqAutomate::Engine's nesting limit" do
  limit = 64

  def self.write(path, text)
    FileUtils.mkdir_p(File.dirname(path))
    File.write(path, text)
  end

  def self.field(name, aetype, default)
    "  - field:\n      aetype: #{aetype}\n      name: #{name}\n      datatype: string\n      priority: 1\n      " \
      "default_value: \"#{default}\"\n      message: create\n"
  end

  def self.klass(dir, name, field)
    write(File.join(dir, "Chain/#{name}.class/__class__.yaml"),
          "---\nobject_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: #{name}\n  schema:\n#{field}")
  end

  def self.instance(dir, klass, name, fields = {})
    values = fields.map { |f, v| "  - #{f}:\n      value: \"#{v}\"\n" }.join
    file = name == ".missing" ? "_missing" : name
    write(File.join(dir, "Chain/#{klass}.class/#{file}.yaml"),
          "---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: #{name}\n  fields:\n#{values}")
  end

  def self.method_file(dir, klass, name, body)
    write(File.join(dir, "Chain/#{klass}.class/__methods__/#{name}.yaml"),
          "---\nobject_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: #{name}\n    scope: instance\n    " \
          "language: ruby\n    location: inline\n  inputs: []\n")
    write(File.join(dir, "Chain/#{klass}.class/__methods__/#{name}.rb"), body)
  end

  dir = File.join(Dir.mktmpdir("miq-nesting"), "Nest")
  write(File.join(dir, "__domain__.yaml"),
        "---\nobject_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: Nest\n    priority: 10\n    enabled: true\n")
  write(File.join(dir, "Chain/__namespace__.yaml"),
        "---\nobject_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: Chain\n")
  klass(dir, "Link", field("next", "relationship", ""))
  10_000.times { |i| instance(dir, "Link", "link#{i}", "next" => i < 9_999 ? "/Chain/Link/link#{i + 1}" : "") }
  klass(dir, "Rec", field("run", "method", "recurse"))
  instance(dir, "Rec", ".missing")
  instance(dir, "Rec", "self")
  method_file(dir, "Rec", "recurse", <<~RUBY)
    depth = $evm.root["depth"].to_i + 1
    $evm.root["depth"] = depth
    # A distinct instance each level (through .missing), or the same one again.
    target = $evm.root["same"] ? "/Chain/Rec/self?n=\#{depth}" : "/Chain/Rec/r\#{depth}"
    $evm.root["got\#{depth}"] = !$evm.instantiate(target).nil?
  RUBY

  after(:context) { FileUtils.rm_rf(File.dirname(dir)) }

  let(:engine) { build_engine(datastore: dir) }

  def chain_error(engine)
    engine.instantiate("/Chain/Link/link0")
  rescue MiqAutomate::Error => e
    e
  end

  [["on the main thread", ->(&b) { b.call }],
   ["in a Thread (1 MiB of machine stack)", ->(&b) { Thread.new(&b).value }]].each do |where, run|
    context where do
      it "stops a relationship chain of 10,000 at the limit: an error naming it and the chain" do
        error = run.call { chain_error(engine) }
        expect(error).to be_a(MiqAutomate::Error)
        expect(error.message).to start_with(
          "MiqAutomate::NestingTooDeep: instantiation nested deeper than #{limit} levels: " \
          "/Chain/Link/link0 → miqaedb:/Chain/Link/link1#create → miqaedb:/Chain/Link/link2#create → … → "
        )
        expect(error.message).to end_with(
          "miqaedb:/Chain/Link/link64#create (a relationship or $evm.instantiate cycle through distinct instances?)"
        )
        expect(error.workspace.logs.count { |l| l.last.start_with?("Following Relationship") }).to eq(limit)
      end

      it "stops a method that $evm.instantiates a new instance at each level: logged, nil" do
        ws = run.call { engine.instantiate("/Chain/Rec/r0") }
        expect(ws.root["depth"]).to eq(limit)
        expect(ws.root["got#{limit - 1}"]).to be(true)
        expect(ws.root["got#{limit}"]).to be(false)
        expect(ws).to have_logged(
          :error,
          %r{\Ainstantiate failed : instantiation nested deeper than #{limit} levels: /Chain/Rec/r0 → /Chain/Rec/r1 → /Chain/Rec/r2 → … → /Chain/Rec/r62 → /Chain/Rec/r63 → /Chain/Rec/r64 \(}
        )
      end
    end
  end

  it "still calls a method that instantiates its own instance a cycle, before any limit" do
    ws = engine.instantiate("/Chain/Rec/self", root: { "same" => true })
    expect(ws.root["depth"]).to eq(1)
    expect(ws.root["got1"]).to be(false)
    expect(ws).to have_logged(:error, "instantiate failed : cyclical reference: [/Nest/Chain/Rec/self with message=create]")
  end
end
