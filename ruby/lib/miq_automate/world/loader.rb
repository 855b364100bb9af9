# frozen_string_literal: true

require "json"
require "time"

module MiqAutomate
  class World
    # Reads a world file into a World: every section checked, every error a WorldError
    # naming the file and the JSON path (`world.json: $.vms[3].host_id: no host 77`).
    class Loader
      # The largest file read (as the mock's scenarios): bigger ones are refused unread.
      MAX_BYTES = 64 * 1024 * 1024
      # The most rows a world may declare, inline ones (hardware, entries…) included.
      MAX_ROWS = 1_000_000
      # The longest delay a step may have: 10 years (as the mock's spans).
      MAX_SECONDS = 10 * 365 * 24 * 60 * 60
      # The deepest JSON nesting accepted.
      MAX_NESTING = 100

      # Sections that are not tables.
      OTHER_SECTIONS = %w[description server settings faults run execute class_methods behaviour models].freeze
      # What each `behaviour` entry may say (see World::Behaviour).
      BEHAVIOUR_KEYS = { "power" => %w[after], "provision" => %w[after result message], "refresh" => %w[after],
                         "remove" => %w[after], "orchestration" => %w[after status reason] }.freeze
      STEP_KEYS = %w[after set provider create delete refresh].freeze
      # Keys that make rows of their own at once (not allowed in a row a step creates).
      INLINE_KEYS = %w[custom_attributes ems_custom_attributes hardware disks entries].freeze
      HOOK_KEYS = %w[steps returns returns_record raises].freeze
      ANSWER_KEYS = %w[args returns returns_record raises].freeze
      SERVER_KEYS = %w[id name version guid profile].freeze
      SETTINGS_KEYS = %w[token_ttl_seconds retirement_step_seconds].freeze
      TIME_COLUMN = Catalogue::TIME_COLUMN
      NO_ALIASES = {}.freeze
      # Loaded before the tables that point at them, so references resolve in one pass.
      ORDER = %w[tenants miq_groups users ext_management_systems ems_clusters storages hosts vms service_templates
                 services orchestration_stacks miq_requests miq_request_tasks miq_tasks classifications].freeze

      def self.read(path)
        file = path.to_s
        stat = File.stat(file)
        raise WorldError.new(file, "$", "not a regular file") unless stat.file?
        raise WorldError.new(file, "$", "#{stat.size} bytes is too large: a world is at most #{MAX_BYTES} bytes") if stat.size > MAX_BYTES

        File.read(file, encoding: "UTF-8")
      rescue SystemCallError => e
        raise WorldError.new(file, "$", "cannot be read: #{e.message.sub(/ @ \w+ - .*/, '')}")
      end

      def self.parse(text, file)
        raise WorldError.new(file, "$", "#{text.bytesize} bytes is too large: a world is at most #{MAX_BYTES} bytes") if text.bytesize > MAX_BYTES

        doc = JSON.parse(text, max_nesting: MAX_NESTING)
        raise WorldError.new(file, "$", "a world is a JSON object, not #{Loader.kind(doc)}") unless doc.is_a?(Hash)

        doc
      rescue JSON::NestingError
        raise WorldError.new(file, "$", "nested deeper than #{MAX_NESTING} levels")
      rescue JSON::ParserError => e
        raise WorldError.new(file, "$", "invalid JSON: #{e.message.lines.first.to_s.strip[0, 200]}")
      end

      def self.kind(value)
        case value
        when Hash then "an object"
        when Array then "an array"
        when String then "a string"
        when nil then "null"
        when true, false then "a boolean"
        else "a number"
        end
      end

      def initialize(world, doc, file)
        @world = world
        @doc = doc
        @file = file
        @paths = {}.compare_by_identity # record => its JSON path, for later errors
        @pending = []                   # [record, path] created by steps later
        @rows = 0
        @generic = {}                   # model key => table name, from `models`
        @spelled = {}.compare_by_identity # record => {column => key as written}, for aliased keys
      end

      def load
        check_sections
        load_server
        @world.settings = object_at("$.settings", @doc.fetch("settings", {}), SETTINGS_KEYS)
        @world.settings.each do |key, value|
          next if value.is_a?(Integer) && value.between?(1, MAX_SECONDS)

          raise invalid("$.settings.#{key}", "must be whole seconds from 1 to #{MAX_SECONDS} (10 years), not #{value.inspect}")
        end
        @world.description = @doc["description"]
        raise invalid("$.description", "must be a string") unless @world.description.nil? || @world.description.is_a?(String)

        @world.faults = object_at("$.faults", @doc.fetch("faults", {}))
        load_generic_models
        ORDER.each { |table| load_table(table) }
        assign_auto_ids
        link
        check_references
        load_behaviour
        load_answers
        load_run
        @world
      end

      private

      def invalid(path, message)
        WorldError.new(@file, path, message)
      end

      # "; did you mean `power_state`?" (a close spelling, or a longer name it starts),
      # else the names it could be.
      def suggest(word, candidates)
        names = candidates.to_a.map(&:to_s)
        word = word.to_s
        best = DidYouMean::SpellChecker.new(dictionary: names).correct(word).first if defined?(DidYouMean)
        best ||= names.select { |n| n.start_with?(word) && !word.empty? }.min_by(&:size)
        best ? "; did you mean `#{best}`?" : "; known: #{names.sort.first(40).join(', ')}"
      end

      def object_at(path, value, keys = nil)
        raise invalid(path, "must be an object, not #{Loader.kind(value)}") unless value.is_a?(Hash)

        keys && value.each_key { |k| raise invalid("#{path}.#{k}", "unknown key#{suggest(k, keys)}") unless keys.include?(k) }
        value
      end

      def store
        @world.store
      end

      # --- sections ---

      def check_sections
        known = Catalogue::TABLES.keys - Catalogue::INLINE + Catalogue::SECTION_ALIASES.keys + OTHER_SECTIONS
        @doc.each_key do |key|
          raise invalid("$.#{key}", "unknown section#{suggest(key, known)}") unless known.include?(key)
        end
      end

      def load_server
        server = object_at("$.server", @doc.fetch("server", {}), SERVER_KEYS)
        attrs = { "name" => "EVM", "version" => "18.0.0", "guid" => "00000000-0000-0000-0000-000000000001",
                  "profile" => "current" }
        server.each { |k, v| attrs[k] = v unless k == "id" }
        id = server.key?("id") ? parse_id("$.server.id", server["id"]) : 1
        store.insert(Record.new("miq_servers", id, attrs))
      end

      # Every spelling of a table's section, in the order written.
      def sections_for(table)
        [table, *Catalogue::SECTION_ALIASES.select { |_, t| t == table }.keys].select { |s| @doc.key?(s) }
      end

      def load_table(table)
        spec = Catalogue::TABLES.fetch(table)
        sections_for(table).each do |section|
          list = @doc[section]
          raise invalid("$.#{section}", "must be an array of records, not #{Loader.kind(list)}") unless list.is_a?(Array)

          list.each_with_index do |raw, i|
            path = "$.#{section}[#{i}]"
            record = build(spec, raw, path, section: section)
            insert(record, path)
          end
        end
      end

      def insert(record, path)
        @rows += 1
        raise invalid(path, "too many rows: a world holds at most #{MAX_ROWS}") if @rows > MAX_ROWS

        if record.id && (other = store.find(record.table, record.id))
          raise invalid("#{path}.id", "duplicate id #{record.id} (#{@paths[other]} has it too)")
        end
        @paths[record] = path
        store.insert(record) if record.id
        (@auto ||= []) << record unless record.id
        record
      end

      # One record of `spec`'s table from its JSON object. (The load's hot path: the row
      # is copied in one merge, and only the keys that need more than a copy are visited
      # again: ids, times, options, aliases, what is not a column, what is unknown.)
      def build(spec, raw, path, section: spec.name, pending: false)
        raise invalid(path, "must be an object, not #{Loader.kind(raw)}") unless raw.is_a?(Hash)

        aliases = Catalogue::COLUMN_ALIASES.fetch(spec.name, NO_ALIASES)
        columns = spec.column_set
        converted = spec.converted_columns
        attrs = (section == "templates" ? TEMPLATE_DEFAULTS : spec.defaults).merge(raw)
        id = nil
        extra = nil
        spelled = nil
        raw.each do |key, value|
          # A plain column, or an id already an Integer: the merge copied it as it is.
          next if columns.key?(key) && (!converted.key?(key) || (value.is_a?(Integer) && value.positive? && key != "id"))

          attrs.delete(key)
          column = aliases.empty? ? key : aliases.fetch(key, key)
          (spelled ||= {})[column] = key unless column.equal?(key)
          if column == "id"
            id = value.is_a?(Integer) && value.positive? ? value : parse_id("#{path}.id", value)
          elsif columns.key?(column)
            attrs[column] = convert(spec, column, value, path, key)
          elsif spec.record_keys.key?(column)
            (extra ||= {})[column] = value
          else
            raise invalid("#{path}.#{key}", "unknown key for #{spec.singular}#{suggest(key, spec.record_keys.keys + aliases.keys)}")
          end
        end
        raise invalid(path, "a #{spec.singular} needs an id") if id.nil? && !spec.auto_id

        record = Record.new(spec.name, id, attrs)
        @spelled[record] = spelled if spelled
        return record unless extra

        if pending && (inline = (extra.keys & INLINE_KEYS)).any?
          raise invalid("#{path}.#{inline.first}", "a row a step creates cannot have #{inline.first}: declare it in its section")
        end
        apply_extra(spec, record, extra, path)
        record
      end

      # What a `templates` row is by default.
      TEMPLATE_DEFAULTS = Catalogue::TABLES["vms"].defaults.merge(
        "template" => true, "type" => "ManageIQ::Providers::Vmware::InfraManager::Template"
      ).freeze

      # Ids are positive whole numbers; as in the mock's scenarios, a string of digits too.
      def parse_id(path, value)
        id = value.is_a?(String) && value.match?(/\A\d+\z/) ? value.to_i : value
        raise invalid(path, "an id is a positive whole number (or a string of digits), not #{value.inspect}") unless id.is_a?(Integer) && id.positive?

        id
      end

      # A column's value as the world keeps it: ids Integers, times UTC Times, options
      # with Symbol keys. `key` is the column as the file spells it (for errors).
      def convert(spec, column, value, path, key = column)
        if spec.id_columns.key?(column)
          value.nil? || (value.is_a?(Integer) && value.positive?) ? value : parse_id("#{path}.#{key}", value)
        elsif column == "options"
          raise invalid("#{path}.#{key}", "options are an object, not #{Loader.kind(value)}") unless value.is_a?(Hash)

          # As ManageIQ stores them: top-level keys are symbols (get_option(:vm_target_name)),
          # nested ones as written (options[:dialog]["dialog_x"]).
          value.to_h { |k, v| [k.to_sym, v] }
        elsif value.is_a?(String) && spec.time_columns.key?(column)
          time("#{path}.#{key}", value)
        else
          value
        end
      end

      # A column of a row the catalogue does not describe (`columns`, `models`): by its name.
      def convert_free(path, column, value)
        if column.end_with?("_id") then value.nil? ? nil : parse_id(path, value)
        elsif value.is_a?(String) && TIME_COLUMN.match?(column) then time(path, value)
        else value
        end
      end

      def time(path, value)
        Time.iso8601(value).utc
      rescue ArgumentError
        raise invalid(path, "#{value.inspect} is not an ISO 8601 time (2024-06-01T08:00:00Z)")
      end

      # An inline row's link to its owner: now when the owner has its id, else once ids
      # are assigned (#link).
      def own(row, owner)
        owner.id ? link_owned(row, owner) : (@owned ||= []) << [row, owner]
      end

      def link_owned(row, owner)
        case row.table
        when "custom_attributes" then row.attrs["resource_id"] = owner.id
        when "hardwares" then row.attrs[owner.table == "hosts" ? "host_id" : "vm_or_template_id"] = owner.id
        when "disks" then row.attrs["hardware_id"] = owner.id
        when "classifications" then row.attrs["parent_id"] = owner.id
        end
      end

      # What a record says besides its columns.
      def apply_extra(spec, record, extra, path)
        extra.each do |key, value|
          at = "#{path}.#{key}"
          case key
          when "columns"
            object_at(at, value).each { |k, v| record.attrs[k] = convert_free("#{at}.#{k}", k, v) }
          when "tags" then record.tags = tag_list(at, value)
          when "custom_attributes", "ems_custom_attributes"
            object_at(at, value).each do |name, v|
              source = key == "custom_attributes" ? "EVM" : "VC"
              attribute = Record.new("custom_attributes", nil, "name" => name.to_s, "value" => v, "source" => source,
                                                              "resource_type" => World.base_class(record.table), "resource_id" => nil)
              own(attribute, record)
              insert(attribute, "#{at}.#{name}")
            end
          when "hardware"
            hardware = build(Catalogue::TABLES["hardwares"], value, at)
            own(hardware, record)
            insert(hardware, at)
          when "disks"
            raise invalid(at, "must be an array, not #{Loader.kind(value)}") unless value.is_a?(Array)

            value.each_with_index do |raw, i|
              disk = build(Catalogue::TABLES["disks"], raw, "#{at}[#{i}]")
              own(disk, record)
              insert(disk, "#{at}[#{i}]")
            end
          when "entries"
            raise invalid(at, "must be an array, not #{Loader.kind(value)}") unless value.is_a?(Array)

            value.each_with_index do |raw, i|
              entry = build(Catalogue::TABLES["classifications"], raw, "#{at}[#{i}]")
              own(entry, record)
              insert(entry, "#{at}[#{i}]")
            end
          when "storage_ids", "groups"
            raise invalid(at, "must be an array of ids, not #{Loader.kind(value)}") unless value.is_a?(Array)

            record.attrs[key] = value.each_with_index.map { |v, i| parse_id("#{at}[#{i}]", v) }
          when "service_id"
            record.attrs["service_id"] = value.nil? ? nil : parse_id(at, value)
          when "on"
            object_at(at, value).each { |name, hook| record.add_hook(name.to_s, parse_hook("#{at}.#{name}", spec, hook)) }
          when "timeline"
            record.add_hook(:timeline, { "steps" => parse_steps(at, spec, value) })
          end
        end
      end

      def tag_list(path, value)
        raise invalid(path, "must be an array of \"category/name\" strings") unless value.is_a?(Array)

        value.each_with_index do |tag, i|
          slash = tag.is_a?(String) && tag.index("/")
          next if slash&.positive? && slash < tag.size - 1 && !tag.index("/", slash + 1)

          raise invalid("#{path}[#{i}]", "a tag is \"category/name\", not #{tag.inspect}")
        end
        value
      end

      # --- hooks and steps (World::Timeline runs them) ---

      def parse_hook(path, spec, hook)
        hook = { "steps" => hook } if hook.is_a?(Array)
        object_at(path, hook, HOOK_KEYS)
        given = %w[returns returns_record raises].select { |k| hook.key?(k) }
        raise invalid(path, "give one of returns, returns_record or raises, not #{given.join(' and ')}") if given.size > 1

        hook = hook.merge("returns_record" => reference("#{path}.returns_record", hook["returns_record"])) if hook.key?("returns_record")
        raise invalid("#{path}.raises", "must be a string (the error's message)") if hook.key?("raises") && !hook["raises"].is_a?(String)

        hook.merge("steps" => parse_steps("#{path}.steps", spec, hook.fetch("steps", [])))
      end

      def parse_steps(path, spec, steps)
        raise invalid(path, "must be an array of steps, not #{Loader.kind(steps)}") unless steps.is_a?(Array)

        steps.each_with_index.map do |step, i|
          at = "#{path}[#{i}]"
          object_at(at, step, STEP_KEYS)
          after = step.fetch("after", 0)
          unless after.is_a?(Integer) && after.between?(0, MAX_SECONDS)
            raise invalid("#{at}.after", "must be whole seconds from 0 to #{MAX_SECONDS} (10 years), not #{after.inspect}")
          end
          parsed = { "after" => after }
          parsed["set"] = columns_at("#{at}.set", spec, step["set"]) if step.key?("set")
          parsed["provider"] = columns_at("#{at}.provider", spec, step["provider"], provider: true) if step.key?("provider")
          parsed["create"] = creations("#{at}.create", step["create"]) if step.key?("create")
          %w[delete refresh].each do |flag|
            next unless step.key?(flag)
            raise invalid("#{at}.#{flag}", "must be true or false") unless [true, false].include?(step[flag])

            parsed[flag] = step[flag]
          end
          parsed
        end
      end

      def columns_at(path, spec, value, provider: false)
        aliases = Catalogue::COLUMN_ALIASES.fetch(spec.name, {})
        object_at(path, value).to_h do |key, v|
          column = aliases.fetch(key, key)
          if provider && column == "exists"
            raise invalid("#{path}.exists", "must be true or false") unless [true, false].include?(v)
          elsif !spec.column?(column)
            raise invalid("#{path}.#{key}", "unknown column of #{spec.singular}#{suggest(key, spec.column_set.keys)}")
          end
          (@step_refs ||= []) << [spec, column, v, "#{path}.#{key}"] if column.end_with?("_id") && !v.nil?
          [column, column == "exists" ? v : convert(spec, column, v, path, key)]
        end
      end

      # Rows a step creates: validated now, inserted when the step runs.
      def creations(path, value)
        object_at(path, value).flat_map do |section, list|
          table = Catalogue::SECTION_ALIASES.fetch(section, section)
          spec = Catalogue::TABLES[table]
          if spec.nil? || Catalogue::INLINE.include?(table)
            raise invalid("#{path}.#{section}", "unknown section#{suggest(section, Catalogue::TABLES.keys - Catalogue::INLINE)}")
          end
          raise invalid("#{path}.#{section}", "must be an array of records") unless list.is_a?(Array)

          list.each_with_index.map do |raw, i|
            at = "#{path}.#{section}[#{i}]"
            record = build(spec, raw, at, section: section, pending: true)
            raise invalid(at, "a created #{spec.singular} needs an id") unless record.id

            clash = store.find(table, record.id) || @pending.find { |r, _| r.table == table && r.id == record.id }&.first
            raise invalid("#{at}.id", "duplicate id #{record.id} (#{@paths[clash]} has it too)") if clash

            @paths[record] = at
            @pending << [record, at]
            record
          end
        end
      end

      # "vms/600" (or "templates/500", "requests/700"): a row of the world.
      def reference(path, value)
        section, id = value.to_s.split("/", 2)
        table = Catalogue::SECTION_ALIASES.fetch(section.to_s, section.to_s)
        table = @generic.fetch(table, table)
        unless Catalogue::TABLES.key?(table) || @generic.value?(table)
          raise invalid(path, "#{value.inspect} is not \"section/id\" (\"vms/600\")")
        end

        (@references ||= []) << [table, parse_id(path, id), path]
        [table, id.to_i]
      end

      # --- generic models, ids, links ---

      def load_generic_models
        models = object_at("$.models", @doc.fetch("models", {}))
        models.each do |key, list|
          path = "$.models.#{key}"
          unless key.match?(/\A[a-z][a-z0-9_]*\z/)
            raise invalid(path, "a model is named in snake_case (\"flavor\", \"cloud_tenant\"), not #{key.inspect}")
          end
          if Catalogue::MODELS.key?(key) || Catalogue::MODEL_ALIASES.key?(key)
            table = Catalogue::MODELS.fetch(Catalogue::MODEL_ALIASES.fetch(key, key)).table
            raise invalid(path, "#{key} has its own section: write it under $.#{table}")
          end
          raise invalid(path, "must be an array of records, not #{Loader.kind(list)}") unless list.is_a?(Array)

          table = "models/#{key}"
          @generic[key] = table
          list.each_with_index do |raw, i|
            at = "#{path}[#{i}]"
            raise invalid(at, "must be an object, not #{Loader.kind(raw)}") unless raw.is_a?(Hash)
            raise invalid(at, "a #{key} needs an id") unless raw.key?("id")

            attrs = raw.reject { |k, _| k == "id" }.to_h { |k, v| [k, convert_free("#{at}.#{k}", k, v)] }
            insert(Record.new(table, parse_id("#{at}.id", raw["id"]), attrs), at)
          end
        end
        @world.generic_models = @generic
      end

      # Rows written without an id (classification entries, hardware…) get the next free one.
      def assign_auto_ids
        pending_max = @pending.each_with_object(Hash.new(0)) { |(r, _), max| max[r.table] = [max[r.table], r.id].max }
        (@auto || []).each do |record|
          record.assign_id([store.next_id(record.table), pending_max[record.table] + 1].max)
          store.insert(record)
        end
      end

      # Inline rows point at their owner; derived rows (service resources, a root tenant,
      # users' current groups, requesters) are made.
      def link
        (@owned || []).each { |row, owner| link_owned(row, owner) }
        root_tenant
        store.rows("users").each { |user| link_user(user) }
        store.rows("miq_requests").each { |request| link_requester(request) }
        link_tags
        service_resources
      end

      # ManageIQ always has a root tenant ("My Company"); a world without tenants gets one,
      # and every group without a tenant belongs to it.
      def root_tenant
        root = store.rows("tenants").find { |t| t.attrs["parent_id"].nil? }
        root ||= store.insert(Record.new("tenants", 1, Catalogue::TABLES["tenants"].defaults.merge("name" => "My Company")))
        store.rows("miq_groups").each { |g| g.attrs["tenant_id"] ||= root.id }
      end

      def link_user(user)
        path = @paths[user]
        groups = user.attrs["groups"] || []
        raise invalid("#{path}.groups", "a user needs at least one group") if groups.empty?

        groups.each_with_index do |id, i|
          raise invalid("#{path}.groups[#{i}]", "no group #{id}") unless store.find("miq_groups", id)
        end
        current = user.attrs["current_group_id"] ||= groups.first
        raise invalid("#{path}.current_group_id", "group #{current} is not one of the user's groups") unless groups.include?(current)
      end

      def link_requester(request)
        return if request.attrs["requester_id"]

        user = find_user(request.attrs["userid"])
        request.attrs["requester_id"] = user&.id
        request.attrs["requester_name"] ||= user&.attrs&.fetch("name", nil)
      end

      def find_user(userid)
        store.rows("users").find { |u| u.attrs["userid"].to_s.casecmp?(userid.to_s) }
      end

      # Tags name classification entries. When the world declares categories, a tag must
      # be one of them (a typo is an error); when it declares none, the tags it uses are
      # its categories. A request's tags are its options[:tag_ids], as ManageIQ keeps them.
      def link_tags
        declared = store.rows("classifications").any?
        all = Catalogue::TABLES.keys.flat_map { |t| store.rows(t) } + @pending.map(&:first)
        all.each do |record|
          next if record.tags.empty?

          record.tags.each do |tag|
            entry = entry_for(tag)
            if entry.nil? && declared
              raise invalid("#{@paths[record]}.tags[#{record.tags.index(tag)}]", "no tag #{tag}: the world's categories do not have it")
            end

            entry ||= (@entries[tag] = create_tag(tag))
            if OPTION_TAGS.include?(record.table)
              (record.attrs["options"][:tag_ids] ||= []) << entry.id
            end
          end
          record.tags = Record::NONE if OPTION_TAGS.include?(record.table)
        end
      end

      # Tables whose tags live in their options (:tag_ids).
      OPTION_TAGS = %w[miq_requests miq_request_tasks].freeze

      def create_tag(tag)
        category_name, name = tag.split("/", 2)
        category = store.rows("classifications").find { |c| c.attrs["parent_id"].nil? && c.attrs["name"] == category_name }
        category ||= store.insert(Record.new("classifications", store.next_id("classifications"),
                                             Catalogue::TABLES["classifications"].defaults.merge(
                                               "name" => category_name, "description" => category_name.capitalize,
                                               "single_value" => false, "parent_id" => nil
                                             )))
        store.insert(Record.new("classifications", store.next_id("classifications"),
                                Catalogue::TABLES["classifications"].defaults.merge(
                                  "name" => name, "description" => name.capitalize, "parent_id" => category.id
                                )))
      end

      # As the mock derives them: a service's resources are its child services, then its
      # VMs, then its orchestration stacks.
      def service_resources
        resources = Hash.new { |h, id| h[id] = [] }
        [["services", "parent_id", "Service"], ["vms", "service_id", "VmOrTemplate"],
         ["orchestration_stacks", "service_id", "OrchestrationStack"]].each do |table, column, type|
          store.rows(table).each { |row| resources[row.attrs[column]] << [type, row.id] if row.attrs[column] }
        end
        store.rows("services").each do |service|
          resources[service.id].each { |type, id| @world.add_service_resource(service.id, type, id) }
        end
      end

      # --- references ---

      def check_references
        rows = Catalogue::TABLES.keys.flat_map { |t| store.rows(t) }
        rows.concat(@pending.map(&:first))
        rows.each { |record| check_record(record) }
        (@step_refs || []).each { |spec, column, id, path| check_fk(spec, column, id, path) }
        (@references || []).each do |table, id, path|
          raise invalid(path, "no #{singular(table)} #{id}") unless exists?(table, id)
        end
        @pending.each do |record, path|
          other = store.find(record.table, record.id)
          raise invalid("#{path}.id", "duplicate id #{record.id} (#{@paths[other]} has it too)") if other
        end
      end

      # Rows written inside their owner: their links are made by the load.
      OWNED = %w[hardwares custom_attributes].freeze

      def check_record(record)
        return if OWNED.include?(record.table)

        spec = Catalogue::TABLES[record.table]
        path = @paths[record]
        return unless spec && path # derived rows are right by construction

        spec.belongs_to.each_value do |fk, table|
          id = record.attrs[fk]
          next if id.nil? || exists?(table, id) || lenient?(spec.name, fk, table)

          raise invalid("#{path}.#{written(fk, record)}", "no #{singular(table)} #{id}")
        end
        spec.polymorphic.each_value do |id_column, type_column|
          id = record.attrs[id_column]
          type = record.attrs[type_column]
          next if id.nil? && type.nil?

          raise invalid("#{path}.#{type_column}", "#{id_column} is given without #{type_column}") if type.nil?

          table = Catalogue.table_for_type(type)
          raise invalid("#{path}.#{type_column}", "#{type.inspect} is not a type the world knows (VmOrTemplate, Service, ServiceTemplate, …)") unless table
          next if id.nil? || lenient?(record.table, id_column, table)
          raise invalid("#{path}.#{id_column}", "no #{singular(table)} #{id}") unless exists?(table, id)
        end
        check_fk(spec, "service_id", record.attrs["service_id"], "#{path}.service_id", "services") if record.attrs["service_id"]
        record.attrs["storage_ids"]&.each_with_index do |id, i|
          raise invalid("#{path}.storage_ids[#{i}]", "no storage #{id}") unless exists?("storages", id)
        end
      end

      # The key as the file spells it (`request_id` for a task's miq_request_id).
      def written(column, record)
        @spelled.dig(record, column) || column
      end

      def check_fk(spec, column, id, path, table = nil)
        return if id.nil?

        table ||= spec.belongs_to.values.find { |fk, _| fk == column }&.last
        return unless table
        return if lenient?(spec.name, column, table)
        raise invalid(path, "no #{singular(table)} #{id}") unless exists?(table, id)
      end

      # Columns the mock's scenario format has but never checks: a scenario that points
      # them at a section it does not have at all still loads (the association is nil).
      LENIENT = [%w[services service_template_id], %w[miq_requests source_id], %w[miq_request_tasks source_id]].freeze

      def lenient?(table, column, target)
        LENIENT.include?([table, column]) && store.count(target).zero? && @pending.none? { |r, _| r.table == target }
      end

      def exists?(table, id)
        store.find(table, id) || @pending.any? { |r, _| r.table == table && r.id == id }
      end

      # The classification entry of a tag, looked up once per tag.
      def entry_for(tag)
        (@entries ||= {}).fetch(tag) { @entries[tag] = @world.classification_entry(tag) }
      end

      def singular(table)
        Catalogue::TABLES[table]&.singular || table.sub("models/", "")
      end

      # --- behaviour, answers, run ---

      def load_behaviour
        behaviour = object_at("$.behaviour", @doc.fetch("behaviour", {}), BEHAVIOUR_KEYS.keys)
        behaviour.each do |name, settings|
          path = "$.behaviour.#{name}"
          object_at(path, settings, BEHAVIOUR_KEYS[name])
          after = settings.fetch("after", 0)
          unless after.is_a?(Integer) && after.between?(0, MAX_SECONDS)
            raise invalid("#{path}.after", "must be whole seconds from 0 to #{MAX_SECONDS} (10 years), not #{after.inspect}")
          end
          if settings.key?("result") && !%w[ok error].include?(settings["result"])
            raise invalid("#{path}.result", "must be \"ok\" or \"error\", not #{settings['result'].inspect}")
          end
        end
        @world.behaviour = behaviour
        @world.pending = @pending.map(&:first)
      end

      def load_answers
        execute = object_at("$.execute", @doc.fetch("execute", {}))
        @world.answers[:execute] = execute.to_h { |name, answers| [name, answers("$.execute.#{name}", answers)] }
        object_at("$.class_methods", @doc.fetch("class_methods", {})).each do |model, methods|
          path = "$.class_methods.#{model}"
          begin
            key = @world.resolve_model(model).key
          rescue NameError
            raise invalid(path, "no model #{model}#{suggest(model, Catalogue::MODELS.keys + Catalogue::KNOWN_OTHER_MODELS + @generic.keys)}")
          end
          @world.answers[key] = object_at(path, methods).to_h { |name, answers| [name, answers("#{path}.#{name}", answers)] }
        end
      end

      # An answer (or a list of them, tried in order): `args` to match (absent: any),
      # and what to give: `returns` a value, `returns_record` a row, `raises` a message.
      def answers(path, value)
        list = value.is_a?(Array) ? value : [value]
        list.each_with_index.map do |answer, i|
          at = value.is_a?(Array) ? "#{path}[#{i}]" : path
          object_at(at, answer, ANSWER_KEYS)
          given = %w[returns returns_record raises].select { |k| answer.key?(k) }
          raise invalid(at, "give one of returns, returns_record or raises, not #{given.join(' and ')}") if given.size > 1
          raise invalid("#{at}.args", "must be an array") if answer.key?("args") && !answer["args"].is_a?(Array)
          raise invalid("#{at}.raises", "must be a string (the error's message)") if answer.key?("raises") && !answer["raises"].is_a?(String)

          answer = answer.merge("returns_record" => reference("#{at}.returns_record", answer["returns_record"])) if answer.key?("returns_record")
          answer
        end.tap { check_answer_references }
      end

      def check_answer_references
        (@references || []).each do |table, id, path|
          raise invalid(path, "no #{singular(table)} #{id}") unless exists?(table, id)
        end
      end

      def load_run
        run = object_at("$.run", @doc.fetch("run", {}), %w[user])
        return unless run.key?("user")

        raise invalid("$.run.user", "no user #{run['user'].inspect}#{suggest(run['user'], store.rows('users').map { |u| u.attrs['userid'] })}") unless find_user(run["user"])

        @world.run_user = run["user"]
      end
    end
  end
end
