# frozen_string_literal: true

require_relative "support/drb_evm"

# The core's Evm trait over a foreign `$evm`: here a pure-Ruby one served over DRb, as
# ManageIQ serves MiqAeService to a method.
RSpec.describe MiqAutomate::EvmAdapter do
  let(:prov) { DrbEvm::RemoteModel.new(vm_target_name: "web01") }
  let(:service) { DrbEvm::Service.new("ae_result" => "error", "ae_state" => "RegisterDNS", "miq_provision" => prov) }

  around do |example|
    DrbEvm.serve(service) do |remote|
      @remote = remote
      example.run
    end
  end

  let(:adapter) { described_class.new(@remote) }

  it "reads and writes root attributes through the proxy" do
    expect(@remote).to be_a(DRbObject)
    expect(adapter.root_get("AE_Result")).to eq("error")
    adapter.root_set("ae_reason", "rolled back")
    expect(@remote.root["ae_reason"]).to eq("rolled back")
    expect(adapter.object_get(nil, "ae_state")).to eq("RegisterDNS")
    expect { adapter.object_get("/Nope/A/B", "x") }.to raise_error(MiqAutomate::ObjectNotFound)
  end

  it "keeps remote objects as references and calls their methods" do
    remote_prov = adapter.root_get("miq_provision")
    expect(remote_prov).to be_a(DRbObject)
    expect(adapter.call(remote_prov, :get_option, :vm_target_name)).to eq("web01")
    adapter.call(remote_prov, "message=", "Rolled back")
    expect(@remote.root["miq_provision"].message).to eq("Rolled back")
  end

  it "logs, keeps state vars, instantiates and notifies on the remote side" do
    adapter.log(:info, ">>> Instantiating '/X/Y/ReleaseIPAddress'")
    adapter.set_state_var(:rollback_done, ["ReleaseIPAddress"])
    expect(adapter.get_state_var("rollback_done")).to eq(["ReleaseIPAddress"])
    expect(adapter.state_var_exist?(:rollback_done)).to be(true)
    expect(adapter.get_state_vars).to eq("rollback_done" => ["ReleaseIPAddress"])
    expect(adapter.instantiate("/X/Y/ReleaseIPAddress")).to be_a(DRbObject)
    expect(adapter.instantiate("/X/Y/Missing")).to be_nil
    adapter.create_notification(level: "error", message: "x")
    expect(adapter.delete_state_var(:rollback_done)).to eq(["ReleaseIPAddress"])
    expect(@remote.logs).to eq([["info", ">>> Instantiating '/X/Y/ReleaseIPAddress'"]])
    expect(@remote.instantiated).to eq(["/X/Y/ReleaseIPAddress", "/X/Y/Missing"])
    expect(@remote.notifications).to eq([{ level: "error", message: "x" }])
    expect(adapter.input("status")).to eq("Creating VM")
    expect(adapter.current(:method)).to eq("update_provision_status")
    expect(adapter.current(:class)).to eq("StateMachines")
  end

  it "counts round trips, fetching root once" do
    adapter.root_get("ae_result")
    adapter.root_get("ae_state")
    adapter.root_set("ae_result", "ok")
    expect(adapter.round_trips).to eq("root" => 1, "[]" => 2, "[]=" => 1)
  end

  it "turns a remote exception into MiqAutomate::RemoteError naming its class" do
    expect { adapter.log(:info, "x" * 2000) }.to raise_error(MiqAutomate::RemoteError, /ArgumentError: message too long/)
    expect { adapter.log(:loud, "x") }.to raise_error(NoMethodError, /loud/) # refused before the round trip
  end

  it "works on a local (non-DRb) $evm too, including ours" do
    ws = MiqAutomate::Workspace.new(root: { "ae_result" => "ok" })
    local = described_class.new(ws.evm)
    expect(local.root_get("ae_result")).to eq("ok")
    local.log(:warn, "via adapter")
    expect(ws.logs).to eq([[:warn, "<AEMethod > via adapter"]])
  end
end
