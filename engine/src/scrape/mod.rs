//! The scraper: fetches targets' `/metrics` pages on a schedule and appends their samples
//! to a shared [`Store`], with Prometheus's semantics (`scrape/scrape.go`,
//! `scrape/target.go`).
//!
//! - Targets come from URLs ([`target_url`]: a bare `host:port` means
//!   `http://host:port/metrics`); each gets the labels `job` and `instance` plus its job's
//!   own ([`target::target_labels`]).
//! - Each target is scraped every `interval` at a fixed phase derived from a hash of the
//!   target ([`target::first_scrape_ms`]); a sample's timestamp is the scheduled start of
//!   its scrape (the actual start when that is more than 2 ms away, as Prometheus aligns).
//! - The request is Prometheus's: its `Accept` header, `Accept-Encoding: gzip`,
//!   `X-Prometheus-Scrape-Timeout-Seconds`; a status other than 200, a timeout, a body
//!   over the size limit, a malformed page (the error names line:col) or more samples
//!   than `sample_limit` fail the scrape: `up` is 0, the error is kept for the targets
//!   view, and nothing already stored is lost.
//! - Staleness, the synthetic series and label conflicts: see [`state`].
//! - [`Scraper::stop`] and [`Scraper::remove`] write stale markers for every series of
//!   the targets they end, so a recording or a dashboard does not show their last values
//!   for another five minutes.
//! - Retention: the store drops old chunks as samples come in, and a background task
//!   enforces it every 30 s.
//!
//! HTTP clients are the caller's (built with `promdash_queries::tls::http_client_builder`,
//! with whatever TLS the job needs); its `Authorization` comes in [`ScrapeJob::headers`].

pub mod fetch;
pub mod state;
pub mod target;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::exposition::ParseError;
use crate::store::Store;
use crate::value::Labels;
use state::{LoopState, Outcome};
pub use target::target_url;

/// The default scrape interval (`--scrape-interval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// One scrape job: targets sharing a name, a schedule, labels, limits and an HTTP client.
#[derive(Debug, Clone)]
pub struct ScrapeJob {
    /// The `job` label.
    pub job: String,
    /// Target URLs (see [`target_url`]).
    pub targets: Vec<String>,
    pub interval: Duration,
    /// At most the interval.
    pub timeout: Duration,
    /// Labels added to every sample of the job's targets.
    pub labels: BTreeMap<String, String>,
    /// Keep the page's `job`, `instance`, … over the target's.
    pub honor_labels: bool,
    /// More samples than this in a page fail the scrape; 0 = no limit.
    pub sample_limit: usize,
    /// A larger body (after decompression) fails the scrape; 0 = no limit.
    pub body_limit: usize,
    /// Built by the caller with the job's TLS.
    pub client: reqwest::Client,
    /// Sent with every scrape request: the job's `Authorization` (marked sensitive).
    pub headers: reqwest::header::HeaderMap,
}

impl ScrapeJob {
    /// A job with the defaults: 5 s interval, timeout equal to the interval, no extra
    /// labels, no sample limit, a 64 MiB body limit.
    pub fn new(job: impl Into<String>, targets: Vec<String>, client: reqwest::Client) -> Self {
        ScrapeJob {
            job: job.into(),
            targets,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_INTERVAL,
            labels: BTreeMap::new(),
            honor_labels: false,
            sample_limit: 0,
            body_limit: 64 << 20,
            client,
            headers: reqwest::header::HeaderMap::new(),
        }
    }
}

/// Why a target could not be used or a scrape failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrapeError {
    #[error("invalid scrape target {target:?}: {reason}")]
    InvalidTarget { target: String, reason: String },
    #[error("{0}")]
    Request(String),
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("scrape timed out after {}", humantime_secs(*.0))]
    Timeout(Duration),
    #[error("body size limit exceeded: the page is larger than {0} bytes")]
    BodyLimit(usize),
    #[error("malformed page at line {}, column {}: {}", .0.line, .0.col, .0.message)]
    Parse(ParseError),
    #[error("sample limit exceeded: {got} samples, the limit is {limit}")]
    SampleLimit { limit: usize, got: usize },
}

fn humantime_secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// A target's health, as Prometheus's /targets page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not scraped yet.
    Unknown,
    Up,
    Down,
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Health::Unknown => "UNKNOWN",
            Health::Up => "UP",
            Health::Down => "DOWN",
        })
    }
}

/// One target as the targets view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStatus {
    pub job: String,
    pub url: String,
    /// The labels its samples get (`job`, `instance`, the job's own).
    pub labels: Labels,
    pub health: Health,
    /// When the last scrape started (its samples' timestamp).
    pub last_scrape: Option<SystemTime>,
    /// Fetch, parse and append of the last scrape.
    pub last_duration: Option<Duration>,
    /// Samples in the last page (0 when it failed before parsing).
    pub samples: usize,
    /// The error of the last scrape; `None` when it succeeded.
    pub last_error: Option<String>,
    pub interval: Duration,
    pub timeout: Duration,
}

struct Loop {
    status: Arc<Mutex<TargetStatus>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<LoopState>,
}

/// Scrapes targets into a store until stopped.
pub struct Scraper {
    store: Arc<RwLock<Store>>,
    loops: Vec<Loop>,
    retention: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Scraper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scraper")
            .field("targets", &self.loops.len())
            .finish()
    }
}

impl Scraper {
    /// Starts one scrape loop per target of `jobs` (invalid target URLs are reported as
    /// targets that are down with the reason). Must be called inside a tokio runtime.
    pub fn start(store: Arc<RwLock<Store>>, jobs: Vec<ScrapeJob>) -> Scraper {
        let mut loops = Vec::new();
        for job in jobs {
            for arg in &job.targets {
                loops.push(spawn_loop(&store, &job, arg));
            }
        }
        let retention = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(30));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    store
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .enforce_retention();
                }
            })
        };
        Scraper {
            store,
            loops,
            retention: Some(retention),
        }
    }

    /// The store the samples go to.
    pub fn store(&self) -> &Arc<RwLock<Store>> {
        &self.store
    }

    /// Every target, in the order the jobs gave them.
    pub fn targets(&self) -> Vec<TargetStatus> {
        self.loops
            .iter()
            .map(|l| {
                l.status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .collect()
    }

    /// Stops the target `url` of `job` and marks its series stale. Whether it was there.
    pub async fn remove(&mut self, job: &str, url: &str) -> bool {
        let Some(i) = self.loops.iter().position(|l| {
            let s = l.status.lock().unwrap_or_else(PoisonError::into_inner);
            s.job == job && s.url == url
        }) else {
            return false;
        };
        let l = self.loops.remove(i);
        end_loop(&self.store, l).await;
        true
    }

    /// Stops every scrape (an in-flight one is abandoned) and marks every series of every
    /// target stale, so the store (or a recording of it) ends where the scraping ended.
    pub async fn stop(mut self) {
        if let Some(r) = self.retention.take() {
            r.abort();
        }
        for l in std::mem::take(&mut self.loops) {
            end_loop(&self.store, l).await;
        }
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        if let Some(r) = self.retention.take() {
            r.abort();
        }
        for l in &self.loops {
            l.task.abort();
        }
    }
}

async fn end_loop(store: &Arc<RwLock<Store>>, mut l: Loop) {
    if let Some(stop) = l.stop.take() {
        let _ = stop.send(());
    }
    if let Ok(mut state) = (&mut l.task).await {
        let t = now_ms().max(state.last_t().map_or(i64::MIN, |t| t + 1));
        let mut store = store.write().unwrap_or_else(PoisonError::into_inner);
        state.end(&mut store, t);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn spawn_loop(store: &Arc<RwLock<Store>>, job: &ScrapeJob, arg: &str) -> Loop {
    let interval = job.interval.max(Duration::from_millis(1));
    let timeout = job.timeout.min(interval).max(Duration::from_millis(1));
    let (url, invalid) = match target_url(arg) {
        Ok(u) => (u, None),
        Err(e) => (arg.to_owned(), Some(e.to_string())),
    };
    let labels = target::target_labels(&job.job, &url, &job.labels);
    let status = Arc::new(Mutex::new(TargetStatus {
        job: job.job.clone(),
        url: url.clone(),
        labels: labels.clone(),
        health: if invalid.is_some() {
            Health::Down
        } else {
            Health::Unknown
        },
        last_scrape: None,
        last_duration: None,
        samples: 0,
        last_error: invalid.clone(),
        interval,
        timeout,
    }));
    let (stop_tx, stop_rx) = oneshot::channel();
    let state = LoopState::new(labels.clone(), job.honor_labels, job.sample_limit);
    let task = if invalid.is_some() {
        tokio::spawn(async move { state })
    } else {
        let params = LoopParams {
            store: store.clone(),
            client: job.client.clone(),
            headers: job.headers.clone(),
            hash: target::target_hash(&labels, &url),
            url,
            interval,
            timeout,
            body_limit: job.body_limit,
            status: status.clone(),
        };
        tokio::spawn(run_loop(params, state, stop_rx))
    };
    Loop {
        status,
        stop: Some(stop_tx),
        task,
    }
}

struct LoopParams {
    store: Arc<RwLock<Store>>,
    client: reqwest::Client,
    headers: reqwest::header::HeaderMap,
    url: String,
    hash: u64,
    interval: Duration,
    timeout: Duration,
    body_limit: usize,
    status: Arc<Mutex<TargetStatus>>,
}

/// One target's loop: sleep to the next scheduled time, scrape, store; until stopped.
async fn run_loop(
    p: LoopParams,
    mut state: LoopState,
    mut stop: oneshot::Receiver<()>,
) -> LoopState {
    let interval_ms = p.interval.as_millis() as i64;
    let now = now_ms();
    let mut next_wall = target::first_scrape_ms(p.hash, p.interval, now);
    let mut next = Instant::now() + Duration::from_millis((next_wall - now).max(0) as u64);
    loop {
        tokio::select! {
            _ = &mut stop => return state,
            _ = tokio::time::sleep_until(next) => {}
        }
        let start = std::time::Instant::now();
        let actual = now_ms();
        if (actual - next_wall).abs() > interval_ms {
            // The wall clock jumped: keep the phase, from the new time.
            next_wall = target::first_scrape_ms(p.hash, p.interval, actual) - interval_ms;
        }
        // The scheduled time, unless the scrape starts more than 2 ms late (Prometheus's
        // ScrapeTimestampTolerance); a wall clock a little behind the timer still gets
        // the scheduled time.
        let mut t = if actual - next_wall <= 2 {
            next_wall
        } else {
            actual
        };
        if let Some(last) = state.last_t() {
            t = t.max(last + 1);
        }
        let fetched = tokio::select! {
            _ = &mut stop => return state,
            r = fetch::fetch_with(&p.client, &p.url, &p.headers, p.timeout, p.body_limit) => r,
        };
        let result = fetched.and_then(|body| {
            state
                .parse(&body.bytes, body.format)
                .map(|parsed| (parsed, body.format))
        });
        let outcome = {
            let mut store = p.store.write().unwrap_or_else(PoisonError::into_inner);
            let result = result.map(|(parsed, format)| {
                crate::record::remember_metadata(&mut store, &parsed.metadata, format);
                parsed
            });
            state.apply(&mut store, t, result, start)
        };
        record(&p.status, t, &outcome);
        next_wall += interval_ms;
        next += p.interval;
        // Scrapes that could not start in time are skipped, as a Go ticker drops ticks.
        let now = Instant::now();
        while next <= now {
            next_wall += interval_ms;
            next += p.interval;
        }
    }
}

fn record(status: &Mutex<TargetStatus>, t: i64, o: &Outcome) {
    let mut s = status.lock().unwrap_or_else(PoisonError::into_inner);
    s.health = if o.up { Health::Up } else { Health::Down };
    s.last_scrape = Some(UNIX_EPOCH + Duration::from_millis(t.max(0) as u64));
    s.last_duration = Some(Duration::from_secs_f64(o.duration_secs));
    s.samples = o.samples_scraped;
    s.last_error = o.error.clone();
}
