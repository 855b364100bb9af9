//! State vars: one hash per workspace, shared by all methods, carried across retries.
//! String and Symbol keys are the same key (case kept); keys must be nil, numbers, strings,
//! symbols or times.

use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;

use crate::error::AeError;
use crate::value::Value;

/// A normalised state-var key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StateVarKey {
    /// `nil`.
    Nil,
    /// An Integer.
    Integer(i64),
    /// A Float (by its bits, so that it can be hashed).
    Float(u64),
    /// A String or Symbol: the same key either way.
    Name(String),
    /// A Time (or Date).
    Time(DateTime<FixedOffset>),
}

impl StateVarKey {
    /// Normalises a key, rejecting the types the engine rejects with its message.
    pub fn from_value(key: &Value) -> Result<StateVarKey, AeError> {
        Ok(match key {
            Value::Nil => StateVarKey::Nil,
            Value::Integer(i) => StateVarKey::Integer(*i),
            Value::Float(f) => StateVarKey::Float(f.to_bits()),
            Value::String(s) | Value::Symbol(s) => StateVarKey::Name(s.clone()),
            Value::Time(t) => StateVarKey::Time(*t),
            // An object of the embedding side: maybe a type the engine takes (a Date, a
            // Bignum, a binary String) but this library cannot keep as a key.
            Value::Foreign(f) => {
                return Err(AeError::RuntimeError(unsupported_key_message(
                    &f.label,
                    &format!("#<{}>", f.label),
                )))
            }
            other => {
                return Err(AeError::RuntimeError(format!(
                    "State Var key ({})[{}] must be of type: NilClass, Numeric, String, Symbol, Date, Time",
                    other.ruby_class(),
                    other.masked().inspect()
                )))
            }
        })
    }

    /// The key as a value (names come back as Strings, as with indifferent access).
    pub fn to_value(&self) -> Value {
        match self {
            StateVarKey::Nil => Value::Nil,
            StateVarKey::Integer(i) => Value::Integer(*i),
            StateVarKey::Float(bits) => Value::Float(f64::from_bits(*bits)),
            StateVarKey::Name(s) => Value::String(s.clone()),
            StateVarKey::Time(t) => Value::Time(*t),
        }
    }
}

/// The message for a key of a type the engine accepts (or might) but this library cannot
/// keep: a Date, an Integer beyond 64 bits, a String that is not UTF-8, another Numeric.
/// `inspect` is the key as Ruby shows it.
pub fn unsupported_key_message(class: &str, inspect: &str) -> String {
    format!(
        "State Var key ({class})[{inspect}] cannot be kept by miq_automate: use nil, an Integer \
         that fits in 64 bits, a Float, a UTF-8 String, a Symbol or a Time"
    )
}

impl From<&str> for StateVarKey {
    fn from(name: &str) -> Self {
        StateVarKey::Name(name.to_string())
    }
}

/// The state-var hash of a workspace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateVars {
    vars: IndexMap<StateVarKey, Value>,
}

impl StateVars {
    /// An empty hash.
    pub fn new() -> Self {
        StateVars::default()
    }

    /// `set_state_var(key, value)`.
    pub fn set(&mut self, key: &Value, value: Value) -> Result<(), AeError> {
        self.vars.insert(StateVarKey::from_value(key)?, value);
        Ok(())
    }

    /// `get_state_var(key)`: the value, or nil (also for a key of a disallowed type).
    pub fn get(&self, key: &Value) -> Value {
        StateVarKey::from_value(key)
            .ok()
            .and_then(|k| self.vars.get(&k).cloned())
            .unwrap_or_default()
    }

    /// The value of a String/Symbol key, as `${STATE_VAR#name}` reads it (case-sensitive).
    pub fn get_name(&self, name: &str) -> Option<&Value> {
        self.vars.get(&StateVarKey::Name(name.to_string()))
    }

    /// `state_var_exist?(key)`.
    pub fn contains(&self, key: &Value) -> bool {
        StateVarKey::from_value(key).is_ok_and(|k| self.vars.contains_key(&k))
    }

    /// `delete_state_var(key)`: the deleted value, or nil.
    pub fn delete(&mut self, key: &Value) -> Value {
        StateVarKey::from_value(key)
            .ok()
            .and_then(|k| self.vars.shift_remove(&k))
            .unwrap_or_default()
    }

    /// `get_state_vars`: a copy as a Hash value.
    pub fn to_hash(&self) -> Value {
        Value::Hash(
            self.vars
                .iter()
                .map(|(k, v)| (k.to_value(), v.clone()))
                .collect(),
        )
    }

    /// Replaces the contents from a Hash value (keys validated).
    pub fn load(&mut self, hash: &Value) -> Result<(), AeError> {
        let Value::Hash(pairs) = hash else {
            return Err(AeError::ArgumentError(format!(
                "state vars must be a Hash, not {}",
                hash.ruby_class()
            )));
        };
        let mut vars = IndexMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            vars.insert(StateVarKey::from_value(k)?, v.clone());
        }
        self.vars = vars;
        Ok(())
    }

    /// The number of vars.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // miq_ae_service_spec.rb: the state var API.
    #[test]
    fn set_get_exist_delete() {
        let mut vars = StateVars::new();
        let name = Value::from("name");
        assert_eq!(vars.get(&name), Value::Nil);
        assert!(!vars.contains(&name));
        vars.set(&name, Value::from("value")).unwrap();
        assert_eq!(vars.get(&name), Value::from("value"));
        assert!(vars.contains(&name));
        assert_eq!(vars.delete(&name), Value::from("value"));
        assert!(vars.is_empty());
    }

    #[test]
    fn string_and_symbol_are_one_key_case_kept() {
        let mut vars = StateVars::new();
        vars.set(&Value::Symbol("a".into()), Value::Integer(1))
            .unwrap();
        assert_eq!(vars.get(&Value::from("a")), Value::Integer(1));
        assert_eq!(vars.get(&Value::from("A")), Value::Nil);
        vars.set(&Value::Integer(1), Value::from("int")).unwrap();
        assert_eq!(vars.get(&Value::from("1")), Value::Nil);
        assert_eq!(
            vars.to_hash(),
            Value::Hash(vec![
                (Value::from("a"), Value::Integer(1)),
                (Value::Integer(1), Value::from("int"))
            ])
        );
    }

    // state_var_hash_spec.rb: allowed key types.
    #[test]
    fn disallowed_key_types_raise_the_engine_message() {
        let mut vars = StateVars::new();
        for key in [
            Value::Nil,
            Value::Integer(1),
            Value::Float(2.5),
            Value::from("t"),
        ] {
            vars.set(&key, Value::Nil).unwrap();
        }
        let err = vars.set(&Value::Hash(vec![]), Value::Nil).unwrap_err();
        assert_eq!(
            err,
            AeError::RuntimeError(
                "State Var key (Hash)[{}] must be of type: NilClass, Numeric, String, Symbol, Date, Time".into()
            )
        );
        assert_eq!(err.engine_class(), "RuntimeError");
        assert!(vars.set(&Value::Array(vec![]), Value::Nil).is_err());
    }

    // Issue 10: a Date key was refused with a message that lists Date as allowed.
    #[test]
    fn a_foreign_key_is_refused_without_contradiction() {
        let mut vars = StateVars::new();
        let date = Value::Foreign(crate::value::ForeignRef {
            id: 1,
            label: "Date".into(),
            text: None,
        });
        let err = vars.set(&date, Value::Nil).unwrap_err().to_string();
        assert_eq!(
            err,
            "State Var key (Date)[#<Date>] cannot be kept by miq_automate: use nil, an Integer \
             that fits in 64 bits, a Float, a UTF-8 String, a Symbol or a Time"
        );
        assert!(!err.contains("Date, Time"));
    }
}
