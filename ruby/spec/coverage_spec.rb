# frozen_string_literal: true

require "spec_helper"
require "json"
require "open3"
require "tmpdir"
require "miq_automate/coverage/collector"

# Automate coverage (MiqAutomate::Coverage) over tests/domains/Coverage: an Order state
# machine (Validate, Reserve, Finish; each state with on_entry, on_exit and on_error hooks
# running `status`), whose Reserve runs `reserve` (an error branch when the stock is short,
# with the embedded method `stock`), and a `cleanup` method nothing runs.
RSpec.describe MiqAutomate::Coverage do
  root = File.expand_path("../..", __dir__)
  domain = File.join(root, "tests/domains/Coverage")
  cli = File.join(root, "target/release/miq-automate")
  methods_dir = File.join(domain, "Shop/Steps.class/__methods__")

  reserve = "/Coverage/Shop/Steps/reserve"
  stock = "/Coverage/Shop/Lib/stock"
  status = "/Coverage/Shop/Order/status"
  order = "/Coverage/Shop/Order"

  def happy_path(isolation)
    engine = MiqAutomate::Engine.new(datastore: File.expand_path("../../tests/domains/Coverage", __dir__), isolation: isolation)
    MiqAutomate::Coverage.capture do
      expect(engine.deliver("/Shop/Order/default", root: { "items" => 3 }).ae_result).to eq("ok")
    end
  end

  def short_stock
    engine = MiqAutomate::Engine.new(datastore: File.expand_path("../../tests/domains/Coverage", __dir__))
    MiqAutomate::Coverage.capture do
      expect(engine.deliver("/Shop/Order/default", root: { "items" => 30 }).ae_result).to eq("error")
    end
  end

  # Line numbers (1-based) with a count of 0 / above 0.
  def uncovered(lines) = lines.each_with_index.select { |hits, _| hits&.zero? }.map { |_, i| i + 1 }
  def covered(lines) = lines.each_with_index.select { |hits, _| hits&.positive? }.map { |_, i| i + 1 }

  it "counts the states and hooks of a state machine run with Engine#instantiate, as of a delivery" do
    engine = MiqAutomate::Engine.new(datastore: domain)
    result = MiqAutomate::Coverage.capture do
      expect(engine.instantiate("/Shop/Order/default", root: { "items" => 3 }).state_machine_events).not_to be_empty
    end
    states = result.dig("machines", order, "states")
    expect(states.keys).to eq(%w[Validate Reserve Finish])
    expect(states.values.map { |s| s["entered"] }).to eq([1, 1, 1])
    expect(states.values.map { |s| s["steps"].keys.sort }).to all(eq(%w[main on_entry on_exit]))
    expect(result.dig("machines", order, "instances")).to eq("/Coverage/Shop/Order/default" => 1)
  end

  it "reports the happy path's lines, and the error branch and on_error hooks as never run" do
    result = happy_path(:vm)
    expect(result["format"]).to eq("miq-automate-coverage/1")
    lines = result.dig("methods", reserve, "lines")
    source = File.readlines(File.join(methods_dir, "reserve.rb"))
    expect(uncovered(lines).map { |n| source[n - 1].strip }).to eq(
      ['$evm.root["ae_result"] = "error"', '$evm.root["ae_reason"] = Stock.shortage(wanted)', '$evm.log(:error, "cannot reserve #{wanted}")']
    )
    expect(covered(lines)).to eq([2, 3, 4, 5])
    # Comments, blank lines, `else` and `end` are not executable (nil), as for ::Coverage.
    expect(lines[0]).to be_nil
    expect(lines[5]).to be_nil
    expect(result.dig("methods", reserve, "embeds")).to eq([stock])
    expect(uncovered(result.dig("methods", stock, "lines")).size).to eq(1) # Stock.shortage's body

    states = result.dig("machines", order, "states")
    expect(states.keys).to eq(%w[Validate Reserve Finish])
    states.each_value do |state|
      expect(state["entered"]).to eq(1)
      expect(state["results"]).to eq("ok" => 1)
      expect(state["steps"].keys).to contain_exactly("on_entry", "main", "on_exit")
    end
    expect(states.dig("Reserve", "steps", "main", "served_by")).to eq(reserve => 1)
    expect(result.dig("relationships", "/Shop/Steps/reserve#create")).to eq("followed" => 1, "served_by" => { reserve => 1 })
    expect(result["methods"]).not_to have_key("/Coverage/Shop/Steps/cleanup")
  end

  it "covers the error branch and the on_error hooks when the stock is short" do
    result = short_stock
    expect(uncovered(result.dig("methods", reserve, "lines"))).to eq([4, 5]) # the happy path's, this time
    reserve_state = result.dig("machines", order, "states", "Reserve")
    expect(reserve_state["results"]).to eq("error" => 1)
    expect(reserve_state.dig("steps", "on_error", "ran")).to eq(1)
    expect(covered(result.dig("methods", status, "lines"))).to include(6, 7)
  end

  it "gives the same coverage under process isolation as in this VM" do
    in_vm = happy_path(:vm)
    in_children = happy_path(:process)
    %w[methods machines relationships].each { |part| expect(in_children[part]).to eq(in_vm[part]) }
  end

  it "covers the rspec kit's run_method, under the method's fqname, with its embedded methods" do
    ws = build_workspace(root: { "items" => 30 })
    result = MiqAutomate::Coverage.capture do
      run_method(File.join(methods_dir, "reserve.rb"), ws)
    end
    expect(ws.root["ae_result"]).to eq("error")
    rec = result.dig("methods", reserve)
    expect(rec["file"]).to eq(File.join(methods_dir, "reserve.rb"))
    expect(uncovered(rec["lines"])).to eq([4, 5])
    expect(result.dig("methods", stock, "embedded_in")).to eq([reserve])
  end

  it "writes one file per process, atomically, and the CLI merges two of them" do
    skip "target/release/miq-automate is not built (make rspec builds it)" unless File.executable?(cli)

    Dir.mktmpdir do |dir|
      [happy_path(:vm), short_stock].each_with_index do |result, i|
        File.write(File.join(dir, "miq_automate.#{i}.json"), JSON.generate(result))
      end
      out, err, st = Open3.capture3(cli, "coverage", "report", *Dir.glob("#{dir}/*.json").sort, "--datastore", domain, "--output", "json")
      expect(st.exitstatus).to eq(0), err
      report = JSON.parse(out)
      method = report["methods"].find { |m| m["fqname"] == reserve }
      expect(method["covered"]).to eq(method["total"])
      expect(report["methods"].find { |m| m["fqname"] == "/Coverage/Shop/Steps/cleanup" }["covered"]).to eq(0)
    end
  end

  context "with the example domain's provision (examples/domains/RollbackDemo)" do
    sm = "/Infrastructure/VM/Provisioning/StateMachines"
    network = "/Infrastructure/VM/Provisioning/Network/Methods"
    machine = "/RollbackDemo#{sm}/VMProvision_VM"

    def provision(checks_before_ok)
      request = service_model(:miq_request, id: 7, user_message: nil)
      template = service_model(:vm_or_template, id: 3, vendor: "vmware")
      task = service_model(:miq_provision, id: 1, message: "", state: "active", vm: nil, source: template,
                                           miq_request: request, options: { vm_target_name: "web01" })
      engine = build_engine(datastore: File.expand_path("../../examples/domains/RollbackDemo", __dir__), models: [task])
      %w[CustomizeRequest Provision PostProvision].each { |s| engine.stub("/Infrastructure/VM/Provisioning/StateMachines/Methods/#{s}", MiqAutomate::MIQ_OK) }
      engine.stub("/System/CommonMethods/StateMachineMethods/vm_provision_finished", MiqAutomate::MIQ_OK)
      checks = 0
      engine.stub("/Infrastructure/VM/Provisioning/StateMachines/Methods/CheckProvisioned") do |evm|
        checks += 1
        evm.root["ae_result"] = checks <= checks_before_ok ? "retry" : "ok"
      end
      engine.deliver("/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
                     root: { "miq_provision" => task, "vmdb_object_type" => "miq_provision" })
    end

    it "names the domain's instance that served each relationship (its method has another name)" do
      result = MiqAutomate::Coverage.capture { expect(provision(0).ae_result).to eq("ok") }
      %w[AcquireIPAddress RegisterDHCP RegisterDNS].each do |instance|
        expect(result.dig("relationships", "#{network}/#{instance}#create"))
          .to eq("followed" => 1, "served_by" => { "/RollbackDemo#{network}/#{instance}" => 1 })
      end
      # A stub of an instance no domain has: followed, served by no domain.
      expect(result.dig("relationships", "#{sm}/Methods/CustomizeRequest#vmware")).to eq("followed" => 1, "served_by" => {})
    end

    it "counts a delivery's retries as deliveries of one run" do
      result = MiqAutomate::Coverage.capture do
        expect(provision(1).trace.size).to eq(2)
        expect(provision(0).trace.size).to eq(1)
      end
      template = "#{machine}/template"
      expect(result.dig("machines", machine, "instances")).to eq(template => 3)
      expect(result.dig("machines", machine, "runs")).to eq(template => 2)
    end
  end

  it "pairs a relationship with the namespace line of its own URI only, nested or wildcard" do
    result = MiqAutomate::Coverage.capture do
      MiqAutomate::Coverage.send(:relationships, [
        "Following Relationship [miqaedb:/A/Outer/one#create]",
        "Updated namespace [miqaedb:/A/Outer/one#create  Dom/A]",
        # What `one` runs: its own lookups and relationships, never `one`'s.
        "Updated namespace [A/Outer/one  Other/A]",
        "Following Relationship [miqaedb:/A/Inner/two#create]",
        "Updated namespace [A/Inner/two  Other/A]",
        "Followed  Relationship [miqaedb:/A/Inner/two#create]",
        "Followed  Relationship [miqaedb:/A/Outer/one#create]",
        "Following Relationship [miqaedb:/A/Wild/x*#create]",
        "Updated namespace [miqaedb:/A/Wild/x1#create  Dom/A]",
        "Updated namespace [miqaedb:/A/Wild/x2#create  Over/A]",
        "Followed  Relationship [miqaedb:/A/Wild/x*#create]"
      ])
    end
    expect(result["relationships"]).to eq(
      "/A/Outer/one#create" => { "followed" => 1, "served_by" => { "/Dom/A/Outer/one" => 1 } },
      "/A/Inner/two#create" => { "followed" => 1, "served_by" => {} },
      "/A/Wild/x*#create" => { "followed" => 1, "served_by" => { "/Dom/A/Wild/x1" => 1, "/Over/A/Wild/x2" => 1 } }
    )
  end

  it "keys a method file outside a domain export by its path, relative below the current directory" do
    ws = build_workspace(root: {})
    Dir.mktmpdir("loose", Dir.pwd) do |below|
      Dir.mktmpdir("loose") do |elsewhere|
        files = [below, elsewhere].map do |dir|
          File.join(dir, "check.rb").tap { |f| File.write(f, "$evm.root['ae_result'] = 'ok'\n") }
        end
        result = MiqAutomate::Coverage.capture { files.each { |f| run_method(f, ws) } }
        relative = files[0].delete_prefix("#{Dir.pwd}/")
        expect(result["methods"].keys).to contain_exactly(relative, files[1])
        expect(result.dig("methods", relative)).to include("file" => files[0], "outside_domain" => true, "runs" => 1, "lines" => [1])
        expect(result.dig("methods", files[1])).to include("outside_domain" => true)
      end
    end
  end

  it "writes miq_automate.<pid>.json with a temp file and a rename" do
    Dir.mktmpdir do |dir|
      MiqAutomate::Coverage.capture do
        file = MiqAutomate::Coverage.write(File.join(dir, "miq_automate.#{Process.pid}.json"))
        expect(JSON.parse(File.read(file))["format"]).to eq("miq-automate-coverage/1")
      end
      expect(Dir.children(dir)).to eq(["miq_automate.#{Process.pid}.json"])
    end
  end
end
