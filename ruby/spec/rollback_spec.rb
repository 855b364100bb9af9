# frozen_string_literal: true

require "tmpdir"
require_relative "support/drb_workspace"
require_relative "support/reference_rollback"

RSpec.describe MiqAutomate::Rollback do
  RC = "/Infra/VM/Rollback/Methods"
  STATES = %w[CustomizeRequest AcquireIPAddress RegisterDHCP RegisterDNS Provision CheckProvisioned].freeze
  JOURNAL = {
    "states" => {
      "AcquireIPAddress" => ["${/#rollback_class}/ReleaseIPAddress"],
      "RegisterDHCP" => ["${/#rollback_class}/UnregisterDHCP"],
      "RegisterDNS" => ["${/#rollback_class}/UnregisterDNS"],
      "Provision" => ["vm.retire_now"]
    },
    "no_rollback" => %w[CustomizeRequest CheckProvisioned]
  }.freeze
  PER_STATE = {
    "states" => {
      "AcquireIPAddress" => ["${/#rollback_class}/ReleaseIPAddress"],
      "RegisterDHCP" => ["${/#rollback_class}/UnregisterDHCP", "${/#rollback_class}/ReleaseIPAddress"],
      "RegisterDNS" => ["${/#rollback_class}/UnregisterDNS", "${/#rollback_class}/UnregisterDHCP", "${/#rollback_class}/ReleaseIPAddress"],
      "Provision" => ["vm.retire_now", "${/#rollback_class}/UnregisterDNS", "${/#rollback_class}/UnregisterDHCP", "${/#rollback_class}/ReleaseIPAddress"]
    }
  }.freeze
  UNDO = {
    "CustomizeRequest" => [],
    "AcquireIPAddress" => %w[ReleaseIPAddress],
    "RegisterDHCP" => %w[UnregisterDHCP ReleaseIPAddress],
    "RegisterDNS" => %w[UnregisterDNS UnregisterDHCP ReleaseIPAddress],
    "Provision" => %w[UnregisterDNS UnregisterDHCP ReleaseIPAddress],
    "CheckProvisioned" => %w[UnregisterDNS UnregisterDHCP ReleaseIPAddress]
  }.freeze

  let(:request) { service_model(:miq_request, id: 7, user_message: nil) }
  let(:vm) { nil }
  let(:prov) { service_model(:miq_provision, id: 1, message: "previous", options: { vm_target_name: "web01" }, miq_request: request, vm: vm) }
  let(:server) { service_model(:miq_server, id: 1, name: "EVM") }
  let(:ws) do
    build_workspace(root: { "miq_provision" => prov, "miq_server" => server, "rollback_class" => RC, "ae_reason" => "kaput" },
                    inputs: { "status" => "Working" }, current_method: "update_provision_status")
  end

  def step(evm, state, status_state, result, matrix, mode, setter: ->(k, v) { evm.root[k] = v })
    setter.call("ae_state", state)
    setter.call("ae_status_state", status_state)
    setter.call("ae_result", result)
    described_class.update_provision_status(evm, matrix: matrix, mode: mode)
  end

  # Runs the states before `failing` to their on_exit, then fails `failing`.
  def fail_at(evm, failing, matrix, mode, **opts)
    STATES.take_while { |s| s != failing }.each { |s| step(evm, s, "on_exit", "ok", matrix, mode, **opts) }
    step(evm, failing, "on_error", "error", matrix, mode, **opts)
  end

  def names(uris) = uris.map { |u| u.split("/").last }

  describe "a failure in each state" do
    STATES.each do |state|
      it "journal mode, #{state}: undoes the completed states, most recent first" do
        result = fail_at(ws.evm, state, JOURNAL, :journal)
        expect(names(ws.instantiations)).to eq(UNDO[state])
        expect(result["ran"]).to eq(UNDO[state].map { |n| "#{RC}/#{n}" })
        expect(ws).to have_ae_result("error")
        expect(ws.root["ae_reason"]).to eq("kaput")
        expect(ws).to have_notified(type: :automate_user_error, subject: request, message: /\AVM Provision Error: \[EVM\] VM \[web01\] Step \[#{state}\]/)
      end

      it "per-state mode, #{state}: runs the failing state's list" do
        fail_at(ws.evm, state, PER_STATE, :per_state)
        expected = state == "CheckProvisioned" ? [] : UNDO[state]
        expect(names(ws.instantiations)).to eq(expected)
        expect(ws).to have_ae_result("error")
      end
    end
  end

  it "logs each step before instantiating it and keeps the messages as ManageIQ's method does" do
    fail_at(ws.evm, "RegisterDHCP", JOURNAL, :journal)
    expect(ws).to have_logged(:info, "<AEMethod update_provision_status> >>> Instantiating '#{RC}/UnregisterDHCP'")
    expect(request.user_message).to eq("[EVM] VM [web01] Step [RegisterDHCP] Status [Working] Message [Working] ")
    expect(prov.message).to eq("Working")
    expect(ws.state_vars["ae_rollback_journal"]).to eq(%w[CustomizeRequest AcquireIPAddress])
  end

  it "restores root ae_result and ae_reason that a nested instance changed" do
    ws.on_instantiate(/ReleaseIPAddress/) do |evm, _|
      evm.root["ae_result"] = "ok"
      evm.root["ae_reason"] = "nested"
    end
    fail_at(ws.evm, "AcquireIPAddress", JOURNAL, :journal)
    expect(ws).to have_ae_result("error")
    expect(ws.root["ae_reason"]).to eq("kaput")
  end

  it "never runs a step twice when on_error is retried or the machine re-entered" do
    fail_at(ws.evm, "RegisterDNS", JOURNAL, :journal)
    again = step(ws.evm, "RegisterDNS", "on_error", "error", JOURNAL, :journal)
    expect(again["ran"]).to be_empty
    expect(again["skipped"].size).to eq(3)
    fail_at(ws.evm, "Provision", JOURNAL, :journal) # the machine runs again and fails later
    expect(names(ws.instantiations)).to eq(UNDO["RegisterDNS"])
  end

  context "once the VM exists" do
    let(:vm) { service_model(:vm, id: 9, name: "web01", retired: false, retirement_state: nil) }

    it "retires it with vm.retire_now, once" do
      fail_at(ws.evm, "Provision", JOURNAL, :journal)
      step(ws.evm, "Provision", "on_error", "error", JOURNAL, :journal)
      expect(vm.retirement_state).to eq("initializing")
      expect(vm.calls.count { |c| c.first == :retire_now }).to eq(1)
      expect(ws).to have_logged(:info, "<AEMethod update_provision_status> Rollback: calling vm.retire_now")
    end
  end

  it "goes on after a failing step and tries it again on the next on_error" do
    ws.on_instantiate(/UnregisterDHCP/) { |_e, _u| exit MiqAutomate::MIQ_ABORT }
    result = fail_at(ws.evm, "RegisterDNS", JOURNAL, :journal)
    expect(names(result["ran"])).to eq(%w[UnregisterDNS ReleaseIPAddress])
    expect(names(result["failed"])).to eq(%w[UnregisterDHCP])
    expect(ws).to have_logged(:error, "<AEMethod update_provision_status> Rollback step '#{RC}/UnregisterDHCP' failed; continuing with the next step")
    again = step(ws.evm, "RegisterDNS", "on_error", "error", JOURNAL, :journal)
    expect(names(again["failed"])).to eq(%w[UnregisterDHCP])
  end

  it "sets ae_result to continue when asked" do
    ws.evm.root["ae_state"] = "RegisterDNS"
    ws.evm.root["ae_result"] = "error"
    described_class.update_provision_status(ws.evm, matrix: JOURNAL, on_error: :continue)
    expect(ws).to have_ae_result("continue")
  end

  it "exits MIQ_STOP without a miq_provision, as ManageIQ's method does" do
    ws.evm.root["miq_provision"] = nil
    expect { described_class.update_provision_status(ws.evm, matrix: JOURNAL) }.to exit_with(MiqAutomate::MIQ_STOP)
    expect(ws).to have_logged(:error, "<AEMethod update_provision_status> miq_provision object not provided")
  end

  it "runs the service variant for service_template_provision_task" do
    bundle = service_model(:service, id: 10, name: "bundle")
    task = service_model(:service_template_provision_task, id: 5, message: "m", destination: bundle, miq_request: request)
    sws = build_workspace(root: { "service_template_provision_task" => task, "miq_server" => server, "ae_state" => "Provision", "ae_result" => "error" },
                          inputs: { "status" => "Failed" })
    described_class.update_provision_status(sws.evm, matrix: { "states" => {} }, kind: :service)
    expect(request.user_message).to eq("[EVM] Service [bundle] Step [Provision] Status [Failed] Message [m] ")
    expect(sws).to have_notified(type: :automate_user_error, message: /\AService Provision Error: /)
    sws.evm.root["service_template_provision_task"] = nil
    expect { described_class.update_provision_status(sws.evm, matrix: { "states" => {} }, kind: :service) }
      .to raise_error(RuntimeError, "service_template_provision_task object not provided")
  end

  describe "matrices" do
    it "load from YAML text, JSON text and files" do
      yaml = "states:\n  RegisterDNS:\n    - uri: /A/B/UnregisterDNS\n      args: { reason: rollback }\n"
      ws.evm.root["ae_state"] = "RegisterDNS"
      ws.evm.root["ae_result"] = "error"
      described_class.update_provision_status(ws.evm, matrix: yaml)
      expect(ws.instantiations).to eq(["/A/B/UnregisterDNS?reason=rollback"])
      expect(described_class.validate('{"states": {"A": ["/a/b/c"]}}')).to be(true)
      Dir.mktmpdir do |dir|
        path = File.join(dir, "m.yml")
        File.write(path, yaml)
        expect(described_class.validate(path)).to be(true)
      end
    end

    it "reject bad ones with errors naming the state and step" do
      expect { described_class.validate("states:\n  A:\n    - ''") }.to raise_error(MiqAutomate::InvalidMatrix, "rollback matrix: states.A[0]: empty URI")
      expect { described_class.validate({ "states" => { "A" => ["abc:x/y"] } }) }.to raise_error(MiqAutomate::InvalidMatrix, /states\.A\[0\]: malformed URI "abc:x\/y": Unsupported Scheme \[abc\]/)
      expect { described_class.validate({ "states" => { "A" => [{ "uri" => "/a/b/c", "when" => 1 }] } }) }.to raise_error(MiqAutomate::InvalidMatrix, /unknown key `when`/)
      expect { described_class.validate({ "stats" => {} }) }.to raise_error(MiqAutomate::InvalidMatrix, /stats: expected a list of steps, got a mapping \(did you mean `states`\?\)/)
      expect { described_class.validate({ "states" => {}, "stats" => {} }) }.to raise_error(MiqAutomate::InvalidMatrix, /stats: unknown key/)
      expect { described_class.validate("/no/such/matrix.yml") }.to raise_error(MiqAutomate::InvalidMatrix, %r{/no/such/matrix.yml: \(file\): cannot read})
      expect { described_class.validate(42) }.to raise_error(MiqAutomate::InvalidMatrix, /expected a Hash/)
      expect { described_class.update_provision_status(ws.evm, matrix: JOURNAL, mode: :both) }.to raise_error(ArgumentError, /mode must be/)
    end
  end

  describe "on ManageIQ's kind of $evm: a pure-Ruby one served over DRb" do
    it "runs the same cases" do
      %w[AcquireIPAddress RegisterDNS Provision].each do |state|
        DrbWorkspace.serve(root: { "rollback_class" => RC, "ae_reason" => "kaput" }, inputs: { "status" => "Working" }) do |remote|
          setter = ->(k, v) { remote.set_root(k, v) }
          fail_at(remote, state, JOURNAL, :journal, setter: setter)
          expect(names(remote.instantiated)).to eq(UNDO[state])
          expect(remote.root["ae_result"]).to eq("error")
          expect(remote.root["ae_reason"]).to eq("kaput")
          expect(remote.model("miq_provision").miq_request.user_message).to start_with("[EVM] VM [web01] Step [#{state}]")
          expect(remote.notifications.size).to eq(1)
          expect(remote.state["ae_rollback_done"].size).to eq(UNDO[state].size)
          again = step(remote, state, "on_error", "error", JOURNAL, :journal, setter: setter)
          expect(again["ran"]).to be_empty
        end
      end
    end

    it "makes fewer $evm round trips than the same work written in Ruby" do
      counts = {}
      { native: nil, ruby: ReferenceRollback }.each do |kind, reference|
        DrbWorkspace.serve(root: { "rollback_class" => RC, "ae_reason" => "kaput", "ae_state" => "RegisterDNS",
                                   "ae_status_state" => "on_error", "ae_result" => "error" },
                           inputs: { "status" => "Working" }) do |remote|
          remote.set_state_var(:ae_rollback_journal, %w[AcquireIPAddress RegisterDHCP])
          if reference
            counter = { calls: 0 }
            reference.run(CountingProxy.wrap(remote, counter), JOURNAL)
            counts[kind] = counter[:calls]
          else
            counts[kind] = described_class.update_provision_status(remote, matrix: JOURNAL, mode: :journal)["round_trips"]
          end
          expect(names(remote.instantiated)).to eq(UNDO["RegisterDNS"])
        end
      end
      File.write(ENV["ROUND_TRIPS_REPORT"], counts.inspect) if ENV["ROUND_TRIPS_REPORT"]
      expect(counts[:native]).to be < counts[:ruby]
    end
  end
end
