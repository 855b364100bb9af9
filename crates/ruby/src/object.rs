//! `MiqAutomate::Object`: a workspace object as methods see it (`$evm.root`, `$evm.object`).

use magnus::{
    gc::Marker, prelude::*, typed_data::Obj, value::Opaque, DataTypeFunctions, Error, RArray, Ruby,
    TypedData, Value,
};
use miq_automate_core::value::ObjectId;
use miq_automate_core::{AeObject, Value as Core};

use crate::convert;
use crate::errors::guard;
use crate::password;
use crate::workspace::{RbWorkspace, WsSide};

/// The native part of `MiqAutomate::Object`.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::Object", free_immediately, mark)]
pub struct RbObject {
    ws: Opaque<Obj<RbWorkspace>>,
    id: ObjectId,
}

impl DataTypeFunctions for RbObject {
    fn mark(&self, marker: &Marker) {
        marker.mark(self.ws);
    }
}

impl RbObject {
    /// A wrapper for object `id` of `ws`.
    pub fn new(ws: Obj<RbWorkspace>, id: ObjectId) -> Self {
        RbObject { ws: ws.into(), id }
    }

    /// The object id.
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// `true` when this wrapper belongs to `ws`.
    pub fn belongs_to(&self, ws: Obj<RbWorkspace>) -> bool {
        let ruby = Ruby::get_with(ws);
        ruby.get_inner(self.ws).as_value().as_raw() == ws.as_value().as_raw()
    }

    fn workspace(&self) -> Obj<RbWorkspace> {
        Ruby::get().expect("Ruby thread").get_inner(self.ws)
    }

    fn read<T>(&self, f: impl FnOnce(&AeObject) -> T) -> Result<T, Error> {
        let ws = self.workspace();
        let core = ws.core()?;
        Ok(f(core.obj(self.id)))
    }
}

use magnus::rb_sys::AsRawValue;

/// `obj[key]`: the hot path of every method (`$evm.root['x']`), so no copy of the key or
/// the value is made when none is needed.
fn get(rb_self: &RbObject, key: Value) -> Result<Value, Error> {
    guard(|| {
        let ws = rb_self.workspace();
        let core = ws.core()?;
        let object = core.obj(rb_self.id);
        let found = match magnus::RString::from_value(key) {
            // SAFETY: the borrowed text is used only for the lookup, before any Ruby allocation.
            Some(s) => match unsafe { s.as_str() } {
                Ok(k) if k.is_ascii() => {
                    if k.bytes().any(|b| b.is_ascii_uppercase()) {
                        object.attributes().get(&k.to_ascii_lowercase())
                    } else {
                        object.attributes().get(k)
                    }
                }
                _ => object.get(&convert::text(key)?),
            },
            None => object.get(&convert::text(key)?),
        };
        match found {
            Some(Core::Password(_)) => Ok(Ruby::get_with(key)
                .str_new(miq_automate_core::password::MASK)
                .as_value()),
            Some(value) => WsSide(ws).ruby(value),
            None => Ok(Ruby::get_with(key).qnil().as_value()),
        }
    })
}

/// How errors name `obj[key]`: `root['key']`, or the object's path for another object.
fn place(ws: Obj<RbWorkspace>, id: ObjectId, key: &str) -> String {
    let object = match ws.core() {
        Ok(core) if core.root() == id => "root".to_string(),
        Ok(core) => core.obj(id).name(),
        Err(_) => "object".to_string(),
    };
    format!("{object}['{key}']")
}

fn set(rb_self: &RbObject, key: Value, value: Value) -> Result<Value, Error> {
    guard(|| {
        let key = convert::text(key)?;
        let ws = rb_self.workspace();
        let core_value = WsSide(ws).core_at(value, &|| place(ws, rb_self.id, &key))?;
        ws.core_mut()?.obj_mut(rb_self.id).set(&key, core_value);
        Ok(value)
    })
}

fn attributes(rb_self: &RbObject) -> Result<Value, Error> {
    guard(|| {
        let attrs = rb_self.read(|o| {
            Core::Hash(
                o.masked_attributes()
                    .into_iter()
                    .map(|(k, v)| (Core::String(k), v))
                    .collect(),
            )
        })?;
        WsSide(rb_self.workspace()).ruby(&attrs)
    })
}

/// `decrypt(attr)`: a password's plaintext. With the workspace's key (`v2_key:`), a
/// `v2:{…}` password is decrypted as on the appliance (a bogus one raises
/// `ManageIQ::Password::PasswordError`); without it, the password's text as it is. Other
/// values give their `to_s`, nil gives nil.
fn decrypt(ruby: &Ruby, rb_self: &RbObject, key: Value) -> Result<Value, Error> {
    guard(|| {
        let key = convert::text(key)?;
        let password = rb_self.read(|o| match o.get(&key) {
            Some(Core::Password(p)) => Some(p.clone()),
            _ => None,
        })?;
        let Some(password) = password else {
            return Ok(match rb_self.read(|o| o.decrypt(&key))? {
                Some(text) => ruby.str_new(&text).as_value(),
                None => ruby.qnil().as_value(),
            });
        };
        let v2_key = password::key_of(rb_self.workspace())?;
        let bytes = password
            .decrypt_bytes_with(v2_key.as_deref())
            .map_err(password::password_error)?;
        Ok(password::plaintext(ruby, &bytes).as_value())
    })
}

fn object_or_nil(ruby: &Ruby, ws: Obj<RbWorkspace>, id: Option<ObjectId>) -> Value {
    match id {
        Some(id) => ruby.obj_wrap(RbObject::new(ws, id)).as_value(),
        None => ruby.qnil().as_value(),
    }
}

fn parent(ruby: &Ruby, rb_self: &RbObject) -> Result<Value, Error> {
    guard(|| {
        let parent = rb_self.read(|o| o.parent())?;
        Ok(object_or_nil(ruby, rb_self.workspace(), parent))
    })
}

fn children(ruby: &Ruby, rb_self: &RbObject, args: &[Value]) -> Result<RArray, Error> {
    guard(|| {
        let name = match args.first() {
            Some(v) if !v.is_nil() => Some(convert::text(*v)?),
            _ => None,
        };
        let ws = rb_self.workspace();
        let ids: Vec<ObjectId> = {
            let core = ws.core()?;
            core.obj(rb_self.id)
                .children()
                .iter()
                .copied()
                .filter(|c| {
                    name.as_deref().is_none_or(|n| {
                        core.obj(*c)
                            .instance_name
                            .as_deref()
                            .is_some_and(|i| i.eq_ignore_ascii_case(n))
                    })
                })
                .collect()
        };
        let out = ruby.ary_new_capa(ids.len());
        for id in ids {
            out.push(ruby.obj_wrap(RbObject::new(ws, id)))?;
        }
        Ok(out)
    })
}

fn name(rb_self: &RbObject) -> Result<String, Error> {
    guard(|| rb_self.read(|o| o.name()))
}

fn namespace(rb_self: &RbObject) -> Result<Option<String>, Error> {
    guard(|| rb_self.read(|o| o.namespace.clone()))
}

fn class_name(rb_self: &RbObject) -> Result<Option<String>, Error> {
    guard(|| rb_self.read(|o| o.class_name.clone()))
}

fn instance_name(rb_self: &RbObject) -> Result<Option<String>, Error> {
    guard(|| rb_self.read(|o| o.instance_name.clone()))
}

fn current_message(rb_self: &RbObject) -> Result<String, Error> {
    guard(|| rb_self.read(|o| o.message.clone()))
}

fn equals(rb_self: &RbObject, other: Value) -> Result<bool, Error> {
    guard(|| {
        Ok(Obj::<RbObject>::try_convert(other)
            .map(|o| o.id == rb_self.id && o.belongs_to(rb_self.workspace()))
            .unwrap_or(false))
    })
}

fn hash(rb_self: &RbObject) -> Result<u64, Error> {
    guard(|| Ok(rb_self.workspace().as_value().as_raw() ^ (rb_self.id.0 as u64).rotate_left(32)))
}

fn inspect(rb_self: &RbObject) -> Result<String, Error> {
    guard(|| {
        let name = rb_self.read(|o| o.name())?;
        Ok(format!(
            "#<MiqAutomate::Object {}>",
            if name.is_empty() { "root".into() } else { name }
        ))
    })
}

/// Defines `MiqAutomate::Object`.
pub fn define(ruby: &Ruby, module: magnus::RModule) -> Result<(), Error> {
    let class = module.define_class("Object", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("[]", magnus::method!(get, 1))?;
    class.define_method("[]=", magnus::method!(set, 2))?;
    class.define_method("attributes", magnus::method!(attributes, 0))?;
    class.define_method("decrypt", magnus::method!(decrypt, 1))?;
    class.define_method("parent", magnus::method!(parent, 0))?;
    class.define_method("children", magnus::method!(children, -1))?;
    class.define_method("name", magnus::method!(name, 0))?;
    class.define_method("namespace", magnus::method!(namespace, 0))?;
    class.define_method("class_name", magnus::method!(class_name, 0))?;
    class.define_method("instance_name", magnus::method!(instance_name, 0))?;
    class.define_method("current_message", magnus::method!(current_message, 0))?;
    class.define_method("==", magnus::method!(equals, 1))?;
    class.define_method("eql?", magnus::method!(equals, 1))?;
    class.define_method("hash", magnus::method!(hash, 0))?;
    class.define_method("inspect", magnus::method!(inspect, 0))?;
    Ok(())
}
