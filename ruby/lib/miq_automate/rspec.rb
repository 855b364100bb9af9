# frozen_string_literal: true

# The rspec kit: `require "miq_automate/rspec"` in a spec_helper.
#
#   describe "update_provision_status" do
#     let(:prov) { service_model(:miq_provision, id: 1, message: "", options: { vm_target_name: "web01" }) }
#     let(:ws)   { build_workspace(root: { "miq_provision" => prov, "ae_result" => "ok" }, inputs: { "status" => "Done" }) }
#
#     it "updates the message" do
#       expect(run_method("update_provision_status.rb", ws)).to exit_with(MiqAutomate::MIQ_OK)
#       expect(prov.message).to eq("Done")
#     end
#   end

require "rspec/expectations"
require "miq_automate"
require "miq_automate/method_isolation"
require "miq_automate/fresh_binding"
require "miq_automate/method_environment"

module MiqAutomate
  module RSpec
    # Builders and runners included in every example group.
    module Helpers
      # An offline workspace (see MiqAutomate::Workspace.new).
      # `replay:` a trace file: a workspace answering from it (MiqAutomate::Workspace.replay).
      # `v2_key:` the appliance's key file, for `decrypt` of `v2:{…}` passwords.
      def build_workspace(root: {}, inputs: {}, state_vars: {}, current_method: nil, models: [], vmdb: nil, replay: nil, strict: true,
                          v2_key: nil, world: nil)
        return MiqAutomate::Workspace.replay(replay, strict: strict) if replay

        MiqAutomate::Workspace.new(root: root, inputs: inputs, state_vars: state_vars,
                                   current_method: current_method, models: models, vmdb: vmdb, v2_key: v2_key, world: world)
      end

      # The offline engine over domain exports (see MiqAutomate::Engine.new): inline methods
      # run in this process (isolation: :vm) or a forked child each (isolation: :process);
      # `engine.instantiate(uri, root: {...})` gives the workspace.
      def build_engine(datastore:, models: [], vmdb: nil, timeout: nil, isolation: :vm, v2_key: nil, world: nil)
        MiqAutomate::Engine.new(datastore: datastore, models: models, vmdb: vmdb, timeout: timeout, isolation: isolation,
                                v2_key: v2_key, world: world)
      end

      # Delivers `uri` through `engine` until its state machines stop retrying (see
      # MiqAutomate::Engine#deliver) and returns the MiqAutomate::Delivery:
      #   d = deliver(engine, uri, root: { "miq_provision" => prov })
      #   expect(d).to have_passed_states(%w[Provision CheckProvisioned PostProvision])
      #   expect(d).to have_retried(2)
      def deliver(engine, uri, root: {}, **options)
        engine.deliver(uri, root: root, **options)
      end

      # A service-model object (see MiqAutomate::ServiceModel.new).
      def service_model(model_name, **attributes)
        MiqAutomate::ServiceModel.new(model_name, **attributes)
      end

      # Loads a method file with its trailing `Klass.new.main` line(s) neutralised, so that
      # a spec can call `described_class.new(evm).main` itself. Bare MIQ_* constants and
      # ManageIQ's method environment (ActiveSupport, Time.zone UTC) come first, as the
      # engine's preamble does.
      def load_method(path)
        MiqAutomate.method_environment!
        MiqAutomate.define_exit_codes!
        source = File.read(path)
        neutralised = source.gsub(MiqAutomate::RSpec.entry_call) { |line| "# #{line.strip} (neutralised by miq_automate)" }
        MiqAutomate::RSpec.quietly { TOPLEVEL_BINDING.eval(neutralised, File.expand_path(path), 1) }
        true
      end

      # Runs a method file as the engine would (after ManageIQ's preamble: ActiveSupport's core
      # extensions, Time.zone UTC), with `$evm` = workspace.evm, and returns its
      # MIQ exit code: 0 for a normal end, the status of `exit`, 1 for an uncaught exception
      # (logged like the engine does). `exit` never ends the rspec run. The engine's
      # "Method exited with rc=…" line is added to the workspace's logs.
      # `inputs:` replaces the workspace's method inputs first (each method has its own).
      def run_method(path, workspace, method_name: nil, inputs: nil)
        workspace.inputs = inputs if inputs
        MiqAutomate::RSpec.run_method(path, workspace, method_name: method_name)
      end
    end

    # The `Klass.new.main` / `Klass.new(handle).main` line that ends a ManageIQ method file.
    def self.entry_call
      /^[ \t]*(?:::)?[A-Z][\w:]*\.new(?:\([^)]*\))?\.main[ \t]*$/
    end

    # What a failing matcher adds to its message: the method's uncaught exception (from the
    # postscript and Ruby's report on its stderr) and the last error lines of the log, so a
    # failure says its cause without printing the whole log.
    def self.failure_context(logs)
      messages = Array(logs).map { |entry| entry.is_a?(Array) ? entry : [:info, entry.to_s] }
      lines = []
      at = messages.rindex { |_, m| m.end_with?("The following error occurred during method evaluation:") }
      if at
        exception = messages[at + 1]&.last.to_s.sub(/\A<AEMethod [^>]*>\s+/, "")
        report = messages[at..].find { |_, m| m.start_with?("Method STDERR: ") }&.last
        where = report && report.delete_prefix("Method STDERR: ").split(": ", 2).first
        lines << "the method raised #{exception}#{where ? " at #{where}" : ''}"
      end
      errors = messages.select { |level, _| level.to_s == "error" }.last(5).map(&:last)
      lines << "last error lines of the log:\n#{errors.map { |m| "  #{m}" }.join("\n")}" unless errors.empty?
      lines.empty? ? "" : "\n\n#{lines.join("\n")}"
    end

    # The workspace of the last method run_method ran on this thread, when it exited with
    # `code` (for exit_with's message about that method).
    def self.last_workspace(code)
      workspace, last_code = Thread.current[:miq_automate_last_run]
      workspace if last_code == code
    end

    def self.run_method(path, workspace, method_name: nil)
      Thread.current[:miq_automate_last_run] = nil
      MiqAutomate.method_environment!
      MiqAutomate.define_exit_codes!
      previous = $evm
      $evm = workspace.evm
      workspace.current_method = method_name || File.basename(path, ".rb")
      source = File.read(path)
      covering = MiqAutomate::Coverage.covering([*embedded_files(path), path].map { |f| File.expand_path(f) }, files: true) if defined?(MiqAutomate::Coverage) && MiqAutomate::Coverage.running?
      code = begin
        # A fresh top-level binding per run, so local variables of one method never leak
        # into another; the method's embedded methods first, as the engine runs them.
        quietly do
          scope = MiqAutomate::FRESH_BINDING.call
          embedded_files(path).each { |file| scope.eval(File.read(file), File.expand_path(file), 1) }
          scope.eval(source, File.expand_path(path), 1)
        end
        MiqAutomate::MIQ_OK
      rescue SystemExit => e
        e.status
      rescue Exception => e # rubocop:disable Lint/RescueException -- the engine reports any error
        workspace.evm.log(:error, "The following error occurred during method evaluation:")
        workspace.evm.log(:error, "  #{e.class}: #{e.message}")
        workspace.evm.log(:error, "  #{Array(e.backtrace).first(10).join("\n")}")
        1
      ensure
        $evm = previous
        MiqAutomate::Coverage.covered(covering) if covering
      end
      workspace.send(:_log_line, code_level(code), "Method exited with rc=#{verbose_rc(code)}")
      Thread.current[:miq_automate_last_run] = [workspace, code]
      code
    end

    # The .rb files of the methods a method file embeds (`embedded_methods` in the YAML
    # beside it: `/ns/Class/method`, with or without the domain), found in its domain
    # export, depth first. A reference not in the export is left out (the engine, which
    # sees every domain, resolves those).
    def self.embedded_files(path, seen = {})
      yaml = path.to_s.sub(/\.rb\z/, ".yaml")
      return [] unless File.file?(yaml)

      refs = Array(YAML.safe_load(File.read(yaml)).dig("object", "attributes", "embedded_methods"))
      domain = File.dirname(File.expand_path(path))
      domain = File.dirname(domain) until File.exist?(File.join(domain, "__domain__.yaml")) || domain == "/"
      return [] if domain == "/"

      refs.flat_map do |ref|
        parts = ref.to_s.sub(%r{\A/}, "").split("/")
        parts.shift if parts.size > 3 && parts.first.casecmp?(File.basename(domain))
        *ns, klass, method = parts
        file = File.join(domain, *ns, "#{klass}.class", "__methods__", "#{method}.rb")
        next [] if seen[file] || !File.file?(file)

        seen[file] = true
        embedded_files(file, seen) + [file]
      end
    end

    # Method files are evaluated again and again: silence "already initialized constant".
    def self.quietly
      verbose = $VERBOSE
      $VERBOSE = nil
      yield
    ensure
      $VERBOSE = verbose
    end

    def self.verbose_rc(code)
      { MIQ_OK => "MIQ_OK", MIQ_WARN => "MIQ_WARN", MIQ_STOP => "MIQ_STOP", MIQ_ABORT => "MIQ_ABORT" }
        .fetch(code) { "Unknown RC: [#{code}]" }
    end

    def self.code_level(code)
      { MIQ_OK => :info, MIQ_WARN => :warn }.fetch(code, :error)
    end

    # Matchers included in every example group.
    module Matchers
      extend ::RSpec::Matchers::DSL

      # `expect(run_method(...)).to exit_with(MIQ_STOP)`, or with a block that may `exit`.
      matcher :exit_with do |expected|
        supports_block_expectations
        match do |actual|
          @block = actual.is_a?(Proc)
          @code = if actual.is_a?(Proc)
                    begin
                      actual.call
                      MiqAutomate::MIQ_OK
                    rescue SystemExit => e
                      e.status
                    end
                  else
                    actual
                  end
          @code == expected
        end
        failure_message do
          "expected the method to exit with #{MiqAutomate::RSpec.verbose_rc(expected)}, " \
            "but it exited with #{MiqAutomate::RSpec.verbose_rc(@code)}" +
            # A code from run_method: that method's log says why.
            (@block ? "" : MiqAutomate::RSpec.failure_context(MiqAutomate::RSpec.last_workspace(@code)&.logs))
        end
      end

      # `expect(ws).to have_ae_result("retry")` (a workspace, its `$evm`, or its root object).
      # For a MiqAutomate::Delivery: its final result (`error` for an aborted delivery).
      matcher :have_ae_result do |expected|
        match do |actual|
          @actual_result = actual.is_a?(MiqAutomate::Delivery) ? actual.ae_result : MiqAutomate::RSpec.root_of(actual)["ae_result"]
          @actual_result.to_s == expected.to_s
        end
        failure_message do |actual|
          "expected ae_result #{expected.inspect}, got #{@actual_result.inspect}" +
            MiqAutomate::RSpec.failure_context(actual.respond_to?(:logs) ? actual.logs : nil)
        end
      end

      # `expect(delivery).to have_passed_states(%w[A B C])`: the states the delivery entered,
      # in order, across deliveries, are exactly these. A state entered again on a retry
      # counts once, unless the list names it as many times as it was entered.
      matcher :have_passed_states do |expected|
        match do |delivery|
          @entered = delivery.states
          collapsed = @entered.chunk_while { |a, b| a == b }.map(&:first)
          [collapsed, @entered].include?(expected.map(&:to_s))
        end
        failure_message do |delivery|
          "expected the states #{expected.inspect} to be entered in order, entered were #{@entered.inspect}" +
            MiqAutomate::RSpec.failure_context(delivery.logs)
        end
      end

      # `expect(delivery).to have_retried(2)`: the request was requeued (delivered again
      # after a retry) that many times. `.in_state("CheckProvisioned")` counts the retries
      # that state ended with instead (`done` events with result retry).
      matcher :have_retried do |expected|
        chain(:in_state) { |state| @state = state.to_s }
        match do |delivery|
          @actual_retries = if @state
                              delivery.events.count { |e| e["event"] == "done" && e["state"] == @state && e["result"] == "retry" }
                            else
                              delivery.retries
                            end
          @actual_retries == expected
        end
        failure_message do |delivery|
          where = @state ? " in state #{@state}" : ""
          "expected #{expected} retr#{expected == 1 ? 'y' : 'ies'}#{where}, got #{@actual_retries}" +
            MiqAutomate::RSpec.failure_context(delivery.logs)
        end
      end

      # `expect(ws).to have_logged(:error, /text/)`.
      matcher :have_logged do |level, pattern|
        match do |workspace|
          workspace.logs.any? { |l, message| l == level.to_sym && (pattern.is_a?(Regexp) ? pattern.match?(message) : message.include?(pattern.to_s)) }
        end
        failure_message do |workspace|
          "expected a #{level} log line matching #{pattern.inspect}, logs were:\n" +
            workspace.logs.map { |l, m| "  #{l}: #{m}" }.join("\n")
        end
      end

      # `expect(ws).to have_instantiated("/A/B/C")` (a String is matched exactly, or a Regexp).
      matcher :have_instantiated do |uri|
        match do |workspace|
          workspace.instantiations.any? { |u| uri.is_a?(Regexp) ? uri.match?(u) : u == uri }
        end
        failure_message { |workspace| "expected #{uri.inspect} to be instantiated, instantiations were #{workspace.instantiations.inspect}" }
      end

      # `expect(ws).to have_notified(type: :automate_user_error, subject: req)`.
      matcher :have_notified do |**expected|
        match do |workspace|
          workspace.notifications.any? do |n|
            expected.all? do |key, value|
              actual = n[key]
              value.is_a?(Regexp) ? value.match?(actual.to_s) : (actual == value || actual.to_s == value.to_s)
            end
          end
        end
        failure_message { |workspace| "expected a notification with #{expected.inspect}, got #{workspace.notifications.inspect}" }
      end
    end

    def self.root_of(actual)
      case actual
      when MiqAutomate::Workspace, MiqAutomate::Service then actual.root
      else actual
      end
    end
  end
end

require "miq_automate/replay_rspec"

if RSpec.respond_to?(:configure) # rspec-core is loaded (not only rspec-expectations)
  RSpec.configure do |config|
    config.include MiqAutomate::RSpec::Helpers
    config.include MiqAutomate::RSpec::Matchers
    # exit_with's message speaks of the last method run in this example only.
    config.before { Thread.current[:miq_automate_last_run] = nil }
  end
end
