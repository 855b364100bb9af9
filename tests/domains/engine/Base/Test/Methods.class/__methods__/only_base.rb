# only_base: scripted by the conformance tests
exit MIQ_OK
