//! `MiqAutomate::Workspace`: an offline workspace (the core's) with its foreign-object
//! registry and the Ruby blocks registered with `on_instantiate`.

use std::cell::{Ref, RefCell, RefMut};

use magnus::{
    gc::Marker, prelude::*, typed_data::Obj, value::Opaque, DataTypeFunctions, Error, RArray,
    RHash, Ruby, TypedData, Value,
};
use miq_automate_core::value::{ObjectId, ServiceModelRef};
use miq_automate_core::{Value as Core, Workspace};

use crate::convert::{self, Registry, Side};
use crate::errors::{self, guard, IntoRuby};
use crate::object::RbObject;
use crate::service::RbService;

/// The native part of `MiqAutomate::Workspace`.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::Workspace", free_immediately, mark)]
pub struct RbWorkspace {
    core: RefCell<Workspace>,
    // Shared with the workspaces of a delivery's earlier passes (their values name the same
    // Ruby objects).
    registry: std::sync::Arc<Registry>,
    handlers: RefCell<Vec<(Opaque<Value>, Opaque<Value>)>>,
}

impl DataTypeFunctions for RbWorkspace {
    fn mark(&self, marker: &Marker) {
        self.registry.mark(marker);
        if let Ok(handlers) = self.handlers.try_borrow() {
            for (matcher, block) in handlers.iter() {
                marker.mark(*matcher);
                marker.mark(*block);
            }
        }
    }
}

impl RbWorkspace {
    /// Borrows the core workspace; a re-entrant mutable use is a `MiqAutomate::Error`.
    pub fn core(&self) -> Result<Ref<'_, Workspace>, Error> {
        self.core
            .try_borrow()
            .map_err(|_| errors::error("the workspace is busy (re-entrant call)"))
    }

    /// Borrows the core workspace mutably.
    pub fn core_mut(&self) -> Result<RefMut<'_, Workspace>, Error> {
        self.core
            .try_borrow_mut()
            .map_err(|_| errors::error("the workspace is busy (re-entrant call)"))
    }

    /// The `on_instantiate` blocks whose matcher matches `path`.
    pub fn handlers_for(&self, ruby: &Ruby, path: &str) -> Result<Vec<Value>, Error> {
        let handlers: Vec<(Value, Value)> = self
            .handlers
            .borrow()
            .iter()
            .map(|(m, b)| (ruby.get_inner(*m), ruby.get_inner(*b)))
            .collect();
        let mut matched = Vec::new();
        for (matcher, block) in handlers {
            let hit = if let Ok(text) = convert::text(matcher) {
                path.to_lowercase().ends_with(&text.to_lowercase())
            } else {
                matcher.funcall::<_, _, bool>("match?", (path,))?
            };
            if hit {
                matched.push(block);
            }
        }
        Ok(matched)
    }
}

/// Conversions in the context of one workspace.
pub struct WsSide(pub Obj<RbWorkspace>);

impl Side for WsSide {
    fn registry(&self) -> &Registry {
        &self.0.registry
    }

    fn object_to_ruby(&self, ruby: &Ruby, id: ObjectId) -> Result<Value, Error> {
        Ok(ruby.obj_wrap(RbObject::new(self.0, id)).as_value())
    }

    fn object_from_ruby(&self, value: Value) -> Option<ObjectId> {
        let object = Obj::<RbObject>::try_convert(value).ok()?;
        object.belongs_to(self.0).then(|| object.id())
    }

    fn service_model_to_ruby(&self, _ruby: &Ruby, model: &ServiceModelRef) -> Result<Value, Error> {
        self.0
            .funcall("service_model_for", (model.model.as_str(), model.id))
    }
}

impl WsSide {
    /// Ruby → core, for a value going to `at` (named in errors).
    pub fn core_at(&self, value: Value, at: convert::At) -> Result<Core, Error> {
        let ruby = Ruby::get_with(value);
        convert::to_core_at(&ruby, self, value, at)
    }

    /// Refuses a state-var key of the embedding side (a Date, a Bignum, a binary String):
    /// the engine may take it, this library cannot keep it. The message shows the key.
    pub fn check_state_var_key(&self, key: &Core) -> Result<(), Error> {
        let Core::Foreign(f) = key else {
            return Ok(());
        };
        let ruby = Ruby::get_with(self.0);
        let shown = match self.0.registry.get(&ruby, f.id) {
            Some(v) => convert::describe(v),
            None => format!("#<{}>", f.label),
        };
        Err(Error::new(
            ruby.exception_runtime_error(),
            miq_automate_core::state_vars::unsupported_key_message(&f.label, &shown),
        ))
    }

    /// Core → Ruby.
    pub fn ruby(&self, value: &Core) -> Result<Value, Error> {
        let ruby = Ruby::get_with(self.0);
        convert::to_ruby(&ruby, self, value)
    }
}

fn allocate(ruby: &Ruby) -> Result<Obj<RbWorkspace>, Error> {
    guard(|| {
        Ok(ruby.obj_wrap(RbWorkspace {
            core: RefCell::new(Workspace::new()),
            registry: std::sync::Arc::new(Registry::default()),
            handlers: RefCell::new(Vec::new()),
        }))
    })
}

impl RbWorkspace {
    /// A workspace holding `core`, whose values name the Ruby objects of `of` (an earlier
    /// pass of the same delivery).
    pub fn sibling(ruby: &Ruby, of: Obj<RbWorkspace>, core: Workspace) -> Obj<RbWorkspace> {
        ruby.obj_wrap(RbWorkspace {
            core: RefCell::new(core),
            registry: std::sync::Arc::clone(&of.registry),
            handlers: RefCell::new(Vec::new()),
        })
    }
}

fn setup(
    rb_self: Obj<RbWorkspace>,
    root: RHash,
    inputs: RHash,
    state_vars: RHash,
    method: Option<String>,
) -> Result<(), Error> {
    guard(|| {
        let side = WsSide(rb_self);
        let root = side.core_at(root.as_value(), &|| "Workspace.new(root:)".into())?;
        let inputs = side.core_at(inputs.as_value(), &|| "Workspace.new(inputs:)".into())?;
        let state_vars = side.core_at(state_vars.as_value(), &|| {
            "Workspace.new(state_vars:)".into()
        })?;
        if let Core::Hash(pairs) = &state_vars {
            for (k, _) in pairs {
                side.check_state_var_key(k)?;
            }
        }
        let mut ws = rb_self.core_mut()?;
        if let Core::Hash(pairs) = root {
            for (k, v) in pairs {
                ws.root_set(&k.to_ruby_s(), v);
            }
        }
        if let Core::Hash(pairs) = inputs {
            for (k, v) in pairs {
                ws.set_input(&k.to_ruby_s(), v);
            }
        }
        ws.state_vars_mut().load(&state_vars).rb()?;
        ws.set_current_method(method.as_deref());
        Ok(())
    })
}

fn service(ruby: &Ruby, rb_self: Obj<RbWorkspace>) -> Result<Obj<RbService>, Error> {
    guard(|| Ok(ruby.obj_wrap(RbService::new(rb_self))))
}

fn logs(ruby: &Ruby, rb_self: Obj<RbWorkspace>) -> Result<RArray, Error> {
    guard(|| {
        let records: Vec<(String, String)> = rb_self
            .core()?
            .logs()
            .iter()
            .map(|r| (r.level.as_str().to_string(), r.message.clone()))
            .collect();
        let out = ruby.ary_new_capa(records.len());
        for (level, message) in records {
            out.push(ruby.ary_new_from_values(&[
                ruby.to_symbol(level).as_value(),
                ruby.str_new(&message).as_value(),
            ]))?;
        }
        Ok(out)
    })
}

fn notifications(ruby: &Ruby, rb_self: Obj<RbWorkspace>) -> Result<RArray, Error> {
    guard(|| {
        let side = WsSide(rb_self);
        let list = rb_self.core()?.notifications().to_vec();
        let out = ruby.ary_new_capa(list.len());
        for n in list {
            let h = ruby.hash_new();
            h.aset(ruby.to_symbol("type"), ruby.to_symbol(&n.kind))?;
            h.aset(ruby.to_symbol("subject"), side.ruby(&n.subject)?)?;
            h.aset(ruby.to_symbol("message"), n.message)?;
            h.aset(ruby.to_symbol("level"), ruby.to_symbol(&n.level))?;
            h.aset(ruby.to_symbol("audience"), ruby.to_symbol(&n.audience))?;
            h.aset(ruby.to_symbol("text"), n.text)?;
            h.aset(ruby.to_symbol("options"), side.ruby(&n.options)?)?;
            out.push(h)?;
        }
        Ok(out)
    })
}

/// `add_notification_type(name, level, audience, message, expires_in)`.
fn add_notification_type(
    rb_self: Obj<RbWorkspace>,
    name: String,
    level: String,
    audience: String,
    message: String,
    expires_in: i64,
) -> Result<(), Error> {
    guard(|| {
        let t = miq_automate_core::notification::NotificationType {
            name,
            level,
            audience,
            message,
            expires_in,
        };
        rb_self.core_mut()?.add_notification_type(t).rb()
    })
}

fn instantiations(rb_self: Obj<RbWorkspace>) -> Result<Vec<String>, Error> {
    guard(|| Ok(rb_self.core()?.instantiations().to_vec()))
}

fn executions(ruby: &Ruby, rb_self: Obj<RbWorkspace>) -> Result<RArray, Error> {
    guard(|| {
        let side = WsSide(rb_self);
        let list = rb_self.core()?.executions().to_vec();
        let out = ruby.ary_new_capa(list.len());
        for (name, args) in list {
            let args = side.ruby(&Core::Array(args))?;
            out.push(ruby.ary_new_from_values(&[ruby.str_new(&name).as_value(), args]))?;
        }
        Ok(out)
    })
}

fn state_vars(rb_self: Obj<RbWorkspace>) -> Result<Value, Error> {
    guard(|| {
        let hash = rb_self.core()?.state_vars().to_hash();
        WsSide(rb_self).ruby(&hash)
    })
}

fn on_instantiate(rb_self: Obj<RbWorkspace>, matcher: Value, block: Value) -> Result<(), Error> {
    guard(|| {
        rb_self
            .handlers
            .borrow_mut()
            .push((matcher.into(), block.into()));
        Ok(())
    })
}

fn current_method(rb_self: Obj<RbWorkspace>, method: Option<String>) -> Result<(), Error> {
    guard(|| {
        rb_self.core_mut()?.set_current_method(method.as_deref());
        Ok(())
    })
}

fn set_inputs(rb_self: Obj<RbWorkspace>, inputs: RHash) -> Result<(), Error> {
    guard(|| {
        let inputs = WsSide(rb_self).core_at(inputs.as_value(), &|| "Workspace#inputs=".into())?;
        let mut ws = rb_self.core_mut()?;
        ws.clear_inputs();
        if let Core::Hash(pairs) = inputs {
            for (k, v) in pairs {
                ws.set_input(&k.to_ruby_s(), v);
            }
        }
        Ok(())
    })
}

/// `_log_line(level, message)`: a line as the engine logs it (a method's stdout/stderr…),
/// whatever the message's encoding or bytes.
fn log_line(
    ruby: &Ruby,
    rb_self: Obj<RbWorkspace>,
    level: Value,
    message: magnus::RString,
) -> Result<(), Error> {
    guard(|| {
        let level: miq_automate_core::LogLevel = convert::text(level)?.parse().rb()?;
        let message = crate::service::log_text(ruby, message);
        rb_self.core_mut()?.log_line(level, message);
        Ok(())
    })
}

/// Defines `MiqAutomate::Workspace`'s native methods.
pub fn define(ruby: &Ruby, module: magnus::RModule) -> Result<(), Error> {
    let class = module.define_class("Workspace", ruby.class_object())?;
    class.define_singleton_method("_allocate", magnus::function!(allocate, 0))?;
    class.define_private_method("_setup", magnus::method!(setup, 4))?;
    class.define_private_method("_service", magnus::method!(service, 0))?;
    class.define_method("logs", magnus::method!(logs, 0))?;
    class.define_method("notifications", magnus::method!(notifications, 0))?;
    class.define_private_method(
        "_add_notification_type",
        magnus::method!(add_notification_type, 5),
    )?;
    class.define_method("instantiations", magnus::method!(instantiations, 0))?;
    class.define_method("executions", magnus::method!(executions, 0))?;
    class.define_method("state_vars", magnus::method!(state_vars, 0))?;
    class.define_private_method("_on_instantiate", magnus::method!(on_instantiate, 2))?;
    class.define_method("current_method=", magnus::method!(current_method, 1))?;
    class.define_private_method("_log_line", magnus::method!(log_line, 2))?;
    class.define_method("inputs=", magnus::method!(set_inputs, 1))?;
    Ok(())
}
