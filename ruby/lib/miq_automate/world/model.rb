# frozen_string_literal: true

module MiqAutomate
  class World
    # A row of the world as ManageIQ's service model for it answers (MiqAeServiceVm,
    # MiqAeServiceMiqProvision…): its columns and associations as methods, `id`, `[]`,
    # `attributes`, and the methods of its kind (get_option for requests and tasks, start
    # and stop for VMs, normalized_live_status for stacks…, see World::Kinds). Anything
    # else is a NoMethodError, as on the real models. Every call is recorded: `calls`
    # ([[name, args], …], as MiqAutomate::ServiceModel's) and the world's `calls`.
    # One object per row, so `world.vmdb(:vm, 1).equal?(world.vmdb(:vm, 1))`.
    class Model
      include DRbUndumped

      # Columns no service model exposes (ManageIQ's EXPOSED_ATTR_BLACK_LIST).
      HIDDEN = /password|\Aauth_key\z/.freeze
      # What `normalized_<method>` replaces in a String (ManageIQ's URI-unsafe characters).
      UNSAFE = /[<>#%"{}|\\^\[\]` \x00-\x1f\x7f]/.freeze

      # The model object for `record`, of its kind's class.
      def self.build(world, record)
        kind = Kinds.kind_of(record)
        Kinds.model_class(kind).new(world, record, kind)
      end

      # Wraps each public method of `modules` so that it is recorded and the clock ticks
      # first, and so that a row's `on` hook for it runs instead (see World::Timeline).
      def self.recording(modules)
        names = modules.flat_map(&:public_instance_methods).uniq
        Module.new do
          names.each do |name|
            define_method(name) { |*args, **kwargs, &block| __call(name, args) { super(*args, **kwargs, &block) } }
          end
        end
      end

      attr_reader :calls, :events

      def initialize(world, record, kind)
        @world = world
        @record = record
        @kind = kind
        @calls = []
        @events = []
        @depth = 0
      end

      # The model's name as `$evm.vmdb` takes it (:vm, :miq_provision…), as
      # MiqAutomate::ServiceModel#model_name (Workspace#add_model uses it).
      def model_name
        @kind.to_sym
      end

      def ==(other)
        other.is_a?(Model) && other._record.table == @record.table && other._record.id == @record.id
      end
      alias eql? ==

      def hash
        [@record.table, @record.id].hash
      end

      def respond_to_missing?(name, include_private = false)
        key = name.to_s
        @record.hooks.key?(key) || readable?(key) ||
          (key.start_with?("normalized_") && respond_to?(key.delete_prefix("normalized_"))) || super
      end

      def method_missing(name, *args, &block)
        key = name.to_s
        if @record.hooks.key?(key)
          __call(name, args) { nil }
        elsif args.empty? && readable?(key)
          __call(name, args) { read_attribute(key) }
        elsif key.start_with?("normalized_") && respond_to?(key.delete_prefix("normalized_"))
          # As ManageIQ: the method's result with URI-unsafe characters made underscores.
          __call(name, args) do
            result = public_send(key.delete_prefix("normalized_"), *args, &block)
            result.is_a?(String) ? result.gsub(UNSAFE, "_") : result
          end
        else
          super
        end
      end

      def inspect
        shown = %w[name description type state status power_state].filter_map do |c|
          "#{c}: #{@record.attrs[c].inspect}" if @record.attrs.key?(c)
        end
        "#<MiqAutomate::World::Model #{@record.label}#{shown.empty? ? '' : " #{shown.join(', ')}"}>"
      end
      alias to_s inspect

      # --- for the world's classes (not service-model methods) ---

      def _record
        @record
      end

      # Records a call (on this model and in the world's calls) and ticks the clock, unless
      # it is made from inside another call of this model; a row's hook for it runs
      # instead of the block.
      def __call(name, args)
        outer = @depth.zero?
        @depth += 1
        begin
          if outer
            @world.tick
            @calls << [name, args]
            @world.record_call(@record.label, name, args)
          end
          hook = outer && @record.hooks[name.to_s]
          hook ? @world.timeline.run_hook(@record, name.to_s, hook) : yield
        ensure
          @depth -= 1
        end
      end

      private

      def world
        @world
      end

      def spec
        Catalogue::TABLES[@record.table]
      end

      def read(column)
        @record.attrs[column]
      end

      def write(column, value)
        @world.write(@record, column, value)
      end

      def now
        @world.now
      end

      # Steps from now (see World::Timeline), e.g. `schedule({"after" => 30, "set" => {…}})`.
      def schedule(*steps)
        @world.timeline.schedule(@record, steps, now)
        @world.tick
      end

      def model(record)
        @world.model_for(record)
      end

      def models(records)
        records.map { |r| @world.model_for(r) }
      end

      def readable?(key)
        return false if HIDDEN.match?(key) || Base::WORLD_ONLY.include?(key)

        @record.attrs.key?(key) || spec&.column?(key) || association?(key)
      end

      def association?(key)
        s = spec
        (s && (s.belongs_to.key?(key) || s.polymorphic.key?(key) || s.has_many.key?(key))) ||
          (@record.attrs.key?("#{key}_id") && !target_model(key).nil?)
      end

      # The model a `<key>_id` column points at, or nil when there is no such model.
      def target_model(key)
        @world.resolve_model(key)
      rescue NameError => e
        raise if e.is_a?(NoMethodError)

        nil
      end

      def read_attribute(key)
        s = spec
        if s&.belongs_to&.key?(key)
          fk, table = s.belongs_to[key]
          model(@world.store.find(table, read(fk)))
        elsif s&.polymorphic&.key?(key)
          id_column, type_column = s.polymorphic[key]
          table = @world.table_for_type(read(type_column))
          table && read(id_column) ? model(@world.store.find(table, read(id_column))) : nil
        elsif s&.has_many&.key?(key)
          table, fk, filter = s.has_many[key]
          models(@world.store.where(table, { fk => @record.id }.merge(filter || {})))
        elsif @record.attrs.key?(key) || s&.column?(key)
          read(key)
        else
          # `flavor` from a `flavor_id` column: the row of that model, wherever it is.
          model(@world.store.find(target_model(key).table, read("#{key}_id")))
        end
      end
    end
  end
end
