class Prepare
  def initialize(handle = $evm)
    @handle = handle
  end

  def main
    name = @handle.object['vm_name']
    vm = @handle.vmdb(:vm).find_by(:name => name)
    if vm.nil?
      fail_state("VM [#{name}] not found")
      return
    end

    # WaitForReady runs in a later delivery (after each retry): a state var outlives it.
    @handle.set_state_var(:vm_id, vm.id)
    if vm.power_state == 'on'
      @handle.log(:info, "VM [#{name}] is already on")
    else
      vm.start
      @handle.log(:info, "Powering on VM [#{name}]")
    end
    @handle.root['ae_result'] = 'ok'
  end

  private

  def fail_state(reason)
    @handle.log(:error, reason)
    @handle.root['ae_result'] = 'error'
    @handle.root['ae_reason'] = reason
  end
end
