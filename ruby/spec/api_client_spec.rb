# frozen_string_literal: true

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
