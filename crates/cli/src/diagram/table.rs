//! `--output table`: ManageIQ UI's schema table of a state machine as Markdown.

use super::Machine;

/// The table (not drawn yet: the first line says so).
pub fn markdown(machine: &Machine) -> String {
    format!(
        "| Name |\n|---|\n{}",
        machine
            .states
            .iter()
            .map(|s| format!("| {} |\n", s.name))
            .collect::<String>()
    )
}
