#
# Description: what every rollback step does, embedded by each of them (ManageIQ's way of
# sharing code between methods: `embedded_methods` in the method's YAML). A step names the
# miq_provision option its forward state left (`option`), says what it is (`what`) and
# undoes it (`undo`); this does the rest: safe when there is nothing to undo, safe to run
# twice, an error from the external system logged and ending the method with MIQ_ABORT
# (the rollback carries on with its other steps).
#
module RollbackDemo
  module Automate
    module Infrastructure
      module VM
        module Provisioning
          module Rollback
            class UndoStep
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
                value = prov.get_option(option)
                if value.to_s.empty?
                  @handle.log(:info, "VM [#{name}] has no #{what}: nothing to undo")
                  return
                end

                @handle.log(:info, "Rollback after [#{@handle.root['ae_state']}] failed (#{reason}): " \
                                   "removing #{what} [#{value}] of VM [#{name}]")
                begin
                  undo(value, name)
                rescue StandardError => err
                  @handle.log(:error, "Could not remove #{what} [#{value}] of VM [#{name}]: #{err.message}")
                  exit(MIQ_ABORT)
                end
                prov.set_option(option, nil)
                @handle.log(:info, "Removed #{what} [#{value}] of VM [#{name}]")
              end

              private

              # The instance's reason argument (the matrix may pass one), else "rollback".
              def reason
                @handle.object['reason'] || 'rollback'
              end
            end
          end
        end
      end
    end
  end
end
