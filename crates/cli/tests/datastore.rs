//! `miq-automate datastore stats|lint`, run as a user runs them.

#[path = "support/cli.rs"]
mod cli;

use cli::{miq, stdout};

#[test]
fn stats_counts_what_a_domain_holds() {
    let out = miq(&["datastore", "stats", "examples/domains/RollbackDemo"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(
        text.contains("domain RollbackDemo (priority 10, enabled)"),
        "{text}"
    );
    assert!(
        text.contains("1 domain(s), 6 namespaces, 3 classes, 7 instances, 8 methods"),
        "{text}"
    );
    let out = miq(&["datastore", "stats", "tests/domains/engine"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("domain Off (priority 30, disabled)"));
}

#[test]
fn stats_of_a_bad_domain_names_every_bad_file() {
    let out = miq(&["datastore", "stats", "tests/domains/bad"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(err.contains(
        "BadPriority.class/__class__.yaml: object.schema[3].field.priority: expected integer"
    ));
}

#[test]
fn lint_finds_the_test_domains_deliberate_dangling_relationship() {
    let out = miq(&["datastore", "lint", "tests/domains/engine"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    // The test domains name a missing class and methods on purpose (cases 23, 25, 35).
    assert!(
        text.contains(
            "rel_missing: relationship to [/Test/NoSuchClass/x]: no domain has this instance"
        ),
        "{text}"
    );
    assert!(
        text.contains("no_method.yaml: execute: method [nope] does not exist"),
        "{text}"
    );
    assert!(text.contains("0 bad file(s), 4 finding(s)"), "{text}");
}

#[test]
fn lint_reports_bad_files_missing_methods_and_instances() {
    let out = miq(&["datastore", "lint", "tests/domains/bad"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    for expected in [
        "BadPriority.class/__class__.yaml: object.schema[3].field.priority: expected integer, found a string",
        "BadYaml.class/broken.yaml: not valid YAML",
        "NoName.class/__methods__/m.yaml: object.attributes.name: missing",
        "Lint.class/__class__.yaml: s1.on_entry: method [no_such_method(x => 1)] does not exist",
        "Lint.class/__class__.yaml: r: relationship to [/NS/Good/nowhere]: no domain has this instance",
        "Lint.class/__class__.yaml: m: method [missing_method] does not exist",
        "3 bad file(s), 3 finding(s)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn lint_of_an_unreadable_path_exits_1() {
    let out = miq(&["datastore", "lint", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the directory"));
    let out = miq(&["datastore", "lint", "examples"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no __domain__.yaml"));
}

// Issue 21: hostile exports. Each runs the binary under a deadline, so a hang fails.

mod hostile {
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output, Stdio};
    use std::time::{Duration, Instant};

    /// `miq-automate args…`, killed (and the test failed) after 20 s.
    fn miq_within(args: &[&str]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_miq-automate"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("miq-automate {args:?} did not end within 20 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn doc(kind: &str, attributes: &str, extra: &str) -> String {
        format!(
            "---\nobject_type: {kind}\nversion: 1.0\nobject:\n  attributes:\n{attributes}{extra}"
        )
    }

    /// Domain `D`, namespace `NS`, class folder `<folder>.class` named `name` with an inline
    /// method `m`: (domain, namespace, class folder).
    fn domain(root: &Path, classes: &[(&str, &str)]) -> (PathBuf, PathBuf, Vec<PathBuf>) {
        let d = root.join("D");
        write(
            &d.join("__domain__.yaml"),
            &doc(
                "domain",
                "    name: D\n    priority: 10\n    enabled: true\n",
                "",
            ),
        );
        let ns = d.join("NS");
        write(
            &ns.join("__namespace__.yaml"),
            &doc("namespace", "    name: NS\n", ""),
        );
        let mut dirs = Vec::new();
        for (folder, name) in classes {
            let c = ns.join(format!("{folder}.class"));
            write(
                &c.join("__class__.yaml"),
                &doc("class", &format!("    name: {name}\n"), "  schema: []\n"),
            );
            write(
                &c.join("__methods__/m.yaml"),
                &doc("method", "    name: m\n    location: inline\n", ""),
            );
            write(&c.join("__methods__/m.rb"), "exit MIQ_OK\n");
            dirs.push(c);
        }
        (d, ns, dirs)
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn stats_of_a_namespace_linking_to_itself_twice_ends_and_warns_for_each_link() {
        let t = tempfile::tempdir().unwrap();
        let (d, ns, _) = domain(t.path(), &[("Cls", "Cls")]);
        symlink(".", ns.join("loop1")).unwrap();
        symlink(".", ns.join("loop2")).unwrap();
        let out = miq_within(&["datastore", "stats", d.to_str().unwrap()]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(
            stdout.contains("1 domain(s), 1 namespaces, 1 classes, 0 instances, 1 methods"),
            "{stdout}"
        );
        for link in ["loop1", "loop2"] {
            let expected = format!(
                "warning: {}: a symbolic link to a folder already loaded as {}: not followed (a cycle, or a second copy)",
                ns.join(link).display(),
                ns.display()
            );
            assert!(
                stderr.contains(&expected),
                "missing {expected:?} in\n{stderr}"
            );
        }
    }

    #[test]
    fn stats_refuses_fifos_bodies_from_outside_and_bad_bytes_naming_each_file() {
        let t = tempfile::tempdir().unwrap();
        let (d, _, classes) = domain(t.path(), &[("A", "A"), ("B", "B"), ("C", "C")]);
        let fifo = classes[0].join("__methods__/m.rb");
        fs::remove_file(&fifo).unwrap();
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let passwd = classes[1].join("__methods__/m.rb");
        fs::remove_file(&passwd).unwrap();
        symlink("/etc/passwd", &passwd).unwrap();
        let latin1 = classes[2].join("__methods__/m.rb");
        fs::write(&latin1, b"# caf\xE9\n").unwrap();
        let out = miq_within(&["datastore", "stats", d.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.lines().collect::<Vec<_>>(),
            [
                format!("{}: a FIFO, not a regular file: refused", fifo.display()),
                format!(
                    "{}: a symbolic link resolving outside the domain directory: refused",
                    passwd.display()
                ),
                format!(
                    "{}: not UTF-8: byte 0xE9 at byte offset 5",
                    latin1.display()
                ),
            ]
        );
        assert!(!stderr.contains("root:"));
    }

    #[test]
    fn run_on_a_fifo_method_body_ends_with_exit_1_naming_it() {
        // `run` loads through MiqAutomate::Engine (the Ruby extension, `make ruby-ext`).
        let t = tempfile::tempdir().unwrap();
        let (d, _, classes) = domain(t.path(), &[("Cls", "Cls")]);
        let fifo = classes[0].join("__methods__/m.rb");
        fs::remove_file(&fifo).unwrap();
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let out = miq_within(&["run", "/NS/Cls/x", "--datastore", d.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{}: a FIFO, not a regular file: refused",
                fifo.display()
            )),
            "{stderr}"
        );
    }

    #[test]
    fn lint_reports_links_collisions_and_missing_bodies_as_findings() {
        let t = tempfile::tempdir().unwrap();
        let (d, ns, classes) = domain(t.path(), &[("Cls", "Cls"), ("cls", "cls")]);
        symlink(".", ns.join("loop")).unwrap();
        symlink("/etc", ns.join("etc")).unwrap();
        fs::remove_file(classes[0].join("__methods__/m.rb")).unwrap();
        let out = miq_within(&["datastore", "lint", d.to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{stdout}");
        for expected in [
            format!(
                "{}: load: a symbolic link leaving the domain directory: not followed",
                ns.join("etc").display()
            ),
            format!(
                "{}: load: a symbolic link to a folder already loaded as {}: not followed",
                ns.join("loop").display(),
                ns.display()
            ),
            format!(
                "{}: load: class [cls] has the name of class [Cls] at {} ignoring case: only that one is reachable",
                classes[1].join("__class__.yaml").display(),
                classes[0].join("__class__.yaml").display()
            ),
            format!(
                "{}: load: inline method [m] without its body: {} is missing",
                classes[0].join("__methods__/m.yaml").display(),
                classes[0].join("__methods__/m.rb").display()
            ),
            "0 bad file(s), 4 finding(s)".to_string(),
        ] {
            assert!(stdout.contains(&expected), "missing {expected:?} in\n{stdout}");
        }
    }
}

/// A domain `Acme` (a state machine with bad limits, a method embedding one that does not
/// exist) over a domain `Base` that has a finding of its own.
fn gate_domains(dir: &std::path::Path) {
    let w = |p: &str, t: &str| {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, t).unwrap();
    };
    let domain = |name: &str, priority: u8| {
        format!("object_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n    priority: {priority}\n    enabled: true\n")
    };
    let ns = "object_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: NS\n";
    w("Base/__domain__.yaml", &domain("Base", 1));
    w("Base/NS/__namespace__.yaml", ns);
    w("Base/NS/Rel.class/__class__.yaml", "object_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: Rel\n  schema:\n  - field:\n      aetype: relationship\n      name: rel\n      priority: 1\n      default_value: /NS/Nowhere/here\n");
    w("Acme/__domain__.yaml", &domain("Acme", 50));
    w("Acme/NS/__namespace__.yaml", ns);
    w("Acme/NS/SM.class/__class__.yaml", "object_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: SM\n  schema:\n  - field:\n      aetype: state\n      name: Wait\n      priority: 1\n      max_retries: five\n      max_time: 1.hour\n  - field:\n      aetype: method\n      name: execute\n      priority: 2\n");
    w("Acme/NS/SM.class/__methods__/m.yaml", "object_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: m\n    language: ruby\n    location: inline\n    embedded_methods:\n    - /NS/Lib/nope\n");
    w(
        "Acme/NS/SM.class/__methods__/m.rb",
        "$evm.log(:info, 'hi')\n",
    );
}

#[test]
fn lint_gates_one_domain_with_its_limits_and_embedded_methods() {
    let dir = tempfile::tempdir().unwrap();
    gate_domains(dir.path());
    let base = dir.path().join("Base");
    let acme = dir.path().join("Acme");
    let out = miq(&[
        "datastore",
        "lint",
        base.to_str().unwrap(),
        acme.to_str().unwrap(),
        "--only",
        "Acme",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("Wait.max_retries: \"five\" is not a whole number of retries"),
        "{text}"
    );
    assert!(!text.contains("max_time"), "1.hour is seconds: {text}");
    assert!(
        text.contains("m.embedded_methods: embedded method /NS/Lib/nope not found in any domain"),
        "{text}"
    );
    assert!(
        !text.contains("Nowhere"),
        "Base's finding is not Acme's: {text}"
    );

    let out = miq(&[
        "datastore",
        "lint",
        base.to_str().unwrap(),
        acme.to_str().unwrap(),
        "--only",
        "Base",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("Nowhere"));
    let out = miq(&[
        "datastore",
        "lint",
        base.to_str().unwrap(),
        "--only",
        "Nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--only Nope: no such domain (loaded: Base)")
    );
}

#[test]
fn lint_compiles_every_inline_method_with_ruby() {
    let dir = tempfile::tempdir().unwrap();
    gate_domains(dir.path());
    let rb = dir.path().join("Acme/NS/SM.class/__methods__/m.rb");
    std::fs::write(&rb, "def broken(\n").unwrap();
    let acme = dir.path().join("Acme");
    let out = miq(&["datastore", "lint", acme.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("{}:1: syntax error", rb.display()))
            && text.contains("(Ruby syntax)"),
        "{text}"
    );
}

#[test]
fn lint_checks_a_retry_interval_attribute() {
    let dir = tempfile::tempdir().unwrap();
    gate_domains(dir.path());
    std::fs::write(
        dir.path().join("Acme/NS/SM.class/__class__.yaml"),
        "object_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: SM\n  schema:\n  - field:\n      aetype: attribute\n      name: ae_retry_interval\n      priority: 1\n      default_value: 2.eons\n",
    )
    .unwrap();
    let acme = dir.path().join("Acme");
    let out = miq(&["datastore", "lint", acme.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("ae_retry_interval.value: \"2.eons\" is not seconds"),
        "{text}"
    );
}
