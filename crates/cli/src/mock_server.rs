//! `miq-automate mock-server`: the mock ManageIQ as a process.

use std::path::PathBuf;

use anyhow::Context;
use miq_automate_mock::MockServer;

use crate::EXIT_OK;

/// Arguments of `mock-server`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file (see mocks/).
    #[arg(long)]
    scenario: PathBuf,
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Serves until interrupted; prints the URL first.
pub async fn run(args: Args) -> anyhow::Result<u8> {
    let server = MockServer::start_file(&args.scenario, args.port)
        .await
        .with_context(|| format!("cannot start the mock for {}", args.scenario.display()))?;
    println!("{}", server.url());
    eprintln!(
        "mock ManageIQ for {} at {}/api (admin / smartvm); Ctrl-C stops it",
        args.scenario.display(),
        server.url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(EXIT_OK)
}
