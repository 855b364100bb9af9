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
