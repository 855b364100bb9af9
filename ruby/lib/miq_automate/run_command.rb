# frozen_string_literal: true

# The Ruby half of `miq-automate run`: the CLI (Rust, free of libruby) validates its
# arguments and starts one Ruby for the whole run:
#
#   ruby -I <ruby/lib> -r miq_automate/run_command -e 'exit MiqAutomate::RunCommand.main(ARGV)' REQUEST_JSON RESULT_FILE
#
# REQUEST_JSON: {"uri", "datastores": [dirs], "attrs": {k: v}, "model": file|null,
# "scenario": file|null, "stubs": [[path, what]], "max_deliveries": n, "max_time": s|null}.
# The delivery (MiqAutomate::Delivery#to_json) and the virtual clock's start are written to
# RESULT_FILE as {"started_at": ISO 8601, "delivery": {…}}; the CLI prints and logs them.
# Exit 0 when delivered (whatever the result), 1 when the request cannot run (a datastore
# that does not load, a bad model file or stub), the reason on stderr.

require "json"
require "miq_automate"

module MiqAutomate
  module RunCommand
    # A request that cannot run: the CLI's exit status 1.
    class UsageError < StandardError; end

    STUB_FORMS = "ok, error, retry, retry:N, retry:N@INTERVAL, stop, abort or an exit code"

    module_function

    def main(argv)
      request_json, result_path = argv
      raise UsageError, "usage: MiqAutomate::RunCommand.main([REQUEST_JSON, RESULT_FILE])" unless request_json && result_path

      request = JSON.parse(request_json)
      started_at, delivery = run(request)
      File.write(result_path, %({"started_at":#{started_at.iso8601.to_json},"delivery":#{delivery.to_json}}))
      0
    rescue UsageError, MiqAutomate::Error, ArgumentError, JSON::ParserError, SystemCallError => e
      warn "miq-automate run: #{e.message}"
      1
    end

    # Delivers the request; returns [the clock at the start, the MiqAutomate::Delivery].
    def run(request)
      root, models = load_model(request["model"])
      (request["attrs"] || {}).each { |k, v| root[k.to_s] = v }
      vmdb = request["scenario"] && MiqAutomate::MockManageIQ.start(request["scenario"])
      engine = MiqAutomate::Engine.new(datastore: request.fetch("datastores"), models: models, vmdb: vmdb)
      (request["stubs"] || []).each { |path, what| stub(engine, path, what) }
      started_at = engine.clock.now
      delivery = engine.deliver(request.fetch("uri"), root: root,
                                                      max_deliveries: request["max_deliveries"] || 100,
                                                      max_time: request["max_time"])
      [started_at, delivery]
    ensure
      vmdb&.stop
    end

    # A model file: {"root": {attribute: value}, "models": [model, …]} (or just the root's
    # attributes). A JSON object with "$model" is a service model (MiqAutomate::ServiceModel:
    # "$model" its name, "id", "options" for get_option, "$calls" {method: answer} for model
    # methods that take arguments (set_folder, execute…), any other key an attribute; nested
    # ones too). Every model is registered, so $evm.vmdb and typed fields find it.
    def load_model(path)
      return [{}, []] unless path

      data = JSON.parse(File.read(path))
      raise UsageError, "#{path}: a model file is a JSON object" unless data.is_a?(Hash)

      models = []
      root_data = data.key?("root") || data.key?("models") ? (data["root"] || {}) : data
      root = root_data.to_h { |k, v| [k.to_s, build(v, models)] }
      Array(data["models"]).each { |m| build(m, models) }
      [root, models]
    rescue JSON::ParserError => e
      raise UsageError, "#{path} is not JSON: #{e.message.lines.first&.strip}"
    end

    def build(value, models)
      case value
      when Hash
        return value.to_h { |k, v| [k, build(v, models)] } unless value.key?("$model")

        attributes = value.reject { |k, _| k.start_with?("$") }.to_h { |k, v| [k.to_sym, build(v, models)] }
        (value["$calls"] || {}).each do |name, result|
          answer = build(result, models)
          attributes[name.to_sym] = ->(*_args) { answer }
        end
        model = MiqAutomate::ServiceModel.new(value["$model"], **attributes)
        models << model
        model
      when Array then value.map { |v| build(v, models) }
      else value
      end
    end

    # `--stub PATH=WHAT`: ok (MIQ_OK), error (ae_result error), retry / retry:N / retry:N@1.minute
    # (ae_result retry, N times then ok; the interval 1.minute by default), stop, abort, or
    # an exit code.
    def stub(engine, path, what)
      case what.to_s
      when "ok" then engine.stub(path, MiqAutomate::MIQ_OK)
      when "stop" then engine.stub(path, MiqAutomate::MIQ_STOP)
      when "abort" then engine.stub(path, MiqAutomate::MIQ_ABORT)
      when /\A\d+\z/ then engine.stub(path, what.to_i)
      when "error"
        engine.stub(path) do |evm|
          evm.log(:error, "stubbed to fail (--stub #{path}=error)")
          evm.root["ae_result"] = "error"
          evm.root["ae_reason"] = "stubbed to fail (--stub #{path}=error)"
        end
      when /\Aretry(?::(\d+))?(?:@(.+))?\z/
        times = Regexp.last_match(1)&.to_i
        interval = Regexp.last_match(2) || "1.minute"
        calls = 0
        engine.stub(path) do |evm|
          calls += 1
          if times.nil? || calls <= times
            evm.log(:info, "stubbed to retry (--stub #{path}=#{what}): call #{calls}, retry in #{interval}")
            evm.root["ae_result"] = "retry"
            evm.root["ae_retry_interval"] = interval
          else
            evm.log(:info, "stubbed (--stub #{path}=#{what}): call #{calls}, ok")
            evm.root["ae_result"] = "ok"
          end
        end
      else
        raise UsageError, "--stub #{path}=#{what}: expected #{STUB_FORMS}"
      end
    end
  end
end
