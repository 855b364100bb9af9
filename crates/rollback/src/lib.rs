//! # miq-automate-rollback
//!
//! The rollback matrix and a rollback-aware `update_provision_status`: when a state machine
//! fails, instantiate the instances that undo what it did, each at most once.
//!
//! Two modes:
//! - **per-state** (the seed's idea): on error, run the steps listed for the failing state;
//!   each state's list undoes everything done up to it.
//! - **journal** (a saga): a state counts as completed when the status method runs in its
//!   on_exit with `ae_result == ok`, and is recorded in a state var; on error the failing
//!   state's steps run first, then those of each completed state, most recent first. Each
//!   state lists only the steps that undo that state.
//!
//! This is product logic over the core's [`Evm`](miq_automate_core::Evm) trait, not `$evm`
//! semantics: it runs on the in-memory workspace, a Ruby `$evm` through the bindings'
//! adapter, or any other implementation.
//!
//! - [`matrix`]: the matrix (Hash, YAML or JSON), validated with errors naming state and step.
//! - [`schema`]: a state machine class's states, and [`lint`] of a matrix against them.
//! - [`plan`](mod@plan): the steps a failure runs, per mode.
//! - [`status`]: `update_provision_status` and the rollback it triggers.

#![warn(missing_docs)]

pub mod matrix;
pub mod plan;
pub mod schema;
pub mod status;

pub use matrix::{MatrixError, RollbackMatrix, Step, VM_RETIRE_NOW};
pub use plan::{plan, Mode, PlannedStep};
pub use schema::{class_states_from_path, class_states_from_yaml, lint, Finding, Severity};
pub use status::{
    update_provision_status, BundleRetirer, Config, Outcome, Report, TaskKind, DONE_VAR,
    JOURNAL_VAR,
};
