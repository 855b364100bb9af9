# frozen_string_literal: true

module MiqAutomate
  class World
    # A query a world cannot answer (a `where` with SQL beyond `column = ?`).
    class Unsupported < MiqAutomate::Error; end

    # What `$evm.vmdb(:vm)` is: the service-model class, answering the class methods
    # ManageIQ's MiqAeServiceModelBase exposes — `find`, `find_by`, `find_by_<column>`
    # (and `find_by!`, `lookup_by_<column>`), `where`, `all`, `first`, `count` — over the
    # world's rows of that model (an STI model sees its own types: `vm` no templates).
    # Results are plain Arrays of World::Model, as ManageIQ wraps a relation. Like
    # ManageIQ's, it has no `last` or `exists?`: those raise NoMethodError.
    # A missing row in `find` raises MiqAutomate::ServiceNotFound ("Service Model not
    # found"), ManageIQ's rewrite of the ActiveRecord::RecordNotFound that is its `cause`.
    class ModelClass
      include DRbUndumped

      attr_reader :spec

      def initialize(world, spec)
        @world = world
        @spec = spec
      end

      # The service-model class's name, as ManageIQ's.
      def name
        "MiqAeMethodService::MiqAeService#{@spec.class_name.gsub('::', '_')}"
      end
      alias to_s name

      def inspect
        "#<MiqAutomate::World::ModelClass #{@spec.class_name} (#{@spec.table})>"
      end

      # `$evm.vmdb(model, id)`: the row or nil.
      def lookup(id)
        key = Store.key("id", id)
        record = @world.store.find(@spec.table, key)
        @world.model_for(record) if record && @spec.include?(record)
      end

      def find(*ids)
        call(:find, ids) do
          list = ids.flatten
          rescuing_not_found do
            raise ActiveRecord::RecordNotFound.new("Couldn't find #{@spec.class_name} without an ID", @spec.class_name, "id") if list.empty?

            found = list.map { |id| lookup(id) }
            if list.size == 1 && !ids.first.is_a?(Array)
              found.first || raise(ActiveRecord::RecordNotFound.new("Couldn't find #{@spec.class_name} with 'id'=#{ids.first}",
                                                                    @spec.class_name, "id", ids.first))
            else
              missing = found.count(&:nil?)
              if missing.positive?
                raise ActiveRecord::RecordNotFound.new(
                  "Couldn't find all #{@spec.class_name.split('::').last}s with 'id': (#{list.join(', ')}) " \
                  "(found #{list.size - missing} results, but was looking for #{list.size}).", @spec.class_name, "id", list
                )
              end
              found
            end
          end
        end
      end

      def find_by(conditions = {})
        call(:find_by, [conditions]) { query(conditions).first }
      end

      def find_by!(conditions = {})
        call(:find_by!, [conditions]) do
          query(conditions).first || rescuing_not_found do
            raise ActiveRecord::RecordNotFound.new("Couldn't find #{@spec.class_name}", @spec.class_name)
          end
        end
      end

      # `where(:host_id => 3)`, `where(:name => %w[a b])`, `where("lower(name) = ?", "web")`.
      def where(conditions = {}, *binds)
        call(:where, [conditions, *binds]) { query(conditions, binds) }
      end

      def all
        call(:all, []) { query({}) }
      end

      def first
        call(:first, []) { query({}).first }
      end

      def count
        call(:count, []) { query({}).size }
      end

      def respond_to_missing?(name, include_private = false)
        finder(name.to_s) || answers(name.to_s) || special(name.to_s) || super
      end

      # `find_by_name("web")`, `find_by_name_and_vendor("web", "vmware")`, `lookup_by_name`,
      # the world's declared class methods (`class_methods` section), and the few a model
      # has of its own (orchestration_stack.refresh, classification.categories).
      def method_missing(name, *args, &block)
        key = name.to_s
        if (list = answers(key))
          call(name, args) { Execute.answer(@world, list, args) { raise NoMethodError.new(undefined(key), name) } }
        elsif (columns = finder(key))
          unless columns.size == args.size
            raise ArgumentError, "wrong number of arguments (given #{args.size}, expected #{columns.size})"
          end

          call(name, args) { query(columns.zip(args).to_h).first }
        elsif special(key)
          call(name, args) { send("_#{key}", *args) }
        else
          super
        end
      end

      private

      def call(name, args)
        @world.tick
        @world.record_call(@spec.class_name, name.to_sym, args)
        yield
      end

      # ManageIQ's class-level method_missing turns ActiveRecord's RecordNotFound into
      # MiqAeException::ServiceNotFound (its `cause` is ActiveRecord's).
      def rescuing_not_found
        yield
      rescue ActiveRecord::RecordNotFound
        raise MiqAutomate::ServiceNotFound, "Service Model not found"
      end

      def undefined(key)
        "undefined method `#{key}' for #{name}:Class"
      end

      def finder(key)
        match = key.match(/\A(?:find_by|lookup_by)_(\w+?)(!)?\z/) or return nil
        match[1].split("_and_")
      end

      def answers(key)
        @world.answers.dig(@spec.key, key)
      end

      SPECIALS = { "orchestration_stacks" => %w[refresh], "classifications" => %w[categories] }.freeze

      def special(key)
        SPECIALS.fetch(@spec.table, []).include?(key)
      end

      # OrchestrationStack.refresh(manager_id, manager_ref): the stacks it names refresh
      # (after `behaviour.refresh.after` seconds).
      def _refresh(manager_id, manager_ref = nil)
        conditions = { "ems_id" => manager_id }
        conditions["ems_ref"] = manager_ref if manager_ref
        @world.store.where("orchestration_stacks", conditions).each do |record|
          @world.timeline.schedule(record, [{ "after" => @world.behaviour_setting("refresh", "after", 0), "refresh" => true }], @world.now)
        end
        @world.tick
        nil
      end

      # Classification.categories: the categories (classifications without a parent).
      def _categories
        @world.store.where("classifications", "parent_id" => nil).map { |r| @world.model_for(r) }
      end

      # The rows matching `conditions` (a Hash, or SQL with `?` binds), of this model.
      def query(conditions, binds = [])
        conditions = sql_conditions(conditions, binds) if conditions.is_a?(String)
        raise ArgumentError, "where takes a Hash of columns or a SQL string, not #{conditions.inspect}" unless conditions.is_a?(Hash)

        conditions = conditions.dup
        lower = conditions.delete(:lower) || {}
        wanted = conditions.to_h { |column, value| [column.to_s, value.is_a?(World::Model) ? value.id : value] }
        (wanted.keys + lower.keys).each { |column| check_column(column) }
        rows = @world.store.where(@spec.table, wanted)
        rows = rows.select { |r| @spec.include?(r) } if @spec.filter
        lower.each { |column, value| rows = rows.select { |r| r.attrs[column].to_s.downcase == value.to_s } }
        rows.map { |r| @world.model_for(r) }
      end

      def check_column(column)
        table = Catalogue::TABLES[@spec.table]
        return if table.nil? || table.column?(column) || @world.store.rows(@spec.table).any? { |r| r.attrs.key?(column) }

        raise ActiveRecord::StatementInvalid, "PG::UndefinedColumn: ERROR:  column #{@spec.table}.#{column} does not exist"
      end

      CONDITION = /\A\s*(?:lower\((\w+)\)|(\w+))\s*(=|IN|IS NULL|IS NOT NULL)\s*(\(\s*\?\s*\)|\?)?\s*\z/i.freeze

      # The SQL content methods give `where`: `column = ?`, `lower(column) = ?`,
      # `column IN (?)`, `column IS NULL`, joined by AND.
      def sql_conditions(sql, binds)
        binds = binds.dup
        sql.split(/\s+AND\s+/i).each_with_object({}) do |part, conditions|
          match = CONDITION.match(part)
          unless match
            raise Unsupported, "the world answers where() with a Hash or with `column = ?`, `lower(column) = ?`, " \
                               "`column IN (?)` or `column IS NULL` joined by AND, not #{sql.inspect}"
          end
          column = match[1] || match[2]
          operator = match[3].upcase
          if operator == "IS NULL" then conditions[column] = nil
          elsif operator == "IS NOT NULL"
            raise Unsupported, "the world does not answer `IS NOT NULL` in where(): #{sql.inspect}"
          elsif match[1]
            (conditions[:lower] ||= {})[column] = binds.shift
          else
            conditions[column] = binds.shift
          end
        end
      end
    end
  end
end
