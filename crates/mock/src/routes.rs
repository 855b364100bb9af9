//! Routing: ManageIQ's `api(/:version)` paths, OPTIONS, authentication, and the handlers of
//! the entrypoint, `auth`, collections, resources and subcollections. Actions (POST) are in
//! [`crate::actions`].

use std::net::SocketAddr;

use miq_automate_vmdb::{Id, Vmdb};
use serde_json::{json, Value};
use wiremock::Request;

use crate::actions;
use crate::auth::Identity;
use crate::collection::Collection;
use crate::entrypoint::{self, API_VERSION};
use crate::query::Query;
use crate::records::{self, Record};
use crate::render::Render;
use crate::reply::{ApiError, Reply};
use crate::shared::Shared;

/// A routed request's answer, with who asked (for the journal) and the fault that
/// answered, if one did.
pub(crate) struct Outcome {
    pub reply: Reply,
    pub identity: Option<Identity>,
    pub fault: Option<String>,
}

/// Routes a request that no fault answered: `/api(/:version)/…`, OPTIONS without
/// authentication, everything else after it.
pub(crate) fn route(shared: &Shared, req: &Request, method: &str, path: &str) -> Outcome {
    let segs: Vec<&str> = path
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if segs.first() != Some(&"api") {
        return plain(ApiError::routing(method, path).into_reply());
    }
    let mut rest = &segs[1..];
    // ManageIQ routes `api(/:version)`: `/api/v4.0.0/services` is `/api/services`, and
    // the hrefs it renders keep the version (`@req.api_prefix`).
    let mut prefix = "/api".to_owned();
    let mut version = None;
    if let Some(v) = rest.first().and_then(|s| api_version(s)) {
        version = Some(v);
        prefix = format!("/api/{}", rest[0]);
        rest = &rest[1..];
    }
    // validate_api_request: a well-formed but unknown version is a 400.
    let check_version = || match version {
        Some(v) if v != API_VERSION => Err(ApiError::bad_request(format!(
            "Unsupported API Version {v} specified"
        ))),
        _ => Ok(()),
    };
    let render = Render {
        vmdb: &shared.vmdb,
        base: base_of(req, shared.local),
        prefix,
        path: req.url.path().to_owned(),
        query: req.url.query().map(str::to_owned),
    };
    // OPTIONS never requires authentication.
    if method == "OPTIONS" {
        if let Err(e) = check_version() {
            return plain(e.into_reply());
        }
        return plain(match rest {
            [] => Reply::empty(200),
            [c] => match Collection::from_name(c) {
                Some(c) => Reply::ok(options(c)),
                None => ApiError::routing(method, path).into_reply(),
            },
            [c, ..] if Collection::from_name(c).is_some() => Reply::ok(json!("")),
            _ => ApiError::routing(method, path).into_reply(),
        });
    }
    let identity = match shared.tokens.authenticate(req, &shared.vmdb) {
        Ok(i) => i,
        Err(e) => return plain(e.into_reply()),
    };
    let reply = check_version()
        .and_then(|()| dispatch(shared, req, method, path, rest, &identity, &render))
        .unwrap_or_else(ApiError::into_reply);
    Outcome {
        reply,
        identity: Some(identity),
        fault: None,
    }
}

/// An authenticated request under `/api`: `rest` is the path after the prefix.
fn dispatch(
    shared: &Shared,
    req: &Request,
    method: &str,
    path: &str,
    rest: &[&str],
    who: &Identity,
    r: &Render<'_>,
) -> Result<Reply, ApiError> {
    let no_route = || ApiError::routing(method, path);
    match (method, rest) {
        ("GET", []) => Ok(Reply::ok(entrypoint::document(&shared.vmdb, who, r))),
        ("GET", ["auth"]) => {
            let now = shared.vmdb.clock().now();
            let ttl = shared.vmdb.settings().token_ttl_seconds;
            let (token, expires_on) = shared.tokens.issue(&who.user.userid, now, ttl);
            Ok(Reply::ok(json!({
                "auth_token": token,
                "token_ttl": ttl,
                "expires_on": miq_automate_vmdb::model::iso8601(&expires_on),
            })))
        }
        ("DELETE", ["auth"]) => {
            if let Some(t) = req
                .headers
                .get("x-auth-token")
                .and_then(|v| v.to_str().ok())
            {
                shared.tokens.revoke(t);
            }
            Ok(Reply::empty(204))
        }
        ("GET", [c]) => {
            let coll = Collection::from_name(c).ok_or_else(no_route)?;
            let q = Query::parse(&req.url)?;
            let records = records::polled(&shared.vmdb, coll, &q)?;
            let total = records.len();
            Ok(Reply::ok(r.collection(
                coll,
                coll.name(),
                coll.name(),
                records,
                total,
                &q,
            )?))
        }
        ("GET", [c, id]) => {
            let coll = Collection::from_name(c).ok_or_else(no_route)?;
            let id = coll.parse_id(id)?;
            let q = Query::parse(&req.url)?;
            let rec = records::one(&shared.vmdb, coll, id)?;
            Ok(Reply::ok(r.resource(
                coll,
                coll.name(),
                &rec,
                q.attributes.as_deref(),
            )?))
        }
        ("GET", [c, id, sub]) => {
            let coll = Collection::from_name(c).ok_or_else(no_route)?;
            let id = coll.parse_id(id)?;
            let q = Query::parse(&req.url)?;
            let (subcoll, records) =
                subcollection(&shared.vmdb, coll, id, sub).ok_or_else(no_route)??;
            let total = records::all(&shared.vmdb, subcoll).len();
            let reftype = format!("{}/{id}/{sub}", coll.name());
            Ok(Reply::ok(
                r.collection(subcoll, sub, &reftype, records, total, &q)?,
            ))
        }
        ("GET", [c, id, sub, sid]) => {
            let coll = Collection::from_name(c).ok_or_else(no_route)?;
            let id = coll.parse_id(id)?;
            let (subcoll, records) =
                subcollection(&shared.vmdb, coll, id, sub).ok_or_else(no_route)??;
            let sid_parsed = subcoll.parse_id(sid)?;
            let q = Query::parse(&req.url)?;
            let rec = records
                .into_iter()
                .find(|m| m.get("id").and_then(Value::as_str) == Some(sid))
                .ok_or_else(|| {
                    ApiError::record_not_found(format!(
                        "Couldn't find {} with 'id'={sid_parsed}",
                        subcoll.klass()
                    ))
                })?;
            let reftype = format!("{}/{id}/{sub}", coll.name());
            Ok(Reply::ok(r.resource(
                subcoll,
                &reftype,
                &rec,
                q.attributes.as_deref(),
            )?))
        }
        ("POST", [c]) => {
            let coll = Collection::from_name(c).ok_or_else(no_route)?;
            let body = json_body(req)?;
            actions::on_collection(&shared.vmdb, coll, &body, who, r)
        }
        ("POST", [c, id]) => {
            let coll = Collection::from_name(c).ok_or_else(no_route)?;
            let body = json_body(req)?;
            actions::on_resource(&shared.vmdb, coll, id, &body, who, r)
        }
        _ => Err(no_route()),
    }
}

/// A subcollection's records: `services/:id/vms` (the VMs of the whole subtree) and
/// `requests/:id/request_tasks`; none when the collection has no such subcollection.
fn subcollection(
    db: &Vmdb,
    coll: Collection,
    id: Id,
    sub: &str,
) -> Option<Result<(Collection, Vec<Record>), ApiError>> {
    match (coll, sub) {
        (Collection::Services, "vms") => Some(
            db.service_vms(id, true)
                .map(|v| (Collection::Vms, v.iter().map(|v| v.columns()).collect()))
                .map_err(ApiError::from),
        ),
        (Collection::Requests | Collection::ServiceRequests, "request_tasks") => {
            Some(records::one(db, coll, id).and_then(|_| {
                db.request_tasks(id)
                    .map(|t| {
                        (
                            Collection::RequestTasks,
                            t.iter().map(|t| t.columns()).collect(),
                        )
                    })
                    .map_err(ApiError::from)
            }))
        }
        _ => None,
    }
}

/// The version named by a path segment matching ManageIQ's `Api::VERSION_CONSTRAINT`
/// (`v\d+(\.[\da-zA-Z]+)*(\-[\da-zA-Z\-\.]+)?`), without its `v`.
fn api_version(seg: &str) -> Option<&str> {
    let v = seg.strip_prefix('v')?;
    let (main, pre) = match v.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (v, None),
    };
    let mut parts = main.split('.');
    let major = parts.next()?;
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return None;
    }
    if let Some(p) = pre {
        if p.is_empty()
            || !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return None;
        }
    }
    Some(v)
}

/// The path without a version segment after `/api`.
pub(crate) fn unversioned(path: &str) -> std::borrow::Cow<'_, str> {
    let Some(tail) = path.strip_prefix("/api/") else {
        return path.into();
    };
    let (seg, rest) = tail.split_once('/').unwrap_or((tail, ""));
    if api_version(seg).is_none() {
        return path.into();
    }
    if rest.is_empty() {
        "/api".into()
    } else {
        format!("/api/{rest}").into()
    }
}

fn plain(reply: Reply) -> Outcome {
    Outcome {
        reply,
        identity: None,
        fault: None,
    }
}

/// `http://host:port` as the client addressed us (its `Host` header), or the address the
/// server listens on when it sent none. (wiremock's `Request::url` says `localhost` for
/// every origin-form request, so it cannot be the base.)
fn base_of(req: &Request, local: SocketAddr) -> String {
    let host = req
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty())
        .map_or_else(|| local.to_string(), str::to_owned);
    format!("{}://{host}", req.url.scheme())
}

/// OPTIONS on a collection, as ManageIQ's OptionsSerializer shapes it.
fn options(c: Collection) -> Value {
    json!({
        "attributes": c.physical(),
        "virtual_attributes": c.virtual_attrs(),
        "relationships": c.relationships(),
        "subcollections": c.subcollections(),
        "data": {},
    })
}

fn json_body(req: &Request) -> Result<Value, ApiError> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body).map_err(|e| ApiError {
        status: 400,
        kind: "bad_request",
        klass: "JSON::ParserError",
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_segments_as_manageiq_constrains_them() {
        assert_eq!(api_version("v4.0.0"), Some("4.0.0"));
        assert_eq!(api_version("v4"), Some("4"));
        assert_eq!(api_version("v4.4.0-pre"), Some("4.4.0-pre"));
        assert_eq!(api_version("v1.2.3-rc.1"), Some("1.2.3-rc.1"));
        assert_eq!(api_version("vms"), None);
        assert_eq!(api_version("v"), None);
        assert_eq!(api_version("v4."), None);
        assert_eq!(api_version("v4-"), None);
        assert_eq!(api_version("services"), None);
    }

    #[test]
    fn unversioned_strips_only_a_version_after_api() {
        assert_eq!(unversioned("/api/v4.0.0/services/1"), "/api/services/1");
        assert_eq!(unversioned("/api/v4.0.0"), "/api");
        assert_eq!(unversioned("/api/vms/1"), "/api/vms/1");
        assert_eq!(unversioned("/api"), "/api");
        assert_eq!(unversioned("/other/v4/x"), "/other/v4/x");
    }
}
