# frozen_string_literal: true

module MiqAutomate
  # The Rails 7 names ManageIQ's content calls (it runs on Rails 7), given on top of an
  # older ActiveSupport (Debian's is 6.1), each only where it is missing, so a Rails 7
  # ActiveSupport is left as it is:
  # - `to_fs` (Rails 7's name for `to_formatted_s`): `1024.to_fs(:human_size)` (quota
  #   methods), `Time#to_fs(:db)`, `Date`, `DateTime`, `Array`, `Range`, `BigDecimal`,
  #   `ActiveSupport::TimeWithZone`. On numbers ActiveSupport 6.1 formats with `to_s(format)`.
  module Rails7
    NUMBERS = [::Integer, ::Float].freeze
    FORMATTED = %w[::Date ::Time ::DateTime ::Array ::Range ::BigDecimal ::ActiveSupport::TimeWithZone].freeze

    def self.install
      NUMBERS.each do |klass|
        next if klass.method_defined?(:to_fs)

        klass.define_method(:to_fs) { |*args| to_s(*args) }
      end
      FORMATTED.each do |name|
        klass = Object.const_get(name) if Object.const_defined?(name)
        next unless klass&.method_defined?(:to_formatted_s) && !klass.method_defined?(:to_fs)

        klass.alias_method(:to_fs, :to_formatted_s)
      end
    end
  end
end

MiqAutomate::Rails7.install
