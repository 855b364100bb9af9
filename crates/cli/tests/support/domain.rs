//! The example domain (examples/domains/RollbackDemo) and its VMProvision_VM state machine:
//! the states a class schema defines, and copies of the domain with states renamed.
//! Included with `#[path = "support/domain.rs"] mod domain;` beside `mod cli;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cli::root;

pub const DOMAIN: &str = "examples/domains/RollbackDemo";
pub const MACHINE: &str = "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";
/// The machine's class schema, inside the domain.
const CLASS: &str =
    "Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM.class/__class__.yaml";

/// A state field of a class schema: its name, max_retries and on_error (blank: None).
pub fn schema_states(class_yaml: &Path) -> Vec<(String, Option<String>, Option<String>)> {
    let schema = std::fs::read_to_string(class_yaml).unwrap();
    let mut out = Vec::new();
    let mut aetype = String::new();
    for line in schema.lines() {
        let line = line.trim();
        let value = |v: &str| {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            (!v.is_empty()).then(|| v.to_string())
        };
        if let Some(t) = line.strip_prefix("aetype:") {
            aetype = t.trim().trim_matches('"').to_string();
        } else if aetype == "state" {
            if let Some(n) = line.strip_prefix("name:") {
                out.push((value(n).unwrap(), None, None));
            } else if let Some(e) = line.strip_prefix("on_error:") {
                out.last_mut().unwrap().2 = value(e);
            } else if let Some(r) = line.strip_prefix("max_retries:") {
                out.last_mut().unwrap().1 = value(r);
            }
        }
    }
    out
}

/// The names of the machine's states in `domain` (the example or a copy of it), in order.
pub fn states(domain: &Path) -> Vec<String> {
    schema_states(&domain.join(CLASS))
        .into_iter()
        .map(|s| s.0)
        .collect()
}

/// A copy of the example domain in the temporary directory (`miq-<label>-<pid>`) whose first
/// states are renamed to `names` (YAML escapes: each is written in double quotes).
pub fn renamed_copy(label: &str, names: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("miq-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let copy = Command::new("cp")
        .arg("-r")
        .arg(root().join(DOMAIN))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(copy.success());
    let class = dir.join(CLASS);
    let mut schema = std::fs::read_to_string(&class).unwrap();
    for (old, new) in states(&root().join(DOMAIN)).iter().zip(names) {
        schema = schema.replacen(&format!("name: {old}\n"), &format!("name: \"{new}\"\n"), 1);
    }
    std::fs::write(&class, schema).unwrap();
    dir
}
