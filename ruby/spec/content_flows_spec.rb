# frozen_string_literal: true

require "spec_helper"
require "timeout"
require "tmpdir"
require "fileutils"
require "shellwords"

# ManageIQ's main flows, run over ManageIQ's real domain (manageiq-content) against the
# worlds of examples/worlds/: no stub, no Proc — only the world file and the root
# attributes ManageIQ's request gives its automate delivery (the task or request, the
# appliance's miq_server, vmdb_object_type). Each ends as manageiq-content's own specs say.
RSpec.describe "ManageIQ's flows over examples/worlds" do
  content_repo = ENV.fetch("MIQ_CONTENT_REPO", "/work/.mirror/ManageIQ+manageiq-content/repo")
  worlds = File.expand_path("../../examples/worlds", __dir__)

  # The ManageIQ domain, extracted once for the run (nil without the content).
  domain = lambda do
    next @content_domain if defined?(@content_domain)

    @content_domain = nil
    if File.exist?(content_repo)
      dir = Dir.mktmpdir("miq-content-")
      at_exit { FileUtils.remove_entry(dir) }
      ok = system("git -C #{content_repo.shellescape} archive HEAD content/automate/ManageIQ | tar -x -C #{dir.shellescape}",
                  err: File::NULL)
      path = File.join(dir, "content/automate/ManageIQ")
      @content_domain = path if ok && File.file?(File.join(path, "__domain__.yaml"))
    end
    @content_domain
  end

  before do
    @domain = domain.call
    skip "manageiq-content not found at #{content_repo}: set MIQ_CONTENT_REPO" unless @domain
  end

  def engine_for(world_file)
    build_engine(datastore: @domain, world: world_file)
  end

  # What ManageIQ's request puts in the root beside the user (MiqAeEngine's automation
  # attributes): the appliance and the request's object under its vmdb_object_type.
  def root_for(engine, type, id)
    world = engine.world
    { type.to_s => world.vmdb(type, id), "miq_server" => world.vmdb(:miq_server, 1), "vmdb_object_type" => type.to_s }
  end

  describe "VMProvision_VM/template (examples/worlds/vm_provision.json)" do
    let(:engine) { engine_for(File.join(worlds, "vm_provision.json")) }

    it "places, clones (retrying CheckProvisioned for 2 virtual minutes), emails the owner and finishes the task" do
      root = root_for(engine, :miq_provision, 800)
      task = root["miq_provision"]
      d = engine.deliver("/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template", root: root)

      expect(d).to have_ae_result("ok")
      expect(d.states.uniq).to eq(%w[CustomizeRequest AcquireIPAddress AcquireMACAddress RegisterDNS RegisterCMDB RegisterAD Placement
                                     PreProvision Provision CheckProvisioned PostProvision RegisterDHCP ActivateCMDB EmailOwner Finished])
      expect(d).to have_retried(2).in_state("CheckProvisioned")
      expect(d.clock).to eq(120)

      # Placement: ManageIQ's vmware_best_fit_least_utilized — the host with fewest VMs, its emptiest datastore.
      expect([task.get_option(:placement_host_name), task.get_option(:placement_ds_name)]).to eq([4, 8])
      vm = task.destination
      expect([vm.name, vm.host.name, vm.storage.name, vm.ext_management_system.name]).to eq(%w[web02 esx02 ds2 vc01])
      # task_finished (its spec: "[<server>] VM [<name>] Provisioned Successfully").
      expect([task.state, task["status"], task.message]).to eq(["finished", "Ok", "[EVM] VM [web02] Provisioned Successfully"])
      request = task.miq_request
      expect([request.request_state, request.status]).to eq(%w[finished Ok])
      expect(request.get_option(:user_message)).to eq("[EVM] VM [web02] Provisioned Successfully")
      expect(d).to have_notified(type: :automate_vm_provisioned, subject: vm)
      email = d.executions.find { |name, *| name == "send_email" }
      expect(email[1][0..1]).to eq(["admin@example.com", "evmadmin@example.com"])
      expect(email[1][2]).to start_with("Request ID 700 - Your Virtual Machine Request has Completed")
      expect(email[1][3]).to include("https://localhost/vm_or_template/show/#{vm.id}")
    end
  end

  # MiqProvisionRequest's request_starting event reaches System/Policy/MiqProvisionRequest_starting,
  # whose rel5 is the quota state machine (quota source: the request's tenant).
  describe "the quota check (examples/worlds/quota.json, quota_exceeded.json)" do
    uri = "/System/Policy/MiqProvisionRequest_starting"

    it "passes a request within the tenant's quota: ae_result ok, the request untouched" do
      engine = engine_for(File.join(worlds, "quota.json"))
      root = root_for(engine, :miq_request, 700)
      d = engine.deliver(uri, root: root)

      expect(d).to have_ae_result("ok")
      expect(d.states).to eq(%w[quota_source limits used requested validate finished])
      expect(d.root["quota_source"].name).to eq("My Company")
      expect(d.root["quota_limit_max"]).to eq(cpu: 8, memory: 16.gigabytes, storage: 500.gigabytes, vms: 10)
      expect(d.root["quota_used"]).to include(cpu: 4, memory: 8.gigabytes, vms: 2, storage: 80.gigabytes)
      expect(d.root["quota_requested"]).to eq(vms: 1, cpu: 2, memory: 4.gigabytes, storage: 40.gigabytes)
      request = root["miq_request"]
      expect([request.approval_state, request.message]).to eq(["approved", "VM Provisioning - Request Created"])
      expect(request.get_option(:quota_max_exceeded)).to be_nil
      expect(d.notifications).to be_empty
    end

    it "rejects a request over quota with ManageIQ's message: denied, 'Quota Exceeded', an error notification" do
      engine = engine_for(File.join(worlds, "quota_exceeded.json"))
      root = root_for(engine, :miq_request, 700)
      d = engine.deliver(uri, root: root)

      message = "Request exceeds maximum allowed for the following: " \
                "(cpu - Used: 4 plus requested: 8 exceeds quota: 8) (memory - Used: 8 GB plus requested: 16 GB exceeds quota: 16 GB) "
      expect(d).to have_ae_result("error")
      expect(d.states).to eq(%w[quota_source limits used requested validate])
      expect(d).to have_logged(:warn, /Quota cpu exceeded: Used\(4\) \+ Requested\(8\) > Quota\(8\)/)
      request = root["miq_request"]
      expect([request.approval_state, request.stamped_by, request.reason]).to eq(%w[denied admin] + ["Quota Exceeded"])
      expect(request.message).to eq(message)
      expect(request.get_option(:quota_max_exceeded)).to eq(message)
      expect(d).to have_notified(level: :error, subject: request, message: "Quota Exceeded: #{message}")
      expect(d).to have_logged(:info, "<AEMethod rejected> Request denied because of #{message}")
    end
  end

  describe "VMRetirement/Default (examples/worlds/vm_retirement.json)" do
    let(:engine) { engine_for(File.join(worlds, "vm_retirement.json")) }

    it "powers off (60 s), removes from disk (90 s), emails the owner and leaves the VM retired, off and off its provider" do
      root = root_for(engine, :vm_retire_task, 910).merge("vm" => engine.world.vmdb(:vm, 600))
      vm = root["vm"]
      task = root["vm_retire_task"]
      d = engine.deliver("/Infrastructure/VM/Retirement/StateMachines/VMRetirement/Default", root: root)

      expect(d).to have_ae_result("ok")
      expect(d.states.uniq).to eq(%w[StartRetirement PreRetirement CheckPreRetirement DeactivateCMDB UnregisterDHCP UnregisterAD
                                     UnregisterDNS ReleaseMACAddress ReleaseIPAddress PreDeleteFromProvider RemoveFromProvider
                                     PreDeleteEmailOwner EmailOwner CheckRemovedFromProvider FinishRetirement DeleteFromVMDB])
      expect(d).to have_retried(1).in_state("CheckPreRetirement")
      expect(d).to have_retried(2).in_state("CheckRemovedFromProvider")
      expect(d.clock).to eq(180)
      expect(vm.calls.map(&:first)).to include(:start_retirement, :stop, :remove_from_disk, :finish_retirement)

      expect([vm.retirement_state, vm.retired?, vm.power_state]).to eq(["retired", true, "off"])
      expect([vm.ext_management_system, vm.host, vm.storage]).to eq([nil, nil, nil])
      expect(engine.world.vmdb(:vm, 600)).to eq(vm) # DeleteFromVMDB is commented out ("#/…") in Default
      expect(d).to have_notified(type: :vm_retiring, subject: vm)
      expect(d).to have_notified(type: :vm_retired, subject: vm)
      email = d.executions.find { |name, *| name == "send_email" }
      expect(email[1][0]).to eq("admin@example.com")
      expect(email[1][2]).to end_with("has been retired.")
      # update_retirement_status: the task's message and the request's user message (the task
      # itself is finished by ManageIQ's VmRetireTask#after_ae_delivery, outside automate).
      expect(task.message).to eq("Removed from VMDB")
      expect(task.miq_request.message).to eq("Server [EVM] Step [DeleteFromVMDB] Status [Removed from VMDB] ")
    end
  end

  describe "ServiceProvision_Template/CatalogItemInitialization (examples/worlds/service_provision.json)" do
    let(:engine) { engine_for(File.join(worlds, "service_provision.json")) }

    it "applies the dialog to the service and its VM provision, waits for the tasks and finishes the service" do
      root = root_for(engine, :service_template_provision_task, 800)
      task = root["service_template_provision_task"]
      d = engine.deliver("/Service/Provisioning/StateMachines/ServiceProvision_Template/CatalogItemInitialization", root: root)

      expect(d).to have_ae_result("ok")
      expect(d.states.uniq).to eq(%w[sequencer pre1 pre2 pre3 pre4 pre5 configurechilddialog provision checkprovisioned
                                     post1 post2 post3 post4 post5 EmailOwner Finished])
      expect(d).to have_retried(3).in_state("checkprovisioned")
      expect(d.clock).to eq(180)

      # CatalogItemInitialization: the dialog's service name and description, its option_1_* on the VM's task.
      service = task.destination
      expect([service.name, service.description]).to eq(["web tier 01", "Web tier for the shop"])
      expect(service.options[:dialog]).to include("dialog_vm_target_name" => "shop-web01", "dialog_vm_memory" => "4096")
      resource_task = task.miq_request_tasks.first
      prov = resource_task.miq_request_tasks.first
      expect(prov.options).to include(vm_target_name: "shop-web01", vm_target_hostname: "shop-web01", linux_host_name: "shop-web01",
                                      vm_memory: "4096")
      expect([prov.state, prov.destination.name]).to eq(%w[finished shop-web01])
      expect(resource_task.state).to eq("finished")
      # service_provision_finished (task_finished's spec: "[<server>] Service [<name>] Provisioned Successfully").
      expect([task.state, task["status"], task.message]).to eq(["finished", "Ok", "[EVM] Service [web tier 01] Provisioned Successfully"])
      expect(task.miq_request.request_state).to eq("finished")
      expect(task.miq_request.get_option(:user_message)).to eq("[EVM] Service [web tier 01] Provisioned Successfully")
      expect(d).to have_notified(type: :automate_service_provisioned, subject: service)
      expect(d.executions.map(&:first)).not_to include("send_email") # ServiceProvisionComplete's mail_method is "#stop_email"
    end
  end

  describe "ServiceRetirement/Default (examples/worlds/service_retirement.json)" do
    let(:engine) { engine_for(File.join(worlds, "service_retirement.json")) }

    it "starts retirement, waits for the VMs' retire tasks (their own deliveries, on the world's timeline) and retires the service" do
      root = root_for(engine, :service_retire_task, 960).merge("service" => engine.world.vmdb(:service, 1000))
      service = root["service"]
      task = root["service_retire_task"]
      d = engine.deliver("/Service/Retirement/StateMachines/ServiceRetirement/Default", root: root)

      expect(d).to have_ae_result("ok")
      expect(d.states.uniq).to eq(%w[StartRetirement pre1 pre2 RetireService CheckServiceRetired post1 post2 FinishRetirement
                                     DeleteServiceFromVMDB])
      expect(d).to have_retried(3).in_state("CheckServiceRetired") # web02's task finishes at 150 s, checked each minute
      expect(d.clock).to eq(180)
      expect(d).to have_logged(:info, /Service Retire Task <960> is waiting on <vm_retire> Task <962>/)

      expect([service.retirement_state, service.retired?]).to eq(["retired", true])
      expect(service.calls.map(&:first)).to include(:start_retirement, :finish_retirement)
      expect(service.vms.map { |vm| [vm.name, vm.retired, vm.power_state] }).to eq([["web01", true, "off"], ["web02", true, "off"]])
      expect(task.miq_request_tasks.map(&:state)).to eq(%w[finished finished])
      expect(engine.world.vmdb(:service, 1000)).to eq(service) # DeleteServiceFromVMDB is commented out ("#/…") in Default
      expect(d).to have_notified(type: :service_retiring, subject: service)
      expect(d).to have_notified(type: :service_retired, subject: service)
      expect(task.message).to eq("Deleted Retired Service from VMDB")
      expect(task.miq_request.message).to start_with("Server [EVM] Step [DeleteServiceFromVMDB] Status [Deleted Retired Service from VMDB]")
    end
  end

  describe "VMMigrate/Default (examples/worlds/vm_migrate.json)" do
    let(:engine) { engine_for(File.join(worlds, "vm_migrate.json")) }

    it "executes the migration, waits until the task is migrated, emails the owner and finishes the task" do
      root = root_for(engine, :vm_migrate_task, 980)
      task = root["vm_migrate_task"]
      d = engine.deliver("/Infrastructure/VM/Migrate/StateMachines/VMMigrate/Default", root: root)

      expect(d).to have_ae_result("ok")
      expect(d.states.uniq).to eq(%w[CustomizeRequest BestHost BestStorage PreMigration Migrate CheckMigration PostMigration
                                     ActivateCMDB EmailOwner Finished])
      expect(d).to have_retried(2).in_state("CheckMigration")
      expect(d.clock).to eq(120)
      expect(d).to have_logged(:info, "<AEMethod checkmigration> CheckMigration returned <ok> for state <migrated> and status <Ok>")

      vm = task.source
      expect([vm.name, vm.host.name, vm.storage.name]).to eq(%w[web01 esx02 ds2])
      # update_migration_status(status => 'migration_complete') then vm_migrate_finished.
      expect([task.state, task["status"], task.message]).to eq(["finished", "Ok", "[EVM] VM Migrated Successfully"])
      expect(task.miq_request.request_state).to eq("finished")
      email = d.executions.find { |name, *| name == "send_email" }
      expect(email[1][0..2]).to eq(["admin@example.com", "evmadmin@example.com", "Request ID 970 - Your Virtual Machine Migration Request has Completed."])
    end
  end

  describe "Cloud/Orchestration Provision/CatalogItemInitialization (examples/worlds/orchestration_provision.json)" do
    let(:engine) { engine_for(File.join(worlds, "orchestration_provision.json")) }

    it "deploys the stack, waits for CREATE_COMPLETE and the provider refresh, and provisions the service" do
      root = root_for(engine, :service_template_provision_task, 800)
      task = root["service_template_provision_task"]
      d = engine.deliver("/Cloud/Orchestration/Provisioning/StateMachines/Provision/CatalogItemInitialization", root: root)

      expect(d).to have_ae_result("ok")
      expect(d.states.uniq).to eq(%w[sequencer pre1 pre2 pre3 pre4 pre5 provision checkprovisioned post1 post2 post3 post4 post5
                                     EmailOwner Finished])
      expect(d).to have_retried(6).in_state("checkprovisioned") # 5 × 1 minute to CREATE_COMPLETE, then the 30 s refresh
      expect(d.clock).to eq(330)
      expect(d).to have_logged(:info, "<AEMethod provision> Stack web-stack with reference id (stack-1) is being created")
      expect(d).to have_logged(:info, "<AEMethod check_provisioned> Refreshing provider 'aws' and stack 'web-stack'")
      expect(d).to have_logged(:info, "<AEMethod check_provisioned> Refresh completed.")

      service = task.destination
      stack = service.orchestration_stack
      expect([service.name, stack.name, stack.status, stack.ext_management_system.name]).to eq(["web stack 01", "web-stack", "CREATE_COMPLETE", "aws"])
      expect(service.orchestration_stack_status).to eq(%w[create_complete OK])
      expect(service.options[:automate_timeouts]).to include(:provision) # Provision's set_automate_timeout(field_timeout, 'provision')
      expect([task.state, task["status"], task.message]).to eq(["finished", "Ok", "[EVM] Service [web stack 01] Provisioned Successfully"])
      expect(task.miq_request.request_state).to eq("finished")
      expect(d).to have_notified(type: :automate_service_provisioned, subject: service)
    end
  end
  # ManageIQ runs each method in a process of its own: every flow ends the same way under
  # process isolation, with the same states and virtual clock (its content logs the root
  # with `root.attributes.sort.each { … $evm.log … }`, which must not deadlock there).
  describe "every flow under isolation: :process" do
    flows = {
      "vm_provision.json" => ["/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
                              ->(e) { root_for(e, :miq_provision, 800) }],
      "vm_retirement.json" => ["/Infrastructure/VM/Retirement/StateMachines/VMRetirement/Default",
                               ->(e) { root_for(e, :vm_retire_task, 910).merge("vm" => e.world.vmdb(:vm, 600)) }],
      "service_provision.json" => ["/Service/Provisioning/StateMachines/ServiceProvision_Template/CatalogItemInitialization",
                                   ->(e) { root_for(e, :service_template_provision_task, 800) }],
      "service_retirement.json" => ["/Service/Retirement/StateMachines/ServiceRetirement/Default",
                                    ->(e) { root_for(e, :service_retire_task, 960).merge("service" => e.world.vmdb(:service, 1000)) }],
      "vm_migrate.json" => ["/Infrastructure/VM/Migrate/StateMachines/VMMigrate/Default",
                            ->(e) { root_for(e, :vm_migrate_task, 980) }],
      "orchestration_provision.json" => ["/Cloud/Orchestration/Provisioning/StateMachines/Provision/CatalogItemInitialization",
                                         ->(e) { root_for(e, :service_template_provision_task, 800) }]
    }
    flows.each do |world, (uri, root)|
      it "#{world}: the same states, result and clock as in-VM" do
        results = %i[vm process].map do |isolation|
          engine = build_engine(datastore: @domain, world: File.join(worlds, world), isolation: isolation, timeout: 60)
          d = Timeout.timeout(120) { engine.deliver(uri, root: instance_exec(engine, &root)) }
          [d.ae_result, d.states, d.clock]
        end
        expect(results[1]).to eq(results[0])
        expect(results[0].first).to eq("ok")
      end
    end
  end
end
