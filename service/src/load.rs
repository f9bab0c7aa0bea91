//! The built-in load generator behind `promdash-service load`.
//!
//! Requests go out on a fixed schedule (request *i* at `start + i / rps`), not "as fast
//! as responses come back", so the asked rate is held whatever the latency; at most
//! `concurrency` requests are outstanding, and a schedule that fell behind catches up in
//! a burst once a slot frees.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::Semaphore;

/// What to send, how fast and for how long.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Full URL requested with GET, e.g. `http://127.0.0.1:8080/process`.
    pub target: String,
    /// Requests per second to hold.
    pub rps: f64,
    /// How long to send; `None` sends until the stop future of [`run_load_until`] completes.
    pub duration: Option<Duration>,
    /// Most requests outstanding at once.
    pub concurrency: usize,
    /// Per-request timeout; a request that times out counts as an error.
    pub timeout: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            target: "http://127.0.0.1:8080/process".to_owned(),
            rps: 50.0,
            duration: Some(Duration::from_secs(10)),
            concurrency: 32,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The outcome of a load run. Its `Display` is the one-line summary the CLI prints.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSummary {
    /// Requests sent.
    pub sent: u64,
    /// Answers with a 2xx status.
    pub ok: u64,
    /// Everything else: non-2xx answers plus `transport_errors`.
    pub errors: u64,
    /// Requests that got no answer (connection refused, timeout, ...); part of `errors`.
    pub transport_errors: u64,
    /// Time spent sending (from the first request to the end of the schedule).
    pub elapsed: Duration,
    /// `sent / elapsed`, in requests per second.
    pub achieved_rps: f64,
    /// Median client-side latency of answered requests, if any were answered.
    pub p50: Option<Duration>,
    /// 95th percentile client-side latency of answered requests.
    pub p95: Option<Duration>,
}

impl fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Option<Duration>| {
            d.map_or_else(
                || "-".to_owned(),
                |d| format!("{:.2}ms", d.as_secs_f64() * 1e3),
            )
        };
        write!(
            f,
            "sent={} ok={} errors={} (transport {}) rate={:.1}/s over {:.2}s p50={} p95={}",
            self.sent,
            self.ok,
            self.errors,
            self.transport_errors,
            self.achieved_rps,
            self.elapsed.as_secs_f64(),
            ms(self.p50),
            ms(self.p95),
        )
    }
}

/// What a load run did in the last interval, as `promdash-service load` prints it once a
/// second on stderr: `3s sent=150 rate=50.0/s errors=0 p95=52.10ms`. `sent` and `errors`
/// count from the start; `rate` and `p95` are those of the interval.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadProgress {
    /// Time since the first request.
    pub elapsed: Duration,
    /// Requests sent so far.
    pub sent: u64,
    /// Requests sent in the interval, per second.
    pub rate: f64,
    /// Errors so far (non-2xx answers and requests without an answer).
    pub errors: u64,
    /// 95th percentile latency of the answers received in the interval.
    pub p95: Option<Duration>,
}

impl fmt::Display for LoadProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p95 = self.p95.map_or_else(
            || "-".to_owned(),
            |d| format!("{:.2}ms", d.as_secs_f64() * 1e3),
        );
        write!(
            f,
            "{:.0}s sent={} rate={:.1}/s errors={} p95={p95}",
            self.elapsed.as_secs_f64(),
            self.sent,
            self.rate,
            self.errors,
        )
    }
}

/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The target is not an absolute http(s) URL.
    #[error("invalid target {0:?}: expected an http:// or https:// URL")]
    Target(String),
    /// `rps` not positive and finite, or `concurrency` zero.
    #[error("invalid load settings: {0}")]
    Settings(String),
    /// The HTTP client could not be built.
    #[error("cannot create the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Runs load as configured and returns when `config.duration` has passed and the last
/// answers are in. With `duration: None` it would never stop: use [`run_load_until`].
pub async fn run_load(config: LoadConfig) -> Result<LoadSummary, LoadError> {
    run_load_until(config, std::future::pending()).await
}

/// Like [`run_load`], but also stops sending as soon as `stop` completes (e.g. a
/// `tokio::sync::watch` or `oneshot` receiver the caller fires on quit). Requests
/// already sent are still awaited (at most `config.timeout`).
pub async fn run_load_until(
    config: LoadConfig,
    stop: impl Future<Output = ()>,
) -> Result<LoadSummary, LoadError> {
    run(config, stop, None).await
}

/// Like [`run_load_until`], and sends a [`LoadProgress`] on `progress` every `every`
/// while it runs (the CLI prints them, once a second).
pub async fn run_load_reporting(
    config: LoadConfig,
    stop: impl Future<Output = ()>,
    every: Duration,
    progress: tokio::sync::mpsc::UnboundedSender<LoadProgress>,
) -> Result<LoadSummary, LoadError> {
    run(config, stop, Some((every, progress))).await
}

async fn run(
    config: LoadConfig,
    stop: impl Future<Output = ()>,
    progress: Option<(Duration, tokio::sync::mpsc::UnboundedSender<LoadProgress>)>,
) -> Result<LoadSummary, LoadError> {
    let url = reqwest::Url::parse(&config.target)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| LoadError::Target(config.target.clone()))?;
    if !(config.rps.is_finite() && config.rps > 0.0) {
        return Err(LoadError::Settings(format!(
            "rps must be a positive number, got {}",
            config.rps
        )));
    }
    let concurrency = u32::try_from(config.concurrency)
        .ok()
        .filter(|c| *c > 0 && *c <= Semaphore::MAX_PERMITS as u32)
        .ok_or_else(|| LoadError::Settings("concurrency must be at least 1".to_owned()))?;
    let client = http_client_builder()
        .timeout(config.timeout)
        .pool_max_idle_per_host(concurrency as usize)
        .build()?;

    let tally = Arc::new(Tally {
        recent: progress.as_ref().map(|_| Mutex::default()),
        ..Tally::default()
    });
    let slots = Arc::new(Semaphore::new(concurrency as usize));
    let interval = Duration::from_secs_f64(1.0 / config.rps);
    let start = Instant::now();
    let deadline = config.duration.map(|d| start + d);
    let mut sent: u64 = 0;
    tokio::pin!(stop);
    let reporter = progress.map(|(every, tx)| {
        let tally = Arc::clone(&tally);
        tokio::spawn(report(tally, start, every, tx))
    });

    loop {
        let due = start + interval.mul_f64(sent as f64);
        if let Some(deadline) = deadline
            && (due >= deadline || Instant::now() >= deadline)
        {
            tokio::select! {
                () = &mut stop => {}
                () = tokio::time::sleep_until(deadline.into()) => {}
            }
            break;
        }
        let permit = tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep_until(due.into()) => {
                tokio::select! {
                    () = &mut stop => break,
                    permit = Arc::clone(&slots).acquire_owned() => permit,
                }
            }
        };
        let Ok(permit) = permit else { break };
        sent += 1;
        tally.sent.store(sent, Ordering::Relaxed);
        let client = client.clone();
        let url = url.clone();
        let tally = Arc::clone(&tally);
        tokio::spawn(async move {
            let began = Instant::now();
            let outcome = match client.get(url).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    // Read the body so the connection can be reused.
                    match resp.bytes().await {
                        Ok(_) => Some(status.is_success()),
                        Err(_) => None,
                    }
                }
                Err(_) => None,
            };
            tally.record(outcome, began.elapsed());
            drop(permit);
        });
    }
    let elapsed = start.elapsed();
    // Every request holds a slot until it is recorded: taking all slots waits for them.
    let _all = slots.acquire_many(concurrency).await;
    if let Some(reporter) = reporter {
        reporter.abort();
    }

    Ok(tally.summary(sent, elapsed))
}

/// Sends what the run did every `every` until the receiver is gone or the task aborted.
async fn report(
    tally: Arc<Tally>,
    start: Instant,
    every: Duration,
    tx: tokio::sync::mpsc::UnboundedSender<LoadProgress>,
) {
    let mut ticks = tokio::time::interval_at((start + every).into(), every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut last_sent, mut last_at) = (0, start);
    loop {
        let at = Instant::from(ticks.tick().await);
        let sent = tally.sent.load(Ordering::Relaxed);
        let mut recent = tally
            .recent
            .as_ref()
            .map(|r| std::mem::take(&mut *r.lock().unwrap_or_else(PoisonError::into_inner)))
            .unwrap_or_default();
        recent.sort_unstable();
        let secs = at.duration_since(last_at).as_secs_f64();
        let line = LoadProgress {
            elapsed: at.duration_since(start),
            sent,
            rate: if secs > 0.0 {
                (sent - last_sent) as f64 / secs
            } else {
                0.0
            },
            errors: tally.errors(),
            p95: percentile(&recent, 0.95),
        };
        if tx.send(line).is_err() {
            return;
        }
        (last_sent, last_at) = (sent, at);
    }
}

/// Most latency samples kept for percentiles; beyond, a uniform reservoir sample.
const MAX_SAMPLES: usize = 200_000;

#[derive(Default)]
struct Tally {
    /// Requests sent so far (for progress reports).
    sent: AtomicU64,
    /// Latencies since the last progress report, when reports are wanted.
    recent: Option<Mutex<Vec<Duration>>>,
    ok: AtomicU64,
    http_errors: AtomicU64,
    transport_errors: AtomicU64,
    latencies: Mutex<Reservoir>,
}

#[derive(Default)]
struct Reservoir {
    seen: u64,
    samples: Vec<Duration>,
}

impl Tally {
    fn record(&self, outcome: Option<bool>, latency: Duration) {
        let counter = match outcome {
            Some(true) => &self.ok,
            Some(false) => &self.http_errors,
            None => &self.transport_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if outcome.is_none() {
            return;
        }
        if let Some(recent) = &self.recent {
            recent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(latency);
        }
        let mut r = self
            .latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        r.seen += 1;
        if r.samples.len() < MAX_SAMPLES {
            r.samples.push(latency);
        } else {
            let slot = rand::rng().random_range(0..r.seen);
            if let Some(s) = usize::try_from(slot)
                .ok()
                .and_then(|i| r.samples.get_mut(i))
            {
                *s = latency;
            }
        }
    }

    fn errors(&self) -> u64 {
        self.http_errors.load(Ordering::Relaxed) + self.transport_errors.load(Ordering::Relaxed)
    }

    fn summary(&self, sent: u64, elapsed: Duration) -> LoadSummary {
        let mut samples = std::mem::take(
            &mut self
                .latencies
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .samples,
        );
        samples.sort_unstable();
        let ok = self.ok.load(Ordering::Relaxed);
        let transport_errors = self.transport_errors.load(Ordering::Relaxed);
        let errors = self.http_errors.load(Ordering::Relaxed) + transport_errors;
        let secs = elapsed.as_secs_f64();
        LoadSummary {
            sent,
            ok,
            errors,
            transport_errors,
            elapsed,
            achieved_rps: if secs > 0.0 { sent as f64 / secs } else { 0.0 },
            p50: percentile(&samples, 0.50),
            p95: percentile(&samples, 0.95),
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// A `reqwest::ClientBuilder` with rustls's `ring` provider installed as the process
/// default (once): reqwest is built without a provider of its own and panics without one.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed: reqwest uses that one.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&v, 0.95), Some(Duration::from_millis(95)));
        assert_eq!(percentile(&v[..1], 0.95), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[tokio::test]
    async fn rejects_bad_settings() {
        let bad_url = LoadConfig {
            target: "ftp://127.0.0.1/".into(),
            ..LoadConfig::default()
        };
        assert!(matches!(run_load(bad_url).await, Err(LoadError::Target(_))));
        let bad_rps = LoadConfig {
            rps: 0.0,
            ..LoadConfig::default()
        };
        assert!(matches!(
            run_load(bad_rps).await,
            Err(LoadError::Settings(_))
        ));
        let bad_conc = LoadConfig {
            concurrency: 0,
            ..LoadConfig::default()
        };
        assert!(matches!(
            run_load(bad_conc).await,
            Err(LoadError::Settings(_))
        ));
    }

    #[tokio::test]
    async fn stop_future_ends_an_open_ended_run() {
        // Nothing listens on port 9 of loopback: every request is a transport error.
        let config = LoadConfig {
            target: "http://127.0.0.1:9/".into(),
            rps: 100.0,
            duration: None,
            concurrency: 4,
            timeout: Duration::from_secs(1),
        };
        // The timer starts when the run first waits on it (after the client is built,
        // which can take longer than 300 ms on a loaded machine).
        let stop = async { tokio::time::sleep(Duration::from_millis(300)).await };
        let summary = run_load_until(config, stop).await.expect("valid settings");
        assert!(summary.sent > 0 && summary.sent <= 40, "{summary}");
        assert_eq!(summary.ok, 0);
        assert_eq!(summary.errors, summary.sent);
    }

    #[test]
    fn progress_line_mentions_every_figure() {
        let p = LoadProgress {
            elapsed: Duration::from_millis(3_002),
            sent: 150,
            rate: 50.0,
            errors: 2,
            p95: Some(Duration::from_micros(52_100)),
        };
        assert_eq!(
            p.to_string(),
            "3s sent=150 rate=50.0/s errors=2 p95=52.10ms"
        );
    }

    /// Against a real service on loopback: the reports come in order, each counts what
    /// was sent so far, and the last agrees with the summary.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reports_progress_while_running() {
        let service = crate::spawn(crate::ServiceConfig {
            faults: crate::Faults {
                latency_ms: 1,
                jitter_ms: 0,
                error_rate: 0.5,
            },
            ..crate::ServiceConfig::ephemeral()
        })
        .await
        .expect("service starts");
        let config = LoadConfig {
            target: format!("{}/process", service.url()),
            rps: 200.0,
            duration: Some(Duration::from_millis(3_500)),
            concurrency: 8,
            timeout: Duration::from_secs(5),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let summary =
            run_load_reporting(config, std::future::pending(), Duration::from_secs(1), tx)
                .await
                .expect("valid settings");
        let mut reports = Vec::new();
        while let Ok(p) = rx.try_recv() {
            reports.push(p);
        }
        assert!(!reports.is_empty(), "no report in 3.5 s");
        for pair in reports.windows(2) {
            assert!(pair[0].elapsed < pair[1].elapsed && pair[0].sent <= pair[1].sent);
        }
        for p in &reports {
            assert!(p.sent > 0 && p.sent <= summary.sent, "{p} / {summary}");
            assert!(p.rate > 0.0 && p.errors <= p.sent, "{p}");
            assert!(p.p95.is_some(), "answers arrived: {p}");
        }
        let last = reports.last().expect("a report");
        assert!(last.errors > 0, "half the requests fail: {last}");
        assert!(summary.errors >= last.errors);
    }

    #[test]
    fn summary_line_mentions_every_figure() {
        let s = LoadSummary {
            sent: 10,
            ok: 9,
            errors: 1,
            transport_errors: 0,
            elapsed: Duration::from_secs(1),
            achieved_rps: 10.0,
            p50: Some(Duration::from_millis(2)),
            p95: None,
        };
        assert_eq!(
            s.to_string(),
            "sent=10 ok=9 errors=1 (transport 0) rate=10.0/s over 1.00s p50=2.00ms p95=-"
        );
    }
}
