# frozen_string_literal: true

module MiqAutomate
  # The mock ManageIQ inside this Ruby process (REST API on 127.0.0.1 + its VMDB):
  #
  #   mock = MiqAutomate::MockManageIQ.start("mocks/failed_bundle.json")
  #   mock.url                                   # => "http://127.0.0.1:PORT" (admin / smartvm)
  #   ws = MiqAutomate::Workspace.new(vmdb: mock)
  #   ws.evm.vmdb(:service, 1001).retired?       # live from the same VMDB the REST API changes
  class MockManageIQ
    def self.start(scenario)
      _start(File.expand_path(scenario))
    end

    def service(id) = Record.new(self, :service, id)
    def vm(id) = Record.new(self, :vm, id)

    # A live view of a VMDB row, answering like a service model: attributes as methods and
    # through [], retired?/retiring?, retire_now (ManageIQ's transitions).
    class Record
      attr_reader :model_name

      def initialize(mock, model_name, id)
        @mock = mock
        @model_name = model_name.to_sym
        @id = id.to_i
        raise MiqAutomate::ServiceNotFound, "Couldn't find #{model_name} with 'id'=#{id}" if attributes.nil?
      end

      def id = @id

      def attributes
        json = @mock.send(:_record, @model_name.to_s, @id)
        json && JSON.parse(json)
      end

      def [](key) = attributes[key.to_s]
      def retired? = attributes["retired"] == true
      def retiring? = attributes["retirement_state"] == "retiring"

      def retire_now(_requester = nil)
        raise NoMethodError, "undefined method `retire_now' for #{inspect}" unless @model_name == :service

        @mock.send(:_retire_now, @id)
        nil
      end

      def respond_to_missing?(name, include_private = false) = attributes.key?(name.to_s) || super

      def method_missing(name, *args)
        attrs = attributes
        return attrs[name.to_s] if args.empty? && attrs.key?(name.to_s)

        super
      end

      def ==(other) = other.is_a?(Record) && other.model_name == @model_name && other.id == @id
      def inspect = "#<MiqAutomate::MockManageIQ::Record #{@model_name} id: #{@id}>"
    end
  end
end
