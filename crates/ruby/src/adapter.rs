//! The core's `Evm` trait over ANY Ruby object that quacks like `$evm` — ManageIQ's DRb proxy,
//! the engine's MiqAeMockService, a user's double — so native logic runs against it.
//! `MiqAutomate::EvmAdapter` exposes it to Ruby, with a count of round trips.

use std::cell::RefCell;
use std::collections::BTreeMap;

use magnus::{
    gc::Marker, prelude::*, value::Opaque, DataTypeFunctions, Error, RHash, Ruby, TypedData, Value,
};
use miq_automate_core::value::{ObjectId, ServiceModelRef};
use miq_automate_core::{AeError, CurrentName, Evm, LogLevel, Value as Core};

use crate::convert::{self, Registry, Side};
use crate::errors::{self, guard, IntoRuby};

/// Conversions for values from a foreign `$evm`: everything that is not plain data stays a
/// reference (a DRb proxy), service-model references are looked up with `$evm.vmdb`.
pub struct ForeignSide<'a> {
    registry: &'a Registry,
    evm: Value,
}

impl Side for ForeignSide<'_> {
    fn registry(&self) -> &Registry {
        self.registry
    }

    fn object_to_ruby(&self, _ruby: &Ruby, id: ObjectId) -> Result<Value, Error> {
        Err(errors::error(format!(
            "workspace object #{} does not belong to this $evm",
            id.0
        )))
    }

    fn object_from_ruby(&self, _value: Value) -> Option<ObjectId> {
        None
    }

    fn service_model_to_ruby(&self, _ruby: &Ruby, model: &ServiceModelRef) -> Result<Value, Error> {
        self.evm.funcall("vmdb", (model.model.as_str(), model.id))
    }
}

/// A Ruby `$evm` as an [`Evm`]. Every remote call is counted as a round trip; `root` and
/// `inputs` are fetched once per adapter (ManageIQ's service memoises them too).
pub struct ForeignEvm<'a> {
    side: ForeignSide<'a>,
    root: Option<Value>,
    inputs: Option<Value>,
    round_trips: BTreeMap<String, usize>,
}

impl<'a> ForeignEvm<'a> {
    /// Wraps `evm`; foreign objects it returns are kept in `registry`.
    pub fn new(evm: Value, registry: &'a Registry) -> Self {
        ForeignEvm {
            side: ForeignSide { registry, evm },
            root: None,
            inputs: None,
            round_trips: BTreeMap::new(),
        }
    }

    /// Starts from a `root` and `inputs` fetched earlier (the same method run).
    pub fn with_cache(mut self, root: Option<Value>, inputs: Option<Value>) -> Self {
        self.root = root;
        self.inputs = inputs;
        self
    }

    /// The `root` and `inputs` fetched so far, to reuse in a later call.
    pub fn cache(&self) -> (Option<Value>, Option<Value>) {
        (self.root, self.inputs)
    }

    /// Remote calls made so far, by method name.
    pub fn round_trips(&self) -> &BTreeMap<String, usize> {
        &self.round_trips
    }

    fn remote<T: magnus::TryConvert>(
        &mut self,
        target: Value,
        method: &str,
        args: Vec<Value>,
    ) -> Result<T, AeError> {
        *self.round_trips.entry(method.to_string()).or_default() += 1;
        target
            .funcall::<_, _, T>(method, args.as_slice())
            .map_err(|e| errors::from_ruby(&e))
    }

    fn ruby(&self) -> Ruby {
        Ruby::get_with(self.side.evm)
    }

    /// A value `$evm` gave back for `what` (named in errors).
    fn to_core(&self, value: Value, what: convert::At) -> Result<Core, AeError> {
        convert::to_core_at(&self.ruby(), &self.side, value, what)
            .map_err(|e| errors::from_ruby(&e))
    }

    fn to_ruby(&self, value: &Core) -> Result<Value, AeError> {
        convert::to_ruby(&self.ruby(), &self.side, value).map_err(|e| errors::from_ruby(&e))
    }

    fn root_object(&mut self) -> Result<Value, AeError> {
        if let Some(root) = self.root {
            return Ok(root);
        }
        let root: Value = self.remote(self.side.evm, "root", vec![])?;
        self.root = Some(root);
        Ok(root)
    }

    fn object(&mut self, path: Option<&str>) -> Result<Value, AeError> {
        let args = match path {
            Some(p) => vec![self.ruby().str_new(p).as_value()],
            None => vec![],
        };
        let object: Value = self.remote(self.side.evm, "object", args)?;
        if object.is_nil() {
            return Err(AeError::ObjectNotFound(format!(
                "Object Not Found for path=[{}]",
                path.unwrap_or("")
            )));
        }
        Ok(object)
    }

    fn key(&self, key: &str) -> Value {
        self.ruby().str_new(key).as_value()
    }
}

impl Evm for ForeignEvm<'_> {
    fn root_get(&mut self, key: &str) -> Result<Core, AeError> {
        let root = self.root_object()?;
        let v: Value = self.remote(root, "[]", vec![self.key(key)])?;
        self.to_core(v, &|| format!("$evm.root['{key}']"))
    }

    fn root_set(&mut self, key: &str, value: Core) -> Result<(), AeError> {
        let root = self.root_object()?;
        let v = self.to_ruby(&value)?;
        self.remote::<Value>(root, "[]=", vec![self.key(key), v])
            .map(|_| ())
    }

    fn root_decrypt(&mut self, key: &str) -> Result<Option<String>, AeError> {
        let root = self.root_object()?;
        let v: Value = self.remote(root, "decrypt", vec![self.key(key)])?;
        if v.is_nil() {
            return Ok(None);
        }
        convert::text(v)
            .map(Some)
            .map_err(|e| errors::from_ruby(&e))
    }

    fn object_get(&mut self, path: Option<&str>, key: &str) -> Result<Core, AeError> {
        let object = self.object(path)?;
        let v: Value = self.remote(object, "[]", vec![self.key(key)])?;
        self.to_core(v, &|| format!("$evm.object['{key}']"))
    }

    fn object_set(&mut self, path: Option<&str>, key: &str, value: Core) -> Result<(), AeError> {
        let object = self.object(path)?;
        let v = self.to_ruby(&value)?;
        self.remote::<Value>(object, "[]=", vec![self.key(key), v])
            .map(|_| ())
    }

    fn input(&mut self, name: &str) -> Result<Core, AeError> {
        let inputs = match self.inputs {
            Some(i) => i,
            None => {
                let i: Value = self.remote(self.side.evm, "inputs", vec![])?;
                self.inputs = Some(i);
                i
            }
        };
        // `inputs` arrives as a plain Hash (DRb copies it): indexing it is local.
        let v: Value = inputs
            .funcall("[]", (name,))
            .map_err(|e| errors::from_ruby(&e))?;
        self.to_core(v, &|| format!("$evm.inputs['{name}']"))
    }

    fn log(&mut self, level: LogLevel, message: &str) -> Result<(), AeError> {
        let args = vec![self.key(level.as_str()), self.key(message)];
        self.remote::<Value>(self.side.evm, "log", args).map(|_| ())
    }

    fn instantiate(&mut self, uri: &str) -> Result<Core, AeError> {
        let v: Value = self.remote(self.side.evm, "instantiate", vec![self.key(uri)])?;
        self.to_core(v, &|| "$evm.instantiate".into())
    }

    fn set_state_var(&mut self, key: &Core, value: Core) -> Result<(), AeError> {
        let args = vec![self.to_ruby(key)?, self.to_ruby(&value)?];
        self.remote::<Value>(self.side.evm, "set_state_var", args)
            .map(|_| ())
    }

    fn get_state_var(&mut self, key: &Core) -> Result<Core, AeError> {
        let args = vec![self.to_ruby(key)?];
        let v: Value = self.remote(self.side.evm, "get_state_var", args)?;
        self.to_core(v, &|| {
            format!("$evm.get_state_var({})", key.masked().inspect())
        })
    }

    fn state_var_exist(&mut self, key: &Core) -> Result<bool, AeError> {
        let args = vec![self.to_ruby(key)?];
        let v: Value = self.remote(self.side.evm, "state_var_exist?", args)?;
        Ok(v.to_bool())
    }

    fn delete_state_var(&mut self, key: &Core) -> Result<Core, AeError> {
        let args = vec![self.to_ruby(key)?];
        let v: Value = self.remote(self.side.evm, "delete_state_var", args)?;
        self.to_core(v, &|| {
            format!("$evm.delete_state_var({})", key.masked().inspect())
        })
    }

    fn get_state_vars(&mut self) -> Result<Core, AeError> {
        let v: Value = self.remote(self.side.evm, "get_state_vars", vec![])?;
        self.to_core(v, &|| "$evm.get_state_vars".into())
    }

    fn create_notification(&mut self, options: Core) -> Result<Core, AeError> {
        let args = vec![self.to_ruby(&options)?];
        let v: Value = self.remote(self.side.evm, "create_notification", args)?;
        self.to_core(v, &|| "$evm.create_notification".into())
    }

    fn current_name(&mut self, which: CurrentName) -> Result<Option<String>, AeError> {
        let method = match which {
            CurrentName::Namespace => "current_namespace",
            CurrentName::Class => "current_class",
            CurrentName::Instance => "current_instance",
            CurrentName::Message => "current_message",
            CurrentName::Method => "current_method",
        };
        let v: Value = self.remote(self.side.evm, method, vec![])?;
        if v.is_nil() {
            return Ok(None);
        }
        convert::text(v)
            .map(Some)
            .map_err(|e| errors::from_ruby(&e))
    }

    fn call(&mut self, receiver: &Core, method: &str, args: &[Core]) -> Result<Core, AeError> {
        let target = self.to_ruby(receiver)?;
        let args = args
            .iter()
            .map(|a| self.to_ruby(a))
            .collect::<Result<Vec<_>, _>>()?;
        let v: Value = self.remote(target, method, args)?;
        self.to_core(v, &|| format!("{}.{method}", receiver.masked().inspect()))
    }
}

type Cached = Option<Opaque<Value>>;

/// The native part of `MiqAutomate::EvmAdapter`: the `Evm` trait over a Ruby `$evm`.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::EvmAdapter", free_immediately, mark)]
pub struct RbAdapter {
    evm: Opaque<Value>,
    registry: Registry,
    round_trips: RefCell<BTreeMap<String, usize>>,
    // `$evm.root` and `$evm.inputs` of this method run, fetched once.
    cache: RefCell<(Cached, Cached)>,
}

impl DataTypeFunctions for RbAdapter {
    fn mark(&self, marker: &Marker) {
        marker.mark(self.evm);
        self.registry.mark(marker);
        if let Ok(cache) = self.cache.try_borrow() {
            for v in [cache.0, cache.1].into_iter().flatten() {
                marker.mark(v);
            }
        }
    }
}

impl RbAdapter {
    /// Runs `f` on a [`ForeignEvm`] over this adapter's `$evm`, adding its round trips.
    pub fn with_evm<T>(
        &self,
        f: impl FnOnce(&mut ForeignEvm<'_>) -> Result<T, AeError>,
    ) -> Result<T, Error> {
        let ruby = Ruby::get().expect("Ruby thread");
        let (root, inputs) = *self.cache.borrow();
        let mut evm = ForeignEvm::new(ruby.get_inner(self.evm), &self.registry).with_cache(
            root.map(|r| ruby.get_inner(r)),
            inputs.map(|i| ruby.get_inner(i)),
        );
        let result = f(&mut evm);
        let (root, inputs) = evm.cache();
        *self.cache.borrow_mut() = (root.map(Opaque::from), inputs.map(Opaque::from));
        let mut totals = self.round_trips.borrow_mut();
        for (k, n) in evm.round_trips() {
            *totals.entry(k.clone()).or_default() += n;
        }
        result.rb()
    }

    /// Remote calls made through this adapter, by method.
    pub fn round_trip_counts(&self) -> BTreeMap<String, usize> {
        self.round_trips.borrow().clone()
    }

    fn side(&self) -> ForeignSide<'_> {
        let ruby = Ruby::get().expect("Ruby thread");
        ForeignSide {
            registry: &self.registry,
            evm: ruby.get_inner(self.evm),
        }
    }

    /// A Ruby value as a core value (foreign objects kept by this adapter), going to `at`.
    pub fn core_at(&self, value: Value, at: convert::At) -> Result<Core, Error> {
        convert::to_core_at(&Ruby::get_with(value), &self.side(), value, at)
    }

    fn ruby(&self, value: &Core) -> Result<Value, Error> {
        convert::to_ruby(&Ruby::get().expect("Ruby thread"), &self.side(), value)
    }
}

/// An adapter over `evm` (kept on the stack while in use, so the GC sees what it holds).
pub fn wrap(ruby: &Ruby, evm: Value) -> Result<magnus::typed_data::Obj<RbAdapter>, Error> {
    new(ruby, evm)
}

fn new(ruby: &Ruby, evm: Value) -> Result<magnus::typed_data::Obj<RbAdapter>, Error> {
    guard(|| {
        Ok(ruby.obj_wrap(RbAdapter {
            evm: evm.into(),
            registry: Registry::default(),
            round_trips: RefCell::new(BTreeMap::new()),
            cache: RefCell::new((None, None)),
        }))
    })
}

fn path_arg(path: Value) -> Result<Option<String>, Error> {
    if path.is_nil() {
        Ok(None)
    } else {
        convert::text(path).map(Some)
    }
}

fn root_get(a: &RbAdapter, key: String) -> Result<Value, Error> {
    guard(|| {
        let v = a.with_evm(|e| e.root_get(&key))?;
        a.ruby(&v)
    })
}

fn root_set(a: &RbAdapter, key: String, value: Value) -> Result<Value, Error> {
    guard(|| {
        let core = a.core_at(value, &|| format!("root['{key}']"))?;
        a.with_evm(|e| e.root_set(&key, core))?;
        Ok(value)
    })
}

fn object_get(a: &RbAdapter, path: Value, key: String) -> Result<Value, Error> {
    guard(|| {
        let path = path_arg(path)?;
        let v = a.with_evm(|e| e.object_get(path.as_deref(), &key))?;
        a.ruby(&v)
    })
}

fn object_set(a: &RbAdapter, path: Value, key: String, value: Value) -> Result<Value, Error> {
    guard(|| {
        let path = path_arg(path)?;
        let core = a.core_at(value, &|| format!("object['{key}']"))?;
        a.with_evm(|e| e.object_set(path.as_deref(), &key, core))?;
        Ok(value)
    })
}

fn input(a: &RbAdapter, name: String) -> Result<Value, Error> {
    guard(|| {
        let v = a.with_evm(|e| e.input(&name))?;
        a.ruby(&v)
    })
}

fn log(a: &RbAdapter, level: Value, message: String) -> Result<bool, Error> {
    guard(|| {
        let level: LogLevel = convert::text(level)?.parse().rb()?;
        a.with_evm(|e| e.log(level, &message))?;
        Ok(true)
    })
}

fn instantiate(a: &RbAdapter, uri: String) -> Result<Value, Error> {
    guard(|| {
        let v = a.with_evm(|e| e.instantiate(&uri))?;
        a.ruby(&v)
    })
}

fn set_state_var(a: &RbAdapter, key: Value, value: Value) -> Result<Value, Error> {
    guard(|| {
        let k = a.core_at(key, &|| "a state var key".into())?;
        let v = a.core_at(value, &|| format!("state var {}", k.masked().inspect()))?;
        a.with_evm(|e| e.set_state_var(&k, v))?;
        Ok(value)
    })
}

fn get_state_var(a: &RbAdapter, key: Value) -> Result<Value, Error> {
    guard(|| {
        let k = a.core_at(key, &|| "a state var key".into())?;
        let v = a.with_evm(|e| e.get_state_var(&k))?;
        a.ruby(&v)
    })
}

fn state_var_exist(a: &RbAdapter, key: Value) -> Result<bool, Error> {
    guard(|| {
        let k = a.core_at(key, &|| "a state var key".into())?;
        a.with_evm(|e| e.state_var_exist(&k))
    })
}

fn delete_state_var(a: &RbAdapter, key: Value) -> Result<Value, Error> {
    guard(|| {
        let k = a.core_at(key, &|| "a state var key".into())?;
        let v = a.with_evm(|e| e.delete_state_var(&k))?;
        a.ruby(&v)
    })
}

fn get_state_vars(a: &RbAdapter) -> Result<Value, Error> {
    guard(|| {
        let v = a.with_evm(|e| e.get_state_vars())?;
        a.ruby(&v)
    })
}

fn create_notification(a: &RbAdapter, options: Value) -> Result<Value, Error> {
    guard(|| {
        let o = a.core_at(options, &|| "create_notification options".into())?;
        let v = a.with_evm(|e| e.create_notification(o))?;
        a.ruby(&v)
    })
}

fn current(a: &RbAdapter, which: Value) -> Result<Option<String>, Error> {
    guard(|| {
        let which = match convert::text(which)?.as_str() {
            "namespace" => CurrentName::Namespace,
            "class" => CurrentName::Class,
            "instance" => CurrentName::Instance,
            "message" => CurrentName::Message,
            "method" => CurrentName::Method,
            other => {
                return Err(errors::to_ruby(AeError::ArgumentError(format!(
                    "unknown current_* name {other:?} (namespace, class, instance, message, method)"
                ))))
            }
        };
        a.with_evm(|e| e.current_name(which))
    })
}

fn call(a: &RbAdapter, args: &[Value]) -> Result<Value, Error> {
    guard(|| {
        let [receiver, method, rest @ ..] = args else {
            return Err(errors::to_ruby(AeError::ArgumentError(
                "call(receiver, method, *args)".into(),
            )));
        };
        let method = convert::text(*method)?;
        let receiver = a.core_at(*receiver, &|| "call receiver".into())?;
        let rest = rest
            .iter()
            .map(|v| a.core_at(*v, &|| format!("call('{method}') arguments")))
            .collect::<Result<Vec<_>, _>>()?;
        let v = a.with_evm(|e| e.call(&receiver, &method, &rest))?;
        a.ruby(&v)
    })
}

fn round_trips(ruby: &Ruby, a: &RbAdapter) -> Result<RHash, Error> {
    guard(|| {
        let hash = ruby.hash_new();
        for (k, n) in a.round_trips.borrow().iter() {
            hash.aset(k.as_str(), *n)?;
        }
        Ok(hash)
    })
}

/// Defines `MiqAutomate::EvmAdapter`.
pub fn define(ruby: &Ruby, module: magnus::RModule) -> Result<(), Error> {
    use magnus::method;
    let class = module.define_class("EvmAdapter", ruby.class_object())?;
    class.define_singleton_method("new", magnus::function!(new, 1))?;
    class.define_method("root_get", method!(root_get, 1))?;
    class.define_method("root_set", method!(root_set, 2))?;
    class.define_method("object_get", method!(object_get, 2))?;
    class.define_method("object_set", method!(object_set, 3))?;
    class.define_method("input", method!(input, 1))?;
    class.define_method("log", method!(log, 2))?;
    class.define_method("instantiate", method!(instantiate, 1))?;
    class.define_method("set_state_var", method!(set_state_var, 2))?;
    class.define_method("get_state_var", method!(get_state_var, 1))?;
    class.define_method("state_var_exist?", method!(state_var_exist, 1))?;
    class.define_method("delete_state_var", method!(delete_state_var, 1))?;
    class.define_method("get_state_vars", method!(get_state_vars, 0))?;
    class.define_method("create_notification", method!(create_notification, 1))?;
    class.define_method("current", method!(current, 1))?;
    class.define_method("call", method!(call, -1))?;
    class.define_method("round_trips", method!(round_trips, 0))?;
    Ok(())
}
