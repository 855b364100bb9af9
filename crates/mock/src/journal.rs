//! The request journal: every request the mock answered, for assertions.
//! Credentials are never recorded: only the mechanism and the user.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// When it arrived (on the VMDB's clock), ISO 8601.
    pub at: String,
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/api/services/10`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// `basic`, `token`, or none when the request did not authenticate.
    pub auth: Option<String>,
    /// The authenticated user.
    pub user: Option<String>,
    /// The `X-MIQ-Group` header, if sent.
    pub group: Option<String>,
    /// The JSON body, if any (a non-JSON body is recorded as a string).
    pub body: Option<Value>,
    /// The status answered.
    pub status: u16,
    /// The injected fault that answered, if one did (`rule 0`, `rate_limit`).
    pub fault: Option<String>,
}

/// The journal.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<Vec<JournalEntry>>,
}

impl Journal {
    pub fn push(&self, mut e: JournalEntry) {
        let mut v = self.entries.lock();
        e.seq = v.len() as u64 + 1;
        v.push(e);
    }
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.lock().clone()
    }
    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}
