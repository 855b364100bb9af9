# frozen_string_literal: true

require "set"
require "drb/drb"
require "drb/unix"
require "tmpdir"
require "fileutils"

module MiqAutomate
  # `isolation: :process`: ManageIQ's own model. Each method runs in a child process forked
  # from this Ruby (which has loaded the method environment already, so a child costs a fork
  # and not a Ruby start), with `$evm` served to it over DRb as ManageIQ serves it: values
  # are marshalled, workspace objects and service models are DRb references. Its stdout and
  # stderr (the file descriptors, so `STDOUT`/`STDERR` and subprocesses too) are logged as
  # "Method STDOUT:"/"Method STDERR:" lines; its stdin is /dev/null; its timeout kills it
  # (TERM, then KILL). Nothing a method does — exit!, fork, Process.kill, instance
  # variables, globals, monkey patches, constants — reaches the next method or the caller.
  #
  # Every `$evm` call of the child is carried out on the thread that runs the engine (the
  # one waiting for the child), one at a time, exactly as a method in this VM would make it:
  # DRb's own threads only pass the calls on.
  module ProcessIsolation
    # Seconds a timed-out child is given between TERM and KILL.
    KILL_GRACE = 1.0
    # Seconds the output of an ended child is still read (a grandchild may hold the pipe).
    DRAIN = 0.5

    # Hands the `$evm` calls of children to the engine's thread. One per thread that runs
    # engine runs; its DRb server listens on a UNIX socket in a private directory.
    class Host
      attr_reader :uri

      def initialize
        @dir = Dir.mktmpdir("miq-automate-")
        @uri = "drbunix:#{@dir}/engine.sock"
        @inbox = Inbox.new
        @objects = {}
        @idconv = IdConv.new(@objects)
        @drb = DRb::DRbServer.new(@uri, nil, idconv: @idconv)
        HOSTS[@drb] = self
        dir = @dir
        drb = @drb
        ObjectSpace.define_finalizer(self, Host.cleanup(drb, dir))
      end

      def self.cleanup(drb, dir)
        pid = Process.pid
        proc do
          next unless Process.pid == pid

          drb.stop_service
          FileUtils.rm_rf(dir)
        end
      end

      attr_reader :inbox, :dir, :drb

      # A reference the child can call, as DRb makes one: alive until `forget`.
      def export(object)
        @idconv.to_id(object)
      end

      # How many references are held: a method's run forgets those made after it.
      def references
        @objects.size
      end

      # Drops the references made since `mark` (a finished method's; the method that
      # instantiated it, still running, keeps its own).
      def forget(mark)
        @objects.keys.drop(mark).each { |ref| @objects.delete(ref) }
      end

      # From a DRb thread: runs `work` on the engine's thread and gives back its value (or
      # raises its exception, which DRb sends to the child).
      def call(&work)
        reply = Thread::Queue.new
        @inbox.push([:call, work, reply])
        kind, value = reply.pop
        raise value if kind == :raised

        value
      end
    end

    HOSTS = {}.compare_by_identity

    # A queue whose pop can wait a limited time (Thread::Queue#pop(timeout:) is Ruby 3.2).
    class Inbox
      def initialize
        @items = []
        @mutex = Mutex.new
        @ready = ConditionVariable.new
      end

      def push(item)
        @mutex.synchronize do
          @items << item
          @ready.signal
        end
      end

      # The next item, or nil once `deadline` (a monotonic time; nil: none) has passed.
      def pop(deadline)
        @mutex.synchronize do
          while @items.empty?
            left = deadline && (deadline - ProcessIsolation.now)
            return nil if left && left <= 0

            @ready.wait(@mutex, left)
          end
          @items.shift
        end
      end

      def drain
        @mutex.synchronize { @items.slice!(0..) }
      end
    end

    # DRb references held for the method's lifetime (DRb's default, object ids, lets the
    # garbage collector take an object the child still holds).
    class IdConv < DRb::DRbIdConv
      def initialize(objects)
        super()
        @objects = objects
      end

      def to_id(object)
        @objects[object.__id__] = object
        object.__id__
      end

      def to_obj(ref)
        @objects.fetch(ref) { raise RangeError, "#{ref} is not a reference of this method's run" }
      end
    end

    # DRb's server threads hand the call itself to the engine's thread; reading the request
    # and writing the reply stay on DRb's thread.
    module OnEngineThread
      private

      # A call on the workspace (`$evm.log`, `root`, `[]`…) is carried out here, on DRb's
      # thread: the engine's thread is waiting and holds nothing of the workspace, and
      # Ruby's lock makes the two take turns. What re-enters the engine (`instantiate`,
      # which runs methods) goes to the engine's thread, as do calls on other objects
      # (service models, the caller's doubles: code that may expect the caller's thread).
      def perform_without_block
        host = HOSTS[@drb_server]
        return super() unless host
        return super() if OnEngineThread.direct?(@obj, @msg_id)

        host.call { super() }
      end

      DIRECT = [MiqAutomate::Service, MiqAutomate::Object].freeze
      # Plain values the child holds by reference (a Hash of root attributes with models in
      # it cannot be marshalled): their methods never reach the engine. On DRb's thread, a
      # block they yield to (`attributes.sort.each { |k, v| $evm.log(…) }`) calls back into
      # the child while the engine's thread stays free to serve what the block asks
      # (`$evm.log`, a model's `to_s`); on the engine's thread, the two would wait on each
      # other for ever.
      PLAIN = [::Hash, ::Array, ::String, ::Symbol, ::Numeric, ::Range, ::NilClass, ::TrueClass,
               ::FalseClass, ::Struct, ::Set, ::Time].freeze

      def self.direct?(object, message)
        return true if PLAIN.any? { |c| object.is_a?(c) }

        message != :instantiate && DIRECT.any? { |c| object.is_a?(c) }
      end

      def perform_with_block
        host = HOSTS[@drb_server]
        return super() unless host
        return super() if OnEngineThread.direct?(@obj, @msg_id)

        host.call { super() }
      end
    end
    DRb::DRbServer::InvokeMethod.prepend(OnEngineThread)

    # A child's own DRb server, started the first time the child hands the parent a
    # reference (a block, an object that cannot be marshalled): most methods never do, and
    # a server costs a child a few milliseconds.
    module ChildServer
      def self.at(uri)
        Module.new do
          define_method(:current_server) do
            super()
          rescue DRb::DRbServerNotFound
            start_service(uri)
          end

          # Asked on every call ("is this reference mine?"): without a server, none is.
          define_method(:here?) do |other|
            primary_server ? super(other) : false
          end
        end
      end
    end

    class << self
      # Runs the method's scripts in a child; returns its exit status, or a String when it
      # timed out (as Engine._run_method does).
      def run(evm, workspace, fqname, scripts, seconds)
        MiqAutomate.method_environment!
        MiqAutomate.define_exit_codes!
        host = (Thread.current[:miq_automate_host] ||= Host.new)
        mark = host.references
        evm_ref = host.export(evm)
        MiqAutomate::Coverage.before_fork(host) if defined?(MiqAutomate::Coverage)
        out_r, out_w = IO.pipe
        err_r, err_w = IO.pipe
        prctl # looked up here, before the fork
        pid = fork_method(host, evm_ref, evm.inputs, scripts, out_w, err_w, out_r, err_r)
        begin
          Process.setpgid(pid, pid) # as the child does: no window where a kill misses it
        rescue SystemCallError
          nil
        end
        out_w.close
        err_w.close
        watch(host, workspace, fqname, pid, [[out_r, :info, "Method STDOUT:"], [err_r, :error, "Method STDERR:"]], seconds)
      ensure
        [out_r, out_w, err_r, err_w].each { |io| io&.close unless io&.closed? }
        host&.forget(mark) if mark
      end

      private

      # The child: stdin /dev/null, stdout and stderr the pipes, its own process group,
      # default signal handlers, `$evm` a DRb reference, and the scripts in a fresh binding.
      # It ends with exit! (no at_exit handler of the parent runs in it).
      def fork_method(host, evm_ref, inputs, scripts, out_w, err_w, out_r, err_r)
        Process.fork do
          status = 1
          Thread.current[:miq_automate_method_depth] = 1
          begin
            Process.setpgid(0, 0)
            die_with_parent
            out_r.close
            err_r.close
            STDIN.reopen(File::NULL)
            STDOUT.reopen(out_w)
            STDERR.reopen(err_w)
            out_w.close
            err_w.close
            STDOUT.sync = STDERR.sync = true
            $stdin = STDIN
            $stdout = STDOUT
            $stderr = STDERR
            %w[INT TERM HUP QUIT USR1 USR2 PIPE CHLD].each { |sig| trap(sig, "DEFAULT") }
            # The parent's DRb connections and servers are not this process's (a server
            # still registered here would take the parent's references for its own).
            DRb::DRbConn.instance_variable_set(:@pool, [])
            HOSTS.each_key { |server| DRb.remove_server(server) }
            DRb.primary_server = nil
            DRb.singleton_class.prepend(ChildServer.at("drbunix:#{host.dir}/method-#{Process.pid}.sock"))
            $evm = DRbObject.new_with(host.uri, evm_ref)
            ::Object.send(:remove_const, :MIQ_ARGS) if ::Object.const_defined?(:MIQ_ARGS, false)
            ::Object.const_set(:MIQ_ARGS, inputs)
            MiqAutomate::Coverage.forked! if defined?(MiqAutomate::Coverage)
            status = child_status($evm, scripts)
            MiqAutomate::Coverage.child_done if defined?(MiqAutomate::Coverage)
          rescue Exception => e # rubocop:disable Lint/RescueException -- nothing may escape a child
            STDERR.puts("miq-automate: the method's process failed: #{e.class}: #{e.message}") rescue nil # rubocop:disable Style/RescueModifier
          ensure
            STDOUT.flush rescue nil # rubocop:disable Style/RescueModifier
            STDERR.flush rescue nil # rubocop:disable Style/RescueModifier
            File.unlink("#{host.dir}/method-#{Process.pid}.sock") rescue nil # rubocop:disable Style/RescueModifier
            exit!(status.is_a?(Integer) ? status & 0xff : 1)
          end
        end
      end

      # Linux: the kernel kills this child when the thread that forked it (the engine's)
      # dies, so a method that will not stop never outlives a killed engine. Elsewhere the
      # engine's own clean-up (watch's ensure) is all there is.
      PR_SET_PDEATHSIG = 1

      def die_with_parent
        prctl&.call(PR_SET_PDEATHSIG, Signal.list.fetch("KILL"))
      rescue StandardError
        nil
      end

      # libc's prctl, looked up once in the engine's process (a child would pay for loading
      # Fiddle on every method); nil where there is none.
      def prctl
        return @prctl if defined?(@prctl)

        @prctl = begin
          require "fiddle"
          Fiddle::Function.new(Fiddle.dlopen(nil)["prctl"], [Fiddle::TYPE_INT, Fiddle::TYPE_LONG], Fiddle::TYPE_INT)
        rescue LoadError, StandardError
          nil
        end
      end

      def child_status(evm, scripts)
        Engine.send(:settle, evm) { Engine.run_scripts(scripts) }
      rescue SignalException => e
        # A signal the method did not trap: the process dies of it, as on the appliance.
        trap(e.signo, "DEFAULT")
        Process.kill(e.signo, Process.pid)
        sleep
      end

      # The parent's side: carries out the child's `$evm` calls, logs its output, and
      # stops it at its timeout (TERM, KILL after KILL_GRACE). Returns its exit status.
      def watch(host, workspace, fqname, pid, outputs, seconds)
        inbox = host.inbox
        readers = [Thread.new { read_outputs(outputs, inbox) }]
        waiter = Thread.new { inbox.push([:exit, pid, Process.wait2(pid).last]) }
        outer = (Thread.current[:miq_automate_deadlines] ||= [])
        own = seconds && (ProcessIsolation.now + seconds)
        deadline = ([own] + outer).compact.min
        outer.push(own)
        killed_at = nil
        stopped_by_outer = false
        status = nil
        others = []
        until status
          item = inbox.pop(deadline)
          if item.nil?
            # Time is up (its own, or that of the method that instantiated it): TERM now,
            # KILL after the grace.
            if killed_at
              kill_group(pid, :KILL)
              deadline = nil
            else
              killed_at = ProcessIsolation.now
              stopped_by_outer = own.nil? || killed_at < own
              kill_group(pid, :TERM)
              deadline = killed_at + KILL_GRACE
            end
            next
          end
          # The exit of another child (an outer method's) is that method's business.
          next others << item if item.first == :exit && item[1] != pid

          status = handle(workspace, item)
        end
        # What the child's own children left: end them, read the last lines.
        kill_group(pid, :KILL, reaped: true)
        readers.each { |t| t.join(DRAIN) || t.kill }
        inbox.drain.each { |item| item.first == :exit ? others << item : handle(workspace, item) }
        others.each { |item| inbox.push(item) }
        waiter.join
        if stopped_by_outer
          workspace.send(:_log_line, :error, "Stopped: the timeout of the method that instantiated this one expired")
          return MIQ_ABORT
        end
        fate(workspace, fqname, status, killed_at && seconds)
      ensure
        outer&.pop
        # Left early (an exception on the engine's thread: Ctrl-C, a kill): the method's
        # process group goes too, and nothing is left behind.
        unless status
          kill_group(pid, :KILL)
          readers&.each(&:kill)
          waiter&.kill
        end
      end

      # Reads the child's stdout and stderr (one thread for both: a thread a method is a
      # measurable part of its cost) until both end, a line at a time into the inbox.
      def read_outputs(outputs, inbox)
        pending = outputs.to_h { |io, level, prefix| [io, [level, prefix, String.new(encoding: Encoding::BINARY)]] }
        until pending.empty?
          ready, = IO.select(pending.keys)
          ready.each do |io|
            level, prefix, buffer = pending[io]
            begin
              buffer << io.read_nonblock(65_536)
            rescue IO::WaitReadable
              next
            rescue EOFError, IOError, SystemCallError
              buffer << "\n" unless buffer.empty?
              pending.delete(io)
            end
            while (newline = buffer.index("\n"))
              line = buffer.slice!(0..newline)
              inbox.push([:line, level, "#{prefix} #{line.force_encoding(Encoding::UTF_8).scrub.strip}"])
            end
          end
        end
      end

      # One item of the inbox: a call carried out, a line logged; the child's status when
      # it ended.
      def handle(workspace, item)
        case item.first
        when :call
          _, work, reply = item
          reply.push(carry_out(work))
          nil
        when :line
          workspace.send(:_log_line, item[1], item[2])
          nil
        when :exit
          item[2]
        end
      end

      def carry_out(work)
        # Blocks the child passed are called back through this process's DRb server.
        saved = Thread.current["DRb"]
        Thread.current["DRb"] = { "server" => HOSTS.key(Thread.current[:miq_automate_host]) }
        [:value, work.call]
      rescue Exception => e # rubocop:disable Lint/RescueException -- the child gets it, as DRb sends it
        [:raised, e]
      ensure
        Thread.current["DRb"] = saved
      end

      # The exit status the engine sees, with a log line for a child that did not end on
      # its own: a timeout (a String, as in the VM), a signal (an unknown exit status).
      def fate(workspace, fqname, status, timed_out_after)
        if timed_out_after
          message = "Method [#{fqname}] timed out after #{format('%g', timed_out_after)} seconds (the engine's timeout option)"
          workspace.send(:_log_line, :error, "#{message}: its process was ended with SIG#{Signal.signame(status.termsig || 15)}")
          return message
        end
        return status.exitstatus if status.exited?

        signal = status.termsig ? "SIG#{Signal.signame(status.termsig)}" : status.inspect
        workspace.send(:_log_line, :error, "Method [#{fqname}]: its process was killed by #{signal}")
        128 + status.termsig.to_i
      end

      # Signals the child's process group (the child and what it forked); the child alone
      # when it has no group yet. Once reaped, its pid may be another process's: never alone.
      def kill_group(pid, signal, reaped: false)
        Process.kill(signal, -pid)
      rescue Errno::ESRCH, Errno::EPERM
        return if reaped

        begin
          Process.kill(signal, pid)
        rescue Errno::ESRCH, Errno::EPERM
          nil
        end
      end
    end

    def self.now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  
    # What `$evm` hands a child is a reference, never a copy: the workspace's objects and
    # the service models (a copy's changes would be lost, as on the appliance they are not).
    [MiqAutomate::Service, MiqAutomate::Object, MiqAutomate::ServiceModel].each { |c| c.include(DRbUndumped) }
  end
end
