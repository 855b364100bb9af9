//! `MiqAutomate::Api::Client`: the REST client for Ruby, and the bundle retirer the rollback
//! uses. Network waits release the GVL.

use std::time::Duration;

use magnus::{prelude::*, DataTypeFunctions, Error, RHash, Ruby, TypedData, Value};
use miq_automate_api::retire::{self, RetireOptions};
use miq_automate_api::{Client, ClientConfig, Credentials, Secret};
use miq_automate_core::rollback::BundleRetirer;
use miq_automate_core::{AeError, Evm, LogLevel, Value as Core};

use crate::errors::{self, guard};
use crate::nogvl::without_gvl;

/// Settings for a client, as given from Ruby or read from root attributes.
#[derive(Clone, Debug, Default)]
pub struct ApiSettings {
    /// The appliance URL.
    pub url: Option<String>,
    /// User for Basic authentication.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<String>,
    /// A token instead.
    pub token: Option<String>,
    /// `X-MIQ-Group`.
    pub group: Option<String>,
    /// Verify TLS (default true).
    pub verify_ssl: bool,
}

impl ApiSettings {
    /// A client, or why not.
    pub fn client(&self) -> Result<Client, miq_automate_api::ApiError> {
        let url = self
            .url
            .clone()
            .ok_or_else(|| miq_automate_api::ApiError::config("no API URL"))?;
        let credentials = match (&self.token, &self.user, &self.password) {
            (Some(t), _, _) => Credentials::Token(Secret::new(t.clone())),
            (None, Some(u), Some(p)) => Credentials::Basic {
                user: u.clone(),
                password: Secret::new(p.clone()),
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
        Client::new(config)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, AeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AeError::Internal(format!("cannot start the async runtime: {e}")))
}

/// Retires a bundle's members except the failed one; the JSON report.
pub fn retire_siblings(
    client: &Client,
    bundle_id: &str,
    failed_id: Option<&str>,
    wait: bool,
) -> Result<serde_json::Value, AeError> {
    let runtime = runtime()?;
    let client = client.clone();
    let (bundle_id, failed_id) = (bundle_id.to_string(), failed_id.map(str::to_string));
    let outcome = without_gvl(move || {
        runtime.block_on(async move {
            let bundle = retire::bundle(&client, &bundle_id, failed_id, false).await?;
            let options = RetireOptions {
                wait,
                poll_interval: Duration::from_secs(2),
                ..RetireOptions::default()
            };
            let plan = retire::plan(&bundle, &options);
            let report = retire::execute(&client, &plan, &options, &retire::NoProgress).await;
            Ok::<_, miq_automate_api::ApiError>(report)
        })
    })
    .map_err(|panic| AeError::Internal(format!("a Rust panic was caught: {panic}")))?;
    let report = outcome.map_err(|e| AeError::Remote {
        class: "MiqAutomate::Api::Error".into(),
        message: e.to_string(),
    })?;
    serde_json::to_value(report).map_err(|e| AeError::Internal(e.to_string()))
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
                ApiSettings {
                    url: text(evm.root_get("miq_api_url")?),
                    token: evm.root_decrypt("miq_api_token")?.filter(|t| !t.is_empty()),
                    user: text(evm.root_get("miq_api_user")?),
                    password: evm
                        .root_decrypt("miq_api_password")?
                        .filter(|p| !p.is_empty()),
                    group: text(evm.root_get("miq_api_group")?),
                    verify_ssl: evm.root_get("miq_api_verify_ssl")? != Core::Bool(false),
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
        let report = retire_siblings(&client, bundle_id, Some(failed_id), false)?;
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

fn opt_string(hash: RHash, key: &str) -> Result<Option<String>, Error> {
    let ruby = Ruby::get_with(hash);
    let v: Option<Value> = hash.lookup(ruby.to_symbol(key))?;
    match v {
        None => Ok(None),
        Some(v) if v.is_nil() => Ok(None),
        Some(v) => Ok(Some(crate::convert::text(v)?)),
    }
}

/// Reads `{url:, user:, password:, token:, group:, verify_ssl:}`.
pub fn settings_from(hash: RHash) -> Result<ApiSettings, Error> {
    let ruby = Ruby::get_with(hash);
    let verify: Option<Value> = hash.lookup(ruby.to_symbol("verify_ssl"))?;
    Ok(ApiSettings {
        url: opt_string(hash, "url")?,
        user: opt_string(hash, "user")?,
        password: opt_string(hash, "password")?,
        token: opt_string(hash, "token")?,
        group: opt_string(hash, "group")?,
        verify_ssl: verify.is_none_or(|v| v.to_bool()),
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

fn retire_bundle_siblings(
    ruby: &Ruby,
    rb_self: &RbClient,
    service_id: String,
    failed_id: Option<String>,
    wait: bool,
) -> Result<Value, Error> {
    guard(|| {
        let report = retire_siblings(&rb_self.client, &service_id, failed_id.as_deref(), wait)
            .map_err(|e| match e {
                AeError::Remote { message, .. } => {
                    Error::new(errors::class_under("Api", "Error"), message)
                }
                other => errors::to_ruby(other),
            })?;
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
        magnus::method!(retire_bundle_siblings, 3),
    )?;
    Ok(())
}
