# frozen_string_literal: true

require "drb/drb"
require "json"
require "monitor"
require "fileutils"
require "yaml"

module MiqAutomate
  # Automate coverage: which methods, lines, states and hooks of a domain a test suite
  # reached. `require "miq_automate/coverage"` (at the top of a spec helper, as SimpleCov)
  # starts collecting (`require "miq_automate/coverage/collector"` defines this module
  # without starting it) for every engine run (`Engine#instantiate`, `#deliver`,
  # `#call_method`) and every rspec-kit `run_method` of this process, in both isolations;
  # at exit it writes `coverage/miq_automate.<pid>.json` (one file per process, so parallel
  # rspec processes never share one). `miq-automate coverage report coverage/*.json
  # --datastore DOMAIN` merges and prints them. See docs/reference/coverage.md.
  #
  #   MiqAutomate::Coverage.start(dir: "coverage")  # or file: "cov.json"; once per process
  #   MiqAutomate::Coverage.write                   # also done at exit
  #
  # The mechanism (lines only, no branches): Ruby 3.1's ::Coverage does not see `eval`ed
  # code, and a method is evaluated in a fresh binding (MiqAutomate::MethodIsolation). So a
  # `:script_compiled` TracePoint catches the instruction sequence each method's `eval`
  # compiles, its executable lines are those with a `:line` event in it and its children
  # (what ::Coverage counts too), and a `:line` TracePoint enabled with `target:` that
  # sequence alone counts each line run. Only the methods' own code is traced: the rest of
  # the process runs at full speed.
  #
  # State machines: the trace of each `Engine#deliver` (its enter/step/done/raised/
  # instantiate events); relationships: its "Following Relationship" log lines, with the
  # domain of the instance that served each (the "Updated namespace" line of the same URI,
  # else the trace's main step). `Engine#instantiate` gives its machines' events
  # (Workspace#state_machine_events), `#call_method` methods and relationships only.
  #
  # Process isolation: the child counts its own method's lines and sends them to the
  # parent over the method's DRb connection before it exits. A child killed (its timeout,
  # a signal, `Kernel.exit!`) loses the counts of that one method run.
  module Coverage
    FORMAT = "miq-automate-coverage/1"
    MECHANISM = "lines: TracePoint :line targeted at each method's compiled code (no branches: Ruby 3.1 cannot cover eval)"

    # One method run being traced (a method's scripts: embedded methods, then the body).
    class Frame
      attr_reader :pending, :keys, :tracepoints

      def initialize(keys)
        @keys = keys # script name (eval file) => [fqname, export file or nil]
        @pending = keys.keys
        @tracepoints = []
      end
    end

    # What a child process hands its parent: the counts of its method.
    class Sink
      def merge(data)
        Coverage.merge_methods(data)
        nil
      end
    end

    class << self
      # Starts collecting (idempotent). `dir`: where `write` puts miq_automate.<pid>.json
      # (default: $MIQ_AUTOMATE_COVERAGE_DIR, else ./coverage); `file`: one exact file
      # instead. Writes at exit.
      def start(dir: nil, file: nil, at_exit: true)
        @lock ||= Monitor.new
        @lock.synchronize do
          @dir = File.expand_path(dir || ENV["MIQ_AUTOMATE_COVERAGE_DIR"] || "coverage")
          @file = file && File.expand_path(file)
          return self if running?

          reset
          @pid = Process.pid
          @compiled = TracePoint.new(:script_compiled) { |tp| compiled(tp) }
          @compiled.enable
          unless @at_exit_set || !at_exit
            @at_exit_set = true
            Kernel.at_exit { write if running? && Process.pid == @pid }
          end
        end
        self
      end

      def running?
        !@compiled.nil?
      end

      # Stops collecting (what was collected stays, for `write` or `result`).
      def stop
        @compiled&.disable
        @compiled = nil
        self
      end

      # Forgets what was collected.
      def reset
        @data = { "methods" => {}, "machines" => {}, "relationships" => {} }
        @sources = {}
      end

      # Collects what the block runs alone and returns it (a Hash in the file's format),
      # leaving what was collected before, and whether collection ran, as they were.
      def capture
        @lock ||= Monitor.new
        was_running = running?
        saved = @data
        saved_sources = @sources
        start(dir: @dir, file: @file, at_exit: false) unless was_running
        reset
        yield
        result
      ensure
        stop unless was_running
        @data = saved
        @sources = saved_sources
      end

      # The path `write` writes to.
      def path
        @file || File.join(@dir || File.expand_path("coverage"), "miq_automate.#{Process.pid}.json")
      end

      # The coverage document (a Hash in the file's format).
      def result
        @lock.synchronize do
          {
            "format" => FORMAT,
            "mechanism" => MECHANISM,
            "pid" => Process.pid,
            "ruby" => RUBY_VERSION,
            "written_at" => Time.now.utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "methods" => deep_copy(@data["methods"]),
            "machines" => deep_copy(@data["machines"]),
            "relationships" => deep_copy(@data["relationships"])
          }
        end
      end

      # Writes the document, atomically (a temp file beside it, then a rename). Returns the path.
      def write(to = path)
        to = File.expand_path(to)
        FileUtils.mkdir_p(File.dirname(to))
        tmp = "#{to}.#{Process.pid}.tmp"
        File.write(tmp, "#{JSON.generate(result)}\n")
        File.rename(tmp, to)
        to
      ensure
        File.unlink(tmp) if tmp && File.exist?(tmp)
      end

      # ---- hooks (called by the engine and the rspec kit; cheap when not running) ----

      # Before a method's scripts are evaluated: `scripts` [[fqname, source], …] (the
      # engine's) or `files` (the rspec kit's method files). Returns the frame for #covered.
      def covering(names, files: nil)
        return nil unless running?

        keys = if files
                 names.to_h { |file| [file, [fqname_of_file(file), file]] }
               else
                 names.to_h { |name| [name, [name, nil]] }
               end
        body = keys.values.last&.first
        embedded = keys.values[0..-2].map(&:first)
        @lock.synchronize do
          keys.each_value { |fq, file| method_record(fq, file) }
          body_rec = @data["methods"][body]
          body_rec["runs"] += 1
          embedded.each do |fq|
            body_rec["embeds"] |= [fq]
            @data["methods"][fq]["embedded_in"] |= [body]
          end
        end
        frame = Frame.new(keys)
        (Thread.current[:miq_automate_coverage] ||= []) << frame
        frame
      end

      # After them (also when they raised): their line tracing ends.
      def covered(frame)
        return unless frame

        stack = Thread.current[:miq_automate_coverage]
        stack&.delete(frame)
        frame.tracepoints.each(&:disable)
      end

      # After Engine#deliver: its state machines and relationships.
      def delivered(delivery)
        return unless running? && delivery

        @lock.synchronize do
          passes = delivery.trace.map { |pass| pass["events"] || [] }
          passes.each { |events| machine_events(events) }
          machine_runs(passes.flatten)
          relationships(delivery.to_h["logs"].map { |l| l["message"] }, passes.flatten)
        end
      rescue StandardError => e
        warn "miq_automate coverage: a delivery was not recorded (#{e.class}: #{e.message})"
      end

      # After Engine#instantiate or #call_method: its state machines and relationships.
      def ran(workspace)
        return unless running? && workspace

        @lock.synchronize do
          events = workspace.respond_to?(:state_machine_events) ? workspace.state_machine_events : []
          machine_events(events)
          machine_runs(events)
          relationships(workspace.logs.map(&:last), events)
        end
      rescue StandardError => e
        warn "miq_automate coverage: a run was not recorded (#{e.class}: #{e.message})"
      end

      # Process isolation, in the parent before the fork: where the child sends its counts.
      def before_fork(host)
        return unless running?

        @sink ||= Sink.new
        @parent = [host.uri, host.export(@sink)]
      end

      # In the child, before the method: it counts only its own run.
      def forked!
        return unless running?

        @lock = Monitor.new
        reset
      end

      # In the child, after the method: the counts go to the parent.
      def child_done
        return unless running? && @parent

        methods = @data["methods"]
        return if methods.empty?

        DRbObject.new_with(*@parent).merge(methods)
      rescue StandardError => e
        STDERR.puts("miq_automate coverage: the method's line counts were lost (#{e.class}: #{e.message})") rescue nil # rubocop:disable Style/RescueModifier
      end

      # Adds method records (a child's, or another file's) to this process's.
      def merge_methods(methods)
        @lock.synchronize do
          methods.each do |fq, other|
            rec = method_record(fq, other["file"])
            rec["outside_domain"] = true if other["outside_domain"]
            rec["runs"] += other["runs"].to_i
            rec["embeds"] |= Array(other["embeds"])
            rec["embedded_in"] |= Array(other["embedded_in"])
            add_lines(rec["lines"], Array(other["lines"]))
          end
        end
      end

      # The fqname of a method file of a domain export (`<domain>/ns/Class.class/__methods__/m.rb`
      # → `/Domain/ns/Class/m`); when it is not in one, the file's path, relative to the
      # current directory when below it (see #outside_domain?).
      def fqname_of_file(file)
        @file_names ||= {}
        @file_names[file] ||= begin
          parts = file.split("/")
          methods_at = parts.rindex("__methods__")
          root = File.dirname(file)
          root = File.dirname(root) until root == "/" || File.file?(File.join(root, "__domain__.yaml"))
          if methods_at && methods_at >= 2 && root != "/" && parts[methods_at - 1].end_with?(".class")
            domain = domain_name(root)
            relative = parts[(root.split("/").size)...(methods_at - 1)]
            klass = parts[methods_at - 1].delete_suffix(".class")
            "/#{[domain, *relative, klass, File.basename(file, '.rb')].join('/')}"
          else
            cwd = "#{Dir.pwd.chomp('/')}/"
            file.start_with?(cwd) ? file.delete_prefix(cwd) : file
          end
        end
      end

      private

      def domain_name(root)
        YAML.safe_load(File.read(File.join(root, "__domain__.yaml"))).dig("object", "attributes", "name") || File.basename(root)
      rescue StandardError
        File.basename(root)
      end

      def method_record(fqname, file)
        rec = (@data["methods"][fqname] ||= { "file" => nil, "runs" => 0, "lines" => [], "embeds" => [], "embedded_in" => [] })
        rec["file"] ||= file
        # A method file outside a domain export (run_method of a loose .rb): keyed by its
        # path, no fqname, so the report never takes a directory for a domain.
        rec["outside_domain"] = true if file && (fqname == file || !fqname.start_with?("/"))
        rec
      end

      # A method's script compiled by its eval: its executable lines are recorded (0 hits),
      # and its `:line` events counted from now on.
      #
      # A method file of a domain export compiled outside a method run (a spec's `load`, the
      # rspec kit's `load_method`) is covered too, under its fqname: its tracing stays on,
      # since the code it defined runs later, from the spec.
      def compiled(tp)
        frame = Thread.current[:miq_automate_coverage]&.last
        iseq = tp.instruction_sequence
        name = iseq.path
        if frame && tp.eval_script && frame.pending.include?(name)
          frame.pending.delete(name)
          fqname, = frame.keys[name]
          frame.tracepoints << trace_lines(fqname, tp.eval_script, iseq)
        elsif METHOD_FILE.match?(name) && (fqname = fqname_of_file(name)) != name && fqname.start_with?("/")
          @lock.synchronize { method_record(fqname, name)["runs"] += 1 }
          trace_lines(fqname, tp.eval_script, iseq)
        end
      rescue StandardError => e
        warn "miq_automate coverage: #{name} is not covered (#{e.class}: #{e.message})"
      end

      METHOD_FILE = %r{\.class/__methods__/[^/]+\.rb\z}.freeze

      # Records the sequence's executable lines (0 hits) and counts its `:line` events from
      # now on; returns the TracePoint.
      def trace_lines(fqname, source, iseq)
        counts = @lock.synchronize do
          rec = @data["methods"][fqname]
          executable(fqname, source, iseq).each { |line| rec["lines"][line - 1] ||= 0 }
          rec["lines"]
        end
        tracer = TracePoint.new(:line) do |t|
          i = t.lineno - 1
          counts[i] = (counts[i] || 0) + 1
        end
        tracer.enable(target: iseq)
        tracer
      end

      # The lines with a `:line` event in the sequence and its children, kept per source.
      def executable(fqname, source, iseq)
        digest = source&.hash
        cached = @sources[fqname]
        return cached[1] if digest && cached && cached[0] == digest

        lines = []
        walk = lambda do |seq|
          seq.trace_points.each { |line, event| lines << line if event == :line }
          seq.each_child { |child| walk.call(child) }
        end
        walk.call(iseq)
        lines = lines.uniq.sort
        @sources[fqname] = [digest, lines]
        lines
      end

      def add_lines(into, lines)
        lines.each_with_index do |hits, i|
          next if hits.nil?

          into[i] = (into[i] || 0) + hits.to_i
        end
      end

      # A run's (a delivery's, all its passes; an instantiation's) events: each machine
      # counts one run of each instance that took part (`runs`; `instances` counts passes).
      def machine_runs(events)
        events.map { |e| e["machine"].to_s }.uniq.each do |machine|
          next if machine.empty?

          bump((@data["machines"][machine_class(machine)]["runs"] ||= {}), machine)
        end
      end

      # One pass's (a delivery's, an instantiation's) state machine events; each machine
      # counts one pass of each instance that took part.
      def machine_events(events)
        events.each { |e| machine_event(e) }
        events.map { |e| e["machine"].to_s }.uniq.each do |machine|
          next if machine.empty?

          bump(@data["machines"][machine_class(machine)]["instances"], machine)
        end
      end

      def machine_event(event)
        machine = event["machine"].to_s
        return if machine.empty?

        rec = (@data["machines"][machine_class(machine)] ||= { "instances" => {}, "states" => {} })
        state = (rec["states"][event["state"].to_s] ||= { "entered" => 0, "results" => {}, "raised" => 0, "steps" => {} })
        case event["event"]
        when "enter"
          state["entered"] += 1
        when "step"
          step = (state["steps"][event["step"].to_s] ||= { "ran" => 0, "results" => {}, "served_by" => {} })
          step["ran"] += 1
          bump(step["results"], event["result"].to_s)
          bump(step["served_by"], event["fqname"]) if event["fqname"]
        when "done"
          bump(state["results"], event["result"].to_s)
        when "raised"
          state["raised"] += 1
        when "instantiate"
          step = (state["steps"][event["step"].to_s] ||= { "ran" => 0, "results" => {}, "served_by" => {} })
          bump((step["instantiated"] ||= {}), event["fqname"] || event["uri"].to_s.split(/[?#]/).first)
        end
      end

      # The class of a machine's object (`/Dom/ns/Class/Instance` → `/Dom/ns/Class`).
      def machine_class(machine)
        machine.include?("/") ? machine.sub(%r{/[^/]*\z}, "") : machine
      end

      FOLLOWING = /\AFollowing Relationship \[(?<uri>.*)\]\z/.freeze
      FOLLOWED = /\AFollowed  Relationship \[(?<uri>.*)\]\z/.freeze
      NAMESPACE = /\AUpdated namespace \[(?<uri>.*)  (?<ns>[^\]]*)\]\z/.freeze

      # What the engine logs for a relationship (ObjectSet#process_relationship): "Following
      # Relationship [uri#message]"; then, when an instance of a domain serves it, "Updated
      # namespace [uri#message  Dom/ns]" with that very URI text (each of a wildcard's
      # expansions, its own); "Followed  Relationship [uri#message]" when it is done. The
      # instances it runs follow their own relationships in between, so the follows are a
      # stack, and only a namespace line naming the innermost open follow's URI is its.
      # A follow the logs leave unserved takes the instance a state's main step event names
      # (`steps`: the run's trace events) for that relationship: a stub a domain has.
      # `logs`: the run's log messages.
      def relationships(logs, steps = [])
        follows = []
        unserved = Hash.new(0)
        logs.each do |message|
          next unless message.start_with?("Following Relationship [", "Updated namespace [", "Followed  Relationship [")

          if (m = FOLLOWING.match(message))
            key = relationship_key(m[:uri])
            (@data["relationships"][key] ||= { "followed" => 0, "served_by" => {} })["followed"] += 1
            follows << { uri: m[:uri], key: key, served: false }
          elsif (m = FOLLOWED.match(message))
            at = follows.rindex { |f| f[:uri] == m[:uri] }
            next unless at

            follows.pop(follows.size - at).each { |f| unserved[f[:key]] += 1 unless f[:served] }
          elsif (top = follows.last) && (m = NAMESPACE.match(message)) && serves?(top, m[:uri])
            bump(@data["relationships"][top[:key]]["served_by"], served_by(m[:uri], m[:ns]))
            top[:served] = true unless top[:uri].include?("*")
          end
        end
        follows.each { |f| unserved[f[:key]] += 1 unless f[:served] }
        served_by_steps(unserved, steps)
      end

      # Whether "Updated namespace [uri  …]" is the lookup of `follow`'s instance: the
      # same URI text, or one of a wildcard's expansions.
      def serves?(follow, uri)
        return true if follow[:uri] == uri
        return false unless follow[:uri].include?("*")

        pattern, = follow[:key].split("#", 2)
        path, = relationship_key(uri).split("#", 2)
        File.fnmatch?(pattern, path, File::FNM_CASEFOLD)
      end

      # `/Dom/ns/Class/Instance`: the domain and namespace the engine found (`Dom/ns`), and the
      # URI's class and instance.
      def served_by(uri, namespace)
        path, = relationship_key(uri).split("#", 2)
        "/#{namespace.delete_prefix('/')}/#{path.split('/').reject(&:empty?).last(2).join('/')}"
      end

      # Follows no namespace line served, served by what a main step event names for the
      # same relationship (its `method`, without the message).
      def served_by_steps(unserved, steps)
        return if unserved.empty?

        steps.each do |event|
          next unless event["event"] == "step" && event["step"] == "main" && event["fqname"]

          path = relationship_key(event["method"].to_s).split("#", 2).first.downcase
          key = unserved.keys.find { |k| unserved[k].positive? && k.split("#", 2).first.downcase == path }
          next unless key

          unserved[key] -= 1
          bump(@data["relationships"][key]["served_by"], event["fqname"])
        end
      end

      # A relationship as followed, without its scheme and query (values differ per run,
      # and may be secrets): `/ns/Class/Instance#message`.
      def relationship_key(uri)
        text = uri.sub(%r{\A[a-z]+://?}i, "/").sub(%r{\A//+}, "/")
        path, fragment = text.split("#", 2)
        path = path.split("?", 2).first
        fragment ? "#{path}##{fragment}" : path
      end

      def bump(hash, key, by = 1)
        hash[key] = (hash[key] || 0) + by
      end

      def deep_copy(object)
        Marshal.load(Marshal.dump(object))
      end
    end
  end
end
