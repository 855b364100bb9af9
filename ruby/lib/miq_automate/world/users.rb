# frozen_string_literal: true

module MiqAutomate
  class World
    # A user (MiqAeServiceUser): its groups (`groups` in the file), current group (the
    # first unless `current_group_id` says) and that group's tenant.
    module User
      def miq_groups
        models(Array(read("groups")).filter_map { |id| @world.store.find("miq_groups", id) })
      end

      def current_group
        model(@world.store.find("miq_groups", read("current_group_id")))
      end

      # Deprecated in ManageIQ (it warns); the current group.
      def miq_group
        current_group
      end

      def current_tenant
        group = @world.store.find("miq_groups", read("current_group_id"))
        model(group && @world.store.find("tenants", group.attrs["tenant_id"]))
      end

      # The name of the current group's role ("EvmRole-super_administrator").
      def role
        @world.store.find("miq_groups", read("current_group_id"))&.attrs&.fetch("role", nil)
      end
    end

    # What ManageIQ's quota reads of a tenant, group or user (their virtual_sum columns):
    # allocated_vcpu (cpu_total_cores),
    # allocated_memory (ram_size, MB, in bytes), allocated_storage (allocated_disk_storage)
    # and provisioned_storage, over their VMs (not templates); and a tenant's tenant_quotas (`models.tenant_quota` rows
    # whose tenant_id is the tenant's: name "cpu_allocated", "mem_allocated" (bytes),
    # "storage_allocated" (bytes), "vms_allocated"…, value).
    module QuotaConsumer
      def allocated_vcpu
        quota_vms.sum { |vm| vm.cpu_total_cores.to_i }
      end

      def allocated_memory
        quota_vms.sum { |vm| vm.ram_size.to_i * 1024 * 1024 }
      end

      def allocated_storage
        quota_vms.sum { |vm| vm.allocated_disk_storage.to_i }
      end

      def provisioned_storage
        quota_vms.sum { |vm| vm.provisioned_storage.to_i }
      end

      private

      def quota_vms
        column = { "tenants" => "tenant_id", "miq_groups" => "miq_group_id", "users" => "evm_owner_id" }.fetch(@record.table)
        models(@world.store.where("vms", column => @record.id).reject { |v| v.attrs["template"] == true })
      end
    end

    # A tenant (MiqAeServiceTenant): its quotas.
    module Tenant
      def tenant_quotas
        models(@world.store.where("models/tenant_quota", "tenant_id" => @record.id))
      end
    end

    # A group (MiqAeServiceMiqGroup): its users.
    module Group
      def users
        models(@world.store.rows("users").select { |u| Array(u.attrs["groups"]).include?(@record.id) })
      end
    end

    # A classification (MiqAeServiceClassification): a category, or an entry of one.
    module Classification
      def category
        @world.store.find("classifications", read("parent_id"))&.attrs&.fetch("name", nil)
      end

      def namespace
        "/managed"
      end

      # "/managed/department/finance" for an entry, "/managed/department" for a category.
      def to_tag
        [namespace, category, read("name")].compact.join("/")
      end

      def entries
        models(@world.store.where("classifications", "parent_id" => @record.id))
      end
    end
  end
end
