//! How to reach a ManageIQ: URL, credentials, group, TLS, timeouts, retries, concurrency.

use std::path::PathBuf;
use std::time::Duration;

use rand::RngExt;
use url::Url;

use crate::error::ApiError;
use crate::secret::Secret;

/// How the client authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// User and password: exchanged once for a token (`GET /api/auth`), again on a 401.
    Basic {
        /// The user id.
        user: String,
        /// The password.
        password: Secret,
    },
    /// An existing token (`X-Auth-Token`); a 401 is final.
    Token(Secret),
}

/// Retries with exponential backoff and jitter, bounded in count and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The first delay; each retry doubles it (with jitter between half and all of it).
    pub base_delay: Duration,
    /// The longest single delay.
    pub max_delay: Duration,
    /// No retry starts after this much time since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based), before jitter.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(16));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The pause before retry number `retry`: the backoff with jitter (between half and all
    /// of it, so that many clients do not retry in step), or the server's `Retry-After` when
    /// that is longer.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let jittered = self
            .delay(retry)
            .mul_f64(rand::rng().random_range(0.5..=1.0));
        retry_after.map_or(jittered, |asked| asked.max(jittered))
    }
}

/// Everything the client needs to know.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The appliance URL (`https://miq.example.com`); `/api` is added.
    pub url: Url,
    /// How to authenticate.
    pub credentials: Credentials,
    /// The group (its description) to act as: `X-MIQ-Group`.
    pub group: Option<String>,
    /// Verify the server's certificate (default `true`).
    pub verify_tls: bool,
    /// An extra CA certificate (PEM) to trust.
    pub ca_cert: Option<PathBuf>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read timeout (per response).
    pub read_timeout: Duration,
    /// The User-Agent header.
    pub user_agent: String,
    /// Retries of idempotent calls.
    pub retry: RetryPolicy,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The most HTTP requests this client may send (for servers that rate-limit).
    pub max_requests: Option<u64>,
}

impl ClientConfig {
    /// A configuration with the defaults: TLS verified, 10 s connect and 60 s read timeouts,
    /// 5 attempts, 8 requests in flight, no budget.
    pub fn new(url: &str, credentials: Credentials) -> Result<Self, ApiError> {
        let mut url =
            Url::parse(url).map_err(|e| ApiError::config(format!("invalid URL {url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ApiError::config(format!(
                "invalid URL {}: the scheme must be http or https",
                url.as_str()
            )));
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(ApiError::config(format!(
                "invalid URL {}: no host",
                url.as_str()
            )));
        }
        url.set_query(None);
        url.set_fragment(None);
        Ok(ClientConfig {
            url,
            credentials,
            group: None,
            verify_tls: true,
            ca_cert: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            user_agent: format!("miq-automate/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            concurrency: 8,
            max_requests: None,
        })
    }

    /// The API root, `…/api/`.
    pub fn api_root(&self) -> Url {
        let mut root = self.url.clone();
        let path = root.path().trim_end_matches('/').to_string();
        let path = if path.ends_with("/api") {
            format!("{path}/")
        } else {
            format!("{path}/api/")
        };
        root.set_path(&path);
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic() -> Credentials {
        Credentials::Basic {
            user: "admin".into(),
            password: Secret::new("smartvm"),
        }
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        let c = ClientConfig::new("https://miq.example.com", basic()).unwrap();
        assert_eq!(c.api_root().as_str(), "https://miq.example.com/api/");
        let c = ClientConfig::new("https://miq.example.com/api/?x=1", basic()).unwrap();
        assert_eq!(c.api_root().as_str(), "https://miq.example.com/api/");
        let err = ClientConfig::new("miq.example.com", basic()).unwrap_err();
        assert!(
            err.to_string().contains("invalid URL \"miq.example.com\""),
            "{err}"
        );
        assert!(ClientConfig::new("ftp://x", basic()).is_err());
        assert!(!format!("{:?}", c.credentials).contains("smartvm"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1), Duration::from_millis(200));
        assert_eq!(p.delay(2), Duration::from_millis(400));
        assert_eq!(p.delay(10), Duration::from_secs(5));
    }

    #[test]
    fn backoff_is_jittered_and_honours_retry_after() {
        let p = RetryPolicy::default();
        for _ in 0..100 {
            let d = p.backoff(2, None);
            assert!(d >= Duration::from_millis(200) && d <= Duration::from_millis(400));
        }
        // The server's word wins when it asks for longer, not when it asks for less.
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert!(p.backoff(3, Some(Duration::ZERO)) >= Duration::from_millis(400));
    }
}
