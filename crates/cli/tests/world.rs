//! `miq-automate world convert`: the shipped `run --model` files become world files that
//! validate against docs/world.schema.json and load in the Ruby world.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn miq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
}

/// Converts `model` (a path under the repository); the world and stderr.
fn convert(model: &str) -> (Value, String) {
    let out = miq()
        .args(["world", "convert"])
        .arg(repo().join(model))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{model}: {stderr}");
    let world = serde_json::from_slice(&out.stdout).unwrap();
    (world, stderr)
}

/// Writes the world to a temporary file, checking on the way that the mock reads it too.
fn write(world: &Value, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("miq-world-{}-{name}", std::process::id()));
    let text = serde_json::to_string_pretty(world).unwrap();
    if let Err(e) = miq_automate_mock::vmdb::Scenario::parse(&text, name) {
        panic!("the mock refuses the converted world: {e}");
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Validates against the schema with python3's jsonschema, when it is installed.
fn check_schema(file: &Path) {
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped the schema check: python3 with jsonschema is not installed");
        return;
    }
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.validate(json.load(open(sys.argv[2])), schema)";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(repo().join("docs/world.schema.json"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Loads in the Ruby world, when the extension is built; `probe` is Ruby run on the world
/// `w`, printing what the test compares.
fn ruby(file: &Path, probe: &str) -> Option<String> {
    if !repo()
        .join("ruby/lib/miq_automate/miq_automate.so")
        .exists()
    {
        println!("skipped the Ruby load: ruby/lib/miq_automate/miq_automate.so is not built (make ruby-ext)");
        return None;
    }
    let out = Command::new("ruby")
        .arg("-I")
        .arg(repo().join("ruby/lib"))
        .args(["-r", "miq_automate", "-e"])
        .arg(format!("w = MiqAutomate::World.load(ARGV[0]); {probe}"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn the_rollback_demo_model_converts() {
    let (world, stderr) = convert("examples/run/vmware_provision.json");
    let task = &world["miq_request_tasks"][0];
    assert_eq!(task["id"], 1);
    assert_eq!(task["type"], "MiqProvision");
    assert_eq!(task["options"]["vm_target_name"], "web01");
    assert_eq!(task["options"]["src_vm_id"], json!([3, "rhel9-template"]));
    assert_eq!(
        (&task["source_id"], &task["source_type"]),
        (&json!(3), &json!("VmOrTemplate"))
    );
    assert_eq!(task["miq_request_id"], 7);
    assert_eq!(world["vms"][0]["name"], "rhel9-template");
    assert_eq!(world["miq_requests"][0]["description"], "Provision web01");
    // The root's plain attribute has no place in a world: said on stderr, with its path.
    assert!(stderr.contains("$.root.vmdb_object_type"), "{stderr}");
    let file = write(&world, "rollback-demo.json");
    check_schema(&file);
    if let Some(out) = ruby(
        &file,
        "t = w.vmdb(:miq_provision, 1); puts [t.source.name, t.miq_request.description, t.get_option(:vm_target_name)].join(',')",
    ) {
        assert_eq!(out, "rhel9-template,Provision web01,web01");
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn the_manageiq_vmware_model_converts() {
    let (world, stderr) = convert("examples/run/manageiq_vmware_provision.json");
    let task = &world["miq_request_tasks"][0];
    assert_eq!(
        task["type"],
        "ManageIQ::Providers::Vmware::InfraManager::Provision"
    );
    assert_eq!(
        (&task["destination_id"], &task["destination_type"]),
        (&json!(42), &json!("VmOrTemplate"))
    );
    // `$calls` answers are the row's hooks; a plain attribute with no column is a column.
    assert_eq!(task["on"]["get_tags"], json!({"returns": {}}));
    assert_eq!(task["on"]["execute"], json!({"returns": null}));
    assert_eq!(task["columns"]["provision_type"], "vmware");
    // The request and its typed name are one row.
    assert_eq!(world["miq_requests"].as_array().unwrap().len(), 1);
    assert_eq!(world["miq_requests"][0]["type"], "MiqProvisionRequest");
    assert_eq!(world["server"]["name"], "EVM");
    assert_eq!(world["ext_management_systems"][0]["name"], "vcenter01");
    // A VM's operating system is ManageIQ's has_one: its row names the VM.
    let os = &world["models"]["operating_system"][0];
    assert_eq!(
        (&os["bitness"], &os["vm_or_template_id"]),
        (&json!(64), &json!(3))
    );
    assert!(stderr.contains("$.root.vmdb_object_type"), "{stderr}");
    let file = write(&world, "manageiq-vmware.json");
    check_schema(&file);
    // Only what the conversion decides (the world's built-in methods are not under test).
    let probe = "t = w.vmdb(:miq_provision, 1); s = t.source; \
        puts [s.name, s.ext_management_system.name, t.destination.name, t.miq_request.description, \
        t.get_tags.inspect, t.execute.inspect].join(',')";
    if let Some(out) = ruby(&file, probe) {
        assert_eq!(out, "rhel9-template,vcenter01,web01,Provision web01,{},nil");
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn errors_name_the_file_and_the_json_path() {
    let bad = std::env::temp_dir().join(format!("miq-world-bad-{}.json", std::process::id()));
    std::fs::write(
        &bad,
        r#"{"root": {"miq_provision": {"$model": "miq_provision", "id": 1, "source": {"$model": "vm", "id": -3}}}}"#,
    )
    .unwrap();
    let out = miq().args(["world", "convert"]).arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("$.root.miq_provision.source.id"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(bad);
    let out = miq()
        .args(["world", "convert", "/nonexistent/m.json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/m.json"));
}
