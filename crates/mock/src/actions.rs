//! Actions (POST): retirement on services and VMs, one resource or in bulk, as ManageIQ's
//! API answers them on a current or a legacy appliance.

use chrono::{DateTime, NaiveDate, Utc};
use miq_automate_vmdb::model::ServerProfile;
use miq_automate_vmdb::{Id, Vmdb};
use serde_json::{json, Value};

use crate::auth::Identity;
use crate::collection::Collection;
use crate::records;
use crate::render::Render;
use crate::reply::{ApiError, Reply};

/// POST on a collection: `{"action": …, "resources": […]}`, each item run in turn.
pub(crate) fn on_collection(
    db: &Vmdb,
    coll: Collection,
    body: &Value,
    who: &Identity,
    r: &Render<'_>,
) -> Result<Reply, ApiError> {
    let action = action_name(body, coll)?;
    check_role(who, &action)?;
    let Some(resources) = body.get("resources").and_then(Value::as_array) else {
        return Err(ApiError::bad_request(format!(
            "No {} resources were specified for the {action} action",
            coll.name()
        )));
    };
    if !matches!(coll, Collection::Services | Collection::Vms) {
        return Err(unsupported(coll, &action));
    }
    let mut results = Vec::new();
    for res in resources {
        let id = resource_id(coll, res)?;
        match coll {
            // Services: each item runs as it comes; a missing id fails the whole call
            // with 404 after the earlier items already ran (not atomic).
            Collection::Services => {
                results.push(run(db, coll, &action, id, res, who, r)?);
            }
            // VMs: per-item results; failures become {"success": false, …}.
            _ => match run(db, coll, &action, id, res, who, r) {
                Ok(v) => results.push(v),
                Err(e) if e.status == 400 && e.message.starts_with("Unsupported") => return Err(e),
                Err(e) => results.push(json!({
                    "success": false,
                    "message": e.message,
                    "href": r.href(coll.name(), &id.to_string()),
                })),
            },
        }
    }
    Ok(Reply::ok(json!({ "results": results })))
}

/// POST on one resource: `{"action": …, "resource": {…}}` (or the action's data at the
/// top level).
pub(crate) fn on_resource(
    db: &Vmdb,
    coll: Collection,
    id: &str,
    body: &Value,
    who: &Identity,
    r: &Render<'_>,
) -> Result<Reply, ApiError> {
    let action = action_name(body, coll)?;
    check_role(who, &action)?;
    let id = coll.parse_id(id)?;
    let data = body
        .get("resource")
        .cloned()
        .unwrap_or_else(|| body.clone());
    let reply = run(db, coll, &action, id, &data, who, r)?;
    // A failed single action is HTTP 400 with the action result.
    if reply.get("success") == Some(&Value::Bool(false)) {
        return Ok(Reply::json(400, reply));
    }
    Ok(Reply::ok(reply))
}

/// Runs `action` on one resource (`data`: its `resource` object, or a bulk item) and
/// returns the action's result.
fn run(
    db: &Vmdb,
    coll: Collection,
    action: &str,
    id: Id,
    data: &Value,
    who: &Identity,
    r: &Render<'_>,
) -> Result<Value, ApiError> {
    let userid = who.user.userid.as_str();
    let date = retirement_date(data)?;
    let warn = data.get("warn").and_then(|w| {
        w.as_i64()
            .or_else(|| w.as_str().and_then(|s| s.parse().ok()))
    });
    match (coll, action) {
        (Collection::Services, "request_retire") if !legacy(db) => {
            if let Some(d) = date {
                let s = db.schedule_service_retirement(id, d, warn)?;
                let rec = records::service(db, &s);
                return r.resource(coll, "services", &rec, None);
            }
            let request = db.request_retire_service(id, userid)?;
            let mut m = request.columns();
            m.insert(
                "href".into(),
                json!(r.href("requests", &request.id.to_string())),
            );
            Ok(Value::Object(m))
        }
        (Collection::Services, "retire") => {
            let s = match date {
                Some(d) => db.schedule_service_retirement(id, d, warn)?,
                None => db.retire_service_now(id, userid)?,
            };
            let rec = records::service(db, &s);
            r.resource(coll, "services", &rec, None)
        }
        (Collection::Vms, "retire") | (Collection::Vms, "request_retire")
            if action == "retire" || !legacy(db) =>
        {
            let vm = db.vm(id)?;
            let href = r.href("vms", &id.to_string());
            if let Some(d) = date {
                db.update_vm(id, |v| v.retires_on = Some(d))?;
                return Ok(json!({
                    "success": true,
                    "message": format!("Retiring on {} Vm id: {} name: '{}'", miq_automate_vmdb::model::iso8601(&d), vm.id, vm.name),
                    "href": href,
                }));
            }
            let task = db.request_retire_vm(id, userid)?;
            Ok(json!({
                "success": true,
                "message": task.name,
                "task_id": task.id.to_string(),
                "task_href": r.href("tasks", &task.id.to_string()),
                "href": href,
            }))
        }
        _ => Err(unsupported(coll, action)),
    }
}

fn check_role(who: &Identity, action: &str) -> Result<(), ApiError> {
    if who.group.read_only {
        return Err(ApiError::forbidden(format!(
            "Use of Action {action} is forbidden"
        )));
    }
    Ok(())
}

/// A legacy appliance predates `request_retire`: it only knows `retire`.
fn legacy(db: &Vmdb) -> bool {
    db.server().profile == ServerProfile::Legacy
}

fn unsupported(coll: Collection, action: &str) -> ApiError {
    match coll {
        Collection::Services => ApiError::bad_request(format!(
            "Unsupported Custom Action {action} for the {} resource specified",
            coll.name()
        )),
        _ => ApiError::bad_request(format!(
            "Unsupported Action {action} for the {} resource specified",
            coll.name()
        )),
    }
}

fn action_name(body: &Value, coll: Collection) -> Result<String, ApiError> {
    match body.get("action").and_then(Value::as_str) {
        Some(a) if !a.is_empty() => Ok(a.to_lowercase()),
        _ => Err(ApiError::bad_request(format!(
            "Unsupported Action create for the {} resource specified",
            coll.name()
        ))),
    }
}

/// The id of a bulk item: `{"href": ".../api/vms/5"}` or `{"id": "5"}`.
fn resource_id(coll: Collection, res: &Value) -> Result<Id, ApiError> {
    if let Some(id) = res.get("id") {
        let raw = id
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| id.to_string());
        return coll.parse_id(&raw);
    }
    if let Some(href) = res.get("href").and_then(Value::as_str) {
        let marker = format!("/{}/", coll.name());
        if let Some((_, raw)) = href.rsplit_once(&marker) {
            return coll.parse_id(raw.trim_end_matches('/'));
        }
        return Err(ApiError::bad_request(format!(
            "Invalid {} href {href} specified",
            coll.name()
        )));
    }
    Err(ApiError::bad_request(format!(
        "Must specify an id or href for each {} resource",
        coll.name()
    )))
}

fn retirement_date(data: &Value) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = data.get("date").and_then(Value::as_str) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(d.and_utc()))
        .ok_or_else(|| ApiError::bad_request(format!("Invalid retirement date {raw}")))
}
