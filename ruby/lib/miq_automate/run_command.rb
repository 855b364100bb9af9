# frozen_string_literal: true

# The Ruby half of `miq-automate run`: the CLI (Rust, free of libruby) validates its
# arguments and starts one Ruby for the whole run:
#
#   ruby -I <ruby/lib> -r miq_automate/run_command -e 'exit MiqAutomate::RunCommand.main(ARGV)' REQUEST_JSON CHANNEL_FD
#
# REQUEST_JSON: {"uri", "datastores": [dirs], "attrs": {k: v}, "model": file|null,
# "scenario": file|null, "stubs": [[path, what]], "max_deliveries": n, "max_time": s|null,
# "timeout": seconds|null, "isolation": "vm"|"process", "v2_key": file|null, "world": file|null}.
# CHANNEL_FD: a descriptor the CLI handed down, on which this process writes one JSON
# object a line as the run goes: {"log": {"level", "message"}} for every log line as it is
# written, {"method": {"event": "start"|"end", "fqname", "status"}} around each method or
# stub, and at the end {"result": {"started_at": ISO 8601, "delivery": {…}, "timed_out"}}
# (the delivery is MiqAutomate::Delivery#to_json; timed_out the message of the method
# timeout that aborted it, else null). So the CLI knows how far a run got that never
# ends, or that ends inside a method.
# Exit 0 when delivered (whatever the result), 1 when the request cannot run (a datastore
# that does not load, a bad model file or stub), the reason on stderr.

# Until the engine is built, a SIGTERM (the CLI stopping the run) ends this process at
# once, in the kernel: there is nothing to unwind yet, and a SignalException raised
# inside a `require` (ActiveSupport loading) once crashed Ruby 3.1 with [BUG]
# Segmentation fault. RunCommand.run gives SIGTERM back to Ruby once methods may run.
Signal.trap("TERM", "SYSTEM_DEFAULT")

require "json"
require "miq_automate"

module MiqAutomate
  module RunCommand
    # A request that cannot run: the CLI's exit status 1.
    class UsageError < StandardError; end

    STUB_FORMS = "ok, error, retry, retry:N, retry:N@INTERVAL, stop, abort or an exit code"

    # The CLI's end of the run: JSON lines on the inherited descriptor.
    class Channel
      def initialize(fd)
        # Only this process speaks for the run: a method that forks must not (its child
        # ends with the method, and never writes the result).
        @pid = Process.pid
        @io = IO.for_fd(fd, "w", autoclose: true)
        # Not for a method's subprocesses (system, spawn, backticks): only this process.
        @io.close_on_exec = true
        @io.sync = true
      end

      def log(level, message)
        write(log: { level: level.to_s, message: utf8(message) })
      end

      def method_event(event, fqname, status)
        status = utf8(status) unless status.nil? || status.is_a?(Integer)
        write(method: { event: event.to_s, fqname: utf8(fqname), status: status })
      end

      # `timed_out`: the message of a method's timeout that aborted the delivery, or nil.
      # `unused_stubs`: the stubs nothing in the run used (a typo, or a state not reached).
      def result(started_at, delivery, timed_out, unused_stubs = [])
        write_line(%({"result":{"started_at":#{started_at.iso8601.to_json},"delivery":#{delivery.to_json},) +
                   %("timed_out":#{timed_out && utf8(timed_out).to_json || 'null'},) +
                   %("unused_stubs":#{JSON.generate(unused_stubs.map { |s| utf8(s) })}}}))
      end

      private

      def write(object)
        write_line(JSON.generate(object))
      end

      # One write a line (Ruby's lock on the IO keeps threads' lines whole), never cut
      # half-way by a Thread#raise (a method's timeout) or a signal's exception.
      def write_line(line)
        return unless Process.pid == @pid

        Thread.handle_interrupt(Object => :never) { @io.write("#{line}\n") }
      rescue Errno::EPIPE, IOError
        # The CLI is gone (killed): nobody reads this run any more.
        Process.exit!(1)
      end

      # JSON needs UTF-8; a method may log bytes that are not.
      def utf8(text)
        text.to_s.encode(Encoding::UTF_8, invalid: :replace, undef: :replace).scrub
      end
    end

    module_function

    def main(argv)
      request_json, channel_fd = argv
      unless request_json && channel_fd.to_s.match?(/\A\d+\z/)
        raise UsageError, "usage: MiqAutomate::RunCommand.main([REQUEST_JSON, CHANNEL_FD])"
      end

      channel = Channel.new(channel_fd.to_i)
      request = JSON.parse(request_json)
      started_at, delivery, timed_out, unused_stubs = run(request, channel)
      channel.result(started_at, delivery, timed_out, unused_stubs)
      0
    rescue UsageError, MiqAutomate::Error, ArgumentError, JSON::ParserError, SystemCallError => e
      warn "miq-automate run: #{e.message}"
      1
    end

    # `--attr password::pw=S` is typed as ManageIQ types a URI's `password::` argument:
    # root["pw"] a Password (never printed); any other key as it is.
    def set_attr(root, key, value)
      type, name = key.split("::", 2)
      if name && !name.empty? && type.casecmp?("password")
        root[name.downcase] = MiqAutomate::Password.new(value.to_s)
      else
        root[key] = value
      end
    end

    # Delivers the request, telling `channel` each log line and method as they come;
    # returns [the clock at the start, the MiqAutomate::Delivery, the timeout's message or
    # nil]. A method that timed out aborted the delivery, which is the result all the same.
    def run(request, channel)
      coverage = request["coverage"] && start_coverage(request["coverage"])
      root, models = load_model(request["model"])
      (request["attrs"] || {}).each { |k, v| set_attr(root, k.to_s, v) }
      vmdb = request["scenario"] && MiqAutomate::MockManageIQ.start(request["scenario"])
      engine = MiqAutomate::Engine.new(datastore: request.fetch("datastores"), models: models, vmdb: vmdb,
                                       timeout: request["timeout"], isolation: (request["isolation"] || "vm").to_sym,
                                       v2_key: request["v2_key"], world: request["world"])
      engine.on_log { |level, message| channel.log(level, message) }
      engine.on_method { |event, fqname, status| channel.method_event(event, fqname, status) }
      # From here a method may be running: SIGTERM unwinds it as on the appliance (its
      # ensure blocks run; the CLI sends SIGKILL to one that swallows it).
      Signal.trap("TERM", "DEFAULT")
      (request["stubs"] || []).each { |path, what| stub(engine, path, what) }
      started_at = engine.clock.now
      delivery = engine.deliver(request.fetch("uri"), root: root,
                                                      max_deliveries: request["max_deliveries"] || 100,
                                                      max_time: request["max_time"])
      [started_at, delivery, nil, engine.unused_stubs]
    rescue MiqAutomate::MethodTimeout => e
      [started_at, e.delivery, e.message, engine.unused_stubs]
    ensure
      vmdb&.stop
      coverage&.write
    end

    # `run --coverage FILE`: this run's automate coverage (MiqAutomate::Coverage), written to FILE.
    def start_coverage(file)
      require "miq_automate/coverage/collector"
      MiqAutomate::Coverage.start(file: file, at_exit: false)
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
      wrapped = data.key?("root") || data.key?("models")
      root_data = wrapped ? (data["root"] || {}) : data
      if wrapped
        unknown = data.keys - %w[root models]
        raise UsageError, "#{path}: $.#{unknown.first}: unknown key (a model file has \"root\" and \"models\")" unless unknown.empty?
        raise UsageError, "#{path}: $.root: expected an object of root attributes, not #{json_kind(root_data)}" unless root_data.is_a?(Hash)
        raise UsageError, "#{path}: $.models: expected a list of models, not #{json_kind(data['models'])}" unless data["models"].nil? || data["models"].is_a?(Array)
      end
      root = root_data.to_h { |k, v| [k.to_s, build(v, models, "#{path}: $#{wrapped ? '.root' : ''}.#{k}")] }
      Array(data["models"]).each_with_index { |m, i| build(m, models, "#{path}: $.models[#{i}]") }
      [root, models]
    rescue JSON::ParserError => e
      raise UsageError, "#{path} is not JSON: #{e.message.lines.first&.strip}"
    end

    MODEL_KEYS = %w[$model $calls].freeze

    def json_kind(value)
      case value
      when Hash then "an object"
      when Array then "a list"
      when String then "a string"
      when Numeric then "a number"
      when nil then "null"
      else value.class.name.downcase
      end
    end

    # A value of a model file; `at` names its place in errors (`m.json: $.root.task.options`).
    def build(value, models, at = "(model)")
      case value
      when Hash
        return value.to_h { |k, v| [k, build(v, models, "#{at}.#{k}")] } unless value.key?("$model")

        unknown = value.keys.select { |k| k.start_with?("$") } - MODEL_KEYS
        unless unknown.empty?
          raise UsageError, "#{at}.#{unknown.first}: unknown key (a model's keys starting with $ are #{MODEL_KEYS.join(' and ')})"
        end
        raise UsageError, "#{at}.$model: expected a model name (a string), not #{json_kind(value['$model'])}" unless value["$model"].is_a?(String) && !value["$model"].empty?
        if value.key?("options") && !value["options"].is_a?(Hash)
          raise UsageError, "#{at}.options: expected an object (option => value), not #{json_kind(value['options'])}"
        end
        calls = value["$calls"] || {}
        raise UsageError, "#{at}.$calls: expected an object (method => answer), not #{json_kind(calls)}" unless calls.is_a?(Hash)

        attributes = value.reject { |k, _| k.start_with?("$") }.to_h { |k, v| [k.to_sym, build(v, models, "#{at}.#{k}")] }
        calls.each do |name, result|
          answer = build(result, models, "#{at}.$calls.#{name}")
          attributes[name.to_sym] = ->(*_args) { answer }
        end
        model = MiqAutomate::ServiceModel.new(value["$model"], **attributes)
        models << model
        model
      when Array then value.each_with_index.map { |v, i| build(v, models, "#{at}[#{i}]") }
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
      when /\A\d+\z/
        code = what.to_i
        raise UsageError, "--stub #{path}=#{what}: an exit code is 0 to 255" unless code <= 255

        engine.stub(path, code)
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
