//! `miq-automate new domain|method|state-machine`: writes a domain export a newcomer can
//! run, spec, lint and draw at once (issue 22, "the first hour"). The files come from
//! `templates/new/`, filled in with the names given. Nothing is ever overwritten: every
//! path is checked before the first file is written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use miq_automate_engine::datastore::{Class, Datastore};

use crate::EXIT_OK;

/// The priority of a new domain. ManageIQ's own domain is 0 and the highest priority wins
/// where two domains hold the same class: 50 puts the new domain above ManageIQ's (and
/// above the first domains an appliance imports, numbered 1, 2, …), so its classes are
/// the ones that run, with room left to slot domains in between.
const PRIORITY: &str = "50";
/// The namespace and state machine of a new domain.
const FIRST_NAMESPACE: &str = "Demo";
const FIRST_MACHINE: &str = "StartVM";

const DOMAIN_YAML: &str = include_str!("../templates/new/domain.yaml");
const DOMAIN_README: &str = include_str!("../templates/new/README.md");
const NAMESPACE_YAML: &str = include_str!("../templates/new/namespace.yaml");
const MACHINE_CLASS_YAML: &str = include_str!("../templates/new/machine_class.yaml");
const MACHINE_INSTANCE_YAML: &str = include_str!("../templates/new/machine_instance.yaml");
const METHOD_YAML: &str = include_str!("../templates/new/method.yaml");
const METHOD_CLASS_YAML: &str = include_str!("../templates/new/method_class.yaml");
const METHOD_INSTANCE_YAML: &str = include_str!("../templates/new/method_instance.yaml");
const PREPARE_RB: &str = include_str!("../templates/new/prepare.rb");
const WAIT_FOR_READY_RB: &str = include_str!("../templates/new/wait_for_ready.rb");
const FINISH_RB: &str = include_str!("../templates/new/finish.rb");
const METHOD_RB: &str = include_str!("../templates/new/method.rb");
const WORLD_JSON: &str = include_str!("../templates/new/world.json");
const SPEC_HELPER_RB: &str = include_str!("../templates/new/spec_helper.rb");
const MACHINE_SPEC_RB: &str = include_str!("../templates/new/machine_spec.rb");
const WAIT_FOR_READY_SPEC_RB: &str = include_str!("../templates/new/wait_for_ready_spec.rb");
const METHOD_SPEC_RB: &str = include_str!("../templates/new/method_spec.rb");

/// `new` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// A new domain DIR/NAME: enabled, priority 50 (above ManageIQ's 0), a namespace Demo
    /// with a three-state machine StartVM (Prepare, WaitForReady retrying, Finish), its
    /// inline Ruby methods, a world to run it on, specs and a README saying how to run,
    /// spec, lint and draw it.
    Domain {
        /// The domain's name: letters, digits, _ and -, starting with a letter.
        name: String,
        /// Where to create the domain's folder (NAME inside it).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// A new inline Ruby method in a class (created when missing, with an `execute`
    /// method field), an instance of the same name running it, and a spec.
    Method {
        /// The method's name: letters, digits and _, starting with a letter.
        name: String,
        /// The domain's folder (with __domain__.yaml).
        #[arg(long)]
        domain: PathBuf,
        /// The class, below the domain: `Namespace/Class` (`A/B/Class` for nested ones).
        #[arg(long = "class", value_name = "NS/CLASS")]
        class: String,
    },
    /// A new three-state machine class (Prepare, WaitForReady retrying, Finish) with its
    /// methods, an instance `default`, a world and specs.
    StateMachine {
        /// The class's name: letters, digits, _ and -, starting with a letter.
        name: String,
        /// The domain's folder (with __domain__.yaml).
        #[arg(long)]
        domain: PathBuf,
        /// The namespace below the domain (`Demo`, `A/B` for nested ones); made when missing.
        #[arg(long)]
        namespace: String,
    },
}

/// What a command writes, in order: `(path, text, shared)`. A file that is not shared
/// must not exist; a shared one (a namespace's __namespace__.yaml, spec/spec_helper.rb
/// used by every spec) is written only when absent.
#[derive(Default)]
struct Plan {
    files: Vec<(PathBuf, String, bool)>,
}

impl Plan {
    fn new_file(&mut self, path: PathBuf, text: String) {
        self.files.push((path, text, false));
    }

    fn shared_file(&mut self, path: PathBuf, text: String) {
        self.files.push((path, text, true));
    }
}

/// Runs a `new` subcommand.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Domain { name, dir } => {
            let root = new_domain(&name, &dir)?;
            println!();
            println!("Next, in {}:", root.display());
            print_machine_commands(FIRST_NAMESPACE, FIRST_MACHINE);
            println!("  see README.md there");
        }
        Command::Method {
            name,
            domain,
            class,
        } => {
            let uri = new_method(&name, &domain, &class)?;
            println!();
            println!("Next, in {}:", domain.display());
            println!("  miq-automate run {uri} --datastore .");
            println!(
                "  rspec -I <miq-automate>/ruby/lib spec   # or `rspec` with the gem installed"
            );
            println!("  miq-automate datastore lint .");
        }
        Command::StateMachine {
            name,
            domain,
            namespace,
        } => {
            new_state_machine(&name, &domain, &namespace)?;
            println!();
            println!("Next, in {}:", domain.display());
            print_machine_commands(namespace.trim_matches('/'), &name);
        }
    }
    Ok(EXIT_OK)
}

fn print_machine_commands(namespace: &str, machine: &str) {
    println!("  miq-automate run /{namespace}/{machine}/default --datastore . --world worlds/{machine}.json");
    println!("  rspec -I <miq-automate>/ruby/lib spec   # or `rspec` with the gem installed");
    println!("  miq-automate datastore lint .");
    println!("  miq-automate diagram /{namespace}/{machine} --datastore . -o {machine}.svg");
}

/// `new domain`: DIR/NAME with everything; returns the domain's folder.
fn new_domain(name: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    check_name("domain", name)?;
    let root = dir.join(name);
    if root.exists() {
        bail!(
            "{} exists: `new domain` never overwrites; choose another NAME or --dir, or remove it first",
            root.display()
        );
    }
    let mut plan = Plan::default();
    plan.new_file(
        root.join("__domain__.yaml"),
        fill(DOMAIN_YAML, &[("DOMAIN", name), ("PRIORITY", PRIORITY)]),
    );
    let class_dir = format!("{FIRST_NAMESPACE}/{FIRST_MACHINE}.class");
    let class_path = format!("/{FIRST_NAMESPACE}/{FIRST_MACHINE}");
    plan.new_file(
        root.join("README.md"),
        fill(
            DOMAIN_README,
            &[
                ("DOMAIN", name),
                ("PRIORITY", PRIORITY),
                ("NAMESPACE", FIRST_NAMESPACE),
                ("CLASS", FIRST_MACHINE),
                ("CLASS_DIR", &class_dir),
                ("CLASS_PATH", &class_path),
            ],
        ),
    );
    machine_plan(&mut plan, &root, name, FIRST_NAMESPACE, FIRST_MACHINE);
    write(&plan)?;
    Ok(root)
}

/// `new state-machine`: the machine class, its methods, world and specs in a domain.
fn new_state_machine(name: &str, domain: &Path, namespace: &str) -> anyhow::Result<()> {
    check_name("state machine", name)?;
    let namespace = check_namespace(namespace)?;
    let (ds, domain_name) = load_domain(domain)?;
    if let Some(c) = find_class(&ds, &namespace, name) {
        bail!(
            "the class {namespace}/{name} exists ({}): `new state-machine` never overwrites; choose another NAME",
            c.file.display()
        );
    }
    let mut plan = Plan::default();
    machine_plan(&mut plan, domain, &domain_name, &namespace, name);
    write(&plan)
}

/// `new method`: the method in its class (made when missing), an instance running it and
/// a spec; returns the instance's URI.
fn new_method(name: &str, domain: &Path, class: &str) -> anyhow::Result<String> {
    check_name("method", name)?;
    // A method field calls the method by name, and ManageIQ's call syntax has no `-`.
    if name.contains('-') {
        bail!("bad method name {name:?}: '-' is not allowed in a method name (a method field calls it by name: letters, digits and _)");
    }
    let Some((namespace, class_name)) = class.trim_matches('/').rsplit_once('/') else {
        bail!("bad --class {class:?}: give the namespace too, as Namespace/Class (a class always lives in a namespace)");
    };
    let namespace = check_namespace(namespace)?;
    check_name("class", class_name)?;
    let (ds, domain_name) = load_domain(domain)?;

    let mut plan = Plan::default();
    // An existing class keeps its files (and its name's case); its first method field is
    // the one the new instance sets.
    let (class_dir, class_name, field) = match find_class(&ds, &namespace, class_name) {
        Some(c) => {
            if let Some(m) = c.method(name) {
                bail!(
                    "the class {namespace}/{} already has a method {} ({}): choose another NAME",
                    c.name,
                    m.name,
                    m.file.display()
                );
            }
            if let Some(i) = c.instance(name) {
                bail!(
                    "the class {namespace}/{} already has an instance {} ({}): choose another NAME",
                    c.name,
                    i.name,
                    i.file.display()
                );
            }
            let Some(field) = c
                .fields
                .iter()
                .find(|f| f.aetype.as_deref() == Some("method"))
            else {
                bail!(
                    "the class {namespace}/{} has no field of type method ({}), so no instance could run the method: add one, or give another --class",
                    c.name,
                    c.file.display()
                );
            };
            let dir = c.file.parent().map(Path::to_path_buf).unwrap_or_default();
            (dir, c.name.clone(), field.name.clone())
        }
        None => {
            namespace_plan(&mut plan, domain, &namespace);
            let dir = domain.join(&namespace).join(format!("{class_name}.class"));
            plan.new_file(
                dir.join("__class__.yaml"),
                fill(METHOD_CLASS_YAML, &[("CLASS", class_name)]),
            );
            (dir, class_name.to_string(), "execute".to_string())
        }
    };

    let file = name.to_lowercase();
    let class_path = format!("/{namespace}/{class_name}");
    let modules = ruby_modules(&domain_name, &namespace, &class_name);
    let ruby_class = ruby_constant(name);
    plan.new_file(
        class_dir.join("__methods__").join(format!("{file}.yaml")),
        fill(METHOD_YAML, &[("NAME", name)]),
    );
    plan.new_file(
        class_dir.join("__methods__").join(format!("{file}.rb")),
        ruby_method(
            &format!("the method {name} of {class_path}: greets root's user_name (a start: make it yours)."),
            &modules,
            &ruby_class,
            &fill(METHOD_RB, &[("RUBY_CLASS", &ruby_class)]),
        ),
    );
    plan.new_file(
        class_dir.join(format!("{file}.yaml")),
        fill(METHOD_INSTANCE_YAML, &[("NAME", name), ("FIELD", &field)]),
    );
    let class_dir_rel = class_dir
        .strip_prefix(domain)
        .unwrap_or(&class_dir)
        .display()
        .to_string();
    spec_helper_plan(&mut plan, domain);
    plan.new_file(
        domain
            .join("spec")
            .join(format!("{}_{}_spec.rb", snake(&class_name), snake(name))),
        fill(
            METHOD_SPEC_RB,
            &[
                ("CLASS_PATH", &class_path),
                ("CLASS_DIR", &class_dir_rel),
                ("NAME", name),
                ("FILE", &file),
                (
                    "RUBY_CLASS",
                    &format!("{}::{ruby_class}", modules.join("::")),
                ),
            ],
        ),
    );
    write(&plan)?;
    Ok(format!("{class_path}/{name}"))
}

/// The state machine `namespace/name` of a domain (`domain_name` names its Ruby modules):
/// class, instance `default`, three methods, `worlds/<name>.json` and two specs.
fn machine_plan(plan: &mut Plan, root: &Path, domain_name: &str, namespace: &str, name: &str) {
    namespace_plan(plan, root, namespace);
    let class_dir = root.join(namespace).join(format!("{name}.class"));
    let class_dir_rel = format!("{namespace}/{name}.class");
    let class_path = format!("/{namespace}/{name}");
    let modules = ruby_modules(domain_name, namespace, name);
    plan.new_file(
        class_dir.join("__class__.yaml"),
        fill(MACHINE_CLASS_YAML, &[("CLASS", name)]),
    );
    plan.new_file(
        class_dir.join("default.yaml"),
        fill(MACHINE_INSTANCE_YAML, &[("CLASS", name)]),
    );
    let methods = [
        (
            "prepare",
            "Prepare",
            PREPARE_RB,
            "the Prepare state: finds the VM named by the machine's vm_name, powers it on and keeps its id in the state var vm_id.",
        ),
        (
            "wait_for_ready",
            "WaitForReady",
            WAIT_FOR_READY_RB,
            "the WaitForReady state: retries every 30 seconds until the VM is on (the class's max_retries bounds it).",
        ),
        (
            "finish",
            "Finish",
            FINISH_RB,
            "the Finish state: says the VM is ready.",
        ),
    ];
    for (method, ruby_class, body, what) in methods {
        let methods_dir = class_dir.join("__methods__");
        plan.new_file(
            methods_dir.join(format!("{method}.yaml")),
            fill(METHOD_YAML, &[("NAME", method)]),
        );
        plan.new_file(
            methods_dir.join(format!("{method}.rb")),
            ruby_method(&format!("{class_path}: {what}"), &modules, ruby_class, body),
        );
    }
    plan.new_file(
        root.join("worlds").join(format!("{name}.json")),
        fill(WORLD_JSON, &[("CLASS_PATH", &class_path)]),
    );
    spec_helper_plan(plan, root);
    let spec = snake(name);
    plan.new_file(
        root.join("spec").join(format!("{spec}_spec.rb")),
        fill(
            MACHINE_SPEC_RB,
            &[("CLASS_PATH", &class_path), ("CLASS", name)],
        ),
    );
    plan.new_file(
        root.join("spec")
            .join(format!("{spec}_wait_for_ready_spec.rb")),
        fill(
            WAIT_FOR_READY_SPEC_RB,
            &[
                ("CLASS_PATH", &class_path),
                ("CLASS_DIR", &class_dir_rel),
                (
                    "RUBY_CLASS",
                    &format!("{}::WaitForReady", modules.join("::")),
                ),
            ],
        ),
    );
}

/// `__namespace__.yaml` for each level of `namespace` that lacks one.
fn namespace_plan(plan: &mut Plan, root: &Path, namespace: &str) {
    let mut dir = root.to_path_buf();
    for part in namespace.split('/') {
        dir = dir.join(part);
        plan.shared_file(
            dir.join("__namespace__.yaml"),
            fill(NAMESPACE_YAML, &[("NAME", part)]),
        );
    }
}

fn spec_helper_plan(plan: &mut Plan, root: &Path) {
    plan.shared_file(
        root.join("spec").join("spec_helper.rb"),
        SPEC_HELPER_RB.to_string(),
    );
}

/// Writes a plan, after checking that none of its files exists (so a refusal leaves
/// nothing half-written). Prints each path written.
fn write(plan: &Plan) -> anyhow::Result<()> {
    for (path, _, shared) in &plan.files {
        if !shared && path.exists() {
            bail!(
                "{} exists: `new` never overwrites a file; choose another NAME, or move that file away first",
                path.display()
            );
        }
    }
    for (path, text, shared) in &plan.files {
        if *shared && path.exists() {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("created {}", path.display());
    }
    Ok(())
}

/// Loads the domain at `dir` (leniently: a bad file elsewhere must not stop `new`) and
/// returns it with its name, which the Ruby modules of new methods start with.
fn load_domain(dir: &Path) -> anyhow::Result<(Datastore, String)> {
    if !dir.join("__domain__.yaml").is_file() {
        bail!(
            "{} is not a domain (no __domain__.yaml): give --domain the folder of one, or make one with `miq-automate new domain NAME`",
            dir.display()
        );
    }
    let (ds, _errors) = Datastore::load_lenient(&[dir]);
    let Some(domain) = ds.domains().first() else {
        bail!(
            "{} does not load as a domain: check it with `miq-automate datastore lint {}`",
            dir.join("__domain__.yaml").display(),
            dir.display()
        );
    };
    let name = domain.name.clone();
    Ok((ds, name))
}

/// The class `namespace/name` of the datastore, ignoring case (as ManageIQ's names do).
fn find_class<'a>(ds: &'a Datastore, namespace: &str, name: &str) -> Option<&'a Class> {
    ds.classes()
        .iter()
        .find(|c| c.namespace.eq_ignore_ascii_case(namespace) && c.name.eq_ignore_ascii_case(name))
}

/// A ManageIQ name (domain, namespace, class, method) that also makes a Ruby constant:
/// letters, digits, `_` and `-`, starting with a letter.
fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    if name.is_empty() {
        bail!("the {what} name is empty");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        bail!("bad {what} name {name:?}: {c:?} is not allowed (ManageIQ names are letters, digits, _ and -)");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!("bad {what} name {name:?}: it must start with a letter (it also names a Ruby module or class)");
    }
    Ok(())
}

/// A namespace path (`A/B`), each part checked; leading and trailing `/` dropped.
fn check_namespace(namespace: &str) -> anyhow::Result<String> {
    let namespace = namespace.trim_matches('/');
    for part in namespace.split('/') {
        check_name("namespace", part)?;
    }
    Ok(namespace.to_string())
}

/// Replaces each `{{KEY}}` of a template.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    debug_assert!(!out.contains("{{"), "a template placeholder left: {out}");
    out
}

/// The modules a method's class lives in, as ManageIQ's content nests them:
/// `<Domain>::Automate::<namespaces>::<Class>` (the automate class too, so two classes'
/// methods of the same name do not reopen one Ruby class).
fn ruby_modules(domain: &str, namespace: &str, class: &str) -> Vec<String> {
    let mut modules = vec![ruby_constant(domain), "Automate".to_string()];
    modules.extend(namespace.split('/').map(ruby_constant));
    modules.push(ruby_constant(class));
    modules
}

/// A Ruby constant for a checked name: `wait_for_ready` → `WaitForReady`, `StartVM` stays.
fn ruby_constant(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// A file name part: `StartVM` → `start_vm`, `wait-for` → `wait_for`.
fn snake(name: &str) -> String {
    miq_automate_core::args::underscore(&name.replace('-', "_"))
}

/// A method file in ManageIQ's style: a description, the class `body` inside its
/// modules, then the `Modules::Class.new.main` line the engine runs (and the rspec kit's
/// load_method neutralises).
fn ruby_method(description: &str, modules: &[String], class: &str, body: &str) -> String {
    let mut out = format!("#\n# Description: {description}\n#\n");
    for (depth, module) in modules.iter().enumerate() {
        out.push_str(&format!("{}module {module}\n", "  ".repeat(depth)));
    }
    let indent = "  ".repeat(modules.len());
    for line in body.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("{indent}{line}\n"));
        }
    }
    for depth in (0..modules.len()).rev() {
        out.push_str(&format!("{}end\n", "  ".repeat(depth)));
    }
    out.push_str(&format!("\n{}::{class}.new.main\n", modules.join("::")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(ruby_constant("wait_for_ready"), "WaitForReady");
        assert_eq!(ruby_constant("StartVM"), "StartVM");
        assert_eq!(ruby_constant("my-ns"), "MyNs");
        assert_eq!(snake("StartVM"), "start_vm");
        assert_eq!(snake("VMProvision_VM"), "vm_provision_vm");
        assert_eq!(snake("hello-world"), "hello_world");
        assert!(check_name("method", "a b").is_err());
        assert!(check_name("method", "1a").is_err());
        assert!(check_name("method", "a-1_B").is_ok());
    }
}
