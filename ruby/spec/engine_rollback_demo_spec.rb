# frozen_string_literal: true

require "spec_helper"

# The example domain examples/domains/RollbackDemo instantiated from its export by the
# engine, its real inline methods run in this process: the network states of a VM provision
# (AcquireIPAddress, RegisterDHCP, RegisterDNS) and the rollback instances that undo them,
# on one provision task built as a service model.
RSpec.describe "MiqAutomate::Engine over examples/domains/RollbackDemo" do
  domain = File.expand_path("../../examples/domains/RollbackDemo", __dir__)
  network = "/Infrastructure/VM/Provisioning/Network/Methods"
  rollback = "/Infrastructure/VM/Provisioning/Rollback/Methods"

  let(:prov) { service_model(:miq_provision, id: 1, options: { vm_target_name: "web01", dns_domain: "lab.example" }) }
  let(:engine) { build_engine(datastore: domain, models: [prov]) }

  def forward(state)
    engine.instantiate("/Infrastructure/VM/Provisioning/Network/Methods/#{state}", root: { "miq_provision" => prov })
  end

  it "loads the export" do
    expect(engine.datastore.stats).to eq(domains: 1, namespaces: 6, classes: 3, instances: 7, methods: 8)
  end

  it "runs the network states' methods against the provision task" do
    ws = forward("AcquireIPAddress")
    expect(ws).to have_ae_result("ok")
    expect(ws).to have_logged(:info, "Invoking [inline] method [/RollbackDemo#{network}/acquire_ip_address] with inputs [{}]")
    expect(ws).to have_logged(:info, "<AEMethod acquire_ip_address> Reserved IP address [192.0.2.10] for VM [web01]")
    expect(prov.get_option(:ip_addr)).to eq("192.0.2.10")

    expect(forward("RegisterDHCP")).to have_ae_result("ok")
    expect(prov.get_option(:dhcp_reservation)).to eq("dhcp-web01")

    ws = forward("RegisterDNS")
    expect(ws).to have_logged(:info, "<AEMethod register_dns> Registered DNS [web01.lab.example → 192.0.2.10] for VM [web01]")
    expect(prov.get_option(:dns_fqdn)).to eq("web01.lab.example")
  end

  it "runs the same method file again and again without redefinition warnings" do
    2.times { forward("RegisterDNS") }
    ws = forward("RegisterDNS")
    expect(ws.logs.map(&:last).grep(/STDERR|already initialized/)).to eq([])
  end

  it "fails a state whose input is missing, as the method decides (no IP address for DNS)" do
    ws = forward("RegisterDNS")
    expect(ws).to have_ae_result("error")
    expect(ws.root["ae_reason"]).to eq("VM [web01] has no IP address to register in DNS")
  end

  it "stops without a provision task (MIQ_STOP from the method)" do
    ws = engine.instantiate("#{network}/AcquireIPAddress")
    expect(ws).to have_logged(:error, "<AEMethod acquire_ip_address> miq_provision object not provided")
    expect(ws).to have_logged(:info, "Stopping instantiation because [Method exited with rc=MIQ_STOP]")
  end

  it "undoes the network states with the rollback instances, arguments from the URI" do
    %w[AcquireIPAddress RegisterDHCP RegisterDNS].each { |state| forward(state) }
    root = { "miq_provision" => prov, "ae_state" => "Provision" }

    ws = engine.instantiate("#{rollback}/ReleaseIPAddress?reason=clone%20failed", root: root)
    expect(ws).to have_logged(:info, /Rollback after \[Provision\] failed \(clone failed\): removing IP address \[192\.0\.2\.10\] of VM \[web01\]/)
    expect(prov.get_option(:ip_addr)).to be_nil
    %w[UnregisterDHCP UnregisterDNS].each do |step|
      expect(engine.instantiate("#{rollback}/#{step}", root: root).logs).not_to include(a_collection_including(:error))
    end
    expect(prov.get_option(:dhcp_reservation)).to be_nil
    expect(prov.get_option(:dns_fqdn)).to be_nil

    # Safe to run twice: nothing left to undo.
    ws = engine.instantiate("#{rollback}/ReleaseIPAddress", root: root)
    expect(ws).to have_logged(:info, "<AEMethod release_ip_address> VM [web01] has no IP address: nothing to undo")
  end

  it "runs the VMProvision_VM state machine from the export, rolling back when the clone fails" do
    request = service_model(:miq_request, id: 7, user_message: nil)
    template = service_model(:vm_or_template, id: 3, vendor: "vmware")
    task = service_model(:miq_provision, id: 1, message: "", state: "active", vm: nil, source: template,
                                         miq_request: request, options: { vm_target_name: "web01" })
    engine = build_engine(datastore: domain, models: [task])
    # ManageIQ's own states (not in this domain) stand in; the clone fails.
    manageiq = "/Infrastructure/VM/Provisioning/StateMachines/Methods"
    %w[CustomizeRequest Provision PostProvision].each { |state| engine.stub("#{manageiq}/#{state}", MiqAutomate::MIQ_OK) }
    engine.stub("/Infrastructure/VM/Provisioning/Placement/default", MiqAutomate::MIQ_OK)
    engine.stub("#{manageiq}/CheckProvisioned") do |evm|
      evm.root["ae_result"] = "error"
      evm.root["ae_reason"] = "clone failed"
    end

    ws = engine.instantiate("/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
                            root: { "miq_provision" => task, "vmdb_object_type" => "miq_provision" })

    expect(ws).to have_logged(:info, "<AEMethod register_dns> Registered DNS [web01.example.com → 192.0.2.10] for VM [web01]")
    expect(ws).to have_logged(:warn, "Error in State=[CheckProvisioned]")
    # update_provision_status's rollback undid the network states, newest first, through the engine.
    expect(ws.instantiations).to eq(["#{rollback}/UnregisterDNS", "#{rollback}/UnregisterDHCP?reason=rollback",
                                     "#{rollback}/ReleaseIPAddress"])
    expect(ws).to have_logged(:info, "<AEMethod release_ip_address> Removed IP address [192.0.2.10] of VM [web01]")
    expect(task.options.values_at(:ip_addr, :dhcp_reservation, :dns_fqdn)).to eq([nil, nil, nil])
    expect(task.message).to eq("Error Creating VM")
    expect(ws).to have_notified(type: :automate_user_error, subject: request)
  end

  it "lets a spec stand in for an external system by stubbing one instance" do
    engine.stub("#{network}/AcquireIPAddress") do |evm|
      evm.root["miq_provision"].set_option(:ip_addr, "198.51.100.7")
      evm.root["ae_result"] = "ok"
    end
    forward("AcquireIPAddress")
    ws = forward("RegisterDNS")
    expect(ws).to have_logged(:info, /Registered DNS \[web01\.lab\.example → 198\.51\.100\.7\]/)
  end
end
