# An offline spec for examples/methods/service_check_provisioned.rb, written with the
# miq_automate rspec kit. Run it from the repository root with:
#   rspec -I ruby/lib examples/spec
require "miq_automate/rspec"

RSpec.describe "service CheckProvisioned" do
  let(:method_file) { File.expand_path("../methods/service_check_provisioned.rb", __dir__) }
  let(:request) { service_model(:service_template_provision_request, id: 30) }
  let(:bundle) { service_model(:service, id: 10, name: "web bundle") }
  let(:task) do
    service_model(:service_template_provision_task, id: 20, destination: bundle, miq_request: request,
                                                    message: "Provisioning", statemachine_task_status: "ok")
  end
  let(:ws) { build_workspace(root: { "service_template_provision_task" => task }) }

  it "moves on when the task is done" do
    expect(run_method(method_file, ws)).to exit_with(MiqAutomate::MIQ_OK)
    expect(ws).to have_ae_result("ok")
    expect(ws).to have_logged(:info, "Service [web bundle] provisioned")
  end

  it "retries in a minute while the task runs" do
    task.statemachine_task_status = "retry"
    run_method(method_file, ws)
    expect(ws).to have_ae_result("retry")
    expect(ws.root["ae_retry_interval"]).to eq("1.minute")
  end

  it "fails the state with a reason and a notification when the task errored" do
    task.statemachine_task_status = "error"
    task.message = "Error: quota exceeded"
    run_method(method_file, ws)
    expect(ws).to have_ae_result("error")
    expect(ws.root["ae_reason"]).to eq("quota exceeded")
    expect(ws).to have_notified(type: :automate_user_error, subject: request, message: "Service Provision Error: quota exceeded")
  end

  it "stops without a task, and the rspec run goes on" do
    ws.root["service_template_provision_task"] = nil
    expect(run_method(method_file, ws)).to exit_with(MiqAutomate::MIQ_STOP)
    expect(ws).to have_logged(:error, "service_template_provision_task object not provided")
  end

  it "can be driven class-style, as manageiq-content specs do" do
    load_method(method_file)
    MyDomain::Service::Provisioning::CheckProvisioned.new(ws.evm).main
    expect(ws).to have_ae_result("ok")
  end
end
