# Offline specs for the RollbackDemo domain (examples/domains/RollbackDemo): a
# VMProvision_VM state machine whose update_provision_status undoes, through
# MiqAutomate::Rollback, what a failed provision did. Run from ruby/ with
#   rspec ../examples/spec/rollback_demo_spec.rb
# (or `rspec -I ruby/lib examples/spec` from the repository root).
#
# The engine is simulated from the domain's own files: the states, their order and the
# status each on_entry/on_exit/on_error passes come from VMProvision_VM's __class__.yaml;
# a state whose instance lives in the domain (AcquireIPAddress, RegisterDHCP, RegisterDNS)
# runs its real method, and every rollback instance instantiated runs its real method from
# the Rollback namespace. ManageIQ's own states (CustomizeRequest, Provision, …) are
# stand-ins; CheckProvisioned makes the VM appear, as the provider's clone would.
require "delegate"
require "yaml"
require "miq_automate/rspec"

module RollbackDemoSpec
  DOMAIN = File.expand_path("../domains/RollbackDemo", __dir__)
  SM_CLASS = File.join(DOMAIN, "Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM.class")
  STATUS_METHOD = File.join(SM_CLASS, "__methods__/update_provision_status.rb")
  JOURNAL_MATRIX = File.join(DOMAIN, "rollback_matrix.yaml")
  PER_STATE_MATRIX = File.join(DOMAIN, "rollback_matrix_per_state.yaml")
  ROLLBACK_CLASS = "/Infrastructure/VM/Provisioning/Rollback/Methods"

  RELEASE_IP = "#{ROLLBACK_CLASS}/ReleaseIPAddress".freeze
  UNREGISTER_DHCP = "#{ROLLBACK_CLASS}/UnregisterDHCP?reason=rollback".freeze
  UNREGISTER_DNS = "#{ROLLBACK_CLASS}/UnregisterDNS".freeze

  # A state of the class: name, the instance it runs, and the status each step passes
  # to update_provision_status (nil: the step calls nothing).
  State = Struct.new(:name, :value, :statuses, keyword_init: true)

  def self.status_of(call)
    call.to_s[/\Aupdate_provision_status\(status => '(.*)'\)\z/, 1]
  end

  # The states of VMProvision_VM/template in priority order, as the engine runs them.
  def self.states
    @states ||= begin
      fields = YAML.load_file(File.join(SM_CLASS, "__class__.yaml")).dig("object", "schema").map { |f| f["field"] }
      overrides = YAML.load_file(File.join(SM_CLASS, "template.yaml")).dig("object", "fields").reduce({}, :merge)
      fields.select { |f| f["aetype"] == "state" }.sort_by { |f| f["priority"] }.map do |f|
        State.new(name: f["name"], value: overrides.dig(f["name"], "value") || f["default_value"],
                  statuses: %w[on_entry on_exit on_error].to_h { |step| [step, status_of(f[step])] })
      end
    end
  end

  def self.state(name)
    states.find { |s| s.name == name } || raise(ArgumentError, "no state #{name}")
  end

  # The method file an instance URI runs, when the instance is in this domain
  # (/ns/Class/Instance → ns/Class.class/instance.yaml → its execute method), else nil.
  def self.method_file_for(uri)
    path = uri.to_s.split(/[?#]/).first.to_s
    *namespace, klass, instance = path.sub(%r{\A/}, "").split("/")
    class_dir = File.join(DOMAIN, *namespace, "#{klass}.class")
    instance_file = File.join(class_dir, "#{instance.to_s.downcase}.yaml")
    return nil if namespace.empty? || !File.exist?(instance_file)

    fields = YAML.load_file(instance_file).dig("object", "fields").reduce({}, :merge)
    File.join(class_dir, "__methods__", "#{fields.dig('execute', 'value')}.rb")
  end

  # ManageIQ gives each method run its own $evm over the shared workspace, with that
  # method's inputs: this is one, for a run of the status method with a given status.
  class StepEvm < SimpleDelegator
    def initialize(evm, inputs)
      super(evm)
      @inputs = inputs
    end

    def inputs
      @inputs
    end
  end
end

RSpec.describe "RollbackDemo: VMProvision_VM with a rollback matrix" do
  let(:request) { service_model(:miq_request, id: 7, user_message: nil) }
  let(:vm) { service_model(:vm, id: 42, name: "web01", retired: false, retirement_state: nil) }
  let(:prov) do
    service_model(:miq_provision, id: 1, message: "Provisioning", state: "active", vm: nil,
                                  options: { vm_target_name: "web01", dns_domain: "lab.example.com" },
                                  miq_request: request)
  end
  let(:server) { service_model(:miq_server, id: 1, name: "EVM") }
  let(:ws) do
    build_workspace(root: { "miq_provision" => prov, "miq_server" => server, "vmdb_object_type" => "miq_provision",
                            "rollback_class" => RollbackDemoSpec::ROLLBACK_CLASS, "ae_state_retries" => 0 },
                    inputs: ws_inputs, current_method: "update_provision_status")
  end
  let(:ws_inputs) { {} }

  # How update_provision_status is run. :method_file is the domain's method (journal mode,
  # its MATRIX Hash); :journal and :per_state call the library with a matrix file. Each run
  # gets its own $evm over the shared workspace, with the step's status as its input, as
  # ManageIQ gives each method (the workspace's inputs are fixed when it is built).
  let(:runner) { :method_file }
  let(:last_report) { {} }

  def run_status_method(status)
    ws.current_method = "update_provision_status"
    evm = RollbackDemoSpec::StepEvm.new(ws.evm, "status" => status)
    case runner
    when :method_file
      MiqAutomate.define_exit_codes!
      previous = $evm
      $evm = evm
      begin
        load(RollbackDemoSpec::STATUS_METHOD, true) # a fresh anonymous module per run, as the engine's fresh binding
        MiqAutomate::MIQ_OK
      rescue SystemExit => e
        e.status
      ensure
        $evm = previous
      end
    when :journal, :per_state
      matrix = runner == :journal ? RollbackDemoSpec::JOURNAL_MATRIX : RollbackDemoSpec::PER_STATE_MATRIX
      begin
        last_report.replace(MiqAutomate::Rollback.update_provision_status(evm, matrix: matrix, mode: runner))
        MiqAutomate::MIQ_OK
      rescue SystemExit => e
        e.status
      end
    end
  end

  # The engine's view of one state step: root ae_state/ae_status_state/ae_result, and the
  # status method with the step's status (nothing when the step calls no method).
  def status_step(state, step)
    status = state.statuses[step]
    return if status.nil?

    ws.root["ae_state"] = state.name
    ws.root["ae_status_state"] = step
    run_status_method(status)
  end

  # A state's main step: the instance's real method when it is in the domain, else a
  # stand-in for ManageIQ's (CheckProvisioned: the provider's clone has made the VM).
  def main_step(state)
    ws.root["ae_status_state"] = "main"
    file = RollbackDemoSpec.method_file_for(state.value)
    if file
      rc = run_method(file, ws)
      raise "#{state.name}'s method exited with rc=#{rc}" unless rc == MiqAutomate::MIQ_OK
    elsif state.name == "CheckProvisioned"
      prov.vm = vm
    end
  end

  # Runs one state as the engine does: on_entry, main, then on_error or on_exit. With
  # fail:, the state does its work and then fails (say a verification after the external
  # call), so that its own undo has something to remove. Returns the state's ae_result.
  def run_state(name, fail: false, result: "ok")
    state = RollbackDemoSpec.state(name)
    ws.root["ae_state"] = state.name
    ws.root["ae_result"] = "ok"
    ws.root["ae_reason"] = nil
    status_step(state, "on_entry")
    main_step(state)
    ws.root["ae_result"] = result unless ws.root["ae_result"] == "error"
    if fail || ws.root["ae_result"] == "error"
      ws.root["ae_result"] = "error"
      ws.root["ae_reason"] ||= "#{name} failed (simulated)"
      status_step(state, "on_error")
    else
      status_step(state, "on_exit")
    end
    ws.root["ae_result"]
  end

  # The state machine from the first state up to `failing` (which fails); the states
  # in `skip` have no value in the instance, so the engine skips them entirely.
  def run_until_failure(failing, skip: [])
    RollbackDemoSpec.states.each do |state|
      next if skip.include?(state.name)
      break if run_state(state.name, fail: state.name == failing) == "error"
    end
  end

  # The rollback instances run their real methods from the domain; `overrides` replaces
  # some with a block (e.g. a failing one).
  def wire_rollback_instances(overrides = {})
    %w[ReleaseIPAddress UnregisterDHCP UnregisterDNS].each do |instance|
      matcher = %r{#{Regexp.escape(RollbackDemoSpec::ROLLBACK_CLASS)}/#{instance}\z}
      if overrides.key?(instance)
        ws.on_instantiate(matcher, &overrides[instance])
      else
        ws.on_instantiate(matcher) { |_evm, uri| run_rollback_instance(uri) }
      end
    end
  end

  # Runs an instance's method as the engine would, from inside an instantiate: a method's
  # MIQ_STOP/MIQ_ABORT (or an uncaught error) is what the instantiate reports.
  def run_rollback_instance(uri)
    caller_method = ws.evm.current_method
    rc = run_method(RollbackDemoSpec.method_file_for(uri), ws)
    ws.current_method = caller_method
    exit(rc) unless [MiqAutomate::MIQ_OK, MiqAutomate::MIQ_WARN].include?(rc)
  end

  def rollback_instantiations
    ws.instantiations.select { |uri| uri.start_with?(RollbackDemoSpec::ROLLBACK_CLASS) }
  end

  # What a failure in each state undoes, most recent first; the VM exists once
  # CheckProvisioned has run, so only from there on is it retired.
  network = [RollbackDemoSpec::UNREGISTER_DNS, RollbackDemoSpec::UNREGISTER_DHCP, RollbackDemoSpec::RELEASE_IP]
  expected = {
    "CustomizeRequest" => { undo: [], retired: false },
    "AcquireIPAddress" => { undo: [RollbackDemoSpec::RELEASE_IP], retired: false },
    "RegisterDHCP" => { undo: network.last(2), retired: false },
    "RegisterDNS" => { undo: network, retired: false },
    "Provision" => { undo: network, retired: false },
    "CheckProvisioned" => { undo: network, retired: true },
    "PostProvision" => { undo: network, retired: true },
    "Finished" => { undo: network, retired: true }
  }

  it "covers every state of the class" do
    expect(RollbackDemoSpec.states.map(&:name)).to eq(expected.keys)
  end

  { "journal mode (the domain's method, its MATRIX)" => :method_file,
    "journal mode (rollback_matrix.yaml)" => :journal,
    "per-state mode (rollback_matrix_per_state.yaml)" => :per_state }.each do |mode_name, mode_runner|
    describe mode_name do
      let(:runner) { mode_runner }

      before { wire_rollback_instances }

      expected.each do |failing, outcome|
        context "when #{failing} fails" do
          before { run_until_failure(failing) }

          let(:state) { RollbackDemoSpec.state(failing) }
          let(:user_message) do
            # Message [...] is the task's message before on_error: the state's on_entry
            # status, or (CheckProvisioned has no on_entry) the previous state's on_exit.
            index = RollbackDemoSpec.states.index(state)
            before = state.statuses["on_entry"] || RollbackDemoSpec.states[index - 1].statuses["on_exit"]
            "[EVM] VM [web01] Step [#{failing}] Status [#{state.statuses['on_error']}] Message [#{before}] "
          end

          it "instantiates #{outcome[:undo].empty? ? 'no rollback instance' : outcome[:undo].map { |u| u[%r{/(\w+)(\?|\z)}, 1] }.join(', then ')}" do
            expect(rollback_instantiations).to eq(outcome[:undo])
            outcome[:undo].each do |uri|
              expect(ws).to have_instantiated(uri)
              expect(ws).to have_logged(:info, ">>> Instantiating '#{uri}'")
            end
          end

          it "leaves nothing registered that the provision registered" do
            expect(prov.get_option(:ip_addr)).to be_nil
            expect(prov.get_option(:dhcp_reservation)).to be_nil
            expect(prov.get_option(:dns_fqdn)).to be_nil
          end

          it(outcome[:retired] ? "retires the VM (vm.retire_now)" : "has no VM to retire yet") do
            if outcome[:retired]
              expect(vm.retirement_state).to eq("initializing")
              expect(vm.events).to eq(["request_vm_retire"])
            else
              expect(vm.calls.map(&:first)).not_to include(:retire_now)
              expect(vm.retirement_state).to be_nil
            end
          end

          it "keeps ae_result error and the reason, and reports the failure as ManageIQ does" do
            expect(ws).to have_ae_result("error")
            expect(ws.root["ae_reason"]).to eq("#{failing} failed (simulated)")
            expect(prov.message).to eq(state.statuses["on_error"])
            expect(request.user_message).to eq(user_message)
            expect(ws).to have_notified(type: :automate_user_error, subject: request, message: "VM Provision Error: #{user_message}")
            expect(ws).to have_logged(:error, "<AEMethod update_provision_status> VM Provision Error: #{user_message}")
          end
        end
      end
    end
  end

  describe "journal mode" do
    before { wire_rollback_instances }

    it "records each completed state once, on its on_exit with ae_result ok" do
      run_until_failure("RegisterDNS")
      expect(ws.state_vars["ae_rollback_journal"]).to eq(%w[CustomizeRequest AcquireIPAddress RegisterDHCP])
    end

    it "does not count a state whose on_exit ran with ae_result retry" do
      %w[CustomizeRequest AcquireIPAddress RegisterDHCP RegisterDNS Provision].each { |s| run_state(s) }
      ws.root["ae_state_retries"] = 1
      expect(run_state("CheckProvisioned", result: "retry")).to eq("retry")
      expect(request.user_message).to end_with("Current Retry Number [1]")
      expect(ws.state_vars["ae_rollback_journal"]).not_to include("CheckProvisioned")
      run_state("CheckProvisioned")
      expect(ws.state_vars["ae_rollback_journal"].count("CheckProvisioned")).to eq(1)
    end

    it "undoes only what ran: a state the instance skips is not undone (per-state mode cannot know)" do
      run_until_failure("RegisterDNS", skip: ["RegisterDHCP"])
      expect(rollback_instantiations).to eq([RollbackDemoSpec::UNREGISTER_DNS, RollbackDemoSpec::RELEASE_IP])
    end
  end

  describe "per-state mode, when a state was skipped" do
    let(:runner) { :per_state }

    before { wire_rollback_instances }

    it "still runs every step the failing state lists; UnregisterDHCP finds nothing to undo" do
      run_until_failure("RegisterDNS", skip: ["RegisterDHCP"])
      expect(rollback_instantiations).to eq([RollbackDemoSpec::UNREGISTER_DNS, RollbackDemoSpec::UNREGISTER_DHCP,
                                             RollbackDemoSpec::RELEASE_IP])
      expect(ws).to have_logged(:info, "<AEMethod unregister_dhcp> VM [web01] has no DHCP reservation: nothing to undo")
    end
  end

  describe "retry and re-entry" do
    before { wire_rollback_instances }

    %i[method_file journal per_state].each do |mode_runner|
      context "(#{mode_runner})" do
        let(:runner) { mode_runner }

        it "never runs a step twice when on_error runs again" do
          run_until_failure("PostProvision")
          first = ws.instantiations.dup
          expect(vm.calls.count { |c| c.first == :retire_now }).to eq(1)

          # The engine re-enters the failed state (a retry, or a worker restarted after the
          # on_error): the state fails again and on_error runs again.
          ws.root["ae_state_retries"] = 1
          run_state("PostProvision", fail: true)
          status_step(RollbackDemoSpec.state("PostProvision"), "on_error")

          expect(ws.instantiations).to eq(first)
          expect(vm.calls.count { |c| c.first == :retire_now }).to eq(1)
          expect(ws).to have_ae_result("error")
          expect(ws.state_vars["ae_rollback_done"].size).to eq(4) # three instances and vm.retire_now
        end
      end
    end

    it "retires the VM on a later on_error once it exists, without repeating the other steps" do
      run_until_failure("Provision") # no VM yet: vm.retire_now has nothing to retire
      first = ws.instantiations.dup
      prov.vm = vm                   # the provider's clone finished after all
      status_step(RollbackDemoSpec.state("Provision"), "on_error")
      expect(vm.retirement_state).to eq("initializing")
      expect(ws.instantiations).to eq(first)
    end

    context "(the library's report)" do
      let(:runner) { :journal }

      let(:all_three) { [RollbackDemoSpec::UNREGISTER_DNS, RollbackDemoSpec::UNREGISTER_DHCP, RollbackDemoSpec::RELEASE_IP] }

      it "lists the steps it ran, then, on re-entry, runs none and skips them all" do
        run_until_failure("RegisterDNS")
        expect(last_report["ran"]).to eq(all_three)
        expect(last_report["failed"]).to eq([])
        expect(last_report["round_trips"]).to be_a(Integer).and be_positive

        status_step(RollbackDemoSpec.state("RegisterDNS"), "on_error")
        expect(last_report["ran"]).to eq([])
        expect(last_report["skipped"].size).to eq(3)
      end

      it "lists the skipped steps as URIs, as it lists the ones it ran" do
        run_until_failure("RegisterDNS")
        status_step(RollbackDemoSpec.state("RegisterDNS"), "on_error")
        expect(last_report["skipped"]).to eq(all_three)
      end
    end
  end

  describe "a failing rollback step" do
    { "raises" => ->(_evm, _uri) { raise "DHCP server unreachable" },
      "exits MIQ_ABORT" => lambda do |evm, _uri|
        evm.log(:error, "Could not remove DHCP reservation [dhcp-web01] of VM [web01]: DHCP server unreachable")
        exit MiqAutomate::MIQ_ABORT
      end }.each do |how, handler|
      %i[method_file per_state].each do |mode_runner|
        context "(#{how}, #{mode_runner})" do
          let(:runner) { mode_runner }

          before do
            wire_rollback_instances("UnregisterDHCP" => handler)
            run_until_failure("RegisterDNS")
          end

          it "is logged, and the later steps still run" do
            expect(rollback_instantiations).to eq([RollbackDemoSpec::UNREGISTER_DNS, RollbackDemoSpec::UNREGISTER_DHCP, RollbackDemoSpec::RELEASE_IP])
            expect(ws).to have_logged(:error, "Rollback step '#{RollbackDemoSpec::UNREGISTER_DHCP}' failed")
            expect(prov.get_option(:dns_fqdn)).to be_nil                   # UnregisterDNS ran before
            expect(prov.get_option(:ip_addr)).to be_nil                    # ReleaseIPAddress ran after
            expect(prov.get_option(:dhcp_reservation)).to eq("dhcp-web01") # still there: a human must look
            expect(ws).to have_ae_result("error")
          end
        end
      end
    end

    context "(the library's report)" do
      let(:runner) { :journal }

      it "names the failed step" do
        wire_rollback_instances("UnregisterDHCP" => ->(_evm, _uri) { exit MiqAutomate::MIQ_ABORT })
        run_until_failure("RegisterDNS")
        expect(last_report["failed"]).to eq([RollbackDemoSpec::UNREGISTER_DHCP])
        expect(last_report["ran"]).to include(RollbackDemoSpec::UNREGISTER_DNS, RollbackDemoSpec::RELEASE_IP)
      end
    end
  end

  describe "a rollback instance that sets ae_result and ae_reason" do
    before do
      wire_rollback_instances("UnregisterDNS" => lambda do |evm, uri|
        run_rollback_instance(uri)
        evm.root["ae_result"] = "ok" # as many ManageIQ methods end
        evm.root["ae_reason"] = "records removed"
      end)
      run_until_failure("RegisterDNS")
    end

    it "does not change the failed state's ae_result or ae_reason" do
      expect(ws).to have_ae_result("error")
      expect(ws.root["ae_reason"]).to eq("RegisterDNS failed (simulated)")
      expect(rollback_instantiations.size).to eq(3)
    end
  end

  describe "calling the library directly" do
    before do
      wire_rollback_instances
      %w[CustomizeRequest AcquireIPAddress].each { |s| run_state(s) }
      ws.root["ae_state"] = "RegisterDHCP"
      ws.root["ae_status_state"] = "on_error"
      ws.root["ae_result"] = "error"
    end

    context "with the workspace's own $evm, whose inputs give the status" do
      let(:ws_inputs) { { "status" => "Error Registering DHCP" } }

      it "rolls back the same way" do
        report = MiqAutomate::Rollback.update_provision_status(ws.evm, matrix: RollbackDemoSpec::JOURNAL_MATRIX, mode: :journal)
        expect(report["ran"]).to eq([RollbackDemoSpec::UNREGISTER_DHCP, RollbackDemoSpec::RELEASE_IP])
        expect(prov.message).to eq("Error Registering DHCP")
        expect(ws).to have_ae_result("error")
      end

      it "with on_error: :continue, lets the state machine go on after the rollback" do
        MiqAutomate::Rollback.update_provision_status(ws.evm, matrix: RollbackDemoSpec::JOURNAL_MATRIX, mode: :journal,
                                                              on_error: :continue)
        expect(ws).to have_ae_result("continue")
        expect(rollback_instantiations).to eq([RollbackDemoSpec::UNREGISTER_DHCP, RollbackDemoSpec::RELEASE_IP])
      end
    end

    it "the domain's method copies rollback_class from the state machine's attribute when root has none" do
      ws.root["rollback_class"] = nil
      # ManageIQ runs on_error with the state machine instance as $evm.object; its
      # rollback_class attribute comes from the class schema (here: as an argument).
      ws.on_instantiate(%r{/VMProvision_VM/template\z}) do
        ws.root["ae_state"] = "RegisterDHCP"
        ws.root["ae_status_state"] = "on_error"
        ws.root["ae_result"] = "error"
        run_status_method("Error Registering DHCP")
      end
      ws.evm.instantiate("/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template" \
                         "?rollback_class=#{RollbackDemoSpec::ROLLBACK_CLASS}")
      expect(ws.root["rollback_class"]).to eq(RollbackDemoSpec::ROLLBACK_CLASS)
      expect(rollback_instantiations).to eq([RollbackDemoSpec::UNREGISTER_DHCP, RollbackDemoSpec::RELEASE_IP])
    end

    it "takes the status as a keyword (status:), in place of inputs['status']" do
      MiqAutomate::Rollback.update_provision_status(ws.evm, matrix: RollbackDemoSpec::PER_STATE_MATRIX, mode: :per_state,
                                                            status: "Error Registering DHCP")
      expect(prov.message).to eq("Error Registering DHCP")
      expect(rollback_instantiations).to eq([RollbackDemoSpec::UNREGISTER_DHCP, RollbackDemoSpec::RELEASE_IP])
    end
  end

  describe "the domain's files" do
    it "update_provision_status's MATRIX is rollback_matrix.yaml" do
      source = File.read(RollbackDemoSpec::STATUS_METHOD)
      matrix = Module.new.module_eval(source[/^MATRIX = .*?^\}\.freeze$/m])
      expect(matrix).to eq(YAML.load_file(RollbackDemoSpec::JOURNAL_MATRIX))
    end

    it "both matrix files pass the library's validation" do
      expect(MiqAutomate::Rollback.validate(RollbackDemoSpec::JOURNAL_MATRIX)).to be(true)
      expect(MiqAutomate::Rollback.validate(RollbackDemoSpec::PER_STATE_MATRIX)).to be(true)
    end

    it "every matrix names only states of the class, and gives each state steps or no_rollback" do
      names = RollbackDemoSpec.states.map(&:name)
      [RollbackDemoSpec::JOURNAL_MATRIX, RollbackDemoSpec::PER_STATE_MATRIX].each do |file|
        matrix = YAML.load_file(file)
        expect(matrix["states"].keys - names).to eq([]), file
        expect((matrix["states"].keys + matrix["no_rollback"]).sort).to eq(names.sort), file
      end
    end

    it "every rollback step of the matrices is an instance of the domain, or vm.retire_now" do
      [RollbackDemoSpec::JOURNAL_MATRIX, RollbackDemoSpec::PER_STATE_MATRIX].each do |file|
        YAML.load_file(file)["states"].values.flatten.each do |step|
          uri = step.is_a?(Hash) ? step["uri"] : step
          next if uri == "vm.retire_now"

          method_file = RollbackDemoSpec.method_file_for(uri.sub("${/#rollback_class}", RollbackDemoSpec::ROLLBACK_CLASS))
          expect(method_file && File.exist?(method_file)).to be(true), "#{file}: #{uri}"
        end
      end
    end

    it "stops with MIQ_STOP when there is no miq_provision, as ManageIQ's method does" do
      ws.root["miq_provision"] = nil
      ws.root["ae_state"] = "AcquireIPAddress"
      ws.root["ae_result"] = "error"
      expect(run_status_method("Error Acquiring IP Address")).to exit_with(MiqAutomate::MIQ_STOP)
      expect(ws).to have_logged(:error, "miq_provision object not provided")
      expect(ws.instantiations).to be_empty
    end
  end
end
