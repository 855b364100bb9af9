//! Starting and stopping the mock server.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;

use miq_automate_vmdb::{Clock, Scenario, Vmdb};
use wiremock::matchers::any;
use wiremock::Mock;

use crate::journal::JournalEntry;
use crate::responder::Responder;
use crate::shared::Shared;
use crate::MockError;

/// A running mock ManageIQ on 127.0.0.1. Dropping it stops the server.
///
/// A panic while answering a request (a bug in the mock) never reaches the client: it
/// answers 500 in ManageIQ's error envelope and logs the panic once through `tracing`.
/// Starting a server installs, once per process, a panic hook that keeps those panics off
/// stderr and hands every other panic to the hook that was there before.
pub struct MockServer {
    server: wiremock::MockServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("url", &self.url())
            .finish()
    }
}

impl MockServer {
    /// Starts a server for `scenario` on an ephemeral port, on the system clock.
    pub async fn start(scenario: Scenario) -> Result<MockServer, MockError> {
        Self::start_with(Vmdb::new(scenario), 0).await
    }

    /// Loads a scenario file and starts a server for it on `port` (0: any free port).
    pub async fn start_file(path: impl AsRef<Path>, port: u16) -> Result<MockServer, MockError> {
        let scenario = Scenario::load(path)?;
        Self::start_with(Vmdb::new(scenario), port).await
    }

    /// Starts a server over an existing VMDB (share it with an offline `$evm`, or build it
    /// with a [`miq_automate_vmdb::ManualClock`]) on `port` (0: any free port).
    pub async fn start_with(vmdb: Arc<Vmdb>, port: u16) -> Result<MockServer, MockError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener =
            TcpListener::bind(addr).map_err(|source| MockError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| MockError::Bind { addr, source })?;
        crate::guard::install_hook();
        let shared = Arc::new(Shared::new(vmdb, local));
        let server = wiremock::MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
            .await;
        Mock::given(any())
            .respond_with(Responder(shared.clone()))
            .mount(&server)
            .await;
        tracing::info!(url = %server.uri(), "mock ManageIQ listening");
        Ok(MockServer { server, shared })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (the API is under `/api`).
    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        *self.server.address()
    }

    /// The VMDB behind the server.
    pub fn vmdb(&self) -> Arc<Vmdb> {
        self.shared.vmdb.clone()
    }

    /// The clock the server and its VMDB read.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.shared.vmdb.clock()
    }

    /// Every request answered so far, in order (also `GET /__mock/requests`).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.entries()
    }

    /// Empties the journal (also `DELETE /__mock/requests`).
    pub fn clear_journal(&self) {
        self.shared.journal.clear();
    }
}
