//! Issue 21: every secret form, inside every container, is masked by `sanitize` (and by the
//! log line and URI paths built on it).

use miq_automate_core::log::{method_line, sanitize, sanitize_uri};
use proptest::prelude::*;

/// The ways a secret is stated: a typed argument, a pair, a URL's userinfo, a header, a token.
fn forms(secret: &str) -> Vec<String> {
    vec![
        format!("password::pw={secret}"),
        format!("Password%3A%3Apw={secret}"),
        format!("password={secret}"),
        format!("password: {secret}"),
        format!("db_password={secret}"),
        format!("\"password\"=>\"{secret}\""),
        format!("\"password\":\"{secret}\""),
        format!("https://admin:{secret}@host:3000/api"),
        format!("Authorization: Basic {secret}"),
        format!("Authorization: Bearer {secret}"),
        format!("\"Authorization\"=>\"Bearer {secret}\""),
        format!("v2:{{{secret}}}"),
    ]
}

/// The texts a form ends up in: a Hash under any key, an Array, a URL, a header, a to_s.
fn containers(key: &str, form: &str) -> Vec<String> {
    vec![
        form.to_string(),
        format!("{{\"{key}\"=>{form}, \"n\"=>1}}"),
        format!("[1, {form}, nil]"),
        format!("/Dom/Ns/Class/inst?x=1&{form}&y=2"),
        format!("X-Info: {form}\r\nAccept: */*"),
        format!("#<Conn {form}>"),
        format!("error: could not connect ({form}): refused"),
    ]
}

proptest! {
    #[test]
    fn a_secret_never_survives_sanitize(
        secret in "SeCr[A-Za-z0-9]{4,16}",
        key in "[a-z_]{1,10}",
    ) {
        for form in forms(&secret) {
            for text in containers(&key, &form) {
                for out in [sanitize(&text), sanitize_uri(&text), method_line(Some("m"), &text)] {
                    prop_assert!(!out.contains(&secret), "{text:?} -> {out:?}");
                    // masking is stable
                    prop_assert_eq!(sanitize(&out), out.clone());
                }
            }
        }
    }
}
