//! Conformance with ManageIQ's automate engine, organised by the peer's spec files
//! (ManageIQ/manageiq-automation_engine `spec/*.rb`, `spec/engine/*.rb`): one module per
//! file, each naming the file it follows and listing the examples it cannot port (those
//! that need the database, RBAC, MiqQueue rows, or a real Ruby method body). Two modules
//! follow no single spec file: [`datastore_load`] (the loader, against ManageIQ's importer)
//! and [`offline_engine`] (what this engine adds: stubs, the virtual clock, the trace).
//!
//! The domains are our own, never ManageIQ's `spec/data`: the small exports under the
//! repository's `tests/domains/`, or domains a test writes into a temp dir
//! ([`support::build`]) with the facts of the peer's fixture. Methods are scripted in Rust
//! ([`miq_automate_engine::ScriptedRunner`]); VMDB objects are a fake ([`support::vmdb`]).
//! `datastore_load` also loads every domain of the peer's `spec/data` when a checkout is at
//! hand (`MIQ_AE_ENGINE_REPO`, else the mirror path); without one it says so and passes.

mod support;

mod datastore_load;
mod miq_ae_assertion_spec;
mod miq_ae_builtin_method_spec;
mod miq_ae_collect_spec;
mod miq_ae_domain_search_spec;
mod miq_ae_domain_spec;
mod miq_ae_engine_spec;
mod miq_ae_method_spec;
mod miq_ae_object_lookup_spec;
mod miq_ae_object_spec;
mod miq_ae_path_spec;
mod miq_ae_state_machine_multi_spec;
mod miq_ae_state_machine_new_spec;
mod miq_ae_state_machine_retry_spec;
mod miq_ae_state_machine_spec;
mod miq_ae_state_machine_steps_spec;
mod miq_ae_state_missing_relation_spec;
mod miq_ae_uri_spec;
mod miq_ae_workspace_runtime_spec;
mod miq_method_override_spec;
mod offline_engine;
