# frozen_string_literal: true

require "miq_automate/rspec"

RSpec.describe "notification types" do
  include MiqAutomate::RSpec

  let(:service) { service_model(:service, id: 1001, name: "web tier") }
  let(:ws) { build_workspace(root: { "service" => service }) }

  it "knows the types ManageIQ seeds, as its content's retirement methods use them" do
    # What manageiq-content's start_retirement does with the service being retired.
    expect(ws.evm.create_notification(:type => :service_retiring, :subject => service)).not_to be_nil
    expect(ws.evm.create_notification(:type => :service_retired, :subject => service)).not_to be_nil
    expect(ws.evm.create_notification(:type => :vm_retiring, :subject => service_model(:vm, id: 3, name: "db01"))).not_to be_nil
    first, second, third = ws.notifications
    expect(first).to include(type: :service_retiring, level: :success, audience: :tenant,
                             text: "Service web tier has started retirement.")
    expect(second[:text]).to eq("Service web tier has been retired.")
    expect(third[:text]).to eq("Virtual Machine db01 has started retirement.")
    expect(ws).to have_notified(type: :service_retiring, text: /started retirement/)
  end

  it "renders the automate types' message and keeps level and audience from the type" do
    ws.evm.create_notification(:level => "error", :audience => "global", :message => "Quota exceeded")
    expect(ws.notifications.last).to include(type: :automate_global_error, level: :error, audience: :global, text: "Quota exceeded")
  end

  it "refuses a type nobody seeded, and accepts one a user adds" do
    expect(ws.evm.create_notification(:type => :dns_cleanup, :subject => service)).to be_nil
    expect { ws.evm.create_notification!(:type => :dns_cleanup) }.to raise_error(ArgumentError, "Invalid notification type specified")
    ws.add_notification_type(:dns_cleanup, level: :warning, audience: :tenant, message: "DNS records of %{subject} removed")
    ws.evm.create_notification!(:type => :dns_cleanup, :subject => service)
    expect(ws.notifications.last).to include(type: :dns_cleanup, level: :warning, text: "DNS records of web tier removed")
    expect { ws.add_notification_type(:x, level: :loud, audience: :user, message: "m") }.to raise_error(ArgumentError, /level "loud"/)
  end
end
