# The state hook: records where the order is.
message = $evm.inputs["message"]
$evm.log(:info, "status: #{message}")
$evm.root["order_status"] = message
if message.start_with?("Error")
  $evm.root["order_failed"] = true
  $evm.log(:error, "order failed: #{$evm.root['ae_reason']}")
end
