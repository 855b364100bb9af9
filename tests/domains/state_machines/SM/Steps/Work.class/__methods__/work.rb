# work: scripted in Rust by tests/state_machines.rs
exit MIQ_OK
