# frozen_string_literal: true

require "json"
require "tmpdir"

# A world file: what loads, what is refused (and how the error names the place), the
# scenario compatibility, the run's user and the clock.
RSpec.describe MiqAutomate::World do
  around do |example|
    Dir.mktmpdir("world") do |dir|
      @dir = dir
      example.run
    end
  end

  # A world file written from `doc` (a Hash, or JSON text); `load_world("vms" => […])`
  # takes the sections inline too.
  def world_path(doc, name = "world.json")
    path = File.join(@dir, name)
    File.write(path, doc.is_a?(String) ? doc : JSON.generate(doc))
    path
  end

  def load_world(doc = {}, clock: nil, **sections)
    described_class.load(world_path(doc.merge(sections.transform_keys(&:to_s))), clock: clock)
  end

  # The error a bad world gives, with the file's path in front of the message.
  def load_error(doc = {}, **sections)
    doc = doc.merge(sections.transform_keys(&:to_s)) if doc.is_a?(Hash)
    path = world_path(doc)
    expect { described_class.load(path) }.to raise_error(MiqAutomate::WorldError) { |e| @error = e }
    @error.message.delete_prefix("#{path}: ")
  end

  let(:base) do
    {
      "groups" => [{ "id" => "1", "description" => "EvmGroup-super_administrator" }],
      "users" => [{ "id" => "1", "userid" => "admin", "name" => "Administrator", "password" => "smartvm", "groups" => ["1"] }]
    }
  end

  describe "scenario files" do
    Dir[File.expand_path("../../mocks/*.json", __dir__)].each do |file|
      it "loads the mock's #{File.basename(file)} as a world" do
        world = described_class.load(file)
        expect(world.vmdb(:user).find_by(userid: "admin").name).to eq("Administrator")
        expect(world.description).to be_a(String)
      end
    end

    it "keeps a scenario's meaning: a task's request_id and parent_task_id, a VM's service_id, a service's parent_id" do
      world = described_class.load(File.expand_path("../../mocks/failed_bundle.json", __dir__))
      top = world.vmdb(:miq_request_task, 4000)
      expect(top.miq_request.id).to eq(3000)
      expect(world.vmdb(:miq_request_task, 4001).miq_request_task).to eq(top)
      expect(top.miq_request_tasks.map(&:id)).to eq([4001, 4002, 4003, 4004, 4005])
      expect(top.destination).to eq(world.vmdb(:service, 1000))
      bundle = world.vmdb(:service, 1000)
      expect(bundle.direct_service_children.map(&:id)).to eq([1001, 1002, 1003, 1004, 1005])
      expect(bundle.vms.map(&:id)).to eq([2001, 2002, 2003, 2004, 2005])
      expect(bundle.direct_vms).to eq([])
      expect(world.vmdb(:vm, 2001).service.id).to eq(1001)
      expect(world.settings).to be_a(Hash)
    end

    it "lets a scenario point service_template_id at a section it does not have" do
      world = load_world("services" => [{ "id" => 1, "name" => "s", "service_template_id" => 50 }])
      expect(world.vmdb(:service, 1).service_template).to be_nil
      expect(load_error("services" => [{ "id" => 1, "name" => "s", "service_template_id" => 50 }],
                        "service_templates" => [{ "id" => 49, "name" => "t" }]))
        .to eq("$.services[0].service_template_id: no service template 50")
    end
  end

  describe "sections" do
    it "takes ManageIQ's table names and the scenario's, together" do
      world = load_world(base.merge(
                           "miq_requests" => [{ "id" => 1, "type" => "MiqProvisionRequest", "request_type" => "template" }],
                           "requests" => [{ "id" => 2, "type" => "MiqProvisionRequest", "request_type" => "template" }],
                           "miq_groups" => [{ "id" => 2, "description" => "ops" }],
                           "request_tasks" => [{ "id" => 5, "request_id" => 2, "type" => "MiqProvision" }],
                           "miq_request_tasks" => [{ "id" => 6, "miq_request_id" => 1, "type" => "MiqProvision" }]
                         ))
      expect(world.vmdb(:miq_request).all.map(&:id)).to eq([1, 2])
      expect(world.vmdb(:miq_group).count).to eq(2)
      expect(world.vmdb(:miq_request, 2).miq_request_tasks.map(&:id)).to eq([5])
      expect(world.vmdb(:miq_request_task, 5).miq_request_id).to eq(2)
    end

    it "puts templates with the VMs (one table, as ManageIQ's vms)" do
      world = load_world("vms" => [{ "id" => 1, "name" => "vm" }], "templates" => [{ "id" => 2, "name" => "tpl" }])
      expect(world.vmdb(:vm_or_template).all.map(&:name)).to eq(%w[vm tpl])
      expect(world.vmdb(:miq_template, 2).type).to eq("ManageIQ::Providers::Vmware::InfraManager::Template")
      expect(world.vmdb(:vm, 2)).to be_nil
      expect(load_error("vms" => [{ "id" => 1, "name" => "vm" }], "templates" => [{ "id" => 1, "name" => "tpl" }]))
        .to eq("$.templates[0].id: duplicate id 1 ($.vms[0] has it too)")
    end

    it "refuses an unknown section, suggesting the right one" do
      expect(load_error("vmz" => [])).to eq("$.vmz: unknown section; did you mean `vms`?")
    end

    it "refuses an unknown key of a record, suggesting the right one" do
      expect(load_error("vms" => [{ "id" => 1, "name" => "a" }, { "id" => 2, "powr_state" => "on" }]))
        .to eq("$.vms[1].powr_state: unknown key for vm; did you mean `power_state`?")
    end

    it "takes columns it does not list under `columns`" do
      world = load_world("vms" => [{ "id" => 1, "name" => "a", "columns" => { "cpu_affinity" => "0-3" } }])
      expect(world.vmdb(:vm, 1).cpu_affinity).to eq("0-3")
    end

    it "refuses sections and records of the wrong shape" do
      expect(load_error("vms" => {})).to eq("$.vms: must be an array of records, not an object")
      expect(load_error("vms" => [[]])).to eq("$.vms[0]: must be an object, not an array")
      expect(load_error("server" => [])).to eq("$.server: must be an object, not an array")
      expect(load_error("description" => 3)).to eq("$.description: must be a string")
    end

    it "needs ids: positive whole numbers or strings of digits" do
      expect(load_error("vms" => [{ "name" => "a" }])).to eq("$.vms[0]: a vm needs an id")
      expect(load_error("vms" => [{ "id" => "v1" }])).to eq('$.vms[0].id: an id is a positive whole number (or a string of digits), not "v1"')
      expect(load_world("vms" => [{ "id" => "12", "name" => "a" }]).vmdb(:vm, 12).name).to eq("a")
    end

    it "reads times as UTC Times and refuses what is not ISO 8601" do
      world = load_world("vms" => [{ "id" => 1, "retires_on" => "2024-06-01T08:00:00+02:00" }])
      expect(world.vmdb(:vm, 1).retires_on).to eq(Time.utc(2024, 6, 1, 6))
      expect(load_error("vms" => [{ "id" => 1, "retires_on" => "tomorrow" }]))
        .to eq('$.vms[0].retires_on: "tomorrow" is not an ISO 8601 time (2024-06-01T08:00:00Z)')
    end
  end

  describe "references" do
    let(:infra) do
      { "ext_management_systems" => [{ "id" => 1, "name" => "vc" }],
        "hosts" => [{ "id" => 10, "name" => "esx", "ems_id" => 1 }],
        "vms" => [{ "id" => 1, "name" => "a", "host_id" => 10 }, { "id" => 2, "name" => "b" }, { "id" => 3, "name" => "c" },
                  { "id" => 4, "name" => "d", "host_id" => 77 }] }
    end

    it "names the file and the JSON path of a reference to nothing" do
      path = world_path(infra)
      expect { described_class.load(path) }
        .to raise_error(MiqAutomate::WorldError, "#{path}: $.vms[3].host_id: no host 77") { |e|
          expect([e.file, e.json_path, e.problem]).to eq([path, "$.vms[3].host_id", "no host 77"])
        }
    end

    it "names a key as the file spells it" do
      doc = { "requests" => [{ "id" => 1, "type" => "MiqProvisionRequest", "request_type" => "template" }],
              "request_tasks" => [{ "id" => 2, "request_id" => 9, "type" => "MiqProvision" }] }
      expect(load_error(doc)).to eq("$.request_tasks[0].request_id: no request 9")
    end

    it "checks polymorphic references by their type" do
      task = { "id" => 2, "miq_request_id" => 1, "type" => "MiqProvision" }
      request = [{ "id" => 1, "type" => "MiqProvisionRequest", "request_type" => "template" }]
      expect(load_error("miq_requests" => request, "miq_request_tasks" => [task.merge("destination_type" => "Vm", "destination_id" => 5)]))
        .to eq("$.miq_request_tasks[0].destination_id: no vm 5")
      expect(load_error("miq_requests" => request, "miq_request_tasks" => [task.merge("destination_type" => "Thing", "destination_id" => 5)]))
        .to start_with('$.miq_request_tasks[0].destination_type: "Thing" is not a type the world knows')
      expect(load_error("miq_requests" => request, "miq_request_tasks" => [task.merge("destination_id" => 5)]))
        .to eq("$.miq_request_tasks[0].destination_type: destination_id is given without destination_type")
    end

    it "checks a user's groups and current group" do
      expect(load_error("users" => [{ "id" => 1, "userid" => "a", "groups" => [] }])).to eq("$.users[0].groups: a user needs at least one group")
      expect(load_error(base.merge("users" => [{ "id" => 1, "userid" => "a", "groups" => [1, 3] }]))).to eq("$.users[0].groups[1]: no group 3")
      expect(load_error(base.merge("miq_groups" => [{ "id" => 2, "description" => "x" }],
                                   "users" => [{ "id" => 1, "userid" => "a", "groups" => [1], "current_group_id" => 2 }])))
        .to eq("$.users[0].current_group_id: group 2 is not one of the user's groups")
    end

    it "checks tags against the declared categories" do
      categories = [{ "name" => "department", "description" => "Department", "entries" => [{ "name" => "finance" }] }]
      expect(load_error("categories" => categories, "vms" => [{ "id" => 1, "tags" => ["department/hr"] }]))
        .to eq("$.vms[0].tags[0]: no tag department/hr: the world's categories do not have it")
      expect(load_error("vms" => [{ "id" => 1, "tags" => ["finance"] }]))
        .to eq('$.vms[0].tags[0]: a tag is "category/name", not "finance"')
      # Without categories, the tags a world uses are its categories.
      world = load_world("vms" => [{ "id" => 1, "tags" => ["department/hr"] }])
      expect(world.execute(:tag_exists?, "department", "hr")).to be(true)
    end
  end

  describe "limits" do
    it "refuses a file over MAX_BYTES unread, and what is not a regular file" do
      stub_const("MiqAutomate::World::Loader::MAX_BYTES", 9)
      expect(load_error("vms" => [])).to eq("$: 10 bytes is too large: a world is at most 9 bytes")
      expect { described_class.parse("{}" + " " * 10) }
        .to raise_error(MiqAutomate::WorldError, "(world): $: 12 bytes is too large: a world is at most 9 bytes")
      expect { described_class.load(@dir) }.to raise_error(MiqAutomate::WorldError, "#{@dir}: $: not a regular file")
      expect { described_class.load(File.join(@dir, "none.json")) }
        .to raise_error(MiqAutomate::WorldError, "#{@dir}/none.json: $: cannot be read: No such file or directory")
    end

    it "refuses more than MAX_ROWS rows" do
      stub_const("MiqAutomate::World::Loader::MAX_ROWS", 2)
      expect(load_error("vms" => [{ "id" => 1 }, { "id" => 2 }, { "id" => 3 }])).to eq("$.vms[2]: too many rows: a world holds at most 2")
    end

    it "refuses what is not a JSON object, and nesting beyond 100" do
      expect(load_error("[]")).to eq("$: a world is a JSON object, not an array")
      expect(load_error("{")).to start_with("$: invalid JSON: ")
      expect(load_error("{\"faults\": #{'[' * 101}#{']' * 101}}")).to eq("$: nested deeper than 100 levels")
    end

    it "bounds the mock's settings as the mock does" do
      expect(load_error("settings" => { "token_ttl_seconds" => 0 }))
        .to eq("$.settings.token_ttl_seconds: must be whole seconds from 1 to 315360000 (10 years), not 0")
    end

    it "bounds step delays to 10 years" do
      expect(load_error("vms" => [{ "id" => 1, "timeline" => [{ "after" => -1 }] }]))
        .to eq("$.vms[0].timeline[0].after: must be whole seconds from 0 to 315360000 (10 years), not -1")
    end
  end

  describe "the run's user" do
    let(:doc) do
      base.reject { |k, _| k == "groups" }.merge("tenants" => [{ "id" => 1, "name" => "My Company" }, { "id" => 2, "name" => "Dev", "parent_id" => 1 }],
                 "miq_groups" => [{ "id" => 1, "description" => "EvmGroup-super_administrator" },
                                  { "id" => 2, "description" => "dev", "tenant_id" => 2 }],
                 "users" => [{ "id" => 1, "userid" => "admin", "groups" => [1] },
                             { "id" => 2, "userid" => "jdoe", "name" => "J Doe", "groups" => [1, 2], "current_group_id" => 2 }],
                 "run" => { "user" => "jdoe" })
    end

    it "gives the root user, tenant and miq_group as MiqAeObject#user_info_attributes does" do
      world = load_world(doc)
      root = world.root_attributes_for_user
      expect(root.keys).to eq(%w[user tenant miq_group])
      expect(root["user"].name).to eq("J Doe")
      expect(root["miq_group"].description).to eq("dev")
      expect(root["tenant"].name).to eq("Dev")
      expect(world.root_attributes_for_user("ADMIN")["tenant"].name).to eq("My Company")
      expect { world.root_attributes_for_user("nobody") }.to raise_error(ArgumentError, 'the world has no user "nobody"')
    end

    it "gives a world without tenants ManageIQ's root tenant" do
      world = load_world(base)
      expect(world.root_attributes_for_user("admin")["tenant"].name).to eq("My Company")
      expect(world.root_attributes_for_user).to eq({})
    end

    it "refuses a run user the world does not have" do
      expect(load_error(doc.merge("run" => { "user" => "jdo" }))).to eq('$.run.user: no user "jdo"; did you mean `jdoe`?')
      expect(load_error(doc.merge("run" => { "usr" => "jdoe" }))).to eq("$.run.usr: unknown key; did you mean `user`?")
    end
  end

  describe "the clock" do
    it "has a clock of its own that moves only when told" do
      world = load_world(base)
      start = world.now
      expect(start.usec).to eq(0)
      world.clock.advance(90)
      expect(world.now - start).to eq(90)
      expect { world.clock.advance(1.5) }.to raise_error(ArgumentError)
    end

    it "reads a callable or an object answering now (the engine's clock)" do
      time = Time.utc(2024, 1, 1)
      expect(load_world(base, clock: -> { time }).now).to eq(time)
      clock = described_class::Clock.new(time)
      expect(load_world(base, clock: clock).now).to eq(time)
      expect { load_world(base, clock: 5) }.to raise_error(ArgumentError, /clock: is a callable/)
    end
  end

  describe "answers" do
    it "refuses answers that say two things, or name rows that are not there" do
      expect(load_error("execute" => { "x" => { "returns" => 1, "raises" => "no" } }))
        .to eq("$.execute.x: give one of returns, returns_record or raises, not returns and raises")
      expect(load_error("execute" => { "x" => [{ "returns_record" => "vms/9" }] }))
        .to eq("$.execute.x[0].returns_record: no vm 9")
      expect(load_error("execute" => { "x" => { "args" => 1 } })).to eq("$.execute.x.args: must be an array")
      expect(load_error("class_methods" => { "flavour" => {} })).to start_with("$.class_methods.flavour: no model flavour; did you mean `flavor`?")
    end

    it "refuses unknown behaviour settings and step keys" do
      expect(load_error("behaviour" => { "power" => { "afterr" => 1 } })).to eq("$.behaviour.power.afterr: unknown key; did you mean `after`?")
      expect(load_error("behaviour" => { "provision" => { "result" => "maybe" } }))
        .to eq('$.behaviour.provision.result: must be "ok" or "error", not "maybe"')
      expect(load_error("vms" => [{ "id" => 1, "on" => { "stop" => [{ "sett" => {} }] } }]))
        .to eq("$.vms[0].on.stop.steps[0].sett: unknown key; did you mean `set`?")
      expect(load_error("vms" => [{ "id" => 1, "on" => { "stop" => [{ "set" => { "power" => "off" } }] } }]))
        .to eq("$.vms[0].on.stop.steps[0].set.power: unknown column of vm; did you mean `power_state`?")
      expect(load_error("vms" => [{ "id" => 1, "on" => { "stop" => [{ "set" => { "host_id" => 4 } }] } }]))
        .to eq("$.vms[0].on.stop.steps[0].set.host_id: no host 4")
    end

    it "checks the rows a step creates like the others" do
      expect(load_error("vms" => [{ "id" => 1, "on" => { "clone" => [{ "create" => { "vms" => [{ "id" => 1 }] } }] } }]))
        .to eq("$.vms[0].on.clone.steps[0].create.vms[0].id: duplicate id 1 ($.vms[0] has it too)")
      expect(load_error("vms" => [{ "id" => 1, "on" => { "clone" => [{ "create" => { "vms" => [{ "id" => 2, "hardware" => {} }] } }] } }]))
        .to eq("$.vms[0].on.clone.steps[0].create.vms[0].hardware: a row a step creates cannot have hardware: declare it in its section")
    end
  end

  it "inspects as its file and its counts" do
    expect(load_world(base).inspect).to match(%r{\A#<MiqAutomate::World .*/world.json users=1 miq_groups=1 tenants=1 miq_servers=1>\z})
  end
end
