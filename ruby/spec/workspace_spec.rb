# frozen_string_literal: true

RSpec.describe MiqAutomate::Workspace do
  it "builds root, inputs and state vars from plain hashes" do
    ws = described_class.new(root: { "a" => 1 }, inputs: { "status" => "s" }, state_vars: { "k" => [1] }, current_method: :meth)
    expect(ws.root["a"]).to eq(1)
    expect(ws.evm.inputs).to eq("status" => "s")
    expect(ws.state_vars).to eq("k" => [1])
    ws.evm.log(:info, "x")
    expect(ws.logs).to eq([[:info, "<AEMethod meth> x"]])
  end

  it "refuses state vars with unsupported keys at construction" do
    expect { described_class.new(state_vars: { [1] => 2 }) }.to raise_error(RuntimeError, /State Var key/)
  end

  it "requires a block for on_instantiate" do
    expect { described_class.new.on_instantiate("/x") }.to raise_error(ArgumentError)
  end

  it "keeps two workspaces apart" do
    a = described_class.new(root: { "x" => 1 })
    b = described_class.new(root: { "x" => 2 })
    expect([a.root["x"], b.root["x"]]).to eq([1, 2])
    expect(a.evm.root).not_to eq(b.evm.root)
  end

  it "survives garbage collection with foreign objects and handlers held natively" do
    ws = described_class.new
    ws.evm.root["obj"] = Object.new.tap { |o| o.instance_variable_set(:@tag, "kept") }
    ws.on_instantiate("/X") { |e, _| e.root["ran"] = true }
    GC.start(full_mark: true, immediate_sweep: true)
    GC.compact if GC.respond_to?(:compact)
    expect(ws.evm.root["obj"].instance_variable_get(:@tag)).to eq("kept")
    ws.evm.instantiate("/A/B/X")
    expect(ws.evm.root["ran"]).to be(true)
  end
end

RSpec.describe "exit codes and errors" do
  it "defines the MIQ_* codes in the module and, on request, at top level" do
    expect([MiqAutomate::MIQ_OK, MiqAutomate::MIQ_WARN, MiqAutomate::MIQ_ERROR, MiqAutomate::MIQ_STOP, MiqAutomate::MIQ_ABORT]).to eq([0, 4, 8, 8, 16])
    MiqAutomate.define_exit_codes!
    expect(Object.const_get(:MIQ_ABORT)).to eq(16)
  end

  it "mirrors the engine's exception names under MiqAutomate::Error" do
    %i[InvalidPathFormat ObjectNotFound InvalidClass ServiceNotFound CyclicalRelationship StopInstantiation AbortInstantiation].each do |name|
      expect(MiqAutomate.const_get(name).ancestors).to include(MiqAutomate::Error)
    end
    expect(MiqAutomate::UnknownMethodRc.superclass).to eq(MiqAutomate::AbortInstantiation)
  end

  it "turns a Rust panic into a rescuable MiqAutomate::InternalError, not fatal" do
    rescued = begin
      MiqAutomate.__panic_for_test("boom v2:{secret}")
    rescue MiqAutomate::Error => e
      e
    end
    expect(rescued).to be_a(MiqAutomate::InternalError)
    expect(rescued.message).to include("a Rust panic was caught): boom ********")
    expect(rescued.message).not_to include("secret")
    # the process goes on
    expect(MiqAutomate::Workspace.new.evm.root["x"]).to be_nil
  end
end
