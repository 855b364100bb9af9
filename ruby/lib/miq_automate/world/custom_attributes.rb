# frozen_string_literal: true

module MiqAutomate
  class World
    # Custom attributes (ManageIQ's MiqAeServiceCustomAttributeMixin): name/value pairs of
    # source "EVM" that automate reads and writes; the world file gives them as
    # `"custom_attributes": {"owner": "ops"}`.
    module CustomAttributes
      def custom_keys
        custom_rows("EVM").map { |r| r.attrs["name"] }
      end

      def custom_get(key)
        custom_rows("EVM").find { |r| r.attrs["name"] == key.to_s }&.attrs&.fetch("value", nil)
      end

      # Sets the attribute (a new one when needed); true, as ManageIQ's.
      def custom_set(key, value)
        set_custom("EVM", key, value)
        true
      end

      private

      def custom_rows(source)
        @world.store.where("custom_attributes", "resource_id" => @record.id,
                                                "resource_type" => World.base_class(@record.table), "source" => source)
      end

      def set_custom(source, key, value)
        row = custom_rows(source).find { |r| r.attrs["name"] == key.to_s }
        if row
          @world.write(row, "value", value)
        else
          @world.store.insert(Record.new("custom_attributes", @world.store.next_id("custom_attributes"),
                                         "name" => key.to_s, "value" => value, "source" => source,
                                         "resource_type" => World.base_class(@record.table), "resource_id" => @record.id))
        end
      end
    end

    # The provider's own custom fields of a VM or host (`"ems_custom_attributes"`);
    # ems_custom_set changes them on the provider, which the VMDB shows at once here.
    module EmsCustomAttributes
      def ems_custom_keys
        custom_rows("VC").map { |r| r.attrs["name"] }
      end

      def ems_custom_get(key)
        custom_rows("VC").find { |r| r.attrs["name"] == key.to_s }&.attrs&.fetch("value", nil)
      end

      def ems_custom_set(key, value)
        set_custom("VC", key, value)
        true
      end
    end
  end
end
