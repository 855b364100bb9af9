//! Paging links of a collection read (`offset`, `limit`).

use serde_json::{json, Map, Value};

/// ManageIQ's paging links: self/next/previous/first/last, each the request's URL (`url`:
/// the scheme, host and port the client addressed, and the path) with its query kept and
/// its `offset` replaced (or appended).
pub(crate) fn links(
    url: &str,
    query: Option<&str>,
    offset: usize,
    limit: usize,
    count: usize,
) -> Value {
    let limit = limit.max(1);
    let fmt = |o: usize| -> String {
        let mut pairs = Vec::new();
        let mut replaced = false;
        for pair in query.unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            let is_offset = url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .is_some_and(|(k, _)| k == "offset");
            if !is_offset {
                pairs.push(pair.to_owned());
            } else if !replaced {
                pairs.push(format!("offset={o}"));
                replaced = true;
            }
        }
        if !replaced {
            pairs.push(format!("offset={o}"));
        }
        format!("{url}?{}", pairs.join("&"))
    };
    let mut m = Map::new();
    m.insert("self".into(), json!(fmt(offset)));
    if offset.saturating_add(limit) < count {
        m.insert("next".into(), json!(fmt(offset + limit)));
    }
    if offset > 0 {
        m.insert("previous".into(), json!(fmt(offset.saturating_sub(limit))));
    }
    m.insert("first".into(), json!(fmt(0)));
    m.insert("last".into(), json!(fmt(count - count % limit)));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::MAX_LIMIT;
    use proptest::prelude::*;

    const URL: &str = "http://127.0.0.1:4321/api/services";

    fn link(v: &Value, key: &str) -> Option<String> {
        v.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    #[test]
    fn links_keep_the_query_and_replace_the_offset() {
        let l = links(URL, Some("offset=2&limit=2&sort_by=id"), 2, 2, 7);
        assert_eq!(
            link(&l, "self").unwrap(),
            format!("{URL}?offset=2&limit=2&sort_by=id")
        );
        assert_eq!(
            link(&l, "next").unwrap(),
            format!("{URL}?offset=4&limit=2&sort_by=id")
        );
        assert_eq!(
            link(&l, "previous").unwrap(),
            format!("{URL}?offset=0&limit=2&sort_by=id")
        );
        assert_eq!(
            link(&l, "first").unwrap(),
            format!("{URL}?offset=0&limit=2&sort_by=id")
        );
        assert_eq!(
            link(&l, "last").unwrap(),
            format!("{URL}?offset=6&limit=2&sort_by=id")
        );
        // Appended when absent; an `offset` inside another value is not the parameter.
        let l = links(URL, Some("filter[]=name='offset=2'"), 0, 1000, 3);
        assert_eq!(
            link(&l, "self").unwrap(),
            format!("{URL}?filter[]=name='offset=2'&offset=0")
        );
        let l = links(URL, None, 0, 1000, 0);
        assert_eq!(link(&l, "last").unwrap(), format!("{URL}?offset=0"));
        assert!(link(&l, "next").is_none() && link(&l, "previous").is_none());
    }

    #[test]
    fn extreme_paging_values_do_not_overflow() {
        let l = links(
            URL,
            Some("offset=99999999999999999999"),
            usize::MAX,
            1000,
            7,
        );
        assert!(link(&l, "next").is_none());
        assert!(link(&l, "previous")
            .unwrap()
            .contains(&format!("offset={}", usize::MAX - 1000)));
        let l = links(URL, None, 0, 0, usize::MAX);
        assert!(link(&l, "next").unwrap().ends_with("offset=1"));
    }

    proptest! {
        #[test]
        fn links_are_well_formed_for_any_query_and_numbers(
            // A request's query never holds `#` (that starts the fragment).
            query in proptest::option::of("[^#]*"),
            offset in any::<usize>(),
            limit in 1..=MAX_LIMIT,
            count in any::<usize>(),
        ) {
            let l = links(URL, query.as_deref(), offset, limit, count);
            let prefix = format!("{URL}?");
            for key in ["self", "first", "last"] {
                let href = link(&l, key).unwrap();
                prop_assert!(href.starts_with(&prefix), "{}", href);
                let offsets = url::Url::parse(&href)
                    .map(|u| u.query_pairs().filter(|(k, _)| k == "offset").count())
                    .unwrap_or(1);
                prop_assert_eq!(offsets, 1, "{}", href);
            }
            prop_assert_eq!(link(&l, "next").is_some(), offset.checked_add(limit).is_some_and(|e| e < count));
            prop_assert_eq!(link(&l, "previous").is_some(), offset > 0);
        }
    }
}
