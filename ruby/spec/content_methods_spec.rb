# frozen_string_literal: true

# Methods written in ManageIQ content's two styles (class style with
# `initialize(handle = $evm)` and script style with bare MIQ_* codes) run unmodified
# against the offline $evm and leave the results ManageIQ would.
RSpec.describe "ManageIQ-style content methods" do
  def method_file(name)
    File.join(METHODS_DIR, "#{name}.rb")
  end

  describe "update_provision_status (class style)" do
    let(:request) { service_model(:miq_request, id: 7, user_message: nil) }
    let(:prov) do
      service_model(:miq_provision, id: 1, message: "Provisioning started", state: "active",
                                    options: { vm_target_name: "web01" }, miq_request: request)
    end
    let(:server) { service_model(:miq_server, id: 1, name: "EVM") }
    let(:root) do
      { "miq_provision" => prov, "miq_server" => server, "ae_state" => "Provision",
        "ae_result" => "ok", "ae_state_retries" => 2 }
    end
    let(:ws) { build_workspace(root: root, inputs: { "status" => "Creating VM" }) }

    it "updates the request's user message and the task message" do
      expect(run_method(method_file("update_provision_status"), ws)).to exit_with(MiqAutomate::MIQ_OK)
      expect(request.user_message).to eq("[EVM] VM [web01] Step [Provision] Status [Creating VM] Message [Provisioning started] ")
      expect(prov.message).to eq("Creating VM")
      expect(ws).to have_logged(:info, "Method exited with rc=MIQ_OK")
      expect(ws.notifications).to be_empty
    end

    it "adds the retry number on retry" do
      ws.root["ae_result"] = "retry"
      run_method(method_file("update_provision_status"), ws)
      expect(request.user_message).to end_with("Current Retry Number [2]")
    end

    it "truncates the user message to 255 characters" do
      prov.message = "x" * 400
      run_method(method_file("update_provision_status"), ws)
      expect(request.user_message.length).to eq(255)
    end

    it "notifies and logs on error" do
      ws.root["ae_result"] = "error"
      run_method(method_file("update_provision_status"), ws)
      expect(ws).to have_notified(type: :automate_user_error, subject: request, message: /\AVM Provision Error: \[EVM\] VM \[web01\]/)
      expect(ws).to have_logged(:error, /<AEMethod update_provision_status> VM Provision Error:/)
    end

    it "stops with MIQ_STOP when there is no miq_provision" do
      ws.root["miq_provision"] = nil
      expect(run_method(method_file("update_provision_status"), ws)).to exit_with(MiqAutomate::MIQ_STOP)
      expect(ws).to have_logged(:error, "miq_provision object not provided")
      expect(ws).to have_logged(:error, "Method exited with rc=MIQ_STOP")
    end

    it "can be loaded and driven with described_class.new(evm).main, as content specs do" do
      load_method(method_file("update_provision_status"))
      Example::Infrastructure::UpdateProvisionStatus.new(ws.evm).main
      expect(prov.message).to eq("Creating VM")
    end
  end

  describe "check_provisioned (class style)" do
    let(:service) { service_model(:service, id: 10, name: "bundle") }
    let(:task) { service_model(:service_template_provision_task, id: 5, message: "Error: quota exceeded", destination: service, statemachine_task_status: "ok") }
    let(:ws) { build_workspace(root: { "service_template_provision_task" => task }) }

    it "sets ae_result ok when the task is done" do
      run_method(method_file("check_provisioned"), ws)
      expect(ws).to have_ae_result("ok")
    end

    it "asks for a retry in a minute while the task runs" do
      task.statemachine_task_status = "retry"
      run_method(method_file("check_provisioned"), ws)
      expect(ws).to have_ae_result("retry")
      expect(ws.root["ae_retry_interval"]).to eq("1.minute")
    end

    it "sets error and the reason when the task failed" do
      task.statemachine_task_status = "error"
      run_method(method_file("check_provisioned"), ws)
      expect(ws).to have_ae_result("error")
      expect(ws.root["ae_reason"]).to eq("quota exceeded")
      expect(ws).to have_logged(:error, "<AEMethod check_provisioned> Service [bundle] provisioning failed: quota exceeded")
    end
  end

  describe "start_retirement and finish_retirement (script style)" do
    let(:service) { service_model(:service, id: 10, name: "bundle", retired: false, retirement_state: nil) }
    let(:ws) { build_workspace(root: { "service" => service }) }

    it "moves a service to retiring, then retired" do
      expect(run_method(method_file("start_retirement"), ws)).to exit_with(MiqAutomate::MIQ_OK)
      expect(service.retirement_state).to eq("retiring")
      expect(run_method(method_file("finish_retirement"), ws)).to exit_with(MiqAutomate::MIQ_OK)
      expect(service.retired?).to be(true)
      expect(service.retirement_state).to eq("retired")
      expect(ws).to have_notified(type: :automate_user_success, subject: service)
    end

    it "aborts for a retired or retiring service" do
      service.retired = true
      expect(run_method(method_file("start_retirement"), ws)).to exit_with(MiqAutomate::MIQ_ABORT)
      expect(ws).to have_logged(:error, /already retired/)
      service.retired = false
      service.retirement_state = "retiring"
      expect(run_method(method_file("start_retirement"), ws)).to exit_with(MiqAutomate::MIQ_ABORT)
    end

    it "aborts without a service" do
      ws.root["service"] = nil
      expect(run_method(method_file("start_retirement"), ws)).to exit_with(MiqAutomate::MIQ_ABORT)
      expect(ws).to have_logged(:error, "<AEMethod start_retirement> Service Object not found")
    end

    it "reports an uncaught exception as the engine does (rc 1)" do
      expect(run_method(method_file("finish_retirement"), ws)).to eq(0)
      expect(run_method(method_file("finish_retirement"), ws)).to eq(1)
      expect(ws).to have_logged(:error, /RuntimeError: service bundle already retired/)
      expect(ws).to have_logged(:error, "Method exited with rc=Unknown RC: [1]")
    end
  end
end
