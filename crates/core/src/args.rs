//! Typed instance arguments (`Type::name=value`, `Array::name=a\x1Fb`) and the datatype
//! conversion the engine applies to arguments, fields and method inputs.

use indexmap::IndexMap;

use crate::error::AeError;
use crate::password::Password;
use crate::path::ruby_split;
use crate::ruby::{float_to_i64, ruby_strip, ruby_time_parse, ruby_to_f, ruby_to_i};
use crate::value::{ServiceModelRef, Value};

/// The separator of `Array::` argument elements (ASCII Unit Separator).
pub const ARRAY_SEPARATOR: char = '\x1F';

/// The datatype that makes a field a `a || b || c` null-coalescing expression.
pub const NULL_COALESCING: &str = "null coalescing";

/// Datatypes a field may declare (checked case-sensitively, as the engine does).
pub const AVAILABLE_DATATYPES: [&str; 18] = [
    "string",
    "symbol",
    "integer",
    "float",
    "boolean",
    "time",
    "array",
    "password",
    NULL_COALESCING,
    "host",
    "vm",
    "storage",
    "ems",
    "policy",
    "server",
    "request",
    "provision",
    "user",
];

/// Ruby classes that exist but are not service models.
const CORE_CLASSES: [&str; 17] = [
    "String",
    "Integer",
    "Fixnum",
    "Float",
    "Numeric",
    "Symbol",
    "Time",
    "Date",
    "DateTime",
    "Array",
    "Hash",
    "NilClass",
    "TrueClass",
    "FalseClass",
    "Object",
    "BasicObject",
    "Boolean",
];

/// Processes instance arguments as the engine does before an object's fields run:
/// `Type::name` keys are converted by type (a service-model type also adds `name_id` with the
/// raw value unless `has_attribute(name)`), `Array::name` keys become arrays, and every other
/// key is downcased. Returns the attributes to merge, in the engine's order.
pub fn process_args(
    args: Vec<(String, Value)>,
    has_attribute: impl Fn(&str) -> bool,
) -> Result<IndexMap<String, Value>, AeError> {
    let mut out: IndexMap<String, Value> = args.iter().cloned().collect();
    for (key, value) in args {
        if key.to_lowercase().starts_with("array::") {
            out.shift_remove(&key);
            let name = key.rsplit("::").next().unwrap_or("").to_lowercase();
            let array = match &value {
                Value::String(s) => load_array(s)?,
                other => other.clone(),
            };
            out.insert(name, array);
        } else if let Some((klass, name)) = key.rsplit_once("::") {
            out.shift_remove(&key);
            let name = name.to_lowercase();
            // A number too big to keep is still not zero; the conversion below refuses it.
            let raw_id_present = || ruby_to_i(&value.to_ruby_s()) != Ok(0);
            if is_ruby_constant(klass) && !has_attribute(&name) && raw_id_present() {
                out.insert(format!("{name}_id"), value.clone());
            }
            out.insert(name, convert_value(value, Some(klass))?);
        } else if key != key.to_lowercase() {
            out.shift_remove(&key);
            out.insert(key.to_lowercase(), value);
        }
    }
    Ok(out)
}

/// Parses an `Array::` argument value: elements separated by `\x1F`, each either
/// `Type::value` (converted) or a plain string (kept verbatim); blank elements dropped.
pub fn load_array(text: &str) -> Result<Value, AeError> {
    let mut items = Vec::new();
    for element in ruby_split(text, ARRAY_SEPARATOR) {
        if element.contains("::") {
            let mut fields = element.split("::");
            let klass = fields.next().unwrap_or("");
            let Some(raw) = fields.next() else {
                return Err(AeError::ArgumentError(format!(
                    "array element {element:?} has a type but no value"
                )));
            };
            let converted = convert_value(Value::from(ruby_strip(raw)), Some(ruby_strip(klass)))?;
            if !matches!(converted, Value::Nil) {
                items.push(converted);
            }
        } else if !element.trim().is_empty() {
            items.push(Value::from(element));
        }
    }
    Ok(Value::Array(items))
}

/// Converts `value` by `datatype` exactly in the engine's order of checks. Blank values and
/// an absent datatype pass through. Unknown datatypes are [`AeError::InvalidClass`].
///
/// Offline there is no encryption key: a `password` value is taken as the plaintext.
pub fn convert_value(value: Value, datatype: Option<&str>) -> Result<Value, AeError> {
    let Some(datatype) = datatype else {
        return Ok(value);
    };
    if value.is_blank() {
        return Ok(value);
    }
    let text = value.to_ruby_s();
    let ci = |name: &str| datatype.eq_ignore_ascii_case(name);
    Ok(match datatype {
        "boolean" => {
            let lower = text.to_lowercase();
            let is_string = matches!(value, Value::String(_));
            if lower == "true" || (is_string && text == "1") {
                Value::Bool(true)
            } else if lower == "false" || (is_string && text == "0") {
                Value::Bool(false)
            } else {
                value
            }
        }
        "TrueClass" => Value::Bool(true),
        "FalseClass" => Value::Bool(false),
        _ if ci("time") => match value {
            Value::Time(_) => value,
            _ => Value::Time(ruby_time_parse(&text).map_err(AeError::ArgumentError)?),
        },
        _ if ci("symbol") => Value::Symbol(text),
        _ if ci("integer") || ci("fixnum") => match value {
            Value::Integer(_) => value,
            Value::Float(f) => Value::Integer(float_to_i64(f)?),
            _ => Value::Integer(ruby_to_i(&text)?),
        },
        _ if ci("float") => match value {
            Value::Float(_) => value,
            Value::Integer(i) => Value::Float(i as f64),
            _ => Value::Float(ruby_to_f(&text)),
        },
        "array" if matches!(value, Value::String(_)) => {
            let cleaned: String = text.chars().filter(|c| *c != '[' && *c != ']').collect();
            let cleaned = ruby_strip(&cleaned);
            let items = split_on_commas(cleaned);
            Value::Array(items.into_iter().map(Value::from).collect())
        }
        "password" => match value {
            Value::Password(_) => value,
            _ => Value::Password(Password::new(text)),
        },
        _ => {
            if let Some(model) = service_model_name(datatype) {
                return service_model(value, &model);
            }
            if !AVAILABLE_DATATYPES.contains(&datatype) {
                return Err(AeError::InvalidClass(format!(
                    "invalid datatype [{datatype}]"
                )));
            }
            value
        }
    })
}

fn service_model(value: Value, model: &str) -> Result<Value, AeError> {
    let id = match &value {
        Value::ServiceModel(r) if r.model == model => return Ok(value),
        Value::ServiceModel(r) => r.id,
        Value::Integer(i) => *i,
        other => ruby_to_i(&other.to_ruby_s())?,
    };
    if id <= 0 {
        return Err(AeError::ServiceNotFound("Service Model not found".into()));
    }
    Ok(Value::ServiceModel(ServiceModelRef::new(model, id)))
}

/// The service model (snake case) a datatype names, if any: the engine's short names
/// (`ems`, `server`, `request`, …), lowercase model datatypes, and any CamelCase class name
/// that is not a Ruby core class.
///
/// Differs on purpose: the engine asks the database which models exist; offline any
/// CamelCase name (`Vm`, `VmOrTemplate`, `MiqProvision`) is taken as a model.
pub fn service_model_name(datatype: &str) -> Option<String> {
    let lookup = match datatype {
        "ems" => Some("ext_management_system"),
        "policy" => Some("miq_policy"),
        "provision" => Some("miq_provision"),
        "provision_request" => Some("miq_provision_request"),
        "request" => Some("miq_request"),
        "server" => Some("miq_server"),
        "host" | "vm" | "storage" | "user" => Some(datatype),
        _ => None,
    };
    if let Some(model) = lookup {
        return Some(model.to_string());
    }
    let is_class = datatype
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
        && datatype
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ':');
    if is_class && !CORE_CLASSES.contains(&datatype) {
        let base = datatype.rsplit("::").next().unwrap_or(datatype);
        return Some(underscore(base));
    }
    None
}

fn is_ruby_constant(klass: &str) -> bool {
    klass.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && klass != "Boolean"
}

/// `VmOrTemplate` → `vm_or_template`.
pub fn underscore(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    let chars: Vec<char> = camel.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_ascii_uppercase())) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

fn split_on_commas(text: &str) -> Vec<String> {
    let mut parts: Vec<String> = text.split(',').map(|p| p.trim().to_string()).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect()
    }

    fn model(m: &str, id: i64) -> Value {
        Value::ServiceModel(ServiceModelRef::new(m, id))
    }

    // miq_ae_object_spec.rb: args become attributes.
    #[test]
    fn plain_and_typed_keys() {
        let out = process_args(args(&[("Name", "fred")]), |_| false).unwrap();
        assert_eq!(out["name"], Value::from("fred"));
        assert!(!out.contains_key("Name"));

        let out = process_args(args(&[("VmOrTemplate::vm", "12")]), |_| false).unwrap();
        assert_eq!(out["vm_id"], Value::from("12"));
        assert_eq!(out["vm"], model("vm_or_template", 12));

        let out = process_args(args(&[("vm::vm", "12")]), |_| false).unwrap();
        assert_eq!(out["vm"], model("vm", 12));
        assert!(!out.contains_key("vm_id"));

        let out = process_args(args(&[("Vm::vm", "12")]), |name| name == "vm").unwrap();
        assert!(
            !out.contains_key("vm_id"),
            "existing attribute suppresses _id"
        );
    }

    #[test]
    fn scalar_types() {
        let out = process_args(
            args(&[
                ("integer::n", "5"),
                ("Integer::m", "7"),
                ("float::f", "2.5"),
                ("boolean::t", "TRUE"),
                ("boolean::o", "1"),
                ("boolean::z", "0"),
                ("boolean::y", "no"),
                ("symbol::s", "abc"),
                ("TrueClass::x", "whatever"),
                ("string::st", "x"),
            ]),
            |_| false,
        )
        .unwrap();
        assert_eq!(out["n"], Value::Integer(5));
        assert_eq!(out["m"], Value::Integer(7));
        assert_eq!(out["m_id"], Value::from("7"));
        assert_eq!(out["f"], Value::Float(2.5));
        assert_eq!(out["t"], Value::Bool(true));
        assert_eq!(out["o"], Value::Bool(true));
        assert_eq!(out["z"], Value::Bool(false));
        assert_eq!(out["y"], Value::from("no"));
        assert_eq!(out["s"], Value::Symbol("abc".into()));
        assert_eq!(out["x"], Value::Bool(true));
        assert_eq!(out["st"], Value::from("x"));
    }

    #[test]
    fn unknown_types_are_invalid_class() {
        for key in ["Boolean::b", "fred::x", "String::s"] {
            let err = process_args(args(&[(key, "true")]), |_| false).unwrap_err();
            assert!(matches!(err, AeError::InvalidClass(_)), "{key}: {err:?}");
        }
        let err = process_args(args(&[("Host::h", "nada")]), |_| false).unwrap_err();
        assert_eq!(
            err,
            AeError::ServiceNotFound("Service Model not found".into())
        );
    }

    // Issue 10: integers beyond 64 bits were clamped to i64::MAX.
    #[test]
    fn integers_beyond_64_bits_are_refused() {
        for (key, value) in [
            ("integer::n", "99999999999999999999999"),
            ("Integer::n", "-99999999999999999999999"),
            ("Vm::vm", "99999999999999999999999"),
        ] {
            let err = process_args(args(&[(key, value)]), |_| false).unwrap_err();
            assert!(matches!(err, AeError::RangeError(_)), "{key}: {err:?}");
        }
        assert!(matches!(
            convert_value(Value::Float(f64::INFINITY), Some("integer")),
            Err(AeError::RangeError(_))
        ));
        assert!(matches!(
            load_array("integer::1\x1Finteger::99999999999999999999"),
            Err(AeError::RangeError(_))
        ));
        assert_eq!(
            convert_value(Value::Float(-2.5), Some("integer")).unwrap(),
            Value::Integer(-2)
        );
    }

    #[test]
    fn time_and_password() {
        let out = process_args(args(&[("time::t", "2013-01-01 00:00:00 UTC")]), |_| false).unwrap();
        assert!(matches!(out["t"], Value::Time(_)));
        let out = process_args(args(&[("password::p", "s3cret")]), |_| false).unwrap();
        match &out["p"] {
            Value::Password(p) => assert_eq!(p.decrypt(), "s3cret"),
            other => panic!("not a password: {other:?}"),
        }
        assert_eq!(out["p"].to_ruby_s(), "********");
    }

    // miq_ae_object_spec.rb: Array:: arguments.
    #[test]
    fn array_arguments() {
        let a = |text: &str| load_array(text).unwrap();
        assert_eq!(
            a("abc\x1Fxyz\x1F\x1F1"),
            Value::Array(vec!["abc".into(), "xyz".into(), "1".into()])
        );
        let ints = Value::Array(vec![
            Value::Integer(1),
            Value::Integer(3),
            Value::Integer(10),
        ]);
        assert_eq!(a("integer::1\x1F integer::3\x1F integer::10"), ints);
        assert_eq!(a("integer::1\x1Finteger::3\x1Finteger::10"), ints);
        assert_eq!(
            a("'1,1'\x1F\"3,3\"\x1Finteger::10"),
            Value::Array(vec!["'1,1'".into(), "\"3,3\"".into(), Value::Integer(10)])
        );
        assert_eq!(
            a("VmOrTemplate::1\x1F\x1F\x1FVmOrTemplate::2"),
            Value::Array(vec![model("vm_or_template", 1), model("vm_or_template", 2)])
        );
        assert!(matches!(
            load_array("VmOrTemplate::1\x1Ffred::12"),
            Err(AeError::InvalidClass(_))
        ));
        assert_eq!(a(""), Value::Array(vec![]));

        let out = process_args(args(&[("Array::VMs", "Vm::1"), ("Name", "fred")]), |_| {
            false
        })
        .unwrap();
        assert_eq!(out["vms"], Value::Array(vec![model("vm", 1)]));
        assert!(!out.contains_key("VMs"));
        assert_eq!(out["name"], Value::from("fred"));
    }

    #[test]
    fn array_datatype_splits_commas() {
        assert_eq!(
            convert_value(Value::from("[a, b ,c]"), Some("array")).unwrap(),
            Value::Array(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(
            convert_value(Value::from("45"), Some("Integer")).unwrap(),
            Value::Integer(45)
        );
        assert_eq!(
            convert_value(Value::from("test_value"), None).unwrap(),
            Value::from("test_value")
        );
    }

    #[test]
    fn model_names() {
        assert_eq!(underscore("VmOrTemplate"), "vm_or_template");
        assert_eq!(underscore("MiqProvision"), "miq_provision");
        assert_eq!(underscore("ExtManagementSystem"), "ext_management_system");
        assert_eq!(
            service_model_name("ems").as_deref(),
            Some("ext_management_system")
        );
        assert_eq!(service_model_name("String"), None);
    }
}
