//! # miq-automate-core
//!
//! A ManageIQ-compatible automate runtime core: the `$evm` workspace with the engine's
//! semantics, in pure Rust (no Ruby, no HTTP).
//!
//! - [`Value`]: Ruby-compatible attribute values, with passwords, service-model references,
//!   workspace objects and foreign handles. JSON form: JSON types map directly; the rest are
//!   one-key objects `{"$symbol": "x"}`, `{"$time": "RFC 3339"}`, `{"$password": "…"}`,
//!   `{"$service_model": {"model", "id"}}`, `{"$object": n}`, `{"$foreign": {"id", "label"}}`,
//!   `{"$hash": [[k, v], …]}` (a hash whose keys are not all plain strings) and
//!   `{"$float": "NaN"}`.
//! - [`Workspace`]: the object tree, the current-object stack, `object(path)`, inputs, state
//!   vars, service vars, notifications, instantiations and captured logs.
//! - [`uri`], [`path`], [`args`]: `MiqAeUri`, `MiqAePath` and typed arguments.
//! - [`substitution`]: `${…}` and null coalescing.
//! - [`datastore`]: the [`DatastoreReader`](datastore::DatastoreReader) `${miqaedb:…}` reads through.
//! - [`AeResult`], [`exit_code`]: the state-machine vocabulary and method exit statuses.
//! - [`log`]: `$evm.log` semantics and the automation.log format.
//! - [`Evm`]: the `$evm` contract, for Rust logic that must run on any `$evm`.
//!
//! Modules depend one way (no module uses one that uses it back; `tests/module_graph.rs`).
//!
//! ```
//! use miq_automate_core::{Evm, LogLevel, Value, Workspace};
//!
//! let mut ws = Workspace::with_root([("vm_target_name", Value::from("web01"))]);
//! ws.set_current_method(Some("demo"));
//! let name = ws.root_get("VM_Target_Name");
//! Evm::log(&mut ws, LogLevel::Info, &format!("provisioning {name}")).unwrap();
//! assert_eq!(ws.logs()[0].message, "<AEMethod demo> provisioning web01");
//! ```
#![warn(missing_docs)]

pub mod ae_result;
pub mod args;
pub mod datastore;
pub mod error;
pub mod evm;
pub mod exit_code;
pub mod glob;
pub mod log;
pub mod notification;
pub mod object;
pub mod password;
pub mod path;
pub mod ruby;
pub mod state_vars;
pub mod substitution;
pub mod uri;
pub mod value;
pub mod workspace;

pub use ae_result::{AeResult, AeStatusState};
pub use error::AeError;
pub use evm::{CountingEvm, CurrentName, Evm};
pub use exit_code::{MethodOutcome, MIQ_ABORT, MIQ_ERROR, MIQ_OK, MIQ_STOP, MIQ_WARN};
pub use log::{LogLevel, LogRecord};
pub use notification::Notification;
pub use object::AeObject;
pub use password::Password;
pub use path::AePath;
pub use state_vars::StateVars;
pub use uri::Uri;
pub use value::{ForeignRef, ObjectId, ServiceModelRef, Value};
pub use workspace::{Created, Frame, InstantiateHandler, ObjectBroker, Workspace};
