//! `coverage report --output html`: one self-contained page of what the tests reached —
//! the files merged and when, the totals (lines, methods, states, hooks) and the `--min`
//! gate; a table per domain of each method's lines covered with a bar; per state machine
//! its states (entered or never, how they ended) and hooks (run or never); the
//! relationships followed with the domain that served them; and each method's source with
//! its line numbers, every executable line marked hit (with its count) or missed. Same
//! frame and style as the other reports; every text masked and escaped (a method's source
//! too); it prints as well as it shows (every method's source, opened, in print).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::{
    badge, counters, facts, generated_at, legend, section, Block, Breakable, Counter, Status, Text,
};
use crate::coverage::{
    domain_of, hooks_of, percent, ranges, split_last, Coverage, MachineCov, MethodCov, StateCov,
    Totals,
};

/// What the page says besides the coverage.
pub struct Info<'a> {
    /// The coverage files merged, as given.
    pub files: &'a [PathBuf],
    /// `--only DOMAIN`.
    pub only: Option<&'a str>,
    /// `--min PERCENT`.
    pub min: Option<f64>,
    /// When the page was written.
    pub generated: DateTime<Utc>,
}

/// The hooks of a state, in the order they run.
const HOOKS: [&str; 3] = ["on_entry", "on_exit", "on_error"];

/// The whole page.
pub fn page(cov: &Coverage, t: &Totals, info: &Info<'_>) -> String {
    let pct = t.line_percent();
    // Nothing measured (0/0 lines) is not 100%: the gate fails, as the command does.
    let gate = info
        .min
        .map(|min| (min, t.lines_total > 0 && pct + 1e-9 >= min));
    let seen = if t.datastore {
        ""
    } else {
        " of those the runs saw"
    };
    let header = html! {
        h1 {
            "Automate coverage"
            @if let Some(d) = info.only { ": " (Text(d)) }
            " " (badge(tone(t.lines_covered, t.lines_total), &format!("{} lines", pct_text(pct))))
        }
        (facts([
            html! { (plural(info.files.len(), "coverage file", "coverage files")) " merged" },
            html! { "lines " b { (t.lines_covered) "/" (t.lines_total) } " (" (pct_text(pct)) ")" },
            html! { "methods run " b { (t.methods_run) "/" (t.methods_total) } },
            html! { "states entered " b { (t.states_entered) "/" (t.states_total) } (seen) },
            html! { "hooks run " b { (t.hooks_run) "/" (t.hooks_total) } (seen) },
        ]))
        @if !t.datastore { p.meta.cov-seen-only { (crate::coverage::SEEN_ONLY) } }
        (generated_at(info.generated))
        @if let Some((min, ok)) = gate {
            @let (status, verdict) = if ok { (Status::Passed, "passed") } else { (Status::Failed, "FAILED") };
            div class={ "callout gate " (status.class()) } {
                (badge(status, verdict)) " "
                @if t.lines_total == 0 {
                    "--min " (min) "%: nothing was measured (no executable line), which does not pass (the command exits 2)."
                } @else {
                    "--min " (min) "%: lines covered " (pct_text(pct)) " (" (t.lines_covered) "/" (t.lines_total) ")"
                    @if ok { " is at or over it." } @else { " is under it (the command exits 2)." }
                }
            }
        }
        (counters("Not reached:", &[
            Counter { n: t.lines_total - t.lines_covered, label: "lines missed".into(), status: Some(Status::Failed) },
            Counter { n: t.methods_total - t.methods_run, label: "methods never run".into(), status: Some(Status::Failed) },
            Counter { n: t.states_total - t.states_entered, label: "states never entered".into(), status: Some(Status::Failed) },
            Counter { n: t.hooks_total - t.hooks_run, label: "hooks never run".into(), status: Some(Status::Failed) },
        ]))
        (legend(&[
            (Status::Passed, "reached: a line run, a state entered, a hook run"),
            (Status::Failed, "not reached: a line missed, a state never entered, a hook never run"),
            (Status::NotReached, "not executable (comments, blank lines, end)"),
        ]))
        details.cov-files {
            summary { "Files merged (" (info.files.len()) ")" }
            ul.cov-files { @for f in info.files { li.mono { (Breakable(&f.display().to_string())) } } }
        }
        nav.toc aria-label="sections" {
            a href="#methods" { "Methods" } " · "
            a href="#machines" { "State machines" } " · "
            a href="#relationships" { "Relationships" } " · "
            a href="#sources" { "Sources" }
        }
    };
    let methods: Vec<&MethodCov> = cov.methods.values().collect();
    let embedded: Vec<String> = methods
        .iter()
        .flat_map(|m| m.embeds.iter().map(|e| e.to_lowercase()))
        .collect();
    let body = html! {
        (section("methods", html! { "Methods" }, methods_section(&methods, &embedded)))
        (section("machines", html! { "State machines" }, machines_section(cov)))
        (section("relationships", html! { "Relationships followed" }, relationships_section(cov)))
        (section("sources", html! { "Sources" }, html! {
            @if methods.is_empty() { p.none { "No method ran, and no --datastore names one." } }
            @if methods.iter().any(|m| m.approximate) {
                p.meta { "A method never run was compiled by no Ruby: its executable lines are approximated from its source (not blank, not a comment, not a bare end/else)." }
            }
            @for (i, m) in methods.iter().enumerate() { (source(i, m, &embedded)) }
        }))
    };
    let title = match info.only {
        Some(d) => format!("Automate coverage — {d} — {}", pct_text(pct)),
        None => format!("Automate coverage — {}", pct_text(pct)),
    };
    super::page(&title, header, body)
}

/// A percentage as the text report and the `--min` message give it (`63.0%`), never
/// `100.0%` for what is not all.
fn pct_text(p: f64) -> String {
    if (99.95..100.0).contains(&p) {
        "99.9%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// Runs of a method: its own runs, or, when only its lines ran, that it was embedded.
fn runs(m: &MethodCov, embedded: &[String]) -> Markup {
    html! {
        @if m.runs > 0 { (m.runs) }
        @else if !m.ran() { (badge(Status::Failed, "never run")) }
        @else if embedded.contains(&m.fqname.to_lowercase()) {
            span.note title="its lines ran in the methods that embed it" { "embedded" }
        } @else {
            span.note title="its lines ran, its body was never run as a method (loaded by a spec)" { "loaded" }
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A path or name in an attribute (for tools and tests): masked, control characters
/// shown as escapes, as [`Text`] shows it.
fn attr(text: &str) -> String {
    crate::output::terminal_text(&miq_automate_core::log::sanitize(text))
}

/// Green when all is reached, red when nothing is, amber between.
fn tone(part: usize, whole: usize) -> Status {
    if part >= whole {
        Status::Passed
    } else if part == 0 {
        Status::Failed
    } else {
        Status::Retried
    }
}

/// A bar of `part` of `whole`, then its percentage.
fn bar(part: usize, whole: usize) -> Markup {
    let p = percent(part, whole);
    html! {
        span.cov-bar role="img" aria-label={ (pct_text(p)) " covered" } {
            span style={ "width: " (format!("{p:.1}")) "%" } {}
        }
        " " (pct_text(p))
    }
}

/// `/Dom/ns/Class/method` → `/ns/Class/method` (the domain is the table's).
fn without_domain(path: &str) -> &str {
    let rest = path.trim_start_matches('/');
    rest.find('/').map_or(path, |i| &rest[i..])
}

/// A table per domain: each method's lines covered, its runs and missed lines.
fn methods_section(methods: &[&MethodCov], embedded: &[String]) -> Markup {
    let mut domains: Vec<(&str, Vec<(usize, &MethodCov)>)> = Vec::new();
    // Method files outside a domain export: a group of their own, after the domains.
    const OUTSIDE: &str = "";
    for (i, m) in methods.iter().enumerate() {
        let d = if m.outside {
            OUTSIDE
        } else {
            domain_of(&m.fqname)
        };
        match domains
            .iter_mut()
            .find(|(name, _)| name.eq_ignore_ascii_case(d))
        {
            Some((_, list)) => list.push((i, m)),
            None => domains.push((d, vec![(i, m)])),
        }
    }
    domains.sort_by_key(|(d, _)| d.is_empty());
    html! {
        @if domains.is_empty() { p.none { "No method to report." } }
        @for (domain, list) in &domains {
            @let covered: usize = list.iter().map(|(_, m)| m.covered()).sum();
            @let total: usize = list.iter().map(|(_, m)| m.total()).sum();
            h3 {
                @if domain.is_empty() { "Method files outside a domain export" } @else { "Domain " (Text(domain)) }
                " " (badge(tone(covered, total), &format!("{covered}/{total} lines, {}", pct_text(percent(covered, total)))))
            }
            (grid("cov-methods", ["Method", "Lines", "Covered", "Runs", "Missed lines"], html! {
                @for (i, m) in list {
                    tr data-method=(attr(&m.fqname)) class=(tone(m.covered(), m.total()).class()) {
                        td { a href={ "#m-" (i) } { (Breakable(if m.outside { &m.fqname } else { without_domain(&m.fqname) })) } }
                        td.num { (m.covered()) "/" (m.total()) }
                        td.nowrap { (bar(m.covered(), m.total())) }
                        td.num { (runs(m, embedded)) }
                        td.mono { (ranges(&m.missed())) }
                    }
                }
            }))
        }
    }
}

/// A hook's cell: run (how often), never run, or not defined.
fn hook_cell(s: &StateCov, hook: &str) -> Markup {
    let defined = hooks_of(s).iter().any(|h| h == hook);
    let ran = s.ran(hook);
    html! {
        @if ran > 0 {
            span.cov-hook data-hook=(hook) data-reached="run" { (badge(Status::Passed, &format!("✓ ran {ran}×"))) }
        } @else if defined {
            span.cov-hook data-hook=(hook) data-reached="never" { (badge(Status::Failed, "✗ never run")) }
        } @else {
            span.none title="not defined" { "—" }
        }
    }
}

fn machines_section(cov: &Coverage) -> Markup {
    html! {
        @if cov.machines.is_empty() {
            p.none { "No state machine was delivered (an instantiated machine has no trace), and no --datastore names one." }
        }
        @for machine in cov.machines.values() { (machine_table(machine)) }
    }
}

/// How often an instance ran: `2 runs, 8 deliveries` (a run's retries are deliveries of
/// their own), or `8 deliveries` when the files do not tell runs apart.
fn delivered(runs: Option<u64>, deliveries: u64) -> String {
    let deliveries = plural(deliveries as usize, "delivery", "deliveries");
    match runs {
        Some(r) if r > 0 => format!("{}, {deliveries}", plural(r as usize, "run", "runs")),
        _ => deliveries,
    }
}

fn machine_table(machine: &MachineCov) -> Markup {
    let entered = machine.states.iter().filter(|s| s.entered > 0).count();
    let total = machine.states.len();
    html! {
        div.cov-machine data-machine=(attr(&machine.class)) {
            h3 {
                span.mono { (Breakable(&machine.class)) } " "
                (badge(tone(entered, total), &format!("{entered}/{total} states entered")))
            }
            @if !machine.instances.is_empty() {
                p.meta {
                    "Delivered: "
                    @for (i, (inst, n)) in machine.instances.iter().enumerate() {
                        @if i > 0 { ", " }
                        span.mono { (Breakable(inst)) } " (" (delivered(machine.runs.get(inst).copied(), *n)) ")"
                    }
                }
            }
            (grid("cov-states", ["State", "Entered", "How it ended"].into_iter().chain(HOOKS), html! {
                @for s in &machine.states {
                    tr data-state=(attr(&s.name)) data-entered=(s.entered) {
                        td { b { (Text(&s.name)) } }
                        td {
                            @if s.entered > 0 { (badge(Status::Passed, &format!("✓ {}×", s.entered))) }
                            @else { (badge(Status::Failed, "✗ never entered")) }
                        }
                        td {
                            @for (i, (result, n)) in s.results.iter().enumerate() {
                                @if i > 0 { " · " }
                                span class={ "result " (result_status(result).class()) } { (Text(result)) " " (n) }
                            }
                            @if s.raised > 0 {
                                @if !s.results.is_empty() { " · " }
                                span class={ "result " (Status::Failed.class()) } { "raised " (s.raised) }
                            }
                        }
                        @for h in HOOKS { td { (hook_cell(s, h)) } }
                    }
                }
            }))
        }
    }
}

/// A wide table (`table.grid.<class>`): a header row of `head`, then `rows`.
fn grid<'a>(class: &str, head: impl IntoIterator<Item = &'a str>, rows: Markup) -> Markup {
    html! {
        div.wide {
            table class={ "grid " (class) } {
                thead { tr { @for h in head { th scope="col" { (h) } } } }
                tbody { (rows) }
            }
        }
    }
}

fn result_status(result: &str) -> Status {
    match result {
        "ok" => Status::Passed,
        "retry" | "restart" => Status::Retried,
        "skip" => Status::Skipped,
        "error" => Status::Failed,
        _ => Status::Requested,
    }
}

fn relationships_section(cov: &Coverage) -> Markup {
    html! {
        @if cov.relationships.is_empty() {
            p.none { "No relationship was followed." }
        } @else {
            (grid("cov-relationships", ["Relationship", "Followed", "Served by (with its domain)"], html! {
                @for r in cov.relationships.values() {
                    tr {
                        td.mono { (Breakable(&r.uri)) }
                        td.num { (r.followed) "×" }
                        td {
                            @if r.served_by.is_empty() { span.none { "no domain's instance (a stub, or nothing found)" } }
                            @for (fq, n) in &r.served_by {
                                div {
                                    span.cov-domain { (Text(domain_of(fq))) } " "
                                    span.mono { (Breakable(without_domain(fq))) } " (" (n) "×)"
                                }
                            }
                        }
                    }
                }
            }))
        }
    }
}

/// One method's source, each line marked: hit (its count), missed, or not executable.
fn source(i: usize, m: &MethodCov, embedded: &[String]) -> Markup {
    let status = if m.ran() {
        tone(m.covered(), m.total())
    } else {
        Status::Failed
    };
    // Open: what ran but missed lines (where a test is worth writing). A method never run
    // stays closed (its badge says so): a whole domain's page would be every source open.
    let open = m.ran() && m.covered() < m.total();
    let (class, name) = split_last(&m.fqname);
    let text = m.source();
    let summary = html! {
        span.mono { (Breakable(class)) "/" b { (Text(name)) } } " "
        (badge(status, &format!("{}/{} lines, {}", m.covered(), m.total(), pct_text(percent(m.covered(), m.total())))))
        " "
        span.note { @if m.runs > 0 { (plural(m.runs as usize, "run", "runs")) } @else { (runs(m, embedded)) } }
    };
    html! {
        details id={ "m-" (i) } class={ "cov-method " (status.class()) } data-method=(attr(&m.fqname)) open[open] {
            summary { (summary) }
            @if let Some(file) = &m.file { p.meta { "File " span.mono { (Breakable(file)) } } }
            @if !m.embeds.is_empty() {
                p.meta {
                    "Embeds "
                    @for (j, e) in m.embeds.iter().enumerate() { @if j > 0 { ", " } span.mono { (Breakable(e)) } }
                }
            }
            @if m.approximate { p.meta { "Never run: its executable lines are approximated from its source." } }
            @match &text {
                None => p.callout.cov-no-source {
                    "Source not available: the coverage file names no file for it (an engine run does not) "
                    "and no --datastore has it. Give the domain with --datastore DIR."
                    @if !m.missed().is_empty() { " Missed lines: " span.mono { (ranges(&m.missed())) } "." }
                },
                Some(src) => (source_table(m, src)),
            }
        }
    }
}

fn source_table(m: &MethodCov, src: &str) -> Markup {
    let lines: Vec<&str> = src.lines().collect();
    // Ruby counts a line past the source's last (its final newline): shown when counted.
    let shown = lines.len().max(
        m.lines
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1),
    );
    html! {
        @if shown > lines.len() {
            p.callout.st-retried { "The source has " (lines.len()) " lines, the coverage counts " (shown) ": it changed since the run." }
        }
        table.cov-source {
            tbody {
                @for n in 0..shown {
                    @let line = lines.get(n).copied().unwrap_or("");
                    @let hits = m.lines.get(n).copied().flatten();
                    @let (class, mark, title) = match hits {
                        Some(0) => ("missed", "✗".to_string(), "missed: never run".to_string()),
                        Some(h) => ("hit", format!("{h}×"), format!("run {h} time{}", if h == 1 { "" } else { "s" })),
                        None => ("plain", String::new(), "not executable".to_string()),
                    };
                    tr class=(class) data-line=(n + 1) title=(title) {
                        td.ln { (n + 1) }
                        td.hits { (mark) }
                        td.code { (Block(line)) }
                    }
                }
            }
        }
    }
}
