# frozen_string_literal: true

# The two ActiveRecord errors a world's model classes raise, defined only when ActiveRecord
# itself is not loaded. The hierarchy is ActiveRecord's own, so a later
# `require "active_record"` reopens these classes instead of clashing with them.
module ActiveRecord
  class ActiveRecordError < StandardError; end unless const_defined?(:ActiveRecordError, false)

  unless const_defined?(:RecordNotFound, false)
    # `Vm.find(5)` when there is no VM 5: "Couldn't find Vm with 'id'=5".
    class RecordNotFound < ActiveRecordError
      attr_reader :model, :primary_key, :id

      def initialize(message = nil, model = nil, primary_key = nil, id = nil)
        @model = model
        @primary_key = primary_key
        @id = id
        super(message)
      end
    end
  end

  # A query on a column the table does not have (PostgreSQL's "column … does not exist").
  class StatementInvalid < ActiveRecordError; end unless const_defined?(:StatementInvalid, false)
end
