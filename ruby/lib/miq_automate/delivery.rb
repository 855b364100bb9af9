# frozen_string_literal: true

require "json"

module MiqAutomate
  # What MiqAutomate::Engine#deliver returns: a request delivered until its state machines
  # stopped retrying (or a limit), on the engine's virtual clock.
  #
  #   d = engine.deliver("/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
  #                      root: { "miq_provision" => prov, "vmdb_object_type" => "miq_provision" })
  #   d.ae_result        # => "ok"
  #   d.deliveries       # => 3
  #   d.clock            # => 120 (virtual seconds from the first delivery to the end)
  #   d.states           # => ["CustomizeRequest", …, "CheckProvisioned", "CheckProvisioned", …]
  #   d.trace            # per delivery: {"delivery", "at", "state", "events", "ae_result", "requeue"}
  #   d.workspace        # the last delivery's MiqAutomate::Workspace (every matcher works)
  #   d.logs             # [[:info, "Delivering …"], …] of every delivery
  #   d.to_json          # what `miq-automate run --output json` prints
  #
  # #to_h/#to_json are the engine's Delivery as it serialises (see the README's "deliver and
  # the virtual clock"); the other readers are views of it.
  class Delivery
    attr_reader :workspace, :started_at

    def initialize(json, workspace, started_at: nil)
      @json = json
      @workspace = workspace
      @started_at = started_at
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
    def deliveries = to_h["deliveries"]

    # Virtual seconds from the first delivery to the end (the retry intervals waited).
    def clock = to_h["virtual_seconds"]
    alias virtual_seconds clock

    # "max_deliveries" or "max_virtual_time" when a limit stopped a retrying request, else nil.
    def limit = to_h["limit"]

    # The exception that ended the last delivery ("AbortInstantiation: …"), else nil.
    def error = to_h["error"]

    # Per delivery: delivery, at (virtual seconds), state (resumed), events, ae_result, requeue.
    def trace = to_h["trace"]

    # The state machines' events of every delivery, in order (Hashes with "event": enter,
    # step, done, raised).
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

    # The last delivery's notifications and state vars.
    def notifications = workspace.notifications
    def state_vars = workspace.state_vars
    def ok? = ae_result == "ok"

    def inspect
      "#<MiqAutomate::Delivery ae_result=#{ae_result.inspect} deliveries=#{deliveries} clock=#{clock}s>"
    end
  end
end
