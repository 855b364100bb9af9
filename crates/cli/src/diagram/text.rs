//! Mermaid and DOT forms of a state machine, for people who paste diagrams into docs. Every
//! detail sits inside its state's box (a note beside each state made a staircase), long text
//! wrapped onto lines and never shortened; a trace adds classes (passed, retried, failed, not
//! reached) and the reason a state failed.

use std::fmt::Write as _;

use super::{width, Machine, State, Traced};

/// Longest label line in the text forms (longer text is wrapped, never cut).
const LABEL: usize = 64;

fn id(index: usize) -> String {
    format!("s{}", index + 1)
}

/// How a traced run left a state, for classes, table cells and the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ended ok (or skip, continue…) without a retry.
    Passed,
    /// Ended ok after retries, or was still retrying when the run stopped.
    Retried,
    /// Ended in error.
    Failed,
    /// The run never entered it.
    NotReached,
}

impl Outcome {
    /// What the traced run did with a state (`None` when the machine has no trace).
    pub fn of(machine: &Machine, state: &State) -> Option<Outcome> {
        if !machine.traced {
            return None;
        }
        Some(match &state.trace {
            None => Outcome::NotReached,
            Some(t) if t.failed => Outcome::Failed,
            Some(t) if t.retries > 0 || t.result == "retry" => Outcome::Retried,
            Some(_) => Outcome::Passed,
        })
    }

    /// The class name (Mermaid classDef, DOT comment, CSS).
    pub fn class(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Retried => "retried",
            Outcome::Failed => "failed",
            Outcome::NotReached => "notreached",
        }
    }
}

/// A state's result in words: `✔ ok`, `↻ ok after 2 retries`, `✖ error: RuntimeError: boom`,
/// `not reached` (`None` without a trace).
pub fn result_text(machine: &Machine, state: &State) -> Option<String> {
    let outcome = Outcome::of(machine, state)?;
    let Some(t) = &state.trace else {
        return Some("not reached".into());
    };
    let result = if t.result.is_empty() { "ok" } else { &t.result };
    let retries = match t.retries {
        0 => String::new(),
        1 => " after 1 retry".into(),
        n => format!(" after {n} retries"),
    };
    Some(match outcome {
        Outcome::Failed => {
            let reason = t
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!("✖ error{reason}{retries}")
        }
        Outcome::Retried if t.result == "retry" => {
            let reason = t
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!("↻ still retrying{retries}{reason}")
        }
        Outcome::Retried => format!("↻ {result}{retries}"),
        _ => format!("✔ {result}"),
    })
}

/// The rollback that ran (what on_error instantiated), one line a step with its result.
pub fn rollback_ran(t: &Traced) -> Vec<String> {
    // As many as the pictures draw, then how many more (a trace can hold thousands).
    let drawn = super::timeline::ROLLBACK_DRAWN;
    let more = t.rollback().count().saturating_sub(drawn);
    let mut lines: Vec<String> = t
        .rollback()
        .take(drawn)
        .map(|r| {
            let mark = if r.result == "ok" { "✔" } else { "✖" };
            let reason = r
                .reason
                .as_deref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default();
            format!("{mark} {} {}{reason}", r.method, r.result)
        })
        .collect();
    if more > 0 {
        lines.push(format!("… {more} more (not drawn)"));
    }
    lines
}

/// Whether a state can retry: `max_retries` set and not 0 (a `${…}` substitution may be
/// anything: it can), or the trace saw it retry.
pub fn retry_possible(s: &State) -> bool {
    let limit = s
        .max_retries
        .as_deref()
        .map(str::trim)
        .is_some_and(|m| !m.is_empty() && m.parse::<f64>().map_or(true, |n| n > 0.0));
    limit || s.trace.as_ref().is_some_and(|t| t.retries > 0)
}

/// Text wrapped to `max` display columns: broken after a space, `/`, `,` or `(` when one is
/// near, else inside a word; nothing is dropped (whitespace runs become one space).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let max = max.max(8);
    let mut lines = Vec::new();
    let mut line: Vec<char> = Vec::new();
    let mut used = 0;
    for c in one_line.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max && !line.is_empty() {
            // Break after the last break character in the second half of the line.
            let cut = line
                .iter()
                .rposition(|c| matches!(c, ' ' | '/' | ',' | '(' | '.' | ':' | '='))
                .filter(|at| *at + 1 >= line.len() / 2)
                .map_or(line.len(), |at| at + 1);
            let rest = line.split_off(cut);
            lines.push(line.iter().collect::<String>().trim_end().to_string());
            line = rest;
            while line.first() == Some(&' ') {
                line.remove(0);
            }
            used = line
                .iter()
                .map(|c| unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0))
                .sum();
            if c == ' ' && line.is_empty() {
                continue;
            }
        }
        line.push(c);
        used += w;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line.into_iter().collect());
    }
    debug_assert!(lines.iter().all(|l| width(l) <= max));
    lines
}

/// Every line of detail a state's box holds (before wrapping), control characters shown
/// escaped.
fn details(machine: &Machine, s: &State) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(main) = &s.main {
        let msg = s
            .message
            .as_deref()
            .map(|m| format!("#{m}"))
            .unwrap_or_default();
        lines.push(format!("main: {main}{msg}"));
    }
    for (label, hook) in [
        ("on_entry", &s.on_entry),
        ("on_exit", &s.on_exit),
        ("on_error", &s.on_error),
    ] {
        if let Some(h) = hook {
            lines.push(format!("{label}: {h}"));
        }
    }
    let mut limits = Vec::new();
    if let Some(r) = &s.max_retries {
        limits.push(format!("max_retries: {r}"));
    }
    if let Some(t) = &s.max_time {
        limits.push(format!("max_time: {t}"));
    }
    if !limits.is_empty() {
        lines.push(limits.join(", "));
    }
    if let Some((path, _)) = &s.nested {
        lines.push(format!("nested: {path}"));
    }
    if !s.rollback.is_empty() {
        lines.push("rollback on failure:".into());
        lines.extend(s.rollback.iter().map(|step| format!("- {step}")));
    }
    if let Some(result) = result_text(machine, s) {
        lines.push(format!("this run: {result}"));
    }
    if let Some(t) = &s.trace {
        if let Some(domain) = &t.domain {
            lines.push(format!("served by: {domain}"));
        }
        let ran = rollback_ran(t);
        if !ran.is_empty() {
            lines.push("rollback ran:".into());
            lines.extend(ran.into_iter().map(|step| format!("- {step}")));
        }
    }
    lines
        .iter()
        .map(|l| crate::output::terminal_text(l))
        .collect()
}

/// The details wrapped to the label width.
fn wrapped(machine: &Machine, s: &State) -> Vec<String> {
    details(machine, s)
        .iter()
        .flat_map(|l| wrap(l, LABEL))
        .collect()
}

/// The states drawn with an edge into the error end: in DOT every state with an on_error
/// hook (and any that failed); in Mermaid only the ones the run failed in, since its layout
/// pushes the main path into a diagonal staircase for every branch to the side (each
/// state's on_error hook is listed inside its box).
fn error_edge(s: &State, all: bool) -> bool {
    (all && s.on_error.is_some()) || s.trace.as_ref().is_some_and(|t| t.failed)
}

/// Mermaid `stateDiagram-v2`: each state's details are its description (lines under its
/// name, inside its box).
pub fn mermaid(machine: &Machine) -> String {
    let mut out = String::new();
    let title = crate::output::terminal_text(&machine.title)
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let _ = writeln!(out, "---\ntitle: \"{title}\"\n---");
    out.push_str("stateDiagram-v2\n    direction TB\n");
    for (i, s) in machine.states.iter().enumerate() {
        let _ = writeln!(out, "    state \"{}\" as {}", mermaid_text(&s.name), id(i));
        for line in wrapped(machine, s) {
            let _ = writeln!(out, "    {} : {}", id(i), mermaid_text(&line));
        }
    }
    let first = if machine.states.is_empty() {
        "[*]".to_string()
    } else {
        id(0)
    };
    let _ = writeln!(out, "    [*] --> {first}");
    let mut to_error = false;
    for (i, s) in machine.states.iter().enumerate() {
        let next = if i + 1 < machine.states.len() {
            id(i + 1)
        } else {
            "[*]".into()
        };
        let _ = writeln!(out, "    {} --> {next}", id(i));
        if retry_possible(s) {
            let _ = writeln!(out, "    {0} --> {0} : retry", id(i));
        }
        if let Some(target) = &s.next_state {
            if let Some(j) = machine.states.iter().position(|t| t.name == *target) {
                let _ = writeln!(out, "    {} --> {} : ae_next_state", id(i), id(j));
            }
        }
        if error_edge(s, false) {
            let _ = writeln!(out, "    {} --> failure : on_error", id(i));
            to_error = true;
        }
    }
    if to_error {
        let end = match machine.run.as_ref().and_then(|r| r.reason()) {
            Some(reason) if machine.run.as_ref().is_some_and(|r| r.ae_result == "error") => {
                format!("ae_result = error: {reason}")
            }
            _ => "ae_result = error".into(),
        };
        for line in wrap(&crate::output::terminal_text(&end), LABEL) {
            let _ = writeln!(out, "    failure : {}", mermaid_text(&line));
        }
        out.push_str("    failure --> [*]\n");
    }
    if machine.traced {
        out.push_str("    classDef passed fill:#e8f5e9,stroke:#1b7f3b,stroke-width:2px\n");
        out.push_str("    classDef retried fill:#fff4e5,stroke:#c77700,stroke-width:2px\n");
        out.push_str("    classDef failed fill:#fdecea,stroke:#b3261e,stroke-width:3px\n");
        out.push_str(
            "    classDef notreached fill:#f4f4f4,stroke:#9e9e9e,stroke-dasharray:4 3,color:#757575\n",
        );
        for (i, s) in machine.states.iter().enumerate() {
            if let Some(o) = Outcome::of(machine, s) {
                let _ = writeln!(out, "    class {} {}", id(i), o.class());
            }
        }
    }
    // `--coverage`: states entered by a test, and never entered (hooks: in the SVG).
    if !machine.traced && machine.states.iter().any(|s| s.coverage.is_some()) {
        out.push_str("    classDef covered fill:#e8f5e9,stroke:#1b7f3b,stroke-width:2px\n");
        out.push_str(
            "    classDef uncovered fill:#fdecea,stroke:#b3261e,stroke-width:2px,stroke-dasharray:6 3\n",
        );
        for (i, s) in machine.states.iter().enumerate() {
            if let Some(c) = &s.coverage {
                let class = if c.entered > 0 {
                    "covered"
                } else {
                    "uncovered"
                };
                let _ = writeln!(out, "    class {} {class}", id(i));
            }
        }
    }
    if to_error {
        out.push_str("    classDef errorend fill:#fdecea,stroke:#b3261e\n");
        out.push_str("    class failure errorend\n");
    }
    out
}

/// A Mermaid label's text. Mermaid reads `#code;` as a character, so every character it would
/// take as syntax is written that way: `;` (ends a statement), `:`, `#`, `"`, braces, `%`
/// (comments), backticks (Markdown strings), `<`, `>`, `&` (HTML) and `\` (Mermaid breaks a
/// line at `\n`). A newline or control character is shown escaped (`\n`) and cannot end the
/// statement.
fn mermaid_text(text: &str) -> String {
    let text = crate::output::terminal_text(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '#' | ';' | ':' | '"' | '{' | '}' | '%' | '`' | '<' | '>' | '&' | '\\' => {
                let _ = write!(out, "#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Graphviz DOT with HTML-like labels: the state's name in bold, its details on left-aligned
/// lines, wrapped (never cut); colours by outcome with a trace.
pub fn dot(machine: &Machine) -> String {
    let mut out = String::new();
    let title: String = wrap(&crate::output::terminal_text(&machine.title), 100)
        .iter()
        .map(|l| html(l))
        .collect::<Vec<_>>()
        .join("<br/>");
    let _ = writeln!(
        out,
        "digraph \"{}\" {{\n  rankdir=TB;\n  labelloc=t;\n  label=<<b>{title}</b>>;\n  fontname=\"DejaVu Sans Mono\";\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f7f8fb\", color=\"#4a5568\", fontname=\"DejaVu Sans Mono\", fontsize=11];\n  edge [fontname=\"DejaVu Sans Mono\", fontsize=10];",
        dot_text(&machine.title),
    );
    for (i, s) in machine.states.iter().enumerate() {
        let mut label = format!(
            "<b>{}</b><br align=\"left\"/>",
            wrap(
                &crate::output::terminal_text(&format!("{}. {}", i + 1, s.name)),
                LABEL
            )
            .iter()
            .map(|l| html(l))
            .collect::<Vec<_>>()
            .join("<br align=\"left\"/>")
        );
        for line in wrapped(machine, s) {
            let _ = write!(label, "{}<br align=\"left\"/>", html(&line));
        }
        // `--coverage`: what the tests reached here.
        let tested = super::table::tested(s);
        if let Some((entered, never)) = &tested {
            let mut lines = vec![format!("tests: {entered}")];
            if !never.is_empty() {
                lines.push(format!("never run by a test: {never}"));
            }
            for line in lines.iter().flat_map(|l| wrap(l, LABEL)) {
                let _ = write!(label, "{}<br align=\"left\"/>", html(&line));
            }
        }
        let covered = match &tested {
            Some((entered, _)) if entered.starts_with('✖') => {
                ", fillcolor=\"#fdecea\", color=\"#b3261e\", style=\"rounded,filled,dashed\", class=\"uncovered\""
            }
            Some(_) => ", fillcolor=\"#e8f5e9\", color=\"#1b7f3b\", penwidth=2, class=\"covered\"",
            None => "",
        };
        let style = match Outcome::of(machine, s) {
            Some(Outcome::Failed) => {
                ", fillcolor=\"#fdecea\", color=\"#b3261e\", penwidth=2.5, class=\"failed\""
            }
            Some(Outcome::Retried) => {
                ", fillcolor=\"#fff4e5\", color=\"#c77700\", penwidth=2, class=\"retried\""
            }
            Some(Outcome::Passed) => {
                ", fillcolor=\"#e8f5e9\", color=\"#1b7f3b\", penwidth=2, class=\"passed\""
            }
            Some(Outcome::NotReached) => {
                ", fillcolor=\"#f4f4f4\", color=\"#9e9e9e\", style=\"rounded,filled,dashed\", fontcolor=\"#616161\", class=\"notreached\""
            }
            None => covered,
        };
        let _ = writeln!(out, "  {} [label=<{label}>{style}];", id(i));
    }
    out.push_str("  end [shape=doublecircle, label=\"end\", width=0.3];\n");
    let mut to_error = false;
    for (i, s) in machine.states.iter().enumerate() {
        let next = if i + 1 < machine.states.len() {
            id(i + 1)
        } else {
            "end".into()
        };
        let _ = writeln!(out, "  {} -> {next} [weight=10];", id(i));
        if retry_possible(s) {
            let _ = writeln!(
                out,
                "  {0} -> {0} [label=\"retry\", color=\"#c77700\", fontcolor=\"#c77700\"];",
                id(i)
            );
        }
        if let Some(target) = &s.next_state {
            if let Some(j) = machine.states.iter().position(|t| t.name == *target) {
                let _ = writeln!(
                    out,
                    "  {} -> {} [label=\"ae_next_state\", style=dashed, color=\"#5b2c8f\"];",
                    id(i),
                    id(j)
                );
            }
        }
        if error_edge(s, true) {
            let failed = s.trace.as_ref().is_some_and(|t| t.failed);
            let _ = writeln!(
                out,
                "  {} -> failure [label=\"on_error\", constraint=false{}];",
                id(i),
                if failed {
                    ", color=\"#b3261e\", fontcolor=\"#b3261e\", penwidth=2.5"
                } else {
                    ", style=dashed, color=\"#d9a3a0\", fontcolor=\"#a86f6b\""
                }
            );
            to_error = true;
        }
    }
    if to_error {
        let mut label = "<b>ae_result = error</b>".to_string();
        if let Some(run) = machine.run.as_ref().filter(|r| r.ae_result == "error") {
            if let Some(reason) = run.reason() {
                for line in wrap(&crate::output::terminal_text(reason), LABEL) {
                    let _ = write!(label, "<br align=\"left\"/>{}", html(&line));
                }
                label.push_str("<br align=\"left\"/>");
            }
        }
        let _ = writeln!(
            out,
            "  failure [shape=box, style=\"rounded,filled\", fillcolor=\"#fdecea\", color=\"#b3261e\", label=<{label}>];\n  failure -> end [color=\"#b3261e\"];"
        );
    }
    out.push_str("}\n");
    out
}

/// Text inside an HTML-like DOT label (control characters are escaped by the caller).
fn html(text: &str) -> String {
    crate::html::esc(text)
}

/// A DOT string's text: control characters escaped (shown as `\n`, never a raw newline or
/// terminal escape), then backslashes and quotes.
fn dot_text(text: &str) -> String {
    crate::output::terminal_text(text)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character() {
        let text =
            "update_provision_status(status => 'Error Customizing Request', ae_next_state => 'x')";
        let lines = wrap(text, 30);
        assert!(lines.iter().all(|l| width(l) <= 30), "{lines:?}");
        let joined: String = lines.concat();
        assert_eq!(
            joined.replace(' ', ""),
            text.replace(' ', ""),
            "nothing lost"
        );
        assert_eq!(wrap("short", 30), ["short"]);
        assert_eq!(wrap("", 30), [""]);
        assert!(wrap(&"名".repeat(40), 20).iter().all(|l| width(l) <= 20));
    }

    #[test]
    fn mermaid_text_writes_syntax_as_codes() {
        assert_eq!(mermaid_text("a: b; #c"), "a#58; b#59; #35;c");
        assert_eq!(mermaid_text("x\ny"), "x#92;ny");
        assert_eq!(mermaid_text("<b>&"), "#60;b#62;#38;");
    }
}
