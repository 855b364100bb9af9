class Finish
  def initialize(handle = $evm)
    @handle = handle
  end

  def main
    vm = @handle.vmdb(:vm, @handle.get_state_var(:vm_id))
    @handle.log(:info, "VM [#{vm.name}] is ready")
    @handle.root['ae_result'] = 'ok'
  end
end
