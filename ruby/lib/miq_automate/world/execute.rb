# frozen_string_literal: true

module MiqAutomate
  class World
    # `$evm.execute(name, *args)` against the world. What the world's `execute` section
    # declares for the name comes first:
    #
    #   "execute": {
    #     "category_exists?": [{"args": ["department"], "returns": true}, {"returns": false}],
    #     "create_service_provision_request": {"returns_record": "miq_requests/900"},
    #     "send_email": {"raises": "SMTP is down"}
    #   }
    #
    # (answers tried in order; `args` must equal the call's, with a model written as its
    # row, "service_templates/10", and symbols as strings; an answer without `args` takes
    # any call). Otherwise the world does what ManageIQ's MiqAeServiceMethods does, with
    # its own data: categories and tags, the provision, automation and retire requests
    # (new rows), and true for the notifications (send_email, snmp_trap_v1/v2). Any other
    # name raises MiqAutomate::MethodNotFound, as ManageIQ's `execute` does.
    class Execute
      # An answer from a declared list for `args`; the block when none matches.
      def self.answer(world, list, args)
        wanted = normalize(args)
        found = list.find { |a| !a.key?("args") || normalize(a["args"]) == wanted }
        return yield unless found

        raise found["raises"] if found["raises"]

        if (reference = found["returns_record"])
          world.model_for(world.store.find(*reference))
        else
          Marshal.load(Marshal.dump(found["returns"]))
        end
      end

      # Arguments as the file writes them: a model as "table/id", symbols as strings.
      def self.normalize(value)
        case value
        when Model then value._record.label
        when Symbol then value.to_s
        when Array then value.map { |v| normalize(v) }
        when Hash then value.to_h { |k, v| [k.to_s, normalize(v)] }
        else value
        end
      end

      BUILT_IN = %w[send_email snmp_trap_v1 snmp_trap_v2 vm_templates category_exists? category_create category_delete!
                    category_delete tag_exists? tag_create tag_delete! tag_delete create_provision_request
                    create_automation_request create_service_provision_request create_retire_request].freeze

      def initialize(world)
        @world = world
      end

      def call(name, args)
        declared = @world.answers.dig(:execute, name)
        return Execute.answer(@world, declared, args) { built_in(name, args) } if declared

        built_in(name, args)
      end

      private

      def built_in(name, args)
        unless BUILT_IN.include?(name)
          raise MiqAutomate::MethodNotFound, "undefined method `#{name}' for MiqAeMethodService::MiqAeServiceMethods:Class"
        end

        send("_#{name.delete_suffix('?').delete_suffix('!')}#{name.end_with?('!') ? '_bang' : ''}", *args)
      end

      def store
        @world.store
      end

      %w[send_email snmp_trap_v1 snmp_trap_v2].each { |name| define_method("_#{name}") { |*_args| true } }

      # The world's vmware templates that are on a provider.
      def _vm_templates
        store.where("vms", "template" => true, "vendor" => "vmware").select { |r| r.attrs["ems_id"] }.map { |r| @world.model_for(r) }
      end

      def _category_exists(category)
        !category(category).nil?
      end

      def _category_create(options = {})
        options = options.transform_keys(&:to_s)
        defaults = Catalogue::TABLES["classifications"].defaults.merge("single_value" => false, "parent_id" => nil)
        store.insert(Record.new("classifications", store.next_id("classifications"),
                                defaults.merge(options.slice(*Catalogue::TABLES["classifications"].columns))))
        true
      end

      def _category_delete_bang(category)
        row = category(category) or raise "Category <#{category}> does not exist"
        entries = store.where("classifications", "parent_id" => row.id)
        if entries.any? { |e| assigned?(row, e) }
          raise "This category contains tags which have been assigned. Please delete assignments before deleting the category."
        end

        entries.each { |e| @world.delete(e) }
        @world.delete(row)
        true
      end

      def _category_delete(category)
        _category_delete_bang(category)
        true
      rescue StandardError
        false
      end

      def _tag_exists(category, entry)
        row = category(category)
        !row.nil? && !entry(row, entry).nil?
      end

      def _tag_create(category, options = {})
        row = category(category) or raise "Category <#{category}> does not exist"
        options = options.transform_keys(&:to_s)
        defaults = Catalogue::TABLES["classifications"].defaults.merge("parent_id" => row.id)
        store.insert(Record.new("classifications", store.next_id("classifications"),
                                defaults.merge(options.slice(*Catalogue::TABLES["classifications"].columns))))
        true
      end

      def _tag_delete_bang(category, entry)
        row = category(category) or raise "Category <#{category}> does not exist"
        found = entry(row, entry) or raise "Entry <#{entry}> does not exist"
        raise "This tag has assignments. Please delete assignments before deleting the tag." if assigned?(row, found)

        @world.delete(found)
        true
      end

      def _tag_delete(category, entry)
        _tag_delete_bang(category, entry)
        true
      rescue StandardError
        false
      end

      # MiqProvisionVirtWorkflow.from_ws: a new MiqProvisionRequest (pending approval).
      def _create_provision_request(*args)
        new_request("MiqProvisionRequest", "template", { ws_values: args }, "admin")
      end

      def _create_automation_request(options, userid = "admin", auto_approve = false)
        request = new_request("AutomationRequest", "automation", options, userid)
        request.approve(userid, "Auto-Approved") if auto_approve
        request
      end

      # The template's provision request: a new ServiceTemplateProvisionRequest by the run's
      # user, with the template as its source.
      def _create_service_provision_request(template, options = nil)
        unless template.is_a?(Model) && template._record.table == "service_templates"
          raise ArgumentError, "create_service_provision_request takes a service template, not #{template.inspect}"
        end

        new_request("ServiceTemplateProvisionRequest", "clone_to_service", options || {}, @world.run_user || "admin",
                    source: template._record)
      end

      # The object's retire request: VmRetireRequest, ServiceRetireRequest or
      # OrchestrationStackRetireRequest with options[:src_ids].
      def _create_retire_request(object)
        type = { "vms" => "VmRetireRequest", "services" => "ServiceRetireRequest",
                 "orchestration_stacks" => "OrchestrationStackRetireRequest" }[object.is_a?(Model) ? object._record.table : nil]
        raise ArgumentError, "create_retire_request takes a VM, service or orchestration stack, not #{object.inspect}" unless type

        new_request(type, type.sub("RetireRequest", "").gsub(/([a-z])([A-Z])/, '\1_\2').downcase + "_retire",
                    { src_ids: [object.id] }, @world.run_user || "admin")
      end

      def new_request(type, request_type, options, userid, source: nil)
        user = store.rows("users").find { |u| u.attrs["userid"].to_s.casecmp?(userid.to_s) }
        attrs = Catalogue::TABLES["miq_requests"].defaults.merge(
          "type" => type, "request_type" => request_type, "approval_state" => "pending_approval",
          "request_state" => "pending", "userid" => userid.to_s, "requester_id" => user&.id,
          "options" => options.to_h.transform_keys(&:to_sym), "created_on" => @world.now, "updated_on" => @world.now
        )
        attrs.merge!("source_type" => World.base_class(source.table), "source_id" => source.id) if source
        @world.model_for(@world.insert(Record.new("miq_requests", store.next_id("miq_requests"), attrs)))
      end

      def category(name)
        store.where("classifications", "parent_id" => nil, "name" => name.to_s).first
      end

      def entry(category, name)
        store.where("classifications", "parent_id" => category.id, "name" => name.to_s).first
      end

      def assigned?(category, entry)
        tag = "#{category.attrs['name']}/#{entry.attrs['name']}"
        Tagging::TAGGABLE.any? { |t| store.rows(t).any? { |r| r.tags.include?(tag) } }
      end
    end
  end
end
