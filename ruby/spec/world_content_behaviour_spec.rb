# frozen_string_literal: true

require "spec_helper"
require "json"
require "tmpdir"

# The world behaviours ManageIQ's main flows read (examples/worlds/, content_flows_spec.rb):
# provision placement, quota consumption, migration, nested service tasks, orchestration.
RSpec.describe "MiqAutomate::World behaviour for ManageIQ's flows" do
  around do |example|
    Dir.mktmpdir("world") do |dir|
      @dir = dir
      example.run
    end
  end

  def load_world(doc)
    path = File.join(@dir, "world.json")
    File.write(path, JSON.generate(doc))
    MiqAutomate::World.load(path)
  end

  let(:infra) do
    {
      "tenants" => [{ "id" => 1, "name" => "My Company" }],
      "groups" => [{ "id" => 2, "description" => "g", "tenant_id" => 1 }],
      "users" => [{ "id" => 1, "userid" => "admin", "groups" => [2], "current_group_id" => 2 }],
      "ext_management_systems" => [{ "id" => 1, "name" => "vc01" }, { "id" => 2, "name" => "vc02" }],
      "hosts" => [{ "id" => 3, "name" => "esx01", "ems_id" => 1, "storage_ids" => [7] },
                  { "id" => 4, "name" => "esx02", "ems_id" => 1, "storage_ids" => [7, 8] },
                  { "id" => 5, "name" => "other", "ems_id" => 2, "storage_ids" => [9] }],
      "storages" => [{ "id" => 7, "name" => "ds1" }, { "id" => 8, "name" => "ds2" }, { "id" => 9, "name" => "ds3" }],
      "templates" => [{ "id" => 500, "name" => "rhel9", "ems_id" => 1, "host_id" => 3, "storage_id" => 7, "tenant_id" => 1 }],
      "vms" => [{ "id" => 600, "name" => "web01", "ems_id" => 1, "host_id" => 3, "storage_id" => 7, "tenant_id" => 1,
                  "miq_group_id" => 2, "cpu_total_cores" => 2, "ram_size" => 2048, "allocated_disk_storage" => 10, "provisioned_storage" => 20 }],
      "models" => { "operating_system" => [{ "id" => 1, "vm_or_template_id" => 500, "product_name" => "RHEL 9" }],
                    "tenant_quota" => [{ "id" => 1, "tenant_id" => 1, "name" => "cpu_allocated", "value" => 8 }] }
    }
  end

  it "offers a provision the template's provider's hosts and the chosen host's storages, and places it" do
    world = load_world(infra.merge(
                         "request_tasks" => [{ "id" => 800, "type" => "ManageIQ::Providers::Vmware::InfraManager::Provision", "request_type" => "template",
                                               "source_type" => "VmOrTemplate", "source_id" => 500, "options" => { "placement_auto" => [true, 1] } }]
                       ))
    task = world.vmdb(:miq_provision, 800)
    expect([task.placement_auto, task.provision_type]).to eq([true, "template"])
    expect(task.eligible_hosts.map(&:name)).to eq(%w[esx01 esx02])
    expect(task.eligible_storages.map(&:name)).to eq(%w[ds1 ds2])
    task.set_host(world.vmdb(:host, 4))
    expect(task.eligible_storages.map(&:name)).to eq(%w[ds1 ds2])
    task.set_host(world.vmdb(:host, 3))
    expect(task.eligible_storages.map(&:name)).to eq(%w[ds1])
    task.set_storage(world.vmdb(:storage, 7))
    expect([task.options[:placement_host_name], task.options[:placement_ds_name]]).to eq([[3, "esx01"], [7, "ds1"]])
    expect(task.vm_template.operating_system.product_name).to eq("RHEL 9")
    expect(world.vmdb(:vm, 600).operating_system).to be_nil
    expect(world.vmdb(:vm, 600).v_owning_datacenter).to eq("")
    expect(world.vmdb(:vm, 600).show_url).to eq("https://localhost/vm_or_template/show/600")
  end

  it "sums a tenant's VMs (not templates) and gives its quotas; check_quota counts other active provision requests" do
    world = load_world(infra.merge(
                         "requests" => [
                           { "id" => 700, "type" => "MiqProvisionRequest", "tenant_id" => 1, "request_state" => "pending", "options" => {} },
                           { "id" => 701, "type" => "MiqProvisionRequest", "tenant_id" => 1, "request_state" => "active",
                             "source_type" => "VmOrTemplate", "source_id" => 500,
                             "options" => { "number_of_vms" => [2, "2"], "number_of_sockets" => [2, "2"], "cores_per_socket" => [1, "1"],
                                            "vm_memory" => %w[1024 1024] } },
                           { "id" => 702, "type" => "MiqProvisionRequest", "tenant_id" => 1, "request_state" => "finished",
                             "options" => { "number_of_vms" => [5, "5"] } }
                         ]
                       ))
    tenant = world.vmdb(:tenant, 1)
    expect(tenant.vms.map(&:name)).to eq(%w[web01])
    expect([tenant.allocated_vcpu, tenant.allocated_memory, tenant.allocated_storage, tenant.provisioned_storage])
      .to eq([2, 2048 * 1024 * 1024, 10, 20])
    expect(tenant.tenant_quotas.map { |q| [q.name, q.value] }).to eq([["cpu_allocated", 8]])
    expect(world.vmdb(:miq_group, 2).allocated_vcpu).to eq(2)
    expect(world.vmdb(:miq_request, 700).check_quota(:active_provisions_by_tenant))
      .to eq(count: 2, cpu: 4, memory: 2048 * 1024 * 1024, storage: 0)
  end

  it "migrates a VmMigrateTask's VM to the placement host and datastore: migrated, then ok" do
    world = load_world(infra.merge(
                         "request_tasks" => [{ "id" => 980, "type" => "VmMigrateTask", "source_type" => "VmOrTemplate", "source_id" => 600,
                                               "options" => { "placement_host_name" => [4, "esx02"], "placement_ds_name" => [8, "ds2"] } }],
                         "behaviour" => { "provision" => { "after" => 30 } }
                       ))
    task = world.vmdb(:vm_migrate_task, 980)
    task.execute
    expect(task.statemachine_task_status).to eq("retry")
    world.clock.advance(30)
    expect([task.state, task["status"], task.message, task.statemachine_task_status]).to eq(["migrated", "Ok", "Finished VM Migrate", "ok"])
    expect([task.vm.host.name, task.vm.storage.name]).to eq(%w[esx02 ds2])
  end

  it "finishes a child service task when its children are done (its own delivery would); the top task is provisioned" do
    world = load_world(infra.merge(
                         "services" => [{ "id" => 1000, "name" => "s" }],
                         "request_tasks" => [
                           { "id" => 800, "type" => "ServiceTemplateProvisionTask", "destination_type" => "Service", "destination_id" => 1000 },
                           { "id" => 801, "parent_task_id" => 800, "type" => "ServiceTemplateProvisionTask", "options" => { "service_resource_id" => 1 } },
                           { "id" => 802, "parent_task_id" => 801, "type" => "ManageIQ::Providers::Vmware::InfraManager::Provision",
                             "source_type" => "VmOrTemplate", "source_id" => 500, "options" => { "vm_target_name" => "x" } }
                         ]
                       ))
    top = world.vmdb(:service_template_provision_task, 800)
    top.execute
    expect(top.miq_request_tasks.map(&:state)).to eq(%w[finished])
    expect(top.state).to eq("provisioned")
    expect(top.service_resource).to be_nil
  end

  it "keeps a service's automate timeouts and gives a deployed stack's VMs the service's owner" do
    world = load_world(infra.merge(
                         "services" => [{ "id" => 1000, "name" => "s", "type" => "ServiceOrchestration", "orchestration_manager_id" => 1,
                                          "evm_owner_id" => 1, "miq_group_id" => 2 }],
                         "orchestration_stacks" => [{ "id" => 50, "name" => "st", "ems_id" => 1, "service_id" => 1000 }],
                         "vms" => [infra["vms"].first.merge("orchestration_stack_id" => 50, "miq_group_id" => nil)]
                       ))
    service = world.vmdb(:service, 1000)
    service.set_automate_timeout(600, "provision")
    expect(service.options[:automate_timeouts]).to eq(provision: 600)
    service.post_provision_configure
    vm = world.vmdb(:vm, 600)
    expect([vm.evm_owner.userid, vm.miq_group.description]).to eq(%w[admin g])
    expect(service.service_resources.size).to eq(1)
  end
end
