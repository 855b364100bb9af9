# Reserves the items: the happy path, or the error branch when the stock is short.
wanted = $evm.root["items"].to_i
if Stock.available?(wanted)
  $evm.root["reserved"] = wanted
  $evm.log(:info, "reserved #{wanted}")
else
  $evm.root["ae_result"] = "error"
  $evm.root["ae_reason"] = Stock.shortage(wanted)
  $evm.log(:error, "cannot reserve #{wanted}")
end
