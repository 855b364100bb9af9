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

      private

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
