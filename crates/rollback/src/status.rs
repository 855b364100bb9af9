//! `update_provision_status` as ManageIQ's content method behaves (VM and service variants),
//! then the rollback on error, on any [`Evm`].

use serde::Serialize;

use miq_automate_core::substitution::substitute_evm;
use miq_automate_core::{AeError, AeResult, Evm, LogLevel, Value};

use crate::matrix::{RollbackMatrix, Step};
use crate::plan::{plan, Mode};

/// State var holding the completed states (journal mode), in order.
pub const JOURNAL_VAR: &str = "ae_rollback_journal";
/// State var holding the keys of rollback steps already run (once-only guarantee).
pub const DONE_VAR: &str = "ae_rollback_done";

/// Which provision task the method runs for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// `root['miq_provision']` (VMProvision_VM / _Template).
    #[default]
    Vm,
    /// `root['service_template_provision_task']` (service provisioning).
    Service,
}

/// How to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Per-state or journal.
    pub mode: Mode,
    /// Leave `ae_result` as `continue` after the rollback (default: stays `error`).
    pub continue_on_error: bool,
    /// VM or service task.
    pub kind: TaskKind,
    /// The status text; `None` reads `$evm.inputs['status']`, as ManageIQ's method does.
    pub status: Option<String>,
}

/// Retires the siblings of a failed bundle item (through the REST API, in the bindings).
pub trait BundleRetirer {
    /// Retires the members of bundle `bundle_id` except `failed_id`; `Ok(None)` when not
    /// configured (the implementation logs why). The report is kept as a value.
    fn retire_siblings(
        &mut self,
        evm: &mut dyn Evm,
        bundle_id: &str,
        failed_id: &str,
    ) -> Result<Option<Value>, AeError>;
}

/// What the method did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Status updated (and rolled back, on error).
    Ok,
    /// No provision task: the method must `exit MIQ_STOP`, as ManageIQ's does.
    Stop,
}

/// The account of one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// `None` until run.
    pub outcome: Option<Outcome>,
    /// The message built for the request.
    pub message: String,
    /// Steps run now (after substitution).
    pub ran: Vec<String>,
    /// Steps an earlier run already did.
    pub skipped: Vec<String>,
    /// Steps that failed (the rest went on).
    pub failed: Vec<String>,
    /// The bundle siblings' retirement report, when one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<serde_json::Value>,
}

fn sym(name: &str) -> Value {
    Value::Symbol(name.into())
}

/// ActiveSupport's `String#truncate(255)`: at most 255 characters, ending in `...` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 3).collect();
    out.push_str("...");
    out
}

/// Runs `update_provision_status` with a rollback matrix on `evm`.
pub fn update_provision_status(
    evm: &mut dyn Evm,
    matrix: &RollbackMatrix,
    config: &Config,
    retirer: Option<&mut dyn BundleRetirer>,
) -> Result<Report, AeError> {
    let mut report = Report::default();
    let task_attr = match config.kind {
        TaskKind::Vm => "miq_provision",
        TaskKind::Service => "service_template_provision_task",
    };
    let prov = evm.root_get(task_attr)?;
    if matches!(prov, Value::Nil) {
        return match config.kind {
            TaskKind::Vm => {
                evm.log(LogLevel::Error, "miq_provision object not provided")?;
                report.outcome = Some(Outcome::Stop);
                Ok(report)
            }
            TaskKind::Service => Err(AeError::RuntimeError(
                "service_template_provision_task object not provided".into(),
            )),
        };
    }
    let status = match &config.status {
        Some(s) => s.clone(),
        None => evm.input("status")?.to_ruby_s(),
    };
    let ae_result = evm.root_get("ae_result")?.to_ruby_s();
    let ae_state = evm.root_get("ae_state")?.to_ruby_s();
    let server = evm.root_get("miq_server")?;
    let server_name = match server {
        Value::Nil => String::new(),
        s => evm.call(&s, "name", &[])?.to_ruby_s(),
    };
    let subject = match config.kind {
        TaskKind::Vm => format!(
            "VM [{}]",
            evm.call(&prov, "get_option", &[sym("vm_target_name")])?
                .to_ruby_s()
        ),
        TaskKind::Service => {
            let destination = evm.call(&prov, "destination", &[])?;
            let name = match destination {
                Value::Nil => Value::Nil,
                d => evm.call(&d, "name", &[])?,
            };
            format!("Service [{}]", name.to_ruby_s())
        }
    };
    let previous = evm.call(&prov, "message", &[])?.to_ruby_s();
    let mut message = format!(
        "[{server_name}] {subject} Step [{ae_state}] Status [{status}] Message [{previous}] "
    );
    if ae_result == AeResult::Retry.as_str() {
        let retries = evm.root_get("ae_state_retries")?;
        message.push_str(&format!("Current Retry Number [{}]", retries.to_ruby_s()));
    }
    let request = evm.call(&prov, "miq_request", &[])?;
    if !matches!(request, Value::Nil) {
        evm.call(
            &request,
            "user_message=",
            &[Value::String(truncate(&message, 255))],
        )?;
    }
    evm.call(&prov, "message=", &[Value::String(status)])?;
    report.message = message.clone();

    if config.mode == Mode::Journal && ae_result == AeResult::Ok.as_str() {
        let step = evm.root_get("ae_status_state")?.to_ruby_s();
        if step == "on_exit" && !ae_state.is_empty() {
            let mut journal = names(&evm.get_state_var(&Value::from(JOURNAL_VAR))?);
            if !journal.contains(&ae_state) {
                journal.push(ae_state.clone());
                evm.set_state_var(&Value::from(JOURNAL_VAR), list(&journal))?;
            }
        }
    }

    if ae_result == AeResult::Error.as_str() {
        let label = match config.kind {
            TaskKind::Vm => "VM Provision Error",
            TaskKind::Service => "Service Provision Error",
        };
        let options = Value::Hash(vec![
            (sym("level"), Value::from("error")),
            (sym("subject"), request.clone()),
            (sym("message"), Value::String(format!("{label}: {message}"))),
        ]);
        evm.create_notification(options)?;
        evm.log(LogLevel::Error, &format!("{label}: {message}"))?;
        rollback(evm, matrix, config, &prov, &ae_state, &mut report)?;
        if let Some(retirer) = retirer {
            report.bundle = retire_bundle(evm, config, &prov, retirer)?.map(|v| v.to_masked_json());
        }
        if config.continue_on_error {
            evm.set_ae_result(AeResult::Continue)?;
        }
    }
    report.outcome = Some(Outcome::Ok);
    Ok(report)
}

fn names(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(Value::to_ruby_s).collect(),
        _ => Vec::new(),
    }
}

fn list(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn rollback(
    evm: &mut dyn Evm,
    matrix: &RollbackMatrix,
    config: &Config,
    prov: &Value,
    failing_state: &str,
    report: &mut Report,
) -> Result<(), AeError> {
    let journal = match config.mode {
        Mode::Journal => names(&evm.get_state_var(&Value::from(JOURNAL_VAR))?),
        Mode::PerState => Vec::new(),
    };
    let steps = plan(matrix, config.mode, failing_state, &journal, &[]);
    if steps.is_empty() {
        evm.log(
            LogLevel::Info,
            &format!("No rollback steps for state {failing_state}."),
        )?;
        return Ok(());
    }
    let mut done = names(&evm.get_state_var(&Value::from(DONE_VAR))?);
    // Nested instances share root: what they do to ae_result/ae_reason must not leak out.
    let saved_reason = evm.root_get("ae_reason")?;
    // The same `${…}` text gives the same URI within one run: substitute it once.
    let mut substituted: Vec<(String, String)> = Vec::new();
    let mut substitute = |evm: &mut dyn Evm, text: &str| -> Result<String, AeError> {
        if let Some((_, uri)) = substituted.iter().find(|(t, _)| t == text) {
            return Ok(uri.clone());
        }
        let uri = substitute_evm(evm, text)?;
        substituted.push((text.to_string(), uri.clone()));
        Ok(uri)
    };
    for planned in steps {
        if done.contains(&planned.step) {
            let shown = substitute(evm, &planned.step).unwrap_or_else(|_| planned.step.clone());
            report.skipped.push(shown);
            continue;
        }
        let step = matrix
            .steps(&planned.state)
            .iter()
            .find(|s| s.key() == planned.step)
            .cloned()
            .ok_or_else(|| {
                AeError::Internal(format!("planned step {} not in the matrix", planned.step))
            })?;
        let ran = match &step {
            Step::VmRetireNow => retire_vm(evm, prov)?,
            Step::Instance { .. } => {
                let uri = match substitute(evm, &planned.step) {
                    Ok(uri) => uri,
                    Err(e) => {
                        evm.log(
                            LogLevel::Error,
                            &format!("Rollback step '{}' skipped: {e}", planned.step),
                        )?;
                        report.failed.push(planned.step.clone());
                        continue;
                    }
                };
                evm.log(LogLevel::Info, &format!(">>> Instantiating '{uri}'"))?;
                let result = evm.instantiate(&uri);
                evm.set_ae_result(AeResult::Error)?;
                evm.root_set("ae_reason", saved_reason.clone())?;
                match result {
                    Ok(Value::Nil) | Err(_) => {
                        let why = result.err().map(|e| format!(": {e}")).unwrap_or_default();
                        evm.log(
                            LogLevel::Error,
                            &format!(
                                "Rollback step '{uri}' failed{why}; continuing with the next step"
                            ),
                        )?;
                        report.failed.push(uri);
                        false
                    }
                    Ok(_) => {
                        report.ran.push(uri);
                        true
                    }
                }
            }
        };
        if ran {
            done.push(planned.step.clone());
            // Recorded after each step: a retried or re-entered on_error never repeats it.
            evm.set_state_var(&Value::from(DONE_VAR), list(&done))?;
        }
    }
    Ok(())
}

/// `vm.retire_now` once the VM exists; `false` (not done, may run on a later error) before.
fn retire_vm(evm: &mut dyn Evm, prov: &Value) -> Result<bool, AeError> {
    let vm = evm.call(prov, "vm", &[])?;
    if matches!(vm, Value::Nil) {
        evm.log(LogLevel::Info, "Rollback: no VM to retire yet")?;
        return Ok(false);
    }
    evm.log(LogLevel::Info, "Rollback: calling vm.retire_now")?;
    evm.call(&vm, "retire_now", &[])?;
    Ok(true)
}

/// When the failed task belongs to a bundle (its service has a parent service), retires the
/// bundle's other members.
fn retire_bundle(
    evm: &mut dyn Evm,
    config: &Config,
    prov: &Value,
    retirer: &mut dyn BundleRetirer,
) -> Result<Option<Value>, AeError> {
    let service = match config.kind {
        TaskKind::Service => evm.call(prov, "destination", &[])?,
        TaskKind::Vm => match optional_call(evm, prov, "miq_request_task")? {
            Value::Nil => return Ok(None),
            task => evm.call(&task, "destination", &[])?,
        },
    };
    if matches!(service, Value::Nil) {
        return Ok(None);
    }
    let bundle = optional_call(evm, &service, "parent_service")?;
    if matches!(bundle, Value::Nil) {
        return Ok(None);
    }
    let bundle_id = evm.call(&bundle, "id", &[])?.to_ruby_s();
    let failed_id = evm.call(&service, "id", &[])?.to_ruby_s();
    evm.log(
        LogLevel::Info,
        &format!("Retiring the siblings of service {failed_id} in bundle {bundle_id}"),
    )?;
    match retirer.retire_siblings(evm, &bundle_id, &failed_id) {
        Ok(report) => Ok(report),
        Err(e) => {
            evm.log(
                LogLevel::Error,
                &format!("Retiring the bundle's siblings failed: {e}"),
            )?;
            Ok(None)
        }
    }
}

/// A call that a double may not answer: NoMethodError reads as nil.
fn optional_call(evm: &mut dyn Evm, receiver: &Value, method: &str) -> Result<Value, AeError> {
    match evm.call(receiver, method, &[]) {
        Err(AeError::NoMethod { .. }) => Ok(Value::Nil),
        Err(AeError::Remote { class, .. }) if class == "NoMethodError" => Ok(Value::Nil),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_like_active_support() {
        assert_eq!(truncate("abc", 255), "abc");
        let long = "x".repeat(300);
        let cut = truncate(&long, 255);
        assert_eq!(cut.chars().count(), 255);
        assert!(cut.ends_with("..."));
    }
}
