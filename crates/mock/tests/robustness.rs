//! Hostile and odd input over real HTTP: multibyte filters, absurd paging, credentials in
//! the journal, and paging links that a real client follows.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use miq_automate_mock::MockServer;
use miq_automate_vmdb::{ManualClock, Scenario, Vmdb};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

fn mocks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mocks")
}

fn scenario(name: &str) -> Scenario {
    Scenario::load(mocks().join(name)).unwrap()
}

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap())
}

async fn start(s: Scenario) -> MockServer {
    MockServer::start_with(Vmdb::with_clock(s, Arc::new(clock())), 0)
        .await
        .unwrap()
}

async fn get(url: &str) -> (StatusCode, Value) {
    let r = Client::new()
        .get(url)
        .basic_auth("admin", Some("smartvm"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: the connection failed: {e}"));
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_multibyte_filter_attribute_is_a_400_in_the_envelope() {
    let server = start(scenario("failed_bundle.json")).await;
    let (s, body) = get(&format!(
        "{}/api/services?filter[]=a%E2%82%AC=1",
        server.url()
    ))
    .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(
        body,
        json!({"error": {
            "kind": "bad_request",
            "message": "attribute a€ does not exist",
            "klass": "Api::BadRequestError",
        }})
    );
    // The same bug class elsewhere: a multibyte character where an ASCII prefix or
    // delimiter is looked for, on every collection and through the batched-poll path.
    for q in [
        "filter[]=%E2%82%AC",
        "filter[]=o%E2%82%AC",
        "filter[]=or%E2%82%AC%3D1",
        "filter[]=%E2%82%AC%E2%82%AC%E2%82%AC=1",
        "filter[]=id=%27%E2%82%AC",
        "filter[]=id=%5B%E2%82%AC",
        "filter[]=id%3D%22%E2%82%AC%22",
        "sort_by=%E2%82%AC",
        "attributes=%E2%82%AC",
        "offset=%E2%82%AC",
    ] {
        for coll in ["services", "requests", "tasks", "vms"] {
            let (s, body) = get(&format!("{}/api/{coll}?{q}", server.url())).await;
            assert!(s == 200 || s == 400, "{coll}?{q}: {s} {body}");
            if s == 400 {
                assert_eq!(body["error"]["kind"], "bad_request", "{coll}?{q}: {body}");
            }
        }
    }
}

#[tokio::test]
async fn an_offset_beyond_any_count_is_an_empty_page() {
    let server = start(scenario("failed_bundle.json")).await;
    let (s, body) = get(&format!(
        "{}/api/services?offset=99999999999999999999999",
        server.url()
    ))
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["subcount"], 0);
    assert!(body["links"].get("next").is_none(), "{body}");
}

#[tokio::test]
async fn the_journal_masks_credentials_at_any_depth_and_encrypted_strings() {
    let server = start(scenario("failed_bundle.json")).await;
    let http = Client::new();
    let body = json!({
        "action": "request_retire",
        "Password": "hunter2",
        "resource": {
            "note": "key v2:{c2VjcmV0} here",
            "list": [{"auth_token": "tok-123", "API_KEY": "k-456", "client_secret": {"x": 1}}],
            "X-Auth-Token": "tok-789",
        },
    });
    http.post(format!(
        "{}/api/vms/2001?Password=q-pass&filter[]=name=%27v2%3A%7Bc2VjcmV0%7D%27&note=v2:{{abc}}&expand=resources",
        server.url()
    ))
    .basic_auth("admin", Some("smartvm"))
    .json(&body)
    .send()
    .await
    .unwrap();
    // A form-encoded (non-JSON) body is recorded as text, masked the same way.
    http.post(format!("{}/api/vms/2001", server.url()))
        .basic_auth("admin", Some("smartvm"))
        .body("user=admin&password=form-pass&token=form-tok")
        .send()
        .await
        .unwrap();

    let journal = server.journal();
    assert_eq!(journal.len(), 2);
    let e = &journal[0];
    assert_eq!(
        e.body,
        Some(json!({
            "action": "request_retire",
            "Password": "********",
            "resource": {
                "note": "key ******** here",
                "list": [{"auth_token": "********", "API_KEY": "********", "client_secret": "********"}],
                "X-Auth-Token": "********",
            },
        }))
    );
    assert_eq!(
        e.query.as_deref(),
        Some("Password=********&filter[]=name=%27********%27&note=********&expand=resources")
    );
    assert_eq!(
        journal[1].body,
        Some(json!("user=admin&password=********&token=********"))
    );
    let over_http = http
        .get(format!("{}/__mock/requests", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in [
        "hunter2",
        "c2VjcmV0",
        "tok-123",
        "k-456",
        "tok-789",
        "q-pass",
        "form-pass",
        "form-tok",
        "abc",
    ] {
        assert!(!over_http.contains(secret), "{secret} in {over_http}");
    }
}

#[tokio::test]
async fn paging_links_follow_the_request_host_and_port_to_the_end() {
    let server = start(scenario("large_bundle.json")).await;
    let base = server.url();
    let mut url = format!("{base}/api/services?limit=100&sort_by=id&filter[]=id>1000");
    let (s, first) = get(&url).await;
    assert_eq!(s, 200, "{first}");
    let want = first["subquery_count"].as_u64().unwrap();
    assert_eq!(want, 500);
    for key in ["self", "first", "last", "next"] {
        let link = first["links"][key].as_str().unwrap();
        assert!(
            link.starts_with(&format!("{base}/api/services?")),
            "{key}: {link}"
        );
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (s, page) = get(&url).await;
        assert_eq!(s, 200, "{url}: {page}");
        pages += 1;
        for r in page["resources"].as_array().unwrap() {
            seen.push(r["href"].as_str().unwrap().to_owned());
        }
        match page["links"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
        assert!(pages < 100, "links.next never ends");
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len() as u64, want);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a page repeated records");
    // `last`, `first` and `self` can be followed too.
    for key in ["self", "first", "last"] {
        let (s, page) = get(first["links"][key].as_str().unwrap()).await;
        assert_eq!(s, 200, "{key}: {page}");
    }
    // A versioned path keeps its prefix in the links, as in the hrefs.
    let (_, v) = get(&format!("{base}/api/v4.0.0/services?limit=2")).await;
    assert!(
        v["links"]["next"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/api/v4.0.0/services?")),
        "{v}"
    );
}

/// A scenario built in code is not validated: a TTL far beyond 10 years and ids at the top
/// of the `u64` range must still answer, not panic on date or id arithmetic.
#[tokio::test]
async fn extreme_ttl_and_ids_never_overflow() {
    let mut s: Scenario = Scenario::parse(
        r#"{
          "groups": [{"id": "1", "description": "EvmGroup-super_administrator"}],
          "users": [{"id": "1", "userid": "admin", "password": "smartvm", "groups": ["1"]}],
          "services": [
            {"id": "18446744073709551615", "name": "top", "lifecycle_state": "provisioned"},
            {"id": "18446744073709551614", "name": "child", "parent_id": "18446744073709551615",
             "lifecycle_state": "provisioned"}
          ],
          "vms": [{"id": "18446744073709551615", "name": "vm", "service_id": "18446744073709551615"}]
        }"#,
        "extreme.json",
    )
    .unwrap();
    s.settings.token_ttl_seconds = i64::MAX;
    let server = start(s).await;
    let base = server.url();
    let (st, auth) = get(&format!("{base}/api/auth")).await;
    assert_eq!(st, 200, "{auth}");
    let token = auth["auth_token"].as_str().unwrap();
    let r = Client::new()
        .get(format!("{base}/api/services/18446744073709551615"))
        .header("X-Auth-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the token works and its renewal does not overflow"
    );
    let (st, body) = get(&format!(
        "{base}/api/services/18446744073709551615?attributes=service_resources"
    ))
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["service_resources"][0]["id"],
        format!("{}000001", u64::MAX)
    );
    let r = Client::new()
        .post(format!("{base}/api/services/18446744073709551615"))
        .basic_auth("admin", Some("smartvm"))
        .json(&json!({"action": "request_retire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (st, _) = get(&format!("{base}/api/services/18446744073709551616")).await;
    assert_eq!(st, 400, "an id beyond u64 is an invalid id");
}
