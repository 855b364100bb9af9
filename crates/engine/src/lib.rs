//! # miq-automate-engine
//!
//! The offline ManageIQ automate engine: load domain exports, instantiate from them with
//! the engine's semantics, run state machines and deliver their retries on a virtual clock.
//! Each engine concept has its module, named as the engine names it:
//!
//! - [`datastore`]: the model (domains, namespaces, classes, instances, methods) and the
//!   parallel loader of `__domain__.yaml` trees, reporting every bad file.
//! - [`domain_search`]: the overlay (highest enabled domain, then `.missing`).
//! - [`object`]: instantiation and field processing (assertions, attributes, methods,
//!   relationships, collects, datatypes, substitution).
//! - [`method`]: the method-call syntax, name resolution, inputs and the
//!   [`MethodRunner`] embedders implement for inline bodies.
//! - [`builtin`]: the built-in methods.
//! - [`state_machine`]: state fields (`MiqAeStateMachine`): hooks, results, limits,
//!   next states, nested machines.
//! - [`deliver`]: `MiqAeEngine.deliver`: retries re-delivered on the engine's [`clock`].
//!
//! ```no_run
//! use miq_automate_engine::{Datastore, Engine, ScriptedRunner};
//! use miq_automate_core::Value;
//!
//! let ds = Datastore::load(&["examples/domains/RollbackDemo"]).unwrap();
//! let engine = Engine::new(ds).with_runner(ScriptedRunner::new().exit("acquire_ip_address", 0));
//! let run = engine
//!     .instantiate("/Infrastructure/VM/Provisioning/Network/Methods/AcquireIPAddress",
//!                  [("vm_name", Value::from("web01"))])
//!     .unwrap();
//! assert!(run.root.is_some());
//! ```
#![warn(missing_docs)]

pub mod assertion;
pub mod builtin;
pub mod call_method;
pub mod clock;
pub mod datastore;
pub mod deliver;
pub mod domain_search;
pub mod engine;
pub mod error;
pub mod generate;
pub mod lint;
pub mod method;
pub mod object;
pub mod state_machine;

pub use call_method::MethodCall;
pub use clock::{Clock, SharedClock, SystemClock, VirtualClock};
pub use datastore::{Datastore, LoadError, LoadErrors, Stats};
pub use deliver::{
    DeliverOptions, Delivery, DeliveryLimit, DeliveryLog, DeliveryTrace, ExecutionEntry,
    NotificationEntry, Requeue,
};
pub use engine::{Aborted, Engine, Run, Runtime, ServiceLookup, Stub, WorkspaceSetup};
pub use error::EngineError;
pub use method::{FnRunner, MethodInvocation, MethodRunner, ScriptedRunner};
pub use state_machine::{StateInfo, TraceEvent};
