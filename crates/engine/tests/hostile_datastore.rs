//! Issue 21: the loader on hostile input — no hang, no leak, nothing lost, never silently
//! wrong. Each test builds its export in a temp dir and is named after the behaviour; every
//! load runs under a watchdog, so a hang fails the test instead of blocking the suite.
//!
//! The last test is a property harness: random trees of good and garbage YAML, symbolic
//! links (to folders, files, outside, loops), FIFOs and bad bytes, each loaded under a 5 s
//! watchdog: the loader returns, never panics, reads nothing outside the domain and loads
//! each class file at most once. It uses its own small PRNG (seeded per case, the seed in
//! the failure message) rather than proptest, which the engine crate does not depend on.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use miq_automate_engine::datastore::{
    Datastore, LoadError, LoadWarning, MAX_METHOD_FILE_BYTES, MAX_YAML_FILE_BYTES,
};
use miq_automate_engine::lint::lint;

// ---------------------------------------------------------------------------------------
// Fixtures

/// A temp directory removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Temp {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("miq-hostile-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // The real path: the loader reports paths as it walks them, links resolved or not.
        Temp(fs::canonicalize(&dir).unwrap())
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn doc(kind: &str, attributes: &str, extra: &str) -> String {
    format!("---\nobject_type: {kind}\nversion: 1.0\nobject:\n  attributes:\n{attributes}{extra}")
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A domain `name` in `parent`; returns its directory.
fn domain(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    write(
        &dir.join("__domain__.yaml"),
        doc(
            "domain",
            &format!("    name: {name}\n    priority: 10\n    enabled: true\n"),
            "",
        ),
    );
    dir
}

/// A namespace folder `ns` (one level) in `parent`; returns it.
fn namespace(parent: &Path, ns: &str) -> PathBuf {
    let dir = parent.join(ns);
    write(
        &dir.join("__namespace__.yaml"),
        doc("namespace", &format!("    name: {ns}\n"), ""),
    );
    dir
}

/// A class `name` (folder `<folder>.class`) with one method field and instance `run`
/// calling method `m`, whose body is `m.rb`; returns the class folder.
fn class_named(parent: &Path, folder: &str, name: &str) -> PathBuf {
    let dir = parent.join(format!("{folder}.class"));
    write(
        &dir.join("__class__.yaml"),
        doc(
            "class",
            &format!("    name: {name}\n"),
            "  schema:\n  - field:\n      aetype: method\n      name: execute\n      priority: 1\n",
        ),
    );
    write(
        &dir.join("run.yaml"),
        doc(
            "instance",
            "    name: run\n",
            "  fields:\n  - execute:\n      value: m\n",
        ),
    );
    write(
        &dir.join("__methods__/m.yaml"),
        doc(
            "method",
            "    name: m\n    location: inline\n    language: ruby\n    scope: instance\n",
            "  inputs: []\n",
        ),
    );
    write(&dir.join("__methods__/m.rb"), "exit MIQ_OK\n");
    dir
}

fn class(parent: &Path, name: &str) -> PathBuf {
    class_named(parent, name, name)
}

/// Domain `D` with namespace `NS` holding class `Cls`: (domain dir, namespace dir, class dir).
fn simple_domain(t: &Temp) -> (PathBuf, PathBuf, PathBuf) {
    let d = domain(t.path(), "D");
    let ns = namespace(&d, "NS");
    let c = class(&ns, "Cls");
    (d, ns, c)
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Runs `f` on its own thread and fails the test if it takes more than `secs`: a loader
/// that hangs (a FIFO, a link cycle) fails here instead of blocking the suite.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: did not end within {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the load panicked"),
    }
}

fn load(dir: &Path) -> Result<Datastore, Vec<LoadError>> {
    let dir = dir.to_path_buf();
    within(5, "Datastore::load", move || {
        Datastore::load(&[dir]).map_err(|e| e.0)
    })
}

fn load_lenient(dir: &Path) -> (Datastore, Vec<LoadError>) {
    let dir = dir.to_path_buf();
    within(5, "Datastore::load_lenient", move || {
        Datastore::load_lenient(&[dir])
    })
}

fn texts<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

fn warning_for<'a>(ds: &'a Datastore, path: &Path) -> &'a LoadWarning {
    ds.warnings()
        .iter()
        .find(|w| w.path == path)
        .unwrap_or_else(|| {
            panic!(
                "no warning for {}: {:#?}",
                path.display(),
                texts(ds.warnings())
            )
        })
}

// ---------------------------------------------------------------------------------------
// 1. Symbolic links: followed only inside the domain, each folder once; the others reported.

#[test]
fn two_links_to_their_own_folder_end_at_once_and_are_both_reported() {
    let t = Temp::new("loops");
    let (d, ns, _) = simple_domain(&t);
    symlink(".", ns.join("loop1")).unwrap();
    symlink(".", ns.join("loop2")).unwrap();
    let ds = load(&d).expect("the domain loads");
    assert_eq!(ds.stats().classes, 1);
    for link in ["loop1", "loop2"] {
        let w = warning_for(&ds, &ns.join(link));
        assert!(
            w.message.contains("already loaded as") && w.message.contains("not followed"),
            "{w}"
        );
    }
    // lint says it too, as a finding naming the link.
    let findings = texts(&lint(&ds));
    assert!(
        findings.iter().any(|f| f.starts_with(&format!(
            "{}: load: a symbolic link",
            ns.join("loop1").display()
        ))),
        "{findings:#?}"
    );
}

#[test]
fn a_link_to_its_own_folder_loads_the_class_once() {
    let t = Temp::new("self-link");
    let (d, ns, c) = simple_domain(&t);
    symlink(".", ns.join("loop")).unwrap();
    let ds = load(&d).unwrap();
    assert_eq!(ds.stats().classes, 1, "{:#?}", ds.classes());
    assert_eq!(ds.classes()[0].file, c.join("__class__.yaml"));
    assert_eq!(ds.warnings().len(), 1, "{:#?}", texts(ds.warnings()));
}

#[test]
fn a_link_to_the_domain_root_or_a_parent_is_a_cycle_and_is_not_followed() {
    let t = Temp::new("up-links");
    let (d, ns, _) = simple_domain(&t);
    symlink("..", ns.join("up")).unwrap();
    symlink(&d, ns.join("root")).unwrap();
    let ds = load(&d).unwrap();
    assert_eq!(ds.stats().classes, 1);
    assert_eq!(ds.warnings().len(), 2, "{:#?}", texts(ds.warnings()));
}

#[test]
fn a_link_to_a_folder_already_loaded_loads_it_once_under_its_real_name() {
    // `Alias` sorts before `Real`: the real folder still wins.
    let t = Temp::new("alias");
    let d = domain(t.path(), "D");
    let real = namespace(&d, "Real");
    class(&real, "Cls");
    symlink("Real", d.join("Alias")).unwrap();
    let ds = load(&d).unwrap();
    assert_eq!(ds.stats().classes, 1);
    assert!(ds.class_by_fqname("D/Real", "Cls").is_some());
    assert!(ds.class_by_fqname("D/Alias", "Cls").is_none());
    let w = warning_for(&ds, &d.join("Alias"));
    assert!(
        w.message
            .contains(&format!("already loaded as {}", real.display())),
        "{w}"
    );
}

#[test]
fn a_link_to_a_folder_inside_the_domain_not_otherwise_loaded_is_followed() {
    // `shared/` has no __namespace__.yaml, so only the link reaches its namespace.
    let t = Temp::new("inside");
    let d = domain(t.path(), "D");
    let shared = namespace(&d.join("shared"), "Lib");
    class(&shared, "Cls");
    symlink("shared/Lib", d.join("Lib")).unwrap();
    let ds = load(&d).unwrap();
    assert!(ds.class_by_fqname("D/Lib", "Cls").is_some());
    assert!(ds.warnings().is_empty(), "{:#?}", texts(ds.warnings()));
}

#[test]
fn links_to_a_folder_and_to_its_parent_load_the_folder_once() {
    // Only links reach `shared/`: `a` its sub-folder `S`, then `b` the folder holding it.
    let t = Temp::new("nested-links");
    let d = domain(t.path(), "D");
    let outer = namespace(&d.join("shared"), "T");
    let inner = namespace(&outer, "S");
    class(&inner, "Cls");
    symlink("shared/T/S", d.join("a")).unwrap();
    symlink("shared/T", d.join("b")).unwrap();
    let ds = load(&d).unwrap();
    assert_eq!(ds.stats().classes, 1, "{:#?}", texts(ds.warnings()));
    assert!(ds.class_by_fqname("D/a", "Cls").is_some());
    let w = warning_for(&ds, &d.join("b/S"));
    assert!(
        w.message
            .contains(&format!("already loaded as {}", d.join("a").display())),
        "{w}"
    );
}

#[test]
fn a_link_leaving_the_domain_is_not_followed_and_is_reported() {
    let t = Temp::new("outside");
    let d = domain(t.path(), "D");
    let elsewhere = namespace(&t.path().join("elsewhere"), "Other");
    class(&elsewhere, "Cls");
    symlink(&elsewhere, d.join("Other")).unwrap();
    let ds = load(&d).unwrap();
    assert_eq!(ds.stats().classes, 0);
    let w = warning_for(&ds, &d.join("Other"));
    assert_eq!(
        w.message,
        "a symbolic link leaving the domain directory: not followed"
    );
}

#[test]
fn dangling_and_looping_links_are_reported() {
    let t = Temp::new("dangling");
    let (d, ns, _) = simple_domain(&t);
    symlink("nowhere", ns.join("dangling")).unwrap();
    symlink("b", ns.join("a")).unwrap();
    symlink("a", ns.join("b")).unwrap();
    let ds = load(&d).unwrap();
    assert_eq!(ds.stats().classes, 1);
    for link in ["dangling", "a", "b"] {
        let w = warning_for(&ds, &ns.join(link));
        assert!(w.message.contains("does not resolve"), "{w}");
    }
}

#[test]
fn an_instance_file_linked_from_outside_the_domain_is_skipped_and_reported() {
    let t = Temp::new("outside-instance");
    let (d, _, c) = simple_domain(&t);
    let outside = t.path().join("x.yaml");
    write(&outside, doc("instance", "    name: x\n", "  fields: []\n"));
    symlink(&outside, c.join("x.yaml")).unwrap();
    let ds = load(&d).unwrap();
    assert_eq!(ds.stats().instances, 1);
    assert!(warning_for(&ds, &c.join("x.yaml"))
        .message
        .contains("leaving the domain"));
}

#[test]
fn a_domain_linked_into_a_directory_of_domains_from_elsewhere_is_not_loaded() {
    let t = Temp::new("outside-domain");
    let datastore = t.path().join("datastore");
    domain(&datastore, "Inside");
    let elsewhere = domain(&t.path().join("elsewhere"), "Elsewhere");
    symlink(&elsewhere, datastore.join("Elsewhere")).unwrap();
    let ds = load(&datastore).unwrap();
    let names: Vec<&str> = ds.domains().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Inside"]);
    assert!(warning_for(&ds, &datastore.join("Elsewhere"))
        .message
        .contains("leaving the directory given"));
}

// ---------------------------------------------------------------------------------------
// 2. Only regular files are read: a FIFO, socket or device is an error naming it.

#[test]
fn a_fifo_method_body_is_an_error_naming_it_not_a_hang() {
    let t = Temp::new("fifo-rb");
    let (d, _, c) = simple_domain(&t);
    let rb = c.join("__methods__/m.rb");
    fs::remove_file(&rb).unwrap();
    mkfifo(&rb);
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: a FIFO, not a regular file: refused",
            rb.display()
        )]
    );
}

#[test]
fn a_fifo_instance_class_or_domain_file_is_an_error_naming_it() {
    let t = Temp::new("fifo-yaml");
    let (d, _, c) = simple_domain(&t);
    mkfifo(&c.join("fifo.yaml"));
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: a FIFO, not a regular file: refused",
            c.join("fifo.yaml").display()
        )]
    );
    let class_file = c.join("__class__.yaml");
    fs::remove_file(&class_file).unwrap();
    mkfifo(&class_file);
    let errors = texts(&load(&d).unwrap_err());
    assert!(
        errors.contains(&format!(
            "{}: a FIFO, not a regular file: refused",
            class_file.display()
        )),
        "{errors:#?}"
    );
    let domain_file = d.join("__domain__.yaml");
    fs::remove_file(&domain_file).unwrap();
    mkfifo(&domain_file);
    let errors = texts(&load(&d).unwrap_err());
    assert!(
        errors.contains(&format!(
            "{}: a FIFO, not a regular file: refused",
            domain_file.display()
        )),
        "{errors:#?}"
    );
}

#[test]
fn a_socket_method_body_is_an_error_naming_it() {
    let t = Temp::new("socket-rb");
    let (d, _, c) = simple_domain(&t);
    let rb = c.join("__methods__/m.rb");
    fs::remove_file(&rb).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(&rb).unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: a socket, not a regular file: refused",
            rb.display()
        )]
    );
}

// ---------------------------------------------------------------------------------------
// 3. Sizes are bounded: a method file at most 4 MiB, a YAML file at most 16 MiB.

#[test]
fn a_method_body_linked_to_dev_zero_is_refused_without_reading_it() {
    let t = Temp::new("dev-zero");
    let (d, _, c) = simple_domain(&t);
    let rb = c.join("__methods__/m.rb");
    fs::remove_file(&rb).unwrap();
    symlink("/dev/zero", &rb).unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: a symbolic link resolving outside the domain directory: refused",
            rb.display()
        )]
    );
}

#[test]
fn a_method_body_over_4_mib_is_an_error_naming_the_file_and_the_limit() {
    let t = Temp::new("big-rb");
    let (d, _, c) = simple_domain(&t);
    let rb = c.join("__methods__/m.rb");
    let f = fs::File::create(&rb).unwrap();
    f.set_len(MAX_METHOD_FILE_BYTES + 1).unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: {} bytes or more, over the limit of 4 MiB for this file",
            rb.display(),
            MAX_METHOD_FILE_BYTES + 1
        )]
    );
    // At the limit it loads, whole.
    let mut body = "#".repeat(MAX_METHOD_FILE_BYTES as usize - 1);
    body.push('\n');
    fs::write(&rb, &body).unwrap();
    let ds = load(&d).unwrap();
    let m = ds.classes()[0].method("m").unwrap();
    assert_eq!(m.data.as_deref().map(str::len), Some(body.len()));
}

#[test]
fn a_yaml_file_over_16_mib_is_an_error_naming_the_file_and_the_limit() {
    let t = Temp::new("big-yaml");
    let (d, _, c) = simple_domain(&t);
    let big = c.join("big.yaml");
    fs::File::create(&big)
        .unwrap()
        .set_len(MAX_YAML_FILE_BYTES + 1)
        .unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: {} bytes or more, over the limit of 16 MiB for this file",
            big.display(),
            MAX_YAML_FILE_BYTES + 1
        )]
    );
}

#[test]
fn a_yaml_alias_bomb_is_an_error_not_a_memory_blowup() {
    // Nine levels of ten aliases each would expand to a billion nodes.
    let t = Temp::new("alias-bomb");
    let (d, _, c) = simple_domain(&t);
    let mut bomb = String::from("---\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let bomb_file = c.join("bomb.yaml");
    write(&bomb_file, bomb);
    let errors = load(&d).unwrap_err();
    assert_eq!(errors.len(), 1, "{:#?}", texts(&errors));
    assert_eq!(errors[0].file, bomb_file);
    assert!(
        errors[0].message.starts_with("not valid YAML"),
        "{}",
        errors[0]
    );
}

// ---------------------------------------------------------------------------------------
// 4. A method never silently loses its body.

#[test]
fn an_inline_method_without_its_rb_is_reported_not_silently_empty() {
    // ManageIQ's importer loads it (`File.read(rb) if File.exist?(rb)`) with no body, and
    // so does the loader (the peer's own spec data has one), but it is said: a warning
    // naming the method YAML and the .rb expected, and a lint finding.
    let t = Temp::new("no-rb");
    let (d, _, c) = simple_domain(&t);
    let rb = c.join("__methods__/m.rb");
    fs::remove_file(&rb).unwrap();
    let ds = load(&d).unwrap();
    let yaml = c.join("__methods__/m.yaml");
    let w = warning_for(&ds, &yaml);
    assert_eq!(
        w.message,
        format!(
            "inline method [m] without its body: {} is missing (ManageIQ's importer loads it empty, and running it does nothing)",
            rb.display()
        )
    );
    let findings = texts(&lint(&ds));
    assert!(
        findings.iter().any(|f| f.starts_with(&format!(
            "{}: load: inline method [m] without its body",
            yaml.display()
        ))),
        "{findings:#?}"
    );
}

#[test]
fn a_latin_1_byte_in_a_method_body_is_an_error_with_its_offset() {
    let t = Temp::new("latin1-rb");
    let (d, _, c) = simple_domain(&t);
    let rb = c.join("__methods__/m.rb");
    fs::write(&rb, b"$evm.log(:info, \"Jos\xE9\")\n").unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: not UTF-8: byte 0xE9 at byte offset 20",
            rb.display()
        )]
    );
    // lint reports it as a bad file.
    let (_, errors) = load_lenient(&d);
    assert_eq!(errors.len(), 1);
}

#[test]
fn a_latin_1_byte_in_a_yaml_file_is_an_error_with_its_offset() {
    let t = Temp::new("latin1-yaml");
    let (d, _, c) = simple_domain(&t);
    let mut bytes = doc("instance", "    name: x\n    description: ", "").into_bytes();
    let offset = bytes.len();
    bytes.extend_from_slice(b"caf\xE9\n");
    fs::write(c.join("x.yaml"), &bytes).unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: not UTF-8: byte 0xE9 at byte offset {}",
            c.join("x.yaml").display(),
            offset + 3
        )]
    );
}

// ---------------------------------------------------------------------------------------
// 5. Names that differ only in case: the first is reachable, the others reported.

#[test]
fn classes_differing_only_in_case_are_reported_naming_both() {
    let t = Temp::new("case-classes");
    let (d, ns, c) = simple_domain(&t);
    let lower = class(&ns, "cls");
    let ds = load(&d).unwrap();
    let w = warning_for(&ds, &lower.join("__class__.yaml"));
    assert_eq!(
        w.message,
        format!(
            "class [cls] has the name of class [Cls] at {} ignoring case: only that one is reachable",
            c.join("__class__.yaml").display()
        )
    );
    // Every lookup reaches the first, by domain or through the overlay.
    let first = ds.class_by_fqname("D/NS", "CLS").unwrap();
    assert_eq!(ds.class(first).file, c.join("__class__.yaml"));
    assert_eq!(ds.classes_by_relative("NS", "cls"), [first]);
    assert!(texts(&lint(&ds))
        .iter()
        .any(|f| f.contains("class [cls] has the name of class [Cls]")));
}

#[test]
fn instances_and_methods_differing_only_in_case_are_reported() {
    let t = Temp::new("case-instances");
    let (d, _, c) = simple_domain(&t);
    write(
        &c.join("zz.yaml"),
        doc("instance", "    name: RUN\n", "  fields: []\n"),
    );
    write(
        &c.join("__methods__/zz.yaml"),
        doc("method", "    name: M\n    location: builtin\n", ""),
    );
    let ds = load(&d).unwrap();
    assert!(warning_for(&ds, &c.join("zz.yaml"))
        .message
        .starts_with("instance [RUN] has the name of instance [run]"));
    assert!(warning_for(&ds, &c.join("__methods__/zz.yaml"))
        .message
        .starts_with("method [M] has the name of method [m]"));
}

#[test]
fn two_domains_with_one_name_are_reported_naming_both() {
    let t = Temp::new("case-domains");
    let first = domain(&t.path().join("a"), "D");
    let second = domain(&t.path().join("b"), "d");
    let ds = within(5, "load", {
        let (a, b) = (first.clone(), second.clone());
        move || Datastore::load(&[a, b]).unwrap()
    });
    let w = warning_for(&ds, &second);
    assert_eq!(
        w.message,
        format!(
            "domain [d] has the name of domain [D] at {}: /D/... paths reach only that one",
            first.display()
        )
    );
}

// ---------------------------------------------------------------------------------------
// 6. Nothing outside the domain is read, nor quoted.

#[test]
fn a_method_body_linked_to_etc_passwd_is_refused_and_never_quoted() {
    let t = Temp::new("passwd");
    let (d, _, c) = simple_domain(&t);
    let rb = c.join("__methods__/m.rb");
    fs::remove_file(&rb).unwrap();
    symlink("/etc/passwd", &rb).unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert_eq!(
        errors,
        [format!(
            "{}: a symbolic link resolving outside the domain directory: refused",
            rb.display()
        )]
    );
    assert!(!errors[0].contains("root:"));
    // The same through a linked __methods__ folder, or a relative link climbing out.
    fs::remove_file(&rb).unwrap();
    symlink("../../../../../../../../../../../../etc/passwd", &rb).unwrap();
    assert!(load(&d).unwrap_err()[0]
        .message
        .contains("outside the domain"));
}

#[test]
fn a_class_file_linked_from_outside_the_domain_is_refused() {
    let t = Temp::new("outside-class");
    let (d, _, c) = simple_domain(&t);
    let outside = t.path().join("secret.yaml");
    write(&outside, "top: secret\n");
    let class_file = c.join("__class__.yaml");
    fs::remove_file(&class_file).unwrap();
    symlink(&outside, &class_file).unwrap();
    let errors = texts(&load(&d).unwrap_err());
    assert!(
        errors.contains(&format!(
            "{}: a symbolic link resolving outside the domain directory: refused",
            class_file.display()
        )),
        "{errors:#?}"
    );
    assert!(!errors.iter().any(|e| e.contains("secret")));
}

// ---------------------------------------------------------------------------------------
// Loading can be interrupted (Ruby's Timeout, Ctrl-C), between files.

/// A domain with `n` instances, each a hard link to one ~`kib` KiB YAML file that takes a
/// while to parse (a long list the loader reads and drops).
fn slow_domain(t: &Temp, n: usize, kib: usize) -> PathBuf {
    let d = domain(t.path(), "Slow");
    let c = class(&namespace(&d, "NS"), "Cls");
    let mut junk = String::from("  junk:\n");
    while junk.len() < kib * 1024 {
        junk.push_str("  - {a: 1, b: [x, y, z], c: 'some text'}\n");
    }
    let first = c.join("i0.yaml");
    write(&first, doc("instance", "    name: i\n", &junk));
    for i in 1..n {
        fs::hard_link(&first, c.join(format!("i{i}.yaml"))).unwrap();
    }
    d
}

#[test]
fn a_load_cancelled_before_it_starts_returns_at_once() {
    let t = Temp::new("cancelled");
    let (d, _, _) = simple_domain(&t);
    let cancel = AtomicBool::new(true);
    let errors = Datastore::load_interruptible(&[&d], &cancel).unwrap_err().0;
    assert_eq!(
        texts(&errors),
        [format!("{}: loading was interrupted", d.display())]
    );
}

#[test]
fn a_slow_load_stops_soon_after_it_is_cancelled() {
    let t = Temp::new("slow");
    let d = slow_domain(&t, 1000, 64);
    let cancel = Arc::new(AtomicBool::new(false));
    let setter = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        setter.store(true, Ordering::Relaxed);
    });
    let start = Instant::now();
    let result = within(30, "an interrupted load", move || {
        Datastore::load_interruptible(&[d], &cancel).map(|ds| ds.stats())
    });
    let took = start.elapsed();
    let errors = result.expect_err("1000 files of 64 KiB do not load in 50 ms");
    assert!(errors.0[0].message == "loading was interrupted", "{errors}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

// ---------------------------------------------------------------------------------------
// 7. A property harness: random hostile trees; the loader returns, never hangs or panics.

/// xorshift64*: small and deterministic, so a failing case is replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Some file content: valid for its kind, garbage YAML, wrong shapes, bad bytes, empty.
fn random_content(rng: &mut Rng, valid: &str) -> Vec<u8> {
    match rng.below(10) {
        0 => b"{{{ not: yaml: [".to_vec(),
        1 => b"---\nobject: [1, 2]\n".to_vec(),
        2 => b"caf\xE9: \xFF\n".to_vec(),
        3 => Vec::new(),
        4 => b"--- !ruby/object:Foo\nx: 1\n".to_vec(),
        5 => b"a: &a [*a]\n".to_vec(),
        _ => valid.as_bytes().to_vec(),
    }
}

/// A random tree in `root` (the domain itself: `root/D`), with links that may point
/// anywhere under `t` (inside or outside the domain) or nowhere.
fn random_tree(rng: &mut Rng, t: &Temp) -> PathBuf {
    let outside = namespace(&t.path().join("outside"), "Out");
    class(&outside, "OutCls");
    write(&t.path().join("outside/file.rb"), "outside\n");
    let d = t.path().join("D");
    write(
        &d.join("__domain__.yaml"),
        random_content(
            rng,
            &doc(
                "domain",
                "    name: D\n    priority: 1\n    enabled: true\n",
                "",
            ),
        ),
    );
    let mut folders = vec![d.clone()];
    // Names are unique, so no file is written twice (nor through a link made earlier).
    for k in 0..rng.below(12) + 1 {
        let parent = folders[rng.below(folders.len())].clone();
        let name = format!("n{k}");
        match rng.below(8) {
            // A namespace, a class, a plain folder.
            0..=2 => {
                let dir = parent.join(&name);
                write(
                    &dir.join("__namespace__.yaml"),
                    random_content(rng, &doc("namespace", &format!("    name: {name}\n"), "")),
                );
                folders.push(dir);
            }
            3 | 4 => {
                let dir = class(&parent, &name);
                let victim = rng.pick(&[
                    "__class__.yaml",
                    "run.yaml",
                    "__methods__/m.yaml",
                    "__methods__/m.rb",
                ]);
                let file = dir.join(victim);
                match rng.below(6) {
                    0 => {
                        let _ = fs::remove_file(&file);
                    }
                    1 => {
                        let _ = fs::remove_file(&file);
                        mkfifo(&file);
                    }
                    2 => {
                        let _ = fs::remove_file(&file);
                        let target = rng.pick(&["/dev/zero", "/etc/passwd", "../..", "nowhere"]);
                        symlink(target, &file).unwrap();
                    }
                    3 => write(&file, random_content(rng, "x: 1\n")),
                    _ => {}
                }
                folders.push(dir);
            }
            _ => {
                let dir = parent.join(&name);
                fs::create_dir_all(&dir).unwrap();
                folders.push(dir);
            }
        }
    }
    // Links: to folders of the tree (loops, siblings), outside, files, nowhere, chains.
    for i in 0..rng.below(8) {
        let at = folders[rng.below(folders.len())].join(format!("link{i}"));
        if at.exists() || fs::symlink_metadata(&at).is_ok() {
            continue;
        }
        let target: PathBuf = match rng.below(7) {
            0 => ".".into(),
            1 => "..".into(),
            2 => folders[rng.below(folders.len())].clone(),
            3 => outside.clone(),
            4 => t.path().join("outside/file.rb"),
            5 => format!("link{}", rng.below(8)).into(),
            _ => "nowhere".into(),
        };
        symlink(&target, &at).unwrap();
    }
    if rng.chance(20) {
        let fifo = folders[rng.below(folders.len())].join("fifo.yaml");
        if fs::symlink_metadata(&fifo).is_err() {
            mkfifo(&fifo);
        }
    }
    d
}

#[test]
fn random_hostile_trees_load_or_fail_clearly_never_hang_or_panic() {
    for case in 0..64u64 {
        let seed = 0x9E37_79B9_7F4A_7C15 ^ (case + 1);
        let mut rng = Rng(seed);
        let t = Temp::new(&format!("fuzz{case}"));
        let d = random_tree(&mut rng, &t);
        let root = fs::canonicalize(&d).unwrap();
        let what = format!("case {case} (seed {seed:#x}, tree {})", d.display());
        let dir = d.clone();
        let (ds, errors, findings) = within(5, &what, move || {
            let strict = Datastore::load(&[&dir]);
            let (ds, errors) = Datastore::load_lenient(&[&dir]);
            // load and load_lenient agree.
            assert_eq!(strict.is_ok(), errors.is_empty());
            let findings = lint(&ds);
            (ds, errors, findings)
        });
        for e in &errors {
            assert!(!e.message.is_empty(), "{what}: {e}");
            assert!(
                e.file.starts_with(&d),
                "{what}: an error outside the domain: {e}"
            );
            assert!(!e.to_string().contains("outside\n"), "{what}: {e}");
        }
        for f in &findings {
            assert!(!f.message.is_empty(), "{what}: {f}");
        }
        let mut class_files = Vec::new();
        for c in ds.classes() {
            let real = fs::canonicalize(&c.file).unwrap();
            assert!(real.starts_with(&root), "{what}: read {}", real.display());
            class_files.push(real);
            for m in &c.methods {
                assert!(
                    m.data.as_deref() != Some("outside\n"),
                    "{what}: a body from outside"
                );
            }
        }
        let loaded = class_files.len();
        class_files.sort();
        class_files.dedup();
        assert_eq!(class_files.len(), loaded, "{what}: a class loaded twice");
    }
}

#[test]
fn running_an_inline_method_without_its_rb_says_so_in_the_log() {
    // As ManageIQ, nothing runs; unlike a silent empty method, the log says why.
    let t = Temp::new("no-rb-run");
    let (d, _, c) = simple_domain(&t);
    fs::remove_file(c.join("__methods__/m.rb")).unwrap();
    let ds = load(&d).unwrap();
    let runner = miq_automate_engine::ScriptedRunner::new();
    let e = miq_automate_engine::Engine::new(ds).with_runner(runner.clone());
    let run = e
        .instantiate("/NS/Cls/run", [("x", miq_automate_core::Value::Nil)])
        .unwrap();
    let logs: Vec<&str> = run
        .workspace
        .logs()
        .iter()
        .map(|l| l.message.as_str())
        .collect();
    assert!(
        logs.iter().any(|l| l
            .starts_with("Method [/D/NS/Cls/m] has no body (its .rb is missing from the export)")),
        "{logs:#?}"
    );
    assert!(runner.calls().is_empty(), "nothing ran");
}

#[test]
fn a_folder_of_classes_without_its_namespace_file_is_named_not_skipped_silently() {
    let t = Temp::new("no-ns-file");
    let (d, ns, _) = simple_domain(&t);
    fs::remove_file(ns.join("__namespace__.yaml")).unwrap();
    let ds = load(&d).unwrap();
    let w = warning_for(&ds, &ns);
    assert_eq!(
        w.message,
        "a folder with classes but no __namespace__.yaml: not loaded (add a __namespace__.yaml naming it)"
    );
    assert!(texts(&lint(&ds))
        .iter()
        .any(|f| f.contains("no __namespace__.yaml")));
}

#[test]
fn a_datastore_given_below_its_domain_names_the_domain_to_give() {
    let t = Temp::new("below-domain");
    let (d, ns, _) = simple_domain(&t);
    let errors = load(&ns).unwrap_err();
    let message = &errors[0].message;
    assert!(
        message.contains(&format!(
            "this folder is inside the domain {}; give that folder instead",
            std::path::absolute(&d).unwrap().display()
        )),
        "{message}"
    );
}
