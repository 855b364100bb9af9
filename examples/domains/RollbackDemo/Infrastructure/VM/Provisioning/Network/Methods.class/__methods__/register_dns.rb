#
# Description: the RegisterDNS state. Adds the VM's A and PTR records and records the name
# on the provision task (option :dns_fqdn) for UnregisterDNS.
#
module RollbackDemo
  module Automate
    module Infrastructure
      module VM
        module Provisioning
          module Network
            class RegisterDNS
              DEFAULT_DOMAIN = 'example.com'.freeze

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
                  fail_state("VM [#{name}] has no IP address to register in DNS")
                  return
                end

                fqdn = "#{name}.#{prov.get_option(:dns_domain) || DEFAULT_DOMAIN}"
                dns_add(fqdn, ip)
                prov.set_option(:dns_fqdn, fqdn)
                @handle.log(:info, "Registered DNS [#{fqdn} → #{ip}] for VM [#{name}]")
                @handle.root['ae_result'] = 'ok'
              end

              private

              def fail_state(reason)
                @handle.log(:error, reason)
                @handle.root['ae_result'] = 'error'
                @handle.root['ae_reason'] = reason
              end

              # ---- PLACEHOLDER: replace with your DNS server's API (nsupdate, Infoblox,
              # PowerDNS …).
              def dns_add(fqdn, ip)
                @handle.log(:info, "[placeholder] DNS: add A #{fqdn} #{ip} and its PTR record")
              end
            end
          end
        end
      end
    end
  end
end

RollbackDemo::Automate::Infrastructure::VM::Provisioning::Network::RegisterDNS.new.main
