# frozen_string_literal: true

require "spec_helper"
require_relative "support/vm_provision"

# The facts a picture of a run needs (issue #23), in MiqAutomate::Delivery#to_h["trace"]
# (what `miq-automate run --output json` prints): what served each step, the reasons, a
# state's retries, the on_error's `$evm.instantiate` calls (a rollback's undo steps), and
# each delivery's notifications and executions, secrets masked.
RSpec.describe "MiqAutomate::Delivery#to_h trace" do
  domain = File.expand_path("../../examples/domains/RollbackDemo", __dir__)
  machine = "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template"
  methods = "/Infrastructure/VM/Provisioning/StateMachines/Methods"
  network = "/Infrastructure/VM/Provisioning/Network/Methods"
  rollback = "/RollbackDemo/Infrastructure/VM/Provisioning/Rollback/Methods"
  finished = "/System/CommonMethods/StateMachineMethods/vm_provision_finished"

  include_context "VMProvision_VM delivery", domain, methods, finished

  it "has the on_error's rollback as instantiate events, in order, and what served each step" do
    engine.stub("#{network}/RegisterDNS") do |evm|
      evm.root["ae_result"] = "error"
      evm.root["ae_reason"] = "DNS is down"
    end
    d = deliver(engine, machine, root: root)
    expect(d).to have_ae_result("error")
    entry = d.to_h["trace"].first
    expect(entry["reason"]).to eq("DNS is down")
    events = entry["events"]
    undo = events.select { |e| e["event"] == "instantiate" }
    expect(undo.map { |e| e.values_at("state", "step", "result") }).to all(eq(%w[RegisterDNS on_error ok]))
    expect(undo.map { |e| e["fqname"] }).to eq(%W[#{rollback}/UnregisterDNS #{rollback}/UnregisterDHCP #{rollback}/ReleaseIPAddress])
    expect(undo.map { |e| e["uri"] }).to eq(%W[#{rollback.delete_prefix('/RollbackDemo')}/UnregisterDNS
                                               #{rollback.delete_prefix('/RollbackDemo')}/UnregisterDHCP?reason=rollback
                                               #{rollback.delete_prefix('/RollbackDemo')}/ReleaseIPAddress])
    expect(undo).to all(include("domain" => "RollbackDemo"))
    # The instantiations come before the on_error step's own event, then done.
    on_error = events.index { |e| e["event"] == "step" && e["step"] == "on_error" }
    expect(events.index(undo.last)).to be < on_error
    expect(events[on_error]).to include("fqname" => "/RollbackDemo#{machine.sub('/template', '')}/update_provision_status",
                                        "domain" => "RollbackDemo", "reason" => "DNS is down")
    expect(events.last).to include("event" => "done", "state" => "RegisterDNS", "result" => "error",
                                   "retries" => 0, "reason" => "DNS is down")
    main = events.find { |e| e["event"] == "step" && e["state"] == "RegisterDHCP" && e["step"] == "main" }
    expect(main).to include("fqname" => "/RollbackDemo#{network}/RegisterDHCP",
                            "method_fqname" => "/RollbackDemo#{network}/register_dhcp")
    expect(main).not_to include("reason")
    # The delivery's notification (update_provision_status's on error), as Workspace#notifications gives it.
    expect(entry["notifications"]).to match([a_hash_including("type" => "automate_user_error", "level" => "error",
                                                               "audience" => "user", "text" => /Error Registering DNS/)])
    expect(entry["notifications"].first.keys).to eq(%w[type subject message level audience text options])
    expect(entry["executions"]).to eq([])
  end

  it "gives each delivery its own notifications and executions, and never a secret" do
    calls = 0
    engine.stub("#{methods}/CheckProvisioned") do |evm|
      calls += 1
      if calls == 1
        evm.execute(:send_email, "ops@example.com", "password::hunter2", MiqAutomate::Password.new("sekrit"), "v2:{abcdef}")
        evm.create_notification(level: "info", message: "waiting (token v2:{abcdef})")
        evm.root["ae_result"] = "retry"
        evm.root["ae_retry_interval"] = "1.minute"
      end
    end
    d = deliver(engine, machine, root: root)
    expect(d).to have_ae_result("ok")
    first, second = d.to_h["trace"]
    expect(first["executions"]).to eq([{ "name" => "send_email",
                                         "args" => ["ops@example.com", "password::********", "********", "********"] }])
    expect(first["notifications"]).to match([a_hash_including("type" => "automate_user_info", "message" => "waiting (token ********)")])
    expect(second["executions"]).to eq([])
    expect(second["notifications"]).to eq([])
    # What the passes' workspaces hold, delivery by delivery.
    expect(d.deliveries.map { |p| p.executions.size }).to eq([first, second].map { |t| t["executions"].size })
    expect(d.deliveries.map { |p| p.notifications.size }).to eq([first, second].map { |t| t["notifications"].size })
    retried = first["events"].find { |e| e["event"] == "done" && e["state"] == "CheckProvisioned" }
    expect(retried).to include("result" => "retry", "retries" => 1, "retry_interval" => 60)
    again = second["events"].find { |e| e["event"] == "done" && e["state"] == "CheckProvisioned" }
    expect(again).to include("result" => "ok", "retries" => 1)
    expect(again).not_to include("retry_interval", "reason")
    %w[hunter2 sekrit abcdef].each { |secret| expect(d.to_json).not_to include(secret) }
  end
end
