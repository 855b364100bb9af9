# frozen_string_literal: true

require "drb/drb"
require_relative "drb_fork"
require_relative "evm_state_vars"

# A pure-Ruby `$evm` served over stdlib DRb, the way ManageIQ hands `$evm` to a method:
# the method process holds a DRbObject and every call is a round trip.
module DrbEvm
  class RemoteObject
    include DRbUndumped

    def initialize(attributes = {})
      @attributes = attributes.transform_keys { |k| k.to_s.downcase }
    end

    def [](key)
      @attributes[key.to_s.downcase]
    end

    def []=(key, value)
      @attributes[key.to_s.downcase] = value
    end
  end

  class RemoteModel
    include DRbUndumped
    attr_accessor :message

    def initialize(options)
      @options = options
      @message = nil
    end

    def get_option(key)
      @options[key.to_sym]
    end
  end

  # The service side, like MiqAeService: root, object, log, state vars, instantiate …
  class Service
    include DRbUndumped
    include EvmStateVars
    attr_reader :logs, :instantiated, :notifications

    def initialize(root)
      @root = RemoteObject.new(root)
      @logs = []
      @state = {}
      @instantiated = []
      @notifications = []
    end

    def root = @root
    def object(path = nil) = path.nil? || path == "/" ? @root : nil
    def inputs = { "status" => "Creating VM" }
    def current_method = "update_provision_status"
    def current_namespace = "Dom/Infra"
    def current_class = "StateMachines"
    def current_instance = "Provision"
    def current_message = "create"

    def log(level, message)
      raise NoMethodError, "undefined method `#{level}' for logger" unless %w[debug info warn error fatal unknown].include?(level.to_s)
      raise ArgumentError, "message too long" if message.size > 1000

      @logs << [level.to_s, message]
      true
    end

    def instantiate(uri)
      @instantiated << uri
      uri.include?("Missing") ? nil : RemoteObject.new("uri" => uri)
    end

    def create_notification(options)
      @notifications << options
      options
    end

    def vmdb(model, id) = RemoteModel.new(model: model, id: id)
  end

  # Serves `service` from a child process (see DrbFork); yields the proxy.
  def self.serve(service, &block)
    DrbFork.serve(-> { service }, &block)
  end
end
