//! `MiqAutomate::Service`: the offline `$evm`, with the engine's semantics.

use std::cell::RefCell;

use magnus::{
    block::Proc, gc::Marker, prelude::*, typed_data::Obj, value::Opaque, DataTypeFunctions, Error,
    RHash, Ruby, TypedData, Value,
};
use miq_automate_core::uri::{hash_to_query, query_to_hash};
use miq_automate_core::value::ObjectId;
use miq_automate_core::workspace::Created;
use miq_automate_core::{AeError, LogLevel, MethodOutcome, Value as Core};

use crate::convert;
use crate::errors::{self, guard, IntoRuby};
use crate::object::RbObject;
use crate::workspace::{RbWorkspace, WsSide};

/// The native part of `MiqAutomate::Service`.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::Service", free_immediately, mark)]
pub struct RbService {
    ws: Opaque<Obj<RbWorkspace>>,
    // `$evm.root` is asked for constantly: keep its wrapper (ManageIQ memoises it too).
    root_cache: RefCell<Option<(ObjectId, Opaque<Value>)>>,
}

impl DataTypeFunctions for RbService {
    fn mark(&self, marker: &Marker) {
        marker.mark(self.ws);
        if let Ok(cache) = self.root_cache.try_borrow() {
            if let Some((_, v)) = *cache {
                marker.mark(v);
            }
        }
    }
}

impl RbService {
    /// The `$evm` of `ws`.
    pub fn new(ws: Obj<RbWorkspace>) -> Self {
        RbService {
            ws: ws.into(),
            root_cache: RefCell::new(None),
        }
    }

    fn workspace(&self) -> Obj<RbWorkspace> {
        Ruby::get().expect("Ruby thread").get_inner(self.ws)
    }
}

fn wrap(ruby: &Ruby, ws: Obj<RbWorkspace>, id: Option<ObjectId>) -> Value {
    match id {
        Some(id) => ruby.obj_wrap(RbObject::new(ws, id)).as_value(),
        None => ruby.qnil().as_value(),
    }
}

fn root(ruby: &Ruby, rb_self: &RbService) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let id = ws.core()?.root();
        if let Some((cached, value)) = *rb_self.root_cache.borrow() {
            if cached == id {
                return Ok(ruby.get_inner(value));
            }
        }
        let value = wrap(ruby, ws, Some(id));
        *rb_self.root_cache.borrow_mut() = Some((id, value.into()));
        Ok(value)
    })
}

fn object(ruby: &Ruby, rb_self: &RbService, args: &[Value]) -> Result<Value, Error> {
    guard(|| {
        let path = match args.first() {
            Some(v) if !v.is_nil() => Some(convert::text(*v)?),
            _ => None,
        };
        let ws = rb_self.workspace();
        let id = ws.core_mut()?.object(path.as_deref()).rb()?;
        Ok(wrap(ruby, ws, id))
    })
}

fn parent(ruby: &Ruby, rb_self: &RbService) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let id = ws.core()?.parent();
        Ok(wrap(ruby, ws, id))
    })
}

fn current(ruby: &Ruby, rb_self: &RbService) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let id = ws.core()?.current();
        Ok(wrap(ruby, ws, Some(id)))
    })
}

fn current_name(
    rb_self: &RbService,
    which: miq_automate_core::CurrentName,
) -> Result<Option<String>, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let mut core = ws.core_mut()?;
        miq_automate_core::Evm::current_name(&mut *core, which).rb()
    })
}

fn current_namespace(rb_self: &RbService) -> Result<Option<String>, Error> {
    guard(|| current_name(rb_self, miq_automate_core::CurrentName::Namespace))
}
fn current_class(rb_self: &RbService) -> Result<Option<String>, Error> {
    guard(|| current_name(rb_self, miq_automate_core::CurrentName::Class))
}
fn current_instance(rb_self: &RbService) -> Result<Option<String>, Error> {
    guard(|| current_name(rb_self, miq_automate_core::CurrentName::Instance))
}
fn current_message(rb_self: &RbService) -> Result<Option<String>, Error> {
    guard(|| current_name(rb_self, miq_automate_core::CurrentName::Message))
}
fn current_method(rb_self: &RbService) -> Result<Option<String>, Error> {
    guard(|| current_name(rb_self, miq_automate_core::CurrentName::Method))
}

fn inputs(rb_self: &RbService) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let inputs = Core::Hash(
            ws.core()?
                .inputs()
                .iter()
                .map(|(k, v)| (Core::String(k.clone()), v.clone()))
                .collect(),
        );
        WsSide(ws).ruby(&inputs)
    })
}

fn log(ruby: &Ruby, rb_self: &RbService, level: Value, message: Value) -> Result<bool, Error> {
    guard(|| {
        let level: LogLevel = convert::text(level)?.parse().rb()?;
        let Some(message) = magnus::RString::from_value(message) else {
            return Err(Error::new(
                ruby.exception_no_method_error(),
                format!(
                    "undefined method `gsub' for {} (log messages must be Strings)",
                    message.class()
                ),
            ));
        };
        let message = log_text(ruby, message);
        rb_self.workspace().core_mut()?.log(level, &message);
        Ok(true)
    })
}

/// A log line's text from any Ruby String, since ManageIQ's logger writes whatever bytes a
/// method gives it: text in another encoding (ISO-8859-1…) is transcoded to UTF-8; what
/// does not transcode, invalid UTF-8 and a binary String's high bytes become U+FFFD.
pub(crate) fn log_text(ruby: &Ruby, message: magnus::RString) -> String {
    if let Ok(text) = message.to_string() {
        return text;
    }
    let binary = message.enc_get() == ruby.ascii8bit_encindex();
    if !binary && !message.is_utf8_compatible_encoding() {
        // Transcode what can be, replacing only the characters that cannot.
        let replace = ruby.to_symbol("replace");
        let options = magnus::kwargs!(ruby, "invalid" => replace, "undef" => replace);
        let utf8: Result<magnus::RString, Error> = message.funcall("encode", ("UTF-8", options));
        if let Ok(text) = utf8.and_then(magnus::RString::to_string) {
            return text;
        }
    }
    // SAFETY: the bytes are copied before Ruby runs again.
    String::from_utf8_lossy(unsafe { message.as_slice() }).into_owned()
}

fn instantiate(ruby: &Ruby, rb_self: &RbService, uri: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let uri = convert::text(uri)?;
        let created = ws.core_mut()?.create_instance(&uri);
        let (id, path) = match created {
            Ok(Created::Existing(id)) => return Ok(wrap(ruby, ws, Some(id))),
            Ok(Created::New(id, path)) => (id, path),
            Err(e) => return failed(ruby, ws, e),
        };
        let blocks = ws.handlers_for(ruby, &path)?;
        let method = ws
            .core()?
            .obj(id)
            .instance_name
            .as_deref()
            .map(str::to_lowercase);
        ws.core_mut()?.push_current(id, method.as_deref());
        let evm: Value = ws.funcall("evm", ())?;
        let mut outcome = Ok(());
        for block in blocks {
            let proc = Proc::from_value(block)
                .ok_or_else(|| errors::error("on_instantiate needs a block"))?;
            let result = proc.call::<_, Value>((evm, uri.as_str()));
            if let Err(e) = method_outcome(ruby, ws, result.map(|_| ())) {
                outcome = Err(e);
                break;
            }
        }
        ws.core_mut()?.pop_current();
        let finished = ws.core_mut()?.finish_instance(id, outcome);
        match finished {
            Ok(id) => Ok(wrap(ruby, ws, Some(id))),
            Err(e) => failed(ruby, ws, e),
        }
    })
}

fn failed(ruby: &Ruby, ws: Obj<RbWorkspace>, e: AeError) -> Result<Value, Error> {
    ws.core_mut()?
        .log_line(LogLevel::Error, format!("instantiate failed : {e}"));
    Ok(ruby.qnil().as_value())
}

/// What the engine makes of a simulated method's end: a normal end or `exit` with a status,
/// or an uncaught exception (logged like the engine's postscript, an unknown rc).
fn method_outcome(
    ruby: &Ruby,
    ws: Obj<RbWorkspace>,
    result: Result<(), Error>,
) -> Result<(), AeError> {
    let status = match result {
        Ok(()) => Some(0),
        Err(err) => {
            let exception = err.value();
            match exception {
                Some(e) if e.is_kind_of(ruby.exception_system_exit()) => {
                    e.funcall::<_, _, i32>("status", ()).ok()
                }
                _ => match errors::from_ruby(&err) {
                    stop @ (AeError::StopInstantiation(_)
                    | AeError::AbortInstantiation(_)
                    | AeError::UnknownMethodRc(_)) => return Err(stop),
                    other => {
                        if let Ok(mut core) = ws.core_mut() {
                            core.log(
                                LogLevel::Error,
                                "The following error occurred during method evaluation:",
                            );
                            core.log(LogLevel::Error, &format!("  {other}"));
                        }
                        Some(1)
                    }
                },
            }
        }
    };
    let (level, message) = MethodOutcome::from_exit_status(status).into_result()?;
    if let Ok(mut core) = ws.core_mut() {
        core.log_line(level, message);
    }
    Ok(())
}

fn key(ws: Obj<RbWorkspace>, key: Value) -> Result<Core, Error> {
    WsSide(ws).core_at(key, &|| "a state var key".into())
}

fn set_state_var(rb_self: &RbService, k: Value, v: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let side = WsSide(ws);
        let k2 = key(ws, k)?;
        side.check_state_var_key(&k2)?;
        let v2 = side.core_at(v, &|| format!("state var {}", k2.masked().inspect()))?;
        ws.core_mut()?.state_vars_mut().set(&k2, v2).rb()?;
        Ok(v)
    })
}

fn get_state_var(rb_self: &RbService, k: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let k = key(ws, k)?;
        let value = ws.core()?.state_vars().get(&k);
        WsSide(ws).ruby(&value)
    })
}

fn state_var_exist(rb_self: &RbService, k: Value) -> Result<bool, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let k = key(ws, k)?;
        let exists = ws.core()?.state_vars().contains(&k);
        Ok(exists)
    })
}

fn delete_state_var(rb_self: &RbService, k: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let k = key(ws, k)?;
        let value = ws.core_mut()?.state_vars_mut().delete(&k);
        WsSide(ws).ruby(&value)
    })
}

fn get_state_vars(rb_self: &RbService) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let hash = ws.core()?.state_vars().to_hash();
        WsSide(ws).ruby(&hash)
    })
}

fn set_service_var(rb_self: &RbService, name: Value, value: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let name = convert::text(name)?;
        let core_value = WsSide(ws).core_at(value, &|| format!("service var '{name}'"))?;
        ws.core_mut()?.set_service_var(&name, core_value).rb()?;
        Ok(value)
    })
}

fn get_service_var(rb_self: &RbService, name: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let name = convert::text(name)?;
        let value = ws.core_mut()?.get_service_var(&name).rb()?;
        WsSide(ws).ruby(&value)
    })
}

fn service_var_exists(rb_self: &RbService, name: Value) -> Result<bool, Error> {
    guard(|| {
        let name = convert::text(name)?;
        rb_self
            .workspace()
            .core_mut()?
            .service_var_exists(&name)
            .rb()
    })
}

fn delete_service_var(rb_self: &RbService, name: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let name = convert::text(name)?;
        let value = ws.core_mut()?.delete_service_var(&name).rb()?;
        WsSide(ws).ruby(&value)
    })
}

fn notification_options(ws: Obj<RbWorkspace>, args: &[Value]) -> Result<Core, Error> {
    match args.first() {
        Some(v) if !v.is_nil() => WsSide(ws).core_at(*v, &|| "create_notification options".into()),
        _ => Ok(Core::Hash(vec![])),
    }
}

/// The `:subject`'s `name`, which the type's `%{subject}` shows — asked only of an offline
/// service model (`MiqAutomate::ServiceModel`) or a world's row (`MiqAutomate::World::Model`):
/// any other object (a DRb proxy, a replayed one) is not sent a call the method itself did
/// not make.
fn subject_name(args: &[Value]) -> Option<String> {
    let hash = magnus::RHash::from_value(*args.first()?)?;
    let ruby = Ruby::get().ok()?;
    let subject: Value = hash.get(ruby.to_symbol("subject"))?;
    let module = ruby
        .class_object()
        .const_get::<_, magnus::RModule>("MiqAutomate")
        .ok()?;
    let service_model = module.const_get::<_, magnus::RClass>("ServiceModel").ok();
    // `MiqAutomate::World` is a class: its constant is read as a value.
    let world_model = module.const_get::<_, Value>("World").ok().and_then(|w| {
        w.funcall::<_, _, magnus::RClass>("const_get", ("Model",))
            .ok()
    });
    let known = [service_model, world_model]
        .into_iter()
        .flatten()
        .any(|class| subject.is_kind_of(class));
    if subject.is_nil() || !known {
        return None;
    }
    let name: Value = subject.funcall("name", ()).ok()?;
    (!name.is_nil())
        .then(|| name.funcall::<_, _, String>("to_s", ()).ok())
        .flatten()
}

fn create_notification(rb_self: &RbService, args: &[Value]) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let options = notification_options(ws, args)?;
        let name = subject_name(args);
        let result = ws
            .core_mut()?
            .create_notification_named(options, name)
            .unwrap_or_default();
        WsSide(ws).ruby(&result)
    })
}

fn create_notification_strict(rb_self: &RbService, args: &[Value]) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let options = notification_options(ws, args)?;
        let name = subject_name(args);
        let result = ws
            .core_mut()?
            .create_notification_named(options, name)
            .rb()?;
        WsSide(ws).ruby(&result)
    })
}

fn execute(rb_self: &RbService, args: &[Value]) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let Some((name, rest)) = args.split_first() else {
            return Err(errors::to_ruby(AeError::ArgumentError(
                "execute needs a method name".into(),
            )));
        };
        let name = convert::text(*name)?;
        let side = WsSide(ws);
        let rest = rest
            .iter()
            .map(|v| side.core_at(*v, &|| format!("execute('{name}') arguments")))
            .collect::<Result<Vec<_>, _>>()?;
        let result = ws.core_mut()?.execute(&name, rest).rb()?;
        side.ruby(&result)
    })
}

fn field_timeout(rb_self: &RbService) -> Result<i64, Error> {
    guard(|| rb_self.workspace().core()?.field_timeout().rb())
}

fn hash_to_query_fn(rb_self: &RbService, hash: Value) -> Result<Option<String>, Error> {
    guard(|| {
        if hash.is_nil() {
            return Ok(None);
        }
        let side = WsSide(rb_self.workspace());
        let Core::Hash(pairs) = side.core_at(hash, &|| "hash_to_query".into())? else {
            return Err(errors::to_ruby(AeError::ArgumentError(
                "hash_to_query needs a Hash".into(),
            )));
        };
        let pairs: Vec<(String, Core)> =
            pairs.into_iter().map(|(k, v)| (k.to_ruby_s(), v)).collect();
        Ok(hash_to_query(&pairs))
    })
}

fn query_to_hash_fn(
    ruby: &Ruby,
    _rb_self: &RbService,
    query: Option<String>,
) -> Result<RHash, Error> {
    guard(|| {
        let hash = query_to_hash(query.as_deref().unwrap_or("")).rb()?;
        let out = ruby.hash_new();
        for (k, v) in hash {
            out.aset(k, v)?;
        }
        Ok(out)
    })
}

fn workspace(rb_self: &RbService) -> Result<Obj<RbWorkspace>, Error> {
    guard(|| Ok(rb_self.workspace()))
}

/// Defines `MiqAutomate::Service`.
pub fn define(ruby: &Ruby, module: magnus::RModule) -> Result<(), Error> {
    use magnus::method;
    let class = module.define_class("Service", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("root", method!(root, 0))?;
    class.define_method("object", method!(object, -1))?;
    class.define_method("parent", method!(parent, 0))?;
    class.define_method("current", method!(current, 0))?;
    class.define_method("current_object", method!(current, 0))?;
    class.define_method("current_namespace", method!(current_namespace, 0))?;
    class.define_method("current_class", method!(current_class, 0))?;
    class.define_method("current_instance", method!(current_instance, 0))?;
    class.define_method("current_message", method!(current_message, 0))?;
    class.define_method("current_method", method!(current_method, 0))?;
    class.define_method("inputs", method!(inputs, 0))?;
    class.define_method("log", method!(log, 2))?;
    class.define_method("instantiate", method!(instantiate, 1))?;
    class.define_method("set_state_var", method!(set_state_var, 2))?;
    class.define_method("get_state_var", method!(get_state_var, 1))?;
    class.define_method("state_var_exist?", method!(state_var_exist, 1))?;
    class.define_method("delete_state_var", method!(delete_state_var, 1))?;
    class.define_method("get_state_vars", method!(get_state_vars, 0))?;
    class.define_method("set_service_var", method!(set_service_var, 2))?;
    class.define_method("get_service_var", method!(get_service_var, 1))?;
    class.define_method("service_var_exists?", method!(service_var_exists, 1))?;
    class.define_method("delete_service_var", method!(delete_service_var, 1))?;
    class.define_method("create_notification", method!(create_notification, -1))?;
    class.define_method(
        "create_notification!",
        method!(create_notification_strict, -1),
    )?;
    class.define_method("execute", method!(execute, -1))?;
    class.define_method("field_timeout", method!(field_timeout, 0))?;
    class.define_method("hash_to_query", method!(hash_to_query_fn, 1))?;
    class.define_method("query_to_hash", method!(query_to_hash_fn, 1))?;
    class.define_method("workspace", method!(workspace, 0))?;
    Ok(())
}
