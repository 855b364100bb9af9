//! `retire-bundle --output html`: one self-contained page (inline CSS, no script, nothing
//! fetched) — each bundle as a tree (the bundle, its child services, their VMs), every
//! member's action and outcome with a colour and an icon, request ids linked to the
//! appliance, errors in full, the summary and the time taken. It prints as well as it shows.

use std::fmt::Write as _;
use std::time::Duration;

use miq_automate_api::retire::{Action, ItemKind, ItemReport, Outcome, Report};
use miq_automate_core::log::sanitize;

/// What the page says about the run besides the reports.
pub struct RunInfo<'a> {
    /// The appliance's URL (`MIQ_URL`): request ids link to `<url>/miq_request/show/<id>`.
    pub appliance: &'a str,
    /// How long the run took.
    pub elapsed: Duration,
}

/// The whole page.
pub fn page(reports: &[Report], run: &RunInfo<'_>) -> String {
    // The page is shared: no `user:password@` in any URL it shows or links to.
    let appliance = without_userinfo(run.appliance);
    let base = appliance.trim_end_matches('/');
    let base = base.strip_suffix("/api").unwrap_or(base);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Bundle retirement — {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&bundle_titles(reports))
    );
    let _ = write!(
        out,
        "<header><h1>Bundle retirement</h1><p class=\"run\">Appliance <span class=\"mono\">{}</span> · \
         {} bundle(s) · took {:.1} s</p>",
        esc(&sanitize(base)),
        reports.len(),
        run.elapsed.as_secs_f64()
    );
    out.push_str(LEGEND);
    out.push_str("</header>\n<main>\n");
    if reports.is_empty() {
        out.push_str("<p class=\"none\">No failed bundle found.</p>\n");
    }
    for report in reports {
        bundle(&mut out, report, base);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// `scheme://user:pass@host/…` without its `user:pass@` (any other text as it is).
pub fn without_userinfo(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url.to_string(),
    }
}

fn bundle_titles(reports: &[Report]) -> String {
    let ids: Vec<&str> = reports.iter().map(|r| r.bundle_id.as_str()).collect();
    if ids.is_empty() {
        "nothing to do".into()
    } else {
        format!("bundle {}", ids.join(", "))
    }
}

fn bundle(out: &mut String, report: &Report, base: &str) {
    let mode = match (report.dry_run, report.waited) {
        (true, _) => "dry run: nothing was sent",
        (false, true) => "waited for the requests to finish",
        (false, false) => "requests sent, not waited for",
    };
    let _ = write!(
        out,
        "<section class=\"bundle\" id=\"bundle-{id}\">\n<h2><span class=\"icon\">▣</span> Bundle {id} \
         <q>{name}</q></h2>\n<p class=\"meta\">Failed item: {failed} · {mode}</p>\n",
        id = esc(&report.bundle_id),
        name = esc(&report.bundle_name),
        failed = if report.failed_items.is_empty() {
            "none".to_string()
        } else {
            esc(&report.failed_items.join(", "))
        },
    );
    summary(out, report);
    out.push_str("<ul class=\"tree\">\n");
    // The bundle itself is the root of the tree when it was in the plan.
    let parent = report.items.iter().find(|i| i.parent);
    match parent {
        Some(p) => {
            out.push_str("<li>");
            member(out, p, base);
            out.push_str("\n<ul>\n");
        }
        None => {
            let _ = write!(
                out,
                "<li><div class=\"member kind-bundle\"><span class=\"icon\">▣</span> \
                 <span class=\"kind\">bundle</span> <span class=\"id mono\">{}</span> \
                 <span class=\"name\">{}</span></div>\n<ul>\n",
                esc(&report.bundle_id),
                esc(&report.bundle_name)
            );
        }
    }
    for item in report.items.iter().filter(|i| !i.parent) {
        out.push_str("<li>");
        member(out, item, base);
        if !item.vms.is_empty() {
            // A child's VMs are not retired one by one: they go with their service.
            let note = match item.outcome {
                Outcome::Retired => "retired with its service",
                Outcome::Requested | Outcome::Planned => "retires with its service",
                _ => "VM of this service",
            };
            out.push_str("\n<ul class=\"vms\">");
            for vm in &item.vms {
                let _ = write!(
                    out,
                    "<li><div class=\"vm\" data-id=\"{id}\"><span class=\"icon\">▢</span> <span class=\"kind\">vm</span> \
                     <span class=\"id mono\">{id}</span> <span class=\"name\">{}</span> \
                     <span class=\"note\">{note}</span></div></li>",
                    esc(&vm.name),
                    id = esc(&vm.id),
                );
            }
            out.push_str("</ul>");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul></li>\n</ul>\n</section>\n");
}

fn summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    out.push_str("<ul class=\"summary\">");
    for (n, label, class) in [
        (s.total, "in the plan", "total"),
        (s.planned, "planned", "planned"),
        (s.requested, "requested", "requested"),
        (s.retired, "retired", "retired"),
        (s.skipped, "skipped", "skipped"),
        (s.left, "left", "left"),
        (s.failed, "failed", "failed"),
        (s.timed_out, "timed out", "timed_out"),
    ] {
        let _ = write!(
            out,
            "<li class=\"chip outcome-{class}\"><b>{n}</b> {label}</li>"
        );
    }
    out.push_str("</ul>\n");
}

fn member(out: &mut String, item: &ItemReport, base: &str) {
    let (class, icon) = outcome(item.outcome);
    let label = crate::output::outcome_label(item);
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
    let _ = write!(
        out,
        "<div class=\"member outcome-{class}\" data-id=\"{id}\" data-outcome=\"{class}\">\
         <span class=\"icon\" aria-hidden=\"true\">{icon}</span> <span class=\"kind\">{kind}</span> \
         <span class=\"id mono\">{id}</span> <span class=\"name\">{name}</span> \
         <span class=\"badge\">{label}</span>",
        id = esc(&item.id),
        name = esc(&item.name),
    );
    let mut details = vec![format!("plan: {action} — {}", esc(&sanitize(&item.reason)))];
    if let Some(method) = &item.method {
        details.push(format!("via <span class=\"mono\">{}</span>", esc(method)));
    }
    if let Some(r) = &item.request_id {
        details.push(format!(
            "request <a href=\"{}/miq_request/show/{r}\">{r}</a>",
            esc(base),
            r = esc(r)
        ));
    }
    if let Some(t) = &item.task_id {
        details.push(format!("task <span class=\"mono\">{}</span>", esc(t)));
    }
    if let Some(state) = &item.retirement_state {
        details.push(format!("retirement_state {}", esc(state)));
    }
    if item.reply_lost {
        details.push("the reply was lost, but the server had acted".into());
    }
    let _ = write!(out, "<div class=\"details\">{}</div>", details.join(" · "));
    if let Some(error) = &item.error {
        let _ = write!(out, "<pre class=\"error\">{}</pre>", esc(&sanitize(error)));
    }
    out.push_str("</div>");
}

/// CSS class and icon of an outcome.
fn outcome(outcome: Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Planned => ("planned", "○"),
        Outcome::Requested => ("requested", "→"),
        Outcome::Retired => ("retired", "✓"),
        Outcome::Skipped => ("skipped", "–"),
        Outcome::Left => ("left", "•"),
        Outcome::Failed => ("failed", "✗"),
        Outcome::TimedOut => ("timed_out", "◔"),
    }
}

/// Escapes text for HTML and SVG (XML) alike.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const LEGEND: &str = "<ul class=\"legend\" aria-label=\"legend\">\
<li class=\"outcome-retired\"><span class=\"icon\">✓</span> retired</li>\
<li class=\"outcome-requested\"><span class=\"icon\">→</span> requested</li>\
<li class=\"outcome-planned\"><span class=\"icon\">○</span> would retire (dry run)</li>\
<li class=\"outcome-skipped\"><span class=\"icon\">–</span> skipped</li>\
<li class=\"outcome-left\"><span class=\"icon\">•</span> left (the failed item)</li>\
<li class=\"outcome-failed\"><span class=\"icon\">✗</span> failed</li>\
<li class=\"outcome-timed_out\"><span class=\"icon\">◔</span> timed out</li></ul>";

const CSS: &str = r#"
:root { --ok: #1b7f3b; --req: #1f5fbf; --plan: #5b5b9a; --skip: #6b6b6b; --left: #8a6d00; --bad: #b3261e; --late: #b35c00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 "DejaVu Sans", system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 24px; color: #1d1d1f; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 4px; }
q { quotes: "“" "”"; }
.mono, pre { font-family: "DejaVu Sans Mono", ui-monospace, monospace; }
.run, .meta { color: #555; margin: 0 0 10px; }
.legend, .summary { list-style: none; padding: 0; margin: 8px 0 14px; display: flex; flex-wrap: wrap; gap: 6px 14px; }
.legend li { white-space: nowrap; }
.chip { border: 1px solid currentColor; border-radius: 12px; padding: 1px 10px; white-space: nowrap; }
.bundle { border: 1px solid #d0d0d7; border-radius: 8px; padding: 16px 18px; margin: 0 0 20px; break-inside: avoid-page; }
.tree, .tree ul { list-style: none; margin: 0; padding-left: 22px; }
.tree { padding-left: 0; }
.tree li { position: relative; margin: 6px 0; }
.tree ul li::before { content: ""; position: absolute; left: -14px; top: 0; height: 14px; width: 10px; border-left: 1px solid #bbb; border-bottom: 1px solid #bbb; }
.member, .vm { border-left: 4px solid #999; padding: 4px 10px; background: #fafafa; border-radius: 4px; overflow-wrap: anywhere; }
.vm { border-left-color: #ccc; background: #fff; color: #444; }
.icon { display: inline-block; width: 1.2em; text-align: center; font-weight: bold; }
.kind { color: #666; font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }
.name { font-weight: 600; }
.badge { display: inline-block; margin-left: 6px; padding: 0 8px; border-radius: 10px; color: #fff; background: #777; font-size: 13px; }
.details { color: #444; font-size: 13px; margin-top: 2px; }
.note { color: #777; font-size: 13px; }
pre.error { white-space: pre-wrap; overflow-wrap: anywhere; margin: 6px 0 2px; padding: 6px 8px; background: #fdecea; border: 1px solid #f3b6b1; border-radius: 4px; color: #5f1410; font-size: 13px; }
a { color: var(--req); }
.outcome-retired { color: var(--ok); } .member.outcome-retired { border-left-color: var(--ok); } .outcome-retired .badge { background: var(--ok); }
.outcome-requested { color: var(--req); } .member.outcome-requested { border-left-color: var(--req); } .outcome-requested .badge { background: var(--req); }
.outcome-planned { color: var(--plan); } .member.outcome-planned { border-left-color: var(--plan); } .outcome-planned .badge { background: var(--plan); }
.outcome-skipped { color: var(--skip); } .member.outcome-skipped { border-left-color: var(--skip); } .outcome-skipped .badge { background: var(--skip); }
.outcome-left { color: var(--left); } .member.outcome-left { border-left-color: var(--left); } .outcome-left .badge { background: var(--left); }
.outcome-failed { color: var(--bad); } .member.outcome-failed { border-left-color: var(--bad); } .outcome-failed .badge { background: var(--bad); }
.outcome-timed_out { color: var(--late); } .member.outcome-timed_out { border-left-color: var(--late); } .outcome-timed_out .badge { background: var(--late); }
.outcome-total { color: #333; }
.member .name, .member .details, .member .id { color: #1d1d1f; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  a::after { content: " (" attr(href) ")"; font-size: 9pt; color: #555; }
  .bundle { border-color: #999; }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<b a=\"x\">&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;"
        );
    }
}
