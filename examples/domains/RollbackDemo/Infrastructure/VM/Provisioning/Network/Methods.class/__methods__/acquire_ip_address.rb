#
# Description: the AcquireIPAddress state. Reserves an IP address for the VM in IPAM and
# records it on the provision task (options :ip_addr, :subnet_mask, :gateway), where the
# provider's customization picks it up and where ReleaseIPAddress finds it to undo.
#
module RollbackDemo
  module Automate
    module Infrastructure
      module VM
        module Provisioning
          module Network
            class AcquireIPAddress
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
                lease = ipam_reserve(name)
                prov.set_option(:ip_addr, lease[:ip_addr])
                prov.set_option(:subnet_mask, lease[:subnet_mask])
                prov.set_option(:gateway, lease[:gateway])
                @handle.log(:info, "Reserved IP address [#{lease[:ip_addr]}] for VM [#{name}]")
                @handle.root['ae_result'] = 'ok'
              end

              private

              # ---- PLACEHOLDER: replace with your IPAM's client (Infoblox, phpIPAM, NetBox …).
              # It must return the reserved address; it returns a documentation address
              # (RFC 5737) so that the demo and its specs never touch a network.
              def ipam_reserve(name)
                @handle.log(:info, "[placeholder] IPAM: reserve an address for [#{name}]")
                { :ip_addr => '192.0.2.10', :subnet_mask => '255.255.255.0', :gateway => '192.0.2.1' }
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Network::AcquireIPAddress.new.main
