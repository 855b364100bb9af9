//! Writes a synthetic domain export of a chosen size (for the load benchmark and tests):
//! the same shape as ManageIQ's own domain (namespaces, classes with schemas, instances with
//! values, inline and builtin methods with inputs).

use std::fs;
use std::io;
use std::path::Path;

/// How big a generated domain is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Namespaces.
    pub namespaces: usize,
    /// Classes.
    pub classes: usize,
    /// Instances.
    pub instances: usize,
    /// Methods.
    pub methods: usize,
}

impl Size {
    /// The ManageIQ domain of manageiq-content: 81 namespaces, 120 classes, 956 instances,
    /// 243 methods.
    pub const MANAGEIQ: Size = Size {
        namespaces: 81,
        classes: 120,
        instances: 956,
        methods: 243,
    };
}

fn field(out: &mut String, indent: &str, name: &str, aetype: &str, priority: usize, default: &str) {
    out.push_str(&format!(
        "{indent}- field:\n{indent}    aetype: {aetype}\n{indent}    name: {name}\n{indent}    display_name:\n{indent}    datatype: string\n{indent}    priority: {priority}\n{indent}    owner:\n{indent}    default_value: \"{default}\"\n{indent}    substitute: true\n{indent}    message: create\n{indent}    visibility:\n{indent}    collect:\n{indent}    scope:\n{indent}    description: generated field {name} of a synthetic class, for load benchmarks\n{indent}    condition:\n{indent}    on_entry: update_status(status => 'Entering {name}')\n{indent}    on_exit: update_status(status => 'Leaving {name}')\n{indent}    on_error: update_status(status => 'Error in {name}')\n{indent}    max_retries: '100'\n{indent}    max_time:\n"
    ));
}

/// Writes a domain named `name` of `size` under `dir/name`; returns that directory.
pub fn write_domain(dir: &Path, name: &str, size: Size) -> io::Result<std::path::PathBuf> {
    let root = dir.join(name);
    fs::create_dir_all(&root)?;
    fs::write(
        root.join("__domain__.yaml"),
        format!("---\nobject_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n    description: generated\n    display_name:\n    priority: 10\n    enabled: true\n    tenant_id: 1\n    source: user\n    top_level_namespace:\n"),
    )?;
    // Namespaces: a few top-level ones, the rest nested two deep.
    let mut namespaces = Vec::new();
    for n in 0..size.namespaces.max(1) {
        let path = if n < 8 {
            format!("Top{n}")
        } else {
            format!("Top{}/Ns{n}", n % 8)
        };
        fs::create_dir_all(root.join(&path))?;
        let leaf = path.rsplit('/').next().unwrap_or(&path).to_string();
        fs::write(
            root.join(&path).join("__namespace__.yaml"),
            format!("---\nobject_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: {leaf}\n    description:\n    display_name:\n    priority:\n    enabled:\n"),
        )?;
        namespaces.push(path);
    }
    let classes = size.classes.max(1);
    for c in 0..classes {
        let ns = &namespaces[c % namespaces.len()];
        let cdir = root.join(ns).join(format!("Class{c}.class"));
        fs::create_dir_all(cdir.join("__methods__"))?;
        let mut schema = String::new();
        let nfields = 11;
        for f in 0..nfields {
            let aetype = match f % 4 {
                0 => "attribute",
                1 => "method",
                2 => "relationship",
                _ => "state",
            };
            field(
                &mut schema,
                "  ",
                &format!("field{f}"),
                aetype,
                f + 1,
                &format!("/Top0/Class0/inst{f}"),
            );
        }
        fs::write(
            cdir.join("__class__.yaml"),
            format!("---\nobject_type: class\nversion: 1.0\nobject:\n  attributes:\n    description: synthetic class {c}\n    display_name:\n    name: Class{c}\n    type:\n    inherits:\n    visibility:\n    owner:\n  schema:\n{schema}"),
        )?;
        let per_class = size.instances / classes + usize::from(c < size.instances % classes);
        for i in 0..per_class {
            let mut fields = String::new();
            for f in 0..4 {
                fields.push_str(&format!(
                    "  - field{f}:\n      value: \"/Top{}/Class{c}/inst{i}#${{/#miq_provision.source.vendor}}\"\n",
                    f % 8
                ));
            }
            fs::write(
                cdir.join(format!("inst{i}.yaml")),
                format!("---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    display_name:\n    name: inst{i}\n    inherits:\n    description: synthetic instance {i} of class {c}\n  fields:\n{fields}"),
            )?;
        }
        let per_class = size.methods / classes + usize::from(c < size.methods % classes);
        for m in 0..per_class {
            let mut inputs = String::new();
            field(&mut inputs, "  ", "status", "", 1, "");
            let builtin = m % 15 == 14;
            fs::write(
                cdir.join("__methods__").join(format!("method{m}.yaml")),
                format!("---\nobject_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: method{m}\n    display_name:\n    description:\n    scope: instance\n    language: ruby\n    location: {}\n  inputs:\n{inputs}", if builtin { "builtin" } else { "inline" }),
            )?;
            if !builtin {
                let body: String = (0..40)
                    .map(|l| format!("$evm.log(:info, \"synthetic line {l} of method{m}\")\n"))
                    .collect();
                fs::write(cdir.join("__methods__").join(format!("method{m}.rb")), body)?;
            }
        }
    }
    Ok(root)
}
