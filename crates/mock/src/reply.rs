//! Responses the mock sends, and ManageIQ's error envelope.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;

/// A response before it becomes a wiremock `ResponseTemplate`.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Body,
    /// Extra headers (`Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone)]
pub(crate) enum Body {
    Json(Value),
    Text { text: String, mime: &'static str },
    Empty,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Reply {
        Self::json(200, body)
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Body::Empty,
            headers: Vec::new(),
        }
    }

    pub fn text(status: u16, text: impl Into<String>, mime: &'static str) -> Reply {
        Reply {
            status,
            body: Body::Text {
                text: text.into(),
                mime,
            },
            headers: Vec::new(),
        }
    }

    /// The same reply with a header added.
    pub fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub fn into_template(self) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status);
        for (name, value) in self.headers {
            t = t.insert_header(name, value.as_str());
        }
        match self.body {
            // A `Value` always serializes; an empty object stands in if it ever did not.
            Body::Json(v) => t.set_body_raw(
                serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec()),
                "application/json",
            ),
            Body::Text { text, mime } => t.set_body_raw(text.into_bytes(), mime),
            Body::Empty => t,
        }
    }
}

/// An API error rendered in ManageIQ's envelope
/// `{"error":{"kind","message","klass"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub klass: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            kind: "bad_request",
            klass: "Api::BadRequestError",
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 401,
            kind: "unauthorized",
            klass: "Api::BaseController::AuthenticationError",
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 403,
            kind: "forbidden",
            klass: "Api::ForbiddenError",
            message: message.into(),
        }
    }

    pub fn record_not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            kind: "not_found",
            klass: "ActiveRecord::RecordNotFound",
            message: message.into(),
        }
    }

    pub fn routing(method: &str, path: &str) -> ApiError {
        ApiError {
            status: 404,
            kind: "not_found",
            klass: "ActionController::RoutingError",
            message: format!("No route matches [{method}] \"{path}\""),
        }
    }

    /// The error an injected fault answers with for `status`.
    pub fn injected(status: u16) -> ApiError {
        let (kind, klass) = match status {
            400 => ("bad_request", "Api::BadRequestError"),
            401 => ("unauthorized", "Api::BaseController::AuthenticationError"),
            403 => ("forbidden", "Api::ForbiddenError"),
            404 => ("not_found", "Api::NotFoundError"),
            415 => ("unsupported_media_type", "Api::UnsupportedMediaTypeError"),
            500 => ("internal_server_error", "RuntimeError"),
            s if s < 500 => ("bad_request", "Api::BadRequestError"),
            _ => ("internal_server_error", "RuntimeError"),
        };
        ApiError {
            status,
            kind,
            klass,
            message: format!("Injected fault: HTTP {status}"),
        }
    }

    /// A bug in the mock (a caught panic): 500 `internal_server_error`, as ManageIQ answers
    /// an unexpected exception.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 500,
            kind: "internal_server_error",
            klass: "RuntimeError",
            message: message.into(),
        }
    }

    pub fn into_reply(self) -> Reply {
        Reply::json(
            self.status,
            json!({"error": {"kind": self.kind, "message": self.message, "klass": self.klass}}),
        )
    }
}

impl From<miq_automate_vmdb::VmdbError> for ApiError {
    fn from(e: miq_automate_vmdb::VmdbError) -> Self {
        match e {
            miq_automate_vmdb::VmdbError::NotFound { .. } => {
                ApiError::record_not_found(e.to_string())
            }
            other => ApiError::bad_request(other.to_string()),
        }
    }
}

/// 429 from the rate limiter: plain text, as Rack::Attack answers.
pub(crate) fn retry_later() -> Reply {
    Reply::text(429, "Retry later\n", "text/plain")
}

/// What a reverse proxy answers when the application is down.
pub(crate) fn proxy_html(status: u16) -> Reply {
    let title = match status {
        502 => "502 Proxy Error",
        504 => "504 Gateway Timeout",
        _ => "503 Service Unavailable",
    };
    Reply::text(
        status,
        format!(
            "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{title}</title>\n</head><body>\n<h1>{title}</h1>\n<p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.</p>\n</body></html>\n"
        ),
        "text/html",
    )
}
