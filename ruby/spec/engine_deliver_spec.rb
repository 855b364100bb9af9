# frozen_string_literal: true

require "spec_helper"
require_relative "support/vm_provision"

# MiqAutomate::Engine#deliver: examples/domains/RollbackDemo's VMProvision_VM state machine
# delivered from the export with its real methods, retries on the engine's virtual clock;
# ManageIQ's own states (not in the domain) stubbed.
RSpec.describe "MiqAutomate::Engine#deliver" do
  domain = File.expand_path("../../examples/domains/RollbackDemo", __dir__)
  machine = "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template"
  methods = "/Infrastructure/VM/Provisioning/StateMachines/Methods"
  network = "/Infrastructure/VM/Provisioning/Network/Methods"
  rollback = "/Infrastructure/VM/Provisioning/Rollback/Methods"
  finished = "/System/CommonMethods/StateMachineMethods/vm_provision_finished"
  all_states = %w[CustomizeRequest AcquireIPAddress RegisterDHCP RegisterDNS Provision CheckProvisioned PostProvision Finished]

  include_context "VMProvision_VM delivery", domain, methods, finished

  # CheckProvisioned answers retry `times` times (ae_retry_interval 1.minute), then ok.
  def retry_check(engine, times, interval: "1.minute", &also)
    calls = 0
    engine.stub("/Infrastructure/VM/Provisioning/StateMachines/Methods/CheckProvisioned") do |evm|
      calls += 1
      also&.call(evm)
      if calls <= times
        evm.root["ae_result"] = "retry"
        evm.root["ae_retry_interval"] = interval
      end
    end
  end

  it "delivers until the machine stops retrying, on the virtual clock" do
    retry_check(engine, 2)
    started = engine.clock.now
    d = deliver(engine, machine, root: root)
    expect(d).to be_a(MiqAutomate::Delivery)
    expect(d).to have_ae_result("ok")
    expect(d.deliveries.size).to eq(3)
    expect(d.clock).to eq(120)
    expect(engine.clock.now - started).to eq(120)
    expect(d).to have_passed_states(all_states)
    expect(d).to have_passed_states(all_states.flat_map { |s| s == "CheckProvisioned" ? [s] * 3 : [s] })
    expect(d).not_to have_passed_states(all_states.reverse)
    expect(d).to have_retried(2)
    expect(d).to have_retried(2).in_state("CheckProvisioned")
    expect(d).not_to have_retried(1)
    expect(d.limit).to be_nil
    expect(d.error).to be_nil
    # The trace, as the Rust Delivery serialises it.
    expect(d.trace.map { |t| [t["delivery"], t["at"], t["state"], t["ae_result"]] })
      .to eq([[1, 0, nil, "retry"], [2, 60, "CheckProvisioned", "retry"], [3, 120, "CheckProvisioned", "ok"]])
    expect(d.trace[0]["requeue"]).to include("state" => "CheckProvisioned", "retry_interval" => 60, "server_affinity" => false)
    expect(d.trace[0]["events"].first).to include("event" => "enter", "state" => "CustomizeRequest", "retries" => 0)
    expect(d.events).to include(a_hash_including("event" => "step", "state" => "PostProvision", "step" => "main",
                                                 "method" => "#{methods}/PostProvision#vmware", "result" => "ok"))
    # Logs of every delivery; the last delivery's workspace.
    expect(d).to have_logged(:info, /\ARequeuing \{:uri=>.* with state \[CheckProvisioned\] to Automate for delivery in \[60\] seconds/)
    expect(d).to have_logged(:info, /Delivering .* for object \[MiqProvision\.1\] with state \[CheckProvisioned\]/)
    expect(d.logs.first).to match([:info, /\ADelivering /])
    expect(d.workspace).to be_a(MiqAutomate::Workspace)
    expect(d.workspace).to have_ae_result("ok")
    expect(d.root["ae_state"]).to eq("")
    expect(d.workspace.logs.map(&:last)).not_to include(a_string_starting_with("Processing State=[RegisterDNS]"))
    expect(JSON.parse(d.to_json)).to eq(d.to_h)
    expect(d.to_h.keys).to include("ae_result", "ae_reason", "deliveries", "virtual_seconds", "limit", "trace", "objects", "state_vars", "logs")
    expect(task.message).to eq("Finished")
  end

  it "runs the real network methods once, and the state-machine hooks with them" do
    d = deliver(engine, machine, root: root)
    expect(d).to have_ae_result("ok")
    expect(d.deliveries.size).to eq(1)
    expect(d.clock).to eq(0)
    expect(d).to have_logged(:info, "<AEMethod register_dns> Registered DNS [web01.example.com → 192.0.2.10] for VM [web01]")
    expect(task.options.values_at(:ip_addr, :dhcp_reservation, :dns_fqdn)).to eq(["192.0.2.10", "dhcp-web01", "web01.example.com"])
  end

  {
    "CustomizeRequest" => ["#{methods}/CustomizeRequest", "Error Customizing Request", []],
    "AcquireIPAddress" => ["#{network}/AcquireIPAddress", "Error Acquiring IP Address", ["#{rollback}/ReleaseIPAddress"]],
    "RegisterDHCP" => ["#{network}/RegisterDHCP", "Error Registering DHCP",
                       ["#{rollback}/UnregisterDHCP?reason=rollback", "#{rollback}/ReleaseIPAddress"]],
    "RegisterDNS" => ["#{network}/RegisterDNS", "Error Registering DNS",
                      ["#{rollback}/UnregisterDNS", "#{rollback}/UnregisterDHCP?reason=rollback", "#{rollback}/ReleaseIPAddress"]],
    "Provision" => ["#{methods}/Provision", "Error Creating VM",
                    ["#{rollback}/UnregisterDNS", "#{rollback}/UnregisterDHCP?reason=rollback", "#{rollback}/ReleaseIPAddress"]],
    "CheckProvisioned" => ["#{methods}/CheckProvisioned", "Error Creating VM",
                           ["#{rollback}/UnregisterDNS", "#{rollback}/UnregisterDHCP?reason=rollback", "#{rollback}/ReleaseIPAddress"]],
    "PostProvision" => ["#{methods}/PostProvision", "Error Applying PostProvision Customizations",
                        ["#{rollback}/UnregisterDNS", "#{rollback}/UnregisterDHCP?reason=rollback", "#{rollback}/ReleaseIPAddress"]],
    "Finished" => [finished, "Error Finishing",
                   ["#{rollback}/UnregisterDNS", "#{rollback}/UnregisterDHCP?reason=rollback", "#{rollback}/ReleaseIPAddress"]]
  }.each do |state, (path, status, steps)|
    it "runs #{state}'s on_error and the rollback instances from the export when #{state} fails" do
      engine.stub(path) do |evm|
        evm.root["ae_result"] = "error"
        evm.root["ae_reason"] = "#{state} failed"
      end
      d = deliver(engine, machine, root: root)
      expect(d).to have_ae_result("error")
      expect(d.ae_reason).to eq("#{state} failed")
      expect(d).to have_passed_states(all_states.take(all_states.index(state) + 1))
      expect(d.events.last).to include("event" => "done", "state" => state, "result" => "error")
      expect(d).to have_logged(:info, "In State=[#{state}], invoking [on_error] method=[update_provision_status(status => '#{status}')]")
      expect(d.instantiations).to eq(steps)
      steps.each { |uri| expect(d).to have_instantiated(uri) }
      # Whatever the network states did is undone.
      expect(task.options.values_at(:ip_addr, :dhcp_reservation, :dns_fqdn)).to eq([nil, nil, nil])
      expect(task.message).to eq(status)
      expect(d).to have_notified(type: :automate_user_error, subject: request)
    end
  end

  it "stops a request that keeps retrying at max_deliveries or max_time" do
    retry_check(engine, 1000, interval: "1.hour")
    d = engine.deliver(machine, root: root, max_deliveries: 3)
    expect([d.ae_result, d.limit, d.deliveries.size, d.clock]).to eq(["retry", "max_deliveries", 3, 7200])
    expect(d).to have_logged(:warn, "Not delivering again: max_deliveries [3] reached")
    d = engine.deliver(machine, root: root, max_time: 5 * 3600)
    expect([d.ae_result, d.limit, d.deliveries.size, d.clock]).to eq(["retry", "max_virtual_time", 6, 5 * 3600])
    expect { engine.deliver(machine, max_deliveries: 0) }.to raise_error(ArgumentError, /max_deliveries/)
    expect { engine.deliver(machine, max_time: -1) }.to raise_error(ArgumentError, /max_time/)
  end

  it "gives stubs the engine's clock: ae_state_started and max_time read it" do
    engine.clock.now = Time.utc(2024, 5, 1, 10)
    expect(engine.clock.now).to eq(Time.utc(2024, 5, 1, 10))
    seen = []
    # A clone that takes 90 s a check; the state's started time stays the first one.
    retry_check(engine, 2) do |evm|
      seen << [evm.root["ae_state_started"].to_s, evm.clock.now]
      evm.clock.advance(90)
    end
    d = deliver(engine, machine, root: root)
    expect(d.clock).to eq(2 * 60 + 3 * 90)
    expect(seen.map(&:first).uniq).to eq(["2024-05-01 10:00:00 UTC"])
    expect(seen.map(&:last)).to eq([Time.utc(2024, 5, 1, 10, 0, 0), Time.utc(2024, 5, 1, 10, 2, 30), Time.utc(2024, 5, 1, 10, 5, 0)])
    expect(engine.clock.inspect).to eq("#<MiqAutomate::Engine::Clock 2024-05-01 10:06:30 UTC>")
    expect { engine.clock.advance(1.5) }.to raise_error(ArgumentError)
  end

  it "says what the delivery did when a matcher fails" do
    retry_check(engine, 1)
    d = deliver(engine, machine, root: root)
    expect { expect(d).to have_passed_states(%w[CustomizeRequest Finished]) }
      .to raise_error(RSpec::Expectations::ExpectationNotMetError,
                      /expected the states \["CustomizeRequest", "Finished"\] to be entered in order, entered were \["CustomizeRequest", "AcquireIPAddress", /)
    expect { expect(d).to have_retried(3) }
      .to raise_error(RSpec::Expectations::ExpectationNotMetError, "expected 3 retries, got 1")
    expect { expect(d).to have_retried(1).in_state("Provision") }
      .to raise_error(RSpec::Expectations::ExpectationNotMetError, "expected 1 retry in state Provision, got 0")
  end

  it "reports an abort as an error result, not an exception" do
    engine.stub("#{methods}/Provision") { |evm| evm.root["ae_next_state"] = "NoSuchState" }
    d = deliver(engine, machine, root: root)
    expect(d).to have_ae_result("error")
    expect(d.error).to eq("MiqAeException::AbortInstantiation: Invalid state specified <NoSuchState>")
    expect(d.deliveries.size).to eq(1)
  end

  it "raises MethodTimeout with the delivery when a method outlives the timeout" do
    engine.stub("#{methods}/Provision") { sleep 5 }
    expect { engine.deliver(machine, root: root, timeout: 0.2) }.to raise_error(MiqAutomate::MethodTimeout) { |e|
      expect(e.delivery).to be_a(MiqAutomate::Delivery)
      expect(e.workspace).to eq(e.delivery.workspace)
      expect(e.message).to include("timed out after 0.2 seconds")
    }
  end
end
