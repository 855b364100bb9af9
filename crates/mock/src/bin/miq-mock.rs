//! `miq-mock`: run the mock ManageIQ, or generate a large scenario.
//!
//! ```text
//! miq-mock --scenario mocks/failed_bundle.json [--port 3000]
//! miq-mock generate --children 500 > mocks/large_bundle.json
//! ```

use std::process::ExitCode;

use miq_automate_mock::MockServer;
use miq_automate_vmdb::generate;

const USAGE: &str = "usage:
  miq-mock --scenario FILE [--port PORT]     serve the mock ManageIQ on 127.0.0.1 until killed
  miq-mock generate --children N             print a failed bundle with N children as a scenario";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MIQ_MOCK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("miq-mock: {msg}");
            ExitCode::from(2)
        }
    }
}

fn value<'a>(args: &'a [String], i: usize, flag: &str) -> Result<&'a str, String> {
    args.get(i + 1)
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
}

fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("generate") {
        let mut children = None;
        let mut i = 1;
        while i < args.len() {
            match args[i].as_str() {
                "--children" => {
                    let v = value(args, i, "--children")?;
                    children =
                        Some(v.parse::<u32>().map_err(|_| {
                            format!("--children: {v:?} is not a non-negative integer")
                        })?);
                    i += 2;
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        let children = children.ok_or_else(|| format!("generate needs --children N\n{USAGE}"))?;
        print!("{}", generate::to_json(&generate::large_bundle(children)));
        return Ok(());
    }
    let mut scenario = None;
    let mut port = 0u16;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--scenario" => {
                scenario = Some(value(args, i, "--scenario")?.to_owned());
                i += 2;
            }
            "--port" => {
                let v = value(args, i, "--port")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port: {v:?} is not a port number"))?;
                i += 2;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let scenario = scenario.ok_or_else(|| format!("--scenario FILE is required\n{USAGE}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async {
        let server = MockServer::start_file(&scenario, port)
            .await
            .map_err(|e| e.to_string())?;
        println!("{}", server.url());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        drop(server);
        Ok(())
    })
}
