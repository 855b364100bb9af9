//! Routing and handlers: the stateful wiremock responder over the VMDB.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use miq_automate_vmdb::model::ServerProfile;
use miq_automate_vmdb::{Id, Vmdb};
use serde_json::{json, Map, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use crate::auth::{Identity, Tokens};
use crate::collections::{Collection, Render, ALL};
use crate::faults::{Failure, FaultState};
use crate::guard;
use crate::journal::{mask_encrypted, mask_json, mask_query, Journal, JournalEntry};
use crate::query::Query;
use crate::reply::{proxy_html, retry_later, ApiError, Reply};

/// The state behind the server, shared by every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub vmdb: Arc<Vmdb>,
    pub tokens: Tokens,
    pub faults: FaultState,
    pub journal: Journal,
    /// The address the server listens on: the base of hrefs and links when a request
    /// names no `Host`.
    pub local: SocketAddr,
}

impl Shared {
    pub fn new(vmdb: Arc<Vmdb>, local: SocketAddr) -> Shared {
        Shared {
            faults: FaultState::new(vmdb.faults()),
            vmdb,
            tokens: Tokens::default(),
            journal: Journal::default(),
            local,
        }
    }
}

/// The wiremock responder.
#[derive(Debug, Clone)]
pub(crate) struct Responder(pub Arc<Shared>);

impl Respond for Responder {
    /// Answers a request. No panic gets out: one becomes a 500 in ManageIQ's envelope,
    /// logged once (see [`crate::guard`]), and the connection stays usable.
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let answered = guard::catch(|| {
            let (reply, delay) = self.0.handle(req);
            let t = reply.into_template();
            if delay.is_zero() {
                t
            } else {
                t.set_delay(delay)
            }
        });
        answered.unwrap_or_else(|caught| self.0.internal_error(req, &caught).into_template())
    }
}

struct Outcome {
    reply: Reply,
    identity: Option<Identity>,
    fault: Option<String>,
}

impl Shared {
    fn handle(&self, req: &Request) -> (Reply, std::time::Duration) {
        let path = req.url.path().to_owned();
        let method = req.method.as_str().to_owned();
        if path == "/__mock/requests" || path == "/__mock/requests/" {
            return (self.journal_route(&method), std::time::Duration::ZERO);
        }
        let now = self.vmdb.clock().now();
        let mut delay = std::time::Duration::ZERO;
        let outcome = if let Some(retry_after) = self.faults.rate_limited(now) {
            Outcome {
                reply: with_retry_after(retry_later(), retry_after),
                identity: None,
                fault: Some("rate_limit".into()),
            }
        } else {
            // Fault rules name unversioned paths; `/api/v4.0.0/x` is the same route as `/api/x`.
            let decision = self.faults.decide(&method, &unversioned(&path));
            delay = decision.delay;
            match decision.failure {
                Some((i, injected)) => {
                    // A lost reply: the server acts, then the answer never reaches the client.
                    let acted = injected
                        .after_action
                        .then(|| self.route(req, &method, &path));
                    let reply = match injected.failure {
                        Failure::Status(429) => retry_later(),
                        Failure::Status(s @ (502..=504)) => proxy_html(s),
                        Failure::Status(s) => ApiError::injected(s).into_reply(),
                        Failure::ActionFailure(m) => Reply::json(
                            400,
                            json!({"success": false, "message": m, "href": req.url.as_str()}),
                        ),
                    };
                    Outcome {
                        reply: with_retry_after(reply, injected.retry_after),
                        identity: acted.and_then(|o| o.identity),
                        fault: Some(if injected.after_action {
                            format!("rule {i} (after action)")
                        } else {
                            format!("rule {i}")
                        }),
                    }
                }
                None => self.route(req, &method, &path),
            }
        };
        tracing::debug!(%method, %path, status = outcome.reply.status, "mock request");
        self.journal.push(journal_entry(
            req,
            now,
            outcome.reply.status,
            outcome.identity.as_ref(),
            outcome.fault,
        ));
        (outcome.reply, delay)
    }

    /// The answer to a request whose handling panicked: logged once, journaled, and a 500
    /// in ManageIQ's envelope.
    fn internal_error(&self, req: &Request, caught: &guard::Caught) -> Reply {
        let detail = mask_encrypted(&caught.to_string());
        tracing::error!(
            method = %req.method,
            path = %mask_encrypted(req.url.path()),
            "mock ManageIQ bug: the responder panicked ({detail}); answered 500"
        );
        let reply = ApiError::internal(format!("Internal error in the mock ManageIQ: {detail}"))
            .into_reply();
        // Journaling must not fail the answer; the clock itself may be what panicked.
        let _ = guard::catch(|| {
            let now = guard::catch(|| self.vmdb.clock().now()).unwrap_or_else(|_| Utc::now());
            self.journal
                .push(journal_entry(req, now, reply.status, None, None));
        });
        reply
    }

    fn journal_route(&self, method: &str) -> Reply {
        match method {
            "GET" => match serde_json::to_value(self.journal.entries()) {
                Ok(v) => Reply::ok(v),
                Err(e) => {
                    ApiError::internal(format!("cannot render the journal: {e}")).into_reply()
                }
            },
            "DELETE" => {
                self.journal.clear();
                Reply::empty(204)
            }
            _ => ApiError::routing(method, "/__mock/requests").into_reply(),
        }
    }

    fn route(&self, req: &Request, method: &str, path: &str) -> Outcome {
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
            vmdb: &self.vmdb,
            base: base_of(req, self.local),
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
        let identity = match self.tokens.authenticate(req, &self.vmdb) {
            Ok(i) => i,
            Err(e) => return plain(e.into_reply()),
        };
        let reply = check_version()
            .and_then(|()| self.dispatch(req, method, path, rest, &identity, &render))
            .unwrap_or_else(ApiError::into_reply);
        Outcome {
            reply,
            identity: Some(identity),
            fault: None,
        }
    }

    fn dispatch(
        &self,
        req: &Request,
        method: &str,
        path: &str,
        rest: &[&str],
        who: &Identity,
        r: &Render<'_>,
    ) -> Result<Reply, ApiError> {
        let no_route = || ApiError::routing(method, path);
        match (method, rest) {
            ("GET", []) => Ok(Reply::ok(self.entrypoint(who, r))),
            ("GET", ["auth"]) => {
                let now = self.vmdb.clock().now();
                let ttl = self.vmdb.settings().token_ttl_seconds;
                let (token, expires_on) = self.tokens.issue(&who.user.userid, now, ttl);
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
                    self.tokens.revoke(t);
                }
                Ok(Reply::empty(204))
            }
            ("GET", [c]) => {
                let coll = Collection::from_name(c).ok_or_else(no_route)?;
                let q = Query::parse(&req.url)?;
                let records = coll.records_polled(&self.vmdb, &q)?;
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
                let id = parse_id(coll, id)?;
                let q = Query::parse(&req.url)?;
                let rec = coll.record(&self.vmdb, id)?;
                Ok(Reply::ok(r.resource(
                    coll,
                    coll.name(),
                    &rec,
                    q.attributes.as_deref(),
                )?))
            }
            ("GET", [c, id, sub]) => {
                let coll = Collection::from_name(c).ok_or_else(no_route)?;
                let id = parse_id(coll, id)?;
                let q = Query::parse(&req.url)?;
                let (subcoll, records) =
                    self.subcollection(coll, id, sub).ok_or_else(no_route)??;
                let total = subcoll.records(&self.vmdb).len();
                let reftype = format!("{}/{id}/{sub}", coll.name());
                Ok(Reply::ok(
                    r.collection(subcoll, sub, &reftype, records, total, &q)?,
                ))
            }
            ("GET", [c, id, sub, sid]) => {
                let coll = Collection::from_name(c).ok_or_else(no_route)?;
                let id = parse_id(coll, id)?;
                let (subcoll, records) =
                    self.subcollection(coll, id, sub).ok_or_else(no_route)??;
                let sid_parsed = parse_id(subcoll, sid)?;
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
                self.collection_action(coll, &body, who, r)
            }
            ("POST", [c, id]) => {
                let coll = Collection::from_name(c).ok_or_else(no_route)?;
                let body = json_body(req)?;
                let action = action_name(&body, coll)?;
                self.check_role(who, &action)?;
                let id = parse_id(coll, id)?;
                let data = body
                    .get("resource")
                    .cloned()
                    .unwrap_or_else(|| body.clone());
                let reply = self.resource_action(coll, &action, id, &data, who, r)?;
                // A failed single action is HTTP 400 with the action result.
                if reply.get("success") == Some(&Value::Bool(false)) {
                    return Ok(Reply::json(400, reply));
                }
                Ok(Reply::ok(reply))
            }
            _ => Err(no_route()),
        }
    }

    #[allow(clippy::type_complexity)]
    fn subcollection(
        &self,
        coll: Collection,
        id: Id,
        sub: &str,
    ) -> Option<Result<(Collection, Vec<Map<String, Value>>), ApiError>> {
        let db = &self.vmdb;
        match (coll, sub) {
            (Collection::Services, "vms") => Some(
                db.service_vms(id, true)
                    .map(|v| (Collection::Vms, v.iter().map(|v| v.columns()).collect()))
                    .map_err(ApiError::from),
            ),
            (Collection::Requests | Collection::ServiceRequests, "request_tasks") => {
                Some(coll.record(db, id).and_then(|_| {
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

    fn check_role(&self, who: &Identity, action: &str) -> Result<(), ApiError> {
        if who.group.read_only {
            return Err(ApiError::forbidden(format!(
                "Use of Action {action} is forbidden"
            )));
        }
        Ok(())
    }

    fn legacy(&self) -> bool {
        self.vmdb.server().profile == ServerProfile::Legacy
    }

    fn unsupported(&self, coll: Collection, action: &str) -> ApiError {
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

    fn resource_action(
        &self,
        coll: Collection,
        action: &str,
        id: Id,
        data: &Value,
        who: &Identity,
        r: &Render<'_>,
    ) -> Result<Value, ApiError> {
        let db = &self.vmdb;
        let userid = who.user.userid.as_str();
        let date = retirement_date(data)?;
        let warn = data.get("warn").and_then(|w| {
            w.as_i64()
                .or_else(|| w.as_str().and_then(|s| s.parse().ok()))
        });
        match (coll, action) {
            (Collection::Services, "request_retire") if !self.legacy() => {
                if let Some(d) = date {
                    let s = db.schedule_service_retirement(id, d, warn)?;
                    let rec = crate::collections::service_columns(db, &s);
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
                let rec = crate::collections::service_columns(db, &s);
                r.resource(coll, "services", &rec, None)
            }
            (Collection::Vms, "retire") | (Collection::Vms, "request_retire")
                if action == "retire" || !self.legacy() =>
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
            _ => Err(self.unsupported(coll, action)),
        }
    }

    fn collection_action(
        &self,
        coll: Collection,
        body: &Value,
        who: &Identity,
        r: &Render<'_>,
    ) -> Result<Reply, ApiError> {
        let action = action_name(body, coll)?;
        self.check_role(who, &action)?;
        let Some(resources) = body.get("resources").and_then(Value::as_array) else {
            return Err(ApiError::bad_request(format!(
                "No {} resources were specified for the {action} action",
                coll.name()
            )));
        };
        if !matches!(coll, Collection::Services | Collection::Vms) {
            return Err(self.unsupported(coll, &action));
        }
        let mut results = Vec::new();
        for res in resources {
            let id = resource_id(coll, res)?;
            match coll {
                // Services: each item runs as it comes; a missing id fails the whole call
                // with 404 after the earlier items already ran (not atomic).
                Collection::Services => {
                    results.push(self.resource_action(coll, &action, id, res, who, r)?);
                }
                // VMs: per-item results; failures become {"success": false, …}.
                _ => match self.resource_action(coll, &action, id, res, who, r) {
                    Ok(v) => results.push(v),
                    Err(e) if e.status == 400 && e.message.starts_with("Unsupported") => {
                        return Err(e)
                    }
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

    fn entrypoint(&self, who: &Identity, r: &Render<'_>) -> Value {
        let server = self.vmdb.server();
        let groups = self.vmdb.groups_of(&who.user);
        let now = self.vmdb.clock().now();
        json!({
            "name": "API",
            "description": "REST API",
            "version": API_VERSION,
            // `#{@req.base}#{@req.prefix(false)}/v#{version}`: never itself versioned.
            "versions": [{"name": API_VERSION, "href": format!("{}/api/v{API_VERSION}", r.base)}],
            "settings": {"locale": "en", "asynchronous_notifications": true},
            "identity": {
                "userid": who.user.userid,
                "name": who.user.name,
                "user_href": r.href("users", &who.user.id.to_string()),
                "group": who.group.description,
                "group_href": r.href("groups", &who.group.id.to_string()),
                "role": who.group.role,
                "tenant": "My Company",
                "groups": groups.iter().map(|g| g.description.clone()).collect::<Vec<_>>(),
            },
            "server_info": {
                "version": server.version,
                "build": "mock",
                "release": "mock",
                "appliance": server.name,
                "time": miq_automate_vmdb::model::iso8601(&now),
                "server_href": r.href("servers", &server.id.to_string()),
                "zone_href": r.href("zones", "1"),
                "region_href": r.href("regions", "1"),
                "enterprise_href": r.href("enterprises", "1"),
                "plugins": {},
            },
            "product_info": {"name": "ManageIQ", "name_full": "ManageIQ (mock)"},
            "collections": ALL.iter().map(|c| json!({
                "name": c.name(),
                "href": r.collection_href(c.name()),
                "description": c.description(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The one API version the mock serves (ManageIQ's `Api::SUPPORTED_VERSIONS`).
const API_VERSION: &str = "4.0.0";

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
fn unversioned(path: &str) -> std::borrow::Cow<'_, str> {
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

fn with_retry_after(reply: Reply, seconds: Option<u64>) -> Reply {
    match seconds {
        Some(s) => reply.with_header("Retry-After", s.to_string()),
        None => reply,
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

/// The journal's record of a request, masked (see [`crate::journal`]).
fn journal_entry(
    req: &Request,
    now: DateTime<Utc>,
    status: u16,
    identity: Option<&Identity>,
    fault: Option<String>,
) -> JournalEntry {
    let body = if req.body.is_empty() {
        None
    } else {
        Some(match serde_json::from_slice(&req.body) {
            Ok(json) => mask_json(json),
            // Not JSON: recorded as text, masked as a form would be.
            Err(_) => Value::String(mask_query(&String::from_utf8_lossy(&req.body))),
        })
    };
    JournalEntry {
        seq: 0,
        at: miq_automate_vmdb::model::iso8601(&now),
        method: req.method.as_str().to_owned(),
        path: mask_encrypted(req.url.path()),
        query: req.url.query().map(mask_query),
        auth: identity.map(|i| i.mechanism.to_owned()),
        user: identity.map(|i| i.user.userid.clone()),
        group: req
            .headers
            .get("x-miq-group")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        status,
        fault,
    }
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

fn parse_id(coll: Collection, raw: &str) -> Result<Id, ApiError> {
    raw.parse::<u64>()
        .map(Id)
        .map_err(|_| ApiError::bad_request(format!("Invalid {} id {raw} specified", coll.klass())))
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
        return parse_id(coll, &raw);
    }
    if let Some(href) = res.get("href").and_then(Value::as_str) {
        let marker = format!("/{}/", coll.name());
        if let Some((_, raw)) = href.rsplit_once(&marker) {
            return parse_id(coll, raw.trim_end_matches('/'));
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

    mod handler {
        use super::*;
        use miq_automate_vmdb::{ManualClock, Scenario};
        use proptest::prelude::*;
        use wiremock::http::{HeaderMap, HeaderValue, Method};

        fn shared() -> Shared {
            let scenario = Scenario::load(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../mocks/failed_bundle.json"
            ))
            .unwrap();
            let clock = ManualClock::new(chrono::Utc::now());
            Shared::new(
                Vmdb::with_clock(scenario, Arc::new(clock)),
                SocketAddr::from(([127, 0, 0, 1], 3000)),
            )
        }

        /// A request as wiremock hands it over; the URL API percent-encodes what it must.
        fn request(method: &str, path: &str, query: &str, auth: &str, body: Vec<u8>) -> Request {
            let mut url = url::Url::parse("http://localhost/").unwrap();
            url.set_path(path);
            url.set_query((!query.is_empty()).then_some(query));
            let mut headers = HeaderMap::new();
            headers.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
            if !auth.is_empty() {
                if let Ok(v) = HeaderValue::from_str(auth) {
                    headers.insert("authorization", v);
                }
            }
            Request {
                url,
                method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
                headers,
                body,
            }
        }

        const ADMIN: &str = "Basic YWRtaW46c21hcnR2bQ=="; // admin:smartvm

        /// Runs the handler without the responder's safety net: a panic fails the test.
        fn status(s: &Shared, req: &Request) -> u16 {
            s.handle(req).0.status
        }

        #[test]
        fn the_reported_multibyte_filter_is_a_400() {
            let s = shared();
            let req = request(
                "GET",
                "/api/services",
                "filter[]=a%E2%82%AC=1",
                ADMIN,
                vec![],
            );
            let (reply, _) = s.handle(&req);
            assert_eq!(reply.status, 400);
            let crate::reply::Body::Json(body) = reply.body else {
                panic!("not JSON")
            };
            assert_eq!(body["error"]["message"], "attribute a€ does not exist");
        }

        #[test]
        fn a_panic_becomes_a_500_in_the_envelope() {
            let s = shared();
            let req = request("GET", "/api/services", "", ADMIN, vec![]);
            guard::install_hook();
            let caught = guard::catch(|| panic!("kaboom v2:{{c2VjcmV0}}")).unwrap_err();
            let reply = s.internal_error(&req, &caught);
            assert_eq!(reply.status, 500);
            let crate::reply::Body::Json(body) = reply.body else {
                panic!("not JSON")
            };
            assert_eq!(body["error"]["kind"], "internal_server_error");
            assert_eq!(body["error"]["klass"], "RuntimeError");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("kaboom ********"), "{message}");
            assert_eq!(s.journal.entries().last().map(|e| e.status), Some(500));
        }

        fn segment() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "services",
                    "vms",
                    "requests",
                    "service_requests",
                    "request_tasks",
                    "tasks",
                    "auth",
                    "1000",
                    "2001",
                    "3000",
                    "4000",
                    "v4.0.0",
                    "v9",
                    "..",
                    "18446744073709551616",
                    "99999999999999999999",
                ])
                .prop_map(str::to_owned),
                "[0-9]{1,20}",
                any::<String>(),
            ]
        }

        fn query() -> impl Strategy<Value = String> {
            let pair = (
                prop::sample::select(vec![
                    "filter[]",
                    "offset",
                    "limit",
                    "sort_by",
                    "sort_order",
                    "attributes",
                    "expand",
                    "x",
                ]),
                prop_oneof![
                    "[a-z_€]{0,8}(=|!=|<|>=| ~ )?('|\\[)?[0-9a-z€%*,]{0,6}('|\\])?",
                    "[0-9]{0,22}",
                    any::<String>(),
                ],
            );
            prop::collection::vec(pair, 0..4).prop_map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let v: String =
                            url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                        format!("{k}={v}")
                    })
                    .collect::<Vec<_>>()
                    .join("&")
            })
        }

        fn body() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                Just(Vec::new()),
                prop::collection::vec(any::<u8>(), 0..48),
                (
                    prop::sample::select(vec![
                        "request_retire",
                        "retire",
                        "edit",
                        "",
                        "REQUEST_RETIRE",
                    ]),
                    any::<String>(),
                    "[0-9]{0,22}",
                )
                    .prop_map(|(action, date, id)| {
                        serde_json::to_vec(&json!({
                            "action": action,
                            "date": date,
                            "warn": id,
                            "resources": [{"id": id}, {"href": format!("/api/vms/{id}")}, {}],
                        }))
                        .unwrap()
                    }),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Any request: no panic, and never a 5xx (the scenario injects no faults).
            #[test]
            fn any_request_is_answered_without_a_panic_or_a_5xx(
                method in prop::sample::select(vec!["GET", "POST", "DELETE", "OPTIONS", "PUT", "PATCH"]),
                prefix in prop::sample::select(vec!["/api", "/api/v4.0.0", "/api/v1", "/__mock/requests", "", "/x"]),
                segments in prop::collection::vec(segment(), 0..4),
                query in query(),
                auth in prop::sample::select(vec![
                    ADMIN, "Basic YXVkaXRvcjphdWRpdG9y", "Basic Og==", "Basic €", "Bearer x", "",
                    "Basic YWRtaW4=", "Negotiate abc",
                ]),
                body in body(),
            ) {
                let s = shared();
                let path = format!("{prefix}/{}", segments.join("/"));
                let req = request(method, &path, &query, auth, body);
                let code = status(&s, &req);
                prop_assert!((200..500).contains(&code), "{} {} ?{} -> {}", method, path, query, code);
            }

            /// Garbage in a collection's query is a 400, or ignored (200); never anything else.
            #[test]
            fn garbage_queries_on_collections_are_a_400_or_ignored(
                coll in prop::sample::select(vec!["services", "vms", "requests", "service_requests", "request_tasks", "tasks"]),
                query in query(),
            ) {
                let s = shared();
                let req = request("GET", &format!("/api/{coll}"), &query, ADMIN, vec![]);
                let code = status(&s, &req);
                prop_assert!(code == 200 || code == 400, "{}?{} -> {}", coll, query, code);
            }

            /// Non-numeric paging is always a 400.
            #[test]
            fn non_numeric_paging_is_a_400(
                key in "offset|limit",
                value in "[0-9]{0,3}[a-z€ ._-][0-9a-z€]{0,4}",
            ) {
                let s = shared();
                let v: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                let req = request("GET", "/api/services", &format!("{key}={v}"), ADMIN, vec![]);
                prop_assert_eq!(status(&s, &req), 400);
            }
        }
    }
}
