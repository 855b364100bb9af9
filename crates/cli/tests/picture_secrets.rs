//! Secrets in a domain's values and in what a run does never reach a picture, a page or a
//! report: each form of secret the core's sanitizer knows is put in a main's query and in a
//! hook's arguments of the example domain, the run is made, and every output of it is read
//! back — the run's JSON, text and log, the page, and the diagram in every format.

use std::path::Path;

#[path = "support/cli.rs"]
mod cli;

use cli::{miq_ruby, root, stderr, stdout};

const MACHINE: &str = "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";
const CLASS: &str = "Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM.class";

/// The forms of a secret, each with its own marker (the marker must never appear).
fn forms() -> Vec<(String, String)> {
    let forms = [
        ("password::pw={}", "typed argument"),
        ("password%3A%3Apw={}", "URL-encoded typed argument"),
        ("http://bob:{}@dns.example.com/", "URL userinfo"),
        (
            "http:/bob:{}@dns.example.com/",
            "URL userinfo, `//` collapsed",
        ),
        ("v2:{{{}}}", "encrypted token"),
        ("password={}", "password pair"),
    ];
    forms
        .iter()
        .enumerate()
        .map(|(i, (form, what))| {
            let marker = format!("Zq{i}Secret{}", what.len());
            (form.replace("{}", &marker), marker)
        })
        .collect()
}

/// The example domain with every form in RegisterDNS's main query and in its on_entry.
fn hostile_domain(dir: &Path) -> Vec<String> {
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(root().join("examples/domains/RollbackDemo"))
        .arg(dir)
        .status()
        .unwrap();
    assert!(copy.success());
    let forms = forms();
    let query: Vec<String> = forms
        .iter()
        .enumerate()
        .map(|(i, (form, _))| format!("a{i}={form}"))
        .collect();
    let template = dir.join(CLASS).join("template.yaml");
    let text = std::fs::read_to_string(&template).unwrap();
    let dns = "/Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS";
    let text = text.replacen(
        &format!("value: \"{dns}\""),
        &format!("value: \"{dns}?{}\"", query.join("&")),
        1,
    );
    std::fs::write(&template, text).unwrap();
    let class = dir.join(CLASS).join("__class__.yaml");
    let schema = std::fs::read_to_string(&class).unwrap();
    let hook = forms
        .iter()
        .map(|(f, _)| format!("h => '{f}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let schema = schema.replacen(
        "update_provision_status(status => 'Registering DNS')",
        &format!("update_provision_status(status => 'Registering DNS', {hook})"),
        1,
    );
    std::fs::write(&class, schema).unwrap();
    forms.into_iter().map(|(_, marker)| marker).collect()
}

fn assert_no_secret(what: &str, text: &str, markers: &[String]) {
    for m in markers {
        assert!(
            !text.contains(m.as_str()),
            "{what} shows the secret {m}:\n{text}"
        );
    }
}

#[test]
fn no_output_of_a_run_shows_a_secret_of_the_domain() {
    let tmp = tempfile::tempdir().unwrap();
    let domain = tmp.path().join("RollbackDemo");
    let markers = hostile_domain(&domain);
    let domain = domain.to_str().unwrap();
    let model = root().join("examples/run/vmware_provision.json");
    let model = model.to_str().unwrap();
    let stub = "/Infrastructure/VM/Provisioning/StateMachines/Methods/CustomizeRequest=ok";
    let json = tmp.path().join("run.json");
    let log = tmp.path().join("run.log");
    let page = tmp.path().join("run.html");
    let run = |output: &str, file: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            MACHINE,
            "--datastore",
            domain,
            "--model",
            model,
            "--stub",
            stub,
            "--output",
            output,
            "-o",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = miq_ruby(&args);
        // The provision fails (ManageIQ's Provision is not in the domain): exit 2.
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_no_secret("run's stderr", &stderr(&out), &markers);
    };
    run("json", &json, &[]);
    let trace = std::fs::read_to_string(&json).unwrap();
    assert!(
        trace.contains("Registering DNS"),
        "the run reached the hostile hook"
    );
    assert_no_secret("run --output json", &trace, &markers);
    run("html", &page, &["--log", log.to_str().unwrap()]);
    assert_no_secret(
        "run --output html",
        &std::fs::read_to_string(&page).unwrap(),
        &markers,
    );
    assert_no_secret("--log", &std::fs::read_to_string(&log).unwrap(), &markers);
    let text = miq_ruby(&[
        "run",
        MACHINE,
        "--datastore",
        domain,
        "--model",
        model,
        "--stub",
        stub,
    ]);
    assert_no_secret("run's table", &stdout(&text), &markers);
    for format in ["svg", "mermaid", "dot", "table", "timeline"] {
        for with_trace in [true, false] {
            if format == "timeline" && !with_trace {
                continue;
            }
            let mut args = vec![
                "diagram",
                MACHINE,
                "--datastore",
                domain,
                "--output",
                format,
            ];
            if with_trace {
                args.extend(["--trace", json.to_str().unwrap()]);
            }
            let out = cli::miq(&args);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            let picture = stdout(&out);
            assert!(picture.contains("RegisterDNS"), "{format}: {picture}");
            assert_no_secret(&format!("diagram --output {format}"), &picture, &markers);
        }
    }
}
