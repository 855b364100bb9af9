# frozen_string_literal: true

require "spec_helper"
require_relative "../support/temp_domain"

# Conformance with ManageIQ's engine, after its spec/miq_ae_engine_spec.rb: what the
# engine does with the caller's Ruby objects.
RSpec.describe "Conformance: the engine (miq_ae_engine_spec)" do
  around do |example|
    Dir.mktmpdir("miq-conformance-") do |dir|
      domain = TempDomain.domain(dir, "Spec")
      TempDomain.klass(domain, "Demo/Labels",
                       schema: [{ "aetype" => "attribute", "name" => "label", "default_value" => "vm is ${/#vm}" }],
                       instances: { "one" => {} })
      @domain = domain
      example.run
    end
  end

  it "substitutes a Ruby object by its to_s, as Ruby's string interpolation does" do
    vm = Struct.new(:name) { def to_s = "vm #{name}" }.new("web-1")
    ws = build_engine(datastore: @domain).instantiate("/Demo/Labels/one", root: { "vm" => vm })
    expect(ws.root["label"]).to eq("vm is vm web-1")
    expect(ws.root["vm"]).to equal(vm) # the object itself stays on the root
  end
end
