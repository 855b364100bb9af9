# frozen_string_literal: true

require "json"

# Issue 11: the matrix exactly as the seed thread's update_provision_status builds it — a
# plain Hash of state name to instance URIs, no "states" key — is taken as it is.
RSpec.describe "MiqAutomate::Rollback with the seed's @rollback_matrix" do
  let(:rc) { "/Infrastructure/VM/Provisioning/StateMachinesMethods" }
  let(:request) { service_model(:miq_request, id: 7, user_message: nil) }
  let(:prov) do
    service_model(:miq_provision, id: 1, message: "previous", options: { vm_target_name: "web01" },
                                  miq_request: request, vm: nil)
  end
  let(:server) { service_model(:miq_server, id: 1, name: "EVM") }
  let(:ws) do
    build_workspace(root: { "miq_provision" => prov, "miq_server" => server, "rollback_class" => rc,
                            "ae_state" => "AcquireIPAddress", "ae_status_state" => "on_error", "ae_result" => "error" },
                    inputs: { "status" => "Error" }, current_method: "update_provision_status")
  end

  # The seed's code, unchanged: it reads $evm.
  def seed_matrix
    @rollback_matrix = Hash.new

    @rollback_matrix['AcquireIPAddress'] = [
      "#{$evm.root['rollback_class']}/ReleaseIPAddress",
      "#{$evm.root['rollback_class']}/LeaveDomain"
    ]
    @rollback_matrix
  end

  around do |example|
    saved = $evm
    $evm = ws.evm
    example.run
  ensure
    $evm = saved
  end

  it "validates" do
    expect(MiqAutomate::Rollback.validate(seed_matrix)).to be(true)
  end

  it "runs the failing state's steps in order, as the seed's trigger_rollback does" do
    result = MiqAutomate::Rollback.update_provision_status($evm, matrix: seed_matrix)
    expect(ws.instantiations).to eq(["#{rc}/ReleaseIPAddress", "#{rc}/LeaveDomain"])
    expect(result["ran"]).to eq(ws.instantiations)
    expect(ws).to have_logged(:info, "<AEMethod update_provision_status> >>> Instantiating '#{rc}/ReleaseIPAddress'")
    expect(prov.message).to eq("Error")
    expect(ws).to have_ae_result("error")
  end

  it "runs nothing for a state the matrix has no entry for" do
    $evm.root["ae_state"] = "RegisterDNS"
    result = MiqAutomate::Rollback.update_provision_status($evm, matrix: seed_matrix)
    expect(result["ran"]).to be_empty
    expect(ws).to have_logged(:info, "<AEMethod update_provision_status> No rollback steps for state RegisterDNS.")
  end

  it "takes the same shape as YAML or JSON text, and in journal mode" do
    yaml = "AcquireIPAddress:\n  - #{rc}/ReleaseIPAddress\n  - #{rc}/LeaveDomain\n"
    expect(MiqAutomate::Rollback.validate(yaml)).to be(true)
    expect(MiqAutomate::Rollback.validate(JSON.generate(seed_matrix))).to be(true)
    result = MiqAutomate::Rollback.update_provision_status($evm, matrix: yaml, mode: :journal)
    expect(result["ran"]).to eq(["#{rc}/ReleaseIPAddress", "#{rc}/LeaveDomain"])
  end

  it "refuses a Hash mixing the flat form and states:, naming the key" do
    mixed = seed_matrix.merge("states" => { "RegisterDNS" => ["#{rc}/UnregisterDNS"] })
    expect { MiqAutomate::Rollback.validate(mixed) }
      .to raise_error(MiqAutomate::InvalidMatrix, /\Arollback matrix: AcquireIPAddress: a state beside `states`/)
    expect { MiqAutomate::Rollback.validate("AcquireIPAddress" => [""]) }
      .to raise_error(MiqAutomate::InvalidMatrix, "rollback matrix: AcquireIPAddress[0]: empty URI")
  end
end
