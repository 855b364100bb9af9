//! What an action POST gave back.

use serde_json::Value;

/// The typed outcome of an action.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionOutcome {
    /// A request was created (`request_retire` on a service): poll `/api/requests/:id`.
    Request {
        /// The request id.
        id: String,
        /// Its href.
        href: String,
        /// Its state when created (`pending`).
        request_state: Option<String>,
    },
    /// An action result with a task (`request_retire` on a VM): poll `/api/tasks/:id`.
    Task {
        /// The task id.
        task_id: String,
        /// The task href.
        task_href: Option<String>,
        /// The server's message.
        message: String,
    },
    /// An action result without a task.
    Done {
        /// The server's message.
        message: String,
    },
    /// The resource itself (legacy `retire`, or `request_retire` with a date).
    Resource(Value),
    /// A bulk call's per-item results, in order.
    Bulk(Vec<Result<ActionOutcome, String>>),
}

impl ActionOutcome {
    /// Reads a response body; `Err` with the server's message for `{"success": false}`.
    pub fn from_response(value: Value) -> Result<ActionOutcome, String> {
        if let Some(results) = value.get("results").and_then(Value::as_array) {
            return Ok(ActionOutcome::Bulk(
                results
                    .iter()
                    .cloned()
                    .map(ActionOutcome::from_response)
                    .collect(),
            ));
        }
        let text = |key: &str| value.get(key).and_then(id_text);
        if let Some(success) = value.get("success").and_then(Value::as_bool) {
            let message = text("message").unwrap_or_default();
            if !success {
                return Err(message);
            }
            return Ok(match text("task_id") {
                Some(task_id) => ActionOutcome::Task {
                    task_id,
                    task_href: text("task_href"),
                    message,
                },
                None => ActionOutcome::Done { message },
            });
        }
        let href = text("href").unwrap_or_default();
        if href.contains("/requests/") || value.get("request_state").is_some() {
            return Ok(ActionOutcome::Request {
                id: text("id")
                    .unwrap_or_else(|| href.rsplit('/').next().unwrap_or_default().to_string()),
                href,
                request_state: text("request_state"),
            });
        }
        Ok(ActionOutcome::Resource(value))
    }
}

/// An id or text field (ids are strings in ManageIQ, numbers in some places).
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outcomes_by_shape() {
        let r = ActionOutcome::from_response(
            json!({"id": "7", "href": "http://x/api/requests/7", "request_state": "pending"}),
        )
        .unwrap();
        assert_eq!(
            r,
            ActionOutcome::Request {
                id: "7".into(),
                href: "http://x/api/requests/7".into(),
                request_state: Some("pending".into())
            }
        );
        let t = ActionOutcome::from_response(
            json!({"success": true, "message": "ok", "task_id": 12, "task_href": "h"}),
        )
        .unwrap();
        assert!(matches!(t, ActionOutcome::Task { ref task_id, .. } if task_id == "12"));
        assert_eq!(
            ActionOutcome::from_response(json!({"success": false, "message": "nope"})),
            Err("nope".into())
        );
        let bulk = ActionOutcome::from_response(
            json!({"results": [{"success": false, "message": "a"}, {"id": "1", "name": "svc"}]}),
        )
        .unwrap();
        assert!(matches!(bulk, ActionOutcome::Bulk(ref v) if v.len() == 2 && v[0].is_err()));
    }
}
