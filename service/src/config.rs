//! Settings of one service instance and the simulated faults of `/process`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// How `/process` behaves when a request does not override it: a latency drawn uniformly
/// from `latency_ms ± jitter_ms` (never below zero) and a failure (500) with probability
/// `error_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Mean simulated latency in milliseconds.
    pub latency_ms: u64,
    /// Half-width of the uniform jitter around `latency_ms`, in milliseconds.
    pub jitter_ms: u64,
    /// Probability in `[0, 1]` that a request fails with 500.
    pub error_rate: f64,
}

impl Default for Faults {
    /// The command line's defaults: 20 ms ± 10 ms, no failures.
    fn default() -> Self {
        Self {
            latency_ms: 20,
            jitter_ms: 10,
            error_rate: 0.0,
        }
    }
}

/// Why a [`Faults`] value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultsError {
    /// `error_rate` was not a number between 0 and 1.
    #[error("error_rate must be between 0 and 1, got {0}")]
    ErrorRate(f64),
    /// A latency beyond [`MAX_DELAY_MS`].
    #[error("latency_ms + jitter_ms must be at most {MAX_DELAY_MS}, got {0}")]
    Latency(u64),
}

/// The longest simulated delay, in milliseconds, that `/process` accepts.
pub const MAX_DELAY_MS: u64 = 60_000;

impl Faults {
    /// No simulated latency and no failures.
    pub const NONE: Faults = Faults {
        latency_ms: 0,
        jitter_ms: 0,
        error_rate: 0.0,
    };

    /// Checks that the values make sense: `error_rate` in `[0, 1]`, latency bounded.
    pub fn validate(&self) -> Result<(), FaultsError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(FaultsError::ErrorRate(self.error_rate));
        }
        let max = self.latency_ms.saturating_add(self.jitter_ms);
        if max > MAX_DELAY_MS {
            return Err(FaultsError::Latency(max));
        }
        Ok(())
    }

    /// Draws one simulated delay.
    pub fn sample_delay(&self, rng: &mut impl Rng) -> Duration {
        if self.jitter_ms == 0 {
            return Duration::from_millis(self.latency_ms);
        }
        let low = self.latency_ms.saturating_sub(self.jitter_ms) as f64;
        let high = (self.latency_ms + self.jitter_ms) as f64;
        Duration::from_secs_f64(rng.random_range(low..=high) / 1000.0)
    }

    /// Draws whether one request fails.
    pub fn sample_failure(&self, rng: &mut impl Rng) -> bool {
        self.error_rate > 0.0 && rng.random::<f64>() < self.error_rate
    }
}

/// Everything one service instance needs to start. [`Default`] matches the command line's
/// defaults; set `listen` to port 0 to get a free port (see [`ServiceConfig::ephemeral`]).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Address of the HTTP listener.
    pub listen: SocketAddr,
    /// If set, `/metrics` is served on this separate address instead of `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Initial simulated faults of `/process`.
    pub faults: Faults,
    /// Enables `GET`/`PUT /admin/faults`.
    pub admin: bool,
    /// Requests running longer than this answer 408.
    pub request_timeout: Duration,
    /// Largest accepted request body in bytes (413 beyond).
    pub body_limit: usize,
    /// If set, requests beyond this many in flight answer 503 at once.
    pub max_concurrency: Option<usize>,
    /// Records request metrics. Only benchmarks turn this off, to measure what recording
    /// costs; the timeout, body limit and concurrency bound stay in force.
    pub metrics_layer: bool,
    /// A connection that has not sent a whole request head within this long is closed
    /// (slow or half-open clients cannot hold descriptors).
    pub header_read_timeout: Duration,
    /// Most connections open at once, per listener; beyond, new ones are closed at once
    /// (and a line is logged). `None`: the descriptor limit less a reserve, see
    /// [`default_max_connections`].
    pub max_connections: Option<usize>,
    /// After a shutdown starts, connections still open after this long are closed.
    pub shutdown_timeout: Duration,
}

/// The default connection limit: the soft limit on open descriptors (`RLIMIT_NOFILE`, read
/// from `/proc/self/limits`) less 64 for the listeners, logs and the rest, at least 16 and
/// at most 65,536; 1,024 when the limit cannot be read.
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .and_then(|v| v.parse::<usize>().ok());
    match soft {
        Some(n) => n.saturating_sub(64).clamp(16, 65_536),
        None => 1_024,
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            metrics_listen: None,
            faults: Faults::default(),
            admin: false,
            request_timeout: Duration::from_secs(30),
            body_limit: 64 * 1024,
            max_concurrency: None,
            metrics_layer: true,
            header_read_timeout: Duration::from_secs(10),
            max_connections: None,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

impl ServiceConfig {
    /// The defaults, but listening on a free port of 127.0.0.1 and simulating no latency
    /// or failures: what tests and an embedding program usually want.
    pub fn ephemeral() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            faults: Faults::NONE,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_error_rate_and_latency() {
        let mut f = Faults::NONE;
        assert!(f.validate().is_ok());
        f.error_rate = 1.5;
        assert_eq!(f.validate(), Err(FaultsError::ErrorRate(1.5)));
        f.error_rate = f64::NAN;
        assert!(f.validate().is_err());
        f.error_rate = 1.0;
        f.latency_ms = MAX_DELAY_MS;
        f.jitter_ms = 1;
        assert!(matches!(f.validate(), Err(FaultsError::Latency(_))));
    }

    #[test]
    fn delay_stays_within_jitter() {
        let f = Faults {
            latency_ms: 10,
            jitter_ms: 20,
            error_rate: 0.0,
        };
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let d = f.sample_delay(&mut rng);
            assert!(d <= Duration::from_millis(30), "{d:?}");
        }
        assert_eq!(
            Faults::NONE.sample_delay(&mut rng),
            Duration::ZERO,
            "no jitter, no latency"
        );
    }

    #[test]
    fn failure_rate_extremes() {
        let mut rng = rand::rng();
        let never = Faults::NONE;
        let always = Faults {
            error_rate: 1.0,
            ..Faults::NONE
        };
        assert!((0..1000).all(|_| !never.sample_failure(&mut rng)));
        assert!((0..1000).all(|_| always.sample_failure(&mut rng)));
    }
}
