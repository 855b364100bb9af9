//! Password attribute values: readable only through an explicit `decrypt`.

use std::fmt;

/// What a password attribute reads as, everywhere but `decrypt`.
pub const MASK: &str = "********";

/// A secret attribute value (ManageIQ's `password` datatype).
///
/// Debug and Display print [`MASK`]; only [`Password::decrypt`] gives the plaintext,
/// so a secret cannot reach a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Password(String);

impl Password {
    /// Wraps a plaintext secret.
    pub fn new(plaintext: impl Into<String>) -> Self {
        Password(plaintext.into())
    }

    /// The plaintext, as `$evm.object.decrypt(attr)` gives it.
    pub fn decrypt(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password({MASK})")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let p = Password::new("s3cret");
        assert_eq!(format!("{p}"), MASK);
        assert!(!format!("{p:?}").contains("s3cret"));
        assert_eq!(p.decrypt(), "s3cret");
    }
}
