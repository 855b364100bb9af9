# frozen_string_literal: true

# What an automate author writes by hand today for the same work as
# MiqAutomate::Rollback.update_provision_status in journal mode (the seed's approach plus
# the lessons of public implementations: journal in a state var, save/restore root around
# nested instantiates, each step once). Used only to count `$evm` round trips for comparison.
module ReferenceRollback
  def self.run(evm, matrix)
    prov = evm.root['miq_provision']
    status = evm.inputs['status']
    message = "[#{evm.root['miq_server'].name}] VM [#{prov.get_option(:vm_target_name)}] " \
              "Step [#{evm.root['ae_state']}] Status [#{status}] Message [#{prov.message}] "
    message += "Current Retry Number [#{evm.root['ae_state_retries']}]" if evm.root['ae_result'] == 'retry'
    prov.miq_request.user_message = message[0, 255]
    prov.message = status
    if evm.root['ae_status_state'] == 'on_exit' && evm.root['ae_result'] == 'ok'
      journal = evm.get_state_var(:ae_rollback_journal) || []
      evm.set_state_var(:ae_rollback_journal, journal + [evm.root['ae_state']]) unless journal.include?(evm.root['ae_state'])
    end
    return unless evm.root['ae_result'] == 'error'

    evm.create_notification(level: 'error', subject: prov.miq_request, message: "VM Provision Error: #{message}")
    evm.log(:error, "VM Provision Error: #{message}")
    journal = evm.get_state_var(:ae_rollback_journal) || []
    done = evm.get_state_var(:ae_rollback_done) || []
    states = [evm.root['ae_state']] + journal.reverse
    states.uniq.each do |state|
      (matrix['states'][state] || []).each do |step|
        next if done.include?(step)

        uri = step.gsub('${/#rollback_class}', evm.root['rollback_class'].to_s)
        result = evm.root['ae_result']
        reason = evm.root['ae_reason']
        evm.log(:info, ">>> Instantiating '#{uri}'")
        ok = evm.instantiate(uri)
        evm.root['ae_result'] = result
        evm.root['ae_reason'] = reason
        next evm.log(:error, "Rollback step '#{uri}' failed") if ok.nil?

        done << step
        evm.set_state_var(:ae_rollback_done, done)
      end
    end
  end
end
