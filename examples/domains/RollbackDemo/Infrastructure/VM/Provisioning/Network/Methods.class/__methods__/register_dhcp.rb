#
# Description: the RegisterDHCP state. Adds a fixed-address DHCP reservation (MAC → the IP
# address AcquireIPAddress reserved) so that the VM is reachable as soon as it boots, and
# records the reservation on the provision task (option :dhcp_reservation) for
# UnregisterDHCP.
#
module RollbackDemo
  module Automate
    module Infrastructure
      module VM
        module Provisioning
          module Network
            class RegisterDHCP
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
                ip = prov.get_option(:ip_addr)
                if ip.to_s.empty?
                  fail_state("VM [#{name}] has no IP address to register in DHCP")
                  return
                end

                mac = prov.get_option(:mac_address) || local_mac(ip)
                prov.set_option(:mac_address, mac)
                prov.set_option(:dhcp_reservation, dhcp_add(name, ip, mac))
                @handle.log(:info, "Registered DHCP reservation [#{mac} → #{ip}] for VM [#{name}]")
                @handle.root['ae_result'] = 'ok'
              end

              private

              def fail_state(reason)
                @handle.log(:error, reason)
                @handle.root['ae_result'] = 'error'
                @handle.root['ae_reason'] = reason
              end

              # A locally administered MAC derived from the address, for providers that let
              # us choose the NIC's MAC.
              def local_mac(ip)
                format('02:00:%02x:%02x:%02x:%02x', *ip.split('.').map(&:to_i))
              end

              # ---- PLACEHOLDER: replace with your DHCP server's API (ISC Kea, Infoblox,
              # Windows DHCP …). It must return an id that dhcp_delete accepts.
              def dhcp_add(name, ip, mac)
                @handle.log(:info, "[placeholder] DHCP: add host [#{name}] #{mac} #{ip}")
                "dhcp-#{name}"
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Network::RegisterDHCP.new.main
