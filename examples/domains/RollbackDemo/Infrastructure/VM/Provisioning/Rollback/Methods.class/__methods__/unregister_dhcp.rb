#
# Description: undoes RegisterDHCP: deletes the VM's fixed-address DHCP reservation
# (miq_provision option :dhcp_reservation).
# Instantiated by update_provision_status when the provision fails (see the rollback
# matrix). Safe when there is nothing to undo, and safe to run twice. An error from the
# external system is logged and ends the method with MIQ_ABORT; the rollback carries on
# with its other steps.
#
module RollbackDemo
  module Automate
    module Infrastructure
      module VM
        module Provisioning
          module Rollback
            class UnregisterDHCP
              def initialize(handle = $evm)
                @handle = handle
              end

              def main
                prov = @handle.root['miq_provision']
                if prov.nil?
                  @handle.log(:error, 'miq_provision object not provided')
                  exit(MIQ_STOP)
                end

                name = prov.get_option(:vm_target_name)
                dhcp_reservation = prov.get_option(:dhcp_reservation)
                if dhcp_reservation.to_s.empty?
                  @handle.log(:info, "VM [#{name}] has no DHCP reservation: nothing to undo")
                  return
                end

                @handle.log(:info, "Rollback after [#{@handle.root['ae_state']}] failed (#{reason}): " \
                                   "removing DHCP reservation [#{dhcp_reservation}] of VM [#{name}]")
                begin
                  dhcp_delete(dhcp_reservation, name)
                rescue StandardError => err
                  @handle.log(:error, "Could not remove DHCP reservation [#{dhcp_reservation}] of VM [#{name}]: #{err.message}")
                  exit(MIQ_ABORT)
                end
                prov.set_option(:dhcp_reservation, nil)
                @handle.log(:info, "Removed DHCP reservation [#{dhcp_reservation}] of VM [#{name}]")
              end

              private

              # The instance's reason argument (the matrix may pass one), else "rollback".
              def reason
                @handle.object['reason'] || 'rollback'
              end

              # ---- PLACEHOLDER: replace with your DHCP server's API (the counterpart of
              # RegisterDHCP's dhcp_add). Raise on failure.
              def dhcp_delete(dhcp_reservation, name)
                @handle.log(:info, "[placeholder] DHCP: delete host reservation #{dhcp_reservation} (#{name})")
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Rollback::UnregisterDHCP.new.main
