//! `${…}` substitution in field values, and `a || b || c` null coalescing.
//!
//! The body of `${…}` is a URI: its path names an object (empty = current, `/` = root,
//! `..` = parent, `Class` = named ancestor, `/Dom/ns/Class/Inst` = any object, `STATE_VAR` =
//! the state vars) and its fragment is `attribute(.method(arg))*`. `${miqaedb:///ns/Class/Inst/attr}`
//! reads a datastore instance through a [`DatastoreReader`].

use std::sync::LazyLock;

use regex::Regex;

// Re-exported: embedders implement it for substitution's `${miqaedb:…}`.
pub use crate::datastore::DatastoreReader;
use crate::error::AeError;
use crate::evm::Evm;
use crate::log::LogLevel;
use crate::path::{ruby_split, AePath, SplitOptions};
use crate::uri::{collapse_slashes, Uri, DEFAULT_SCHEME};
use crate::value::Value;
use crate::workspace::Workspace;

static SUBSTITUTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([^}]+)\}").expect("valid regex"));
static METHOD_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([./\w]+)\s*(?:\((.*)\))?\s*$").expect("valid regex"));

/// Substitutes every `${…}` in `text` (missing attributes give `""`).
pub fn substitute(ws: &mut Workspace, text: &str) -> Result<String, AeError> {
    substitute_with(ws, text, false)
}

/// Substitutes as assertions do: a missing attribute or state var is an error.
pub fn substitute_required(ws: &mut Workspace, text: &str) -> Result<String, AeError> {
    substitute_with(ws, text, true)
}

fn substitute_with(ws: &mut Workspace, text: &str, required: bool) -> Result<String, AeError> {
    replace_references(text, |body| uri_to_value(ws, body, required))
}

/// Replaces each `${body}` in one pass (substituted text is not scanned again) with the
/// Ruby `to_s` of `value_of(body)`.
fn replace_references(
    text: &str,
    mut value_of: impl FnMut(&str) -> Result<Value, AeError>,
) -> Result<String, AeError> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in SUBSTITUTION.captures_iter(text) {
        let whole = caps.get(0).expect("match");
        out.push_str(&text[last..whole.start()]);
        out.push_str(&value_of(&caps[1])?.to_ruby_s());
        last = whole.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// Differs on purpose: `${foo}` (no `#`) is a NoMethodError in the engine.
fn no_attribute(body: &str) -> AeError {
    AeError::InvalidPathFormat(format!(
        "substitution [${{{body}}}] names no attribute: write path#attribute"
    ))
}

/// The value one `${body}` stands for (nil when missing and not required).
pub fn uri_to_value(ws: &mut Workspace, body: &str, required: bool) -> Result<Value, AeError> {
    let uri = Uri::split(body, DEFAULT_SCHEME)?;
    match uri.scheme.as_str() {
        "miqaedb" => {
            let path = AePath::split(
                uri.path.as_deref().unwrap_or(""),
                SplitOptions {
                    has_attribute_name: true,
                    ..SplitOptions::default()
                },
            );
            let message = uri.message();
            ws.read_datastore_attribute(&path, &message)
        }
        "miqaews" => workspace_value(ws, &uri, body, required),
        // Any other scheme stands for itself, as the engine returns it.
        _ => Ok(Value::String(collapse_slashes(body))),
    }
}

fn workspace_value(
    ws: &mut Workspace,
    uri: &Uri,
    body: &str,
    required: bool,
) -> Result<Value, AeError> {
    let path = uri.path.clone().unwrap_or_default();
    if let Some(name) = path.strip_prefix('!') {
        if name.eq_ignore_ascii_case("current_message") {
            let current = ws.current();
            return Ok(Value::String(ws.obj(current).message.clone()));
        }
        return Err(AeError::MethodNotFound(format!(
            "Method [{path}] Not Found for Current Object"
        )));
    }
    let Some(fragment) = uri.fragment.as_deref() else {
        return Err(no_attribute(body));
    };
    let frags = ruby_split(fragment, '.');
    let name = frags.first().copied();
    if path.eq_ignore_ascii_case("STATE_VAR") {
        let Some(name) = name else {
            return Ok(Value::Nil);
        };
        return match ws.state_vars().get_name(name) {
            Some(v) => Ok(v.clone()),
            None if required => Err(AeError::AttributeNotFound(format!(
                "State var {name} not found"
            ))),
            None => Ok(Value::Nil),
        };
    }
    let Some(object) = ws.object(Some(&path))? else {
        return Err(AeError::ObjectNotFound(format!(
            "Object Not Found for path=[{path}]"
        )));
    };
    let Some(name) = name else {
        return Err(no_attribute(body));
    };
    let value = match ws.obj(object).get(name) {
        Some(v) => v.clone(),
        None if required => {
            return Err(AeError::AttributeNotFound(format!(
                "Attribute {name} not found for object [{path}]"
            )))
        }
        None => Value::Nil,
    };
    if frags.len() == 1 {
        return Ok(value);
    }
    match call_chain(ws, value, &frags[1..]) {
        Ok(v) => Ok(v),
        Err(e) => {
            ws.log_line(LogLevel::Warn, format!("Error during substitution: {e}"));
            Ok(Value::Nil)
        }
    }
}

fn call_chain(ws: &mut Workspace, mut value: Value, pieces: &[&str]) -> Result<Value, AeError> {
    for piece in pieces {
        let caps = METHOD_CALL.captures(piece).ok_or_else(|| {
            AeError::InvalidMethod(format!("invalid method calling syntax: [{piece}]"))
        })?;
        let method = caps[1].to_string();
        let args = match caps.get(2) {
            Some(a) => {
                let text = a.as_str();
                vec![match text.strip_prefix(':') {
                    Some(sym) => Value::Symbol(sym.to_string()),
                    None => Value::String(text.to_string()),
                }]
            }
            None => Vec::new(),
        };
        value = ws.call_method(&value, &method, &args)?;
    }
    Ok(value)
}

/// `text` with every `${…}` replaced by `with` (to check the shape of a templated URI).
pub fn placeholder(text: &str, with: &str) -> String {
    SUBSTITUTION.replace_all(text, with).into_owned()
}

/// Substitutes `${…}` through any [`Evm`] (a remote `$evm` included): `${/#attr}` (root),
/// `${#attr}` (current object), `${path#attr}` (`$evm.object(path)`), `${STATE_VAR#key}`.
/// Method chains need a local workspace and are refused here.
pub fn substitute_evm(evm: &mut dyn Evm, text: &str) -> Result<String, AeError> {
    replace_references(text, |body| {
        let uri = Uri::split(body, DEFAULT_SCHEME)?;
        let path = uri.path.as_deref().unwrap_or("");
        let Some(name) = uri.fragment.as_deref().filter(|f| !f.is_empty()) else {
            return Err(no_attribute(body));
        };
        if name.contains('.') {
            return Err(AeError::InvalidMethod(format!(
                "method calls are not supported here: [${{{body}}}]"
            )));
        }
        if path.eq_ignore_ascii_case("STATE_VAR") {
            evm.get_state_var(&Value::from(name))
        } else if path == "/" {
            evm.root_get(name)
        } else if path.is_empty() {
            evm.object_get(None, name)
        } else {
            evm.object_get(Some(path), name)
        }
    })
}

/// Evaluates a `null coalescing` field: `value`, or `default` when the value is absent, split
/// on `||`; each part is stripped and substituted; the first non-blank result wins, else the
/// last one evaluated. `None` when both are absent or the last part failed (logged at warn).
pub fn null_coalesce(
    ws: &mut Workspace,
    value: Option<&str>,
    default: Option<&str>,
) -> Option<String> {
    let initial = value.or(default)?;
    let mut result = None;
    for part in initial.split("||") {
        let part = part.trim();
        result = match substitute(ws, part) {
            Ok(s) => Some(s),
            Err(e) => {
                ws.log_line(
                    LogLevel::Warn,
                    // "coalecing" (sic) is the engine's own spelling; scripts grep for it.
                    format!("{e}, while evaluating :{part} null coalecing attribute"),
                );
                None
            }
        };
        if result.as_deref().is_some_and(|r| !r.trim().is_empty()) {
            break;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::AeObject;
    use crate::value::ObjectId;

    fn ws() -> Workspace {
        let mut ws = Workspace::with_root([
            ("var1", Value::from("wilma")),
            ("attr1", Value::from("Pearl/Slaghoople")),
            ("count", Value::Integer(45)),
        ]);
        let a = ws.add_object(
            Some(ObjectId(0)),
            AeObject::new(Some("Dom/EVM"), Some("A"), Some("a1"), "create"),
        );
        ws.obj_mut(a).set("attr1", Value::from("defaultA"));
        let b = ws.add_object(
            Some(a),
            AeObject::new(Some("Dom/EVM"), Some("B"), Some("b1"), "create"),
        );
        ws.obj_mut(b).set("attr1", Value::from("b1"));
        ws.push_current(b, None);
        ws
    }

    // miq_ae_engine_spec.rb "properly processes substitution"
    #[test]
    fn path_forms() {
        let mut ws = ws();
        assert_eq!(substitute(&mut ws, "${A#attr1}").unwrap(), "defaultA");
        assert_eq!(substitute(&mut ws, "${EVM/A#attr1}").unwrap(), "defaultA");
        assert_eq!(substitute(&mut ws, "${#attr1}").unwrap(), "b1");
        assert_eq!(substitute(&mut ws, "${..#attr1}").unwrap(), "defaultA");
        assert_eq!(
            substitute(&mut ws, "${/#attr1}").unwrap(),
            "Pearl/Slaghoople"
        );
        assert_eq!(
            substitute(&mut ws, "${/Dom/EVM/A/a1#attr1}").unwrap(),
            "defaultA"
        );
        assert_eq!(substitute(&mut ws, "x=${/#count}!").unwrap(), "x=45!");
        assert_eq!(substitute(&mut ws, "${}").unwrap(), "${}");
        assert_eq!(substitute(&mut ws, "${#missing}").unwrap(), "");
        assert_eq!(
            substitute(&mut ws, "${!current_message}").unwrap(),
            "create"
        );
        assert_eq!(
            substitute(&mut ws, "${EVMX/A#attr1}").unwrap_err(),
            AeError::ObjectNotFound("Object Not Found for path=[EVMX/A]".into())
        );
        assert!(matches!(
            substitute(&mut ws, "${BOGUS/EVM/A#attr1}"),
            Err(AeError::ObjectNotFound(_))
        ));
        assert!(matches!(
            substitute(&mut ws, "${#a b}"),
            Err(AeError::InvalidPathFormat(_))
        ));
        assert_eq!(substitute(&mut ws, "${http://x/y}").unwrap(), "http:/x/y");
    }

    #[test]
    fn required_missing_values_are_errors() {
        let mut ws = ws();
        assert_eq!(
            substitute_required(&mut ws, "${#nope}").unwrap_err(),
            AeError::AttributeNotFound("Attribute nope not found for object []".into())
        );
        assert_eq!(
            substitute_required(&mut ws, "${STATE_VAR#nope}").unwrap_err(),
            AeError::AttributeNotFound("State var nope not found".into())
        );
    }

    #[test]
    fn state_vars_and_method_chains() {
        let mut ws = ws();
        ws.state_vars_mut()
            .set(&Value::Symbol("my_id".into()), Value::Integer(45))
            .unwrap();
        assert_eq!(substitute(&mut ws, "${State_Var#my_id}").unwrap(), "45");
        assert_eq!(substitute(&mut ws, "${STATE_VAR#MY_ID}").unwrap(), "");
        assert_eq!(substitute(&mut ws, "${/#var1.upcase}").unwrap(), "WILMA");
        assert_eq!(substitute(&mut ws, "${/#var1.nosuch}").unwrap(), "");
        assert!(ws
            .logs()
            .last()
            .unwrap()
            .message
            .starts_with("Error during substitution:"));
    }

    // miq_ae_engine_spec.rb "null coalescing"
    #[test]
    fn null_coalescing() {
        let mut ws = ws();
        let value = "${/#nothing} || ${XY/ABC#var2} || ${State_Var#my_id} || Pebbles";
        let default = "${/#var2} || ${XY/ABC#var2} || Bamm Bamm Rubble";
        assert_eq!(
            null_coalesce(&mut ws, Some(value), Some(default)).as_deref(),
            Some("Pebbles")
        );
        assert_eq!(
            null_coalesce(&mut ws, None, Some(default)).as_deref(),
            Some("Bamm Bamm Rubble")
        );
        assert_eq!(null_coalesce(&mut ws, None, None), None);
        assert!(ws.logs().iter().any(|l| l
            .message
            .ends_with("while evaluating :${XY/ABC#var2} null coalecing attribute")));
        ws.state_vars_mut()
            .set(&Value::from("my_id"), Value::Integer(45))
            .unwrap();
        assert_eq!(
            null_coalesce(&mut ws, Some(value), Some(default)).as_deref(),
            Some("45")
        );
        let first = "${/#var1} || Pebbles";
        assert_eq!(
            null_coalesce(&mut ws, Some(first), None).as_deref(),
            Some("wilma")
        );
        assert_eq!(
            null_coalesce(&mut ws, Some("${#a} || ${#b}"), None).as_deref(),
            Some("")
        );
    }
}
