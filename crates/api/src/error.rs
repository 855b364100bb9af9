//! One error type for every call: what went wrong, with the HTTP status and ManageIQ's
//! error `kind`, `message` and `klass` when the server sent them. Secrets are redacted.

use std::fmt;

/// What kind of failure, for callers that decide what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 401: bad credentials, expired or invalid token, bad group.
    Auth,
    /// 403: the role may not do this.
    Forbidden,
    /// 404.
    NotFound,
    /// 400 and other client errors (including a failed action's result).
    BadRequest,
    /// 429 from the server's rate limiter.
    RateLimited,
    /// 5xx, or a proxy's error page.
    Server,
    /// Connecting or talking to the server failed.
    Transport,
    /// No answer in time.
    Timeout,
    /// The body was not what ManageIQ sends.
    Decode,
    /// The client's own configuration (URL, CA file …).
    Config,
    /// The request budget is spent.
    Budget,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::BadRequest => "bad request",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Server => "server error",
            ErrorKind::Transport => "connection failed",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Decode => "unexpected response",
            ErrorKind::Config => "configuration error",
            ErrorKind::Budget => "request budget exhausted",
        };
        f.write_str(s)
    }
}

/// An error from the ManageIQ API or on the way to it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ApiError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// ManageIQ's error kind (`not_found`, `unauthorized` …), when sent.
    pub api_kind: Option<String>,
    /// The message (secrets redacted).
    pub message: String,
    /// ManageIQ's exception class (`ActiveRecord::RecordNotFound`), when sent.
    pub klass: Option<String>,
    /// `METHOD path` of the request.
    pub request: String,
    /// How long the server asked to wait before trying again (`Retry-After`, in seconds).
    pub retry_after: Option<std::time::Duration>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if !self.request.is_empty() {
            write!(f, " on {}", self.request)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(klass) = &self.klass {
            write!(f, " [{klass}]")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// An error without a response.
    pub fn new(kind: ErrorKind, request: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            status: None,
            api_kind: None,
            message: message.into(),
            klass: None,
            request: request.into(),
            retry_after: None,
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::Config, "", message)
    }

    /// `true` for failures worth retrying (rate limit, 5xx, transport, timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Transport | ErrorKind::Timeout
        )
    }

    /// The kind for an HTTP status.
    pub fn kind_for_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Auth,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::BadRequest,
        }
    }
}
