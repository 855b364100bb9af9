//! Property tests: URI and query round trips, and substitution never panicking.

use miq_automate_core::substitution::{null_coalesce, substitute};
use miq_automate_core::uri::{hash_to_query, join, query_to_hash, Uri};
use miq_automate_core::{AeObject, ObjectId, Value, Workspace};
use proptest::prelude::*;

fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.~-][A-Za-z0-9_.~!$&'()*+,;=:@-]{0,12}"
}

proptest! {
    #[test]
    fn uri_split_join_round_trip(
        segments in prop::collection::vec(segment(), 1..6),
        query in prop::option::of("[A-Za-z0-9=&_.-]{0,20}"),
        fragment in prop::option::of("[A-Za-z0-9_]{1,10}"),
    ) {
        let path = format!("/{}", segments.join("/"));
        let text = join(Some("miqaedb"), Some(&path), None, query.as_deref(), fragment.as_deref());
        let uri = Uri::split(&text, "miqaews").unwrap();
        prop_assert_eq!(&uri.scheme, "miqaedb");
        prop_assert_eq!(uri.path.as_deref(), Some(path.as_str()));
        prop_assert_eq!(uri.query.as_deref(), query.as_deref());
        prop_assert_eq!(uri.fragment.as_deref(), fragment.as_deref());
        prop_assert_eq!(uri.join(), text);
    }

    #[test]
    fn split_never_panics(text in "\\PC{0,60}") {
        let _ = Uri::split(&text, "miqaedb");
        let _ = Uri::parse_for_instantiate(&text);
    }

    #[test]
    fn query_round_trip(pairs in prop::collection::btree_map("\\PC{0,12}", "\\PC{0,12}", 0..8)) {
        let args: Vec<(String, Value)> = pairs.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        let query = hash_to_query(&args).unwrap_or_default();
        let back = query_to_hash(&query).unwrap();
        prop_assert_eq!(back.len(), pairs.len());
        for (k, v) in &pairs {
            prop_assert_eq!(back.get(k), Some(v));
        }
    }

    #[test]
    fn substitution_never_panics(text in "(\\$\\{[^}]{0,20}\\}|[^$]{0,10}|\\|\\|){0,6}") {
        let mut ws = Workspace::with_root([("a", Value::from("x"))]);
        let child = ws.add_object(Some(ObjectId(0)), AeObject::new(Some("D/N"), Some("C"), Some("I"), "create"));
        ws.push_current(child, Some("m"));
        let _ = substitute(&mut ws, &text);
        let _ = null_coalesce(&mut ws, Some(&text), None);
    }

    #[test]
    fn instantiate_never_panics(text in "\\PC{0,60}") {
        let mut ws = Workspace::new();
        let _ = ws.instantiate(&text);
    }
}
