//! Fault injection: per-route failures for the next N calls, latency, and a rate limit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use miq_automate_vmdb::scenario::{FaultRule, Faults, RateLimit, MAX_LATENCY_MS};
use parking_lot::Mutex;

/// What the faults decided for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decision {
    /// Delay before answering.
    pub delay: Duration,
    /// A failure to answer with, and which rule it came from.
    pub failure: Option<(usize, Injected)>,
}

/// A failure and how it is delivered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Injected {
    pub failure: Failure,
    /// Carry the call out, then fail the reply.
    pub after_action: bool,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
}

/// An injected failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    Status(u16),
    ActionFailure(String),
}

#[derive(Debug)]
struct RuleState {
    rule: FaultRule,
    remaining: Option<u32>,
}

#[derive(Debug)]
struct Window {
    start: DateTime<Utc>,
    count: u32,
}

/// Mutable fault state.
#[derive(Debug)]
pub(crate) struct FaultState {
    latency_ms: u64,
    rules: Mutex<Vec<RuleState>>,
    rate_limit: Option<RateLimit>,
    window: Mutex<Option<Window>>,
}

impl FaultState {
    pub fn new(f: &Faults) -> FaultState {
        FaultState {
            // Validated at load (at most 10 minutes); a scenario built in code may hold
            // anything, and a delay must never be unbounded.
            latency_ms: f.latency_ms.min(MAX_LATENCY_MS),
            rules: Mutex::new(
                f.rules
                    .iter()
                    .map(|r| RuleState {
                        rule: r.clone(),
                        remaining: r.times,
                    })
                    .collect(),
            ),
            rate_limit: f.rate_limit.clone(),
            window: Mutex::new(None),
        }
    }

    /// Counts a request against the rate limit; `Some(retry_after)` when it is over the limit.
    pub fn rate_limited(&self, now: DateTime<Utc>) -> Option<Option<u64>> {
        let rl = self.rate_limit.as_ref()?;
        let mut w = self.window.lock();
        let window = match w.as_mut() {
            Some(win)
                if (now - win.start).num_milliseconds()
                    < i64::try_from(rl.window_seconds.saturating_mul(1000)).unwrap_or(i64::MAX) =>
            {
                win
            }
            _ => w.insert(Window {
                start: now,
                count: 0,
            }),
        };
        window.count = window.count.saturating_add(1);
        (window.count > rl.requests).then_some(rl.retry_after)
    }

    /// Applies the rules to a request.
    pub fn decide(&self, method: &str, path: &str) -> Decision {
        let mut d = Decision {
            delay: Duration::from_millis(self.latency_ms),
            failure: None,
        };
        let mut rules = self.rules.lock();
        for (i, rs) in rules.iter_mut().enumerate() {
            if !rule_matches(&rs.rule, method, path) {
                continue;
            }
            let fails = rs.rule.status.is_some() || rs.rule.action_failure.is_some();
            if fails && d.failure.is_none() {
                let applies = match &mut rs.remaining {
                    None => true,
                    Some(0) => false,
                    Some(n) => {
                        *n -= 1;
                        true
                    }
                };
                if !applies {
                    continue;
                }
                let failure = match (&rs.rule.status, &rs.rule.action_failure) {
                    (Some(s), _) => Failure::Status(*s),
                    (None, Some(m)) => Failure::ActionFailure(m.clone()),
                    (None, None) => continue,
                };
                d.failure = Some((
                    i,
                    Injected {
                        failure,
                        after_action: rs.rule.after_action,
                        retry_after: rs.rule.retry_after,
                    },
                ));
            }
            if let Some(ms) = rs.rule.latency_ms {
                d.delay = d
                    .delay
                    .saturating_add(Duration::from_millis(ms.min(MAX_LATENCY_MS)));
            }
        }
        d
    }
}

fn rule_matches(rule: &FaultRule, method: &str, path: &str) -> bool {
    if let Some(m) = &rule.method {
        if m != "*" && !m.eq_ignore_ascii_case(method) {
            return false;
        }
    }
    path_matches(&rule.path, path)
}

/// `:name` or `*` matches one segment; a final `**` matches the rest.
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let s: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    for (i, seg) in p.iter().enumerate() {
        if *seg == "**" && i == p.len() - 1 {
            return s.len() >= i;
        }
        let Some(actual) = s.get(i) else {
            return false;
        };
        if !(seg.starts_with(':') || *seg == "*" || seg == actual) {
            return false;
        }
    }
    p.len() == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(path_matches("/api/services/:id", "/api/services/10"));
        assert!(path_matches("/api/services/*", "/api/services/10"));
        assert!(!path_matches("/api/services/:id", "/api/services"));
        assert!(!path_matches("/api/services/:id", "/api/services/10/vms"));
        assert!(path_matches("/api/**", "/api/services/10/vms"));
        assert!(path_matches("/api/services", "/api/services/"));
        assert!(!path_matches("/api/vms", "/api/services"));
    }
}
