# Checks the order has items.
items = $evm.root["items"].to_i
if items.positive?
  $evm.log(:info, "#{items} items")
else
  $evm.root["ae_result"] = "error"
  $evm.root["ae_reason"] = "no items"
end
