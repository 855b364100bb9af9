//! The HTTP client: authentication (Basic exchanged once for a token, re-authentication once
//! on a 401), retries with backoff and jitter, bounded concurrency, a request budget, and
//! ManageIQ's error envelopes turned into [`ApiError`]s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{Mutex, RwLock, Semaphore};
use url::Url;

use crate::action::ActionOutcome;
use crate::config::{ClientConfig, Credentials};
use crate::error::{ApiError, ErrorKind};
use crate::query::Query;
use crate::secret::{redact, Secret};

/// The most resources ManageIQ returns in one page.
pub const MAX_PAGE: u64 = 1000;

/// Whether a failed call may be sent again as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Safe to repeat (GET, DELETE): retried on 429, 5xx and transport errors.
    Idempotent,
    /// Not idempotent (an action POST): retried only when the server surely did not act on
    /// it (429, 401 before re-authentication). Other failures go back to the caller, who must
    /// re-read the resource before trying again.
    NotIdempotent,
}

/// A ManageIQ REST client. Cheap to clone; clones share the token, the concurrency limit
/// and the budget.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    api_root: Url,
    token: RwLock<Option<(Secret, u64)>>,
    auth_lock: Mutex<u64>,
    permits: Semaphore,
    sent: AtomicU64,
}

impl Client {
    /// Builds a client (no request is sent yet).
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(config.user_agent.clone())
            .danger_accept_invalid_certs(!config.verify_tls);
        if let Some(path) = &config.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                ApiError::config(format!(
                    "cannot read CA certificate {}: {e}",
                    path.display()
                ))
            })?;
            let invalid = |why: String| {
                ApiError::config(format!("invalid CA certificate {}: {why}", path.display()))
            };
            // A file without a PEM certificate block would otherwise be trusted as nothing.
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(invalid(
                    "no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)".into(),
                ));
            }
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| invalid(e.to_string()))?;
            if certs.is_empty() {
                return Err(invalid("no certificate could be read from it".into()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::config(format!("cannot build the HTTP client: {e}")))?;
        let token = match &config.credentials {
            Credentials::Token(t) => Some((t.clone(), 0)),
            Credentials::Basic { .. } => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_root: config.api_root(),
                permits: Semaphore::new(config.concurrency.max(1)),
                config,
                token: RwLock::new(token),
                auth_lock: Mutex::new(0),
                sent: AtomicU64::new(0),
            }),
        })
    }

    /// The same server, credentials and current token, with another concurrency limit (its
    /// own permits and request count).
    pub fn with_concurrency(&self, concurrency: usize) -> Client {
        let mut config = self.inner.config.clone();
        config.concurrency = concurrency.max(1);
        let token = self.inner.token.try_read().ok().and_then(|t| t.clone());
        let generation = token.as_ref().map_or(0, |(_, g)| *g);
        Client {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                api_root: self.inner.api_root.clone(),
                permits: Semaphore::new(config.concurrency),
                config,
                token: RwLock::new(token),
                auth_lock: Mutex::new(generation),
                sent: AtomicU64::new(0),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// HTTP requests sent so far (every attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// The absolute URL for a path relative to `/api/` (`services/1`), an absolute path
    /// (`/api/services/1`) or an href. Hrefs are followed on the configured server.
    pub fn url(&self, target: &str) -> Result<Url, ApiError> {
        let bad =
            |e: url::ParseError| ApiError::config(format!("invalid API path {target:?}: {e}"));
        if target.starts_with("http://") || target.starts_with("https://") {
            let href = Url::parse(target).map_err(bad)?;
            let mut url = self.inner.config.url.clone();
            url.set_path(href.path());
            url.set_query(href.query());
            return Ok(url);
        }
        if let Some(path) = target.strip_prefix('/') {
            let mut url = self.inner.config.url.clone();
            let (path, query) = path
                .split_once('?')
                .map_or((path, None), |(p, q)| (p, Some(q)));
            url.set_path(&format!("/{path}"));
            url.set_query(query);
            return Ok(url);
        }
        self.inner.api_root.join(target).map_err(bad)
    }

    /// Exchanges Basic credentials for a token (`GET /api/auth`). With a token configured,
    /// does nothing.
    pub async fn authenticate(&self) -> Result<(), ApiError> {
        let generation = self
            .inner
            .token
            .read()
            .await
            .as_ref()
            .map_or(0, |(_, g)| *g);
        self.reauthenticate(generation).await
    }

    /// Authenticates unless another task already did since `seen` (the token generation the
    /// caller used), so that many concurrent 401s cost one login.
    async fn reauthenticate(&self, seen: u64) -> Result<(), ApiError> {
        let Credentials::Basic { user, password } = &self.inner.config.credentials else {
            return Ok(());
        };
        let mut generation = self.inner.auth_lock.lock().await;
        if *generation > seen {
            return Ok(());
        }
        let url = self.url("auth")?;
        let request = format!("GET {}", url.path());
        // The login is an idempotent read: a 503, a 429 or a refused connection is retried
        // like any other GET (with backoff and Retry-After), bounded in attempts and time.
        let policy = &self.inner.config.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        let body = loop {
            attempt += 1;
            let err = match self.login(&url, user, password, &request).await {
                Ok(body) => break body,
                Err(err) => err,
            };
            let delay = policy.backoff(attempt, err.retry_after);
            if !err.is_retryable()
                || attempt >= policy.max_attempts
                || started.elapsed().saturating_add(delay) > policy.max_elapsed
            {
                return Err(err);
            }
            tracing::warn!("{request}: {err}; retry {attempt} in {delay:?}");
            tokio::time::sleep(delay).await;
        };
        let token = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("auth_token")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .ok_or_else(|| {
                ApiError::new(ErrorKind::Decode, &request, "no auth_token in the response")
            })?;
        *generation += 1;
        *self.inner.token.write().await = Some((Secret::new(token), *generation));
        tracing::debug!("authenticated as {user}");
        Ok(())
    }

    /// One `GET /api/auth` with Basic credentials: the body, or the error.
    async fn login(
        &self,
        url: &Url,
        user: &str,
        password: &Secret,
        request: &str,
    ) -> Result<String, ApiError> {
        self.spend(request)?;
        let mut builder = self
            .inner
            .http
            .get(url.clone())
            .basic_auth(user, Some(password.expose()));
        if let Some(group) = &self.inner.config.group {
            builder = builder.header("X-MIQ-Group", group);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| self.transport(request, e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response
            .text()
            .await
            .map_err(|e| self.transport(request, e))?;
        if !status.is_success() {
            let mut err = self.http_error(request, status, &body);
            err.retry_after = retry_after;
            return Err(err);
        }
        Ok(body)
    }

    /// `GET` a path or href with a query; JSON back.
    pub async fn get(&self, target: &str, query: &Query) -> Result<Value, ApiError> {
        let mut url = self.url(target)?;
        if !query.pairs().is_empty() {
            url.query_pairs_mut().extend_pairs(query.pairs());
        }
        self.send(Method::GET, url, None, Retry::Idempotent).await
    }

    /// `POST` a JSON body (not retried unless surely not processed: see [`Retry`]).
    pub async fn post(&self, target: &str, body: &Value) -> Result<Value, ApiError> {
        let url = self.url(target)?;
        self.send(Method::POST, url, Some(body), Retry::NotIdempotent)
            .await
    }

    /// Every resource of a collection (or subcollection), following pages.
    pub async fn get_all(&self, target: &str, query: &Query) -> Result<Vec<Value>, ApiError> {
        Ok(self.get_all_counted(target, query).await?.0)
    }

    /// Like [`Client::get_all`], with the collection's `count` (all resources, unfiltered).
    pub async fn get_all_counted(
        &self,
        target: &str,
        query: &Query,
    ) -> Result<(Vec<Value>, Option<u64>), ApiError> {
        let limit = query.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let mut offset = query.offset.unwrap_or(0);
        let mut all = Vec::new();
        loop {
            let page = self.get(target, &query.clone().page(offset, limit)).await?;
            let resources = page
                .get("resources")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::Decode,
                        format!("GET {target}"),
                        "no resources in the collection",
                    )
                })?;
            let fetched = resources.len() as u64;
            all.extend(resources);
            let count = page.get("count").and_then(Value::as_u64);
            // `subcount` is this page's size; the total is `subquery_count` when filtered.
            let total = page
                .get("subquery_count")
                .or_else(|| page.get("count"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            offset += fetched;
            if fetched == 0 || offset >= total {
                return Ok((all, count));
            }
        }
    }

    /// Runs an action on a resource (`{"action": name, "resource": resource}`).
    pub async fn action(
        &self,
        target: &str,
        action: &str,
        resource: Option<Value>,
    ) -> Result<ActionOutcome, ApiError> {
        let mut body = json!({ "action": action });
        if let Some(r) = resource {
            body["resource"] = r;
        }
        let value = self.post(target, &body).await?;
        ActionOutcome::from_response(value).map_err(|message| ApiError {
            kind: ErrorKind::BadRequest,
            status: Some(200),
            api_kind: None,
            message: redact(&message, self.secrets()),
            klass: None,
            request: format!("POST {target}"),
            retry_after: None,
        })
    }

    /// Logs out (`DELETE /api/auth`), forgetting the token.
    pub async fn logout(&self) -> Result<(), ApiError> {
        if self.inner.token.read().await.is_none() {
            return Ok(());
        }
        let url = self.url("auth")?;
        self.send(Method::DELETE, url, None, Retry::Idempotent)
            .await?;
        *self.inner.token.write().await = None;
        Ok(())
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Value, ApiError> {
        let request = format!("{method} {}", url.path());
        let policy = &self.inner.config.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let mut current = self.inner.token.read().await.clone();
            if current.is_none() {
                self.authenticate().await?;
                current = self.inner.token.read().await.clone();
            }
            let (token, generation) = current.map_or((None, 0), |(t, g)| (Some(t), g));
            let outcome = self
                .attempt(&method, &url, body, token.as_ref(), &request)
                .await;
            let err = match outcome {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if err.kind == ErrorKind::Auth
                && !reauthenticated
                && matches!(self.inner.config.credentials, Credentials::Basic { .. })
            {
                // An expired or revoked token: log in again, once, and repeat the call.
                reauthenticated = true;
                tracing::info!("{request}: token rejected, authenticating again");
                self.reauthenticate(generation).await?;
                attempt -= 1;
                continue;
            }
            let may_retry = match retry {
                Retry::Idempotent => err.is_retryable(),
                Retry::NotIdempotent => err.kind == ErrorKind::RateLimited,
            };
            let delay = policy.backoff(attempt, err.retry_after);
            if !may_retry
                || attempt >= policy.max_attempts
                || started.elapsed().saturating_add(delay) > policy.max_elapsed
            {
                return Err(err);
            }
            tracing::warn!("{request}: {err}; retry {attempt} in {delay:?}");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        token: Option<&Secret>,
        request: &str,
    ) -> Result<Value, ApiError> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::new(ErrorKind::Transport, request, "client closed"))?;
        self.spend(request)?;
        let mut builder = self.inner.http.request(method.clone(), url.clone());
        if let Some(t) = token {
            builder = builder.header("X-Auth-Token", t.expose());
        }
        if let Some(group) = &self.inner.config.group {
            builder = builder.header("X-MIQ-Group", group);
        }
        if let Some(b) = body {
            builder = builder.json(b);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| self.transport(request, e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response
            .text()
            .await
            .map_err(|e| self.transport(request, e))?;
        if !status.is_success() {
            let mut err = self.http_error(request, status, &text);
            err.retry_after = retry_after;
            return Err(err);
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            ApiError::new(
                ErrorKind::Decode,
                request,
                format!(
                    "the response is not JSON ({e}): {}",
                    excerpt(&redact(&text, self.secrets()))
                ),
            )
        })
    }

    fn spend(&self, request: &str) -> Result<(), ApiError> {
        let sent = self.inner.sent.fetch_add(1, Ordering::Relaxed);
        match self.inner.config.max_requests {
            Some(max) if sent >= max => Err(ApiError::new(
                ErrorKind::Budget,
                request,
                format!("the budget of {max} requests is spent"),
            )),
            _ => Ok(()),
        }
    }

    fn secrets(&self) -> Vec<&Secret> {
        match &self.inner.config.credentials {
            Credentials::Basic { password, .. } => vec![password],
            Credentials::Token(t) => vec![t],
        }
    }

    fn redacted(&self, text: &str) -> String {
        let mut out = redact(text, self.secrets());
        // The current token too (a 401 message echoes it).
        if let Ok(guard) = self.inner.token.try_read() {
            if let Some((token, _)) = guard.as_ref() {
                out = redact(&out, [token]);
            }
        }
        out
    }

    fn transport(&self, request: &str, e: reqwest::Error) -> ApiError {
        let kind = if e.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Transport
        };
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        ApiError::new(kind, request, self.redacted(&message))
    }

    fn http_error(&self, request: &str, status: StatusCode, body: &str) -> ApiError {
        let code = status.as_u16();
        let mut err = ApiError {
            kind: ApiError::kind_for_status(code),
            status: Some(code),
            api_kind: None,
            message: String::new(),
            klass: None,
            request: request.to_string(),
            retry_after: None,
        };
        match serde_json::from_str::<Value>(body) {
            Ok(v) if v.get("error").is_some() => {
                let e = &v["error"];
                err.api_kind = e.get("kind").and_then(Value::as_str).map(str::to_string);
                err.message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                err.klass = e.get("klass").and_then(Value::as_str).map(str::to_string);
            }
            Ok(v) if v.get("success") == Some(&Value::Bool(false)) => {
                err.message = v
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
            }
            _ => err.message = plain_message(body),
        }
        err.message = self.redacted(&err.message);
        err
    }
}

/// A text or HTML body as a one-line message (an HTML page's title, if it has one).
fn plain_message(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>")) {
        if start < end {
            return format!("HTML error page: {}", body[start + 7..end].trim());
        }
    }
    if lower.contains("<html") {
        return "HTML error page".into();
    }
    excerpt(body.trim())
}

fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 200 {
        format!("{}…", one_line.chars().take(200).collect::<String>())
    } else {
        one_line
    }
}

/// `Retry-After` in seconds (ManageIQ's rate limiter and proxies send seconds; an HTTP date
/// is not honoured and the backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    // A day at most: a larger value is as good as "not within any budget".
    let seconds = value.trim().parse::<u64>().ok()?.min(86_400);
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_text_bodies_become_short_messages() {
        assert_eq!(
            plain_message("<html><head><title>503 Service Unavailable</title></head></html>"),
            "HTML error page: 503 Service Unavailable"
        );
        assert_eq!(plain_message("Retry later\n"), "Retry later");
    }

    #[test]
    fn hrefs_are_followed_on_the_configured_server() {
        let config = ClientConfig::new(
            "https://miq.example.com",
            Credentials::Token(Secret::new("t0ken")),
        )
        .unwrap();
        let client = Client::new(config).unwrap();
        assert_eq!(
            client.url("services/1").unwrap().as_str(),
            "https://miq.example.com/api/services/1"
        );
        assert_eq!(
            client.url("/api/services/1?attributes=x").unwrap().as_str(),
            "https://miq.example.com/api/services/1?attributes=x"
        );
        assert_eq!(
            client
                .url("http://10.0.0.5:3000/api/requests/7")
                .unwrap()
                .as_str(),
            "https://miq.example.com/api/requests/7"
        );
    }
}
