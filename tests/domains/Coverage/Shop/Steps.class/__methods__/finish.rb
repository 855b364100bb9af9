# Done.
$evm.log(:info, "order finished")
