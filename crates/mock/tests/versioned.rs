//! Versioned API paths. ManageIQ routes `api(/:version)` (manageiq-api config/routes.rb,
//! `Api::VERSION_CONSTRAINT`), answers an unsupported version with 400 "Unsupported API
//! Version X specified" (base_controller/parser.rb) and renders hrefs under the prefix the
//! client used (`@req.api_prefix`, normalizer.rb). The entrypoint advertises
//! `versions: [{name, href: <base>/api/v<version>}]`, and clients follow it (the Python
//! manageiq-client's `api_version()` opens a new client at that href), so the mock must
//! serve what it advertises.

use std::path::PathBuf;

use miq_automate_mock::MockServer;
use miq_automate_vmdb::Scenario;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

fn scenario(faults: Value) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mocks/failed_bundle.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["faults"] = faults;
    Scenario::parse(&v.to_string(), "versioned.json").unwrap()
}

async fn call(method: Method, url: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = Client::new()
        .request(method, url)
        .basic_auth("admin", Some("smartvm"));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_advertised_version_href_is_served_with_versioned_hrefs() {
    let server = MockServer::start(scenario(json!({}))).await.unwrap();
    let base = server.url();
    let (s, entry) = call(Method::GET, &format!("{base}/api"), None).await;
    assert_eq!(s, 200);
    let version = entry["version"].as_str().unwrap().to_owned();
    let vhref = entry["versions"][0]["href"].as_str().unwrap().to_owned();
    assert_eq!(entry["versions"][0]["name"], version.as_str());
    assert_eq!(vhref, format!("{base}/api/v{version}"));

    // The versioned entrypoint: collections and identity hrefs keep the version.
    let (s, ventry) = call(Method::GET, &vhref, None).await;
    assert_eq!(s, 200, "{ventry}");
    let services = ventry["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "services")
        .unwrap();
    assert_eq!(services["href"], format!("{vhref}/services"));
    // …but the versions list is never itself versioned.
    assert_eq!(ventry["versions"][0]["href"], vhref.as_str());

    // A collection and a resource under the version.
    let (s, coll) = call(
        Method::GET,
        &format!("{vhref}/services?expand=resources&filter[]=ancestry=null"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{coll}");
    assert_eq!(coll["name"], "services");
    let ids: Vec<&str> = coll["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1000", "1100"]);
    assert_eq!(
        coll["resources"][0]["href"],
        format!("{vhref}/services/1000")
    );
    assert_eq!(coll["actions"][0]["href"], format!("{vhref}/services"));

    let (s, svc) = call(Method::GET, &format!("{vhref}/services/1001"), None).await;
    assert_eq!(s, 200);
    assert_eq!(svc["name"], "web tier");
    assert_eq!(svc["href"], format!("{vhref}/services/1001"));

    // An action under the version: the request's href keeps the version too.
    let (s, req) = call(
        Method::POST,
        &format!("{vhref}/services/1001"),
        Some(json!({"action": "request_retire"})),
    )
    .await;
    assert_eq!(s, 200, "{req}");
    assert_eq!(req["type"], "ServiceRetireRequest");
    let rid = req["id"].as_str().unwrap();
    assert_eq!(req["href"], format!("{vhref}/requests/{rid}"));

    // Bulk hrefs may be versioned.
    let (s, bulk) = call(
        Method::POST,
        &format!("{vhref}/vms"),
        Some(json!({"action": "request_retire", "resources": [{"href": format!("{vhref}/vms/2005")}]})),
    )
    .await;
    assert_eq!(s, 200, "{bulk}");
    assert_eq!(bulk["results"][0]["success"], true);
    assert_eq!(bulk["results"][0]["href"], format!("{vhref}/vms/2005"));

    // Unversioned paths still render unversioned hrefs.
    let (_, plain) = call(Method::GET, &format!("{base}/api/services/1001"), None).await;
    assert_eq!(plain["href"], format!("{base}/api/services/1001"));
}

#[tokio::test]
async fn unsupported_versions_are_400_after_authentication_and_non_versions_404() {
    let server = MockServer::start(scenario(json!({}))).await.unwrap();
    let base = server.url();
    let (s, body) = call(Method::GET, &format!("{base}/api/v9.9/services"), None).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"]["kind"], "bad_request");
    assert_eq!(
        body["error"]["message"],
        "Unsupported API Version 9.9 specified"
    );

    // Authentication comes first (require_api_user_or_token runs before validate_api_request).
    let r = Client::new()
        .get(format!("{base}/api/v9.9/services"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A segment that is not a version is no route.
    let (s, body) = call(Method::GET, &format!("{base}/api/vx/services"), None).await;
    assert_eq!(s, 404, "{body}");
}

#[tokio::test]
async fn fault_rules_apply_to_versioned_paths_too() {
    let server = MockServer::start(scenario(json!({"rules": [
        {"method": "GET", "path": "/api/services/:id", "status": 503, "times": 1}
    ]})))
    .await
    .unwrap();
    let base = server.url();
    let r = Client::new()
        .get(format!("{base}/api/v4.0.0/services/1001"))
        .basic_auth("admin", Some("smartvm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let (s, _) = call(
        Method::GET,
        &format!("{base}/api/v4.0.0/services/1001"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // The journal keeps the path as requested.
    let j = server.journal();
    assert_eq!(j[0].path, "/api/v4.0.0/services/1001");
    assert!(j[0].fault.is_some());
}
