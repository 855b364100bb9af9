//! The state behind the server, shared by every request: the VMDB, issued tokens, fault
//! counters and the journal.

use std::net::SocketAddr;
use std::sync::Arc;

use miq_automate_vmdb::Vmdb;

use crate::auth::Tokens;
use crate::faults::FaultState;
use crate::journal::Journal;

/// The state behind the server, shared by every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub vmdb: Arc<Vmdb>,
    pub tokens: Tokens,
    pub faults: FaultState,
    pub journal: Journal,
    /// The address the server listens on: the base of hrefs and links when a request
    /// names no `Host`.
    pub local: SocketAddr,
}

impl Shared {
    pub fn new(vmdb: Arc<Vmdb>, local: SocketAddr) -> Shared {
        Shared {
            faults: FaultState::new(vmdb.faults()),
            vmdb,
            tokens: Tokens::default(),
            journal: Journal::default(),
            local,
        }
    }
}
