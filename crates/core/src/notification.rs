//! Notifications a method creates (`$evm.create_notification`), and the notification types
//! ManageIQ seeds (the only ones `create_notification!` accepts).

use std::sync::LazyLock;

use crate::error::AeError;
use crate::value::Value;

/// A notification a method created.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The notification type (`automate_user_error`).
    pub kind: String,
    /// Its type's level (`success`, `error`, `info`, `warning`).
    pub level: String,
    /// Its type's audience (`user`, `group`, `tenant`, `global`, `superadmin`).
    pub audience: String,
    /// The message as ManageIQ renders it (`Service web tier has started retirement.`).
    pub text: String,
    /// The subject (a service model), if given.
    pub subject: Value,
    /// The message, if given.
    pub message: Option<String>,
    /// The options hash as the method passed it.
    pub options: Value,
}

/// A notification type: how important, who sees it, and the message template
/// (`Service %{subject} has started retirement.`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct NotificationType {
    /// `service_retiring`, `automate_user_error` …
    pub name: String,
    /// `success`, `error`, `info` or `warning`.
    pub level: String,
    /// `user`, `group`, `tenant`, `global` or `superadmin`.
    pub audience: String,
    /// The message, with `%{subject}`, `%{message}` and other `%{option}` bindings.
    pub message: String,
    /// How long the notification lives, in seconds.
    pub expires_in: i64,
}

impl NotificationType {
    /// The message with its bindings filled in: `%{subject}` by the subject's name,
    /// `%{key}` by the option `key` (`%{message}` is the `:message` option); a binding with
    /// no value stays as written, as Ruby's `format` would refuse it rather than guess.
    pub fn render(&self, subject: Option<&str>, options: &Value) -> String {
        let mut out = String::with_capacity(self.message.len());
        let mut rest = self.message.as_str();
        while let Some(start) = rest.find("%{") {
            let Some(len) = rest[start + 2..].find('}') else {
                break;
            };
            let key = &rest[start + 2..start + 2 + len];
            out.push_str(&rest[..start]);
            let value = if key == "subject" {
                subject.map(str::to_string)
            } else {
                option(options, key)
                    .filter(|v| !matches!(v, Value::Nil))
                    .map(|v| v.to_ruby_s())
            };
            match value {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[start..start + len + 3]),
            }
            rest = &rest[start + len + 3..];
        }
        out.push_str(rest);
        out
    }
}

/// An option by Symbol (or String) key.
fn option<'v>(options: &'v Value, key: &str) -> Option<&'v Value> {
    match options {
        Value::Hash(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(k, Value::Symbol(s) | Value::String(s) if s == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// ManageIQ's seeded notification types (its notification type fixture, as data).
static SEEDED: LazyLock<Vec<NotificationType>> = LazyLock::new(|| {
    #[derive(serde::Deserialize)]
    struct File {
        notification_types: Vec<NotificationType>,
    }
    let file: File = serde_json::from_str(include_str!("../data/notification_types.json"))
        .expect("the seeded notification types are valid JSON (checked by a test)");
    file.notification_types
});

/// The notification types a workspace knows: ManageIQ's seeded ones, and any a user adds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationTypes {
    added: Vec<NotificationType>,
}

impl NotificationTypes {
    /// Every seeded type.
    pub fn seeded() -> &'static [NotificationType] {
        &SEEDED
    }

    /// A type by name (an added one shadows a seeded one of the same name).
    pub fn get(&self, name: &str) -> Option<&NotificationType> {
        self.added
            .iter()
            .rev()
            .find(|t| t.name == name)
            .or_else(|| SEEDED.iter().find(|t| t.name == name))
    }

    /// Adds (or redefines) a type.
    pub fn add(&mut self, t: NotificationType) -> Result<(), AeError> {
        if t.name.trim().is_empty() {
            return Err(AeError::ArgumentError(
                "a notification type needs a name".into(),
            ));
        }
        let one_of = |field: &str, value: &str, allowed: &[&str]| {
            if allowed.contains(&value) {
                return Ok(());
            }
            Err(AeError::ArgumentError(format!(
                "notification type {}: {field} {value:?} is not one of {}",
                t.name,
                allowed.join(", ")
            )))
        };
        one_of("level", &t.level, &LEVELS)?;
        one_of("audience", &t.audience, &AUDIENCES)?;
        self.added.push(t);
        Ok(())
    }
}

/// Levels a notification type may have.
pub const LEVELS: [&str; 4] = ["success", "error", "info", "warning"];
/// Audiences a notification type may have.
pub const AUDIENCES: [&str; 5] = ["user", "group", "tenant", "global", "superadmin"];

/// Whether ManageIQ seeds a type of this name.
pub fn is_seeded_notification_type(kind: &str) -> bool {
    SEEDED.iter().any(|t| t.name == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_type_is_known_with_level_audience_and_message() {
        let seeded = NotificationTypes::seeded();
        assert_eq!(seeded.len(), 53);
        for t in seeded {
            assert!(LEVELS.contains(&t.level.as_str()), "{t:?}");
            assert!(AUDIENCES.contains(&t.audience.as_str()), "{t:?}");
            assert!(t.expires_in > 0 && !t.message.is_empty(), "{t:?}");
        }
        let types = NotificationTypes::default();
        let retiring = types.get("service_retiring").unwrap();
        assert_eq!(
            (retiring.level.as_str(), retiring.audience.as_str()),
            ("success", "tenant")
        );
        assert_eq!(retiring.expires_in, 7 * 86_400);
        assert_eq!(types.get("request_denied").unwrap().level, "warning");
    }

    #[test]
    fn messages_are_rendered_with_their_bindings() {
        let types = NotificationTypes::default();
        let opts = Value::Hash(vec![
            (
                Value::Symbol("message".into()),
                Value::from("Quota exceeded"),
            ),
            (
                Value::Symbol("error_message".into()),
                Value::from("no space"),
            ),
        ]);
        assert_eq!(
            types
                .get("service_retiring")
                .unwrap()
                .render(Some("web tier"), &opts),
            "Service web tier has started retirement."
        );
        assert_eq!(
            types
                .get("automate_user_error")
                .unwrap()
                .render(None, &opts),
            "Quota exceeded"
        );
        assert_eq!(
            types
                .get("vm_destroy_error")
                .unwrap()
                .render(Some("db01"), &opts),
            "Destroying Virtual Machine db01 failed: no space"
        );
        // A binding without a value stays as written.
        assert_eq!(
            types
                .get("role_activate_start")
                .unwrap()
                .render(None, &Value::Nil),
            "The role %{role_name} has started activation on server %{server_name}"
        );
    }

    #[test]
    fn users_add_types() {
        let mut types = NotificationTypes::default();
        let mine = NotificationType {
            name: "dns_cleanup".into(),
            level: "warning".into(),
            audience: "tenant".into(),
            message: "DNS records of %{subject} removed".into(),
            expires_in: 3600,
        };
        types.add(mine.clone()).unwrap();
        assert_eq!(types.get("dns_cleanup"), Some(&mine));
        let bad = NotificationType {
            level: "loud".into(),
            ..mine
        };
        assert!(types
            .add(bad)
            .unwrap_err()
            .to_string()
            .contains("level \"loud\""));
    }

    #[test]
    fn the_automate_types_are_seeded() {
        assert!(is_seeded_notification_type("automate_user_error"));
        assert!(is_seeded_notification_type("automate_global_success"));
        assert!(is_seeded_notification_type("automate_tenant_warning"));
        assert!(!is_seeded_notification_type("automate_user_warn"));
        assert!(!is_seeded_notification_type("automate_group_info"));
        assert!(is_seeded_notification_type("vm_retired"));
        assert!(is_seeded_notification_type("service_retiring"));
        assert!(!is_seeded_notification_type("service_exploded"));
    }
}
