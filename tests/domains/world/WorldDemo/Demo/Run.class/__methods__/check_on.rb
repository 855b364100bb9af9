vm = $evm.vmdb(:vm).find_by(name: "web01")
if vm.power_state == "on"
  $evm.root["ae_result"] = "ok"
else
  $evm.root["ae_result"] = "retry"
  $evm.root["ae_retry_interval"] = 30.seconds
end
