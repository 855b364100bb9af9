# frozen_string_literal: true

require "stringio"
require "miq_automate/method_isolation"
require "miq_automate/fresh_binding"
require "miq_automate/method_environment"
require "miq_automate/process_isolation"
require_relative "delivery"

module MiqAutomate
  # A datastore that does not load; the message names every bad file (and #errors lists them).
  class DatastoreError < Error
    def errors
      message.lines.drop(1).map(&:strip)
    end
  end

  # A method ran longer than the engine's timeout: the run is aborted, as ManageIQ's queue
  # timeout aborts a delivery. The message names the method.
  class MethodTimeout < AbortInstantiation; end

  # The error of an engine run (MiqAutomate::Engine#instantiate) carries its workspace, so
  # a spec can read the logs up to the error. Nil for errors raised elsewhere. A
  # MethodTimeout of Engine#deliver carries the delivery too.
  class Error
    attr_reader :workspace, :delivery
  end

  # The offline automate engine over domain exports, running inline Ruby methods in this VM.
  #
  #   engine = MiqAutomate::Engine.new(datastore: "examples/domains/RollbackDemo", models: [prov])
  #   engine.stub("/System/CommonMethods/QuotaMethods/used") { |evm| evm.object["used"] = 3 }
  #   ws = engine.instantiate("/Infrastructure/VM/Provisioning/Network/Methods/AcquireIPAddress",
  #                           root: { "miq_provision" => prov })
  #   ws.root["ae_result"]  # => "ok"
  #   ws.logs               # the engine's log lines and the methods' $evm.log lines
  class Engine
    # How methods are kept apart: :vm (the default: each method in this Ruby VM with a fresh
    # `self`, its globals put back, what it adds to core classes reported; see
    # MiqAutomate::MethodIsolation) or :process (ManageIQ's model: a forked child per method,
    # `$evm` over DRb; see MiqAutomate::ProcessIsolation).
    ISOLATIONS = %i[vm process].freeze

    # datastore: a domain directory (with __domain__.yaml), a directory of domains, or a list
    # of them. models: service models `$evm.vmdb` and typed fields find; vmdb: a
    # MiqAutomate::MockManageIQ answering for services and VMs; timeout: seconds any one
    # method may run (nil: no limit, as the engine); isolation: :vm or :process (ISOLATIONS);
    # v2_key: the key file `decrypt` reads `v2:{…}` passwords with (see Workspace.new).
    # world: a world file (its path; MiqAutomate::World on the engine's clock) or a
    # MiqAutomate::World: `$evm.vmdb`, `$evm.execute` and the root's user answer from it.
    def self.new(datastore:, models: [], vmdb: nil, timeout: nil, isolation: :vm, v2_key: nil, world: nil)
      dirs = Array(datastore).map { |d| File.expand_path(d.to_s) }
      raise ArgumentError, "Engine.new needs at least one datastore directory" if dirs.empty?
      unless ISOLATIONS.include?(isolation.to_s.to_sym) && !isolation.to_s.empty?
        raise ArgumentError, "isolation must be one of #{ISOLATIONS.map(&:inspect).join(', ')}, not #{isolation.inspect}"
      end

      engine = _load(dirs)
      engine.instance_variable_set(:@v2_key, V2Key.resolve(v2_key) || false)
      engine.send(:setup, models, vmdb, timeout, isolation.to_s.to_sym)
      engine.send(:use_world, world) if world
      engine
    end

    attr_reader :models, :vmdb, :timeout, :isolation, :world

    # Sees every log line of later runs as it is written: `engine.on_log { |level, message| }`
    # (level a String: "info", "warn", "error"…; the message as the log has it, secrets
    # masked). For streaming a run's log; the block must not call the engine or its
    # workspace. `on_log` without a block stops it.
    def on_log(&block)
      _on_log(block)
      self
    end

    # Sees each method (or stub) of later runs start and end: `engine.on_method { |event,
    # fqname, status| }`, event :start (status nil) or :end (status the exit status, or a
    # String when the method timed out). Errors of the block are ignored.
    def on_method(&block)
      @on_method = block
      self
    end

    # Seconds any one method (or stub block) may run; nil for no limit.
    def timeout=(seconds)
      @timeout = Engine.check_timeout(seconds)
    end

    def datastore
      @datastore ||= Datastore.new(self)
    end

    # Instantiates `uri` as the engine does and returns the workspace (a MiqAutomate::Workspace:
    # #root, #logs, #state_vars, #instantiations…). `root:` are the caller's root attributes
    # (the request's: `vmdb_object_type`, the task under its model name…). An aborted run
    # raises the engine's error (AbortInstantiation, UnknownMethodRc, MethodTimeout,
    # CyclicalRelationship…) whose #workspace is the workspace so far.
    def instantiate(uri, root: {}, timeout: @timeout)
      ws = new_workspace(root)
      error = _instantiate(ws, uri.to_s, Engine.check_timeout(timeout))
      MiqAutomate::Coverage.ran(ws) if defined?(MiqAutomate::Coverage)
      if error
        error.instance_variable_set(:@workspace, ws)
        raise error
      end
      ws
    end

    # Delivers `uri` as MiqAeEngine.deliver does: instantiates it, and while the root's
    # ae_result is `retry`, waits ae_retry_interval on the engine's virtual clock (#clock)
    # and delivers the whole URI again with the requeue's keys (ae_state, ae_state_retries,
    # ae_state_started, the state vars…). Returns a MiqAutomate::Delivery (ae_result,
    # ae_reason, deliveries, clock, trace, workspace, logs). `max_deliveries:` and
    # `max_time:` (virtual seconds) stop a request that keeps retrying (its result stays
    # `retry`). An abort is not raised: the delivery's ae_result is `error` and #error says
    # why. A method that outlives `timeout:` raises MethodTimeout (#delivery, #workspace).
    # `object_type:`/`object_id:` name the request's object in the log lines (by default
    # the root's vmdb_object_type model).
    #
    # `state:` and `state_data:` are the queue message's for the first delivery, as a
    # requeue carries them: the state to resume (`ae_state`) and the state vars (a Hash).
    def deliver(uri, root: {}, max_deliveries: 100, max_time: nil, timeout: @timeout, object_type: nil, object_id: nil,
                state: nil, state_data: nil)
      raise ArgumentError, "max_deliveries must be a positive Integer, not #{max_deliveries.inspect}" unless max_deliveries.is_a?(Integer) && max_deliveries.positive?
      raise ArgumentError, "max_time must be a non-negative Integer (virtual seconds), not #{max_time.inspect}" unless max_time.nil? || (max_time.is_a?(Integer) && !max_time.negative?)
      raise ArgumentError, "state_data must be a Hash (the state vars), not #{state_data.class}" unless state_data.nil? || state_data.is_a?(Hash)

      object_type, object_id = Engine.request_object(root) if object_type.nil? && object_id.nil?
      ws = new_workspace(root)
      json, started, timed_out, earlier = _deliver(ws, uri.to_s, max_deliveries, max_time, Engine.check_timeout(timeout),
                                                   object_type&.to_s, object_id&.to_i, state&.to_s, state_data)
      earlier.each { |w| w.send(:_share_settings, ws) }
      delivery = Delivery.new(json, ws, started_at: Time.at(started).utc, earlier: earlier)
      MiqAutomate::Coverage.delivered(delivery) if defined?(MiqAutomate::Coverage)
      if timed_out
        error = MethodTimeout.new(timed_out)
        error.instance_variable_set(:@workspace, ws)
        error.instance_variable_set(:@delivery, delivery)
        raise error
      end
      delivery
    end

    # Runs one method of the datastore as ManageIQ's content specs do: on an object given
    # by its attributes (`$evm.object`), whose parent is `parent:` (attributes; nil: the
    # root) under `root:` — no instance, no domain to write. The method's class's declared
    # inputs apply (`inputs:` are the call's arguments), with its embedded methods, in the
    # engine's isolation. Returns the workspace (`ws.root`, `ws.logs`, the object as
    # `ws.root.children.last`, or under the parent); an abort raises as #instantiate does.
    #
    #   ws = engine.call_method("/System/CommonMethods/QuotaMethods/requested",
    #                           root: { "miq_request" => request }, object: { "quota_source_type" => "tenant" })
    def call_method(path, inputs: {}, object: {}, parent: nil, root: {}, timeout: @timeout)
      ws = new_workspace(root)
      error = _call_method(ws, path.to_s, stringify(inputs), stringify(object), parent && stringify(parent),
                           Engine.check_timeout(timeout))
      MiqAutomate::Coverage.ran(ws) if defined?(MiqAutomate::Coverage)
      if error
        error.instance_variable_set(:@workspace, ws)
        raise error
      end
      ws
    end

    # The engine's virtual clock (a MiqAutomate::Engine::Clock): what ae_state_started,
    # max_time and the retry intervals of #deliver read. It starts at the wall time; stubs
    # and models may read or move it (a stub for a 90-second job: `engine.clock.advance(90)`,
    # or `evm.clock.advance(90)` inside the stub). Methods' own `Time.now` is not changed.
    def clock
      @clock ||= Clock.new(self)
    end

    # Replaces an instance or a method (`/ns/Class/Instance` or `/ns/Class/method`, with or
    # without its domain) by a block or a fixed result:
    #   stub(path) { |evm| ... }  the block runs as a method would (`$evm` = evm, `exit`
    #                             codes, exceptions and the timeout as for methods);
    #   stub(path, 8)             exits with that code (MIQ_STOP here);
    #   stub(path, { "a" => 1 })  sets these attributes on the object;
    #   stub(path)                exits MIQ_OK.
    def stub(path, result = nil, &block)
      raise ArgumentError, "stub takes a result or a block, not both" if block && !result.nil?

      case result
      when nil then block ? _stub_block(path.to_s, block) : _stub_exit(path.to_s, MIQ_OK)
      when Integer then _stub_exit(path.to_s, result)
      when Hash
        attributes = result.dup
        _stub_block(path.to_s, ->(evm) { attributes.each { |k, v| evm.object[k.to_s] = v } })
      else raise ArgumentError, "stub result must be an Integer (exit code) or a Hash (attributes), not #{result.class}"
      end
      self
    end

    def inspect
      "#<MiqAutomate::Engine #{datastore.stats.map { |k, v| "#{k}=#{v}" }.join(' ')}>"
    end

    private

    def new_workspace(root)
      ws = Workspace.new(root: root, models: @models, vmdb: @vmdb, v2_key: @v2_key, world: @world)
      ws.extend(Run)
      ws.instance_variable_set(:@engine, self)
      ws.instance_variable_set(:@evm, Engine._service_for(ws))
      ws
    end

    # A world read from its file runs on the engine's clock (one clock for the methods'
    # polling and the world's behaviour).
    def use_world(world)
      @world = world.is_a?(World) ? world : World.load(world.to_s, clock: clock)
    end

    def stringify(hash)
      raise ArgumentError, "expected a Hash of attributes, not #{hash.class}" unless hash.is_a?(Hash)

      hash.to_h { |k, v| [k.to_s, v] }
    end

    def method_event(event, fqname, status = nil)
      @on_method&.call(event, fqname, status)
    rescue StandardError
      nil
    end

    def setup(models, vmdb, timeout, isolation)
      @isolation = isolation
      @models = Array(models)
      @vmdb = vmdb
      # A mock ManageIQ's VMDB runs on the engine's virtual clock: its retire requests and
      # tasks move as deliveries wait their retry intervals.
      _follow_clock(vmdb) if vmdb.is_a?(MiqAutomate::MockManageIQ)
      self.timeout = timeout
      MiqAutomate.method_environment! # paid once here rather than in the first method
    end

    public

    # The loaded datastore: `engine.datastore.stats` => {domains:, namespaces:, classes:,
    # instances:, methods:}.
    class Datastore
      def initialize(engine)
        @engine = engine
      end

      def stats
        @engine.send(:_stats)
      end

      def inspect
        "#<MiqAutomate::Engine::Datastore #{stats}>"
      end
    end

    # The engine's virtual clock. `now` is a UTC Time in whole seconds; `advance(seconds)`
    # (alias `wait`) moves it on, `now = time` sets it.
    class Clock
      def initialize(engine)
        @engine = engine
      end

      def now
        Time.at(@engine.send(:_clock_now)).utc
      end

      def advance(seconds)
        raise ArgumentError, "advance takes whole seconds (an Integer), not #{seconds.inspect}" unless seconds.is_a?(Integer)

        Time.at(@engine.send(:_clock_advance, seconds)).utc
      end
      alias wait advance

      def now=(time)
        raise ArgumentError, "the clock is set to a Time, not #{time.inspect}" unless time.respond_to?(:to_time)

        @engine.send(:_clock_set, time.to_time.to_i)
      end

      def inspect
        "#<MiqAutomate::Engine::Clock #{now.strftime('%Y-%m-%d %H:%M:%S UTC')}>"
      end
    end

    # The `$evm` of an engine run: `instantiate` goes through the engine (a child of the
    # current object, with its fields, relationships and methods). `clock` (not in
    # ManageIQ's $evm: for stubs) is the engine's virtual clock.
    class Service
      def instantiate(uri)
        workspace.engine_instantiations << uri.to_s
        Engine._evm_instantiate(workspace, uri.to_s)
      end

      def clock
        workspace.engine.clock
      end
    end

    # What an engine run's workspace adds: the engine, and `$evm.instantiate` calls in
    # #instantiations (so `have_instantiated` works).
    module Run
      attr_reader :engine

      def instantiations
        super + engine_instantiations
      end

      def engine_instantiations
        @engine_instantiations ||= []
      end
    end

    # Raised into a method's thread when its time is up. An Exception, not a StandardError,
    # so a method's `rescue => e` does not swallow it (its `ensure` blocks still run).
    class TimeoutSignal < Exception # rubocop:disable Lint/InheritException
      attr_reader :token

      def initialize(token, seconds)
        super("execution expired after #{seconds} seconds")
        @token = token
      end
    end

    # `$stdout`/`$stderr` while a method runs: each line is logged as the engine logs a
    # method process's output ("Method STDOUT: …" info, "Method STDERR: …" error).
    class MethodOutput < StringIO
      def initialize(workspace, level, prefix)
        super(+"")
        @workspace = workspace
        @level = level
        @prefix = prefix
        @pending = +""
      end

      def write(*strings)
        strings.sum do |s|
          s = s.to_s
          @pending << MethodOutput.utf8(s)
          s.bytesize
        end.tap { emit_lines }
      end

      # Any bytes a method writes, as UTF-8 text: binary and invalid bytes read as UTF-8 with
      # U+FFFD, other encodings converted (ManageIQ's logger writes every line).
      def self.utf8(text)
        if text.encoding == Encoding::BINARY || text.encoding == Encoding::UTF_8
          text.dup.force_encoding(Encoding::UTF_8).scrub
        else
          text.encode(Encoding::UTF_8, invalid: :replace, undef: :replace)
        end
      end

      def tty?
        false
      end
      alias isatty tty?

      def flush
        self
      end

      # Logs what is left without a newline (at the end of the method).
      def finish
        emit(@pending) unless @pending.empty?
        @pending = +""
      end

      private

      def emit_lines
        while (newline = @pending.index("\n"))
          emit(@pending.slice!(0..newline))
        end
      end

      def emit(line)
        @workspace.send(:_log_line, @level, "#{@prefix} #{line.strip}")
      end
    end

    # Warnings a method file gives when evaluated again in the same VM (each run re-opens
    # its classes): a process per method never sees them, so neither does the log.
    module QuietRedefinitions
      REDEFINITION = /already initialized constant|previous definition of|method redefined/.freeze

      def warn(message, *args, **kwargs)
        return nil if Thread.current[:miq_automate_method_depth].to_i.positive? && REDEFINITION.match?(message.to_s)

        super
      end
    end
    ::Warning.extend(QuietRedefinitions)

    class << self
      # Called by the native runner for each inline method: its embedded methods and body
      # (`scripts`: [[fqname, source], …], the body last) evaluated in one fresh top-level
      # binding, each under its fqname (so backtraces name the method and line), in this VM
      # or in a child process (the engine's isolation). Returns the exit status, or a String
      # when the method timed out.
      def _run_method(evm, workspace, fqname, scripts, seconds)
        engine = workspace.engine
        engine&.send(:method_event, :start, fqname)
        status = if engine&.isolation == :process
                   ProcessIsolation.run(evm, workspace, fqname, scripts, seconds)
                 else
                   # A `$evm` of its own: what a method defines on it (`def $evm.log`) or
                   # on its root object goes with it.
                   own = Engine._service_for(workspace)
                   run_isolated(own, workspace, fqname, seconds) { run_scripts(scripts) }
                 end
      ensure
        engine&.send(:method_event, :end, fqname, status)
      end

      # Called for a stub's block: as a method, with the block as its body. Stubs run in
      # this VM in both isolations: they are the spec's code, and share its variables.
      def _run_block(evm, workspace, path, block, seconds)
        engine = workspace.engine
        engine&.send(:method_event, :start, path)
        status = run_isolated(evm, workspace, path, seconds) { block.call(evm) }
      ensure
        engine&.send(:method_event, :end, path, status)
      end

      # The method's scripts in one fresh binding (a new `main`). A top-level `return` ends
      # the method there with MIQ_OK, as it ends a script file.
      def run_scripts(scripts)
        Thread.current[:miq_automate_scripts] = scripts.map(&:first)
        covering = MiqAutomate::Coverage.covering(scripts.map(&:first)) if defined?(MiqAutomate::Coverage)
        scope = MiqAutomate::FRESH_BINDING.call
        scripts.each { |name, source| scope.eval(source, name, 1) }
      rescue LocalJumpError => e
        raise unless e.reason == :return && scripts.any? { |name, _| e.backtrace&.first.to_s.start_with?("#{name}:") }
      ensure
        MiqAutomate::Coverage.covered(covering) if covering
      end

      # Called by the native runner for an assertion: its substituted text evaluated as Ruby,
      # as ManageIQ's engine `eval`s it (`%w(a b).include?("x")`). ["value", result],
      # ["syntax", message] or ["error", message].
      def _assert(text)
        ["value", MiqAutomate::FRESH_BINDING.call.eval(text, "(assertion)", 1) ? true : false]
      rescue SyntaxError => e
        ["syntax", e.message]
      rescue Exception => e # rubocop:disable Lint/RescueException -- the engine reports any error of an assertion
        ["error", e.message]
      end

      # Called by the engine for a method call on a Ruby object (a substitution
      # `${/#miq_provision.source.vendor}`, a built-in's call on the event stream): as Ruby
      # code would make it, a trailing Hash of Symbol keys given as keywords.
      def _broker_call(target, name, args)
        options = args.last
        if options.is_a?(Hash) && !options.empty? && options.keys.all?(Symbol)
          target.public_send(name, *args[0..-2], **options)
        else
          target.public_send(name, *args)
        end
      end

      # The request's object for the delivery's log lines: the root's vmdb_object_type and
      # the model under that name (`[MiqProvision.1]`), else none.
      def request_object(root)
        type = root["vmdb_object_type"] || root[:vmdb_object_type]
        return [nil, nil] if type.to_s.empty?

        model = root[type.to_s] || root[type.to_s.to_sym]
        id = model.respond_to?(:id) ? model.id : nil
        [type.to_s.split("_").map(&:capitalize).join, id.is_a?(Integer) ? id : nil]
      end

      def check_timeout(seconds)
        return nil if seconds.nil?
        raise ArgumentError, "timeout must be a positive number of seconds, not #{seconds.inspect}" unless seconds.is_a?(Numeric) && seconds.positive? && seconds.finite?

        seconds.to_f
      end

      # Seconds a timed-out method's thread is given to end after it is told (its ensure
      # blocks run), and again after it is killed.
      STOP_GRACE = 1.0

      private

      # The preamble and the postscript around a method, in this VM: the method environment,
      # `$evm`, MIQ_ARGS, an empty `$stdin` and the output capture, all given back
      # afterwards (a method may instantiate another, which runs inside it), and the
      # method's globals put back (MethodIsolation).
      def run_isolated(evm, workspace, name, seconds, &body)
        environment = MiqAutomate.method_environment!
        MiqAutomate.define_exit_codes!
        pid = Process.pid
        saved_globals = MethodIsolation.save_globals
        saved_evm = $evm
        saved_stdin = $stdin
        saved_stdout = $stdout
        saved_stderr = $stderr
        saved_args = ::Object.const_defined?(:MIQ_ARGS, false) ? [::Object::MIQ_ARGS] : nil
        saved_zone = Time.zone if environment
        out = MethodOutput.new(workspace, :info, "Method STDOUT:")
        err = MethodOutput.new(workspace, :error, "Method STDERR:")
        depth = Thread.current[:miq_automate_method_depth].to_i
        begin
          Thread.current[:miq_automate_method_depth] = depth + 1
          saved_scripts = Thread.current[:miq_automate_scripts]
          Thread.current[:miq_automate_scripts] = nil
          Time.zone = "UTC" if environment && saved_zone&.name != "UTC"
          $evm = evm
          set_args(evm.inputs)
          $stdin = StringIO.new(+"")
          $stdout = out
          $stderr = err
          # ManageIQ's preamble points the STDOUT and STDERR constants at the log too, and
          # its method process reads a closed stdin: the constants follow.
          saved_consts = MethodIsolation.swap_std_constants($stdin, out, err)
          status, added = MethodIsolation::CoreWatch.watch { outcome(evm, name, seconds, &body) }
          added.each do |what|
            workspace.send(:_log_line, :warn, "method [#{name}] left #{what} defined: it would not survive on the appliance")
          end
          status
        ensure
          # A method that forked: its child ends with the method, never running the rest
          # of the delivery (ManageIQ's method process is not the engine's).
          exit!(0) if Process.pid != pid
          MethodIsolation.swap_std_constants(*saved_consts) if saved_consts
          $stdin = saved_stdin
          $stdout = saved_stdout
          $stderr = saved_stderr
          out.finish
          err.finish
          saved_args ? set_args(saved_args.first) : remove_args
          $evm = saved_evm
          Time.zone = saved_zone if environment && saved_zone && Time.zone != saved_zone
          Thread.current[:miq_automate_method_depth] = depth
          Thread.current[:miq_automate_scripts] = saved_scripts
          MethodIsolation.restore_globals(saved_globals)
        end
      end

      def set_args(value)
        remove_args
        ::Object.const_set(:MIQ_ARGS, value)
      end

      def remove_args
        ::Object.send(:remove_const, :MIQ_ARGS) if ::Object.const_defined?(:MIQ_ARGS, false)
      end

      # The exit status of the body: 0 at its end, the status of `exit`, 1 for an uncaught
      # exception (logged as the engine's postscript does); a String when it timed out.
      # With a timeout the body runs on a thread of its own, so that a method which
      # rescues every exception can still be stopped (Thread#kill is not rescued).
      def outcome(evm, name, seconds, &body)
        return settle(evm, &body) unless seconds

        token = ::Object.new
        key = Engine._thread_key
        depth = Thread.current[:miq_automate_method_depth]
        # A method instantiated by another whose time ends first is stopped by that one's
        # timeout (the outer method's error, as in ManageIQ): its own waits a grace longer,
        # so the two timers, a few microseconds apart, never race.
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
        outer = Thread.current[:miq_automate_deadline]
        wait = outer && outer <= deadline ? seconds + STOP_GRACE : seconds
        thread = Thread.new do
          Thread.current.report_on_exception = false
          Engine._adopt(key)
          Thread.current[:miq_automate_method_depth] = depth
          Thread.current[:miq_automate_deadline] = [outer, deadline].compact.min
          begin
            settle(evm, &body)
          rescue TimeoutSignal => e
            e
          end
        end
        finished(thread, token, wait) { timed_out(evm, name, seconds, stop(thread, token, seconds), thread.alive?) }
      ensure
        # Left early (an outer method's time is up, or Ctrl-C): the method's thread too.
        if thread&.alive?
          thread.kill
          thread.join(STOP_GRACE)
        end
      end

      # The method thread's status once it ends within its time, else the block's.
      def finished(thread, token, seconds)
        return yield unless thread.join(seconds)

        result = thread.value
        raise result if result.is_a?(TimeoutSignal) && !result.token.equal?(token)

        result
      end

      # Stops a method's thread whose time is up: a TimeoutSignal first (its rescue and
      # ensure blocks run), Thread#kill after STOP_GRACE. Returns where it was.
      def stop(thread, token, seconds)
        where = thread.backtrace || []
        thread.raise(TimeoutSignal.new(token, seconds))
        unless thread.join(STOP_GRACE)
          thread.kill
          thread.join(STOP_GRACE)
        end
        where
      end

      # The status of the body run on this thread.
      def settle(evm)
        yield
        MIQ_OK
      rescue SystemExit => e
        e.status
      rescue TimeoutSignal, SignalException
        # An outer method's timeout, or Ctrl-C / SIGTERM: for the caller, not the method.
        raise
      rescue Exception => e # rubocop:disable Lint/RescueException -- the postscript reports any error
        postscript(evm, e)
        1
      end

      # As ManageIQ's postscript logs an uncaught exception: its class and message, then its
      # backtrace but the last frame, joined by a literal `\n` (the postscript's '\n' is
      # single-quoted); then, as the method's process dies of it, Ruby's own report on the
      # method's stderr ("Method STDERR: …"). The method's top-level frames read `<main>`,
      # as in ManageIQ's script.
      # A stub's block (no script) keeps all its frames.
      def postscript(evm, error)
        scripts = Thread.current[:miq_automate_scripts]
        frames = method_frames(error)
        frames = frames.map { |frame| MethodIsolation.main_label(frame, scripts) } if scripts
        evm.log(:error, "The following error occurred during method evaluation:")
        evm.log(:error, "  #{error.class}: #{error.message}")
        evm.log(:error, "  #{(scripts ? frames[0..-2] : frames).join('\n')}")
        $stderr.write(uncaught_report(error, frames))
        $stderr.flush
      end

      # Ruby's report of an uncaught exception (as `ruby` prints it when not at a terminal).
      def uncaught_report(error, frames)
        first, *more = error.message.to_s.lines.map(&:chomp)
        head = first.to_s.empty? ? "unhandled exception" : "#{first} (#{error.class})"
        lines = ["#{frames.first || '-'}: #{head}", *more] + frames.drop(1).map { |frame| "\tfrom #{frame}" }
        "#{lines.join("\n")}\n"
      end

      def timed_out(evm, name, seconds, where, unstoppable = false)
        message = "Method [#{name}] timed out after #{format('%g', seconds)} seconds (the engine's timeout option)"
        evm.log(:error, message)
        # Where the method's own code was: the engine's frames around it left out.
        ours = ->(line) { line.start_with?("#{__dir__}/") }
        frames = Array(where).drop_while(&ours).take_while { |line| !ours.call(line) }
        evm.log(:error, "  it was stopped at #{frames.join("\n  ")}") unless frames.empty?
        if unstoppable
          evm.log(:error, "  its thread would not end (an ensure block that never returns?): it is left running; " \
                          "isolation: :process kills such a method")
        end
        message
      end

      # The backtrace down to the method's own frames: what runs the method (this file)
      # and its caller are left out; frames of this file above the method's (an
      # Engine::Service call that raised) are kept.
      def method_frames(error)
        ours = ->(line) { line.start_with?("#{__FILE__}:") }
        frames = Array(error.backtrace)
        leading = frames.take_while(&ours)
        leading + frames.drop(leading.size).take_while { |line| !ours.call(line) }
      end
    end
  end
end
