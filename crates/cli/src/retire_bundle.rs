//! `miq-automate retire-bundle`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use miq_automate_api::retire::{self, RetireOptions, Target};
use miq_automate_api::{Client, ClientConfig, Credentials, Secret};
use miq_automate_mock::MockServer;

use crate::output::{self, ProgressBar, ReportFormat};
use crate::report::retire::RunInfo;
use crate::{EXIT_OK, EXIT_PARTIAL};

/// Arguments of `retire-bundle`. Credentials come from the environment only.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["service", "request", "scan"])))]
pub struct Args {
    /// The bundle's service id.
    #[arg(long, value_name = "ID")]
    service: Option<String>,
    /// A failed service request: its bundle and failed item are read from its tasks.
    #[arg(long, value_name = "ID")]
    request: Option<String>,
    /// Every top-level bundle in error_in_provisioning.
    #[arg(long)]
    scan: bool,
    /// Retire the failed item too (it normally rolls itself back).
    #[arg(long)]
    include_failed: bool,
    /// Retire the bundle itself after its children.
    #[arg(long)]
    retire_parent: bool,
    /// Retire the members of a bundle in which nothing failed (refused without it, so that a
    /// healthy service is not retired by a typo).
    #[arg(long)]
    all_members: bool,
    /// Read each child's VMs for the report.
    #[arg(long)]
    with_vms: bool,
    /// Poll requests and tasks until they finish (or --timeout), then read the final state.
    #[arg(long)]
    wait: bool,
    /// Seconds --wait may take in all (one deadline for the whole run, POSTs included).
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    timeout: f64,
    /// Seconds one member's retire POST may be sent again through a transient outage
    /// (5xx, 429, lost connections), with backoff and the server's Retry-After.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    post_budget: f64,
    /// Seconds between polls (default 5, 0.05 with --mock).
    #[arg(long, value_name = "SECS")]
    poll_interval: Option<f64>,
    /// Print the plan; send no POST.
    #[arg(long)]
    dry_run: bool,
    /// Report format. JSON: {"bundles": [{"bundle_id", "bundle_name", "failed_items",
    /// "dry_run", "waited", "items": [...], "summary": {...}}]}. HTML: one self-contained
    /// page (when it ran, the bundle as a tree, the failed item and its error, outcomes,
    /// request links to a real appliance, errors, counters, time taken).
    #[arg(short = 'O', long, value_enum, default_value_t = ReportFormat::Text)]
    output: ReportFormat,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// The ManageIQ URL.
    #[arg(long, env = "MIQ_URL", value_name = "URL")]
    url: Option<String>,
    /// The user (the password comes from MIQ_PASSWORD; or give MIQ_TOKEN).
    #[arg(long, env = "MIQ_USER", value_name = "USER")]
    user: Option<String>,
    /// The group (its description) to act as.
    #[arg(long, env = "MIQ_GROUP", value_name = "GROUP")]
    group: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// The most HTTP requests to send (for rate-limited servers).
    #[arg(long, value_name = "N")]
    max_requests: Option<u64>,
    /// A CA certificate (PEM) to trust.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    insecure: bool,
    /// Start the mock ManageIQ for this scenario in-process and run against it.
    #[arg(long, value_name = "SCENARIO")]
    mock: Option<PathBuf>,
}

fn seconds(value: f64, name: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        anyhow::anyhow!("--{name} must be a non-negative number of seconds, not {value}")
    })
}

/// Runs the command; the exit status says whether every item went well.
pub async fn run(args: Args) -> anyhow::Result<u8> {
    // Ids go into URL paths: check them before anything starts.
    let target = match (&args.service, &args.request) {
        (Some(id), _) => Target::Service(retire::check_id(id).context("--service")?),
        (None, Some(id)) => Target::Request(retire::check_id(id).context("--request")?),
        (None, None) => Target::Scan,
    };
    let mock =
        match &args.mock {
            Some(path) => Some(MockServer::start_file(path, 0).await.with_context(|| {
                format!("cannot start the mock ManageIQ for {}", path.display())
            })?),
            None => None,
        };
    let url = match (&mock, &args.url) {
        (Some(server), _) => server.url(),
        (None, Some(url)) => url.clone(),
        (None, None) => {
            bail!("no ManageIQ URL: give --url or set MIQ_URL (or use --mock SCENARIO)")
        }
    };
    let credentials = credentials(&args, mock.is_some())?;
    let mut config = ClientConfig::new(&url, credentials)?;
    config.group = args.group.clone();
    config.verify_tls = !args.insecure;
    config.ca_cert = args.ca_cert.clone();
    config.concurrency = args.concurrency.into();
    config.max_requests = args.max_requests;
    let client = Client::new(config)?;

    let default_poll = if mock.is_some() { 0.05 } else { 5.0 };
    let options = RetireOptions {
        include_failed: args.include_failed,
        retire_parent: args.retire_parent,
        wait: args.wait,
        timeout: seconds(args.timeout, "timeout")?,
        poll_interval: seconds(args.poll_interval.unwrap_or(default_poll), "poll-interval")?,
        dry_run: args.dry_run,
        post_budget: seconds(args.post_budget, "post-budget")?,
        all_members: args.all_members,
    };

    let show_progress = !args.quiet && !args.dry_run && std::io::stderr().is_terminal();
    let progress = ProgressBar::new(show_progress);
    let started_at = chrono::Utc::now();
    let started = std::time::Instant::now();
    let reports =
        retire::retire_bundles(&client, &target, None, args.with_vms, &options, &progress)
            .await
            .context("cannot read the bundle")?;
    let shown = crate::report::without_userinfo(&url);
    // The scenario's file name: where it lives on this machine is nobody's business.
    let scenario = args.mock.as_ref().map(|path| {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    let run = RunInfo {
        appliance: &shown,
        started: started_at,
        elapsed: started.elapsed(),
        mock: scenario.as_deref(),
    };
    output::print_reports(&reports, args.output, &run)?;
    Ok(if reports.iter().any(|r| r.has_failures()) {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    })
}

fn credentials(args: &Args, mock: bool) -> anyhow::Result<Credentials> {
    let token = std::env::var("MIQ_TOKEN").ok().filter(|t| !t.is_empty());
    let password = std::env::var("MIQ_PASSWORD").ok().filter(|p| !p.is_empty());
    match (token, &args.user, password) {
        (Some(token), _, _) => Ok(Credentials::Token(Secret::new(token))),
        (None, Some(user), Some(password)) => Ok(Credentials::Basic {
            user: user.clone(),
            password: Secret::new(password),
        }),
        // A fresh appliance's (and every shipped scenario's) default admin.
        (None, None, None) if mock => Ok(Credentials::Basic {
            user: "admin".into(),
            password: Secret::new("smartvm"),
        }),
        (None, Some(_), None) => bail!("no password: set MIQ_PASSWORD (or MIQ_TOKEN)"),
        (None, None, _) => bail!("no credentials: set MIQ_USER and MIQ_PASSWORD, or MIQ_TOKEN"),
    }
}
