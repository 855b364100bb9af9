# frozen_string_literal: true

module MiqAutomate
  class World
    # A request's or a task's options, as ManageIQ's MiqRequestMixin keeps them: a Hash
    # with Symbol keys at the top (`:vm_target_name`), dialog values as [value, label]
    # pairs (`:number_of_vms => [2, "2"]`), and the request's tags as `:tag_ids`.
    module RequestOptions
      # A copy: what a method changes in it stays with the method (ManageIQ's options
      # reach a method over DRb as a copy); set_option persists.
      def options
        Marshal.load(Marshal.dump(read("options") || {}))
      end

      # The option, or the first element of an Array value (a dialog's [value, label]).
      # The key is looked up as given: options written as `:number_of_vms` are not found
      # as "number_of_vms", and `get_option(nil)` is nil, as in ManageIQ.
      def get_option(key)
        value = (read("options") || {})[key]
        value.is_a?(Array) ? value.first : value
      end

      # The last element of an Array value (a dialog's label), or the value.
      def get_option_last(key)
        value = (read("options") || {})[key]
        value.is_a?(Array) ? value.last : value
      end

      def set_option(key, value)
        update_options { |options| options[key] = value }
        value
      end

      # As MiqRequestMixin#user_message=: the options' :user_message (at most 255
      # characters) and, when there is one, the message.
      def user_message=(message)
        message = message.to_s[0, 255]
        update_options { |options| options[:user_message] = message }
        write("message", message) unless message.empty?
      end

      # The request's tags by category: {department: "finance", environment: ["dev", "qa"]}.
      def get_tags
        request_tags.each_with_object({}) do |(category, name), tags|
          key = category.to_sym
          tags[key] = tags.key?(key) ? Array(tags[key]) << name : name
        end
      end

      def get_tag(category)
        get_tags[category.to_sym]
      end

      # Adds a tag of a category the world has (else nothing, as ManageIQ).
      def add_tag(category, name)
        entry = @world.classification_entry("#{category}/#{name}") or return nil
        ids = get_option_raw(:tag_ids) || []
        update_options { |options| options[:tag_ids] = ids + [entry.id] } unless ids.include?(entry.id)
        nil
      end

      # Removes the request's tags of `category` (all when nil; only `name` when given).
      def clear_tag(category = nil, name = nil)
        if category.nil?
          update_options { |options| options[:tag_ids] = nil }
        else
          keep = (get_option_raw(:tag_ids) || []).reject do |id|
            entry = @world.store.find("classifications", id)
            parent = entry && @world.store.find("classifications", entry.attrs["parent_id"])
            parent && parent.attrs["name"].to_s.casecmp?(category.to_s) &&
              (name.to_s.empty? || entry.attrs["name"].to_s.casecmp?(name.to_s))
          end
          update_options { |options| options[:tag_ids] = keep }
        end
        nil
      end

      # {category: {name:, description:}} (an Array when a category has several).
      def get_classifications
        classification_entries.each_with_object({}) do |(category, entry), found|
          key = category.to_sym
          tuple = { name: entry.attrs["name"], description: entry.attrs["description"] }
          found[key] = found.key?(key) ? Array(found[key]) << tuple : tuple
        end
      end

      def get_classification(category)
        get_classifications[category.to_sym]
      end

      private

      def get_option_raw(key)
        (read("options") || {})[key]
      end

      def update_options
        options = Marshal.load(Marshal.dump(read("options") || {}))
        yield options
        write("options", options)
      end

      def classification_entries
        Array(get_option_raw(:tag_ids)).filter_map do |id|
          entry = @world.store.find("classifications", id)
          parent = entry && @world.store.find("classifications", entry.attrs["parent_id"])
          [parent.attrs["name"], entry] if parent
        end
      end

      def request_tags
        classification_entries.map { |category, entry| [category, entry.attrs["name"]] }
      end
    end

    # A service's or a service provision task's dialog values (`options[:dialog]`), as
    # both of ManageIQ's models answer them.
    module DialogOptions
      def dialog_options
        (read("options") || {})[:dialog] || {}
      end

      def get_dialog_option(key)
        dialog_options[key]
      end

      def set_dialog_option(key, value)
        options = Marshal.load(Marshal.dump(read("options") || {}))
        (options[:dialog] ||= {})[key] = value
        write("options", options)
        value
      end
    end
  end
end
