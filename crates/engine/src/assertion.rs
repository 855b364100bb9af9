//! Assertion expressions. The engine `eval`s the substituted text as Ruby; offline we
//! evaluate the forms assertions use: literals (`true`, `false`, `nil`, numbers, quoted
//! strings), `==`, `!=`, `<`, `<=`, `>`, `>=`, `=~ /re/`, `!`, `&&`, `||` and parentheses.
//! Anything else is an error (the engine's "Assertion Evaluation Failed"). Where a Ruby
//! runner is present it evaluates assertions as Ruby instead
//! ([`MethodRunner::evaluate_assertion`](crate::MethodRunner::evaluate_assertion)).

use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Nil,
    Bool(bool),
    Num(f64),
    Str(String),
}

impl Lit {
    fn truthy(&self) -> bool {
        !matches!(self, Lit::Nil | Lit::Bool(false))
    }
}

/// Why an assertion could not be evaluated, as the engine tells the two apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssertionError {
    /// The text is not valid Ruby: "Syntax Error in Assertion".
    Syntax(String),
    /// Evaluating it raised: "Assertion Evaluation Failed".
    Evaluation(String),
}

/// `true` when the assertion holds.
pub fn evaluate(text: &str) -> Result<bool, String> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let v = p.or()?;
    if p.pos != p.tokens.len() {
        return Err(format!("unexpected {:?}", p.tokens[p.pos]));
    }
    Ok(v.truthy())
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Lit(Lit),
    Op(String),
    Regex(String),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            out.push(if c == '(' { Tok::Open } else { Tok::Close });
            i += 1;
        } else if c == '"'
            || c == '\''
            || (c == '/' && matches!(out.last(), Some(Tok::Op(o)) if o == "=~" || o == "!~"))
        {
            let end = chars[i + 1..]
                .iter()
                .position(|x| *x == c)
                .ok_or("unterminated string")?;
            let s: String = chars[i + 1..i + 1 + end].iter().collect();
            out.push(if c == '/' {
                Tok::Regex(s)
            } else {
                Tok::Lit(Lit::Str(s))
            });
            i += end + 2;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Tok::Lit(Lit::Num(
                s.parse().map_err(|_| format!("bad number {s}"))?,
            )));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            out.push(Tok::Lit(match w.as_str() {
                "true" => Lit::Bool(true),
                "false" => Lit::Bool(false),
                "nil" => Lit::Nil,
                _ => return Err(format!("undefined local variable or method `{w}'")),
            }));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["==", "!=", "<=", ">=", "&&", "||", "=~", "!~"]
                .into_iter()
                .find(|o| *o == two)
                .map(str::to_string)
                .or_else(|| {
                    ["<", ">", "!"]
                        .contains(&c.to_string().as_str())
                        .then(|| c.to_string())
                })
                .ok_or_else(|| format!("unexpected character {c:?}"))?;
            i += op.len();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_op(&self, ops: &[&str]) -> Option<String> {
        match self.tokens.get(self.pos) {
            Some(Tok::Op(o)) if ops.contains(&o.as_str()) => Some(o.clone()),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Lit, String> {
        let mut v = self.and()?;
        while self.peek_op(&["||"]).is_some() {
            self.pos += 1;
            let r = self.and()?;
            v = if v.truthy() { v } else { r };
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<Lit, String> {
        let mut v = self.cmp()?;
        while self.peek_op(&["&&"]).is_some() {
            self.pos += 1;
            let r = self.cmp()?;
            v = if v.truthy() { r } else { v };
        }
        Ok(v)
    }

    fn cmp(&mut self) -> Result<Lit, String> {
        let left = self.unary()?;
        if let Some(op) = self.peek_op(&["==", "!=", "<", "<=", ">", ">=", "=~", "!~"]) {
            self.pos += 1;
            if op == "=~" || op == "!~" {
                let Some(Tok::Regex(re)) = self.tokens.get(self.pos).cloned() else {
                    return Err("expected /regexp/".into());
                };
                self.pos += 1;
                let re = regex::Regex::new(&re).map_err(|e| e.to_string())?;
                let hit = matches!(&left, Lit::Str(s) if re.is_match(s));
                return Ok(Lit::Bool(hit == (op == "=~")));
            }
            let right = self.unary()?;
            return Ok(Lit::Bool(match op.as_str() {
                "==" => left == right,
                "!=" => left != right,
                _ => {
                    let ord = match (&left, &right) {
                        (Lit::Num(a), Lit::Num(b)) => a.partial_cmp(b),
                        (Lit::Str(a), Lit::Str(b)) => Some(a.cmp(b)),
                        _ => None,
                    }
                    .ok_or_else(|| format!("comparison of {left:?} with {right:?} failed"))?;
                    match op.as_str() {
                        "<" => ord == Ordering::Less,
                        "<=" => ord != Ordering::Greater,
                        ">" => ord == Ordering::Greater,
                        _ => ord != Ordering::Less,
                    }
                }
            }));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Lit, String> {
        if self.peek_op(&["!"]).is_some() {
            self.pos += 1;
            return Ok(Lit::Bool(!self.unary()?.truthy()));
        }
        match self.tokens.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let v = self.or()?;
                if self.tokens.get(self.pos) != Some(&Tok::Close) {
                    return Err("expected )".into());
                }
                self.pos += 1;
                Ok(v)
            }
            Some(Tok::Lit(l)) => {
                self.pos += 1;
                Ok(l)
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::evaluate;

    #[test]
    fn forms() {
        assert_eq!(evaluate("true"), Ok(true));
        assert_eq!(evaluate("'a' == 'a'"), Ok(true));
        assert_eq!(evaluate("\"vm\" != 'vm'"), Ok(false));
        assert_eq!(evaluate("3 > 2 && !(1 >= 2)"), Ok(true));
        assert_eq!(evaluate("nil || false"), Ok(false));
        assert_eq!(evaluate("'web01' =~ /^web/"), Ok(true));
        assert!(evaluate("foo == 1").is_err());
    }
}
