# hook: scripted in Rust by crates/engine/benches/state_machine.rs
exit MIQ_OK
