# frozen_string_literal: true

module MiqAutomate
  class World
    # ManageIQ's RetirementMixin, as MiqAeServiceRetirementMixin exposes it, for VMs,
    # services and orchestration stacks (the same transitions as MiqAutomate::ServiceModel).
    module Retirement
      def retired?
        read("retired") == true
      end

      def retiring?
        read("retirement_state") == "retiring"
      end

      def error_retiring?
        read("retirement_state") == "error"
      end

      def retirement_initialized?
        read("retirement_state") == "initializing"
      end

      # No-op when retired or retiring; otherwise retirement_state "initializing", the
      # requester, and the request_<model>_retire event (in #events and the world's).
      def retire_now(requester = nil)
        return nil if retired? || retiring?

        write("retirement_state", "initializing")
        write("retirement_requester", requester) if requester
        event = "request_#{retirement_event_prefix}_retire"
        @events << event
        @world.events << [event, @record.label]
        nil
      end

      def start_retirement
        return nil if retired? || retiring?

        write("retirement_state", "retiring")
        nil
      end

      def finish_retirement
        raise "#{read('name')} already retired" if retired?

        write("retires_on", now)
        write("retired", true)
        write("retirement_state", "retired")
        nil
      end

      # Moves retires_on `days` days on from `date` (by default the current retires_on, or now).
      def extend_retires_on(days, date = read("retires_on") || now)
        write("retires_on", date.to_time.utc + (Integer(days) * 86_400))
        write("retirement_last_warn", nil)
        nil
      end

      def retirement_state=(state)
        write("retirement_state", state)
      end

      def retires_on=(date)
        write("retires_on", date)
      end

      def retirement_warn=(days)
        write("retirement_warn", days)
      end

      private

      def retirement_event_prefix
        { "vms" => "vm", "services" => "service", "orchestration_stacks" => "orchestration_stack" }.fetch(@record.table)
      end
    end
  end
end
