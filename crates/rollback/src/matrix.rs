//! The rollback matrix: state name → ordered rollback steps, loaded from a Hash, YAML or
//! JSON and validated, with errors naming the state and step.

use std::fmt;
use std::path::Path;

use indexmap::IndexMap;
use serde_norway::{Mapping, Value as Json};

use miq_automate_core::uri::{hash_to_query, Uri};
use miq_automate_core::value::{ValueError, MAX_DEPTH};
use miq_automate_core::Value;

/// The built-in step that retires the provisioned VM once it exists.
pub const VM_RETIRE_NOW: &str = "vm.retire_now";

/// One rollback step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Instantiate an instance (the URI may hold `${…}` to substitute first).
    Instance {
        /// The instance URI.
        uri: String,
        /// Arguments appended to the URI's query.
        args: IndexMap<String, String>,
    },
    /// Retire the provisioned VM (`miq_provision.vm.retire_now`) once it exists.
    VmRetireNow,
}

impl Step {
    /// A stable key for the once-only record: the step as written.
    pub fn key(&self) -> String {
        match self {
            Step::VmRetireNow => VM_RETIRE_NOW.to_string(),
            Step::Instance { uri, args } if args.is_empty() => uri.clone(),
            Step::Instance { uri, args } => {
                let pairs: Vec<(String, Value)> = args
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect();
                let query = hash_to_query(&pairs).unwrap_or_default();
                let sep = if uri.contains('?') { '&' } else { '?' };
                format!("{uri}{sep}{query}")
            }
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A malformed matrix: where (`states.RegisterDHCP[1]`) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rollback matrix{source_name}: {location}: {message}", source_name = file.as_ref().map(|s| format!(" {s}")).unwrap_or_default())]
pub struct MatrixError {
    /// The file, when loaded from one.
    pub file: Option<String>,
    /// The place in the matrix.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl MatrixError {
    fn at(location: impl Into<String>, message: impl Into<String>) -> Self {
        MatrixError {
            file: None,
            location: location.into(),
            message: message.into(),
        }
    }
}

/// A validated rollback matrix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollbackMatrix {
    /// Steps by state name, in file order.
    pub states: IndexMap<String, Vec<Step>>,
    /// States that need no rollback (for `lint`).
    pub no_rollback: Vec<String>,
}

impl RollbackMatrix {
    /// Parses YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, MatrixError> {
        let json: Json = serde_norway::from_str(text)
            .map_err(|e| MatrixError::at("(document)", format!("invalid YAML: {e}")))?;
        Self::from_json(&json)
    }

    /// Parses JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, MatrixError> {
        // Parsed into YAML's value type, which keeps the order of keys (states run in order).
        let json: Json = serde_json::from_str(text)
            .map_err(|e| MatrixError::at("(document)", format!("invalid JSON: {e}")))?;
        Self::from_json(&json)
    }

    /// Loads a `.yml`/`.yaml`/`.json` file; errors name the file.
    pub fn from_path(path: &Path) -> Result<Self, MatrixError> {
        let name = path.display().to_string();
        let with_source = |mut e: MatrixError| {
            e.file = Some(name.clone());
            e
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| with_source(MatrixError::at("(file)", format!("cannot read: {e}"))))?;
        let json = path.extension().and_then(|e| e.to_str()) == Some("json");
        if json {
            Self::from_json_str(&text)
        } else {
            Self::from_yaml(&text)
        }
        .map_err(with_source)
    }

    /// Reads a matrix given as a core value (a Ruby Hash), with String or Symbol keys.
    pub fn from_value(value: &Value) -> Result<Self, MatrixError> {
        value
            .check_depth()
            .map_err(|e| MatrixError::at("(document)", e.to_string()))?;
        Self::from_json(&value_to_plain_json(value))
    }

    /// Validates a document in either form:
    /// - `{"states": {State: [step…]}, "no_rollback": [State…]}`;
    /// - flat, `{State: [step…]}`, as the seed builds its `@rollback_matrix` Hash: a
    ///   document none of whose top-level keys is `states` or `no_rollback`.
    ///
    /// A document mixing both (a state name beside `states`) is refused, naming the key.
    pub fn from_json(json: &Json) -> Result<Self, MatrixError> {
        check_depth(json)?;
        let top = json.as_mapping().ok_or_else(|| {
            MatrixError::at(
                "(document)",
                format!(
                    "expected a mapping of state name to steps, or with `states`, got {}",
                    kind(json)
                ),
            )
        })?;
        let reserved = |key: &Json| RESERVED.contains(&key_text(key).as_str());
        if !top.keys().any(reserved) {
            return Ok(RollbackMatrix {
                states: parse_states(top, "")?,
                no_rollback: Vec::new(),
            });
        }
        if let Some(stray) = top
            .keys()
            .map(key_text)
            .find(|k| !RESERVED.contains(&k.as_str()))
        {
            let message = if near_reserved(&stray).is_some() {
                "unknown key (expected `states` or `no_rollback`)"
            } else {
                // Either form alone is unambiguous; both at once would leave this state's
                // place (and whether no_rollback covers it) to guesswork.
                "a state beside `states`/`no_rollback`: write the matrix either flat (state name to steps) or with every state under `states`, not both"
            };
            return Err(MatrixError::at(stray, message));
        }
        let states_json = top
            .get("states")
            .ok_or_else(|| MatrixError::at("(document)", "missing `states`"))?
            .as_mapping()
            .ok_or_else(|| {
                MatrixError::at("states", "expected a mapping of state name to steps")
            })?;
        let states = parse_states(states_json, "states.")?;
        let no_rollback = match top.get("no_rollback") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Sequence(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        MatrixError::at(
                            format!("no_rollback[{i}]"),
                            format!("expected a state name, got {}", kind(v)),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(MatrixError::at(
                    "no_rollback",
                    format!("expected a list of state names, got {}", kind(other)),
                ))
            }
        };
        Ok(RollbackMatrix {
            states,
            no_rollback,
        })
    }

    /// The steps of `state` (none when the state is not in the matrix).
    pub fn steps(&self, state: &str) -> &[Step] {
        self.states.get(state).map_or(&[], Vec::as_slice)
    }
}

/// The keys of the `states:` form; in a flat matrix every key is a state name.
const RESERVED: [&str; 2] = ["states", "no_rollback"];

/// State name → steps, each location prefixed with `prefix` (`states.` or nothing).
fn parse_states(map: &Mapping, prefix: &str) -> Result<IndexMap<String, Vec<Step>>, MatrixError> {
    let mut states = IndexMap::new();
    for (state, steps_json) in map {
        let state = key_text(state);
        let location = format!("{prefix}{state}");
        if state.trim().is_empty() {
            return Err(MatrixError::at(location, "empty state name"));
        }
        let near = near_reserved(&state).filter(|_| prefix.is_empty());
        if near == Some("no_rollback") {
            // No state is named like this: a misspelt `no_rollback` would pass as steps.
            return Err(MatrixError::at(
                location,
                "unknown key (did you mean `no_rollback`?)",
            ));
        }
        let steps_json = match steps_json {
            Json::Sequence(a) => a.as_slice(),
            Json::Null => &[],
            other => {
                let hint = near
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                return Err(MatrixError::at(
                    location,
                    format!("expected a list of steps, got {}{hint}", kind(other)),
                ));
            }
        };
        let steps = steps_json
            .iter()
            .enumerate()
            .map(|(i, s)| parse_step(s, &format!("{location}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        states.insert(state, steps);
    }
    Ok(states)
}

/// The reserved key `key` is probably a misspelling of (`stats`, `States`, `no_rolback`):
/// at most two edits away, case aside, but not the key itself.
fn near_reserved(key: &str) -> Option<&'static str> {
    let lower = key.to_lowercase();
    RESERVED
        .into_iter()
        .find(|r| key != *r && edit_distance(&lower, r) <= 2)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

fn parse_step(json: &Json, location: &str) -> Result<Step, MatrixError> {
    match json {
        Json::String(s) => step_from_text(s, IndexMap::new(), location),
        Json::Mapping(map) => {
            for key in map.keys() {
                let key = key_text(key);
                if !matches!(key.as_str(), "uri" | "args" | "builtin") {
                    return Err(MatrixError::at(
                        location,
                        format!("unknown key `{key}` (expected `uri`, `args` or `builtin`)"),
                    ));
                }
            }
            if let Some(builtin) = map.get("builtin") {
                if map.len() > 1 {
                    return Err(MatrixError::at(
                        location,
                        "a `builtin` step takes no `uri` or `args`",
                    ));
                }
                return match builtin.as_str() {
                    Some(VM_RETIRE_NOW) => Ok(Step::VmRetireNow),
                    _ => Err(MatrixError::at(
                        location,
                        format!(
                            "unknown builtin {} (known: {VM_RETIRE_NOW})",
                            scalar_text(builtin)
                        ),
                    )),
                };
            }
            let uri = map
                .get("uri")
                .ok_or_else(|| MatrixError::at(location, "missing `uri`"))?
                .as_str()
                .ok_or_else(|| MatrixError::at(location, "`uri` must be a string"))?;
            let mut args = IndexMap::new();
            match map.get("args") {
                None | Some(Json::Null) => {}
                Some(Json::Mapping(a)) => {
                    for (k, v) in a {
                        let k = key_text(k);
                        let text = match v {
                            Json::String(s) => s.clone(),
                            Json::Number(n) => n.to_string(),
                            Json::Bool(b) => b.to_string(),
                            other => {
                                return Err(MatrixError::at(
                                    format!("{location}.args.{k}"),
                                    format!("expected a scalar, got {}", kind(other)),
                                ))
                            }
                        };
                        args.insert(k, text);
                    }
                }
                Some(other) => {
                    return Err(MatrixError::at(
                        format!("{location}.args"),
                        format!("expected a mapping, got {}", kind(other)),
                    ))
                }
            }
            step_from_text(uri, args, location)
        }
        other => Err(MatrixError::at(
            location,
            format!("expected a URI string or a mapping, got {}", kind(other)),
        )),
    }
}

/// `word.word` or `word.word(...)` with no `/`: how a built-in is written, never a path.
fn looks_like_builtin(text: &str) -> bool {
    if text.contains('/') || text.contains("${") {
        return false;
    }
    let call = text
        .strip_suffix(')')
        .and_then(|t| t.split_once('('))
        .map_or(text, |(t, _)| t);
    let mut parts = call.split('.');
    let (Some(receiver), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    word(receiver) && word(method)
}

fn step_from_text(
    text: &str,
    args: IndexMap<String, String>,
    location: &str,
) -> Result<Step, MatrixError> {
    let text = text.trim();
    if text == VM_RETIRE_NOW {
        return if args.is_empty() {
            Ok(Step::VmRetireNow)
        } else {
            Err(MatrixError::at(location, "vm.retire_now takes no args"))
        };
    }
    if text.is_empty() {
        return Err(MatrixError::at(location, "empty URI"));
    }
    // `vm.bogus`, `vm.retire_now()`, `VM.retire_now`: a mistyped built-in, not an instance
    // (an instance URI is a path: `/Ns/Class/Instance` or `Ns/Class/Instance`).
    if looks_like_builtin(text) {
        return Err(MatrixError::at(
            location,
            format!("{text:?} looks like a mistyped built-in step (known: {VM_RETIRE_NOW}); an instance URI is a path such as /Namespace/Class/Instance"),
        ));
    }
    // Check the URI with each `${…}` standing for a plain path segment.
    let probe = miq_automate_core::substitution::placeholder(text, "x");
    Uri::parse_for_instantiate(&probe).map_err(|e| {
        let shown = miq_automate_core::log::sanitize_uri(text);
        MatrixError::at(location, format!("malformed URI {shown:?}: {e}"))
    })?;
    Ok(Step::Instance {
        uri: text.to_string(),
        args,
    })
}

/// Refuses a document nested deeper than [`MAX_DEPTH`] (walked without
/// recursion), as the Ruby conversion and `Value::from_json` do.
fn check_depth(json: &Json) -> Result<(), MatrixError> {
    let mut pending = vec![(json, 0usize)];
    while let Some((node, depth)) = pending.pop() {
        if matches!(node, Json::Sequence(_) | Json::Mapping(_) | Json::Tagged(_))
            && depth >= MAX_DEPTH
        {
            return Err(MatrixError::at(
                "(document)",
                ValueError::TooDeep.to_string(),
            ));
        }
        let child = |c| (c, depth + 1);
        match node {
            Json::Sequence(items) => pending.extend(items.iter().map(child)),
            Json::Mapping(map) => pending.extend(map.iter().flat_map(|(k, v)| [k, v]).map(child)),
            Json::Tagged(tagged) => pending.push(child(&tagged.value)),
            _ => {}
        }
    }
    Ok(())
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Sequence(_) => "a list",
        Json::Mapping(_) => "a mapping",
        Json::Tagged(_) => "a tagged value",
    }
}

fn key_text(key: &Json) -> String {
    match key {
        Json::String(s) => s.clone(),
        other => scalar_text(other),
    }
}

fn scalar_text(value: &Json) -> String {
    match value {
        Json::String(s) => format!("{s:?}"),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Null => "null".into(),
        other => kind(other).to_string(),
    }
}

/// A core value as a plain document (Symbols as strings), for reading configuration.
fn value_to_plain_json(value: &Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::String(s) | Value::Symbol(s) => Json::String(s.clone()),
        Value::Array(items) => Json::Sequence(items.iter().map(value_to_plain_json).collect()),
        Value::Hash(pairs) => {
            let mut map = Mapping::new();
            for (k, v) in pairs {
                map.insert(Json::String(k.to_ruby_s()), value_to_plain_json(v));
            }
            Json::Mapping(map)
        }
        other => Json::String(other.to_ruby_s()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
states:
  AcquireIPAddress:
    - "${/#rollback_class}/ReleaseIPAddress"
  RegisterDHCP:
    - uri: "${/#rollback_class}/UnregisterDHCP"
      args: { reason: rollback, attempt: 1 }
  Provision:
    - vm.retire_now
    - builtin: vm.retire_now
no_rollback: [CustomizeRequest]
"#;

    #[test]
    fn loads_every_step_form() {
        let m = RollbackMatrix::from_yaml(YAML).unwrap();
        assert_eq!(
            m.states.keys().collect::<Vec<_>>(),
            vec!["AcquireIPAddress", "RegisterDHCP", "Provision"]
        );
        assert_eq!(
            m.steps("Provision"),
            &[Step::VmRetireNow, Step::VmRetireNow]
        );
        assert_eq!(
            m.steps("RegisterDHCP")[0].key(),
            "${/#rollback_class}/UnregisterDHCP?attempt=1&reason=rollback"
        );
        assert_eq!(m.no_rollback, vec!["CustomizeRequest"]);
        assert!(m.steps("Nope").is_empty());
        let json =
            serde_json::to_string(&serde_norway::from_str::<serde_json::Value>(YAML).unwrap())
                .unwrap();
        assert_eq!(RollbackMatrix::from_json_str(&json).unwrap(), m);
    }

    #[test]
    fn errors_name_the_state_and_step() {
        let err = |text: &str| RollbackMatrix::from_yaml(text).unwrap_err().to_string();
        assert_eq!(
            err("states:\n  A:\n    - \"\""),
            "rollback matrix: states.A[0]: empty URI"
        );
        assert!(err("states:\n  A:\n    - \"/a b/c\"")
            .starts_with("rollback matrix: states.A[0]: malformed URI \"/a b/c\": bad URI"));
        assert!(err("states:\n  A:\n    - \"abc:x/y\"").contains("Unsupported Scheme [abc]"));
        for typo in [
            "vm.bogus",
            "vm.retire_now()",
            "VM.retire_now",
            "miq_provision.vm",
        ] {
            let e = err(&format!("states:\n  A:\n    - {typo}"));
            assert!(
                e.contains("looks like a mistyped built-in step"),
                "{typo}: {e}"
            );
        }
        assert_eq!(err("states:\n  A:\n    - uri: /x/y/z\n      when: never"), "rollback matrix: states.A[0]: unknown key `when` (expected `uri`, `args` or `builtin`)");
        // With the flat form any key can be a state: a misspelt `states` is caught by its
        // mapping value, a misspelt key beside `states` as before.
        assert_eq!(
            err("stats: {}"),
            "rollback matrix: stats: expected a list of steps, got a mapping (did you mean `states`?)"
        );
        assert_eq!(
            err("states: {}\nstats: {}"),
            "rollback matrix: stats: unknown key (expected `states` or `no_rollback`)"
        );
        assert_eq!(
            err("states:\n  A:\n    - builtin: vm.destroy"),
            "rollback matrix: states.A[0]: unknown builtin \"vm.destroy\" (known: vm.retire_now)"
        );
        assert_eq!(
            err("states:\n  A: 3"),
            "rollback matrix: states.A: expected a list of steps, got a number"
        );
        assert!(err("states: [").starts_with("rollback matrix: (document): invalid YAML"));
    }

    // Issue 10: a deep matrix is refused with the depth limit, whichever way it comes.
    #[test]
    fn a_deep_matrix_is_refused() {
        let deep = |n: usize| format!("states: {{A: {}{}}}", "[".repeat(n), "]".repeat(n));
        let too_deep = "rollback matrix: (document): value nested deeper than 100";
        assert_eq!(
            RollbackMatrix::from_yaml(&deep(99))
                .unwrap_err()
                .to_string(),
            too_deep
        );
        assert!(RollbackMatrix::from_yaml(&deep(10_000)).is_err());
        let mut value = Value::from("/A/B/C");
        for _ in 0..10_000 {
            value = Value::Array(vec![value]);
        }
        assert_eq!(
            RollbackMatrix::from_value(&value).unwrap_err().to_string(),
            too_deep
        );
        // a shallow one is judged on its structure as before
        assert!(RollbackMatrix::from_yaml(&deep(3))
            .unwrap_err()
            .to_string()
            .contains("expected a URI string or a mapping"));
        std::mem::forget(value); // dropping a 10,000-deep value would recurse as deep
    }

    // Issue 10: a malformed URI quoted in the error never shows a password argument.
    #[test]
    fn malformed_uri_errors_mask_password_arguments() {
        let err =
            RollbackMatrix::from_yaml("states:\n  A:\n    - \"/a b/c?password::pw=TopSecret1\"")
                .unwrap_err()
                .to_string();
        assert!(!err.contains("TopSecret1"), "{err}");
        assert!(err.contains("password::pw=********"), "{err}");
    }

    #[test]
    fn file_errors_name_the_file() {
        let err = RollbackMatrix::from_path(Path::new("/nonexistent/matrix.yml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("rollback matrix /nonexistent/matrix.yml: (file): cannot read"),
            "{err}"
        );
    }

    // The seed's `@rollback_matrix`: a plain Hash of state name to instance URIs.
    const FLAT: &str = r#"
AcquireIPAddress:
  - /Infra/Rollback/Methods/ReleaseIPAddress
  - /Infra/Rollback/Methods/LeaveDomain
RegisterDHCP: [/Infra/Rollback/Methods/UnregisterDHCP]
Provision: [vm.retire_now]
"#;

    #[test]
    fn loads_the_flat_form_from_yaml_json_and_a_hash() {
        let m = RollbackMatrix::from_yaml(FLAT).unwrap();
        assert_eq!(
            m.states.keys().collect::<Vec<_>>(),
            vec!["AcquireIPAddress", "RegisterDHCP", "Provision"]
        );
        assert_eq!(
            m.steps("AcquireIPAddress")
                .iter()
                .map(Step::key)
                .collect::<Vec<_>>(),
            vec![
                "/Infra/Rollback/Methods/ReleaseIPAddress",
                "/Infra/Rollback/Methods/LeaveDomain"
            ]
        );
        assert!(m.no_rollback.is_empty());
        let structured = RollbackMatrix::from_yaml(&format!(
            "states:\n{}",
            FLAT.lines()
                .filter(|l| !l.is_empty())
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
        ))
        .unwrap();
        assert_eq!(m, structured, "both forms read the same");
        let json =
            serde_json::to_string(&serde_norway::from_str::<serde_json::Value>(FLAT).unwrap())
                .unwrap();
        assert_eq!(RollbackMatrix::from_json_str(&json).unwrap(), m);
        let hash = Value::Hash(vec![(
            Value::from("AcquireIPAddress"),
            Value::Array(vec![
                Value::from("/Infra/Rollback/Methods/ReleaseIPAddress"),
                Value::from("/Infra/Rollback/Methods/LeaveDomain"),
            ]),
        )]);
        assert_eq!(
            RollbackMatrix::from_value(&hash).unwrap().states["AcquireIPAddress"],
            m.states["AcquireIPAddress"]
        );
        // The seed starts from `Hash.new`: an empty matrix is a flat one with no states.
        assert_eq!(
            RollbackMatrix::from_json_str("{}").unwrap(),
            RollbackMatrix::default()
        );
    }

    #[test]
    fn flat_form_errors_name_the_state_and_step() {
        let err = |text: &str| RollbackMatrix::from_yaml(text).unwrap_err().to_string();
        assert_eq!(
            err("AcquireIPAddress: [\"\"]"),
            "rollback matrix: AcquireIPAddress[0]: empty URI"
        );
        assert_eq!(
            err("AcquireIPAddress: /A/B/C"),
            "rollback matrix: AcquireIPAddress: expected a list of steps, got a string"
        );
        assert!(err("A: [vm.bogus]").starts_with(
            "rollback matrix: A[0]: \"vm.bogus\" looks like a mistyped built-in step"
        ));
        assert_eq!(
            err("A: [/A/B/C]\nno_rolback: [CustomizeRequest]"),
            "rollback matrix: no_rolback: unknown key (did you mean `no_rollback`?)"
        );
        assert_eq!(
            err("States:\n  A: [/A/B/C]"),
            "rollback matrix: States: expected a list of steps, got a mapping (did you mean `states`?)"
        );
    }

    #[test]
    fn a_document_mixing_both_forms_is_refused() {
        let err = |text: &str| RollbackMatrix::from_yaml(text).unwrap_err().to_string();
        let mixed = "rollback matrix: AcquireIPAddress: a state beside `states`/`no_rollback`: write the matrix either flat (state name to steps) or with every state under `states`, not both";
        assert_eq!(
            err("states:\n  RegisterDHCP: [/A/B/C]\nAcquireIPAddress: [/A/B/D]"),
            mixed
        );
        assert_eq!(
            err("AcquireIPAddress: [/A/B/D]\nno_rollback: [CustomizeRequest]"),
            mixed
        );
    }

    #[test]
    fn reads_a_ruby_hash_with_symbol_keys() {
        let v = Value::Hash(vec![(
            Value::Symbol("states".into()),
            Value::Hash(vec![(
                Value::String("RegisterDNS".into()),
                Value::Array(vec![Value::from("/A/B/UnregisterDNS")]),
            )]),
        )]);
        let m = RollbackMatrix::from_value(&v).unwrap();
        assert_eq!(m.steps("RegisterDNS").len(), 1);
    }
}
