# frozen_string_literal: true

require_relative "version"
require_relative "trace"

module MiqAutomate
  # Records a method's real `$evm` traffic on the appliance into a trace file that
  # MiqAutomate::Workspace.replay answers offline. Pure Ruby: `require "miq_automate/recorder"`
  # loads no native code, so it runs wherever the gem's Ruby files can be loaded.
  #
  #   $evm = MiqAutomate::Recorder.wrap($evm, to: "/tmp/check_provisioned.trace.json")
  #
  # saves at exit (also when the method raises or calls `exit`); or, for a part of a method:
  #
  #   MiqAutomate::Recorder.record($evm, to: path) { |evm| ... }   # saved when the block ends
  #
  # Every call through the wrapper, and through every object it hands out (root, objects,
  # service models and their associations, vmdb lookups, instantiate, …), is kept in order:
  # receiver handle, method, arguments, and the answer or the exception raised. Secrets
  # (password attributes, `v2:{…}` strings, Password objects, values under keys such as
  # password/token/secret/api_key — `secret_keys:` adds more) are written as `********`.
  # A recorder failure (an unwritable path, a full disk) logs one warning through `$evm.log`
  # and never changes what the method sees.
  class Recorder
    # Values passed through as they are: no proxy to unwrap inside.
    PLAIN = { NilClass => true, TrueClass => true, FalseClass => true, Integer => true, Float => true,
              Symbol => true, String => true }.freeze

    NO_ANSWER = ::Object.new.freeze

    # The recording `$evm` in front of `evm`; saved to `to` at exit (and by Recorder.flush).
    def self.wrap(evm, to:, secret_keys: [], method: nil)
      recorder = new(evm, to, secret_keys: secret_keys, method: method)
      recorder.arm_at_exit
      recorder.evm
    end

    # Yields the recording `$evm`; saves when the block ends, also when it raises or exits.
    def self.record(evm, to:, secret_keys: [], method: nil)
      recorder = new(evm, to, secret_keys: secret_keys, method: method)
      begin
        result = yield recorder.evm
        recorder.outcome = outcome_for(nil)
        result
      rescue Exception => e # rubocop:disable Lint/RescueException -- saved whatever ends the block
        recorder.outcome = outcome_for(e)
        raise
      ensure
        recorder.close
      end
    end

    # The recorder behind a recording `$evm` (or any object it handed out), or nil.
    def self.of(evm)
      Proxy === evm ? evm.__miq_recorder__ : nil
    end

    # Saves the trace now (true when saved, or nothing new to save).
    def self.flush(evm)
      of(evm)&.flush
    end

    # Saves the trace and stops the at-exit save.
    def self.close(evm)
      of(evm)&.close
    end

    def self.outcome_for(error)
      case error
      when nil then { "status" => "exit", "code" => 0 }
      when SystemExit then { "status" => "exit", "code" => error.status }
      else { "status" => "exception", "class" => error.class.name.to_s, "message" => Trace.sanitize(error.message.to_s) }
      end
    end

    # "MiqProvision", :miq_provision → "miq_provision".
    def self.model_key(model)
      model.to_s.gsub(/([a-z\d])([A-Z])/, '\1_\2').gsub(/([A-Z]+)([A-Z][a-z])/, '\1_\2').downcase
    end

    attr_reader :path, :evm
    attr_accessor :outcome

    def initialize(target, path, secret_keys: [], method: nil)
      @target = target
      @path = path.to_s
      @secret_keys = Array(secret_keys).map(&:to_s)
      @method_name = method&.to_s
      @entries = []
      @handles = [] # [target, proxy, meta] at index handle - 1
      @by_drb = {}
      @by_local = {}.compare_by_identity
      @dirty = true
      @broken = false
      @warned = false
      @closed = false
      @pid = Process.pid
      @evm = add_handle(target, { "kind" => "evm", "model" => "evm", "via" => "$evm" })
      check_path
    end

    # Registers the at-exit save (Recorder.wrap does).
    def arm_at_exit
      recorder = self
      at_exit { recorder.send(:finish, $!) }
      self
    end

    # Writes the trace (atomically) if anything changed since the last save.
    def flush
      return true unless @dirty

      Trace.write(@path, document)
      @dirty = false
      true
    rescue StandardError => e
      warn_once("could not save the trace to #{@path}: #{e.class}: #{e.message}")
      false
    end

    def close
      flush.tap { @closed = true }
    end

    def calls_recorded
      @entries.size
    end

    # The trace as a Hash (what flush writes).
    def document
      encoder = Trace::Encoder.new(secret_keys: @secret_keys, handle_of: method(:handle_of))
      calls = @entries.each_with_index.map { |entry, i| encode_entry(encoder, entry, i + 1) }
      doc = {
        "format" => Trace::FORMAT,
        "version" => Trace::VERSION,
        "recorded_at" => Time.now.utc.iso8601(3),
        "method" => @method_name || default_method_name,
        "recorder" => "miq_automate #{MiqAutomate::VERSION}",
        "ruby" => RUBY_VERSION,
        "secret_keys" => (Trace::DEFAULT_SECRET_KEYS + @secret_keys).uniq,
        "outcome" => @outcome,
        "handles" => @handles.each_with_index.map { |(_, _, meta), i| { "handle" => i + 1 }.merge(masked_meta(meta)) },
        "calls" => calls
      }
      Trace.scrub_secrets(doc, encoder.secrets)
    end

    private

    # A handle's description with its texts masked (an instantiate path holds its arguments).
    def masked_meta(meta)
      meta.to_h do |k, v|
        case k
        when "path" then [k, String === v ? Trace.sanitize_uri(v) : v]
        when "via" then [k, String === v ? Trace.sanitize(v) : v]
        else [k, v]
        end
      end
    end

    # --- the call path (kept small: it runs on every $evm call) ---

    def invoke(handle, target, name, args, block)
      real = args.all? { |a| plain?(a) } ? args : unwrap_args(args)
      yields = nil
      if block
        yields = []
        recorder = self
        real_block = proc { |*ys| block.call(*recorder.send(:yielded, yields, ys, handle, name, args)) }
      end
      begin
        result = target.__send__(name, *real, &real_block)
      rescue Exception => e # rubocop:disable Lint/RescueException -- recorded and raised unchanged
        note(handle, name, args, NO_ANSWER, e, yields)
        raise
      end
      answer = wrap_safely(result, handle, name, args)
      note(handle, name, args, answer, nil, yields)
      answer
    end

    def note(handle, name, args, answer, error, yields)
      return if @broken

      @entries << [handle, name, snap_args(args), snap(answer), error && [error.class.name.to_s, error.message.to_s], yields]
      learn_id(handle, name, args, answer) if name == :id || name == :[]
      @dirty = true
    rescue StandardError => e
      broken!(e)
    end

    def yielded(yields, values, handle, name, args)
      return values if @broken

      wrapped = values.map { |v| wrap(v, handle, :__yield__, args, true) }
      yields << wrapped.map { |v| snap(v) }
      wrapped
    rescue StandardError => e
      broken!(e)
      values
    end

    def wrap_safely(value, handle, name, args)
      return value if @broken

      wrap(value, handle, name, args)
    rescue StandardError => e
      broken!(e)
      value
    end

    # The answer the method sees: objects (DRb proxies, service models) behind recording
    # proxies, also inside Arrays and Hashes; values as they are.
    def wrap(value, handle, name, args, plural = false)
      case value
      when Proxy, nil, true, false, Integer, Float, Symbol, String, Module then value
      when Array
        return value unless value.any? { |v| reference?(v) || Array === v || Hash === v }

        value.map { |v| wrap(v, handle, name, args, true) }
      when Hash
        return value unless value.any? { |_, v| reference?(v) || Array === v || Hash === v }

        # a value under a key is named by the key (`{"vm" => vm, "hosts" => [...]}`)
        value.to_h { |k, v| [k, String === k || Symbol === k ? wrap(v, handle, :[], [k]) : wrap(v, handle, name, args, plural)] }
      else
        reference?(value) ? proxy_for(value, handle, name, args, plural) : value
      end
    end

    def reference?(value)
      return false if Proxy === value
      return true if drb?(value)

      case value
      when nil, true, false, Numeric, Symbol, String, Module, Range, Date, Exception, Struct, Array, Hash
        false
      else
        !(::Time === value) && !Trace.password?(value)
      end
    end

    def plain?(value)
      !(Proxy === value) && PLAIN[value.class]
    end

    def name_of(value)
      String === value || Symbol === value || Module === value ? self.class.model_key(value) : "object"
    end

    def proxy_for(value, handle, name, args, plural)
      id = drb?(value) ? (@by_drb[value.__drburi] ||= {})[value.__drbref] : @by_local[value]
      return @handles[id - 1][1] if id

      add_handle(value, describe(handle, name, args, value, plural))
    end

    def add_handle(value, meta)
      id = @handles.size + 1
      proxy = Proxy.new(self, value, id)
      @handles << [value, proxy, meta]
      if drb?(value)
        (@by_drb[value.__drburi] ||= {})[value.__drbref] = id
      else
        @by_local[value] = id
      end
      proxy
    end

    def drb?(value)
      defined?(::DRb::DRbObject) && ::DRb::DRbObject === value
    end

    # How a new object was reached: its kind (ae_object, model), model name and id when known.
    def describe(handle, name, args, value, plural)
      receiver = @handles[handle - 1][2]
      text = name.to_s
      meta =
        if receiver["kind"] == "evm"
          case text
          when "root" then { "kind" => "ae_object", "model" => "root" }
          when "object", "current", "current_object", "parent"
            { "kind" => "ae_object", "model" => "object", "path" => String === args[0] ? args[0] : nil }.compact
          when "instantiate" then { "kind" => "ae_object", "model" => "instance", "path" => args[0].to_s }
          when "vmdb"
            id = Integer === args[1] || (String === args[1] && args[1].match?(/\A\d+\z/)) ? args[1].to_i : nil
            { "kind" => "model", "model" => name_of(args[0]), "id" => id }.compact
          else { "kind" => "model", "model" => text }
          end
        elsif text == "__yield__"
          { "kind" => "model", "model" => singular(receiver["model"].to_s) }
        elsif text == "[]" && (String === args[0] || Symbol === args[0])
          { "kind" => "model", "model" => plural ? singular(self.class.model_key(args[0])) : self.class.model_key(args[0]) }
        elsif receiver["kind"] == "ae_object" && %w[parent children].include?(text)
          { "kind" => "ae_object", "model" => "object" }
        else
          model = text.delete_suffix("=")
          { "kind" => "model", "model" => plural ? singular(model) : model }
        end
      meta["via"] = Trace.describe_call(receiver_label(handle), "each", []) if text == "__yield__"
      local = local_model(value)
      meta.merge!(local) if local
      meta["via"] ||= Trace.describe_call(receiver_label(handle), text, args.map { |a| brief(a) })
      meta
    end

    def singular(name)
      name.end_with?("s") ? name.delete_suffix("s") : name
    end

    # A local (non-DRb) object may say what it is without a round trip.
    def local_model(value)
      return nil if drb?(value)

      if value.class.name == "MiqAutomate::ServiceModel"
        { "model" => value.model_name.to_s, "id" => value.instance_variable_get(:@id) }.compact
      elsif value.class.name.to_s.start_with?("MiqAeMethodService::MiqAeService")
        { "model" => self.class.model_key(value.class.name.split("::").last.delete_prefix("MiqAeService")) }
      end
    end

    def brief(arg)
      case arg
      when String then Trace.sanitize_value(arg)
      when Integer, Float, nil, true, false then arg
      when Symbol then { "$symbol" => arg.to_s }
      when Proxy then { "$foreign" => { "id" => arg.__miq_handle__, "label" => @handles[arg.__miq_handle__ - 1][2]["model"] } }
      else { "$foreign" => { "id" => 0, "label" => arg.class.name.to_s } }
      end
    end

    def receiver_label(handle)
      meta = @handles[handle - 1][2]
      meta["kind"] == "evm" ? "$evm" : meta["model"]
    end

    def learn_id(handle, name, args, answer)
      return unless Integer === answer
      return unless name == :id || (args.size == 1 && args[0].to_s == "id")

      @handles[handle - 1][2]["id"] ||= answer
    end

    def handle_of(value)
      return nil unless Proxy === value

      id = value.__miq_handle__
      [id, @handles[id - 1][2]["model"]]
    end

    def unwrap_args(args)
      last = args.last
      out = args.map { |a| unwrap(a) }
      out[-1] = Hash.ruby2_keywords_hash(out[-1]) if Hash === last && Hash.ruby2_keywords_hash?(last)
      out
    end

    def unwrap(value)
      case value
      when Proxy then value.__miq_target__
      when Array then value.map { |v| unwrap(v) }
      when Hash then value.to_h { |k, v| [unwrap(k), unwrap(v)] }
      else value
      end
    end

    # A copy of what the method passed or got, as it was at the call (the method may change it later).
    def snap_args(args)
      args.all? { |a| plain?(a) && !(String === a && !a.frozen?) } ? args : args.map { |a| snap(a) }
    end

    def snap(value)
      case value
      when String then value.frozen? ? value : value.dup
      when Array then value.map { |v| snap(v) }
      when Hash then value.to_h { |k, v| [snap(k), snap(v)] }
      else value
      end
    end

    def encode_entry(encoder, entry, seq)
      handle, name, args, answer, error, yields = entry
      enc_args, secret = encoder.call(name, args)
      out = { "seq" => seq, "receiver" => handle, "method" => name.to_s, "args" => enc_args }
      if error
        out["raised"] = { "class" => error[0], "message" => Trace.sanitize(error[1]) }
      else
        out["result"] = encoder.answer(answer, secret)
      end
      out["yields"] = yields.map { |ys| ys.map { |v| secret ? encoder.mask(v) : encoder.encode(v) } } if yields
      out
    end

    def default_method_name
      defined?(::RUBY_METHOD_NAME) ? ::RUBY_METHOD_NAME.to_s : File.basename($PROGRAM_NAME.to_s, ".rb")
    end

    def check_path
      dir = File.dirname(File.expand_path(@path))
      return if File.directory?(dir) && File.writable?(dir)

      warn_once("cannot write the trace to #{@path} (#{File.directory?(dir) ? 'directory not writable' : 'no such directory'}); the method runs unrecorded")
    end

    def finish(error)
      return if @closed || Process.pid != @pid

      unless @outcome
        @outcome = self.class.outcome_for(error)
        @dirty = true
      end
      close
    rescue Exception # rubocop:disable Lint/RescueException -- never change how the method's process ends
      nil
    end

    def broken!(error)
      @broken = true
      warn_once("recording stopped: #{error.class}: #{error.message}")
    end

    # One warning per recorder, through the real $evm (not recorded), else on stderr.
    def warn_once(message)
      return if @warned

      @warned = true
      text = "miq_automate recorder: #{Trace.sanitize(message)}"
      begin
        @target.log(:warn, text)
      rescue Exception # rubocop:disable Lint/RescueException -- a dead $evm must not end the method
        begin
          $stderr.puts(text)
        rescue StandardError
          nil
        end
      end
    end

    # What the method holds instead of each `$evm` object: forwards every call to it and
    # records the call. `==`, `eql?`, `hash` and `equal?` compare the objects behind, locally.
    class Proxy < BasicObject
      def initialize(recorder, target, handle)
        @__recorder = recorder
        @__target = target
        @__handle = handle
      end

      def __miq_recorder__ = @__recorder
      def __miq_target__ = @__target
      def __miq_handle__ = @__handle

      def method_missing(name, *args, &block)
        @__recorder.__send__(:invoke, @__handle, @__target, name, args, block)
      end
      ruby2_keywords(:method_missing)

      def respond_to_missing?(_name, _include_private = false) = true

      def ==(other)
        @__target == (Proxy === other ? other.__miq_target__ : other)
      end

      def !=(other)
        !(self == other)
      end

      def eql?(other)
        @__target.eql?(Proxy === other ? other.__miq_target__ : other)
      end

      def hash = @__target.hash
    end
  end
end
