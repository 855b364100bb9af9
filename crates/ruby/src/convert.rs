//! Ruby values ↔ core values. Ruby's core types convert by value; anything else (a service
//! model double, a DRb proxy, a bignum) is kept by reference in a [`Registry`] and comes
//! back as the very same object. Both directions stop at [`MAX_DEPTH`] levels of nesting.

use std::collections::HashMap;
use std::sync::Mutex;

use magnus::{
    gc::Marker, prelude::*, rb_sys::AsRawValue, value::Opaque, Error, Float, Integer, RArray,
    RClass, RHash, RString, Ruby, Symbol, Value,
};
use miq_automate_core::value::{ForeignRef, ObjectId, ServiceModelRef, Value as Core, MAX_DEPTH};
use miq_automate_core::Password;

use crate::errors;

/// Foreign Ruby objects held by id for the core. Marked (and so pinned) by its owner, so
/// raw object addresses are stable identity keys.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    objects: Vec<Opaque<Value>>,
    by_address: HashMap<u64, u64>,
}

impl Registry {
    /// The id of `value`, adding it on first sight.
    pub fn add(&self, value: Value) -> u64 {
        let address = value.as_raw();
        let mut entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = entries.by_address.get(&address) {
            return *id;
        }
        let id = entries.objects.len() as u64;
        entries.objects.push(value.into());
        entries.by_address.insert(address, id);
        id
    }

    /// The object behind `id`.
    pub fn get(&self, ruby: &Ruby, id: u64) -> Option<Value> {
        let entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        entries.objects.get(id as usize).map(|o| ruby.get_inner(*o))
    }

    /// Marks every held object (the GC calls this; nothing allocates while the lock is held).
    pub fn mark(&self, marker: &Marker) {
        if let Ok(entries) = self.inner.try_lock() {
            for o in &entries.objects {
                marker.mark(*o);
            }
        }
    }
}

/// What a conversion needs from its side: where foreign objects live, and how workspace
/// objects and service models are represented in Ruby.
pub trait Side {
    /// The registry of foreign objects.
    fn registry(&self) -> &Registry;
    /// The Ruby wrapper for a workspace object.
    fn object_to_ruby(&self, ruby: &Ruby, id: ObjectId) -> Result<Value, Error>;
    /// The workspace object id of a Ruby wrapper that belongs to this side.
    fn object_from_ruby(&self, value: Value) -> Option<ObjectId>;
    /// The Ruby object for a service-model reference.
    fn service_model_to_ruby(&self, ruby: &Ruby, model: &ServiceModelRef) -> Result<Value, Error>;
}

fn lib_class(ruby: &Ruby, name: &str) -> Result<RClass, Error> {
    let module: magnus::RModule = ruby.class_object().const_get("MiqAutomate")?;
    module.const_get(name)
}

/// Where a converted value is going, for error messages (`root['d']`, `state var "k"`).
/// Called only when a conversion fails, so the hot path never formats it.
pub type At<'a> = &'a dyn Fn() -> String;

/// A Ruby value as a core value going to `at`.
///
/// Arrays and Hashes nested deeper than [`MAX_DEPTH`], and a value that contains itself,
/// are a `MiqAutomate::NestingError` (checked before recursing, so this never exhausts the
/// stack of any thread or fiber). A Hash whose keys could not be Hash keys again when read
/// back (a key without `#hash`, or keys a compare_by_identity Hash keeps apart but a plain
/// Hash would merge) is a `MiqAutomate::ValueError`.
pub fn to_core_at(ruby: &Ruby, side: &dyn Side, value: Value, at: At) -> Result<Core, Error> {
    Walk {
        ruby,
        side,
        at,
        open: Vec::new(),
    }
    .convert(value, 0)
}

/// One conversion: the containers being converted (by address, to find a value that
/// contains itself) and the place it goes to.
struct Walk<'a> {
    ruby: &'a Ruby,
    side: &'a dyn Side,
    at: At<'a>,
    open: Vec<u64>,
}

impl Walk<'_> {
    fn convert(&mut self, value: Value, depth: usize) -> Result<Core, Error> {
        let ruby = self.ruby;
        if value.is_nil() {
            return Ok(Core::Nil);
        }
        if value.as_raw() == ruby.qtrue().as_raw() {
            return Ok(Core::Bool(true));
        }
        if value.as_raw() == ruby.qfalse().as_raw() {
            return Ok(Core::Bool(false));
        }
        if let Some(i) = Integer::from_value(value) {
            return Ok(match i.to_i64() {
                Ok(n) => Core::Integer(n),
                Err(_) => foreign(self.side, value), // a bignum: kept as the same object
            });
        }
        if let Some(f) = Float::from_value(value) {
            return Ok(Core::Float(f.to_f64()));
        }
        if let Some(s) = RString::from_value(value) {
            return Ok(match s.to_string() {
                Ok(text) => Core::String(text),
                Err(_) => foreign(self.side, value), // not UTF-8: kept as is
            });
        }
        if let Some(sym) = Symbol::from_value(value) {
            return Ok(Core::Symbol(sym.name()?.into_owned()));
        }
        if let Some(array) = RArray::from_value(value) {
            self.enter(value, depth, "an Array")?;
            let mut items = Vec::with_capacity(array.len());
            for item in array.into_iter() {
                items.push(self.convert(item, depth + 1)?);
            }
            self.open.pop();
            return Ok(Core::Array(items));
        }
        if let Some(hash) = RHash::from_value(value) {
            self.enter(value, depth, "a Hash")?;
            let mut pairs = Vec::with_capacity(hash.len());
            hash.foreach(|k: Value, v: Value| {
                pairs.push((self.convert(k, depth + 1)?, self.convert(v, depth + 1)?));
                Ok(magnus::r_hash::ForEach::Continue)
            })?;
            self.check_keys(hash, &pairs)?;
            self.open.pop();
            return Ok(Core::Hash(pairs));
        }
        if value.is_kind_of(ruby.class_time()) {
            let text: String = value.funcall("strftime", ("%Y-%m-%dT%H:%M:%S.%N%:z",))?;
            return chrono::DateTime::parse_from_rfc3339(&text)
                .map(Core::Time)
                .map_err(|e| errors::error(format!("cannot read Time {text}: {e}")));
        }
        if value.is_kind_of(lib_class(ruby, "Password")?) {
            let plain: String = value.funcall("decrypt", ())?;
            return Ok(Core::Password(Password::new(plain)));
        }
        if let Some(id) = self.side.object_from_ruby(value) {
            return Ok(Core::Object(id));
        }
        Ok(foreign(self.side, value))
    }

    /// Opens a container, unless it is already open (it contains itself) or too deep.
    fn enter(&mut self, value: Value, depth: usize, kind: &str) -> Result<(), Error> {
        let address = value.as_raw();
        if self.open.contains(&address) {
            return Err(errors::nesting(format!(
                "recursive value ({kind} that contains itself){}",
                self.place()
            )));
        }
        if depth >= MAX_DEPTH {
            return Err(errors::nesting(format!(
                "value nested deeper than {MAX_DEPTH}{}",
                self.place()
            )));
        }
        self.open.push(address);
        Ok(())
    }

    fn place(&self) -> String {
        let at = (self.at)();
        if at.is_empty() {
            at
        } else {
            format!(" at {at}")
        }
    }

    /// Refuses a Hash whose keys could not all be keys of the plain Hash it reads back as:
    /// a foreign key without a working `#hash` (a BasicObject in a compare_by_identity
    /// Hash), or distinct keys of a compare_by_identity Hash that a plain Hash would merge.
    fn check_keys(&self, hash: RHash, pairs: &[(Core, Core)]) -> Result<(), Error> {
        let foreign_key = pairs.iter().any(|(k, _)| contains_foreign(k));
        let identity = pairs.len() > 1 && hash.funcall::<_, _, bool>("compare_by_identity?", ())?;
        if !(foreign_key || identity) {
            return Ok(());
        }
        let probe = self.ruby.hash_new();
        for (k, _) in pairs {
            let key = to_ruby(self.ruby, self.side, k)?;
            if let Err(e) = probe.aset(key, self.ruby.qnil()) {
                // The first line only: Ruby may append a code snippet (error_highlight).
                let reason = e.to_string();
                let reason = reason.lines().next().unwrap_or_default();
                return Err(errors::value_error(format!(
                    "a Hash key ({}) cannot be kept{}: it could not be a Hash key when read back ({})",
                    key.class(),
                    self.place(),
                    miq_automate_core::log::sanitize(reason)
                )));
            }
        }
        if probe.len() != pairs.len() {
            return Err(errors::value_error(format!(
                "a compare_by_identity Hash with equal keys cannot be kept: they would merge when read back as a Hash{}",
                self.place()
            )));
        }
        Ok(())
    }
}

fn contains_foreign(value: &Core) -> bool {
    match value {
        Core::Foreign(_) => true,
        Core::Array(items) => items.iter().any(contains_foreign),
        Core::Hash(pairs) => pairs
            .iter()
            .any(|(k, v)| contains_foreign(k) || contains_foreign(v)),
        _ => false,
    }
}

fn foreign(side: &dyn Side, value: Value) -> Core {
    let label = value.class().to_string();
    Core::Foreign(ForeignRef {
        text: foreign_text(value, &label),
        id: side.registry().add(value),
        label: label.into(),
    })
}

/// The object's `to_s`, for substitution (`${/#vm}`) and retry intervals (`1.minute`):
/// not asked of a DRb proxy (a round trip, and its `to_s` is the proxy's), and kept only
/// when it is UTF-8 text of a reasonable size.
fn foreign_text(value: Value, label: &str) -> Option<std::sync::Arc<str>> {
    const MAX_TEXT: usize = 4096;
    if label == "DRb::DRbObject" {
        return None;
    }
    let text: RString = value.funcall("to_s", ()).ok()?;
    let text = text.to_string().ok()?;
    (text.len() <= MAX_TEXT).then(|| text.into())
}

/// A core value as a Ruby value. A value nested deeper than [`MAX_DEPTH`] (only one built by
/// hand in Rust can be) is a `MiqAutomate::NestingError`.
pub fn to_ruby(ruby: &Ruby, side: &dyn Side, value: &Core) -> Result<Value, Error> {
    to_ruby_at(ruby, side, value, 0)
}

fn to_ruby_at(ruby: &Ruby, side: &dyn Side, value: &Core, depth: usize) -> Result<Value, Error> {
    if matches!(value, Core::Array(_) | Core::Hash(_)) && depth >= MAX_DEPTH {
        return Err(errors::nesting(format!(
            "value nested deeper than {MAX_DEPTH}"
        )));
    }
    Ok(match value {
        Core::Nil => ruby.qnil().as_value(),
        Core::Bool(b) => {
            if *b {
                ruby.qtrue().as_value()
            } else {
                ruby.qfalse().as_value()
            }
        }
        Core::Integer(i) => ruby.integer_from_i64(*i).as_value(),
        Core::Float(f) => ruby.float_from_f64(*f).as_value(),
        Core::String(s) => ruby.str_new(s).as_value(),
        Core::Symbol(s) => ruby.to_symbol(s).as_value(),
        Core::Time(t) => {
            let at: Value = ruby.class_time().funcall(
                "at",
                (
                    t.timestamp(),
                    t.timestamp_subsec_nanos(),
                    ruby.to_symbol("nsec"),
                ),
            )?;
            let offset = t.offset().local_minus_utc();
            if offset == 0 {
                at.funcall("utc", ())?
            } else {
                at.funcall("getlocal", (offset,))?
            }
        }
        Core::Array(items) => {
            let array = ruby.ary_new_capa(items.len());
            for item in items {
                array.push(to_ruby_at(ruby, side, item, depth + 1)?)?;
            }
            array.as_value()
        }
        Core::Hash(pairs) => {
            let hash = ruby.hash_new();
            for (k, v) in pairs {
                hash.aset(
                    to_ruby_at(ruby, side, k, depth + 1)?,
                    to_ruby_at(ruby, side, v, depth + 1)?,
                )?;
            }
            hash.as_value()
        }
        Core::Password(p) => lib_class(ruby, "Password")?.funcall("new", (p.decrypt(),))?,
        Core::ServiceModel(r) => side.service_model_to_ruby(ruby, r)?,
        Core::Object(id) => side.object_to_ruby(ruby, *id)?,
        Core::Foreign(f) => side
            .registry()
            .get(ruby, f.id)
            .ok_or_else(|| errors::internal(&format!("unknown foreign object #{}", f.id)))?,
    })
}

/// Ruby's `inspect` of a value for a message: rescued (a BasicObject has none), sanitized
/// and cut to 200 characters.
pub fn describe(value: Value) -> String {
    let shown = value
        .funcall::<_, _, String>("inspect", ())
        .unwrap_or_else(|_| format!("#<{}>", value.class()));
    let shown = miq_automate_core::log::sanitize(&shown);
    if shown.chars().count() > 200 {
        let cut: String = shown.chars().take(200).collect();
        format!("{cut}…")
    } else {
        shown
    }
}

/// A Ruby String or Symbol as text (keys, levels, URIs).
pub fn text(value: Value) -> Result<String, Error> {
    if let Some(sym) = Symbol::from_value(value) {
        return Ok(sym.name()?.into_owned());
    }
    if let Some(s) = RString::from_value(value) {
        return s.to_string();
    }
    let ruby = Ruby::get_with(value);
    Err(Error::new(
        ruby.exception_type_error(),
        format!("expected a String or Symbol, got {}", value.class()),
    ))
}
