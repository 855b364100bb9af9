//! Query parameters of ManageIQ collections and resources.

/// `attributes`, `expand`, `filter[]`, `offset`/`limit`, `sort_by`/`sort_order`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Extra attributes (virtual attributes and associations too).
    pub attributes: Vec<String>,
    /// What to expand (`resources`).
    pub expand: Vec<String>,
    /// Filters, `attr op value` each (ManageIQ's syntax).
    pub filters: Vec<String>,
    /// Where a page starts.
    pub offset: Option<u64>,
    /// Page size (the server caps it at 1000).
    pub limit: Option<u64>,
    /// Sort columns.
    pub sort_by: Vec<String>,
    /// `asc` or `desc`.
    pub sort_order: Option<String>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Query::default()
    }

    /// Adds attributes.
    pub fn attributes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, attrs: I) -> Self {
        self.attributes.extend(attrs.into_iter().map(Into::into));
        self
    }

    /// Expands resources.
    pub fn expand_resources(mut self) -> Self {
        self.expand.push("resources".into());
        self
    }

    /// Adds a filter (`lifecycle_state='error_in_provisioning'`).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filters.push(filter.into());
        self
    }

    /// Sets the page.
    pub fn page(mut self, offset: u64, limit: u64) -> Self {
        self.offset = Some(offset);
        self.limit = Some(limit);
        self
    }

    /// Sorts.
    pub fn sort(mut self, by: impl Into<String>, order: impl Into<String>) -> Self {
        self.sort_by.push(by.into());
        self.sort_order = Some(order.into());
        self
    }

    /// The query pairs, in a stable order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if !self.attributes.is_empty() {
            pairs.push(("attributes".into(), self.attributes.join(",")));
        }
        if !self.expand.is_empty() {
            pairs.push(("expand".into(), self.expand.join(",")));
        }
        for f in &self.filters {
            pairs.push(("filter[]".into(), f.clone()));
        }
        if let Some(o) = self.offset {
            pairs.push(("offset".into(), o.to_string()));
        }
        if let Some(l) = self.limit {
            pairs.push(("limit".into(), l.to_string()));
        }
        if !self.sort_by.is_empty() {
            pairs.push(("sort_by".into(), self.sort_by.join(",")));
        }
        if let Some(o) = &self.sort_order {
            pairs.push(("sort_order".into(), o.clone()));
        }
        pairs
    }
}
