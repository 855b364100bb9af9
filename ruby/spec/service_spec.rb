# frozen_string_literal: true

RSpec.describe MiqAutomate::Service do
  let(:ws) { MiqAutomate::Workspace.new(root: { "ae_state" => "Provision" }, inputs: { "status" => "Done" }, current_method: "mymethod") }
  let(:evm) { ws.evm }

  describe "objects" do
    it "gives the same $evm every time and a root whose keys are downcased" do
      expect(ws.evm).to equal(evm)
      evm.root["MixedCase"] = 1
      expect(evm.root["mixedcase"]).to eq(1)
      expect(evm.root["MIXEDCASE"]).to eq(1)
      expect(evm.root[:mixedcase]).to eq(1)
    end

    it "answers object, current, parent and current_* names from the stack" do
      child = nil
      ws.on_instantiate("/Dom/NS/Cls/Inst") do |e, _uri|
        child = e.current
        expect(e.current_namespace).to eq("Dom/NS")
        expect(e.current_class).to eq("Cls")
        expect(e.current_instance).to eq("Inst")
        expect(e.current_message).to eq("get_ip")
        expect(e.current_method).to eq("inst")
        expect(e.parent).to eq(evm.root)
        expect(e.object).to eq(e.current)
        expect(e.object("/")).to eq(evm.root)
        expect(e.object("..")).to eq(evm.root)
        expect(e.root).to eq(evm.root)
      end
      obj = evm.instantiate("/Dom/NS/Cls/Inst#Get_IP")
      expect(obj).to eq(child)
      expect(obj.name).to eq("/Dom/NS/Cls/Inst")
      expect(obj.current_message).to eq("get_ip")
      expect(evm.current).to eq(evm.root)
      expect(evm.current_method).to eq("mymethod")
      expect(evm.object("/Dom/NS/Cls/In*")).to eq(obj)
      expect(evm.object("/Other/NS/Cls/Inst")).to be_nil
    end

    it "raises the engine's InvalidPathFormat for a bad relative path" do
      expect { evm.object(".foo") }.to raise_error(MiqAutomate::InvalidPathFormat, "bad part [.foo] in path [.foo]")
    end

    it "acts on the current object with [] and []= like MiqAeMockService" do
      evm["x"] = 5
      expect(evm.root["x"]).to eq(5)
      expect(evm.attributes).to include("x" => 5)
    end
  end

  describe "inputs" do
    it "returns the method inputs" do
      expect(evm.inputs).to eq("status" => "Done")
    end
  end

  describe "#log" do
    it "prefixes the method name, masks v2 tokens, accepts strings and symbols" do
      evm.log(:info, "pw v2:{abc} and url v2%3A%7Babc%7D")
      evm.log("warn", "careful")
      expect(ws.logs).to eq([[:info, "<AEMethod mymethod> pw ******** and url ********"], [:warn, "<AEMethod mymethod> careful"]])
    end

    it "rejects an unknown level as the engine's logger does (NoMethodError)" do
      expect { evm.log(:loud, "x") }.to raise_error(NoMethodError, /undefined method `loud'/)
      expect { evm.log("INFO", "x") }.to raise_error(NoMethodError)
    end

    it "rejects a message that is not a String" do
      expect { evm.log(:info, 42) }.to raise_error(NoMethodError, /gsub/)
    end
  end

  describe "#instantiate" do
    it "records the URI, makes the object a child of the current one with typed args" do
      obj = evm.instantiate("/ManageIQ/System/Request/Call?ip=10.0.0.1&Integer::count=3&Array::list=a\x1Finteger::2")
      expect(ws.instantiations).to eq(["/ManageIQ/System/Request/Call?ip=10.0.0.1&Integer::count=3&Array::list=a\x1Finteger::2"])
      expect(obj["ip"]).to eq("10.0.0.1")
      expect(obj["count"]).to eq(3)
      expect(obj["count_id"]).to eq("3")
      expect(obj["list"]).to eq(["a", 2])
      expect(obj.parent).to eq(evm.root)
      expect(evm.root.children).to eq([obj])
    end

    it "runs the registered handler, which can stop the instance with exit MIQ_STOP" do
      ws.on_instantiate(%r{/ReleaseIPAddress$}) do |e, uri|
        e.root["released"] = e.object["ip"]
        e.log(:info, "releasing from #{uri}")
        exit MiqAutomate::MIQ_STOP
      end
      obj = evm.instantiate("/Infra/Methods/ReleaseIPAddress?ip=1.2.3.4")
      expect(obj).not_to be_nil
      expect(evm.root["released"]).to eq("1.2.3.4")
      expect(ws).to have_logged(:info, "<AEMethod releaseipaddress> releasing from /Infra/Methods/ReleaseIPAddress?ip=1.2.3.4")
      expect(ws).to have_logged(:info, "Stopping instantiation because [Method exited with rc=MIQ_STOP]")
      expect(evm.root.children).to be_empty
    end

    it "returns nil and logs when the instance aborts or raises" do
      ws.on_instantiate("/Abort") { |_e, _u| exit MiqAutomate::MIQ_ABORT }
      ws.on_instantiate("/Boom") { |_e, _u| raise "kaput" }
      expect(evm.instantiate("/A/B/Abort")).to be_nil
      expect(ws).to have_logged(:error, "instantiate failed : Method exited with rc=MIQ_ABORT")
      expect(evm.instantiate("/A/B/Boom")).to be_nil
      expect(ws).to have_logged(:error, /RuntimeError: kaput/)
      expect(ws).to have_logged(:error, "instantiate failed : Method exited with rc=Unknown RC: [1]")
    end

    it "returns nil for a bad URI and logs the engine's message" do
      expect(evm.instantiate("abc:A/EVM")).to be_nil
      expect(evm.instantiate("miqaedb:A/EVM")).to be_nil
      expect(evm.instantiate("/a b/c")).to be_nil
      expect(ws.logs.map(&:last)).to eq([
        "instantiate failed : Unsupported Scheme [abc]",
        "instantiate failed : Invalid URI <miqaedb:A/EVM>",
        "instantiate failed : bad URI(is not URI?): \"/a b/c\""
      ])
    end
  end

  describe "state vars" do
    it "treats String and Symbol keys alike and keeps case" do
      expect(evm.state_var_exist?(:rollback)).to be(false)
      expect(evm.set_state_var(:rollback, ["a"])).to eq(["a"])
      expect(evm.get_state_var("rollback")).to eq(["a"])
      expect(evm.state_var_exist?("rollback")).to be(true)
      expect(evm.get_state_var("ROLLBACK")).to be_nil
      expect(evm.get_state_vars).to eq("rollback" => ["a"])
      expect(evm.delete_state_var(:rollback)).to eq(["a"])
      expect(ws.state_vars).to eq({})
    end

    it "hands out a copy from get_state_vars" do
      evm.set_state_var(:a, 1)
      evm.get_state_vars["b"] = 2
      expect(evm.state_var_exist?(:b)).to be(false)
    end

    it "rejects unsupported key types with the engine's RuntimeError" do
      expect { evm.set_state_var({}, 1) }.to raise_error(RuntimeError, "State Var key (Hash)[{}] must be of type: NilClass, Numeric, String, Symbol, Date, Time")
      expect { evm.set_state_var([1], 1) }.to raise_error(RuntimeError, /State Var key \(Array\)/)
      expect(evm.set_state_var(1, "int")).to eq("int")
      expect(evm.get_state_var("1")).to be_nil
    end

    it "starts from the workspace's state vars" do
      ws2 = MiqAutomate::Workspace.new(state_vars: { done: ["A"] })
      expect(ws2.evm.get_state_var("done")).to eq(["A"])
    end
  end

  describe "service vars" do
    it "are skipped with an error log when there is no service" do
      evm.set_service_var("a", 1)
      expect(ws).to have_logged(:error, "Service object not found in root object, set_service_var skipped for a = 1")
      expect(evm.service_var_exists?("a")).to be(false)
    end

    it "live on the root service" do
      evm.root["service"] = MiqAutomate::ServiceModel.new(:service, id: 3)
      evm.set_service_var("a", 1)
      expect(evm.service_var_exists?("a")).to be(true)
      expect(evm.get_service_var("a")).to eq(1)
      expect(evm.delete_service_var("a")).to eq(1)
      expect(evm.get_service_var("a")).to be_nil
    end
  end

  describe "notifications" do
    let(:request) { MiqAutomate::ServiceModel.new(:miq_request, id: 7) }

    it "records them with ManageIQ's default type" do
      evm.create_notification(level: "error", subject: request, message: "boom")
      expect(ws).to have_notified(type: :automate_user_error, subject: request, message: "boom")
    end

    it "returns nil from create_notification and raises from create_notification! for a bad type" do
      expect(evm.create_notification(level: "warn")).to be_nil
      expect { evm.create_notification!(level: "warn") }.to raise_error(ArgumentError, "Invalid notification type specified")
      expect { evm.create_notification!(subject: "a string") }.to raise_error(ArgumentError, "Subject must be a valid Active Record object")
    end
  end

  describe "execute, vmdb, field_timeout, queries" do
    it "records execute calls and refuses unknown methods" do
      evm.execute(:send_email, "to@x", "from@x", "subject", "body")
      expect(ws.executions).to eq([["send_email", ["to@x", "from@x", "subject", "body"]]])
      expect { evm.execute(:nope) }.to raise_error(MiqAutomate::MethodNotFound)
    end

    it "finds registered models with vmdb" do
      vm = MiqAutomate::ServiceModel.new(:vm, id: 12, name: "web01")
      ws.add_model(vm)
      expect(evm.vmdb(:vm, 12)).to equal(vm)
      expect(evm.vmdb("Vm", "12")).to equal(vm)
      expect(evm.vmdb(:vm)).to eq([vm])
      obj = evm.instantiate("/A/B/C?Vm::vm=12")
      expect(obj["vm"]).to equal(vm)
      expect(obj["vm_id"]).to eq("12")
    end

    it "computes field_timeout as ManageIQ does" do
      evm.root["ae_state_max_retries"] = 100
      evm.root["ae_retry_interval"] = "1.minute"
      expect(evm.field_timeout).to eq(6000)
      evm.root["ae_state_max_retries"] = nil
      expect { evm.field_timeout }.to raise_error(RuntimeError, "ae_state_max_retries is not set in automate field")
    end

    it "converts hashes and queries like MiqAeUri" do
      expect(evm.hash_to_query("request" => "UI_PROVISION_INFO", "message" => "get_vmname", "skip" => nil)).to eq("message=get_vmname&request=UI_PROVISION_INFO")
      expect(evm.query_to_hash("a=x%20y&b=1")).to eq("a" => "x y", "b" => "1")
      expect { evm.query_to_hash("a=1&&b=2") }.to raise_error(MiqAutomate::InvalidPathFormat, /empty argument/)
    end
  end
end
