# frozen_string_literal: true

module MiqAutomate
  class World
    # A request (MiqAeServiceMiqRequest): approval, its message and description, and its
    # tasks (`miq_request_tasks`, from the tasks' miq_request_id).
    module Request
      # For backward compatibility, as ManageIQ's: a request is its own miq_request, and
      # its own resource (`prov.resource.vm_template` in content's validate_request).
      def miq_request
        self
      end

      def resource
        self
      end

      def approve(userid = nil, reason = nil)
        stamp("approved", userid, reason)
        true
      end

      def deny(userid = nil, reason = nil)
        stamp("denied", userid, reason)
        true
      end

      def pending
        write("approval_state", "pending_approval")
        true
      end

      def authorized?
        read("approval_state") == "approved"
      end

      def approvers
        [requester].compact
      end

      def set_message(value)
        write("message", value.nil? ? nil : value.to_s[0, 255])
        true
      end

      def description=(description)
        write("description", description)
      end

      %w[cancel_requested canceling canceled].each do |state|
        define_method("#{state}?") { read("cancelation_status") == state }
      end

      # MiqRequest#check_quota(:active_provisions_by_tenant / _by_group / _by_owner): what
      # the other approved, unfinished VM provision requests of the same tenant (group,
      # requester) will add — {count:, cpu:, memory: (bytes), storage: (bytes)} — as their
      # options ask (number_of_vms; number_of_sockets × cores_per_socket, else
      # number_of_cpus; vm_memory in MB; the template's provisioned_storage).
      def check_quota(quota_method = :active_provisions)
        column = { "active_provisions_by_tenant" => "tenant_id", "active_provisions_by_group" => nil,
                   "active_provisions_by_owner" => "requester_id" }.fetch(quota_method.to_s, :all)
        others = @world.store.rows("miq_requests").select do |r|
          r.id != @record.id && r.attrs["approval_state"] == "approved" && r.attrs["request_state"] != "finished" &&
            r.attrs["type"].to_s.match?(/ProvisionRequest\z/) && !r.attrs["type"].to_s.start_with?("ServiceTemplate") &&
            same_quota_source?(r, column)
        end
        others.each_with_object({ count: 0, cpu: 0, memory: 0, storage: 0 }) do |r, totals|
          request = model(r)
          vms = [request.get_option(:number_of_vms).to_i, 1].max
          cpus = request.get_option(:number_of_sockets).to_i * request.get_option(:cores_per_socket).to_i
          cpus = request.get_option(:number_of_cpus).to_i if cpus.zero?
          totals[:count] += vms
          totals[:cpu] += cpus * vms
          totals[:memory] += request.get_option(:vm_memory).to_i * 1024 * 1024 * vms
          totals[:storage] += request.source&.provisioned_storage.to_i * vms
        end
      end

      private

      def same_quota_source?(other, column)
        case column
        when :all then true
        when nil # the requester's current group
          group = ->(r) { @world.store.find("users", r.attrs["requester_id"])&.attrs&.fetch("current_group_id", nil) }
          group.call(other) == group.call(@record)
        else other.attrs[column] == @record.attrs[column]
        end
      end

      def requester
        model(@world.store.find("users", read("requester_id")))
      end

      def stamp(state, userid, reason)
        write("approval_state", state)
        write("stamped_by", userid) if userid
        write("stamped_on", now)
        write("reason", reason) if reason
      end
    end

    # A VM provision request (MiqAeServiceMiqProvisionRequest): its provisions and template.
    module ProvisionRequest
      def miq_provisions
        models(@world.store.where("miq_request_tasks", "miq_request_id" => @record.id)
                          .select { |t| Catalogue::PROVISION.call(t.attrs["type"].to_s) })
      end

      def vm_template
        table = @world.table_for_type(read("source_type"))
        model(table && @world.store.find(table, read("source_id")))
      end

      def src_vm_id
        read("source_id")
      end

      def ci_type
        "vm"
      end
    end
  end
end
