//! Query speed of the embedded engine side by side with Debian's Prometheus 2.42 on the
//! same data (issue 11, "Speed and memory"; target: engine ≤ 0.5× Prometheus).
//!
//! ```sh
//! cargo run --release -p promdash-tests --example engine_vs_prometheus [-- 1s]
//! ```
//!
//! Writes a deterministic OpenMetrics file (960 series shaped like the reference service:
//! 200 request counters by method/route/status, 40 error counters, 100 latency histograms of
//! 5 buckets plus `_sum` and `_count`, 20 in-flight gauges) of 6 h at 15 s (or, with `1s`,
//! 1 h at 1 s) to a temp directory, backfills it into Prometheus with `promtool tsdb
//! create-blocks-from openmetrics` and loads the same file into an engine `Store`. Each query
//! is then a range query over the whole span at 200 steps: Prometheus's time is its own
//! `execTotalTime` from `stats=all`, the engine's the wall time of `Engine::range`
//! (`Compat::V2`) in this process. Each run asks Prometheus once and then the engine once,
//! so that both see the same load on a shared machine; the table gives the median and the
//! fastest of `RUNS` runs (default 15, `RUNS=N` to change) after one warm-up of each.
//!
//! `ENGINE_ONLY=N` skips Prometheus and evaluates each query N times on the engine alone
//! (for a profiler: `perf record` or `valgrind --tool=callgrind` around the example).
//! `ENGINE_QUERY=TEXT` runs only the queries whose text contains TEXT (with or without
//! Prometheus).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use promdash_engine::exposition::{load_openmetrics, write_openmetrics_sample};
use promdash_engine::store::{Store, StoreConfig};
use promdash_engine::value::{Labels, Value};
use promdash_engine::{Compat, Engine, EngineOptions};
use promdash_tests::{Prometheus, median};

/// Start of the data (ms): 2023-11-14T22:13:20Z.
const START: i64 = 1_700_000_000_000;
const RUNS: usize = 15;
const POINTS: i64 = 200;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [&str; 5] = ["200", "201", "404", "500", "503"];
const BUCKETS: [(&str, f64); 5] = [
    ("0.025", 0.025),
    ("0.1", 0.1),
    ("0.5", 0.5),
    ("2.5", 2.5),
    ("+Inf", f64::INFINITY),
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One family of the file: its name, type and series (labels with `__name__`, values).
struct Family {
    name: &'static str,
    kind: &'static str,
    series: Vec<(Labels, Vec<f64>)>,
}

fn labels(name: &str, pairs: &[(&str, String)]) -> Labels {
    std::iter::once(("__name__", name.to_string()))
        .chain(pairs.iter().map(|(n, v)| (*n, v.clone())))
        .collect()
}

/// The OpenMetrics file: `points` scrapes every `interval_ms` from [`START`].
fn openmetrics(points: usize, interval_ms: i64) -> (String, usize) {
    let mut rng = Rng(0x0b5e_55ed_5eed_1234);
    let mut requests = Family {
        name: "app_request_count",
        kind: "counter",
        series: Vec::new(),
    };
    for (m, method) in METHODS.iter().enumerate() {
        for route in 0..10 {
            for (s, status) in STATUSES.iter().enumerate() {
                let l = labels(
                    "app_request_count_total",
                    &[
                        ("method", method.to_string()),
                        ("route", format!("/api/v1/r{route}")),
                        ("status", status.to_string()),
                    ],
                );
                // Busy 2xx series, quiet errors; each method its own rate.
                let max = if s < 2 { 40 - 6 * m as u64 } else { 3 };
                let mut v = 0.0;
                let values = (0..points)
                    .map(|_| {
                        v += rng.below(max) as f64;
                        v
                    })
                    .collect();
                requests.series.push((l, values));
            }
        }
    }
    let mut errors = Family {
        name: "app_error_count",
        kind: "counter",
        series: Vec::new(),
    };
    for method in METHODS {
        for route in 0..10 {
            let l = labels(
                "app_error_count_total",
                &[
                    ("method", method.to_string()),
                    ("route", format!("/api/v1/r{route}")),
                ],
            );
            let mut v = 0.0;
            let values = (0..points)
                .map(|_| {
                    if rng.below(4) == 0 {
                        v += 1.0;
                    }
                    v
                })
                .collect();
            errors.series.push((l, values));
        }
    }
    let mut latency = Family {
        name: "app_request_latency_seconds",
        kind: "histogram",
        series: Vec::new(),
    };
    for route in 0..10 {
        for instance in 0..10 {
            let base = [
                ("route", format!("/api/v1/r{route}")),
                ("instance", format!("app-{instance}:8080")),
            ];
            let mut buckets = vec![vec![0.0; points]; BUCKETS.len()];
            let mut sum = vec![0.0; points];
            let (mut counts, mut total) = ([0.0f64; BUCKETS.len()], 0.0);
            for p in 0..points {
                for _ in 0..rng.below(20) {
                    // Mostly fast, a slow tail that grows with the route number.
                    let x = rng.unit();
                    let latency = 0.005 + x * x * x * (0.5 + route as f64 * 0.3);
                    total += latency;
                    for (i, (_, le)) in BUCKETS.iter().enumerate() {
                        if latency <= *le {
                            counts[i] += 1.0;
                        }
                    }
                }
                for i in 0..BUCKETS.len() {
                    buckets[i][p] = counts[i];
                }
                sum[p] = total;
            }
            for ((le, _), values) in BUCKETS.iter().zip(buckets.iter()) {
                let mut pairs = base.to_vec();
                pairs.push(("le", le.to_string()));
                latency.series.push((
                    labels("app_request_latency_seconds_bucket", &pairs),
                    values.clone(),
                ));
            }
            let count = buckets[BUCKETS.len() - 1].clone();
            latency
                .series
                .push((labels("app_request_latency_seconds_sum", &base), sum));
            latency
                .series
                .push((labels("app_request_latency_seconds_count", &base), count));
        }
    }
    let mut in_flight = Family {
        name: "app_in_flight_requests",
        kind: "gauge",
        series: Vec::new(),
    };
    for instance in 0..20 {
        let l = labels(
            "app_in_flight_requests",
            &[("instance", format!("app-{instance}:8080"))],
        );
        let values = (0..points).map(|_| rng.below(12) as f64).collect();
        in_flight.series.push((l, values));
    }

    let mut out = String::new();
    let mut series = 0;
    for family in [requests, errors, latency, in_flight] {
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        for (l, values) in &family.series {
            series += 1;
            for (p, v) in values.iter().enumerate() {
                write_openmetrics_sample(&mut out, l, START + p as i64 * interval_ms, *v);
            }
        }
    }
    out.push_str("# EOF\n");
    (out, series)
}

/// The queries: the built-in dashboard's (dashboards/service.toml; `[1m]` and `[30s]` as
/// written there) and heavy ones over all series.
const QUERIES: [&str; 11] = [
    "sum(app_request_count_total)",
    "sum(rate(app_request_count_total[1m]))",
    "(sum(rate(app_error_count_total[1m])) or vector(0)) / sum(rate(app_request_count_total[1m]))",
    "sum(app_in_flight_requests)",
    "sum by (route) (rate(app_request_count_total[1m]))",
    "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[1m])))",
    "sum by (route, status) (rate(app_request_count_total[1m]))",
    "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[30s])))",
    "sum by (route) (rate(app_request_count_total[5m]))",
    "histogram_quantile(0.95, sum by (le, route) (rate(app_request_latency_seconds_bucket[5m])))",
    "topk(5, rate(app_request_count_total[5m]))",
];

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// One range query to Prometheus with `stats=all`: its `execTotalTime` (s) and series count.
async fn prometheus_range(
    client: &reqwest::Client,
    url: &str,
    expr: &str,
    (start, end, step): (i64, i64, i64),
) -> anyhow::Result<(f64, usize)> {
    let body: serde_json::Value = client
        .get(format!("{url}/api/v1/query_range"))
        .query(&[
            ("query", expr),
            ("start", &seconds(start)),
            ("end", &seconds(end)),
            ("step", &seconds(step)),
            ("stats", "all"),
        ])
        .send()
        .await
        .with_context(|| format!("query_range {expr:?}"))?
        .json()
        .await?;
    if body["status"] != "success" {
        bail!("query_range {expr:?}: {body}");
    }
    let exec = body["data"]["stats"]["timings"]["execTotalTime"]
        .as_f64()
        .with_context(|| format!("no execTotalTime in the answer to {expr:?}"))?;
    let series = body["data"]["result"].as_array().map_or(0, Vec::len);
    Ok((exec, series))
}

/// CPU time of the calling thread so far (ns), from `/proc/thread-self/schedstat` (it lags
/// by up to a scheduler tick: use it over many runs); 0 where that file is missing.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let one_second = std::env::args().nth(1).as_deref() == Some("1s");
    let (duration, interval) = if one_second {
        (3_600_000, 1_000)
    } else {
        (6 * 3_600_000, 15_000)
    };
    let points = (duration / interval) as usize;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("data.om.txt");
    let (text, series) = openmetrics(points, interval);
    std::fs::write(&file, &text)?;
    println!(
        "data: {series} series x {points} points ({} h at {} s), {} samples, {:.1} MB of OpenMetrics",
        duration / 3_600_000,
        interval / 1000,
        series * points,
        text.len() as f64 / 1e6
    );

    let mut store = Store::new(StoreConfig {
        retention_ms: duration + 3_600_000,
        max_series: 100_000,
    });
    let loaded = load_openmetrics(&mut store, text.as_bytes())?;
    drop(text);
    println!("engine store: {loaded} samples loaded");

    let engine = Engine::new(EngineOptions {
        compat: Compat::V2,
        ..EngineOptions::default()
    });
    // 200 points over the whole span.
    let step = duration / POINTS;
    let start = START;
    let end = START + (POINTS - 1) * step;
    if let Some(n) = std::env::var("ENGINE_ONLY")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let only = std::env::var("ENGINE_QUERY").unwrap_or_default();
        println!("median wall time; mean CPU time of this thread (less sensitive to load)");
        for expr in QUERIES.iter().filter(|q| q.contains(&only)) {
            let mut times = Vec::new();
            let cpu = thread_cpu_ns();
            for _ in 0..n {
                let t = Instant::now();
                engine
                    .range(&store, expr, start, end, step)
                    .with_context(|| format!("engine: {expr}"))?;
                times.push(t.elapsed().as_secs_f64());
            }
            let cpu = thread_cpu_ns().saturating_sub(cpu) as f64 / 1e9 / n as f64;
            println!(
                "{:.2} ms  {:.2} ms CPU  {expr}",
                median(times) * 1e3,
                cpu * 1e3
            );
        }
        return Ok(());
    }

    let t0 = Instant::now();
    let prometheus = Prometheus::start_on_openmetrics(&file).await?;
    std::fs::remove_file(&file)?;
    println!(
        "prometheus: backfilled and ready in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;

    let runs = std::env::var("RUNS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(RUNS);
    println!(
        "range queries: {POINTS} steps of {} s from the first sample; Prometheus and the engine in turn, {runs} runs after a warm-up; load before: {}",
        step / 1000,
        loadavg()
    );
    println!();
    println!(
        "| query | series (Prometheus / engine) | Prometheus execTotalTime median (fastest) | engine median (fastest) | engine / Prometheus, medians (fastest) |"
    );
    println!("|---|---|---:|---:|---:|");
    let mut worst: f64 = 0.0;
    let only = std::env::var("ENGINE_QUERY").unwrap_or_default();
    for expr in QUERIES.iter().filter(|q| q.contains(&only)) {
        let (mut prom, mut eng) = (Vec::new(), Vec::new());
        let (mut prom_series, mut eng_series) = (0, 0);
        for i in 0..=runs {
            let (t, n) =
                prometheus_range(&client, &prometheus.url(), expr, (start, end, step)).await?;
            prom_series = n;
            let began = Instant::now();
            let v = engine
                .range(&store, expr, start, end, step)
                .with_context(|| format!("engine: {expr}"))?;
            let took = began.elapsed().as_secs_f64();
            eng_series = match &v {
                Value::Matrix(m) => m.len(),
                _ => 1,
            };
            if i > 0 {
                prom.push(t);
                eng.push(took);
            }
        }
        let fastest = |xs: &[f64]| xs.iter().copied().fold(f64::INFINITY, f64::min);
        let (pf, ef) = (fastest(&prom), fastest(&eng));
        let (p, e) = (median(prom), median(eng));
        worst = worst.max(e / p);
        println!(
            "| `{}` | {prom_series} / {eng_series} | {:.2} ms ({:.2}) | {:.2} ms ({:.2}) | {:.2} ({:.2}) |",
            expr.replace('|', "\\|"),
            p * 1e3,
            pf * 1e3,
            e * 1e3,
            ef * 1e3,
            e / p,
            ef / pf
        );
    }
    println!();
    println!(
        "worst ratio of medians {worst:.2} (target <= 0.5); load after: {}",
        loadavg()
    );
    Ok(())
}
