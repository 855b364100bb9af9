//! Retirements already under way: retire requests that are not finished (a service's, or a
//! VM's on servers that make VM retire requests) and VM retirement tasks that are not
//! finished, each naming its member.
//!
//! Right after `request_retire`, ManageIQ's service is still `provisioned` with no
//! `retirement_state` until the request is approved and its task starts (minutes on a busy
//! appliance): the service alone does not tell that it was asked. These are read in one or
//! two collection queries for every bundle at once, not one per member.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::action::id_text;
use crate::client::Client;
use crate::error::ApiError;
use crate::query::Query;
use crate::retire::{check_id, ItemKind};

/// A request or a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenKind {
    /// A retire request (`/api/requests/:id`).
    Request,
    /// A VM retirement task (`/api/tasks/:id`).
    Task,
}

/// A retirement not finished.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OpenRetirement {
    /// Request or task.
    pub kind: OpenKind,
    /// Its id.
    pub id: String,
}

impl OpenRetirement {
    /// As a report's `(request_id, task_id)`.
    pub fn report_ids(&self) -> (Option<String>, Option<String>) {
        match self.kind {
            OpenKind::Request => (Some(self.id.clone()), None),
            OpenKind::Task => (None, Some(self.id.clone())),
        }
    }
}

impl fmt::Display for OpenRetirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            OpenKind::Request => write!(f, "retire request {}", self.id),
            OpenKind::Task => write!(f, "retire task {}", self.id),
        }
    }
}

/// Open retirements by member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenRetirements {
    by_member: HashMap<(ItemKind, String), OpenRetirement>,
}

impl OpenRetirements {
    /// The open retirement naming a member, if any (the lowest id when there are several).
    pub fn get(&self, kind: ItemKind, id: &str) -> Option<&OpenRetirement> {
        self.by_member.get(&(kind, id.to_string()))
    }

    /// How many members have one.
    pub fn len(&self) -> usize {
        self.by_member.len()
    }

    /// `true` when no member has one.
    pub fn is_empty(&self) -> bool {
        self.by_member.is_empty()
    }

    fn add(&mut self, kind: ItemKind, member: String, open: OpenRetirement) {
        let slot = self.by_member.entry((kind, member)).or_insert(open.clone());
        if numeric(&open.id) < numeric(&slot.id) {
            *slot = open;
        }
    }
}

fn numeric(id: &str) -> u128 {
    id.parse().unwrap_or(u128::MAX)
}

/// Reads every open retire request, and with `vms` every open VM retirement task: two
/// collection queries (paged) whatever the number of members.
pub async fn open_retirements(client: &Client, vms: bool) -> Result<OpenRetirements, ApiError> {
    let mut open = OpenRetirements::default();
    let requests = Query::new()
        .expand_resources()
        .attributes(["request_type", "request_state", "options"])
        .filter("request_type='%retire'")
        .filter("request_state!='finished'");
    for r in client.get_all("requests", &requests).await? {
        let kind = match r.get("request_type").and_then(Value::as_str) {
            Some("service_retire") => ItemKind::Service,
            Some("vm_retire") => ItemKind::Vm,
            _ => continue,
        };
        // A server that ignores the filter must not make a finished request count.
        if r.get("request_state").and_then(Value::as_str) == Some("finished") {
            continue;
        }
        let Some(Ok(id)) = r.get("id").and_then(id_text).map(|i| check_id(&i)) else {
            continue;
        };
        for member in src_ids(&r).into_iter().filter_map(|m| check_id(&m).ok()) {
            let found = OpenRetirement {
                kind: OpenKind::Request,
                id: id.clone(),
            };
            open.add(kind, member, found);
        }
    }
    if vms {
        let tasks = Query::new()
            .expand_resources()
            .attributes(["name", "state"])
            .filter("name='Retiring immediately Vm id:%'")
            .filter("state!='Finished'");
        for t in client.get_all("tasks", &tasks).await? {
            if t.get("state").and_then(Value::as_str) == Some("Finished") {
                continue;
            }
            let (Some(Ok(id)), Some(vm)) = (
                t.get("id").and_then(id_text).map(|i| check_id(&i)),
                t.get("name").and_then(Value::as_str).and_then(task_vm_id),
            ) else {
                continue;
            };
            let found = OpenRetirement {
                kind: OpenKind::Task,
                id,
            };
            open.add(ItemKind::Vm, vm, found);
        }
    }
    Ok(open)
}

/// The members a request names: `options.src_ids` (and the older `options.src_id`).
fn src_ids(request: &Value) -> Vec<String> {
    let options = request.get("options");
    let mut ids: Vec<String> = options
        .and_then(|o| o.get("src_ids"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(id_text)
        .collect();
    if let Some(one) = options.and_then(|o| o.get("src_id")).and_then(id_text) {
        if !ids.contains(&one) {
            ids.push(one);
        }
    }
    ids
}

/// The VM of a task named `Retiring immediately Vm id: 5 name: 'web'`.
fn task_vm_id(name: &str) -> Option<String> {
    let rest = name.split_once("Vm id:")?.1.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_of_a_request_and_a_task() {
        assert_eq!(
            src_ids(&json!({"options": {"src_ids": [1001, "1002"], "src_id": 1001}})),
            vec!["1001", "1002"]
        );
        assert_eq!(src_ids(&json!({"options": {"src_id": "7"}})), vec!["7"]);
        assert!(src_ids(&json!({})).is_empty());
        assert_eq!(
            task_vm_id("Retiring immediately Vm id: 2001 name: 'web'").as_deref(),
            Some("2001")
        );
        assert_eq!(task_vm_id("Retiring immediately Vm id: x"), None);
    }

    #[test]
    fn the_oldest_open_request_is_named() {
        let mut open = OpenRetirements::default();
        for id in ["90", "12", "300"] {
            open.add(
                ItemKind::Service,
                "5".into(),
                OpenRetirement {
                    kind: OpenKind::Request,
                    id: id.into(),
                },
            );
        }
        assert_eq!(open.get(ItemKind::Service, "5").unwrap().id, "12");
        assert_eq!(open.len(), 1);
    }
}
