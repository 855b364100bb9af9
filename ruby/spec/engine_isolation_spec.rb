# frozen_string_literal: true

require "spec_helper"
require "timeout"
require_relative "support/temp_domain"

# Methods kept apart as ManageIQ keeps them (a process per method): in the default mode
# (isolation: :vm, in this VM) and in ManageIQ's own model (isolation: :process, a forked
# child per method with $evm over DRb). Each method of the domain below is one behaviour.
RSpec.describe "MiqAutomate::Engine method isolation" do
  methods = {
    # QuotaMethods/requested sets @check_quota = false for a VmReconfigureRequest; on the
    # appliance it dies with the method's process, so a later quota check still checks.
    "requested" => <<~RUBY,
      @check_quota = false if $evm.root["request_type"] == "VmReconfigureRequest"
      $evm.root["requested_cpu"] = 8
    RUBY
    "validate" => <<~RUBY,
      if @check_quota == false
        $evm.log(:info, "Bypassing quota check")
        $evm.root["ae_result"] = "ok"
      else
        $evm.root["ae_result"] = $evm.root["requested_cpu"].to_i > 4 ? "error" : "ok"
      end
    RUBY
    "leave_things" => <<~RUBY,
      $miq_spec_existing = "changed by a method"
      $miq_spec_created = 1
      def helper_of_a_method
        1
      end
      def $evm.log(*_args)
        nil
      end
    RUBY
    "see_things" => <<~RUBY,
      $evm.log(:info, "a line of see_things")
      $evm.root["seen"] = [$miq_spec_existing, $miq_spec_created, respond_to?(:helper_of_a_method, true)].inspect
      $evm.root["main"] = inspect
    RUBY
    "patch_string" => <<~RUBY,
      class String
        def miq_spec_shout
          upcase
        end
      end
      MIQ_SPEC_CONSTANT = 1
    RUBY
    "read_stdin" => <<~RUBY,
      $evm.root["stdin"] = $stdin.read
    RUBY
    "read_const_stdin" => <<~RUBY,
      $evm.root["stdin"] = STDIN.read
    RUBY
    "top_return" => <<~RUBY,
      $evm.root["before_return"] = true
      return if $evm.root["before_return"]
      $evm.root["after_return"] = true
    RUBY
    "swallow_timeout" => <<~RUBY,
      loop do
        begin
          sleep 5
        rescue Exception
          $evm.root["swallowed"] = true
        end
      end
    RUBY
    "exit_bang" => <<~RUBY,
      $evm.log(:info, "before exit!")
      exit!(3)
    RUBY
    "kill_self" => <<~RUBY,
      $evm.log(:info, "before the KILL")
      Process.kill(:KILL, Process.pid)
    RUBY
    "fork_and_go" => <<~RUBY,
      child = fork
      File.write(MIQ_ARGS["marker"] || $evm.root["marker"], "\#{Process.pid}\\n", mode: "a")
      Process.wait(child) if child
    RUBY
    "leave_grandchild" => <<~RUBY,
      pid = fork { sleep 30 }
      File.write($evm.root["marker"], pid.to_s)
    RUBY
    "outputs" => <<~RUBY,
      puts "to $stdout"
      STDOUT.puts "to STDOUT"
      $stderr.puts "to $stderr"
      STDERR.puts "to STDERR"
      system("echo from a subprocess")
    RUBY
    "nested" => <<~RUBY,
      child = $evm.instantiate("/Demo/Run/requested")
      $evm.root["nested_pid_differs"] = child.nil? ? "no child" : "child ran"
    RUBY
    "use_model" => <<~RUBY,
      vm = $evm.root["vm"]
      vm.start
      $evm.root["vm_name"] = vm.name
      $evm.root["vm_power"] = vm.power_state
      disks = []
      vm.each_disk { |size| disks << size * 10 } # a block: called back over DRb in a child
      $evm.root["disks"] = disks
    RUBY
    "outer_slow" => <<~RUBY,
      $evm.instantiate("/Demo/Run/inner_slow")
      sleep 10
    RUBY
    "inner_slow" => <<~RUBY,
      sleep 10
    RUBY
    # ManageIQ's content logs the root this way (GroupSequenceCheck): a Hash of attributes
    # that holds models, iterated with a block that calls back into $evm.
    "log_root" => <<~RUBY,
      $evm.root.attributes.sort.each { |k, v| $evm.log("info", "root: \#{k}: \#{v}") }
      $evm.root["logged"] = "yes"
    RUBY
    "count_calls" => <<~RUBY,
      $evm.log(:info, "counted")
    RUBY
  }

  around do |example|
    Dir.mktmpdir("miq-isolation-") do |dir|
      @domain = TempDomain.write(dir, methods)
      @tmp = dir
      example.run
    end
  end

  def logs(ws)
    ws.logs.map(&:last)
  end

  shared_examples "kept apart" do |isolation|
    let(:engine) { build_engine(datastore: @domain, isolation: isolation) }

    it "does not let an instance variable of one method reach the next (an over-quota request is still refused)" do
      root = { "request_type" => "VmReconfigureRequest" }
      engine.instantiate("/Demo/Run/requested", root: root)
      ws = engine.instantiate("/Demo/Run/validate", root: root.merge("requested_cpu" => 8))
      expect(ws.root["ae_result"]).to eq("error")
      expect(logs(ws)).not_to include(a_string_matching(/Bypassing quota check/))
    end

    it "puts back globals, drops top-level defs, and gives each method its own $evm" do
      $miq_spec_existing = "the caller's"
      engine.instantiate("/Demo/Run/leave_things")
      ws = engine.instantiate("/Demo/Run/see_things")
      expect(ws.root["seen"]).to eq(["the caller's", nil, false].inspect)
      expect(ws.root["main"]).to eq("main")
      expect(logs(ws)).to include("<AEMethod see_things> a line of see_things")
      expect($miq_spec_existing).to eq("the caller's")
      expect($miq_spec_created).to be_nil
    ensure
      $miq_spec_existing = nil
    end

    it "gives methods an empty standard input ($stdin and STDIN)" do
      Timeout.timeout(10) do
        expect(engine.instantiate("/Demo/Run/read_stdin").root["stdin"]).to eq("")
        expect(engine.instantiate("/Demo/Run/read_const_stdin").root["stdin"]).to eq("")
      end
    end

    it "ends a method at a top-level return with MIQ_OK" do
      ws = engine.instantiate("/Demo/Run/top_return")
      expect(ws.root["before_return"]).to be(true)
      expect(ws.root["after_return"]).to be_nil
      expect(logs(ws)).to include("Method exited with rc=MIQ_OK")
    end

    it "stops a method that rescues the timeout's exception" do
      expect { engine.instantiate("/Demo/Run/swallow_timeout", timeout: 0.3) }
        .to raise_error(MiqAutomate::MethodTimeout, %r{Method \[/Spec/Demo/Run/swallow_timeout\] timed out after 0.3 seconds})
      # The engine goes on: the next method runs.
      expect(engine.instantiate("/Demo/Run/count_calls").root).to be_a(MiqAutomate::Object)
    end

    it "stops the method an outer method instantiated when the outer one's time is up" do
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      # 2 s: the outer method must have started the inner one before its time is up, also
      # on a loaded machine (two forks under process isolation).
      expect { engine.instantiate("/Demo/Run/outer_slow", timeout: 2) }
        .to raise_error(MiqAutomate::MethodTimeout, %r{Method \[/Spec/Demo/Run/outer_slow\] timed out}) { |e|
          expect(logs(e.workspace)).to include(a_string_ending_with("Stopped: the timeout of the method that instantiated this one expired"))
        }
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 8 # not the inner method's 10 s
    end

    it "ends a method at its exit! with that status, and the caller lives on" do
      expect { engine.instantiate("/Demo/Run/exit_bang") }.to raise_error(MiqAutomate::UnknownMethodRc, /Unknown RC: \[3\]/) { |e|
        expect(logs(e.workspace)).to include("<AEMethod exit_bang> before exit!")
      }
      expect(engine.instantiate("/Demo/Run/count_calls").logs.map(&:last)).to include("<AEMethod count_calls> counted")
    end

    it "ends a method's forked child with the method: the caller goes on once" do
      marker = File.join(@tmp, "forked")
      after = File.join(@tmp, "after")
      engine.instantiate("/Demo/Run/fork_and_go", root: { "marker" => marker })
      File.write(after, "#{Process.pid}\n", mode: "a") # the method waited for its child
      expect(File.readlines(marker).size).to eq(2) # the method's rest ran in both
      expect(File.readlines(after)).to eq(["#{Process.pid}\n"]) # what follows, once
    end

    it "iterates a root that holds models with a block that calls $evm (no deadlock)" do
      vm = MiqAutomate::ServiceModel.new("vm", id: 7, name: "web-1")
      ws = Timeout.timeout(20) { engine.instantiate("/Demo/Run/log_root", root: { "vm" => vm, "zone" => "east" }, timeout: 10) }
      expect(ws.root["logged"]).to eq("yes")
      expect(logs(ws)).to include(a_string_ending_with("root: zone: east"))
    end

    it "reaches service models and nested methods" do
      started = []
      vm = MiqAutomate::ServiceModel.new("vm", id: 7, name: "web-1", power_state: -> { started.empty? ? "off" : "on" },
                                               start: -> { started << Process.pid }, each_disk: ->(&b) { [1, 2].each(&b) })
      ws = engine.instantiate("/Demo/Run/use_model", root: { "vm" => vm })
      expect([ws.root["vm_name"], ws.root["vm_power"]]).to eq(%w[web-1 on])
      expect(ws.root["disks"]).to eq([10, 20])
      expect(started).to eq([Process.pid]) # the model's code ran here, in the engine's process
      expect(engine.instantiate("/Demo/Run/nested").root["nested_pid_differs"]).to eq("child ran")
    end

    it "tells on_method and on_log what runs" do
      events = []
      lines = []
      engine.on_method { |event, fqname, status| events << [event, fqname, status] }
      engine.on_log { |level, message| lines << [level, message] }
      engine.instantiate("/Demo/Run/count_calls")
      expect(events).to eq([[:start, "/Spec/Demo/Run/count_calls", nil], [:end, "/Spec/Demo/Run/count_calls", 0]])
      expect(lines).to include(%w[info <AEMethod\ count_calls>\ counted])
      lines.clear
      engine.deliver("/Demo/Run/count_calls")
      expect(lines.map(&:last)).to include(a_string_starting_with("Delivering "), "<AEMethod count_calls> counted") # deliver's own lines too
    end
  end

  describe "isolation: :vm (the default)" do
    include_examples "kept apart", :vm

    it "reports what a method adds to Ruby's core classes, which it cannot take back" do
      ws = build_engine(datastore: @domain).instantiate("/Demo/Run/patch_string")
      expect(logs(ws)).to include(
        "method [/Spec/Demo/Run/patch_string] left String#miq_spec_shout defined: it would not survive on the appliance",
        "method [/Spec/Demo/Run/patch_string] left constant MIQ_SPEC_CONSTANT defined: it would not survive on the appliance"
      )
    ensure
      String.send(:remove_method, :miq_spec_shout) if String.method_defined?(:miq_spec_shout)
      Object.send(:remove_const, :MIQ_SPEC_CONSTANT) if Object.const_defined?(:MIQ_SPEC_CONSTANT, false)
    end

    it "is the default" do
      expect(build_engine(datastore: @domain).isolation).to eq(:vm)
    end

    it "refuses an isolation it does not know" do
      expect { build_engine(datastore: @domain, isolation: :thread) }
        .to raise_error(ArgumentError, "isolation must be one of :vm, :process, not :thread")
    end
  end

  describe "isolation: :process (ManageIQ's model)" do
    include_examples "kept apart", :process

    let(:engine) { build_engine(datastore: @domain, isolation: :process) }

    it "keeps what a method adds to core classes in its process" do
      ws = engine.instantiate("/Demo/Run/patch_string")
      expect("".respond_to?(:miq_spec_shout)).to be(false)
      expect(Object.const_defined?(:MIQ_SPEC_CONSTANT, false)).to be(false)
      expect(logs(ws)).not_to include(a_string_matching(/left String/))
    end

    it "closes the standard input at the descriptor" do
      Timeout.timeout(10) do
        expect(engine.instantiate("/Demo/Run/read_const_stdin").root["stdin"]).to eq("")
      end
    end

    it "logs the method's output at the descriptor: $stdout, STDOUT, $stderr, STDERR and subprocesses" do
      ws = engine.instantiate("/Demo/Run/outputs")
      expect(logs(ws)).to include("Method STDOUT: to $stdout", "Method STDOUT: to STDOUT", "Method STDERR: to $stderr",
                                  "Method STDERR: to STDERR", "Method STDOUT: from a subprocess")
    end

    it "reports a method's process killed by a signal, with the lines it logged before" do
      expect { engine.instantiate("/Demo/Run/kill_self") }.to raise_error(MiqAutomate::UnknownMethodRc) { |e|
        expect(logs(e.workspace)).to include("<AEMethod kill_self> before the KILL",
                                             "Method [/Spec/Demo/Run/kill_self]: its process was killed by SIGKILL")
      }
      expect(engine.instantiate("/Demo/Run/count_calls").logs.map(&:last)).to include("<AEMethod count_calls> counted")
    end

    it "ends what a method's process forked when the method ends" do
      marker = File.join(@tmp, "grandchild")
      engine.instantiate("/Demo/Run/leave_grandchild", root: { "marker" => marker })
      grandchild = File.read(marker).to_i
      expect(grandchild).to be_positive
      gone = 50.times.any? do
        Process.kill(0, grandchild)
        sleep 0.1
        false
      rescue Errno::ESRCH
        true
      end
      expect(gone).to be(true)
    end
  end
end
