//! `filter[]` expressions as ManageIQ parses them (lib/api/filter.rb):
//! `attr op value` with `=`, `!=`, `<`, `<=`, `>`, `>=` (and `==`/`!==` for strings);
//! values `'x'`/`"x"` (with `%` or `*` wildcards for `=`/`!=`), `NULL`/`nil`, `true`/`false`,
//! numbers, `[a,b]` lists (`=` only); an `or ` prefix ORs the filter with the ANDed rest.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::reply::ApiError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The right-hand side of a filter.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Null,
    /// An unquoted word: a number, true/false, or a bare string.
    Bare(String),
    /// A quoted string.
    Quoted(String),
    /// A quoted string with `%`/`*` wildcards.
    Pattern(String),
    /// `[a,b]`: any of these.
    List(Vec<String>),
}

/// One parsed filter.
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    or: bool,
    attr: String,
    op: Op,
    value: Operand,
}

/// Parsed `filter[]` parameters: the AND of the plain ones, ORed with each `or ` one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Filter {
    and: Vec<Condition>,
    or: Vec<Condition>,
}

impl Filter {
    /// Parses the filters, checking attribute names against `columns`.
    pub fn parse(filters: &[String], columns: &[&str]) -> Result<Filter, ApiError> {
        let mut f = Filter::default();
        for raw in filters.iter().filter(|s| !s.trim().is_empty()) {
            let c = parse_one(raw)?;
            if c.attr.contains('.') {
                return Err(ApiError::bad_request(
                    "Filtering of attributes with more than one association away is not supported",
                ));
            }
            if !columns.contains(&c.attr.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "attribute {} does not exist",
                    c.attr
                )));
            }
            if c.or {
                f.or.push(c);
            } else {
                f.and.push(c);
            }
        }
        Ok(f)
    }

    /// Whether some condition is on `attr`.
    pub fn names(&self, attr: &str) -> bool {
        self.and.iter().chain(&self.or).any(|c| c.attr == attr)
    }

    /// Whether there is any condition.
    pub fn is_empty(&self) -> bool {
        self.and.is_empty() && self.or.is_empty()
    }

    /// Whether a record (its columns) passes.
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        let and = self.and.iter().all(|c| c.matches(record));
        if self.or.is_empty() {
            return and;
        }
        (!self.and.is_empty() && and) || self.or.iter().any(|c| c.matches(record))
    }
}

fn parse_one(raw: &str) -> Result<Condition, ApiError> {
    // No byte-index slicing here: a multibyte character where an ASCII prefix or delimiter
    // is looked for must be a 400, never a panic (`strip_prefix`, `get`, `split_at_checked`).
    let mut s = raw.trim_start();
    let mut or = false;
    if let Some(after) = s
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("or "))
        .and_then(|_| s.get(3..))
    {
        or = true;
        s = after.trim_start();
    }
    let unknown = || ApiError::bad_request(format!("Unknown operator specified in filter {raw}"));
    // The attribute runs until a space or an operator character.
    let (attr, rest) = s
        .find(|ch: char| ch == ' ' || "=!<>".contains(ch))
        .and_then(|end| s.split_at_checked(end))
        .ok_or_else(unknown)?;
    if attr.is_empty() {
        return Err(unknown());
    }
    let rest = rest.trim_start();
    let ops = [
        ("!==", Op::Ne),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let (op, value) = ops
        .iter()
        .find_map(|(tok, op)| rest.strip_prefix(tok).map(|v| (*op, v.trim())))
        .ok_or_else(unknown)?;
    let operand = parse_value(value, op)?;
    Ok(Condition {
        or,
        attr: attr.to_owned(),
        op,
        value: operand,
    })
}

/// `inner` when `v` is `open` + inner + `close` (at least the two delimiters).
fn enclosed(v: &str, open: char, close: char) -> Option<&str> {
    v.strip_prefix(open)?.strip_suffix(close)
}

fn parse_value(v: &str, op: Op) -> Result<Operand, ApiError> {
    if let Some(inner) = enclosed(v, '[', ']') {
        if op != Op::Eq {
            return Err(ApiError::bad_request(format!(
                "Unsupported operator for arrays: {}",
                op_str(op)
            )));
        }
        return Ok(Operand::List(
            inner.split(',').map(|s| s.to_owned()).collect(),
        ));
    }
    if let Some(inner) = enclosed(v, '\'', '\'').or_else(|| enclosed(v, '"', '"')) {
        let inner = inner.to_owned();
        let wild = inner.contains('%') || inner.contains('*');
        if wild && matches!(op, Op::Eq | Op::Ne) {
            return Ok(Operand::Pattern(inner));
        }
        return Ok(Operand::Quoted(inner));
    }
    if v.eq_ignore_ascii_case("null") || v.eq_ignore_ascii_case("nil") {
        return Ok(Operand::Null);
    }
    Ok(Operand::Bare(v.to_owned()))
}

fn op_str(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
    }
}

impl Condition {
    fn matches(&self, record: &Map<String, Value>) -> bool {
        let actual = record.get(&self.attr).unwrap_or(&Value::Null);
        match &self.value {
            Operand::Null => match self.op {
                Op::Eq => actual.is_null(),
                Op::Ne => !actual.is_null(),
                _ => false,
            },
            Operand::List(items) => items.iter().any(|i| {
                compare(actual, &Operand::Bare(i.trim().to_owned())) == Some(Ordering::Equal)
            }),
            Operand::Pattern(p) => {
                let m = match text_of(actual) {
                    Some(t) => wildcard_match(p, &t),
                    None => false,
                };
                if self.op == Op::Eq {
                    m
                } else {
                    !m
                }
            }
            other => match compare(actual, other) {
                Some(ord) => match self.op {
                    Op::Eq => ord == Ordering::Equal,
                    Op::Ne => ord != Ordering::Equal,
                    Op::Lt => ord == Ordering::Less,
                    Op::Le => ord != Ordering::Greater,
                    Op::Gt => ord == Ordering::Greater,
                    Op::Ge => ord != Ordering::Less,
                },
                // NULL never compares (as in SQL), except that it is "not equal".
                None => self.op == Op::Ne && !actual.is_null(),
            },
        }
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Compares a column value with an operand: numerically when both are numbers (ids are
/// numeric strings), as booleans for true/false, otherwise as text.
fn compare(actual: &Value, operand: &Operand) -> Option<Ordering> {
    let want = match operand {
        Operand::Bare(s) | Operand::Quoted(s) => s,
        _ => return None,
    };
    match actual {
        Value::Null => None,
        Value::Bool(b) => {
            let w = match want.to_ascii_lowercase().as_str() {
                "true" | "t" => true,
                "false" | "f" => false,
                _ => return None,
            };
            Some(b.cmp(&w))
        }
        Value::Number(n) => {
            let a = n.as_f64()?;
            let w: f64 = want.parse().ok()?;
            a.partial_cmp(&w)
        }
        Value::String(s) => {
            if let (Ok(a), Ok(w)) = (s.parse::<f64>(), want.parse::<f64>()) {
                if matches!(operand, Operand::Bare(_)) || s.parse::<u64>().is_ok() {
                    return a.partial_cmp(&w);
                }
            }
            Some(s.as_str().cmp(want.as_str()))
        }
        other => Some(other.to_string().as_str().cmp(want.as_str())),
    }
}

/// `%` and `*` match any run of characters; the match is anchored at both ends.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec() -> Map<String, Value> {
        json!({"id": "42", "name": "web-01", "retired": false, "ancestry": null, "lifecycle_state": "provisioned"})
            .as_object()
            .unwrap()
            .clone()
    }
    const COLS: &[&str] = &["id", "name", "retired", "ancestry", "lifecycle_state"];

    fn m(filters: &[&str]) -> bool {
        let f: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        Filter::parse(&f, COLS).unwrap().matches(&rec())
    }

    #[test]
    fn operators_numbers_strings_null_bool() {
        assert!(m(&["id=42"]));
        assert!(m(&["id > 9"]), "ids compare as numbers, not text");
        assert!(!m(&["id<42"]));
        assert!(m(&["id<=42", "id>=42"]));
        assert!(m(&["name='web-01'"]));
        assert!(m(&["name=\"web-01\""]));
        assert!(m(&["name!='db'"]));
        assert!(m(&["ancestry=NULL"]));
        assert!(m(&["ancestry=nil"]));
        assert!(!m(&["ancestry!=null"]));
        assert!(m(&["retired=false"]));
        assert!(!m(&["retired=true"]));
    }

    #[test]
    fn wildcards_lists_and_or() {
        assert!(m(&["name='web%'"]));
        assert!(m(&["name='*-01'"]));
        assert!(!m(&["name='db%'"]));
        assert!(m(&["name!='db%'"]));
        assert!(m(&["id=[1,42]"]));
        assert!(!m(&["id=[1,2]"]));
        assert!(m(&["name='db'", "or id=42"]));
        assert!(!m(&["name='db'", "or id=1"]));
        assert!(m(&["or id=42"]));
    }

    #[test]
    fn multibyte_text_is_an_error_or_a_value_never_a_panic() {
        let e = Filter::parse(&["a€=1".into()], COLS).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (400, "attribute a€ does not exist")
        );
        let e = Filter::parse(&["or a€=1".into()], COLS).unwrap_err();
        assert_eq!(e.message, "attribute a€ does not exist");
        for raw in ["€", "o€", "or€", "or€=1", "OR €=1", "€€€=1", "é", "oré"] {
            let e = Filter::parse(&[raw.into()], COLS).unwrap_err();
            assert_eq!(e.status, 400, "{raw}: {e:?}");
        }
        // Multibyte values are values: quoted, listed, bare, with wildcards.
        assert!(!m(&["name='€'"]));
        assert!(!m(&["name=\"€%\""]));
        assert!(m(&["name!='€*'"]));
        assert!(!m(&["id=[€,€]"]));
        assert!(!m(&["name=€"]));
        assert!(!m(&["name='€"]), "an unclosed quote is a bare value");
    }

    #[test]
    fn errors() {
        let e = Filter::parse(&["nope=1".into()], COLS).unwrap_err();
        assert_eq!(e.message, "attribute nope does not exist");
        let e = Filter::parse(&["id ~ 1".into()], COLS).unwrap_err();
        assert!(e.message.starts_with("Unknown operator"));
        let e = Filter::parse(&["id>[1,2]".into()], COLS).unwrap_err();
        assert!(e.message.contains("arrays"));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn parses_or_400(raw: &str) {
            match Filter::parse(&[raw.to_owned()], COLS) {
                Ok(f) => {
                    f.matches(&rec());
                }
                Err(e) => assert_eq!(e.status, 400, "{raw:?}: {e:?}"),
            }
        }

        proptest! {
            #[test]
            fn any_text_parses_or_is_a_400(raw in any::<String>()) {
                parses_or_400(&raw);
            }

            /// Filter-shaped text, with multibyte characters where the parser looks for
            /// ASCII prefixes, operators and delimiters.
            #[test]
            fn filter_shaped_text_parses_or_is_a_400(
                raw in "(or |OR |o|€)?[a-z_.€é ]{0,6} ?(=|==|!=|!==|<|<=|>|>=|~|€)? ?(\\[|'|\"|€)?[0-9a-z€é%*,' ]{0,6}(\\]|'|\"|€)?"
            ) {
                parses_or_400(&raw);
            }
        }
    }
}
