//! Conformance with ManageIQ's automate engine, organised by the peer's spec files
//! (ManageIQ/manageiq-automation_engine `spec/*.rb`, `spec/engine/*.rb`): one module per
//! file, each naming the file it follows and listing the examples it cannot port (those
//! that need the database, RBAC, MiqQueue rows, or a real Ruby method body).
//!
//! The domains are our own: the small exports under the repository's `tests/domains/`,
//! never ManageIQ's `spec/data`. Methods are scripted in Rust
//! ([`miq_automate_engine::ScriptedRunner`]).

mod support;

mod datastore_load;
mod miq_ae_assertion_spec;
mod miq_ae_builtin_method_spec;
mod miq_ae_collect_spec;
mod miq_ae_domain_spec;
mod miq_ae_engine_spec;
mod miq_ae_method_spec;
mod miq_ae_object_spec;
mod miq_ae_path_spec;
mod miq_ae_state_machine_multi_spec;
mod miq_ae_state_machine_retry_spec;
mod miq_ae_state_machine_spec;
mod miq_ae_state_machine_steps_spec;
mod miq_ae_state_missing_relation_spec;
mod miq_ae_uri_spec;
mod miq_method_override_spec;
mod offline_engine;
