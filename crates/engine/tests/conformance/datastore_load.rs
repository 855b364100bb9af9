//! The loader, checked against ManageIQ's importer (`app/models/miq_ae_yaml_import.rb`): no
//! single peer spec file covers it (the importer's specs import into the database). It also
//! loads every domain of the peer's `spec/data` when a checkout of
//! ManageIQ/manageiq-automation_engine is at hand: `MIQ_AE_ENGINE_REPO` (a working tree, or
//! a git directory read with `git archive`), else the mirror kept at
//! `/work/.mirror/ManageIQ+manageiq-automation_engine/repo`; without one that test says so
//! and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use miq_automate_core::Value;
use miq_automate_engine::{Datastore, Engine, ScriptedRunner};

use crate::support::build::{attribute, relationship, TempDomains};
use crate::support::{datastore, no_attrs, repo};

#[test]
fn loads_domains_classes_instances_and_methods() {
    let ds = datastore();
    let s = ds.stats();
    assert_eq!(s.domains, 3);
    assert!(
        s.classes >= 14 && s.instances >= 40 && s.methods >= 10,
        "{s}"
    );
    let (_, base) = ds.domain("base").unwrap();
    assert_eq!((base.priority, base.enabled), (10, true));
    assert!(!ds.domain("Off").unwrap().1.enabled);
    let id = ds
        .class_by_fqname("BASE/test", "attrs")
        .expect("case-insensitive");
    let class = ds.class(id);
    assert!(
        class.instance(".MISSING").is_some(),
        "_missing.yaml is .missing"
    );
    assert_eq!(class.instance("ONE").unwrap().name, "one");
    let m = ds.class(ds.class_by_fqname("Base/Test", "Methods").unwrap());
    assert_eq!(m.method("LOG_IT").unwrap().location, "builtin");
    assert!(m
        .method("set_attr")
        .unwrap()
        .data
        .as_deref()
        .unwrap()
        .contains("exit MIQ_OK"));
    assert_eq!(m.method("set_attr").unwrap().inputs.len(), 3);
}

#[test]
fn reports_every_bad_file_with_its_yaml_path() {
    let errors = Datastore::load(&[repo().join("tests/domains/bad")])
        .unwrap_err()
        .0;
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{text:#?}");
    assert!(text.iter().any(|e| e.ends_with(
        "BadPriority.class/__class__.yaml: object.schema[3].field.priority: expected integer, found a string"
    )), "{text:#?}");
    assert!(
        text.iter()
            .any(|e| e.contains("BadYaml.class/broken.yaml: not valid YAML")),
        "{text:#?}"
    );
    assert!(text.iter().any(|e| e.ends_with(
        "NoName.class/__methods__/m.yaml: object.attributes.name: missing: every export names its object"
    )), "{text:#?}");
    // The lenient form keeps what loaded, including an instance whose object_type is not
    // `instance` (the engine's importer does not check it).
    let (ds, errs) = Datastore::load_lenient(&[repo().join("tests/domains/bad")]);
    assert_eq!(errs.len(), 3);
    let good = ds.class(ds.class_by_fqname("Broken/NS", "Good").unwrap());
    assert!(good.instance("network.delete").is_some());
}

#[test]
fn refuses_a_directory_without_domains() {
    let errors = Datastore::load(&[repo().join("tests/domains/engine/Base/Test")]).unwrap_err();
    assert!(errors.0[0].message.contains("no __domain__.yaml"));
}

/// Older exports write scalars under YAML's non-specific tag `!`; Psych reads them as plain
/// values.
#[test]
fn a_scalar_under_the_non_specific_tag_reads_as_its_plain_value() {
    let t = TempDomains::new();
    t.domain("Old", 10)
        .class("NS/Plain", &[attribute("a"), relationship("rel")])
        .instance("x", &[]);
    t.write(
        "Old/NS/Tagged.class/__class__.yaml",
        "---\nobject_type: class\nversion: 1.0\nobject:\n  attributes:\n    description: ! 'Event '\n    name: Tagged\n  schema:\n  - field:\n      aetype: relationship\n      name: rel\n      priority: 1\n      collect: ! '{:a => a}'\n  - field:\n      aetype: attribute\n      name: after\n      priority: 2\n      default_value: ! 5\n",
    );
    t.write(
        "Old/NS/Tagged.class/start.yaml",
        "---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: start\n  fields:\n  - rel:\n      value: ! \"/NS/Plain/x?a=\\\"quoted\\\"\"\n",
    );
    let ds = t.load();
    let class = ds.class(ds.class_by_fqname("Old/NS", "Tagged").unwrap());
    assert_eq!(class.description.as_deref(), Some("Event "));
    assert_eq!(class.fields[0].collect.as_deref(), Some("{:a => a}"));
    assert_eq!(class.fields[1].default_value.as_deref(), Some("5"));
    let start = class.instance("start").unwrap();
    assert_eq!(
        start.value_of("rel").unwrap().value.as_deref(),
        Some("/NS/Plain/x?a=\"quoted\"")
    );
    let run = Engine::new(ds)
        .with_runner(ScriptedRunner::new())
        .instantiate("/NS/Tagged/start", no_attrs())
        .unwrap();
    assert_eq!(
        run.root_get("rel"),
        Value::Hash(vec![(Value::Symbol("a".into()), Value::from("\"quoted\""))])
    );
}

#[test]
fn any_other_tag_is_refused_with_its_yaml_path() {
    let t = TempDomains::new();
    t.domain("Old", 10)
        .class("NS/Plain", &[attribute("a")])
        .instance("x", &[]);
    t.write(
        "Old/NS/Plain.class/y.yaml",
        "---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: y\n  fields:\n  - a:\n      value: !ruby/object:Foo x\n  - a:\n      collect: ! [a, b]\n",
    );
    let errors = Datastore::load(&[t.path()]).unwrap_err().0;
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:#?}");
    assert!(
        text[0].ends_with("y.yaml: object.fields[0].a.value: expected a string, found a value tagged !ruby/object:Foo"),
        "{text:#?}"
    );
    assert!(
        text[1].ends_with(
            "y.yaml: object.fields[1].a.collect: expected a string, found a value tagged !"
        ),
        "{text:#?}"
    );
}

/// ManageIQ's importer drops an export's `enabled` (or keeps a blank one, restoring): the
/// domain is created disabled, MiqAeDomain's default, so the overlay skips it; a path that
/// names the domain still reaches it. Only system domains are always enabled.
#[test]
fn a_blank_enabled_imports_as_disabled_except_a_system_domain() {
    let t = TempDomains::new();
    let blank = |name: &str, source: Option<&str>| {
        let mut attrs = serde_json::json!({"name": name, "priority": 100, "enabled": null});
        if let Some(s) = source {
            attrs["source"] = serde_json::json!(s);
        }
        t.domain_with(name, attrs)
            .class("NS/C", &[attribute("who").default(name)])
            .instance("i", &[]);
    };
    blank("Spec", None);
    blank("Shipped", Some("system"));
    blank("ManageIQ", None);
    t.domain("Low", 1)
        .class("NS/C", &[attribute("who").default("Low")])
        .instance("i", &[]);
    let ds = t.load();
    let enabled = |n: &str| ds.domain(n).unwrap().1.enabled;
    assert!(!enabled("Spec"));
    assert!(enabled("Shipped"));
    assert!(enabled("ManageIQ"));
    assert!(enabled("Low"));
    let e = Engine::new(ds).with_runner(ScriptedRunner::new());
    // Spec (100, disabled) is skipped; Shipped and ManageIQ (100) are reachable.
    let run = e.instantiate("/NS/C/i", no_attrs()).unwrap();
    assert_ne!(run.root_get("who"), Value::from("Spec"));
    assert_ne!(run.root_get("who"), Value::from("Low"));
    let run = e.instantiate("/Spec/NS/C/i", no_attrs()).unwrap();
    assert_eq!(run.root_get("who"), Value::from("Spec"));
}

/// The peer's checkout: `MIQ_AE_ENGINE_REPO`, else the mirror.
fn peer_repo() -> PathBuf {
    std::env::var_os("MIQ_AE_ENGINE_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/.mirror/ManageIQ+manageiq-automation_engine/repo"))
}

/// `git archive HEAD spec/data | tar -x` into `into`.
fn extract_spec_data(repo: &Path, into: &Path) {
    let mut git = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["archive", "HEAD", "spec/data"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("git runs");
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(git.stdout.take().expect("git's output"))
        .status()
        .expect("tar runs");
    let git = git.wait().expect("git ends");
    assert!(
        git.success() && tar.success(),
        "cannot extract spec/data from {} (git {git}, tar {tar})",
        repo.display()
    );
}

#[test]
fn loads_every_domain_of_the_peers_spec_data() {
    let repo = peer_repo();
    if !repo.exists() {
        eprintln!(
            "SKIPPED: no checkout of ManageIQ/manageiq-automation_engine at {} (set MIQ_AE_ENGINE_REPO to one)",
            repo.display()
        );
        return;
    }
    let extracted = TempDomains::new();
    let data = if repo.join("spec/data").is_dir() {
        repo.join("spec/data")
    } else {
        extract_spec_data(&repo, extracted.path());
        extracted.path().join("spec/data")
    };
    let mut collections: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    collections.sort();
    let (mut domains, mut disabled) = (0, Vec::new());
    for dir in &collections {
        let ds = Datastore::load(&[dir])
            .unwrap_or_else(|e| panic!("{} does not load: {e}", dir.display()));
        eprintln!("{}: {}", dir.display(), ds.stats());
        domains += ds.domains().len();
        for d in ds.domains().iter().filter(|d| !d.enabled) {
            disabled.push(format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                d.name
            ));
        }
    }
    assert!(domains >= 20, "{domains} domains in {}", data.display());
    // Every export there leaves `enabled:` blank but one (`substitution`, `enabled: true`).
    assert_eq!(disabled.len(), domains - 1, "{disabled:#?}");
    assert!(!disabled.iter().any(|d| d.starts_with("substitution/")));
}
