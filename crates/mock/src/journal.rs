//! The request journal: every request the mock answered, for assertions.
//! Credentials are never recorded: only the mechanism and the user. Bodies, queries and
//! paths are masked before they are stored: credential-looking keys at any depth and
//! encrypted `v2:{…}` strings read `********`.
//!
//! The masker is the mock's own on purpose, not `miq_automate_core::log::sanitize`: that one
//! also rewrites `password::` arguments inside any text (the journal masks them by key:
//! a query key `password::x` is secret), and its URL-encoded `v2%3A%7B…%7D` stops at a line
//! break where this one does not. Both write the same `********`.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// When it arrived (on the VMDB's clock), ISO 8601.
    pub at: String,
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/api/services/10`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// `basic`, `token`, or none when the request did not authenticate.
    pub auth: Option<String>,
    /// The authenticated user.
    pub user: Option<String>,
    /// The `X-MIQ-Group` header, if sent.
    pub group: Option<String>,
    /// The JSON body, if any (a non-JSON body is recorded as a string).
    pub body: Option<Value>,
    /// The status answered.
    pub status: u16,
    /// The injected fault that answered, if one did (`rule 0`, `rate_limit`).
    pub fault: Option<String>,
}

/// The journal.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<Vec<JournalEntry>>,
}

impl Journal {
    pub fn push(&self, mut e: JournalEntry) {
        let mut v = self.entries.lock();
        e.seq = v.len() as u64 + 1;
        v.push(e);
    }
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.lock().clone()
    }
    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}

/// What a masked value reads.
pub(crate) const MASK: &str = "********";

/// Whether a key (of a JSON body, a query or a form) names a credential: it contains
/// `password`, `passwd`, `secret`, `token`, `apikey`, `credential`, `privatekey` or
/// `authorization`, or is `pwd`, `pass` or `auth`, ignoring case and any `_`, `-` or `.`
/// (`Password`, `auth_token`, `X-Auth-Token`, `API_KEY`, `client_secret`).
pub(crate) fn is_secret_key(key: &str) -> bool {
    const PARTS: [&str; 8] = [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "credential",
        "privatekey",
        "authorization",
    ];
    let k: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    PARTS.iter().any(|p| k.contains(p)) || matches!(k.as_str(), "pwd" | "pass" | "auth")
}

/// A JSON body with the value of every credential-looking key (at any depth) and every
/// encrypted string masked.
pub(crate) fn mask_json(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(&k) {
                        Value::String(MASK.to_owned())
                    } else {
                        mask_json(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(mask_json).collect()),
        Value::String(s) => Value::String(mask_encrypted(&s)),
        other => other,
    }
}

/// A raw query string (or a form-encoded body) with the value of every credential-looking
/// key masked and encrypted strings masked; otherwise exactly as sent.
pub(crate) fn mask_query(raw: &str) -> String {
    // Encrypted strings first, over the whole text: one may hold `&` or `=`.
    mask_encrypted(raw)
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) => {
                let key = url::form_urlencoded::parse(k.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                if is_secret_key(&key) {
                    format!("{k}={MASK}")
                } else {
                    pair.to_owned()
                }
            }
            None => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Replaces every encrypted string, `v2:{…}` (any key version) or its URL-encoded form
/// `v2%3A%7B…%7D`, with [`MASK`].
pub(crate) fn mask_encrypted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, from_v)) = rest.find('v').and_then(|i| rest.split_at_checked(i)) {
        out.push_str(before);
        match encrypted_len(from_v).and_then(|n| from_v.get(n..)) {
            Some(after) => {
                out.push_str(MASK);
                rest = after;
            }
            None => {
                out.push('v');
                rest = from_v.strip_prefix('v').unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length of the encrypted string at the start of `s` (which starts with `v`), if one is.
fn encrypted_len(s: &str) -> Option<usize> {
    let after_v = s.strip_prefix('v')?;
    let digits = after_v.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let head = 1 + digits;
    let tail = after_v.get(digits..)?;
    if let Some(body) = tail.strip_prefix(":{") {
        return body.find('}').map(|end| head + 2 + end + 1);
    }
    let opener = tail.get(..6)?;
    if opener.eq_ignore_ascii_case("%3A%7B") {
        let body = tail.get(6..)?;
        let end = body.to_ascii_uppercase().find("%7D")?;
        return Some(head + 6 + end + 3);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn credential_keys_in_any_case_and_spelling() {
        for k in [
            "password",
            "Password",
            "PASSWD",
            "pwd",
            "token",
            "auth_token",
            "X-Auth-Token",
            "api_key",
            "ApiKey",
            "API_KEY",
            "client_secret",
            "credentials",
            "private_key",
            "Authorization",
            "auth",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "action",
            "name",
            "resources",
            "href",
            "author",
            "description",
            "id",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn json_bodies_are_masked_at_any_depth() {
        let body = json!({
            "action": "edit",
            "password": {"nested": "x"},
            "resources": [{"id": 1, "options": {"Token": 5, "note": "v1:{abc} and v2:{def}"}}],
        });
        assert_eq!(
            mask_json(body),
            json!({
                "action": "edit",
                "password": MASK,
                "resources": [{"id": 1, "options": {"Token": MASK, "note": "******** and ********"}}],
            })
        );
    }

    #[test]
    fn queries_keep_their_form_with_secrets_masked() {
        assert_eq!(
            mask_query("expand=resources&Password=a%20b&x&api%5Fkey=k&n=v2%3a%7bq%7d!"),
            "expand=resources&Password=********&x&api%5Fkey=********&n=********!"
        );
        assert_eq!(mask_query(""), "");
        assert_eq!(mask_query("v2:{x}"), "********");
    }

    #[test]
    fn encrypted_strings_plain_and_url_encoded() {
        assert_eq!(mask_encrypted("pw=v2:{c2VjcmV0} ok"), "pw=******** ok");
        assert_eq!(mask_encrypted("v10:{a}v2:{b}"), "****************");
        assert_eq!(mask_encrypted("v2%3A%7Bc2VjcmV0%7D&x"), "********&x");
        // Not encrypted: no digits, no closing brace, or cut inside a multibyte character.
        for s in [
            "v:{a}",
            "v2:{open",
            "v2%3A%7Bopen",
            "v2%3€",
            "vv€v",
            "€v2:{€}",
        ] {
            let masked = mask_encrypted(s);
            assert!(masked == s || s == "€v2:{€}", "{s} -> {masked}");
        }
        assert_eq!(mask_encrypted("€v2:{€}"), "€********");
    }

    /// Whether an encrypted string starts anywhere in `s`.
    fn has_encrypted(s: &str) -> bool {
        s.char_indices()
            .any(|(i, _)| s.get(i..).and_then(encrypted_len).is_some())
    }

    proptest! {
        #[test]
        fn masking_never_panics_and_leaves_nothing_encrypted(
            s in "([v0-9:{}%3AaBb7Dd€é &=]|v2:\\{|%7D|%3A%7B){0,24}",
        ) {
            let once = mask_encrypted(&s);
            prop_assert!(!has_encrypted(&once), "{:?} -> {:?}", s, once);
            prop_assert_eq!(mask_encrypted(&once), once.clone());
            let q = mask_query(&s);
            prop_assert!(!has_encrypted(&q), "{:?} -> {:?}", s, q);
        }

        #[test]
        fn any_text_masks_without_panicking(s in any::<String>()) {
            let _ = mask_query(&s);
            prop_assert!(!has_encrypted(&mask_encrypted(&s)));
        }

        #[test]
        fn secret_query_values_never_survive(
            key in "(password|Password|auth_token|X-Auth-Token|api_key|client_secret)",
            value in "[A-Za-z0-9]{6,12}",
            other in "[a-z]{1,5}=[a-z0-9]{0,5}",
        ) {
            let masked = mask_query(&format!("{other}&{key}={value}&{other}"));
            prop_assert!(!masked.contains(&value), "{}", masked);
        }
    }
}
