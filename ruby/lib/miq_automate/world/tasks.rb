# frozen_string_literal: true

module MiqAutomate
  class World
    # statemachine_task_status of every task kind: "retry" until the task is in one of
    # the kind's `done` states, then "error" when its status is Error, else "ok".
    module TaskStatus
      private

      def task_status(*done)
        return "retry" unless done.include?(read("state"))

        read("status").to_s.casecmp?("error") ? "error" : "ok"
      end
    end

    # A request task (MiqAeServiceMiqRequestTask): `execute` (which starts the work; see
    # World::Tasks for what follows), its message, `finished`, and statemachine_task_status
    # as the task's kind answers it. A change of state or status tells the parent (the
    # parent task, else the request) as ManageIQ's update_and_notify_parent does.
    module RequestTask
      include TaskStatus

      def execute
        Tasks.execute(@world, @record)
        true
      end

      def message=(message)
        Tasks.update(@world, @record, "message" => message.to_s[0, 255]) unless read("state") == "finished"
      end

      def finished(message)
        Tasks.update(@world, @record, "state" => "finished", "message" => message.to_s[0, 255])
        true
      end

      # ManageIQ's deprecated `status` method: the state machine's status, not the column
      # (which `task['status']` reads).
      def status
        statemachine_task_status
      end

      # "ok"/"error" once finished, "retry" until then.
      def statemachine_task_status
        task_status("finished")
      end

      %w[cancel_requested canceling canceled].each do |state|
        define_method("#{state}?") { read("cancelation_status") == state }
      end
    end

    # A VM provision task (MiqAeServiceMiqProvision): its VM and template, and its status.
    module Provision
      include TaskStatus

      def vm
        destination
      end

      def vm_template
        source
      end

      # The placement option ("Choose Automatically"), which Placement's guard reads.
      def placement_auto
        get_option(:placement_auto)
      end

      # What the provision dialog would offer (MiqAeServiceMiqProvision#eligible_*): the
      # template's provider's hosts (in the chosen cluster, if one is), its clusters, and
      # the storages of the chosen host (else of every eligible host).
      def eligible_hosts
        cluster = get_option(:placement_cluster_name)
        hosts = source_ems_rows("hosts")
        hosts = hosts.select { |h| h.attrs["ems_cluster_id"] == cluster } if cluster
        models(hosts)
      end

      def eligible_clusters
        models(source_ems_rows("ems_clusters"))
      end

      def eligible_storages
        host = @world.store.find("hosts", get_option(:placement_host_name))
        hosts = host ? [host] : eligible_hosts.map(&:_record)
        ids = hosts.flat_map { |h| Array(h.attrs["storage_ids"]) }.uniq
        models(ids.filter_map { |id| @world.store.find("storages", id) })
      end

      # MiqAeServiceMiqProvision#set_host, set_storage, set_cluster: the placement options,
      # [id, name] as the dialog stores them.
      { "host" => "placement_host_name", "storage" => "placement_ds_name", "cluster" => "placement_cluster_name" }.each do |what, option|
        define_method("set_#{what}") do |row|
          set_option(option.to_sym, [row.id, row.name])
          nil
        end
      end

      # MiqProvision's alias_attribute :provision_type, :request_type.
      def provision_type
        read("request_type")
      end

      # MiqAeServiceMiqProvision's association: its request.
      def miq_provision_request
        miq_request
      end

      # As MiqProvision's: done once provisioned or finished, an error when the status is
      # Error or there is no VM.
      def statemachine_task_status
        status = task_status("finished", "provisioned")
        status == "ok" && vm.nil? ? "error" : status
      end

      def target_type
        read("destination_type")
      end

      def set_vm_notes(note)
        set_option(:vm_notes, note)
      end

      def update_vm_name(name)
        set_option(:vm_target_name, name)
        set_option(:vm_target_hostname, name)
        nil
      end

      def set_network_address_mode(mode)
        set_option(:addr_mode, %w[dhcp DHCP]) if mode.to_s.casecmp?("dhcp")
        set_option(:addr_mode, %w[static Static]) if mode.to_s.casecmp?("static")
        nil
      end

      def set_vlan(vlan)
        set_option(:vlan, [vlan.to_s, vlan.to_s])
      end

      def set_dvs(portgroup, switch = portgroup)
        set_option(:vlan, ["dvs_#{portgroup}", "#{portgroup} (#{switch})"])
      end

      def set_folder(path)
        set_option(:placement_folder_name, [nil, path])
      end

      private

      def source_ems_rows(table)
        ems_id = @world.store.find("vms", read("source_id"))&.attrs&.fetch("ems_id", nil)
        ems_id ? @world.store.where(table, "ems_id" => ems_id) : []
      end
    end

    # A VM migration task (MiqAeServiceVmMigrateTask): done once migrated or finished.
    module VmMigrateTask
      include TaskStatus

      def statemachine_task_status
        task_status("finished", "migrated")
      end

      def vm
        source
      end
    end

    # A service provision task (MiqAeServiceServiceTemplateProvisionTask).
    module ServiceTemplateProvisionTask
      include TaskStatus

      include DialogOptions

      def statemachine_task_status
        task_status("finished", "provisioned")
      end

      def provisioned(message)
        Tasks.update(@world, @record, "state" => "provisioned", "message" => message.to_s[0, 255])
        true
      end

      def provision_priority
        0
      end

      # The service resource the task provisions (a bundle's item; nil for a catalog item's
      # own task): the `service_resources` row its service_resource_id names.
      def service_resource
        model(@world.store.find("service_resources", get_option(:service_resource_id)))
      end

      def group_sequence_run_now?
        true
      end
    end

    # How tasks move. `execute` queues the task ("queued", "State Machine Initializing"),
    # it becomes "active" ("In Process") at once, and after `behaviour.provision.after`
    # seconds (default 0) it completes with `behaviour.provision.result` ("ok" by default):
    # - a VM provision: its destination VM (made from the template and the placement
    #   options unless the task has one) and state "provisioned" (a child task: "finished",
    #   as its own automate delivery would end it);
    # - a service provision: its child tasks are executed, and it is "provisioned" when
    #   they are done (at once when it has none; a child task: "finished");
    # - a VM migration: its VM on the placement host and datastore, state "migrated";
    # - any other task: "finished", "Ok".
    # An "error" result finishes the task with status Error and "Error: <message>".
    # A task's `on.execute` hook replaces all of this (World::Timeline).
    module Tasks
      module_function

      def execute(world, record)
        update(world, record, "state" => "queued", "status" => "Ok", "message" => "State Machine Initializing")
        update(world, record, "state" => "active", "status" => "Ok", "message" => "In Process")
        after = world.behaviour_setting("provision", "after", 0)
        world.timeline.at(world.now + after, record) { complete(world, record) }
        world.tick
      end

      def complete(world, record)
        return if record.deleted || %w[finished provisioned].include?(record.attrs["state"])

        if world.behaviour_setting("provision", "result", "ok") == "error"
          message = world.behaviour_setting("provision", "message", "provisioning failed")
          return update(world, record, "state" => "finished", "status" => "Error", "message" => "Error: #{message}")
        end

        type = record.attrs["type"].to_s
        if Catalogue::PROVISION.call(type)
          provide_vm(world, record)
          state = record.attrs["miq_request_task_id"] ? "finished" : "provisioned"
          update(world, record, "state" => state, "status" => "Ok", "message" => "Vm Provisioned Successfully")
        elsif type == "VmMigrateTask"
          migrate_vm(world, record)
        elsif type.start_with?("ServiceTemplateProvisionTask")
          children = world.store.where("miq_request_tasks", "miq_request_task_id" => record.id)
          if children.empty?
            state = record.attrs["miq_request_task_id"] ? "finished" : "provisioned"
            update(world, record, "state" => state, "message" => "Service does not have children processes")
          else
            update(world, record, "message" => "Service Provision started")
            children.each { |child| world.model_for(child).execute }
          end
        else
          update(world, record, "state" => "finished", "status" => "Ok", "message" => "Task completed")
        end
      end

      # Writes columns, then tells the parent once (as update_and_notify_parent).
      def update(world, record, columns)
        Thread.current[:miq_automate_world_quiet] = true
        columns.each { |column, value| world.write(record, column, value) }
      ensure
        Thread.current[:miq_automate_world_quiet] = false
        notify_parent(world, record)
      end

      # A task's state or status changed (World#write): its parent recounts.
      def changed(world, record, column)
        return if Thread.current[:miq_automate_world_quiet]
        return unless %w[state status].include?(column)

        notify_parent(world, record)
      end

      def notify_parent(world, record, depth = 0)
        return if depth > 100 # a parent loop in the file: stop rather than spin

        if (parent = world.store.find("miq_request_tasks", record.attrs["miq_request_task_id"]))
          recount(world, parent, world.store.where("miq_request_tasks", "miq_request_task_id" => parent.id))
          notify_parent(world, parent, depth + 1)
        elsif (request = world.store.find("miq_requests", record.attrs["miq_request_id"]))
          recount(world, request, world.store.where("miq_request_tasks", "miq_request_id" => request.id))
        end
      end

      # ManageIQ's update_request_status: one state when the children agree (else
      # "active"), the worst status, and a message that counts them.
      def recount(world, parent, children)
        states = Hash.new(0)
        statuses = Hash.new(0)
        children.each do |child|
          states[child.attrs["state"]] += 1
          statuses[child.attrs["status"]] += 1
        end
        message = states.sort_by { |k, _| k.to_s }.map { |state, n| "#{state.to_s.capitalize} = #{n}" }.join("; ")
        state = states.size == 1 ? states.keys.first : "active"
        status = %w[Error Timeout Warn].find { |s| statuses.key?(s) } || "Ok"
        request = parent.table == "miq_requests"
        if request
          if state == "finished"
            message = status == "Ok" ? "Request complete" : "Request completed with errors"
            world.write(parent, "fulfilled_on", world.now)
          end
        else
          # Done: provisioned, for the top task's own delivery to finish; a child task is
          # finished, as its own automate delivery (service_provision_finished) ends it.
          if state == "finished" && parent.attrs["state"] != "finished"
            state = status == "Ok" && parent.attrs["miq_request_task_id"].nil? ? "provisioned" : "finished"
          end
          message = status == "Ok" ? "Task complete" : "Task completed with errors" if state == "finished"
        end
        message = children.first.attrs["message"] if children.size == 1
        message = parent.attrs["options"][:user_message] if parent.attrs["options"].is_a?(Hash) && parent.attrs["options"][:user_message]
        Thread.current[:miq_automate_world_quiet] = true
        world.write(parent, request ? "request_state" : "state", state)
        world.write(parent, "status", status)
        world.write(parent, "message", message)
      ensure
        Thread.current[:miq_automate_world_quiet] = false
      end

      # VmMigrateTask#do_request: the source VM moves to the placement host (and datastore,
      # [id, name] options), and the task is "migrated" ("Finished VM Migrate").
      def migrate_vm(world, record)
        options = record.attrs["options"] || {}
        first = ->(key) { options[key].is_a?(Array) ? options[key].first : options[key] }
        vm = world.store.find("vms", record.attrs["source_id"])
        host = world.store.find("hosts", first.call(:placement_host_name))
        storage = world.store.find("storages", first.call(:placement_ds_name))
        if vm.nil? || (host.nil? && storage.nil?)
          return update(world, record, "state" => "finished", "status" => "Error",
                                       "message" => "Failed. Reason[#{vm ? 'no host or datastore to migrate to' : 'no VM'}]")
        end

        world.write(vm, "host_id", host.id) if host
        world.write(vm, "storage_id", storage.id) if storage
        update(world, record, "state" => "migrated", "status" => "Ok", "message" => "Finished VM Migrate")
      end

      # The VM a provision made: the task's destination if it has one, else a new VM from
      # the template and the placement options ([id, name] pairs, as dialogs store them).
      def provide_vm(world, record)
        return if record.attrs["destination_id"]

        options = record.attrs["options"] || {}
        first = ->(key) { options[key].is_a?(Array) ? options[key].first : options[key] }
        source = world.store.find("vms", record.attrs["source_id"])
        from = source&.attrs || {}
        placed = lambda do |key, table, column|
          id = first.call(key)
          id && world.store.find(table, Store.key("id", id)) ? Store.key("id", id) : from[column]
        end
        attrs = Catalogue::TABLES["vms"].defaults.merge(
          "name" => first.call(:vm_target_name) || first.call(:vm_name) || "vm-#{record.id}",
          "vendor" => from["vendor"] || "vmware",
          "type" => from["type"].to_s.sub(/Template\z/, "Vm").then { |t| t.empty? ? Catalogue::TABLES["vms"].defaults["type"] : t },
          "ems_id" => from["ems_id"], "host_id" => placed.call(:placement_host_name, "hosts", "host_id"),
          "storage_id" => placed.call(:placement_ds_name, "storages", "storage_id"),
          "ems_cluster_id" => placed.call(:placement_cluster_name, "ems_clusters", "ems_cluster_id"),
          "created_on" => world.now
        )
        vm = world.insert(Record.new("vms", world.store.next_id("vms"), attrs))
        world.write(record, "destination_type", "VmOrTemplate")
        world.write(record, "destination_id", vm.id)
      end
    end
  end
end
