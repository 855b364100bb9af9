//! A stateful mock ManageIQ REST API.
//!
//! A real HTTP server (wiremock, bound to 127.0.0.1) whose single responder routes requests
//! over a shared [`miq_automate_vmdb::Vmdb`]: `GET /api`, `/api/auth`, services, VMs,
//! requests, service requests, request tasks and tasks, with ManageIQ's shapes, query
//! parameters, retirement actions, errors and authentication. Scenario files add faults
//! (failed calls, latency, a rate limit); every request is journaled.
//!
//! ```no_run
//! # async fn demo() -> Result<(), miq_automate_mock::MockError> {
//! let server = miq_automate_mock::MockServer::start_file("mocks/failed_bundle.json", 0).await?;
//! println!("{}/api", server.url());
//! let vmdb = server.vmdb(); // the same VMDB the server answers from
//! # let _ = vmdb; Ok(()) }
//! ```
#![warn(missing_docs)]
// Request text is attacker-shaped: a byte-index slice of a `str` panics inside a multibyte
// character. Use `strip_prefix`, `split_once`, `get` or `split_at_checked` instead.
#![deny(clippy::string_slice)]

mod actions;
mod auth;
mod collection;
mod entrypoint;
mod faults;
mod filter;
mod guard;
mod journal;
mod paging;
mod query;
mod records;
mod render;
mod reply;
mod responder;
mod routes;
mod server;
mod shared;
mod sort;
mod virtual_attributes;

use std::net::SocketAddr;

pub use journal::JournalEntry;
pub use miq_automate_vmdb as vmdb;
pub use server::MockServer;

/// Errors starting the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] miq_automate_vmdb::VmdbError),
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}
