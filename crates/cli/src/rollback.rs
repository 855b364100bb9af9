//! `miq-automate rollback lint|plan`: check a rollback matrix, show what a failure runs.

use std::path::PathBuf;

use anyhow::Context;
use miq_automate_rollback::{self as rollback, Mode, RollbackMatrix, Severity};

use crate::output::Format;
use crate::{EXIT_OK, EXIT_PARTIAL};

/// `rollback` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check a matrix against a state-machine class (its __class__.yaml export).
    Lint {
        /// The matrix (.yml, .yaml or .json).
        matrix: PathBuf,
        /// The class schema: the state machine's __class__.yaml from a domain export.
        #[arg(long, value_name = "FILE")]
        class_schema: PathBuf,
        /// Report format. JSON: {"states": [the class's states], "findings": [{"severity":
        /// "error"|"warning", "state", "message"}]}.
        #[arg(short = 'O', long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
    /// Print the steps a failure in a state would run, in order.
    Plan {
        /// The matrix (.yml, .yaml or .json).
        matrix: PathBuf,
        /// The failing state.
        #[arg(long)]
        state: String,
        /// Completed states, in order (journal mode), comma-separated or repeated.
        #[arg(long, value_delimiter = ',')]
        journal: Vec<String>,
        /// Steps already run (as written in the matrix), comma-separated or repeated.
        #[arg(long, value_delimiter = ',')]
        done: Vec<String>,
        /// per-state or journal (default: journal when --journal is given).
        #[arg(long)]
        mode: Option<String>,
        /// Report format. JSON: {"state", "mode", "steps": [{"state" (the state it undoes),
        /// "step", "already_done"}]}.
        #[arg(short = 'O', long, value_enum, default_value_t = Format::Text)]
        output: Format,
    },
}

/// Runs a `rollback` subcommand. Lint errors exit 2; warnings alone exit 0.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Lint {
            matrix,
            class_schema,
            output,
        } => {
            let m = RollbackMatrix::from_path(&matrix)?;
            let states = rollback::class_states_from_path(&class_schema)?;
            let findings = rollback::lint(&m, &states);
            match output {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "states": states, "findings": findings })
                    )?
                ),
                Format::Text => {
                    for f in &findings {
                        let label = match f.severity {
                            Severity::Error => "error",
                            Severity::Warning => "warning",
                        };
                        println!("{label}: {}: {}", matrix.display(), f.message);
                    }
                    let errors = findings
                        .iter()
                        .filter(|f| f.severity == Severity::Error)
                        .count();
                    println!("{} states in the class, {} in the matrix: {errors} error(s), {} warning(s)", states.len(), m.states.len(), findings.len() - errors);
                }
            }
            Ok(if findings.iter().any(|f| f.severity == Severity::Error) {
                EXIT_PARTIAL
            } else {
                EXIT_OK
            })
        }
        Command::Plan {
            matrix,
            state,
            journal,
            done,
            mode,
            output,
        } => {
            let m = RollbackMatrix::from_path(&matrix)?;
            let mode: Mode = match mode {
                Some(text) => text.parse().with_context(|| format!("--mode {text}"))?,
                None if journal.is_empty() => Mode::PerState,
                None => Mode::Journal,
            };
            if !m.states.contains_key(&state) && !m.no_rollback.contains(&state) {
                let close = m
                    .states
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(&state))
                    .map(|k| format!(" (did you mean {k}?)"))
                    .unwrap_or_default();
                eprintln!(
                    "warning: state {state} is not in the matrix {}{close}; its states: {}",
                    matrix.display(),
                    m.states.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            let steps = rollback::plan(&m, mode, &state, &journal, &done);
            match output {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "state": state, "mode": mode, "steps": steps })
                    )?
                ),
                Format::Text => {
                    if steps.is_empty() {
                        println!("A failure in {state} runs no rollback step.");
                    }
                    for (i, s) in steps.iter().enumerate() {
                        let note = if s.already_done {
                            "  (already done: skipped)"
                        } else {
                            ""
                        };
                        println!("{}. {}  [undoes {}]{note}", i + 1, s.step, s.state);
                    }
                }
            }
            Ok(EXIT_OK)
        }
    }
}
