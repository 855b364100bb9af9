//! A fake VMDB: the service-model objects a test needs, answering the method calls that
//! substitutions make on them (`${/#vm.name}`, `${/#miq_request.get_option(:email)}`).

use std::collections::HashMap;
use std::sync::Arc;

use miq_automate_core::{AeError, ObjectBroker, Value};
use miq_automate_engine::Engine;

/// Objects by `(model, id)`: their attributes, and the options `get_option` reads.
#[derive(Clone, Default)]
pub struct Vmdb {
    objects: HashMap<(String, i64), Row>,
}

#[derive(Clone, Default)]
struct Row {
    attributes: HashMap<String, Value>,
    options: HashMap<String, Value>,
}

impl Vmdb {
    /// An empty VMDB.
    pub fn new() -> Self {
        Vmdb::default()
    }

    /// Adds row `id` of `model` (snake case, as `Vm::vm=1` makes it: `vm`) with attributes.
    pub fn row(mut self, model: &str, id: i64, attributes: &[(&str, Value)]) -> Self {
        let row = self.objects.entry((model.into(), id)).or_default();
        for (k, v) in attributes {
            row.attributes.insert((*k).into(), v.clone());
        }
        self
    }

    /// Sets an option of row `id` of `model` (`get_option(:name)`).
    pub fn option(mut self, model: &str, id: i64, name: &str, value: Value) -> Self {
        let row = self.objects.entry((model.into(), id)).or_default();
        row.options.insert(name.into(), value);
        self
    }

    /// Makes every workspace `engine` builds call these objects.
    pub fn install(self, engine: &mut Engine) {
        engine.set_workspace_setup(Arc::new(move |ws| ws.set_broker(Box::new(self.clone()))));
    }
}

impl ObjectBroker for Vmdb {
    fn call(&mut self, receiver: &Value, method: &str, args: &[Value]) -> Result<Value, AeError> {
        let no_method = || AeError::NoMethod {
            receiver: receiver.ruby_class(),
            method: method.into(),
        };
        let Value::ServiceModel(r) = receiver else {
            return Err(no_method());
        };
        let row = self
            .objects
            .get(&(r.model.clone(), r.id))
            .ok_or_else(|| AeError::ServiceNotFound(format!("{} {} not found", r.model, r.id)))?;
        match method {
            "id" => Ok(Value::Integer(r.id)),
            "get_option" => {
                let name = args.first().map(Value::to_ruby_s).unwrap_or_default();
                Ok(row.options.get(&name).cloned().unwrap_or_default())
            }
            _ => row.attributes.get(method).cloned().ok_or_else(no_method),
        }
    }
}
