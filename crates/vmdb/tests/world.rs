//! Worlds (docs/world.schema.json) load as scenarios: the mock serves what it knows and
//! keeps the rest; a key neither format knows is still refused with its JSON path.

use std::path::PathBuf;

use miq_automate_vmdb::{Id, Scenario, Vmdb};
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn parse_err(text: &str) -> String {
    Scenario::parse(text, "world.json").unwrap_err().to_string()
}

#[test]
fn a_world_with_every_section_loads_as_a_scenario() {
    let s = Scenario::load(fixture("every_section.world.json")).unwrap();
    // Both spellings of a section are served, in the order written.
    let ids = |v: Vec<Id>| v.into_iter().map(|i| i.0).collect::<Vec<_>>();
    assert_eq!(ids(s.groups.iter().map(|g| g.id).collect()), [3, 2]);
    assert_eq!(ids(s.requests.iter().map(|r| r.id).collect()), [70, 7]);
    assert_eq!(ids(s.request_tasks.iter().map(|t| t.id).collect()), [2, 1]);
    assert_eq!(ids(s.tasks.iter().map(|t| t.id).collect()), [91, 90]);
    // ManageIQ's column names for a task's request.
    let provision = s.request_tasks.iter().find(|t| t.id == Id(1)).unwrap();
    assert_eq!(provision.request_id, Id(7));
    // The world's own sections are kept as written.
    for section in [
        "ext_management_systems",
        "hosts",
        "ems_clusters",
        "storages",
        "service_templates",
        "tenants",
        "orchestration_stacks",
        "categories",
        "classifications",
        "models",
        "run",
        "behaviour",
        "execute",
        "class_methods",
    ] {
        assert!(s.world.sections.contains_key(section), "{section}");
    }
    assert_eq!(s.world.sections["run"], json!({"user": "admin"}));
    // A VM's other columns are REST columns; tags and inline rows are kept, not columns.
    let vm = &s.vms[0];
    let columns = vm.columns();
    assert_eq!(columns["host_id"], json!("8"));
    assert_eq!(columns["ems_id"], json!("5"));
    assert_eq!(columns["guid"], json!("4242"));
    assert_eq!(columns["cpu_hot_add_enabled"], json!(true));
    assert_eq!(columns["name"], json!("web01"));
    assert!(!columns.contains_key("tags") && !columns.contains_key("hardware"));
    assert_eq!(
        s.world.record_keys["vms[0]"]["tags"],
        json!(["environment/dev"])
    );
    assert!(s.world.record_keys["services[0]"].contains_key("options"));
    // The VMDB holds it like any scenario.
    let vmdb = Vmdb::new(s);
    assert_eq!(vmdb.vm(Id(42)).unwrap().service_id, Some(Id(10)));
    assert!(vmdb.authenticate("admin", "smartvm").is_some());
}

#[test]
fn unknown_keys_are_still_refused_with_path_and_suggestion() {
    let e = parse_err(r#"{"hots": []}"#);
    assert!(e.contains("world.json") && e.contains("at hots"), "{e}");
    assert!(e.contains("did you mean `hosts`"), "{e}");
    let e = parse_err(r#"{"vms": [{"id": 1, "name": "a"}, {"id": 2, "name": "b", "hots_id": 8}]}"#);
    assert!(e.contains("at vms[1].hots_id"), "{e}");
    assert!(e.contains("did you mean `host_id`"), "{e}");
    let e = parse_err(
        r#"{"miq_requests": [{"id": 1, "type": "T", "request_type": "x", "colour": 1}]}"#,
    );
    assert!(e.contains("at miq_requests[0].colour"), "{e}");
    // A typed error inside a ManageIQ-spelled section names that section.
    let e = parse_err(r#"{"miq_tasks": [{"id": "x", "name": "a"}]}"#);
    assert!(e.contains("miq_tasks[0].id"), "{e}");
    // A check after the merge names the row as the file spells it.
    let e = parse_err(r#"{"requests": [{"id": 1}], "miq_requests": [{"id": 2}, {"id": 1}]}"#);
    assert!(
        e.contains("at miq_requests[1].id") && e.contains("duplicate"),
        "{e}"
    );
    let e = parse_err(
        r#"{"miq_requests": [{"id": 1}], "miq_request_tasks": [{"id": 1, "miq_request_id": 1}, {"id": 2, "request_id": 1, "parent_task_id": 5}]}"#,
    );
    assert!(e.contains("at miq_request_tasks[1].parent_task_id"), "{e}");
    // References still hold across spellings.
    let e = parse_err(r#"{"miq_request_tasks": [{"id": 1, "miq_request_id": 9, "type": "T"}]}"#);
    assert!(e.contains("no request with id 9"), "{e}");
}

#[test]
fn every_world_under_examples_loads_as_a_scenario() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/worlds");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: no {}", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        println!("skipped: no world in {}", dir.display());
    }
    for file in files {
        if let Err(e) = Scenario::load(&file) {
            panic!("{}: {e}", file.display());
        }
    }
}

#[test]
fn rows_may_leave_out_what_only_the_mock_required() {
    let s = Scenario::parse(
        r#"{"groups": [{"id": 1, "description": "g"}],
            "users": [{"id": 1, "userid": "nopw", "groups": [1]}],
            "vms": [{"id": 1}],
            "miq_requests": [{"id": 7}],
            "miq_request_tasks": [{"id": 1, "miq_request_id": 7}],
            "miq_tasks": [{"id": 2}]}"#,
        "world.json",
    )
    .unwrap();
    assert_eq!(s.requests[0].kind, "MiqRequest");
    assert_eq!(s.request_tasks[0].kind, "MiqRequestTask");
    // A user without a password cannot log in, not even with an empty one.
    assert!(Vmdb::new(s).authenticate("nopw", "").is_none());
}

#[test]
fn a_vms_other_columns_serialize_with_it_but_are_no_scenario_key() {
    let s = Scenario::load(fixture("every_section.world.json")).unwrap();
    let vm = serde_json::to_value(&s.vms[0]).unwrap();
    assert_eq!((&vm["name"], &vm["host_id"]), (&json!("web01"), &json!(8)));
    // A `columns` entry never doubles one of the mock's own.
    let s = Scenario::parse(
        r#"{"vms": [{"id": 1, "name": "a", "columns": {"name": "b", "x": 1}}]}"#,
        "w.json",
    )
    .unwrap();
    let text = serde_json::to_string(&s.vms[0]).unwrap();
    assert_eq!(text.matches("\"name\"").count(), 1, "{text}");
    assert_eq!(s.vms[0].columns()["x"], json!(1));
    // Read back as a VM, they are refused as before: only a world's loader sets them.
    let e = serde_json::from_value::<miq_automate_vmdb::model::Vm>(vm).unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
}
