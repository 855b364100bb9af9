#
# Description: undoes RegisterDHCP: deletes the VM's DHCP host reservation
# (miq_provision option :dhcp_reservation).
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
            class UnregisterDHCP < UndoStep
              private

              def option = :dhcp_reservation
              def what = "DHCP reservation"

              def undo(value, name) = dhcp_delete(value, name)

              # ---- PLACEHOLDER: replace with your DHCP server's API (the counterpart of
              # RegisterDHCP's dhcp_add). Raise on failure.
              def dhcp_delete(value, name)
                @handle.log(:info, "[placeholder] DHCP: delete host reservation #{value} (#{name})")
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Rollback::UnregisterDHCP.new.main
