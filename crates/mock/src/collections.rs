//! The collections the mock serves: their attributes, subcollections and actions (as
//! ManageIQ's config/api.yml declares them), their records as JSON, and rendering of
//! resources and collections with hrefs, actions, counts, pages and links.

use std::cmp::Ordering;

use miq_automate_vmdb::model::ServerProfile;
use miq_automate_vmdb::{Id, Vmdb};
use serde_json::{json, Map, Value};

use crate::filter::Filter;
use crate::query::Query;
use crate::reply::ApiError;

/// A top-level collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    Services,
    Vms,
    Requests,
    ServiceRequests,
    RequestTasks,
    Tasks,
}

pub(crate) const ALL: [Collection; 6] = [
    Collection::RequestTasks,
    Collection::Requests,
    Collection::ServiceRequests,
    Collection::Services,
    Collection::Tasks,
    Collection::Vms,
];

impl Collection {
    pub fn from_name(name: &str) -> Option<Collection> {
        ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Collection::Services => "services",
            Collection::Vms => "vms",
            Collection::Requests => "requests",
            Collection::ServiceRequests => "service_requests",
            Collection::RequestTasks => "request_tasks",
            Collection::Tasks => "tasks",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Collection::Services => "Services",
            Collection::Vms => "Virtual Machines",
            Collection::Requests => "Requests",
            Collection::ServiceRequests => "Service Requests",
            Collection::RequestTasks => "Request Tasks",
            Collection::Tasks => "Tasks",
        }
    }

    /// The model name ManageIQ uses in "Couldn't find X with 'id'=N".
    pub fn klass(self) -> &'static str {
        match self {
            Collection::Services => "Service",
            Collection::Vms => "Vm",
            Collection::Requests => "MiqRequest",
            Collection::ServiceRequests => "ServiceTemplateProvisionRequest",
            Collection::RequestTasks => "MiqRequestTask",
            Collection::Tasks => "MiqTask",
        }
    }

    /// Physical columns, sorted.
    pub fn physical(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &[
                "ancestry",
                "created_at",
                "description",
                "id",
                "lifecycle_state",
                "name",
                "retired",
                "retirement_state",
                "retirement_warn",
                "retires_on",
                "service_template_id",
                "type",
                "visible",
            ],
            Collection::Vms => &[
                "id",
                "name",
                "power_state",
                "retired",
                "retirement_state",
                "retires_on",
                "template",
                "type",
                "vendor",
            ],
            Collection::Requests | Collection::ServiceRequests => &[
                "approval_state",
                "created_on",
                "description",
                "fulfilled_on",
                "id",
                "message",
                "options",
                "request_state",
                "request_type",
                "source_id",
                "source_type",
                "status",
                "type",
                "updated_on",
                "userid",
            ],
            Collection::RequestTasks => &[
                "description",
                "destination_id",
                "destination_type",
                "id",
                "message",
                "miq_request_id",
                "miq_request_task_id",
                "options",
                "phase",
                "request_type",
                "source_id",
                "source_type",
                "state",
                "status",
                "type",
                "userid",
            ],
            Collection::Tasks => &[
                "created_on",
                "id",
                "message",
                "name",
                "pct_complete",
                "state",
                "status",
                "updated_on",
                "userid",
            ],
        }
    }

    /// Virtual attributes and associations that `attributes=` may name, sorted.
    pub fn virtual_attrs(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &[
                "all_service_children",
                "all_vms",
                "direct_service_children",
                "direct_vms",
                "parent_service",
                "root_service",
                "service_resources",
                "services",
                "vms",
            ],
            Collection::Vms => &["service"],
            Collection::Requests | Collection::ServiceRequests => &["miq_request_tasks"],
            Collection::RequestTasks => &["miq_request"],
            Collection::Tasks => &[],
        }
    }

    pub fn relationships(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &["parent_service", "service_resources", "vms"],
            Collection::Vms => &["service"],
            Collection::Requests | Collection::ServiceRequests => &["miq_request_tasks"],
            Collection::RequestTasks => &["miq_request", "miq_request_task"],
            Collection::Tasks => &[],
        }
    }

    pub fn subcollections(self) -> &'static [&'static str] {
        match self {
            Collection::Services => &["vms"],
            Collection::Requests | Collection::ServiceRequests => &["request_tasks"],
            _ => &[],
        }
    }

    /// Actions on one resource, as (name, method).
    pub fn resource_actions(self, profile: ServerProfile) -> Vec<(&'static str, &'static str)> {
        let current = profile == ServerProfile::Current;
        let mut a = Vec::new();
        match self {
            Collection::Services | Collection::Vms => {
                a.push(("edit", "post"));
                a.push(("retire", "post"));
                if current {
                    a.push(("request_retire", "post"));
                }
                a.push(("set_ownership", "post"));
                a.push(("delete", "post"));
                a.push(("delete", "delete"));
            }
            Collection::Requests | Collection::ServiceRequests => {
                a.push(("approve", "post"));
                a.push(("deny", "post"));
            }
            Collection::RequestTasks => a.push(("edit", "post")),
            Collection::Tasks => {
                a.push(("delete", "post"));
                a.push(("delete", "delete"));
            }
        }
        a
    }

    /// Actions on the collection, as (name, method).
    pub fn collection_actions(self, profile: ServerProfile) -> Vec<(&'static str, &'static str)> {
        let mut a = vec![("query", "post")];
        if matches!(self, Collection::Services | Collection::Vms) {
            a.push(("retire", "post"));
            if profile == ServerProfile::Current {
                a.push(("request_retire", "post"));
            }
        }
        a
    }

    /// Every record's columns.
    pub fn records(self, vmdb: &Vmdb) -> Vec<Map<String, Value>> {
        match self {
            Collection::Services => vmdb
                .services()
                .into_iter()
                .map(|s| service_columns(vmdb, &s))
                .collect(),
            Collection::Vms => vmdb.vms().iter().map(|v| v.columns()).collect(),
            Collection::Requests => vmdb.requests().iter().map(|r| r.columns()).collect(),
            Collection::ServiceRequests => vmdb
                .requests()
                .iter()
                .filter(|r| r.kind.starts_with("Service"))
                .map(|r| r.columns())
                .collect(),
            Collection::RequestTasks => vmdb
                .all_request_tasks()
                .iter()
                .map(|t| t.columns())
                .collect(),
            Collection::Tasks => vmdb.tasks().iter().map(|t| t.columns()).collect(),
        }
    }

    /// Every record's columns, for a collection read. A read of requests or tasks that
    /// filters on `id` is a batched poll: each request or task it lists moves as a read by
    /// id does.
    pub fn records_polled(
        self,
        vmdb: &Vmdb,
        query: &Query,
    ) -> Result<Vec<Map<String, Value>>, ApiError> {
        let records = self.records(vmdb);
        if !matches!(
            self,
            Collection::Requests | Collection::ServiceRequests | Collection::Tasks
        ) {
            return Ok(records);
        }
        let filter = Filter::parse(&query.filters, self.physical())?;
        if !filter.names("id") {
            return Ok(records);
        }
        let mut polled = false;
        for r in records.iter().filter(|r| filter.matches(r)) {
            let Some(id) = r
                .get("id")
                .and_then(Value::as_str)
                .and_then(|i| i.parse().ok())
            else {
                continue;
            };
            // Gone between the listing and the poll: nothing to move.
            let _ = self.record(vmdb, Id(id));
            polled = true;
        }
        Ok(if polled { self.records(vmdb) } else { records })
    }

    /// One record's columns. Reading a request or task by id counts as a poll and may
    /// advance its retirement.
    pub fn record(self, vmdb: &Vmdb, id: Id) -> Result<Map<String, Value>, ApiError> {
        let not_found =
            || ApiError::record_not_found(format!("Couldn't find {} with 'id'={id}", self.klass()));
        Ok(match self {
            Collection::Services => service_columns(vmdb, &vmdb.service(id)?),
            Collection::Vms => vmdb.vm(id)?.columns(),
            Collection::Requests => vmdb.poll_request(id).map_err(|_| not_found())?.columns(),
            Collection::ServiceRequests => {
                let r = vmdb.poll_request(id).map_err(|_| not_found())?;
                if !r.kind.starts_with("Service") {
                    return Err(not_found());
                }
                r.columns()
            }
            Collection::RequestTasks => vmdb.request_task(id).map_err(|_| not_found())?.columns(),
            Collection::Tasks => vmdb.poll_task(id).map_err(|_| not_found())?.columns(),
        })
    }
}

pub(crate) fn service_columns(
    vmdb: &Vmdb,
    s: &miq_automate_vmdb::model::Service,
) -> Map<String, Value> {
    let mut m = s.columns();
    m.insert(
        "ancestry".into(),
        json!(vmdb.service_ancestry(s.id).ok().flatten()),
    );
    m
}

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
        record: &Map<String, Value>,
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
                out.insert(a.to_owned(), self.virtual_attr(coll, rid, a)?);
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

    fn service_value(&self, s: &miq_automate_vmdb::model::Service) -> Value {
        let mut m = service_columns(self.vmdb, s);
        m.insert(
            "href".into(),
            json!(self.href("services", &s.id.to_string())),
        );
        Value::Object(m)
    }

    fn vm_value(&self, v: &miq_automate_vmdb::model::Vm) -> Value {
        let mut m = v.columns();
        m.insert("href".into(), json!(self.href("vms", &v.id.to_string())));
        Value::Object(m)
    }

    fn virtual_attr(&self, coll: Collection, id: Id, attr: &str) -> Result<Value, ApiError> {
        let db = self.vmdb;
        Ok(match (coll, attr) {
            (Collection::Services, "direct_service_children" | "services") => Value::Array(
                db.service_children(id)?
                    .iter()
                    .map(|s| self.service_value(s))
                    .collect(),
            ),
            (Collection::Services, "all_service_children") => Value::Array(
                db.service_descendants(id)?
                    .iter()
                    .map(|s| self.service_value(s))
                    .collect(),
            ),
            (Collection::Services, "parent_service") => db
                .service_parent(id)?
                .map_or(Value::Null, |p| self.service_value(&p)),
            (Collection::Services, "root_service") => {
                let mut cur = db.service(id)?;
                while let Some(p) = db.service_parent(cur.id)? {
                    cur = p;
                }
                self.service_value(&cur)
            }
            (Collection::Services, "vms" | "all_vms") => Value::Array(
                db.service_vms(id, true)?
                    .iter()
                    .map(|v| self.vm_value(v))
                    .collect(),
            ),
            (Collection::Services, "direct_vms") => Value::Array(
                db.service_vms(id, false)?
                    .iter()
                    .map(|v| self.vm_value(v))
                    .collect(),
            ),
            (Collection::Services, "service_resources") => {
                // Derived: one resource per child service, then per direct VM; no hrefs.
                let mut out = Vec::new();
                for (i, c) in db.service_children(id)?.iter().enumerate() {
                    out.push(json!({
                        "id": resource_row_id(id, i + 1),
                        "service_id": id.to_string(),
                        "resource_type": "Service",
                        "resource_id": c.id.to_string(),
                        "group_idx": 0,
                        "provision_index": i,
                    }));
                }
                let offset = out.len();
                for (i, v) in db.service_vms(id, false)?.iter().enumerate() {
                    out.push(json!({
                        "id": resource_row_id(id, offset + i + 1),
                        "service_id": id.to_string(),
                        "resource_type": "VmOrTemplate",
                        "resource_id": v.id.to_string(),
                        "group_idx": 0,
                        "provision_index": offset + i,
                    }));
                }
                Value::Array(out)
            }
            (Collection::Vms, "service") => {
                let vm = db.vm(id)?;
                match vm.service_id {
                    Some(s) => self.service_value(&db.service(s)?),
                    None => Value::Null,
                }
            }
            (Collection::Requests | Collection::ServiceRequests, "miq_request_tasks") => {
                Value::Array(
                    db.request_tasks(id)?
                        .iter()
                        .map(|t| {
                            let mut m = t.columns();
                            m.insert(
                                "href".into(),
                                json!(self.href("request_tasks", &t.id.to_string())),
                            );
                            Value::Object(m)
                        })
                        .collect(),
                )
            }
            (Collection::RequestTasks, "miq_request") => {
                let t = db.request_task(id)?;
                let mut m = db.request(t.request_id)?.columns();
                m.insert(
                    "href".into(),
                    json!(self.href("requests", &t.request_id.to_string())),
                );
                Value::Object(m)
            }
            _ => Value::Null,
        })
    }

    /// A collection (or subcollection) index: filtered, sorted, paged; counts, pages and
    /// links as ManageIQ renders them.
    #[allow(clippy::too_many_arguments)]
    pub fn collection(
        &self,
        coll: Collection,
        name: &str,
        reftype: &str,
        records: Vec<Map<String, Value>>,
        total: usize,
        query: &Query,
    ) -> Result<Value, ApiError> {
        let filter = Filter::parse(&query.filters, coll.physical())?;
        let mut rows: Vec<Map<String, Value>> = if filter.is_empty() {
            records
        } else {
            records.into_iter().filter(|r| filter.matches(r)).collect()
        };
        sort_rows(coll, &mut rows, query)?;
        let filtered = rows.len();
        let page: Vec<&Map<String, Value>> =
            rows.iter().skip(query.offset).take(query.limit).collect();
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
            links(
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

fn sort_rows(
    coll: Collection,
    rows: &mut [Map<String, Value>],
    query: &Query,
) -> Result<(), ApiError> {
    if query.sort_by.is_empty() {
        return Ok(());
    }
    for a in &query.sort_by {
        if !coll.physical().contains(&a.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{a} is not a valid attribute for {}",
                coll.klass()
            )));
        }
    }
    let keys: Vec<(String, bool)> = query
        .sort_by
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let desc = query
                .sort_order
                .get(i)
                .or(query.sort_order.last())
                .is_some_and(|o| {
                    o.eq_ignore_ascii_case("desc") || o.eq_ignore_ascii_case("descending")
                });
            (a.clone(), desc)
        })
        .collect();
    rows.sort_by(|a, b| {
        for (k, desc) in &keys {
            let ord = compare_values(a.get(k), b.get(k));
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    Ok(())
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let a = a.unwrap_or(&Value::Null);
    let b = b.unwrap_or(&Value::Null);
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::String(x), Value::String(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(p), Ok(q)) => p.cmp(&q),
            _ => x.cmp(y),
        },
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// ManageIQ's paging links: self/next/previous/first/last, each the request's URL (`url`:
/// the scheme, host and port the client addressed, and the path) with its query kept and
/// its `offset` replaced (or appended).
fn links(url: &str, query: Option<&str>, offset: usize, limit: usize, count: usize) -> Value {
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

/// The id of a derived `service_resources` row: the service id followed by the row's
/// 1-based position in six digits (`1000` row 1: `1000000001`), without overflowing.
fn resource_row_id(service: Id, position: usize) -> String {
    let n = position as u64;
    service
        .0
        .checked_mul(1_000_000)
        .and_then(|base| base.checked_add(n))
        .map_or_else(|| format!("{}{n:06}", service.0), |id| id.to_string())
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

    #[test]
    fn resource_row_ids_never_overflow() {
        assert_eq!(resource_row_id(Id(1000), 1), "1000000001");
        assert_eq!(resource_row_id(Id(0), 3), "3");
        assert_eq!(
            resource_row_id(Id(u64::MAX), 2),
            format!("{}000002", u64::MAX)
        );
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
