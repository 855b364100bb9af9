//! Shared by the bad-input tests of the core and of the rollback crate (included with
//! `#[path]`): URIs that carry a `password::` argument, and the forms its secret could take
//! in a message.

use miq_automate_core::ruby::{ruby_dump, ruby_inspect_str};
use proptest::prelude::*;

/// The forms a secret could take in a message: as given, as `inspect` and `dump` show it.
pub fn secret_forms(secret: &str) -> Vec<String> {
    let unquote = |s: String| s[1..s.len() - 1].to_string();
    vec![
        secret.to_string(),
        unquote(ruby_inspect_str(secret)),
        unquote(ruby_dump(secret)),
    ]
}

fn password_key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "password::",
            "Password::",
            "PASSWORD%3A%3A",
            "password%3a%3a",
        ]),
        "[a-z_]{1,8}",
    )
        .prop_map(|(prefix, name)| format!("{prefix}{name}"))
}

/// An arbitrary URI with a `password::` argument (plain, or an `Array::` element), and the
/// argument's secret.
pub fn uri_with_password() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec!["", "miqaedb:", "miqaedb://", "abc:", "miqaedb:A"]),
        "(/[A-Za-z0-9 €#]{1,6}){1,4}",
        password_key(),
        // A marker no message has on its own, then anything but `&` (which ends the value).
        "Zq9[^&]{1,20}",
        prop::collection::vec("[a-z]{1,4}=[a-z0-9]{0,4}", 0..3),
        prop::collection::vec("[a-z]{0,4}=?[a-z0-9€ #]{0,4}", 0..3),
        any::<bool>(),
        prop::sample::select(vec!["", "&", "&&x=1", "#frag", "#a#b", "€", " "]),
    )
        .prop_map(
            |(scheme, path, key, secret, before, after, array_element, trailer)| {
                let argument = if array_element {
                    format!("Array::list=a%1F{key}={secret}")
                } else {
                    format!("{key}={secret}")
                };
                let mut query: Vec<String> = before;
                query.push(argument);
                query.extend(after);
                let uri = format!("{scheme}{path}?{}{trailer}", query.join("&"));
                (uri, secret)
            },
        )
}
