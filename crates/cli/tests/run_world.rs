//! `miq-automate run --world FILE`: a state machine that polls runs on a described world's
//! behaviour and the run's virtual clock, with no stub (tests/domains/world and
//! tests/worlds/power.json: a VM that takes 90 s to power on, checked every 30 s). Needs
//! the Ruby extension built (`make ruby-ext`).

#[path = "support/cli.rs"]
mod cli;

use cli::miq_ruby as miq;

const MACHINE: &str = "/Demo/Machine/start";

#[test]
fn a_polling_machine_runs_on_the_worlds_behaviour_without_stubs() {
    let out = miq(&[
        "run",
        MACHINE,
        "--datastore",
        "tests/domains/world",
        "--world",
        "tests/worlds/power.json",
        "--attr",
        "vm_id=600",
        "--output",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let delivery: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(delivery["ae_result"], "ok");
    assert_eq!(
        delivery["deliveries"], 4,
        "on after 90 s, checked every 30 s"
    );
    assert_eq!(delivery["virtual_seconds"], 90);
    let messages: Vec<&str> = delivery["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"<AEMethod who> running for admin in EvmGroup-super_administrator"),
        "the root has the world's run user and group: {messages:#?}"
    );
    assert!(messages.contains(&"<AEMethod power_on> started web01 on esx01"));
}

#[test]
fn a_world_that_does_not_load_is_named_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"vms": [{"id": 1, "name": "a", "host_id": 77}]}"#).unwrap();
    let out = miq(&[
        "run",
        MACHINE,
        "--datastore",
        "tests/domains/world",
        "--world",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.json: $.vms[0].host_id: no host 77"),
        "{stderr}"
    );
}
