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
    /// without their .rb). Exit 0 clean, 2 findings, 1 unreadable.
    Lint {
        /// Domain directories (with __domain__.yaml), or directories holding several.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
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
        Command::Lint { dirs } => {
            let (ds, errors) = Datastore::load_lenient(&dirs);
            if ds.domains().is_empty() {
                for e in &errors {
                    eprintln!("{e}");
                }
                return Ok(EXIT_ERROR);
            }
            let findings = lint(&ds);
            for e in &errors {
                println!("{e}");
            }
            for f in &findings {
                println!("{f}");
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
