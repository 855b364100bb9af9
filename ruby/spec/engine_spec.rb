# frozen_string_literal: true

require "spec_helper"

# MiqAutomate::Engine: a domain export instantiated by the engine crate, its inline methods
# run in this Ruby VM. The domain under fixtures/domains/EngineSpec is written for these
# specs (each instance of Demo/Run exercises one behaviour through its `execute` method).
RSpec.describe MiqAutomate::Engine do
  domains = File.expand_path("fixtures/domains", __dir__)
  bad_domains = File.expand_path("fixtures/bad_domains", __dir__)

  let(:engine) { build_engine(datastore: domains) }

  def messages(workspace)
    workspace.logs.map(&:last)
  end

  describe "loading" do
    it "counts what the datastore holds" do
      expect(engine.datastore.stats).to eq(domains: 1, namespaces: 1, classes: 4, instances: 16, methods: 14)
    end

    it "takes a list of directories" do
      engine = described_class.new(datastore: [domains, File.expand_path("../../examples/domains/RollbackDemo", __dir__)])
      expect(engine.datastore.stats[:domains]).to eq(2)
    end

    it "names every bad file of a datastore that does not load" do
      expect { build_engine(datastore: bad_domains) }.to raise_error(MiqAutomate::DatastoreError) { |e|
        expect(e).to be_a(MiqAutomate::Error)
        expect(e.message).to start_with("2 bad file(s) in the datastore")
        expect(e.errors).to contain_exactly(
          a_string_matching(%r{Bad\.class/__class__\.yaml: object\.schema\[0\]\.field\.priority: expected integer}),
          a_string_matching(%r{Good\.class/broken\.yaml: not valid YAML})
        )
      }
    end

    it "refuses a directory without domains" do
      expect { build_engine(datastore: File.join(domains, "EngineSpec/Demo")) }
        .to raise_error(MiqAutomate::DatastoreError, /no __domain__\.yaml/)
    end

    it "refuses a timeout that is not a positive number" do
      expect { build_engine(datastore: domains, timeout: 0) }.to raise_error(ArgumentError, /positive number/)
      expect { engine.instantiate("/Demo/Run/set_attrs", timeout: "1") }.to raise_error(ArgumentError)
    end
  end

  describe "#instantiate with inline methods" do
    it "gives a workspace holding what the method set, after its inputs and before later fields" do
      ws = engine.instantiate("/Demo/Run/set_attrs")
      expect(ws).to be_a(MiqAutomate::Workspace)
      expect(ws.root["from_method"]).to eq("hi x3") # MIQ_ARGS: word from the call, count's default
      expect(ws.root["count_class"]).to eq("Integer") # converted by the input's datatype
      expect(ws.root["summary"]).to eq("hello, hi x3") # a later field substitutes it
      expect(ws).to have_ae_result("ok")
      expect(ws).to have_logged(:info, "Invoking [inline] method [/EngineSpec/Demo/Run/set_attrs] with inputs [{\"word\"=>\"hi\", \"count\"=>3}]")
      expect(ws).to have_logged(:info, "<AEMethod set_attrs> set_attrs ran in set_attrs")
      expect(ws).to have_logged(:info, "Method exited with rc=MIQ_OK")
    end

    it "keeps the caller's root attributes, Ruby objects by reference" do
      prov = service_model(:miq_provision, id: 1, options: {})
      ws = engine.instantiate("/Demo/Run/set_attrs", root: { "miq_provision" => prov, "Request" => "x" })
      expect(ws.root["miq_provision"]).to equal(prov)
      expect(ws.root["request"]).to eq("x")
    end

    it "runs each method in a fresh top-level binding with its own MIQ_ARGS" do
      ws = engine.instantiate("/Demo/Run/fresh")
      child = ws.root.children.first
      expect(child["leaked"]).to eq("nil") # set_attrs's local variable is not seen
      expect(child["args"]).to eq("{}") # check_binding has no inputs
    end

    it "gives back $evm, MIQ_ARGS, $stdout and $stderr as they were" do
      $evm = :before
      stdout = $stdout
      engine.instantiate("/Demo/Run/set_attrs")
      expect($evm).to eq(:before)
      expect($stdout).to equal(stdout)
      expect(Object.const_defined?(:MIQ_ARGS, false)).to be(false)
    ensure
      $evm = nil
    end

    it "follows relationships to instances whose methods run with $evm.object the child" do
      ws = engine.instantiate("/Demo/Run/with_rel")
      child = ws.root.children.first
      expect(child.instance_name).to eq("child")
      expect(child["name"]).to eq("by_relationship")
      expect(child["seen_parent"]).to eq("with_rel")
      expect(ws.root["children_ran"]).to eq(1)
      expect(ws).to have_logged(:info, "<AEMethod child_method> child by_relationship of with_rel")
      expect(ws).to have_logged(:info, "Followed  Relationship [miqaedb:/Demo/Helper/child?name=by_relationship#create]")
    end

    it "instantiates through the engine from a method ($evm.instantiate)" do
      ws = engine.instantiate("/Demo/Run/instantiates")
      expect(ws.root["child_name"]).to eq("via_evm")
      expect(ws.root["child_saw"]).to eq("instantiates") # the child's method ran, its parent the caller
      expect(ws.root["missing_is_nil"]).to be(true)
      expect(ws).to have_logged(:error, "Class [Demo/Nope] not found in MiqAeDatastore")
      expect(ws).to have_instantiated("/Demo/Helper/child?name=via_evm")
      expect(ws.state_vars).to eq("visited" => true)
    end

    it "loads embedded methods first, depth first, once each, through a cycle" do
      ws = engine.instantiate("/Demo/Run/embedded")
      expect(ws.root["load_order"]).to eq(%w[outer inner])
      expect(ws.root["embedded"]).to eq("outer(inner) / inner")
      expect(ws).to have_logged(:info, "Already loaded embedded method /EngineSpec/Demo/Lib/outer")
      expect(ws).to have_logged(:info, "Already loaded embedded method /EngineSpec/Demo/Lib/inner")
    end

    it "gives ManageIQ's method environment (ActiveSupport, Time.zone UTC)" do
      ws = engine.instantiate("/Demo/Run/environment")
      expect(ws.root.attributes).to include("present" => true, "blank" => true, "minute" => 60,
                                            "zone" => "UTC", "truncated" => "aut...")
    end

    it "logs what a method writes to $stdout and $stderr, line by line, and prints nothing" do
      ws = nil
      expect { ws = engine.instantiate("/Demo/Run/chatty") }.not_to output.to_stdout
      lines = ws.logs.select { |_, m| m.start_with?("Method STD") }
      expect(lines).to eq([
                            [:info, "Method STDOUT: hello from stdout"],
                            [:error, "Method STDERR: to stderr"],
                            [:error, "Method STDERR: a warning"],
                            [:info, "Method STDOUT: line a"],
                            [:info, "Method STDOUT: line b"],
                            [:info, "Method STDOUT: no newline at the end"]
                          ])
      expect { engine.instantiate("/Demo/Run/chatty") }.not_to output.to_stderr
    end
  end

  describe "exit codes" do
    it "MIQ_WARN logs a warning and the object goes on" do
      ws = engine.instantiate("/Demo/Run/exit_code?code=4")
      expect(ws).to have_logged(:warn, "Method exited with rc=MIQ_WARN")
      expect(ws.root["summary"]).to eq("hello, ")
    end

    it "MIQ_STOP stops the object (its later fields are not processed)" do
      ws = engine.instantiate("/Demo/Run/exit_code?code=8")
      expect(ws).to have_logged(:info, "Stopping instantiation because [Method exited with rc=MIQ_STOP]")
      expect(ws.root["summary"]).to be_nil
    end

    it "MIQ_STOP in a child drops the child only" do
      ws = engine.instantiate("/Demo/Run/child_stops")
      expect(ws.root.children).to be_empty
      expect(ws.root["summary"]).to eq("hello, parent x3")
    end

    it "MIQ_ABORT aborts the run: AbortInstantiation carrying the workspace" do
      expect { engine.instantiate("/Demo/Run/exit_code?code=16") }
        .to raise_error(MiqAutomate::AbortInstantiation, "Method exited with rc=MIQ_ABORT") { |e|
          expect(e).not_to be_a(MiqAutomate::UnknownMethodRc)
          expect(e.workspace).to have_logged(:info, "Aborting instantiation because [Method exited with rc=MIQ_ABORT]")
          expect(e.workspace.root["code"]).to eq(16)
        }
    end

    it "any other code is an unknown return code" do
      expect { engine.instantiate("/Demo/Run/exit_code?code=3") }
        .to raise_error(MiqAutomate::UnknownMethodRc, "Method exited with rc=Unknown RC: [3]")
    end

    it "an uncaught exception is logged with its backtrace and exits 1" do
      expect { engine.instantiate("/Demo/Run/boom") }.to raise_error(MiqAutomate::UnknownMethodRc, "Method exited with rc=Unknown RC: [1]") { |e|
        ws = e.workspace
        expect(ws).to have_logged(:error, "<AEMethod boom> The following error occurred during method evaluation:")
        expect(ws).to have_logged(:error, "<AEMethod boom>   ArgumentError: bad value 42")
        # As ManageIQ's postscript: the backtrace but its last frame (the method's <main>),
        # then Ruby's own report of the uncaught exception on the method's stderr.
        expect(ws).to have_logged(:error, "<AEMethod boom>   /EngineSpec/Demo/Run/boom:2:in `explode'")
        expect(ws).to have_logged(:error, "Method STDERR: /EngineSpec/Demo/Run/boom:2:in `explode': bad value 42 (ArgumentError)")
        expect(ws).to have_logged(:error, "Method STDERR: from /EngineSpec/Demo/Run/boom:5:in `<main>'")
      }
    end
  end

  describe "the timeout option" do
    it "stops a method that never ends, even one rescuing StandardError, and aborts the run" do
      engine.timeout = 0.3
      threads = Thread.list.map(&:inspect)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect { engine.instantiate("/Demo/Run/forever") }.to raise_error(MiqAutomate::MethodTimeout) { |e|
        expect(e).to be_a(MiqAutomate::AbortInstantiation)
        expect(e.message).to eq("Method [/EngineSpec/Demo/Run/forever] timed out after 0.3 seconds (the engine's timeout option)")
        expect(e.workspace).to have_logged(:error, "<AEMethod forever> Method [/EngineSpec/Demo/Run/forever] timed out after 0.3 seconds")
        expect(e.workspace.root["spins"]).to be > 0
        expect(e.workspace.root["escaped"]).to be_nil
      }
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 3
      # The engine, and the process, go on.
      expect(engine.instantiate("/Demo/Run/set_attrs").root["from_method"]).to eq("hi x3")
      expect(Thread.list.map(&:inspect)).to eq(threads) # no watchdog left behind
    end

    it "is per call too, and leaves a method that ends in time alone" do
      expect(engine.instantiate("/Demo/Run/set_attrs", timeout: 5)).to have_ae_result("ok")
      expect { engine.instantiate("/Demo/Run/forever", timeout: 0.2) }.to raise_error(MiqAutomate::MethodTimeout)
    end

    it "stops the outer method when its time runs out while a child runs" do
      engine.timeout = 0.5
      expect { engine.instantiate("/Demo/Run/slow_parent") }.to raise_error(MiqAutomate::MethodTimeout, /slow_parent\] timed out/) { |e|
        ws = e.workspace
        expect(ws).to have_logged(:error, "<AEMethod forever> Stopped: the timeout of the method that instantiated this one expired")
        expect(ws.root["after_child"]).to be_nil
      }
    end
  end

  describe "#stub" do
    it "without one, a method the engine cannot run offline aborts with a clear message" do
      expect { engine.instantiate("/Demo/Run/uses_provider") }.to raise_error(MiqAutomate::UnknownMethodRc) { |e|
        expect(e.workspace).to have_logged(:error, /\[playbook\] method \[.*run_playbook\] cannot run offline: stub it/)
      }
    end

    it "replaces a method by a block receiving $evm" do
      engine.stub("/Demo/External/run_playbook") { |evm| evm.object["status"] = "from #{evm.current_instance}" }
      ws = engine.instantiate("/Demo/Run/uses_provider")
      expect(ws.root.children.first["status"]).to eq("from Provider")
      expect(ws).to have_logged(:info, "Invoking [stub] method [/EngineSpec/Demo/External/run_playbook] with inputs [{}]")
    end

    it "replaces an instance by attributes, or by an exit code" do
      engine.stub("/Demo/External/Provider", "status" => "up")
      expect(engine.instantiate("/Demo/Run/uses_provider").root.children.first["status"]).to eq("up")

      engine.stub("/Demo/External/Provider", MiqAutomate::MIQ_STOP)
      expect(engine.instantiate("/Demo/Run/uses_provider").root.children).to be_empty

      engine.stub("/Demo/External/Provider")
      ws = engine.instantiate("/Demo/Run/uses_provider")
      expect(ws.root.children.first.attributes).to eq({})
    end

    it "runs a block as a method: exit codes, exceptions and the log" do
      engine.stub("/Demo/External/Provider") { |_evm| exit MIQ_ABORT }
      expect { engine.instantiate("/Demo/Run/uses_provider") }.to raise_error(MiqAutomate::AbortInstantiation)

      engine.stub("/Demo/External/Provider") { |_evm| raise "no provider" }
      expect { engine.instantiate("/Demo/Run/uses_provider") }.to raise_error(MiqAutomate::UnknownMethodRc) { |e|
        expect(e.workspace).to have_logged(:error, "<AEMethod provider>   RuntimeError: no provider")
        expect(e.workspace).to have_logged(:error, /<AEMethod provider>   .*engine_spec\.rb:\d+/)
      }
    end

    it "refuses a result and a block together, or a result of another kind" do
      expect { engine.stub("/Demo/External/Provider", 0) { nil } }.to raise_error(ArgumentError)
      expect { engine.stub("/Demo/External/Provider", "ok") }.to raise_error(ArgumentError, /Integer.*Hash/)
    end
  end

  describe "$evm kept beyond its run" do
    it "refuses to instantiate (the engine run is over)" do
      kept = nil
      engine.stub("/Demo/External/Provider") { |evm| kept = evm }
      engine.instantiate("/Demo/Run/uses_provider")
      expect(kept.root["from_method"]).to eq("provided x3") # the workspace is still readable
      expect { kept.instantiate("/Demo/Helper/child") }.to raise_error(MiqAutomate::Error, /engine run is over/)
    end
  end
end
