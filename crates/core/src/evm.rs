//! The `$evm` contract: the operations an automate method uses, as a trait that Rust logic
//! (the rollback, tests) drives. The in-memory [`Workspace`] implements it; bindings implement
//! it over a foreign `$evm` (ManageIQ's DRb proxy), so every call may be a fallible round trip.

use std::collections::BTreeMap;

use crate::ae_result::AeResult;
use crate::error::AeError;
use crate::log::LogLevel;
use crate::value::Value;
use crate::workspace::Workspace;

/// Which of `$evm.current_*` to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CurrentName {
    /// `current_namespace`.
    Namespace,
    /// `current_class`.
    Class,
    /// `current_instance`.
    Instance,
    /// `current_message`.
    Message,
    /// `current_method`.
    Method,
}

/// The operations of `$evm` that methods use. Attribute values may be opaque handles
/// ([`Value::ServiceModel`], [`Value::Foreign`]) whose methods are reached through
/// [`Evm::call`], whichever side they live on.
pub trait Evm {
    /// `$evm.root[key]`.
    fn root_get(&mut self, key: &str) -> Result<Value, AeError>;
    /// `$evm.root[key] = value`.
    fn root_set(&mut self, key: &str, value: Value) -> Result<(), AeError>;
    /// `$evm.object(path)[key]` (`None` = current object).
    fn object_get(&mut self, path: Option<&str>, key: &str) -> Result<Value, AeError>;
    /// `$evm.object(path)[key] = value`.
    fn object_set(&mut self, path: Option<&str>, key: &str, value: Value) -> Result<(), AeError>;
    /// `$evm.inputs[name]`.
    fn input(&mut self, name: &str) -> Result<Value, AeError>;
    /// `$evm.log(level, message)`.
    fn log(&mut self, level: LogLevel, message: &str) -> Result<(), AeError>;
    /// `$evm.instantiate(uri)`: the new object, or nil when the engine gave nil (it logs why).
    fn instantiate(&mut self, uri: &str) -> Result<Value, AeError>;
    /// `$evm.set_state_var(key, value)`.
    fn set_state_var(&mut self, key: &Value, value: Value) -> Result<(), AeError>;
    /// `$evm.get_state_var(key)`.
    fn get_state_var(&mut self, key: &Value) -> Result<Value, AeError>;
    /// `$evm.state_var_exist?(key)`.
    fn state_var_exist(&mut self, key: &Value) -> Result<bool, AeError>;
    /// `$evm.delete_state_var(key)`.
    fn delete_state_var(&mut self, key: &Value) -> Result<Value, AeError>;
    /// `$evm.get_state_vars` (a copy).
    fn get_state_vars(&mut self) -> Result<Value, AeError>;
    /// `$evm.create_notification(options)` (nil when refused).
    fn create_notification(&mut self, options: Value) -> Result<Value, AeError>;
    /// `$evm.current_namespace` and friends.
    fn current_name(&mut self, which: CurrentName) -> Result<Option<String>, AeError>;
    /// Calls `method` on a value held in the workspace (a service model, a foreign object).
    fn call(&mut self, receiver: &Value, method: &str, args: &[Value]) -> Result<Value, AeError>;

    /// `$evm.root.decrypt(key)`: the plaintext of a password attribute of root.
    fn root_decrypt(&mut self, key: &str) -> Result<Option<String>, AeError>;

    /// Root `ae_result`, parsed (`None` when blank).
    fn ae_result(&mut self) -> Result<Option<AeResult>, AeError> {
        match self.root_get("ae_result")? {
            v if v.is_blank() => Ok(None),
            v => v.to_ruby_s().parse().map(Some),
        }
    }

    /// Sets root `ae_result`.
    fn set_ae_result(&mut self, result: AeResult) -> Result<(), AeError> {
        self.root_set("ae_result", Value::String(result.as_str().into()))
    }
}

impl Evm for Workspace {
    fn root_get(&mut self, key: &str) -> Result<Value, AeError> {
        Ok(Workspace::root_get(self, key))
    }

    fn root_set(&mut self, key: &str, value: Value) -> Result<(), AeError> {
        Workspace::root_set(self, key, value);
        Ok(())
    }

    fn root_decrypt(&mut self, key: &str) -> Result<Option<String>, AeError> {
        Ok(self.obj(self.root()).decrypt(key))
    }

    fn object_get(&mut self, path: Option<&str>, key: &str) -> Result<Value, AeError> {
        let id = self.object(path)?.ok_or_else(|| not_found(path))?;
        Ok(self.obj(id).read(key))
    }

    fn object_set(&mut self, path: Option<&str>, key: &str, value: Value) -> Result<(), AeError> {
        let id = self.object(path)?.ok_or_else(|| not_found(path))?;
        self.obj_mut(id).set(key, value);
        Ok(())
    }

    fn input(&mut self, name: &str) -> Result<Value, AeError> {
        Ok(self.inputs().get(name).cloned().unwrap_or_default())
    }

    fn log(&mut self, level: LogLevel, message: &str) -> Result<(), AeError> {
        Workspace::log(self, level, message);
        Ok(())
    }

    fn instantiate(&mut self, uri: &str) -> Result<Value, AeError> {
        Ok(Workspace::instantiate(self, uri)
            .map(Value::Object)
            .unwrap_or_default())
    }

    fn set_state_var(&mut self, key: &Value, value: Value) -> Result<(), AeError> {
        self.state_vars_mut().set(key, value)
    }

    fn get_state_var(&mut self, key: &Value) -> Result<Value, AeError> {
        Ok(self.state_vars().get(key))
    }

    fn state_var_exist(&mut self, key: &Value) -> Result<bool, AeError> {
        Ok(self.state_vars().contains(key))
    }

    fn delete_state_var(&mut self, key: &Value) -> Result<Value, AeError> {
        Ok(self.state_vars_mut().delete(key))
    }

    fn get_state_vars(&mut self) -> Result<Value, AeError> {
        Ok(self.state_vars().to_hash())
    }

    fn create_notification(&mut self, options: Value) -> Result<Value, AeError> {
        Ok(Workspace::create_notification(self, options))
    }

    fn current_name(&mut self, which: CurrentName) -> Result<Option<String>, AeError> {
        let frame = self.current_frame().cloned();
        let object = self.obj(self.current());
        Ok(match which {
            CurrentName::Namespace => object.namespace.clone(),
            CurrentName::Class => object.class_name.clone(),
            CurrentName::Instance => object.instance_name.clone(),
            CurrentName::Message => Some(object.message.clone()),
            CurrentName::Method => frame.and_then(|f| f.method),
        })
    }

    fn call(&mut self, receiver: &Value, method: &str, args: &[Value]) -> Result<Value, AeError> {
        self.call_method(receiver, method, args)
    }
}

fn not_found(path: Option<&str>) -> AeError {
    AeError::ObjectNotFound(format!(
        "Object Not Found for path=[{}]",
        path.unwrap_or("")
    ))
}

/// Wraps an [`Evm`] and counts the calls made through it, by operation: on ManageIQ's DRb
/// `$evm` each one is a round trip.
#[derive(Debug)]
pub struct CountingEvm<E> {
    inner: E,
    counts: BTreeMap<&'static str, usize>,
}

impl<E: Evm> CountingEvm<E> {
    /// Starts counting calls to `inner`.
    pub fn new(inner: E) -> Self {
        CountingEvm {
            inner,
            counts: BTreeMap::new(),
        }
    }

    /// Calls by operation name.
    pub fn counts(&self) -> &BTreeMap<&'static str, usize> {
        &self.counts
    }

    /// All calls.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// The wrapped `$evm`.
    pub fn into_inner(self) -> E {
        self.inner
    }

    /// The wrapped `$evm`, borrowed.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    fn tick(&mut self, op: &'static str) -> &mut E {
        *self.counts.entry(op).or_default() += 1;
        &mut self.inner
    }
}

impl<E: Evm> Evm for CountingEvm<E> {
    fn root_get(&mut self, key: &str) -> Result<Value, AeError> {
        self.tick("root_get").root_get(key)
    }
    fn root_set(&mut self, key: &str, value: Value) -> Result<(), AeError> {
        self.tick("root_set").root_set(key, value)
    }
    fn root_decrypt(&mut self, key: &str) -> Result<Option<String>, AeError> {
        self.tick("root_decrypt").root_decrypt(key)
    }
    fn object_get(&mut self, path: Option<&str>, key: &str) -> Result<Value, AeError> {
        self.tick("object_get").object_get(path, key)
    }
    fn object_set(&mut self, path: Option<&str>, key: &str, value: Value) -> Result<(), AeError> {
        self.tick("object_set").object_set(path, key, value)
    }
    fn input(&mut self, name: &str) -> Result<Value, AeError> {
        self.tick("input").input(name)
    }
    fn log(&mut self, level: LogLevel, message: &str) -> Result<(), AeError> {
        self.tick("log").log(level, message)
    }
    fn instantiate(&mut self, uri: &str) -> Result<Value, AeError> {
        self.tick("instantiate").instantiate(uri)
    }
    fn set_state_var(&mut self, key: &Value, value: Value) -> Result<(), AeError> {
        self.tick("set_state_var").set_state_var(key, value)
    }
    fn get_state_var(&mut self, key: &Value) -> Result<Value, AeError> {
        self.tick("get_state_var").get_state_var(key)
    }
    fn state_var_exist(&mut self, key: &Value) -> Result<bool, AeError> {
        self.tick("state_var_exist").state_var_exist(key)
    }
    fn delete_state_var(&mut self, key: &Value) -> Result<Value, AeError> {
        self.tick("delete_state_var").delete_state_var(key)
    }
    fn get_state_vars(&mut self) -> Result<Value, AeError> {
        self.tick("get_state_vars").get_state_vars()
    }
    fn create_notification(&mut self, options: Value) -> Result<Value, AeError> {
        self.tick("create_notification")
            .create_notification(options)
    }
    fn current_name(&mut self, which: CurrentName) -> Result<Option<String>, AeError> {
        self.tick("current_name").current_name(which)
    }
    fn call(&mut self, receiver: &Value, method: &str, args: &[Value]) -> Result<Value, AeError> {
        self.tick("call").call(receiver, method, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive(evm: &mut dyn Evm) -> Result<(), AeError> {
        evm.root_set("ae_result", Value::from("error"))?;
        evm.set_state_var(&Value::from("done"), Value::Array(vec![]))?;
        evm.log(LogLevel::Info, "hello")?;
        assert_eq!(evm.ae_result()?, Some(AeResult::Error));
        evm.set_ae_result(AeResult::Continue)?;
        Ok(())
    }

    #[test]
    fn workspace_implements_the_contract_and_calls_are_counted() {
        let mut counted = CountingEvm::new(Workspace::new());
        drive(&mut counted).unwrap();
        assert_eq!(counted.total(), 5);
        assert_eq!(counted.counts()["root_set"], 2);
        let mut ws = counted.into_inner();
        assert_eq!(
            Evm::root_get(&mut ws, "ae_result").unwrap(),
            Value::from("continue")
        );
        assert_eq!(
            ws.object_get(Some("/Nope/Class/Inst"), "x").unwrap_err(),
            AeError::ObjectNotFound("Object Not Found for path=[/Nope/Class/Inst]".into())
        );
        assert!(ws.ae_result().is_ok());
        ws.root_set("ae_result", Value::from("bogus"));
        assert_eq!(
            ws.ae_result().unwrap_err(),
            AeError::UnknownAeResult("bogus".into())
        );
    }
}
