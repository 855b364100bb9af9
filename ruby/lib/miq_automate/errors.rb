# frozen_string_literal: true

module MiqAutomate
  # Base of every error this library raises for the engine's own exceptions. Errors the
  # engine raises as plain Ruby errors stay so: RuntimeError (a bad state-var key,
  # field_timeout without max retries), ArgumentError, NoMethodError (an unknown log level).
  class Error < StandardError; end

  # Mirrors of MiqAeException::* (the engine's names).
  class InvalidPathFormat < Error; end
  class ObjectNotFound < Error; end
  class InvalidClass < Error; end
  class ServiceNotFound < Error; end
  class CyclicalRelationship < Error; end
  class StopInstantiation < Error; end
  class AbortInstantiation < Error; end
  class UnknownMethodRc < AbortInstantiation; end
  class MethodParmMissing < Error; end
  class AttributeNotFound < Error; end
  class InvalidMethod < Error; end
  class MethodNotFound < Error; end

  # An error raised by a foreign `$evm` peer (e.g. a DRb connection error), class kept in the message.
  class RemoteError < Error; end

  # A rollback matrix that cannot be used (the message names the state and step).
  class InvalidMatrix < Error; end

  module Api
    # A ManageIQ REST API failure (the message has the status, ManageIQ's message and klass).
    class Error < MiqAutomate::Error; end
  end

  # A bug in this library, caught instead of aborting the Ruby process (and the ManageIQ worker).
  class InternalError < Error; end
end
