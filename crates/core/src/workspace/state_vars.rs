//! The state-var hash and `$evm.field_timeout` (the state's retry interval times its max
//! retries).

use crate::error::AeError;
use crate::ruby::{checked_mul, float_to_i64, to_i_with_method};
use crate::state_vars::StateVars;
use crate::value::Value;

use super::Workspace;

impl Workspace {
    /// The state-var hash.
    pub fn state_vars(&self) -> &StateVars {
        &self.state_vars
    }

    /// The state-var hash, mutably.
    pub fn state_vars_mut(&mut self) -> &mut StateVars {
        &mut self.state_vars
    }

    /// `$evm.field_timeout`: `ae_retry_interval` (seconds, `"1.minute"` forms; 1 when blank)
    /// times `ae_state_max_retries`. A result (or a part) beyond 64 bits, and a non-finite
    /// Float, is a `RangeError`, never a wrapped or clamped number.
    pub fn field_timeout(&self) -> Result<i64, AeError> {
        let max = self.root_get("ae_state_max_retries");
        if max.is_blank() {
            return Err(AeError::RuntimeError(
                "ae_state_max_retries is not set in automate field".into(),
            ));
        }
        let to_i = |name: &str, v: &Value| -> Result<Option<i64>, AeError> {
            match v {
                Value::Integer(i) => Ok(Some(*i)),
                Value::Float(f) => float_to_i64(*f).map(Some),
                other => to_i_with_method(&other.to_ruby_s()),
            }
            .map_err(|e| match e {
                AeError::RangeError(m) => AeError::RangeError(format!("{name}: {m}")),
                other => other,
            })
        };
        let interval = self.root_get("ae_retry_interval");
        let interval = if interval.is_blank() {
            1
        } else {
            to_i("ae_retry_interval", &interval)?.ok_or_else(|| {
                AeError::ArgumentError(format!(
                    "ae_retry_interval {} has an unknown unit",
                    interval.inspect()
                ))
            })?
        };
        let max = to_i("ae_state_max_retries", &max)?.unwrap_or(0);
        checked_mul(interval, max).map_err(|e| AeError::RangeError(format!("field_timeout: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use crate::error::AeError;
    use crate::value::Value;
    use crate::Workspace;

    #[test]
    fn field_timeout_rules() {
        let mut ws = Workspace::with_root([("ae_state_max_retries", Value::from("100"))]);
        ws.root_set("ae_retry_interval", Value::from("2.seconds"));
        assert_eq!(ws.field_timeout().unwrap(), 200);
        ws.root_set("ae_retry_interval", Value::Nil);
        assert_eq!(ws.field_timeout().unwrap(), 100);
        ws.root_set("ae_retry_interval", Value::from("1.minute"));
        assert_eq!(ws.field_timeout().unwrap(), 6000);
        ws.root_set("ae_state_max_retries", Value::Nil);
        assert_eq!(
            ws.field_timeout().unwrap_err(),
            AeError::RuntimeError("ae_state_max_retries is not set in automate field".into())
        );
    }

    // Issue 10: 2**62 * 100 wrapped to 0; "1.minute" * Infinity gave -60.
    #[test]
    fn field_timeout_overflow_is_a_range_error() {
        let mut ws = Workspace::with_root([("ae_state_max_retries", Value::Integer(100))]);
        ws.root_set("ae_retry_interval", Value::Integer(1 << 62));
        assert_eq!(
            ws.field_timeout().unwrap_err(),
            AeError::RangeError(
                "field_timeout: integer 4611686018427387904 * 100 does not fit in 64 bits".into()
            )
        );
        ws.root_set("ae_retry_interval", Value::from("1.minute"));
        ws.root_set("ae_state_max_retries", Value::Float(f64::INFINITY));
        assert_eq!(
            ws.field_timeout().unwrap_err(),
            AeError::RangeError(
                "ae_state_max_retries: float Infinity out of range of integer".into()
            )
        );
        ws.root_set("ae_state_max_retries", Value::Float(f64::NAN));
        assert!(matches!(ws.field_timeout(), Err(AeError::RangeError(_))));
        ws.root_set(
            "ae_state_max_retries",
            Value::from("99999999999999999999999"),
        );
        assert!(matches!(ws.field_timeout(), Err(AeError::RangeError(_))));
        ws.root_set("ae_state_max_retries", Value::Integer(3));
        ws.root_set(
            "ae_retry_interval",
            Value::from("9999999999999999999.years"),
        );
        assert!(matches!(ws.field_timeout(), Err(AeError::RangeError(_))));
        ws.root_set("ae_retry_interval", Value::Float(2.9));
        assert_eq!(ws.field_timeout(), Ok(6));
    }
}
