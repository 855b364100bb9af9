class WaitForReady
  # ManageIQ requeues the state machine this long after a retry.
  RETRY_INTERVAL = '30.seconds'.freeze

  def initialize(handle = $evm)
    @handle = handle
  end

  def main
    vm_id = @handle.get_state_var(:vm_id)
    vm = vm_id && @handle.vmdb(:vm, vm_id)
    if vm.nil?
      fail_state('no VM: Prepare keeps its id in the state var vm_id')
      return
    end

    if vm.power_state == 'on'
      @handle.log(:info, "VM [#{vm.name}] is on")
      @handle.root['ae_result'] = 'ok'
    else
      # The class's max_retries bounds how often this happens; then the state fails.
      @handle.log(:info, "VM [#{vm.name}] is #{vm.power_state}: checking again in #{RETRY_INTERVAL}")
      @handle.root['ae_result'] = 'retry'
      @handle.root['ae_retry_interval'] = RETRY_INTERVAL
    end
  end

  private

  def fail_state(reason)
    @handle.log(:error, reason)
    @handle.root['ae_result'] = 'error'
    @handle.root['ae_reason'] = reason
  end
end
