//! `miq-automate coverage report`, run as a user runs it, on coverage files Ruby wrote
//! (tests/coverage: deliveries of tests/domains/Coverage's Order machine, the happy path
//! and a short stock; regenerate with MiqAutomate::Coverage.capture) and the domain itself.

use std::path::Path;
use std::process::Output;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/coverage.rs"]
mod coverage;

use cli::{miq, stderr, stdout};
use coverage::{domain, fixture, write_doc};

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).expect("a JSON report")
}

fn method<'a>(report: &'a serde_json::Value, fqname: &str) -> &'a serde_json::Value {
    report["methods"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["fqname"] == fqname))
        .unwrap_or_else(|| panic!("no method {fqname} in {report:#}"))
}

const RESERVE: &str = "/Coverage/Shop/Steps/reserve";

#[test]
fn the_happy_path_leaves_the_error_branch_and_the_on_error_hooks_uncovered() {
    let happy = fixture("happy.json");
    let out = miq(&["coverage", "report", &happy, "--datastore", &domain()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Domain Coverage: lines"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("reserve")
            && l.contains("4/7")
            && l.contains("missed 7-9")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("cleanup")
            && l.contains("0/2")
            && l.contains("never run")),
        "{text}"
    );
    assert!(
        text.contains("hooks never run: Validate.on_error, Reserve.on_error, Finish.on_error"),
        "{text}"
    );
    assert!(text.contains("state machine: 3/3 states entered"), "{text}");
    assert!(text.contains("/Shop/Steps/reserve#create"), "{text}");
    assert!(text.contains("Total: lines "), "{text}");

    let report = json(&miq(&[
        "coverage",
        "report",
        &happy,
        "--datastore",
        &domain(),
        "--output",
        "json",
    ]));
    assert_eq!(report["format"], "miq-automate-coverage-report/1");
    assert_eq!(
        method(&report, RESERVE)["missed_lines"],
        serde_json::json!([7, 8, 9])
    );
    assert_eq!(
        method(&report, "/Coverage/Shop/Steps/cleanup")["approximate"],
        true
    );
    let states = &report["machines"][0]["states"];
    for state in states.as_array().expect("states") {
        assert_eq!(
            state["hooks_never_run"],
            serde_json::json!(["on_error"]),
            "{state:#}"
        );
    }
}

#[test]
fn without_a_datastore_only_what_ran_is_reported() {
    let report = json(&miq(&[
        "coverage",
        "report",
        &fixture("happy.json"),
        "--output",
        "json",
    ]));
    let names: Vec<&str> = report["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .filter_map(|m| m["fqname"].as_str())
        .collect();
    assert!(
        !names.contains(&"/Coverage/Shop/Steps/cleanup"),
        "{names:?}"
    );
    assert!(names.contains(&RESERVE), "{names:?}");
    // No datastore: the hooks known are those that ran.
    assert_eq!(
        report["totals"]["hooks_run"],
        report["totals"]["hooks_total"]
    );
}

#[test]
fn two_files_merge_hits_and_states() {
    let report = json(&miq(&[
        "coverage",
        "report",
        &fixture("happy.json"),
        &fixture("short_stock.json"),
        "--datastore",
        &domain(),
        "--output",
        "json",
    ]));
    let reserve = method(&report, RESERVE);
    assert_eq!(reserve["covered"], reserve["total"], "{reserve:#}");
    assert_eq!(reserve["runs"], 2);
    let states = report["machines"][0]["states"].as_array().expect("states");
    let reserve_state = states
        .iter()
        .find(|s| s["name"] == "Reserve")
        .expect("Reserve");
    assert_eq!(
        reserve_state["results"],
        serde_json::json!({"ok": 1, "error": 1})
    );
    assert_eq!(reserve_state["hooks_never_run"], serde_json::json!([]));
    // Finish was entered by the happy path only: its on_error never ran.
    let finish = states
        .iter()
        .find(|s| s["name"] == "Finish")
        .expect("Finish");
    assert_eq!(finish["entered"], 1);
    assert_eq!(finish["hooks_never_run"], serde_json::json!(["on_error"]));
}

#[test]
fn min_is_a_gate_exit_2_under_it_naming_the_figure() {
    let happy = fixture("happy.json");
    let under = miq(&[
        "coverage",
        "report",
        &happy,
        "--datastore",
        &domain(),
        "--min",
        "99",
    ]);
    assert_eq!(under.status.code(), Some(2), "{}", stderr(&under));
    assert!(
        stderr(&under).contains("is under --min 99%"),
        "{}",
        stderr(&under)
    );
    let over = miq(&[
        "coverage",
        "report",
        &happy,
        "--datastore",
        &domain(),
        "--min",
        "10",
    ]);
    assert_eq!(over.status.code(), Some(0), "{}", stderr(&over));
}

#[test]
fn only_keeps_one_domain() {
    let report = json(&miq(&[
        "coverage",
        "report",
        &fixture("happy.json"),
        "--only",
        "coverage",
        "--output",
        "json",
    ]));
    assert!(!report["methods"].as_array().expect("methods").is_empty());
}

#[test]
fn out_writes_the_report_to_a_file() {
    let dir = std::env::temp_dir().join(format!("miq-coverage-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("report.txt");
    let out = miq(&[
        "coverage",
        "report",
        &fixture("happy.json"),
        "-o",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let text = std::fs::read_to_string(&file).expect("the report");
    assert!(text.contains("Total: lines"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_is_not_a_coverage_file_is_an_error_naming_it() {
    let bad = fixture("not_coverage.json");
    let out = miq(&["coverage", "report", &fixture("happy.json"), &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("not_coverage.json: not a miq-automate coverage file"),
        "{err}"
    );
    let out = miq(&["coverage", "report", &fixture("../coverage.rs")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("coverage.rs: not a miq-automate coverage file (not JSON"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_coverage_writes_the_runs_coverage_in_both_isolations_alike() {
    let extension =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ruby/lib/miq_automate/miq_automate.so");
    assert!(
        extension.exists(),
        "the Ruby extension is not built: run `make ruby-ext` first"
    );
    let dir = std::env::temp_dir().join(format!("miq-coverage-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut parts = Vec::new();
    for isolation in ["vm", "process"] {
        let file = dir.join(format!("{isolation}.json"));
        let file = file.to_str().expect("utf-8");
        let out = miq(&[
            "run",
            "/Shop/Order/default",
            "--datastore",
            &domain(),
            "--attr",
            "items=30",
            "--isolation",
            isolation,
            "--coverage",
            file,
        ]);
        // The order fails (short stock): exit 2, and its coverage is written all the same.
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let report = json(&miq(&["coverage", "report", file, "--output", "json"]));
        assert_eq!(
            method(&report, RESERVE)["missed_lines"],
            serde_json::json!([4, 5])
        );
        parts.push((report["methods"].clone(), report["machines"].clone()));
    }
    assert_eq!(parts[0], parts[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn only_a_domain_no_file_has_is_an_error_naming_the_domains_there_are() {
    // A typo in a CI gate must not pass it: nothing is reported, exit 1.
    for extra in [&[][..], &["--datastore", &domain()][..]] {
        let mut args = vec!["coverage", "report", &fixture("happy.json")[..]]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        args.extend(extra.iter().map(|a| a.to_string()));
        args.extend(["--only", "Nope", "--min", "80"].map(str::to_string));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = miq(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("--only Nope: no such domain"), "{err}");
        assert!(err.contains("(domains: Coverage)"), "{err}");
        assert!(!stdout(&out).contains("Total:"), "{}", stdout(&out));
    }
}

#[test]
fn min_fails_when_nothing_was_measured() {
    let empty = write_doc("empty.json", serde_json::json!({}));
    let out = miq(&["coverage", "report", &empty, "--min", "80"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was measured"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("lines 0/0 (nothing measured)"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("100.0%"), "{}", stdout(&out));
    // Without --min, the report is no failure.
    let out = miq(&["coverage", "report", &empty]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn method_files_outside_a_domain_export_are_a_group_of_their_own() {
    // As the collector writes them: relative to the current directory (outside_domain), and
    // as files written before it did: keyed by the absolute path.
    let doc = write_doc(
        "outside.json",
        serde_json::json!({"methods": {
            "examples/methods/check.rb": {"file": "/work/main/examples/methods/check.rb",
                "outside_domain": true, "runs": 1, "lines": [1, null, 0]},
            "/work/main/examples/methods/old.rb": {"file": "/work/main/examples/methods/old.rb",
                "runs": 1, "lines": [2]}
        }}),
    );
    let out = miq(&["coverage", "report", &doc, &fixture("happy.json")]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains("Method files outside a domain export: lines 2/3 (66.7%)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("examples/methods/check.rb")
                && l.contains("missed 3")),
        "{text}"
    );
    assert!(
        text.contains("/work/main/examples/methods/old.rb"),
        "{text}"
    );
    assert!(!text.contains("Domain work"), "{text}");
    assert!(!text.contains("Domain examples"), "{text}");
    assert!(text.contains("Domain Coverage"), "{text}");

    let report = json(&miq(&["coverage", "report", &doc, "--output", "json"]));
    let check = method(&report, "examples/methods/check.rb");
    assert_eq!(check["domain"], serde_json::Value::Null);
    assert_eq!(check["outside_domain"], true);
    assert_eq!(
        method(&report, "/work/main/examples/methods/old.rb")["outside_domain"],
        true
    );
    // No domain: `--only work` names none.
    let out = miq(&["coverage", "report", &doc, "--only", "work"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    // --only a domain leaves them out.
    let report = json(&miq(&[
        "coverage",
        "report",
        &doc,
        &fixture("happy.json"),
        "--only",
        "Coverage",
        "--output",
        "json",
    ]));
    assert!(report["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .all(|m| m["domain"] == "Coverage"));
}

#[test]
fn without_a_datastore_the_totals_say_they_count_what_the_runs_saw() {
    let text = stdout(&miq(&["coverage", "report", &fixture("happy.json")]));
    let total = text
        .lines()
        .find(|l| l.starts_with("Total:"))
        .expect("totals");
    assert!(total.ends_with("(of those the runs saw)"), "{total}");
    assert!(text.contains("give --datastore DIR"), "{text}");
    let report = json(&miq(&[
        "coverage",
        "report",
        &fixture("happy.json"),
        "--output",
        "json",
    ]));
    assert_eq!(report["totals"]["only_what_ran"], true);

    let text = stdout(&miq(&[
        "coverage",
        "report",
        &fixture("happy.json"),
        "--datastore",
        &domain(),
    ]));
    assert!(!text.contains("of those the runs saw"), "{text}");
    assert!(!text.contains("give --datastore"), "{text}");
}

#[test]
fn run_coverage_names_the_domain_that_served_each_relationship() {
    // RollbackDemo's provision: its network states' relationships are served by the
    // domain's instances (whose methods have other names), CustomizeRequest by a stub.
    let dir = std::env::temp_dir().join(format!("miq-coverage-rel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("run.json");
    let file = file.to_str().expect("utf-8");
    let sm = "/Infrastructure/VM/Provisioning/StateMachines";
    let out = cli::miq_ruby(&[
        "run",
        &format!("{sm}/VMProvision_VM/template"),
        "--datastore",
        "examples/domains/RollbackDemo",
        "--model",
        "examples/run/vmware_provision.json",
        "--stub",
        &format!("{sm}/Methods/CustomizeRequest=ok"),
        "--stub",
        "/Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS=error",
        "--coverage",
        file,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = json(&miq(&["coverage", "report", file, "--output", "json"]));
    let rel = |uri: &str| {
        report["relationships"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["uri"] == uri))
            .unwrap_or_else(|| panic!("no relationship {uri} in {report:#}"))
            .clone()
    };
    let net = "/Infrastructure/VM/Provisioning/Network/Methods";
    for (instance, stubbed) in [
        ("AcquireIPAddress", false),
        ("RegisterDHCP", false),
        ("RegisterDNS", true),
    ] {
        let r = rel(&format!("{net}/{instance}#create"));
        assert_eq!(r["followed"], 1, "{r:#} (stubbed: {stubbed})");
        assert_eq!(
            r["served_by"],
            serde_json::json!({ format!("/RollbackDemo{net}/{instance}"): 1 }),
            "{r:#}"
        );
    }
    assert_eq!(
        rel(&format!("{sm}/Methods/CustomizeRequest#vmware"))["served_by"],
        serde_json::json!({})
    );
    let text = stdout(&miq(&["coverage", "report", file]));
    assert!(
        text.contains("CustomizeRequest#vmware") && text.contains("a stub, or nothing found"),
        "{text}"
    );
    // One run, one delivery (it failed before any retry).
    let machine = &report["machines"][0];
    assert_eq!(
        machine["runs"],
        serde_json::json!({ format!("/RollbackDemo{sm}/VMProvision_VM/template"): 1 })
    );
    let _ = std::fs::remove_dir_all(&dir);
}
