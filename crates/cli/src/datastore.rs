//! `miq-automate datastore stats|lint DIR...`: what a domain export holds, and what is
//! wrong with it (bad files, hooks naming no method, relationships to no instance).

use std::path::PathBuf;
use std::time::Instant;

use miq_automate_engine::datastore::Datastore;
use miq_automate_engine::lint::lint;

use crate::{EXIT_ERROR, EXIT_OK, EXIT_PARTIAL};

/// `datastore` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Load domain exports and print how many domains, namespaces, classes, instances and
    /// methods they hold (and the load time); on stderr, a warning for each symbolic link
    /// not followed and each name colliding with another ignoring case.
    Stats {
        /// Domain directories (with __domain__.yaml), or directories holding several.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Report every bad file, every method field or state hook naming a method that does
    /// not exist, every relationship to an instance no domain has, and what the loader
    /// skipped or cannot reach (links, names colliding ignoring case, inline methods
    /// without their .rb), state limits that are not numbers, and embedded methods no
    /// domain has. Exit 0 clean, 2 findings, 1 unreadable.
    Lint {
        /// Domain directories (with __domain__.yaml), or directories holding several.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Report only what is in this domain (repeat for more); the others are loaded to
        /// resolve what it names (your domain over ManageIQ's: ManageIQ's own findings do
        /// not fail yours). Exit 2 only for findings in these domains.
        #[arg(long = "only", value_name = "DOMAIN")]
        only: Vec<String>,
    },
}

/// Runs a `datastore` subcommand.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Stats { dirs } => {
            let start = Instant::now();
            let (ds, errors) = Datastore::load_lenient(&dirs);
            // What the loader skipped (links) or cannot reach (names colliding) is said even
            // when the datastore loads.
            for w in ds.warnings() {
                eprintln!("warning: {w}");
            }
            if !errors.is_empty() {
                for e in &errors {
                    eprintln!("{e}");
                }
                return Ok(EXIT_ERROR);
            }
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            for d in ds.domains() {
                if d.enabled {
                    println!("domain {} (priority {}, enabled)", d.name, d.priority);
                } else {
                    // A blank `enabled:` is disabled too, as ManageIQ imports it: say what
                    // that means, since the export did not say it.
                    println!("domain {} (priority {}, disabled)", d.name, d.priority);
                    println!(
                        "  unreachable by paths without a domain (the overlay skips it); only /{}/... reaches it: `enabled:` is false or blank in its __domain__.yaml (ManageIQ imports a blank one as disabled)",
                        d.name
                    );
                }
            }
            println!("{}", ds.stats());
            println!("loaded in {ms:.1} ms");
            Ok(EXIT_OK)
        }
        Command::Lint { dirs, only } => {
            let (ds, errors) = Datastore::load_lenient(&dirs);
            if ds.domains().is_empty() {
                for e in &errors {
                    eprintln!("{e}");
                }
                return Ok(EXIT_ERROR);
            }
            // The directories of the domains to report, when --only names some.
            let mut checked = Vec::new();
            for name in &only {
                match ds
                    .domains()
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(name))
                {
                    Some(d) => checked.push(d.dir.clone()),
                    None => {
                        let known: Vec<&str> =
                            ds.domains().iter().map(|d| d.name.as_str()).collect();
                        eprintln!(
                            "miq-automate datastore lint: --only {name}: no such domain (loaded: {})",
                            known.join(", ")
                        );
                        return Ok(EXIT_ERROR);
                    }
                }
            }
            let mine = |file: &std::path::Path| {
                checked.is_empty() || checked.iter().any(|dir| file.starts_with(dir))
            };
            let mut findings: Vec<String> = lint(&ds)
                .into_iter()
                .filter(|f| mine(&f.file))
                .map(|f| f.to_string())
                .collect();
            let inline: Vec<(String, String)> = ds
                .classes()
                .iter()
                .flat_map(|c| c.methods.iter())
                .filter(|m| m.location.eq_ignore_ascii_case("inline") && mine(&m.file))
                .filter_map(|m| {
                    let rb = m.file.with_extension("rb");
                    Some((rb.display().to_string(), m.data.clone()?))
                })
                .collect();
            match ruby_syntax(&inline) {
                Ok(errors) => findings.extend(errors),
                Err(why) => {
                    eprintln!("miq-automate datastore lint: Ruby syntax not checked: {why}")
                }
            }
            let errors: Vec<_> = errors.into_iter().filter(|e| mine(&e.file)).collect();
            for e in &errors {
                println!("{e}");
            }
            for f in &findings {
                println!("{}", crate::output::terminal_text(f));
            }
            let total = errors.len() + findings.len();
            println!(
                "{}: {} bad file(s), {} finding(s)",
                ds.stats(),
                errors.len(),
                findings.len()
            );
            Ok(if total == 0 { EXIT_OK } else { EXIT_PARTIAL })
        }
    }
}

/// Compiles each inline method's body with the Ruby on PATH (`MIQ_AUTOMATE_RUBY` names
/// another), as ManageIQ will when it runs it: a finding (`file:line: message`) for each
/// syntax error. Err when there is no Ruby to ask: the check is skipped, and said.
fn ruby_syntax(methods: &[(String, String)]) -> Result<Vec<String>, String> {
    use std::io::Write as _;
    if methods.is_empty() {
        return Ok(Vec::new());
    }
    // Reads [[file, source], …] as JSON; prints one JSON line per syntax error.
    const CHECK: &str = r#"require "json"
JSON.parse($stdin.read).each do |file, source|
  RubyVM::InstructionSequence.compile(source, file, file, 1)
rescue SyntaxError => e
  puts JSON.generate([file, e.message.lines.first.to_s.strip])
end"#;
    let ruby = crate::run::ruby_program();
    let mut child = std::process::Command::new(&ruby)
        .args(["-e", CHECK])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {} ({e})", ruby.to_string_lossy()))?;
    let input = serde_json::to_vec(methods).map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&input).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            ruby.to_string_lossy(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<(String, String)>(l).ok())
        .map(|(file, message)| {
            // Ruby's message starts with the file and line it was given: keep them once.
            let message = message
                .strip_prefix(&format!("{file}:"))
                .map_or(message.clone(), |m| format!("{file}:{m}"));
            format!("{message} (Ruby syntax)")
        })
        .collect())
}
