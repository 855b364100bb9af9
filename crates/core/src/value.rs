//! Attribute values as automate methods see them: Ruby's core types plus the engine's own
//! (passwords, service-model references, workspace objects, foreign handles).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value as Json};

use crate::error::AeError;
use crate::password::{Password, MASK};
// Ruby's to_s of a Float and a Time, here where values are shown.
pub use crate::ruby::{ruby_float_to_s, ruby_time_to_s};

/// How deeply values may nest (Arrays and Hashes inside each other): 100 levels, as Ruby's
/// `JSON.generate` allows by default. A scalar has depth 0, `[]` depth 1, `[[1]]` depth 2.
///
/// Every way into the core enforces it (the Ruby conversion, [`Value::from_json`], the
/// rollback matrix), so the core's recursive operations on values never run deeper than
/// this, whatever the input (a 10,000-deep array, an array that contains itself).
pub const MAX_DEPTH: usize = 100;

/// Index of an object in a [`crate::Workspace`]'s object tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub usize);

/// A service-model reference: what `$evm.vmdb(:vm, 12)` or a `Vm::vm=12` argument denotes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceModelRef {
    /// The model in snake case, as `$evm.vmdb` takes it (`vm`, `miq_provision`, `service`).
    pub model: String,
    /// The row id.
    pub id: i64,
}

impl ServiceModelRef {
    /// A reference to row `id` of `model`.
    pub fn new(model: impl Into<String>, id: i64) -> Self {
        ServiceModelRef {
            model: model.into(),
            id,
        }
    }

    /// The service-model class name ManageIQ shows, e.g. `MiqAeServiceMiqProvision`.
    pub fn class_name(&self) -> String {
        format!("MiqAeService{}", camelize(&self.model))
    }
}

/// An opaque handle to an object that lives on the embedding side (a Ruby service model, a
/// DRb proxy, a test double). The core never looks inside: it passes the handle back to the
/// [`crate::Evm`] implementation that issued it, which knows how to call methods on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ForeignRef {
    /// Identifier assigned by the issuer; unique for the issuer's lifetime.
    pub id: u64,
    /// A human-readable description (class name), used in messages and `inspect`.
    pub label: Arc<str>,
    /// What the object's own `to_s` gave when it was handed over, when the issuer could ask
    /// (not for a DRb proxy): Ruby's `to_s` of the value, so `${/#vm}` and an
    /// `ae_retry_interval` of `1.minute` (an ActiveSupport Duration: "60") read as in Ruby.
    pub text: Option<Arc<str>>,
}

/// A Ruby-compatible attribute value.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// `nil`.
    #[default]
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An Integer that fits in 64 bits.
    Integer(i64),
    /// A Float.
    Float(f64),
    /// A String.
    String(String),
    /// A Symbol (its name, without the colon).
    Symbol(String),
    /// A Time, with its UTC offset.
    Time(DateTime<FixedOffset>),
    /// An Array.
    Array(Vec<Value>),
    /// A Hash, in insertion order (keys may be any value, as in Ruby).
    Hash(Vec<(Value, Value)>),
    /// A password attribute: masked on read, plaintext through `decrypt`.
    Password(Password),
    /// A service-model reference by model and id.
    ServiceModel(ServiceModelRef),
    /// An object of the workspace tree.
    Object(ObjectId),
    /// An object owned by the embedding side.
    Foreign(ForeignRef),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Nil, Nil) => true,
            (Bool(a), Bool(b)) => a == b,
            (Integer(a), Integer(b)) => a == b,
            // Ruby: 1 == 1.0, compared exactly (2**53 + 1 != 2.0**53)
            (Integer(a), Float(b)) | (Float(b), Integer(a)) => {
                crate::ruby::float_to_i64(*b).is_ok_and(|i| i == *a && b.fract() == 0.0)
            }
            (Float(a), Float(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Symbol(a), Symbol(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Hash(a), Hash(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| hash_get(b, k) == Some(v))
            }
            (Password(a), Password(b)) => a == b,
            (ServiceModel(a), ServiceModel(b)) => a == b,
            (Object(a), Object(b)) => a == b,
            (Foreign(a), Foreign(b)) => a.id == b.id,
            _ => false,
        }
    }
}

fn hash_get<'a>(pairs: &'a [(Value, Value)], key: &Value) -> Option<&'a Value> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl Value {
    /// Ruby truthiness: everything but `nil` and `false`.
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// `true` for `nil`, `false`, empty strings (also all-blank ones), arrays and hashes,
    /// as ActiveSupport's `blank?` decides.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Nil | Value::Bool(false) => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Hash(h) => h.is_empty(),
            _ => false,
        }
    }

    /// The string inside a String or Symbol.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Symbol(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up `key` in a Hash value (a String key also matches the same-named Symbol,
    /// as with ManageIQ's indifferent option hashes).
    pub fn hash_fetch(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Hash(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The Ruby class name of the value, for messages.
    pub fn ruby_class(&self) -> String {
        match self {
            Value::Nil => "NilClass".into(),
            Value::Bool(true) => "TrueClass".into(),
            Value::Bool(false) => "FalseClass".into(),
            Value::Integer(_) => "Integer".into(),
            Value::Float(_) => "Float".into(),
            Value::String(_) => "String".into(),
            Value::Symbol(_) => "Symbol".into(),
            Value::Time(_) => "Time".into(),
            Value::Array(_) => "Array".into(),
            Value::Hash(_) => "Hash".into(),
            Value::Password(_) => "ManageIQ::Password".into(),
            Value::ServiceModel(r) => r.class_name(),
            Value::Object(_) => "MiqAeMethodService::MiqAeServiceObject".into(),
            Value::Foreign(f) => f.label.to_string(),
        }
    }

    /// Ruby's `to_s`, which substitution and message building use. Passwords give the mask.
    pub fn to_ruby_s(&self) -> String {
        match self {
            Value::Nil => String::new(),
            Value::String(s) | Value::Symbol(s) => s.clone(),
            Value::Time(t) => ruby_time_to_s(t),
            Value::Password(_) => MASK.into(),
            Value::Foreign(ForeignRef {
                text: Some(text), ..
            }) => text.to_string(),
            other => other.inspect(),
        }
    }

    /// Ruby's `inspect`. Passwords give the mask. Parts nested deeper than [`MAX_DEPTH`]
    /// (only a value built by hand can have them) print as `[...]` / `{...}`.
    pub fn inspect(&self) -> String {
        let mut out = String::new();
        self.inspect_into(&mut out, 0);
        out
    }

    fn inspect_into(&self, out: &mut String, depth: usize) {
        match self {
            Value::Array(_) | Value::Hash(_) if depth >= MAX_DEPTH => {
                out.push_str(if matches!(self, Value::Array(_)) {
                    "[...]"
                } else {
                    "{...}"
                });
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.inspect_into(out, depth + 1);
                }
                out.push(']');
            }
            Value::Hash(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.inspect_into(out, depth + 1);
                    out.push_str("=>");
                    v.inspect_into(out, depth + 1);
                }
                out.push('}');
            }
            Value::Nil => out.push_str("nil"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Integer(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&ruby_float_to_s(*f)),
            Value::String(s) => out.push_str(&format!("{s:?}")),
            Value::Symbol(s) => {
                out.push(':');
                out.push_str(s);
            }
            Value::Time(t) => out.push_str(&ruby_time_to_s(t)),
            Value::Password(_) => out.push_str(&format!("{MASK:?}")),
            Value::ServiceModel(r) => out.push_str(&format!("#<{} id: {}>", r.class_name(), r.id)),
            Value::Object(id) => out.push_str(&format!("#<MiqAeServiceObject #{}>", id.0)),
            Value::Foreign(f) => out.push_str(&format!("#<{}>", f.label)),
        }
    }

    /// How deeply Arrays and Hashes nest in this value (0 for a scalar). Measured without
    /// recursion, so any value can be asked.
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut pending: Vec<(&Value, usize)> = vec![(self, 0)];
        while let Some((value, depth)) = pending.pop() {
            match value {
                Value::Array(items) => {
                    deepest = deepest.max(depth + 1);
                    pending.extend(items.iter().map(|v| (v, depth + 1)));
                }
                Value::Hash(pairs) => {
                    deepest = deepest.max(depth + 1);
                    for (k, v) in pairs {
                        pending.push((k, depth + 1));
                        pending.push((v, depth + 1));
                    }
                }
                _ => {}
            }
        }
        deepest
    }

    /// `Err(ValueError::TooDeep)` when the value nests deeper than [`MAX_DEPTH`]: for values
    /// built by hand in Rust (every conversion into the core checks already).
    pub fn check_depth(&self) -> Result<(), ValueError> {
        if self.depth() > MAX_DEPTH {
            Err(ValueError::TooDeep)
        } else {
            Ok(())
        }
    }

    /// The value with every password replaced by its mask, as `attributes` returns it.
    /// Parts nested deeper than [`MAX_DEPTH`] (only a value built by hand can have them)
    /// become the String `"[...]"`.
    pub fn masked(&self) -> Value {
        self.masked_at(0)
    }

    fn masked_at(&self, depth: usize) -> Value {
        match self {
            Value::Array(_) | Value::Hash(_) if depth >= MAX_DEPTH => Value::String("[...]".into()),
            Value::Password(_) => Value::String(MASK.into()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| v.masked_at(depth + 1)).collect())
            }
            Value::Hash(pairs) => Value::Hash(
                pairs
                    .iter()
                    .map(|(k, v)| (k.masked_at(depth + 1), v.masked_at(depth + 1)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The JSON form (see the crate docs for the tagged forms of non-JSON types).
    /// Passwords carry their plaintext: use [`Value::to_masked_json`] for anything shown.
    ///
    /// A part nested deeper than [`MAX_DEPTH`] (only a value built by hand can have one) is
    /// written as `{"$too_deep": 100}`, which [`Value::from_json`] refuses; use
    /// [`Value::try_to_json`] to get an error instead.
    pub fn to_json(&self) -> Json {
        self.to_json_with(false, 0, &mut false)
    }

    /// The JSON form with every password masked: for reports and logs (too-deep parts as
    /// with [`Value::to_json`]).
    pub fn to_masked_json(&self) -> Json {
        self.to_json_with(true, 0, &mut false)
    }

    /// The JSON form, or `ValueError::TooDeep` for a value nested deeper than [`MAX_DEPTH`].
    pub fn try_to_json(&self) -> Result<Json, ValueError> {
        let mut too_deep = false;
        let json = self.to_json_with(false, 0, &mut too_deep);
        if too_deep {
            Err(ValueError::TooDeep)
        } else {
            Ok(json)
        }
    }

    fn to_json_with(&self, mask: bool, depth: usize, too_deep: &mut bool) -> Json {
        let mut child = |v: &Value| v.to_json_with(mask, depth + 1, too_deep);
        match self {
            Value::Array(_) | Value::Hash(_) if depth >= MAX_DEPTH => {
                *too_deep = true;
                json!({ "$too_deep": MAX_DEPTH })
            }
            Value::Nil => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Integer(i) => json!(i),
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Json::Number(n),
                None => json!({ "$float": ruby_float_to_s(*f) }),
            },
            Value::String(s) => Json::String(s.clone()),
            Value::Symbol(s) => json!({ "$symbol": s }),
            Value::Time(t) => {
                json!({ "$time": t.to_rfc3339_opts(SecondsFormat::AutoSi, true) })
            }
            Value::Array(items) => Json::Array(items.iter().map(child).collect()),
            Value::Hash(pairs) => {
                let plain = pairs
                    .iter()
                    .all(|(k, _)| matches!(k, Value::String(s) if !s.starts_with('$')));
                if plain {
                    let mut map = Map::new();
                    for (k, v) in pairs {
                        map.insert(k.as_str().unwrap_or_default().to_string(), child(v));
                    }
                    Json::Object(map)
                } else {
                    let entries: Vec<Json> = pairs
                        .iter()
                        .map(|(k, v)| Json::Array(vec![child(k), child(v)]))
                        .collect();
                    json!({ "$hash": entries })
                }
            }
            Value::Password(p) => {
                json!({ "$password": if mask { MASK } else { p.decrypt() } })
            }
            Value::ServiceModel(r) => json!({ "$service_model": { "model": r.model, "id": r.id } }),
            Value::Object(id) => json!({ "$object": id.0 }),
            Value::Foreign(f) => match &f.text {
                Some(text) => {
                    json!({ "$foreign": { "id": f.id, "label": &*f.label, "text": &**text } })
                }
                None => json!({ "$foreign": { "id": f.id, "label": &*f.label } }),
            },
        }
    }

    /// Parses the JSON form produced by [`Value::to_json`]. A document nested deeper than
    /// [`MAX_DEPTH`] is `ValueError::TooDeep` (checked before recursing, so any depth is safe).
    pub fn from_json(json: &Json) -> Result<Value, ValueError> {
        from_json_at(json, 0)
    }
}

fn from_json_at(json: &Json, depth: usize) -> Result<Value, ValueError> {
    let container = match json {
        Json::Array(_) => true,
        Json::Object(map) => !is_scalar_tag(map),
        _ => false,
    };
    if container && depth >= MAX_DEPTH {
        return Err(ValueError::TooDeep);
    }
    Ok(match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Integer(i)
            } else if n.is_u64() {
                return Err(ValueError::IntegerOutOfRange(n.to_string()));
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| from_json_at(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => {
            let mut entries = map.iter();
            if let (Some((tag, inner)), None) = (entries.next(), entries.next()) {
                if tag.starts_with('$') {
                    return tagged_from_json(tag, inner, depth);
                }
            }
            let mut pairs = Vec::with_capacity(map.len());
            for (k, v) in map {
                pairs.push((Value::String(k.clone()), from_json_at(v, depth + 1)?));
            }
            Value::Hash(pairs)
        }
    })
}

/// `{"$symbol": "x"}` and the other one-key tagged forms of non-container values.
fn is_scalar_tag(map: &Map<String, Json>) -> bool {
    let mut keys = map.keys();
    match (keys.next(), keys.next()) {
        (Some(tag), None) => tag.starts_with('$') && tag != "$hash",
        _ => false,
    }
}

fn tagged_from_json(tag: &str, inner: &Json, depth: usize) -> Result<Value, ValueError> {
    let bad = || ValueError::BadTag(tag.to_string(), inner.to_string());
    Ok(match tag {
        "$symbol" => Value::Symbol(inner.as_str().ok_or_else(bad)?.to_string()),
        "$password" => Value::Password(Password::new(inner.as_str().ok_or_else(bad)?)),
        "$time" => Value::Time(
            DateTime::parse_from_rfc3339(inner.as_str().ok_or_else(bad)?).map_err(|_| bad())?,
        ),
        "$float" => match inner.as_str().ok_or_else(bad)? {
            "NaN" => Value::Float(f64::NAN),
            "Infinity" => Value::Float(f64::INFINITY),
            "-Infinity" => Value::Float(f64::NEG_INFINITY),
            _ => return Err(bad()),
        },
        "$hash" => {
            let entries = inner.as_array().ok_or_else(bad)?;
            let mut pairs = Vec::with_capacity(entries.len());
            for entry in entries {
                match entry.as_array().map(Vec::as_slice) {
                    Some([k, v]) => {
                        pairs.push((from_json_at(k, depth + 1)?, from_json_at(v, depth + 1)?))
                    }
                    _ => return Err(bad()),
                }
            }
            Value::Hash(pairs)
        }
        "$service_model" => {
            let model = inner.get("model").and_then(Json::as_str).ok_or_else(bad)?;
            let id = inner.get("id").and_then(Json::as_i64).ok_or_else(bad)?;
            Value::ServiceModel(ServiceModelRef::new(model, id))
        }
        "$object" => {
            let id = inner.as_u64().ok_or_else(bad)?;
            Value::Object(ObjectId(usize::try_from(id).map_err(|_| bad())?))
        }
        "$foreign" => {
            let id = inner.get("id").and_then(Json::as_u64).ok_or_else(bad)?;
            let label = inner.get("label").and_then(Json::as_str).ok_or_else(bad)?;
            let text = inner.get("text").and_then(Json::as_str).map(Arc::from);
            Value::Foreign(ForeignRef {
                id,
                label: label.into(),
                text,
            })
        }
        _ => return Err(ValueError::UnknownTag(tag.to_string())),
    })
}

/// Errors converting into a [`Value`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    /// An integer outside the signed 64-bit range.
    #[error("integer {0} does not fit in 64 bits")]
    IntegerOutOfRange(String),
    /// A `{"$tag": …}` object whose tag is not one of ours.
    #[error("unknown value tag {0:?}")]
    UnknownTag(String),
    /// A known tag with a malformed payload.
    #[error("malformed {0} value: {1}")]
    BadTag(String, String),
    /// Arrays and Hashes nested deeper than [`MAX_DEPTH`].
    #[error("value nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

// The core's error for each value error (here, so that `error` needs nothing of `value`).
impl From<ValueError> for AeError {
    fn from(err: ValueError) -> Self {
        let message = err.to_string();
        match err {
            ValueError::IntegerOutOfRange(_) => AeError::RangeError(message),
            ValueError::TooDeep => AeError::TooDeep(message),
            ValueError::UnknownTag(_) | ValueError::BadTag(..) => AeError::InvalidValue(message),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.try_to_json()
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        Value::from_json(&json).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ruby_s())
    }
}

macro_rules! value_from {
    ($($t:ty => $body:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self {
                let f: fn($t) -> Value = $body;
                f(v)
            }
        })*
    };
}

value_from! {
    bool => Value::Bool,
    i32 => |v| Value::Integer(v.into()),
    i64 => Value::Integer,
    f64 => Value::Float,
    String => Value::String,
    &str => |v| Value::String(v.to_string()),
    Password => Value::Password,
    ServiceModelRef => Value::ServiceModel,
    ObjectId => Value::Object,
    ForeignRef => Value::Foreign,
    Vec<Value> => Value::Array,
    DateTime<FixedOffset> => Value::Time,
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}

/// `miq_provision` → `MiqProvision`.
pub fn camelize(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        Value::Hash(vec![
            (Value::String("name".into()), Value::from("web01")),
            (Value::Symbol("sym".into()), Value::Symbol("x".into())),
            (Value::Integer(1), Value::Float(1.5)),
            (
                Value::String("t".into()),
                Value::Time(DateTime::parse_from_rfc3339("2024-05-01T10:00:00.5+02:00").unwrap()),
            ),
            (
                Value::String("pw".into()),
                Value::Password(Password::new("secret")),
            ),
            (
                Value::String("vm".into()),
                Value::ServiceModel(ServiceModelRef::new("vm", 12)),
            ),
            (
                Value::String("list".into()),
                Value::Array(vec![Value::Nil, Value::Bool(true), Value::Integer(-3)]),
            ),
        ])
    }

    #[test]
    fn json_round_trip_keeps_every_type() {
        let v = sample();
        let text = serde_json::to_string(&v).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn masked_json_hides_passwords() {
        let text = sample().to_masked_json().to_string();
        assert!(!text.contains("secret"));
        assert!(text.contains(MASK));
    }

    #[test]
    fn integer_beyond_i64_is_a_clear_error() {
        let err = Value::from_json(&serde_json::json!(18446744073709551615u64)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "integer 18446744073709551615 does not fit in 64 bits"
        );
    }

    fn nested(levels: usize) -> Value {
        let mut v = Value::Nil;
        for _ in 0..levels {
            v = Value::Array(vec![v]);
        }
        v
    }

    fn nested_json(levels: usize) -> Json {
        let mut j = Json::Null;
        for _ in 0..levels {
            j = Json::Array(vec![j]);
        }
        j
    }

    // Issue 10: conversions recursed without limit; a deep document overflowed the stack.
    #[test]
    fn json_deeper_than_the_limit_is_refused() {
        assert_eq!(
            Value::from_json(&nested_json(MAX_DEPTH)).unwrap(),
            nested(MAX_DEPTH)
        );
        assert_eq!(
            Value::from_json(&nested_json(MAX_DEPTH + 1)).unwrap_err(),
            ValueError::TooDeep
        );
        let deep = nested_json(10_000);
        assert_eq!(Value::from_json(&deep).unwrap_err(), ValueError::TooDeep);
        std::mem::forget(deep); // serde_json's drop would recurse 10,000 deep
                                // Hashes count as levels too, in either JSON form, and tagged scalars do not.
        let mut j = serde_json::json!({ "$symbol": "leaf" });
        for i in 0..MAX_DEPTH {
            j = if i % 2 == 0 {
                serde_json::json!({ "k": j })
            } else {
                serde_json::json!({ "$hash": [[1, j]] })
            };
        }
        assert_eq!(Value::from_json(&j).unwrap().depth(), MAX_DEPTH);
        let j = serde_json::json!([j]);
        assert_eq!(Value::from_json(&j).unwrap_err(), ValueError::TooDeep);
        let text = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let err = serde_json::from_str::<Value>(&text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("value nested deeper than 100"), "{err}");
    }

    #[test]
    fn depth_checks_and_serialisations_are_bounded() {
        assert_eq!(Value::Nil.depth(), 0);
        assert_eq!(Value::Array(vec![]).depth(), 1);
        assert_eq!(nested(MAX_DEPTH).depth(), MAX_DEPTH);
        assert_eq!(nested(MAX_DEPTH).check_depth(), Ok(()));
        let deep = nested(MAX_DEPTH + 1);
        assert_eq!(deep.check_depth(), Err(ValueError::TooDeep));
        assert_eq!(deep.try_to_json().unwrap_err(), ValueError::TooDeep);
        assert!(serde_json::to_string(&deep).is_err());
        let json = deep.to_json().to_string();
        assert!(json.contains("\"$too_deep\":100"), "{json}");
        assert!(
            Value::from_json(&deep.to_json()).is_err(),
            "a cut value never reads back"
        );
        assert!(deep.inspect().contains("[[...]]") && !deep.inspect().contains("nil"));
        assert_eq!(
            nested(MAX_DEPTH).try_to_json().unwrap(),
            nested_json(MAX_DEPTH)
        );
        assert!(!deep.masked().inspect().contains("nil"));
    }

    #[test]
    fn integer_and_float_compare_exactly() {
        assert_eq!(Value::Integer(1), Value::Float(1.0));
        assert_ne!(Value::Integer(1), Value::Float(1.5));
        assert_ne!(
            Value::Integer((1 << 53) + 1),
            Value::Float(9007199254740992.0)
        );
        assert_ne!(Value::Integer(i64::MAX), Value::Float(9.223372036854776e18));
        assert_ne!(Value::Integer(0), Value::Float(f64::NAN));
    }

    #[test]
    fn ruby_to_s_forms() {
        assert_eq!(Value::Nil.to_ruby_s(), "");
        assert_eq!(Value::Float(1.0).to_ruby_s(), "1.0");
        assert_eq!(Value::Float(1e20).to_ruby_s(), "1.0e+20");
        assert_eq!(Value::Symbol("a".into()).inspect(), ":a");
        assert_eq!(
            Value::Array(vec!["a".into(), Value::Integer(1)]).to_ruby_s(),
            "[\"a\", 1]"
        );
        assert_eq!(Value::Password(Password::new("x")).to_ruby_s(), MASK);
        assert_eq!(camelize("miq_provision"), "MiqProvision");
    }

    #[test]
    fn blank_follows_active_support() {
        assert!(Value::String("  ".into()).is_blank());
        assert!(Value::Nil.is_blank());
        assert!(!Value::Integer(0).is_blank());
    }

    #[test]
    fn value_errors_map_to_ruby_like_classes() {
        let e: AeError = ValueError::TooDeep.into();
        assert_eq!(e.engine_class(), "MiqAutomate::NestingError");
        assert_eq!(e.to_string(), "value nested deeper than 100");
        let e: AeError = ValueError::IntegerOutOfRange("18446744073709551615".into()).into();
        assert_eq!(e.engine_class(), "RangeError");
        let e: AeError = ValueError::UnknownTag("$x".into()).into();
        assert_eq!(e.engine_class(), "MiqAutomate::ValueError");
    }
}
