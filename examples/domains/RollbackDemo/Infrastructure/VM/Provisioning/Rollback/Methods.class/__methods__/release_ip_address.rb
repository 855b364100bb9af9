#
# Description: undoes AcquireIPAddress: releases the IP address reserved for the VM
# (miq_provision option :ip_addr) and forgets it.
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
            class ReleaseIPAddress < UndoStep
              private

              def option = :ip_addr
              def what = "IP address"

              def undo(value, name) = ipam_release(value, name)

              # ---- PLACEHOLDER: replace with your IPAM client (the counterpart of
              # AcquireIPAddress's ipam_reserve). Raise on failure.
              def ipam_release(value, name)
                @handle.log(:info, "[placeholder] IPAM: release #{value} (#{name})")
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Rollback::ReleaseIPAddress.new.main
