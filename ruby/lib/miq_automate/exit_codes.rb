# frozen_string_literal: true

module MiqAutomate
  MIQ_OK = 0
  MIQ_WARN = 4
  MIQ_ERROR = 8
  MIQ_STOP = 8
  MIQ_ABORT = 16

  EXIT_CODES = { MIQ_OK: MIQ_OK, MIQ_WARN: MIQ_WARN, MIQ_ERROR: MIQ_ERROR, MIQ_STOP: MIQ_STOP, MIQ_ABORT: MIQ_ABORT }.freeze

  # Defines MIQ_OK, MIQ_WARN, MIQ_ERROR, MIQ_STOP, MIQ_ABORT at top level, as the engine's
  # preamble does for method files that use them bare. Existing constants are left alone.
  def self.define_exit_codes!
    EXIT_CODES.each do |name, value|
      ::Object.const_set(name, value) unless ::Object.const_defined?(name, false)
    end
    true
  end
end
