# Offline specs that deliver the RollbackDemo domain's VMProvision_VM state machine with the
# engine (MiqAutomate::Engine#deliver), as ManageIQ's automate worker would: every state in
# order, retries on the virtual clock, the domain's real methods. ManageIQ's own states,
# which this domain does not have, are stubbed. Run from the repository root with
#   rspec -I ruby/lib examples/spec/vmprovision_deliver_spec.rb
# and with `-r miq_automate/coverage` to see which states and hooks they reached
# (docs/reference/coverage.md).
require "miq_automate/rspec"

RSpec.describe "VMProvision_VM/template delivered from examples/domains/RollbackDemo" do
  domain = File.expand_path("../domains/RollbackDemo", __dir__)
  manageiq = "/Infrastructure/VM/Provisioning/StateMachines/Methods"
  rollback = "/Infrastructure/VM/Provisioning/Rollback/Methods"

  let(:request) { service_model(:miq_request, id: 7, user_message: nil) }
  let(:template) { service_model(:vm_or_template, id: 3, vendor: "vmware") }
  let(:task) do
    service_model(:miq_provision, id: 1, message: "", state: "active", vm: nil, source: template,
                                  miq_request: request, options: { vm_target_name: "web01" })
  end
  let(:engine) do
    build_engine(datastore: domain, models: [task]).tap do |e|
      %w[CustomizeRequest Provision PostProvision].each { |state| e.stub("#{manageiq}/#{state}", MiqAutomate::MIQ_OK) }
      e.stub("/System/CommonMethods/StateMachineMethods/vm_provision_finished", MiqAutomate::MIQ_OK)
    end
  end

  def deliver
    engine.deliver("/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template", root: { "miq_provision" => task, "vmdb_object_type" => "miq_provision" })
  end

  it "provisions: the clone is checked again a minute later, then every state passes" do
    checks = 0
    engine.stub("#{manageiq}/CheckProvisioned") do |evm|
      checks += 1
      evm.root["ae_result"] = checks < 2 ? "retry" : "ok"
      evm.root["ae_retry_interval"] = "1.minute"
    end

    d = deliver

    expect(d.ae_result).to eq("ok")
    expect(d).to have_retried(1).in_state("CheckProvisioned")
    expect(d.clock).to eq(60)
    expect(task.options.values_at(:ip_addr, :dns_fqdn)).to eq(["192.0.2.10", "web01.example.com"])
  end

  it "rolls back the network states when the clone fails" do
    engine.stub("#{manageiq}/CheckProvisioned") do |evm|
      evm.root["ae_result"] = "error"
      evm.root["ae_reason"] = "clone failed"
    end

    d = deliver

    expect(d.ae_result).to eq("error")
    expect(d.instantiations).to eq(["#{rollback}/UnregisterDNS", "#{rollback}/UnregisterDHCP?reason=rollback",
                                    "#{rollback}/ReleaseIPAddress"])
    expect(task.options.values_at(:ip_addr, :dhcp_reservation, :dns_fqdn)).to eq([nil, nil, nil])
    expect(task.message).to eq("Error Creating VM")
  end
end
