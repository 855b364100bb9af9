# frozen_string_literal: true

require_relative "trace"

module MiqAutomate
  # A call made during a replay that the trace does not hold (the message names the call
  # and the closest recorded one). An Exception, not a StandardError, so a method's own
  # `rescue => e` does not swallow it (as RSpec's expectation errors).
  class ReplayMismatch < Exception; end # rubocop:disable Lint/InheritException

  class Workspace
    # An offline workspace whose `$evm` answers each call with the answer recorded in a
    # trace (MiqAutomate::Recorder) and keeps what the method writes — root and object
    # attributes, state vars, logs, instantiations, notifications, executions — in this
    # workspace, so every matcher works. strict: false answers nil to a call the trace
    # does not hold, listed in #replay_misses, instead of raising MiqAutomate::ReplayMismatch.
    def self.replay(trace, strict: true)
      # a bad document is a TraceError naming the place, not a TypeError deep in the replay
      doc = trace.is_a?(Hash) ? Trace.check!(trace) : Trace.load(trace)
      session = Replay::Session.new(doc, strict: strict, source: trace.is_a?(Hash) ? "(trace)" : trace.to_s)
      ws = new(current_method: doc["method"])
      ws.extend(Replay::WorkspaceMethods)
      ws.instance_variable_set(:@replay_session, session)
      session.attach(ws)
      ws
    end
  end

  module Replay
    # Calls that change something (compared by match_recording, never answered twice).
    WRITE_NAMES = %w[log instantiate execute retire_now destroy save refresh].freeze
    WRITE_PREFIX = /\A(?:set|delete|create|add|remove|update|tag|untag|start|finish|request|register|unregister|assign|unassign|attach|detach|notify|send)_/.freeze
    NOT_WRITES = %w[== != === =~ ! <= >=].freeze

    def self.write?(name)
      text = name.to_s
      return false if NOT_WRITES.include?(text)

      text.end_with?("=", "!") || WRITE_NAMES.include?(text) || text.match?(WRITE_PREFIX)
    end

    # Methods a replayed object answers locally when the trace holds no such call (the
    # recorder answers ==, eql?, hash locally too).
    LENIENT = %i[inspect to_s respond_to? is_a? kind_of? instance_of? class nil? pretty_print].freeze

    # What a replay workspace adds to MiqAutomate::Workspace.
    module WorkspaceMethods
      # The replaying `$evm`.
      def evm
        @replay_session.evm
      end

      # The workspace's own `$evm` (where the replayed writes land).
      def native_evm
        @native_evm ||= _service
      end

      def root
        native_evm.root
      end

      def replay_session
        @replay_session
      end

      # The calls the trace did not hold (strict: false).
      def replay_misses
        @replay_session.misses
      end

      def inspect
        "#<MiqAutomate::Workspace replay of #{@replay_session.source} root=#{root.attributes.keys.inspect}>"
      end
    end

    # The state of one replay: the trace, a cursor per receiver, the writes made.
    class Session
      attr_reader :misses, :writes, :source, :first_mismatch, :doc
      attr_accessor :exit_code

      def initialize(doc, strict:, source:)
        @doc = doc
        @source = source
        @strict = strict
        @calls = doc["calls"]
        @handles = Array(doc["handles"]).to_h { |h| [h["handle"], h] }
        @by_receiver = Hash.new { |h, k| h[k] = [] }
        @calls.each_with_index { |c, i| @by_receiver[c["receiver"]] << i }
        @cursor = Hash.new(0)
        @proxies = {}
        @native = {}
        @misses = []
        @writes = []
        extra = Array(doc["secret_keys"]) - Trace::DEFAULT_SECRET_KEYS
        @encoder = Trace::Encoder.new(secret_keys: extra, handle_of: method(:handle_of))
        @evm_handle = (@handles.values.find { |h| h["kind"] == "evm" } || { "handle" => 1 })["handle"]
      end

      def attach(workspace)
        @workspace = workspace
        seed_root
      end

      def evm
        proxy(@evm_handle)
      end

      def proxy(handle)
        @proxies[handle] ||= Proxy.new(self, handle)
      end

      # "miq_provision#1", "$evm", "root".
      def label(handle)
        meta = @handles[handle] || {}
        return "$evm" if meta["kind"] == "evm"

        base = meta["model"] || "handle"
        return base if meta["kind"] == "ae_object"

        meta["id"] ? "#{base}##{meta['id']}" : "#{base}(handle #{handle})"
      end

      # Answers a call on a replayed object.
      def answer(handle, name, args, block, lenient: false)
        text = name.to_s
        enc_args, = @encoder.call(name, args)
        index = find(handle, text, enc_args)
        if index.nil?
          return :__replay_local__ if lenient

          note_write(handle, text, enc_args, args, nil)
          return miss(handle, text, enc_args)
        end
        call = @calls[index]
        note_write(handle, text, enc_args, args, call)
        deliver(call, block)
      end

      # The recorded writes and the replayed ones ([receiver, method, args]), logs left out
      # unless `logs:`; nil when they agree (and the exit code does), else why not.
      def compare(logs: false)
        keep = ->(method) { Replay.write?(method) && (logs || method != "log") }
        recorded = @calls.select { |c| keep.call(c["method"]) }
        replayed = @writes.select { |(_, m, _)| keep.call(m) }
        recorded.each_with_index do |c, i|
          r = replayed[i]
          if r.nil?
            return "the replay stopped writing after #{i} write(s): the recording went on with " \
                   "##{c['seq']} #{show(c['receiver'], c['method'], c['args'])}"
          end
          next if r == [c["receiver"], c["method"], c["args"]]

          return "write #{i + 1} differs: recorded ##{c['seq']} #{show(c['receiver'], c['method'], c['args'])}, " \
                 "replayed #{show(*r)}"
        end
        if replayed.size > recorded.size
          return "the replay wrote more: #{show(*replayed[recorded.size])} (#{replayed.size} writes, #{recorded.size} recorded)"
        end

        recorded_code = recorded_exit_code
        if exit_code && recorded_code && exit_code != recorded_code
          return "the method exited with #{exit_code}, on the appliance with #{recorded_code}"
        end

        nil
      end

      def recorded_exit_code
        outcome = @doc["outcome"]
        return nil unless outcome.is_a?(Hash)

        outcome["status"] == "exit" ? outcome["code"] : 1
      end

      # A recorded or replayed call, readable.
      def show(receiver, method, args)
        Trace.describe_call(label(receiver), method, args)
      end

      private

      def find(handle, name, enc_args)
        list = @by_receiver[handle]
        cur = @cursor[handle]
        i = cur
        while i < list.size
          c = @calls[list[i]]
          if c["method"] == name && c["args"] == enc_args
            @cursor[handle] = i + 1
            return list[i]
          end
          break if Replay.write?(c["method"])

          i += 1
        end
        return nil if Replay.write?(name)

        # A read may repeat: the latest earlier call with the same arguments answers again.
        (cur - 1).downto(0) do |k|
          c = @calls[list[k]]
          return list[k] if c["method"] == name && c["args"] == enc_args
        end
        nil
      end

      def miss(handle, name, enc_args)
        call_text = show(handle, name, enc_args)
        closest = closest(handle, name)
        message = "the trace holds no call #{call_text} (after #{@cursor[handle]} matched call(s) on #{label(handle)}); " +
                  (closest ? "closest recorded: ##{closest['seq']} #{show(closest['receiver'], closest['method'], closest['args'])}" : "the trace has no call to #{name}")
        if @strict
          error = ReplayMismatch.new(message)
          @first_mismatch ||= error
          raise error
        end
        @misses << message
        nil
      end

      def closest(handle, name)
        pending = @by_receiver[handle][@cursor[handle]..].to_a.map { |i| @calls[i] }
        pending.find { |c| c["method"] == name } || pending.first ||
          @by_receiver[handle].map { |i| @calls[i] }.reverse.find { |c| c["method"] == name } ||
          @calls.find { |c| c["method"] == name }
      end

      def deliver(call, block)
        raise exception_for(call["raised"]) if call["raised"]

        Array(call["yields"]).each { |ys| block.call(*ys.map { |v| decode(v) }) } if block
        decode(call["result"])
      end

      def exception_for(raised)
        name = raised["class"].to_s
        message = raised["message"].to_s
        klass = begin
          ::Object.const_get(name)
        rescue NameError
          nil
        end
        if klass.is_a?(Class) && klass <= Exception
          begin
            return klass.new(message)
          rescue StandardError
            nil
          end
        end
        MiqAutomate::RemoteError.new("#{name}: #{message}")
      end

      def decode(json)
        case json
        when String then json.dup
        when Array then json.map { |v| decode(v) }
        when Hash
          if json.size == 1 && json.keys.first.start_with?("$")
            decode_tag(*json.first)
          else
            json.to_h { |k, v| [k.dup, decode(v)] }
          end
        else json
        end
      end

      def decode_tag(tag, inner)
        case tag
        when "$symbol" then inner.to_s.to_sym
        when "$time" then Time.iso8601(inner)
        when "$float" then { "NaN" => Float::NAN, "Infinity" => Float::INFINITY, "-Infinity" => -Float::INFINITY }[inner]
        when "$password" then MiqAutomate::Password.new(inner)
        when "$hash" then Array(inner).to_h { |k, v| [decode(k), decode(v)] }
        when "$foreign"
          id = inner["id"].to_i
          return proxy(id) if id.positive?

          label = inner["label"].to_s
          case label
          when /\ADate (\S+)\z/ then Date.iso8601(Regexp.last_match(1))
          when /\ADateTime (\S+)\z/ then DateTime.iso8601(Regexp.last_match(1))
          when /\AInteger (-?\d+)\z/ then Regexp.last_match(1).to_i
          else Opaque.new(label)
          end
        else { tag => decode(inner) }
        end
      end

      def handle_of(value)
        return nil unless Proxy === value

        h = value.__replay_handle__
        [h, (@handles[h] || {})["model"]]
      end

      # A replayed write lands in the workspace (unless it raised on the appliance).
      def note_write(handle, name, enc_args, args, call)
        return unless Replay.write?(name)

        @writes << [handle, name, enc_args]
        return if call && call["raised"]

        apply(handle, name, args, call)
      rescue StandardError
        nil # the workspace refused what the appliance took: the trace's answer stands
      end

      def apply(handle, name, args, call)
        meta = @handles[handle] || {}
        evm = @workspace.native_evm
        case meta["kind"]
        when "evm"
          case name
          when "log" then evm.log(args[0].to_s.downcase.to_sym, args[1].to_s)
          when "set_state_var", "delete_state_var", "set_service_var", "delete_service_var" then evm.__send__(name, *args)
          when "instantiate"
            object = evm.instantiate(*args)
            result = call && call["result"]
            if result.is_a?(Hash) && result["$foreign"]
              @native[result["$foreign"]["id"]] = object
            end
          when "create_notification", "create_notification!" then evm.create_notification(*args)
          when "execute" then evm.execute(*args)
          when "[]=" then evm.object[args[0]] = args[1]
          end
        when "ae_object"
          target = native_object(handle, meta)
          target[args[0]] = args[1] if target && name == "[]="
        end
      end

      def native_object(handle, meta)
        evm = @workspace.native_evm
        case meta["model"]
        when "root" then evm.root
        when "object" then meta["path"] ? evm.object(meta["path"]) : evm.object
        else @native[handle]
        end
      end

      # The root attributes the method read (their first answers) are the workspace's root,
      # so matchers see ae_result and friends even when the method only read them.
      def seed_root
        roots = @handles.values.select { |h| h["kind"] == "ae_object" && (h["model"] == "root" || h["path"] == "/") }.map { |h| h["handle"] }
        written = {}
        root = @workspace.native_evm.root
        @calls.each do |c|
          next unless roots.include?(c["receiver"])

          key = c["args"][0]
          next unless key.is_a?(String)

          case c["method"]
          when "[]="
            written[key.downcase] = true
          when "[]"
            next if written[key.downcase] || c["raised"]

            written[key.downcase] = true
            value = decode(c["result"])
            root[key] = value unless value.equal?(nil)
          end
        end
      rescue StandardError
        nil
      end
    end

    # A local value of the appliance that is no handle (its class name is all the trace keeps).
    class Opaque
      attr_reader :label

      def initialize(label)
        @label = label
      end

      def ==(other) = other.is_a?(Opaque) && other.label == label
      def inspect = "#<recorded #{label}>"
      alias to_s inspect
    end

    # What the replayed method holds for each recorded object (`$evm`, root, a service model …).
    class Proxy < BasicObject
      def initialize(session, handle)
        @__session = session
        @__handle = handle
      end

      def __replay_handle__ = @__handle

      def method_missing(name, *args, &block)
        @__session.answer(@__handle, name, args, block)
      end
      ruby2_keywords(:method_missing)

      def respond_to_missing?(_name, _include_private = false) = true

      LENIENT.each do |name|
        define_method(name) do |*args, &block|
          answer = @__session.answer(@__handle, name, args, block, lenient: true)
          answer.equal?(:__replay_local__) ? __local(name, *args) : answer
        end
      end

      def ==(other)
        Proxy === other && other.__replay_handle__ == @__handle
      end

      def !=(other)
        !(self == other)
      end

      alias_method :eql?, :==

      def hash = [Proxy, @__handle].hash

      private

      def __local(name, *args)
        case name
        when :inspect, :to_s then "#<MiqAutomate::Replay #{@__session.label(@__handle)}>"
        when :respond_to? then true
        when :is_a?, :kind_of? then args[0] == Proxy || args[0] == ::BasicObject
        when :instance_of? then args[0] == Proxy
        when :class then Proxy
        when :nil? then false
        when :pretty_print then args[0].text(__local(:inspect))
        end
      end
    end
  end
end
