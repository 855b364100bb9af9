# {{CLASS_PATH}}'s method {{NAME}}: alone (run_method, load_method) and through the
# offline engine (the instance {{CLASS_PATH}}/{{NAME}} runs it).
require_relative "spec_helper"

RSpec.describe "{{CLASS_PATH}} {{NAME}}" do
  let(:method_file) { File.join(DOMAIN_DIR, "{{CLASS_DIR}}/__methods__/{{FILE}}.rb") }
  let(:ws) { build_workspace(root: { "user_name" => "Ada" }) }

  it "greets the user" do
    expect(run_method(method_file, ws)).to exit_with(MiqAutomate::MIQ_OK)
    expect(ws.root["greeting"]).to eq("Hello, Ada")
    expect(ws).to have_logged(:info, "Hello, Ada")
  end

  it "can be driven class-style, as manageiq-content specs do" do
    load_method(method_file)
    {{RUBY_CLASS}}.new(ws.evm).main
    expect(ws.root["greeting"]).to eq("Hello, Ada")
  end

  it "runs from its instance through the engine" do
    engine = build_engine(datastore: DOMAIN_DIR)
    ws = engine.instantiate("{{CLASS_PATH}}/{{NAME}}", root: { "user_name" => "Ada" })
    expect(ws).to have_logged(:info, /Hello, Ada/)
  end
end
