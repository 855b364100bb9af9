# frozen_string_literal: true

require "tmpdir"
require_relative "support/drb_appliance"

# Record on the "appliance" (a pure-Ruby $evm served over DRb from a child process, the
# method run in a third process with ManageIQ's preamble and postscript), replay offline.
RSpec.describe MiqAutomate::Recorder do
  let(:method_file) { File.join(METHODS_DIR, "check_vm_provision.rb") }

  around { |ex| Dir.mktmpdir { |dir| @dir = dir; ex.run } }

  def trace_path(name = "trace.json") = File.join(@dir, name)

  # Runs the method on the appliance; returns [exit status, what the appliance holds afterwards].
  def record_on_appliance(status: "error", with_task: true, trace: trace_path)
    DrbAppliance.serve(status: status, with_task: with_task) do |remote|
      code, features, stderr = AppliancePeer.run(remote.__drburi, method_file, trace: trace)
      @features = features
      @stderr = stderr
      return [code, { root: remote.root_values, logs: remote.logs, instantiated: remote.instantiated,
                      notifications: remote.notifications.size, executed: remote.executed.map(&:first), state: remote.state }]
    end
  end

  describe "recording on the appliance" do
    it "keeps every call, in order, through every object handed out, with only the gem's Ruby files loaded" do
      code, = record_on_appliance
      expect(code).to eq(0)
      expect(@features.grep(/\.so\z/)).to be_empty
      expect(@features.map { |f| File.basename(f) }).to include("recorder.rb", "trace.rb")
      doc = JSON.parse(File.read(trace_path))
      expect(doc).to include("format" => "miq-automate-trace", "version" => 1, "method" => "check_vm_provision",
                             "outcome" => { "status" => "exit", "code" => 0 })
      calls = doc["calls"]
      expect(calls.map { |c| c["seq"] }).to eq((1..calls.size).to_a)
      expect(calls.first).to include("receiver" => 1, "method" => "root", "args" => [])
      handles = doc["handles"].to_h { |h| [h["handle"], h] }
      prov = calls[1]["result"]["$foreign"]
      expect(calls[1]).to include("method" => "[]", "args" => ["miq_provision"])
      expect(handles[prov["id"]]).to include("kind" => "model", "model" => "miq_provision")
      # an association, a vmdb lookup (model and id), an Array of objects, a Hash holding objects
      # an association, a vmdb lookup (model and id), a remote Array (DRb passes an Array of
      # service models by reference) iterated with a block: the yielded objects are handles too
      expect(handles.values.map { |h| h["model"] }).to include("miq_request", "vm", "miq_request_tasks", "miq_request_task")
      expect(handles.values.find { |h| h["model"] == "vm" }).to include("id" => 12, "via" => "$evm.vmdb(:vm, 12)")
      count = calls.find { |c| c["method"] == "count" }
      expect(count["yields"].size).to eq(2)
      expect(count["yields"]).to all(match([include("$foreign")]))
      expect(count["result"]).to eq(1)
      # a remote exception: class and message
      raised = calls.find { |c| c["method"] == "register_automate_callback" }
      expect(raised["raised"]).to include("class" => "NoMethodError")
      expect(raised).not_to have_key("result")
      # symbols in the core's JSON form; the postscript's call at the end
      expect(calls.find { |c| c["method"] == "log" }["args"].first).to eq("$symbol" => "info")
      expect(calls.last).to include("receiver" => 1, "method" => "disconnect_sql")
    end

    it "writes no secret: decrypted passwords, secret options, v2 strings, password:: arguments" do
      record_on_appliance
      text = File.read(trace_path)
      expect(text).not_to include(DrbAppliance::SECRET)
      expect(text).not_to include(DrbAppliance::TOKEN)
      expect(text).not_to include("v2:{")
      expect(text).not_to include("c2VjcmV0LWtleS1ieXRl")
      expect(text).to include("password::admin=********")
      expect(text).to include("********")
      decrypt = JSON.parse(text)["calls"].find { |c| c["method"] == "decrypt" }
      expect(decrypt).to include("args" => ["admin_password"], "result" => "********")
    end

    it "saves at exit when the method calls exit, with the exit status" do
      code, = record_on_appliance(with_task: false)
      expect(code).to eq(MiqAutomate::MIQ_STOP)
      doc = JSON.parse(File.read(trace_path))
      expect(doc["outcome"]).to eq("status" => "exit", "code" => 8)
      expect(doc["calls"].map { |c| c["method"] }).to eq(%w[root [] log disconnect_sql])
    end

    it "never breaks the method when the trace cannot be written: one warning through $evm.log" do
      bad = File.join(@dir, "missing", "dir", "trace.json")
      code, seen = record_on_appliance(trace: bad)
      plain_code, plain = record_on_appliance(trace: "")
      expect(code).to eq(plain_code)
      expect(seen[:root]).to eq(plain[:root])
      expect(seen[:instantiated]).to eq(plain[:instantiated])
      expect(seen[:state]).to eq(plain[:state])
      warnings = seen[:logs].select { |_, m| m.include?("miq_automate recorder") }
      expect(warnings.size).to eq(1)
      expect(warnings.first).to match(["warn", /cannot write the trace to .*missing.*no such directory/])
      expect(seen[:logs] - warnings).to eq(plain[:logs])
      expect(File.exist?(bad)).to be(false)
    end

    it "a failed save logs one warning too, and the method's answer is unchanged" do
      DrbAppliance.serve do |remote|
        recorder = described_class.new(remote, trace_path)
        evm = recorder.evm
        expect(evm.root["vm_name"]).to eq("web01")
        Dir.mkdir(trace_path) # the path is now a directory: rename fails
        expect(recorder.flush).to be(false)
        expect(recorder.flush).to be(false)
        expect(remote.logs.count { |_, m| m.include?("miq_automate recorder: could not save the trace") }).to eq(1)
      end
    end
  end

  it "keeps Arrays of objects and Hashes holding objects (a local $evm) as handles inside values" do
    service = DrbAppliance::Service.new(**DrbAppliance.provision)
    described_class.record(service, to: trace_path) do |evm|
      info = evm.root["miq_provision"].vm_info
      expect(info["hosts"].first.name).to eq("esx1")
      expect(evm.vmdb(:vm, 12)).to equal(info["vm"]) # one handle, one proxy per object
      evm.set_state_var(:context, { "vm" => info["vm"], "tasks" => evm.root["miq_provision"].miq_request.miq_request_tasks })
    end
    doc = JSON.parse(File.read(trace_path))
    info = doc["calls"].find { |c| c["method"] == "vm_info" }["result"]
    expect(info["vm"]).to eq("$foreign" => { "id" => 4, "label" => "vm" })
    expect(info["hosts"]).to eq([{ "$foreign" => { "id" => 5, "label" => "host" } }])
    context = doc["calls"].find { |c| c["method"] == "set_state_var" }["args"][1]
    expect(context["vm"]).to eq("$foreign" => { "id" => 4, "label" => "vm" })
    expect(context["tasks"].size).to eq(2)
    expect(service.state["context"]["vm"].name).to eq("web01") # the objects themselves reached $evm
  end

  describe ".record (block form)" do
    it "saves when the block raises, with the exception, and re-raises it unchanged" do
      DrbAppliance.serve do |remote|
        expect do
          described_class.record(remote, to: trace_path) do |evm|
            evm.root["ae_result"] = "error"
            evm.root["miq_provision"].no_such_method
          end
        end.to raise_error(NoMethodError, /no_such_method/)
        doc = JSON.parse(File.read(trace_path))
        expect(doc["outcome"]).to include("status" => "exception", "class" => "NoMethodError")
        expect(doc["calls"].map { |c| c["method"] }).to eq(%w[root []= root [] no_such_method])
        expect(doc["calls"].last["raised"]).to include("class" => "NoMethodError")
        expect(remote.root_attributes["ae_result"]).to eq("error")
      end
    end

    it "saves when the block calls exit" do
      DrbAppliance.serve do |remote|
        expect { described_class.record(remote, to: trace_path) { |evm| evm.log(:info, "bye") && exit(4) } }
          .to raise_error(SystemExit)
        expect(JSON.parse(File.read(trace_path))["outcome"]).to eq("status" => "exit", "code" => 4)
      end
    end

    it "hands back what the method would see without it: values, nil, proxies that compare like the objects" do
      DrbAppliance.serve do |remote|
        described_class.record(remote, to: trace_path, secret_keys: ["vm_name"]) do |evm|
          expect(evm.root["nope"]).to be_nil
          expect(evm.get_state_vars).to eq({})
          prov = evm.root["miq_provision"]
          expect(prov == evm.root["miq_provision"]).to be(true)
          expect(prov.get_option(:vm_id)).to eq(12)
          expect(evm.vmdb(:vm, 12).name).to eq("web01")
          expect(evm.root["vm_name"]).to eq("web01")
          expect(evm.instantiate("/A/B/Missing")).to be_nil
        end
        doc = JSON.parse(File.read(trace_path))
        expect(doc["calls"].find { |c| c["args"] == ["vm_name"] }["result"]).to eq("********")
        expect(doc["secret_keys"]).to include("password", "vm_name")
      end
    end
  end

  describe "replaying offline" do
    it "answers the recorded calls and keeps the method's writes in the workspace: identical results" do
      code, seen = record_on_appliance
      ws = build_workspace(replay: trace_path)
      expect(replay_method(method_file, ws)).to eq(code)
      expect(ws).to match_recording
      expect(ws).to have_ae_result(seen[:root]["ae_result"])
      expect(ws.root["ae_reason"]).to eq(seen[:root]["ae_reason"])
      expect(ws.instantiations).to eq(seen[:instantiated].map { |u| u.sub(DrbAppliance::SECRET, "********") })
      expect(ws).to have_instantiated(%r{/System/Notify/Cleanup\?vm=web01})
      expect(ws).to have_notified(type: :automate_user_error, message: "VM Provision Error: quota exceeded")
      expect(ws.executions.map(&:first)).to eq(seen[:executed])
      expect(ws.state_vars).to eq(seen[:state])
      expect(ws).to have_logged(:error, "VM [web01] provisioning failed: quota exceeded")
      expect(ws).to have_logged(:warn, "no callbacks:")
      replayed = ws.logs.map(&:last).grep(/<AEMethod/).map { |m| m.sub(/\A<AEMethod \w+> /, "") }
      expect(replayed).to eq(seen[:logs].map(&:last).map { |m| m.gsub(DrbAppliance::V2, "********") })
    end

    it "works for each path the method takes (retry, ok, stop), through replay_method with a path" do
      { "retry" => 0, "ok" => 0 }.each do |status, rc|
        code, seen = record_on_appliance(status: status, trace: trace_path("#{status}.json"))
        expect(code).to eq(rc)
        expect(replay_method(method_file, trace_path("#{status}.json"))).to eq(rc)
        expect(replayed_workspace).to match_recording
        expect(replayed_workspace).to have_ae_result(seen[:root]["ae_result"])
      end
      record_on_appliance(with_task: false, trace: trace_path("stop.json"))
      expect(replay_method(method_file, trace_path("stop.json"))).to eq(MiqAutomate::MIQ_STOP)
      expect(replayed_workspace).to have_logged(:error, "miq_provision object not provided")
    end

    it "fails a changed method with a clear mismatch naming the call and the closest recorded one" do
      record_on_appliance
      changed = File.join(@dir, "check_vm_provision.rb")
      File.write(changed, File.read(method_file).sub("@handle.root['ae_reason'] = reason", "@handle.root['ae_reason'] = \"failed: \#{reason}\""))
      expect { replay_method(changed, trace_path) }.to raise_error(MiqAutomate::ReplayMismatch) { |e|
        expect(e.message).to include(%(the trace holds no call root["ae_reason"] = "failed: quota exceeded"))
        expect(e.message).to match(/closest recorded: #\d+ root\["ae_reason"\] = "quota exceeded"/)
      }
    end

    it "a mismatch the method rescues itself still fails the replay" do
      record_on_appliance
      changed = File.join(@dir, "rescuing.rb")
      File.write(changed, "begin\n  $evm.root['x'] = 1\nrescue Exception\n  nil\nend\n")
      expect { replay_method(changed, trace_path) }.to raise_error(MiqAutomate::ReplayMismatch, /root\["x"\] = 1/)
    end

    it "strict: false answers nil to calls the trace does not hold and lists them" do
      record_on_appliance
      ws = MiqAutomate::Workspace.replay(trace_path, strict: false)
      expect(ws.evm.root["miq_provision"].get_option(:vm_target_name)).to eq("web01")
      expect(ws.evm.root["miq_provision"].get_option(:nope)).to be_nil
      expect(ws.evm.current_namespace).to be_nil
      expect(ws.replay_misses.size).to eq(2)
      expect(ws.replay_misses.first).to include("get_option(:nope)").and include("closest recorded")
    end

    it "reads may repeat, writes may not be skipped: match_recording names the first divergence" do
      record_on_appliance(status: "retry")
      changed = File.join(@dir, "less.rb")
      File.write(changed, File.read(method_file).sub("@handle.root['ae_retry_interval'] = '1.minute'", "@handle.root['miq_provision']"))
      ws = build_workspace(replay: trace_path)
      expect(replay_method(changed, ws)).to eq(0)
      expect { expect(ws).to match_recording }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /stopped writing after \d+ write\(s\).*root\["ae_retry_interval"\] = "1.minute"/)
    end

    it "refuses a file that is not a trace, or of another version" do
      File.write(trace_path, JSON.generate("format" => "miq-automate-trace", "version" => 99, "calls" => []))
      expect { MiqAutomate::Workspace.replay(trace_path) }.to raise_error(MiqAutomate::Trace::Error, /version 99/)
      File.write(trace_path, "{}")
      expect { MiqAutomate::Workspace.replay(trace_path) }.to raise_error(MiqAutomate::Trace::Error, /not a miq-automate trace/)
    end
  end

  describe MiqAutomate::Trace do
    it "masks as the core does" do
      expect(described_class.sanitize("a v2:{abc} b v1%3A%7Bx%7D c")).to eq("a ******** b ******** c")
      expect(described_class.sanitize("/A?password::pw=secret&x=1")).to eq("/A?password::pw=********&x=1")
      expect(described_class.sanitize("plain")).to eq("plain")
    end
  end
end
