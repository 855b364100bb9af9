//! # miq-automate-api
//!
//! A ManageIQ REST client and the retirement of a failed bundle's siblings.
//!
//! - [`Client`]: Basic credentials exchanged once for a token (re-authentication once on a
//!   401), `X-MIQ-Group`, TLS verification with an extra CA or an explicit insecure switch,
//!   timeouts, retries with exponential backoff and jitter (429, 5xx, transport errors;
//!   a POST only when the server surely did not act on it), bounded concurrency and a
//!   request budget. Errors are one [`ApiError`] with ManageIQ's kind, message and klass,
//!   secrets redacted.
//! - Typed resources ([`Service`], [`Vm`], [`Request`], [`RequestTask`], [`Task`]; ids as
//!   strings, other columns kept) and [`Collection`]s.
//! - [`Query`] for attributes, expand, filters, paging and sorting; [`Client::get_all`]
//!   follows pages.
//! - [`ActionOutcome`]: what an action returned (a request, a task, the resource …).
//! - [`retire`]: discover a bundle, plan retire / skip / leave for each member, execute, report.
//!
//! ```no_run
//! # async fn demo() -> Result<(), miq_automate_api::ApiError> {
//! use miq_automate_api::{retire, Client, ClientConfig, Credentials, Secret};
//! let config = ClientConfig::new("https://miq.example.com", Credentials::Basic {
//!     user: "admin".into(), password: Secret::new("smartvm") })?;
//! let client = Client::new(config)?;
//! let bundles = retire::discover(&client, &retire::Target::Service("1000".into()), false).await?;
//! let options = retire::RetireOptions::default();
//! let plan = retire::plan(&bundles[0], &options);
//! let report = retire::execute(&client, &plan, &options, &retire::NoProgress).await;
//! println!("{}", serde_json::to_string_pretty(&report).unwrap());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod action;
pub mod client;
pub mod config;
pub mod error;
pub mod query;
pub mod resource;
pub mod retire;
pub mod secret;

pub use action::ActionOutcome;
pub use client::{Client, Retry};
pub use config::{ClientConfig, Credentials, RetryPolicy};
pub use error::{ApiError, ErrorKind};
pub use query::Query;
pub use resource::{ActionRef, Collection, Request, RequestTask, Service, Task, Vm};
pub use secret::Secret;
