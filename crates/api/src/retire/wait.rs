//! `--wait`: once every POST is sent, poll what was requested until it finishes, in batches
//! (one collection read of many requests by an id filter, not one GET per request), under
//! one deadline; then read every waited member's final `retired`/`retirement_state` the same
//! way.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::action::id_text;
use crate::client::Client;
use crate::error::{ApiError, ErrorKind};
use crate::query::Query;
use crate::retire::execute::read_state;
use crate::retire::{open_retirements, ItemKind, ItemReport, Outcome, Progress, RetireOptions};

/// Ids per batched read (keeps URLs short).
const BATCH: usize = 100;

/// What is polled for one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Polled {
    /// `/api/requests/:id`: `request_state` finished.
    Request,
    /// `/api/tasks/:id`: `state` Finished.
    Task,
    /// The member itself (the legacy `retire` without a request): `retirement_state` retired.
    Member(ItemKind),
}

impl Polled {
    fn collection(self) -> &'static str {
        match self {
            Polled::Request => "requests",
            Polled::Task => "tasks",
            Polled::Member(kind) => kind.collection(),
        }
    }

    fn attributes(self) -> [&'static str; 3] {
        match self {
            Polled::Request => ["request_state", "status", "message"],
            Polled::Task => ["state", "status", "message"],
            Polled::Member(_) => ["retired", "retirement_state", "name"],
        }
    }

    /// `Some(error)` when finished (`None` inside: finished well), `None` while running.
    fn finished(self, v: &Value) -> Option<Option<String>> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        let done = match self {
            Polled::Request => text("request_state").eq_ignore_ascii_case("finished"),
            Polled::Task => text("state").eq_ignore_ascii_case("finished"),
            Polled::Member(_) => {
                return (v.get("retired").and_then(Value::as_bool) == Some(true)
                    || text("retirement_state") == "retired")
                    .then_some(None)
            }
        };
        if !done {
            return None;
        }
        let status = v.get("status").and_then(Value::as_str).unwrap_or("Ok");
        Some((!matches!(status, "Ok" | "ok" | "Warn" | "warn")).then(|| {
            format!(
                "{} {} finished with status {status}: {}",
                self.collection(),
                v.get("id").and_then(id_text).unwrap_or_default(),
                text("message")
            )
        }))
    }

    fn running_state(self, v: &Value) -> String {
        let key = match self {
            Polled::Request => "request_state",
            Polled::Task => "state",
            Polled::Member(_) => "retirement_state",
        };
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string()
    }
}

/// Waits for every requested item, then reads the members' final state.
pub(super) async fn wait_all(
    client: &Client,
    items: Vec<&mut ItemReport>,
    options: &RetireOptions,
    deadline: Instant,
    progress: &dyn Progress,
) {
    progress.waiting(items.len());
    let mut items = items;
    find_requests(client, &mut items).await;
    let mut batched = true;
    // Items still running, with the last state seen.
    let mut running: Vec<(usize, String)> = (0..items.len())
        .map(|i| (i, "not read yet".to_string()))
        .collect();
    let mut last_error: Option<String> = None;
    loop {
        let targets: Vec<(Polled, String)> =
            running.iter().map(|(i, _)| polled(items[*i])).collect();
        let read = read_many(client, &targets, &mut batched).await;
        if let Some(e) = &read.error {
            tracing::warn!("polling: {e}; trying again");
            last_error = Some(e.clone());
        }
        let mut still = Vec::new();
        for (i, seen) in running {
            let target = polled(items[i]);
            let Some(v) = read.values.get(&target) else {
                still.push((i, seen));
                continue;
            };
            match target.0.finished(v) {
                Some(error) => {
                    if let Some(e) = error {
                        items[i].outcome = Outcome::Failed;
                        items[i].error = Some(e);
                    }
                    progress.finished(items[i]);
                }
                None => still.push((i, target.0.running_state(v))),
            }
        }
        running = still;
        if running.is_empty() {
            break;
        }
        let pause = options.poll_interval.max(Duration::from_millis(1));
        if Instant::now() + pause > deadline {
            for (i, state) in &running {
                let (what, id) = polled(items[*i]);
                let item = &mut *items[*i];
                item.outcome = Outcome::TimedOut;
                let mut error = format!(
                    "{}/{id} still {state:?} after {:?}",
                    what.collection(),
                    options.timeout
                );
                if let Some(e) = &last_error {
                    error.push_str(&format!(" (last polling error: {e})"));
                }
                item.error = Some(error);
                progress.finished(item);
            }
            break;
        }
        tokio::time::sleep(pause).await;
    }
    final_states(client, &mut items, &mut batched).await;
}

/// What to poll for an item.
fn polled(item: &ItemReport) -> (Polled, String) {
    match (&item.request_id, &item.task_id) {
        (Some(id), _) => (Polled::Request, id.clone()),
        (None, Some(id)) => (Polled::Task, id.clone()),
        (None, None) => (Polled::Member(item.kind), item.id.clone()),
    }
}

/// The legacy `retire` answers with the service: its request, if the server made one, is
/// found among the open retirements (one read for all).
async fn find_requests(client: &Client, items: &mut [&mut ItemReport]) {
    if !items
        .iter()
        .any(|i| i.request_id.is_none() && i.task_id.is_none())
    {
        return;
    }
    let vms = items.iter().any(|i| i.kind == ItemKind::Vm);
    match open_retirements(client, vms).await {
        Ok(open) => {
            for item in items
                .iter_mut()
                .filter(|i| i.request_id.is_none() && i.task_id.is_none())
            {
                if let Some(found) = open.get(item.kind, &item.id) {
                    (item.request_id, item.task_id) = found.report_ids();
                }
            }
        }
        // Polling the members themselves still works.
        Err(e) => tracing::warn!("cannot read open retire requests: {e}"),
    }
}

/// Reads each member's final `retired`/`retirement_state`; a request that finished well but
/// left its member unretired is a failure.
async fn final_states(client: &Client, items: &mut [&mut ItemReport], batched: &mut bool) {
    let targets: Vec<(Polled, String)> = items
        .iter()
        .map(|i| (Polled::Member(i.kind), i.id.clone()))
        .collect();
    let read = read_many(client, &targets, batched).await;
    for item in items.iter_mut() {
        match read
            .values
            .get(&(Polled::Member(item.kind), item.id.clone()))
        {
            Some(v) => read_state(item, v),
            None => {
                if item.outcome == Outcome::Requested {
                    item.outcome = Outcome::Failed;
                    item.error = Some(format!(
                        "finished, but its final state could not be read: {}",
                        read.error.clone().unwrap_or_else(|| "not found".into())
                    ));
                }
                continue;
            }
        }
        if item.outcome == Outcome::Requested {
            if item.retired == Some(true) {
                item.outcome = Outcome::Retired;
            } else {
                item.outcome = Outcome::Failed;
                item.error = Some(format!(
                    "finished, but {}/{} is not retired (retirement_state {:?})",
                    item.kind.collection(),
                    item.id,
                    item.retirement_state
                ));
            }
        }
    }
}

/// The values read, by target, and the last error (reads that failed are left out).
#[derive(Default)]
struct Read {
    values: HashMap<(Polled, String), Value>,
    error: Option<String>,
}

/// Reads many resources: one collection read with an `id=[…]` filter per batch of ids, or,
/// on a server that refuses id lists (400), one GET each from then on.
async fn read_many(client: &Client, targets: &[(Polled, String)], batched: &mut bool) -> Read {
    let mut groups: HashMap<Polled, Vec<String>> = HashMap::new();
    for (what, id) in targets {
        let ids = groups.entry(*what).or_default();
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let mut read = Read::default();
    let concurrency = client.config().concurrency.max(1);
    if *batched {
        // Owned ids: a future borrowing them would not be `Send` for every lifetime.
        let batches: Vec<(Polled, Vec<String>)> = groups
            .iter()
            .flat_map(|(what, ids)| ids.chunks(BATCH).map(move |c| (*what, c.to_vec())))
            .collect();
        let results: Vec<(Polled, Result<Vec<Value>, ApiError>)> = stream::iter(batches)
            .map(|(what, ids)| async move {
                let query = Query::new()
                    .expand_resources()
                    .attributes(what.attributes())
                    .filter(format!("id=[{}]", ids.join(",")));
                (what, client.get_all(what.collection(), &query).await)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut refused = false;
        for (what, result) in results {
            match result {
                Ok(values) => {
                    for v in values {
                        if let Some(id) = v.get("id").and_then(id_text) {
                            read.values.insert((what, id), v);
                        }
                    }
                }
                Err(e) if e.kind == ErrorKind::BadRequest => refused = true,
                Err(e) => read.error = Some(e.to_string()),
            }
        }
        if !refused {
            return read;
        }
        tracing::info!("the server refuses id lists in filters: polling one by one");
        *batched = false;
    }
    let singles: Vec<(Polled, String)> = groups
        .into_iter()
        .flat_map(|(what, ids)| ids.into_iter().map(move |id| (what, id)))
        .filter(|key| !read.values.contains_key(key))
        .collect();
    let results: Vec<((Polled, String), Result<Value, ApiError>)> = stream::iter(singles)
        .map(|(what, id)| async move {
            let path = format!("{}/{id}", what.collection());
            let query = Query::new().attributes(what.attributes());
            let result = client.get(&path, &query).await;
            ((what, id), result)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (key, result) in results {
        match result {
            Ok(v) => {
                read.values.insert(key, v);
            }
            Err(e) => read.error = Some(e.to_string()),
        }
    }
    read
}
