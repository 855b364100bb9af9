//! What the modules share: the repository's test domains (`tests/domains/`), domains
//! written by a test into a temp dir ([`build`]) and the state-machine helpers ([`sm`]).

pub mod build;
pub mod sm;
pub mod vmdb;

use std::path::PathBuf;

use miq_automate_core::password::V2Key;
use miq_automate_core::Value;
use miq_automate_engine::{Datastore, Engine, Run, ScriptedRunner};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/domains/engine`: the domains Base (10), Over (20) and Off (30, disabled).
pub fn datastore() -> Datastore {
    Datastore::load(&[repo().join("tests/domains/engine")]).expect("the test domains load")
}

/// An engine over [`datastore`] whose methods all exit 0.
pub fn engine() -> Engine {
    Engine::new(datastore()).with_runner(ScriptedRunner::new())
}

/// No root attributes.
pub fn no_attrs() -> [(&'static str, Value); 0] {
    []
}

/// What [`has_log`] searches: a run's log, or log messages already taken from one.
pub trait LogLines {
    /// `true` when one message is exactly `line`.
    fn has_line(&self, line: &str) -> bool;
}

impl LogLines for &Run {
    fn has_line(&self, line: &str) -> bool {
        self.log_messages().contains(&line)
    }
}

impl LogLines for &Vec<&str> {
    fn has_line(&self, line: &str) -> bool {
        self.contains(&line)
    }
}

/// `true` when the log holds exactly `line`.
pub fn has_log(lines: impl LogLines, line: &str) -> bool {
    lines.has_line(line)
}

/// The fully qualified method names a [`ScriptedRunner`] ran, in order.
pub fn recorded(runner: &ScriptedRunner) -> Vec<String> {
    runner.calls().into_iter().map(|(fq, _)| fq).collect()
}

/// A v2 key of our own (not ManageIQ's), to encrypt fixture passwords as an appliance does.
pub fn v2_key() -> V2Key {
    V2Key::parse(":algorithm: aes-256-cbc\n:key: a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=\n")
        .expect("a valid key")
}

/// The plaintext of a password attribute, decrypted with [`v2_key`].
pub fn decrypted(value: &Value) -> String {
    match value {
        Value::Password(p) => p
            .decrypt_with(Some(&v2_key()))
            .expect("decryptable")
            .into_owned(),
        other => panic!("not a password: {other:?}"),
    }
}
