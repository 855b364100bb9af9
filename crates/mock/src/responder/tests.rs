//! The responder's handler on requests as wiremock hands them over, without a socket:
//! hostile paths, queries, credentials and bodies are answered without a panic or a 5xx.

use std::net::SocketAddr;

use miq_automate_vmdb::{ManualClock, Scenario, Vmdb};
use proptest::prelude::*;
use wiremock::http::{HeaderMap, HeaderValue, Method};

use super::*;

fn shared() -> Shared {
    let scenario = Scenario::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../mocks/failed_bundle.json"
    ))
    .unwrap();
    let clock = ManualClock::new(chrono::Utc::now());
    Shared::new(
        Vmdb::with_clock(scenario, Arc::new(clock)),
        SocketAddr::from(([127, 0, 0, 1], 3000)),
    )
}

/// A request as wiremock hands it over; the URL API percent-encodes what it must.
fn request(method: &str, path: &str, query: &str, auth: &str, body: Vec<u8>) -> Request {
    let mut url = url::Url::parse("http://localhost/").unwrap();
    url.set_path(path);
    url.set_query((!query.is_empty()).then_some(query));
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
    if !auth.is_empty() {
        if let Ok(v) = HeaderValue::from_str(auth) {
            headers.insert("authorization", v);
        }
    }
    Request {
        url,
        method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
        headers,
        body,
    }
}

const ADMIN: &str = "Basic YWRtaW46c21hcnR2bQ=="; // admin:smartvm

/// Runs the handler without the responder's safety net: a panic fails the test.
fn status(s: &Shared, req: &Request) -> u16 {
    s.handle(req).0.status
}

#[test]
fn the_reported_multibyte_filter_is_a_400() {
    let s = shared();
    let req = request(
        "GET",
        "/api/services",
        "filter[]=a%E2%82%AC=1",
        ADMIN,
        vec![],
    );
    let (reply, _) = s.handle(&req);
    assert_eq!(reply.status, 400);
    let crate::reply::Body::Json(body) = reply.body else {
        panic!("not JSON")
    };
    assert_eq!(body["error"]["message"], "attribute a€ does not exist");
}

#[test]
fn a_panic_becomes_a_500_in_the_envelope() {
    let s = shared();
    let req = request("GET", "/api/services", "", ADMIN, vec![]);
    guard::install_hook();
    let caught = guard::catch(|| panic!("kaboom v2:{{c2VjcmV0}}")).unwrap_err();
    let reply = s.internal_error(&req, &caught);
    assert_eq!(reply.status, 500);
    let crate::reply::Body::Json(body) = reply.body else {
        panic!("not JSON")
    };
    assert_eq!(body["error"]["kind"], "internal_server_error");
    assert_eq!(body["error"]["klass"], "RuntimeError");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("kaboom ********"), "{message}");
    assert_eq!(s.journal.entries().last().map(|e| e.status), Some(500));
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "services",
            "vms",
            "requests",
            "service_requests",
            "request_tasks",
            "tasks",
            "auth",
            "1000",
            "2001",
            "3000",
            "4000",
            "v4.0.0",
            "v9",
            "..",
            "18446744073709551616",
            "99999999999999999999",
        ])
        .prop_map(str::to_owned),
        "[0-9]{1,20}",
        any::<String>(),
    ]
}

fn query() -> impl Strategy<Value = String> {
    let pair = (
        prop::sample::select(vec![
            "filter[]",
            "offset",
            "limit",
            "sort_by",
            "sort_order",
            "attributes",
            "expand",
            "x",
        ]),
        prop_oneof![
            "[a-z_€]{0,8}(=|!=|<|>=| ~ )?('|\\[)?[0-9a-z€%*,]{0,6}('|\\])?",
            "[0-9]{0,22}",
            any::<String>(),
        ],
    );
    prop::collection::vec(pair, 0..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| {
                let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..48),
        (
            prop::sample::select(vec![
                "request_retire",
                "retire",
                "edit",
                "",
                "REQUEST_RETIRE",
            ]),
            any::<String>(),
            "[0-9]{0,22}",
        )
            .prop_map(|(action, date, id)| {
                serde_json::to_vec(&json!({
                    "action": action,
                    "date": date,
                    "warn": id,
                    "resources": [{"id": id}, {"href": format!("/api/vms/{id}")}, {}],
                }))
                .unwrap()
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any request: no panic, and never a 5xx (the scenario injects no faults).
    #[test]
    fn any_request_is_answered_without_a_panic_or_a_5xx(
        method in prop::sample::select(vec!["GET", "POST", "DELETE", "OPTIONS", "PUT", "PATCH"]),
        prefix in prop::sample::select(vec!["/api", "/api/v4.0.0", "/api/v1", "/__mock/requests", "", "/x"]),
        segments in prop::collection::vec(segment(), 0..4),
        query in query(),
        auth in prop::sample::select(vec![
            ADMIN, "Basic YXVkaXRvcjphdWRpdG9y", "Basic Og==", "Basic €", "Bearer x", "",
            "Basic YWRtaW4=", "Negotiate abc",
        ]),
        body in body(),
    ) {
        let s = shared();
        let path = format!("{prefix}/{}", segments.join("/"));
        let req = request(method, &path, &query, auth, body);
        let code = status(&s, &req);
        prop_assert!((200..500).contains(&code), "{} {} ?{} -> {}", method, path, query, code);
    }

    /// Garbage in a collection's query is a 400, or ignored (200); never anything else.
    #[test]
    fn garbage_queries_on_collections_are_a_400_or_ignored(
        coll in prop::sample::select(vec!["services", "vms", "requests", "service_requests", "request_tasks", "tasks"]),
        query in query(),
    ) {
        let s = shared();
        let req = request("GET", &format!("/api/{coll}"), &query, ADMIN, vec![]);
        let code = status(&s, &req);
        prop_assert!(code == 200 || code == 400, "{}?{} -> {}", coll, query, code);
    }

    /// Non-numeric paging is always a 400.
    #[test]
    fn non_numeric_paging_is_a_400(
        key in "offset|limit",
        value in "[0-9]{0,3}[a-z€ ._-][0-9a-z€]{0,4}",
    ) {
        let s = shared();
        let v: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let req = request("GET", "/api/services", &format!("{key}={v}"), ADMIN, vec![]);
        prop_assert_eq!(status(&s, &req), 400);
    }
}
