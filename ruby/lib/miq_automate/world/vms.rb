# frozen_string_literal: true

module MiqAutomate
  class World
    # What MiqAeServiceVmOrTemplate adds to a VM or template's columns: power operations
    # whose new power_state shows after `behaviour.power.after` seconds (as a provider's
    # event would bring it), unregister and remove_from_disk (the VM leaves its provider
    # after `behaviour.remove.after`), refresh (what the provider says reaches the VMDB
    # after `behaviour.refresh.after`), ownership, and the associations ManageIQ derives.
    module VmOrTemplate
      POWER = { "start" => "on", "stop" => "off", "suspend" => "suspended", "shutdown_guest" => "off",
                "reboot_guest" => "on", "standby_guest" => "standby" }.freeze

      POWER.each do |operation, state|
        define_method(operation) do
          schedule("after" => @world.behaviour_setting("power", "after", 0), "set" => { "power_state" => state })
          true
        end
      end

      def unregister
        leave_provider(%w[ems_id host_id])
        true
      end

      def remove_from_disk(_sync = true)
        leave_provider(%w[ems_id host_id storage_id])
        true
      end

      def refresh
        schedule("after" => @world.behaviour_setting("refresh", "after", 0), "refresh" => true)
        nil
      end

      def remove_from_vmdb
        @world.delete(@record)
        true
      end

      def owner
        model(@world.store.find("users", read("evm_owner_id")))
      end

      def owner=(user)
        raise ArgumentError, "owner must be nil or a MiqAeServiceUser" unless user.nil? || user.model_name == :user

        write("evm_owner_id", user&.id)
      end

      def group=(group)
        raise ArgumentError, "group must be nil or a MiqAeServiceMiqGroup" unless group.nil? || group.model_name == :miq_group

        write("miq_group_id", group&.id)
      end

      def ems_ref_string
        read("ems_ref").to_s
      end

      def unlink_storage
        write("storage_id", nil)
        true
      end

      def hardware
        model(@world.store.where("hardwares", "vm_or_template_id" => @record.id).first)
      end

      # ManageIQ's virtual column: the name of the datacenter folder the VM sits in, "" when
      # it is in none (a world has no folder tree, so always "").
      def v_owning_datacenter
        ""
      end

      # ManageIQ's has_one: the `models.operating_system` row whose vm_or_template_id is
      # this VM's, or nil.
      def operating_system
        model(@world.store.where("models/operating_system", "vm_or_template_id" => @record.id).first)
      end

      # The provision task whose destination this VM is.
      def miq_provision
        tasks = @world.store.where("miq_request_tasks", "destination_id" => @record.id)
        model(tasks.find { |t| %w[VmOrTemplate Vm MiqTemplate].include?(t.attrs["destination_type"]) && Catalogue::PROVISION.call(t.attrs["type"].to_s) })
      end

      # The service that holds the VM (a resource of it).
      def service
        resource = @world.store.where("service_resources", "resource_id" => @record.id, "resource_type" => "VmOrTemplate").first
        model(resource && @world.store.find("services", resource.attrs["service_id"]))
      end
      alias direct_service service

      # Figures ManageIQ derives from the hardware, unless the world gives them.
      { "num_cpu" => "cpu_sockets", "cpu_total_cores" => "cpu_total_cores", "mem_cpu" => "memory_mb",
        "ram_size" => "memory_mb" }.each do |column, from|
        define_method(column) { @record.attrs.key?(column) ? read(column) : hardware_row&.attrs&.fetch(from, nil) }
      end

      %w[ipaddresses mac_addresses hostnames].each do |column|
        define_method(column) { @record.attrs.key?(column) ? read(column) : (hardware_row&.attrs&.fetch(column, nil) || []) }
      end

      # "Vmware" for ManageIQ::Providers::Vmware::…, as ManageIQ's model_suffix.
      def model_suffix
        read("type").to_s[/\AManageIQ::Providers::(\w+)::/, 1].to_s
      end

      def migrate(host, _pool = nil, _priority = "defaultPriority", _state = nil)
        raise "Host Class must be MiqAeServiceHost, but is <#{host.class.name}>" unless host.is_a?(Model) && host.model_name == :host

        schedule("after" => @world.behaviour_setting("power", "after", 0), "set" => { "host_id" => host.id })
        true
      end

      private

      def hardware_row
        @world.store.where("hardwares", "vm_or_template_id" => @record.id).first
      end

      def leave_provider(columns)
        schedule("after" => @world.behaviour_setting("remove", "after", 0), "set" => columns.to_h { |c| [c, nil] })
      end
    end

    # What a VM (not a template) adds: joining and leaving services.
    module Vm
      def add_to_service(service)
        raise ArgumentError, "service must be a MiqAeServiceService" unless service.is_a?(Model) && service._record.table == "services"
        raise "VM <#{read('name')}> is already connected to a service." if direct_service

        model(@world.add_service_resource(service.id, "VmOrTemplate", @record.id))
      end

      def remove_from_service
        resource = @world.store.where("service_resources", "resource_id" => @record.id, "resource_type" => "VmOrTemplate").first
        @world.delete(resource) if resource
        model(resource)
      end
    end

    # A host: its storages (`storage_ids`), hardware, and the provider's custom fields.
    module Host
      def storages
        models(Array(read("storage_ids")).filter_map { |id| @world.store.find("storages", id) })
      end

      def hardware
        model(@world.store.where("hardwares", "host_id" => @record.id).first)
      end

      def refresh
        schedule("after" => @world.behaviour_setting("refresh", "after", 0), "refresh" => true)
        nil
      end
    end

    # A storage: the hosts that see it, and their providers.
    module Storage
      def hosts
        models(@world.store.rows("hosts").select { |h| Array(h.attrs["storage_ids"]).include?(@record.id) })
      end

      def ext_management_systems
        ids = hosts.map { |h| h._record.attrs["ems_id"] }.compact.uniq
        models(ids.filter_map { |id| @world.store.find("ext_management_systems", id) })
      end
    end

    # A provider: refresh brings what the provider says about all its rows.
    module Ems
      def refresh
        after = @world.behaviour_setting("refresh", "after", 0)
        rows = %w[vms hosts orchestration_stacks].flat_map { |t| @world.store.where(t, "ems_id" => @record.id) }
        rows.each { |row| @world.timeline.schedule(row, [{ "after" => after, "refresh" => true }], now) }
        @world.timeline.schedule(@record, [{ "after" => after, "set" => { "last_refresh_date" => now + after } }], now)
        @world.tick
        nil
      end

      def storages
        ids = @world.store.where("hosts", "ems_id" => @record.id).flat_map { |h| Array(h.attrs["storage_ids"]) }.uniq
        models(ids.filter_map { |id| @world.store.find("storages", id) })
      end
    end
  end
end
