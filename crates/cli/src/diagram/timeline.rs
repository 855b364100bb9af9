//! `--output timeline`: a run on the virtual clock. Time runs across (an axis in human units,
//! scaled to fit), a row per state the run reached (in the machine's order), a bar per visit
//! of each delivery coloured by how it ended (ok green, retry amber, error red), the wait a
//! retry asked for as a dashed line up to the next visit, the failure's reason beside its bar,
//! the rollback its on_error ran, and how the run ended.

use std::fmt::Write as _;

use super::text::{wrap, Outcome};
use super::{width as columns, Machine, State, Visit};

/// The picture's width (at most 1600: it fits a screen and a page).
const WIDTH: f64 = 1400.0;
const MARGIN: f64 = 16.0;
/// DejaVu Sans Mono 13px advances 7.83px a character: 8 keeps text off the edges.
const CHAR: f64 = 8.0;
const FONT: f64 = 13.0;
const SMALL: f64 = 11.0;
const SMALL_CHAR: f64 = 7.0;
const LINE: f64 = 17.0;
const ROW: f64 = 30.0;
const BAR_H: f64 = 18.0;
/// The narrowest bar (a delivery takes no virtual time: it still shows).
const BAR_MIN: f64 = 6.0;
const BAR_MAX: f64 = 26.0;
/// The column on the right kept for the failure's reason and the rollback's steps.
const NOTE_W: f64 = 420.0;
/// The most visits of one state drawn (the first and last halves; the row says how many
/// more): a 10,000-delivery trace drew 10,000 bars a row, each with its tooltip, and each
/// bar's width looked at every other visit (quadratic).
pub const VISITS_DRAWN: usize = 200;
/// The most rollback steps of one state drawn as rows (then a row saying how many more).
pub const ROLLBACK_DRAWN: usize = 50;

const STYLE: &str = "\
.title{font-weight:bold}\
.dim{fill:#6b7280}\
.axis{stroke:#374151;stroke-width:1}\
.grid{stroke:#e5e7eb;stroke-width:1}\
.band{fill:#f9fafb}\
.bar{stroke:#111827;stroke-width:0.6}\
.bar.ok{fill:#2e7d32}.bar.retry{fill:#e0a100}.bar.error{fill:#c62828}.bar.other{fill:#78909c}\
.num{fill:#fff;font-size:11px}\
.wait{stroke:#b07d00;stroke-width:1.5;stroke-dasharray:5 4}\
.waitlabel{fill:#8a6200;font-size:11px}\
.reason{fill:#b3261e}\
.mark.ok{fill:#2e7d32}.mark.error{fill:#c62828}\
.rbtext.ok{fill:#1b5e20}.rbtext.error{fill:#b3261e}\
.end{stroke:#111827;stroke-width:1.5;stroke-dasharray:2 3}\
.result.error{fill:#b3261e;font-weight:bold}.result.ok{fill:#1b5e20;font-weight:bold}.result.retry{fill:#8a6200;font-weight:bold}";

/// Text for XML: control characters shown escaped (`\u{1}`), then XML-escaped.
fn esc(text: &str) -> String {
    crate::html::esc(&crate::output::terminal_text(text))
}

/// Text wrapped to a width in pixels (control characters shown escaped first, so that the
/// escape's width is counted).
fn lines(text: &str, px: f64, char_w: f64) -> Vec<String> {
    let cols = ((px / char_w).floor() as usize).max(8);
    wrap(&crate::output::terminal_text(text), cols)
}

/// Virtual seconds in a reader's units: `0s`, `45s`, `2m`, `2m30s`, `1h`, `1h5m`, `2d` (the
/// form every output uses).
pub fn human(secs: f64) -> String {
    crate::output::human_duration(secs)
}

/// The tick step and the axis' end for a run of `total` seconds: at most ten ticks.
fn scale(total: f64) -> (f64, f64) {
    const STEPS: [f64; 18] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        10800.0, 21600.0, 43200.0, 86400.0,
    ];
    let total = total.max(10.0);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| (total / s).ceil() <= 10.0)
        .unwrap_or_else(|| 86400.0 * (total / 86400.0 / 10.0).ceil());
    (step, (total / step).ceil() * step)
}

fn result_class(result: &str) -> &'static str {
    match result {
        "ok" => "ok",
        "retry" => "retry",
        "error" => "error",
        _ => "other",
    }
}

/// One row of the picture.
enum Row<'m> {
    /// A state the run reached.
    State { index: usize, state: &'m State },
    /// A rollback step its on_error ran (at the time of the failing visit).
    Rollback {
        n: usize,
        at: f64,
        text: String,
        ok: bool,
    },
    /// The rollback steps past [`ROLLBACK_DRAWN`]: how many.
    MoreRollback { more: usize },
}

/// The timeline SVG.
pub fn draw(machine: &Machine) -> String {
    let reached: Vec<(usize, &State)> = machine
        .states
        .iter()
        .enumerate()
        .filter(|(_, s)| s.trace.as_ref().is_some_and(|t| !t.visits.is_empty()))
        .collect();
    let not_reached: Vec<&str> = machine
        .states
        .iter()
        .filter(|s| Outcome::of(machine, s) == Some(Outcome::NotReached))
        .map(|s| s.name.as_str())
        .collect();
    let visits = || {
        reached
            .iter()
            .flat_map(|(_, s)| s.trace.iter().flat_map(|t| t.visits.iter()))
    };
    let last_at = visits().map(|v| v.at).fold(0.0, f64::max);
    let total = machine
        .run
        .as_ref()
        .map_or(last_at, |r| r.virtual_seconds.max(last_at));
    let (step, axis_end) = scale(total);

    // Columns: the states' labels, the plot, the note column.
    let longest = reached
        .iter()
        .map(|(i, s)| {
            columns(&crate::output::terminal_text(&format!(
                "{}. {}",
                i + 1,
                s.name
            )))
        })
        .max()
        .unwrap_or(10)
        .max(12);
    let label_w = (longest as f64 * CHAR + 12.0).clamp(150.0, 300.0);
    let x0 = MARGIN + label_w + 12.0;
    let x1 = WIDTH - MARGIN - NOTE_W;
    let x = |t: f64| x0 + t / axis_end * (x1 - x0);

    let mut body = String::new();
    let mut y = MARGIN;
    // The title: the machine's full path (with its domain), then what the run was.
    for l in lines(
        &format!("Timeline of {}", machine.title),
        WIDTH - 2.0 * MARGIN,
        CHAR,
    ) {
        y += LINE;
        let _ = writeln!(
            body,
            "<text class=\"title\" x=\"{MARGIN}\" y=\"{y}\">{}</text>",
            crate::html::esc(&l)
        );
    }
    if let Some(run) = &machine.run {
        let started = run
            .started_at
            .as_deref()
            .map(|s| format!(", started {s}"))
            .unwrap_or_default();
        let sub = format!(
            "{} deliver{} over {} of virtual time{started}",
            run.deliveries,
            if run.deliveries == 1 { "y" } else { "ies" },
            human(run.virtual_seconds)
        );
        for l in lines(&sub, WIDTH - 2.0 * MARGIN, CHAR) {
            y += LINE;
            let _ = writeln!(
                body,
                "<text class=\"dim\" x=\"{MARGIN}\" y=\"{y}\">{}</text>",
                crate::html::esc(&l)
            );
        }
    }

    // The deliveries' numbers above the axis, where they do not collide.
    y += LINE + 6.0;
    let mut deliveries: Vec<(u64, f64)> = visits().map(|v| (v.delivery, v.at)).collect();
    deliveries.sort_by_key(|d| d.0);
    deliveries.dedup_by_key(|d| d.0);
    let mut free_from = 0.0;
    let _ = writeln!(
        body,
        "<text class=\"dim\" x=\"{MARGIN}\" y=\"{y}\" font-size=\"{SMALL}\">delivery</text>"
    );
    for (n, at) in &deliveries {
        let label = format!("#{n}");
        let lx = x(*at);
        let w = label.len() as f64 * SMALL_CHAR;
        if lx >= free_from && lx + w <= WIDTH - MARGIN {
            let _ = writeln!(
                body,
                "<text class=\"delivery-number dim\" x=\"{lx:.1}\" y=\"{y}\" font-size=\"{SMALL}\">{label}<title>delivery {n} at {}</title></text>",
                human(*at)
            );
            free_from = lx + w + SMALL_CHAR;
        }
    }

    // The axis: ticks in human units.
    y += LINE + 2.0;
    let axis_y = y + 4.0;
    let _ = writeln!(
        body,
        "<line class=\"axis\" x1=\"{x0:.1}\" y1=\"{axis_y}\" x2=\"{:.1}\" y2=\"{axis_y}\"/>",
        x1 + BAR_MAX
    );
    // At most ten by `scale`; the bound also holds for an axis no float can end.
    let ticks = ((axis_end / step).round() as usize).min(20);
    let mut tick_xs = Vec::new();
    for k in 0..=ticks {
        let t = k as f64 * step;
        let tx = x(t);
        tick_xs.push(tx);
        let label = human(t);
        let lw = label.len() as f64 * SMALL_CHAR;
        let _ = writeln!(
            body,
            "<line class=\"axis\" x1=\"{tx:.1}\" y1=\"{}\" x2=\"{tx:.1}\" y2=\"{}\"/>\n<text class=\"tick\" x=\"{:.1}\" y=\"{y}\" font-size=\"{SMALL}\">{label}</text>",
            axis_y - 4.0,
            axis_y + 4.0,
            (tx - lw / 2.0).max(x0 - 4.0)
        );
    }
    let _ = writeln!(
        body,
        "<text class=\"dim\" x=\"{MARGIN}\" y=\"{y}\" font-size=\"{SMALL}\">virtual time</text>"
    );
    y = axis_y + 8.0;
    let rows_top = y;

    // The rows: each reached state, then the rollback its on_error ran.
    let mut rows: Vec<Row> = Vec::new();
    for (index, state) in &reached {
        rows.push(Row::State {
            index: *index,
            state,
        });
        if let Some(t) = &state.trace {
            let failing_at = t
                .visits
                .iter()
                .rev()
                .find(|v| v.steps.iter().any(|s| s.step == "on_error"))
                .map_or(0.0, |v| v.at);
            let more = t.rollback().count().saturating_sub(ROLLBACK_DRAWN);
            for (n, r) in t.rollback().enumerate().take(ROLLBACK_DRAWN) {
                let reason = r
                    .reason
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default();
                let ok = r.result == "ok";
                rows.push(Row::Rollback {
                    n: n + 1,
                    at: failing_at,
                    text: format!(
                        "{} {} {}{reason}",
                        if ok { "✔" } else { "✖" },
                        r.method,
                        r.result
                    ),
                    ok,
                });
            }
            if more > 0 {
                rows.push(Row::MoreRollback { more });
            }
        }
    }
    let mut rows_svg = String::new();
    for (k, row) in rows.iter().enumerate() {
        let (row_svg, h) = match row {
            Row::State { index, state } => state_row(*index, state, y, label_w, &x),
            Row::Rollback { n, at, text, ok } => rollback_row(*n, *at, text, *ok, y, &x),
            Row::MoreRollback { more } => (
                format!(
                    "<text class=\"more dim\" x=\"{}\" y=\"{:.1}\">… {more} more rollback step{} (not drawn)</text>\n",
                    MARGIN + 2.0 * CHAR,
                    y + ROW / 2.0 + 4.5,
                    if *more == 1 { "" } else { "s" }
                ),
                ROW,
            ),
        };
        if k % 2 == 0 {
            let _ = writeln!(
                rows_svg,
                "<rect class=\"band\" x=\"{MARGIN}\" y=\"{y:.1}\" width=\"{}\" height=\"{h:.1}\"/>",
                WIDTH - 2.0 * MARGIN
            );
        }
        rows_svg.push_str(&row_svg);
        y += h;
    }
    // Grid lines behind the rows, then the rows.
    for tx in &tick_xs {
        let _ = writeln!(
            body,
            "<line class=\"grid\" x1=\"{tx:.1}\" y1=\"{rows_top:.1}\" x2=\"{tx:.1}\" y2=\"{y:.1}\"/>"
        );
    }
    body.push_str(&rows_svg);

    // The end: a line at the last delivery's end, then the result and its reason.
    let end_x = x(total) + BAR_MAX + 4.0;
    let _ = writeln!(
        body,
        "<line class=\"end\" x1=\"{end_x:.1}\" y1=\"{:.1}\" x2=\"{end_x:.1}\" y2=\"{y:.1}\"><title>the end, at {}</title></line>",
        rows_top,
        human(total)
    );
    y += 8.0;
    if !not_reached.is_empty() {
        let note = format!(
            "{} state{} not reached: {}",
            not_reached.len(),
            if not_reached.len() == 1 { "" } else { "s" },
            not_reached.join(", ")
        );
        for l in lines(&note, WIDTH - 2.0 * MARGIN, CHAR) {
            y += LINE;
            let _ = writeln!(
                body,
                "<text class=\"not-reached dim\" x=\"{MARGIN}\" y=\"{y:.1}\">{}</text>",
                crate::html::esc(&l)
            );
        }
    }
    if let Some(run) = &machine.run {
        let reason = run.reason().map(|r| format!(": {r}")).unwrap_or_default();
        let limit = run
            .limit
            .as_deref()
            .map(|l| format!(" (stopped by {l})"))
            .unwrap_or_default();
        let end = format!(
            "End at {}: ae_result {}{limit}{reason}",
            human(total),
            run.ae_result
        );
        let class = result_class(&run.ae_result);
        y += 6.0;
        let _ = writeln!(body, "<g class=\"end-result\"><title>{}</title>", esc(&end));
        for l in lines(&end, WIDTH - 2.0 * MARGIN, CHAR) {
            y += LINE;
            let _ = writeln!(
                body,
                "<text class=\"result {class}\" x=\"{MARGIN}\" y=\"{y:.1}\">{}</text>",
                crate::html::esc(&l)
            );
        }
        body.push_str("</g>\n");
    }
    // The legend: only the bars and waits drawn above.
    y += LINE + 8.0;
    let mut lx = MARGIN;
    let drawn = |class: &str| body.contains(&format!("<rect class=\"bar {class}\""));
    let used: Vec<(&str, &str)> = [
        ("ok", "ok"),
        ("retry", "retry"),
        ("error", "error"),
        ("other", "other result"),
    ]
    .into_iter()
    .filter(|(class, _)| drawn(class))
    .collect();
    let waits = body.contains("<line class=\"wait\"");
    let mut legend = String::new();
    for (class, label) in used {
        let _ = writeln!(
            legend,
            "<rect class=\"bar {class}\" x=\"{lx}\" y=\"{:.1}\" width=\"14\" height=\"12\"/><text class=\"legend\" x=\"{}\" y=\"{y:.1}\" font-size=\"{SMALL}\">{label}</text>",
            y - 10.0,
            lx + 20.0
        );
        lx += 20.0 + label.len() as f64 * SMALL_CHAR + 24.0;
    }
    if waits {
        let _ = writeln!(
            legend,
            "<line class=\"wait\" x1=\"{lx}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\"/><text class=\"legend\" x=\"{}\" y=\"{y:.1}\" font-size=\"{SMALL}\">the wait a retry asked for</text>",
            y - 4.0,
            lx + 30.0,
            y - 4.0,
            lx + 36.0
        );
    }
    if legend.is_empty() {
        y -= LINE + 8.0;
    } else {
        let _ = writeln!(body, "<g class=\"legend\">\n{legend}</g>");
    }
    let height = (y + MARGIN).ceil();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"DejaVu Sans Mono, monospace\" font-size=\"{FONT}\">\n<title>{}</title>\n<style>{STYLE}</style>\n<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"#fff\"/>\n{body}</svg>\n",
        esc(&format!("Timeline of {}", machine.title))
    )
}

/// A state's row: its label, a bar a visit, the waits between, the failure's reason. Returns
/// the SVG and the row's height.
fn state_row(
    index: usize,
    state: &State,
    top: f64,
    label_w: f64,
    x: &dyn Fn(f64) -> f64,
) -> (String, f64) {
    let Some(t) = &state.trace else {
        return (String::new(), 0.0);
    };
    let mut label = lines(&format!("{}. {}", index + 1, state.name), label_w, CHAR);
    let mut dim = Vec::new();
    if let Some(domain) = &t.domain {
        dim = lines(domain, label_w, SMALL_CHAR);
    }
    let drawn = drawn_visits(&t.visits);
    let more = t.visits.len() - drawn.len();
    if more > 0 {
        dim.extend(lines(
            &format!("… {more} more visits (not drawn)"),
            label_w,
            SMALL_CHAR,
        ));
    }
    // The failure's reason beside the failing bar.
    let failing = t.visits.iter().rev().find(|v| v.result == "error");
    let reason = failing.and_then(|v| v.reason.clone().or_else(|| t.reason.clone()));
    let reason_x = failing.map(|v| x(v.at) + BAR_MAX + 12.0);
    let reason_lines = match (&reason, reason_x) {
        (Some(r), Some(rx)) => lines(&format!("✖ {r}"), WIDTH - MARGIN - rx, CHAR),
        _ => Vec::new(),
    };
    let text_h = (label.len() as f64 * LINE + dim.len() as f64 * (LINE - 3.0))
        .max(reason_lines.len() as f64 * LINE)
        + 10.0;
    let h = ROW.max(text_h);
    let mid = top + h / 2.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<g class=\"row\" data-state=\"{}\" data-outcome=\"{}\">",
        esc(&state.name),
        if t.failed { "failed" } else { "passed" }
    );
    let mut ty = top + 4.0;
    for l in label.drain(..) {
        ty += LINE - 3.0;
        let _ = writeln!(
            out,
            "<text class=\"state-name\" x=\"{MARGIN}\" y=\"{ty:.1}\">{}</text>",
            crate::html::esc(&l)
        );
    }
    for l in dim {
        ty += LINE - 4.0;
        let _ = writeln!(
            out,
            "<text class=\"domain dim\" x=\"{}\" y=\"{ty:.1}\" font-size=\"{SMALL}\">{}</text>",
            MARGIN + 2.0 * SMALL_CHAR,
            crate::html::esc(&l)
        );
    }
    for (k, v) in drawn.iter().copied().enumerate() {
        let bx = x(v.at);
        let bw = bar_width(&drawn, v, x);
        let class = result_class(&v.result);
        let mut tip = format!(
            "{}: delivery {} at {}, ae_state_retries {}: {}",
            state.name,
            v.delivery,
            human(v.at),
            v.retries,
            if v.result.is_empty() { "?" } else { &v.result }
        );
        if let Some(r) = &v.reason {
            let _ = write!(tip, " — {r}");
        }
        if let Some(i) = v.retry_interval {
            let _ = write!(tip, " (retry in {})", human(i));
        }
        let _ = writeln!(
            out,
            "<rect class=\"bar {class}\" data-delivery=\"{}\" data-at=\"{}\" x=\"{bx:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{BAR_H}\" rx=\"2\"><title>{}</title></rect>",
            v.delivery,
            v.at,
            mid - BAR_H / 2.0,
            esc(&tip)
        );
        let num = v.delivery.to_string();
        if num.len() as f64 * SMALL_CHAR + 4.0 <= bw {
            let _ = writeln!(
                out,
                "<text class=\"num\" x=\"{:.1}\" y=\"{:.1}\">{num}</text>",
                bx + (bw - num.len() as f64 * SMALL_CHAR) / 2.0,
                mid + 4.0
            );
        }
        // The wait a retry asked for, up to the next visit.
        if v.result == "retry" {
            if let Some(next) = drawn.get(k + 1) {
                let (wx1, wx2) = (bx + bw + 1.0, x(next.at) - 1.0);
                let interval = v.retry_interval.unwrap_or(next.at - v.at);
                let label = format!("retry in {}", human(interval));
                if wx2 > wx1 {
                    let _ = writeln!(
                        out,
                        "<line class=\"wait\" x1=\"{wx1:.1}\" y1=\"{mid:.1}\" x2=\"{wx2:.1}\" y2=\"{mid:.1}\"><title>{}</title></line>",
                        esc(&label)
                    );
                    let lw = label.len() as f64 * SMALL_CHAR;
                    if lw + 4.0 <= wx2 - wx1 {
                        let _ = writeln!(
                            out,
                            "<text class=\"waitlabel\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                            (wx1 + wx2 - lw) / 2.0,
                            mid - 4.0,
                            esc(&label)
                        );
                    }
                }
            }
        }
    }
    if let (Some(reason), Some(rx)) = (&reason, reason_x) {
        let _ = writeln!(out, "<g class=\"failure\"><title>{}</title>", esc(reason));
        let first = mid - (reason_lines.len() as f64 - 1.0) * LINE / 2.0 + 4.5;
        for (k, l) in reason_lines.iter().enumerate() {
            let _ = writeln!(
                out,
                "<text class=\"reason\" x=\"{rx:.1}\" y=\"{:.1}\">{}</text>",
                first + k as f64 * LINE,
                crate::html::esc(l)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
    (out, h)
}

/// A rollback step's row: a mark at the failure's time, the step and its result beside it.
fn rollback_row(
    n: usize,
    at: f64,
    text: &str,
    ok: bool,
    top: f64,
    x: &dyn Fn(f64) -> f64,
) -> (String, f64) {
    let mx = x(at) + 3.0;
    let tx = x(at) + BAR_MAX + 12.0;
    let text_lines = lines(text, WIDTH - MARGIN - tx, CHAR);
    let h = ROW.max(text_lines.len() as f64 * LINE + 10.0);
    let mid = top + h / 2.0;
    let class = if ok { "ok" } else { "error" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<g class=\"rollback\" data-result=\"{class}\"><title>{}</title>\n<text class=\"dim\" x=\"{}\" y=\"{:.1}\">↳ rollback {n}</text>\n<rect class=\"mark {class}\" x=\"{mx:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" rx=\"6\"/>",
        esc(text),
        MARGIN + 2.0 * CHAR,
        mid + 4.5,
        mid - 6.0
    );
    let first = mid - (text_lines.len() as f64 - 1.0) * LINE / 2.0 + 4.5;
    for (k, l) in text_lines.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text class=\"rbtext {class}\" x=\"{tx:.1}\" y=\"{:.1}\">{}</text>",
            first + k as f64 * LINE,
            crate::html::esc(l)
        );
    }
    out.push_str("</g>\n");
    (out, h)
}

/// The visits of a state drawn: all, or the first and last [`VISITS_DRAWN`] / 2.
fn drawn_visits(visits: &[Visit]) -> Vec<&Visit> {
    if visits.len() <= VISITS_DRAWN {
        return visits.iter().collect();
    }
    let half = VISITS_DRAWN / 2;
    visits[..half]
        .iter()
        .chain(&visits[visits.len() - half..])
        .collect()
}

/// A visit's bar: as wide as the delivery number needs, but never reaching the same state's
/// next visit; never narrower than [`BAR_MIN`].
fn bar_width(visits: &[&Visit], v: &Visit, x: &dyn Fn(f64) -> f64) -> f64 {
    let next = visits
        .iter()
        .filter(|o| o.at > v.at)
        .map(|o| x(o.at) - x(v.at) - 2.0)
        .fold(f64::INFINITY, f64::min);
    let want = (v.delivery.to_string().len() as f64 * SMALL_CHAR + 10.0).clamp(18.0, BAR_MAX);
    want.min(next).max(BAR_MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_human_units() {
        assert_eq!(human(0.0), "0s");
        assert_eq!(human(45.0), "45s");
        assert_eq!(human(120.0), "2m");
        assert_eq!(human(150.0), "2m30s");
        assert_eq!(human(3900.0), "1h5m");
        assert_eq!(human(172800.0), "2d");
    }

    #[test]
    fn the_scale_fits_ten_ticks() {
        assert_eq!(scale(0.0), (1.0, 10.0));
        assert_eq!(scale(180.0), (30.0, 180.0));
        assert_eq!(scale(181.0), (30.0, 210.0));
        assert_eq!(scale(5000.0), (600.0, 5400.0));
        let (step, end) = scale(40.0 * 86400.0);
        assert!(end / step <= 10.0 && end >= 40.0 * 86400.0);
    }
}
