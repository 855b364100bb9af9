# typed_inputs: scripted by the conformance tests
exit MIQ_OK
