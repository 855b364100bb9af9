//! Notifications a method creates (`$evm.create_notification`), and the notification types
//! ManageIQ seeds (the only ones `create_notification!` accepts).

use crate::value::Value;

/// A notification a method created.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The notification type (`automate_user_error`).
    pub kind: String,
    /// The subject (a service model), if given.
    pub subject: Value,
    /// The message, if given.
    pub message: Option<String>,
    /// The options hash as the method passed it.
    pub options: Value,
}

/// Notification types ManageIQ seeds for automate.
pub fn is_seeded_notification_type(kind: &str) -> bool {
    let Some(rest) = kind.strip_prefix("automate_") else {
        return false;
    };
    let Some((audience, level)) = rest.split_once('_') else {
        return false;
    };
    ["user", "tenant", "global"].contains(&audience)
        && ["success", "error", "info", "warning"].contains(&level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automate_types_are_seeded() {
        assert!(is_seeded_notification_type("automate_user_error"));
        assert!(is_seeded_notification_type("automate_global_success"));
        assert!(is_seeded_notification_type("automate_tenant_warning"));
        assert!(!is_seeded_notification_type("automate_user_warn"));
        assert!(!is_seeded_notification_type("automate_group_info"));
        assert!(!is_seeded_notification_type("vm_retired"));
    }
}
