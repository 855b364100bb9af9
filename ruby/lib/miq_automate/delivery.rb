# frozen_string_literal: true

require "json"

module MiqAutomate
  # What MiqAutomate::Engine#deliver returns: a request delivered until its state machines
  # stopped retrying (or a limit), on the engine's virtual clock.
  #
  #   d = engine.deliver("/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
  #                      root: { "miq_provision" => prov, "vmdb_object_type" => "miq_provision" })
  #   d.ae_result        # => "ok"
  #   d.deliveries.size  # => 3 (each a Delivery::Pass: its workspace, requeue, clock time)
  #   d.deliveries.first.notifications  # what the first delivery sent
  #   d.clock            # => 120 (virtual seconds from the first delivery to the end)
  #   d.states           # => ["CustomizeRequest", …, "CheckProvisioned", "CheckProvisioned", …]
  #   d.trace            # per delivery: {"delivery", "at", "state", "events", "ae_result", "requeue",
  #                      #   "reason", "notifications", "executions"} (docs/reference/file-formats.md)
  #   d.workspace        # the last delivery's MiqAutomate::Workspace (every matcher works)
  #   d.notifications    # every delivery's notifications, in order (also executions)
  #   d.logs             # [[:info, "Delivering …"], …] of every delivery
  #   d.to_json          # what `miq-automate run --output json` prints (which adds "started_at")
  #
  # #to_h/#to_json are the engine's Delivery as it serialises (see the README's "deliver and
  # the virtual clock"); the other readers are views of it.
  class Delivery
    attr_reader :workspace, :started_at

    # `earlier`: the workspaces of the deliveries before the last.
    def initialize(json, workspace, started_at: nil, earlier: [])
      @json = json
      @workspace = workspace
      @started_at = started_at
      @earlier = earlier
    end

    # One delivery of the request (the k-th time the queue message was delivered): its
    # number (1 for the first), its virtual time, the state it resumed, what it ended with,
    # the requeue it asked for, and its own workspace.
    class Pass
      attr_reader :number, :workspace, :trace

      def initialize(number, trace, workspace, started_at)
        @number = number
        @trace = trace
        @workspace = workspace
        @started_at = started_at
      end

      # Virtual seconds from the first delivery to this one's start.
      def at = trace["at"]

      # The engine's clock when it began (a UTC Time), when the delivery's start is known.
      def clock = @started_at && (@started_at + at)

      # The state it was asked to resume (nil for the first), its ae_result, its events.
      def state = trace["state"]
      def ae_result = trace["ae_result"]
      def events = trace["events"]

      # The requeue it asked for (state, ae_state_retries, ae_state_data, retry_interval…),
      # or nil when it did not retry.
      def requeue = trace["requeue"]

      def root = workspace.root
      def notifications = workspace.notifications
      def executions = workspace.executions
      def logs = workspace.logs
      def state_vars = workspace.state_vars

      def inspect
        "#<MiqAutomate::Delivery::Pass #{number} at=#{at}s ae_result=#{ae_result.inspect}#{requeue ? ' requeued' : ''}>"
      end
    end

    def to_h
      @to_h ||= JSON.parse(@json)
    end

    def to_json(*_args)
      @json
    end

    # The final ae_result: "ok", "error", "retry" (a limit stopped it)…
    def ae_result = to_h["ae_result"]
    def ae_reason = to_h["ae_reason"]
    # Every delivery, in order: MiqAutomate::Delivery::Pass each (`deliveries.size` is how
    # many were made).
    def deliveries
      @deliveries ||= begin
        workspaces = @earlier + [workspace]
        trace.each_with_index.map { |t, i| Pass.new(t["delivery"] || (i + 1), t, workspaces[i] || workspace, started_at) }
      end
    end

    # Virtual seconds from the first delivery to the end (the retry intervals waited).
    def clock = to_h["virtual_seconds"]
    alias virtual_seconds clock

    # "max_deliveries" or "max_virtual_time" when a limit stopped a retrying request, else nil.
    def limit = to_h["limit"]

    # The exception that ended the last delivery ("AbortInstantiation: …"), else nil.
    def error = to_h["error"]

    # Per delivery: delivery, at (virtual seconds), state (resumed), events, ae_result, requeue,
    # reason (root ae_reason at its end), notifications and executions (its workspace's, as
    # JSON, secrets masked).
    def trace = to_h["trace"]

    # The state machines' events of every delivery, in order (Hashes with "event": enter,
    # step, instantiate, done, raised).
    def events = trace.flat_map { |t| t["events"] }

    # The states entered, in order, across deliveries (a state retried twice is there three
    # times).
    def states = events.select { |e| e["event"] == "enter" }.map { |e| e["state"] }

    # How many times the request was requeued (deliveries that ended in retry).
    def retries = trace.count { |t| t["requeue"] }

    # Log lines of every delivery, as Workspace#logs gives them: [[level, message], …].
    def logs
      @logs ||= to_h["logs"].map { |l| [l["level"].to_sym, l["message"]] }
    end

    def root = workspace.root

    # `$evm.instantiate` calls of every delivery (so have_instantiated works on a delivery).
    def instantiations = workspace.instantiations

    # Every delivery's notifications and `$evm.execute` calls, in order.
    def notifications = deliveries.flat_map(&:notifications)
    def executions = deliveries.flat_map(&:executions)

    # The last delivery's state vars.
    def state_vars = workspace.state_vars
    def ok? = ae_result == "ok"

    def inspect
      "#<MiqAutomate::Delivery ae_result=#{ae_result.inspect} deliveries=#{deliveries.size} clock=#{clock}s>"
    end
  end
end
