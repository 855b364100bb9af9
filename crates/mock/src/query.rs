//! Query parameters of a GET: attributes, expand, filter[], offset/limit, sort_by/sort_order.

use url::Url;

use crate::reply::ApiError;

/// ManageIQ's `Settings.api.max_results_per_page`.
pub(crate) const MAX_LIMIT: usize = 1000;

/// The parsed query.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    /// `attributes=a,b`.
    pub attributes: Option<Vec<String>>,
    /// `expand=resources,…`.
    pub expand: Vec<String>,
    /// `filter[]=…` (each occurrence).
    pub filters: Vec<String>,
    /// `offset` (default 0).
    pub offset: usize,
    /// `limit` (default and cap 1000).
    pub limit: usize,
    /// `sort_by=a,b`.
    pub sort_by: Vec<String>,
    /// `sort_order=asc,desc`.
    pub sort_order: Vec<String>,
}

impl Query {
    pub fn parse(url: &Url) -> Result<Query, ApiError> {
        let mut q = Query {
            limit: MAX_LIMIT,
            ..Query::default()
        };
        let split = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "attributes" => q.attributes.get_or_insert_with(Vec::new).extend(split(&v)),
                "expand" => q.expand.extend(split(&v)),
                "filter[]" | "filter" => q.filters.push(v.into_owned()),
                "offset" | "limit" => {
                    if v.is_empty() || v.chars().any(|c| !c.is_ascii_digit()) {
                        return Err(ApiError::bad_request(format!("Non numeric parameter: {k}")));
                    }
                    // Only digits: a parse error is an overflow, beyond any count.
                    let n: usize = v.parse().unwrap_or(usize::MAX);
                    if k == "offset" {
                        q.offset = n;
                    } else {
                        if n == 0 {
                            return Err(ApiError::bad_request(
                                "Limit must be greater than zero if offset is specified",
                            ));
                        }
                        q.limit = n.min(MAX_LIMIT);
                    }
                }
                "sort_by" => q.sort_by.extend(split(&v)),
                "sort_order" => q.sort_order.extend(split(&v)),
                _ => {}
            }
        }
        Ok(q)
    }

    pub fn expands(&self, what: &str) -> bool {
        self.expand.iter().any(|e| e == what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(query: &str) -> Result<Query, ApiError> {
        let mut url = Url::parse("http://127.0.0.1:3000/api/services").unwrap();
        url.set_query(Some(query));
        Query::parse(&url)
    }

    #[test]
    fn paging_defaults_caps_and_errors() {
        let q = parse("").unwrap();
        assert_eq!((q.offset, q.limit), (0, MAX_LIMIT));
        let q = parse("offset=5&limit=5000").unwrap();
        assert_eq!((q.offset, q.limit), (5, MAX_LIMIT));
        let q = parse("offset=99999999999999999999999").unwrap();
        assert_eq!(q.offset, usize::MAX, "beyond any count: an empty page");
        assert_eq!(parse("limit=0").unwrap_err().status, 400);
        for bad in [
            "offset=-1",
            "limit=1e3",
            "offset=%E2%82%AC",
            "limit=%EF%BC%91",
            "offset=",
            "limit=",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(
                e.message.starts_with("Non numeric parameter"),
                "{bad}: {e:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_query_parses_or_is_a_400(query in any::<String>()) {
            match parse(&query) {
                Ok(q) => prop_assert!((1..=MAX_LIMIT).contains(&q.limit)),
                Err(e) => prop_assert_eq!(e.status, 400),
            }
        }

        #[test]
        fn paging_garbage_is_a_400(
            key in "offset|limit",
            // Not `%` or `+` (they decode: `%35` is a digit), nor tabs or newlines (URL
            // parsing drops them).
            value in "[0-9]{0,3}[^0-9&=#%+\t\n\r]{1,4}[0-9]{0,3}",
        ) {
            let e = parse(&format!("{key}={value}")).unwrap_err();
            prop_assert_eq!(e.status, 400);
        }
    }
}
