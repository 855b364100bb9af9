//! `MiqAutomate::Api::Client`: the REST client for Ruby, and the bundle retirer the rollback
//! uses. Network waits release the GVL.

use std::time::Duration;

use magnus::{prelude::*, DataTypeFunctions, Error, RHash, Ruby, TypedData, Value};
use miq_automate_api::retire::{self, RetireOptions, Target};
use miq_automate_api::{Client, ClientConfig, Credentials, Secret};
use miq_automate_core::{AeError, Evm, LogLevel, Value as Core};
use miq_automate_rollback::BundleRetirer;

use crate::errors::{self, guard};
use crate::nogvl::block_on_interruptible;

/// Settings for a client, as given from Ruby or read from root attributes. The password
/// and token are [`Secret`]s: `Debug` never shows them.
#[derive(Clone, Debug, Default)]
pub struct ApiSettings {
    /// The appliance URL.
    pub url: Option<String>,
    /// User for Basic authentication.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<Secret>,
    /// A token instead.
    pub token: Option<Secret>,
    /// `X-MIQ-Group`.
    pub group: Option<String>,
    /// Verify TLS (default true).
    pub verify_ssl: bool,
    /// Requests in flight at once (default 8).
    pub concurrency: Option<usize>,
}

impl ApiSettings {
    /// A client, or why not.
    pub fn client(&self) -> Result<Client, miq_automate_api::ApiError> {
        let url = self
            .url
            .clone()
            .ok_or_else(|| miq_automate_api::ApiError::config("no API URL"))?;
        let credentials = match (&self.token, &self.user, &self.password) {
            (Some(t), _, _) => Credentials::Token(t.clone()),
            (None, Some(u), Some(p)) => Credentials::Basic {
                user: u.clone(),
                password: p.clone(),
            },
            _ => {
                return Err(miq_automate_api::ApiError::config(
                    "no API credentials (a token, or a user and password)",
                ))
            }
        };
        let mut config = ClientConfig::new(&url, credentials)?;
        config.group = self.group.clone();
        config.verify_tls = self.verify_ssl;
        if let Some(n) = self.concurrency {
            config.concurrency = n;
        }
        Client::new(config)
    }
}

/// What `retire_bundle_siblings` is asked to do: the CLI's `retire-bundle` options.
#[derive(Clone, Debug)]
pub struct RetireCall {
    /// The bundle, or the failed request it comes from.
    pub target: Target,
    /// The failed item, when the caller knows it.
    pub failed_id: Option<String>,
    /// Read each child's VMs for the report.
    pub with_vms: bool,
    /// Requests in flight at once, when not the client's.
    pub concurrency: Option<usize>,
    /// Everything else.
    pub options: RetireOptions,
}

/// Retires a bundle's members except the failed one; the JSON report of the (first) bundle.
/// Runs on the process's runtime with the GVL released; an interrupt (`Thread#kill`,
/// `Timeout.timeout`, Ctrl-C) cancels it, and with `raise_interrupt` the interrupt is
/// raised at once (otherwise it stays pending and Ruby raises it at its next check).
pub fn retire_siblings(
    ruby: &Ruby,
    client: &Client,
    call: &RetireCall,
    raise_interrupt: bool,
) -> Result<serde_json::Value, Error> {
    let client = match call.concurrency {
        Some(n) => client.with_concurrency(n),
        None => client.clone(),
    };
    let future = async {
        retire::retire_bundles(
            &client,
            &call.target,
            call.failed_id.as_deref(),
            call.with_vms,
            &call.options,
            &retire::NoProgress,
        )
        .await
    };
    let outcome = if raise_interrupt {
        block_on_interruptible(ruby, future)?
    } else {
        block_on_interruptible(ruby, future).unwrap_or(None)
    };
    let reports = match outcome {
        Some(result) => result.map_err(api_error)?,
        None => {
            return Err(errors::error(
                "interrupted: the bundle retirement was cancelled",
            ))
        }
    };
    let report = reports
        .into_iter()
        .next()
        .ok_or_else(|| api_error(miq_automate_api::ApiError::config("no bundle found")))?;
    serde_json::to_value(report).map_err(|e| errors::internal(&e.to_string()))
}

/// The rollback's bundle retirer: settings from the caller, else from root attributes
/// (`miq_api_url`, `miq_api_token` or `miq_api_user` + `miq_api_password`).
pub struct RestRetirer {
    /// Settings from the caller, if any.
    pub settings: Option<ApiSettings>,
}

impl BundleRetirer for RestRetirer {
    fn retire_siblings(
        &mut self,
        evm: &mut dyn Evm,
        bundle_id: &str,
        failed_id: &str,
    ) -> Result<Option<Core>, AeError> {
        let settings = match self.settings.clone() {
            Some(s) => s,
            None => {
                let text = |v: Core| (!v.is_blank()).then(|| v.to_ruby_s());
                let secret = |v: Option<String>| v.filter(|t| !t.is_empty()).map(Secret::new);
                ApiSettings {
                    url: text(evm.root_get("miq_api_url")?),
                    token: secret(evm.root_decrypt("miq_api_token")?),
                    user: text(evm.root_get("miq_api_user")?),
                    password: secret(evm.root_decrypt("miq_api_password")?),
                    group: text(evm.root_get("miq_api_group")?),
                    verify_ssl: evm.root_get("miq_api_verify_ssl")? != Core::Bool(false),
                    concurrency: None,
                }
            }
        };
        if settings.url.is_none() {
            evm.log(LogLevel::Warn, "Bundle siblings not retired: no ManageIQ API URL configured (api: or root miq_api_url)")?;
            return Ok(None);
        }
        let client = settings.client().map_err(|e| AeError::Remote {
            class: "MiqAutomate::Api::Error".into(),
            message: e.to_string(),
        })?;
        let call = RetireCall {
            target: Target::Service(bundle_id.to_string()),
            failed_id: Some(failed_id.to_string()),
            with_vms: false,
            concurrency: None,
            // The rollback names the failed item: the bundle is never healthy here.
            options: RetireOptions::default(),
        };
        let ruby = Ruby::get()
            .map_err(|_| AeError::Internal("the bundle retirer runs on a Ruby thread".into()))?;
        let report =
            retire_siblings(&ruby, &client, &call, false).map_err(|e| errors::from_ruby(&e))?;
        let retired = report["items"].as_array().map_or(0, |items| {
            items
                .iter()
                .filter(|i| i["outcome"] == "requested" || i["outcome"] == "retired")
                .count()
        });
        evm.log(
            LogLevel::Info,
            &format!("Requested retirement of {retired} sibling(s) in bundle {bundle_id}"),
        )?;
        Core::from_json(&report)
            .map(Some)
            .map_err(|e| AeError::Internal(e.to_string()))
    }
}

/// The native part of `MiqAutomate::Api::Client`.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::Api::Client", free_immediately)]
pub struct RbClient {
    client: Client,
}

impl DataTypeFunctions for RbClient {}

fn opt_value(hash: RHash, key: &str) -> Result<Option<Value>, Error> {
    let ruby = Ruby::get_with(hash);
    let v: Option<Value> = hash.lookup(ruby.to_symbol(key))?;
    Ok(v.filter(|v| !v.is_nil()))
}

fn opt_string(hash: RHash, key: &str) -> Result<Option<String>, Error> {
    opt_value(hash, key)?.map(crate::convert::text).transpose()
}

fn opt_bool(hash: RHash, key: &str, default: bool) -> Result<bool, Error> {
    Ok(opt_value(hash, key)?.map_or(default, |v| v.to_bool()))
}

/// Seconds (Integer or Float, not negative, finite) as a Duration.
fn opt_seconds(hash: RHash, key: &str, default: Duration) -> Result<Duration, Error> {
    let Some(v) = opt_value(hash, key)? else {
        return Ok(default);
    };
    let ruby = Ruby::get_with(hash);
    let seconds: f64 = magnus::TryConvert::try_convert(v).map_err(|_| {
        Error::new(
            ruby.exception_arg_error(),
            format!("{key}: must be a number of seconds"),
        )
    })?;
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        Error::new(
            ruby.exception_arg_error(),
            format!("{key}: must be a non-negative number of seconds, not {seconds}"),
        )
    })
}

/// An id option: a positive integer (an Integer or a String of digits), as ManageIQ's ids are.
fn opt_id(hash: RHash, key: &str) -> Result<Option<String>, Error> {
    let ruby = Ruby::get_with(hash);
    let bad = |detail: String| Error::new(ruby.exception_arg_error(), format!("{key}: {detail}"));
    let Some(v) = opt_value(hash, key)? else {
        return Ok(None);
    };
    let text = if let Some(i) = magnus::Integer::from_value(v) {
        i.to_string()
    } else if let Some(s) = magnus::RString::from_value(v) {
        s.to_string().map_err(|_| bad("not valid UTF-8".into()))?
    } else {
        return Err(bad(format!(
            "an id is a positive integer, not a {}",
            v.class()
        )));
    };
    retire::check_id(&text)
        .map(Some)
        .map_err(|e| bad(e.message))
}

/// Reads `{url:, user:, password:, token:, group:, verify_ssl:, concurrency:}`.
pub fn settings_from(hash: RHash) -> Result<ApiSettings, Error> {
    Ok(ApiSettings {
        url: opt_string(hash, "url")?,
        user: opt_string(hash, "user")?,
        password: opt_string(hash, "password")?.map(Secret::new),
        token: opt_string(hash, "token")?.map(Secret::new),
        group: opt_string(hash, "group")?,
        verify_ssl: opt_bool(hash, "verify_ssl", true)?,
        concurrency: opt_concurrency(hash)?,
    })
}

fn opt_concurrency(hash: RHash) -> Result<Option<usize>, Error> {
    let Some(v) = opt_value(hash, "concurrency")? else {
        return Ok(None);
    };
    let ruby = Ruby::get_with(hash);
    let n: i64 = magnus::TryConvert::try_convert(v).map_err(|_| {
        Error::new(
            ruby.exception_arg_error(),
            "concurrency: must be an Integer",
        )
    })?;
    if !(1..=256).contains(&n) {
        return Err(Error::new(
            ruby.exception_arg_error(),
            format!("concurrency: must be 1 to 256, not {n}"),
        ));
    }
    Ok(Some(n as usize))
}

/// Reads the options of `retire_bundle_siblings` (the CLI's, with its defaults).
fn retire_call(hash: RHash) -> Result<RetireCall, Error> {
    let ruby = Ruby::get_with(hash);
    let defaults = RetireOptions::default();
    let target = match (opt_id(hash, "service_id")?, opt_id(hash, "request_id")?) {
        (Some(id), None) => Target::Service(id),
        (None, Some(id)) => Target::Request(id),
        (Some(_), Some(_)) => {
            return Err(Error::new(
                ruby.exception_arg_error(),
                "give service_id: or request_id:, not both",
            ))
        }
        (None, None) => {
            return Err(Error::new(
                ruby.exception_arg_error(),
                "service_id: or request_id: is required (a positive integer)",
            ))
        }
    };
    Ok(RetireCall {
        target,
        failed_id: opt_id(hash, "failed_id")?,
        with_vms: opt_bool(hash, "with_vms", false)?,
        concurrency: opt_concurrency(hash)?,
        options: RetireOptions {
            include_failed: opt_bool(hash, "include_failed", false)?,
            retire_parent: opt_bool(hash, "retire_parent", false)?,
            wait: opt_bool(hash, "wait", false)?,
            timeout: opt_seconds(hash, "timeout", defaults.timeout)?,
            poll_interval: opt_seconds(hash, "poll_interval", defaults.poll_interval)?,
            dry_run: opt_bool(hash, "dry_run", false)?,
            post_budget: opt_seconds(hash, "post_budget", defaults.post_budget)?,
            all_members: opt_bool(hash, "all_members", false)?,
        },
    })
}

fn api_error(e: miq_automate_api::ApiError) -> Error {
    Error::new(errors::class_under("Api", "Error"), e.to_string())
}

fn new(options: RHash) -> Result<RbClient, Error> {
    guard(|| {
        let settings = settings_from(options)?;
        let client = settings.client().map_err(api_error)?;
        Ok(RbClient { client })
    })
}

fn retire_bundle_siblings(ruby: &Ruby, rb_self: &RbClient, options: RHash) -> Result<Value, Error> {
    guard(|| {
        let call = retire_call(options)?;
        let report = retire_siblings(ruby, &rb_self.client, &call, true)?;
        let json: Value = ruby
            .class_object()
            .const_get::<_, magnus::RModule>("JSON")?
            .funcall("parse", (report.to_string(),))?;
        Ok(json)
    })
}

/// Defines `MiqAutomate::Api::Client`'s native part.
pub fn define(ruby: &Ruby, module: magnus::RModule) -> Result<(), Error> {
    let api = module.define_module("Api")?;
    let class = api.define_class("Client", ruby.class_object())?;
    class.define_singleton_method("_new", magnus::function!(new, 1))?;
    class.define_private_method(
        "_retire_bundle_siblings",
        magnus::method!(retire_bundle_siblings, 1),
    )?;
    Ok(())
}
