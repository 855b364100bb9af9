//! `$evm.create_notification(!)`: the options as ManageIQ reads them, the type checked
//! against the seeded ones, and the notifications a method created.

use crate::error::AeError;
use crate::log::LogLevel;
use crate::notification::{Notification, NotificationType};
use crate::value::Value;

use super::Workspace;

impl Workspace {
    /// `$evm.create_notification!(options)`: options are read by Symbol keys (`:type`,
    /// `:level`, `:audience`, `:subject`, `:message`), as ManageIQ does. The type defaults
    /// to `automate_<audience||user>_<level||info>` and must be one ManageIQ seeds (or one
    /// added with [`Workspace::add_notification_type`]).
    pub fn create_notification_strict(&mut self, options: Value) -> Result<Value, AeError> {
        self.create_notification_named(options, None)
    }

    /// [`Workspace::create_notification_strict`] where the embedder knows the subject's name
    /// (a service model's `name`), which `%{subject}` in the type's message shows.
    pub fn create_notification_named(
        &mut self,
        options: Value,
        subject_name: Option<String>,
    ) -> Result<Value, AeError> {
        let sym = |key: &str| -> Value {
            match &options {
                Value::Hash(pairs) => pairs
                    .iter()
                    .find(|(k, _)| matches!(k, Value::Symbol(s) if s == key))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                _ => Value::Nil,
            }
        };
        let kind = match sym("type") {
            t if !t.is_blank() => t.to_ruby_s(),
            _ => {
                let audience = sym("audience");
                let level = sym("level");
                format!(
                    "automate_{}_{}",
                    if audience.is_truthy() {
                        audience.to_ruby_s()
                    } else {
                        "user".into()
                    },
                    if level.is_truthy() {
                        level.to_ruby_s()
                    } else {
                        "info".into()
                    }
                )
                .to_lowercase()
            }
        };
        self.log_line(
            LogLevel::Info,
            format!("Validating Notification type: {kind}"),
        );
        let Some(ntype) = self.notification_types.get(&kind).cloned() else {
            return Err(AeError::ArgumentError(
                "Invalid notification type specified".into(),
            ));
        };
        let subject = match sym("subject") {
            Value::Nil => self.root_get("user"),
            s => s,
        };
        if !matches!(
            subject,
            Value::Nil | Value::ServiceModel(_) | Value::Foreign(_)
        ) {
            return Err(AeError::ArgumentError(
                "Subject must be a valid Active Record object".into(),
            ));
        }
        let message = sym("message");
        let subject_label = subject_name.or_else(|| match &subject {
            Value::Nil => None,
            Value::ServiceModel(r) => Some(format!("{} {}", r.model, r.id)),
            other => Some(other.to_ruby_s()),
        });
        let notification = Notification {
            kind: kind.clone(),
            level: ntype.level.clone(),
            audience: ntype.audience.clone(),
            text: ntype.render(subject_label.as_deref(), &options),
            subject: subject.clone(),
            message: message.is_truthy().then(|| message.to_ruby_s()),
            options: options.clone(),
        };
        self.notifications.push(notification);
        Ok(Value::Hash(vec![
            (Value::Symbol("type".into()), Value::Symbol(kind)),
            (Value::Symbol("subject".into()), subject),
            (Value::Symbol("message".into()), message),
        ]))
    }

    /// `$evm.create_notification(options)`: like the strict form, but nil on any error.
    pub fn create_notification(&mut self, options: Value) -> Value {
        self.create_notification_strict(options).unwrap_or_default()
    }

    /// Notifications created so far.
    pub fn notifications(&self) -> &[Notification] {
        &self.notifications
    }

    /// Adds (or redefines) a notification type this workspace accepts, beyond ManageIQ's
    /// seeded ones.
    pub fn add_notification_type(&mut self, t: NotificationType) -> Result<(), AeError> {
        self.notification_types.add(t)
    }
}

#[cfg(test)]
mod tests {
    use crate::error::AeError;
    use crate::value::Value;
    use crate::Workspace;

    #[test]
    fn notifications_follow_manageiq_types() {
        let mut ws = Workspace::new();
        let sym = |k: &str| Value::Symbol(k.into());
        let opts = Value::Hash(vec![
            (sym("level"), Value::from("error")),
            (sym("message"), Value::from("boom")),
        ]);
        let n = ws.create_notification(opts);
        assert!(n.is_truthy());
        assert_eq!(ws.notifications()[0].kind, "automate_user_error");
        assert_eq!(ws.notifications()[0].message.as_deref(), Some("boom"));
        let bad = Value::Hash(vec![(sym("level"), Value::from("warn"))]);
        assert_eq!(ws.create_notification(bad.clone()), Value::Nil);
        assert_eq!(
            ws.create_notification_strict(bad).unwrap_err(),
            AeError::ArgumentError("Invalid notification type specified".into())
        );
        // The content's retirement methods create service_retiring with the service.
        let service = Value::ServiceModel(crate::value::ServiceModelRef::new("service", 7));
        let retiring = Value::Hash(vec![
            (sym("type"), sym("service_retiring")),
            (sym("subject"), service),
        ]);
        ws.create_notification_named(retiring, Some("web tier".into()))
            .unwrap();
        let n = ws.notifications().last().unwrap();
        assert_eq!(
            (n.level.as_str(), n.audience.as_str()),
            ("success", "tenant")
        );
        assert_eq!(n.text, "Service web tier has started retirement.");
        assert_eq!(ws.notifications()[0].text, "boom");
        let bad_subject = Value::Hash(vec![(sym("subject"), Value::from("x"))]);
        assert_eq!(
            ws.create_notification_strict(bad_subject).unwrap_err(),
            AeError::ArgumentError("Subject must be a valid Active Record object".into())
        );
    }
}
