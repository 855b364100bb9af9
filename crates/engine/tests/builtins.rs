//! The built-in methods ManageIQ's event handling calls (`MiqAeBuiltinMethod`): the
//! `/System/event_handlers` calls on the root's event stream, check_policy_prevent,
//! parse_event_stream, host_and_storage_least_utilized and the SNMP traps. The domain is
//! `tests/domains/builtins` (written for these tests); the VMDB objects are a small broker.
//! The last tests run real `/System/Event` instances of ManageIQ's own domain when its
//! repository is at hand (`MIQ_CONTENT_REPO`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use miq_automate_core::{AeError, ObjectBroker, ServiceModelRef, Value};
use miq_automate_engine::{Aborted, Datastore, Engine, EngineError, Run, ScriptedRunner};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine_over(dirs: &[PathBuf]) -> Engine {
    let ds = Datastore::load(dirs).expect("the domains load");
    Engine::new(ds).with_runner(ScriptedRunner::new())
}

/// The test domain, without any VMDB behind it (no broker): fully offline.
fn offline_engine() -> Engine {
    engine_over(&[repo().join("tests/domains/builtins")])
}

/// The test domain with `vmdb` answering the calls on service models.
fn engine_with(vmdb: &Vmdb) -> Engine {
    let mut engine = offline_engine();
    let broker = vmdb.clone();
    engine.set_workspace_setup(Arc::new(move |ws| ws.set_broker(Box::new(broker.clone()))));
    engine
}

fn model(name: &str, id: i64) -> Value {
    Value::ServiceModel(ServiceModelRef::new(name, id))
}

/// A stand-in for the Ruby class `object_class` gives: any object the broker answers
/// (`name`) will do.
fn class(id: i64) -> Value {
    model("class", id)
}

fn sym_hash(pairs: &[(&str, Value)]) -> Value {
    Value::Hash(
        pairs
            .iter()
            .map(|(k, v)| (Value::Symbol((*k).into()), v.clone()))
            .collect(),
    )
}

/// Each object's answers by method name, objects keyed by their `Debug` form.
type Answers = HashMap<String, HashMap<String, Value>>;

/// A call made: the receiver (its `Debug` form), the method and the arguments.
type Made = (String, String, Vec<Value>);

/// A VMDB in miniature: each object answers the methods it was given (attributes and
/// actions alike); anything else is NoMethodError. Every call made is kept, in order.
#[derive(Clone, Default)]
struct Vmdb {
    objects: Arc<Mutex<Answers>>,
    calls: Arc<Mutex<Vec<Made>>>,
}

impl Vmdb {
    fn key(object: &Value) -> String {
        format!("{object:?}")
    }

    /// Gives `object` these answers.
    fn with(self, object: &Value, answers: &[(&str, Value)]) -> Self {
        let mut objects = self.objects.lock().unwrap();
        let entry = objects.entry(Self::key(object)).or_default();
        for (method, answer) in answers {
            entry.insert((*method).to_string(), answer.clone());
        }
        drop(objects);
        self
    }

    /// The calls made on `object` with this method, their arguments in order.
    fn calls_of(&self, object: &Value, method: &str) -> Vec<Vec<Value>> {
        let key = Self::key(object);
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, m, _)| *o == key && m == method)
            .map(|(_, _, args)| args.clone())
            .collect()
    }
}

impl ObjectBroker for Vmdb {
    fn call(&mut self, receiver: &Value, method: &str, args: &[Value]) -> Result<Value, AeError> {
        let key = Self::key(receiver);
        self.calls
            .lock()
            .unwrap()
            .push((key.clone(), method.to_string(), args.to_vec()));
        self.objects
            .lock()
            .unwrap()
            .get(&key)
            .and_then(|answers| answers.get(method).cloned())
            .ok_or_else(|| AeError::NoMethod {
                receiver: receiver.inspect(),
                method: method.to_string(),
            })
    }
}

fn run(engine: &Engine, uri: &str, root: Vec<(&str, Value)>) -> Run {
    match engine.instantiate(uri, root) {
        Ok(run) => run,
        Err(aborted) => panic!(
            "{uri} aborted: {aborted}\n{:#?}",
            aborted.run.log_messages()
        ),
    }
}

fn aborted(engine: &Engine, uri: &str, root: Vec<(&str, Value)>) -> Box<Aborted> {
    match engine.instantiate(uri, root) {
        Ok(run) => panic!("{uri} ran: {:#?}", run.log_messages()),
        Err(aborted) => aborted,
    }
}

/// The run aborted with AbortInstantiation(message), logged as the engine logs it.
fn assert_aborted_with(aborted: &Aborted, message: &str) {
    assert_eq!(
        aborted.error,
        EngineError::Ae(AeError::AbortInstantiation(message.into()))
    );
    let line = format!("Aborting instantiation because [{message}]");
    assert!(
        aborted.run.log_messages().contains(&line.as_str()),
        "{:#?}",
        aborted.run.log_messages()
    );
}

fn executions(run: &Run) -> Vec<(String, Vec<Value>)> {
    run.workspace.executions().to_vec()
}

fn call(name: &str, args: Vec<Value>) -> (String, Vec<Value>) {
    (name.to_string(), args)
}

fn event() -> Value {
    model("ems_event", 7)
}

fn with_event() -> Vec<(&'static str, Value)> {
    vec![("event_stream", event())]
}

// ----- the event handlers: one call on the root's event stream ----------------------------

#[test]
fn refresh_records_an_async_manager_refresh_of_the_event() {
    let run = run(&offline_engine(), "/System/Handlers/refresh", with_event());
    let sync = sym_hash(&[("sync", Value::Bool(false))]);
    assert_eq!(executions(&run), vec![call("manager_refresh", vec![sync])]);
    assert!(run.log_messages().contains(
        &"Invoking [builtin] method [/Builtins/System/Handlers/refresh] with inputs [{}]"
    ));
}

#[test]
fn refresh_sync_records_a_sync_manager_refresh() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/refresh_sync",
        with_event(),
    );
    let sync = sym_hash(&[("sync", Value::Bool(true))]);
    assert_eq!(executions(&run), vec![call("manager_refresh", vec![sync])]);
}

#[test]
fn refresh_without_an_event_stream_aborts_event_not_specified() {
    let aborted = aborted(&offline_engine(), "/System/Handlers/refresh", vec![]);
    assert_aborted_with(&aborted, "Event not specified");
    assert!(aborted.run.workspace.executions().is_empty());
}

#[test]
fn refresh_is_made_through_the_broker_when_there_is_one() {
    let vmdb = Vmdb::default().with(&event(), &[("manager_refresh", Value::Bool(true))]);
    let run = run(
        &engine_with(&vmdb),
        "/System/Handlers/refresh",
        with_event(),
    );
    let sync = sym_hash(&[("sync", Value::Bool(false))]);
    assert_eq!(
        executions(&run),
        vec![call("manager_refresh", vec![sync.clone()])]
    );
    assert_eq!(vmdb.calls_of(&event(), "manager_refresh"), vec![vec![sync]]);
}

// A MiqEvent's service model has no manager_refresh: NoMethodError, which the engine turns
// into an abort with its message.
#[test]
fn refresh_of_an_event_without_manager_refresh_aborts_with_no_method() {
    let miq_event = model("miq_event", 3);
    let vmdb = Vmdb::default().with(&miq_event, &[]);
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Handlers/refresh",
        vec![("event_stream", miq_event)],
    );
    assert_aborted_with(
        &aborted,
        "undefined method `manager_refresh' for #<MiqAeServiceMiqEvent id: 3>",
    );
}

#[test]
fn refresh_of_an_event_stream_that_is_no_model_aborts_with_no_method() {
    let aborted = aborted(
        &offline_engine(),
        "/System/Handlers/refresh",
        vec![("event_stream", Value::from("12"))],
    );
    assert_aborted_with(&aborted, "undefined method `manager_refresh' for \"12\"");
    assert!(aborted.run.workspace.executions().is_empty());
}

#[test]
fn event_action_refresh_records_the_target_async() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/event_action_refresh?target=ems",
        with_event(),
    );
    assert_eq!(
        executions(&run),
        vec![call(
            "refresh",
            vec![Value::from("ems"), Value::Bool(false)]
        )]
    );
}

#[test]
fn event_action_refresh_sync_records_the_target_sync() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/event_action_refresh_sync?target=src_vm",
        with_event(),
    );
    assert_eq!(
        executions(&run),
        vec![call(
            "refresh",
            vec![Value::from("src_vm"), Value::Bool(true)]
        )]
    );
}

// The engine checks inputs before any built-in runs: a missing target never reaches it.
#[test]
fn event_action_refresh_without_a_target_is_a_missing_parameter() {
    let aborted = aborted(
        &offline_engine(),
        "/System/Handlers/event_action_refresh",
        with_event(),
    );
    assert_eq!(
        aborted.error,
        EngineError::Ae(AeError::MethodParmMissing(
            "Method [/Builtins/System/Handlers/event_action_refresh] requires parameter [target]"
                .into()
        ))
    );
}

#[test]
fn event_action_policy_records_target_policy_event_and_param() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/event_action_policy?target=src_vm&policy_event=vm_clone_start&param=host",
        with_event(),
    );
    assert_eq!(
        executions(&run),
        vec![call(
            "policy",
            vec![
                Value::from("src_vm"),
                Value::from("vm_clone_start"),
                Value::from("host")
            ]
        )]
    );
}

#[test]
fn event_action_scan_records_the_target() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/event_action_scan?target=src_vm",
        with_event(),
    );
    assert_eq!(
        executions(&run),
        vec![call("scan", vec![Value::from("src_vm")])]
    );
}

#[test]
fn src_vm_as_template_records_the_flag_as_a_boolean() {
    let e = offline_engine();
    for (flag, expected) in [("true", true), ("false", false)] {
        let uri = format!("/System/Handlers/src_vm_as_template?flag={flag}");
        let run = run(&e, &uri, with_event());
        assert_eq!(
            executions(&run),
            vec![call("src_vm_as_template", vec![Value::Bool(expected)])]
        );
    }
}

#[test]
fn change_event_target_state_records_target_and_state() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/change_event_target_state?target=src_vm&param=suspended",
        with_event(),
    );
    assert_eq!(
        executions(&run),
        vec![call(
            "change_event_target_state",
            vec![Value::from("src_vm"), Value::from("suspended")]
        )]
    );
}

#[test]
fn src_vm_destroy_all_snapshots_records_the_call() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/src_vm_destroy_all_snapshots",
        with_event(),
    );
    assert_eq!(
        executions(&run),
        vec![call("src_vm_destroy_all_snapshots", vec![])]
    );
}

#[test]
fn src_vm_disconnect_storage_does_nothing_even_without_an_event() {
    let e = offline_engine();
    for root in [with_event(), vec![]] {
        let run = run(&e, "/System/Handlers/src_vm_disconnect_storage", root);
        assert!(executions(&run).is_empty());
    }
}

#[test]
fn event_enforce_policy_records_process_evm_event() {
    let run = run(
        &offline_engine(),
        "/System/Handlers/event_enforce_policy",
        with_event(),
    );
    assert_eq!(executions(&run), vec![call("process_evm_event", vec![])]);
}

#[test]
fn every_event_action_without_an_event_stream_aborts_event_not_specified() {
    let e = offline_engine();
    for uri in [
        "/System/Handlers/refresh_sync",
        "/System/Handlers/event_action_refresh?target=ems",
        "/System/Handlers/event_action_refresh_sync?target=ems",
        "/System/Handlers/event_action_policy?target=src_vm&policy_event=e&param=host",
        "/System/Handlers/event_action_scan?target=src_vm",
        "/System/Handlers/src_vm_as_template?flag=true",
        "/System/Handlers/change_event_target_state?target=src_vm&param=on",
        "/System/Handlers/src_vm_destroy_all_snapshots",
        "/System/Handlers/event_enforce_policy",
        "/System/Handlers/check_policy_prevent",
    ] {
        assert_aborted_with(&aborted(&e, uri, vec![]), "Event not specified");
    }
}

// ----- check_policy_prevent ----------------------------------------------------------------

fn policy_event(full_data: Value) -> Vmdb {
    Vmdb::default().with(
        &event(),
        &[
            ("full_data", full_data),
            ("event_type", Value::from("request_service_retire")),
            ("target", model("service", 4)),
            ("message", Value::from("retirement prevented by policy")),
        ],
    )
}

#[test]
fn check_policy_prevent_lets_an_event_without_full_data_through() {
    let vmdb = policy_event(Value::Nil);
    let run = run(
        &engine_with(&vmdb),
        "/System/Handlers/check_policy_prevent",
        with_event(),
    );
    assert!(run.root.is_some());
    assert!(vmdb.calls_of(&event(), "event_type").is_empty());
}

#[test]
fn check_policy_prevent_lets_a_policy_that_did_not_prevent_through() {
    let policy = sym_hash(&[("prevented", Value::Bool(false))]);
    let vmdb = policy_event(sym_hash(&[("policy", policy)]));
    let run = run(
        &engine_with(&vmdb),
        "/System/Handlers/check_policy_prevent",
        with_event(),
    );
    assert!(run.root.is_some());
}

// ManageIQ raises StopInstantiation; the engine's built-in call rescues it and aborts.
#[test]
fn check_policy_prevent_aborts_when_a_policy_prevented_the_event() {
    let policy = sym_hash(&[("prevented", Value::Bool(true))]);
    let vmdb = policy_event(sym_hash(&[("policy", policy)]));
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Handlers/check_policy_prevent",
        with_event(),
    );
    assert_aborted_with(
        &aborted,
        "Event request_service_retire for #<MiqAeServiceService id: 4> was terminated: retirement prevented by policy",
    );
}

#[test]
fn check_policy_prevent_with_full_data_but_no_policy_fails_on_nil() {
    let vmdb = policy_event(sym_hash(&[("other", Value::Integer(1))]));
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Handlers/check_policy_prevent",
        with_event(),
    );
    assert_aborted_with(&aborted, "undefined method `[]' for nil");
}

// full_data keys are Symbols in ManageIQ: a String key is not the same key.
#[test]
fn check_policy_prevent_reads_symbol_keys_only() {
    let policy = Value::Hash(vec![(Value::from("prevented"), Value::Bool(true))]);
    let vmdb = policy_event(sym_hash(&[("policy", policy)]));
    let run = run(
        &engine_with(&vmdb),
        "/System/Handlers/check_policy_prevent",
        with_event(),
    );
    assert!(run.root.is_some());
}

// ----- parse_event_stream ------------------------------------------------------------------

const EMS_EVENT_CLASS: i64 = 1;
const MIQ_EVENT_CLASS: i64 = 2;

/// An EmsEvent whose provider answers these methods (no provider when `ems` is None).
fn ems_event(ems: Option<&[(&str, Value)]>) -> Vmdb {
    let provider = model("ext_management_system", 2);
    let vmdb = Vmdb::default()
        .with(
            &class(EMS_EVENT_CLASS),
            &[("name", Value::from("EmsEvent"))],
        )
        .with(
            &event(),
            &[
                ("object_class", class(EMS_EVENT_CLASS)),
                (
                    "ext_management_system",
                    if ems.is_some() {
                        provider.clone()
                    } else {
                        Value::Nil
                    },
                ),
            ],
        );
    match ems {
        Some(answers) => vmdb.with(&provider, answers),
        None => vmdb,
    }
}

fn event_path_of(vmdb: &Vmdb) -> Value {
    run(
        &engine_with(vmdb),
        "/System/Process/parse_event_stream",
        with_event(),
    )
    .root_get("event_path")
}

#[test]
fn parse_event_stream_sends_an_ems_event_to_its_provider_domain() {
    let vmdb = ems_event(Some(&[
        ("provider_name", Value::from("VMware")),
        ("manager_type", Value::from("Infra")),
    ]));
    assert_eq!(
        event_path_of(&vmdb),
        Value::from("/VMware/EMSEvent/infrastructure/Event")
    );
    let vmdb = ems_event(Some(&[
        ("provider_name", Value::from("Amazon")),
        ("manager_type", Value::from("Cloud")),
    ]));
    assert_eq!(
        event_path_of(&vmdb),
        Value::from("/Amazon/EMSEvent/cloud/Event")
    );
}

#[test]
fn parse_event_stream_sends_other_events_to_system_event() {
    let miq_event = Vmdb::default()
        .with(
            &class(MIQ_EVENT_CLASS),
            &[("name", Value::from("MiqEvent"))],
        )
        .with(
            &event(),
            &[
                ("object_class", class(MIQ_EVENT_CLASS)),
                ("event_namespace", Value::from("MiqEvent")),
                ("source", Value::from("POLICY")),
            ],
        );
    assert_eq!(
        event_path_of(&miq_event),
        Value::from("/System/Event/MiqEvent/POLICY")
    );
}

#[test]
fn parse_event_stream_without_an_event_stream_aborts() {
    let aborted = aborted(
        &offline_engine(),
        "/System/Process/parse_event_stream",
        vec![],
    );
    assert_aborted_with(&aborted, "Event Stream object not found");
}

#[test]
fn parse_event_stream_of_an_ems_event_without_a_provider_aborts() {
    let vmdb = ems_event(None);
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Process/parse_event_stream",
        with_event(),
    );
    assert_aborted_with(&aborted, "EMS event - Invalid provider");
}

// `ems.try(:provider_name)`: a provider that does not answer it has no name.
#[test]
fn parse_event_stream_of_a_provider_without_a_name_aborts() {
    let vmdb = ems_event(Some(&[("manager_type", Value::from("Infra"))]));
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Process/parse_event_stream",
        with_event(),
    );
    assert_aborted_with(&aborted, "EMS event - Invalid provider");
}

#[test]
fn parse_event_stream_of_a_blank_manager_type_aborts() {
    let vmdb = ems_event(Some(&[
        ("provider_name", Value::from("VMware")),
        ("manager_type", Value::from("")),
    ]));
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Process/parse_event_stream",
        with_event(),
    );
    assert_aborted_with(&aborted, "EMS event - Invalid manager type");
}

// `ems.try(:manager_type).downcase`: nil has no downcase.
#[test]
fn parse_event_stream_of_a_provider_without_a_manager_type_fails_on_nil() {
    let vmdb = ems_event(Some(&[("provider_name", Value::from("VMware"))]));
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Process/parse_event_stream",
        with_event(),
    );
    assert_aborted_with(&aborted, "undefined method `downcase' for nil");
}

// ----- host_and_storage_least_utilized -----------------------------------------------------

fn on_or_off(on: bool) -> Value {
    Value::from(if on { "on" } else { "off" })
}

/// A provision of a template needing 100 (units of space) on a provider with these hosts:
/// (powered on, VMs powered on/off, storage free spaces).
fn placement(hosts: &[(bool, &[bool], &[i64])]) -> Vmdb {
    let (prov, template, ems) = (model("miq_provision", 1), model("vm", 1), model("ems", 1));
    let mut vmdb = Vmdb::default()
        .with(&prov, &[("vm_template", template.clone())])
        .with(
            &template,
            &[
                ("ext_management_system", ems.clone()),
                ("provisioned_storage", Value::Integer(100)),
            ],
        );
    let mut host_list = Vec::new();
    let (mut vm_id, mut storage_id) = (100, 0);
    for (h, (powered, vms, storages)) in hosts.iter().enumerate() {
        let host = model("host", h as i64 + 1);
        let mut vm_list = Vec::new();
        for vm_on in *vms {
            vm_id += 1;
            let vm = model("vm", vm_id);
            vmdb = vmdb.with(&vm, &[("power_state", on_or_off(*vm_on))]);
            vm_list.push(vm);
        }
        let mut storage_list = Vec::new();
        for free in *storages {
            storage_id += 1;
            let storage = model("storage", storage_id);
            vmdb = vmdb.with(&storage, &[("free_space", Value::Integer(*free))]);
            storage_list.push(storage);
        }
        vmdb = vmdb.with(
            &host,
            &[
                ("power_state", on_or_off(*powered)),
                ("vms", Value::Array(vm_list)),
                ("writable_storages", Value::Array(storage_list)),
            ],
        );
        host_list.push(host);
    }
    vmdb.with(&ems, &[("hosts", Value::Array(host_list))])
}

fn with_provision() -> Vec<(&'static str, Value)> {
    vec![("miq_provision", model("miq_provision", 1))]
}

/// host and storage as set on the placement object (a child of the caller).
fn placed(vmdb: &Vmdb) -> (Value, Value) {
    let run = run(
        &engine_with(vmdb),
        "/System/Process/call_placement",
        with_provision(),
    );
    let root = run.root.unwrap();
    assert_eq!(
        run.root_get("host"),
        Value::Nil,
        "set on the method's object, not the root"
    );
    let child = run.workspace.obj(root).children()[0];
    let placement = run.workspace.obj(child);
    (placement.read("host"), placement.read("storage"))
}

#[test]
fn host_and_storage_least_utilized_picks_the_least_busy_host_and_its_roomiest_storage() {
    let vmdb = placement(&[
        (true, &[true, true, false], &[500, 900]),
        (false, &[], &[5000]),                               // powered off
        (true, &[true, false, false], &[50, 300, 700, 700]), // fewest running: 1
        (true, &[true], &[900]),                             // as few running: not taken
    ]);
    // The third host's first storage of 700 (max_by keeps the first): its storages are 4..7.
    assert_eq!(placed(&vmdb), (model("host", 3), model("storage", 6)));
}

// A host only replaces the choice with strictly fewer running VMs.
#[test]
fn host_and_storage_least_utilized_keeps_the_first_of_equally_busy_hosts() {
    let vmdb = placement(&[(true, &[true], &[200]), (true, &[true], &[900])]);
    assert_eq!(placed(&vmdb), (model("host", 1), model("storage", 1)));
}

#[test]
fn host_and_storage_least_utilized_sets_nothing_when_no_host_fits() {
    let vmdb = placement(&[(false, &[], &[900]), (true, &[], &[100, 20])]);
    assert_eq!(placed(&vmdb), (Value::Nil, Value::Nil));
}

#[test]
fn host_and_storage_least_utilized_without_a_provision_aborts() {
    let aborted = aborted(
        &offline_engine(),
        "/System/Process/host_and_storage_least_utilized",
        vec![],
    );
    assert_aborted_with(&aborted, "Provision not specified");
}

#[test]
fn host_and_storage_least_utilized_without_a_provider_aborts() {
    let vmdb = Vmdb::default()
        .with(
            &model("miq_provision", 1),
            &[("vm_template", model("vm", 1))],
        )
        .with(
            &model("vm", 1),
            &[
                ("ext_management_system", Value::Nil),
                ("name", Value::from("rhel9-template")),
            ],
        );
    let aborted = aborted(
        &engine_with(&vmdb),
        "/System/Process/host_and_storage_least_utilized",
        with_provision(),
    );
    assert_aborted_with(&aborted, "EMS not found for VM [rhel9-template");
}

// ----- SNMP traps and parse_automation_request ---------------------------------------------

#[test]
fn snmp_traps_record_the_method_inputs_as_execute_does() {
    let e = offline_engine();
    for version in ["v1", "v2"] {
        let run = run(&e, &format!("/System/Process/snmp_trap_{version}"), vec![]);
        let inputs = Value::Hash(vec![
            (Value::from("host"), Value::from("10.0.0.9")),
            (Value::from("trap_oid"), Value::from("1.3.6.1.4.1.33482.3")),
            (Value::from("object_list"), Value::from("cpu high")),
        ]);
        assert_eq!(
            executions(&run),
            vec![call(&format!("snmp_trap_{version}"), vec![inputs])]
        );
    }
}

// An automation manager's provisioning (Terraform Enterprise…) is its own provider category.
#[test]
fn parse_automation_request_routes_provisioning_via_an_automation_manager() {
    let run = run(
        &offline_engine(),
        "/System/Process/parse_automation_request?request=provision_via_automation_manager",
        vec![],
    );
    for (key, value) in [
        ("target_component", "AutomationManager"),
        ("target_class", "Lifecycle"),
        ("target_instance", "Provisioning"),
        ("ae_provider_category", "AutomationManagement"),
    ] {
        assert_eq!(run.root_get(key), Value::from(value), "{key}");
    }
    assert!(run.log_messages().contains(
        &"Request:<provision_via_automation_manager> Target Component:<AutomationManager> "
    ));
}

// ----- ManageIQ's own /System/Event instances ----------------------------------------------

const CONTENT_MIRROR: &str = "/work/.mirror/ManageIQ+manageiq-content/repo";

/// ManageIQ's domain (content/automate/ManageIQ) of the manageiq-content repository at
/// `MIQ_CONTENT_REPO`, extracted to a fresh directory and loaded once for all tests; the
/// reason when it cannot be.
fn manageiq_engine_once() -> Result<Engine, String> {
    let repo = std::env::var("MIQ_CONTENT_REPO").unwrap_or_else(|_| CONTENT_MIRROR.into());
    if !Path::new(&repo).exists() {
        return Err(format!(
            "no manageiq-content repository at {repo} (set MIQ_CONTENT_REPO)"
        ));
    }
    let dir = std::env::temp_dir().join(format!("miq-builtins-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut archive = Command::new("git")
        .args(["-C", &repo, "archive", "HEAD", "content/automate/ManageIQ"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("git: {e}"))?;
    let stdout = archive.stdout.take().expect("piped");
    let tar = Command::new("tar")
        .args(["-x", "-C"])
        .arg(&dir)
        .stdin(stdout)
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    let git = archive.wait().map_err(|e| format!("git: {e}"))?;
    let loaded = if git.success() && tar.success() {
        Datastore::load(&[dir.join("content/automate/ManageIQ")])
            .map_err(|e| format!("the ManageIQ domain does not load: {e:?}"))
    } else {
        Err(format!("git archive of {repo} failed"))
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Engine::new(loaded?).with_runner(ScriptedRunner::new()))
}

static MANAGEIQ: OnceLock<Result<Engine, String>> = OnceLock::new();

/// The ManageIQ domain with `broker` answering service-model calls, or None (the skip said).
fn manageiq_engine<B: ObjectBroker + Clone + Sync + 'static>(
    test: &str,
    broker: &B,
) -> Option<Engine> {
    match MANAGEIQ.get_or_init(manageiq_engine_once) {
        Ok(engine) => {
            let mut engine = engine.clone();
            let broker = broker.clone();
            engine.set_workspace_setup(Arc::new(move |ws| {
                ws.set_broker(Box::new(broker.clone()));
            }));
            Some(engine)
        }
        Err(why) => {
            println!("skipped {test}: {why}");
            None
        }
    }
}

// MiqAeEvent raises an EMS event as /System/Process/Event with the event stream on the
// root: the relationship reads the event's namespace and source to reach the VMware
// handler, whose relationships call the event handlers.
#[test]
fn manageiq_vmware_events_reach_their_handlers_and_record_the_calls() {
    let vmdb = Vmdb::default().with(
        &event(),
        &[
            ("event_namespace", Value::from("EmsEvent")),
            ("source", Value::from("VC")),
            ("refresh", Value::Nil),
            ("policy", Value::Nil),
        ],
    );
    let Some(e) = manageiq_engine("manageiq_vmware_events", &vmdb) else {
        return;
    };
    let mut root = with_event();
    root.push(("event_type", Value::from("Destroy_Task")));
    let destroy = run(&e, "/System/Process/Event", root);
    assert_eq!(
        executions(&destroy),
        vec![call(
            "refresh",
            vec![Value::from("ems"), Value::Bool(false)]
        )]
    );
    let mut root = with_event();
    root.push(("event_type", Value::from("CloneVM_Task")));
    let clone = run(&e, "/System/Process/Event", root);
    assert_eq!(
        executions(&clone),
        vec![call(
            "policy",
            vec![
                Value::from("src_vm"),
                Value::from("vm_clone_start"),
                Value::from("host")
            ]
        )]
    );
}

#[test]
fn manageiq_amazon_api_call_event_refreshes_its_provider() {
    let vmdb = Vmdb::default().with(&event(), &[("manager_refresh", Value::Nil)]);
    let Some(e) = manageiq_engine("manageiq_amazon_api_call_event", &vmdb) else {
        return;
    };
    let run = run(
        &e,
        "/System/Event/EmsEvent/Amazon/AWS_API_CALL_AllocateAddress",
        with_event(),
    );
    let sync = sym_hash(&[("sync", Value::Bool(false))]);
    assert_eq!(
        executions(&run),
        vec![call("manager_refresh", vec![sync.clone()])]
    );
    assert_eq!(vmdb.calls_of(&event(), "manager_refresh"), vec![vec![sync]]);
}

#[test]
fn manageiq_parse_event_stream_routes_an_ems_event() {
    let vmdb = ems_event(Some(&[
        ("provider_name", Value::from("VMware")),
        ("manager_type", Value::from("Infra")),
    ]));
    let Some(e) = manageiq_engine("manageiq_parse_event_stream", &vmdb) else {
        return;
    };
    let run = run(&e, "/System/Process/parse_event_stream", with_event());
    assert_eq!(
        run.root_get("event_path"),
        Value::from("/VMware/EMSEvent/infrastructure/Event")
    );
}

// A service retirement request event: policies enforced, then a prevented policy aborts the
// run before the retirement entry point is looked up.
#[test]
fn manageiq_prevented_service_retire_request_stops_after_policy_enforcement() {
    let policy = sym_hash(&[("prevented", Value::Bool(true))]);
    let vmdb = policy_event(sym_hash(&[("policy", policy)]))
        .with(&event(), &[("process_evm_event", Value::Nil)]);
    let Some(e) = manageiq_engine("manageiq_prevented_service_retire", &vmdb) else {
        return;
    };
    let aborted = aborted(
        &e,
        "/System/Event/MiqEvent/POLICY/request_service_retire",
        with_event(),
    );
    assert_aborted_with(
        &aborted,
        "Event request_service_retire for #<MiqAeServiceService id: 4> was terminated: retirement prevented by policy",
    );
    assert_eq!(
        aborted.run.workspace.executions(),
        &[call("process_evm_event", vec![])]
    );
    assert!(!aborted
        .run
        .log_messages()
        .iter()
        .any(|l| l.contains("GetRetirementEntryPoint")));
}

/// An event stream on its way through `/System/Process/Event`: it answers its namespace and
/// source; every other call (the handlers' actions, `full_data`) gives nil.
#[derive(Clone)]
struct RoutedEvent {
    namespace: String,
    source: String,
}

impl ObjectBroker for RoutedEvent {
    fn call(&mut self, _: &Value, method: &str, _: &[Value]) -> Result<Value, AeError> {
        Ok(match method {
            "event_namespace" => Value::from(self.namespace.as_str()),
            "source" => Value::from(self.source.as_str()),
            _ => Value::Nil,
        })
    }
}

/// The handlers that make a call on the event (the other two only read or do nothing).
fn calls_a_handler(instance: &miq_automate_engine::datastore::Instance) -> bool {
    instance.values.iter().any(|(_, v)| {
        let value = v.value.as_deref().unwrap_or_default().to_lowercase();
        value.contains("/system/event_handlers/")
            && !value.contains("check_policy_prevent")
            && !value.contains("src_vm_disconnect_storage")
    })
}

// Every instance under ManageIQ's /System/Event/<namespace>/<source>, reached as ManageIQ
// reaches it (/System/Process/Event with the event type), runs offline; each that calls an
// event handler records its call.
#[test]
fn manageiq_every_system_event_instance_runs_and_records_its_handler_calls() {
    let probe = RoutedEvent {
        namespace: String::new(),
        source: String::new(),
    };
    let Some(base) = manageiq_engine("manageiq_every_system_event_instance", &probe) else {
        return;
    };
    let (mut ran, mut with_calls, mut failures) = (0, 0, Vec::new());
    let ds = base.datastore();
    for class in ds.classes() {
        let ns = &class.namespace;
        let Some(namespace) = ns.strip_prefix("System/Event/") else {
            continue;
        };
        let route = RoutedEvent {
            namespace: namespace.to_string(),
            source: class.name.clone(),
        };
        let mut engine = base.clone();
        engine.set_workspace_setup(Arc::new(move |ws| ws.set_broker(Box::new(route.clone()))));
        for instance in class.instances.iter().filter(|i| i.name != ".missing") {
            let mut root = with_event();
            root.push(("event_type", Value::from(instance.name.as_str())));
            match engine.instantiate("/System/Process/Event", root) {
                Err(aborted) => failures.push(format!("{ns}/{}: {aborted}", class.name)),
                Ok(run) => {
                    ran += 1;
                    let recorded = !run.workspace.executions().is_empty();
                    with_calls += usize::from(recorded);
                    if calls_a_handler(instance) && !recorded {
                        failures.push(format!("{ns}/{}/{}: no call", class.name, instance.name));
                    }
                }
            }
        }
    }
    println!("{ran} /System/Event instances ran, {with_calls} recorded handler calls");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(with_calls > 500, "{with_calls}");
}
