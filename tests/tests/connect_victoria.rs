//! Issue 6: VictoriaMetrics single-node (Debian's 1.79) scraping promdash-service under
//! load.
//!
//! - Every query of the default dashboard succeeds with data (polled with a deadline:
//!   a range query answers an empty matrix while its samples are seconds old).
//! - A range query ending now includes samples from the last 10 s, with values that
//!   are fresh (VictoriaMetrics fills hidden points with the last visible value, so
//!   timestamps alone prove nothing): on a server started with
//!   `-search.latencyOffset=0s`, as the harness does.
//! - On a server with its default 30 s offset, as users often run it, instant queries
//!   are fresh too: the client's `latency_offset=0s` / `nocache=1` do it, and without
//!   them the answer is 30 s old (so this test would catch a client that stopped).
//!   Range queries with a step under a minute cannot be made fresh from the client
//!   there (1.79 has no `latency_offset` argument).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use promdash_queries::{ClientConfig, PromClient, QueryData, default_dashboard, range_step};
use promdash_tests::connect::VictoriaDefaultOffset;
use promdash_tests::{ServiceConfig, VictoriaMetrics, start_service};

const TOTAL: &str = "sum(app_request_count_total)";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The service's own request counter, read from its `/metrics`.
async fn served(base: &str) -> anyhow::Result<f64> {
    let text = promdash_tests::http_get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    let mut total = 0.0;
    for line in text.lines() {
        if line.starts_with("app_request_count_total{") {
            let v = line.rsplit(' ').next().context("a sample line")?;
            total += v.parse::<f64>()?;
        }
    }
    Ok(total)
}

/// Polls `expr` (up to a minute) until it returns a positive number.
async fn wait_positive(client: &PromClient, expr: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = client.query(expr, None).await;
        if let Ok(r) = &r
            && r.as_scalar().is_some_and(|s| s.v > 0.0)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{expr} not positive within 60 s: {r:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Reads the service's counter, lets two scrapes happen, and returns it: any answer
/// from the server that is at least this is at most a few seconds old.
async fn counter_a_moment_ago(base: &str) -> anyhow::Result<f64> {
    let before = served(base).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_dashboard_and_fresh_samples_on_victoria_metrics() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let vm = VictoriaMetrics::start(&[service.addr()]).await?;
    let vm_default = VictoriaDefaultOffset::start(&[service.addr()]).await?;

    // Steady traffic (about 20 requests a second, one in five failing) while the test
    // runs; bounded.
    let base = service.url();
    let load = tokio::spawn(async move {
        let http = promdash_tests::http_client();
        for i in 0u32..6000 {
            let fail = if i % 5 == 0 { "?fail=1" } else { "" };
            let _ = http.get(format!("{base}/process{fail}")).send().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let base = service.url();

    let client = PromClient::new(ClientConfig::new(vm.url()))?;
    wait_positive(&client, "sum(rate(app_request_count_total[1m]))").await?;
    wait_positive(&client, "sum(rate(app_error_count_total[1m]))").await?;

    // Every panel query, as the dashboard asks it (range for graphs, instant for the
    // rest), and every alert expression: each answers with data. A range query's
    // samples show once they are old enough for every step of the window (a series
    // seconds old can answer an empty matrix), so poll until all do, with a deadline.
    let dashboard = default_dashboard();
    let deadline = Instant::now() + Duration::from_secs(90);
    let checked = loop {
        let mut checked = 0;
        let mut missing = Vec::new();
        for panel in &dashboard.panels {
            for q in &panel.queries {
                let result = if panel.kind.is_range() {
                    let w = range_step(dashboard.range, 60, now());
                    client.query_range(&q.expr, w.start, w.end, w.step).await
                } else {
                    client.query(&q.expr, None).await
                };
                let result = result.map_err(|e| {
                    anyhow::anyhow!("panel {:?} query {:?}: {e}", panel.title, q.expr)
                })?;
                if result.series_count() == 0 || result.point_count() == 0 {
                    missing.push(format!(
                        "panel {:?} query {:?} returned no data: {result:?}",
                        panel.title, q.expr
                    ));
                }
                checked += 1;
            }
        }
        for alert in &dashboard.alerts {
            let r = client
                .query(&alert.expr, None)
                .await
                .map_err(|e| anyhow::anyhow!("alert {:?}: {e}", alert.name))?;
            if r.series_count() == 0 {
                missing.push(format!("alert {:?}: {r:?}", alert.name));
            }
            checked += 1;
        }
        if missing.is_empty() {
            break checked;
        }
        assert!(
            Instant::now() < deadline,
            "still without data after 90 s:\n{}",
            missing.join("\n")
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(
        checked >= 10,
        "only {checked} queries in the default dashboard"
    );

    // A range query ending now: its last 10 s hold samples, and they are fresh.
    let floor = counter_a_moment_ago(&base).await?;
    let end = now();
    let r = client
        .query_range(TOTAL, end - 120.0, end, Duration::from_secs(1))
        .await?;
    let QueryData::Matrix(m) = &r.data else {
        bail!("a range query answers a matrix: {r:?}")
    };
    let recent: Vec<_> = m
        .iter()
        .flat_map(|s| &s.samples)
        .filter(|p| p.t >= end - 10.0)
        .collect();
    assert!(!recent.is_empty(), "no samples in the last 10 s: {r:?}");
    let newest = recent.iter().map(|p| p.v).fold(f64::MIN, f64::max);
    assert!(
        newest >= floor,
        "the last 10 s show {newest} requests but the service had served {floor} \
         3 s before the query: stale values"
    );

    // Default 30 s offset: instant queries are fresh thanks to the client ...
    let fresh = PromClient::new(ClientConfig::new(vm_default.url()))?;
    wait_positive(&fresh, TOTAL).await?;
    // (wait until more than 30 s of data exist, so "30 s old" and "fresh" differ: a
    // client without the fresh-data parameters then sees a number)
    let plain = PromClient::new(ClientConfig {
        latency_offset_zero: false,
        ..ClientConfig::new(vm_default.url())
    })?;
    wait_positive(&plain, TOTAL).await?;
    let floor = counter_a_moment_ago(&base).await?;
    let v = fresh
        .query(TOTAL, None)
        .await?
        .as_scalar()
        .map_or(f64::NAN, |s| s.v);
    assert!(
        v >= floor,
        "default-offset VictoriaMetrics answered {v}, the service had served {floor} \
         3 s before: the client's latency_offset/nocache did not take\n{}",
        vm_default.log()
    );
    // ... and without its parameters they are 30 s old.
    let floor = counter_a_moment_ago(&base).await?;
    let v = plain
        .query(TOTAL, None)
        .await?
        .as_scalar()
        .map_or(0.0, |s| s.v);
    assert!(
        v < floor,
        "without latency_offset/nocache the answer ({v}) was fresh (>= {floor}): \
         is the server's default offset in force? then this test checks nothing"
    );

    load.abort();
    Ok(())
}
