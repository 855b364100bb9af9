# {{CLASS_PATH}}'s wait_for_ready method alone: a workspace built by hand (a VM as a
# service model, the state var Prepare leaves), no engine, no world.
require_relative "spec_helper"

RSpec.describe "{{CLASS_PATH}} wait_for_ready" do
  let(:method_file) { File.join(DOMAIN_DIR, "{{CLASS_DIR}}/__methods__/wait_for_ready.rb") }
  let(:vm) { service_model(:vm, id: 600, name: "web01", power_state: "off") }
  let(:ws) { build_workspace(models: [vm], state_vars: { "vm_id" => 600 }) }

  it "retries in 30 seconds while the VM is off" do
    expect(run_method(method_file, ws)).to exit_with(MiqAutomate::MIQ_OK)
    expect(ws).to have_ae_result("retry")
    expect(ws.root["ae_retry_interval"]).to eq("30.seconds")
  end

  it "moves on once the VM is on" do
    vm.power_state = "on"
    run_method(method_file, ws)
    expect(ws).to have_ae_result("ok")
    expect(ws).to have_logged(:info, "VM [web01] is on")
  end

  it "fails the state without the VM's id" do
    ws = build_workspace
    run_method(method_file, ws)
    expect(ws).to have_ae_result("error")
  end

  it "can be driven class-style, as manageiq-content specs do" do
    load_method(method_file)
    {{RUBY_CLASS}}.new(ws.evm).main
    expect(ws).to have_ae_result("retry")
  end
end
