# frozen_string_literal: true

module MiqAutomate
  class World
    # An orchestration stack (MiqAeServiceOrchestrationStack). Its `status` column is what
    # the VMDB knows; what the provider says now (a row's `provider` steps, e.g.
    # {"status": "CREATE_COMPLETE"}, or {"exists": false} once deleted) is its live status,
    # which a refresh brings into the VMDB.
    module OrchestrationStack
      # [normalized status, reason] of the live status, as ManageIQ's
      # OrchestrationStack::Status#normalized_status with CloudFormation's statuses
      # (create_complete, rollback_complete, delete_complete, *failed → failed, anything
      # else transient); ["not_exist", message] when the provider no longer has it.
      def normalized_live_status
        return ["not_exist", Orchestration.gone(@world, @record)] unless raw_exists?

        Orchestration.normalize(live("status"), live("status_reason"))
      end

      def raw_exists?
        @record.provider["exists"] != false
      end

      def refresh
        schedule("after" => @world.behaviour_setting("refresh", "after", 0), "refresh" => true)
        nil
      end

      # The provider deletes it: DELETE_IN_PROGRESS, then gone after `behaviour.orchestration.after`.
      def raw_delete_stack
        after = @world.behaviour_setting("orchestration", "after", 0)
        schedule({ "after" => 0, "provider" => { "status" => "DELETE_IN_PROGRESS" } },
                 { "after" => after, "provider" => { "status" => "DELETE_COMPLETE", "exists" => false } })
        nil
      end

      def raw_update_stack(_template = nil, _options = {})
        after = @world.behaviour_setting("orchestration", "after", 0)
        schedule({ "after" => 0, "provider" => { "status" => "UPDATE_IN_PROGRESS" } },
                 { "after" => after, "provider" => { "status" => "UPDATE_COMPLETE" } })
        nil
      end

      def add_to_service(service)
        raise ArgumentError, "service must be a MiqAeServiceService" unless service.is_a?(Model) && service._record.table == "services"

        write("service_id", service.id)
        model(@world.add_service_resource(service.id, "OrchestrationStack", @record.id))
      end

      def remove_from_vmdb
        @world.delete(@record)
        true
      end

      private

      def live(column)
        @record.provider.fetch(column) { read(column) }
      end
    end

    # What ServiceOrchestration adds to a service: its stack, the stack's status, and
    # deploying it.
    module ServiceOrchestration
      def orchestration_stack
        model(stack_row)
      end

      # ["check_status_failed", why] when there is no stack or the provider lost it, else
      # the stack's normalized live status.
      def orchestration_stack_status
        stack = stack_row
        return ["check_status_failed", "stack has not been deployed"] unless stack
        return ["check_status_failed", Orchestration.gone(@world, stack)] if stack.provider["exists"] == false

        Orchestration.normalize(stack.provider.fetch("status") { stack.attrs["status"] },
                                stack.provider.fetch("status_reason") { stack.attrs["status_reason"] })
      end

      def orchestration_manager
        id = read("orchestration_manager_id") || stack_row&.attrs&.fetch("ems_id", nil)
        model(@world.store.find("ext_management_systems", id))
      end

      def stack_name
        read("stack_name") || (read("options") || {})[:stack_name]
      end

      def stack_name=(name)
        write("stack_name", name)
      end

      def stack_options
        (read("options") || {})[:create_options] || {}
      end

      def update_options
        (read("options") || {})[:update_options] || {}
      end

      # The stack starts creating (CREATE_IN_PROGRESS on the provider) and becomes
      # `behaviour.orchestration.status` (CREATE_COMPLETE by default, with its `reason`)
      # after `behaviour.orchestration.after` seconds. A service without a stack gets one
      # named stack_name on its orchestration manager.
      def deploy_orchestration_stack
        stack = stack_row || new_stack
        after = @world.behaviour_setting("orchestration", "after", 0)
        final = { "status" => @world.behaviour_setting("orchestration", "status", "CREATE_COMPLETE") }
        reason = @world.behaviour_setting("orchestration", "reason", nil)
        final["status_reason"] = reason if reason
        @world.timeline.schedule(stack, [{ "after" => 0, "provider" => { "status" => "CREATE_IN_PROGRESS" } },
                                         { "after" => after, "provider" => final }], now)
        @world.tick
        model(stack)
      end

      # Service#set_automate_timeout: how long automate may take for `action`, kept in the
      # options (:automate_timeouts, by action).
      def set_automate_timeout(timeout, action = nil)
        options = Marshal.load(Marshal.dump(read("options") || {}))
        (options[:automate_timeouts] ||= {})[action&.to_sym] = timeout
        write("options", options)
        nil
      end

      # ServiceOrchestration#post_provision_configure: the stack joins the service's
      # resources, and its VMs get the service's owner and group.
      def post_provision_configure
        stack = stack_row or return nil
        unless @world.store.where("service_resources", "service_id" => @record.id, "resource_type" => "OrchestrationStack").any?
          @world.add_service_resource(@record.id, "OrchestrationStack", stack.id)
        end
        @world.store.where("vms", "orchestration_stack_id" => stack.id).each do |vm|
          @world.write(vm, "evm_owner_id", read("evm_owner_id")) if read("evm_owner_id")
          @world.write(vm, "miq_group_id", read("miq_group_id")) if read("miq_group_id")
        end
        nil
      end

      def update_orchestration_stack
        stack = stack_row or return nil
        model(stack).raw_update_stack
        nil
      end

      private

      def stack_row
        resource = @world.store.where("service_resources", "service_id" => @record.id, "resource_type" => "OrchestrationStack").first
        resource && @world.store.find("orchestration_stacks", resource.attrs["resource_id"])
      end

      def new_stack
        id = @world.store.next_id("orchestration_stacks")
        attrs = Catalogue::TABLES["orchestration_stacks"].defaults.merge(
          "name" => stack_name || "stack-#{id}", "ems_ref" => "stack-#{id}", "status" => "CREATE_IN_PROGRESS",
          "ems_id" => read("orchestration_manager_id"), "service_id" => @record.id, "created_on" => now
        )
        @world.insert(Record.new("orchestration_stacks", id, attrs))
      end
    end

    module Orchestration
      module_function

      def normalize(status, reason)
        case status.to_s.downcase
        when "create_complete" then ["create_complete", reason || "OK"]
        when "rollback_complete" then ["rollback_complete", reason || "Stack was rolled back"]
        when "delete_complete" then ["delete_complete", reason || "Stack was deleted"]
        when /failed\z/ then ["failed", reason || "Stack creation failed"]
        else ["transient", reason || status]
        end
      end

      def gone(world, stack)
        ems = world.store.find("ext_management_systems", stack.attrs["ems_id"])
        "stack #{stack.attrs['name']} does not exist on #{ems ? ems.attrs['name'] : 'its provider'}"
      end
    end
  end
end
