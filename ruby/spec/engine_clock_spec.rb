# frozen_string_literal: true

require "miq_automate/rspec"

RSpec.describe "the engine's virtual clock drives a mock ManageIQ" do
  include MiqAutomate::RSpec

  let(:root_dir) { File.expand_path("../..", __dir__) }
  let(:mock) { MiqAutomate::MockManageIQ.start(File.join(root_dir, "mocks/failed_bundle.json")) }
  let(:engine) { build_engine(datastore: File.expand_path("fixtures/domains/EngineSpec", __dir__), vmdb: mock) }

  after { mock.stop }

  it "moves a retire request on as engine time passes, without sleeping" do
    engine # shares its clock with the mock's VMDB
    service = mock.service(1001)
    service.retire_now
    expect(service.retired?).to be(false)
    engine.clock.advance(3600)
    expect(mock.service(1001).retired?).to be(true)
  end

  it "starts no earlier than the VMDB's own time" do
    before = Time.now.utc.to_i
    expect(engine.clock.now.to_i).to be >= before - 1
  end
end
