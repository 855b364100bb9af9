//! Authentication as ManageIQ checks it: `X-MIQ-Token`, `X-Auth-Token`,
//! `Authorization: Bearer`, `Authorization: Basic`, in that order; `X-MIQ-Group` selects a
//! group; tokens expire after `token_ttl_seconds`, sliding with each use.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use base64::Engine;
use chrono::{DateTime, Utc};
use miq_automate_vmdb::clock::add_seconds;
use miq_automate_vmdb::model::{Group, User};
use miq_automate_vmdb::Vmdb;
use parking_lot::Mutex;
use wiremock::Request;

use crate::reply::ApiError;

/// Who made a request.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub user: User,
    pub group: Group,
    /// `basic` or `token`.
    pub mechanism: &'static str,
}

#[derive(Debug)]
struct TokenInfo {
    userid: String,
    expires_on: DateTime<Utc>,
}

/// Issued tokens.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    tokens: Mutex<HashMap<String, TokenInfo>>,
    counter: Mutex<u64>,
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

impl Tokens {
    /// Issues a token for `userid`; returns (token, expires_on).
    pub fn issue(&self, userid: &str, now: DateTime<Utc>, ttl: i64) -> (String, DateTime<Utc>) {
        let n = {
            let mut c = self.counter.lock();
            *c += 1;
            *c
        };
        let state = std::collections::hash_map::RandomState::new();
        let mut a = state.build_hasher();
        a.write_u64(n);
        a.write(userid.as_bytes());
        let mut b = state.build_hasher();
        b.write_u64(!n);
        b.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
        let token = format!("{:016x}{:016x}", a.finish(), b.finish());
        // Checked: no TTL or clock value can overflow the date.
        let expires_on = add_seconds(now, ttl);
        self.tokens.lock().insert(
            token.clone(),
            TokenInfo {
                userid: userid.to_owned(),
                expires_on,
            },
        );
        (token, expires_on)
    }

    /// Invalidates a token (`DELETE /api/auth`).
    pub fn revoke(&self, token: &str) {
        self.tokens.lock().remove(token);
    }

    /// Authenticates a request.
    pub fn authenticate(&self, req: &Request, vmdb: &Vmdb) -> Result<Identity, ApiError> {
        let now = vmdb.clock().now();
        let ttl = vmdb.settings().token_ttl_seconds;
        let (user, mechanism) = if header(req, "x-miq-token").is_some() {
            return Err(ApiError::unauthorized(
                "Invalid System Authentication Token specified",
            ));
        } else if let Some(token) = header(req, "x-auth-token") {
            if token.is_empty() {
                return Err(ApiError::unauthorized(
                    "Empty Authentication Token (X-Auth-Token)",
                ));
            }
            // ManageIQ echoes the token in this message; clients must redact it.
            let invalid = || {
                ApiError::unauthorized(format!("Invalid Authentication Token {token} specified"))
            };
            let userid = {
                let mut tokens = self.tokens.lock();
                let info = tokens.get_mut(token).ok_or_else(invalid)?;
                if info.expires_on <= now {
                    tokens.remove(token);
                    return Err(invalid());
                }
                if header(req, "x-auth-skip-token-renewal") != Some("true") {
                    info.expires_on = add_seconds(now, ttl);
                }
                info.userid.clone()
            };
            (vmdb.user(&userid).ok_or_else(invalid)?, "token")
        } else if let Some(auth) = header(req, "authorization") {
            if auth.starts_with("Bearer ") {
                return Err(ApiError::unauthorized(
                    "Failed to Authenticate with JWT - error JWT authentication is not enabled",
                ));
            }
            let encoded = auth
                .strip_prefix("Basic ")
                .ok_or_else(|| ApiError::unauthorized("Authentication failed"))?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::unauthorized("Authentication failed"))?;
            let (u, p) = decoded
                .split_once(':')
                .ok_or_else(|| ApiError::unauthorized("Authentication failed"))?;
            (
                vmdb.authenticate(u, p)
                    .ok_or_else(|| ApiError::unauthorized("Authentication failed"))?,
                "basic",
            )
        } else {
            return Err(ApiError::unauthorized(
                "Api::BaseController::AuthenticationError",
            ));
        };
        let groups = vmdb.groups_of(&user);
        let group = match header(req, "x-miq-group").filter(|g| !g.is_empty()) {
            Some(name) => {
                let name = percent_decode(name);
                groups
                    .into_iter()
                    .find(|g| g.description == name)
                    .ok_or_else(|| {
                        ApiError::unauthorized(format!(
                            "Invalid Authorization Group {name} specified"
                        ))
                    })?
            }
            None => groups.into_iter().next().ok_or_else(|| {
                ApiError::unauthorized(format!(
                    "Invalid User {} specified, User's Group is missing",
                    user.userid
                ))
            })?,
        };
        Ok(Identity {
            user,
            group,
            mechanism,
        })
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}
