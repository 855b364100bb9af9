# frozen_string_literal: true

require "set"

module MiqAutomate
  class World
    # What a world file may hold: its tables (sections), their columns and associations,
    # and the service-model names `$evm.vmdb` knows. Names are ManageIQ's: tables as its
    # database names them (`vms`, `miq_requests`, `ext_management_systems`), columns and
    # associations as its service models answer them (`vm.host`, `task.miq_request`).
    module Catalogue
      # One table. `belongs_to`: association => [foreign key, table]; `polymorphic`:
      # association => [id column, type column]; `has_many`: association => [table, foreign
      # key, {column => value} filter]. `keys`: what a record may say besides columns (tags,
      # inline hardware…). `auto_id`: records may leave out their id.
      # `column_set`: its columns with the foreign keys and id; `record_keys`: every key a
      # record of this table may have in the file; `id_columns` and `time_columns`: the
      # columns whose values are ids and times; `converted_columns`: those and `options`.
      # (Hashes of name => true: the load looks every key of every row up in them.)
      Table = Struct.new(:name, :singular, :class_name, :columns, :belongs_to, :polymorphic, :has_many,
                         :keys, :defaults, :auto_id, :column_set, :record_keys, :id_columns, :time_columns,
                         :converted_columns, keyword_init: true) do
        def column?(name)
          column_set.key?(name)
        end
      end

      # What every record may carry: its declared behaviour (`on`, `timeline`, see
      # World::Timeline) and columns the catalogue does not list (`columns`).
      COMMON_KEYS = %w[on timeline columns].freeze

      # Columns whose ISO 8601 strings are read as Times.
      TIME_COLUMN = /(_on|_at|_date|_time)\z|\Alastlogon\z|\Aretirement_last_warn\z/.freeze

      RETIREMENT = %w[retired retirement_state retires_on retirement_warn retirement_last_warn retirement_requester].freeze
      TAGGABLE = %w[tags custom_attributes].freeze

      def self.table(name, singular:, class_name:, columns:, belongs_to: {}, polymorphic: {}, has_many: {}, keys: [],
                     defaults: {}, auto_id: false)
        names = columns + belongs_to.values.map(&:first) + polymorphic.values.flatten + ["id"]
        set = ->(list) { list.to_h { |n| [n, true] }.freeze }
        Table.new(name: name, singular: singular, class_name: class_name, columns: columns.uniq.freeze,
                  belongs_to: belongs_to.freeze, polymorphic: polymorphic.freeze, has_many: has_many.freeze,
                  keys: keys.freeze, defaults: defaults.freeze, auto_id: auto_id, column_set: set.call(names),
                  record_keys: set.call(names + keys + COMMON_KEYS),
                  id_columns: set.call(names.select { |c| c.end_with?("_id") }),
                  time_columns: set.call(names.select { |c| TIME_COLUMN.match?(c) }),
                  converted_columns: set.call(names.select { |c| c == "id" || c == "options" || c.end_with?("_id") || TIME_COLUMN.match?(c) })).freeze
      end

      TABLES = [
        table("ext_management_systems", singular: "provider", class_name: "ExtManagementSystem",
              columns: %w[name type hostname ipaddress port guid uid_ems api_version emstype zone_id provider_region
                          last_refresh_date last_refresh_error last_refresh_success_date last_inventory_date enabled
                          created_on updated_on],
              belongs_to: { "tenant" => %w[tenant_id tenants], "parent_manager" => %w[parent_ems_id ext_management_systems] },
              has_many: { "hosts" => ["hosts", "ems_id"], "vms" => ["vms", "ems_id", { "template" => false }],
                          "miq_templates" => ["vms", "ems_id", { "template" => true }],
                          "vms_and_templates" => %w[vms ems_id], "ems_clusters" => %w[ems_clusters ems_id],
                          "orchestration_stacks" => %w[orchestration_stacks ems_id] },
              keys: TAGGABLE, defaults: { "type" => "ManageIQ::Providers::Vmware::InfraManager", "enabled" => true }),
        table("hosts", singular: "host", class_name: "Host",
              columns: %w[name hostname ipaddress type guid uid_ems ems_ref vmm_vendor vmm_version vmm_product
                          vmm_buildnumber power_state connection_state maintenance failover hyperthreading
                          admin_disabled created_on updated_on],
              belongs_to: { "ext_management_system" => %w[ems_id ext_management_systems],
                            "ems_cluster" => %w[ems_cluster_id ems_clusters] },
              has_many: { "vms" => ["vms", "host_id", { "template" => false }],
                          "miq_templates" => ["vms", "host_id", { "template" => true }],
                          "vms_and_templates" => %w[vms host_id] },
              keys: TAGGABLE + %w[hardware storage_ids ems_custom_attributes],
              defaults: { "type" => "ManageIQ::Providers::Vmware::InfraManager::HostEsx", "power_state" => "on",
                          "connection_state" => "connected" }),
        table("ems_clusters", singular: "cluster", class_name: "EmsCluster",
              columns: %w[name type ems_ref uid_ems ha_enabled ha_admit_control ha_max_failures drs_enabled
                          drs_automation_level drs_migration_threshold effective_cpu effective_memory created_on updated_on],
              belongs_to: { "ext_management_system" => %w[ems_id ext_management_systems] },
              has_many: { "hosts" => %w[hosts ems_cluster_id], "vms" => ["vms", "ems_cluster_id", { "template" => false }],
                          "miq_templates" => ["vms", "ems_cluster_id", { "template" => true }],
                          "all_vms" => %w[vms ems_cluster_id] },
              keys: TAGGABLE),
        table("storages", singular: "storage", class_name: "Storage",
              columns: %w[name store_type location total_space free_space uncommitted multiplehostaccess ems_ref
                          storage_domain_type created_on updated_on],
              has_many: { "vms" => ["vms", "storage_id", { "template" => false }], "vms_and_templates" => %w[vms storage_id] },
              keys: TAGGABLE),
        table("vms", singular: "vm", class_name: "VmOrTemplate",
              columns: %w[name description vendor type template power_state raw_power_state state_changed_on
                          previous_state connection_state guid uid_ems ems_ref location format version
                          tools_status boot_time cpu_limit cpu_reserve memory_limit memory_reserve cloud
                          linked_clone publicly_available retirement_last_warn created_on updated_on
                          ems_created_on last_scan_on ipaddresses hostnames mac_addresses platform os_image_name
                          num_cpu cpu_total_cores mem_cpu ram_size allocated_disk_storage provisioned_storage
                          used_disk_storage] + RETIREMENT,
              belongs_to: { "host" => %w[host_id hosts], "storage" => %w[storage_id storages],
                            "ext_management_system" => %w[ems_id ext_management_systems],
                            "ems_cluster" => %w[ems_cluster_id ems_clusters], "tenant" => %w[tenant_id tenants],
                            "miq_group" => %w[miq_group_id miq_groups], "evm_owner" => %w[evm_owner_id users],
                            "orchestration_stack" => %w[orchestration_stack_id orchestration_stacks] },
              keys: TAGGABLE + %w[hardware service_id ems_custom_attributes],
              defaults: { "vendor" => "vmware", "power_state" => "on", "template" => false, "retired" => false,
                          "type" => "ManageIQ::Providers::Vmware::InfraManager::Vm" }),
        table("services", singular: "service", class_name: "Service",
              columns: %w[name description type guid display visible lifecycle_state options stack_name
                          created_at updated_at] + RETIREMENT,
              belongs_to: { "service_template" => %w[service_template_id service_templates],
                            "parent_service" => %w[parent_id services], "tenant" => %w[tenant_id tenants],
                            "miq_group" => %w[miq_group_id miq_groups], "evm_owner" => %w[evm_owner_id users],
                            "orchestration_manager" => %w[orchestration_manager_id ext_management_systems] },
              keys: TAGGABLE,
              defaults: { "type" => "Service", "visible" => true, "retired" => false, "options" => {} }),
        table("service_templates", singular: "service template", class_name: "ServiceTemplate",
              columns: %w[name description long_description guid type service_type prov_type display generic_subtype
                          options created_at updated_at],
              belongs_to: { "tenant" => %w[tenant_id tenants], "miq_group" => %w[miq_group_id miq_groups],
                            "evm_owner" => %w[evm_owner_id users] },
              has_many: { "services" => %w[services service_template_id] },
              keys: TAGGABLE, defaults: { "service_type" => "atomic", "display" => true, "options" => {} }),
        table("miq_requests", singular: "request", class_name: "MiqRequest",
              columns: %w[type request_type description approval_state request_state status message userid options
                          requester_name reason stamped_by stamped_on process cancelation_status
                          created_on updated_on fulfilled_on],
              belongs_to: { "requester" => %w[requester_id users], "tenant" => %w[tenant_id tenants] },
              polymorphic: { "source" => %w[source_id source_type] },
              has_many: { "miq_request_tasks" => %w[miq_request_tasks miq_request_id] },
              keys: %w[tags],
              defaults: { "approval_state" => "approved", "request_state" => "pending", "status" => "Ok",
                          "userid" => "admin", "options" => {}, "description" => "" }),
        table("miq_request_tasks", singular: "request task", class_name: "MiqRequestTask",
              columns: %w[type request_type description state status message userid options phase cancelation_status
                          created_on updated_on],
              belongs_to: { "miq_request" => %w[miq_request_id miq_requests],
                            "miq_request_task" => %w[miq_request_task_id miq_request_tasks],
                            "tenant" => %w[tenant_id tenants] },
              polymorphic: { "source" => %w[source_id source_type], "destination" => %w[destination_id destination_type] },
              has_many: { "miq_request_tasks" => %w[miq_request_tasks miq_request_task_id] },
              keys: %w[tags],
              defaults: { "state" => "pending", "status" => "Ok", "userid" => "admin", "options" => {},
                          "request_type" => "", "description" => "" }),
        table("miq_tasks", singular: "task", class_name: "MiqTask",
              columns: %w[name state status message userid pct_complete context_data results created_on updated_on],
              defaults: { "state" => "Queued", "status" => "Ok", "userid" => "admin" }),
        table("users", singular: "user", class_name: "User",
              columns: %w[userid name email first_name last_name password lastlogon created_on updated_on],
              belongs_to: { "current_group" => %w[current_group_id miq_groups] },
              has_many: { "vms" => %w[vms evm_owner_id] },
              keys: TAGGABLE + %w[groups]),
        table("miq_groups", singular: "group", class_name: "MiqGroup",
              columns: %w[description role read_only group_type sequence created_on updated_on],
              belongs_to: { "tenant" => %w[tenant_id tenants] },
              has_many: { "vms" => ["vms", "miq_group_id", { "template" => false }] },
              keys: TAGGABLE,
              defaults: { "role" => "EvmRole-super_administrator", "read_only" => false, "group_type" => "user" }),
        table("tenants", singular: "tenant", class_name: "Tenant",
              columns: %w[name description subdomain domain divisible use_config_for_attributes created_at updated_at],
              belongs_to: { "parent" => %w[parent_id tenants] },
              has_many: { "children" => %w[tenants parent_id], "miq_groups" => %w[miq_groups tenant_id],
                          "vms" => ["vms", "tenant_id", { "template" => false }], "services" => %w[services tenant_id] },
              defaults: { "divisible" => true }),
        table("classifications", singular: "classification", class_name: "Classification",
              columns: %w[name description single_value show read_only syntax example_text default perf_by_tag],
              belongs_to: { "parent" => %w[parent_id classifications] },
              has_many: { "entries" => %w[classifications parent_id] },
              keys: %w[entries], defaults: { "show" => true, "read_only" => false, "syntax" => "string" },
              auto_id: true),
        table("orchestration_stacks", singular: "orchestration stack", class_name: "OrchestrationStack",
              columns: %w[name description type ems_ref status status_reason created_on updated_on] + RETIREMENT,
              belongs_to: { "ext_management_system" => %w[ems_id ext_management_systems],
                            "parent" => %w[parent_id orchestration_stacks], "tenant" => %w[tenant_id tenants] },
              has_many: { "vms" => %w[vms orchestration_stack_id], "children" => %w[orchestration_stacks parent_id] },
              keys: TAGGABLE + %w[service_id],
              defaults: { "type" => "ManageIQ::Providers::Amazon::CloudManager::OrchestrationStack", "retired" => false }),
        table("miq_servers", singular: "server", class_name: "MiqServer",
              columns: %w[name version guid profile status started_on]),
        table("hardwares", singular: "hardware", class_name: "Hardware",
              columns: %w[cpu_sockets cpu_cores_per_socket cpu_total_cores cpu_speed cpu_type memory_mb guest_os
                          guest_os_full_name bios annotation manufacturer model virtual_hw_version ipaddresses
                          mac_addresses],
              belongs_to: { "vm_or_template" => %w[vm_or_template_id vms], "host" => %w[host_id hosts] },
              has_many: { "disks" => %w[disks hardware_id] },
              keys: %w[disks], auto_id: true),
        table("disks", singular: "disk", class_name: "Disk",
              columns: %w[device_name device_type controller_type location filename size size_on_disk mode disk_type
                          present start_connected],
              belongs_to: { "hardware" => %w[hardware_id hardwares], "storage" => %w[storage_id storages] },
              auto_id: true),
        table("custom_attributes", singular: "custom attribute", class_name: "CustomAttribute",
              columns: %w[name value source section],
              polymorphic: { "resource" => %w[resource_id resource_type] }, auto_id: true),
        table("service_resources", singular: "service resource", class_name: "ServiceResource",
              columns: %w[group_idx scaling_min scaling_max provision_index name],
              belongs_to: { "service" => %w[service_id services] },
              polymorphic: { "resource" => %w[resource_id resource_type] }, auto_id: true)
      ].to_h { |t| [t.name, t] }.freeze

      # Sections a file may spell another way: the mock's scenario names (`requests`,
      # `request_tasks`, `groups`, `tasks`), `templates` (VMs with template: true) and
      # `categories` (classifications with their entries).
      SECTION_ALIASES = {
        "requests" => "miq_requests", "request_tasks" => "miq_request_tasks", "groups" => "miq_groups",
        "tasks" => "miq_tasks", "templates" => "vms", "categories" => "classifications"
      }.freeze

      # Scenario columns under another name in ManageIQ: the mock's `request_id` and
      # `parent_task_id` are a task's `miq_request_id` and `miq_request_task_id`.
      COLUMN_ALIASES = {
        "miq_request_tasks" => { "request_id" => "miq_request_id", "parent_task_id" => "miq_request_task_id" }
      }.freeze

      # Tables written inline in others, never as sections.
      INLINE = %w[hardwares disks custom_attributes service_resources miq_servers].freeze

      # A service-model name: its table, ActiveRecord class name, and which rows it sees.
      Model = Struct.new(:key, :table, :class_name, :filter, keyword_init: true) do
        def include?(record)
          filter.nil? || filter.call(record)
        end
      end

      PROVISION = ->(type) { type == "MiqProvision" || type.match?(/::(Infra|Cloud)Manager::Provision(Via\w+)?\z/) }

      # A model that sees the rows of one STI type (and its subclasses).
      def self.typed(key, table, class_name)
        Model.new(key: key, table: table, class_name: class_name,
                  filter: ->(r) { r.attrs["type"].to_s == class_name || r.attrs["type"].to_s.start_with?("#{class_name}::") })
      end

      MODELS = [
        Model.new(key: "vm_or_template", table: "vms", class_name: "VmOrTemplate"),
        Model.new(key: "vm", table: "vms", class_name: "Vm", filter: ->(r) { r.attrs["template"] != true }),
        Model.new(key: "miq_template", table: "vms", class_name: "MiqTemplate", filter: ->(r) { r.attrs["template"] == true }),
        Model.new(key: "ext_management_system", table: "ext_management_systems", class_name: "ExtManagementSystem"),
        Model.new(key: "ems_infra", table: "ext_management_systems", class_name: "ManageIQ::Providers::InfraManager",
                  filter: ->(r) { r.attrs["type"].to_s.end_with?("InfraManager") }),
        Model.new(key: "ems_cloud", table: "ext_management_systems", class_name: "ManageIQ::Providers::CloudManager",
                  filter: ->(r) { r.attrs["type"].to_s.end_with?("CloudManager") }),
        Model.new(key: "host", table: "hosts", class_name: "Host"),
        Model.new(key: "ems_cluster", table: "ems_clusters", class_name: "EmsCluster"),
        Model.new(key: "storage", table: "storages", class_name: "Storage"),
        Model.new(key: "service", table: "services", class_name: "Service"),
        typed("service_orchestration", "services", "ServiceOrchestration"),
        Model.new(key: "service_template", table: "service_templates", class_name: "ServiceTemplate"),
        Model.new(key: "miq_request", table: "miq_requests", class_name: "MiqRequest"),
        typed("miq_provision_request", "miq_requests", "MiqProvisionRequest"),
        typed("service_template_provision_request", "miq_requests", "ServiceTemplateProvisionRequest"),
        typed("vm_retire_request", "miq_requests", "VmRetireRequest"),
        typed("service_retire_request", "miq_requests", "ServiceRetireRequest"),
        typed("orchestration_stack_retire_request", "miq_requests", "OrchestrationStackRetireRequest"),
        typed("automation_request", "miq_requests", "AutomationRequest"),
        typed("vm_migrate_request", "miq_requests", "VmMigrateRequest"),
        typed("vm_reconfigure_request", "miq_requests", "VmReconfigureRequest"),
        typed("service_reconfigure_request", "miq_requests", "ServiceReconfigureRequest"),
        Model.new(key: "miq_request_task", table: "miq_request_tasks", class_name: "MiqRequestTask"),
        Model.new(key: "miq_provision", table: "miq_request_tasks", class_name: "MiqProvision",
                  filter: ->(r) { PROVISION.call(r.attrs["type"].to_s) }),
        Model.new(key: "miq_provision_task", table: "miq_request_tasks", class_name: "MiqProvisionTask",
                  filter: ->(r) { PROVISION.call(r.attrs["type"].to_s) || r.attrs["type"].to_s.include?("ProvisionTask") }),
        typed("service_template_provision_task", "miq_request_tasks", "ServiceTemplateProvisionTask"),
        typed("vm_retire_task", "miq_request_tasks", "VmRetireTask"),
        typed("service_retire_task", "miq_request_tasks", "ServiceRetireTask"),
        typed("orchestration_stack_retire_task", "miq_request_tasks", "OrchestrationStackRetireTask"),
        typed("automation_task", "miq_request_tasks", "AutomationTask"),
        typed("vm_migrate_task", "miq_request_tasks", "VmMigrateTask"),
        typed("vm_reconfigure_task", "miq_request_tasks", "VmReconfigureTask"),
        typed("service_reconfigure_task", "miq_request_tasks", "ServiceReconfigureTask"),
        Model.new(key: "miq_task", table: "miq_tasks", class_name: "MiqTask"),
        Model.new(key: "user", table: "users", class_name: "User"),
        Model.new(key: "miq_group", table: "miq_groups", class_name: "MiqGroup"),
        Model.new(key: "tenant", table: "tenants", class_name: "Tenant"),
        Model.new(key: "classification", table: "classifications", class_name: "Classification"),
        Model.new(key: "orchestration_stack", table: "orchestration_stacks", class_name: "OrchestrationStack"),
        Model.new(key: "miq_server", table: "miq_servers", class_name: "MiqServer"),
        Model.new(key: "hardware", table: "hardwares", class_name: "Hardware"),
        Model.new(key: "disk", table: "disks", class_name: "Disk"),
        Model.new(key: "custom_attribute", table: "custom_attributes", class_name: "CustomAttribute"),
        Model.new(key: "service_resource", table: "service_resources", class_name: "ServiceResource")
      ].to_h { |m| [m.key, m] }.freeze

      # ManageIQ's one alias (MiqAeServiceModelLegacy::ALIAS_MODEL_NAMES).
      MODEL_ALIASES = { "ems" => "ext_management_system" }.freeze

      # ManageIQ models a world may leave empty: `$evm.vmdb(:flavor)` is a model class with
      # no rows (unless the world's `models` section has some), where an unknown name is a
      # NameError. Not every ManageIQ model; the ones automate methods commonly reach.
      KNOWN_OTHER_MODELS = %w[
        account authentication availability_zone cloud_network cloud_object_store_container cloud_subnet
        cloud_tenant cloud_volume cloud_volume_snapshot compliance configuration_profile configuration_script
        configuration_script_payload configuration_script_source configured_system container container_group
        container_image container_node container_project container_service customization_template dialog
        ems_event ems_folder event_stream filesystem flavor floating_ip generic_object generic_object_definition
        guest_application guest_device iso_image job lan load_balancer miq_alert miq_approval miq_event
        miq_policy miq_region miq_widget network network_port network_router notification operating_system
        orchestration_template physical_server pxe_image pxe_server resource_action resource_pool
        security_group service_template_catalog snapshot storage_service switch system_service windows_image zone
      ].freeze

      # The table a polymorphic `*_type` value names: ManageIQ's base class names and STI
      # types (`ManageIQ::Providers::Vmware::InfraManager::Template` is a row of `vms`).
      TYPE_TABLES = {
        "VmOrTemplate" => "vms", "Vm" => "vms", "MiqTemplate" => "vms", "Service" => "services",
        "ServiceTemplate" => "service_templates", "ExtManagementSystem" => "ext_management_systems",
        "Host" => "hosts", "EmsCluster" => "ems_clusters", "Storage" => "storages",
        "OrchestrationStack" => "orchestration_stacks", "MiqRequest" => "miq_requests",
        "MiqRequestTask" => "miq_request_tasks", "User" => "users", "MiqGroup" => "miq_groups",
        "Tenant" => "tenants", "Classification" => "classifications", "MiqTask" => "miq_tasks"
      }.freeze

      TYPE_SUFFIXES = [
        [/::(Vm|Template)\z/, "vms"], [/Manager\z/, "ext_management_systems"], [/::Host\w*\z/, "hosts"],
        [/::Cluster\z/, "ems_clusters"], [/::OrchestrationStack\z/, "orchestration_stacks"],
        [/Request\z/, "miq_requests"], [/(Task|::Provision\w*)\z/, "miq_request_tasks"], [/\AService\w+\z/, "services"]
      ].freeze

      def self.table_for_type(type)
        TYPE_TABLES[type.to_s] || TYPE_SUFFIXES.find { |re, _| re.match?(type.to_s) }&.last
      end

      # "MiqProvision", :miq_provision, "vm" → "miq_provision", "vm" (as ServiceModel.model_key).
      def self.underscore(name)
        name.to_s.gsub("::", "/").gsub(/([a-z\d])([A-Z])/, '\1_\2').gsub(/([A-Z]+)([A-Z][a-z])/, '\1_\2').downcase
      end

      def self.camelize(key)
        key.to_s.split("_").map { |part| part[0].to_s.upcase + part[1..].to_s }.join
      end
    end
  end
end
