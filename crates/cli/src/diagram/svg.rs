//! The SVG picture: the states in order, one box a state with its hooks, main, limits and
//! nested machine, arrows from each to the next, a retry loop where a retry can happen, the
//! on_error path to an error end, and the rollback beside (or under) the state it belongs to.
//! With a trace it tells the run: each state's outcome and why, its retries and the virtual
//! time they took, the domain that served its main, the hooks that ran, the rollback that
//! ran, and how the run ended. With coverage (`--coverage`) it tells what every test
//! reached: each state entered or never, each hook and main ✓ run or ✗ never run.
//!
//! Layout: boxes are sized to their text up to a readable width, then the text is wrapped
//! (never cut while there is room; an item longer than a few lines is shortened, and every
//! line carries its item's full text in a `<title>` tooltip). The states flow top to bottom,
//! then on in the next column: the fewest columns whose picture fits a 1600×1200 screen.
//! Text is monospace (DejaVu Sans Mono 13 px, 8 px a column rounded up), so widths are known
//! without a browser.

use std::fmt::Write as _;

use super::text::Outcome;
use super::{width as columns, Machine, RunSummary, State, Traced};

/// Text for XML: escaped, and control characters (most are invalid in XML 1.0, so a `\x01`
/// in a state name would make the whole picture unreadable) shown as `\u{1}`.
fn esc(text: &str) -> String {
    crate::html::esc(&crate::output::terminal_text(text))
}

/// Monospace character width at the font size used (DejaVu Sans Mono is 0.602 em; rounded
/// up so text never reaches a box's edge).
const CHAR: f64 = 8.0;
/// The title's character width (15 px bold).
const TITLE_CHAR: f64 = 9.2;
const FONT: f64 = 13.0;
const LINE: f64 = 18.0;
const PAD: f64 = 10.0;
/// The screen the picture should fit at scale 1.
const SCREEN_W: f64 = 1600.0;
const SCREEN_H: f64 = 1200.0;
const MARGIN: f64 = 12.0;
/// Left of each box: the retry loop and its label.
const LOOP_W: f64 = 42.0;
/// Right of each column: the on_error rail (at +RAIL) and the flow to the next column.
const COL_RIGHT: f64 = 30.0;
const RAIL: f64 = 12.0;
/// Between a box and the rollback beside it.
const SIDE_GAP: f64 = 36.0;
/// A rollback drawn under its state is indented by this (the flow arrow passes left of it).
const UNDER_INDENT: f64 = 56.0;
/// Between two states of a column.
const GAP: f64 = 24.0;
/// The flow arrow's x, from a box's left edge.
const ARROW_DX: f64 = 28.0;
const MIN_BOX_W: f64 = 260.0;
/// A readable line: 88 columns.
const MAX_BOX_W: f64 = 724.0;
const MAX_SIDE_W: f64 = 520.0;
const MIN_PICTURE_W: f64 = 600.0;
/// Lines of one item at most; longer text is shortened (its full text in the tooltip).
const MAX_ITEM_LINES: usize = 6;
/// Label column of a box's items (`on_entry `).
const LABEL: usize = 9;

/// One drawn line of text: what is shown, the item's full text (its tooltip), its style, and
/// how many columns it is indented (a wrapped item's continuation lines hang under its value).
#[derive(Clone, Debug)]
struct Line {
    text: String,
    full: String,
    class: &'static str,
    indent: usize,
    /// `on_error` on the first line of that hook (where the error edge leaves the box).
    step: Option<&'static str>,
}

impl Line {
    fn px(&self) -> f64 {
        (self.indent + columns(&self.text)) as f64 * CHAR
    }
}

/// One line of text: whitespace runs as one space, control characters escaped.
fn clean(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::output::terminal_text(&one_line)
}

fn char_cols(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Wraps a (clean) text: the first line `first` columns, the others `rest`; a line breaks
/// after a space, comma, semicolon, `(`, `&` or `?`, or before a `/`, `#` or `<`, when one is
/// in its last two thirds, else where it is full. At most `max_lines`: the last is then
/// shortened with `…`.
fn wrap(text: &str, first: usize, rest: usize, max_lines: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    // Inside a `${…}` substitution no line breaks (unless it is longer than a line).
    let mut inside = vec![false; chars.len() + 1];
    let mut depth = 0usize;
    for i in 0..chars.len() {
        if chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
            depth += 1;
        } else if chars[i] == '}' && depth > 0 {
            depth -= 1;
        }
        inside[i + 1] = depth > 0 && chars[i] != '$';
    }
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let limit = if lines.is_empty() { first } else { rest }.max(4);
        let mut used = 0;
        let mut end = start;
        while end < chars.len() && used + char_cols(chars[end]) <= limit {
            used += char_cols(chars[end]);
            end += 1;
        }
        if end == chars.len() {
            lines.push(chars[start..].iter().collect());
            break;
        }
        if end == start {
            // A character wider than the line: it goes alone.
            end = start + 1;
        }
        if lines.len() + 1 >= max_lines {
            // Shortened as shown (padding kept: the tooltip holds the same text, whole).
            let mut s = String::new();
            let mut used = 0;
            for &c in &chars[start..] {
                if used + char_cols(c) > limit.saturating_sub(1) {
                    break;
                }
                used += char_cols(c);
                s.push(c);
            }
            lines.push(format!("{}…", s.trim_end()));
            break;
        }
        let min = start + (end - start) / 3;
        let cut = (min.max(start + 1)..=end)
            .rev()
            .find(|&i| {
                !inside[i]
                    && (matches!(chars[i - 1], ' ' | ',' | ';' | '(' | '&' | '?')
                        || (i < chars.len()
                            && matches!(chars[i], '/' | '#' | '<' | '$')
                            && i > start + 1))
            })
            .unwrap_or(end);
        let line: String = chars[start..cut].iter().collect();
        lines.push(line.trim_end().to_string());
        start = cut;
        while start < chars.len() && chars[start] == ' ' {
            start += 1;
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// An item (`label` then `value`) as lines `cols` wide: continuation lines hang under the
/// value (or two columns in, when the label is wide).
fn item(label: &str, value: &str, class: &'static str, cols: usize) -> Vec<Line> {
    item_n(label, value, class, cols, MAX_ITEM_LINES)
}

/// An item in at most `max` lines (shortened with `…` beyond).
fn item_n(label: &str, value: &str, class: &'static str, cols: usize, max: usize) -> Vec<Line> {
    // The label keeps its padding (labels align; `  ` is a step that did not run).
    let full = format!("{label}{}", clean(value));
    // Continuation lines hang under the value in a wide box; in a narrow one, two columns in
    // (the value's room matters more there).
    let hang = if cols >= 48 && columns(label) * 2 <= cols {
        columns(label)
    } else {
        2
    };
    wrap(&full, cols, cols.saturating_sub(hang), max.max(1))
        .into_iter()
        .enumerate()
        .map(|(n, text)| Line {
            text,
            full: full.clone(),
            class,
            indent: if n == 0 { 0 } else { hang },
            step: None,
        })
        .collect()
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        "y"
    } else {
        "ies"
    }
}

/// Virtual seconds as a reader says them, as the timeline and `run` do (`45s`, `1m30s`).
fn duration(secs: f64) -> String {
    crate::output::human_duration(secs)
}

/// Whether a retry loop is drawn. ManageIQ retries a state whose step sets `ae_result` to
/// `retry`; a state written to poll says how often it may (`max_retries`), and `max_retries`
/// 0 turns the first retry into an error. So a loop is drawn where `max_retries` is set and
/// not 0 (a `${…}` substitution may be anything: drawn), or where the trace shows retries —
/// not on every state, where it would say nothing.
fn retries_possible(s: &State) -> bool {
    let set = s
        .max_retries
        .as_deref()
        .map(str::trim)
        .is_some_and(|m| !m.is_empty() && m.parse::<f64>().map_or(true, |n| n > 0.0));
    set || s.trace.as_ref().is_some_and(|t| t.retries > 0)
}

/// The state an on_error hook jumps to (`ae_next_state` in its arguments), if any.
fn error_jump(s: &State) -> Option<&str> {
    s.on_error.as_ref()?;
    let next = s.next_state.as_deref()?;
    s.on_error
        .as_deref()
        .is_some_and(|h| h.contains("ae_next_state"))
        .then_some(next)
}

/// Whether an error edge leaves this state: it has an on_error hook, or the run failed here.
fn has_error_edge(s: &State) -> bool {
    s.on_error.is_some() || s.trace.as_ref().is_some_and(|t| t.failed)
}

/// How much of a box's text is kept when the picture has no room for all of it: lines at most
/// of a step that did not run in a traced picture, of a hook, of the main. The layout tries
/// the first (everything, wrapped) first.
#[derive(Clone, Copy, Debug)]
struct Density {
    idle: usize,
    hook: usize,
    main: usize,
}

// The steps a traced run did not run are shortened first; then hooks and mains alike, so a
// box never cuts a hook that ran while it wraps its main.
const DENSITIES: [Density; 4] = [
    Density {
        idle: MAX_ITEM_LINES,
        hook: MAX_ITEM_LINES,
        main: MAX_ITEM_LINES,
    },
    Density {
        idle: 1,
        hook: MAX_ITEM_LINES,
        main: MAX_ITEM_LINES,
    },
    Density {
        idle: 1,
        hook: 3,
        main: 3,
    },
    Density {
        idle: 1,
        hook: 2,
        main: 2,
    },
];

/// Segments drawn on one row (the first line, then `same-row` lines after it), when they fit.
fn row(segments: &[(String, &'static str)], cols: usize) -> Option<Vec<Line>> {
    let segments: Vec<_> = segments.iter().filter(|(t, _)| !t.is_empty()).collect();
    let total: usize = segments.iter().map(|(t, _)| columns(t)).sum::<usize>()
        + 3 * segments.len().saturating_sub(1);
    if total > cols {
        return None;
    }
    let full = segments
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(" · ");
    let mut at = 0;
    Some(
        segments
            .iter()
            .enumerate()
            .map(|(i, (t, class))| {
                let line = Line {
                    text: t.clone(),
                    full: full.clone(),
                    class: if i == 0 { class } else { same_row(class) },
                    indent: at,
                    step: None,
                };
                at += columns(t) + 3;
                line
            })
            .collect(),
    )
}

/// The class of a segment drawn on its row's first line's row.
fn same_row(class: &'static str) -> &'static str {
    match class {
        "limits" => "limits same-row",
        "run passed" => "run passed same-row",
        "run failed" => "run failed same-row",
        "run retrying" => "run retrying same-row",
        _ => "dim same-row",
    }
}

/// A state's box, as lines `cols` wide (the nested machine's sub-box apart). `ended` is how
/// the run ended, for the state it ended in (its reason when the trace has none of its own,
/// the limit that stopped it).
fn state_lines(
    index: usize,
    s: &State,
    traced: bool,
    cols: usize,
    density: Density,
    ended: Option<&RunSummary>,
) -> Vec<Line> {
    let t = s.trace.as_ref();
    let mut lines = Vec::new();
    // The header: the name, then (when they fit on its row) the outcome and the limits.
    let mut extra = Vec::new();
    if s.main.is_none() {
        extra.push("no main".to_string());
    }
    if let Some(r) = &s.max_retries {
        extra.push(format!("max_retries {r}"));
    }
    if let Some(m) = &s.max_time {
        extra.push(format!("max_time {m}"));
    }
    let head = (clean(&format!("{}. {}", index + 1, s.name)), "state");
    let tail = (clean(&extra.join(" · ")), "limits");
    let cov = s.coverage.as_ref();
    let outcome = match (t, cov) {
        (Some(t), _) => outcome_lines(t, cols, ended),
        (None, _) if traced => item("", "not reached in this run", "run untouched", cols),
        (None, Some(c)) => coverage_lines(c, cols),
        (None, None) => Vec::new(),
    };
    match row(&[head.clone(), tail.clone()], cols) {
        Some(r) => lines.extend(r),
        None => {
            lines.extend(item("", &head.0, "state", cols));
            if !tail.0.is_empty() {
                lines.extend(item("", &tail.0, "limits", cols));
            }
        }
    }
    // The outcome (and why) in one place in every box: the lines under the name.
    lines.extend(outcome);
    // In a traced picture, each step a reached state has is marked: ✓ ran, ✗ ended in
    // error, blank (and greyed) did not run.
    // With coverage, each step is marked ✓ run by a test or ✗ never run.
    let mark = |step: &str| -> (&'static str, bool) {
        if let Some(c) = cov {
            return if c.ran(step) {
                ("✓ ", true)
            } else {
                ("✗ ", false)
            };
        }
        match t {
            None => ("", !traced),
            Some(t) => {
                if !t.ran(step) {
                    ("  ", false)
                } else if step == "main"
                    && t.steps()
                        .filter(|r| r.step == "main")
                        .last()
                        .is_some_and(|r| r.result == "error")
                {
                    ("✗ ", true)
                } else {
                    ("✓ ", true)
                }
            }
        }
    };
    if let Some(main) = &s.main {
        let value = match &s.message {
            Some(msg) => format!("{main}#{msg}"),
            None => main.clone(),
        };
        let commented = value.trim_start().starts_with('#');
        let value = if commented {
            format!("(commented out) {}", value.trim_start())
        } else {
            value
        };
        let (m, ran) = mark("main");
        let ran = ran && !commented;
        let max = if ran || cov.is_some() {
            density.main
        } else {
            density.idle
        };
        let class = match (
            cov.is_some(),
            !commented && (ran || (t.is_none() && cov.is_none())),
        ) {
            (true, true) => "main reached",
            (true, false) => "main never",
            (false, true) => "main",
            (false, false) => "main idle",
        };
        lines.extend(item_n(&format!("{m}main   → "), &value, class, cols, max));
    }
    for (step, hook) in [
        ("on_entry", &s.on_entry),
        ("on_exit", &s.on_exit),
        ("on_error", &s.on_error),
    ] {
        let Some(hook) = hook else { continue };
        let (m, ran) = mark(step);
        // A hook ManageIQ skips (`#…`) says so, greyed.
        let commented = hook.trim_start().starts_with('#');
        let ran = ran && !commented;
        let shown = if commented {
            format!("(commented out) {}", hook.trim_start())
        } else {
            hook.clone()
        };
        let class = match (
            cov.is_some(),
            step == "on_error",
            !commented && (ran || (t.is_none() && cov.is_none())),
        ) {
            (true, true, true) => "hook error reached",
            (true, true, false) => "hook error never",
            (true, false, true) => "hook reached",
            (true, false, false) => "hook never",
            (false, true, true) => "hook error",
            (false, true, false) => "hook error idle",
            (false, false, true) => "hook",
            (false, false, false) => "hook idle",
        };
        let max = if ran || cov.is_some() {
            density.hook
        } else {
            density.idle
        };
        let mut hook_lines = item_n(&format!("{m}{step:<LABEL$}"), &shown, class, cols, max);
        if step == "on_error" {
            hook_lines[0].step = Some("on_error");
        }
        lines.extend(hook_lines);
    }
    if let Some(next) = &s.next_state {
        lines.extend(item(
            "jumps to ",
            &format!("{next} (ae_next_state)"),
            "jump",
            cols,
        ));
    }
    lines
}

/// What the run did in a state: its outcome with its retries, the virtual time they took and
/// the domain that served its main; then why it failed or retried (`ended`: how the run
/// ended, when it ended here — its reason when the state's own is missing, the limit that
/// stopped a state still retrying).
fn outcome_lines(t: &Traced, cols: usize, ended: Option<&RunSummary>) -> Vec<Line> {
    let why = ended.and_then(RunSummary::reason);
    let stopped = match ended.and_then(|r| r.limit.as_deref()) {
        Some(limit) => format!(" when the run stopped (limit {limit})"),
        None => " when the run stopped".to_string(),
    };
    let retries = if t.retries > 0 {
        format!(" after {} retr{}", t.retries, plural(t.retries))
    } else {
        String::new()
    };
    let span = t
        .span()
        .filter(|(a, b)| b > a)
        .map(|(a, b)| format!(" over {}", duration(b - a)))
        .unwrap_or_default();
    let (what, class) = if t.failed {
        (format!("✗ failed here{retries}{span}"), "run failed")
    } else if t.result == "retry" {
        (
            format!("↻ still retrying{retries}{span}{stopped}"),
            "run retrying",
        )
    } else {
        let result = if t.result.is_empty() || t.result == "ok" {
            "ok".to_string()
        } else {
            t.result.clone()
        };
        (format!("✓ {result}{retries}{span}"), "run passed")
    };
    // The domain that served its main: the last visit's, else the last that names one (a
    // visit can end before its main runs, as when max_retries is exceeded).
    let main = t
        .steps()
        .filter(|r| r.step == "main" && r.domain.is_some())
        .last();
    let domain = t.domain.as_ref().or(main.and_then(|m| m.domain.as_ref()));
    let fqname = t.fqname.as_ref().or(main.and_then(|m| m.fqname.as_ref()));
    let served = domain
        .map(|d| format!(" · served by {d}"))
        .unwrap_or_default();
    let mut lines = item("", &format!("{what}{served}"), class, cols);
    if let Some(fq) = fqname {
        for l in &mut lines {
            l.full = clean(&format!("{} ({fq})", l.full));
        }
    }
    let reason = t.reason.as_deref().or(if t.failed || t.result == "retry" {
        why
    } else {
        None
    });
    if let Some(reason) = reason {
        let (label, class) = if t.failed {
            ("why: ", "reason failed")
        } else if t.result == "retry" {
            ("why: ", "reason retrying")
        } else {
            ("retried: ", "reason")
        };
        lines.extend(item(label, reason, class, cols));
    }
    lines
}

/// What the tests reached of a state: entered how often and how it ended, or never.
fn coverage_lines(c: &super::Reached, cols: usize) -> Vec<Line> {
    if c.entered == 0 {
        return item("", "✗ never entered by any test", "cov never", cols);
    }
    let ended: Vec<String> = c.results.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let text = if ended.is_empty() {
        format!("✓ entered {}× by tests", c.entered)
    } else {
        format!(
            "✓ entered {}× by tests · ended {}",
            c.entered,
            ended.join(", ")
        )
    };
    item("", &text, "cov entered", cols)
}

/// The coverage line of the header: states entered, hooks never run (`None` without
/// coverage).
fn coverage_summary(m: &Machine) -> Option<(String, bool)> {
    if !m.states.iter().any(|s| s.coverage.is_some()) {
        return None;
    }
    let entered = m
        .states
        .iter()
        .filter(|s| s.coverage.as_ref().is_some_and(|c| c.entered > 0))
        .count();
    let never: usize = m
        .states
        .iter()
        .map(|s| {
            [
                ("on_entry", &s.on_entry),
                ("on_exit", &s.on_exit),
                ("on_error", &s.on_error),
            ]
            .iter()
            .filter(|(step, hook)| {
                hook.is_some() && !s.coverage.as_ref().is_some_and(|c| c.ran(step))
            })
            .count()
        })
        .sum();
    let text = format!(
        "coverage: {entered} of {} states entered, {never} hook{} never run",
        m.states.len(),
        if never == 1 { "" } else { "s" }
    );
    Some((text, entered < m.states.len() || never > 0))
}

/// The nested machine's sub-box lines: its path, then its states.
fn nested_lines(s: &State, cols: usize) -> Vec<Line> {
    let Some((path, states)) = &s.nested else {
        return Vec::new();
    };
    let list = states
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}. {n}", i + 1))
        .collect::<Vec<_>>()
        .join(" → ");
    let mut lines = item("nested state machine ", path, "nested-text", cols);
    lines.extend(item("", &list, "nested-text", cols));
    lines
}

/// The rollback panel of a state. Untraced: the planned steps a failure here would run.
/// Traced: the steps its on_error instantiated — what ran, in order, with its outcome; a
/// state that failed with nothing run shows what was planned, labelled so; the planned
/// rollback of a state the run did not fail in is left out (it did not run: the picture tells
/// the run).
fn rollback_lines(s: &State, journal: bool, cols: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    match &s.trace {
        Some(t) if t.rollback().next().is_some() => {
            lines.extend(item(
                "",
                "rollback that ran (on_error):",
                "rollback-head",
                cols,
            ));
            // As many as the timeline draws; a trace's 10,000 deliveries each rolling back
            // made a box of 10,000 lines.
            let drawn = super::timeline::ROLLBACK_DRAWN;
            let more = t.rollback().count().saturating_sub(drawn);
            for (i, r) in t.rollback().enumerate().take(drawn) {
                let ok = r.result == "ok" || r.result.is_empty();
                let outcome = if ok {
                    "✓ ok".to_string()
                } else {
                    format!("✗ {}", r.result)
                };
                let reason = r
                    .reason
                    .as_ref()
                    .map(|why| format!(": {why}"))
                    .unwrap_or_default();
                lines.extend(item(
                    &format!("{}. ", i + 1),
                    &format!("{}  {outcome}{reason}", r.method),
                    if ok {
                        "rollback-step ran ok"
                    } else {
                        "rollback-step ran error"
                    },
                    cols,
                ));
            }
            if more > 0 {
                lines.extend(item(
                    "",
                    &format!("… {more} more (not drawn)"),
                    "rollback-step more",
                    cols,
                ));
            }
        }
        Some(t) if t.failed && !s.rollback.is_empty() => {
            let head = if journal {
                "planned rollback (journal; none ran in this run):"
            } else {
                "planned rollback (none ran in this run):"
            };
            lines.extend(planned_rollback(s, head, "rollback-head planned", cols));
        }
        Some(_) => {}
        None if s.rollback.is_empty() => {}
        None => {
            let head = if journal {
                "if it fails, roll back (journal):"
            } else {
                "if it fails, roll back:"
            };
            lines.extend(planned_rollback(s, head, "rollback-head", cols));
        }
    }
    lines
}

/// The rollback steps a failure of `s` would run, numbered, under `head`.
fn planned_rollback(s: &State, head: &str, head_class: &'static str, cols: usize) -> Vec<Line> {
    let mut lines = item("", head, head_class, cols);
    for (i, step) in s.rollback.iter().enumerate() {
        lines.extend(item(
            &format!("{}. ", i + 1),
            step,
            "rollback-step planned",
            cols,
        ));
    }
    lines
}

/// A state laid out at one wrap width: its box lines, nested sub-box and rollback panel.
struct Cell {
    lines: Vec<Line>,
    nested: Vec<Line>,
    side: Vec<Line>,
    /// Natural widths (px): the box, the rollback panel.
    box_w: f64,
    side_w: f64,
}

impl Cell {
    fn new(
        i: usize,
        s: &State,
        m: &Machine,
        (box_max, side_max): (f64, f64),
        density: Density,
        ended: Option<&RunSummary>,
    ) -> Cell {
        let cols = fit(box_max);
        let lines = state_lines(i, s, m.traced, cols, density, ended);
        let nested = nested_lines(s, fit(box_max - 2.0 * PAD));
        let journal = m.rollback_mode == Some(miq_automate_rollback::Mode::Journal);
        // A traced picture tells the run: no planned rollback where the run did not go.
        let side = if m.traced && s.trace.is_none() {
            Vec::new()
        } else {
            rollback_lines(s, journal, fit(side_max))
        };
        let widest = |ls: &[Line]| ls.iter().map(Line::px).fold(0.0, f64::max);
        let box_w = (widest(&lines) + 2.0 * PAD)
            .max(widest(&nested) + 4.0 * PAD)
            .max(MIN_BOX_W)
            .min(box_max);
        let side_w = if side.is_empty() {
            0.0
        } else {
            (widest(&side) + 2.0 * PAD).max(200.0).min(side_max)
        };
        Cell {
            lines,
            nested,
            side,
            box_w,
            side_w,
        }
    }

    /// Rows of text in the box (a same-row item takes none).
    fn rows(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| !l.class.ends_with("same-row"))
            .count()
    }

    fn nested_h(&self) -> f64 {
        if self.nested.is_empty() {
            0.0
        } else {
            self.nested.len() as f64 * LINE + 2.0 * PAD - 4.0
        }
    }

    fn box_h(&self) -> f64 {
        self.rows() as f64 * LINE
            + 2.0 * PAD
            + if self.nested.is_empty() {
                0.0
            } else {
                self.nested_h() + PAD
            }
    }

    fn side_h(&self) -> f64 {
        if self.side.is_empty() {
            0.0
        } else {
            self.side.len() as f64 * LINE + 2.0 * PAD
        }
    }

    fn height(&self, beside: bool) -> f64 {
        if self.side.is_empty() {
            self.box_h()
        } else if beside {
            self.box_h().max(self.side_h())
        } else {
            self.box_h() + 14.0 + self.side_h()
        }
    }
}

/// Characters that fit in a width.
fn fit(width: f64) -> usize {
    ((width - 2.0 * PAD) / CHAR).floor().max(8.0) as usize
}

/// One column of the layout: its states (indices), x and widths.
struct Column {
    cells: std::ops::Range<usize>,
    x: f64,
    box_w: f64,
    side_w: f64,
}

impl Column {
    fn box_x(&self) -> f64 {
        self.x + LOOP_W
    }
    /// The width of the states' part (boxes, and rollback panels beside them).
    fn inner_w(&self, beside: bool) -> f64 {
        if beside && self.side_w > 0.0 {
            self.box_w + SIDE_GAP + self.side_w
        } else {
            self.box_w
        }
    }
    fn rail_x(&self) -> f64 {
        self.box_x() + self.box_w + RAIL
    }
    fn right(&self, beside: bool) -> f64 {
        self.box_x() + self.inner_w(beside) + COL_RIGHT
    }
}

/// A candidate layout.
struct Layout {
    cells: Vec<Cell>,
    columns: Vec<Column>,
    beside: bool,
    width: f64,
    header: Header,
    /// Height of the states' part (the tallest column, with the end under the last).
    body_h: f64,
    end: Vec<Line>,
    error_end: Vec<Line>,
    height: f64,
}

impl Layout {
    /// Lines shortened (`…`) for want of room.
    fn shortened(&self) -> usize {
        self.cells
            .iter()
            .flat_map(|c| c.lines.iter().chain(&c.nested).chain(&c.side))
            .filter(|l| l.text.ends_with('…'))
            .count()
    }
}

/// The title, description, run summary and legend, wrapped to the picture's width.
struct Header {
    title: Vec<Line>,
    lines: Vec<Line>,
    legend: Vec<Vec<LegendItem>>,
}

impl Header {
    fn height(&self) -> f64 {
        12.0 + self.title.len() as f64 * 20.0
            + self.lines.len() as f64 * LINE
            + 8.0
            + self.legend.len() as f64 * 20.0
            + 14.0
    }
}

#[derive(Clone)]
struct LegendItem {
    symbol: &'static str,
    label: String,
}

impl LegendItem {
    fn new(symbol: &'static str, label: &str) -> LegendItem {
        LegendItem {
            symbol,
            label: label.to_string(),
        }
    }

    fn width(&self) -> f64 {
        26.0 + columns(&self.label) as f64 * CHAR + 22.0
    }
}

/// Splits heights (in order) into `k` runs minimising the tallest (`last` added to the last
/// run: the end node under it).
fn partition(heights: &[f64], k: usize, last: f64) -> Vec<std::ops::Range<usize>> {
    let n = heights.len();
    let run = |a: usize, b: usize| -> f64 {
        heights[a..b].iter().sum::<f64>() + GAP * (b - a).saturating_sub(1) as f64
    };
    // best[j][i]: the tallest column placing the first i states in j columns.
    let mut best = vec![vec![f64::INFINITY; n + 1]; k + 1];
    let mut cut = vec![vec![0usize; n + 1]; k + 1];
    best[0][0] = 0.0;
    for j in 1..=k {
        for i in 1..=n {
            for s in (j - 1)..i {
                let mut h = run(s, i);
                if j == k && i == n {
                    h += last;
                }
                let v = best[j - 1][s].max(h);
                if v < best[j][i] {
                    best[j][i] = v;
                    cut[j][i] = s;
                }
            }
        }
    }
    let mut ranges = Vec::new();
    let mut i = n;
    for j in (1..=k).rev() {
        let s = cut[j][i];
        ranges.push(s..i);
        i = s;
    }
    ranges.reverse();
    ranges
}

fn layout(machine: &Machine, k: usize, beside: bool, density: Density) -> Option<Layout> {
    let n = machine.states.len().max(1);
    if k > n {
        return None;
    }
    let budget = (SCREEN_W - 2.0 * MARGIN) / k as f64 - LOOP_W - COL_RIGHT;
    let (box_max, side_max) = if beside {
        let box_max = ((budget - SIDE_GAP) * 0.6).min(MAX_BOX_W);
        (box_max, (budget - SIDE_GAP - box_max).min(MAX_SIDE_W))
    } else {
        let box_max = budget.min(MAX_BOX_W);
        (box_max, (box_max - UNDER_INDENT).min(MAX_SIDE_W))
    };
    if box_max < MIN_BOX_W || side_max < 200.0 {
        return None;
    }
    // The run's reason goes to the state it ended in (the last that failed), when the trace
    // gives that state none of its own.
    let ended_in = machine.states.iter().rposition(|s| {
        s.trace
            .as_ref()
            .is_some_and(|t| t.failed || t.result == "retry")
    });
    let cells: Vec<Cell> = machine
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ended = machine.run.as_ref().filter(|_| Some(i) == ended_in);
            Cell::new(i, s, machine, (box_max, side_max), density, ended)
        })
        .collect();
    let any_side = cells.iter().any(|c| !c.side.is_empty());
    if beside && !any_side {
        return None;
    }
    let heights: Vec<f64> = cells.iter().map(|c| c.height(beside)).collect();
    // The end under the last state: its label wraps to the last column's width.
    let end_cols = fit(box_max - 30.0);
    let end = end_lines(machine, end_cols);
    let end_h = GAP + 14.0 + end.len() as f64 * LINE;
    let ranges = if machine.states.is_empty() {
        std::iter::once(0..0).collect()
    } else {
        partition(&heights, k, end_h)
    };
    let mut x = MARGIN;
    let mut cols = Vec::new();
    for r in ranges {
        let box_w = cells[r.clone()]
            .iter()
            .map(|c| {
                if beside {
                    c.box_w
                } else {
                    c.box_w.max(if c.side.is_empty() {
                        0.0
                    } else {
                        UNDER_INDENT + c.side_w
                    })
                }
            })
            .fold(MIN_BOX_W, f64::max);
        let side_w = cells[r.clone()]
            .iter()
            .map(|c| c.side_w)
            .fold(0.0, f64::max);
        let col = Column {
            cells: r,
            x,
            box_w,
            side_w,
        };
        x = col.right(beside);
        cols.push(col);
    }
    let body_h = cols
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let h = heights[c.cells.clone()].iter().sum::<f64>()
                + GAP * c.cells.len().saturating_sub(1) as f64;
            if j + 1 == cols.len() {
                h + end_h
            } else {
                h
            }
        })
        .fold(0.0, f64::max);
    let width = (x + MARGIN).max(MIN_PICTURE_W).ceil();
    let header = header(machine, &cells, width);
    let error_end = if error_end_drawn(machine) {
        end_error_lines(machine, fit(width - 2.0 * MARGIN - LOOP_W - 30.0))
    } else {
        Vec::new()
    };
    let bottom = if error_end.is_empty() {
        16.0
    } else {
        34.0 + 18.0 + error_end.len() as f64 * LINE + 2.0 * PAD + 8.0
    };
    let height = (header.height() + body_h + bottom).ceil();
    Some(Layout {
        cells,
        columns: cols,
        beside,
        width,
        header,
        body_h,
        end,
        error_end,
        height,
    })
}

/// Whether the picture has an error end: some state's errors go there, or the run ended in
/// error.
fn error_end_drawn(m: &Machine) -> bool {
    m.states
        .iter()
        .any(|s| has_error_edge(s) && error_jump(s).is_none())
        || m.run.as_ref().is_some_and(|r| r.ae_result == "error")
}

/// The end node's label: `end` without a trace; with one, how the run ended there.
fn end_lines(m: &Machine, cols: usize) -> Vec<Line> {
    let text = match &m.run {
        Some(r) if r.ae_result == "error" => {
            "end (not reached: the run ended in error)".to_string()
        }
        Some(r) => {
            let why = r
                .limit
                .as_deref()
                .map(|l| format!("stopped by {l}"))
                .or_else(|| r.reason().map(str::to_string));
            match why {
                Some(why) => format!("end: {} — {why}", r.ae_result),
                None => format!("end: {}", r.ae_result),
            }
        }
        None => "end".to_string(),
    };
    let class = match &m.run {
        Some(r) if r.ae_result == "error" => "end-label dim",
        Some(r) if r.ae_result == "ok" => "end-label passed",
        Some(_) => "end-label retrying",
        None => "end-label",
    };
    item("", &text, class, cols)
}

/// The error end's label: where on_error leads (`ae_result error`), or how the run ended.
fn end_error_lines(m: &Machine, cols: usize) -> Vec<Line> {
    match &m.run {
        Some(r) if r.ae_result == "error" => {
            let why = r.reason().unwrap_or("(no reason given)");
            item("end: error — ", why, "end-label failed", cols)
        }
        _ => item(
            "",
            "error end: ae_result error (after on_error)",
            "end-label error",
            cols,
        ),
    }
}

fn header(m: &Machine, cells: &[Cell], width: f64) -> Header {
    let title_cols = ((width - 2.0 * MARGIN) / TITLE_CHAR).floor() as usize;
    let cols = ((width - 2.0 * MARGIN) / CHAR).floor() as usize;
    let title = item("", &m.title, "title", title_cols)
        .into_iter()
        .map(|mut l| {
            l.indent = 0;
            l
        })
        .collect();
    let mut lines = Vec::new();
    if let Some(d) = &m.description {
        lines.extend(item("", d, "dim", cols));
    }
    if let Some(r) = &m.run {
        let mut text = format!(
            "this run: ae_result {} · {} deliver{} · {} on the virtual clock",
            r.ae_result,
            r.deliveries,
            if r.deliveries == 1 { "y" } else { "ies" },
            duration(r.virtual_seconds)
        );
        if let Some(at) = &r.started_at {
            let _ = write!(text, " · started {at}");
        }
        let class = if r.ae_result == "error" {
            "summary failed"
        } else {
            "summary"
        };
        lines.extend(item("", &text, class, cols));
    }
    if let Some((text, missing)) = coverage_summary(m) {
        let class = if missing {
            "summary uncovered"
        } else {
            "summary"
        };
        lines.extend(item("", &text, class, cols));
    }
    // The legend: only what the picture shows, in rows inside its width.
    let mut items = vec![LegendItem::new("box", "state")];
    if m.states.iter().any(|s| s.nested.is_some()) {
        items.push(LegendItem::new("nested", "nested state machine"));
    }
    if m.states.iter().any(retries_possible) {
        items.push(LegendItem::new(
            "loop",
            "retry (max_retries set, or it retried)",
        ));
    }
    if m.states
        .iter()
        .any(|s| s.trace.as_ref().is_some_and(|t| t.retries > 0))
    {
        items.push(LegendItem::new("loop retried", "retried in this run"));
    }
    if m.states.iter().any(has_error_edge) {
        items.push(LegendItem::new("error", "on_error: where an error goes"));
    }
    let sides = || cells.iter().filter_map(|c| c.side.first());
    if sides().any(|h| !h.class.contains("planned")) {
        items.push(LegendItem::new(
            if m.traced { "rollback ran" } else { "rollback" },
            if m.traced {
                "rollback that ran"
            } else {
                "rollback if it fails (planned)"
            },
        ));
    }
    if sides().any(|h| h.class.contains("planned")) {
        items.push(LegendItem::new("rollback", "rollback planned (none ran)"));
    }
    if m.traced {
        let outcomes: Vec<Outcome> = m.states.iter().filter_map(|s| Outcome::of(m, s)).collect();
        for (outcome, symbol, label) in [
            (Outcome::Passed, "box passed", "passed in this run"),
            (
                Outcome::Retried,
                "box retried",
                "retried (or still retrying) in this run",
            ),
            (Outcome::Failed, "box failed", "failed in this run"),
            (Outcome::NotReached, "box untouched", "not reached"),
        ] {
            if outcomes.contains(&outcome) {
                items.push(LegendItem::new(symbol, label));
            }
        }
        // The step marks drawn: ✓ ran, ✗ failed, greyed (did not run, in a reached state).
        let steps: Vec<&Line> = cells
            .iter()
            .flat_map(|c| &c.lines)
            .filter(|l| l.class.starts_with("main") || l.class.starts_with("hook"))
            .collect();
        let mut marks = Vec::new();
        if steps
            .iter()
            .any(|l| l.indent == 0 && l.text.starts_with("✓ "))
        {
            marks.push("✓ ran");
        }
        if steps
            .iter()
            .any(|l| l.indent == 0 && l.text.starts_with("✗ "))
        {
            marks.push("✗ failed");
        }
        if steps.iter().any(|l| l.class.ends_with("idle")) {
            marks.push("(grey: did not run)");
        }
        if !marks.is_empty() {
            items.push(LegendItem::new("mark", &marks.join("  ")));
        }
    }
    if coverage_summary(m).is_some() {
        for (symbol, label) in [
            ("box covered", "entered by a test"),
            ("box uncovered", "never entered by any test"),
            ("mark", "✓ run by a test  ✗ never run"),
        ] {
            items.push(LegendItem::new(symbol, label));
        }
    }
    let mut legend: Vec<Vec<LegendItem>> = vec![Vec::new()];
    let mut x = MARGIN;
    for it in items {
        if x + it.width() > width - MARGIN && !legend.last().unwrap().is_empty() {
            legend.push(Vec::new());
            x = MARGIN;
        }
        x += it.width();
        legend.last_mut().unwrap().push(it);
    }
    Header {
        title,
        lines,
        legend,
    }
}

/// The whole picture.
pub fn draw(machine: &Machine) -> String {
    // The fewest columns whose picture fits the screen; rollback panels beside their states
    // when there is room, else under them. None fits: the lowest picture.
    // Then the same with less text in the boxes (see `Density`): of the pictures that fit,
    // the one that shortens the fewest lines, then the one with the fewest columns.
    let mut fitting: Option<(usize, Layout)> = None;
    let mut lowest: Option<Layout> = None;
    for density in DENSITIES {
        for k in 1..=4 {
            for beside in [true, false] {
                let Some(l) = layout(machine, k, beside, density) else {
                    continue;
                };
                if l.width <= SCREEN_W && l.height <= SCREEN_H {
                    let cut = l.shortened();
                    if fitting.as_ref().is_none_or(|(c, _)| cut < *c) {
                        fitting = Some((cut, l));
                    }
                } else if lowest.as_ref().is_none_or(|c| l.height < c.height) {
                    lowest = Some(l);
                }
            }
        }
    }
    let l = fitting
        .map(|(_, l)| l)
        .or(lowest)
        .unwrap_or_else(|| layout(machine, 1, false, DENSITIES[0]).expect("one column always"));
    render(machine, &l)
}

/// A `<text>` with its tooltip.
fn text(out: &mut String, class: &str, x: f64, y: f64, shown: &str, full: &str) {
    let _ = writeln!(
        out,
        "<text class=\"{class}\" x=\"{x}\" y=\"{y}\"><title>{}</title>{}</text>",
        esc(full),
        esc(shown)
    );
}

/// A box's lines from its top-left corner; returns each line's baseline (same-row items
/// share their row's).
fn draw_lines(out: &mut String, lines: &[Line], x: f64, y: f64) -> Vec<f64> {
    let mut baselines = Vec::new();
    let mut row = 0usize;
    for (i, line) in lines.iter().enumerate() {
        if line.class.ends_with("same-row") && i > 0 {
            row -= 1;
        }
        let base = y + FONT + row as f64 * LINE;
        let class = line.class.trim_end_matches(" same-row");
        text(
            out,
            class,
            x + line.indent as f64 * CHAR,
            base,
            &line.text,
            &line.full,
        );
        baselines.push(base);
        row += 1;
    }
    baselines
}

fn render(m: &Machine, l: &Layout) -> String {
    let mut body = String::new();
    let width = l.width;
    // Header.
    let mut y = 12.0;
    for line in &l.header.title {
        y += 20.0;
        text(&mut body, "title", MARGIN, y - 4.0, &line.text, &line.full);
    }
    for line in &l.header.lines {
        y += LINE;
        text(
            &mut body,
            line.class,
            MARGIN + line.indent as f64 * CHAR,
            y - 4.0,
            &line.text,
            &line.full,
        );
    }
    y += 8.0;
    let _ = write!(body, "<g class=\"legend\">");
    for row in &l.header.legend {
        y += 20.0;
        let mut x = MARGIN;
        for it in row {
            legend_symbol(&mut body, it.symbol, x, y - 4.0);
            let _ = write!(
                body,
                "<text class=\"dim\" x=\"{}\" y=\"{}\">{}</text>",
                x + 26.0,
                y - 4.0,
                esc(&it.label)
            );
            x += it.width();
        }
    }
    let _ = writeln!(body, "</g>");
    let top = y + 14.0;
    debug_assert!((top - l.header.height()).abs() < 0.01);

    // Where each state's box is: (x, y, w, h) for jumps between them.
    let mut boxes: Vec<(f64, f64, f64, f64)> = vec![(0.0, 0.0, 0.0, 0.0); m.states.len()];
    let mut placed = Vec::new();
    for col in &l.columns {
        let mut y = top;
        for i in col.cells.clone() {
            let cell = &l.cells[i];
            boxes[i] = (col.box_x(), y, col.box_w, cell.box_h());
            placed.push((i, y));
            y += cell.height(l.beside) + GAP;
        }
    }
    let bottom_of = |col: &Column| -> f64 {
        col.cells
            .clone()
            .map(|i| boxes[i].1 + l.cells[i].height(l.beside))
            .fold(top, f64::max)
    };
    let bus_y = top + l.body_h + 22.0;
    let mut rails: Vec<(f64, f64)> = Vec::new(); // (x, top y) of each column's rail

    for (ci, col) in l.columns.iter().enumerate() {
        let mut rail_top: Option<f64> = None;
        for i in col.cells.clone() {
            let s = &m.states[i];
            let cell = &l.cells[i];
            let (bx, y, bw, bh) = boxes[i];
            // As Mermaid and DOT class it: passed, retried (ok after retries, or still
            // retrying when the run stopped), failed, not reached.
            let class = match (Outcome::of(m, s), &s.coverage) {
                (Some(Outcome::Failed), _) => "box failed",
                (Some(Outcome::Retried), _) => "box retried",
                (Some(Outcome::Passed), _) => "box passed",
                (Some(Outcome::NotReached), _) => "box untouched",
                (None, Some(c)) if c.entered > 0 => "box covered",
                (None, Some(_)) => "box uncovered",
                (None, None) => "box",
            };
            let coverage = match &s.coverage {
                Some(c) if c.entered > 0 => " data-coverage=\"entered\"",
                Some(_) => " data-coverage=\"never\"",
                None => "",
            };
            let _ = writeln!(
                body,
                "<g class=\"state-group framed\" data-state=\"{name}\"{coverage}><rect class=\"{class}\" x=\"{bx}\" y=\"{y}\" width=\"{bw}\" height=\"{bh}\" rx=\"8\"/>",
                name = esc(&s.name)
            );
            let baselines = draw_lines(&mut body, &cell.lines, bx + PAD, y + PAD);
            if !cell.nested.is_empty() {
                let ny = y + PAD + cell.rows() as f64 * LINE + 2.0;
                let _ = writeln!(
                    body,
                    "<g class=\"nested-group framed\"><rect class=\"nested\" x=\"{}\" y=\"{ny}\" width=\"{}\" height=\"{}\" rx=\"6\"/>",
                    bx + PAD,
                    bw - 2.0 * PAD,
                    cell.nested_h()
                );
                draw_lines(&mut body, &cell.nested, bx + 2.0 * PAD, ny + PAD - 2.0);
                let _ = writeln!(body, "</g>");
            }
            // The retry loop on the left: the state runs again (a re-delivery) until it is
            // done or its limits are reached.
            if retries_possible(s) {
                let (lt, lb) = (y + 12.0, y + bh.min(64.0) - 10.0);
                let retried = if s.trace.as_ref().is_some_and(|t| t.retries > 0) {
                    " retried"
                } else {
                    ""
                };
                let _ = writeln!(
                    body,
                    "<path class=\"loop{retried}\" d=\"M {bx} {lb} C {a} {lb}, {a} {lt}, {b} {lt}\" marker-end=\"url(#arrow)\"/>\
                     <text class=\"loop-label\" x=\"{lx}\" y=\"{ly}\">retry</text>",
                    a = bx - 26.0,
                    b = bx - 4.0,
                    lx = col.x + 2.0,
                    ly = lb + 12.0
                );
            }
            // The error edge: from the on_error line (or the box's side) to the rail and on
            // to the error end, or to the state on_error jumps to.
            if has_error_edge(s) {
                let ey = cell
                    .lines
                    .iter()
                    .zip(&baselines)
                    .find(|(line, _)| line.step == Some("on_error"))
                    .map_or(y + bh / 2.0, |(_, b)| b - 4.0);
                let ran = if s.trace.as_ref().is_some_and(|t| t.failed) {
                    " taken"
                } else {
                    ""
                };
                let target = error_jump(s).and_then(|name| {
                    m.states
                        .iter()
                        .position(|st| st.name.eq_ignore_ascii_case(name))
                });
                match target {
                    Some(t) => {
                        let (tx, ty, tw, _) = boxes[t];
                        let out = col.rail_x() + 16.0;
                        let _ = writeln!(
                            body,
                            "<path class=\"error-edge jump{ran}\" data-to=\"{}\" d=\"M {} {ey} C {out} {ey}, {out} {}, {} {}\" marker-end=\"url(#error-arrow)\"/>",
                            esc(&m.states[t].name),
                            bx + bw,
                            ty + 14.0,
                            tx + tw + 2.0,
                            ty + 14.0
                        );
                    }
                    None => {
                        let _ = writeln!(
                            body,
                            "<path class=\"error-edge{ran}\" d=\"M {} {ey} L {} {ey}\"/>",
                            bx + bw,
                            col.rail_x()
                        );
                        rail_top = Some(rail_top.map_or(ey, |t: f64| t.min(ey)));
                    }
                }
            }
            let _ = writeln!(body, "</g>");
            if !cell.side.is_empty() {
                let (sx, sy, connector) = if l.beside {
                    let sx = bx + bw + SIDE_GAP;
                    (
                        sx,
                        y,
                        format!("M {} {} L {sx} {}", bx + bw, y + 20.0, y + 20.0),
                    )
                } else {
                    let sx = bx + UNDER_INDENT;
                    let sy = y + bh + 14.0;
                    (
                        sx,
                        sy,
                        format!("M {} {} L {} {sy}", sx + 20.0, y + bh, sx + 20.0),
                    )
                };
                let sw = if l.beside {
                    col.side_w
                } else {
                    col.box_w - UNDER_INDENT
                };
                let ran = if s.trace.is_some() && !cell.side[0].class.contains("planned") {
                    " ran"
                } else {
                    " planned"
                };
                let _ = writeln!(
                    body,
                    "<g class=\"rollback-group framed{ran}\" data-state=\"{name}\"><path class=\"connector\" d=\"{connector}\"/>\
                     <rect class=\"rollback{ran}\" x=\"{sx}\" y=\"{sy}\" width=\"{sw}\" height=\"{}\" rx=\"8\"/>",
                    cell.side_h(),
                    name = esc(&s.name),
                );
                draw_lines(&mut body, &cell.side, sx + PAD, sy + PAD);
                let _ = writeln!(body, "</g>");
            }
        }
        // The flow: down the column, then on to the next column's first state.
        let ax = col.box_x() + ARROW_DX;
        let cells: Vec<usize> = col.cells.clone().collect();
        for pair in cells.windows(2) {
            let (_, y0, _, h0) = boxes[pair[0]];
            let (_, y1, _, _) = boxes[pair[1]];
            let _ = writeln!(
                body,
                "<path class=\"flow\" d=\"M {ax} {} L {ax} {}\" marker-end=\"url(#arrow)\"/>",
                y0 + h0,
                y1 - 2.0
            );
        }
        if let (Some(&last), Some(next)) = (cells.last(), l.columns.get(ci + 1)) {
            let (_, y0, _, h0) = boxes[last];
            let down = bottom_of(col).max(y0 + h0) + 10.0;
            let gx = col.right(l.beside) - 8.0;
            let nx = next.box_x() + ARROW_DX;
            let up = top - 10.0;
            let _ = writeln!(
                body,
                "<path class=\"flow\" d=\"M {ax} {} L {ax} {down} L {gx} {down} L {gx} {up} L {nx} {up} L {nx} {}\" marker-end=\"url(#arrow)\"/>",
                y0 + h0,
                top - 2.0
            );
        }
        if let Some(t) = rail_top {
            rails.push((col.rail_x(), t));
        }
    }
    // The end, under the last state.
    let last = l.columns.last().expect("a column");
    let ax = last.box_x() + ARROW_DX;
    let end_top = last
        .cells
        .clone()
        .last()
        .map_or(top, |i| boxes[i].1 + l.cells[i].height(l.beside))
        .max(top);
    let cy = end_top + GAP + 7.0;
    let ran = match &m.run {
        Some(r) if r.ae_result != "error" => " reached",
        _ => "",
    };
    let end_w = last.box_w.max(MIN_BOX_W) - 30.0 + 2.0 * PAD;
    let _ = writeln!(
        body,
        "<path class=\"flow\" d=\"M {ax} {end_top} L {ax} {}\" marker-end=\"url(#arrow)\"/>\
         <g class=\"end-group framed{ran}\" data-end=\"end\"><rect class=\"end-box\" x=\"{}\" y=\"{}\" width=\"{end_w}\" height=\"{}\"/>\
         <circle class=\"end\" cx=\"{ax}\" cy=\"{cy}\" r=\"8\"/>",
        cy - 10.0,
        ax + 14.0,
        cy - 13.0,
        l.end.len() as f64 * LINE + 6.0,
    );
    draw_lines(&mut body, &l.end, ax + 14.0 + PAD, cy - 10.0);
    let _ = writeln!(body, "</g>");

    // The error end: a rail right of each column gathers its error edges into a bus along
    // the bottom, which leads to it.
    if !l.error_end.is_empty() {
        let first = &l.columns[0];
        let ex = first.box_x() + ARROW_DX;
        let ey = bus_y + 24.0 + 9.0;
        let taken = match &m.run {
            Some(r) if r.ae_result == "error" => " reached",
            _ => "",
        };
        let mut d = String::new();
        for (x, t) in &rails {
            let _ = write!(d, "M {x} {t} L {x} {bus_y} ");
        }
        let far = rails.iter().map(|r| r.0).fold(ex, f64::max);
        let _ = write!(d, "M {far} {bus_y} L {ex} {bus_y} L {ex} {}", ey - 10.0);
        let _ = writeln!(
            body,
            "<path class=\"error-rail{taken}\" d=\"{d}\" marker-end=\"url(#error-arrow)\"/>"
        );
        let lw = (width - MARGIN) - (ex + 14.0);
        let _ = writeln!(
            body,
            "<g class=\"end-group framed error-end{taken}\" data-end=\"error\"><rect class=\"end-box error\" x=\"{}\" y=\"{}\" width=\"{lw}\" height=\"{}\"/>\
             <circle class=\"end error\" cx=\"{ex}\" cy=\"{ey}\" r=\"8\"/>\
             <path class=\"end-cross\" d=\"M {} {} L {} {} M {} {} L {} {}\"/>",
            ex + 14.0,
            ey - 13.0,
            l.error_end.len() as f64 * LINE + 6.0,
            ex - 4.0,
            ey - 4.0,
            ex + 4.0,
            ey + 4.0,
            ex - 4.0,
            ey + 4.0,
            ex + 4.0,
            ey - 4.0,
        );
        draw_lines(&mut body, &l.error_end, ex + 14.0 + PAD, ey - 10.0);
        let _ = writeln!(body, "</g>");
    }

    let height = l.height;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"DejaVu Sans Mono, monospace\" font-size=\"{FONT}\">\n<title>{title}</title>\n<defs>\
         <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker>\
         <marker id=\"error-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#b3261e\"/></marker></defs>\n<style>{STYLE}</style>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n{body}</svg>\n",
        title = esc(&m.title)
    )
}

/// A legend item's symbol at (x, baseline y).
fn legend_symbol(out: &mut String, symbol: &str, x: f64, y: f64) {
    match symbol {
        "loop" | "loop retried" => {
            let _ = write!(
                out,
                "<path class=\"{symbol}\" d=\"M {x} {y} C {a} {y}, {a} {b}, {c} {b}\" marker-end=\"url(#arrow)\"/>",
                a = x - 2.0,
                b = y - 10.0,
                c = x + 16.0
            );
        }
        "error" => {
            let _ = write!(
                out,
                "<path class=\"error-edge\" d=\"M {x} {m} L {e} {m}\" marker-end=\"url(#error-arrow)\"/>",
                m = y - 4.0,
                e = x + 20.0
            );
        }
        "mark" => {}
        class => {
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{x}\" y=\"{}\" width=\"18\" height=\"12\" rx=\"3\"/>",
                y - 10.0
            );
        }
    }
}

const STYLE: &str = r#"
text { fill: #1d1d1f; white-space: pre; }
.title { font-size: 15px; font-weight: bold; }
.state { font-weight: bold; }
text.dim { fill: #666; }
.summary { fill: #333; }
.summary.failed { fill: #b3261e; font-weight: bold; }
.main { fill: #1f3f7f; }
.hook { fill: #333; }
.hook.error { fill: #8a1c14; }
text.idle, .hook.idle, .hook.error.idle { fill: #9a9a9a; }
.limits { fill: #6b4e00; }
.jump { fill: #5b2c8f; }
.run.passed { fill: #1b7f3b; font-weight: bold; }
.run.failed { fill: #b3261e; font-weight: bold; }
.run.retrying { fill: #a05a00; font-weight: bold; }
.run.untouched { fill: #888; font-style: italic; }
.reason { fill: #555; }
.reason.failed { fill: #b3261e; }
.reason.retrying { fill: #a05a00; }
.box { fill: #f7f8fb; stroke: #6b7a99; stroke-width: 1.5; }
.box.passed { fill: #e8f5e9; stroke: #1b7f3b; stroke-width: 2; }
.box.failed { fill: #fdecea; stroke: #b3261e; stroke-width: 3; }
.box.retried { fill: #fff4e5; stroke: #c77700; stroke-width: 2; }
.box.untouched { fill: #f4f4f4; stroke: #bbb; stroke-dasharray: 4 3; }
.nested { fill: #eef2fb; stroke: #8aa0d0; stroke-dasharray: 5 3; }
.nested-text { fill: #2a3f6f; }
.rollback { fill: #fff4e5; stroke: #c77700; stroke-width: 1.5; stroke-dasharray: 6 3; }
.rollback.ran { stroke-dasharray: none; stroke-width: 2; }
.rollback-head { fill: #8a4b00; font-weight: bold; }
.rollback-step { fill: #6b3a00; }
.rollback-step.ran.ok { fill: #1b7f3b; }
.rollback-step.ran.error { fill: #b3261e; }
.connector { stroke: #c77700; stroke-dasharray: 4 3; fill: none; }
.flow { stroke: #555; stroke-width: 1.5; fill: none; }
.loop { stroke: #6b7a99; stroke-width: 1.5; fill: none; }
.loop.retried { stroke: #c77700; stroke-width: 2.5; }
.loop-label { fill: #6b7a99; font-size: 11px; }
.error-edge, .error-rail { stroke: #c0392b; stroke-width: 1.3; stroke-dasharray: 5 4; fill: none; opacity: 0.75; }
.error-edge.taken, .error-rail.reached { stroke: #b3261e; stroke-width: 2.5; opacity: 1; }
.end { fill: #fff; stroke: #555; stroke-width: 2; }
.end.error { stroke: #b3261e; }
.end-cross { stroke: #b3261e; stroke-width: 2; fill: none; }
.end-box { fill: none; stroke: none; }
.error-end.reached .end-box { fill: #fdecea; stroke: #b3261e; stroke-width: 1.5; }
.end-label { fill: #333; }
.end-label.dim { fill: #888; }
.end-label.passed { fill: #1b7f3b; font-weight: bold; }
.end-label.retrying { fill: #a05a00; font-weight: bold; }
.end-label.error { fill: #8a1c14; }
.end-label.failed { fill: #b3261e; font-weight: bold; }
.box.covered { fill: #e8f5e9; stroke: #1b7f3b; stroke-width: 2; }
.box.uncovered { fill: #fdecea; stroke: #b3261e; stroke-width: 2; stroke-dasharray: 6 3; }
text.reached { fill: #1b6b35; }
text.never { fill: #b3261e; }
.cov.entered { fill: #1b7f3b; font-weight: bold; }
.cov.never { fill: #b3261e; font-weight: bold; }
.summary.uncovered { fill: #b3261e; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_paths_before_a_slash_and_keeps_every_character() {
        let path = "/Infrastructure/VM/Provisioning/StateMachines/Methods/CustomizeRequest#vmware";
        let lines = wrap(path, 30, 28, 6);
        assert!(lines.iter().all(|l| columns(l) <= 30), "{lines:?}");
        assert_eq!(lines.concat(), path);
        assert!(lines[1].starts_with('/'), "{lines:?}");
        let long = "x".repeat(500);
        let cut = wrap(&long, 20, 20, 3);
        assert_eq!(cut.len(), 3);
        assert!(cut[2].ends_with('…'));
        assert_eq!(wrap("名前名前", 5, 5, 6), ["名前", "名前"]);
    }

    #[test]
    fn a_retry_loop_only_where_a_retry_can_happen() {
        let state = |r: Option<&str>| State {
            name: "S".into(),
            max_retries: r.map(str::to_string),
            ..State::default()
        };
        assert!(retries_possible(&state(Some("100"))));
        assert!(retries_possible(&state(Some("${/#max}"))));
        assert!(!retries_possible(&state(Some("0"))));
        assert!(!retries_possible(&state(None)));
        let mut retried = state(None);
        retried.trace = Some(Traced {
            retries: 2,
            ..Traced::default()
        });
        assert!(retries_possible(&retried));
    }

    #[test]
    fn a_commented_out_main_or_hook_says_so() {
        let m = Machine {
            title: "/D/ns/C/i".into(),
            states: vec![State {
                name: "S".into(),
                // A value `#/ns/C/i`: the target empty, the rest read as the message.
                main: Some(String::new()),
                message: Some("/ns/C/i".into()),
                on_entry: Some("# update_provision_status(status => 'x')".into()),
                ..State::default()
            }],
            ..Machine::default()
        };
        let svg = draw(&m);
        assert!(
            svg.contains("main idle\" x=") && svg.contains("main   → (commented out) #/ns/C/i"),
            "{svg}"
        );
        assert!(
            svg.contains("on_entry (commented out) # update_provision_status"),
            "{svg}"
        );
    }

    #[test]
    fn durations_read_as_the_timeline_and_run_say_them() {
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(90.0), "1m30s");
        assert_eq!(duration(330.0), "5m30s");
        assert_eq!(duration(3.0 * 3600.0 + 300.0), "3h5m");
        assert_eq!(duration(7200.0), "2h");
    }
}
