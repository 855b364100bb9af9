# frozen_string_literal: true

module MiqAutomate
  class World
    # One row of a world table. `attrs` are its columns (String keys, ids Integers);
    # `tags` its managed tags ("department/finance"); `hooks` what its methods do
    # (World::Timeline); `provider` what the provider says that the VMDB does not know
    # until a refresh.
    class Record
      NONE = [].freeze
      EMPTY = {}.freeze

      attr_reader :table, :id, :attrs
      attr_accessor :deleted
      attr_writer :tags, :provider

      def initialize(table, id, attrs)
        @table = table
        @id = id
        @attrs = attrs
        @deleted = false
      end

      # (Allocated when first set: most rows have no tags, hooks or provider news.)
      def tags
        @tags || NONE
      end

      def hooks
        @hooks || EMPTY
      end

      def provider
        @provider || EMPTY
      end

      def add_hook(name, hook)
        (@hooks ||= {})[name] = hook
      end

      # A row written without an id gets one before it is stored.
      def assign_id(id)
        raise ArgumentError, "#{label} has an id already" if @id

        @id = id
      end

      # "vms/600": how calls and errors name the row.
      def label
        "#{@table}/#{@id}"
      end

      def inspect
        "#<MiqAutomate::World::Record #{label}>"
      end
    end

    # The world's rows by table, with indexes built the first time a column is queried
    # and kept up to date by every write (#write), so `where` on a large world costs a hash
    # lookup rather than a scan.
    class Store
      def initialize
        @rows = Hash.new { |h, table| h[table] = {} }
        @indexes = Hash.new { |h, table| h[table] = {} }
        @sorted = Hash.new(true)
        @max = {}
      end

      def insert(record)
        rows = @rows[record.table]
        max = @max[record.table]
        # Rows stay in id order (as `first` and a query's results are): an id below the
        # highest means a re-sort the next time the table is listed.
        if max.nil? || max < record.id
          @max[record.table] = record.id
        else
          @sorted[record.table] = false
        end
        rows[record.id] = record
        @indexes[record.table].each { |column, index| add(index, Store.key(column, Store.value(record, column)), record) }
        record
      end

      def delete(record)
        @rows[record.table].delete(record.id)
        @indexes[record.table].each { |column, index| remove(index, Store.key(column, Store.value(record, column)), record) }
        record.deleted = true
      end

      def find(table, id)
        @rows[table][id]
      end

      def rows(table)
        sort!(table)
        @rows[table].values
      end

      # Every row that declares a timeline (scheduled when the run starts).
      def rows_with_hooks
        @rows.each_value.flat_map { |rows| rows.each_value.select { |r| r.hooks.key?(:timeline) } }
      end

      def count(table)
        @rows[table].size
      end

      # An id no row of `table` has (one above the highest; kept, not searched for).
      def next_id(table)
        (@max[table] || 0) + 1
      end

      # Sets a column, moving the row between the buckets of that column's index.
      def write(record, column, value)
        index = @indexes[record.table][column]
        remove(index, Store.key(column, record.attrs[column]), record) if index
        record.attrs[column] = value
        add(index, Store.key(column, value), record) if index
        value
      end

      # The rows of `table` whose columns equal `conditions` ({column => value}, a value
      # may be an Array: any of them, or a Range), in id order. The first condition
      # narrows through its index; the others filter what it found.
      def where(table, conditions)
        return rows(table) if conditions.empty?

        (column, value), *rest = conditions.to_a
        found = lookup(table, column, value)
        return found if rest.empty?

        found.select { |record| rest.all? { |c, v| Store.match?(c, Store.value(record, c), v) } }
      end

      # A row's column, its id included.
      def self.value(record, column)
        column == "id" ? record.id : record.attrs[column]
      end

      # A column's value as an index key: what ActiveRecord casts it to for comparison
      # (symbols are strings; an id given as "5" is 5).
      def self.key(column, value)
        case value
        when Symbol then value.to_s
        when String
          column == "id" || column.end_with?("_id") ? Integer(value, 10, exception: false) || value : value
        else value
        end
      end

      def self.match?(column, actual, wanted)
        case wanted
        when Array then wanted.any? { |w| key(column, actual) == key(column, w) }
        when Range then !actual.nil? && wanted.cover?(actual)
        else key(column, actual) == key(column, wanted)
        end
      end

      private

      def lookup(table, column, value)
        return rows(table).select { |r| Store.match?(column, Store.value(r, column), value) } if value.is_a?(Range)

        index = index(table, column)
        keys = value.is_a?(Array) ? value.map { |v| Store.key(column, v) }.uniq : [Store.key(column, value)]
        found = keys.flat_map { |k| index.fetch(k, []) }
        keys.size > 1 ? found.sort_by(&:id) : found.dup
      end

      def index(table, column)
        @indexes[table][column] ||= rows(table).each_with_object({}) do |record, index|
          (index[Store.key(column, Store.value(record, column))] ||= []) << record
        end
      end

      def add(index, key, record)
        bucket = (index[key] ||= [])
        # Keep buckets in id order: most rows are appended, a few inserted.
        if bucket.empty? || bucket.last.id < record.id
          bucket << record
        else
          bucket.insert(bucket.bsearch_index { |r| r.id >= record.id } || bucket.size, record)
        end
      end

      def remove(index, key, record)
        bucket = index[key] or return
        bucket.delete(record)
        index.delete(key) if bucket.empty?
      end

      def sort!(table)
        return if @sorted[table]

        @rows[table] = @rows[table].sort.to_h
        @sorted[table] = true
      end
    end
  end
end
