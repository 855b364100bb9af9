# frozen_string_literal: true

module MiqAutomate
  # An offline automate workspace. Its #evm is the `$evm` a method sees.
  #
  #   ws = MiqAutomate::Workspace.new(root: { "miq_provision" => prov }, inputs: { "status" => "x" })
  #   $evm = ws.evm
  class Workspace
    # vmdb: a MiqAutomate::MockManageIQ whose services and VMs `$evm.vmdb` finds (after the
    # registered models), sharing state with its REST API.
    # v2_key: the appliance's key file (a path or a MiqAutomate::V2Key) `decrypt` reads
    # `v2:{…}` passwords with; nil (the default): the file $MIQ_V2_KEY names, if any; false:
    # none, a password's text as it is.
    # world: a MiqAutomate::World (or a world file's path): `$evm.vmdb` and `$evm.execute`
    # answer from it, service-model arguments (`Vm::vm=12`) are its rows, and the root gets
    # the `user`, `tenant` and `miq_group` of its run user, as ManageIQ's root has them
    # (the caller's own root attributes win).
    def self.new(root: {}, inputs: {}, state_vars: {}, current_method: nil, models: [], vmdb: nil, v2_key: nil, world: nil)
      key = V2Key.resolve(v2_key)
      world = World.load(world.to_s) if world && !world.is_a?(World)
      root = world_root(world).merge(root.to_h { |k, v| [k.to_s, v] }) if world
      ws = _allocate
      ws.send(:_setup, root, inputs, state_vars, current_method&.to_s)
      models.each { |m| ws.add_model(m) }
      ws.instance_variable_set(:@mock_vmdb, vmdb)
      ws.instance_variable_set(:@v2_key, key)
      ws.instance_variable_set(:@world, world)
      ws
    end

    # The MiqAutomate::World `$evm.vmdb` and `$evm.execute` answer from, or nil.
    attr_reader :world

    # What ManageIQ's root has from the VMDB before the URI's own attributes: the run
    # user's user, tenant and group (MiqAeObject#user_info_attributes) and the server
    # delivering it (every queued automate URI carries MiqServer::miq_server).
    def self.world_root(world)
      attributes = world.root_attributes_for_user
      server = world.vmdb(:miq_server).first
      attributes["miq_server"] = server if server
      attributes
    end
    private_class_method :world_root

    # The MiqAutomate::V2Key `decrypt` uses, or nil.
    attr_reader :v2_key

    # What the state machines of an Engine#instantiate did, in order: Hashes with "event"
    # (enter, step, done, raised, instantiate), as a delivery's trace has them
    # (docs/reference/file-formats.md); [] for a workspace no engine ran.
    def state_machine_events
      @state_machine_events_parsed ||= JSON.parse(@_state_machine_events || "[]")
    end

    # An earlier delivery's workspace reads the service models and the mock VMDB of the
    # delivery's own.
    def _share_settings(other)
      @models = other.send(:models)
      @mock_vmdb = other.instance_variable_get(:@mock_vmdb)
      @world = other.world
      @v2_key = other.v2_key
      extend(Engine::Run) if other.is_a?(Engine::Run)
      @engine = other.instance_variable_get(:@engine)
      self
    end
    private :_share_settings

    # The `$evm` of this workspace (one object, as ManageIQ gives one per method run).
    def evm
      @evm ||= _service
    end

    def root
      evm.root
    end

    # Registers a block run when an instantiated URI's path matches `matcher` (a Regexp, or
    # a String the path ends with): it simulates what the instance's methods do. The block
    # gets the `$evm` (whose current object is the new instance) and the URI. `exit MIQ_STOP`
    # or raising MiqAutomate::StopInstantiation stops that instance; MIQ_ABORT aborts.
    def on_instantiate(matcher, &block)
      raise ArgumentError, "on_instantiate needs a block" unless block

      _on_instantiate(matcher, block)
      self
    end

    # Adds a notification type `create_notification` accepts beyond the ones ManageIQ seeds
    # (service_retiring, vm_retired, automate_user_error …; the README lists where they come from):
    # `message` may use `%{subject}` (the subject's name) and `%{option}` bindings.
    def add_notification_type(name, level:, audience:, message:, expires_in: 86_400)
      _add_notification_type(name.to_s, level.to_s, audience.to_s, message.to_s, Integer(expires_in))
      self
    end

    # Makes a service model findable with `$evm.vmdb(model, id)` and by typed arguments.
    def add_model(model)
      models[[model.model_name.to_s, model.id.to_i]] = model
      model
    end

    # `$evm.vmdb(model)` (the registered models of that name) or `$evm.vmdb(model, id)`.
    def vmdb(model, id = nil)
      return @world.vmdb(model, id) if @world

      name = ServiceModel.model_key(model)
      return models.select { |(m, _), _| m == name }.values if id.nil?

      models[[name, id.to_i]] || mock_record(name, id)
    end

    # The Ruby object for a service-model reference found in attributes (e.g. `Vm::vm=12`):
    # the registered model, else a bare one with just the id.
    def service_model_for(model, id)
      models[[model.to_s, id.to_i]] ||= world_record(model, id) || mock_record(model.to_s, id) || ServiceModel.new(model.to_sym, id: id)
    end

    def inspect
      "#<MiqAutomate::Workspace root=#{root.attributes.keys.inspect}>"
    end

    private

    def models
      @models ||= {}
    end

    # The world's row for a service-model reference, or nil.
    def world_record(model, id)
      @world&.vmdb(model, id)
    rescue NameError, MiqAutomate::Error
      nil
    end

    def mock_record(name, id)
      return nil unless @mock_vmdb && %w[service vm vm_or_template].include?(name)

      name == "service" ? @mock_vmdb.service(id) : @mock_vmdb.vm(id)
    rescue MiqAutomate::ServiceNotFound
      nil
    end
  end

  # The offline `$evm`. Most methods are native; these are Ruby sugar.
  class Service
    def vmdb(model, id = nil)
      workspace.vmdb(model, id)
    end

    # With a world, `$evm.execute` answers from it (what the world declares, else what
    # ManageIQ's MiqAeServiceMethods would do with its data); the call is recorded as always.
    module WorldExecute
      def execute(name, *args)
        world = workspace.world
        return super unless world

        begin
          super
        rescue MiqAutomate::MethodNotFound
          nil # the world knows ManageIQ's list of names
        end
        world.execute(name, *args)
      end
    end
    prepend WorldExecute

    # As MiqAeMockService: `[]`, `[]=` and `attributes` act on the current object.
    def [](key)
      current[key]
    end

    def []=(key, value)
      current[key] = value
    end

    def attributes
      current.attributes
    end

    def inspect
      "#<MiqAutomate::Service current=#{current.inspect}>"
    end
  end
end
