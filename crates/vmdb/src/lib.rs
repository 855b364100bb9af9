//! The mock ManageIQ VMDB.
//!
//! Scenario files ([`Scenario`]) describe users and groups, a service tree, VMs, templates,
//! requests with their tasks, tasks, and faults for the REST mock. [`Vmdb`] holds them in
//! memory behind a lock, answers relation queries (children, descendants, VMs of a subtree,
//! ancestry) and runs retirement transitions as ManageIQ does (see [`retirement`]). Share one
//! `Arc<Vmdb>` between the REST mock and an offline `$evm` so each sees the other's changes.
//!
//! ```
//! use miq_automate_vmdb::{Scenario, Vmdb, Id};
//! let scenario = Scenario::parse(r#"{
//!   "groups": [{"id": "1", "description": "EvmGroup-super_administrator"}],
//!   "users": [{"id": "1", "userid": "admin", "password": "smartvm", "groups": ["1"]}],
//!   "services": [{"id": "10", "name": "web", "lifecycle_state": "provisioned"}]
//! }"#, "<doc>").unwrap();
//! let vmdb = Vmdb::new(scenario);
//! let request = vmdb.request_retire_service(Id(10), "admin").unwrap();
//! assert_eq!(request.request_state, "pending");
//! vmdb.poll_request(request.id).unwrap();
//! let done = vmdb.poll_request(request.id).unwrap();
//! assert_eq!((done.request_state.as_str(), done.status.as_str()), ("finished", "Ok"));
//! assert!(vmdb.service(Id(10)).unwrap().retired);
//! ```
#![warn(missing_docs)]
// Scenario text and ids come from files and requests: no byte-index slicing of a `str`
// (it panics inside a multibyte character).
#![deny(clippy::string_slice)]

pub mod clock;
mod error;
pub mod generate;
mod id;
pub mod model;
pub mod retirement;
pub mod scenario;
mod state;
mod vmdb;
pub mod world;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Result, VmdbError};
pub use id::Id;
pub use scenario::Scenario;
pub use vmdb::Vmdb;
