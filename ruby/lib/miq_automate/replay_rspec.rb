# frozen_string_literal: true

# The rspec kit's replay helpers (required by miq_automate/rspec):
#
#   ws = build_workspace(replay: "spec/traces/check_provisioned.json")
#   expect(replay_method("methods/check_provisioned.rb", ws)).to eq(MiqAutomate::MIQ_OK)
#   expect(ws).to match_recording

module MiqAutomate
  module RSpec
    module Helpers
      # Runs a method file against a trace (a path, or a workspace from
      # build_workspace(replay:)) as the appliance ran it, and returns its exit code. A call the
      # trace does not hold raises MiqAutomate::ReplayMismatch (strict, the default), also when
      # the method rescued it. The workspace is #replayed_workspace afterwards.
      def replay_method(path, trace, method_name: nil, strict: true)
        ws = trace.respond_to?(:replay_session) ? trace : MiqAutomate::Workspace.replay(trace, strict: strict)
        @replayed_workspace = ws
        MiqAutomate::RSpec.replay_method(path, ws, method_name: method_name)
      end

      # The workspace of the last replay_method given a trace path.
      def replayed_workspace
        @replayed_workspace
      end
    end

    def self.replay_method(path, workspace, method_name: nil)
      MiqAutomate.method_environment!
      MiqAutomate.define_exit_codes!
      session = workspace.replay_session
      previous = $evm
      $evm = workspace.evm
      workspace.current_method = method_name || session.doc["method"] || File.basename(path, ".rb")
      source = File.read(path)
      code = begin
        quietly { MiqAutomate::FRESH_BINDING.call.eval(source, File.expand_path(path), 1) }
        MiqAutomate::MIQ_OK
      rescue MiqAutomate::ReplayMismatch
        raise
      rescue SystemExit => e
        e.status
      rescue Exception => e # rubocop:disable Lint/RescueException -- the engine reports any error
        # The appliance's postscript logs it through $evm; here into the workspace only.
        evm = workspace.native_evm
        evm.log(:error, "The following error occurred during method evaluation:")
        evm.log(:error, "  #{e.class}: #{e.message}")
        evm.log(:error, "  #{Array(e.backtrace).first(10).join("\n")}")
        1
      ensure
        $evm = previous
      end
      # A mismatch the method rescued itself still fails the replay.
      raise session.first_mismatch if session.first_mismatch

      session.exit_code = code
      workspace.send(:_log_line, code_level(code), "Method exited with rc=#{verbose_rc(code)}")
      code
    end

    module Matchers
      # `expect(ws).to match_recording`: the replay wrote what the method wrote on the appliance
      # (attribute writes, ae_result, state vars, instantiations, notifications, executions, in
      # order, and the exit code). `match_recording(logs: true)` compares log calls too.
      matcher :match_recording do |options = {}|
        match do |workspace|
          @problem = workspace.replay_session.compare(logs: options.fetch(:logs, false))
          @problem.nil?
        end
        failure_message { "expected the replay to match the recording, but #{@problem}" }
        failure_message_when_negated { "expected the replay to differ from the recording, but it matched" }
      end
    end
  end
end
