//! `retire-bundle --output html`: one self-contained page — when the run was and against
//! what (a mock run says so, and links nowhere), each bundle as a tree (the bundle, its
//! child services, their VMs), the failed item and its error, every member's action and
//! outcome with a colour and an icon, request ids linked to a real appliance, errors in
//! full, counters that name what they count, the time taken. It prints as well as it shows.

use std::time::Duration;

use chrono::{DateTime, Utc};
use maud::{html, Markup};
use miq_automate_api::retire::{Action, ItemKind, ItemReport, Outcome, Report};

use super::{
    badge, counters, error_block, facts, icon, legend, mock_banner, section, timestamp,
    without_userinfo, Counter, Status, Text,
};

/// What the page says about the run besides the reports.
pub struct RunInfo<'a> {
    /// The appliance's URL (`MIQ_URL`, or the mock's): with a real appliance, request ids
    /// link to `<url>/miq_request/show/<id>`.
    pub appliance: &'a str,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// How long the run took.
    pub elapsed: Duration,
    /// The scenario of the mock ManageIQ the run was against (`--mock`): nothing real was
    /// retired, and request ids link nowhere.
    pub mock: Option<&'a str>,
}

/// The whole page.
pub fn page(reports: &[Report], run: &RunInfo<'_>) -> String {
    // The page is shared: no `user:password@` in any URL it shows or links to.
    let appliance = without_userinfo(run.appliance);
    let base = appliance.trim_end_matches('/');
    let base = base.strip_suffix("/api").unwrap_or(base);
    // Links only to a real appliance: a mock's address is dead once the run is over.
    let links = run.mock.is_none().then_some(base);
    let header = html! {
        h1 { "Bundle retirement" }
        @if let Some(scenario) = run.mock {
            (mock_banner(html! {
                "Run against the mock ManageIQ at " span.mono { (Text(host_port(base))) }
                " (scenario " span.mono { (Text(scenario)) } "): nothing real was retired, and request ids link nowhere."
            }))
        }
        (facts([
            html! { "Run " (timestamp(run.started)) },
            html! { "took " (format!("{:.1}", run.elapsed.as_secs_f64())) " s" },
            html! { @if run.mock.is_some() { "mock appliance" } @else { "appliance " span.mono { (Text(base)) } } },
            html! { (plural(reports.len(), "bundle", "bundles")) },
        ]))
        (legend(&[
            (Status::Passed, "retired"),
            (Status::Requested, "retire requested"),
            (Status::Planned, "would be retired (dry run)"),
            (Status::Skipped, "skipped (already retired, retiring or requested)"),
            (Status::Left, "left alone (the failed item)"),
            (Status::Failed, "failed"),
            (Status::TimedOut, "timed out"),
        ]))
    };
    let body = html! {
        @if reports.is_empty() { p.none { "No failed bundle found." } }
        @for report in reports { (bundle(report, links)) }
    };
    super::page(
        &format!("Bundle retirement — {}", bundle_titles(reports)),
        header,
        body,
    )
}

/// `127.0.0.1:45197` of `http://127.0.0.1:45197`.
fn host_port(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn bundle_titles(reports: &[Report]) -> String {
    let ids: Vec<&str> = reports.iter().map(|r| r.bundle_id.as_str()).collect();
    if ids.is_empty() {
        "nothing to do".into()
    } else {
        format!("bundle {}", ids.join(", "))
    }
}

fn bundle(report: &Report, links: Option<&str>) -> Markup {
    let mode = match (report.dry_run, report.waited) {
        (true, _) => "dry run: nothing was sent",
        (false, true) => "retire requests sent, and waited for until they finished",
        (false, false) => "retire requests sent, not waited for",
    };
    let title = html! {
        span.icon { "▣" } " Bundle " (Text(&report.bundle_id)) " " q { (Text(&report.bundle_name)) }
    };
    // The bundle itself is the root of the tree when it was in the plan.
    let parent = report.items.iter().find(|i| i.parent);
    let body = html! {
        p.meta { (mode) }
        (failed_items(report))
        (summary(report))
        ul.tree {
            li {
                @match parent {
                    Some(p) => (member(p, links)),
                    None => div.member.kind-bundle {
                        span.icon { "▣" } " " span.kind { "bundle" } " "
                        span.id.mono { (Text(&report.bundle_id)) } " "
                        span.name { (Text(&report.bundle_name)) }
                    },
                }
                ul {
                    @for item in report.items.iter().filter(|i| !i.parent) {
                        li {
                            (member(item, links))
                            @if !item.vms.is_empty() { (vms(item)) }
                        }
                    }
                }
            }
        }
    };
    section(&format!("bundle-{}", report.bundle_id), title, body)
}

/// The failed item(s), by name, and why they failed when the request said.
fn failed_items(report: &Report) -> Markup {
    let name = |id: &str| {
        report
            .items
            .iter()
            .find(|i| i.id == id && i.kind == ItemKind::Service && !i.parent)
            .map(|i| i.name.as_str())
    };
    html! {
        @if report.failed_items.is_empty() {
            p.callout { "Nothing in this bundle failed: every member was retired on request (--all-members)." }
        } @else {
            div.callout.st-failed.failed-item {
                "Failed item"
                @if report.failed_items.len() > 1 { "s" }
                ": "
                @for (i, id) in report.failed_items.iter().enumerate() {
                    @if i > 0 { ", " }
                    span.mono { (Text(id)) }
                    @if let Some(n) = name(id) { " " q { (Text(n)) } }
                }
                @match &report.failed_message {
                    Some(message) => (error_block(message)),
                    None => span.note { " — its error is in its provision request (give --request to show it here)" },
                }
            }
        }
    }
}

/// Counters, each named by what it counts; they add up to the lead's number.
fn summary(report: &Report) -> Markup {
    let s = &report.summary;
    let members = report.items.iter().filter(|i| !i.parent).count();
    let lead = if members < s.total {
        format!("the bundle and {}:", plural(members, "member", "members"))
    } else {
        format!("{}:", plural(members, "member", "members"))
    };
    let requested = if report.waited {
        (
            "retire request sent, still running",
            "retire requests sent, still running",
        )
    } else {
        ("retire request sent", "retire requests sent")
    };
    let counts = [
        (s.retired, ("retired", "retired"), Status::Passed),
        (s.requested, requested, Status::Requested),
        (
            s.planned,
            ("would be retired", "would be retired"),
            Status::Planned,
        ),
        (
            s.skipped,
            (
                "skipped (already retired, retiring or requested)",
                "skipped (already retired, retiring or requested)",
            ),
            Status::Skipped,
        ),
        (
            s.left,
            (
                "left alone (the failed item)",
                "left alone (the failed items)",
            ),
            Status::Left,
        ),
        (s.timed_out, ("timed out", "timed out"), Status::TimedOut),
        (s.failed, ("failed", "failed"), Status::Failed),
    ];
    let shown: Vec<Counter> = counts
        .into_iter()
        // Every number that is not zero; "0 failed" always (a run that sent something
        // says nothing failed).
        .filter(|(n, _, status)| *n > 0 || (*status == Status::Failed && !report.dry_run))
        .map(|(n, (one, many), status)| Counter {
            n,
            label: if n == 1 { one } else { many }.to_string(),
            status: Some(status),
        })
        .collect();
    counters(&lead, &shown)
}

fn vms(item: &ItemReport) -> Markup {
    // A child's VMs are not retired one by one: they go with their service.
    let note = match item.outcome {
        Outcome::Retired => "retired with its service",
        Outcome::Requested | Outcome::Planned => "retires with its service",
        _ => "VM of this service",
    };
    html! {
        ul.vms {
            @for vm in &item.vms {
                li {
                    div.vm data-id=(vm.id) {
                        span.icon { "▢" } " " span.kind { "vm" } " "
                        span.id.mono { (Text(&vm.id)) } " "
                        span.name { (Text(&vm.name)) } " "
                        span.note { (note) }
                    }
                }
            }
        }
    }
}

fn member(item: &ItemReport, links: Option<&str>) -> Markup {
    let (status, outcome) = outcome(item.outcome);
    let kind = match (item.parent, item.kind) {
        (true, _) => "bundle",
        (false, ItemKind::Service) => "service",
        (false, ItemKind::Vm) => "vm",
    };
    let action = match item.action {
        Action::Retire => "retire",
        Action::Skip => "skip",
        Action::Leave => "leave",
    };
    let mut details: Vec<Markup> = vec![html! { "plan: " (action) " — " (Text(&item.reason)) }];
    if let Some(method) = &item.method {
        details.push(html! { "via " span.mono { (Text(method)) } });
    }
    if let Some(r) = &item.request_id {
        details.push(match links {
            Some(base) => html! {
                "request " a href={ (base) "/miq_request/show/" (r) } { (Text(r)) }
            },
            None => html! { "request " span.mono { (Text(r)) } },
        });
    }
    if let Some(t) = &item.task_id {
        details.push(html! { "task " span.mono { (Text(t)) } });
    }
    if let Some(state) = &item.retirement_state {
        details.push(html! { "retirement_state " (Text(state)) });
    }
    if item.reply_lost {
        details.push(html! { "the reply was lost, but the server had acted" });
    }
    html! {
        div class={ "member " (status.class()) } data-id=(item.id) data-outcome=(outcome) {
            (icon(status)) " " span.kind { (kind) } " "
            span.id.mono { (Text(&item.id)) } " "
            span.name { (Text(&item.name)) }
            (badge(status, crate::output::outcome_label(item)))
            div.details {
                @for (i, d) in details.iter().enumerate() {
                    @if i > 0 { " · " }
                    (d)
                }
            }
            @if let Some(error) = &item.error { (error_block(error)) }
        }
    }
}

/// The status of an outcome, and its name (`data-outcome`).
fn outcome(outcome: Outcome) -> (Status, &'static str) {
    match outcome {
        Outcome::Planned => (Status::Planned, "planned"),
        Outcome::Requested => (Status::Requested, "requested"),
        Outcome::Retired => (Status::Passed, "retired"),
        Outcome::Skipped => (Status::Skipped, "skipped"),
        Outcome::Left => (Status::Left, "left"),
        Outcome::Failed => (Status::Failed, "failed"),
        Outcome::TimedOut => (Status::TimedOut, "timed_out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use miq_automate_api::retire::{summarize, VmRef};
    use proptest::prelude::*;

    fn item(id: &str, name: &str, outcome: Outcome) -> ItemReport {
        ItemReport {
            kind: ItemKind::Service,
            id: id.into(),
            name: name.into(),
            action: match outcome {
                Outcome::Skipped => Action::Skip,
                Outcome::Left => Action::Leave,
                _ => Action::Retire,
            },
            reason: "provisioned sibling of the failed item".into(),
            parent: false,
            method: Some("request_retire".into()),
            outcome,
            request_id: (outcome == Outcome::Requested).then(|| "5001".into()),
            task_id: None,
            retired: None,
            retirement_state: None,
            reply_lost: false,
            error: (outcome == Outcome::Failed).then(|| "blocked password=hunter2".into()),
            vms: vec![VmRef {
                id: "2001".into(),
                name: format!("{name}-vm"),
            }],
        }
    }

    fn report(name: &str) -> Report {
        let items = vec![
            item("1001", name, Outcome::Requested),
            item("1002", "legacy", Outcome::Skipped),
            item("1004", "db tier", Outcome::Left),
            item("1005", "cache", Outcome::Failed),
        ];
        Report {
            bundle_id: "1000".into(),
            bundle_name: name.into(),
            failed_items: vec!["1004".into()],
            failed_message: Some("Error creating VM".into()),
            dry_run: false,
            waited: false,
            summary: summarize(&items),
            items,
        }
    }

    fn run(mock: Option<&str>) -> RunInfo<'_> {
        RunInfo {
            appliance: "https://admin:smartvm@miq.example.com/api",
            started: Utc.with_ymd_and_hms(2026, 5, 1, 10, 20, 0).unwrap(),
            elapsed: Duration::from_millis(1234),
            mock,
        }
    }

    #[test]
    fn the_page_says_when_and_links_to_the_appliance() {
        let page = page(&[report("web tier")], &run(None));
        assert!(page.contains("2026-05-01 10:20:00 UTC"), "{page}");
        assert!(page.contains("href=\"https://miq.example.com/miq_request/show/5001\""));
        assert!(
            !page.contains("smartvm") && !page.contains("hunter2"),
            "{page}"
        );
        assert!(!page.contains("Mock run"), "{page}");
        assert!(
            page.contains("Error creating VM"),
            "the failed item's error"
        );
        assert!(page.contains("<b>1</b> retire request sent"), "{page}");
        assert!(
            page.contains("<li class=\"lead\">4 members:</li>"),
            "{page}"
        );
        assert!(!page.contains("in the plan"), "{page}");
    }

    #[test]
    fn a_mock_run_links_nowhere_and_says_so() {
        let mut info = run(Some("mocks/failed_bundle.json"));
        info.appliance = "http://127.0.0.1:45197";
        let page = page(&[report("web tier")], &info);
        assert!(!page.contains("<a "), "{page}");
        assert!(page.contains("Mock run."), "{page}");
        assert!(page.contains("127.0.0.1:45197"), "{page}");
        assert!(page.contains("nothing real was retired"), "{page}");
    }

    proptest! {
        // Any name: the page holds it escaped (no markup of its own), shown literally.
        #[test]
        fn hostile_names_are_text(name in "[<>\"'&a-z \\x00-\\x1f\\u{202e}]{0,24}") {
            let page = page(&[report(&name)], &run(None));
            let shown = crate::output::terminal_text(&miq_automate_core::log::sanitize(&name));
            let escaped = shown
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            let needle = format!("<span class=\"name\">{escaped}</span>");
            prop_assert!(page.contains(&needle), "{} not in the page", needle);
            prop_assert!(!page.chars().any(|c| c.is_control() && c != '\n'));
            let tags = page.matches('<').count();
            let clean = super::page(&[report("x")], &run(None)).matches('<').count();
            prop_assert_eq!(tags, clean, "the name added markup");
        }
    }
}
