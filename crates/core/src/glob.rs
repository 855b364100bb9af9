//! `File.fnmatch(pattern, name, File::FNM_CASEFOLD)`, which instance lookups use:
//! `*`, `?`, `[set]`, `\` escapes; a leading `.` is matched only by a literal `.`.

/// `true` when `name` matches the glob `pattern`, ignoring ASCII case.
pub fn fnmatch_casefold(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let n: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        // Without FNM_DOTMATCH a wildcard never matches a leading dot.
        let literal_dot = p.first() == Some(&'\\') && p.get(1) == Some(&'.');
        if !literal_dot {
            return false;
        }
    }
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    backtrack = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = match_set(p, pi, n[ni]) {
                        if matched {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match backtrack {
            Some((star, matched)) => {
                pi = star + 1;
                ni = matched + 1;
                backtrack = Some((star, matched + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the set starting at `p[start] == '['`: `(matched, index after ']')`,
/// or `None` when the set is not closed (then `[` is literal).
fn match_set(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let mut lo = p[i];
        if lo == '\\' && i + 1 < p.len() {
            i += 1;
            lo = p[i];
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            let hi = p[i + 2];
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_forms() {
        assert!(fnmatch_casefold("i?stance1", "INSTANCE1"));
        assert!(fnmatch_casefold("*", "anything"));
        assert!(fnmatch_casefold("in*1", "instance1"));
        assert!(!fnmatch_casefold("in*2", "instance1"));
        assert!(fnmatch_casefold("[a-c]x", "bx"));
        assert!(!fnmatch_casefold("[!a-c]x", "bx"));
        assert!(fnmatch_casefold("a\\*", "a*"));
        assert!(!fnmatch_casefold("a\\*", "ab"));
        assert!(!fnmatch_casefold("*", ".missing"));
        assert!(fnmatch_casefold(".missing", ".MISSING"));
        assert!(fnmatch_casefold("[x", "[x"));
    }
}
