//! The wiremock responder: the front door of every request. It injects the scenario's
//! faults (rate limit, failed calls, lost replies, latency), routes the rest (see
//! [`crate::routes`]), journals every answer, and turns a panic into a 500.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use crate::auth::Identity;
use crate::faults::Failure;
use crate::guard;
use crate::journal::{mask_encrypted, mask_json, mask_query, JournalEntry};
use crate::reply::{proxy_html, retry_later, ApiError, Reply};
use crate::routes::{self, Outcome};
use crate::shared::Shared;

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

// The handler lives with the responder (its only caller), not with the state it reads.
impl Shared {
    /// Answers a request: the journal's own route, else the rate limit, an injected fault
    /// or the API; journaled. Returns the reply and how long to hold it back.
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
            let decision = self.faults.decide(&method, &routes::unversioned(&path));
            delay = decision.delay;
            match decision.failure {
                Some((i, injected)) => {
                    // A lost reply: the server acts, then the answer never reaches the client.
                    let acted = injected
                        .after_action
                        .then(|| routes::route(self, req, &method, &path));
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
                None => routes::route(self, req, &method, &path),
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

    /// `GET` / `DELETE /__mock/requests`: reads or clears the journal (no auth, and not
    /// journaled itself).
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
}

fn with_retry_after(reply: Reply, seconds: Option<u64>) -> Reply {
    match seconds {
        Some(s) => reply.with_header("Retry-After", s.to_string()),
        None => reply,
    }
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

#[cfg(test)]
mod tests;
