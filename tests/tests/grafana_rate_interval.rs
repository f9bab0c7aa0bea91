//! Issue 14: `$__rate_interval` = max(`$__interval` + scrape interval, 4 × scrape
//! interval) with the scrape interval the server is configured with.
//!
//! A Grafana dashboard opened with `promdash --dashboard FILE.json` in tmux against
//! Debian's Prometheus 2.42 configured with `scrape_interval: 40s`, through a proxy that
//! records every query: the expressions sent use 4 × 40 s = `2m40s` (a 15m graph's
//! `$__interval` is well under 2 minutes). With `--scrape-interval-hint 10s` they use
//! `40s` and the server's 40 s is never used. VictoriaMetrics serves its scrape
//! configuration at the same path: scraping every second there, the range is
//! `$__interval` + 1 s (a few seconds), never the `1m` of the default 15 s.
//!
//! Needs tmux, prometheus and victoria-metrics (scripts/test.sh installs them); a missing
//! one fails the test naming its package.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::bail;
use promdash_tests::connect::fault_proxy::FaultProxy;
use promdash_tests::tmux::Tmux;
use promdash_tests::{Prometheus, VictoriaMetrics};

/// A stat and a graph, both rating Prometheus's own request counter.
const DASHBOARD: &str = r#"{
  "title": "Rate interval",
  "time": { "from": "now-15m", "to": "now" },
  "panels": [
    { "type": "stat", "title": "Requests/s", "gridPos": { "x": 0, "y": 0, "w": 8, "h": 6 },
      "targets": [ { "refId": "A", "expr": "sum(rate(prometheus_http_requests_total[$__rate_interval]))" } ] },
    { "type": "timeseries", "title": "By handler", "gridPos": { "x": 8, "y": 0, "w": 16, "h": 10 },
      "targets": [ { "refId": "A", "expr": "sum by (handler) (rate(prometheus_http_requests_total[$__rate_interval]))", "legendFormat": "{{handler}}" } ] }
  ]
}"#;

/// The range in brackets of a dashboard expression (`5m` of `rate(x[5m])`).
fn range_of(expr: &str) -> Option<&str> {
    let (_, rest) = expr.split_once('[')?;
    rest.split_once(']').map(|(r, _)| r)
}

/// Runs the dashboard against `upstream` through a recording proxy with `extra` flags,
/// until both panels send an expression whose range `want` accepts; then fails if a
/// range `never` is sent after that, or the next rounds do not all use ranges `want`
/// accepts.
async fn sends(
    name: &str,
    upstream: SocketAddr,
    extra: &[&str],
    want: &dyn Fn(&str) -> bool,
    never: &str,
) -> anyhow::Result<()> {
    let proxy = FaultProxy::start(upstream).await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("rate.json");
    std::fs::write(&file, DASHBOARD)?;
    let tmux = Tmux::start_dashboard_kept_open(
        name,
        dir.path(),
        &file,
        &proxy.url(),
        &[&["--refresh", "1s"], extra].concat(),
    )?;
    tmux.wait_for("the dashboard", Duration::from_secs(30), |s| {
        s.contains("Requests/s") && s.contains("By handler")
    })
    .await?;
    let good = |e: &String| range_of(e).is_some_and(want);
    // Both panels' expressions come with the interval wanted.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let q = proxy.queries();
        let stat = q.iter().position(|e| e.starts_with("sum(rate(") && good(e));
        let graph = q
            .iter()
            .position(|e| e.starts_with("sum by (handler)") && good(e));
        if let (Some(a), Some(b)) = (stat, graph) {
            break a.min(b);
        }
        if Instant::now() > deadline {
            bail!("no query with the range wanted within 30 s:\n{q:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // A few more rounds (refresh 1 s): every one asks with [want] only.
    let seen = proxy.queries().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.queries().len() < seen + 6 {
        if Instant::now() > deadline {
            bail!("no further rounds: {:#?}", proxy.queries());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let q = proxy.queries();
    assert!(
        q[first..].iter().all(|e| range_of(e) != Some(never)),
        "[{never}] sent after the range wanted: {q:#?}"
    );
    assert!(q[seen..].iter().all(good), "{q:#?}");
    assert!(
        q.iter().all(|e| !e.contains('$')),
        "every query substituted: {q:#?}"
    );
    tmux.keys(&["q"])?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_interval_uses_the_servers_scrape_interval() -> anyhow::Result<()> {
    let prom = Prometheus::start_with_config("global:\n  scrape_interval: 40s\n").await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    // The configuration read: 4 × 40 s. (Until it is, the default 15 s gives 1m.)
    sends("rate-server", upstream, &[], &|r| r == "2m40s", "1m").await?;
    // The flag wins over the server: max($__interval + 10 s, 40 s) = 40 s.
    sends(
        "rate-hint",
        upstream,
        &["--scrape-interval-hint", "10s"],
        &|r| r == "40s",
        "2m40s",
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_interval_on_victoria_metrics_uses_its_scrape_interval() -> anyhow::Result<()> {
    // The harness's VictoriaMetrics scrapes every second: $__interval + 1 s, a few
    // seconds for a 15m range (steps up to 30 s), never the default's 1m.
    let vm = VictoriaMetrics::start::<&str>(&[]).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", vm.port()).parse()?;
    let seconds = |r: &str| {
        r.strip_suffix('s')
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (2..=31).contains(&n))
    };
    sends("rate-vm", upstream, &[], &seconds, "1m").await?;
    Ok(())
}
