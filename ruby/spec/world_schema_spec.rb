# frozen_string_literal: true

require "json"
require "open3"
require "tmpdir"

# docs/world.schema.json says what the loader accepts: its record definitions list the
# keys the catalogue allows, and (with Python's jsonschema, when it is installed) it
# accepts the worlds that load and refuses what the loader refuses.
RSpec.describe "docs/world.schema.json" do
  SCHEMA_PATH = File.expand_path("../../docs/world.schema.json", __dir__)
  DEFS = { "ext_management_systems" => "ext_management_system", "hosts" => "host", "ems_clusters" => "ems_cluster",
           "storages" => "storage", "vms" => "vm", "services" => "service", "service_templates" => "service_template",
           "miq_requests" => "miq_request", "miq_request_tasks" => "miq_request_task", "miq_tasks" => "miq_task",
           "users" => "user", "miq_groups" => "miq_group", "tenants" => "tenant", "classifications" => "classification",
           "orchestration_stacks" => "orchestration_stack", "hardwares" => "hardware", "disks" => "disk" }.freeze

  let(:schema) { JSON.parse(File.read(SCHEMA_PATH)) }
  let(:catalogue) { MiqAutomate::World::Catalogue }

  # A world with every section.
  let(:full) do
    {
      "description" => "every section",
      "server" => { "id" => "1", "name" => "EVM", "version" => "18.0.0", "profile" => "current" },
      "settings" => { "token_ttl_seconds" => 600, "retirement_step_seconds" => 5 },
      "faults" => { "latency_ms" => 0, "rules" => [] },
      "run" => { "user" => "admin" },
      "tenants" => [{ "id" => 1, "name" => "My Company" }],
      "groups" => [{ "id" => "1", "description" => "EvmGroup-super_administrator", "role" => "EvmRole-super_administrator", "read_only" => false }],
      "users" => [{ "id" => "1", "userid" => "admin", "name" => "Administrator", "password" => "smartvm", "groups" => ["1"] }],
      "ext_management_systems" => [{ "id" => 1, "name" => "vc01", "last_refresh_date" => "2024-06-01T08:00:00Z" }],
      "ems_clusters" => [{ "id" => 1, "name" => "prod", "ems_id" => 1 }],
      "storages" => [{ "id" => 1, "name" => "ds1" }],
      "hosts" => [{ "id" => 1, "name" => "esx01", "ems_id" => 1, "ems_cluster_id" => 1, "storage_ids" => [1],
                    "hardware" => { "cpu_total_cores" => 8, "disks" => [{ "filename" => "x" }] } }],
      "templates" => [{ "id" => 500, "name" => "rhel9", "guid" => nil }],
      "vms" => [{ "id" => 600, "name" => "web01", "host_id" => 1, "service_id" => 1001, "tags" => ["department/finance"],
                  "custom_attributes" => { "owner" => "ops" }, "columns" => { "cpu_affinity" => "0-1" },
                  "on" => { "stop" => { "steps" => [{ "after" => 30, "set" => { "power_state" => "off" } }], "returns" => true } },
                  "timeline" => [{ "after" => 60, "provider" => { "exists" => false } }, { "after" => 90, "refresh" => true }] }],
      "categories" => [{ "name" => "department", "description" => "Department", "entries" => [{ "name" => "finance" }] }],
      "service_templates" => [{ "id" => 10, "name" => "web" }],
      "services" => [{ "id" => 1001, "name" => "web", "service_template_id" => 10, "type" => "ServiceOrchestration",
                       "orchestration_manager_id" => 1 }],
      "orchestration_stacks" => [{ "id" => 1, "name" => "s", "ems_ref" => "arn", "ems_id" => 1, "service_id" => 1001,
                                   "status" => "CREATE_IN_PROGRESS" }],
      "requests" => [{ "id" => "700", "type" => "MiqProvisionRequest", "request_type" => "template",
                       "options" => { "number_of_vms" => [2, "2"] }, "source_type" => "VmOrTemplate", "source_id" => "500" }],
      "request_tasks" => [{ "id" => "800", "request_id" => "700", "type" => "MiqProvision", "destination_type" => "VmOrTemplate",
                            "destination_id" => 600, "on" => { "execute" => [{ "create" => { "vms" => [{ "id" => 601, "name" => "new" }] } }] } }],
      "tasks" => [{ "id" => 9, "name" => "t" }],
      "models" => { "flavor" => [{ "id" => 1, "name" => "m1.small" }] },
      "behaviour" => { "power" => { "after" => 30 }, "provision" => { "after" => 120, "result" => "ok", "message" => "m" },
                       "refresh" => { "after" => 30 }, "remove" => { "after" => 0 },
                       "orchestration" => { "after" => 300, "status" => "CREATE_COMPLETE", "reason" => "OK" } },
      "execute" => { "category_exists?" => [{ "args" => ["department"], "returns" => true }, { "returns" => false }],
                     "create_service_provision_request" => { "returns_record" => "requests/700" } },
      "class_methods" => { "configuration_script" => { "create_job" => { "raises" => "no" } } }
    }
  end

  it "is a draft 2020-12 schema that refuses unknown sections" do
    expect(schema["$schema"]).to eq("https://json-schema.org/draft/2020-12/schema")
    expect(schema["additionalProperties"]).to be(false)
    sections = catalogue::TABLES.keys - catalogue::INLINE + catalogue::SECTION_ALIASES.keys + MiqAutomate::World::Loader::OTHER_SECTIONS
    expect(schema["properties"].keys).to match_array(sections)
  end

  it "lists, for every record, exactly the keys the loader accepts" do
    DEFS.each do |table, name|
      spec = catalogue::TABLES.fetch(table)
      accepted = spec.record_keys.keys + catalogue::COLUMN_ALIASES.fetch(table, {}).keys
      definition = schema["$defs"].fetch(name)
      expect(definition["properties"].keys).to match_array(accepted), "#{name}: #{definition['properties'].keys - accepted} / #{accepted - definition['properties'].keys}"
      expect(definition["additionalProperties"]).to be(false)
      expect(definition.fetch("required", [])).to eq(spec.auto_id ? [] : ["id"])
    end
  end

  it "lists the behaviour settings, step and answer keys the loader accepts" do
    loader = MiqAutomate::World::Loader
    behaviour = schema["properties"]["behaviour"]["properties"]
    expect(behaviour.keys).to match_array(loader::BEHAVIOUR_KEYS.keys)
    loader::BEHAVIOUR_KEYS.each do |name, keys|
      definition = behaviour[name]["$ref"] ? schema["$defs"]["after_only"] : behaviour[name]
      expect(definition["properties"].keys).to match_array(keys)
    end
    expect(schema["$defs"]["step"]["properties"].keys).to match_array(loader::STEP_KEYS)
    expect(schema["$defs"]["answer"]["properties"].keys).to match_array(loader::ANSWER_KEYS)
    expect(schema["$defs"]["hook"]["oneOf"][1]["properties"].keys).to match_array(loader::HOOK_KEYS)
  end

  it "describes a world that loads" do
    Dir.mktmpdir do |dir|
      path = File.join(dir, "world.json")
      File.write(path, JSON.generate(full))
      world = MiqAutomate::World.load(path)
      expect(world.vmdb(:vm, 600).tags).to eq(["department/finance"])
    end
  end

  describe "with Python's jsonschema" do
    # Validates each document against the schema; the errors' JSON paths, one list per document.
    def validate(*docs)
      script = <<~PY
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        print(json.dumps([[e.json_path for e in validator.iter_errors(doc)] for doc in json.load(sys.stdin)]))
      PY
      out, err, status = Open3.capture3("python3", "-c", script, SCHEMA_PATH, stdin_data: JSON.generate(docs))
      raise "jsonschema failed: #{err}" unless status.success?

      JSON.parse(out)
    end

    before do
      _, _, status = Open3.capture3("python3", "-c", "import jsonschema")
      skip "python3 with jsonschema is not installed" unless status.success?
    rescue Errno::ENOENT
      skip "python3 is not installed"
    end

    it "accepts the mock's scenarios and a world with every section" do
      mocks = Dir[File.expand_path("../../mocks/*.json", __dir__)].map { |f| JSON.parse(File.read(f)) }
      expect(validate(full, *mocks)).to all(eq([]))
    end

    it "refuses what the loader refuses: unknown keys, bad ids, bad tags, bad steps, two answers" do
      bad = [
        full.merge("vmz" => []),
        full.merge("vms" => [{ "id" => 1, "powr_state" => "on" }]),
        full.merge("vms" => [{ "id" => "v1" }]),
        full.merge("vms" => [{ "name" => "no id" }]),
        full.merge("vms" => [{ "id" => 1, "tags" => ["finance"] }]),
        full.merge("vms" => [{ "id" => 1, "timeline" => [{ "after" => -1 }] }]),
        full.merge("execute" => { "x" => { "returns" => 1, "raises" => "no" } }),
        full.merge("behaviour" => { "provision" => { "result" => "maybe" } })
      ]
      expect(validate(*bad)).to all(satisfy { |errors| !errors.empty? })
    end
  end
end
