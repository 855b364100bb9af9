# frozen_string_literal: true

require "spec_helper"
require_relative "support/temp_domain"

# Engine#call_method: one method of a datastore run as ManageIQ's content specs run it —
# on a given object with a given parent and root, its class's inputs applied — with no
# instance and no throw-away domain to write.
RSpec.describe "MiqAutomate::Engine#call_method" do
  around do |example|
    Dir.mktmpdir("miq-call-") do |dir|
      domain = TempDomain.domain(dir, "Spec")
      TempDomain.klass(domain, "Quota/Methods",
                       methods: {
                         "requested" => [<<~RUBY, { "inputs" => [{ "name" => "unit", "datatype" => "string", "default_value" => "GB" }] }],
                           @check_quota = false if $evm.root["request_type"] == "VmReconfigureRequest"
                           $evm.object["requested"] = "\#{$evm.object['cpu'].to_i * 2} \#{MIQ_ARGS['unit']}"
                           $evm.object["parent_says"] = $evm.parent["source"]
                           $evm.object["class"] = $evm.current_class
                         RUBY
                         "failing" => "raise ArgumentError, 'no quota source'"
                       })
      @domain = domain
      example.run
    end
  end

  %i[vm process].each do |isolation|
    it "runs the method on the given object, parent and root, with its inputs (#{isolation})" do
      engine = build_engine(datastore: @domain, isolation: isolation)
      ws = engine.call_method("/Quota/Methods/requested", inputs: { unit: "MB" }, object: { cpu: 4 },
                                                          parent: { source: "tenant" }, root: { request_type: "MiqProvisionRequest" })
      object = ws.root.children.first.children.first
      expect(object["requested"]).to eq("8 MB")
      expect(object["parent_says"]).to eq("tenant")
      expect(object["class"]).to eq("Methods")
      expect(ws).to have_logged(:info, "Method exited with rc=MIQ_OK")
    end
  end

  it "takes the input's default when the call gives none, and the domain in the path" do
    engine = build_engine(datastore: @domain)
    ws = engine.call_method("/Spec/Quota/Methods/requested", object: { cpu: 1 })
    expect(ws.root.children.first["requested"]).to eq("2 GB")
  end

  it "raises as instantiate does when the method fails or does not exist" do
    engine = build_engine(datastore: @domain)
    expect { engine.call_method("/Quota/Methods/failing") }.to raise_error(MiqAutomate::UnknownMethodRc) { |e|
      expect(e.workspace).to have_logged(:error, "<AEMethod failing>   ArgumentError: no quota source")
    }
    expect { engine.call_method("/Quota/Methods/nope") }.to raise_error(MiqAutomate::MethodNotFound, /nope/)
    expect { engine.call_method("nope") }.to raise_error(MiqAutomate::MethodNotFound, %r{/namespace/Class/method})
  end
end
