//! `miq-automate mock-server`: the mock ManageIQ as a process, and its scenario generator.
//!
//! ```text
//! miq-automate mock-server --scenario mocks/failed_bundle.json [--port 3000]
//! miq-automate mock-server generate --children 500 > mocks/large_bundle.json
//! ```

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use miq_automate_mock::vmdb::generate;
use miq_automate_mock::MockServer;

use crate::EXIT_OK;

/// Arguments of `mock-server`: serving is the default; `generate` writes a scenario instead.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
}

/// What `mock-server` does besides serving.
#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Print a failed bundle with N children as a scenario.
    ///
    /// The output is deterministic: `--children 500` is mocks/large_bundle.json.
    Generate(Generate),
}

/// Serving a scenario.
#[derive(clap::Args, Debug)]
struct Serve {
    /// The scenario file (see mocks/).
    // An Option only so that `generate` can leave it out: clap requires it otherwise.
    #[arg(long, required = true)]
    scenario: Option<PathBuf>,
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Arguments of `mock-server generate`.
#[derive(clap::Args, Debug)]
struct Generate {
    /// How many child services the bundle has (the last one failed).
    #[arg(long)]
    children: u32,
}

/// Serves until interrupted (printing the URL first), or prints a generated scenario.
pub async fn run(args: Args) -> anyhow::Result<u8> {
    match args.command {
        Some(Command::Generate(args)) => print_generated(args),
        None => serve(args.serve).await,
    }
}

async fn serve(args: Serve) -> anyhow::Result<u8> {
    let scenario = args.scenario.context("--scenario FILE is required")?;
    let server = MockServer::start_file(&scenario, args.port)
        .await
        .with_context(|| format!("cannot start the mock for {}", scenario.display()))?;
    println!("{}", server.url());
    eprintln!(
        "mock ManageIQ for {} at {}/api (admin / smartvm); Ctrl-C stops it",
        scenario.display(),
        server.url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(EXIT_OK)
}

fn print_generated(args: Generate) -> anyhow::Result<u8> {
    let text = generate::to_json(&generate::large_bundle(args.children));
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing the scenario")?;
    Ok(EXIT_OK)
}
