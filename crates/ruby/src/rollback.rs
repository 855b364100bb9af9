//! `MiqAutomate::Rollback.update_provision_status($evm, matrix:, mode:)`: the rollback-aware
//! status method of `miq-automate-rollback`, run on ANY `$evm` through the adapter.

use std::path::Path;

use magnus::{prelude::*, Error, RHash, RString, Ruby, Value};
use miq_automate_rollback::{self as rollback, Config, Mode, Outcome, RollbackMatrix, TaskKind};

use crate::adapter;
use crate::api::{settings_from, RestRetirer};
use crate::errors::{self, guard, IntoRuby};

/// A matrix from a Hash, a YAML/JSON text, or a file path.
fn matrix(ruby: &Ruby, spec: Value) -> Result<RollbackMatrix, Error> {
    let invalid = |e: rollback::MatrixError| {
        Error::new(
            errors::class("InvalidMatrix"),
            miq_automate_core::log::sanitize(&e.to_string()),
        )
    };
    if let Some(text) = RString::from_value(spec) {
        let text = text.to_string()?;
        let trimmed = text.trim();
        let looks_like_path = !trimmed.contains('\n')
            && [".yml", ".yaml", ".json"]
                .iter()
                .any(|ext| trimmed.ends_with(ext));
        return if looks_like_path {
            RollbackMatrix::from_path(Path::new(trimmed)).map_err(invalid)
        } else if trimmed.starts_with('{') {
            RollbackMatrix::from_json_str(trimmed).map_err(invalid)
        } else {
            RollbackMatrix::from_yaml(trimmed).map_err(invalid)
        };
    }
    if RHash::from_value(spec).is_some() {
        let adapter = adapter::wrap(ruby, ruby.qnil().as_value())?;
        // A matrix that cannot be read (too deep, containing itself) is an invalid matrix.
        let value = adapter
            .core_at(spec, &|| "the matrix".into())
            .map_err(|e| {
                let message = errors::from_ruby(&e).to_string();
                Error::new(
                    errors::class("InvalidMatrix"),
                    format!("rollback matrix: {message}"),
                )
            })?;
        return RollbackMatrix::from_value(&value).map_err(invalid);
    }
    Err(Error::new(
        errors::class("InvalidMatrix"),
        format!(
            "rollback matrix: expected a Hash, YAML/JSON text or a file path, got {}",
            spec.class()
        ),
    ))
}

// One parameter per Ruby keyword argument of the wrapper (lib/miq_automate/rollback.rb).
#[allow(clippy::too_many_arguments)]
fn update_provision_status(
    ruby: &Ruby,
    evm: Value,
    matrix_spec: Value,
    mode: String,
    continue_on_error: bool,
    kind: String,
    api: Option<RHash>,
    status: Option<String>,
) -> Result<RHash, Error> {
    guard(|| {
        let matrix = matrix(ruby, matrix_spec)?;
        let mode: Mode = mode.parse().rb()?;
        let kind = match kind.as_str() {
            "vm" => TaskKind::Vm,
            "service" => TaskKind::Service,
            other => {
                return Err(errors::to_ruby(miq_automate_core::AeError::ArgumentError(
                    format!("unknown provision kind {other:?} (vm or service)"),
                )))
            }
        };
        let config = Config {
            mode,
            continue_on_error,
            kind,
            status,
        };
        let mut retirer = RestRetirer {
            settings: api.map(settings_from).transpose()?,
        };
        let adapter = adapter::wrap(ruby, evm)?;
        let report = adapter.with_evm(|e| {
            rollback::update_provision_status(e, &matrix, &config, Some(&mut retirer))
        })?;
        let out = ruby.hash_new();
        let outcome = match report.outcome {
            Some(Outcome::Stop) => "stop",
            _ => "ok",
        };
        out.aset("outcome", outcome)?;
        out.aset("message", report.message)?;
        out.aset("ran", report.ran)?;
        out.aset("skipped", report.skipped)?;
        out.aset("failed", report.failed)?;
        let bundle: Value = match report.bundle {
            Some(json) => ruby
                .class_object()
                .const_get::<_, magnus::RModule>("JSON")?
                .funcall("parse", (json.to_string(),))?,
            None => ruby.qnil().as_value(),
        };
        out.aset("bundle", bundle)?;
        let calls = adapter.round_trip_counts();
        out.aset("round_trips", calls.values().sum::<usize>())?;
        let by_call = ruby.hash_new();
        for (k, n) in calls {
            by_call.aset(k, n)?;
        }
        out.aset("calls", by_call)?;
        Ok(out)
    })
}

/// Checks a matrix: `MiqAutomate::Rollback.validate(matrix)` → true, or raises InvalidMatrix.
fn validate(ruby: &Ruby, spec: Value) -> Result<bool, Error> {
    guard(|| matrix(ruby, spec).map(|_| true))
}

/// Defines the native part of `MiqAutomate::Rollback`.
pub fn define(_ruby: &Ruby, module: magnus::RModule) -> Result<(), Error> {
    let rollback = module.define_module("Rollback")?;
    rollback.define_singleton_method(
        "_update_provision_status",
        magnus::function!(update_provision_status, 7),
    )?;
    rollback.define_singleton_method("validate", magnus::function!(validate, 1))?;
    Ok(())
}
