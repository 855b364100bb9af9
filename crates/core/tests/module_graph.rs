//! The core's modules depend one way: no module uses a module that uses it back (issue 11).
//! Read from the sources, as a reviewer's grep would: every `crate::x` path in code (comments
//! aside), with the names the crate root re-exports mapped to their module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn code(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module → the other modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = code(&src.join("lib.rs"));
    let mut root_names = BTreeMap::new();
    let reexport = Regex::new(r"pub use (\w+)::\{?([^;}]*)\}?;").unwrap();
    for caps in reexport.captures_iter(&lib) {
        for name in caps[2].split(',').map(str::trim).filter(|n| !n.is_empty()) {
            root_names.insert(name.to_string(), caps[1].to_string());
        }
    }
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" {
            continue;
        }
        let files = if path.is_dir() {
            sources(&path)
        } else {
            vec![path]
        };
        modules.entry(name).or_default().extend(files);
    }
    let path_use = Regex::new(r"crate::(\w+)").unwrap();
    let group_use = Regex::new(r"crate::\{([^}]*)\}").unwrap();
    let mut graph = BTreeMap::new();
    for (module, files) in &modules {
        let mut uses = BTreeSet::new();
        for file in files {
            let text = code(file);
            let mut names: Vec<String> = path_use
                .captures_iter(&text)
                .map(|c| c[1].to_string())
                .collect();
            for group in group_use.captures_iter(&text) {
                names.extend(
                    group[1]
                        .split(',')
                        .filter_map(|p| p.trim().split("::").next().map(str::to_string)),
                );
            }
            for name in names {
                let target = root_names.get(&name).cloned().unwrap_or(name);
                if modules.contains_key(&target) && target != *module {
                    uses.insert(target);
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let graph = graph();
    assert!(graph.contains_key("workspace") && graph["substitution"].contains("workspace"));
    let mutual: Vec<(&String, &String)> = graph
        .iter()
        .flat_map(|(a, uses)| uses.iter().map(move |b| (a, b)))
        .filter(|(a, b)| a < b && graph[*b].contains(*a))
        .collect();
    assert!(mutual.is_empty(), "modules using each other: {mutual:?}");
}

#[test]
fn modules_form_no_cycle() {
    let graph = graph();
    // Depth-first search for a path back to where it started.
    fn back_to(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
    ) -> bool {
        for next in &graph[at] {
            if next == start {
                return true;
            }
            if !path.contains(next) {
                path.push(next.clone());
                if back_to(graph, start, next, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        assert!(
            !back_to(&graph, start, start, &mut path),
            "a cycle: {} -> {start}",
            path.join(" -> ")
        );
    }
}
