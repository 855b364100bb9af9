#
# Description: undoes RegisterDNS: deletes the VM's A and PTR records (miq_provision
# option :dns_fqdn).
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
            class UnregisterDNS
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
                dns_fqdn = prov.get_option(:dns_fqdn)
                if dns_fqdn.to_s.empty?
                  @handle.log(:info, "VM [#{name}] has no DNS records: nothing to undo")
                  return
                end

                @handle.log(:info, "Rollback after [#{@handle.root['ae_state']}] failed (#{reason}): " \
                                   "removing DNS records [#{dns_fqdn}] of VM [#{name}]")
                begin
                  dns_delete(dns_fqdn, name)
                rescue StandardError => err
                  @handle.log(:error, "Could not remove DNS records [#{dns_fqdn}] of VM [#{name}]: #{err.message}")
                  exit(MIQ_ABORT)
                end
                prov.set_option(:dns_fqdn, nil)
                @handle.log(:info, "Removed DNS records [#{dns_fqdn}] of VM [#{name}]")
              end

              private

              # The instance's reason argument (the matrix may pass one), else "rollback".
              def reason
                @handle.object['reason'] || 'rollback'
              end

              # ---- PLACEHOLDER: replace with your DNS server's API (the counterpart of
              # RegisterDNS's dns_add). Raise on failure.
              def dns_delete(dns_fqdn, name)
                @handle.log(:info, "[placeholder] DNS: delete A and PTR records of #{dns_fqdn} (#{name})")
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Rollback::UnregisterDNS.new.main
