# frozen_string_literal: true

module MiqAutomate
  class World
    # Behaviour on the clock. A row's `on` hooks (what its methods do) and `timeline`
    # (what happens from the start of the run) are steps:
    #
    #   {"after": 120, "set": {"state": "provisioned"}, "provider": {"status": "CREATE_COMPLETE"},
    #    "create": {"vms": [{…}]}, "delete": true, "refresh": true}
    #
    # `after` seconds after the call (for a hook) or after the world was loaded (for a
    # timeline: `started_at`, the clock's time then): `set` changes VMDB columns; `provider` changes what the provider says
    # (an orchestration stack's live status, a VM gone from the provider: `"exists": false`),
    # which reaches the VMDB at the next refresh; `create` adds rows (declared and checked
    # with the file); `delete` removes the row from the VMDB; `refresh` completes a refresh.
    # Steps are applied lazily, in time order, whenever the world is asked anything
    # (World#tick), so a retrying state machine on a virtual clock sees them as they fall due.
    class Timeline
      Event = Struct.new(:at, :seq, :record, :step)

      # What a hook returns when it does not say, for the methods whose ManageIQ return is
      # fixed (`execute` and the power operations give true).
      DEFAULT_RETURNS = %w[execute start stop suspend shutdown_guest reboot_guest standby_guest unregister
                           tag_assign tag_unassign custom_set ems_custom_set approve deny pending scan].to_h { |m| [m, true] }.freeze

      def initialize(world)
        @world = world
        @events = []
        @seq = 0
        @started_at = nil
      end

      # When the timelines started: the clock's time when the world was loaded.
      attr_reader :started_at

      def tick(now)
        while (event = @events.first) && event.at <= now
          @events.shift
          apply(event)
        end
      end

      # Runs `record`'s hook for `name` (a method call): schedules its steps from now and
      # gives what it returns (or raises).
      def run_hook(record, name, hook)
        raise hook["raises"] if hook["raises"]

        now = @world.now
        schedule(record, hook["steps"], now)
        tick(now)
        if (table, id = hook["returns_record"])
          @world.model_for(@world.store.find(table, id))
        elsif hook.key?("returns")
          Marshal.load(Marshal.dump(hook["returns"]))
        else
          DEFAULT_RETURNS[name]
        end
      end

      # Schedules steps from `from` (a Time). A step may also be a Proc (a built-in
      # behaviour that computes what it does when it falls due).
      def schedule(record, steps, from)
        steps.each do |step|
          after = step.is_a?(Proc) ? 0 : step.fetch("after", 0)
          at(from + after, record, step)
        end
      end

      # Runs `block` (or applies `step`) for `record` at `time`.
      def at(time, record, step = nil, &block)
        event = Event.new(time, @seq += 1, record, step || block)
        index = @events.bsearch_index { |e| e.at > event.at || (e.at == event.at && e.seq > event.seq) } || @events.size
        @events.insert(index, event)
      end

      # What is still to come: [[time, "vms/600", step], …], for a spec or a debugger.
      def pending
        @events.map { |e| [e.at, e.record&.label, e.step.is_a?(Proc) ? :builtin : e.step] }
      end

      # A refresh completing: what the provider said reaches the VMDB. A row the provider
      # no longer has is archived (a VM: no provider, host or storage) or removed (others).
      def refresh(record)
        provider = record.provider
        return if provider.empty?

        provider.each { |column, value| @world.write(record, column, value) unless column == "exists" }
        if provider["exists"] == false
          record.provider = { "exists" => false }
          if record.table == "vms"
            %w[ems_id host_id storage_id].each { |c| @world.write(record, c, nil) }
          else
            @world.delete(record)
          end
        else
          record.provider = {}
        end
      end

      # Schedules every row's timeline from `now` (World.new does it once loaded).
      def start(now)
        @started_at = now
        @world.store.rows_with_hooks.each do |record|
          steps = record.hooks.dig(:timeline, "steps")
          schedule(record, steps, now) if steps
        end
      end

      private

      def apply(event)
        record = event.record
        step = event.step
        return step.call(event.at) if step.is_a?(Proc)
        return if record.deleted

        step["set"]&.each { |column, value| @world.write(record, column, Marshal.load(Marshal.dump(value))) }
        record.provider = record.provider.merge(step["provider"]) if step["provider"]
        step["create"]&.each do |row|
          @world.insert(row)
          steps = row.hooks.dig(:timeline, "steps")
          schedule(row, steps, event.at) if steps
        end
        refresh(record) if step["refresh"]
        @world.delete(record) if step["delete"]
      end
    end
  end
end
