#
# Description: undoes AcquireIPAddress: releases the IP address reserved for the VM
# (miq_provision option :ip_addr) and forgets it.
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
            class ReleaseIPAddress
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
                ip_addr = prov.get_option(:ip_addr)
                if ip_addr.to_s.empty?
                  @handle.log(:info, "VM [#{name}] has no IP address: nothing to undo")
                  return
                end

                @handle.log(:info, "Rollback after [#{@handle.root['ae_state']}] failed (#{reason}): " \
                                   "removing IP address [#{ip_addr}] of VM [#{name}]")
                begin
                  ipam_release(ip_addr, name)
                rescue StandardError => err
                  @handle.log(:error, "Could not remove IP address [#{ip_addr}] of VM [#{name}]: #{err.message}")
                  exit(MIQ_ABORT)
                end
                prov.set_option(:ip_addr, nil)
                @handle.log(:info, "Removed IP address [#{ip_addr}] of VM [#{name}]")
              end

              private

              # The instance's reason argument (the matrix may pass one), else "rollback".
              def reason
                @handle.object['reason'] || 'rollback'
              end

              # ---- PLACEHOLDER: replace with your IPAM client (the counterpart of
              # AcquireIPAddress's ipam_reserve). Raise on failure.
              def ipam_release(ip_addr, name)
                @handle.log(:info, "[placeholder] IPAM: release #{ip_addr} (#{name})")
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Rollback::ReleaseIPAddress.new.main
