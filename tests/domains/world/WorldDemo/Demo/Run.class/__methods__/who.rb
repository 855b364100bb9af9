$evm.log(:info, "running for #{$evm.root["user"].userid} in #{$evm.root["miq_group"].description}")
