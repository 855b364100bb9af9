//! Rendering resources and collections as ManageIQ's API does: hrefs under the prefix the
//! client addressed, actions by server profile, `attributes=` selection, and collection
//! indexes with counts, pages and links.

use miq_automate_vmdb::{Id, Vmdb};
use serde_json::{json, Map, Value};

use crate::collection::Collection;
use crate::filter::Filter;
use crate::paging;
use crate::query::Query;
use crate::records::Record;
use crate::reply::ApiError;
use crate::sort::sort_rows;
use crate::virtual_attributes;

/// Per-request rendering context.
pub(crate) struct Render<'a> {
    pub vmdb: &'a Vmdb,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The API prefix the client addressed: `/api`, or `/api/v4.0.0` for a versioned path
    /// (ManageIQ's `@req.api_prefix`, which every rendered href starts with).
    pub prefix: String,
    /// The request's path (as sent) under `base`, for links: `/api/services`.
    pub path: String,
    /// The request's raw query string, if any (links keep it, with `offset` replaced).
    pub query: Option<String>,
}

impl Render<'_> {
    pub fn href(&self, reftype: &str, id: &str) -> String {
        format!("{}{}/{reftype}/{id}", self.base, self.prefix)
    }

    pub fn collection_href(&self, reftype: &str) -> String {
        format!("{}{}/{reftype}", self.base, self.prefix)
    }

    fn actions(&self, list: Vec<(&str, &str)>, href: &str) -> Value {
        Value::Array(
            list.into_iter()
                .map(|(name, method)| json!({"name": name, "method": method, "href": href}))
                .collect(),
        )
    }

    /// A resource: all columns, href and actions; or with `attributes`, id, href, the named
    /// columns and virtual attributes (and actions when no column was named).
    pub fn resource(
        &self,
        coll: Collection,
        reftype: &str,
        record: &Record,
        attributes: Option<&[String]>,
    ) -> Result<Value, ApiError> {
        let id = record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let href = self.href(reftype, &id);
        let profile = self.vmdb.server().profile;
        let Some(attrs) = attributes else {
            let mut out = record.clone();
            out.insert("href".into(), json!(href));
            out.insert(
                "actions".into(),
                self.actions(coll.resource_actions(profile), &href),
            );
            return Ok(Value::Object(out));
        };
        let mut out = Map::new();
        out.insert("href".into(), json!(href));
        out.insert("id".into(), json!(id));
        let mut physical = Vec::new();
        let mut invalid = Vec::new();
        for a in attrs {
            let a = a.as_str();
            if a == "id" || a == "href" {
                continue;
            }
            if a == "actions" || coll.physical().contains(&a) {
                physical.push(a);
            } else if coll.virtual_attrs().contains(&a) {
                let rid: Id = id.parse().map_err(|_| ApiError::bad_request("bad id"))?;
                let href = |reftype: &str, id: &str| self.href(reftype, id);
                out.insert(
                    a.to_owned(),
                    virtual_attributes::value(self.vmdb, coll, rid, a, &href)?,
                );
            } else {
                invalid.push(a);
            }
        }
        if !invalid.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Invalid attributes specified: {}",
                invalid.join(",")
            )));
        }
        for a in &physical {
            if *a != "actions" {
                out.insert(
                    (*a).to_owned(),
                    record.get(*a).cloned().unwrap_or(Value::Null),
                );
            }
        }
        if physical.is_empty() || physical.contains(&"actions") {
            out.insert(
                "actions".into(),
                self.actions(coll.resource_actions(profile), &href),
            );
        }
        Ok(Value::Object(out))
    }

    /// A collection (or subcollection) index: filtered, sorted, paged; counts, pages and
    /// links as ManageIQ renders them.
    pub fn collection(
        &self,
        coll: Collection,
        name: &str,
        reftype: &str,
        records: Vec<Record>,
        total: usize,
        query: &Query,
    ) -> Result<Value, ApiError> {
        let filter = Filter::parse(&query.filters, coll.physical())?;
        let mut rows: Vec<Record> = if filter.is_empty() {
            records
        } else {
            records.into_iter().filter(|r| filter.matches(r)).collect()
        };
        sort_rows(coll, &mut rows, query)?;
        let filtered = rows.len();
        let page: Vec<&Record> = rows.iter().skip(query.offset).take(query.limit).collect();
        let expand = query.expands("resources") || query.attributes.is_some();
        let mut resources = Vec::with_capacity(page.len());
        for r in &page {
            if expand {
                resources.push(self.resource(coll, reftype, r, query.attributes.as_deref())?);
            } else {
                let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
                resources.push(json!({"href": self.href(reftype, id)}));
            }
        }
        let mut out = Map::new();
        out.insert("name".into(), json!(name));
        out.insert("count".into(), json!(total));
        out.insert("subcount".into(), json!(page.len()));
        if !filter.is_empty() {
            out.insert("subquery_count".into(), json!(filtered));
        }
        let paging_count = if filter.is_empty() { total } else { filtered };
        out.insert(
            "pages".into(),
            json!(paging_count.div_ceil(query.limit.max(1))),
        );
        out.insert("resources".into(), Value::Array(resources));
        let chref = self.collection_href(reftype);
        out.insert(
            "actions".into(),
            self.actions(coll.collection_actions(self.vmdb.server().profile), &chref),
        );
        out.insert(
            "links".into(),
            paging::links(
                &format!("{}{}", self.base, self.path),
                self.query.as_deref(),
                query.offset,
                query.limit,
                paging_count,
            ),
        );
        Ok(Value::Object(out))
    }
}
