# frozen_string_literal: true

require "spec_helper"
require "fileutils"
require "tmpdir"

# Issue 18: a log line takes any bytes, as ManageIQ's logger writes whatever a method gives
# it. Text in another encoding is transcoded to UTF-8; what cannot be (invalid UTF-8, a
# binary String's high bytes, a broken sequence of another encoding) becomes U+FFFD. The
# log then holds valid UTF-8 only.
RSpec.describe "Log lines in any encoding" do
  replacement = "\u{FFFD}"

  describe "$evm.log" do
    let(:ws) { MiqAutomate::Workspace.new(current_method: "mymethod") }

    def logged(ws, message)
      ws.evm.log(:info, message)
      line = ws.logs.last.last
      expect(line).to be_valid_encoding
      expect(line.encoding).to eq(Encoding::UTF_8)
      line.delete_prefix("<AEMethod mymethod> ")
    end

    it "replaces invalid UTF-8 by U+FFFD" do
      expect(logged(ws, "Jos\xE9")).to eq("Jos#{replacement}")
      expect(logged(ws, "caf\xC3\xA9 \xC3")).to eq("café #{replacement}")
    end

    it "reads a binary String as UTF-8, its other high bytes as U+FFFD" do
      expect(logged(ws, "Jos\xC3\xA9".b)).to eq("José")
      expect(logged(ws, "bin \xFF\xFE".b)).to eq("bin #{replacement}#{replacement}")
    end

    it "transcodes another encoding to UTF-8" do
      expect(logged(ws, "Jos\xE9".b.force_encoding(Encoding::ISO_8859_1))).to eq("José")
      expect(logged(ws, "\x80 5".b.force_encoding(Encoding::Windows_1252))).to eq("€ 5")
      expect(logged(ws, "caf\u00e9".encode(Encoding::UTF_16LE))).to eq("café")
    end

    it "transcodes what it can of a broken String in another encoding" do
      shift_jis = "\x82\xA0 \xFF".b.force_encoding(Encoding::Shift_JIS)
      expect(logged(ws, shift_jis)).to eq("あ #{replacement}")
    end

    it "still masks secrets" do
      expect(logged(ws, "pw v2:{abc} \xFF".b)).to eq("pw ******** #{replacement}")
    end
  end

  it "Workspace#_log_line (a method's output lines) takes any bytes too" do
    ws = MiqAutomate::Workspace.new
    ws.send(:_log_line, :info, "Method STDOUT: \xFF")
    ws.send(:_log_line, :error, "Method STDERR: Jos\xE9".b.force_encoding(Encoding::ISO_8859_1))
    expect(ws.logs).to eq([[:info, "Method STDOUT: #{replacement}"], [:error, "Method STDERR: José"]])
  end

  describe "from a method run by MiqAutomate::Engine" do
    # Enc/Ns/Cls/inst runs `speak`, the body under test.
    def engine_for(body, isolation)
      root = File.join(@dir, "Enc")
      cls = File.join(root, "Ns/Cls.class")
      FileUtils.rm_rf(root)
      FileUtils.mkdir_p(File.join(cls, "__methods__"))
      File.write(File.join(root, "__domain__.yaml"),
                 "---\nobject_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: Enc\n    priority: 10\n    enabled: true\n")
      File.write(File.join(root, "Ns/__namespace__.yaml"),
                 "---\nobject_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: Ns\n")
      File.write(File.join(cls, "__class__.yaml"),
                 "---\nobject_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: Cls\n  schema:\n  - field:\n      " \
                 "aetype: method\n      name: run\n      datatype: string\n      priority: 1\n      default_value: speak\n      message: create\n")
      File.write(File.join(cls, "inst.yaml"),
                 "---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: inst\n  fields: []\n")
      File.write(File.join(cls, "__methods__/speak.yaml"),
                 "---\nobject_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: speak\n    scope: instance\n    " \
                 "language: ruby\n    location: inline\n  inputs: []\n")
      File.write(File.join(cls, "__methods__/speak.rb"), body)
      build_engine(datastore: root, isolation: isolation)
    end

    around do |example|
      Dir.mktmpdir("miq-log-encoding") do |dir|
        @dir = dir
        example.run
      end
    end

    # The method file holds the escapes, so its literals are what a method would write.
    body = <<~'RUBY'
      $evm.log(:info, "Jos\xE9")
      $stdout.write("bin \xFF\n".b)
      $stderr.puts "err \xFE".b
    RUBY

    %i[vm process].each do |isolation|
      context "isolated as #{isolation}" do
        it "logs $evm.log and stdout/stderr lines with bad bytes as U+FFFD, and the method goes on" do
          ws = engine_for(body, isolation).instantiate("/Ns/Cls/inst")
          expect(ws).to have_logged(:info, "<AEMethod speak> Jos#{replacement}")
          expect(ws).to have_logged(:info, "Method STDOUT: bin #{replacement}")
          expect(ws).to have_logged(:error, "Method STDERR: err #{replacement}")
          expect(ws).to have_logged(:info, "Method exited with rc=MIQ_OK")
          expect(ws.logs.map(&:last)).to all(be_valid_encoding)
        end

        it "logs `puts \"\\xFF\"` (invalid UTF-8) from the method's stdout" do
          ws = engine_for(%(puts "\\xFF"\n), isolation).instantiate("/Ns/Cls/inst")
          expect(ws).to have_logged(:info, "Method STDOUT: #{replacement}")
          expect(ws).to have_logged(:info, "Method exited with rc=MIQ_OK")
        end
      end
    end
  end
end
