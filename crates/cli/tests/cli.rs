//! The `miq-automate` binary, run as a user runs it, against the in-process mock (`--mock`).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn miq(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_miq-automate"));
    cmd.current_dir(root()).args(args);
    for var in [
        "MIQ_URL",
        "MIQ_USER",
        "MIQ_PASSWORD",
        "MIQ_TOKEN",
        "MIQ_GROUP",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn scenario_with_faults(faults: Value) -> tempfile_path::TempPath {
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("mocks/failed_bundle.json")).unwrap(),
    )
    .unwrap();
    v["faults"] = faults;
    tempfile_path::TempPath::write(&v.to_string())
}

/// A file in the system temp dir, removed on drop.
mod tempfile_path {
    pub struct TempPath(tempfile::TempPath);

    impl TempPath {
        pub fn write(text: &str) -> TempPath {
            Self::write_as(text, "json")
        }

        pub fn write_as(text: &str, ext: &str) -> TempPath {
            let mut file = tempfile::Builder::new()
                .prefix("miq-cli-")
                .suffix(&format!(".{ext}"))
                .tempfile()
                .unwrap();
            std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
            TempPath(file.into_temp_path())
        }

        pub fn as_str(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
}

#[test]
fn retires_against_the_mock_and_reports_json() {
    let out = miq(
        &[
            "retire-bundle",
            "--mock",
            "mocks/failed_bundle.json",
            "--request",
            "3000",
            "--wait",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let bundle = &v["bundles"][0];
    assert_eq!(bundle["bundle_id"], "1000");
    assert_eq!(bundle["bundle_name"], "Three-tier bundle");
    assert_eq!(bundle["failed_items"], serde_json::json!(["1004"]));
    let outcomes: Vec<(String, String)> = bundle["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("1001", "retired"),
        ("1002", "skipped"),
        ("1003", "skipped"),
        ("1004", "left"),
        ("1005", "retired"),
    ];
    assert_eq!(
        outcomes,
        expected
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec()
    );
    assert!(bundle["items"][0]["request_id"].is_string());
}

#[test]
fn text_report_and_dry_run() {
    let out = miq(
        &[
            "retire-bundle",
            "--mock",
            "mocks/failed_bundle.json",
            "--service",
            "1000",
            "--dry-run",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(
            "Bundle 1000 \"Three-tier bundle\", failed item 1004 — dry run, nothing sent"
        ),
        "{text}"
    );
    assert!(text.contains("web tier"));
    assert!(text.contains("would retire"));
    assert!(text.contains("2 planned, 0 requested"));
}

#[test]
fn some_items_failing_exits_2() {
    let scenario = scenario_with_faults(serde_json::json!({"rules": [
        {"method": "POST", "path": "/api/services/1005", "times": 5, "action_failure": "Service retirement blocked"}
    ]}));
    let out = miq(
        &[
            "retire-bundle",
            "--mock",
            scenario.as_str(),
            "--service",
            "1000",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let failed = v["bundles"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "1005")
        .unwrap()
        .clone();
    assert_eq!(failed["outcome"], "failed");
    assert!(failed["error"]
        .as_str()
        .unwrap()
        .contains("Service retirement blocked"));
}

#[test]
fn usage_and_configuration_errors_exit_1() {
    let out = miq(&["retire-bundle"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let out = miq(&["retire-bundle", "--service", "1"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ManageIQ URL"));
    let out = miq(
        &["retire-bundle", "--service", "1", "--url", "not a url"],
        &[("MIQ_USER", "admin"), ("MIQ_PASSWORD", "x")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = miq(
        &[
            "retire-bundle",
            "--service",
            "1",
            "--url",
            "http://127.0.0.1:9",
        ],
        &[("MIQ_USER", "admin")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MIQ_PASSWORD"));
    let out = miq(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn wrong_credentials_exit_1_without_echoing_them() {
    let out = miq(
        &[
            "retire-bundle",
            "--mock",
            "mocks/failed_bundle.json",
            "--service",
            "1000",
        ],
        &[("MIQ_USER", "admin"), ("MIQ_PASSWORD", "wrong-secret-pw")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-pw"));
    let token = "0123456789abcdef0123";
    let out = miq(
        &[
            "retire-bundle",
            "--mock",
            "mocks/failed_bundle.json",
            "--service",
            "1000",
        ],
        &[("MIQ_TOKEN", token)],
    );
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(token), "{all}");
}

#[test]
fn a_connection_error_exits_1() {
    let out = miq(
        &[
            "retire-bundle",
            "--url",
            "http://127.0.0.1:9",
            "--service",
            "1",
        ],
        &[("MIQ_USER", "admin"), ("MIQ_PASSWORD", "smartvm")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connection failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_scenario_is_named() {
    let scenario = tempfile_path::TempPath::write("{\"services\": 3}");
    let out = miq(
        &["retire-bundle", "--mock", scenario.as_str(), "--scan"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(scenario.as_str()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const DOMAIN: &str = "examples/domains/RollbackDemo";

fn class_schema() -> String {
    format!(
        "{DOMAIN}/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM.class/__class__.yaml"
    )
}

#[test]
fn rollback_lint_passes_the_example_and_catches_unknown_states() {
    let out = miq(
        &[
            "rollback",
            "lint",
            &format!("{DOMAIN}/rollback_matrix.yaml"),
            "--class-schema",
            &class_schema(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 error(s), 0 warning(s)"));

    let bad =
        tempfile_path::TempPath::write_as("states:\n  RegisterDns: [/A/B/UnregisterDNS]\n", "yml");
    let out = miq(
        &[
            "rollback",
            "lint",
            bad.as_str(),
            "--class-schema",
            &class_schema(),
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let first = &v["findings"][0];
    assert_eq!(first["severity"], "error");
    assert!(first["message"]
        .as_str()
        .unwrap()
        .contains("did you mean RegisterDNS?"));
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["severity"] == "warning" && f["state"] == "AcquireIPAddress"));
}

#[test]
fn rollback_plan_prints_the_steps_in_order() {
    let out = miq(
        &[
            "rollback",
            "plan",
            &format!("{DOMAIN}/rollback_matrix.yaml"),
            "--state",
            "RegisterDNS",
            "--journal",
            "AcquireIPAddress,RegisterDHCP",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["mode"], "journal");
    let states: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        vec!["RegisterDNS", "RegisterDHCP", "AcquireIPAddress"]
    );

    let out = miq(
        &[
            "rollback",
            "plan",
            &format!("{DOMAIN}/rollback_matrix.yaml"),
            "--state",
            "CustomizeRequest",
        ],
        &[],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "A failure in CustomizeRequest runs no rollback step."
    );
}

#[test]
fn a_bad_matrix_is_named_with_its_state_and_step() {
    let bad = tempfile_path::TempPath::write_as("states:\n  RegisterDNS:\n    - uri: ''\n", "yml");
    let out = miq(
        &["rollback", "plan", bad.as_str(), "--state", "RegisterDNS"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "rollback matrix {}: states.RegisterDNS[0]: empty URI",
            bad.as_str()
        )),
        "{stderr}"
    );
}

// Issue 11: the seed's `@rollback_matrix` shape (state name to instance URIs, no `states:`).
#[test]
fn rollback_lint_and_plan_take_the_seeds_flat_matrix() {
    let flat = tempfile_path::TempPath::write_as(
        "AcquireIPAddress:\n  - /Infra/Rollback/Methods/ReleaseIPAddress\n  - /Infra/Rollback/Methods/LeaveDomain\n",
        "yml",
    );
    let out = miq(
        &[
            "rollback",
            "lint",
            flat.as_str(),
            "--class-schema",
            &class_schema(),
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = json(&out)["findings"].as_array().unwrap().clone();
    assert!(findings.iter().all(|f| f["severity"] == "warning"));
    assert!(!findings.iter().any(|f| f["state"] == "AcquireIPAddress"));

    let flat_json = tempfile_path::TempPath::write(
        r#"{"AcquireIPAddress": ["/Infra/Rollback/Methods/ReleaseIPAddress", "/Infra/Rollback/Methods/LeaveDomain"]}"#,
    );
    for matrix in [flat.as_str(), flat_json.as_str()] {
        let out = miq(
            &[
                "rollback",
                "plan",
                matrix,
                "--state",
                "AcquireIPAddress",
                "--output",
                "json",
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(0));
        let steps: Vec<String> = json(&out)["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            steps,
            vec![
                "/Infra/Rollback/Methods/ReleaseIPAddress",
                "/Infra/Rollback/Methods/LeaveDomain"
            ]
        );
    }

    let mixed = tempfile_path::TempPath::write_as(
        "states:\n  RegisterDHCP: [/A/B/C]\nAcquireIPAddress: [/A/B/D]\n",
        "yml",
    );
    let out = miq(
        &[
            "rollback",
            "plan",
            mixed.as_str(),
            "--state",
            "RegisterDHCP",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AcquireIPAddress: a state beside `states`")
    );
}

#[test]
fn a_lost_reply_is_reported_and_logs_carry_no_colour_codes() {
    let scenario = scenario_with_faults(serde_json::json!({"rules": [
        {"method": "POST", "path": "/api/services/1001", "times": 1, "status": 504, "after_action": true},
        {"method": "POST", "path": "/api/services/1005", "times": 1, "status": 503, "retry_after": 0}
    ]}));
    for env in [vec![], vec![("NO_COLOR", "1")]] {
        let out = miq(
            &[
                "retire-bundle",
                "--mock",
                scenario.as_str(),
                "--service",
                "1000",
                "--post-budget",
                "30",
            ],
            &env,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        let lost = stdout.lines().find(|l| l.contains("1001")).unwrap();
        assert!(lost.contains("requested (reply lost)"), "{stdout}");
        assert!(lost.contains("request "), "{lost}");
        // Captured stderr (not a terminal) is plain text: the WARN lines have no escapes.
        assert!(stderr.contains("WARN"), "{stderr}");
        assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    }
}

#[test]
fn a_rerun_sends_nothing_twice() {
    // One mock server for both runs: the in-process --mock would start afresh each time.
    let mut server = Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(root())
        .args([
            "mock-server",
            "--scenario",
            "mocks/large_bundle.json",
            "--port",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line.trim().to_string();
    let env = [
        ("MIQ_URL", url.as_str()),
        ("MIQ_USER", "admin"),
        ("MIQ_PASSWORD", "smartvm"),
    ];
    let args = [
        "retire-bundle",
        "--service",
        "1000",
        "--output",
        "json",
        "--quiet",
    ];
    let first = json(&miq(&args, &env));
    assert_eq!(first["bundles"][0]["summary"]["requested"], 450);
    let second = json(&miq(&args, &env));
    assert_eq!(second["bundles"][0]["summary"]["requested"], 0);
    let journal: Value = reqwest_free_get(&format!("{url}/__mock/requests"));
    let posts = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "POST")
        .count();
    server.kill().unwrap();
    let _ = server.wait();
    assert_eq!(posts, 450, "one retire request per sibling over two runs");
}

/// A GET over a plain TCP socket (the tests need no HTTP client dependency for one read).
fn reqwest_free_get(url: &str) -> Value {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    // The mock may answer chunked: take the JSON between the first '[' and the last ']'.
    let start = body.find('[').unwrap();
    let end = body.rfind(']').unwrap();
    serde_json::from_str(&body[start..=end]).unwrap()
}

#[test]
fn ids_that_are_not_positive_integers_are_usage_errors_before_any_request() {
    for bad in ["1000/../1100", "", "-1", "0", "10 00"] {
        for flag in ["--service", "--request"] {
            // No mock and no URL: an id check that came later would fail on the URL instead.
            let out = miq(&["retire-bundle", &format!("{flag}={bad}")], &[]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{flag} {bad:?}: {stderr}");
            assert!(stderr.contains("an id is a positive integer"), "{stderr}");
            assert!(stderr.contains(flag), "{stderr}");
        }
    }
}

#[test]
fn a_healthy_service_is_not_retired_without_all_members() {
    for extra in [vec![], vec!["--dry-run"]] {
        let mut args = vec![
            "retire-bundle",
            "--mock",
            "mocks/failed_bundle.json",
            "--service",
            "1100",
        ];
        args.extend(extra.iter().copied());
        let out = miq(&args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("nothing in bundle 1100 failed; use --all-members to retire it anyway"),
            "{stderr}"
        );
    }
    let out = miq(
        &[
            "retire-bundle",
            "--mock",
            "mocks/failed_bundle.json",
            "--service",
            "1100",
            "--all-members",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["bundles"][0]["summary"]["requested"], 1);
}

#[test]
fn a_ca_cert_that_is_not_pem_is_named() {
    let not_pem = tempfile_path::TempPath::write_as("just some text", "crt");
    let out = miq(
        &[
            "retire-bundle",
            "--url",
            "https://127.0.0.1:9",
            "--service",
            "1000",
            "--ca-cert",
            not_pem.as_str(),
        ],
        &[("MIQ_USER", "admin"), ("MIQ_PASSWORD", "smartvm")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid CA certificate"), "{stderr}");
    assert!(stderr.contains(not_pem.as_str()), "{stderr}");
}

#[test]
fn an_os_error_is_printed_once() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = miq(
        &[
            "mock-server",
            "--scenario",
            "mocks/failed_bundle.json",
            "--port",
            &port,
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}

#[test]
fn rollback_subcommands_describe_their_own_json_and_warn_of_unknown_states() {
    for (sub, shape) in [("lint", "findings"), ("plan", "already_done")] {
        let out = miq(&["rollback", sub, "--help"], &[]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(shape), "{sub}: {help}");
        assert!(!help.contains("bundles"), "{sub}: {help}");
    }
    let matrix = format!("{DOMAIN}/rollback_matrix.yaml");
    let out = miq(&["rollback", "plan", &matrix, "--state", "Bogus"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: state Bogus is not in the matrix"),
        "{stderr}"
    );
}

#[test]
fn no_color_turns_colour_off_even_at_a_terminal() {
    // `script` (util-linux) gives the command a pseudo-terminal, as a person's shell would.
    let command = format!(
        "{} retire-bundle --mock mocks/failed_bundle.json --service 1000 -v --quiet",
        env!("CARGO_BIN_EXE_miq-automate")
    );
    let at_terminal = |no_color: bool| -> String {
        let mut cmd = Command::new("script");
        cmd.current_dir(root())
            .args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&cmd.output().expect("script runs").stdout).into_owned()
    };
    let coloured = at_terminal(false);
    assert!(
        coloured.contains("\u{1b}["),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = at_terminal(true);
    assert!(plain.contains("INFO"), "{plain:?}");
    assert!(!plain.contains("\u{1b}["), "NO_COLOR: {plain:?}");
}

#[test]
fn help_help_a_near_miss_and_a_wrong_rubylib_each_say_what_to_do() {
    let out = miq(&["help", "--help"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("run and test automate domains offline"));

    let out = miq(&["rnu"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 'run'?"));

    let out = miq(
        &["run", "/Demo/Run/who", "--datastore", "."],
        &[("MIQ_AUTOMATE_RUBYLIB", "/nonexistent")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "MIQ_AUTOMATE_RUBYLIB=/nonexistent does not hold miq_automate/run_command.rb"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("LoadError"), "{stderr}");
}
