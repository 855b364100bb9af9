vm = $evm.vmdb(:vm, $evm.root["vm_id"].to_i)
vm.start
$evm.log(:info, "started #{vm.name} on #{vm.host.name}")
