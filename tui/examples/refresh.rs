//! How long one refresh round takes against a real Prometheus, and how many requests it
//! sends (issue 7: "with 20 panels, a round's wall time is at most 1.25× its slowest
//! single query; requests per refresh = distinct expressions").
//!
//! ```sh
//! cargo run --release -p promdash --example refresh -- http://127.0.0.1:9090 [ROUNDS]
//! ```
//!
//! Prometheus should be scraping promdash-service (the queries are the reference
//! service's). Each round starts from a fresh dashboard state (so every request is sent,
//! none skipped as still in flight or unchanged), goes through the dashboard's own
//! fetcher on a current-thread runtime as `promdash` runs, and is timed from the first
//! request sent to the last answer applied. The requests counted by Prometheus itself
//! (`prometheus_http_requests_total` for the query handlers, read from its `/metrics`)
//! are compared with the requests the round sent. Afterwards every distinct request is
//! sent alone, one after the other, for the sequential baseline.
//!
//! With a third argument `DELAY_MS`, requests go through a proxy in this process that
//! holds each request for that long before passing it on: a Prometheus across a network
//! rather than on loopback, where the time of a round is mostly waiting.
//!
//! ```sh
//! cargo run --release -p promdash --example refresh -- http://127.0.0.1:9090 15 20
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promdash::app::{Effect, FetchKey, FetchRequest, Msg, Options, State, update};
use promdash::fetch::Fetcher;
use promdash_queries::client::{ClientConfig, PromClient};
use promdash_queries::dashboard::parse_dashboard;
use promdash_queries::source::MetricsSource;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A proxy on a free loopback port to `upstream` (`host:port`) that holds every chunk the
/// client sends for `delay` before forwarding it; returns its URL.
async fn delay_proxy(upstream: String, delay: Duration) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(delay).await;
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::join!(up, down);
            });
        }
    });
    Ok(format!("http://{addr}"))
}

/// Twenty panels over the reference service's metrics; four expressions appear twice
/// (in panels of different kinds or widths), so 16 distinct expressions.
fn dashboard_toml() -> String {
    let q = |quantile: &str, window: &str| {
        format!(
            "histogram_quantile({quantile}, sum by (le) (rate(app_request_latency_seconds_bucket[{window}])))"
        )
    };
    let panels: Vec<(&str, String, u8)> = vec![
        ("stat", "sum(app_request_count_total)".into(), 3),
        ("stat", "sum(rate(app_request_count_total[1m]))".into(), 3),
        ("stat", "sum(rate(app_error_count_total[1m]))".into(), 3),
        ("gauge", "sum(app_in_flight_requests)".into(), 3),
        ("graph", "sum by (route) (rate(app_request_count_total[1m]))".into(), 6),
        ("graph", "sum by (status) (rate(app_request_count_total[1m]))".into(), 6),
        ("graph", q("0.5", "1m"), 6),
        ("graph", q("0.95", "1m"), 6),
        ("graph", q("0.99", "1m"), 6),
        ("graph", q("0.95", "5m"), 6),
        ("graph", "sum by (route, status) (rate(app_request_count_total[5m]))".into(), 6),
        ("graph", "sum(rate(app_request_latency_seconds_sum[1m])) / sum(rate(app_request_latency_seconds_count[1m]))".into(), 6),
        ("graph", "rate(process_cpu_seconds_total[1m])".into(), 4),
        ("graph", "process_resident_memory_bytes".into(), 4),
        ("graph", "sum(rate(app_request_latency_seconds_bucket{le=\"0.05\"}[1m])) / sum(rate(app_request_latency_seconds_count[1m]))".into(), 4),
        ("table", "sum by (route, status) (rate(app_request_count_total[1m]))".into(), 6),
        // The same expressions again, elsewhere on the dashboard.
        ("graph", "sum(rate(app_request_count_total[1m]))".into(), 12),
        ("graph", q("0.95", "1m"), 12),
        ("stat", "process_resident_memory_bytes".into(), 3),
        ("table", "sum by (route) (rate(app_request_count_total[1m]))".into(), 9),
    ];
    let mut toml = String::from("title = \"Twenty panels\"\nrefresh = \"5s\"\nrange = \"1h\"\n");
    for (i, (kind, expr, width)) in panels.iter().enumerate() {
        toml.push_str(&format!(
            "[[panels]]\ntitle = \"p{i}\"\nkind = \"{kind}\"\nquery = '{expr}'\nwidth = {width}\n"
        ));
    }
    toml
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Query requests Prometheus has served so far, from its own `/metrics`.
async fn served(http: &reqwest::Client, url: &str) -> anyhow::Result<f64> {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with("prometheus_http_requests_total{"))
        .filter(|l| {
            l.contains("handler=\"/api/v1/query\"") || l.contains("handler=\"/api/v1/query_range\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

struct RoundResult {
    wall: Duration,
    slowest: Duration,
    sent: usize,
    counted: f64,
}

async fn round(
    toml: &str,
    client: &Arc<PromClient>,
    http: &reqwest::Client,
    url: &str,
) -> anyhow::Result<(RoundResult, Vec<FetchRequest>)> {
    let dashboard = parse_dashboard(toml, "twenty.toml")?;
    let mut state = State::new(
        dashboard,
        Options {
            url: url.to_owned(),
            refresh: Duration::from_secs(5),
            range: Duration::from_secs(3600),
            bell: false,
            demo: false,
            utc_offset: 0,
        },
    );
    update(&mut state, Msg::Resize(240, 70));
    let before = served(http, url).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let fetcher = Fetcher::new(Arc::clone(client), tx);
    let started = Instant::now();
    let reqs: Vec<FetchRequest> = update(&mut state, Msg::Tick(now()))
        .into_iter()
        .filter_map(|e| match e {
            Effect::Fetch(r) => Some(r),
            _ => None,
        })
        .collect();
    for r in &reqs {
        fetcher.spawn(r.clone());
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..reqs.len() {
        let Some(msg) = rx.recv().await else {
            anyhow::bail!("the fetcher stopped");
        };
        if let Msg::Fetched(f) = &msg {
            if let Err(e) = &f.result {
                anyhow::bail!("{}: {e}", f.key.expr());
            }
            slowest = slowest.max(f.elapsed);
        }
        update(&mut state, msg);
    }
    let wall = started.elapsed();
    let counted = served(http, url).await? - before;
    Ok((
        RoundResult {
            wall,
            slowest,
            sent: reqs.len(),
            counted,
        },
        reqs,
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn run(url: String, rounds: usize, delay_ms: u64) -> anyhow::Result<()> {
    let toml = dashboard_toml();
    let query_url = if delay_ms > 0 {
        let host = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let proxied = delay_proxy(host, Duration::from_millis(delay_ms)).await?;
        println!("requests held {delay_ms} ms each by a proxy ({proxied} -> {url})");
        proxied
    } else {
        url.clone()
    };
    let client = Arc::new(PromClient::new(ClientConfig::new(query_url))?);
    let http = promdash_queries::tls::http_client_builder().build()?;
    let dashboard = parse_dashboard(&toml, "twenty.toml")?;
    let distinct: HashSet<&str> = dashboard
        .panels
        .iter()
        .flat_map(|p| p.queries.iter().map(|q| q.expr.as_str()))
        .collect();
    // Warm up the connection pool and Prometheus.
    let (_, reqs) = round(&toml, &client, &http, &url).await?;
    let kinds: HashSet<(bool, &str)> = reqs
        .iter()
        .map(|r| (matches!(r.key, FetchKey::Range { .. }), r.key.expr()))
        .collect();
    println!(
        "{} panels, {} distinct expressions, {} distinct (expression, range|instant) pairs, {} requests per round",
        dashboard.panels.len(),
        distinct.len(),
        kinds.len(),
        reqs.len()
    );
    let mut ratios = Vec::new();
    let mut walls = Vec::new();
    let mut slowests = Vec::new();
    for i in 0..rounds {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (r, _) = round(&toml, &client, &http, &url).await?;
        let ratio = r.wall.as_secs_f64() / r.slowest.as_secs_f64();
        println!(
            "round {i:2}: wall {:7.2} ms, slowest query {:7.2} ms, ratio {ratio:.2}, sent {}, counted by Prometheus {}",
            r.wall.as_secs_f64() * 1e3,
            r.slowest.as_secs_f64() * 1e3,
            r.sent,
            r.counted
        );
        ratios.push(ratio);
        walls.push(r.wall.as_secs_f64() * 1e3);
        slowests.push(r.slowest.as_secs_f64() * 1e3);
    }
    // The sequential baseline: each request alone.
    let mut alone = Vec::new();
    for r in &reqs {
        let t = Instant::now();
        match (&r.key, r.window) {
            (FetchKey::Range { expr, .. }, Some(w)) => client.range(expr, w).await.map(|_| ())?,
            (key, _) => client.instant(key.expr(), None).await.map(|_| ())?,
        }
        alone.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let sum: f64 = alone.iter().sum();
    let max = alone.iter().copied().fold(0.0, f64::max);
    let wall = median(walls);
    println!(
        "median of {rounds} rounds: wall {wall:.2} ms, slowest query in the round {:.2} ms, ratio {:.2} (target <= 1.25)",
        median(slowests),
        median(ratios)
    );
    println!(
        "each request alone, one after the other: slowest {max:.2} ms, sum {sum:.2} ms (what a sequential round would take)"
    );
    println!(
        "round wall / slowest request alone = {:.2}; round wall / sequential sum = {:.2}",
        wall / max,
        wall / sum
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:9090".to_owned());
    let rounds = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    let delay_ms = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    // As the dashboard runs: one thread.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(url, rounds.max(1), delay_ms))
}
