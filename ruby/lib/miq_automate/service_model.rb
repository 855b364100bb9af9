# frozen_string_literal: true

require "date"

module MiqAutomate
  # A service-model object for offline tests, like ManageIQ's MiqAeService* models:
  #
  #   req  = MiqAutomate::ServiceModel.new(:miq_request, id: 7)
  #   prov = MiqAutomate::ServiceModel.new(:miq_provision, id: 1, message: "",
  #                                        options: { vm_target_name: "web01" }, miq_request: req)
  #   prov.get_option(:vm_target_name) # => "web01"
  #   prov.message = "done"; prov["message"] # => "done"
  #
  # Every attribute given at construction answers as a reader and a writer (a Proc value is
  # called with the arguments, so model methods can be given as values); `options` backs
  # get_option/set_option; retirement verbs follow ManageIQ's transitions. Calls are recorded
  # in #calls. Anything else raises NoMethodError, like the real models.
  class ServiceModel
    attr_reader :model_name, :calls, :events

    # "MiqProvision", :miq_provision, "vm" → "miq_provision", "vm".
    def self.model_key(model)
      model.to_s.gsub(/([a-z\d])([A-Z])/, '\1_\2').gsub(/([A-Z]+)([A-Z][a-z])/, '\1_\2').downcase
    end

    def initialize(model_name, id: nil, **attributes)
      @model_name = self.class.model_key(model_name).to_sym
      @id = id
      @calls = []
      @events = []
      @attributes = {}
      attributes.each { |k, v| @attributes[k.to_s] = v }
      @options = (@attributes.delete("options") || {}).each_with_object({}) { |(k, v), h| h[k.to_sym] = v }
    end

    def id
      record(:id)
      @id
    end

    def [](key)
      record(:[], key)
      key.to_s == "id" ? @id : @attributes[key.to_s]
    end

    def []=(key, value)
      record(:[]=, key, value)
      @attributes[key.to_s] = value
    end

    def attributes
      @attributes.merge("id" => @id)
    end

    def options
      @options
    end

    def get_option(key)
      record(:get_option, key)
      @options[key.to_sym]
    end

    def set_option(key, value)
      record(:set_option, key, value)
      @options[key.to_sym] = value
    end

    # --- retirement (ManageIQ's RetirementMixin transitions) ---

    def retired?
      @attributes["retired"] == true
    end

    def retiring?
      @attributes["retirement_state"] == "retiring"
    end

    def error_retiring?
      @attributes["retirement_state"] == "error"
    end

    # No-op when retired or retiring; otherwise retirement_state "initializing" and the
    # request_<model>_retire event (recorded in #events).
    def retire_now(requester = nil)
      record(:retire_now, *[requester].compact)
      return if retired? || retiring?

      @attributes["retirement_state"] = "initializing"
      @attributes["retirement_requester"] = requester if requester
      @events << "request_#{retire_event_model}_retire"
      nil
    end

    def start_retirement
      record(:start_retirement)
      return if retired? || retiring?

      @attributes["retirement_state"] = "retiring"
      nil
    end

    def finish_retirement
      record(:finish_retirement)
      raise "#{display_name} already retired" if retired?

      @attributes["retired"] = true
      @attributes["retirement_state"] = "retired"
      @attributes["retires_on"] = Date.today
      nil
    end

    def respond_to_missing?(name, include_private = false)
      @attributes.key?(name.to_s.chomp("=")) || super
    end

    def method_missing(name, *args, &block)
      key = name.to_s
      if key.end_with?("=") && @attributes.key?(key.chomp("="))
        record(name, *args)
        @attributes[key.chomp("=")] = args.first
      elsif @attributes.key?(key)
        record(name, *args)
        value = @attributes[key]
        value.is_a?(Proc) ? value.call(*args, &block) : value
      else
        super
      end
    end

    def inspect
      shown = @attributes.reject { |_, v| v.is_a?(ServiceModel) }.map { |k, v| "#{k}: #{v.inspect}" }
      "#<MiqAutomate::ServiceModel #{@model_name} id: #{@id.inspect}#{shown.empty? ? '' : ", #{shown.join(', ')}"}>"
    end
    alias to_s inspect

    private

    def display_name
      "#{@model_name} #{@attributes['name'] || @id}"
    end

    def retire_event_model
      case @model_name.to_s
      when /vm|template/ then "vm"
      when /orchestration_stack/ then "orchestration_stack"
      else @model_name.to_s
      end
    end

    def record(name, *args)
      @calls << [name.to_sym, args]
    end
  end
end
