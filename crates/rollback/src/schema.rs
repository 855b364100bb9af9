//! State lists of state-machine classes (ManageIQ's `__class__.yaml` export format), and
//! `lint`: a matrix checked against them.

use std::path::Path;

use serde::Serialize;
use serde_json::Value as Json;

use crate::matrix::{MatrixError, RollbackMatrix};

/// The state fields of a class, in priority order.
pub fn class_states_from_yaml(text: &str) -> Result<Vec<String>, MatrixError> {
    let bad = |message: String| MatrixError {
        file: None,
        location: "(class schema)".into(),
        message,
    };
    let doc: Json = serde_norway::from_str(text).map_err(|e| bad(format!("invalid YAML: {e}")))?;
    let schema = doc
        .pointer("/object/schema")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("no object.schema list: is this a __class__.yaml export?".into()))?;
    let mut states: Vec<(i64, usize, String)> = Vec::new();
    for (i, entry) in schema.iter().enumerate() {
        let field = entry.get("field").unwrap_or(entry);
        if field.get("aetype").and_then(Json::as_str) != Some("state") {
            continue;
        }
        let name = field
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| bad(format!("schema[{i}]: a state field without a name")))?;
        let priority = field
            .get("priority")
            .and_then(Json::as_i64)
            .unwrap_or(i as i64);
        states.push((priority, i, name.to_string()));
    }
    states.sort();
    Ok(states.into_iter().map(|(_, _, n)| n).collect())
}

/// Reads a `__class__.yaml` file.
pub fn class_states_from_path(path: &Path) -> Result<Vec<String>, MatrixError> {
    let text = std::fs::read_to_string(path).map_err(|e| MatrixError {
        file: Some(path.display().to_string()),
        location: "(file)".into(),
        message: format!("cannot read: {e}"),
    })?;
    class_states_from_yaml(&text).map_err(|mut e| {
        e.file = Some(path.display().to_string());
        e
    })
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The matrix is wrong (it can never apply).
    Error,
    /// Probably an omission.
    Warning,
}

/// One lint finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The state concerned.
    pub state: String,
    /// What is wrong.
    pub message: String,
}

/// Checks a matrix against a class's states: states in the matrix the class lacks (errors);
/// class states with no rollback steps that are not listed under `no_rollback` (warnings).
pub fn lint(matrix: &RollbackMatrix, class_states: &[String]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for state in matrix.states.keys().chain(matrix.no_rollback.iter()) {
        if !class_states.iter().any(|s| s == state) {
            let near = class_states.iter().find(|s| s.eq_ignore_ascii_case(state));
            let hint = near
                .map(|n| format!(" (did you mean {n}? state names are case-sensitive)"))
                .unwrap_or_default();
            findings.push(Finding {
                severity: Severity::Error,
                state: state.clone(),
                message: format!("the class has no state {state}{hint}"),
            });
        }
    }
    for state in class_states {
        let has_steps = matrix.states.get(state).is_some_and(|s| !s.is_empty());
        if !has_steps && !matrix.no_rollback.contains(state) {
            findings.push(Finding {
                severity: Severity::Warning,
                state: state.clone(),
                message: format!("{state} has no rollback steps; list it under no_rollback if it changes nothing outside ManageIQ"),
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASS: &str = r#"
---
object_type: class
version: 1.0
object:
  attributes:
    name: VMProvision_VM
  schema:
  - field:
      aetype: attribute
      name: rollback_class
      priority: 0
  - field:
      aetype: state
      name: RegisterDHCP
      priority: 3
  - field:
      aetype: state
      name: AcquireIPAddress
      priority: 2
  - field:
      aetype: state
      name: Finished
      priority: 9
"#;

    #[test]
    fn states_in_priority_order() {
        assert_eq!(
            class_states_from_yaml(CLASS).unwrap(),
            vec!["AcquireIPAddress", "RegisterDHCP", "Finished"]
        );
        assert!(class_states_from_yaml("a: 1")
            .unwrap_err()
            .message
            .contains("no object.schema"));
    }

    #[test]
    fn lint_finds_unknown_and_uncovered_states() {
        let matrix = RollbackMatrix::from_yaml("states:\n  AcquireIPAddress: [/A/B/Release]\n  registerdhcp: [/A/B/Unregister]\nno_rollback: [Finished]").unwrap();
        let findings = lint(&matrix, &class_states_from_yaml(CLASS).unwrap());
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[0].message, "the class has no state registerdhcp (did you mean RegisterDHCP? state names are case-sensitive)");
        assert_eq!(
            (findings[1].severity, findings[1].state.as_str()),
            (Severity::Warning, "RegisterDHCP")
        );
    }

    #[test]
    fn lint_reads_a_flat_matrix_too() {
        let matrix = RollbackMatrix::from_yaml(
            "AcquireIPAddress: [/A/B/Release]\nRegisterDns: [/A/B/Unregister]",
        )
        .unwrap();
        let findings = lint(&matrix, &class_states_from_yaml(CLASS).unwrap());
        assert_eq!(
            findings
                .iter()
                .map(|f| (f.severity, f.state.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (Severity::Error, "RegisterDns"),
                (Severity::Warning, "RegisterDHCP"),
                (Severity::Warning, "Finished")
            ]
        );
    }
}
