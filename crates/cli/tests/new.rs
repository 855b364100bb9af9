//! `miq-automate new domain|method|state-machine`: what it writes lints clean, runs, passes
//! its own specs with `rspec` and draws, as the domain's README says; it never overwrites
//! and names the cause of a refusal. The run and rspec parts need the Ruby extension built
//! (`make ruby-ext`); the rspec part is skipped, with a message, when `rspec` is not on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary, run in `dir` (as a user runs the README's commands in the domain's folder).
fn miq_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn assert_extension_built() {
    let extension = root().join("ruby/lib/miq_automate/miq_automate.so");
    assert!(
        extension.is_file(),
        "the Ruby extension is not built: run `make ruby-ext` first ({})",
        extension.display()
    );
}

/// `new domain Acme` in a fresh temporary directory: (the temporary directory, Acme's folder).
fn new_domain() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = miq_in(
        tmp.path(),
        &[
            "new",
            "domain",
            "Acme",
            "--dir",
            tmp.path().to_str().unwrap(),
        ],
    );
    assert_ok(&out, "new domain");
    let domain = tmp.path().join("Acme");
    assert!(domain.join("__domain__.yaml").is_file());
    (tmp, domain)
}

fn lint_is_clean(domain: &Path) {
    let out = miq_in(domain, &["datastore", "lint", "."]);
    assert_ok(&out, "datastore lint");
    assert!(
        text(&out.stdout).contains("0 bad file(s), 0 finding(s)"),
        "{}",
        text(&out.stdout)
    );
}

/// Runs a machine as the README says, with `--output json`: the delivery.
fn run_machine(domain: &Path, uri: &str, world: &str) -> Value {
    assert_extension_built();
    let out = miq_in(
        domain,
        &[
            "run",
            uri,
            "--datastore",
            ".",
            "--world",
            world,
            "--output",
            "json",
        ],
    );
    assert_ok(&out, "run");
    serde_json::from_str(&text(&out.stdout)).expect("run --output json prints JSON")
}

/// `rspec -I <repo>/ruby/lib <domain>/spec` in the domain's folder; `false` when skipped.
fn rspec_passes(domain: &Path) -> bool {
    assert_extension_built();
    let lib = root().join("ruby/lib");
    let spec = domain.join("spec");
    let out = match Command::new("rspec")
        .current_dir(domain)
        .args(["-I", lib.to_str().unwrap(), spec.to_str().unwrap()])
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: `rspec` is not on PATH, the generated specs were not run");
            return false;
        }
        Err(e) => panic!("rspec does not start: {e}"),
    };
    assert_ok(&out, "rspec in the generated domain");
    assert!(
        text(&out.stdout).contains(" 0 failures"),
        "{}",
        text(&out.stdout)
    );
    true
}

fn messages(delivery: &Value) -> Vec<String> {
    delivery["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|l| l["message"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_new_domain_lints_runs_specs_and_draws_as_its_readme_says() {
    let (_tmp, domain) = new_domain();
    for file in [
        "README.md",
        "Demo/__namespace__.yaml",
        "Demo/StartVM.class/__class__.yaml",
        "Demo/StartVM.class/default.yaml",
        "Demo/StartVM.class/__methods__/wait_for_ready.rb",
        "worlds/StartVM.json",
        "spec/spec_helper.rb",
        "spec/start_vm_spec.rb",
        "spec/start_vm_wait_for_ready_spec.rb",
    ] {
        assert!(domain.join(file).is_file(), "{file} is written");
    }
    let domain_yaml = std::fs::read_to_string(domain.join("__domain__.yaml")).unwrap();
    assert!(domain_yaml.contains("priority: 50") && domain_yaml.contains("enabled: true"));
    let readme = std::fs::read_to_string(domain.join("README.md")).unwrap();
    for command in [
        "miq-automate run /Demo/StartVM/default --datastore . --world worlds/StartVM.json",
        "miq-automate datastore lint .",
        "miq-automate diagram /Demo/StartVM --datastore .",
        "rspec -I <miq-automate>/ruby/lib spec",
    ] {
        assert!(readme.contains(command), "the README says {command}");
    }
    // The methods are ManageIQ-style classes whose last line the rspec kit neutralises.
    let method =
        std::fs::read_to_string(domain.join("Demo/StartVM.class/__methods__/wait_for_ready.rb"))
            .unwrap();
    assert!(method.contains("    module Demo\n      module StartVM\n        class WaitForReady\n"));
    assert!(method.ends_with("\nAcme::Automate::Demo::StartVM::WaitForReady.new.main\n"));

    // (a) lint
    lint_is_clean(&domain);

    // (b) run: on 90 s after the start, checked every 30 s.
    let delivery = run_machine(&domain, "/Demo/StartVM/default", "worlds/StartVM.json");
    assert_eq!(delivery["ae_result"], "ok", "{delivery:#}");
    assert_eq!(delivery["deliveries"], 4, "3 retries then ok");
    assert_eq!(delivery["virtual_seconds"], 90);
    let logs = messages(&delivery);
    assert!(
        logs.iter().any(|m| m.ends_with("Powering on VM [web01]")),
        "{logs:#?}"
    );
    assert!(logs.iter().any(|m| m.ends_with("VM [web01] is ready")));

    // (c) rspec
    rspec_passes(&domain);

    // (d) diagram, as SVG and Mermaid.
    let out = miq_in(
        &domain,
        &[
            "diagram",
            "/Demo/StartVM",
            "--datastore",
            ".",
            "-o",
            "StartVM.svg",
        ],
    );
    assert_ok(&out, "diagram");
    let svg = std::fs::read_to_string(domain.join("StartVM.svg")).unwrap();
    for state in ["Prepare", "WaitForReady", "Finish"] {
        assert!(svg.contains(state), "the picture shows {state}");
    }
    let out = miq_in(
        &domain,
        &[
            "diagram",
            "/Demo/StartVM",
            "--datastore",
            ".",
            "--format",
            "mermaid",
        ],
    );
    assert_ok(&out, "diagram --format mermaid");
    assert!(text(&out.stdout).contains("WaitForReady"));
    // What the README's commands leave in the folder does not disturb the domain.
    lint_is_clean(&domain);
}

#[test]
fn new_method_adds_a_method_its_instance_and_a_spec() {
    let (_tmp, domain) = new_domain();
    let out = miq_in(
        &domain,
        &[
            "new",
            "method",
            "hello",
            "--domain",
            ".",
            "--class",
            "Demo/Methods",
        ],
    );
    assert_ok(&out, "new method in a new class");
    for file in [
        "Demo/Methods.class/__class__.yaml",
        "Demo/Methods.class/hello.yaml",
        "Demo/Methods.class/__methods__/hello.yaml",
        "Demo/Methods.class/__methods__/hello.rb",
        "spec/methods_hello_spec.rb",
    ] {
        assert!(domain.join(file).is_file(), "{file} is written");
    }
    // A second method in the existing class: its files only, the class kept.
    let class_yaml = std::fs::read_to_string(domain.join("Demo/Methods.class/__class__.yaml"));
    let out = miq_in(
        &domain,
        &[
            "new",
            "method",
            "bye_now",
            "--domain",
            ".",
            "--class",
            "Demo/Methods",
        ],
    );
    assert_ok(&out, "new method in an existing class");
    assert!(!text(&out.stdout).contains("__class__.yaml"));
    assert_eq!(
        std::fs::read_to_string(domain.join("Demo/Methods.class/__class__.yaml")).ok(),
        class_yaml.ok()
    );
    let rb =
        std::fs::read_to_string(domain.join("Demo/Methods.class/__methods__/bye_now.rb")).unwrap();
    assert!(rb.ends_with("\nAcme::Automate::Demo::Methods::ByeNow.new.main\n"));

    lint_is_clean(&domain);
    assert_extension_built();
    let out = miq_in(
        &domain,
        &[
            "run",
            "/Demo/Methods/hello",
            "--datastore",
            ".",
            "--attr",
            "user_name=Ada",
            "--output",
            "json",
        ],
    );
    assert_ok(&out, "run the method's instance");
    let delivery: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let logs = messages(&delivery);
    assert!(logs.iter().any(|m| m.ends_with("Hello, Ada")), "{logs:#?}");
    rspec_passes(&domain);

    // The same method again is refused, naming the existing method file.
    let out = miq_in(
        &domain,
        &[
            "new",
            "method",
            "HELLO",
            "--domain",
            ".",
            "--class",
            "Demo/Methods",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("already has a method hello") && err.contains("hello.yaml"),
        "{err}"
    );
    // A state machine class has no method field for an instance to set.
    let out = miq_in(
        &domain,
        &[
            "new",
            "method",
            "x",
            "--domain",
            ".",
            "--class",
            "Demo/StartVM",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has no field of type method"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn new_state_machine_adds_a_machine_that_runs_and_passes_its_specs() {
    let (_tmp, domain) = new_domain();
    let out = miq_in(
        &domain,
        &[
            "new",
            "state-machine",
            "StopVM",
            "--domain",
            ".",
            "--namespace",
            "Tools/Power",
        ],
    );
    assert_ok(&out, "new state-machine");
    for file in [
        "Tools/__namespace__.yaml",
        "Tools/Power/__namespace__.yaml",
        "Tools/Power/StopVM.class/__class__.yaml",
        "Tools/Power/StopVM.class/__methods__/prepare.rb",
        "worlds/StopVM.json",
        "spec/stop_vm_spec.rb",
        "spec/stop_vm_wait_for_ready_spec.rb",
    ] {
        assert!(domain.join(file).is_file(), "{file} is written");
    }
    // The shared spec_helper.rb is kept, not rewritten.
    assert!(!text(&out.stdout).contains("spec_helper.rb"));
    let rb =
        std::fs::read_to_string(domain.join("Tools/Power/StopVM.class/__methods__/prepare.rb"))
            .unwrap();
    assert!(rb.ends_with("\nAcme::Automate::Tools::Power::StopVM::Prepare.new.main\n"));

    lint_is_clean(&domain);
    let delivery = run_machine(&domain, "/Tools/Power/StopVM/default", "worlds/StopVM.json");
    assert_eq!(delivery["ae_result"], "ok", "{delivery:#}");
    assert_eq!(delivery["deliveries"], 4);
    // Both machines' specs pass side by side (their Ruby classes do not clash).
    rspec_passes(&domain);

    // The same class again (ignoring case, as ManageIQ's names) is refused.
    let out = miq_in(
        &domain,
        &[
            "new",
            "state-machine",
            "stopvm",
            "--domain",
            ".",
            "--namespace",
            "tools/power",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("exists") && err.contains("StopVM.class"),
        "{err}"
    );
}

#[test]
fn new_refuses_to_overwrite_and_names_the_cause() {
    let (tmp, domain) = new_domain();
    let dir = tmp.path().to_str().unwrap();

    // An existing domain folder.
    let readme = std::fs::read_to_string(domain.join("README.md")).unwrap();
    let out = miq_in(tmp.path(), &["new", "domain", "Acme", "--dir", dir]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&domain.display().to_string()) && err.contains("never overwrites"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(domain.join("README.md")).unwrap(),
        readme
    );

    // One existing file among many: nothing at all is written, and the error names it.
    std::fs::write(domain.join("spec/methods_hello_spec.rb"), "# mine\n").unwrap();
    let out = miq_in(
        &domain,
        &[
            "new",
            "method",
            "hello",
            "--domain",
            ".",
            "--class",
            "Demo/Methods",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("spec/methods_hello_spec.rb exists") && err.contains("never overwrites"),
        "{err}"
    );
    assert!(
        !domain.join("Demo/Methods.class").exists(),
        "nothing half-written"
    );
    assert_eq!(
        std::fs::read_to_string(domain.join("spec/methods_hello_spec.rb")).unwrap(),
        "# mine\n"
    );

    // Bad names: the cause is said.
    for (args, cause) in [
        (
            vec!["new", "domain", "My Domain", "--dir", dir],
            "bad domain name \"My Domain\": ' ' is not allowed (ManageIQ names are letters, digits, _ and -)",
        ),
        (
            vec!["new", "domain", "1st", "--dir", dir],
            "bad domain name \"1st\": it must start with a letter",
        ),
        (
            vec!["new", "domain", "", "--dir", dir],
            "the domain name is empty",
        ),
        (
            vec!["new", "method", "a.b", "--domain", ".", "--class", "Demo/Methods"],
            "bad method name \"a.b\": '.' is not allowed",
        ),
        (
            vec!["new", "method", "get-vm", "--domain", ".", "--class", "Demo/Methods"],
            "'-' is not allowed in a method name",
        ),
        (
            vec!["new", "method", "m", "--domain", ".", "--class", "Methods"],
            "give the namespace too, as Namespace/Class",
        ),
        (
            vec!["new", "method", "m", "--domain", ".", "--class", "Demo/Me$thods"],
            "bad class name \"Me$thods\"",
        ),
        (
            vec!["new", "state-machine", "S", "--domain", ".", "--namespace", "A//B"],
            "the namespace name is empty",
        ),
        (
            vec!["new", "state-machine", "S", "--domain", dir, "--namespace", "Demo"],
            "is not a domain (no __domain__.yaml)",
        ),
    ] {
        let out = miq_in(&domain, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(cause), "{args:?}: {err}");
    }
    // None of the refusals wrote anything.
    assert!(!tmp.path().join("1st").exists());
    assert!(!domain.join("A").exists());
    lint_is_clean(&domain);
}
