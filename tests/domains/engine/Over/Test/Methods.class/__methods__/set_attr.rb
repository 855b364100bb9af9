# set_attr: scripted by the conformance tests
exit MIQ_OK
