# frozen_string_literal: true

module MiqAutomate
  # MiqAeException::UntaggableModel: tagging a model that has no tags.
  class UntaggableModel < Error; end unless const_defined?(:UntaggableModel, false)

  class World
    # Managed tags, as MiqAeServiceModelBase answers them: a row's tags are
    # "category/name" entries of the world's classifications.
    module Tagging
      # Tables whose models can be tagged (ManageIQ's taggable models among the world's).
      TAGGABLE = %w[ext_management_systems hosts ems_clusters storages vms services service_templates users
                    miq_groups tenants orchestration_stacks].freeze

      def taggable?
        TAGGABLE.include?(@record.table)
      end

      # ["department/finance", …]; with a category, the names in it (["finance"]).
      def tags(category = nil)
        taggable!
        return @record.tags.dup if category.nil?

        @record.tags.filter_map { |tag| tag.split("/", 2).last if tag.start_with?("#{category}/") }
      end

      def tagged_with?(category, name)
        taggable!
        @record.tags.include?("#{category}/#{name}")
      end

      # Assigns "category/name" when the world has that entry (else nothing, as
      # Classification.classify does); a single-value category keeps only the new one.
      def tag_assign(tag)
        taggable!
        entry = @world.classification_entry(tag) or return true
        category = @world.store.find("classifications", entry.attrs["parent_id"])
        if category.attrs["single_value"]
          @record.tags = @record.tags.reject { |t| t.start_with?("#{category.attrs['name']}/") }
        end
        @record.tags = @record.tags + [tag.to_s] unless @record.tags.include?(tag.to_s)
        true
      end

      def tag_unassign(tag)
        taggable!
        @record.tags = @record.tags - [tag.to_s]
        true
      end

      private

      def taggable!
        return if taggable?

        raise MiqAutomate::UntaggableModel, "Model MiqAeMethodService::MiqAeService#{World.base_class(@record.table)} doesn't support tagging"
      end
    end
  end
end
