//! The mock serves a world file (docs/world.schema.json) as it serves a scenario: its VMs
//! (with the world's other columns) and services over REST.

use std::path::PathBuf;

use miq_automate_mock::MockServer;
use reqwest::Client;
use serde_json::{json, Value};

fn world() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vmdb/tests/fixtures/every_section.world.json")
}

async fn get(server: &MockServer, path: &str) -> Value {
    let r = Client::new()
        .get(format!("{}{path}", server.url()))
        .basic_auth("admin", Some("smartvm"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_world_file_serves_its_vms_and_services() {
    let server = MockServer::start_file(world(), 0).await.unwrap();
    let vm = get(&server, "/api/vms/42").await;
    assert_eq!(vm["name"], "web01", "{vm}");
    assert_eq!(vm["id"], "42", "{vm}");
    assert_eq!(vm["host_id"], "8", "{vm}");
    assert_eq!(vm["ems_id"], "5", "{vm}");
    assert_eq!(vm["ipaddresses"], json!(["192.0.2.10"]), "{vm}");
    let vms = get(&server, "/api/vms?expand=resources").await;
    assert_eq!(vms["count"], 1, "{vms}");
    let services = get(&server, "/api/services?expand=resources").await;
    assert_eq!(services["resources"][0]["name"], "web", "{services}");
    let service = get(&server, "/api/services/10").await;
    assert_eq!(service["lifecycle_state"], "provisioned", "{service}");
    // Requests under ManageIQ's spelling are served too.
    let request = get(&server, "/api/requests/7").await;
    assert_eq!(request["type"], "MiqProvisionRequest", "{request}");
}
