//! Carrying out a plan: `request_retire` (or the legacy `retire`) on each member with bounded
//! concurrency, the bundle last; optional waiting for the requests and tasks to finish.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::action::{id_text, ActionOutcome};
use crate::client::Client;
use crate::error::{ApiError, ErrorKind};
use crate::query::Query;
use crate::retire::{
    summarize, Action, ItemKind, ItemReport, Outcome, Plan, PlanItem, Report, RetireOptions,
};

/// Hears about progress (the CLI draws a bar with it).
pub trait Progress: Send + Sync {
    /// The number of items to act on.
    fn start(&self, _total: usize) {}
    /// One item is done.
    fn item(&self, _item: &ItemReport) {}
    /// All done.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// How many times a member's POST is tried when it fails in a way that may be transient.
const POST_ATTEMPTS: u32 = 3;

/// Executes `plan`: retires each `Retire` item once, children concurrently, then the bundle.
pub async fn execute(
    client: &Client,
    plan: &Plan,
    options: &RetireOptions,
    progress: &dyn Progress,
) -> Report {
    let to_act = plan
        .items
        .iter()
        .filter(|i| i.action == Action::Retire)
        .count();
    progress.start(to_act);
    let concurrency = client.config().concurrency.max(1);
    let children: Vec<(usize, &PlanItem)> = plan
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| !i.parent)
        .collect();
    let mut reports: Vec<(usize, ItemReport)> =
        stream::iter(children)
            .map(|(index, item)| async move {
                (index, act(client, plan, item, options, progress).await)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    for (index, item) in plan.items.iter().enumerate().filter(|(_, i)| i.parent) {
        reports.push((index, act(client, plan, item, options, progress).await));
    }
    reports.sort_by_key(|(index, _)| *index);
    progress.finish();
    let items: Vec<ItemReport> = reports.into_iter().map(|(_, r)| r).collect();
    Report {
        bundle_id: plan.bundle_id.clone(),
        bundle_name: plan.bundle_name.clone(),
        failed_items: plan.failed.clone(),
        dry_run: options.dry_run,
        waited: options.wait && !options.dry_run,
        summary: summarize(&items),
        items,
    }
}

fn base(item: &PlanItem, outcome: Outcome) -> ItemReport {
    ItemReport {
        kind: item.kind,
        id: item.id.clone(),
        name: item.name.clone(),
        action: item.action,
        reason: item.reason.clone(),
        parent: item.parent,
        method: None,
        outcome,
        request_id: None,
        task_id: None,
        retired: None,
        retirement_state: None,
        error: None,
        vms: item.vms.clone(),
    }
}

async fn act(
    client: &Client,
    plan: &Plan,
    item: &PlanItem,
    options: &RetireOptions,
    progress: &dyn Progress,
) -> ItemReport {
    match item.action {
        Action::Skip => base(item, Outcome::Skipped),
        Action::Leave => base(item, Outcome::Left),
        Action::Retire if options.dry_run => {
            let mut r = base(item, Outcome::Planned);
            r.method = Some(first_method(plan).into());
            r
        }
        Action::Retire => {
            let r = retire(client, plan, item, options).await;
            progress.item(&r);
            r
        }
    }
}

fn first_method(plan: &Plan) -> &'static str {
    if plan.supports_request_retire == Some(false) {
        "retire"
    } else {
        "request_retire"
    }
}

async fn retire(
    client: &Client,
    plan: &Plan,
    item: &PlanItem,
    options: &RetireOptions,
) -> ItemReport {
    let path = format!("{}/{}", item.kind.collection(), item.id);
    let mut report = base(item, Outcome::Failed);
    let mut method = first_method(plan);
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        match client.action(&path, method, None).await {
            Ok(outcome) => break Ok(outcome),
            Err(e)
                if method == "request_retire"
                    && e.kind == ErrorKind::BadRequest
                    && e.message.contains("Unsupported Custom Action") =>
            {
                tracing::info!("{path}: the server has no request_retire; using the legacy retire");
                method = "retire";
            }
            Err(e) if e.is_retryable() && attempts < POST_ATTEMPTS => {
                // The server may have acted on the POST before failing: look before sending it again.
                match confirm(client, item).await {
                    Ok(Some(found)) => break Ok(found),
                    Ok(None) => {
                        tracing::warn!("{path}: {e}; not acted on, sending again");
                        tokio::time::sleep(client.config().retry.delay(attempts)).await;
                    }
                    Err(_) => break Err(e),
                }
            }
            Err(e) => break Err(e),
        }
    };
    report.method = Some(method.into());
    match outcome {
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
        Ok(ActionOutcome::Request { id, .. }) => report.request_id = Some(id),
        Ok(ActionOutcome::Task { task_id, .. }) => report.task_id = Some(task_id),
        Ok(ActionOutcome::Resource(v)) => read_state(&mut report, &v),
        Ok(ActionOutcome::Done { .. }) => {}
        Ok(ActionOutcome::Bulk(_)) => {
            report.error = Some("unexpected bulk result for a single action".into());
            return report;
        }
    }
    report.outcome = if report.retired == Some(true) {
        Outcome::Retired
    } else {
        Outcome::Requested
    };
    if options.wait && report.outcome != Outcome::Retired {
        if let Err(e) = wait(client, &path, &mut report, options).await {
            report.outcome = Outcome::Failed;
            report.error = Some(e.to_string());
        }
    }
    report
}

/// After a failed POST: did the server act on it anyway? A member already retiring, or a
/// pending retire request naming it, means yes.
async fn confirm(client: &Client, item: &PlanItem) -> Result<Option<ActionOutcome>, ApiError> {
    let path = format!("{}/{}", item.kind.collection(), item.id);
    let state = client
        .get(
            &path,
            &Query::new().attributes(["retired", "retirement_state"]),
        )
        .await?;
    let retiring = state.get("retired").and_then(Value::as_bool) == Some(true)
        || matches!(
            state.get("retirement_state").and_then(Value::as_str),
            Some("initializing" | "retiring" | "retired")
        );
    if retiring {
        return Ok(Some(ActionOutcome::Done {
            message: "retirement already under way".into(),
        }));
    }
    if item.kind != ItemKind::Service {
        return Ok(None);
    }
    open_retire_request(client, &item.id).await
}

/// A pending or active service retire request naming the service, if any.
async fn open_retire_request(
    client: &Client,
    service_id: &str,
) -> Result<Option<ActionOutcome>, ApiError> {
    let query = Query::new()
        .expand_resources()
        .filter("request_type='service_retire'")
        .filter("request_state!='finished'");
    let open = client.get_all("requests", &query).await?;
    let names_item = |r: &Value| {
        r.pointer("/options/src_ids")
            .and_then(Value::as_array)
            .is_some_and(|ids| {
                ids.iter()
                    .any(|i| id_text(i).as_deref() == Some(service_id))
            })
    };
    Ok(open.iter().find(|r| names_item(r)).and_then(|r| {
        Some(ActionOutcome::Request {
            id: r.get("id").and_then(id_text)?,
            href: r.get("href").and_then(id_text).unwrap_or_default(),
            request_state: r.get("request_state").and_then(id_text),
        })
    }))
}

fn read_state(report: &mut ItemReport, v: &Value) {
    report.retired = v.get("retired").and_then(Value::as_bool);
    report.retirement_state = v.get("retirement_state").and_then(id_text);
}

/// Polls the request (or task) until it finishes or the timeout passes, then reads the
/// member's final retirement state.
async fn wait(
    client: &Client,
    path: &str,
    report: &mut ItemReport,
    options: &RetireOptions,
) -> Result<(), ApiError> {
    let deadline = Instant::now() + options.timeout;
    if report.request_id.is_none() && report.task_id.is_none() && report.kind == ItemKind::Service {
        // The legacy `retire` answers with the service; newer servers still make a request.
        if let Some(ActionOutcome::Request { id, .. }) =
            open_retire_request(client, &report.id).await?
        {
            report.request_id = Some(id);
        }
    }
    let (poll_path, state_key, done_state) = match (&report.request_id, &report.task_id) {
        (Some(id), _) => (format!("requests/{id}"), "request_state", "finished"),
        (None, Some(id)) => (format!("tasks/{id}"), "state", "Finished"),
        (None, None) => (path.to_string(), "retirement_state", "retired"),
    };
    loop {
        let v = client.get(&poll_path, &Query::new()).await?;
        let state = v.get(state_key).and_then(Value::as_str).unwrap_or_default();
        if state.eq_ignore_ascii_case(done_state) {
            let status = v.get("status").and_then(Value::as_str).unwrap_or("Ok");
            if !matches!(status, "Ok" | "ok" | "Warn") {
                report.outcome = Outcome::Failed;
                let message = v.get("message").and_then(Value::as_str).unwrap_or_default();
                report.error = Some(format!(
                    "{poll_path} finished with status {status}: {message}"
                ));
            }
            break;
        }
        if Instant::now() + options.poll_interval > deadline {
            report.outcome = Outcome::TimedOut;
            report.error = Some(format!(
                "{poll_path} still {state:?} after {:?}",
                options.timeout
            ));
            break;
        }
        tokio::time::sleep(options.poll_interval.max(Duration::from_millis(1))).await;
    }
    let v = client
        .get(
            path,
            &Query::new().attributes(["retired", "retirement_state"]),
        )
        .await?;
    read_state(report, &v);
    if report.outcome == Outcome::Requested {
        report.outcome = if report.retired == Some(true) {
            Outcome::Retired
        } else {
            Outcome::Failed
        };
        if report.outcome == Outcome::Failed {
            report.error = Some(format!(
                "finished, but {path} is not retired (retirement_state {:?})",
                report.retirement_state
            ));
        }
    }
    Ok(())
}
