//! Issue 14's refresh figures for a large Grafana dashboard, side by side with the
//! built-in 8-panel dashboard in the same run: requests per refresh counted at a proxy
//! (against the distinct expressions of the panels on screen) and promdash's CPU time per
//! minute at a 5 s refresh.
//!
//! The stack: promdash-service (in this process) under about 50 requests/s, Debian's
//! Prometheus 2.42 scraping it every second, and a recording proxy in front of
//! Prometheus. The large dashboard is generated: 10 rows × 14 panels (stat and
//! timeseries), two targets each (280 distinct expressions on the service's metrics), a
//! `$route` variable (multi, All), `$__rate_interval`, table legends, rows 3–10 collapsed
//! as in Node Exporter Full. Each dashboard runs as its own `promdash` process (the
//! workspace's binary, built in this example's profile) in a 120×40 tmux terminal: a
//! warm-up of a few rounds, then `SECONDS` seconds measured (CPU from /proc, requests and
//! expressions from the proxy). The two dashboards alternate `ROUNDS` times.
//!
//! `PROMDASH_BIN=target/release/promdash cargo run --release -p promdash-tests --example
//! grafana_refresh_cpu [SECONDS] [ROUNDS]`
//! (default 60 s, 2 rounds; needs prometheus and tmux; tui/benches/grafana_cpu.sh runs it)

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use promdash_tests::connect::fault_proxy::FaultProxy;
use promdash_tests::connect::promdash_binary;
use promdash_tests::grafana_gen::{Spec, large_dashboard};
use promdash_tests::tmux::{Tmux, cpu_time};
use promdash_tests::{Prometheus, ServiceConfig, http_client, median, start_service};

/// The generated dashboard: `rows` rows of `per_row` panels, two targets each.
fn dashboard(rows: usize, per_row: usize) -> String {
    let panel = |r: usize, p: usize| {
        let factor = format!("{r}.{p:02}1");
        let field_config = serde_json::json!({ "defaults": { "unit": "reqps" } });
        let targets = serde_json::json!([
            { "refId": "A", "expr": format!("sum by (route) (rate(app_request_count_total{{route=~\"$route\"}}[$__rate_interval])) * {factor}"), "legendFormat": "{{route}} requests" },
            { "refId": "B", "expr": format!("sum by (route) (rate(app_request_latency_seconds_count{{route=~\"$route\"}}[$__rate_interval])) * {factor}"), "legendFormat": "{{route}} timed" }
        ]);
        (field_config, targets)
    };
    let spec = Spec {
        title: "Large",
        variables: serde_json::json!([
            { "name": "route", "type": "query", "query": "label_values(app_request_count_total, route)",
              "multi": true, "includeAll": true, "current": { "text": "All", "value": "$__all" } }
        ]),
        panel: &panel,
    };
    large_dashboard(rows, per_row, &spec)
}

/// CPU time the threads of `pid` have run so far, in nanoseconds (the sum of
/// `/proc/PID/task/*/schedstat`): at a few hundredths of a second of CPU per minute,
/// `/proc/PID/stat`'s 10 ms ticks are too coarse to compare two dashboards. Threads that
/// ended are not counted (promdash's threads live as long as it does).
fn cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}

/// What one measured phase saw.
struct Phase {
    cpu: Duration,
    /// The same from the threads' schedstat (nanosecond resolution).
    cpu_fine: Duration,
    secs: f64,
    requests: usize,
    rounds: f64,
    distinct: usize,
}

/// Runs promdash on `dashboard` (`None`: the built-in one) through a fresh proxy for a
/// warm-up and `secs` measured seconds.
async fn phase(
    name: &str,
    upstream: SocketAddr,
    dashboard: Option<&Path>,
    secs: u64,
    dir: &Path,
) -> anyhow::Result<Phase> {
    let binary = promdash_binary()?;
    let proxy = FaultProxy::start(upstream).await?;
    let mut args: Vec<String> = Vec::new();
    if let Some(d) = dashboard {
        args.extend(["--dashboard".into(), d.display().to_string()]);
    }
    args.extend([
        "--url".into(),
        proxy.url(),
        "--refresh".into(),
        "5s".into(),
        "--no-bell".into(),
        "--log-file".into(),
        dir.join(format!("{name}.log")).display().to_string(),
    ]);
    let tmux = Tmux::start(name, (120, 40), &binary, &args, &[])?;
    let pid = tmux.pane_pid()?;
    // Warm-up: the variable's values, the first range windows, a few rounds.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let before_q = proxy.queries().len();
    let before_cpu = cpu_time(pid).context("promdash is gone")?;
    let before_ns = cpu_ns(pid).context("promdash is gone")?;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let after_cpu = cpu_time(pid).context("promdash is gone")?;
    let after_ns = cpu_ns(pid).context("promdash is gone")?;
    let elapsed = start.elapsed().as_secs_f64();
    let q = proxy.queries();
    let window = &q[before_q..];
    let distinct: BTreeSet<&String> = window.iter().collect();
    let screen = tmux.screen();
    tmux.keys(&["q"])?;
    if window.is_empty() {
        bail!("{name}: no query in {secs} s:\n{screen}");
    }
    Ok(Phase {
        cpu: after_cpu - before_cpu,
        cpu_fine: Duration::from_nanos(after_ns.saturating_sub(before_ns)),
        secs: elapsed,
        requests: window.len(),
        rounds: elapsed / 5.0,
        distinct: distinct.len(),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let prom = Prometheus::start(&[service.metrics_addr()]).await?;
    // About 50 requests/s on two routes, for the rest of the run.
    let base = service.url();
    let load = tokio::spawn(async move {
        let client = http_client();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut n = 0u64;
        loop {
            tick.tick().await;
            n += 1;
            let path = if n.is_multiple_of(10) {
                "/healthz"
            } else {
                "/process"
            };
            let _ = client.get(format!("{base}{path}")).send().await;
        }
    });
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("large.json");
    std::fs::write(&file, dashboard(10, 14))?;
    // Enough samples for rate() over the first windows.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let load_avg = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load_avg().trim());
    let mut large = Vec::new();
    let mut builtin = Vec::new();
    for r in 0..rounds {
        large.push(
            phase(
                &format!("large-{r}"),
                upstream,
                Some(&file),
                secs,
                dir.path(),
            )
            .await?,
        );
        builtin.push(phase(&format!("builtin-{r}"), upstream, None, secs, dir.path()).await?);
    }
    println!("load average after: {}", load_avg().trim());
    let per_min = |p: &Phase| p.cpu_fine.as_secs_f64() * 60.0 / p.secs;
    let per_min_ticks = |p: &Phase| p.cpu.as_secs_f64() * 60.0 / p.secs;
    let mut ratios = Vec::new();
    for (r, (l, b)) in large.iter().zip(&builtin).enumerate() {
        for (what, p) in [("140-panel Grafana", l), ("built-in 8-panel", b)] {
            println!(
                "round {r}: {what:<18} CPU {:.3} s/min ({:.2} by /proc/PID/stat ticks); {} requests in {:.0} s = {:.1} per refresh; {} distinct expressions",
                per_min(p),
                per_min_ticks(p),
                p.requests,
                p.secs,
                p.requests as f64 / p.rounds,
                p.distinct,
            );
        }
        let ratio = per_min(l) / per_min(b).max(1e-9);
        ratios.push(ratio);
        println!("round {r}: CPU ratio large / built-in = {ratio:.2} (target <= 1.5)");
    }
    println!(
        "median CPU ratio over {rounds} rounds: {:.2}",
        median(ratios)
    );
    load.abort();
    Ok(())
}
