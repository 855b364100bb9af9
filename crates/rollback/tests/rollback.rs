//! The rollback-aware update_provision_status on the in-memory workspace, with service
//! models answered by a small broker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use miq_automate_core::{
    AeError, CountingEvm, Evm, ObjectBroker, ServiceModelRef, Value, Workspace,
};
use miq_automate_rollback::{
    update_provision_status, BundleRetirer, Config, Mode, Outcome, RollbackMatrix, DONE_VAR,
    JOURNAL_VAR,
};

type Models = Arc<Mutex<HashMap<String, HashMap<String, Value>>>>;

/// Service models as attribute maps; `x=` sets, `get_option(:k)` reads `options.k`.
struct Broker(Models);

fn key(v: &Value) -> String {
    match v {
        Value::ServiceModel(r) => format!("{}:{}", r.model, r.id),
        other => other.inspect(),
    }
}

impl ObjectBroker for Broker {
    fn call(&mut self, receiver: &Value, method: &str, args: &[Value]) -> Result<Value, AeError> {
        let mut models = self.0.lock().unwrap();
        let attrs = models.entry(key(receiver)).or_default();
        if let Some(attr) = method.strip_suffix('=') {
            attrs.insert(attr.to_string(), args[0].clone());
            return Ok(args[0].clone());
        }
        match method {
            "get_option" => Ok(attrs
                .get(&format!("option_{}", args[0].to_ruby_s()))
                .cloned()
                .unwrap_or_default()),
            "retire_now" => {
                attrs.insert("retirement_state".into(), Value::from("initializing"));
                Ok(Value::Nil)
            }
            _ => attrs.get(method).cloned().ok_or_else(|| AeError::NoMethod {
                receiver: key(receiver),
                method: method.into(),
            }),
        }
    }
}

fn model(kind: &str, id: i64) -> Value {
    Value::ServiceModel(ServiceModelRef::new(kind, id))
}

fn setup(state: &str, status_state: &str, result: &str) -> (Workspace, Models) {
    let models: Models = Arc::default();
    {
        let mut m = models.lock().unwrap();
        m.insert(
            "miq_provision:1".into(),
            HashMap::from([
                ("message".into(), Value::from("previous")),
                ("option_vm_target_name".into(), Value::from("web01")),
                ("miq_request".into(), model("miq_request", 7)),
                ("vm".into(), Value::Nil),
            ]),
        );
        m.insert(
            "miq_server:1".into(),
            HashMap::from([("name".into(), Value::from("EVM"))]),
        );
        m.insert("miq_request:7".into(), HashMap::new());
    }
    let mut ws = Workspace::with_root([
        ("miq_provision", model("miq_provision", 1)),
        ("miq_server", model("miq_server", 1)),
        ("ae_state", Value::from(state)),
        ("ae_status_state", Value::from(status_state)),
        ("ae_result", Value::from(result)),
        ("ae_reason", Value::from("boom")),
        ("ae_state_retries", Value::Integer(2)),
        ("rollback_class", Value::from("/Infra/Rollback/Methods")),
    ]);
    ws.set_input("status", Value::from("Working"));
    ws.set_current_method(Some("update_provision_status"));
    ws.set_broker(Box::new(Broker(models.clone())));
    (ws, models)
}

fn journal_matrix() -> RollbackMatrix {
    RollbackMatrix::from_yaml(
        "states:\n  AcquireIPAddress: ['${/#rollback_class}/ReleaseIPAddress']\n  RegisterDHCP: ['${/#rollback_class}/UnregisterDHCP']\n  RegisterDNS: ['${/#rollback_class}/UnregisterDNS']\n  Provision: [vm.retire_now]\n",
    )
    .unwrap()
}

fn attr(models: &Models, model: &str, name: &str) -> Value {
    models.lock().unwrap()[model]
        .get(name)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn updates_messages_as_manageiq_does() {
    let (mut ws, models) = setup("Provision", "on_entry", "ok");
    let report =
        update_provision_status(&mut ws, &journal_matrix(), &Config::default(), None).unwrap();
    assert_eq!(report.outcome, Some(Outcome::Ok));
    assert_eq!(
        attr(&models, "miq_request:7", "user_message"),
        Value::from("[EVM] VM [web01] Step [Provision] Status [Working] Message [previous] ")
    );
    assert_eq!(
        attr(&models, "miq_provision:1", "message"),
        Value::from("Working")
    );
    assert!(ws.notifications().is_empty());
    assert!(ws.instantiations().is_empty());

    let (mut ws, models) = setup("Provision", "main", "retry");
    update_provision_status(&mut ws, &journal_matrix(), &Config::default(), None).unwrap();
    assert!(attr(&models, "miq_request:7", "user_message")
        .to_ruby_s()
        .ends_with("Current Retry Number [2]"));
}

#[test]
fn no_provision_means_stop() {
    let (mut ws, _) = setup("Provision", "on_entry", "ok");
    ws.root_set("miq_provision", Value::Nil);
    let report =
        update_provision_status(&mut ws, &journal_matrix(), &Config::default(), None).unwrap();
    assert_eq!(report.outcome, Some(Outcome::Stop));
    assert_eq!(
        ws.logs()[0].message,
        "<AEMethod update_provision_status> miq_provision object not provided"
    );
}

#[test]
fn journal_mode_records_completed_states_and_undoes_them_in_reverse_once() {
    let config = Config {
        mode: Mode::Journal,
        ..Config::default()
    };
    let matrix = journal_matrix();
    let (mut ws, models) = setup("AcquireIPAddress", "on_exit", "ok");
    for state in ["AcquireIPAddress", "RegisterDHCP", "RegisterDNS"] {
        ws.root_set("ae_state", Value::from(state));
        update_provision_status(&mut ws, &matrix, &config, None).unwrap();
        update_provision_status(&mut ws, &matrix, &config, None).unwrap(); // a re-run records nothing twice
    }
    assert_eq!(
        ws.state_vars().get(&Value::from(JOURNAL_VAR)),
        Value::Array(vec![
            "AcquireIPAddress".into(),
            "RegisterDHCP".into(),
            "RegisterDNS".into()
        ])
    );

    ws.on_instantiate(
        "/ReleaseIPAddress",
        Box::new(|ws, _| {
            ws.root_set("ae_result", Value::from("ok")); // a nested method clobbering root
            ws.root_set("ae_reason", Value::from("clobbered"));
            Ok(())
        }),
    );
    ws.root_set("ae_state", Value::from("Provision"));
    ws.root_set("ae_status_state", Value::from("on_error"));
    ws.root_set("ae_result", Value::from("error"));
    let report = update_provision_status(&mut ws, &matrix, &config, None).unwrap();
    assert_eq!(
        report.ran,
        vec![
            "/Infra/Rollback/Methods/UnregisterDNS",
            "/Infra/Rollback/Methods/UnregisterDHCP",
            "/Infra/Rollback/Methods/ReleaseIPAddress"
        ]
    );
    assert_eq!(ws.instantiations(), report.ran.as_slice());
    assert_eq!(
        ws.root_get("ae_result"),
        Value::from("error"),
        "restored after each nested instantiate"
    );
    assert_eq!(ws.root_get("ae_reason"), Value::from("boom"));
    assert_eq!(ws.notifications()[0].kind, "automate_user_error");
    assert!(ws.logs().iter().any(|l| l.message == "<AEMethod update_provision_status> >>> Instantiating '/Infra/Rollback/Methods/UnregisterDNS'"));

    // on_error again (a retry, or a re-entered state machine): nothing runs twice
    let again = update_provision_status(&mut ws, &matrix, &config, None).unwrap();
    assert!(again.ran.is_empty());
    assert_eq!(again.skipped.len(), 3);
    assert_eq!(ws.instantiations().len(), 3);

    // the VM appears later: vm.retire_now runs then, once
    models
        .lock()
        .unwrap()
        .get_mut("miq_provision:1")
        .unwrap()
        .insert("vm".into(), model("vm", 9));
    update_provision_status(&mut ws, &matrix, &config, None).unwrap();
    update_provision_status(&mut ws, &matrix, &config, None).unwrap();
    assert_eq!(
        attr(&models, "vm:9", "retirement_state"),
        Value::from("initializing")
    );
    let done = ws.state_vars().get(&Value::from(DONE_VAR));
    assert_eq!(
        done,
        Value::Array(vec![
            "${/#rollback_class}/UnregisterDNS".into(),
            "${/#rollback_class}/UnregisterDHCP".into(),
            "${/#rollback_class}/ReleaseIPAddress".into(),
            "vm.retire_now".into()
        ])
    );
}

#[test]
fn per_state_mode_runs_the_failing_states_list_and_a_failing_step_does_not_stop_the_rest() {
    let matrix = RollbackMatrix::from_yaml("states:\n  RegisterDNS: [/R/M/UnregisterDNS, /R/M/UnregisterDHCP, /R/M/ReleaseIPAddress]\n").unwrap();
    let (mut ws, _) = setup("RegisterDNS", "on_error", "error");
    ws.on_instantiate(
        "/UnregisterDHCP",
        Box::new(|_, _| {
            Err(AeError::AbortInstantiation(
                "Method exited with rc=MIQ_ABORT".into(),
            ))
        }),
    );
    let report = update_provision_status(&mut ws, &matrix, &Config::default(), None).unwrap();
    assert_eq!(
        report.ran,
        vec!["/R/M/UnregisterDNS", "/R/M/ReleaseIPAddress"]
    );
    assert_eq!(report.failed, vec!["/R/M/UnregisterDHCP"]);
    assert!(ws.logs().iter().any(|l| l
        .message
        .contains("Rollback step '/R/M/UnregisterDHCP' failed")));
    // the failed step was not recorded as done: a later on_error tries it again
    let again = update_provision_status(&mut ws, &matrix, &Config::default(), None).unwrap();
    assert_eq!(again.failed, vec!["/R/M/UnregisterDHCP"]);
    assert_eq!(again.skipped.len(), 2);
}

#[test]
fn continue_on_error_leaves_continue() {
    let (mut ws, _) = setup("RegisterDNS", "on_error", "error");
    let config = Config {
        continue_on_error: true,
        ..Config::default()
    };
    update_provision_status(&mut ws, &journal_matrix(), &config, None).unwrap();
    assert_eq!(ws.root_get("ae_result"), Value::from("continue"));
}

struct Recorder(Vec<(String, String)>);

impl BundleRetirer for Recorder {
    fn retire_siblings(
        &mut self,
        _evm: &mut dyn Evm,
        bundle: &str,
        failed: &str,
    ) -> Result<Option<Value>, AeError> {
        self.0.push((bundle.into(), failed.into()));
        Ok(Some(Value::from("retired")))
    }
}

#[test]
fn a_bundle_item_retires_its_siblings() {
    let (mut ws, models) = setup("Provision", "on_error", "error");
    {
        let mut m = models.lock().unwrap();
        m.get_mut("miq_provision:1").unwrap().insert(
            "miq_request_task".into(),
            model("service_template_provision_task", 40),
        );
        m.insert(
            "service_template_provision_task:40".into(),
            HashMap::from([("destination".into(), model("service", 1004))]),
        );
        m.insert(
            "service:1004".into(),
            HashMap::from([
                ("id".into(), Value::Integer(1004)),
                ("parent_service".into(), model("service", 1000)),
            ]),
        );
        m.insert(
            "service:1000".into(),
            HashMap::from([("id".into(), Value::Integer(1000))]),
        );
    }
    let mut recorder = Recorder(vec![]);
    let report = update_provision_status(
        &mut ws,
        &journal_matrix(),
        &Config::default(),
        Some(&mut recorder),
    )
    .unwrap();
    assert_eq!(recorder.0, vec![("1000".to_string(), "1004".to_string())]);
    assert_eq!(report.bundle, Some(serde_json::json!("retired")));

    // a standalone VM (no parent service): nothing to retire
    let (mut ws, _) = setup("Provision", "on_error", "error");
    let mut recorder = Recorder(vec![]);
    update_provision_status(
        &mut ws,
        &journal_matrix(),
        &Config::default(),
        Some(&mut recorder),
    )
    .unwrap();
    assert!(recorder.0.is_empty());
}

#[test]
fn counts_evm_calls() {
    let (ws, _) = setup("RegisterDNS", "on_entry", "ok");
    let mut counted = CountingEvm::new(ws);
    update_provision_status(&mut counted, &journal_matrix(), &Config::default(), None).unwrap();
    // root x5 (miq_provision, ae_result, ae_state, miq_server, ...), input, calls on models
    assert!(counted.total() <= 12, "{:?}", counted.counts());
}

// Issue 11: the seed's `@rollback_matrix` (a plain Hash of state name to instance URIs, the
// rollback class substituted by Ruby) runs as it is, in the seed's per-state mode.
#[test]
fn the_seeds_flat_matrix_runs_as_given() {
    let rollback_class = "/Infra/Rollback/Methods";
    let seed = Value::Hash(vec![(
        Value::from("AcquireIPAddress"),
        Value::Array(vec![
            Value::String(format!("{rollback_class}/ReleaseIPAddress")),
            Value::String(format!("{rollback_class}/LeaveDomain")),
        ]),
    )]);
    let matrix = RollbackMatrix::from_value(&seed).unwrap();
    let (mut ws, _) = setup("AcquireIPAddress", "on_error", "error");
    let report = update_provision_status(&mut ws, &matrix, &Config::default(), None).unwrap();
    assert_eq!(
        report.ran,
        vec![
            "/Infra/Rollback/Methods/ReleaseIPAddress",
            "/Infra/Rollback/Methods/LeaveDomain"
        ]
    );
    assert!(ws.logs().iter().any(|l| l.message
        == "<AEMethod update_provision_status> >>> Instantiating '/Infra/Rollback/Methods/ReleaseIPAddress'"));

    // a state the seed lists nothing for: no rollback steps
    let (mut ws, _) = setup("RegisterDNS", "on_error", "error");
    let report = update_provision_status(&mut ws, &matrix, &Config::default(), None).unwrap();
    assert!(report.ran.is_empty());
}
