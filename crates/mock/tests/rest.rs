//! Drives the mock ManageIQ over real HTTP with a plain client and asserts what clients
//! rely on: shapes, status codes, state transitions, errors and faults.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use miq_automate_mock::MockServer;
use miq_automate_vmdb::{Id, ManualClock, Scenario, Vmdb};
use reqwest::{Client, Method, StatusCode};
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

async fn start(s: Scenario, c: &ManualClock) -> MockServer {
    MockServer::start_with(Vmdb::with_clock(s, Arc::new(c.clone())), 0)
        .await
        .unwrap()
}

struct Api {
    base: String,
    http: Client,
}

impl Api {
    fn new(server: &MockServer) -> Api {
        Api {
            base: server.url(),
            http: Client::new(),
        }
    }
    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.http
            .request(method, url)
            .basic_auth("admin", Some("smartvm"))
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.req(Method::GET, path).send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .req(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

fn assert_error(body: &Value, kind: &str, klass: &str, message: &str) {
    assert_eq!(body["error"]["kind"], kind, "{body}");
    assert_eq!(body["error"]["klass"], klass, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(message),
        "{body}"
    );
}

#[tokio::test]
async fn entrypoint_describes_version_identity_and_collections() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let (s, body) = api.get("/api").await;
    assert_eq!(s, 200);
    assert_eq!(body["server_info"]["appliance"], "EVM");
    assert_eq!(body["server_info"]["version"], "18.0.0");
    assert_eq!(body["identity"]["userid"], "admin");
    assert_eq!(body["identity"]["group"], "EvmGroup-super_administrator");
    let names: Vec<&str> = body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for want in ["services", "vms", "requests", "service_requests", "tasks"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let services = body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "services")
        .unwrap();
    assert_eq!(services["href"], format!("{}/api/services", server.url()));
}

#[tokio::test]
async fn authentication_basic_token_group_expiry_and_logout() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let http = Client::new();
    let url = |p: &str| format!("{}{p}", server.url());

    // No credentials, bad password, bad token, bearer: 401 in the envelope.
    let r = http.get(url("/api/services")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(url("/api/services"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_error(
        &r.json().await.unwrap(),
        "unauthorized",
        "Api::BaseController::AuthenticationError",
        "Authentication failed",
    );

    // Basic → token.
    let (s, auth) = api.get("/api/auth").await;
    assert_eq!(s, 200);
    let token = auth["auth_token"].as_str().unwrap().to_owned();
    assert_eq!(auth["token_ttl"], 600);
    assert_eq!(auth["expires_on"], "2024-06-01T12:10:00Z");
    let with_token = |p: &str| http.get(url(p)).header("X-Auth-Token", &token);
    assert_eq!(
        with_token("/api/services").send().await.unwrap().status(),
        200
    );

    // Sliding expiry: used at +9 min, still valid at +18 min, expired 10 min after last use.
    c.advance(Duration::minutes(9));
    assert_eq!(with_token("/api").send().await.unwrap().status(), 200);
    c.advance(Duration::minutes(9));
    assert_eq!(with_token("/api").send().await.unwrap().status(), 200);
    c.advance(Duration::minutes(11));
    let r = with_token("/api").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_error(
        &body,
        "unauthorized",
        "Api::BaseController::AuthenticationError",
        "Invalid Authentication Token",
    );

    // Groups.
    let r = http
        .get(url("/api"))
        .basic_auth("admin", Some("smartvm"))
        .header("X-MIQ-Group", "EvmGroup-auditor")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["identity"]["group"],
        "EvmGroup-auditor"
    );
    let r = http
        .get(url("/api"))
        .basic_auth("admin", Some("smartvm"))
        .header("X-MIQ-Group", "EvmGroup-nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_error(
        &r.json().await.unwrap(),
        "unauthorized",
        "Api::BaseController::AuthenticationError",
        "Invalid Authorization Group EvmGroup-nope specified",
    );

    // Logout invalidates the token.
    let (_, auth) = api.get("/api/auth").await;
    let t2 = auth["auth_token"].as_str().unwrap().to_owned();
    let r = http
        .delete(url("/api/auth"))
        .header("X-Auth-Token", &t2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .get(url("/api"))
        .header("X-Auth-Token", &t2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn services_collection_hrefs_counts_pages_links() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let (s, body) = api.get("/api/services").await;
    assert_eq!(s, 200);
    assert_eq!(body["name"], "services");
    assert_eq!(body["count"], 7);
    assert_eq!(body["subcount"], 7);
    assert_eq!(body["pages"], 1);
    let first = &body["resources"][0];
    assert_eq!(
        first,
        &json!({"href": format!("{}/api/services/1000", server.url())})
    );
    assert!(body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "request_retire"));
    // An href can be followed.
    let (s, svc) = api.get(first["href"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(svc["id"], "1000");

    // Paging.
    let (_, page) = api.get("/api/services?offset=2&limit=2&sort_by=id").await;
    assert_eq!(page["subcount"], 2);
    assert_eq!(page["pages"], 4);
    let ids: Vec<&str> = page["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["href"].as_str().unwrap())
        .collect();
    assert!(
        ids[0].ends_with("/services/1002") && ids[1].ends_with("/services/1003"),
        "{ids:?}"
    );
    let links = &page["links"];
    assert!(links["self"].as_str().unwrap().contains("offset=2"));
    assert!(links["next"].as_str().unwrap().contains("offset=4"));
    assert!(links["previous"].as_str().unwrap().contains("offset=0"));
    assert!(links["last"].as_str().unwrap().contains("offset=6"));

    // Sorting.
    let (_, sorted) = api
        .get("/api/services?expand=resources&sort_by=name&sort_order=desc")
        .await;
    let names: Vec<&str> = sorted["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let mut want = names.clone();
    want.sort();
    want.reverse();
    assert_eq!(names, want);

    // Bad paging / sorting parameters.
    let (s, e) = api.get("/api/services?limit=abc").await;
    assert_eq!(s, 400);
    assert_error(
        &e,
        "bad_request",
        "Api::BadRequestError",
        "Non numeric parameter: limit",
    );
    let (s, _) = api.get("/api/services?sort_by=nope").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn filters_as_manageiq_documents_them() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let ids = |body: &Value| -> Vec<String> {
        body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let q = |f: &str| format!("/api/services?expand=resources&filter[]={}", urlencode(f));
    let (s, top) = api.get(&q("ancestry=null")).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&top), vec!["1000", "1100"]);
    assert_eq!(top["subquery_count"], 2);
    assert_eq!(top["count"], 7);
    let (_, t) = api.get(&q("name='%tier'")).await;
    assert_eq!(ids(&t).len(), 5);
    let (_, t) = api.get(&q("name=\"web*\"")).await;
    assert_eq!(ids(&t), vec!["1001"]);
    let (_, t) = api.get(&q("retired=true")).await;
    assert_eq!(ids(&t), vec!["1002"]);
    let (_, t) = api.get(&q("id>1003")).await;
    assert_eq!(ids(&t), vec!["1004", "1005", "1100"]);
    let (_, t) = api
        .get(&q("lifecycle_state=[error_in_provisioning,nothing]"))
        .await;
    assert_eq!(ids(&t), vec!["1000", "1004"]);
    let (_, t) = api
        .get(&format!(
            "{}&filter[]={}",
            q("id=1001"),
            urlencode("or id=1005")
        ))
        .await;
    assert_eq!(ids(&t), vec!["1001", "1005"]);
    let (_, t) = api
        .get(&format!(
            "{}&filter[]={}",
            q("ancestry!=NULL"),
            urlencode("retirement_state=nil")
        ))
        .await;
    assert_eq!(ids(&t), vec!["1001", "1004", "1005"]);
    let (s, e) = api.get(&q("colour='red'")).await;
    assert_eq!(s, 400);
    assert_error(
        &e,
        "bad_request",
        "Api::BadRequestError",
        "attribute colour does not exist",
    );
    let (s, e) = api.get(&q("name ~ 'x'")).await;
    assert_eq!(s, 400);
    assert_error(
        &e,
        "bad_request",
        "Api::BadRequestError",
        "Unknown operator",
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn service_resource_columns_actions_and_virtual_attributes() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let (s, svc) = api.get("/api/services/1001").await;
    assert_eq!(s, 200);
    for col in [
        "id",
        "name",
        "lifecycle_state",
        "retired",
        "retirement_state",
        "retires_on",
        "ancestry",
        "href",
    ] {
        assert!(svc.get(col).is_some(), "missing {col}: {svc}");
    }
    assert_eq!(svc["ancestry"], "1000");
    assert_eq!(svc["href"], format!("{}/api/services/1001", server.url()));
    let actions = svc["actions"].as_array().unwrap();
    let retire = actions
        .iter()
        .find(|a| a["name"] == "request_retire")
        .unwrap();
    assert_eq!(retire["method"], "post");
    assert_eq!(retire["href"], svc["href"]);

    let (s, b) = api
        .get("/api/services/1000?attributes=direct_service_children,all_service_children,service_resources,vms,parent_service")
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["direct_service_children"].as_array().unwrap().len(), 5);
    assert_eq!(b["all_service_children"].as_array().unwrap().len(), 5);
    assert_eq!(b["vms"].as_array().unwrap().len(), 5);
    assert!(b["parent_service"].is_null());
    let child = &b["direct_service_children"][3];
    assert_eq!(child["lifecycle_state"], "error_in_provisioning");
    assert!(child["href"]
        .as_str()
        .unwrap()
        .ends_with("/api/services/1004"));
    let res = &b["service_resources"][0];
    assert_eq!(res["resource_type"], "Service");
    assert!(
        res.get("href").is_none(),
        "service_resources carry no hrefs"
    );
    assert!(
        b["actions"].is_array(),
        "actions come with virtual-only attribute lists"
    );

    let (_, b) = api
        .get("/api/services/1004?attributes=name,retired,parent_service")
        .await;
    assert_eq!(b["name"], "db tier");
    assert_eq!(b["parent_service"]["id"], "1000");
    assert!(b.get("lifecycle_state").is_none());
    assert!(b.get("actions").is_none());

    let (s, e) = api.get("/api/services/1000?attributes=bogus").await;
    assert_eq!(s, 400);
    assert_error(
        &e,
        "bad_request",
        "Api::BadRequestError",
        "Invalid attributes specified: bogus",
    );
    let (s, e) = api.get("/api/services/999").await;
    assert_eq!(s, 404);
    assert_error(
        &e,
        "not_found",
        "ActiveRecord::RecordNotFound",
        "Couldn't find Service with 'id'=999",
    );
    let (s, _) = api.get("/api/nothing").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn options_describes_attributes_and_subcollections() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    // No credentials needed for OPTIONS.
    let r = Client::new()
        .request(Method::OPTIONS, format!("{}/api/services", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    let attrs: Vec<&str> = b["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(attrs.contains(&"retirement_state") && attrs.contains(&"ancestry"));
    assert!(b["virtual_attributes"]
        .as_array()
        .unwrap()
        .contains(&json!("direct_service_children")));
    assert_eq!(b["subcollections"], json!(["vms"]));
    assert_eq!(b["data"], json!({}));
}

#[tokio::test]
async fn subcollections_vms_and_request_tasks() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let (s, vms) = api.get("/api/services/1001/vms").await;
    assert_eq!(s, 200);
    assert_eq!(vms["name"], "vms");
    assert_eq!(vms["subcount"], 2);
    let href = vms["resources"][0]["href"].as_str().unwrap().to_owned();
    assert!(href.ends_with("/api/services/1001/vms/2001"), "{href}");
    let (s, vm) = api.get(&href).await;
    assert_eq!(s, 200);
    assert_eq!(vm["name"], "web-01");

    let (s, tasks) = api
        .get("/api/service_requests/3000/request_tasks?expand=resources")
        .await;
    assert_eq!(s, 200);
    let rows = tasks["resources"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let top = rows
        .iter()
        .find(|t| t["miq_request_task_id"].is_null())
        .unwrap();
    assert_eq!(top["destination_type"], "Service");
    assert_eq!(top["destination_id"], "1000");
    let failed: Vec<&Value> = rows
        .iter()
        .filter(|t| t["status"] == "Error" && !t["miq_request_task_id"].is_null())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["destination_id"], "1004");
    let (s, _) = api.get("/api/requests/3000/request_tasks").await;
    assert_eq!(s, 200);
    let (s, e) = api.get("/api/service_requests/999/request_tasks").await;
    assert_eq!(s, 404);
    assert_error(&e, "not_found", "ActiveRecord::RecordNotFound", "'id'=999");
}

#[tokio::test]
async fn service_request_retire_creates_a_request_that_advances_as_polled() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let (s, req) = api
        .post("/api/services/1001", json!({"action": "request_retire"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(req["request_type"], "service_retire");
    assert_eq!(req["type"], "ServiceRetireRequest");
    assert_eq!(req["request_state"], "pending");
    assert_eq!(req["approval_state"], "pending_approval");
    assert_eq!(req["message"], "Service Retire - Request Created");
    assert_eq!(req["options"]["src_ids"], json!([1001]));
    let href = req["href"].as_str().unwrap().to_owned();
    assert!(href.contains("/api/requests/"), "{href}");
    let (_, r1) = api.get(&href).await;
    assert_eq!(r1["request_state"], "active");
    let (_, r2) = api.get(&href).await;
    assert_eq!(
        (r2["request_state"].as_str(), r2["status"].as_str()),
        (Some("finished"), Some("Ok"))
    );
    let (_, svc) = api
        .get("/api/services/1001?attributes=retired,retirement_state")
        .await;
    assert_eq!(svc["retired"], true);
    assert_eq!(svc["retirement_state"], "retired");
    // The same request through service_requests, and the VMDB shows the change too.
    let rid = href.rsplit('/').next().unwrap();
    let (s, _) = api.get(&format!("/api/service_requests/{rid}")).await;
    assert_eq!(s, 200);
    assert!(server.vmdb().service(Id(1001)).unwrap().retired);

    // Not idempotent: an already retired service gets 200 now and an Error later.
    let (s, req) = api
        .post("/api/services/1002", json!({"action": "request_retire"}))
        .await;
    assert_eq!(s, 200);
    let href = req["href"].as_str().unwrap().to_owned();
    api.get(&href).await;
    let (_, done) = api.get(&href).await;
    assert_eq!(done["status"], "Error");
    assert_eq!(done["message"], "Service already retired");

    // With a date: scheduled, the service comes back.
    let (s, svc) = api
        .post(
            "/api/services/1005",
            json!({"action": "request_retire", "resource": {"date": "2030-01-02", "warn": 3}}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(svc["retires_on"], "2030-01-02T00:00:00Z");
    assert_eq!(svc["retirement_warn"], 3);

    // Missing service: 404.
    let (s, e) = api
        .post("/api/services/999", json!({"action": "request_retire"}))
        .await;
    assert_eq!(s, 404);
    assert_error(
        &e,
        "not_found",
        "ActiveRecord::RecordNotFound",
        "Couldn't find Service with 'id'=999",
    );
}

#[tokio::test]
async fn legacy_retire_and_bulk_calls_on_services() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let (s, svc) = api
        .post("/api/services/1005", json!({"action": "retire"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(svc["id"], "1005");
    assert_eq!(svc["retirement_state"], "initializing");

    let base = server.url();
    let (s, b) = api
        .post(
            "/api/services",
            json!({"action": "request_retire", "resources": [{"href": format!("{base}/api/services/1001")}, {"id": "1100"}]}),
        )
        .await;
    assert_eq!(s, 200);
    let results = b["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results
        .iter()
        .all(|r| r["request_type"] == "service_retire"));

    // Not atomic: the first item ran, then the missing one 404s the whole call.
    let before = server.vmdb().requests().len();
    let (s, e) = api
        .post(
            "/api/services",
            json!({"action": "request_retire", "resources": [{"href": format!("{base}/api/services/1004")}, {"href": format!("{base}/api/services/999")}]}),
        )
        .await;
    assert_eq!(s, 404);
    assert_error(&e, "not_found", "ActiveRecord::RecordNotFound", "'id'=999");
    assert_eq!(
        server.vmdb().requests().len(),
        before + 1,
        "the first item already ran"
    );
}

#[tokio::test]
async fn vm_request_retire_single_and_bulk_with_task_polling() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let (s, r) = api
        .post("/api/vms/2001", json!({"action": "request_retire"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(r["success"], true);
    assert_eq!(
        r["message"],
        "Retiring immediately Vm id: 2001 name: 'web-01'"
    );
    assert_eq!(r["href"], format!("{}/api/vms/2001", server.url()));
    let task_href = r["task_href"].as_str().unwrap().to_owned();
    assert!(task_href.ends_with(&format!("/api/tasks/{}", r["task_id"].as_str().unwrap())));
    let states: Vec<String> = {
        let mut v = vec![
            server
                .vmdb()
                .task(r["task_id"].as_str().unwrap().parse().unwrap())
                .unwrap()
                .state,
        ];
        for _ in 0..3 {
            v.push(
                api.get(&task_href).await.1["state"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        v
    };
    assert_eq!(states, vec!["Queued", "Active", "Finished", "Finished"]);
    let (_, vm) = api
        .get("/api/vms/2001?attributes=retired,retirement_state")
        .await;
    assert_eq!(vm["retired"], true);
    assert_eq!(vm["retirement_state"], "retired");

    // `retire` is an alias on VMs.
    let (s, r) = api.post("/api/vms/2002", json!({"action": "retire"})).await;
    assert_eq!(s, 200);
    assert!(r["task_id"].is_string());

    // Bulk: per-item results, a missing VM is a failed item, not a failed call.
    let (s, b) = api
        .post("/api/vms", json!({"action": "request_retire", "resources": [{"id": "2005"}, {"href": format!("{}/api/vms/999", server.url())}]}))
        .await;
    assert_eq!(s, 200);
    let results = b["results"].as_array().unwrap();
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["success"], false);
    assert!(results[1]["message"]
        .as_str()
        .unwrap()
        .contains("Couldn't find Vm with 'id'=999"));
    assert!(results[1]["href"]
        .as_str()
        .unwrap()
        .ends_with("/api/vms/999"));

    let (s, _) = api
        .post("/api/vms/999", json!({"action": "request_retire"}))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_read_only_group_is_forbidden_before_existence_is_checked() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let http = Client::new();
    let r = http
        .post(format!("{}/api/services/999", server.url()))
        .basic_auth("auditor", Some("auditor"))
        .json(&json!({"action": "request_retire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_error(
        &r.json().await.unwrap(),
        "forbidden",
        "Api::ForbiddenError",
        "Use of Action request_retire is forbidden",
    );
    let r = http
        .get(format!("{}/api/services/1000", server.url()))
        .basic_auth("auditor", Some("auditor"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "reads are allowed");
}

#[tokio::test]
async fn legacy_profile_rejects_request_retire_as_unsupported_custom_action() {
    let c = clock();
    let mut s = scenario("failed_bundle.json");
    s.server.profile = miq_automate_vmdb::model::ServerProfile::Legacy;
    let server = start(s, &c).await;
    let api = Api::new(&server);
    let (st, e) = api
        .post("/api/services/1001", json!({"action": "request_retire"}))
        .await;
    assert_eq!(st, 400);
    assert_error(
        &e,
        "bad_request",
        "Api::BadRequestError",
        "Unsupported Custom Action request_retire for the services resource specified",
    );
    let (_, svc) = api.get("/api/services/1001").await;
    let names: Vec<&str> = svc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"retire") && !names.contains(&"request_retire"),
        "{names:?}"
    );
    let (st, _) = api
        .post("/api/services/1001", json!({"action": "retire"}))
        .await;
    assert_eq!(st, 200);
}

fn with_faults(faults: Value) -> Scenario {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(mocks().join("failed_bundle.json")).unwrap())
            .unwrap();
    v["faults"] = faults;
    Scenario::parse(&v.to_string(), "faults.json").unwrap()
}

#[tokio::test]
async fn fault_fail_next_n_calls_then_recover() {
    let c = clock();
    let server = start(
        with_faults(json!({"rules": [
            {"method": "GET", "path": "/api/services/:id", "times": 2, "status": 503},
            {"method": "POST", "path": "/api/vms/*", "times": 1, "action_failure": "Vm retirement failed"},
            {"path": "/api/tasks", "times": 1, "status": 500},
            {"path": "/api/requests", "times": 1, "status": 429}
        ]})),
        &c,
    )
    .await;
    let api = Api::new(&server);
    for _ in 0..2 {
        let r = api
            .req(Method::GET, "/api/services/1000")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(r.text().await.unwrap().contains("<html>"));
    }
    assert_eq!(api.get("/api/services/1000").await.0, 200);
    assert_eq!(
        api.get("/api/services").await.0,
        200,
        "other routes unaffected"
    );

    let (s, b) = api
        .post("/api/vms/2001", json!({"action": "request_retire"}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["success"], false);
    assert_eq!(b["message"], "Vm retirement failed");
    assert!(b.get("error").is_none());

    let (s, e) = api.get("/api/tasks").await;
    assert_eq!(s, 500);
    assert_eq!(e["error"]["kind"], "internal_server_error");

    let r = api.req(Method::GET, "/api/requests").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap().trim(), "Retry later");

    let faults: Vec<Option<String>> = server.journal().iter().map(|e| e.fault.clone()).collect();
    assert_eq!(faults.iter().filter(|f| f.is_some()).count(), 5);
}

#[tokio::test]
async fn an_after_action_fault_acts_then_loses_the_reply() {
    let c = clock();
    let server = start(
        with_faults(json!({"rules": [
            {"method": "POST", "path": "/api/services/:id", "times": 1, "status": 504, "after_action": true},
            {"method": "POST", "path": "/api/vms/:id", "times": 1, "status": 503, "retry_after": 7}
        ]})),
        &c,
    )
    .await;
    let api = Api::new(&server);
    let r = api
        .req(Method::POST, "/api/services/1001")
        .json(&json!({"action": "request_retire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    assert!(r.text().await.unwrap().contains("504 Gateway Timeout"));
    // The server acted: a retire request names the service.
    let (_, open) = api
        .get("/api/requests?expand=resources&filter[]=request_type='service_retire'")
        .await;
    let named: Vec<&Value> = open["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["options"]["src_ids"] == json!([1001]))
        .collect();
    assert_eq!(named.len(), 1, "{open}");

    // Without after_action the call is refused before it acts; Retry-After is sent.
    let r = api
        .req(Method::POST, "/api/vms/2001")
        .json(&json!({"action": "request_retire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "7");
    let (_, tasks) = api.get("/api/tasks?expand=resources").await;
    assert!(!tasks.to_string().contains("Vm id: 2001"), "{tasks}");
    let faults: Vec<Option<String>> = server.journal().iter().map(|e| e.fault.clone()).collect();
    assert!(
        faults.contains(&Some("rule 0 (after action)".into())),
        "{faults:?}"
    );
}

#[tokio::test]
async fn a_collection_read_by_id_polls_each_request_it_lists() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    let mut ids = Vec::new();
    for service in ["1001", "1005"] {
        let (s, b) = api
            .post(
                &format!("/api/services/{service}"),
                json!({"action": "request_retire"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        ids.push(b["id"].as_str().unwrap().to_owned());
    }
    let by_id = format!(
        "/api/requests?expand=resources&attributes=request_state,status&filter[]=id=[{}]",
        ids.join(",")
    );
    let states = |b: &Value| -> Vec<String> {
        b["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["request_state"].as_str().unwrap().to_owned())
            .collect()
    };
    // A read without an id filter does not move anything.
    let (_, all) = api.get("/api/requests?expand=resources").await;
    assert!(all.to_string().contains("pending"));
    let (_, first) = api.get(&by_id).await;
    assert_eq!(states(&first), vec!["active", "active"]);
    let (_, second) = api.get(&by_id).await;
    assert_eq!(states(&second), vec!["finished", "finished"]);
    let (_, svc) = api
        .get("/api/services/1001?attributes=retired,retirement_state")
        .await;
    assert_eq!(svc["retired"], true);
}

#[tokio::test]
async fn the_rate_limit_can_send_retry_after() {
    let c = clock();
    let server = start(
        with_faults(json!({"rate_limit": {"requests": 1, "window_seconds": 20, "retry_after": 3}})),
        &c,
    )
    .await;
    let api = Api::new(&server);
    assert_eq!(api.get("/api").await.0, 200);
    let r = api.req(Method::GET, "/api").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
}

#[tokio::test]
async fn rate_limit_per_window_with_an_injected_clock() {
    let c = clock();
    let server = start(
        with_faults(json!({"rate_limit": {"requests": 3, "window_seconds": 20}})),
        &c,
    )
    .await;
    let api = Api::new(&server);
    for _ in 0..3 {
        assert_eq!(api.get("/api").await.0, 200);
    }
    let r = api.req(Method::GET, "/api").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.text().await.unwrap().trim(), "Retry later");
    c.advance(Duration::seconds(21));
    assert_eq!(api.get("/api").await.0, 200);
}

#[tokio::test]
async fn latency_is_added_per_route() {
    let c = clock();
    let server = start(
        with_faults(json!({"rules": [{"path": "/api/services", "latency_ms": 150}]})),
        &c,
    )
    .await;
    let api = Api::new(&server);
    let t = std::time::Instant::now();
    assert_eq!(api.get("/api/services").await.0, 200);
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(150),
        "the response was delayed"
    );
}

#[tokio::test]
async fn journal_records_requests_without_secrets() {
    let c = clock();
    let server = start(scenario("failed_bundle.json"), &c).await;
    let api = Api::new(&server);
    api.get("/api/services?expand=resources").await;
    api.post("/api/vms/2001", json!({"action": "request_retire"}))
        .await;
    let r = Client::new()
        .get(format!("{}/api", server.url()))
        .basic_auth("admin", Some("not-the-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let journal = server.journal();
    assert_eq!(journal.len(), 3);
    assert_eq!(journal[0].method, "GET");
    assert_eq!(journal[0].path, "/api/services");
    assert_eq!(journal[0].query.as_deref(), Some("expand=resources"));
    assert_eq!(journal[0].auth.as_deref(), Some("basic"));
    assert_eq!(journal[0].user.as_deref(), Some("admin"));
    assert_eq!(journal[1].body, Some(json!({"action": "request_retire"})));
    assert_eq!(journal[2].status, 401);
    assert_eq!(journal[2].user, None);

    let over_http: Value = Client::new()
        .get(format!("{}/__mock/requests", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http.as_array().unwrap().len(), 3);
    let text = over_http.to_string();
    assert!(!text.contains("smartvm") && !text.contains("not-the-password"));

    let r = Client::new()
        .delete(format!("{}/__mock/requests", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(server.journal().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_all_succeed() {
    let server = MockServer::start(scenario("large_bundle.json"))
        .await
        .unwrap();
    let api = Arc::new(Api::new(&server));
    let mut handles = Vec::new();
    for i in 0..250u64 {
        let api = api.clone();
        handles.push(tokio::spawn(async move {
            match i % 3 {
                0 => api.get(&format!("/api/services/{}", 100_001 + i)).await.0,
                1 => {
                    api.get("/api/services?filter[]=ancestry=null&expand=resources")
                        .await
                        .0
                }
                _ => {
                    api.post(
                        &format!("/api/vms/{}", 200_001 + i),
                        json!({"action": "request_retire"}),
                    )
                    .await
                    .0
                }
            }
        }));
    }
    let mut ok = 0;
    for h in handles {
        assert_eq!(h.await.unwrap(), StatusCode::OK);
        ok += 1;
    }
    assert_eq!(ok, 250);
    assert_eq!(server.journal().len(), 250);
}

#[tokio::test]
async fn vm_provision_scenario_serves_the_task_request_and_template() {
    let c = clock();
    let server = start(scenario("vm_provision.json"), &c).await;
    let api = Api::new(&server);
    let (s, t) = api.get("/api/request_tasks/800").await;
    assert_eq!(s, 200);
    assert_eq!(t["state"], "active");
    assert_eq!(t["options"]["vm_target_name"], "web-prod-01");
    assert_eq!(t["miq_request_id"], "700");
    let (_, r) = api.get("/api/requests/700").await;
    assert_eq!(r["request_type"], "template");
    assert_eq!(
        server.vmdb().template(Id(500)).unwrap().name,
        "rhel9-template"
    );
    assert_eq!(server.vmdb().server().name, "EVM");
}
