//! Secrets (passwords, tokens) that never reach a log line, an error or a report.

use std::fmt;

/// What a secret prints as.
pub const REDACTED: &str = "[REDACTED]";

/// A password or token. Debug and Display print [`REDACTED`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replaces every occurrence of each secret in `text`, then masks what the project's one
/// masking function masks (`v2:{…}` tokens of any key version, also URL-encoded, and
/// `password::` argument values): [`miq_automate_core::log::sanitize`].
pub fn redact<'a>(text: &str, secrets: impl IntoIterator<Item = &'a Secret>) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if secret.0.len() >= 4 {
            out = out.replace(&secret.0, REDACTED);
        }
    }
    miq_automate_core::log::sanitize(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let token = Secret::new("abcdef123456");
        assert_eq!(format!("{token:?} {token}"), "[REDACTED] [REDACTED]");
        assert_eq!(
            redact("Invalid token abcdef123456 and v2:{xyz} given", [&token]),
            "Invalid token [REDACTED] and ******** given"
        );
        // Any key version and the URL-encoded form, as everywhere else in the project.
        assert_eq!(
            redact("a v1:{abc} b v2%3A%7Bc2VjcmV0%7D c", []),
            "a ******** b ******** c"
        );
    }
}
