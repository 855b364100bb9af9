# frozen_string_literal: true

module MiqAutomate
  class World
    # What every service model answers (MiqAeServiceModelBase, MiqAeServiceObjectCommon),
    # and its tags.
    module Base
      include Tagging

      # Keys of a row that are the world's own links, not ManageIQ columns.
      WORLD_ONLY = %w[groups storage_ids service_id].freeze

      def id
        @record.id
      end

      # A column, as ActiveRecord's `[]` reads it (downcased; nil for what the row has not).
      def [](key)
        key = key.to_s.downcase
        return @record.id if key == "id"
        return nil if Model::HIDDEN.match?(key) || WORLD_ONLY.include?(key)

        read(key)
      end

      def []=(key, value)
        write(key.to_s.downcase, value)
      end

      # The row's columns ("id" first), without passwords.
      def attributes
        { "id" => @record.id }.merge(@record.attrs.reject { |k, _| Model::HIDDEN.match?(k) || WORLD_ONLY.include?(k) })
      end

      # Self, as ManageIQ's; raises ActiveRecord::RecordNotFound once the row is gone.
      def reload
        raise ActiveRecord::RecordNotFound, "Couldn't find related ActiveRecord object" if @record.deleted

        self
      end

      # The row's class as ManageIQ names it (its STI type, else its base class).
      def object_class
        TypeName.new(read("type") || Catalogue::TABLES[@record.table]&.class_name || Catalogue.camelize(@kind))
      end

      # MiqAeServiceModelBase#show_url: the row's page in the UI, the region's remote UI
      # URL joined with "<base model>/show/<id>" (a world's appliance is https://localhost/).
      def show_url
        base = Catalogue::TABLES[@record.table]&.class_name || Catalogue.camelize(@kind)
        "https://localhost/#{Catalogue.underscore(base)}/show/#{@record.id}"
      end

      # The provider part of the type ("Vmware" for ManageIQ::Providers::Vmware::…), or "".
      def model_suffix
        read("type").to_s[/\AManageIQ::Providers::(\w+)::/, 1].to_s
      end
    end

    # What `object_class` gives: a class name (`name`, `to_s`).
    TypeName = Struct.new(:name) do
      def to_s
        name
      end
    end

    # Which service model a row is (its kind) and what each kind answers.
    module Kinds
      TASKS = [Base, RequestOptions, RequestTask].freeze
      REQUESTS = [Base, RequestOptions, Request].freeze

      MODULES = {
        "vm" => [Base, CustomAttributes, EmsCustomAttributes, Retirement, VmOrTemplate, Vm],
        "miq_template" => [Base, CustomAttributes, EmsCustomAttributes, Retirement, VmOrTemplate],
        "host" => [Base, CustomAttributes, EmsCustomAttributes, Host],
        "ext_management_system" => [Base, CustomAttributes, Ems],
        "storage" => [Base, Storage],
        "service" => [Base, CustomAttributes, Retirement, Service],
        "service_orchestration" => [Base, CustomAttributes, Retirement, Service, ServiceOrchestration],
        "service_template" => [Base, ServiceTemplate],
        "service_resource" => [Base, ServiceResource],
        "miq_provision_request" => REQUESTS + [ProvisionRequest],
        "miq_provision" => TASKS + [Provision],
        "service_template_provision_task" => TASKS + [ServiceTemplateProvisionTask],
        "vm_migrate_task" => TASKS + [VmMigrateTask],
        "user" => [Base, CustomAttributes, User, QuotaConsumer],
        "miq_group" => [Base, CustomAttributes, Group, QuotaConsumer],
        "tenant" => [Base, Tenant, QuotaConsumer],
        "classification" => [Base, Classification],
        "orchestration_stack" => [Base, Retirement, OrchestrationStack]
      }.freeze

      BASE_KEYS = Catalogue::MODELS.values.reject(&:filter).to_h { |m| [m.table, m.key] }.freeze

      module_function

      # The most specific model of a row: "vm" or "miq_template", "miq_provision",
      # "service_template_provision_task", "vm_retire_request"…, else its table's model.
      def kind_of(record)
        attrs = record.attrs
        type = attrs["type"].to_s
        case record.table
        when "vms" then attrs["template"] == true ? "miq_template" : "vm"
        when "services" then type.start_with?("ServiceOrchestration") ? "service_orchestration" : "service"
        when "miq_requests", "miq_request_tasks"
          return "miq_provision" if record.table == "miq_request_tasks" && Catalogue::PROVISION.call(type)

          typed = Catalogue::MODELS.values.find { |m| m.table == record.table && m.filter && m.key != "miq_provision_task" && m.include?(record) }
          typed ? typed.key : BASE_KEYS.fetch(record.table)
        else
          BASE_KEYS.fetch(record.table) { record.table.delete_prefix("models/") }
        end
      end

      # The Model subclass of a kind (made once): its modules, each public method recorded.
      def model_class(kind)
        @classes ||= {}
        @classes[kind] ||= begin
          modules = MODULES.fetch(kind) do
            if kind.end_with?("_request") then REQUESTS
            elsif kind.end_with?("_task") || kind == "miq_request_task" then TASKS
            else [Base]
            end
          end
          Class.new(Model) do
            modules.each { |m| include m }
            prepend Model.recording(modules)
          end
        end
      end
    end
  end
end
