# frozen_string_literal: true

# Run from outside the source tree against an installed gem (scripts/gem-smoke.sh): the gem
# loads, its extension is the installed one, and the basics work.
require "miq_automate"
require "miq_automate/rspec"

RSpec.describe "the installed miq_automate gem" do
  include MiqAutomate::RSpec

  it "is loaded from the gem, not from a checkout" do
    expect(Gem.loaded_specs["miq_automate"]).not_to be_nil
    native = $LOADED_FEATURES.grep(/miq_automate\.so\z/)
    expect(native).not_to be_empty
    expect(native.first).to start_with(ENV.fetch("GEM_HOME"))
    expect(MiqAutomate::NATIVE_VERSION).to eq(MiqAutomate::VERSION)
  end

  it "gives an offline $evm with the engine's semantics" do
    ws = build_workspace(root: { "vm_name" => "web01" })
    ws.evm.root["ae_result"] = "ok"
    expect(ws.evm.root["vm_name"]).to eq("web01")
    expect(ws).to have_ae_result("ok")
  end

  it "has the REST client, refusing a malformed URL" do
    expect { MiqAutomate::Api::Client.new(url: "not a url", token: "t") }.to raise_error(MiqAutomate::Api::Error)
  end
end
