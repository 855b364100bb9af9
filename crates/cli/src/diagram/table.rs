//! `--output table`: ManageIQ UI's schema table of a state machine as Markdown: Name, Value
//! (the main with its `#message`), On Entry, On Exit, On Error, Max Retries, Max Time, as the
//! UI shows an instance of a state-machine class; with a trace, how the run left each state
//! and the domain that served it; with a rollback matrix or a rollback that ran, its steps.
//! [`rows`] is the structured form the HTML page draws too.

use std::fmt::Write as _;

use super::text::{result_text, rollback_ran, Outcome};
use super::Machine;

/// One state's row: every cell plain text (Markdown or HTML escaping is the writer's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// The state's name.
    pub name: String,
    /// The main with its message (`/Ns/Class/inst#create`), empty when none.
    pub value: String,
    /// Hooks, empty when none.
    pub on_entry: String,
    /// Hooks, empty when none.
    pub on_exit: String,
    /// Hooks, empty when none.
    pub on_error: String,
    /// `max_retries`, empty when not set.
    pub max_retries: String,
    /// `max_time`, empty when not set.
    pub max_time: String,
    /// With a trace: `✔ ok`, `↻ ok after 2 retries`, `✖ error: RuntimeError: boom`,
    /// `not reached`.
    pub result: Option<String>,
    /// With a trace: how the run left the state (for a CSS class).
    pub outcome: Option<Outcome>,
    /// With a trace: the domain that served the main.
    pub domain: Option<String>,
    /// The rollback: planned on failure (a matrix) and what ran (`✔ /r/Undo ok`).
    pub rollback: String,
    /// With `--coverage`: whether tests entered the state (`✔ entered 2× (ok 1, error 1)`,
    /// `✖ never entered`) and the hooks no test ran (`on_error`).
    pub tested: Option<(String, String)>,
}

/// The column headers, in the order of [`Row::cells`].
pub fn columns(machine: &Machine) -> Vec<&'static str> {
    let mut c = vec![
        "Name",
        "Value",
        "On Entry",
        "On Exit",
        "On Error",
        "Max Retries",
        "Max Time",
    ];
    if machine.traced {
        c.extend(["Result", "Domain"]);
    }
    if has_rollback(machine) {
        c.push("Rollback");
    }
    if has_coverage(machine) {
        c.extend(["Tested", "Never Run"]);
    }
    c
}

fn has_coverage(machine: &Machine) -> bool {
    machine.states.iter().any(|s| s.coverage.is_some())
}

/// What the coverage files say of a state: entered or not (with how the visits ended), and
/// its steps no test ran.
pub(crate) fn tested(s: &super::State) -> Option<(String, String)> {
    let c = s.coverage.as_ref()?;
    let entered = if c.entered == 0 {
        "✖ never entered".to_string()
    } else {
        let results: Vec<String> = c.results.iter().map(|(r, n)| format!("{r} {n}")).collect();
        format!("✔ entered {}× ({})", c.entered, results.join(", "))
    };
    let never: Vec<&str> = [
        ("on_entry", &s.on_entry),
        ("main", &s.main),
        ("on_exit", &s.on_exit),
        ("on_error", &s.on_error),
    ]
    .into_iter()
    .filter(|(step, defined)| defined.is_some() && !c.ran(step))
    .map(|(step, _)| step)
    .collect();
    Some((entered, never.join(", ")))
}

fn has_rollback(machine: &Machine) -> bool {
    machine.states.iter().any(|s| {
        !s.rollback.is_empty()
            || s.trace
                .as_ref()
                .is_some_and(|t| t.rollback().next().is_some())
    })
}

/// Every state's row, in order.
pub fn rows(machine: &Machine) -> Vec<Row> {
    machine
        .states
        .iter()
        .map(|s| {
            let value = match (&s.main, &s.message) {
                (Some(main), Some(msg)) => format!("{main}#{msg}"),
                (Some(main), None) => main.clone(),
                (None, _) => String::new(),
            };
            let mut rollback = Vec::new();
            if !s.rollback.is_empty() {
                rollback.push(format!("on failure: {}", s.rollback.join(", ")));
            }
            if let Some(t) = &s.trace {
                let ran = rollback_ran(t);
                if !ran.is_empty() {
                    rollback.push(format!("ran: {}", ran.join(", ")));
                }
            }
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            Row {
                name: s.name.clone(),
                value,
                on_entry: text(&s.on_entry),
                on_exit: text(&s.on_exit),
                on_error: text(&s.on_error),
                max_retries: text(&s.max_retries),
                max_time: text(&s.max_time),
                result: result_text(machine, s),
                outcome: Outcome::of(machine, s),
                domain: s.trace.as_ref().and_then(|t| t.domain.clone()),
                rollback: rollback.join("; "),
                tested: tested(s),
            }
        })
        .collect()
}

impl Row {
    /// The cells under [`columns`] of `machine`.
    pub fn cells(&self, machine: &Machine) -> Vec<String> {
        let mut c = vec![
            self.name.clone(),
            self.value.clone(),
            self.on_entry.clone(),
            self.on_exit.clone(),
            self.on_error.clone(),
            self.max_retries.clone(),
            self.max_time.clone(),
        ];
        if machine.traced {
            c.push(self.result.clone().unwrap_or_default());
            c.push(self.domain.clone().unwrap_or_default());
        }
        if has_rollback(machine) {
            c.push(self.rollback.clone());
        }
        if has_coverage(machine) {
            let (entered, never) = self.tested.clone().unwrap_or_default();
            c.extend([entered, never]);
        }
        c
    }
}

/// The table: a heading with the machine's path, the table, and a line on how the run
/// ended when traced.
pub fn markdown(machine: &Machine) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n", cell(&machine.title));
    if let Some(d) = machine
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        let _ = writeln!(out, "{}\n", cell(d));
    }
    let columns = columns(machine);
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        columns
            .iter()
            .map(|c| if c.starts_with("Max") { "---:" } else { "---" })
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows(machine) {
        let cells: Vec<String> = row.cells(machine).iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    if let Some(run) = &machine.run {
        let reason = run
            .reason()
            .map(|r| format!(": {}", cell(r)))
            .unwrap_or_default();
        let limit = run
            .limit
            .as_deref()
            .map(|l| format!(" (stopped by {})", cell(l)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\nThis run: ae_result {}{reason}{limit}, {} deliver{} over {} virtual seconds.",
            cell(&run.ae_result),
            run.deliveries,
            if run.deliveries == 1 { "y" } else { "ies" },
            run.virtual_seconds
        );
    }
    out
}

/// A cell's text for Markdown: one line (control characters shown escaped, `\n`), and every
/// character Markdown would read as syntax escaped with a backslash: `|` (a column), `\`,
/// backticks, `*`, `_` at a word's edge, `[`, `]`, `<` (HTML), `&`, `~`.
pub fn cell(text: &str) -> String {
    let text = crate::output::terminal_text(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let escape = match c {
            '|' | '\\' | '`' | '*' | '[' | ']' | '<' | '&' | '~' => true,
            '_' => !(word(i.checked_sub(1)) && word(Some(i + 1))),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_markdown() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("a\\|b"), "a\\\\\\|b");
        assert_eq!(cell("x\ny"), "x\\\\ny");
        assert_eq!(cell("update_provision_status"), "update_provision_status");
        assert_eq!(cell("'_x_'"), "'\\_x\\_'");
        assert_eq!(cell("`a`"), "\\`a\\`");
    }
}
