# frozen_string_literal: true

require "miq_automate/rspec"

RSpec.describe "the method environment (ManageIQ's preamble)" do
  include MiqAutomate::RSpec

  let(:method_file) { File.expand_path("fixtures/methods/vm_name_with_active_support.rb", __dir__) }
  let(:prov) { service_model(:miq_provision, id: 42, options: { vm_name: "a-very-long-requested-name", owner: "" }) }

  it "gives run_method ActiveSupport's core extensions and Time.zone UTC" do
    ws = build_workspace(root: { "miq_provision" => prov })
    expect(run_method(method_file, ws)).to exit_with(MiqAutomate::MIQ_OK)
    expect(ws.evm.object["vmname"]).to eq("a-very-long-req")
    expect(ws.evm.root["retry_in"]).to eq(120)
    expect(ws.evm.root["zone"]).to eq("UTC")
    expect(ws.evm.root["blank_owner"]).to be(true)
  end

  it "is loaded once per process" do
    expect(MiqAutomate.method_environment!).to be(true)
    expect(MiqAutomate.method_environment!).to be(true)
    expect(defined?(ActiveSupport)).to eq("constant")
  end
end
