//! Follows `spec/engine/miq_ae_workspace_runtime_spec.rb`. Every example is ported.

use miq_automate_engine::ScriptedRunner;

use crate::support::build::TempDomains;
use crate::support::no_attrs;

/// `instantiate` gives a workspace even when nothing is found.
#[test]
fn instantiate_returns_a_workspace() {
    let t = TempDomains::new();
    t.domain("Dom", 10);
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate("/a/b/c", no_attrs())
        .unwrap();
    assert_eq!(run.root, None);
    assert!(!run.log_messages().is_empty());
}
