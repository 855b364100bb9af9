# frozen_string_literal: true

require "json"
require "tmpdir"

# The world's service models and model classes against ManageIQ's behaviour
# (MiqAeServiceModelBase, MiqRequestMixin, the tagging and custom-attribute mixins,
# MiqAeServiceMethods for $evm.execute).
RSpec.describe "MiqAutomate::World models" do
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

  let(:doc) do
    {
      "tenants" => [{ "id" => 1, "name" => "My Company" }],
      "groups" => [{ "id" => 1, "description" => "EvmGroup-super_administrator", "tenant_id" => 1 }],
      "users" => [{ "id" => 1, "userid" => "admin", "name" => "Administrator", "password" => "smartvm",
                    "email" => "admin@example.com", "groups" => [1] }],
      "ext_management_systems" => [{ "id" => 1, "name" => "vc01", "hostname" => "vc01.example.com" }],
      "ems_clusters" => [{ "id" => 5, "name" => "prod", "ems_id" => 1 }],
      "storages" => [{ "id" => 7, "name" => "datastore1", "free_space" => 1000 }],
      "hosts" => [{ "id" => 3, "name" => "esx01", "ems_id" => 1, "ems_cluster_id" => 5, "storage_ids" => [7],
                    "hardware" => { "cpu_total_cores" => 32, "memory_mb" => 262_144 } },
                  { "id" => 4, "name" => "esx02", "ems_id" => 1 }],
      "templates" => [{ "id" => 500, "name" => "rhel9", "ems_id" => 1, "host_id" => 3, "storage_id" => 7 }],
      "vms" => [
        { "id" => 600, "name" => "web01", "ems_id" => 1, "host_id" => 3, "storage_id" => 7, "ems_cluster_id" => 5,
          "evm_owner_id" => 1, "power_state" => "on", "tags" => ["department/finance", "environment/prod"],
          "custom_attributes" => { "owner" => "ops" }, "ems_custom_attributes" => { "vc_note" => "n1" },
          "hardware" => { "cpu_sockets" => 2, "cpu_total_cores" => 4, "memory_mb" => 4096, "ipaddresses" => ["10.0.0.5"],
                          "disks" => [{ "device_name" => "Hard disk 1", "size" => 42, "filename" => "[ds1] web01.vmdk" }] } },
        { "id" => 601, "name" => "web02", "ems_id" => 1, "host_id" => 3, "service_id" => 1001 },
        { "id" => 602, "name" => "db01", "ems_id" => 1, "host_id" => 4, "service_id" => 1002 }
      ],
      "categories" => [
        { "name" => "department", "description" => "Department", "single_value" => true,
          "entries" => [{ "name" => "finance", "description" => "Finance" }, { "name" => "hr", "description" => "HR" }] },
        { "name" => "environment", "description" => "Environment",
          "entries" => [{ "name" => "prod", "description" => "Production" }, { "name" => "dev", "description" => "Development" }] }
      ],
      "service_templates" => [{ "id" => 10, "name" => "web tier" }],
      "services" => [{ "id" => 1000, "name" => "bundle", "service_template_id" => 10 },
                     { "id" => 1001, "name" => "web", "parent_id" => 1000 },
                     { "id" => 1002, "name" => "db", "parent_id" => 1001 }],
      "requests" => [{ "id" => 700, "type" => "MiqProvisionRequest", "request_type" => "template", "userid" => "admin",
                       "source_type" => "VmOrTemplate", "source_id" => 500, "tags" => ["environment/dev", "environment/prod"],
                       "options" => { "number_of_vms" => [2, "2"], "vm_target_name" => "web03", "src_vm_id" => [500, "rhel9"],
                                      "dialog" => { "dialog_size" => "large" } } }],
      "request_tasks" => [{ "id" => 800, "request_id" => 700, "type" => "ManageIQ::Providers::Vmware::InfraManager::Provision",
                            "state" => "active", "source_type" => "VmOrTemplate", "source_id" => 500,
                            "destination_type" => "VmOrTemplate", "destination_id" => 600,
                            "options" => { "number_of_vms" => [2, "2"], "vm_target_name" => "web03" } },
                          { "id" => 801, "request_id" => 700, "parent_task_id" => 800, "type" => "MiqProvision", "state" => "pending" }],
      "models" => { "flavor" => [{ "id" => 9, "name" => "m1.small", "cpus" => 1 }] }
    }
  end
  let(:world) { load_world(doc) }

  describe "a model" do
    let(:vm) { world.vmdb(:vm, 600) }

    it "answers its columns as methods, through [] (downcased) and attributes" do
      expect(vm.id).to eq(600)
      expect(vm.name).to eq("web01")
      expect(vm["NAME"]).to eq("web01")
      expect(vm["id"]).to eq(600)
      expect(vm.vendor).to eq("vmware")       # the table's default
      expect(vm.retires_on).to be_nil         # a column the row leaves out
      expect(vm.attributes).to include("id" => 600, "name" => "web01", "host_id" => 3, "power_state" => "on")
      expect(vm.attributes).not_to have_key("service_id")
      vm["description"] = "front end"
      expect(vm.description).to eq("front end")
    end

    it "raises NoMethodError for what the real model does not have, and hides passwords" do
      expect { vm.no_such_column }.to raise_error(NoMethodError, /undefined method `no_such_column'/)
      expect(vm.respond_to?(:power_state)).to be(true)
      expect(vm.respond_to?(:no_such_column)).to be(false)
      user = world.vmdb(:user, 1)
      expect { user.password }.to raise_error(NoMethodError)
      expect(user["password"]).to be_nil
      expect(user.attributes).not_to have_key("password")
      expect(user.inspect).not_to include("smartvm")
      expect { vm.name = "x" }.to raise_error(NoMethodError)  # service models expose no column writers
    end

    it "is one object per row, equal by model and id" do
      expect(world.vmdb(:vm, 600)).to equal(vm)
      expect(world.vmdb(:vm_or_template).find(600)).to eq(vm)
      expect(vm).not_to eq(world.vmdb(:vm, 601))
      expect(vm.model_name).to eq(:vm)
      expect(vm.object_class.name).to eq("ManageIQ::Providers::Vmware::InfraManager::Vm")
      expect(vm.model_suffix).to eq("Vmware")
    end

    it "normalizes a method's result with normalized_<method>, as ManageIQ" do
      world.vmdb(:vm, 601)["description"] = "a b<c>#d"
      expect(world.vmdb(:vm, 601).normalized_description).to eq("a_b_c__d")
    end

    it "records every call on the model and in the world's calls" do
      vm.name
      vm.get_tags rescue nil # rubocop:disable Style/RescueModifier -- not a VM method: not recorded
      vm.tags("department")
      expect(vm.calls).to eq([[:name, []], [:tags, ["department"]]])
      expect(world.calls.map { |c| [c.target, c.name, c.args] }).to include(["vms/600", :name, []], ["vms/600", :tags, ["department"]])
      expect(world.calls.last.at).to eq(world.now)
    end
  end

  describe "associations, both ways" do
    it "resolves belongs_to by id fields and has_many from the other side" do
      vm = world.vmdb(:vm, 600)
      host = vm.host
      expect(host.name).to eq("esx01")
      expect(host.vms.map(&:id)).to eq([600, 601])
      expect(host.miq_templates.map(&:id)).to eq([500])
      expect(vm.storage.name).to eq("datastore1")
      expect(vm.storage.vms.map(&:id)).to eq([600])
      expect(vm.ext_management_system.name).to eq("vc01")
      expect(vm.ext_management_system.hosts.map(&:name)).to eq(%w[esx01 esx02])
      expect(vm.ext_management_system.vms.map(&:id)).to eq([600, 601, 602])
      expect(vm.ems_cluster.hosts.map(&:id)).to eq([3])
      expect(vm.owner.userid).to eq("admin")
      expect(world.vmdb(:vm, 601).storage).to be_nil
    end

    it "gives the hardware and what ManageIQ derives from it" do
      vm = world.vmdb(:vm, 600)
      expect(vm.hardware.memory_mb).to eq(4096)
      expect(vm.hardware.disks.map(&:filename)).to eq(["[ds1] web01.vmdk"])
      expect([vm.num_cpu, vm.cpu_total_cores, vm.mem_cpu, vm.ipaddresses]).to eq([2, 4, 4096, ["10.0.0.5"]])
      expect(world.vmdb(:vm, 601).ipaddresses).to eq([])
      expect(world.vmdb(:host, 3).hardware.cpu_total_cores).to eq(32)
      expect(world.vmdb(:host, 3).storages.map(&:name)).to eq(["datastore1"])
      expect(world.vmdb(:storage, 7).hosts.map(&:name)).to eq(["esx01"])
      expect(world.vmdb(:storage, 7).ext_management_systems.map(&:name)).to eq(["vc01"])
    end

    it "links requests and tasks (miq_request, miq_request_tasks, source, destination, parent and children)" do
      request = world.vmdb(:miq_request, 700)
      task = world.vmdb(:miq_provision, 800)
      expect(request.miq_request_tasks.map(&:id)).to eq([800, 801])
      expect(request.requester.userid).to eq("admin")
      expect(request.miq_request).to equal(request)
      expect(request.resource).to equal(request)
      expect(task.miq_request).to eq(request)
      expect(task.source.name).to eq("rhel9")
      expect(task.destination.name).to eq("web01")
      expect([task.vm, task.vm_template]).to eq([task.destination, task.source])
      expect(task.miq_request_tasks.map(&:id)).to eq([801])
      expect(world.vmdb(:miq_request_task, 801).miq_request_task).to eq(task)
      expect(world.vmdb(:vm, 600).miq_provision).to eq(task)
      prov_request = world.vmdb(:miq_provision_request, 700)
      expect(prov_request.miq_provisions.map(&:id)).to eq([800, 801])
      expect([prov_request.vm_template.name, prov_request.src_vm_id]).to eq(["rhel9", 500])
    end

    it "walks a service tree: resources, VMs, children, parents" do
      bundle = world.vmdb(:service, 1000)
      web = world.vmdb(:service, 1001)
      expect(bundle.service_template.name).to eq("web tier")
      expect(world.vmdb(:service_template, 10).services).to eq([bundle])
      expect(bundle.direct_service_children).to eq([web])
      expect(bundle.all_service_children.map(&:id)).to eq([1001, 1002])
      expect(bundle.indirect_service_children.map(&:id)).to eq([1002])
      expect(bundle.vms.map(&:id)).to eq([601, 602])
      expect(bundle.direct_vms).to eq([])
      expect(web.direct_vms.map(&:id)).to eq([601])
      expect(web.indirect_vms.map(&:id)).to eq([602])
      expect(web.parent_service).to eq(bundle)
      expect(world.vmdb(:service, 1002).root_service).to eq(bundle)
      expect(web.service_resources.map { |r| [r.resource_type, r.resource.id] }).to eq([["Service", 1002], ["VmOrTemplate", 601]])
      expect(world.vmdb(:vm, 601).service).to eq(web)
    end

    it "gives a user its groups, current group and tenant" do
      user = world.vmdb(:user, 1)
      expect(user.current_group.description).to eq("EvmGroup-super_administrator")
      expect(user.miq_groups.map(&:id)).to eq([1])
      expect(user.current_tenant.name).to eq("My Company")
      expect(user.role).to eq("EvmRole-super_administrator")
      expect(user.current_group.users).to eq([user])
      expect(user.current_group.tenant.miq_groups.map(&:id)).to eq([1])
    end

    it "finds a row of any model from a <model>_id column" do
      world = load_world(doc.merge("vms" => doc["vms"] + [{ "id" => 1, "columns" => { "flavor_id" => 9, "gadget_id" => 2 } }]))
      expect(world.vmdb(:vm, 1).flavor.name).to eq("m1.small")
      expect(world.vmdb(:vm, 1).gadget_id).to eq(2)
      expect { world.vmdb(:vm, 1).gadget }.to raise_error(NoMethodError)
    end
  end

  describe "options (MiqRequestMixin)" do
    let(:task) { world.vmdb(:miq_provision, 800) }

    it "gives the first element of an Array value, as a dialog stores [value, label]" do
      expect(task.get_option(:number_of_vms)).to eq(2)
      expect(task.get_option_last(:number_of_vms)).to eq("2")
      expect(task.get_option(:vm_target_name)).to eq("web03")
      expect(task.options[:number_of_vms]).to eq([2, "2"])
    end

    it "gives nil for a nil key and for a String key when options are written with Symbols, as ManageIQ" do
      expect(task.get_option(nil)).to be_nil
      expect(task.get_option("vm_target_name")).to be_nil
      expect(task.get_option(:nothing)).to be_nil
    end

    it "keeps nested keys as written (a dialog's)" do
      expect(world.vmdb(:miq_request, 700).get_option(:dialog)).to eq("dialog_size" => "large")
    end

    it "persists set_option; options is a copy" do
      task.set_option(:vm_memory, %w[4096 4096])
      expect(task.get_option(:vm_memory)).to eq("4096")
      task.options[:vm_memory] = "changed"
      expect(task.get_option(:vm_memory)).to eq("4096")
    end

    it "sets the user message (options and message, at most 255 characters)" do
      request = world.vmdb(:miq_request, 700)
      request.user_message = "x" * 300
      expect(request.get_option(:user_message).size).to eq(255)
      expect(request.message).to eq("x" * 255)
    end

    it "keeps a request's tags as options[:tag_ids]" do
      request = world.vmdb(:miq_request, 700)
      expect(request.get_tags).to eq(environment: %w[dev prod])
      expect(request.get_tag(:environment)).to eq(%w[dev prod])
      request.add_tag("department", "hr")
      request.add_tag("department", "nope")
      expect(request.get_tags).to eq(environment: %w[dev prod], department: "hr")
      expect(request.get_classification(:department)).to eq(name: "hr", description: "HR")
      request.clear_tag("environment", "dev")
      expect(request.get_tags).to eq(environment: "prod", department: "hr")
      request.clear_tag
      expect(request.get_tags).to eq({})
    end
  end

  describe "tags" do
    let(:vm) { world.vmdb(:vm, 600) }

    it "answers tags, tags(category) and tagged_with?" do
      expect(vm.tags).to eq(%w[department/finance environment/prod])
      expect(vm.tags(:environment)).to eq(["prod"])
      expect(vm.tagged_with?("department", "finance")).to be(true)
      expect(vm.tagged_with?("department", "hr")).to be(false)
    end

    it "assigns and unassigns (true either way); a single-value category keeps one; an unknown tag does nothing" do
      expect(vm.tag_assign("environment/dev")).to be(true)
      expect(vm.tags(:environment)).to eq(%w[prod dev])
      expect(vm.tag_assign("department/hr")).to be(true)
      expect(vm.tags(:department)).to eq(["hr"])
      expect(vm.tag_assign("department/nope")).to be(true)
      expect(vm.tags(:department)).to eq(["hr"])
      expect(vm.tag_unassign("environment/prod")).to be(true)
      expect(vm.tags).to eq(%w[environment/dev department/hr])
    end

    it "raises UntaggableModel for models without tags" do
      expect { world.vmdb(:miq_request, 700).tag_assign("environment/dev") }
        .to raise_error(MiqAutomate::UntaggableModel, "Model MiqAeMethodService::MiqAeServiceMiqRequest doesn't support tagging")
    end

    it "answers Classification as ManageIQ's: categories, entries, to_tag" do
      classes = world.vmdb(:classification)
      expect(classes.categories.map(&:name)).to eq(%w[department environment])
      department = classes.find_by_name("department")
      expect(department.entries.map(&:name)).to eq(%w[finance hr])
      expect(department.entries.first.to_tag).to eq("/managed/department/finance")
      expect(department.entries.first.category).to eq("department")
      expect(department.single_value).to be(true)
    end
  end

  describe "custom attributes" do
    it "gets, sets and lists them (custom_set gives true)" do
      vm = world.vmdb(:vm, 600)
      expect(vm.custom_keys).to eq(["owner"])
      expect(vm.custom_get("owner")).to eq("ops")
      expect(vm.custom_get(:missing)).to be_nil
      expect(vm.custom_set(:cost_center, "42")).to be(true)
      expect(vm.custom_get("cost_center")).to eq("42")
      vm.custom_set("owner", "dev")
      expect(vm.custom_keys).to eq(%w[owner cost_center])
      expect(vm.custom_get("owner")).to eq("dev")
      expect(vm.ems_custom_get("vc_note")).to eq("n1")
      expect(vm.ems_custom_set("vc_note", "n2")).to be(true)
      expect(vm.ems_custom_keys).to eq(["vc_note"])
      expect(world.vmdb(:service, 1000).custom_set("a", 1)).to be(true)
      expect(world.vmdb(:service, 1000).custom_get("a")).to eq(1)
      expect { world.vmdb(:storage, 7).custom_get("a") }.to raise_error(NoMethodError)
    end
  end

  describe "model classes ($evm.vmdb(model))" do
    let(:vms) { world.vmdb(:vm) }

    it "finds by id, raising as ManageIQ when there is none" do
      expect(vms.find(600).name).to eq("web01")
      expect(vms.find("601").name).to eq("web02")
      expect(vms.find([600, 602]).map(&:id)).to eq([600, 602])
      expect(vms.find(600, 601).map(&:id)).to eq([600, 601])
      expect { vms.find(5) }.to raise_error(MiqAutomate::ServiceNotFound, "Service Model not found") { |e|
        expect(e.cause).to be_a(ActiveRecord::RecordNotFound)
        expect(e.cause.message).to eq("Couldn't find Vm with 'id'=5")
      }
      expect { vms.find(500) }.to raise_error(MiqAutomate::ServiceNotFound) { |e| expect(e.cause.message).to eq("Couldn't find Vm with 'id'=500") }
      expect { vms.find([600, 5]) }.to raise_error(MiqAutomate::ServiceNotFound) { |e|
        expect(e.cause.message).to eq("Couldn't find all Vms with 'id': (600, 5) (found 1 results, but was looking for 2).")
      }
      expect { vms.find }.to raise_error(MiqAutomate::ServiceNotFound) { |e| expect(e.cause.message).to eq("Couldn't find Vm without an ID") }
    end

    it "gives $evm.vmdb(model, id) or nil (recorded as the class's find)" do
      expect(world.vmdb(:vm, 600).name).to eq("web01")
      expect(world.calls.first.to_a.first(3)).to eq(["Vm", :find, [600]])
      expect(world.vmdb(:vm, "600").name).to eq("web01")
      expect(world.vmdb(:vm, 5)).to be_nil
      expect(world.vmdb("VmOrTemplate", 500).name).to eq("rhel9")
    end

    it "answers find_by, find_by!, find_by_<column>(_and_<column>) and lookup_by_<column>" do
      expect(vms.find_by(name: "db01").id).to eq(602)
      expect(vms.find_by(name: "none")).to be_nil
      expect(vms.find_by_name("web02").id).to eq(601)
      expect(vms.find_by_name_and_host_id("web02", 3).id).to eq(601)
      expect(vms.find_by_name_and_host_id("web02", 4)).to be_nil
      expect(world.vmdb(:user).lookup_by_userid("admin").id).to eq(1)
      expect { vms.find_by!(name: "none") }.to raise_error(MiqAutomate::ServiceNotFound)
      expect { vms.find_by_name }.to raise_error(ArgumentError, "wrong number of arguments (given 0, expected 1)")
    end

    it "answers where with a Hash (values, lists, nil, ranges, models) as Arrays" do
      expect(vms.where(host_id: 3).map(&:id)).to eq([600, 601])
      expect(vms.where(host_id: 3)).to be_an(Array)
      expect(vms.where("host_id" => "3", "name" => "web02").map(&:id)).to eq([601])
      expect(vms.where(name: %w[db01 web01]).map(&:id)).to eq([600, 602])
      expect(vms.where(storage_id: nil).map(&:id)).to eq([601, 602])
      expect(vms.where(id: 600..601).map(&:id)).to eq([600, 601])
      expect(vms.where(host_id: world.vmdb(:host, 4)).map(&:id)).to eq([602])
      expect(vms.where(host_id: 3).first.id).to eq(600)
      expect(vms.where(host_id: 3).count).to eq(2)
    end

    it "answers where with the SQL content methods use" do
      expect(vms.where("lower(name) = ?", "WEB01".downcase).map(&:id)).to eq([600])
      expect(vms.where("name = ? AND host_id = ?", "web02", 3).map(&:id)).to eq([601])
      expect(vms.where("storage_id IS NULL").map(&:id)).to eq([601, 602])
      expect(vms.where("name IN (?)", %w[web01 db01]).map(&:id)).to eq([600, 602])
      expect { vms.where("name LIKE ?", "web%") }.to raise_error(MiqAutomate::World::Unsupported, /not "name LIKE \?"/)
    end

    it "raises ActiveRecord::StatementInvalid for a column the table does not have" do
      expect { vms.where(colour: "red") }
        .to raise_error(ActiveRecord::StatementInvalid, "PG::UndefinedColumn: ERROR:  column vms.colour does not exist")
    end

    it "answers all, first and count for its own rows only (an STI model sees its types)" do
      expect(vms.all.map(&:id)).to eq([600, 601, 602])
      expect(vms.first.id).to eq(600)
      expect(vms.count).to eq(3)
      expect(world.vmdb(:miq_template).all.map(&:id)).to eq([500])
      expect(world.vmdb(:vm_or_template).count).to eq(4)
      expect(world.vmdb(:miq_provision).all.map(&:id)).to eq([800, 801])
      expect(world.vmdb(:miq_provision_request).count).to eq(1)
      expect(world.vmdb(:service_template_provision_request).count).to eq(0)
      expect(world.vmdb("ManageIQ_Providers_Vmware_InfraManager_Vm").count).to eq(3)
      expect(world.vmdb("ManageIQ_Providers_Vmware_InfraManager_Template").all.map(&:id)).to eq([500])
    end

    it "has no last or exists?, as ManageIQ's service-model classes" do
      expect { vms.last }.to raise_error(NoMethodError)
      expect { vms.exists?(600) }.to raise_error(NoMethodError)
      expect(vms.all.last.id).to eq(602)
    end

    it "names an unknown model as ManageIQ's constant lookup does" do
      expect { world.vmdb(:vmm) }.to raise_error(NameError, /uninitialized constant MiqAeMethodService::MiqAeServiceVmm/)
      expect(world.vmdb(:ems)).to equal(world.vmdb(:ext_management_system))
      expect(world.vmdb(:ems).name).to eq("MiqAeMethodService::MiqAeServiceExtManagementSystem")
    end

    it "gives a ManageIQ model the world has no rows of, and the rows of its `models` section" do
      expect(world.vmdb(:cloud_tenant).all).to eq([])
      expect(world.vmdb(:cloud_tenant, 1)).to be_nil
      expect(world.vmdb(:flavor).find_by(name: "m1.small").cpus).to eq(1)
      expect(world.vmdb("Flavor", 9).name).to eq("m1.small")
    end

    it "records class calls with the model's class name" do
      vms.where(host_id: 3)
      expect(world.calls.last.to_a.first(3)).to eq(["Vm", :where, [{ host_id: 3 }]])
    end

    it "answers class methods the world declares" do
      world = load_world(doc.merge("class_methods" => {
                                     "orchestration_stack" => { "create_job" => [{ "args" => [{ "a" => 1 }], "returns" => "job 1" }] },
                                     "ManageIQ_Providers_Vmware_InfraManager_Vm" => { "count_by_power" => { "returns" => 2 } }
                                   }))
      expect(world.vmdb(:orchestration_stack).create_job(a: 1)).to eq("job 1")
      expect { world.vmdb(:orchestration_stack).create_job(a: 2) }.to raise_error(NoMethodError, /create_job/)
      expect(world.vmdb(:orchestration_stack).respond_to?(:create_job)).to be(true)
      expect(world.vmdb("ManageIQ_Providers_Vmware_InfraManager_Vm").count_by_power).to eq(2)
    end
  end

  describe "$evm.execute" do
    it "does what ManageIQ's MiqAeServiceMethods does, with the world's categories" do
      expect(world.execute(:category_exists?, "department")).to be(true)
      expect(world.execute(:category_exists?, "location")).to be(false)
      expect(world.execute(:tag_exists?, "department", "hr")).to be(true)
      expect(world.execute(:tag_exists?, "department", "it")).to be(false)
      expect(world.execute(:tag_create, "department", name: "it", description: "IT")).to be(true)
      expect(world.execute(:tag_exists?, "department", "it")).to be(true)
      expect { world.execute(:tag_create, "location", name: "ny") }.to raise_error(RuntimeError, "Category <location> does not exist")
      expect(world.execute(:category_create, name: "location", description: "Location", single_value: true)).to be(true)
      expect(world.execute(:category_exists?, "location")).to be(true)
      expect(world.execute(:tag_delete, "department", "it")).to be(true)
      expect(world.execute(:tag_delete, "department", "finance")).to be(false) # assigned to VM 600
      expect { world.execute(:tag_delete!, "department", "finance") }.to raise_error(RuntimeError, /has assignments/)
      expect(world.execute(:send_email, "a@b", "c@d", "subject", "body")).to be(true)
    end

    it "makes requests: a service provision request by the run's user, a retire request" do
      template = world.vmdb(:service_template, 10)
      request = world.execute(:create_service_provision_request, template, "dialog_size" => "small")
      expect(request.type).to eq("ServiceTemplateProvisionRequest")
      expect(request.source).to eq(template)
      expect(request.get_option(:dialog_size)).to eq("small")
      expect(request.approval_state).to eq("pending_approval")
      expect(world.vmdb(:miq_request, request.id)).to equal(request)
      retire = world.execute(:create_retire_request, world.vmdb(:vm, 600))
      expect([retire.type, retire.request_type, retire.options[:src_ids]]).to eq(["VmRetireRequest", "vm_retire", [600]])
    end

    it "answers what the world declares, by arguments, first" do
      world = load_world(doc.merge("execute" => {
                                     "category_exists?" => [{ "args" => ["department"], "returns" => false }],
                                     "create_service_provision_request" => { "args" => ["service_templates/10", nil], "returns_record" => "requests/700" },
                                     "send_email" => { "raises" => "SMTP is down" },
                                     "custom_thing" => { "returns" => { "a" => [1] } }
                                   }))
      expect(world.execute(:category_exists?, "department")).to be(false)
      expect(world.execute(:category_exists?, "environment")).to be(true) # no answer matched: the world's own
      expect(world.execute(:create_service_provision_request, world.vmdb(:service_template, 10), nil).id).to eq(700)
      expect { world.execute(:send_email, "a", "b", "c", "d") }.to raise_error(RuntimeError, "SMTP is down")
      expect(world.execute("custom_thing")).to eq("a" => [1])
    end

    it "raises MethodNotFound for what MiqAeServiceMethods does not have, and records every call" do
      expect { world.execute(:no_such_method, 1) }
        .to raise_error(MiqAutomate::MethodNotFound, "undefined method `no_such_method' for MiqAeMethodService::MiqAeServiceMethods:Class")
      world.execute(:category_exists?, "department")
      expect(world.calls.select { |c| c.target == "execute" }.map { |c| [c.name, c.args] })
        .to eq([[:no_such_method, [1]], [:category_exists?, ["department"]]])
    end
  end
end
