//! Mermaid and DOT forms of a state machine, for people who paste diagrams into docs.

use std::fmt::Write as _;

use super::{shorten, Machine, State};

/// Longest label line in the text forms.
const LABEL: usize = 60;

fn id(index: usize) -> String {
    format!("s{}", index + 1)
}

fn details(s: &State) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(main) = &s.main {
        let msg = s
            .message
            .as_deref()
            .map(|m| format!(" #{m}"))
            .unwrap_or_default();
        lines.push(shorten(&format!("main: {main}{msg}"), LABEL));
    }
    for (label, hook) in [
        ("on_entry", &s.on_entry),
        ("on_exit", &s.on_exit),
        ("on_error", &s.on_error),
    ] {
        if let Some(h) = hook {
            lines.push(shorten(&format!("{label}: {h}"), LABEL));
        }
    }
    if let Some(r) = &s.max_retries {
        lines.push(format!("max_retries: {r}"));
    }
    if let Some(t) = &s.max_time {
        lines.push(format!("max_time: {t}"));
    }
    if let Some((path, _)) = &s.nested {
        lines.push(shorten(&format!("nested: {path}"), LABEL));
    }
    if let Some(t) = &s.trace {
        lines.push(match (t.failed, t.retries) {
            (true, n) => format!("this run: FAILED ({n} retries)"),
            (false, n) => format!("this run: passed ({n} retries)"),
        });
    }
    lines
}

/// Mermaid `stateDiagram-v2`.
pub fn mermaid(machine: &Machine) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---\ntitle: {}\n---", mermaid_text(&machine.title));
    out.push_str("stateDiagram-v2\n    direction TB\n");
    for (i, s) in machine.states.iter().enumerate() {
        let _ = writeln!(out, "    state \"{}\" as {}", mermaid_text(&s.name), id(i));
    }
    let first = if machine.states.is_empty() {
        "[*]".to_string()
    } else {
        id(0)
    };
    let _ = writeln!(out, "    [*] --> {first}");
    for i in 0..machine.states.len() {
        let next = if i + 1 < machine.states.len() {
            id(i + 1)
        } else {
            "[*]".into()
        };
        let _ = writeln!(out, "    {} --> {next}", id(i));
        let s = &machine.states[i];
        if s.max_retries.is_some() || s.trace.as_ref().is_some_and(|t| t.retries > 0) {
            let _ = writeln!(out, "    {0} --> {0} : retry", id(i));
        }
        if let Some(target) = &s.next_state {
            if let Some(j) = machine.states.iter().position(|t| t.name == *target) {
                let _ = writeln!(out, "    {} --> {} : ae_next_state", id(i), id(j));
            }
        }
        let lines = details(s);
        if !lines.is_empty() {
            let _ = writeln!(out, "    note right of {}", id(i));
            for l in lines {
                let _ = writeln!(out, "        {}", mermaid_text(&l));
            }
            let _ = writeln!(out, "    end note");
        }
        if !s.rollback.is_empty() {
            let _ = writeln!(out, "    note left of {}", id(i));
            let _ = writeln!(out, "        rollback on failure:");
            for step in &s.rollback {
                let _ = writeln!(out, "        {}", mermaid_text(&shorten(step, LABEL)));
            }
            let _ = writeln!(out, "    end note");
        }
    }
    for (i, s) in machine.states.iter().enumerate() {
        if let Some(t) = &s.trace {
            let class = if t.failed { "failed" } else { "passed" };
            let _ = writeln!(out, "    class {} {class}", id(i));
        }
    }
    if machine.traced {
        out.push_str("    classDef passed fill:#e8f5e9,stroke:#1b7f3b\n");
        out.push_str("    classDef failed fill:#fdecea,stroke:#b3261e,stroke-width:3px\n");
    }
    out
}

/// Mermaid labels cannot hold some characters: they become look-alikes. A newline would end
/// the statement (`state Injected as s99`) and a control character reach the terminal:
/// both are shown escaped (`\n`).
fn mermaid_text(text: &str) -> String {
    crate::output::terminal_text(text)
        .replace('"', "'")
        .replace(':', "∶")
        .replace(';', ",")
        .replace('#', "♯")
        .replace('{', "(")
        .replace('}', ")")
}

/// Graphviz DOT.
pub fn dot(machine: &Machine) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph \"{}\" {{\n  rankdir=TB;\n  labelloc=t;\n  label=\"{}\";\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f7f8fb\", fontname=\"DejaVu Sans Mono\", fontsize=11];",
        dot_text(&machine.title),
        dot_text(&machine.title)
    );
    for (i, s) in machine.states.iter().enumerate() {
        let mut label = vec![format!("{}. {}", i + 1, s.name)];
        label.extend(details(s));
        let fill = match &s.trace {
            Some(t) if t.failed => ", fillcolor=\"#fdecea\", color=\"#b3261e\", penwidth=2.5",
            Some(_) => ", fillcolor=\"#e8f5e9\", color=\"#1b7f3b\", penwidth=2",
            None => "",
        };
        let _ = writeln!(
            out,
            "  {} [label=\"{}\\l\"{fill}];",
            id(i),
            label
                .iter()
                .map(|l| dot_text(l))
                .collect::<Vec<_>>()
                .join("\\l")
        );
        if !s.rollback.is_empty() {
            let steps: Vec<String> = s
                .rollback
                .iter()
                .map(|st| dot_text(&shorten(st, LABEL)))
                .collect();
            let _ = writeln!(
                out,
                "  {0}_rb [shape=note, fillcolor=\"#fff4e5\", color=\"#c77700\", label=\"rollback on failure:\\l{1}\\l\"];\n  {0} -> {0}_rb [style=dashed, color=\"#c77700\", arrowhead=none];\n  {{ rank=same; {0}; {0}_rb; }}",
                id(i),
                steps.join("\\l")
            );
        }
    }
    out.push_str("  end [shape=doublecircle, label=\"end\", width=0.3];\n");
    for i in 0..machine.states.len() {
        let next = if i + 1 < machine.states.len() {
            id(i + 1)
        } else {
            "end".into()
        };
        let _ = writeln!(out, "  {} -> {next};", id(i));
        let s = &machine.states[i];
        if s.max_retries.is_some() || s.trace.as_ref().is_some_and(|t| t.retries > 0) {
            let _ = writeln!(
                out,
                "  {0} -> {0} [label=\"retry\", color=\"#6b7a99\"];",
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
    }
    out.push_str("}\n");
    out
}

/// A DOT string's text: control characters escaped (shown as `\n`, never a raw newline or
/// terminal escape), then backslashes and quotes.
fn dot_text(text: &str) -> String {
    crate::output::terminal_text(text)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}
