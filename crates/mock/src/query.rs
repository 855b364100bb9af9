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
                    if v.chars().any(|c| !c.is_ascii_digit()) {
                        return Err(ApiError::bad_request(format!("Non numeric parameter: {k}")));
                    }
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
