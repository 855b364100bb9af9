# frozen_string_literal: true

require "drb/drb"
require "rbconfig"
require_relative "drb_fork"
require_relative "evm_state_vars"

# A pure-Ruby `$evm` with what a recorded method touches — password attributes, service
# models with associations and options, vmdb, instantiate, state vars, notifications,
# execute — served over stdlib DRb from a child process (DrbFork), as ManageIQ serves
# MiqAeService. AppliancePeer.run runs a method file in a third process, wrapped in
# ManageIQ's preamble and postscript, with the recorder line a user adds on the appliance.
module DrbAppliance
  MASK = "********"

  class AeObject
    include DRbUndumped

    def initialize(attributes = {}, passwords = {})
      @attributes = attributes.transform_keys { |k| k.to_s.downcase }
      @passwords = passwords.transform_keys { |k| k.to_s.downcase }
    end

    def [](key)
      key = key.to_s.downcase
      @passwords.key?(key) ? MASK : @attributes[key]
    end

    def []=(key, value)
      @attributes[key.to_s.downcase] = value
    end

    def decrypt(key) = @passwords.fetch(key.to_s.downcase) { @attributes[key.to_s.downcase] }
    def attributes = @attributes.merge(@passwords.transform_values { MASK })
  end

  class Model
    include DRbUndumped

    def initialize(model, attributes = {})
      @model = model
      @attributes = attributes.transform_keys(&:to_s)
      @options = (@attributes.delete("options") || {}).transform_keys(&:to_sym)
      @custom = {}
    end

    def id = @attributes["id"]
    def inspect = "#<MiqAeServiceModel #{@model} id: #{id.inspect}>"
    def get_option(key) = @options[key.to_sym]
    def set_option(key, value) = @options[key.to_sym] = value
    def custom_set(key, value) = @custom[key.to_s] = value
    def custom_get(key) = @custom[key.to_s]

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
    attr_reader :logs, :instantiated, :notifications, :executed

    def initialize(root:, passwords: {}, models: {})
      @root = AeObject.new(root, passwords)
      @models = models
      @state = {}
      @logs = []
      @instantiated = []
      @notifications = []
      @executed = []
    end

    def root = @root
    def object(path = nil) = path.nil? || path == "/" ? @root : nil
    def inputs = { "status" => "checking" }
    def current_method = "check_vm_provision"

    def log(level, message)
      raise NoMethodError, "undefined method `#{level}' for logger" unless %w[debug info warn error fatal unknown].include?(level.to_s)

      @logs << [level.to_s, message]
      true
    end

    def instantiate(uri)
      @instantiated << uri
      uri.include?("Missing") ? nil : AeObject.new("uri" => uri)
    end

    def create_notification(options)
      @notifications << options
      true
    end

    def execute(name, *args)
      @executed << [name.to_s, args]
      true
    end

    def vmdb(model, id = nil) = @models[[model.to_s, id.to_i]]
    def disconnect_sql = nil
    def backtrace(lines) = lines

    # For the test side (not $evm).
    def state = @state.dup
    def root_attributes = @root.attributes
    def root_values = @root.attributes.select { |_, v| [String, Integer, NilClass, TrueClass, FalseClass].include?(v.class) }
  end

  SECRET = "sup3rSecret!"
  TOKEN = "tok-123456"
  V2 = "v2:{c2VjcmV0LWtleS1ieXRlcw==}"

  # A VM provision with its request, sibling tasks and VM. status: "ok", "retry", "error".
  def self.provision(status: "error", with_task: true)
    vm = Model.new(:vm, "id" => 12, "name" => "web01", "hardware" => nil)
    request = Model.new(:miq_provision_request, "id" => 7, "user_message" => nil)
    siblings = [Model.new(:miq_provision, "id" => 2, "state" => "finished"), Model.new(:miq_provision, "id" => 3, "state" => "active")]
    request.instance_variable_get(:@attributes)["miq_request_tasks"] = siblings
    prov = Model.new(:miq_provision, "id" => 1, "message" => "Error: quota exceeded", "statemachine_task_status" => status,
                                     "miq_request" => request, "vm_info" => { "vm" => vm, "hosts" => [Model.new(:host, "id" => 4, "name" => "esx1")] },
                                     "options" => { vm_target_name: "web01", vm_id: 12, api_token: TOKEN, encrypted_pw: V2 })
    root = { "ae_result" => "ok", "ae_state" => "CheckProvisioned", "vm_name" => "web01" }
    root["miq_provision"] = prov if with_task
    { root: root, passwords: { "admin_password" => SECRET }, models: { ["vm", 12] => vm } }
  end

  def self.serve(**args, &block)
    DrbFork.serve(-> { Service.new(**provision(**args)) }, &block)
  end
end

# Runs a method file in its own Ruby process as the appliance does (preamble, body,
# postscript), with `$evm` a DRb proxy and the recorder line at the top of the body.
module AppliancePeer
  LIB = File.expand_path("../../lib", __dir__)
  RUNNER = <<~'RUBY'
    uri, method_file, trace, features_out = ARGV
    RUBY_METHOD_NAME = File.basename(method_file, ".rb")
    at_exit { File.write(features_out, $LOADED_FEATURES.grep(/miq_automate/).join("\n")) }
    content = <<~PREAMBLE + File.read(method_file) + <<~POSTSCRIPT
      begin
        require 'date'
        require 'drb'
        MIQ_OK = 0; MIQ_WARN = 4; MIQ_ERROR = 8; MIQ_STOP = 8; MIQ_ABORT = 16
        DRb.start_service("druby://127.0.0.1:0")
        $evm = DRbObject.new_with_uri(#{uri.inspect})
      end
      begin
      require 'miq_automate/recorder' if #{(!trace.empty?).inspect}
      $evm = MiqAutomate::Recorder.wrap($evm, to: #{trace.inspect}) if #{(!trace.empty?).inspect}
    PREAMBLE
      rescue Exception => err
        unless err.kind_of?(SystemExit)
          $evm.log('error', 'The following error occurred during method evaluation:')
          $evm.log('error', "  \#{err.class}: \#{err.message}")
        end
        raise
      ensure
        $evm.disconnect_sql
      end
    POSTSCRIPT
    eval(content, TOPLEVEL_BINDING, method_file, 1)
  RUBY

  # Returns [exit status, miq_automate files the process loaded].
  def self.run(uri, method_file, trace: "")
    Dir.mktmpdir do |dir|
      features = File.join(dir, "features")
      pid = Process.spawn(RbConfig.ruby, "-I", LIB, "-e", RUNNER, uri, method_file, trace.to_s, features,
                          err: File.join(dir, "stderr"))
      Process.wait(pid)
      [$?.exitstatus, File.exist?(features) ? File.read(features).split("\n") : nil, File.read(File.join(dir, "stderr"))]
    end
  end
end
