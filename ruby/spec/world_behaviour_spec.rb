# frozen_string_literal: true

require "json"
require "tmpdir"

# Behaviour on the clock: what a world's rows do when called and as time passes, and
# ManageIQ's own content methods (read from the manageiq-content mirror when it is there)
# polling a world with no stubs.
RSpec.describe "MiqAutomate::World behaviour" do
  CONTENT = "/work/.mirror/ManageIQ+manageiq-content/repo"

  around do |example|
    Dir.mktmpdir("world") do |dir|
      @dir = dir
      example.run
    end
  end

  def load_world(doc, clock: nil)
    path = File.join(@dir, "world.json")
    File.write(path, JSON.generate(doc))
    MiqAutomate::World.load(path, clock: clock)
  end

  # A ManageIQ content method file, from the mirror (the example is skipped without it).
  def content_method(path)
    skip "manageiq-content mirror not available" unless File.directory?(CONTENT)
    source = IO.popen(["git", "-C", CONTENT, "show", "HEAD:content/automate/ManageIQ/#{path}"], err: File::NULL, &:read)
    skip "#{path} not in the mirror" unless $?.success? # rubocop:disable Style/SpecialGlobalVars
    file = File.join(@dir, File.basename(path))
    File.write(file, source)
    file
  end

  let(:infra) do
    {
      "users" => [{ "id" => 1, "userid" => "admin", "groups" => [1] }],
      "groups" => [{ "id" => 1, "description" => "EvmGroup-super_administrator" }],
      "ext_management_systems" => [{ "id" => 1, "name" => "vc01" }],
      "hosts" => [{ "id" => 3, "name" => "esx01", "ems_id" => 1 }, { "id" => 4, "name" => "esx02", "ems_id" => 1 }],
      "storages" => [{ "id" => 7, "name" => "ds1" }],
      "templates" => [{ "id" => 500, "name" => "rhel9", "ems_id" => 1, "host_id" => 3, "storage_id" => 7 }],
      "vms" => [{ "id" => 600, "name" => "web01", "ems_id" => 1, "host_id" => 3, "storage_id" => 7, "power_state" => "on" }]
    }
  end

  let(:provision) do
    infra.merge(
      "requests" => [{ "id" => 700, "type" => "MiqProvisionRequest", "request_type" => "template", "request_state" => "active",
                       "source_type" => "VmOrTemplate", "source_id" => 500 }],
      "request_tasks" => [{ "id" => 800, "request_id" => 700, "type" => "ManageIQ::Providers::Vmware::InfraManager::Provision",
                            "state" => "pending", "source_type" => "VmOrTemplate", "source_id" => 500,
                            "options" => { "vm_target_name" => "web02", "placement_host_name" => [4, "esx02"] } }]
    )
  end

  it "names a world row by its name in a notification's text, as ManageIQ does (not its inspect)" do
    world = load_world(infra)
    ws = MiqAutomate::Workspace.new(world: world)
    ws.evm.create_notification(type: :vm_retiring, subject: world.vmdb(:vm, 600))
    expect(ws.notifications.last[:text]).to eq("Virtual Machine web01 has started retirement.")
  end

  describe "power operations" do
    it "changes power_state after behaviour.power.after seconds, and returns true" do
      world = load_world(infra.merge("behaviour" => { "power" => { "after" => 30 } }))
      vm = world.vmdb(:vm, 600)
      expect(vm.stop).to be(true)
      expect(vm.power_state).to eq("on")
      world.clock.advance(29)
      expect(vm.power_state).to eq("on")
      world.clock.advance(1)
      expect(vm.power_state).to eq("off")
      vm.start
      expect(vm.power_state).to eq("off")
      world.clock.advance(30)
      expect(vm.power_state).to eq("on")
      vm.suspend
      world.clock.advance(30)
      expect(vm.power_state).to eq("suspended")
    end

    it "passes a service's operations to its VMs" do
      world = load_world(infra.merge("services" => [{ "id" => 1, "name" => "s" }],
                                     "vms" => [infra["vms"].first.merge("service_id" => 1)]))
      world.vmdb(:service, 1).stop
      expect(world.vmdb(:vm, 600).power_state).to eq("off")
      expect(world.calls.map { |c| [c.target, c.name] }).to include(["vms/600", :stop])
    end
  end

  describe "a VM provision" do
    it "answers retry until the clone completes, then ok with a new VM placed as the options say" do
      world = load_world(provision.merge("behaviour" => { "provision" => { "after" => 120 } }))
      task = world.vmdb(:miq_provision, 800)
      expect(task.statemachine_task_status).to eq("retry")
      expect(task.execute).to be(true)
      expect([task.state, task.message]).to eq(["active", "In Process"])
      expect(task.statemachine_task_status).to eq("retry")
      expect(task.miq_request.request_state).to eq("active")
      world.clock.advance(120)
      expect(task.statemachine_task_status).to eq("ok")
      expect([task.state, task["status"], task.message]).to eq(["provisioned", "Ok", "Vm Provisioned Successfully"])
      vm = task.destination
      expect([vm.name, vm.host.name, vm.storage.name, vm.ext_management_system.name]).to eq(%w[web02 esx02 ds1 vc01])
      expect(vm.miq_provision).to eq(task)
      expect(task.miq_request.request_state).to eq("provisioned")
    end

    it "fails as declared: finished, Error, and statemachine_task_status error" do
      world = load_world(provision.merge("behaviour" => { "provision" => { "after" => 60, "result" => "error", "message" => "clone failed" } }))
      task = world.vmdb(:miq_provision, 800)
      task.execute
      world.clock.advance(60)
      expect([task.state, task["status"], task.message, task.statemachine_task_status])
        .to eq(["finished", "Error", "Error: clone failed", "error"])
      expect([task.miq_request.request_state, task.miq_request.status, task.miq_request.message])
        .to eq(%w[finished Error] + ["Error: clone failed"])
    end

    it "runs a task's own execute hook instead (steps on the clock, created rows)" do
      hook = { "execute" => [{ "after" => 0, "set" => { "state" => "active" } },
                             { "after" => 300, "create" => { "vms" => [{ "id" => 601, "name" => "web02", "host_id" => 4 }] },
                               "set" => { "state" => "provisioned", "destination_type" => "VmOrTemplate", "destination_id" => 601 } }] }
      doc = provision.merge("request_tasks" => [provision["request_tasks"].first.merge("on" => hook)])
      world = load_world(doc)
      task = world.vmdb(:miq_provision, 800)
      expect(task.execute).to be(true)
      expect([task.state, world.vmdb(:vm, 601)]).to eq(["active", nil])
      world.clock.advance(300)
      expect([task.state, task.destination.name, task.statemachine_task_status]).to eq(%w[provisioned web02 ok])
      expect(world.vmdb(:host, 4).vms.map(&:id)).to eq([601])
    end

    it "runs ManageIQ's check_provisioned against it until the VM is there" do
      world = load_world(provision.merge("behaviour" => { "provision" => { "after" => 150 } }))
      task = world.vmdb(:miq_provision, 800)
      ws = build_workspace(root: { "miq_provision" => task })
      expect(run_method(content_method("Infrastructure/VM/Provisioning/StateMachines/Methods.class/__methods__/provision.rb"), ws))
        .to exit_with(MiqAutomate::MIQ_OK)
      check = content_method("Infrastructure/VM/Provisioning/StateMachines/Methods.class/__methods__/check_provisioned.rb")
      results = 4.times.map do
        run_method(check, ws)
        result = ws.root["ae_result"]
        world.clock.advance(60) if result == "retry"
        result
      end
      expect(results).to eq(%w[retry retry retry ok])
      expect(ws).to have_logged(:info, /ProvisionCheck returned <ok> for state <provisioned> and status <Ok>/)
      expect(task.destination.name).to eq("web02")
    end
  end

  describe "a service provision" do
    let(:doc) do
      infra.merge(
        "service_templates" => [{ "id" => 10, "name" => "web tier" }],
        "services" => [{ "id" => 1000, "name" => "web tier", "service_template_id" => 10 }],
        "requests" => [{ "id" => 700, "type" => "ServiceTemplateProvisionRequest", "request_type" => "clone_to_service" }],
        "request_tasks" => [
          { "id" => 800, "request_id" => 700, "type" => "ServiceTemplateProvisionTask", "state" => "pending",
            "destination_type" => "Service", "destination_id" => 1000, "source_type" => "ServiceTemplate", "source_id" => 10 },
          { "id" => 801, "request_id" => 700, "parent_task_id" => 800, "type" => "ManageIQ::Providers::Vmware::InfraManager::Provision",
            "state" => "pending", "source_type" => "VmOrTemplate", "source_id" => 500, "options" => { "vm_target_name" => "svc-vm" } }
        ],
        "behaviour" => { "provision" => { "after" => 60 } }
      )
    end

    it "executes its child tasks and is provisioned when they are done; ManageIQ's check_provisioned agrees" do
      world = load_world(doc)
      task = world.vmdb(:service_template_provision_task, 800)
      ws = build_workspace(root: { "service_template_provision_task" => task })
      check = content_method("Service/Provisioning/StateMachines/Methods.class/__methods__/check_provisioned.rb")
      task.execute
      run_method(check, ws)
      expect(ws.root["ae_result"]).to eq("retry")
      world.clock.advance(60) # the service task starts its child, whose message it shows (its only task)
      expect(task.miq_request_tasks.first.state).to eq("active")
      expect([task.state, task.message]).to eq(["active", "In Process"])
      run_method(check, ws)
      expect(ws.root["ae_result"]).to eq("retry")
      world.clock.advance(60) # the child's clone completes
      expect(task.miq_request_tasks.map(&:state)).to eq(["finished"])
      expect([task.state, task.statemachine_task_status]).to eq(%w[provisioned ok])
      run_method(check, ws)
      expect(ws.root["ae_result"]).to eq("ok")
      expect(task.miq_request_tasks.first.destination.name).to eq("svc-vm")
    end
  end

  describe "retirement" do
    it "moves retire_now → start_retirement → finish_retirement as ManageIQ's RetirementMixin" do
      world = load_world(infra)
      vm = world.vmdb(:vm, 600)
      expect(vm.retire_now("admin")).to be_nil
      expect([vm.retirement_state, vm.retirement_requester, vm.retirement_initialized?]).to eq(["initializing", "admin", true])
      expect(vm.events).to eq(["request_vm_retire"])
      expect(world.events).to eq([%w[request_vm_retire vms/600]])
      vm.start_retirement
      expect(vm.retiring?).to be(true)
      vm.retire_now
      expect(vm.events.size).to eq(1)
      world.clock.advance(10)
      vm.finish_retirement
      expect([vm.retired?, vm.retirement_state, vm.retires_on]).to eq([true, "retired", world.now])
      expect { vm.finish_retirement }.to raise_error(RuntimeError, "web01 already retired")
      vm.extend_retires_on(7, Time.utc(2024, 1, 1))
      expect(vm.retires_on).to eq(Time.utc(2024, 1, 8))
    end

    it "leaves the provider after behaviour.remove.after; ManageIQ's check_removed_from_provider retries until then" do
      world = load_world(infra.merge("behaviour" => { "remove" => { "after" => 90 } }))
      vm = world.vmdb(:vm, 600)
      ws = build_workspace(root: { "vm" => vm }, inputs: { "removal_type" => "unregister" })
      remove = content_method("Infrastructure/VM/Retirement/StateMachines/Methods.class/__methods__/remove_from_provider.rb")
      check = content_method("Infrastructure/VM/Retirement/StateMachines/Methods.class/__methods__/check_removed_from_provider.rb")
      expect(run_method(remove, ws)).to exit_with(MiqAutomate::MIQ_OK)
      results = 3.times.map do
        run_method(check, ws)
        world.clock.advance(60)
        ws.root["ae_result"]
      end
      expect(results).to eq(%w[retry retry ok])
      expect([vm.ext_management_system, vm.host, vm.storage.name]).to eq([nil, nil, "ds1"])
      expect(vm.calls.map(&:first)).to include(:unregister, :refresh)
    end
  end

  describe "refresh" do
    it "brings what the provider says into the VMDB, after behaviour.refresh.after" do
      doc = infra.merge("vms" => [infra["vms"].first.merge("timeline" => [{ "after" => 10, "provider" => { "power_state" => "off", "host_id" => 4 } }])],
                        "behaviour" => { "refresh" => { "after" => 20 } })
      world = load_world(doc)
      vm = world.vmdb(:vm, 600)
      world.clock.advance(10)
      expect(vm.power_state).to eq("on")
      expect(vm.refresh).to be_nil
      world.clock.advance(19)
      expect(vm.host.name).to eq("esx01")
      world.clock.advance(1)
      expect([vm.power_state, vm.host.name]).to eq(%w[off esx02])
      expect(world.vmdb(:host, 4).vms).to eq([vm])
    end

    it "refreshes all a provider's rows" do
      doc = infra.merge("vms" => [infra["vms"].first.merge("timeline" => [{ "provider" => { "exists" => false } }])])
      world = load_world(doc)
      world.vmdb(:ems, 1).refresh
      vm = world.vmdb(:vm, 600)
      expect([vm.ext_management_system, vm.host]).to eq([nil, nil])
      expect(world.vmdb(:ems, 1).last_refresh_date).to eq(world.now)
    end
  end

  describe "an orchestration stack" do
    let(:doc) do
      {
        "ext_management_systems" => [{ "id" => 1, "name" => "aws", "type" => "ManageIQ::Providers::Amazon::CloudManager" }],
        "services" => [{ "id" => 1000, "name" => "stack svc", "type" => "ServiceOrchestration", "orchestration_manager_id" => 1 }],
        "orchestration_stacks" => [{ "id" => 50, "name" => "web-stack", "ems_ref" => "arn:web", "ems_id" => 1, "service_id" => 1000,
                                     "status" => "CREATE_IN_PROGRESS",
                                     "timeline" => [{ "after" => 300, "provider" => { "status" => "CREATE_COMPLETE" } }] }],
        "requests" => [{ "id" => 700, "type" => "ServiceTemplateProvisionRequest", "request_type" => "clone_to_service" }],
        "request_tasks" => [{ "id" => 800, "request_id" => 700, "type" => "ServiceTemplateProvisionTask",
                              "destination_type" => "Service", "destination_id" => 1000 }],
        "behaviour" => { "refresh" => { "after" => 30 } }
      }
    end

    it "is transient until its live status completes; the VMDB sees it after a refresh" do
      world = load_world(doc)
      stack = world.vmdb(:orchestration_stack, 50)
      service = world.vmdb(:service, 1000)
      expect(stack.normalized_live_status).to eq(%w[transient CREATE_IN_PROGRESS])
      expect(service.orchestration_stack).to eq(stack)
      expect(service.orchestration_stack_status).to eq(%w[transient CREATE_IN_PROGRESS])
      expect(service.orchestration_manager.name).to eq("aws")
      world.clock.advance(300)
      expect(stack.normalized_live_status).to eq(%w[create_complete OK])
      expect(stack.status).to eq("CREATE_IN_PROGRESS")
      world.vmdb(:orchestration_stack).refresh(1, "arn:web")
      world.clock.advance(30)
      expect(world.vmdb(:orchestration_stack).find_by(name: "web-stack", ems_ref: "arn:web").status).to eq("CREATE_COMPLETE")
    end

    it "normalizes failures as ManageIQ's OrchestrationStack::Status, and a stack the provider lost" do
      stack_doc = doc.merge("orchestration_stacks" => [doc["orchestration_stacks"].first.merge(
        "timeline" => [{ "after" => 60, "provider" => { "status" => "CREATE_FAILED", "status_reason" => "quota" } },
                       { "after" => 120, "provider" => { "status" => "ROLLBACK_COMPLETE" } },
                       { "after" => 180, "provider" => { "exists" => false } }]
      )])
      world = load_world(stack_doc)
      stack = world.vmdb(:orchestration_stack, 50)
      world.clock.advance(60)
      expect(stack.normalized_live_status).to eq(%w[failed quota])
      world.clock.advance(60)
      expect(stack.normalized_live_status).to eq(%w[rollback_complete quota])
      world.clock.advance(60)
      expect(stack.normalized_live_status).to eq(["not_exist", "stack web-stack does not exist on aws"])
      expect(world.vmdb(:service, 1000).orchestration_stack_status).to eq(["check_status_failed", "stack web-stack does not exist on aws"])
      expect(stack.raw_exists?).to be(false)
      stack.refresh
      world.clock.advance(30)
      expect(world.vmdb(:orchestration_stack, 50)).to be_nil
    end

    it "deploys a service's stack (CREATE_IN_PROGRESS, then behaviour.orchestration's status)" do
      world = load_world(doc.merge("orchestration_stacks" => [],
                                   "behaviour" => { "orchestration" => { "after" => 600, "status" => "CREATE_FAILED", "reason" => "no capacity" } }))
      service = world.vmdb(:service, 1000)
      expect(service.orchestration_stack_status).to eq(["check_status_failed", "stack has not been deployed"])
      stack = service.deploy_orchestration_stack
      expect([stack.status, stack.ext_management_system.name, service.orchestration_stack]).to eq(["CREATE_IN_PROGRESS", "aws", stack])
      world.clock.advance(600)
      expect(service.orchestration_stack_status).to eq(["failed", "no capacity"])
    end

    it "runs ManageIQ's orchestration check_provisioned through deploy, refresh and done" do
      world = load_world(doc.merge("behaviour" => { "refresh" => { "after" => 45 } }))
      task = world.vmdb(:service_template_provision_task, 800)
      ws = build_workspace(root: { "service_template_provision_task" => task })
      # The hook Engine.new(world:) gives `$evm.vmdb`: the world's model classes.
      ws.define_singleton_method(:vmdb) { |model, id = nil| world.vmdb(model, id) }
      load_method(content_method("Cloud/Orchestration/Provisioning/StateMachines/Methods.class/__methods__/check_provisioned.rb"))
      check = ManageIQ::Automate::Cloud::Orchestration::Provisioning::StateMachines::CheckProvisioned
      trail = 4.times.map do
        check.new(ws.evm).main
        [ws.root["ae_result"], ws.root["ae_retry_interval"]].tap do |result, interval|
          world.clock.advance(interval.to_s.start_with?("1.minute") ? 300 : 30) if result == "retry"
          ws.root["ae_retry_interval"] = nil
        end
      end
      expect(trail.map(&:first)).to eq(%w[retry retry retry ok])
      expect(ws).to have_logged(:info, /Refreshing provider 'aws' and stack 'web-stack'/)
      expect(ws).to have_logged(:info, "Refresh completed.")
      expect(world.calls.map { |c| [c.target, c.name, c.args] }).to include(["OrchestrationStack", :refresh, [1, "arn:web"]])
    end
  end

  describe "timelines and hooks" do
    it "starts timelines at the world's first tick and applies steps in time order, lazily" do
      doc = infra.merge("vms" => [infra["vms"].first.merge(
        "timeline" => [{ "after" => 60, "set" => { "power_state" => "off" } }, { "after" => 30, "set" => { "power_state" => "suspended" } },
                       { "after" => 90, "delete" => true }]
      )])
      world = load_world(doc)
      vm = world.vmdb(:vm, 600)
      start = world.timeline.started_at
      world.clock.advance(45)
      expect(vm.power_state).to eq("suspended")
      world.clock.advance(15)
      expect(vm.power_state).to eq("off")
      expect(world.timeline.pending).to eq([[start + 90, "vms/600", { "after" => 90, "delete" => true }]])
      world.clock.advance(30)
      expect(world.vmdb(:vm, 600)).to be_nil
      expect(world.vmdb(:host, 3).vms).to eq([])
    end

    it "gives a hook's return value or record, raises its error, and adds methods a model does not have" do
      doc = infra.merge("vms" => [infra["vms"].first.merge("on" => {
                                                             "create_snapshot" => { "returns" => 42, "steps" => [{ "after" => 5, "set" => { "description" => "snapped" } }] },
                                                             "stop" => { "raises" => "the provider refused" },
                                                             "clone_to" => { "returns_record" => "templates/500" }
                                                           })])
      world = load_world(doc)
      vm = world.vmdb(:vm, 600)
      expect(vm.respond_to?(:create_snapshot)).to be(true)
      expect(vm.create_snapshot("s1")).to eq(42)
      world.clock.advance(5)
      expect(vm.description).to eq("snapped")
      expect { vm.stop }.to raise_error(RuntimeError, "the provider refused")
      expect(vm.power_state).to eq("on")
      expect(vm.clone_to).to eq(world.vmdb(:miq_template, 500))
      expect(vm.calls.map(&:first)).to eq(%i[create_snapshot description stop power_state clone_to])
    end
  end

  describe "on the engine's clock" do
    it "moves as the engine's deliveries wait their retry intervals" do
      engine = build_engine(datastore: File.expand_path("../../examples/domains/RollbackDemo", __dir__))
      path = File.join(@dir, "world.json")
      File.write(path, JSON.generate(provision.merge("behaviour" => { "provision" => { "after" => 150 } })))
      world = MiqAutomate::World.load(path, clock: engine.clock)
      task = world.vmdb(:miq_provision, 800)
      provision_file = content_method("Infrastructure/VM/Provisioning/StateMachines/Methods.class/__methods__/provision.rb")
      check_file = content_method("Infrastructure/VM/Provisioning/StateMachines/Methods.class/__methods__/check_provisioned.rb")
      run_file = ->(file) { ->(_evm) { MiqAutomate::FRESH_BINDING.call.eval(File.read(file), file, 1) } }
      %w[CustomizeRequest PostProvision].each { |s| engine.stub("/Infrastructure/VM/Provisioning/StateMachines/Methods/#{s}") }
      engine.stub("/System/CommonMethods/StateMachineMethods/vm_provision_finished")
      engine.stub("/Infrastructure/VM/Provisioning/StateMachines/Methods/Provision", &run_file.call(provision_file))
      engine.stub("/Infrastructure/VM/Provisioning/StateMachines/Methods/CheckProvisioned", &run_file.call(check_file))
      d = deliver(engine, "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
                  root: { "miq_provision" => task, "vmdb_object_type" => "miq_provision" })
      expect(d).to have_ae_result("ok")
      expect(d).to have_retried(3).in_state("CheckProvisioned")
      expect(d.clock).to eq(180)
      expect([task.state, task.destination.name, task.destination.host.name]).to eq(%w[provisioned web02 esx02])
    end
  end
end
