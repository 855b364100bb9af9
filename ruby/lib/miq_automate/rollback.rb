# frozen_string_literal: true

module MiqAutomate
  # A rollback-aware update_provision_status that runs on any `$evm` (ManageIQ's DRb proxy or
  # ours). The logic is native; every `$evm` call is a round trip on ManageIQ, and the
  # result says how many were made.
  #
  #   MiqAutomate::Rollback.update_provision_status($evm, matrix: MATRIX, mode: :journal)
  module Rollback
    MODES = %i[per_state journal].freeze

    # matrix: a Hash ({"states" => {"RegisterDNS" => ["/Ns/Class/UnregisterDNS", …]}}, or
    #         flat as the seed builds it: {"RegisterDNS" => [...]}), YAML or JSON text, or a
    #         path to a .yml/.yaml/.json file.
    # mode:   :per_state (the failing state's steps) or :journal (then each completed
    #         state's, most recent first).
    # on_error: :error (ae_result stays "error") or :continue.
    # kind:   :vm (root['miq_provision']) or :service (root['service_template_provision_task']).
    # api:    {url:, token:} or {url:, user:, password:} to retire a failed bundle item's
    #         siblings; else root's miq_api_url / miq_api_token / miq_api_user / miq_api_password.
    # status: the status text (default: `$evm.inputs['status']`, as ManageIQ's method reads it).
    #
    # Exits with MIQ_STOP, as ManageIQ's method does, when there is no provision task.
    # Returns {"outcome", "message", "ran", "skipped", "failed", "bundle", "round_trips", "calls"}.
    def self.update_provision_status(evm = $evm, matrix:, mode: :per_state, on_error: :error, kind: :vm, api: nil, status: nil)
      raise ArgumentError, "mode must be one of #{MODES.inspect}, not #{mode.inspect}" unless MODES.include?(mode.to_sym)
      raise ArgumentError, "on_error must be :error or :continue, not #{on_error.inspect}" unless %i[error continue].include?(on_error.to_sym)

      result = _update_provision_status(evm, matrix, mode.to_s, on_error.to_sym == :continue, kind.to_s, api, status&.to_s)
      exit(MiqAutomate::MIQ_STOP) if result["outcome"] == "stop"
      result
    end
  end
end
