# frozen_string_literal: true

require "tmpdir"

RSpec.describe MiqAutomate::MockManageIQ do
  let(:scenario) { File.expand_path("../../mocks/failed_bundle.json", __dir__) }

  it "shares one VMDB between the REST API and $evm.vmdb: a method sees a retirement requested over REST" do
    mock = described_class.start(scenario)
    ws = build_workspace(vmdb: mock)
    expect(ws.evm.vmdb(:service, 1001).retired?).to be(false)
    expect(ws.evm.vmdb(:service, 1001).name).to eq("web tier")

    client = MiqAutomate::Api::Client.new(url: mock.url, user: "admin", password: "smartvm")
    client.retire_bundle_siblings(service_id: 1000, wait: true)

    Dir.mktmpdir do |dir|
      path = File.join(dir, "check.rb")
      File.write(path, "$evm.root['retired'] = $evm.vmdb(:service, 1001).retired?\n$evm.root['state'] = $evm.vmdb('Service', '1005').retirement_state\n")
      expect(run_method(path, ws)).to eq(MiqAutomate::MIQ_OK)
    end
    expect(ws.root["retired"]).to be(true)
    expect(ws.root["state"]).to eq("retired")
    mock.stop
  end

  it "answers retire_now with ManageIQ's transitions, seen over REST" do
    mock = described_class.start(scenario)
    service = mock.service(1005)
    service.retire_now
    expect(service.retirement_state).to eq("initializing")
    expect(mock.vm(2005)["name"]).to eq("cache-01")
    expect { mock.service(999_999) }.to raise_error(MiqAutomate::ServiceNotFound)
    ws = build_workspace(vmdb: mock)
    obj = ws.evm.instantiate("/A/B/C?Service::service=1005")
    expect(obj["service"]).to eq(service)
  end

  it "names a bad scenario" do
    expect { described_class.start("/no/such/scenario.json") }.to raise_error(MiqAutomate::Error, %r{/no/such/scenario.json})
  end
end
