# frozen_string_literal: true

require "spec_helper"
require_relative "../support/temp_domain"

# Conformance with ManageIQ's engine, after its spec/engine/miq_ae_state_machine_retry_spec.rb
# and MiqAeEngine.deliver's requeue (`ae_retry_interval.to_s.to_i_with_method`): what a
# method may give as its retry interval, and what each delivery of a retrying request holds.
RSpec.describe "Conformance: state machine retries (miq_ae_state_machine_retry_spec)" do
  # Retries once with the interval the instance's `interval` input names (Ruby code), then ok.
  check = <<~RUBY
    if $evm.state_var_exist?(:tried)
      $evm.root["ae_result"] = "ok"
    else
      $evm.set_state_var(:tried, true)
      $evm.create_notification(level: "info", message: "retrying #{'#{'}$evm.root['ae_state_retries'].to_i}")
      $evm.execute("send_email", "ops@example.com", nil, "retrying", "body")
      $evm.root["ae_result"] = "retry"
      $evm.root["ae_retry_interval"] = eval($evm.inputs["interval"])
    end
  RUBY

  around do |example|
    Dir.mktmpdir("miq-conformance-") do |dir|
      domain = TempDomain.domain(dir, "Spec")
      TempDomain.klass(domain, "Demo/Methods",
                       schema: [{ "aetype" => "method", "name" => "execute" }],
                       instances: { "check" => { "execute" => "check" } },
                       methods: { "check" => [check, { "inputs" => [{ "name" => "interval", "datatype" => "string", "default_value" => "1.minute" }] }] })
      TempDomain.klass(domain, "Demo/Machine",
                       schema: [{ "aetype" => "state", "name" => "Check", "max_retries" => "5" },
                                { "aetype" => "state", "name" => "Done" }],
                       instances: { "minute" => { "Check" => "/Demo/Methods/check?interval=1.minute" },
                                    "seconds" => { "Check" => "/Demo/Methods/check?interval=90.seconds" },
                                    "string" => { "Check" => "/Demo/Methods/check?interval='2.minutes'" },
                                    "integer" => { "Check" => "/Demo/Methods/check?interval=45" } })
      @domain = domain
      example.run
    end
  end

  let(:engine) { build_engine(datastore: @domain) }

  {
    "minute" => 60, # an ActiveSupport::Duration
    "seconds" => 90,
    "string" => 120, # "2.minutes", as ManageIQ's to_i_with_method reads it
    "integer" => 45
  }.each do |instance, seconds|
    it "requeues after #{seconds} s when ae_retry_interval is #{instance == 'minute' ? '1.minute' : instance}" do
      d = engine.deliver("/Demo/Machine/#{instance}")
      expect(d.ae_result).to eq("ok")
      expect(d.deliveries.size).to eq(2)
      expect(d.deliveries.first.requeue["retry_interval"]).to eq(seconds)
      expect(d.clock).to eq(seconds)
    end
  end

  it "keeps each delivery's workspace, clock time, requeue, notifications and executions" do
    d = engine.deliver("/Demo/Machine/minute")
    first, second = d.deliveries
    expect([first.number, first.at, second.number, second.at]).to eq([1, 0, 2, 60])
    expect(second.clock - first.clock).to eq(60)
    expect(first.requeue).to include("state" => "Check")
    expect(second.requeue).to be_nil
    expect(first.notifications.map { |n| n[:message] || n["message"] }).to eq(["retrying 0"])
    expect(second.notifications).to be_empty
    expect(first.executions.map(&:first)).to eq(["send_email"])
    expect(d.notifications.size).to eq(1) # every delivery's, not only the last one's
    expect(d.executions.map(&:first)).to eq(["send_email"])
    expect(first.root["ae_result"]).to eq("retry")
    expect(second.root["ae_result"]).to eq("ok")
  end

  it "resumes a state with its state vars, as a queue message carries them" do
    d = engine.deliver("/Demo/Machine/minute", state: "Check", state_data: { tried: true })
    expect(d.deliveries.size).to eq(1) # the state var says it was tried: ok at once
    expect(d.deliveries.first.state).to eq("Check")
    expect { engine.deliver("/Demo/Machine/minute", state_data: [1]) }.to raise_error(ArgumentError, /state_data must be a Hash/)
  end
end
