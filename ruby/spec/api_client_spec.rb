# frozen_string_literal: true

require "timeout"
require_relative "support/mock_manageiq"

RSpec.describe MiqAutomate::Api::Client do
  it "retires a failed bundle's siblings and returns the report as a Hash" do
    MockManageIQ.serve do |url|
      client = described_class.new(url: url, user: "admin", password: "smartvm")
      report = client.retire_bundle_siblings(service_id: 1000, failed_id: 1004, wait: true)
      outcomes = report["items"].to_h { |i| [i["id"], i["outcome"]] }
      expect(outcomes).to eq("1001" => "retired", "1002" => "skipped", "1003" => "skipped", "1004" => "left", "1005" => "retired")
      expect(report["summary"]["retired"]).to eq(2)
      expect(client.inspect).not_to include("smartvm")
    end
  end

  it "raises MiqAutomate::Api::Error for bad credentials, without the password" do
    MockManageIQ.serve do |url|
      client = described_class.new(url: url, user: "admin", password: "wrong-pass-123")
      expect { client.retire_bundle_siblings(service_id: 1000) }.to raise_error(MiqAutomate::Api::Error) { |e|
        expect(e.message).to include("authentication failed")
        expect(e.message).not_to include("wrong-pass-123")
      }
    end
  end

  it "refuses a malformed URL" do
    expect { described_class.new(url: "miq.example.com", token: "t") }.to raise_error(MiqAutomate::Api::Error, /invalid URL/)
  end

  it "releases the GVL while it waits on the network" do
    latency = { "latency_ms" => 150 }
    MockManageIQ.serve(faults: latency) do |url|
      client = described_class.new(url: url, user: "admin", password: "smartvm")
      ticks = 0
      ticker = Thread.new { loop { ticks += 1; sleep 0.005 } }
      before = ticks
      client.retire_bundle_siblings(service_id: 1000) # several round trips of 150 ms each
      during = ticks - before
      ticker.kill
      # with the GVL held the ticker could not run at all during the call
      expect(during).to be > 20
    end
  end

  it "makes several calls on one client, from two Ruby threads" do
    MockManageIQ.serve(scenario: "large_bundle.json") do |url|
      client = described_class.new(url: url, user: "admin", password: "smartvm")
      first = client.retire_bundle_siblings(service_id: 1000)
      expect(first["summary"]["requested"]).to eq(450)
      reports = 2.times.map { Thread.new { client.retire_bundle_siblings(service_id: 1000) } }.map(&:value)
      reports.each do |r|
        expect(r["summary"]["requested"]).to eq(0)
        expect(r["items"].map { |i| i["reason"] }.grep(/\Aretire request \d+ already open\z/).size).to eq(450)
      end
    end
  end

  it "takes the CLI's options with the same defaults" do
    MockManageIQ.serve do |url|
      client = described_class.new(url: url, user: "admin", password: "smartvm")
      plan = client.retire_bundle_siblings(service_id: 1000, dry_run: true, include_failed: true, retire_parent: true,
                                           with_vms: true, concurrency: 2, timeout: 5, poll_interval: 0.05)
      expect(plan["dry_run"]).to be(true)
      expect(plan["items"].map { |i| [i["id"], i["outcome"]] }).to eq(
        [%w[1001 planned], %w[1002 skipped], %w[1003 skipped], %w[1004 planned], %w[1005 planned], %w[1000 planned]]
      )
      from_request = client.retire_bundle_siblings(request_id: 3000, wait: true, poll_interval: 0.05)
      expect(from_request["failed_items"]).to eq(["1004"])
      expect(from_request["summary"]["retired"]).to eq(2)
      expect { client.retire_bundle_siblings(service_id: 1000, bogus: 1) }.to raise_error(ArgumentError, /unknown keyword: :bogus/)
      expect { client.retire_bundle_siblings(service_id: 1000, timeout: -1) }.to raise_error(ArgumentError, /timeout/)
      expect { client.retire_bundle_siblings(service_id: 1000, request_id: 3000) }.to raise_error(ArgumentError, /not both/)
    end
  end

  it "refuses to retire a healthy service unless all_members: is given" do
    MockManageIQ.serve do |url|
      client = described_class.new(url: url, user: "admin", password: "smartvm")
      expect { client.retire_bundle_siblings(service_id: 1100) }
        .to raise_error(MiqAutomate::Api::Error, /nothing in bundle 1100 failed; use --all-members/)
      expect(client.retire_bundle_siblings(service_id: 1100, all_members: true)["summary"]["requested"]).to eq(1)
    end
  end

  it "refuses an id that is not a positive integer before any request" do
    client = described_class.new(url: "http://127.0.0.1:9", user: "admin", password: "smartvm")
    [nil, "", "1000/../1100", "0", "-3", "1e3", 1.5].each do |bad|
      expect { client.retire_bundle_siblings(service_id: bad) }.to raise_error(ArgumentError, /service_id/), bad.inspect
    end
  end

  it "is interrupted by Timeout.timeout while it waits" do
    # Requests never finish: every poll is refused, so --wait would wait for the whole timeout.
    faults = { "rules" => [{ "method" => "GET", "path" => "/api/requests", "status" => 503 }] }
    MockManageIQ.serve(faults: faults) do |url|
      client = described_class.new(url: url, user: "admin", password: "smartvm")
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect do
        Timeout.timeout(0.5) { client.retire_bundle_siblings(service_id: 1000, failed_id: 1004, wait: true, poll_interval: 0.05) }
      end.to raise_error(Timeout::Error)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5
    end
  end

  it "is stopped by Thread#kill while it waits" do
    faults = { "rules" => [{ "method" => "GET", "path" => "/api/requests", "status" => 503 }] }
    MockManageIQ.serve(faults: faults) do |url|
      client = described_class.new(url: url, user: "admin", password: "smartvm")
      t = Thread.new { client.retire_bundle_siblings(service_id: 1000, failed_id: 1004, wait: true, poll_interval: 0.05) }
      sleep 0.3
      t.kill
      expect(t.join(5)).to eq(t)
      expect(t.status).to be(false)
    end
  end

  describe "from the rollback: a failed bundle item retires its siblings" do
    let(:bundle) { service_model(:service, id: 1000, name: "Three-tier bundle") }
    let(:child) { service_model(:service, id: 1004, name: "db tier", parent_service: bundle) }
    let(:task) { service_model(:service_template_provision_task, id: 4004, destination: child) }
    let(:request) { service_model(:miq_request, id: 3000, user_message: nil) }
    let(:prov) { service_model(:miq_provision, id: 1, message: "", options: { vm_target_name: "db01" }, miq_request: request, miq_request_task: task, vm: nil) }

    def workspace(extra = {})
      build_workspace(root: { "miq_provision" => prov, "miq_server" => service_model(:miq_server, id: 1, name: "EVM"),
                              "ae_state" => "Provision", "ae_result" => "error" }.merge(extra),
                      inputs: { "status" => "Error" }, current_method: "update_provision_status")
    end

    it "through the REST API configured on root" do
      MockManageIQ.serve do |url|
        ws = workspace("miq_api_url" => url, "miq_api_user" => "admin", "miq_api_password" => MiqAutomate::Password.new("smartvm"))
        result = MiqAutomate::Rollback.update_provision_status(ws.evm, matrix: { "states" => {} })
        expect(result["bundle"]["items"].select { |i| i["outcome"] == "requested" }.map { |i| i["id"] }).to eq(%w[1001 1005])
        expect(ws).to have_logged(:info, "<AEMethod update_provision_status> Retiring the siblings of service 1004 in bundle 1000")
        expect(ws.logs.map(&:last).join).not_to include("smartvm")
      end
    end

    it "skipped with a warning when no API is configured" do
      ws = workspace
      result = MiqAutomate::Rollback.update_provision_status(ws.evm, matrix: { "states" => {} })
      expect(result["bundle"]).to be_nil
      expect(ws).to have_logged(:warn, /Bundle siblings not retired: no ManageIQ API URL configured/)
    end

    it "through the api: option" do
      MockManageIQ.serve do |url|
        ws = workspace
        result = MiqAutomate::Rollback.update_provision_status(ws.evm, matrix: { "states" => {} }, api: { url: url, user: "admin", password: "smartvm" })
        expect(result["bundle"]["summary"]["requested"]).to eq(2)
      end
    end
  end
end
