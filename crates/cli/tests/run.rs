//! `miq-automate run`, run as a user runs it: examples/domains/RollbackDemo's
//! VMProvision_VM state machine delivered from the export with its real Ruby methods (one
//! Ruby process a run, the gem's `miq_automate/run_command`), ManageIQ's own states stubbed.
//! Needs the Ruby extension built (`make ruby-ext`, or `make`).

use std::process::Output;

use serde_json::Value;

#[path = "support/cli.rs"]
mod cli;

// Every command here checks first that the Ruby extension is built.
use cli::{miq_ruby as miq, stderr, stdout};

const MACHINE: &str = "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";
const DOMAIN: &str = "examples/domains/RollbackDemo";
const MODEL: &str = "examples/run/vmware_provision.json";
const METHODS: &str = "/Infrastructure/VM/Provisioning/StateMachines/Methods";
const NETWORK: &str = "/Infrastructure/VM/Provisioning/Network/Methods";
const ROLLBACK: &str = "/Infrastructure/VM/Provisioning/Rollback/Methods";
const FINISHED: &str = "/System/CommonMethods/StateMachineMethods/vm_provision_finished";

/// The stubs that stand in for ManageIQ's own states (not in the example domain), with
/// `extra` after them (a later stub of the same path wins).
fn stubbed(extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = ["run", MACHINE, "--datastore", DOMAIN, "--model", MODEL]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for path in [
        format!("{METHODS}/CustomizeRequest"),
        format!("{METHODS}/Provision"),
        format!("{METHODS}/CheckProvisioned"),
        format!("{METHODS}/PostProvision"),
        FINISHED.to_string(),
    ] {
        args.push("--stub".into());
        args.push(format!("{path}=ok"));
    }
    args.extend(extra.iter().cloned());
    args
}

fn run_json(extra: &[String]) -> (Output, Value) {
    let mut args = stubbed(extra);
    args.extend(["--output".to_string(), "json".to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = miq(&refs);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    (out, json)
}

fn messages(delivery: &Value) -> Vec<String> {
    delivery["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect()
}

/// The rollback instances update_provision_status instantiated, in order.
fn rollback_steps(delivery: &Value) -> Vec<String> {
    messages(delivery)
        .iter()
        .filter_map(|m| m.split(">>> Instantiating '").nth(1))
        .map(|rest| rest.trim_end_matches('\'').replace(ROLLBACK, ""))
        .collect()
}

#[test]
fn a_failure_in_each_state_runs_its_on_error_and_the_rollback_from_the_export() {
    // (state, what stands for its main, the on_error status, the rollback steps in order)
    let cases: [(&str, String, &str, &[&str]); 8] = [
        (
            "CustomizeRequest",
            format!("{METHODS}/CustomizeRequest"),
            "Error Customizing Request",
            &[],
        ),
        (
            "AcquireIPAddress",
            format!("{NETWORK}/AcquireIPAddress"),
            "Error Acquiring IP Address",
            &["/ReleaseIPAddress"],
        ),
        (
            "RegisterDHCP",
            format!("{NETWORK}/RegisterDHCP"),
            "Error Registering DHCP",
            &["/UnregisterDHCP?reason=rollback", "/ReleaseIPAddress"],
        ),
        (
            "RegisterDNS",
            format!("{NETWORK}/RegisterDNS"),
            "Error Registering DNS",
            &[
                "/UnregisterDNS",
                "/UnregisterDHCP?reason=rollback",
                "/ReleaseIPAddress",
            ],
        ),
        (
            "Provision",
            format!("{METHODS}/Provision"),
            "Error Creating VM",
            &[
                "/UnregisterDNS",
                "/UnregisterDHCP?reason=rollback",
                "/ReleaseIPAddress",
            ],
        ),
        (
            "CheckProvisioned",
            format!("{METHODS}/CheckProvisioned"),
            "Error Creating VM",
            &[
                "/UnregisterDNS",
                "/UnregisterDHCP?reason=rollback",
                "/ReleaseIPAddress",
            ],
        ),
        (
            "PostProvision",
            format!("{METHODS}/PostProvision"),
            "Error Applying PostProvision Customizations",
            &[
                "/UnregisterDNS",
                "/UnregisterDHCP?reason=rollback",
                "/ReleaseIPAddress",
            ],
        ),
        (
            "Finished",
            FINISHED.to_string(),
            "Error Finishing",
            &[
                "/UnregisterDNS",
                "/UnregisterDHCP?reason=rollback",
                "/ReleaseIPAddress",
            ],
        ),
    ];
    for (state, path, status, steps) in cases {
        let (out, d) = run_json(&["--stub".into(), format!("{path}=error")]);
        assert_eq!(out.status.code(), Some(2), "{state}: {}", stderr(&out));
        assert_eq!(d["ae_result"], "error", "{state}");
        assert_eq!(d["deliveries"], 1, "{state}");
        let logs = messages(&d);
        assert!(
            logs.iter().any(|m| m
                == &format!(
                    "In State=[{state}], invoking [on_error] method=[update_provision_status(status => '{status}')]"
                )),
            "{state}: no on_error in {logs:#?}"
        );
        assert_eq!(rollback_steps(&d), steps, "{state}");
        // The state failed, and the machine stopped there (no state after it was entered).
        let events: Vec<&Value> = d["trace"][0]["events"].as_array().unwrap().iter().collect();
        let last = events.last().unwrap();
        assert_eq!(
            (last["event"].as_str(), last["state"].as_str()),
            (Some("done"), Some(state))
        );
        assert_eq!(last["result"], "error", "{state}");
        // What the network states did was undone by the rollback methods, from the export.
        if steps.contains(&"/ReleaseIPAddress") && state != "AcquireIPAddress" {
            assert!(
                logs.iter().any(|m| m.starts_with(&format!(
                    "<AEMethod release_ip_address> Rollback after [{state}] failed (rollback): removing IP address [192.0.2.10]"
                ))),
                "{state}: {logs:#?}"
            );
        }
    }
}

#[test]
fn retries_are_delivered_on_the_virtual_clock_and_the_table_reads_the_trace() {
    let mut args = stubbed(&[
        "--stub".into(),
        format!("{METHODS}/CheckProvisioned=retry:2"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("automation.log");
    args.extend(["--log".to_string(), log.to_str().unwrap().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = miq(&refs);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    let header = text.lines().next().unwrap();
    for column in [
        "DELIVERY",
        "STATE",
        "STEP",
        "METHOD",
        "RESULT",
        "NEXT STATE",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(text.contains("CheckProvisioned  enter (retry 2)"), "{text}");
    assert!(
        text.contains("-> requeued: state [CheckProvisioned] delivered again in 60 s (virtual)"),
        "{text}"
    );
    assert!(
        text.contains("/Infrastructure/VM/Provisioning/StateMachines/Methods/PostProvision#vmware"),
        "the vendor comes from the model's source.vendor: {text}"
    );
    assert!(
        text.contains("ae_result: ok after 3 deliveries and 120 virtual seconds (2m)"),
        "{text}"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    let first = log.lines().next().unwrap();
    let line = regex_like_automation_log(first);
    assert!(line, "{first}");
    assert!(
        log.contains("INFO -- automation: Requeuing {:uri=>"),
        "{log}"
    );
    assert!(log.contains(
        "<AEMethod register_dns> Registered DNS [web01.lab.example → 192.0.2.10] for VM [web01]"
    ));
}

/// `[----] I, [2024-05-01T10:00:00.000000 #123:0]  INFO -- automation: …`
fn regex_like_automation_log(line: &str) -> bool {
    line.starts_with("[----] I, [")
        && line.contains("]  INFO -- automation: Delivering {")
        && line.as_bytes().get(21) == Some(&b'T')
}

#[test]
fn a_limit_stops_a_request_that_keeps_retrying() {
    let (out, d) = run_json(&[
        "--stub".into(),
        format!("{METHODS}/CheckProvisioned=retry@1.hour"),
        "--max-deliveries".into(),
        "4".into(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(d["ae_result"], "retry");
    assert_eq!(d["limit"], "max_deliveries");
    assert_eq!(d["deliveries"], 4);
    assert_eq!(d["virtual_seconds"], 3 * 3600);
}

#[test]
fn the_json_is_the_trace_diagram_reads() {
    let (out, d) = run_json(&[
        "--stub".into(),
        format!("{METHODS}/CheckProvisioned=retry:1"),
        "--stub".into(),
        format!("{METHODS}/PostProvision=error"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("delivery.json");
    std::fs::write(&trace, d.to_string()).unwrap();
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--trace",
        trace.to_str().unwrap(),
        "--format",
        "dot",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Each state's node is one line: `sN [label=<<b>N. Name</b>…this run: …>]`.
    let label = |n: &str| {
        text.lines()
            .find(|l| l.contains(&format!(". {n}</b>")))
            .unwrap_or_else(|| panic!("no state {n}: {text}"))
            .to_string()
    };
    assert!(label("Provision").contains("this run: ✔ ok<"), "{text}");
    assert!(
        label("CheckProvisioned").contains("this run: ↻ ok after 1 retry"),
        "{text}"
    );
    assert!(
        label("PostProvision").contains("this run: ✖ error: stubbed to fail"),
        "{text}"
    );
    assert!(
        label("PostProvision").contains("rollback ran:"),
        "the rollback that ran is drawn: {text}"
    );
    assert!(
        label("Finished").contains("this run: not reached"),
        "{text}"
    );
}

#[test]
fn bad_usage_and_datastores_that_do_not_load_are_exit_1() {
    let out = miq(&["run", MACHINE]);
    assert_eq!(out.status.code(), Some(1), "no --datastore");
    let out = miq(&["run", MACHINE, "--datastore", "tests/domains/bad"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("BadPriority.class/__class__.yaml"),
        "{}",
        stderr(&out)
    );
    let out = miq(&["run", MACHINE, "--datastore", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    let out = miq(&[
        "run",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--stub",
        "/A/B/C=sometimes",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--stub /A/B/C=sometimes: expected ok, error, retry"));
    let out = miq(&["run", MACHINE, "--datastore", DOMAIN, "--attr", "novalue"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn an_instance_without_states_with_a_mock_vmdb() {
    let out = miq(&[
        "run",
        &format!("{NETWORK}/AcquireIPAddress"),
        "--datastore",
        DOMAIN,
        "--model",
        MODEL,
        "--scenario",
        "mocks/failed_bundle.json",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.starts_with(
            "(no state ran: the URI reaches no state machine)\n\nae_result: ok after 1 delivery"
        ),
        "{text}"
    );
}

// Issue 21: `--attr password::pw=S` is a typed argument (root["pw"] a Password), and S is
// in no output: not the JSON, not the table, not the log.
#[test]
fn a_password_attr_is_typed_and_never_printed() {
    let log = std::env::temp_dir().join(format!("miq-run-21-{}.log", std::process::id()));
    let extra: Vec<String> = ["--attr", "password::pw=Top5ecret!", "--log"]
        .iter()
        .map(|s| s.to_string())
        .chain([log.to_string_lossy().into_owned()])
        .collect();
    let (out, json) = run_json(&extra);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root = &json["objects"][0]["attributes"];
    assert!(root.get("password::pw").is_none(), "{root}");
    assert_eq!(root["pw"], serde_json::json!("********"), "{root}");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(!text.is_empty());
    for printed in [stdout(&out), stderr(&out), text] {
        assert!(!printed.contains("Top5ecret"), "{printed}");
    }
    let table = miq(
        &stubbed(&["--attr".into(), "password::pw=Top5ecret!".into()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!stdout(&table).contains("Top5ecret") && !stderr(&table).contains("Top5ecret"));
}

#[test]
fn the_json_says_when_the_run_began_and_what_each_delivery_did() {
    let before = chrono::Utc::now();
    let (out, d) = run_json(&["--stub".into(), format!("{NETWORK}/RegisterDNS=error")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let started = d["started_at"]
        .as_str()
        .unwrap_or_else(|| panic!("no started_at: {d}"));
    let started = chrono::DateTime::parse_from_rfc3339(started)
        .unwrap_or_else(|e| panic!("started_at {started:?} is not ISO 8601: {e}"));
    // Whole seconds: the run began within the test's own time.
    let lag = (started.with_timezone(&chrono::Utc) - before).num_seconds();
    assert!((-1..120).contains(&lag), "started_at {started} vs {before}");
    let entry = &d["trace"][0];
    assert!(entry["notifications"].is_array(), "{entry}");
    assert!(entry["executions"].is_array(), "{entry}");
    assert!(entry["reason"].as_str().is_some(), "{entry}");
    // The on_error's rollback, as instantiate events of the RegisterDNS state.
    let undone: Vec<&str> = entry["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "instantiate")
        .map(|e| {
            assert_eq!(
                (&e["state"], &e["step"]),
                (&"RegisterDNS".into(), &"on_error".into())
            );
            assert_eq!(e["result"], "ok", "{e}");
            e["fqname"].as_str().unwrap().rsplit('/').next().unwrap()
        })
        .collect();
    assert_eq!(
        undone,
        ["UnregisterDNS", "UnregisterDHCP", "ReleaseIPAddress"]
    );
}

#[test]
fn the_table_gives_a_hook_its_own_outcome_and_keeps_a_long_result_narrow() {
    let args = stubbed(&["--stub".into(), format!("{NETWORK}/RegisterDNS=abort")]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = miq(&refs);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}\n{}", stderr(&out));
    let row = |step: &str| {
        text.lines()
            .find(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                cells.get(1) == Some(&"RegisterDNS") && cells.get(2) == Some(&step)
            })
            .unwrap_or_else(|| panic!("RegisterDNS {step}: {text}"))
    };
    // The on_error ran fine: root ae_result stays error (the state's), the hook `ran`.
    assert!(row("on_error").trim_end().ends_with(" ran"), "{text}");
    assert!(row("done").trim_end().ends_with(" error"), "{text}");
    // The exception is cut in the column, and whole under the table.
    let main = row("main");
    assert!(main.trim_end().ends_with('…'), "{main}");
    let header = text.lines().next().unwrap();
    let result_at = header.find("RESULT").unwrap();
    let next_at = header.find("NEXT STATE").unwrap();
    assert!(next_at - result_at <= 42, "RESULT stays narrow: {header}");
    assert!(
        text.contains(
            "result of RegisterDNS main: error: MiqAeException::AbortInstantiation: Method exited with rc=MIQ_ABORT"
        ),
        "{text}"
    );
}
