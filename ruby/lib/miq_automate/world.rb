# frozen_string_literal: true

require "drb/drb"
require_relative "errors"

module MiqAutomate
  # A world file that does not load: the message names the file and the JSON path inside
  # it (`world.json: $.vms[3].host_id: no host 77`).
  class WorldError < Error
    attr_reader :file, :json_path, :problem

    def initialize(file, json_path, problem)
      @file = file
      @json_path = json_path
      @problem = problem
      super("#{file}: #{json_path}: #{problem}")
    end
  end

  # A described VMDB for offline runs: the providers, hosts, VMs, services, requests, users…
  # that ManageIQ's own content reads, answering as ManageIQ's service models do, with
  # behaviour on a clock (a provision that completes, a VM that powers off, a stack that
  # finishes) so polling states run without stubs.
  #
  #   world = MiqAutomate::World.load("spec/worlds/provision.json", clock: -> { engine.clock.now })
  #   task  = world.vmdb(:miq_provision, 800)
  #   task.get_option(:number_of_vms)          # => 2 (stored as [2, "2"])
  #   world.vmdb(:vm).where(:host_id => 3)     # => [vm, …]
  #   world.execute(:category_exists?, "department")
  #   world.root_attributes_for_user("admin")  # => {"user" => …, "tenant" => …, "miq_group" => …}
  #   world.calls                              # every call, in order
  #
  # The file format is docs/world.schema.json; a world is a scenario of the mock ManageIQ
  # (mocks/*.json load as worlds) with more sections.
  class World
    include DRbUndumped

    # One call made on the world: `target` is the row ("vms/600"), the model class
    # ("Vm") or "execute"; `at` the clock's time.
    Call = Struct.new(:target, :name, :args, :at)

    # Reads a world file. `clock:` what "now" is: a callable giving a Time
    # (`-> { engine.clock.now }`), an object answering `now` (MiqAutomate::Engine::Clock),
    # or nil for a clock of the world's own (World::Clock: starts at the wall time and moves
    # only when told, `world.clock.advance(60)`).
    def self.load(path, clock: nil)
      new(Loader.parse(Loader.read(path), path.to_s), file: path.to_s, clock: clock)
    end

    # A world from JSON text (`file:` names it in errors).
    def self.parse(text, file: "(world)", clock: nil)
      new(Loader.parse(text, file), file: file, clock: clock)
    end

    attr_reader :file, :store, :calls, :clock, :answers, :timeline, :events
    attr_accessor :settings, :description, :faults, :behaviour, :run_user # :nodoc:
    attr_writer :generic_models, :pending # :nodoc:

    # `doc`: the parsed world (a Hash, as the file's JSON).
    def initialize(doc = {}, file: "(world)", clock: nil)
      @file = file
      @clock = Clock.wrap(clock)
      @store = Store.new
      @answers = {}
      @calls = []
      @events = []
      @models = {}.compare_by_identity
      @classes = {}
      @generic_models = {}
      @timeline = Timeline.new(self)
      Loader.new(self, doc, file).load
      @timeline.start(now)
    end

    # The clock's time now (a UTC Time).
    def now
      @clock.now.utc
    end

    # `$evm.vmdb(model)`: the model class (find, find_by, where, all, first, count…);
    # `$evm.vmdb(model, id)`: the row, or nil when there is none. An unknown model raises
    # NameError as ManageIQ's (`uninitialized constant MiqAeMethodService::MiqAeServiceFoo`).
    def vmdb(model, id = nil)
      tick
      klass = model_class(model)
      return klass if id.nil?

      # What ManageIQ's `$evm.vmdb(model, id)` is: the class's find.
      record_call(klass.spec.class_name, :find, [id])
      klass.lookup(id)
    end

    # The model class for `model` (:vm, "Vm", "vm_or_template", "ManageIQ_Providers_…").
    def model_class(model)
      spec = resolve_model(model)
      @classes[spec.key] ||= ModelClass.new(self, spec)
    end

    # `$evm.execute(name, *args)`: what the world declares for it (`execute` section), else
    # what ManageIQ's MiqAeServiceMethods would do with the world's data (category_exists?,
    # tag_create, create_service_provision_request…). An unknown name raises
    # MiqAutomate::MethodNotFound as ManageIQ does.
    def execute(name, *args, **kwargs)
      args << kwargs unless kwargs.empty?
      tick
      record_call("execute", name.to_sym, args)
      Execute.new(self).call(name.to_s, args)
    end

    # What ManageIQ's MiqAeObject#user_info_attributes gives the root for the run's user:
    # {"user", "tenant", "miq_group"} (the user's current tenant and group), none that is
    # nil. `userid` defaults to the world's `run.user`; nil when neither names a user.
    def root_attributes_for_user(userid = run_user)
      return {} if userid.nil?

      user = @store.rows("users").find { |u| u.attrs["userid"].to_s.casecmp?(userid.to_s) }
      raise ArgumentError, "the world has no user #{userid.inspect}" unless user

      model = model_for(user)
      { "user" => model, "tenant" => model.current_tenant, "miq_group" => model.current_group }.compact
    end

    # Applies what is due on the clock (the steps of hooks and timelines). Every call on
    # the world, its models and classes does it first, so no clock needs to call back.
    def tick
      @timeline.tick(now)
    end

    # --- for the world's own classes ---

    # The service model of a row (one object per row, as calls are counted on it).
    def model_for(record)
      return nil if record.nil?

      @models[record] ||= Model.build(self, record)
    end

    def record_call(target, name, args)
      @calls << Call.new(target, name, args, now)
    end

    # The catalogue entry (or a `models` section) for a model name, as ManageIQ resolves
    # `$evm.vmdb(name)`.
    def resolve_model(model)
      name = model.to_s
      # A full STI class name ("ManageIQ_Providers_Vmware_InfraManager_Vm", as ManageIQ's
      # service-model constants spell it) sees the rows of that type and its subclasses.
      if name.start_with?("ManageIQ_") || name.include?("::")
        type = name.include?("::") ? name : name.gsub("_", "::")
        table = Catalogue.table_for_type(type)
        if table
          return Catalogue::Model.new(key: type.gsub("::", "_"), table: table, class_name: type,
                                      filter: ->(r) { r.attrs["type"].to_s.start_with?(type) })
        end
      end
      key = Catalogue.underscore(name)
      key = Catalogue::MODEL_ALIASES.fetch(key, key)
      Catalogue::MODELS[key] || generic_model(key) ||
        raise(NameError.new("uninitialized constant MiqAeMethodService::MiqAeService#{Catalogue.camelize(key)}", name.to_sym))
    end

    # The table a `*_type` value names (a base class or an STI type), or a `models` table.
    def table_for_type(type)
      Catalogue.table_for_type(type) || @generic_models[Catalogue.underscore(type)]
    end

    # Sets a column of a row and what follows from it (a task's parent hears of its state).
    def write(record, column, value)
      @store.write(record, column, value)
      Tasks.changed(self, record, column) if record.table == "miq_request_tasks"
      value
    end

    # Adds a row (one a step creates), with the service resource its service link makes.
    def insert(record)
      @store.insert(record)
      service_id = record.table == "services" ? record.attrs["parent_id"] : record.attrs["service_id"]
      if service_id && %w[services vms orchestration_stacks].include?(record.table)
        add_service_resource(service_id, World.base_class(record.table), record.id)
      end
      record
    end

    def delete(record)
      @store.delete(record)
    end

    # A service's resource row (what `service.service_resources` lists).
    def add_service_resource(service_id, type, id)
      @store.insert(Record.new("service_resources", @store.next_id("service_resources"),
                               "service_id" => service_id, "resource_type" => type, "resource_id" => id))
    end

    # The classification entry of a tag ("department/finance"), or nil.
    def classification_entry(tag)
      category_name, name = tag.to_s.split("/", 2)
      category = @store.where("classifications", "parent_id" => nil, "name" => category_name).first
      category && @store.where("classifications", "parent_id" => category.id, "name" => name).first
    end

    # A declared behaviour setting (`behaviour.power.after`…), or the default.
    def behaviour_setting(name, key, default)
      (@behaviour || {}).fetch(name, {}).fetch(key, default)
    end

    # The base class ManageIQ names a row's type by in polymorphic columns ("VmOrTemplate").
    def self.base_class(table)
      Catalogue::TABLES[table]&.class_name || table
    end

    def inspect
      counts = Catalogue::TABLES.keys.map { |t| [t, @store.count(t)] }.reject { |_, n| n.zero? }
      "#<MiqAutomate::World #{@file} #{counts.map { |t, n| "#{t}=#{n}" }.join(' ')}>"
    end

    private

    def generic_model(key)
      table = @generic_models[key]
      table ||= "models/#{key}" if Catalogue::KNOWN_OTHER_MODELS.include?(key)
      table && Catalogue::Model.new(key: key, table: table, class_name: Catalogue.camelize(key))
    end
  end
end

require_relative "world/active_record"
require_relative "world/catalogue"
require_relative "world/store"
require_relative "world/clock"
require_relative "world/loader"
require_relative "world/timeline"
require_relative "world/model"
require_relative "world/model_class"
require_relative "world/options"
require_relative "world/tags"
require_relative "world/custom_attributes"
require_relative "world/retirement"
require_relative "world/vms"
require_relative "world/services"
require_relative "world/requests"
require_relative "world/tasks"
require_relative "world/orchestration"
require_relative "world/users"
require_relative "world/kinds"
require_relative "world/execute"
