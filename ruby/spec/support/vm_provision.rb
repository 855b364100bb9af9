# frozen_string_literal: true

# What a delivery of examples/domains/RollbackDemo's VMProvision_VM state machine needs: the
# models (a provision task of web01 on request 7, from a VMware template), `root`, and an
# `engine` on `domain` with ManageIQ's own states (not in the domain) stubbed: the state
# machine `methods` CustomizeRequest, Provision, CheckProvisioned, PostProvision and `finished`.
#
#   include_context "VMProvision_VM delivery", domain, methods, finished
RSpec.shared_context "VMProvision_VM delivery" do |domain, methods, finished|
  let(:request) { service_model(:miq_request, id: 7, user_message: nil) }
  let(:template) { service_model(:vm_or_template, id: 3, vendor: "vmware") }
  let(:task) do
    service_model(:miq_provision, id: 1, message: "", state: "active", vm: nil, source: template,
                                  miq_request: request, options: { vm_target_name: "web01" })
  end
  let(:root) { { "miq_provision" => task, "vmdb_object_type" => "miq_provision" } }
  let(:engine) do
    build_engine(datastore: domain, models: [task]).tap do |e|
      [*%w[CustomizeRequest Provision CheckProvisioned PostProvision].map { |s| "#{methods}/#{s}" }, finished].each { |p| e.stub(p) }
    end
  end
end
