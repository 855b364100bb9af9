//! Automate URIs as `MiqAeUri` splits and joins them, and the argument query strings
//! (`hash2query` / `query2hash`).
//!
//! `split` collapses every run of `/` anywhere in the text, then strips surrounding
//! whitespace, then parses per RFC 3986. The scheme is validated (and the message taken from
//! the fragment) only when an instance is instantiated: see [`Uri::parse_for_instantiate`].

use indexmap::IndexMap;
use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};

use crate::error::AeError;
use crate::log::sanitize_uri;
use crate::ruby::{ruby_dump, ruby_inspect_str, ruby_strip};
use crate::value::Value;

/// Schemes the engine accepts (case-insensitive).
pub const SUPPORTED_SCHEMES: [&str; 6] = [
    "miqae",
    "miqaedb",
    "miqaews",
    "miqaemethod",
    "method",
    "miqpeca",
];

/// The default scheme of `MiqAeUri.split` (workspace lookups, substitution).
pub const DEFAULT_SCHEME: &str = "miqaews";

/// The default scheme of `instantiate` (datastore instances).
pub const INSTANTIATE_SCHEME: &str = "miqaedb";

/// The message an instance gets when the URI has no fragment.
pub const DEFAULT_MESSAGE: &str = "create";

/// The parts of an automate URI. Authority parts are never present: slash collapsing makes
/// `miqaedb://host/x` the path `/host/x`, as in the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    /// Lowercased scheme (`miqae` is read as `miqaews`).
    pub scheme: String,
    /// The path, absent for an opaque URI such as `miqaedb:A/EVM`.
    pub path: Option<String>,
    /// The opaque part of a rootless URI (with its query, if any).
    pub opaque: Option<String>,
    /// The raw (still escaped) query.
    pub query: Option<String>,
    /// The raw fragment, case kept.
    pub fragment: Option<String>,
}

impl Uri {
    /// Splits `uri` as `MiqAeUri.split(uri, default_scheme)` does.
    pub fn split(uri: &str, default_scheme: &str) -> Result<Uri, AeError> {
        let collapsed = collapse_slashes(uri);
        let text = ruby_strip(&collapsed);
        if !text.is_ascii() {
            return Err(AeError::InvalidPathFormat(format!(
                "URI must be ascii only {}",
                ruby_dump(&sanitize_uri(text))
            )));
        }
        let bad = || {
            AeError::InvalidPathFormat(format!(
                "bad URI(is not URI?): {}",
                ruby_inspect_str(&sanitize_uri(text))
            ))
        };

        let (scheme, rest) = match scheme_prefix(text) {
            Some(end) => (Some(&text[..end]), &text[end + 1..]),
            None => (None, text),
        };
        let (before_fragment, fragment) = match rest.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (rest, None),
        };
        if let Some(f) = fragment {
            if !f.bytes().all(|c| is_pchar(c) || c == b'?' || c == b'/') || !valid_percent(f) {
                return Err(bad());
            }
        }
        let (path_part, query) = match before_fragment.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (before_fragment, None),
        };
        if !path_part.bytes().all(|c| is_pchar(c) || c == b'/') || !valid_percent(path_part) {
            return Err(bad());
        }
        let rootless = !path_part.is_empty() && !path_part.starts_with('/');
        let (path, opaque, query) = match scheme {
            Some(_) if rootless => {
                let opaque = match query {
                    Some(q) => format!("{path_part}?{q}"),
                    None => path_part.to_string(),
                };
                (None, Some(opaque), None)
            }
            _ => {
                // A relative reference may not have a colon in its first segment.
                if scheme.is_none() && path_part.split('/').next().is_some_and(|s| s.contains(':'))
                {
                    return Err(bad());
                }
                (Some(path_part.to_string()), None, query.map(str::to_string))
            }
        };
        let mut scheme = scheme.unwrap_or(default_scheme).to_ascii_lowercase();
        if scheme == "miqae" {
            scheme = "miqaews".into();
        }
        Ok(Uri {
            scheme,
            path,
            opaque,
            query,
            fragment: fragment.map(str::to_string),
        })
    }

    /// Splits and validates a URI as `instantiate` does: default scheme `miqaedb`, the scheme
    /// must be supported, and there must be a path.
    pub fn parse_for_instantiate(uri: &str) -> Result<Uri, AeError> {
        let parsed = Uri::split(uri, INSTANTIATE_SCHEME)?;
        if !is_supported_scheme(&parsed.scheme) {
            return Err(AeError::InvalidPathFormat(format!(
                "Unsupported Scheme [{}]",
                parsed.scheme
            )));
        }
        if parsed.path.is_none() {
            return Err(AeError::InvalidPathFormat(format!(
                "Invalid URI <{}>",
                sanitize_uri(&collapse_slashes(uri))
            )));
        }
        Ok(parsed)
    }

    /// The message the instance receives: the fragment lowercased, or `create` when blank.
    pub fn message(&self) -> String {
        match &self.fragment {
            Some(f) if !f.trim().is_empty() => f.to_lowercase(),
            _ => DEFAULT_MESSAGE.to_string(),
        }
    }

    /// The query's arguments (`query2hash`), empty without a query.
    pub fn args(&self) -> Result<IndexMap<String, String>, AeError> {
        query_to_hash(self.query.as_deref().unwrap_or(""))
    }

    /// Joins the parts back into a URI string (`MiqAeUri.join`).
    pub fn join(&self) -> String {
        join(
            Some(&self.scheme),
            self.path.as_deref(),
            self.opaque.as_deref(),
            self.query.as_deref(),
            self.fragment.as_deref(),
        )
    }
}

/// `true` when the engine supports `scheme` (case-insensitive).
pub fn is_supported_scheme(scheme: &str) -> bool {
    SUPPORTED_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

/// Replaces every run of `/` with a single `/`.
pub fn collapse_slashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_slash = false;
    for c in text.chars() {
        if c == '/' {
            if !previous_slash {
                out.push(c);
            }
            previous_slash = true;
        } else {
            out.push(c);
            previous_slash = false;
        }
    }
    out
}

/// Joins URI parts as `MiqAeUri.join` does: `scheme:` + path (or opaque) + `?query` +
/// `#fragment`, escaping the query and fragment as Ruby's URI setters do.
pub fn join(
    scheme: Option<&str>,
    path: Option<&str>,
    opaque: Option<&str>,
    query: Option<&str>,
    fragment: Option<&str>,
) -> String {
    let mut out = String::new();
    if let Some(s) = scheme {
        out.push_str(&s.to_ascii_lowercase());
        out.push(':');
    }
    out.push_str(path.or(opaque).unwrap_or(""));
    if let Some(q) = query {
        out.push('?');
        out.push_str(&escape(q, QUERY));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&escape(f, FRAGMENT));
    }
    out
}

/// Joins with a Hash of arguments as the query (`MiqAeUri.join` given a Hash).
pub fn join_with_args(
    scheme: Option<&str>,
    path: &str,
    args: &[(String, Value)],
    fragment: Option<&str>,
) -> String {
    let query = hash_to_query(args);
    join(scheme, Some(path), None, query.as_deref(), fragment)
}

/// `MiqAeUri.hash2query`: keys sorted byte-wise, nil values dropped, keys and values
/// URL-encoded (space as `%20`); service models give their id. `None` for an empty hash.
pub fn hash_to_query(args: &[(String, Value)]) -> Option<String> {
    if args.is_empty() {
        return None;
    }
    let mut sorted: Vec<&(String, Value)> = args.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let pairs: Vec<String> = sorted
        .into_iter()
        .filter(|(_, v)| !matches!(v, Value::Nil))
        .map(|(k, v)| {
            let text = match v {
                Value::ServiceModel(r) => r.id.to_string(),
                other => other.to_ruby_s(),
            };
            format!("{}={}", url_encode(k), url_encode(&text))
        })
        .collect();
    Some(pairs.join("&"))
}

/// `MiqAeUri.query2hash`: splits on `&`, takes `key=value` (only the first `=` counts, a
/// missing value is `""`), unescapes both (`+` is a space). Later duplicates win.
///
/// Differs on purpose: an empty piece (`a=1&&b=2`) crashes the engine with a Ruby
/// TypeError; here it is an [`AeError::InvalidPathFormat`] naming the query.
pub fn query_to_hash(query: &str) -> Result<IndexMap<String, String>, AeError> {
    let mut hash = IndexMap::new();
    let mut pieces: Vec<&str> = query.split('&').collect();
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    for piece in pieces {
        if piece.is_empty() {
            return Err(AeError::InvalidPathFormat(format!(
                "empty argument in query [{}]",
                sanitize_uri(query)
            )));
        }
        let mut fields = piece.split('=');
        let key = fields.next().unwrap_or("");
        let value = fields.next().unwrap_or("");
        hash.insert(cgi_unescape(key), cgi_unescape(value));
    }
    Ok(hash)
}

/// `ERB::Util.url_encode`: every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`.
pub fn url_encode(text: &str) -> String {
    escape(text, URL_ENCODE)
}

/// `CGI.unescape`: `+` → space, `%HH` decoded, a malformed `%` kept.
pub fn cgi_unescape(text: &str) -> String {
    // `+` first, so that an escaped plus (`%2B`) stays a plus.
    let plus_as_space = text.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8_lossy()
        .into_owned()
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    let h = (a as char).to_digit(16)?;
    let l = (b as char).to_digit(16)?;
    Some((h * 16 + l) as u8)
}

/// What `ERB::Util.url_encode` escapes: all but `A-Z a-z 0-9 - . _ ~`.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What Ruby's `URI#query=` escapes: controls, space, `"`, `#`, `'`, `<`, `>` and `` ` ``.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'\'')
    .add(b'<')
    .add(b'>')
    .add(b'`');

/// What Ruby's `URI#fragment=` escapes: controls and space.
const FRAGMENT: &AsciiSet = &CONTROLS.add(b' ');

/// `%XX` (uppercase) for every byte in `set` and every non-ASCII byte; tabs and line breaks
/// are dropped rather than escaped.
fn escape(text: &str, set: &'static AsciiSet) -> String {
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    utf8_percent_encode(&text, set).to_string()
}

/// RFC 3986 pchar without `/`: unreserved, sub-delims, `:`, `@`, and `%` (checked apart).
fn is_pchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b)
}

fn valid_percent(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%' || (i + 2 < bytes.len() && hex_pair(bytes[i + 1], bytes[i + 2]).is_some())
    })
}

/// The index of the `:` ending a scheme (`[A-Za-z][A-Za-z0-9+.-]*:`), if the text starts with one.
fn scheme_prefix(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.first()?.is_ascii_alphabetic() {
        return None;
    }
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if b == b':' {
            return Some(i);
        }
        if !(b.is_ascii_alphanumeric() || b"+.-".contains(&b)) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // miq_ae_uri_spec.rb: "trim URI before parsing" and "remove extra slashes".
    #[test]
    fn split_strips_and_collapses_slashes() {
        for text in [
            "/Cloud/VM/StateMachines/Sample  ",
            "//Cloud//VM/StateMachines//Sample  ",
        ] {
            let uri = Uri::split(text, DEFAULT_SCHEME).unwrap();
            assert_eq!(uri.path.as_deref(), Some("/Cloud/VM/StateMachines/Sample"));
            assert_eq!(uri.scheme, "miqaews");
        }
    }

    #[test]
    fn split_parts_and_scheme_rules() {
        let uri = Uri::split("miqaedb:/A/B/C?x=1&y=2#Create", DEFAULT_SCHEME).unwrap();
        assert_eq!(uri.scheme, "miqaedb");
        assert_eq!(uri.path.as_deref(), Some("/A/B/C"));
        assert_eq!(uri.query.as_deref(), Some("x=1&y=2"));
        assert_eq!(uri.fragment.as_deref(), Some("Create"));
        assert_eq!(uri.message(), "create");
        assert_eq!(
            Uri::split("MIQAE:/A/B", "miqaedb").unwrap().scheme,
            "miqaews"
        );
        assert_eq!(
            Uri::split("miqaedb://A//B", "x").unwrap().path.as_deref(),
            Some("/A/B")
        );
        let opaque = Uri::split("miqaedb:A/EVM", "x").unwrap();
        assert_eq!(opaque.path, None);
        assert_eq!(opaque.opaque.as_deref(), Some("A/EVM"));
        let q = Uri::split("/A/B?x=a b", "miqaedb").unwrap();
        assert_eq!(q.query.as_deref(), Some("x=a b"));
    }

    #[test]
    fn message_is_lowercased_fragment_or_create() {
        let m = |u: &str| Uri::split(u, "miqaedb").unwrap().message();
        assert_eq!(m("/A/B/C#Get_Info"), "get_info");
        assert_eq!(m("/A/B/C"), "create");
        assert_eq!(m("/A/B/C#"), "create");
    }

    // miq_ae_engine_spec.rb: invalid schemes and paths raise InvalidPathFormat.
    #[test]
    fn instantiate_validation_errors() {
        assert_eq!(
            Uri::parse_for_instantiate("abc:A/EVM").unwrap_err(),
            AeError::InvalidPathFormat("Unsupported Scheme [abc]".into())
        );
        assert_eq!(
            Uri::parse_for_instantiate("miqaedb:A/EVM").unwrap_err(),
            AeError::InvalidPathFormat("Invalid URI <miqaedb:A/EVM>".into())
        );
        assert_eq!(
            Uri::split("/a b/c", "miqaedb").unwrap_err(),
            AeError::InvalidPathFormat("bad URI(is not URI?): \"/a b/c\"".into())
        );
        assert_eq!(
            Uri::split("/a/\u{e9}", "miqaedb").unwrap_err(),
            AeError::InvalidPathFormat("URI must be ascii only \"/a/\\u00E9\"".into())
        );
        assert!(Uri::split("/a/b#x#y", "miqaedb").is_err());
        assert!(Uri::split("/a/%zz", "miqaedb").is_err());
        assert_eq!(
            Uri::parse_for_instantiate("/A/B/C").unwrap().scheme,
            "miqaedb"
        );
    }

    // Issue 10: errors that quote a URI or a query never show a password argument.
    #[test]
    fn errors_quoting_a_uri_mask_password_arguments() {
        let cases = [
            Uri::split("/A/B/C?password::pw=TopSecret1&x=\u{20ac}", "miqaedb").unwrap_err(),
            Uri::split("/A B/C?password::pw=Top#Secret1#x", "miqaedb").unwrap_err(),
            Uri::parse_for_instantiate("miqaedb:A/B?password::pw=TopSecret1").unwrap_err(),
            query_to_hash("password::pw=TopSecret1&&x=1").unwrap_err(),
            query_to_hash("password%3A%3Apw=TopSecret1&&x=1").unwrap_err(),
        ];
        for err in cases {
            let AeError::InvalidPathFormat(raw) = &err else {
                panic!("{err:?}")
            };
            assert!(!raw.contains("TopSecret1"), "{raw}");
            assert!(!raw.contains("Secret1"), "{raw}");
            assert!(raw.contains("pw=********"), "{raw}");
        }
        assert_eq!(
            Uri::split("/A/B/C?password::pw=TopSecret1&x=\u{20ac}", "miqaedb")
                .unwrap_err()
                .to_string(),
            "URI must be ascii only \"/A/B/C?password::pw=********&x=\\u20AC\""
        );
        assert_eq!(
            query_to_hash("password::pw=TopSecret1&&x=1")
                .unwrap_err()
                .to_string(),
            "empty argument in query [password::pw=********&&x=1]"
        );
    }

    // miq_ae_uri_spec.rb: "converts hash queries".
    #[test]
    fn hash2query_sorts_and_round_trips() {
        let cases = [
            (
                "environment=dev&message=get_container_info&request=UI_PROVISION_INFO",
                vec![
                    ("request", "UI_PROVISION_INFO"),
                    ("message", "get_container_info"),
                    ("environment", "dev"),
                ],
            ),
            (
                "message=get_lease_times&request=UI_PROVISION_INFO",
                vec![
                    ("request", "UI_PROVISION_INFO"),
                    ("message", "get_lease_times"),
                ],
            ),
        ];
        for (query, pairs) in cases {
            let args: Vec<(String, Value)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect();
            assert_eq!(hash_to_query(&args).as_deref(), Some(query));
            let back = query_to_hash(query).unwrap();
            for (k, v) in pairs {
                assert_eq!(back[k], v);
            }
        }
    }

    // miq_ae_uri_spec.rb: "escape non-ASCII Numeric characters".
    #[test]
    fn hash2query_escapes_like_erb_url_encode() {
        let args = vec![(
            "test://dev?lab$".to_string(),
            Value::from("OU=serverbuildingtest, OU=dev2"),
        )];
        let q = hash_to_query(&args).unwrap();
        assert_eq!(
            q,
            "test%3A%2F%2Fdev%3Flab%24=OU%3Dserverbuildingtest%2C%20OU%3Ddev2"
        );
        let back = query_to_hash(&q).unwrap();
        assert_eq!(back["test://dev?lab$"], "OU=serverbuildingtest, OU=dev2");
    }

    #[test]
    fn hash2query_drops_nil_and_sorts_uppercase_first() {
        let args = vec![
            ("b".to_string(), Value::Nil),
            ("a".to_string(), Value::Integer(5)),
            ("Z".to_string(), Value::Bool(true)),
        ];
        assert_eq!(hash_to_query(&args).as_deref(), Some("Z=true&a=5"));
        assert_eq!(hash_to_query(&[]), None);
        assert_eq!(
            hash_to_query(&[("x".into(), Value::Nil)]).as_deref(),
            Some("")
        );
    }

    #[test]
    fn query2hash_edge_cases() {
        let h = query_to_hash("a=b=c&k=&=v&p=a+b%20c&bad=%zz").unwrap();
        assert_eq!(h["a"], "b");
        assert_eq!(h["k"], "");
        assert_eq!(h[""], "v");
        assert_eq!(h["p"], "a b c");
        assert_eq!(h["bad"], "%zz");
        assert!(query_to_hash("").unwrap().is_empty());
        assert!(query_to_hash("a=1&&b=2").is_err());
        assert_eq!(query_to_hash("a=1&").unwrap().len(), 1);
    }

    // miq_ae_engine_spec.rb create_automation_object: join with a Hash query.
    #[test]
    fn join_with_hash_query_matches_engine() {
        let args = vec![
            ("Host::host".to_string(), Value::Integer(5)),
            ("message".to_string(), Value::from("attr_message")),
            ("object_name".to_string(), Value::from("AUTOMATION")),
            ("vmdb_object_type".to_string(), Value::from("host")),
            ("MiqServer::miq_server".to_string(), Value::Integer(7)),
        ];
        assert_eq!(
            join_with_args(None, "/System/Process/AUTOMATION", &args, Some("request_message")),
            "/System/Process/AUTOMATION?Host%3A%3Ahost=5&MiqServer%3A%3Amiq_server=7&message=attr_message&object_name=AUTOMATION&vmdb_object_type=host#request_message"
        );
        let uri = Uri::split("/A/B/C", "miqaedb").unwrap();
        assert_eq!(
            join(
                Some(&uri.scheme),
                uri.path.as_deref(),
                None,
                None,
                Some("create")
            ),
            "miqaedb:/A/B/C#create"
        );
        assert_eq!(
            join(None, Some("/a"), None, Some("x=a b\"#"), Some("f g")),
            "/a?x=a%20b%22%23#f%20g"
        );
    }
}
