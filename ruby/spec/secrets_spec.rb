# frozen_string_literal: true

require "tmpdir"
require "miq_automate/recorder"
require "miq_automate/replay"

# Issue 21: the Ruby port of the core's masking, the recorder's secrets and temp file, and
# a replay of a malformed trace.
RSpec.describe "secrets in traces" do
  around { |ex| Dir.mktmpdir { |dir| @dir = dir; ex.run } }

  def trace_path = File.join(@dir, "trace.json")

  # The same forms and containers as the core's property test (crates/core/tests/secrets.rs).
  def forms(secret)
    ["password::pw=#{secret}", "Password%3A%3Apw=#{secret}", "password=#{secret}", "password: #{secret}",
     "db_password=#{secret}", "\"password\"=>\"#{secret}\"", "\"password\":\"#{secret}\"",
     "https://admin:#{secret}@host:3000/api", "Authorization: Basic #{secret}", "Authorization: Bearer #{secret}",
     "\"Authorization\"=>\"Bearer #{secret}\"", "v2:{#{secret}}"]
  end

  def containers(key, form)
    [form, "{\"#{key}\"=>#{form}, \"n\"=>1}", "[1, #{form}, nil]", "/Dom/Ns/Class/inst?x=1&#{form}&y=2",
     "X-Info: #{form}\r\nAccept: */*", "#<Conn #{form}>", "error: could not connect (#{form}): refused"]
  end

  describe "MiqAutomate::Trace.sanitize" do
    it "masks every secret form inside every container, stably" do
      rng = Random.new(21)
      50.times do
        secret = "SeCr" + Array.new(rng.rand(4..16)) { [*"A".."Z", *"a".."z", *"0".."9"].sample(random: rng) }.join
        key = Array.new(rng.rand(1..10)) { [*"a".."z", "_"].sample(random: rng) }.join
        forms(secret).each do |form|
          containers(key, form).each do |text|
            [MiqAutomate::Trace.sanitize(text), MiqAutomate::Trace.sanitize_uri(text)].each do |out|
              expect(out).not_to include(secret), "#{text.inspect} -> #{out.inspect}"
              expect(MiqAutomate::Trace.sanitize(out)).to eq(out)
            end
          end
        end
      end
    end

    it "agrees with the core on the cases it documents" do
      t = MiqAutomate::Trace
      expect(t.sanitize("GET https://admin:smart@vm@host:3000/api done")).to eq("GET https://admin:********@host:3000/api done")
      expect(t.sanitize("http://host/a:b@c")).to eq("http://host/a:b@c")
      expect(t.sanitize("Authorization: Basic YWRtaW46c21hcnR2bQ== next")).to eq("Authorization: Basic ******** next")
      expect(t.sanitize('{"password"=>"Top Secret9", "a"=>1}')).to eq('{"password"=>"********", "a"=>1}')
      expect(t.sanitize("DB_PASSWORD: Sec1, y")).to eq("DB_PASSWORD: ********, y")
      expect(t.sanitize_uri("/A?password::pw=Top Secret9&x=1")).to eq("/A?password::pw=********&x=1")
    end

    it "leaves the password gem's class names alone" do
      line = "ManageIQ::Password::PasswordError: cannot decrypt encrypted string"
      expect(MiqAutomate::Trace.sanitize(line)).to eq(line)
      expect(MiqAutomate::Trace.sanitize("MiqPassword::X y")).to eq("MiqPassword::X y")
      expect(MiqAutomate::Trace.sanitize("a=Password::b c")).to eq("a=Password::******** c")
    end
  end

  # A local $evm: enough for the recorder (objects are handed out as handles).
  class SecretsEvm
    class Obj
      attr_reader :path

      def initialize(path) = @path = path
      def to_s = "#<Conn password=Sup3rSecret url=https://u:Sup3rSecret@h/>"
    end

    attr_reader :logs

    def initialize = @logs = []
    def root = { "pin" => 48_213, "name" => "web01" }
    def instantiate(path) = Obj.new(path)
    def log(level, message) = @logs << [level, message]
    def get_state_var(_name) = 48_213
  end

  describe MiqAutomate::Recorder do
    def record(**opts, &block)
      MiqAutomate::Recorder.record(SecretsEvm.new, to: trace_path, **opts, &block)
      File.read(trace_path)
    end

    it "masks a password:: argument of instantiate in the handle's path and via, a value with spaces whole" do
      text = record { |evm| evm.instantiate("/X?password::pw=Top Secret9&a=1").path }
      expect(text).not_to include("Top", "Secret9")
      handle = JSON.parse(text)["handles"].find { |h| h["model"] == "instance" }
      expect(handle["path"]).to eq("/X?password::pw=********&a=1")
      expect(handle["via"]).to include("password::pw=********")
    end

    it "remembers an Integer under a secret key and masks it in later log lines" do
      text = record(secret_keys: %w[pin]) do |evm|
        evm.get_state_var(:pin)
        evm.log(:info, "pin is 48213")
      end
      expect(text).not_to include("48213")
      expect(JSON.parse(text)["calls"].map { |c| c["seq"] }).to eq([1, 2])
    end

    it "masks password pairs, URL userinfo and Authorization headers in recorded texts" do
      text = record do |evm|
        evm.log(:info, evm.instantiate("/X").to_s)
        evm.log(:info, "GET https://admin:Sup3rSecret@host/api Authorization: Basic Sup3rSecret")
        evm.log(:info, "connect password: Sup3rSecret")
      end
      expect(text).not_to include("Sup3rSecret")
      expect(text).to include("https://admin:********@host/api", "Authorization: Basic ********")
    end

    it "creates its temp file exclusively: a planted symlink is never followed" do
      victim = File.join(@dir, "victim")
      File.write(victim, "untouched")
      File.symlink(victim, "#{trace_path}.tmp-#{Process.pid}-#{Thread.current.object_id}")
      expect { MiqAutomate::Trace.write(trace_path, { "a" => 1 }) }.to raise_error(Errno::EEXIST)
      expect(File.read(victim)).to eq("untouched")
      expect(File.exist?(trace_path)).to be(false)
    end

    it "writes the trace 0600 through a temp file it created" do
      MiqAutomate::Trace.write(trace_path, { "a" => 1 })
      expect(JSON.parse(File.read(trace_path))).to eq("a" => 1)
      expect(File.stat(trace_path).mode & 0o777).to eq(0o600)
      expect(Dir.children(@dir)).to eq(["trace.json"])
    end
  end

  describe "MiqAutomate::Workspace.replay of a malformed trace" do
    def doc(**over)
      { "format" => "miq-automate-trace", "version" => 1, "method" => "m", "outcome" => nil,
        "handles" => [{ "handle" => 1, "kind" => "evm", "model" => "evm" }], "calls" => [] }.merge(over.transform_keys(&:to_s))
    end

    it "names the place of a call that is no object" do
      expect { MiqAutomate::Workspace.replay(doc(calls: [1])) }.to raise_error(MiqAutomate::TraceError, /calls\[0\]/)
    end

    it "names the place of a handle that is no object" do
      expect { MiqAutomate::Workspace.replay(doc(handles: [1])) }.to raise_error(MiqAutomate::TraceError, /handles\[0\]/)
    end

    it "names the place in a file too" do
      File.write(trace_path, JSON.generate(doc(calls: [{ "receiver" => "x", "method" => "root", "args" => [] }])))
      expect { MiqAutomate::Workspace.replay(trace_path) }.to raise_error(MiqAutomate::TraceError, /calls\[0\]\.receiver/)
    end
  end
end
