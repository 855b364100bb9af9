#
# Description: undoes RegisterDNS: deletes the VM's A and PTR records (miq_provision
# option :dns_fqdn).
# Instantiated by update_provision_status when the provision fails (see the rollback
# matrix). What every rollback step does (nothing to undo, run twice, an error from the
# external system) is the embedded method UndoStep (undo_step); this names the option
# and undoes it.
#
module RollbackDemo
  module Automate
    module Infrastructure
      module VM
        module Provisioning
          module Rollback
            class UnregisterDNS < UndoStep
              private

              def option = :dns_fqdn
              def what = "DNS records"

              def undo(value, name) = dns_delete(value, name)

              # ---- PLACEHOLDER: replace with your DNS server's API (the counterpart of
              # RegisterDNS's dns_add). Raise on failure.
              def dns_delete(value, name)
                @handle.log(:info, "[placeholder] DNS: delete A and PTR records of #{value} (#{name})")
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Rollback::UnregisterDNS.new.main
