//! Follows `spec/miq_ae_object_spec.rb`: arguments as attributes, datatypes, service models.

use std::sync::Arc;

use miq_automate_core::{AeError, ServiceModelRef, Value};
use miq_automate_engine::EngineError;

use crate::support::{engine, no_attrs};

#[test]
fn fields_take_defaults_datatypes_and_message_filters() {
    let e = engine();
    let run = e
        .instantiate("/Base/Test/Attrs/one?vm_id=12", no_attrs())
        .unwrap();
    let get = |k: &str| run.root_get(k);
    assert_eq!(get("greeting"), Value::from("hello instance1"));
    assert_eq!(get("count"), Value::Integer(5));
    assert_eq!(get("ratio"), Value::Float(2.5));
    assert_eq!(get("flag"), Value::Bool(true));
    assert_eq!(
        get("list"),
        Value::Array(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(get("sym"), Value::Symbol("sym1".into()));
    assert_eq!(get("secret"), Value::from("********"));
    let root = run.workspace.obj(run.root.unwrap());
    assert_eq!(root.decrypt("secret").as_deref(), Some("s3cret"));
    assert_eq!(
        get("vm"),
        Value::ServiceModel(ServiceModelRef::new("vm", 12))
    );
    assert_eq!(get("nosub"), Value::from("${#attr1}"));
    assert_eq!(get("blank_default"), Value::Nil);
    assert_eq!(get("only_discover"), Value::Nil, "message filter");
    assert_eq!(get("any_message"), Value::from("any"));
    assert_eq!(get("listed"), Value::from("listed"));
    // #other runs only `*` and listed fields.
    let run = e
        .instantiate("/Base/Test/Attrs/one#Other", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("listed"), Value::from("listed"));
    assert_eq!(run.root_get("any_message"), Value::from("any"));
    assert_eq!(run.root_get("attr1"), Value::Nil);
    // A blank instance value falls back to the default.
    let run = e.instantiate("/Base/Test/Attrs/Empty", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("defaultA"));
}

#[test]
fn service_model_datatypes_go_through_the_embedders_lookup() {
    struct Lookup;
    impl miq_automate_engine::ServiceLookup for Lookup {
        fn find(&self, model: &str, id: &Value) -> Result<Value, AeError> {
            match id.to_ruby_s().as_str() {
                "12" => Ok(Value::ServiceModel(ServiceModelRef::new(model, 1200))),
                _ => Err(AeError::ServiceNotFound(format!(
                    "{model} {} not found",
                    id.to_ruby_s()
                ))),
            }
        }
    }
    let mut e = engine();
    e.set_service_lookup(Arc::new(Lookup));
    let run = e
        .instantiate("/Base/Test/Attrs/one?vm_id=12", no_attrs())
        .unwrap();
    assert_eq!(
        run.root_get("vm"),
        Value::ServiceModel(ServiceModelRef::new("vm", 1200))
    );
    let err = e
        .instantiate("/Base/Test/Attrs/one?vm_id=13", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::ServiceNotFound("vm 13 not found".into()))
    );
}
