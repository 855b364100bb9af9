//! The SVG picture: a layered layout (the states are a sequence), one box a state with its
//! hooks, main, limits and nested machine, an arrow to the next, a loop for retries, and the
//! rollback steps beside it in another colour. Text is monospace and shortened to its box, so
//! nothing overlaps at any zoom.

use std::fmt::Write as _;

use super::{shorten, width as columns, Machine, State};

/// Text for XML: escaped, and control characters (most are invalid in XML 1.0, so a `\x01`
/// in a state name would make the whole picture unreadable) shown as `\u{1}`.
fn esc(text: &str) -> String {
    crate::html::esc(&crate::output::terminal_text(text))
}

/// Monospace character width at the font size used (DejaVu Sans Mono is 0.602 em; rounded
/// up so text never reaches a box's edge).
const CHAR: f64 = 8.0;
const FONT: f64 = 13.0;
const LINE: f64 = 18.0;
const PAD: f64 = 10.0;
const LEFT: f64 = 72.0;
const BOX_W: f64 = 640.0;
const GAP: f64 = 34.0;
const SIDE_GAP: f64 = 40.0;
const SIDE_W: f64 = 480.0;

/// Characters that fit in a width.
fn fit(width: f64) -> usize {
    ((width - 2.0 * PAD) / CHAR).floor() as usize
}

/// A line of text in a box, with its style.
struct Line {
    text: String,
    class: &'static str,
}

fn state_lines(index: usize, s: &State) -> Vec<Line> {
    let width = fit(BOX_W);
    let mut lines = vec![Line {
        text: shorten(&format!("{}. {}", index + 1, s.name), width),
        class: "state",
    }];
    let mut push = |label: &str, value: &Option<String>, class: &'static str| {
        if let Some(v) = value {
            lines.push(Line {
                text: shorten(&format!("{label}{v}"), width),
                class,
            });
        }
    };
    match (&s.main, &s.message) {
        (Some(main), Some(msg)) => push("main      → ", &Some(format!("{main}  #{msg}")), "main"),
        (Some(main), None) => push("main      → ", &Some(main.clone()), "main"),
        (None, _) => push("main        ", &Some("(none)".into()), "dim"),
    }
    push("on_entry    ", &s.on_entry, "hook");
    push("on_exit     ", &s.on_exit, "hook");
    push("on_error    ", &s.on_error, "hook error");
    let mut limits = Vec::new();
    if let Some(r) = &s.max_retries {
        limits.push(format!("max_retries {r}"));
    }
    if let Some(t) = &s.max_time {
        limits.push(format!("max_time {t}"));
    }
    if !limits.is_empty() {
        push("limits      ", &Some(limits.join(" · ")), "limits");
    }
    if let Some(next) = &s.next_state {
        push(
            "jumps to    ",
            &Some(format!("{next} (ae_next_state)")),
            "jump",
        );
    }
    if let Some(t) = &s.trace {
        let what = match (t.failed, t.retries) {
            (true, 0) => "this run: failed here".to_string(),
            (true, n) => format!("this run: failed here after {n} retr{}", plural(n)),
            (false, 0) => "this run: passed".to_string(),
            (false, n) => format!("this run: passed after {n} retr{}", plural(n)),
        };
        push(
            "",
            &Some(what),
            if t.failed { "run failed" } else { "run passed" },
        );
    }
    lines
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        "y"
    } else {
        "ies"
    }
}

/// The nested machine's sub-box lines: its path, then its states wrapped to the width.
fn nested_lines(s: &State) -> Vec<String> {
    let Some((path, states)) = &s.nested else {
        return Vec::new();
    };
    let width = fit(BOX_W - 2.0 * PAD);
    let mut lines = vec![shorten(&format!("nested state machine {path}"), width)];
    let mut current = String::new();
    for (i, name) in states.iter().enumerate() {
        let item = format!("{}. {name}", i + 1);
        if !current.is_empty() && columns(&current) + 3 + columns(&item) > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str(" → ");
        }
        current.push_str(&shorten(&item, width));
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn rollback_lines(s: &State, journal: bool) -> Vec<String> {
    if s.rollback.is_empty() {
        return Vec::new();
    }
    let width = fit(SIDE_W);
    let mut lines = vec![if journal {
        "if it fails, roll back (journal):".to_string()
    } else {
        "if it fails, roll back:".to_string()
    }];
    for (i, step) in s.rollback.iter().enumerate() {
        lines.push(shorten(&format!("{}. {step}", i + 1), width));
    }
    lines
}

/// The whole picture.
pub fn draw(machine: &Machine) -> String {
    let has_side = machine.states.iter().any(|s| !s.rollback.is_empty());
    let width = LEFT + BOX_W + if has_side { SIDE_GAP + SIDE_W } else { 0.0 } + 24.0;
    // The title is 15 px bold (about 9.1 px a character), the rest 13 px.
    let title_chars = ((width - LEFT - 12.0) / 9.2).floor() as usize;
    let line_chars = ((width - LEFT - 12.0) / CHAR).floor() as usize;
    let journal = machine.rollback_mode == Some(miq_automate_rollback::Mode::Journal);

    let mut body = String::new();
    let mut y = 24.0;
    let _ = writeln!(
        body,
        "<text class=\"title\" x=\"{LEFT}\" y=\"{y}\">{}</text>",
        esc(&shorten_left(&machine.title, title_chars))
    );
    y += LINE + 2.0;
    if let Some(d) = &machine.description {
        let _ = writeln!(
            body,
            "<text class=\"dim\" x=\"{LEFT}\" y=\"{y}\">{}</text>",
            esc(&shorten(d, line_chars))
        );
        y += LINE;
    }
    y = legend(&mut body, machine, has_side, y + 6.0) + 14.0;

    for (i, state) in machine.states.iter().enumerate() {
        let lines = state_lines(i, state);
        let nested = nested_lines(state);
        let nested_h = if nested.is_empty() {
            0.0
        } else {
            nested.len() as f64 * LINE + 2.0 * PAD - 4.0
        };
        let box_h = lines.len() as f64 * LINE
            + 2.0 * PAD
            + if nested.is_empty() {
                0.0
            } else {
                nested_h + PAD
            };
        let side = rollback_lines(state, journal);
        let side_h = if side.is_empty() {
            0.0
        } else {
            side.len() as f64 * LINE + 2.0 * PAD
        };
        let row_h = box_h.max(side_h);
        let class = match &state.trace {
            Some(t) if t.failed => "box failed",
            Some(_) => "box passed",
            None if machine.traced => "box untouched",
            None => "box",
        };
        let _ = writeln!(
            body,
            "<g class=\"state-group\" data-state=\"{name}\"><rect class=\"{class}\" x=\"{LEFT}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{box_h}\" rx=\"8\"/>",
            name = esc(&state.name)
        );
        for (n, line) in lines.iter().enumerate() {
            let _ = writeln!(
                body,
                "<text class=\"{}\" x=\"{}\" y=\"{}\">{}</text>",
                line.class,
                LEFT + PAD,
                y + PAD + FONT + n as f64 * LINE,
                esc(&line.text)
            );
        }
        if !nested.is_empty() {
            let ny = y + PAD + lines.len() as f64 * LINE + 2.0;
            let _ = writeln!(
                body,
                "<rect class=\"nested\" x=\"{}\" y=\"{ny}\" width=\"{}\" height=\"{nested_h}\" rx=\"6\"/>",
                LEFT + PAD,
                BOX_W - 2.0 * PAD
            );
            for (n, text) in nested.iter().enumerate() {
                let _ = writeln!(
                    body,
                    "<text class=\"nested-text\" x=\"{}\" y=\"{}\">{}</text>",
                    LEFT + 2.0 * PAD,
                    ny + PAD - 2.0 + FONT + n as f64 * LINE,
                    esc(text)
                );
            }
        }
        // A retry loop on the left: the state runs again (a re-delivery) until it is done
        // or its limits are reached.
        if state.max_retries.is_some() || state.trace.as_ref().is_some_and(|t| t.retries > 0) {
            let x = LEFT;
            let (top, bottom) = (y + 12.0, y + box_h.min(64.0) - 10.0);
            let retried = if state.trace.as_ref().is_some_and(|t| t.retries > 0) {
                " retried"
            } else {
                ""
            };
            let _ = writeln!(
                body,
                "<path class=\"loop{retried}\" d=\"M {x} {bottom} C {a} {bottom}, {a} {top}, {b} {top}\" marker-end=\"url(#arrow)\"/>\
                 <text class=\"loop-label\" x=\"{lx}\" y=\"{ly}\">retry</text>",
                a = x - 30.0,
                b = x - 4.0,
                lx = 4.0,
                ly = (top + bottom) / 2.0 + 4.0
            );
        }
        let _ = writeln!(body, "</g>");
        if !side.is_empty() {
            let sx = LEFT + BOX_W + SIDE_GAP;
            let _ = writeln!(
                body,
                "<g class=\"rollback-group\" data-state=\"{name}\"><path class=\"connector\" d=\"M {x1} {cy} L {sx} {cy}\"/>\
                 <rect class=\"rollback\" x=\"{sx}\" y=\"{y}\" width=\"{SIDE_W}\" height=\"{side_h}\" rx=\"8\"/>",
                name = esc(&state.name),
                x1 = LEFT + BOX_W,
                cy = y + 20.0,
            );
            for (n, text) in side.iter().enumerate() {
                let _ = writeln!(
                    body,
                    "<text class=\"{}\" x=\"{}\" y=\"{}\">{}</text>",
                    if n == 0 {
                        "rollback-head"
                    } else {
                        "rollback-step"
                    },
                    sx + PAD,
                    y + PAD + FONT + n as f64 * LINE,
                    esc(text)
                );
            }
            let _ = writeln!(body, "</g>");
        }
        y += row_h;
        // The arrow to the next state (or to the end).
        let cx = LEFT + 40.0;
        let _ = writeln!(
            body,
            "<path class=\"flow\" d=\"M {cx} {y} L {cx} {}\" marker-end=\"url(#arrow)\"/>",
            y + GAP - 4.0
        );
        y += GAP;
    }
    let _ = writeln!(
        body,
        "<circle class=\"end\" cx=\"{}\" cy=\"{}\" r=\"9\"/><text class=\"dim\" x=\"{}\" y=\"{}\">end (ae_result ok)</text>",
        LEFT + 40.0,
        y + 6.0,
        LEFT + 58.0,
        y + 11.0
    );
    let height = y + 30.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"DejaVu Sans Mono, monospace\" font-size=\"{FONT}\">\n<title>{title}</title>\n<defs><marker id=\"arrow\" \
         viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n<style>{STYLE}</style>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n{body}</svg>\n",
        title = esc(&machine.title)
    )
}

/// The legend under the title; returns the y below it.
fn legend(out: &mut String, machine: &Machine, has_side: bool, y: f64) -> f64 {
    let mut items: Vec<(&str, &str)> = vec![("box", "state"), ("nested", "nested state machine")];
    if has_side {
        items.push(("rollback", "rollback on failure"));
    }
    if machine.traced {
        items.push(("box passed", "passed in this run"));
        items.push(("box failed", "failed in this run"));
        items.push(("box untouched", "not reached"));
    }
    let mut x = LEFT;
    let _ = write!(out, "<g class=\"legend\">");
    for (class, label) in items {
        let _ = write!(
            out,
            "<rect class=\"{class}\" x=\"{x}\" y=\"{}\" width=\"16\" height=\"12\" rx=\"3\"/>\
             <text class=\"dim\" x=\"{}\" y=\"{}\">{label}</text>",
            y - 10.0,
            x + 22.0,
            y
        );
        x += 22.0 + label.chars().count() as f64 * CHAR + 20.0;
    }
    let _ = writeln!(
        out,
        "<path class=\"loop\" d=\"M {x} {y} C {a} {y}, {a} {b}, {c} {b}\" marker-end=\"url(#arrow)\"/>\
         <text class=\"dim\" x=\"{t}\" y=\"{y}\">retry</text></g>",
        a = x - 4.0,
        b = y - 10.0,
        c = x + 12.0,
        t = x + 20.0
    );
    y + LINE
}

/// Shortens a path from the left (its end — class and instance — says most).
fn shorten_left(text: &str, max: usize) -> String {
    let text = crate::output::terminal_text(text);
    if columns(&text) <= max {
        return text;
    }
    let mut tail = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max.saturating_sub(1) {
            break;
        }
        used += w;
        tail.push(c);
    }
    format!("…{}", tail.into_iter().rev().collect::<String>())
}

const STYLE: &str = r#"
text { fill: #1d1d1f; white-space: pre; }
.title { font-size: 15px; font-weight: bold; }
.state { font-weight: bold; }
.dim { fill: #666; }
.main { fill: #1f3f7f; }
.hook { fill: #333; }
.hook.error { fill: #8a1c14; }
.limits { fill: #6b4e00; }
.jump { fill: #5b2c8f; }
.run.passed { fill: #1b7f3b; font-weight: bold; }
.run.failed { fill: #b3261e; font-weight: bold; }
.box { fill: #f7f8fb; stroke: #6b7a99; stroke-width: 1.5; }
.box.passed { fill: #e8f5e9; stroke: #1b7f3b; stroke-width: 2; }
.box.failed { fill: #fdecea; stroke: #b3261e; stroke-width: 2.5; }
.box.untouched { fill: #f4f4f4; stroke: #bbb; stroke-dasharray: 4 3; }
.nested { fill: #eef2fb; stroke: #8aa0d0; stroke-dasharray: 5 3; }
.nested-text { fill: #2a3f6f; }
.rollback { fill: #fff4e5; stroke: #c77700; stroke-width: 1.5; stroke-dasharray: 6 3; }
.rollback-head { fill: #8a4b00; font-weight: bold; }
.rollback-step { fill: #6b3a00; }
.connector { stroke: #c77700; stroke-dasharray: 4 3; fill: none; }
.flow { stroke: #555; stroke-width: 1.5; fill: none; }
.loop { stroke: #6b7a99; stroke-width: 1.5; fill: none; }
.loop.retried { stroke: #c77700; stroke-width: 2.5; }
.loop-label { fill: #6b7a99; font-size: 11px; }
.end { fill: #fff; stroke: #555; stroke-width: 2; }
"#;
