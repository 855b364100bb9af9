//! Password attribute values, readable only through an explicit `decrypt`, the masking of
//! secrets in any text (ManageIQ's `ManageIQ::Password.sanitize_string`), and, with the
//! appliance's key ([`V2Key`]), ManageIQ's `v2:{…}` encryption.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

mod v2;

pub use v2::{is_encrypted, InvalidKey, KeyFileError, PasswordError, V2Key, ALGORITHM};

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

    /// The text it was made with, as `$evm.object.decrypt(attr)` gives it without a key.
    pub fn decrypt(&self) -> &str {
        &self.0
    }

    /// `$evm.object.decrypt(attr)` with the appliance's key, as `MiqAePassword.new(text)`
    /// then `decrypt` on the appliance: text that [`is_encrypted`] (`v2:{…}`) is decrypted
    /// with the key (a bogus one is a [`PasswordError`]); other text is the plaintext.
    /// Without a key, the text as it is.
    pub fn decrypt_with(&self, key: Option<&V2Key>) -> Result<Cow<'_, str>, PasswordError> {
        match key {
            Some(key) if is_encrypted(&self.0) => key.decrypt(&self.0).map(Cow::Owned),
            _ => Ok(Cow::Borrowed(&self.0)),
        }
    }

    /// [`Password::decrypt_with`] as bytes: decrypted plaintext that is not UTF-8 is given
    /// as it is, as the gem gives it (a Ruby String tagged UTF-8).
    pub fn decrypt_bytes_with(&self, key: Option<&V2Key>) -> Result<Cow<'_, [u8]>, PasswordError> {
        match key {
            Some(key) if is_encrypted(&self.0) => key.decrypt_bytes(&self.0).map(Cow::Owned),
            _ => Ok(Cow::Borrowed(self.0.as_bytes())),
        }
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

static ENCRYPTED: LazyLock<Regex> = LazyLock::new(|| {
    // `v2:{…}` and its URL-encoded form `v2%3A%7B…%7D` (any key version digit).
    Regex::new(r"v\d+:\{[^}]*\}|v\d+%3[Aa]%7[Bb].*?%7[Dd]").expect("valid regex")
});

static PASSWORD_ARG: LazyLock<Regex> = LazyLock::new(|| {
    // A typed `password::` argument, also URL-encoded (`password%3A%3A`), any case.
    Regex::new(r"(?i)password(?:::|%3A%3A)").expect("valid regex")
});

/// Replaces every secret in a message or log line with `********`: encrypted tokens
/// (`v2:{…}`, also URL-encoded), the value of every `password::` argument (also
/// URL-encoded), up to the next `&`, whitespace or quote, the password of a URL's userinfo
/// (`https://user:********@host`), the credentials of an `Authorization: Basic|Bearer …`
/// header, and the value of a `password=…`, `password: …` or `"password"=>"…"` pair (a
/// quoted value up to its closing quote).
///
/// This is the one masking function: log lines, every [`AeError`](crate::AeError) message
/// and the Ruby bindings' error messages go through it. Text that is a URI or a query is
/// masked with [`sanitize_uri`] before it is quoted into a message.
pub fn sanitize(message: &str) -> String {
    mask(message, |c| {
        c == '&' || c == '"' || c == '\'' || c == '\x1F' || c.is_whitespace()
    })
}

/// [`sanitize`] for the text of a URI or a query, before it is quoted or escaped into a
/// message: a `password::` argument's value runs to the next `&`, as `query_to_hash` splits
/// it (so a value with spaces, quotes or non-ASCII characters is masked whole).
pub fn sanitize_uri(uri: &str) -> String {
    mask(uri, |c| c == '&')
}

fn mask(text: &str, ends_value: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for found in PASSWORD_ARG.find_iter(text) {
        if found.start() < copied || !starts_argument(&text[..found.start()]) {
            continue;
        }
        let rest = &text[found.end()..];
        let region = &rest[..rest.find(&ends_value).unwrap_or(rest.len())];
        let before = &text[..found.start()];
        // `password::name=value` as an argument keeps its name; as an `Array::` element
        // (`x=password::value`, after `\x1F` or `%1F`) everything after `::` is the value.
        let tail = &before.as_bytes()[before.len().saturating_sub(3)..];
        let element = before.ends_with(['=', '\x1F']) || tail.eq_ignore_ascii_case(b"%1f");
        let keep = match region.find('=') {
            Some(i) if !element => i + 1,
            _ => 0,
        };
        out.push_str(&text[copied..found.end()]);
        out.push_str(&region[..keep]);
        if keep < region.len() {
            out.push_str(MASK);
        }
        copied = found.end() + region.len();
    }
    out.push_str(&text[copied..]);
    let out = ENCRYPTED.replace_all(&out, MASK);
    let out = USERINFO.replace_all(&out, format!("${{1}}{MASK}@"));
    let out = AUTHORIZATION.replace_all(&out, format!("${{1}}{MASK}"));
    mask_pairs(&out)
}

static USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    // `scheme://user:pass@` (the password runs to the last `@` before the host); also
    // `scheme:/user:pass@`, as a URL reads once a URI's path has its `//` collapsed.
    Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*:/{1,2}[^\s/?#@:]*:)[^\s/?#]*@").expect("valid regex")
});

static AUTHORIZATION: LazyLock<Regex> = LazyLock::new(|| {
    // `Authorization: Basic …`, `"Authorization"=>"Bearer …"`, `authorization=Token …`.
    Regex::new(
        r#"(?i)(authorization["']?\s*(?:=>|:|=)\s*["']?(?:(?:basic|bearer|token|digest|negotiate)\s+)?)[^\s"',&;}]+"#,
    )
    .expect("valid regex")
});

static PASSWORD_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    // `password=…`, `password: …`, `"password"=>"…"`, `"db_password":"…"` (any case).
    Regex::new(r#"(?i)password(["']?)\s*(=>|:|=)\s*(["']?)"#).expect("valid regex")
});

/// Masks the value of every `password=…` / `password: …` pair; a `password::` argument
/// (already masked by [`mask`]) is not a pair.
fn mask_pairs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for caps in PASSWORD_PAIR.captures_iter(text) {
        let whole = caps.get(0).expect("match");
        if whole.start() < copied {
            continue;
        }
        let after = &text[whole.end()..];
        if &caps[2] == ":" && caps[1].is_empty() && caps[3].is_empty() && after.starts_with(':') {
            continue;
        }
        let len = match caps[3].chars().next() {
            // a quoted value runs to its closing quote
            Some(q) => after.find(q).unwrap_or(after.len()),
            None => after
                .find(|c: char| c.is_whitespace() || "&\"',;})]\x1F".contains(c))
                .unwrap_or(after.len()),
        };
        if len == 0 {
            continue;
        }
        out.push_str(&text[copied..whole.end()]);
        out.push_str(MASK);
        copied = whole.end() + len;
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether `password::` after `before` can be a typed argument: not inside a Ruby constant
/// path (`ManageIQ::Password::PasswordError`) or a longer name (`MiqPassword::`), which an
/// argument never is (it follows `?`, `&`, `=`, a separator, or an escape such as `%1F`).
fn starts_argument(before: &str) -> bool {
    let bytes = before.as_bytes();
    let escaped = bytes.len() >= 3
        && bytes[bytes.len() - 3] == b'%'
        && bytes[bytes.len() - 2..].iter().all(u8::is_ascii_hexdigit);
    match bytes.last() {
        None => true,
        Some(b':') => false,
        Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => escaped,
        Some(_) => true,
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

    #[test]
    fn encrypted_tokens_are_masked_plain_and_url_encoded() {
        assert_eq!(
            sanitize("pw=v2:{c2VjcmV0} and v1:{abc}"),
            "pw=******** and ********"
        );
        assert_eq!(
            sanitize("url?pw=v2%3A%7Bc2VjcmV0%7D&x=1"),
            "url?pw=********&x=1"
        );
        assert_eq!(sanitize("nothing secret"), "nothing secret");
    }

    // Issue 10: a `password::` argument's value is masked wherever a URI is quoted.
    #[test]
    fn password_arguments_are_masked() {
        assert_eq!(
            sanitize_uri("/A/B/C?password::pw=Top Secret\"1&x=1#f"),
            "/A/B/C?password::pw=********&x=1#f"
        );
        assert_eq!(
            sanitize("instantiate failed : bad [/A?Password::pw=TopSecret1&x=1]"),
            "instantiate failed : bad [/A?Password::pw=********&x=1]"
        );
        assert_eq!(
            sanitize("url /A?password%3A%3Apw=TopSecret1 done"),
            "url /A?password%3A%3Apw=******** done"
        );
        assert_eq!(
            sanitize_uri("/A?Array::l=password::TopSecret1%1Finteger::3&b=2"),
            "/A?Array::l=password::********&b=2"
        );
        assert_eq!(
            sanitize_uri("/A?Array::l=a%1Fpassword::x=TopSecret1&b=2"),
            "/A?Array::l=a%1Fpassword::********&b=2"
        );
        // masking twice changes nothing; an empty value has nothing to mask
        let once = sanitize_uri("/A?password::pw=TopSecret1");
        assert_eq!(sanitize(&sanitize_uri(&once)), once);
        assert_eq!(sanitize("a password:: datatype"), "a password:: datatype");
        assert_eq!(sanitize_uri("/A?password::pw="), "/A?password::pw=");
        assert_eq!(
            sanitize_uri("/A?password::pw=v2:{abc}"),
            "/A?password::pw=********"
        );
    }

    // Issue 21: URL userinfo, Authorization headers and password pairs.
    #[test]
    fn userinfo_headers_and_password_pairs_are_masked() {
        assert_eq!(
            sanitize("GET https://admin:smart@vm@host:3000/api done"),
            "GET https://admin:********@host:3000/api done"
        );
        assert_eq!(sanitize("http://host/a:b@c"), "http://host/a:b@c");
        assert_eq!(
            sanitize("[miqaedb:/ns/C?user=http:/bob:hunter2@dns.example.com/#create]"),
            "[miqaedb:/ns/C?user=http:/bob:********@dns.example.com/#create]",
            "a URL whose `//` a URI path collapsed"
        );
        assert_eq!(
            sanitize("miqaedb:/ns/Class/i#create"),
            "miqaedb:/ns/Class/i#create"
        );
        assert_eq!(
            sanitize("Authorization: Basic YWRtaW46c21hcnR2bQ== next"),
            "Authorization: Basic ******** next"
        );
        assert_eq!(
            sanitize(r#"{"Authorization"=>"Bearer abc.def"}"#),
            r#"{"Authorization"=>"Bearer ********"}"#
        );
        assert_eq!(sanitize("password=Sec1 x"), "password=******** x");
        assert_eq!(sanitize("DB_PASSWORD: Sec1, y"), "DB_PASSWORD: ********, y");
        assert_eq!(
            sanitize(r#"{"password"=>"Top Secret9", "a"=>1}"#),
            r#"{"password"=>"********", "a"=>1}"#
        );
        assert_eq!(
            sanitize(r#"{"password":"x y"}"#),
            r#"{"password":"********"}"#
        );
        assert_eq!(
            sanitize("/A?password::pw=S1 z"),
            "/A?password::pw=******** z"
        );
        let line = "ManageIQ::Password::PasswordError: bad";
        assert_eq!(sanitize(line), line);
        let once = sanitize("https://u:p@h password=x Authorization: Bearer t");
        assert_eq!(sanitize(&once), once);
    }

    // Issue 19: the class names of the password gem are not arguments.
    #[test]
    fn password_class_names_are_not_masked() {
        let line = "ManageIQ::Password::PasswordError: cannot decrypt encrypted string";
        assert_eq!(sanitize(line), line);
        assert_eq!(sanitize("MiqPassword::X y"), "MiqPassword::X y");
        assert_eq!(sanitize("a=Password::b c"), "a=Password::******** c");
        assert_eq!(
            sanitize_uri("/A?x=1&password%3A%3Apw=s&Array::l=a%1fpassword::t"),
            "/A?x=1&password%3A%3Apw=********&Array::l=a%1fpassword::********"
        );
    }
}
