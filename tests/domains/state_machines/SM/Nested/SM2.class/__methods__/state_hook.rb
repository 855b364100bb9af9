# state_hook: scripted in Rust by crates/engine/tests/conformance (support/sm.rs)
exit MIQ_OK
