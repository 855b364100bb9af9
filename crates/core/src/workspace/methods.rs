//! Method calls on values, as substitution's method chains and the rollback make them:
//! workspace objects and plain values answer themselves, service models and foreign objects
//! go to the [`ObjectBroker`].

use crate::error::AeError;
use crate::ruby::{float_to_i64, integer_out_of_range, ruby_to_i};
use crate::value::Value;

use super::{ObjectBroker, Workspace};

impl Workspace {
    /// Sets the broker that answers method calls on service models and foreign objects.
    pub fn set_broker(&mut self, broker: Box<dyn ObjectBroker>) {
        self.broker = Some(broker);
    }

    /// Calls `method` on a value: workspace objects answer `[]`, `name`, `parent` …
    /// themselves; common String/Array methods are built in; service models and foreign
    /// objects go to the broker.
    pub fn call_method(
        &mut self,
        receiver: &Value,
        method: &str,
        args: &[Value],
    ) -> Result<Value, AeError> {
        if let Some(v) = builtin_method(receiver, method, args)? {
            return Ok(v);
        }
        if let Value::Object(id) = receiver {
            let o = self.try_obj(*id)?;
            let first = args.first().map(Value::to_ruby_s).unwrap_or_default();
            return match method {
                "[]" => Ok(o.read(&first)),
                "decrypt" => Ok(o.decrypt(&first).map(Value::String).unwrap_or_default()),
                "name" => Ok(Value::String(o.name())),
                "namespace" => Ok(o.namespace.clone().into()),
                "class_name" => Ok(o.class_name.clone().into()),
                "instance_name" => Ok(o.instance_name.clone().into()),
                "current_message" => Ok(Value::String(o.message.clone())),
                "parent" => Ok(o.parent.map(Value::Object).unwrap_or_default()),
                _ => Err(AeError::NoMethod {
                    receiver: receiver.ruby_class(),
                    method: method.to_string(),
                }),
            };
        }
        match (&mut self.broker, receiver) {
            (Some(broker), Value::ServiceModel(_) | Value::Foreign(_)) => {
                broker.call(receiver, method, args)
            }
            _ => Err(AeError::NoMethod {
                receiver: receiver.masked().inspect(),
                method: method.to_string(),
            }),
        }
    }
}

/// Methods on plain values that substitution and rollback use (`Ok(None)`: not built in).
fn builtin_method(
    receiver: &Value,
    method: &str,
    args: &[Value],
) -> Result<Option<Value>, AeError> {
    let text = receiver.as_str().unwrap_or_default();
    let count = |n: usize| i64::try_from(n).map_err(|_| integer_out_of_range(&n.to_string()));
    Ok(Some(match (method, receiver) {
        ("to_s", _) => Value::String(receiver.to_ruby_s()),
        ("inspect", _) => Value::String(receiver.masked().inspect()),
        ("nil?", _) => Value::Bool(matches!(receiver, Value::Nil)),
        ("blank?", _) => Value::Bool(receiver.is_blank()),
        ("present?", _) => Value::Bool(!receiver.is_blank()),
        ("upcase", Value::String(_)) => Value::String(text.to_uppercase()),
        ("downcase", Value::String(_)) => Value::String(text.to_lowercase()),
        ("strip", Value::String(_)) => Value::String(text.trim().to_string()),
        ("to_sym", Value::String(_)) => Value::Symbol(text.to_string()),
        ("to_i", Value::String(_)) => Value::Integer(ruby_to_i(text)?),
        ("to_i", Value::Integer(_)) => receiver.clone(),
        ("to_i", Value::Float(f)) => Value::Integer(float_to_i64(*f)?),
        ("length" | "size", Value::String(_)) => Value::Integer(count(text.chars().count())?),
        ("length" | "size", Value::Array(a)) => Value::Integer(count(a.len())?),
        ("length" | "size", Value::Hash(h)) => Value::Integer(count(h.len())?),
        ("first", Value::Array(a)) => a.first().cloned().unwrap_or_default(),
        ("last", Value::Array(a)) => a.last().cloned().unwrap_or_default(),
        ("[]" | "fetch", Value::Hash(h)) => {
            let Some(key) = args.first() else {
                return Ok(None);
            };
            h.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use crate::error::AeError;
    use crate::value::Value;
    use crate::Workspace;

    #[test]
    fn builtin_to_i_is_checked() {
        let mut ws = Workspace::new();
        let big = Value::from("99999999999999999999999");
        assert!(matches!(
            ws.call_method(&big, "to_i", &[]),
            Err(AeError::RangeError(_))
        ));
        assert!(matches!(
            ws.call_method(&Value::Float(f64::INFINITY), "to_i", &[]),
            Err(AeError::RangeError(_))
        ));
        assert_eq!(
            ws.call_method(&Value::from("42"), "to_i", &[]),
            Ok(Value::Integer(42))
        );
    }
}
