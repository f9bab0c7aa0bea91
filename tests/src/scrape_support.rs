//! Helpers for the scrape tests: the embedded engine's answers in the shape of the
//! harness's Prometheus answers, and a side-by-side diff of two answers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use std::sync::{Arc, RwLock};

use anyhow::bail;
use promdash_engine::{
    Compat, EmbeddedSource, Engine, EngineOptions, Health, ScrapeJob, Scraper, Store,
};
use promdash_queries::model::QueryData;

use crate::query::QuerySample;

/// A label set as a sorted map (what both sides are compared on).
pub type LabelMap = BTreeMap<String, String>;

/// The embedded scraper running `jobs` into a new store, and the engine (Prometheus 2
/// semantics) over that store; returns once every target is up, or fails naming `what`
/// after `timeout`.
pub async fn scrape_embedded(
    jobs: Vec<ScrapeJob>,
    what: &str,
    timeout: Duration,
) -> anyhow::Result<(Scraper, EmbeddedSource)> {
    let store = Arc::new(RwLock::new(Store::default()));
    let scraper = Scraper::start(store.clone(), jobs);
    let engine = EmbeddedSource::new(
        store,
        Engine::new(EngineOptions {
            compat: Compat::V2,
            ..EngineOptions::default()
        }),
    );
    poll_until(what, timeout, || {
        let up = scraper.targets().iter().all(|t| t.health == Health::Up);
        async move { Ok(up) }
    })
    .await?;
    Ok((scraper, engine))
}

/// Instant query on the embedded engine at `time` (Unix seconds; now when `None`).
pub fn engine_query(
    source: &EmbeddedSource,
    expr: &str,
    time: Option<f64>,
) -> anyhow::Result<Vec<QuerySample>> {
    let r = source
        .query_instant(expr, time)
        .map_err(|e| anyhow::anyhow!("engine: {expr}: {e}"))?;
    Ok(match r.data {
        QueryData::Vector(v) => v
            .into_iter()
            .map(|s| QuerySample {
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                value: s.sample.v,
            })
            .collect(),
        QueryData::Scalar(s) => vec![QuerySample {
            labels: BTreeMap::new(),
            value: s.v,
        }],
        other => bail!("engine: {expr}: unexpected answer {other:?}"),
    })
}

/// Samples keyed by label set (later duplicates win; PromQL answers have none).
pub fn by_labels(samples: &[QuerySample]) -> BTreeMap<LabelMap, f64> {
    samples
        .iter()
        .map(|s| (s.labels.clone(), s.value))
        .collect()
}

/// One line per label set present on either side, marking differences: for assertion
/// messages.
pub fn side_by_side(left: &str, a: &[QuerySample], right: &str, b: &[QuerySample]) -> String {
    let (a, b) = (by_labels(a), by_labels(b));
    let mut keys: Vec<&LabelMap> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = format!("{:<6} {left:>16} {right:>16}  labels\n", "");
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        let same = match (x, y) {
            (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
            _ => false,
        };
        let show = |v: Option<&f64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        out.push_str(&format!(
            "{:<6} {:>16} {:>16}  {k:?}\n",
            if same { "" } else { "DIFF" },
            show(x),
            show(y)
        ));
    }
    out
}

/// Polls `f` every 100 ms until it returns `Ok(true)` or `timeout` passes; the error
/// carries `what` and the last `Err`/state described by `describe`.
pub async fn poll_until<F, Fut>(what: &str, timeout: Duration, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        match f().await {
            Ok(true) => return Ok(()),
            Ok(false) => last.clear(),
            Err(e) => last = format!("{e:#}"),
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within {timeout:?} {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A page to serve: its `Content-Type` and body.
#[derive(Debug, Clone)]
pub struct ServedPage {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A minimal HTTP/1.1 server on 127.0.0.1 serving `GET /p/{i}` from a list of pages
/// that the test can swap while it runs (one response per connection); anything else
/// is 404. Stops when dropped.
pub struct PageServer {
    addr: std::net::SocketAddr,
    pages: std::sync::Arc<std::sync::Mutex<Vec<ServedPage>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PageServer {
    pub async fn start(pages: Vec<ServedPage>) -> anyhow::Result<Self> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let pages = std::sync::Arc::new(std::sync::Mutex::new(pages));
        let shared = pages.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let pages = shared.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head);
                    let path = line.split_whitespace().nth(1).unwrap_or("");
                    let page = path
                        .strip_prefix("/p/")
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| {
                            pages
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .get(i)
                                .cloned()
                        });
                    let (status, ct, body) = match page {
                        Some(p) => ("200 OK", p.content_type, p.body),
                        None => (
                            "404 Not Found",
                            "text/plain".into(),
                            b"not found\n".to_vec(),
                        ),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(&body).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Ok(PageServer { addr, pages, task })
    }

    /// `http://127.0.0.1:PORT/p/{i}`.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}/p/{i}", self.addr)
    }

    /// Replaces the pages.
    pub fn set(&self, pages: Vec<ServedPage>) {
        *self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = pages;
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
