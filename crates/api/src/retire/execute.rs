//! Carrying out plans: first every retire POST (`request_retire`, or the legacy `retire`)
//! with bounded concurrency, the bundles themselves after their children; then, with `wait`,
//! one batched polling loop for everything that was requested, under one deadline.
//!
//! A POST that fails in a way that may be transient is sent again only after reading the
//! member again shows the server did not act on it, for at most `post_budget`; when that is
//! spent, the member is read once more and the report says what is true: `requested` (reply
//! lost) when the server acted, `failed` when it did not.

use std::time::Instant;

use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::action::{id_text, ActionOutcome};
use crate::client::Client;
use crate::error::{ApiError, ErrorKind};
use crate::query::Query;
use crate::retire::open::{OpenKind, OpenRetirement};
use crate::retire::wait::wait_all;
use crate::retire::{
    check_id, open_retirements, summarize, Action, ItemKind, ItemReport, Outcome, Plan, PlanItem,
    Report, RetireOptions,
};

/// Hears about progress (the CLI draws a bar with it).
pub trait Progress: Send + Sync {
    /// The number of members to send a retire POST for.
    fn start(&self, _total: usize) {}
    /// One member's POST is done (requested, or failed).
    fn item(&self, _item: &ItemReport) {}
    /// Every POST is done; `total` requests and tasks are now waited for.
    fn waiting(&self, _total: usize) {}
    /// One waited-for request or task has finished (or was given up on).
    fn finished(&self, _item: &ItemReport) {}
    /// All done.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Executes one plan: see [`execute_all`].
pub async fn execute(
    client: &Client,
    plan: &Plan,
    options: &RetireOptions,
    progress: &dyn Progress,
) -> Report {
    execute_all(client, std::slice::from_ref(plan), options, progress)
        .await
        .pop()
        .expect("one report per plan")
}

/// Executes plans (one per bundle): retires each `Retire` item once — every bundle's
/// children concurrently, then the bundles themselves — and with `wait` polls what was
/// requested until it finishes or `timeout` (counted from the start, for all the plans) passes.
pub async fn execute_all(
    client: &Client,
    plans: &[Plan],
    options: &RetireOptions,
    progress: &dyn Progress,
) -> Vec<Report> {
    let deadline = Instant::now() + options.timeout;
    let mut items: Vec<Vec<ItemReport>> = plans
        .iter()
        .map(|plan| {
            plan.items
                .iter()
                .map(|i| initial(plan, i, options))
                .collect()
        })
        .collect();
    if !options.dry_run {
        let to_post: Vec<(usize, usize)> = positions(plans, |i| i.action == Action::Retire);
        progress.start(to_post.len());
        let concurrency = client.config().concurrency.max(1);
        for parents in [false, true] {
            let jobs = to_post
                .iter()
                .copied()
                .filter(|&(b, i)| plans[b].items[i].parent == parents);
            let done: Vec<(usize, usize, ItemReport)> = stream::iter(jobs)
                .map(|(b, i)| async move {
                    let report = post(client, &plans[b], &plans[b].items[i], options).await;
                    progress.item(&report);
                    (b, i, report)
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            for (b, i, report) in done {
                items[b][i] = report;
            }
        }
        if options.wait {
            let waited: Vec<&mut ItemReport> = items
                .iter_mut()
                .flatten()
                .filter(|r| r.outcome == Outcome::Requested)
                .collect();
            wait_all(client, waited, options, deadline, progress).await;
        }
    }
    progress.finish();
    plans
        .iter()
        .zip(items)
        .map(|(plan, items)| Report {
            bundle_id: plan.bundle_id.clone(),
            bundle_name: plan.bundle_name.clone(),
            failed_items: plan.failed.clone(),
            failed_message: plan.failed_message.clone(),
            dry_run: options.dry_run,
            waited: options.wait && !options.dry_run,
            summary: summarize(&items),
            items,
        })
        .collect()
}

fn positions(plans: &[Plan], keep: impl Fn(&PlanItem) -> bool) -> Vec<(usize, usize)> {
    plans
        .iter()
        .enumerate()
        .flat_map(|(b, plan)| {
            plan.items
                .iter()
                .enumerate()
                .filter(|(_, item)| keep(item))
                .map(move |(i, _)| (b, i))
        })
        .collect()
}

fn base(item: &PlanItem, outcome: Outcome) -> ItemReport {
    let (request_id, task_id) = item
        .open
        .as_ref()
        .map(OpenRetirement::report_ids)
        .unwrap_or_default();
    ItemReport {
        kind: item.kind,
        id: item.id.clone(),
        name: item.name.clone(),
        action: item.action,
        reason: item.reason.clone(),
        parent: item.parent,
        method: None,
        outcome,
        request_id,
        task_id,
        retired: None,
        retirement_state: None,
        reply_lost: false,
        error: None,
        vms: item.vms.clone(),
    }
}

/// The report of an item before anything is sent.
fn initial(plan: &Plan, item: &PlanItem, options: &RetireOptions) -> ItemReport {
    match item.action {
        Action::Skip => base(item, Outcome::Skipped),
        Action::Leave => base(item, Outcome::Left),
        Action::Retire if options.dry_run => {
            let mut r = base(item, Outcome::Planned);
            r.method = Some(first_method(plan).into());
            r
        }
        // Replaced by the POST's outcome.
        Action::Retire => base(item, Outcome::Failed),
    }
}

fn first_method(plan: &Plan) -> &'static str {
    if plan.supports_request_retire == Some(false) {
        "retire"
    } else {
        "request_retire"
    }
}

/// Sends one member's retire POST, riding out a transient outage for `post_budget`.
async fn post(
    client: &Client,
    plan: &Plan,
    item: &PlanItem,
    options: &RetireOptions,
) -> ItemReport {
    let path = format!("{}/{}", item.kind.collection(), item.id);
    let mut report = base(item, Outcome::Failed);
    let mut method = first_method(plan);
    let started = Instant::now();
    let mut attempt = 0u32;
    let outcome = loop {
        attempt += 1;
        let err = match client.action(&path, method, None).await {
            Ok(outcome) => break Ok(outcome),
            Err(e)
                if method == "request_retire"
                    && e.kind == ErrorKind::BadRequest
                    && e.message.contains("Unsupported Custom Action") =>
            {
                tracing::info!("{path}: the server has no request_retire; using the legacy retire");
                method = "retire";
                continue;
            }
            Err(e) if e.is_retryable() => e,
            Err(e) => break Err(e),
        };
        // The server may have acted before the reply was lost (a 429 says it did not).
        let look = if err.kind == ErrorKind::RateLimited {
            Ok(None)
        } else {
            acted(client, item).await
        };
        if let Ok(Some(found)) = look {
            tracing::warn!("{path}: {err}; but the server had acted on it (reply lost)");
            report.reply_lost = true;
            break Ok(found);
        }
        let delay = client.config().retry.backoff(attempt, err.retry_after);
        if started.elapsed().saturating_add(delay) > options.post_budget {
            let spent = format!(
                "{attempt} attempt(s) in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            // The budget is spent: one last look when the last one could not tell.
            let last = match look {
                Ok(None) => Ok(None),
                Err(_) => acted(client, item).await,
                Ok(Some(_)) => unreachable!("handled above"),
            };
            break match last {
                Ok(Some(found)) => {
                    report.reply_lost = true;
                    Ok(found)
                }
                Ok(None) => Err(with_note(err, &format!("not acted on after {spent}"))),
                Err(e) => Err(with_note(
                    err,
                    &format!("after {spent}; whether the server acted is unknown ({e})"),
                )),
            };
        }
        tracing::warn!("{path}: {err}; not acted on, sending again in {delay:?}");
        tokio::time::sleep(delay).await;
    };
    report.method = Some(method.into());
    // Ids from the answer are polled by URL later: they must be ids.
    let outcome = outcome.and_then(|o| match &o {
        ActionOutcome::Request { id, .. } | ActionOutcome::Task { task_id: id, .. } => check_id(id)
            .map(|_| o.clone())
            .map_err(|e| ApiError::new(ErrorKind::Decode, format!("POST {path}"), e.message)),
        _ => Ok(o),
    });
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
    report
}

fn with_note(mut err: ApiError, note: &str) -> ApiError {
    err.message = if err.message.is_empty() {
        note.to_string()
    } else {
        format!("{} ({note})", err.message)
    };
    err
}

/// After a failed POST: did the server act on it anyway? A retire request or task naming the
/// member, or the member already retiring, means yes.
async fn acted(client: &Client, item: &PlanItem) -> Result<Option<ActionOutcome>, ApiError> {
    let open = open_retirements(client, item.kind == ItemKind::Vm).await?;
    if let Some(found) = open.get(item.kind, &item.id) {
        return Ok(Some(match found.kind {
            OpenKind::Request => ActionOutcome::Request {
                id: found.id.clone(),
                href: String::new(),
                request_state: None,
            },
            OpenKind::Task => ActionOutcome::Task {
                task_id: found.id.clone(),
                task_href: None,
                message: String::new(),
            },
        }));
    }
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
    Ok(retiring.then(|| ActionOutcome::Done {
        message: "retirement already under way".into(),
    }))
}

/// Copies `retired` and `retirement_state` from a member's columns.
pub(super) fn read_state(report: &mut ItemReport, v: &Value) {
    report.retired = v.get("retired").and_then(Value::as_bool);
    report.retirement_state = v.get("retirement_state").and_then(id_text);
}
