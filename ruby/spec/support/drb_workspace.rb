# frozen_string_literal: true

require "drb/drb"
require_relative "drb_fork"
require_relative "evm_state_vars"

# A pure-Ruby `$evm` in the style of manageiq-automation_engine's MiqAeMockService, served
# from a child process over stdlib DRb like ManageIQ serves MiqAeService to a method. It
# knows just what a status method needs: root, inputs, state vars, log, instantiate
# (instances are simulated by per-path handlers), notifications, and service models.
module DrbWorkspace
  class Obj
    include DRbUndumped

    def initialize(attributes = {})
      @attributes = attributes.transform_keys { |k| k.to_s.downcase }
    end

    def [](key) = @attributes[key.to_s.downcase]
    def []=(key, value)
      @attributes[key.to_s.downcase] = value
    end

    def decrypt(key) = @attributes[key.to_s.downcase]
    def attributes = @attributes.dup
  end

  # A service model: attribute readers/writers, get_option, retire_now.
  class Model
    include DRbUndumped

    def initialize(model, attributes = {})
      @model = model
      @attributes = attributes.transform_keys(&:to_s)
      @options = (@attributes.delete("options") || {}).transform_keys(&:to_sym)
    end

    def get_option(key) = @options[key.to_sym]
    def id = @attributes["id"]

    def retire_now
      @attributes["retirement_state"] = "initializing"
      nil
    end

    def respond_to_missing?(name, priv = false) = @attributes.key?(name.to_s.chomp("=")) || super

    def method_missing(name, *args)
      key = name.to_s
      return @attributes[key.chomp("=")] = args.first if key.end_with?("=") && @attributes.key?(key.chomp("="))
      return @attributes[key] if @attributes.key?(key)

      super
    end
  end

  class Service
    include DRbUndumped
    include EvmStateVars
    attr_reader :logs, :instantiated, :notifications

    # handlers: { "PathSuffix" => :ok | :fail }
    def initialize(root:, inputs: {}, handlers: {})
      @root = Obj.new(root)
      @inputs = inputs
      @handlers = handlers
      @state = {}
      @logs = []
      @instantiated = []
      @notifications = []
    end

    def root = @root
    def inputs = @inputs.dup
    def current_method = "update_provision_status"

    def log(level, message)
      raise NoMethodError, "undefined method `#{level}'" unless %w[debug info warn error fatal unknown].include?(level.to_s)

      @logs << [level.to_s, message]
      true
    end

    def instantiate(uri)
      @instantiated << uri
      # nested instances share root: a method may clobber ae_result, as real ones do
      @root["ae_result"] = "ok"
      handler = @handlers.find { |suffix, _| uri.end_with?(suffix) }&.last
      handler == :fail ? nil : Obj.new("uri" => uri)
    end

    def create_notification(options)
      @notifications << options
      options
    end

    # Helpers for the test side (not part of $evm).
    def set_root(key, value) = @root[key] = value
    def state = @state.dup
    def model(name) = @root[name]
  end

  # Serves a Service built in the child from `args` (see DrbFork); yields the proxy.
  def self.serve(**args, &block)
    DrbFork.serve(-> { Service.new(**build(**args)) }, &block)
  end

  def self.build(root:, inputs: {}, handlers: {})
    request = Model.new(:miq_request, "id" => 7, "user_message" => nil)
    prov = Model.new(:miq_provision, "id" => 1, "message" => "previous", "options" => { vm_target_name: "web01" },
                                     "miq_request" => request, "vm" => nil)
    server = Model.new(:miq_server, "id" => 1, "name" => "EVM")
    { root: { "miq_provision" => prov, "miq_server" => server }.merge(root), inputs: inputs, handlers: handlers }
  end
end

# Counts calls made through DRb proxies, client side: each one is a round trip.
class CountingProxy < BasicObject
  def self.wrap(target, counter)
    target.is_a?(::DRb::DRbObject) ? new(target, counter) : target
  end

  def initialize(target, counter)
    @target = target
    @counter = counter
  end

  def method_missing(name, *args, &block)
    @counter[:calls] += 1
    ::CountingProxy.wrap(@target.__send__(name, *args, &block), @counter)
  end

  def respond_to_missing?(*) = true
  def nil? = false
end
