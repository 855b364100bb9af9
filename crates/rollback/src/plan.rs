//! Rollback plans: which steps a failure in a state runs, in which order, in each mode.

use std::str::FromStr;

use miq_automate_core::AeError;
use serde::Serialize;

use crate::matrix::RollbackMatrix;

/// How the matrix is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The failing state's steps only.
    #[default]
    PerState,
    /// The failing state's steps, then each completed state's, most recent first.
    Journal,
}

impl FromStr for Mode {
    type Err = AeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per_state" | "per-state" => Ok(Mode::PerState),
            "journal" => Ok(Mode::Journal),
            other => Err(AeError::ArgumentError(format!(
                "unknown rollback mode {other:?} (per_state or journal)"
            ))),
        }
    }
}

/// One step of a rollback plan, with the state it undoes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// The state whose list it comes from.
    pub state: String,
    /// The step as written (URI before substitution, or `vm.retire_now`).
    pub step: String,
    /// `true` when an earlier run already did it.
    pub already_done: bool,
}

/// The steps a failure in `failing_state` runs, in order, each once: the failing state's,
/// then (journal mode) each completed state's from the most recent back. Steps in `done`
/// are marked `already_done`.
pub fn plan(
    matrix: &RollbackMatrix,
    mode: Mode,
    failing_state: &str,
    journal: &[String],
    done: &[String],
) -> Vec<PlannedStep> {
    let mut order: Vec<&str> = vec![failing_state];
    if mode == Mode::Journal {
        order.extend(
            journal
                .iter()
                .rev()
                .map(String::as_str)
                .filter(|s| *s != failing_state),
        );
    }
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for state in order {
        for step in matrix.steps(state) {
            let key = step.key();
            if seen.contains(&key) {
                continue;
            }
            seen.push(key.clone());
            out.push(PlannedStep {
                state: state.to_string(),
                already_done: done.contains(&key),
                step: key,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> RollbackMatrix {
        RollbackMatrix::from_yaml(
            "states:\n  AcquireIPAddress: [/R/M/ReleaseIPAddress]\n  RegisterDHCP: [/R/M/UnregisterDHCP]\n  RegisterDNS: [/R/M/UnregisterDNS]\n  Provision: [vm.retire_now, /R/M/UnregisterDNS]\n",
        )
        .unwrap()
    }

    fn steps(p: &[PlannedStep]) -> Vec<&str> {
        p.iter().map(|s| s.step.as_str()).collect()
    }

    #[test]
    fn per_state_runs_only_the_failing_state() {
        let p = plan(
            &matrix(),
            Mode::PerState,
            "RegisterDNS",
            &["AcquireIPAddress".into()],
            &[],
        );
        assert_eq!(steps(&p), vec!["/R/M/UnregisterDNS"]);
        assert!(plan(&matrix(), Mode::PerState, "CustomizeRequest", &[], &[]).is_empty());
    }

    #[test]
    fn journal_undoes_completed_states_most_recent_first_each_once() {
        let journal: Vec<String> = ["AcquireIPAddress", "RegisterDHCP", "RegisterDNS"]
            .map(String::from)
            .to_vec();
        let p = plan(
            &matrix(),
            Mode::Journal,
            "Provision",
            &journal,
            &["/R/M/UnregisterDHCP".into()],
        );
        assert_eq!(
            steps(&p),
            vec![
                "vm.retire_now",
                "/R/M/UnregisterDNS",
                "/R/M/UnregisterDHCP",
                "/R/M/ReleaseIPAddress"
            ]
        );
        assert_eq!(
            p[1].state, "Provision",
            "UnregisterDNS appears once, under the first state that lists it"
        );
        assert!(p[2].already_done);
        assert!(!p[3].already_done);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("journal".parse::<Mode>().unwrap(), Mode::Journal);
        assert_eq!("per_state".parse::<Mode>().unwrap(), Mode::PerState);
        assert!("both".parse::<Mode>().is_err());
    }
}
