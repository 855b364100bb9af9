# frozen_string_literal: true

RSpec.describe MiqAutomate::ServiceModel do
  let(:request) { described_class.new(:miq_request, id: 7) }
  let(:prov) { described_class.new(:miq_provision, id: 1, message: "", options: { vm_target_name: "web01" }, miq_request: request, miq_request_tasks: ->(state = nil) { ["task", state].compact }) }

  it "answers attributes as methods and through []" do
    expect(prov.id).to eq(1)
    expect(prov.message).to eq("")
    prov.message = "done"
    expect(prov["message"]).to eq("done")
    expect(prov.miq_request).to equal(request)
    expect(prov.miq_request_tasks).to eq(["task"])
    expect(prov.miq_request_tasks("active")).to eq(%w[task active])
    expect(prov.respond_to?(:message=)).to be(true)
  end

  it "reads and writes options" do
    expect(prov.get_option(:vm_target_name)).to eq("web01")
    expect(prov.get_option("vm_target_name")).to eq("web01")
    prov.set_option(:owner_email, "a@b")
    expect(prov.options).to include(owner_email: "a@b")
  end

  it "raises NoMethodError for unknown methods, like the real models" do
    expect { prov.no_such_thing }.to raise_error(NoMethodError)
  end

  it "records calls and inspects readably" do
    prov.get_option(:vm_target_name)
    expect(prov.calls).to include([:get_option, [:vm_target_name]])
    expect(prov.inspect).to start_with("#<MiqAutomate::ServiceModel miq_provision id: 1, message: \"\"")
  end

  it "follows ManageIQ's retirement transitions" do
    vm = described_class.new(:vm, id: 3, retired: false, retirement_state: nil)
    vm.retire_now("admin")
    expect(vm.retirement_state).to eq("initializing")
    expect(vm.events).to eq(["request_vm_retire"])
    vm.start_retirement
    expect(vm.retiring?).to be(true)
    vm.retire_now
    expect(vm.events.size).to eq(1)
    vm.finish_retirement
    expect(vm.retired?).to be(true)
    expect(vm.retires_on).to eq(Date.today)
    expect { vm.finish_retirement }.to raise_error(RuntimeError, /already retired/)
  end

  it "works with rspec stubs" do
    allow(prov).to receive(:message).and_return("stubbed")
    expect(prov.message).to eq("stubbed")
    # verifying partial doubles know which methods a model really has
    expect { allow(prov).to receive(:statemachine_task_status) }.to raise_error(RSpec::Mocks::MockExpectationError, /does not implement/)
    ws = MiqAutomate::Workspace.new
    allow(ws.evm).to receive(:log)
    ws.evm.log(:info, "x")
    expect(ws.evm).to have_received(:log).with(:info, "x")
  end
end
