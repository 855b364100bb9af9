# frozen_string_literal: true

require "spec_helper"
require "json"
require_relative "support/temp_domain"

# MiqAutomate::Engine.new(world:): the engine's `$evm.vmdb`, `$evm.execute` and the root's
# user answer from a described world, and the world's behaviour runs on the engine's
# virtual clock, so a polling state machine runs with no stub and no Proc.
RSpec.describe "MiqAutomate::Engine with a world" do
  world = {
    "run" => { "user" => "admin" },
    "tenants" => [{ "id" => 1, "name" => "My Company" }],
    "groups" => [{ "id" => 2, "description" => "EvmGroup-super_administrator", "tenant_id" => 1 }],
    "users" => [{ "id" => 1, "userid" => "admin", "name" => "Administrator", "groups" => [2], "current_group_id" => 2 }],
    "ext_management_systems" => [{ "id" => 1, "name" => "vc01" }],
    "hosts" => [{ "id" => 3, "name" => "esx01", "ems_id" => 1 }],
    "vms" => [{ "id" => 600, "name" => "web01", "ems_id" => 1, "host_id" => 3, "power_state" => "off" }],
    "categories" => [{ "name" => "department", "description" => "Department", "entries" => [{ "name" => "finance" }] }],
    "behaviour" => { "power" => { "after" => 90 } }
  }

  methods = {
    # A machine's two states: start the VM, then wait until it is on.
    "power_on" => <<~RUBY,
      vm = $evm.vmdb(:vm, $evm.root["vm_id"].to_i)
      vm.start
      $evm.log(:info, "started \#{vm.name} on \#{vm.host.name}")
    RUBY
    "check_on" => <<~RUBY,
      vm = $evm.vmdb(:vm).find_by(name: "web01")
      if vm.power_state == "on"
        $evm.root["ae_result"] = "ok"
      else
        $evm.root["ae_result"] = "retry"
        $evm.root["ae_retry_interval"] = 30.seconds
      end
    RUBY
    "who" => <<~RUBY,
      $evm.root["who"] = [$evm.root["user"].userid, $evm.root["miq_group"].description, $evm.root["tenant"].name].join("/")
      $evm.root["known"] = $evm.execute("category_exists?", "department")
      $evm.root["unknown"] = $evm.execute("tag_exists?", "department", "sales")
    RUBY
    "missing" => <<~RUBY,
      $evm.vmdb(:vm).find(999)
    RUBY
  }

  around do |example|
    Dir.mktmpdir("miq-world-") do |dir|
      @world_file = File.join(dir, "world.json")
      File.write(@world_file, JSON.generate(world))
      domain = TempDomain.write(dir, methods)
      TempDomain.klass(domain, "Demo/Machine",
                       schema: [{ "aetype" => "state", "name" => "PowerOn" }, { "aetype" => "state", "name" => "CheckOn", "max_retries" => "10" }],
                       instances: { "start" => { "PowerOn" => "/Demo/Run/power_on", "CheckOn" => "/Demo/Run/check_on" } })
      @domain = domain
      example.run
    end
  end

  %i[vm process].each do |isolation|
    context "isolation: #{isolation}" do
      let(:engine) { build_engine(datastore: @domain, world: @world_file, isolation: isolation) }

      it "runs a polling machine on the world's behaviour and the engine's clock: no stub, no Proc" do
        d = engine.deliver("/Demo/Machine/start", root: { "vm_id" => "600" })
        expect(d.ae_result).to eq("ok")
        expect(d.deliveries.size).to eq(4) # on after 90 s, checked every 30 s
        expect(d.clock).to eq(90)
        expect(d).to have_logged(:info, "<AEMethod power_on> started web01 on esx01")
        expect(engine.world.vmdb(:vm, 600).power_state).to eq("on")
        expect(engine.world.calls.map(&:name)).to include(:start)
      end

      it "gives the root the run user's user, group and tenant, and answers $evm.execute from the world" do
        ws = engine.instantiate("/Demo/Run/who")
        expect(ws.root["who"]).to eq("admin/EvmGroup-super_administrator/My Company")
        expect(ws.root["miq_server"].name).to eq("EVM") # as every queued automate URI carries it
        expect([ws.root["known"], ws.root["unknown"]]).to eq([true, false])
        expect(ws.executions.map(&:first)).to eq(%w[category_exists? tag_exists?]) # recorded as always
      end

      it "raises as ManageIQ when find names a row the world does not have" do
        expect { engine.instantiate("/Demo/Run/missing") }.to raise_error(MiqAutomate::UnknownMethodRc) { |e|
          expect(e.workspace.logs.map(&:last)).to include(a_string_matching(/ServiceNotFound: Service Model not found/))
        }
      end
    end
  end

  it "is the world of build_workspace too" do
    ws = build_workspace(world: @world_file)
    expect(ws.evm.vmdb(:host, 3).name).to eq("esx01")
    expect(ws.root["user"].userid).to eq("admin")
  end
end
