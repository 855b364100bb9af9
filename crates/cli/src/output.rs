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
