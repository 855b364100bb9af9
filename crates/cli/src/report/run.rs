//! `run --output html`: one self-contained page of a run to attach to a ticket — what was
//! delivered and how it ended (the result, the reason, the cause), the machine (the
//! diagram), the run on the virtual clock (the timeline), ManageIQ's schema table with each
//! state's result, every delivery (when, how it ended and why, its requeue, notifications,
//! emails and other executions, its events), the log filterable by level, and the final
//! state (state_vars, the root's attributes). Same frame and style as the retire report;
//! every text masked and escaped; it prints as well as it shows.

use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};
use serde_json::Value;

use super::{
    badge, details, error_block, facts, generated_at, legend, log, scoped_svg, section, table,
    timestamp, Block, Breakable, Level, LogLine, Status, Text,
};
use crate::diagram::{self, Machine};

/// The whole page: `delivery` is the run's JSON (`run --output json`), `machine` the state
/// machine the URI names with the run's trace added (`None` when the URI is not one: then
/// no diagram, timeline or state table), `uri` as it was given.
pub fn page(
    delivery: &Value,
    machine: Option<&Machine>,
    uri: &str,
    generated: DateTime<Utc>,
) -> String {
    let run = Run::of(delivery);
    // A `password::` argument of the URI is masked before anything shows it.
    let uri = miq_automate_core::log::sanitize_uri(uri);
    let path = uri.split(['?', '#']).next().unwrap_or(&uri);
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("/");
    let resolved = machine
        .map(|m| m.title.clone())
        .or_else(|| root_name(delivery));
    let header = html! {
        h1 { "Automate run: " (Text(&name)) " " (badge(run.status, &run.label)) }
        p.meta.uri { "Delivered " span.mono { (Text(&uri)) } }
        @if let Some(r) = resolved.as_deref().filter(|r| !r.is_empty()) {
            p.meta { "Resolved to " span.mono { (Text(r)) } " (with its domain)" }
        }
        (outcome(delivery, &run))
        (facts(run_facts(&run)))
        (generated_at(generated))
        @if machine.is_some() {
            (legend(&[
                (Status::Passed, "passed"),
                (Status::Retried, "retried"),
                (Status::Failed, "failed"),
                (Status::TimedOut, "stopped by a limit"),
                (Status::NotReached, "not reached"),
            ]))
        }
        nav.toc aria-label="sections" {
            @if machine.is_some() {
                a href="#machine" { "The machine" } " · "
                a href="#timeline" { "Timeline" } " · "
                a href="#states" { "States" } " · "
            }
            a href="#deliveries" { "Deliveries" } " · "
            a href="#log" { "Log" } " · "
            a href="#final" { "Final state" }
        }
    };
    let body = html! {
        @if let Some(m) = machine {
            (section("machine", html! { "The machine" }, html! {
                @if let Some(d) = m.description.as_deref().filter(|d| !d.trim().is_empty()) {
                    p.meta { (Text(d)) }
                }
                div.figure { (super::embedded_svg(&scoped_svg("fig-machine", &diagram::svg::draw(m)))) }
            }))
            (section("timeline", html! { "Timeline" }, html! {
                p.meta { "Virtual time across, a row per state: a bar per visit of each delivery." }
                div.figure { (super::embedded_svg(&scoped_svg("fig-timeline", &diagram::timeline::draw(m)))) }
            }))
            (section("states", html! { "States" }, states(m)))
        } @else {
            p.callout { "The URI is not a state machine: no diagram, timeline or state table; its deliveries' events are below." }
        }
        (section("deliveries", html! { "Deliveries" }, deliveries(delivery, &run, machine.is_none())))
        (section("log", html! { "Log" }, log_section(delivery)))
        (section("final", html! { "Final state" }, final_state(delivery)))
    };
    super::page(
        &format!("Automate run — {name} — {}", run.label),
        header,
        body,
    )
}

/// How the run ended, read from its JSON.
struct Run {
    ae_result: String,
    /// The exception first, then ae_reason.
    reason: Option<String>,
    limit: Option<String>,
    deliveries: u64,
    virtual_seconds: f64,
    started: Option<DateTime<Utc>>,
    status: Status,
    label: String,
}

impl Run {
    fn of(delivery: &Value) -> Run {
        let ae_result = text(delivery, "ae_result").unwrap_or_else(|| "error".into());
        let limit = text(delivery, "limit");
        let reason = text(delivery, "error").or_else(|| text(delivery, "ae_reason"));
        let (status, label) = match (ae_result.to_ascii_lowercase().as_str(), &limit) {
            (_, Some(limit)) => (Status::TimedOut, format!("{ae_result}: stopped by {limit}")),
            ("error", None) => (Status::Failed, "error".to_string()),
            ("retry", None) => (Status::Retried, "retry".to_string()),
            (_, None) => (Status::Passed, ae_result.clone()),
        };
        Run {
            reason,
            limit,
            deliveries: delivery
                .get("deliveries")
                .and_then(Value::as_u64)
                .unwrap_or_else(|| items(delivery, "trace").count() as u64),
            virtual_seconds: delivery
                .get("virtual_seconds")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            started: delivery
                .get("started_at")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            status,
            label,
            ae_result,
        }
    }

    /// The wall-clock time of `at` virtual seconds into the run, when its start is known.
    fn at(&self, seconds: f64) -> Option<DateTime<Utc>> {
        // Checked: a delivery `at` 1e15 seconds past a start overflowed chrono's range, and
        // `+` panicked (the page is built from JSON another tool may have written).
        let ms = (seconds * 1000.0).round();
        self.started
            .and_then(|s| s.checked_add_signed(Duration::try_milliseconds(ms as i64)?))
    }
}

/// The result in a box: ae_result, the reason, and the cause the log tells.
fn outcome(delivery: &Value, run: &Run) -> Markup {
    let causes = crate::run::causes(delivery);
    html! {
        div class={ "callout run-result " (run.status.class()) } {
            strong { "ae_result: " (Text(&run.ae_result)) }
            @if let Some((state, step)) = failed_at(delivery) {
                " — failed in state " b.mono { (Text(&state)) }
                @if let Some((step, method)) = step {
                    ", step " (Text(&step)) ": " span.mono { (Breakable(&method)) }
                }
            }
            @if let Some(limit) = &run.limit {
                " — stopped by the limit " span.mono { (Text(limit)) }
            }
            @if let Some(reason) = &run.reason {
                (error_block(reason))
            } @else if run.status != Status::Passed {
                span.note { " — no reason given (neither an error nor ae_reason)" }
            }
            @if !causes.is_empty() {
                ul.causes {
                    @for c in &causes { li { (Text(c)) } }
                }
            }
        }
    }
}

/// Where the last delivery failed: the state that ended in error (or raised), and the
/// first step of it that did (`main`, and its method).
fn failed_at(delivery: &Value) -> Option<(String, Option<(String, String)>)> {
    let last = items(delivery, "trace").last()?;
    let events: Vec<&Value> = items(last, "events").collect();
    let end = events.iter().rev().find(|e| {
        let event = text(e, "event").unwrap_or_default();
        event == "raised" || (event == "done" && text(e, "result").as_deref() == Some("error"))
    })?;
    let state = text(end, "state")?;
    let step = events
        .iter()
        .filter(|e| text(e, "state").as_deref() == Some(state.as_str()))
        .filter(|e| text(e, "event").as_deref() == Some("step"))
        .find(|e| text(e, "result").as_deref() == Some("error"))
        .map(|e| {
            (
                text(e, "step").unwrap_or_default(),
                text(e, "method").unwrap_or_default(),
            )
        });
    Some((state, step))
}

fn run_facts(run: &Run) -> Vec<Markup> {
    let mut out = Vec::new();
    if let Some(at) = run.started {
        out.push(html! { "Started " (timestamp(at)) });
    }
    out.push(html! { (plural(run.deliveries, "delivery", "deliveries")) });
    out.push(html! { "virtual time " (duration(run.virtual_seconds)) });
    if let Some(limit) = &run.limit {
        out.push(html! { "limit " span.mono { (Text(limit)) } });
    }
    out
}

/// ManageIQ's schema table of the machine with the run's result and the domain that
/// served each state: the UI's columns, the three hooks in one cell and the two limits in
/// another, so the table fits the page.
fn states(m: &Machine) -> Markup {
    let rows = diagram::table::rows(m);
    let rollback = rows.iter().any(|r| !r.rollback.is_empty());
    let mut columns = vec!["Name", "Value", "On Entry · On Exit · On Error", "Limits"];
    if m.traced {
        columns.extend(["Result", "Domain"]);
    }
    if rollback {
        columns.push("Rollback");
    }
    let cells = rows.iter().map(|row| {
        let status = row.outcome.map(|o| outcome_status(o.class()));
        let hooks = [
            ("entry", &row.on_entry),
            ("exit", &row.on_exit),
            ("error", &row.on_error),
        ];
        let limits = [("retries", &row.max_retries), ("time", &row.max_time)];
        let mut c = vec![
            html! { b.nowrap { (Text(&row.name)) } },
            html! { span.mono { (Breakable(&row.value)) } },
            html! {
                @for (label, hook) in hooks.iter().filter(|(_, h)| !h.is_empty()) {
                    div.hook { span.note { (label) ": " } span.mono { (Breakable(hook)) } }
                }
            },
            html! {
                @for (label, limit) in limits.iter().filter(|(_, l)| !l.is_empty()) {
                    div.nowrap { span.note { (label) " " } (Text(limit)) }
                }
            },
        ];
        if m.traced {
            let result = row.result.clone().unwrap_or_default();
            c.push(match status {
                Some(s) => html! { span class={ "result " (s.class()) } { (Breakable(&result)) } },
                None => html! { (Breakable(&result)) },
            });
            c.push(html! { span.nowrap { (Text(row.domain.as_deref().unwrap_or(""))) } });
        }
        if rollback {
            c.push(rollback_cell(m.states.iter().find(|s| s.name == row.name)));
        }
        c
    });
    html! { div.wide.states { (table(&columns, cells)) } }
}

/// A state's rollback: the steps a failure there would run (a matrix), and those its
/// on_error ran, one a line with how each ended.
fn rollback_cell(state: Option<&diagram::State>) -> Markup {
    let Some(state) = state else {
        return html! {};
    };
    let ran: Vec<&diagram::StepRun> = state
        .trace
        .as_ref()
        .map(|t| t.rollback().collect())
        .unwrap_or_default();
    html! {
        @if !state.rollback.is_empty() {
            div { span.note { "on failure: " } span.mono { (Breakable(&state.rollback.join(", "))) } }
        }
        @if !ran.is_empty() {
            span.note { "ran:" }
            ol.ran {
                @for step in &ran {
                    @let status = result_status(&step.result).unwrap_or(Status::Passed);
                    li class=(status.class()) {
                        span.mono title=(Text(&step.method)) { (Breakable(last_segment(&step.method))) } " "
                        span.result { (status.icon()) " " (Text(if step.result.is_empty() { "ok" } else { &step.result })) }
                        @if let Some(r) = &step.reason { " " span.note { (Text(r)) } }
                    }
                }
            }
        }
    }
}

/// `UnregisterDHCP?reason=rollback` of `/Ns/Methods/UnregisterDHCP?reason=rollback`.
fn last_segment(path: &str) -> &str {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path[..end]
        .trim_end_matches('/')
        .rfind('/')
        .map_or(path, |at| &path[at + 1..])
}

/// The colour of a state's outcome (`passed`, `retried`, `failed`, `notreached`).
fn outcome_status(class: &str) -> Status {
    match class {
        "passed" => Status::Passed,
        "retried" => Status::Retried,
        "failed" => Status::Failed,
        _ => Status::NotReached,
    }
}

/// The colour of a result word (`ok`, `error`, `retry`…).
fn result_status(result: &str) -> Option<Status> {
    match result.to_ascii_lowercase().as_str() {
        "ok" => Some(Status::Passed),
        "error" => Some(Status::Failed),
        "retry" | "restart" => Some(Status::Retried),
        "skip" | "continue" => Some(Status::Skipped),
        _ => None,
    }
}

/// Every delivery, each in a collapsible block (the last one, and any that failed, open).
fn deliveries(delivery: &Value, run: &Run, all_open: bool) -> Markup {
    let list: Vec<&Value> = items(delivery, "trace").collect();
    let last = list.len().saturating_sub(1);
    html! {
        @if list.is_empty() { p.none { "No delivery was traced." } }
        @for (i, d) in list.iter().enumerate() {
            @let result = text(d, "ae_result").unwrap_or_default();
            @let open = all_open || i == last || result.eq_ignore_ascii_case("error");
            (details(delivery_summary(d, i, run), delivery_body(d), open))
        }
    }
}

fn delivery_summary(d: &Value, i: usize, run: &Run) -> Markup {
    let n = d
        .get("delivery")
        .and_then(Value::as_u64)
        .unwrap_or(i as u64 + 1);
    let at = d.get("at").and_then(Value::as_f64).unwrap_or(0.0);
    let result = text(d, "ae_result").unwrap_or_default();
    let status = result_status(&result).unwrap_or(Status::NotReached);
    html! {
        span.delivery-head {
            b { "Delivery " (n) }
            " · +" (duration(at))
            @if let Some(t) = run.at(at) { " (" (timestamp(t)) ")" }
            " · "
            @match text(d, "state") {
                Some(s) => { "resumed at " span.mono { (Text(&s)) } },
                None => "from the first state",
            }
            (badge(status, if result.is_empty() { "?" } else { &result }))
            @if let Some(r) = requeue(d) { " " span.note { "→ " (r) } }
        }
    }
}

/// `requeued: CheckProvisioned again in 60 s`.
fn requeue(d: &Value) -> Option<Markup> {
    let r = d.get("requeue").filter(|r| r.is_object())?;
    let state = text(r, "state").unwrap_or_default();
    let interval = r
        .get("retry_interval")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    Some(html! {
        "requeued: " span.mono { (Text(&state)) } " again in " (duration(interval))
    })
}

fn delivery_body(d: &Value) -> Markup {
    let notifications: Vec<&Value> = items(d, "notifications").collect();
    let executions: Vec<&Value> = items(d, "executions").collect();
    let (emails, others): (Vec<&Value>, Vec<&Value>) = executions
        .into_iter()
        .partition(|e| text(e, "name").as_deref() == Some("send_email"));
    html! {
        div.delivery {
            @if let Some(reason) = text(d, "reason") {
                p.why { "Why: " }
                (error_block(&reason))
            }
            @if let Some(r) = requeue(d) { p.requeue { "→ " (r) " (virtual time)." } }
            @if !notifications.is_empty() {
                h3 { "Notifications (" (notifications.len()) ")" }
                div.wide { (table(&["Level", "Type", "Audience", "Message", "Subject"], notifications.iter().map(|n| {
                    let level = text(n, "level").unwrap_or_default();
                    let tone = match level.as_str() {
                        "error" => Some(Status::Failed),
                        "warning" | "warn" => Some(Status::TimedOut),
                        "success" => Some(Status::Passed),
                        _ => None,
                    };
                    vec![
                        html! { @match tone { Some(s) => (badge(s, &level)), None => (Text(&level)) } },
                        html! { span.mono { (Breakable(&text(n, "type").unwrap_or_default())) } },
                        html! { (Text(&text(n, "audience").unwrap_or_default())) },
                        html! { (Text(&text(n, "text").or_else(|| text(n, "message")).unwrap_or_default())) },
                        subject_cell(n.get("subject")),
                    ]
                }))) }
            }
            @for e in &emails { (email(e)) }
            @if !others.is_empty() {
                h3 { "Executions (" (others.len()) ")" }
                div.wide { (table(&["Method", "Arguments"], others.iter().map(|e| vec![
                    html! { span.mono { (Text(&text(e, "name").unwrap_or_default())) } },
                    html! { span.mono { (Breakable(&e.get("args").map(ruby).unwrap_or_default())) } },
                ]))) }
            }
            h3 { "Events" }
            (events(d))
        }
    }
}

/// A notification's subject: the model's label (`User 1 "Administrator"`), its Ruby inspect
/// text in the tooltip.
fn subject_cell(subject: Option<&Value>) -> Markup {
    let Some(subject) = subject.filter(|s| !s.is_null()) else {
        return html! {};
    };
    let raw = ruby(subject);
    match subject.get("$foreign").and_then(model_label) {
        Some(label) => html! { span title=(Text(&raw)) { (Text(&label)) } },
        None => html! { (Breakable(&raw)) },
    }
}

/// A model's label from a `$foreign` value: its kind, id and name, read from its inspect text
/// (`#<MiqAutomate::World::Model users/1 name: "Administrator">`, `#<MiqAutomate::ServiceModel
/// miq_request id: 7, description: "Provision web01">`) or its label (`users/1`).
fn model_label(foreign: &Value) -> Option<String> {
    let text = foreign.get("text").and_then(Value::as_str).unwrap_or("");
    let label = foreign.get("label").and_then(Value::as_str).unwrap_or("");
    // `table/id` (a world record's label).
    let record = |s: &str| -> Option<(String, String)> {
        let (table, id) = s.split_once('/')?;
        let ok = !table.is_empty()
            && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        ok.then(|| (singular(table), id.to_string()))
    };
    // `table/id …` (a world model) or `miq_request id: 7, …` (a service model), after the
    // class name or without one.
    let parse = |rest: &str| -> Option<(String, String)> {
        let (first, after) = rest.split_once(' ').unwrap_or((rest, ""));
        record(first).or_else(|| {
            let id = after.strip_prefix("id: ")?;
            let id = id.split([',', ' ']).next().unwrap_or(id).trim();
            (!id.is_empty() && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| (first.to_string(), id.to_string()))
        })
    };
    let (kind, id) = match text.strip_prefix("#<").and_then(|t| t.strip_suffix('>')) {
        Some(body) => body
            .split_once(' ')
            .and_then(|(_, rest)| parse(rest.trim()))
            .or_else(|| parse(body.trim()))?,
        None => record(label)?,
    };
    let kind: String = kind
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    if kind.is_empty() {
        return None;
    }
    let name = ["name: \"", "description: \"", "userid: \""]
        .iter()
        .find_map(|key| quoted_after(text, key));
    Some(match name {
        Some(n) => format!("{kind} {id} {n:?}"),
        None => format!("{kind} {id}"),
    })
}

/// A table's row as one: `users` → `user`, `miq_requests` → `miq_request`, `policies` →
/// `policy`.
fn singular(table: &str) -> String {
    if let Some(stem) = table.strip_suffix("ies") {
        format!("{stem}y")
    } else if table.ends_with("sses") || table.ends_with("xes") {
        table[..table.len() - 2].to_string()
    } else {
        table.strip_suffix('s').unwrap_or(table).to_string()
    }
}

/// The Ruby string literal after `key` in an inspect text (`name: "x"` → `x`), unescaped.
fn quoted_after(text: &str, key: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    let mut out = String::new();
    let mut chars = text[at..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// A `send_email` execution: to, from, subject, the body as text (and as sent).
fn email(e: &Value) -> Markup {
    let args: Vec<&Value> = items(e, "args").collect();
    let arg = |i: usize| args.get(i).map(|v| plain(v)).unwrap_or_default();
    let body = arg(3);
    let options = args.get(4).map(|o| ruby(o)).unwrap_or_default();
    html! {
        div.email {
            h3 { "Email" }
            dl.fields {
                dt { "To" } dd { (Text(&arg(0))) }
                dt { "From" } dd { (Text(&arg(1))) }
                dt { "Subject" } dd { (Text(&arg(2))) }
                @if !options.is_empty() && options != "{}" {
                    dt { "Options" } dd.mono { (Text(&options)) }
                }
            }
            pre.email-body { (Block(&html_as_text(&body))) }
            @if body.contains('<') {
                (details(html! { "The body as sent (HTML source)" }, html! { pre.email-body { (Block(&body)) } }, false))
            }
        }
    }
}

/// An email's HTML body read as text: `<br>` and paragraph ends as new lines, other tags of
/// HTML dropped (anything else in angle brackets kept: `#<Vm name: "web02">` is text), the
/// common entities decoded (the page escapes it all again).
fn html_as_text(body: &str) -> String {
    const TAGS: [&str; 33] = [
        "a", "b", "i", "u", "p", "br", "hr", "div", "span", "font", "strong", "em", "small", "big",
        "center", "pre", "code", "table", "thead", "tbody", "tr", "td", "th", "ul", "ol", "li",
        "h1", "h2", "h3", "h4", "html", "body", "head",
    ];
    const BREAKS: [&str; 7] = ["br", "p", "div", "tr", "li", "h1", "h2"];
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let tag = tail.find('>').and_then(|end| {
            let inner = tail[..end].trim_start_matches('/').to_ascii_lowercase();
            let name = inner
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("")
                .to_string();
            TAGS.contains(&name.as_str()).then_some((end, name))
        });
        match tag {
            Some((end, name)) => {
                if BREAKS.contains(&name.as_str()) {
                    out.push('\n');
                }
                rest = &tail[end + 1..];
            }
            None => {
                out.push('<');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// A delivery's events as a compact table: state, step, method, result, reason.
fn events(d: &Value) -> Markup {
    let list: Vec<&Value> = items(d, "events").collect();
    let top = list
        .iter()
        .find_map(|e| text(e, "machine"))
        .unwrap_or_default();
    let rows = list.iter().filter_map(|e| {
        let machine = text(e, "machine").unwrap_or_default();
        let state = text(e, "state").unwrap_or_default();
        let state = crate::run::nested_state(&top, &machine, &state).unwrap_or(state);
        let (step, method, result, why) = match text(e, "event")?.as_str() {
            "enter" => (
                crate::run::enter_step(e),
                String::new(),
                String::new(),
                String::new(),
            ),
            // A hook's own outcome (an on_error that ran leaves ae_result `error`: the
            // state's, not the hook's), as the text table says it.
            "step" => (
                text(e, "step").unwrap_or_default(),
                text(e, "method").unwrap_or_default(),
                crate::run::hook_outcome(e)
                    .or_else(|| text(e, "result"))
                    .unwrap_or_default(),
                text(e, "error").or_else(|| text(e, "reason")).unwrap_or_default(),
            ),
            "instantiate" => (
                format!("{} → instantiate", text(e, "step").unwrap_or_default()),
                text(e, "uri").unwrap_or_default(),
                text(e, "result").unwrap_or_default(),
                text(e, "error").or_else(|| text(e, "reason")).unwrap_or_default(),
            ),
            "done" => {
                let next = match e.get("next_state") {
                    Some(Value::String(s)) if s.is_empty() => "next: (end)".to_string(),
                    Some(Value::String(s)) => format!("next: {s}"),
                    _ => String::new(),
                };
                let reason = text(e, "reason").unwrap_or_default();
                let why = [next, reason]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" — ");
                (
                    "done".into(),
                    String::new(),
                    text(e, "result").unwrap_or_default(),
                    why,
                )
            }
            "raised" => (
                "raised".into(),
                String::new(),
                "error".into(),
                text(e, "error").unwrap_or_default(),
            ),
            _ => return None,
        };
        let served = served_by(e, &method);
        let status = result_status(&result);
        Some(vec![
            html! { span.nowrap { (Text(&state)) } },
            html! { (Text(&step)) },
            html! {
                span.mono { (Breakable(&method)) }
                @match served {
                    Some(Served::Domain(d)) => { " " span.note { "(" (Text(&d)) ")" } },
                    Some(Served::By(f)) => { br; span.note.mono { "served by " (Breakable(&f)) } },
                    None => {},
                }
            },
            html! { @match status { Some(s) => span class={ "result nowrap " (s.class()) } { (Text(&result)) }, None => (Text(&result)) } },
            html! { (Breakable(&why)) },
        ])
    });
    let rows: Vec<Vec<Markup>> = rows.collect();
    html! {
        @if rows.is_empty() { p.none { "No state ran in this delivery." } }
        @else { div.wide.events { (table(&["State", "Step", "Method", "Result", "Reason / next"], rows)) } }
    }
}

/// What served a step: its domain only when it is the method's own path in that domain
/// (`/Dom` + `/Ns/Class/m`), else the whole path (a helper's, a method of another name).
enum Served {
    Domain(String),
    By(String),
}

fn served_by(e: &Value, method: &str) -> Option<Served> {
    let served = text(e, "method_fqname").or_else(|| text(e, "fqname"))?;
    if method.is_empty() {
        return None;
    }
    // The call's name or path: without `(args)`, `?query`, `#message`.
    let called = method
        .split(['(', '?', '#'])
        .next()
        .unwrap_or(method)
        .trim()
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let lower = served.to_ascii_lowercase();
    let own = if called.starts_with('/') {
        lower.ends_with(&called) && lower.len() > called.len()
    } else {
        lower.ends_with(&format!("/{called}"))
    };
    match (own, text(e, "domain")) {
        (true, Some(domain)) => Some(Served::Domain(domain)),
        _ => Some(Served::By(served)),
    }
}

/// The log of every delivery, each line with its delivery's number, filterable by level.
fn log_section(delivery: &Value) -> Markup {
    let lines: Vec<(Level, String)> = items(delivery, "logs")
        .map(|l| {
            let level = text(l, "level")
                .and_then(|w| Level::parse(&w))
                .unwrap_or(Level::Info);
            let n = l.get("delivery").and_then(Value::as_u64).unwrap_or(1);
            (
                level,
                format!("#{n} {}", text(l, "message").unwrap_or_default()),
            )
        })
        .collect();
    let count = |level: Level| lines.iter().filter(|(l, _)| *l == level).count();
    let shown: Vec<LogLine<'_>> = lines
        .iter()
        .map(|(level, text)| LogLine {
            level: *level,
            text,
        })
        .collect();
    html! {
        @if lines.is_empty() { p.none { "No log line." } }
        @else {
            p.meta {
                (plural(lines.len() as u64, "line", "lines")) ": "
                (count(Level::Error)) " error" @if count(Level::Error) != 1 { "s" } ", "
                (count(Level::Warn)) " warning" @if count(Level::Warn) != 1 { "s" }
                " · each line starts with its delivery (#1, #2…)"
            }
            (log("run", &shown))
        }
    }
}

/// state_vars and the root's attributes, collapsed.
fn final_state(delivery: &Value) -> Markup {
    let vars: Vec<(String, String)> = delivery
        .get("state_vars")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), ruby(v))).collect())
        .unwrap_or_default();
    let root = items(delivery, "objects").find(|o| o.get("parent").is_none_or(Value::is_null));
    let attrs: Vec<(String, String)> = root
        .and_then(|o| o.get("attributes"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), ruby(v))).collect())
        .unwrap_or_default();
    let objects: Vec<String> = items(delivery, "objects")
        .filter_map(|o| text(o, "name"))
        .collect();
    let pairs = |list: &[(String, String)]| {
        table(
            &["Name", "Value"],
            list.iter().map(|(k, v)| {
                vec![
                    html! { span.mono { (Text(k)) } },
                    html! { span.mono { (Breakable(v)) } },
                ]
            }),
        )
    };
    html! {
        (details(html! { "state_vars (" (vars.len()) ")" }, html! {
            @if vars.is_empty() { p.none { "None set." } } @else { (pairs(&vars)) }
        }, false))
        (details(html! { "The root's attributes (" (attrs.len()) ")" }, html! {
            @if attrs.is_empty() { p.none { "None." } } @else { (pairs(&attrs)) }
        }, false))
        (details(html! { "Objects instantiated (" (objects.len()) ")" }, html! {
            ol.objects { @for o in &objects { li.mono { (Text(o)) } } }
        }, false))
    }
}

/// The root object's name (`/Dom/Ns/Class/instance`), with its domain.
fn root_name(delivery: &Value) -> Option<String> {
    items(delivery, "objects")
        .find(|o| o.get("parent").is_none_or(Value::is_null))
        .and_then(|o| text(o, "name"))
}

/// A string as it is, anything else as Ruby shows it.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => ruby(other),
    }
}

/// A value of the run's JSON as Ruby would show it: tagged forms (`$symbol`, `$hash`,
/// `$foreign`, `$password`, `$time`) read back, a password always masked.
fn ruby(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(ruby).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.len() == 1 => {
            let (tag, inner) = map.iter().next().expect("one entry");
            match tag.as_str() {
                "$symbol" => format!(":{}", inner.as_str().unwrap_or_default()),
                "$password" => "\"********\"".into(),
                "$time" | "$float" | "$bigdecimal" => plain(inner),
                "$foreign" => inner
                    .get("text")
                    .and_then(Value::as_str)
                    .or_else(|| inner.get("label").and_then(Value::as_str))
                    .unwrap_or("#<object>")
                    .to_string(),
                "$hash" => format!(
                    "{{{}}}",
                    inner
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_array)
                        .filter(|p| p.len() == 2)
                        .map(|p| format!("{} => {}", ruby(&p[0]), ruby(&p[1])))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => format!("{{{tag:?} => {}}}", ruby(inner)),
            }
        }
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k:?} => {}", ruby(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A string (or number) at `key`, if it is there and not empty.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `0 s`, `45 s`, `120 s (2m)`, `3725 s (1h2m5s)` (the pictures' form in brackets).
fn duration(seconds: f64) -> String {
    let whole = seconds.round() as i64;
    let shown = if (seconds - whole as f64).abs() < 1e-9 {
        format!("{whole} s")
    } else {
        format!("{seconds:.1} s")
    };
    if whole < 60 {
        return shown;
    }
    format!("{shown} ({})", crate::output::human_duration(whole as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::State;
    use serde_json::json;

    fn failed_run() -> Value {
        let m = "/Dom/Ns/SM/template";
        json!({
            "ae_result": "error",
            "ae_reason": "stubbed to fail <b>",
            "error": null,
            "limit": null,
            "deliveries": 2,
            "virtual_seconds": 60,
            "started_at": "2026-05-01T10:20:00Z",
            "logs": [
                {"delivery": 1, "level": "info", "message": "Instantiating [/Ns/SM/template]"},
                {"delivery": 2, "level": "warn", "message": "Error in State=[B]"},
                {"delivery": 2, "level": "error", "message": "<AEMethod b> boom password=hunter2"}
            ],
            "objects": [
                {"name": "/Dom/Ns/SM/template", "parent": null, "attributes": {
                    "ae_state": "B", "pw": {"$password": "x"},
                    "opts": {"$hash": [[{"$symbol": "a"}, 1]]}
                }}
            ],
            "state_vars": {"ae_rollback_done": ["/r/Undo"]},
            "trace": [
                {"delivery": 1, "at": 0, "state": null, "ae_result": "retry", "reason": null,
                 "requeue": {"state": "A", "retry_interval": 60},
                 "notifications": [], "executions": [],
                 "events": [
                    {"event": "enter", "machine": m, "state": "A", "retries": 0},
                    {"event": "step", "machine": m, "state": "A", "step": "main", "method": "/Ns/M/a", "result": "retry"},
                    {"event": "done", "machine": m, "state": "A", "result": "retry", "retries": 0}
                 ]},
                {"delivery": 2, "at": 60, "state": "A", "ae_result": "error", "reason": "stubbed to fail <b>",
                 "requeue": null,
                 "notifications": [{"level": "error", "type": "automate_user_error", "audience": "user",
                                    "text": "VM Provision Error <i>", "subject": {"$foreign": {"id": 2, "label": "x", "text": "#<miq_request id: 7>"}}}],
                 "executions": [
                    {"name": "send_email", "args": ["to@example.com", "from@example.com", "Request 7 <done>",
                        "Hello,<br/>Your VM <b>web01</b> is ready &amp; waiting", {"$hash": [[{"$symbol": "cc"}, ""]]}]},
                    {"name": "create_service_provision_request", "args": [1, {"$symbol": "x"}]}
                 ],
                 "events": [
                    {"event": "enter", "machine": m, "state": "A", "retries": 1},
                    {"event": "done", "machine": m, "state": "A", "result": "ok", "next_state": "B", "retries": 1},
                    {"event": "enter", "machine": m, "state": "B", "retries": 0},
                    {"event": "step", "machine": m, "state": "B", "step": "main", "method": "/Ns/M/b", "result": "error", "reason": "stubbed to fail <b>"},
                    {"event": "instantiate", "machine": m, "state": "B", "step": "on_error", "uri": "/r/Undo", "result": "ok"},
                    {"event": "step", "machine": m, "state": "B", "step": "on_error", "method": "rollback", "result": "ok"},
                    {"event": "done", "machine": m, "state": "B", "result": "error", "reason": "stubbed to fail <b>", "retries": 0}
                 ]}
            ]
        })
    }

    fn machine(trace: &Value) -> Machine {
        let state = |name: &str, on_error: Option<&str>| State {
            name: name.into(),
            main: Some(format!("/Ns/M/{}", name.to_lowercase())),
            on_error: on_error.map(String::from),
            ..State::default()
        };
        let mut m = Machine {
            title: "Dom/Ns/SM/template".into(),
            states: vec![
                state("A", None),
                state("B", Some("rollback")),
                state("C", None),
            ],
            ..Machine::default()
        };
        diagram::add_trace(&mut m, trace).unwrap();
        m
    }

    fn generated() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-01T11:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_page_has_every_part_of_a_failed_run() {
        let run = failed_run();
        let m = machine(&run);
        let page = page(&run, Some(&m), "/Ns/SM/template?x=1", generated());
        for id in [
            "machine",
            "timeline",
            "states",
            "deliveries",
            "log",
            "final",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "no section {id}");
        }
        assert!(
            page.contains(
                "<h1>Automate run: SM/template <span class=\"badge st-failed\">error</span></h1>"
            ),
            "{page}"
        );
        assert!(
            page.contains("Resolved to <span class=\"mono\">Dom/Ns/SM/template</span>"),
            "{page}"
        );
        assert!(
            page.contains("stubbed to fail &lt;b&gt;"),
            "the reason, escaped"
        );
        assert!(
            page.contains("failed in state <b class=\"mono\">B</b>, step main: <span class=\"mono\">/<wbr>Ns/<wbr>M/<wbr>b</span>"),
            "{page}"
        );
        assert!(
            page.contains("<time datetime=\"2026-05-01T10:20:00Z\">"),
            "started"
        );
        assert!(
            page.contains("<time datetime=\"2026-05-01T10:21:00Z\">"),
            "delivery 2's time"
        );
        assert!(page.contains("2 deliveries"), "{page}");
        assert!(page.contains("virtual time 60 s (1m)"), "{page}");
        // The states table with its results; every state, C not reached.
        assert!(page.contains("<th scope=\"col\">Result</th>"), "{page}");
        assert!(page.contains("<th scope=\"col\">Rollback</th>"), "{page}");
        assert!(page.contains("class=\"result st-not-reached\""), "{page}");
        // Both SVGs, scoped.
        assert!(page.contains("<svg id=\"fig-machine\""), "{page}");
        assert!(page.contains("<svg id=\"fig-timeline\""), "{page}");
        // The requeue, the notification, the email (as text), other executions, the rollback.
        assert!(
            page.contains("requeued: <span class=\"mono\">A</span> again in 60 s (1m)"),
            "{page}"
        );
        assert!(page.contains("VM Provision Error &lt;i&gt;"), "{page}");
        assert!(page.contains("#&lt;miq_request id: 7&gt;"), "{page}");
        assert!(page.contains("Request 7 &lt;done&gt;"), "{page}");
        assert!(
            page.contains("Hello,\nYour VM web01 is ready &amp; waiting"),
            "{page}"
        );
        assert!(page.contains("create_service_provision_request"), "{page}");
        assert!(page.contains("[1,<wbr> :x]"), "{page}");
        assert!(page.contains("on_error → instantiate"), "{page}");
        assert!(page.contains("/<wbr>r/<wbr>Undo"), "{page}");
        assert!(
            page.contains("<span class=\"mono\" title=\"/r/Undo\">Undo</span>"),
            "{page}"
        );
        assert_eq!(last_segment("/a/B?x=/y"), "B?x=/y");
        assert!(page.contains("next: B"), "{page}");
        assert!(page.contains("enter (retry 1)"), "{page}");
        // The log with each line's delivery, the secret masked.
        assert!(page.contains("#2 &lt;AEMethod b&gt; boom"), "{page}");
        assert!(!page.contains("hunter2"), "a secret on the page");
        assert!(page.contains("3 lines: 1 error, 1 warning"), "{page}");
        // The final state.
        assert!(page.contains("ae_rollback_done"), "{page}");
        assert!(page.contains("{:a <wbr>=&gt; 1}"), "{page}");
        assert!(page.contains("&quot;********&quot;"), "{page}");
        // The cause the log tells (none here but the reason), and nothing fetched.
        for fetch in ["<script", "<link", "@import", "src=", "<img", "<iframe"] {
            assert!(!page.contains(fetch), "the page fetches something: {fetch}");
        }
    }

    #[test]
    fn a_uri_that_is_no_state_machine_has_its_events_only() {
        let run = failed_run();
        let page = page(&run, None, "/Ns/M/b", generated());
        assert!(!page.contains("id=\"machine\""));
        assert!(!page.contains("<svg"));
        assert!(page.contains("not a state machine"), "{page}");
        assert!(
            page.contains("Resolved to <span class=\"mono\">/Dom/Ns/SM/template</span>"),
            "{page}"
        );
        // Every delivery open.
        assert_eq!(page.matches("<details open>").count(), 2, "{page}");
    }

    #[test]
    fn a_passed_run_and_a_limit() {
        let mut run = failed_run();
        run["ae_result"] = json!("ok");
        run["ae_reason"] = Value::Null;
        let page_ok = page(&run, None, "/Ns/SM/template", generated());
        assert!(page_ok.contains("badge st-passed\">ok<"), "{page_ok}");
        run["ae_result"] = json!("retry");
        run["limit"] = json!("max_deliveries");
        let page_limit = page(&run, None, "/Ns/SM/template", generated());
        assert!(
            page_limit.contains("badge st-timed-out\">retry: stopped by max_deliveries<"),
            "{page_limit}"
        );
        assert!(
            page_limit.contains("limit <span class=\"mono\">max_deliveries</span>"),
            "{page_limit}"
        );
    }

    #[test]
    fn a_subject_reads_as_its_model() {
        let label = |v: Value| model_label(&v);
        assert_eq!(
            label(json!({"id": 3, "label": "users/1",
                "text": "#<MiqAutomate::World::Model users/1 name: \"Administrator\">"})),
            Some("User 1 \"Administrator\"".into())
        );
        assert_eq!(
            label(json!({"id": 2, "label": "MiqAutomate::ServiceModel",
                "text": "#<MiqAutomate::ServiceModel miq_request id: 7, user_message: \"a, b\", description: \"Provision web01\">"})),
            Some("MiqRequest 7 \"Provision web01\"".into())
        );
        assert_eq!(
            label(json!({"id": 2, "label": "x", "text": "#<miq_request id: 7>"})),
            Some("MiqRequest 7".into())
        );
        assert_eq!(
            label(json!({"id": 4, "label": "vms/12"})),
            Some("Vm 12".into())
        );
        assert_eq!(label(json!({"id": 4, "label": "a thing"})), None);
        let cell = subject_cell(Some(&json!({"$foreign": {"id": 3, "label": "users/1",
            "text": "#<MiqAutomate::World::Model users/1 name: \"<b>Admin\">"}})))
        .into_string();
        assert!(
            cell.starts_with("<span title=\"#&lt;MiqAutomate::World::Model users/1"),
            "{cell}"
        );
        assert!(
            cell.ends_with(">User 1 &quot;&lt;b&gt;Admin&quot;</span>"),
            "{cell}"
        );
    }

    #[test]
    fn hostile_text_is_shown_as_text() {
        let mut run = failed_run();
        run["ae_reason"] = json!("<script>alert(1)</script>\u{1b}[2J password=S3cret");
        run["error"] = json!("RuntimeError: boom\u{7}");
        run["objects"][0]["attributes"]["evil"] = json!("<img src=x onerror=alert(1)>");
        let page = page(
            &run,
            None,
            "/Ns/SM/template?password::pw=S3cret&x=<script>",
            generated(),
        );
        assert!(!page.contains("S3cret"), "a secret on the page");
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(
            page.contains("RuntimeError: boom\\u{7}"),
            "the error first: {page}"
        );
        assert!(page.contains("x=&lt;script&gt;"), "{page}");
        assert!(!page
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'));
    }

    #[test]
    fn values_read_as_ruby_shows_them() {
        assert_eq!(
            ruby(&json!({"$hash": [[{"$symbol": "a"}, "b"], ["c", null]]})),
            "{:a => \"b\", \"c\" => nil}"
        );
        assert_eq!(ruby(&json!({"$password": "v2:{x}"})), "\"********\"");
        assert_eq!(
            html_as_text("a<br>b &lt; c <b>d</b> 1 < 2"),
            "a\nb < c d 1 < 2"
        );
        assert_eq!(duration(3725.0), "3725 s (1h2m5s)");
        assert_eq!(duration(0.5), "0.5 s");
    }

    mod hostile {
        use super::*;
        use crate::diagram::hostile_tests as h;
        use proptest::prelude::*;

        /// The page, no raw `<script` but the page's own.
        fn check(page: &str, own: usize) {
            assert_eq!(
                page.matches("<script").count(),
                own,
                "a <script from the JSON"
            );
            assert!(
                page.ends_with("</html>\n") || page.ends_with("</html>"),
                "the page is whole"
            );
        }

        fn own_scripts() -> usize {
            let p = page(&json!({}), None, "/x", Utc::now());
            p.matches("<script").count()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]

            #[test]
            fn any_json_makes_a_page(doc in h::any_value(), uri in h::nasty_string()) {
                check(&page(&doc, None, &uri, Utc::now()), own_scripts());
            }

            #[test]
            fn a_hostile_run_makes_a_page(mut doc in h::trace(), started in prop_oneof![
                Just(json!("2026-12-04T10:00:00Z")), Just(json!("+262143-12-31T23:59:59Z")),
                Just(json!("-262143-01-01T00:00:00Z")), h::any_value()],
                logs in proptest::collection::vec(h::any_value(), 0..4),
                objects in proptest::collection::vec(h::any_value(), 0..4)) {
                doc["started_at"] = started;
                doc["logs"] = Value::Array(logs);
                doc["objects"] = Value::Array(objects);
                doc["state_vars"] = json!({"k": doc["ae_reason"].clone()});
                let mut m = h::machine("x");
                let machine = diagram::add_trace(&mut m, &doc).ok().map(|()| &m);
                check(&page(&doc, machine, "/D/ns/C/i", Utc::now()), own_scripts());
            }
        }

        #[test]
        fn a_delivery_past_chronos_range_makes_a_page() {
            let doc = json!({"ae_result": "ok", "started_at": "2026-12-04T10:00:00Z",
                "trace": [{"delivery": 1, "at": 1e15, "events": []}, {"delivery": 2, "at": 1e308}]});
            check(&page(&doc, None, "/x", Utc::now()), own_scripts());
        }
    }
}
