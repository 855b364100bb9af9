//! Reports as text or JSON, and the progress bar.

use std::fmt::Write as _;

use miq_automate_api::retire::{ItemReport, Outcome, Progress, Report};

/// The report format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain text for people.
    Text,
    /// One JSON document on stdout (its shape is in each command's --output help).
    Json,
}

/// The format of `retire-bundle`'s report.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// A table for people.
    Text,
    /// One JSON document on stdout.
    Json,
    /// One self-contained HTML page on stdout (redirect it to a file).
    Html,
}

/// Prints every report (none: a scan found no failed bundle).
pub fn print_reports(
    reports: &[Report],
    format: ReportFormat,
    run: &crate::html::RunInfo<'_>,
) -> anyhow::Result<()> {
    match format {
        ReportFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "bundles": reports }))?
            );
        }
        ReportFormat::Text if reports.is_empty() => println!("No failed bundle found."),
        ReportFormat::Text => {
            for report in reports {
                print!("{}", text(report));
            }
        }
        ReportFormat::Html => print!("{}", crate::html::page(reports, run)),
    }
    Ok(())
}

/// The text form of one report.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let failed = if report.failed_items.is_empty() {
        String::new()
    } else {
        format!(", failed item {}", report.failed_items.join(", "))
    };
    let mode = if report.dry_run {
        " — dry run, nothing sent"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "Bundle {} \"{}\"{failed}{mode}",
        report.bundle_id, report.bundle_name
    );
    let width = report
        .items
        .iter()
        .map(|i| i.name.chars().count())
        .max()
        .unwrap_or(0);
    for item in &report.items {
        let _ = writeln!(out, "  {}", line(item, width));
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "  {} planned, {} requested, {} retired, {} skipped, {} left, {} failed, {} timed out",
        s.planned, s.requested, s.retired, s.skipped, s.left, s.failed, s.timed_out
    );
    out
}

fn line(item: &ItemReport, width: usize) -> String {
    let kind = match item.kind {
        miq_automate_api::retire::ItemKind::Service => "service",
        miq_automate_api::retire::ItemKind::Vm => "vm",
    };
    let outcome = outcome_label(item);
    let mut detail = Vec::new();
    if let Some(m) = &item.method {
        detail.push(m.clone());
    }
    if item.reply_lost {
        detail.push("reply lost, but the server acted".into());
    }
    if let Some(r) = &item.request_id {
        detail.push(format!("request {r}"));
    }
    if let Some(t) = &item.task_id {
        detail.push(format!("task {t}"));
    }
    if let Some(e) = &item.error {
        detail.push(e.clone());
    } else if matches!(item.outcome, Outcome::Skipped | Outcome::Left) {
        detail.push(item.reason.clone());
    }
    if !item.vms.is_empty() {
        let names: Vec<&str> = item.vms.iter().map(|v| v.name.as_str()).collect();
        detail.push(format!("VMs: {}", names.join(", ")));
    }
    let parent = if item.parent { " (bundle)" } else { "" };
    format!(
        "{kind:<7} {:<6} {:<width$}  {outcome:<12} {}{parent}",
        item.id,
        item.name,
        detail.join("; "),
    )
}

/// How an item ended, in the words of the table and the HTML page.
pub fn outcome_label(item: &ItemReport) -> &'static str {
    match item.outcome {
        Outcome::Planned => "would retire",
        Outcome::Requested if item.reply_lost => "requested (reply lost)",
        Outcome::Requested => "requested",
        Outcome::Retired => "retired",
        Outcome::Skipped => "skipped",
        Outcome::Left => "left",
        Outcome::Failed => "FAILED",
        Outcome::TimedOut => "TIMED OUT",
    }
}

/// A progress bar on stderr (hidden when not a terminal or with --quiet).
pub struct ProgressBar(Option<indicatif::ProgressBar>);

impl ProgressBar {
    /// A bar, drawn only when `visible`.
    pub fn new(visible: bool) -> Self {
        ProgressBar(visible.then(|| {
            indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::stderr(),
            )
        }))
    }
}

impl Progress for ProgressBar {
    fn start(&self, total: usize) {
        self.phase(total, "retire requests sent");
    }

    fn item(&self, item: &ItemReport) {
        self.step(item);
    }

    fn waiting(&self, total: usize) {
        self.phase(total, "requests finished");
    }

    fn finished(&self, item: &ItemReport) {
        self.step(item);
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl ProgressBar {
    /// Starts a phase: the POSTs, then the waiting.
    fn phase(&self, total: usize, what: &str) {
        if let Some(bar) = &self.0 {
            bar.set_position(0);
            bar.set_length(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
                "{{bar:40}} {{pos}}/{{len}} {what} {{msg}}"
            )) {
                bar.set_style(style);
            }
        }
    }

    fn step(&self, item: &ItemReport) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!("({} {})", item.id, item.name));
            bar.inc(1);
        }
    }
}

/// Text meant for a terminal with its control characters escaped (`\e`, `\r`, `\n`, `\u{…}`),
/// so a recorded name or message cannot erase a line, move the cursor or forge a row; the
/// bidirectional overrides (which reorder what is shown) are escaped too.
pub fn terminal_text(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Seconds (virtual or not) as people read them, the one form every output uses: `0s`,
/// `45s`, `1m30s`, `2m`, `1h5m`, `2d3h` (rounded to the second; negative or NaN is `0s`).
pub fn human_duration(secs: f64) -> String {
    let s = if secs.is_finite() {
        secs.round().max(0.0) as u64
    } else if secs > 0.0 {
        u64::MAX
    } else {
        0
    };
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Writes `text` to stdout; a reader that went away (`| head -1`) is an
/// `ErrorKind::BrokenPipe` error, which `main` ends quietly.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether an error is a closed stdout pipe (the reader exited): not a failure to report.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod terminal_tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(terminal_text("a\x1b[2Kb\r\nc"), "a\\e[2Kb\\r\\nc");
        assert_eq!(terminal_text("x\u{202e}y\x07"), "x\\u{202e}y\\u{7}");
        assert_eq!(terminal_text("plain é 名"), "plain é 名");
    }

    #[test]
    fn durations_have_one_form() {
        assert_eq!(human_duration(0.0), "0s");
        assert_eq!(human_duration(45.0), "45s");
        assert_eq!(human_duration(90.0), "1m30s");
        assert_eq!(human_duration(120.0), "2m");
        assert_eq!(human_duration(330.0), "5m30s");
        assert_eq!(human_duration(3725.0), "1h2m5s");
        assert_eq!(human_duration(172800.0), "2d");
        assert_eq!(human_duration(-5.0), "0s");
        assert_eq!(human_duration(f64::NAN), "0s");
    }
}
