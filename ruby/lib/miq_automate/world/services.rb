# frozen_string_literal: true

module MiqAutomate
  class World
    # A service (MiqAeServiceService): its tree (parent_id, as the mock's scenarios give it),
    # its resources and VMs, dialog options and service vars, and the power operations it
    # passes to its VMs.
    module Service
      include DialogOptions

      def direct_service_children
        models(@world.store.where("services", "parent_id" => @record.id))
      end
      alias services direct_service_children

      def all_service_children
        descendants.map { |r| model(r) }
      end

      def indirect_service_children
        direct = @world.store.where("services", "parent_id" => @record.id)
        models(descendants - direct)
      end

      def root_service
        record = @record
        while (parent = @world.store.find("services", record.attrs["parent_id"]))
          record = parent
        end
        model(record)
      end

      def service_resources
        models(@world.store.where("service_resources", "service_id" => @record.id))
      end

      # The VMs of the service and of all its children (ManageIQ's `vms` is `all_vms`).
      def vms
        models(vm_rows([@record] + descendants))
      end
      alias all_vms vms

      def direct_vms
        models(vm_rows([@record]))
      end

      def indirect_vms
        models(vm_rows(descendants))
      end

      def service_vars_options
        (read("options") || {})[:service_vars] || {}
      end

      def get_service_vars_option(key)
        service_vars_options[key.to_s]
      end

      def set_service_vars_option(key, value)
        options = Marshal.load(Marshal.dump(read("options") || {}))
        (options[:service_vars] ||= {})[key.to_s] = value
        write("options", options)
        value
      end

      def delete_service_vars_option(key)
        return nil unless service_vars_options.key?(key.to_s)

        options = Marshal.load(Marshal.dump(read("options")))
        options[:service_vars].delete(key.to_s).tap { write("options", options) }
      end

      def name=(name)
        write("name", name)
      end

      def description=(description)
        write("description", description)
      end

      def visible=(visible)
        write("visible", visible)
      end

      def parent_service=(service)
        raise ArgumentError, "service must be a MiqAeServiceService" unless service.nil? || (service.is_a?(Model) && service._record.table == "services")

        old = @world.store.where("service_resources", "resource_id" => @record.id, "resource_type" => "Service")
        old.each { |resource| @world.delete(resource) }
        write("parent_id", service&.id)
        @world.add_service_resource(service.id, "Service", @record.id) if service
      end

      def owner=(user)
        write("evm_owner_id", user&.id) if user.nil? || user.model_name == :user
      end

      def group=(group)
        write("miq_group_id", group&.id) if group.nil? || group.model_name == :miq_group
      end

      # Passed to every VM of the service (ManageIQ queues the same operation for them).
      %w[start stop suspend shutdown_guest].each do |operation|
        define_method(operation) do
          vm_rows([@record] + descendants).each { |vm| model(vm).public_send(operation) }
          nil
        end
      end

      def remove_from_vmdb
        @world.delete(@record)
        true
      end

      private

      def descendants
        found = []
        queue = [@record.id]
        until queue.empty?
          children = @world.store.where("services", "parent_id" => queue.shift)
          found.concat(children)
          queue.concat(children.map(&:id))
        end
        found
      end

      def vm_rows(services)
        services.flat_map do |service|
          @world.store.where("service_resources", "service_id" => service.id, "resource_type" => "VmOrTemplate")
                 .filter_map { |r| @world.store.find("vms", r.attrs["resource_id"]) }
        end
      end
    end

    # A service's resource row: what it holds (a VM, a child service, a stack).
    module ServiceResource
      def resource
        table = @world.table_for_type(read("resource_type"))
        model(table && @world.store.find(table, read("resource_id")))
      end
    end

    # A service template (MiqAeServiceServiceTemplate): its owner and group.
    module ServiceTemplate
      def owner=(user)
        write("evm_owner_id", user&.id) if user.nil? || user.model_name == :user
      end

      def group=(group)
        write("miq_group_id", group&.id) if group.nil? || group.model_name == :miq_group
      end
    end
  end
end
