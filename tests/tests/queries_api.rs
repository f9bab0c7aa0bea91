//! Issue 3: every client method against a real Prometheus 2.42 scraping promdash-service
//! (with an alerting and a recording rule loaded), the `MetricsSource` seam from spawned
//! tasks, long expressions by POST, sub-second times and steps; and the built-in
//! dashboards: every panel and alert query is accepted by the real Prometheus.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail, ensure};
use promdash_queries::dashboard::{Dashboard, prometheus_dashboard};
use promdash_queries::model::{QueryData, Sample};
use promdash_queries::step::range_step;
use promdash_queries::{ClientConfig, MetricsSource, PromClient, RangeWindow, default_dashboard};
use promdash_tests::{Prometheus, ServiceConfig, start_service};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

const RULES: &str = r#"
groups:
  - name: promdash-test
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels:
          severity: warning
        annotations:
          summary: "always {{ $value }}"
      - record: job:app_request_count:sum
        expr: sum by (job) (app_request_count_total)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_method_against_prometheus() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let http = promdash_tests::http_client();
    for _ in 0..5 {
        http.get(format!("{}/process", service.url()))
            .send()
            .await?;
    }
    let prom = Prometheus::start_with_rules(&[service.addr()], RULES).await?;
    let client = PromClient::new(ClientConfig::new(prom.url()))?;

    ensure!(client.ready().await?, "/-/ready");
    let info = client.buildinfo().await?;
    ensure!(info.version.starts_with("2."), "{info:?}");

    let targets = client.targets().await?;
    ensure!(targets.active_targets.len() == 1, "{targets:?}");
    ensure!(targets.active_targets[0].health == "up", "{targets:?}");
    ensure!(
        targets.active_targets[0].scrape_url.ends_with("/metrics"),
        "{targets:?}"
    );
    // What the dashboard's targets view (`t`) shows of it, through the source seam.
    let seen = MetricsSource::targets(&client).await?;
    let shown = promdash::targets::from_server(&seen[0]);
    ensure!(
        shown.health == promdash_engine::scrape::Health::Up,
        "{shown:?}"
    );
    ensure!(shown.interval == Duration::from_secs(1), "{shown:?}");
    let ago = shown
        .last_scrape
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .ok_or_else(|| anyhow::anyhow!("no last scrape in the past: {shown:?}"))?;
    ensure!(ago < Duration::from_secs(60), "{shown:?}");
    ensure!(shown.last_duration.is_some(), "{shown:?}");
    ensure!(shown.labels.get("job").is_some(), "{shown:?}");

    let names = client.label_names(&[]).await?;
    for n in ["__name__", "job", "instance", "route", "status"] {
        ensure!(
            names.iter().any(|x| x == n),
            "label {n} missing in {names:?}"
        );
    }
    let jobs = client.label_values("job", None).await?;
    ensure!(jobs == ["promdash"], "{jobs:?}");
    let metrics = client
        .label_values("__name__", Some(r#"{__name__=~"app_.+"}"#))
        .await?;
    for m in [
        "app_request_count_total",
        "app_request_latency_seconds_bucket",
        "app_in_flight_requests",
    ] {
        ensure!(metrics.iter().any(|x| x == m), "{m} missing in {metrics:?}");
    }
    ensure!(
        metrics.iter().all(|m| m.starts_with("app_")),
        "the matcher restricts: {metrics:?}"
    );

    let series = client
        .series(
            &["app_request_count_total"],
            Some(now() - 300.0),
            Some(now()),
        )
        .await?;
    ensure!(!series.is_empty(), "no series");
    ensure!(
        series.iter().all(|s| s.get("route") == Some("/process")),
        "{series:?}"
    );

    let meta = client.metadata(Some("app_request_count_total")).await?;
    let m = meta
        .get("app_request_count_total")
        .and_then(|v| v.first())
        .context("metadata")?;
    ensure!(m.kind == "counter" && !m.help.is_empty(), "{m:?}");

    let groups = client.rules().await?;
    let rules: Vec<_> = groups.iter().flat_map(|g| g.rules.iter()).collect();
    ensure!(
        rules
            .iter()
            .any(|r| r.kind == "alerting" && r.name == "AlwaysFiring"),
        "{groups:?}"
    );
    ensure!(
        rules
            .iter()
            .any(|r| r.kind == "recording" && r.name == "job:app_request_count:sum"),
        "{groups:?}"
    );

    // The alert fires after the first evaluation (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let alerts = client.alerts().await?;
        if let Some(a) = alerts.into_iter().find(|a| a.state == "firing") {
            break a;
        }
        if Instant::now() > deadline {
            bail!("AlwaysFiring never fired\n{}", prom.log());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    ensure!(
        alert.labels.get("alertname") == Some("AlwaysFiring"),
        "{alert:?}"
    );
    ensure!(alert.value == Some(1.0), "{alert:?}");
    ensure!(alert.active_at.is_some(), "{alert:?}");
    ensure!(
        alert.annotations.get("summary") == Some("always 1"),
        "{alert:?}"
    );

    // Result types.
    let r = client.query("time()", Some(1_700_000_000.125)).await?;
    ensure!(
        r.data
            == QueryData::Scalar(Sample {
                t: 1_700_000_000.125,
                v: 1_700_000_000.125
            }),
        "sub-second time: {r:?}"
    );
    let r = client.query(r#""hello""#, None).await?;
    ensure!(
        matches!(&r.data, QueryData::String { value, .. } if value == "hello"),
        "{r:?}"
    );
    let r = client.query("sum(app_request_count_total)", None).await?;
    ensure!(
        r.as_scalar().is_some_and(|s| s.v >= 5.0),
        "vector as a number: {r:?}"
    );
    let r = client.query("vector(1) / 0 - vector(1) / 0", None).await?;
    ensure!(r.as_scalar().is_some_and(|s| s.v.is_nan()), "NaN: {r:?}");

    // Sub-second step.
    let end = (now() - 5.0).floor();
    let r = client
        .query_range("vector(2)", end - 2.0, end, Duration::from_millis(500))
        .await?;
    let QueryData::Matrix(m) = &r.data else {
        bail!("{r:?}")
    };
    let times: Vec<f64> = m[0].samples.iter().map(|s| s.t - end).collect();
    ensure!(times == [-2.0, -1.5, -1.0, -0.5, 0.0], "{times:?}");

    // A long expression goes by POST form and works.
    let long = format!("sum(app_request_count_total){}", " + 0".repeat(600));
    ensure!(long.len() > 1500);
    let r = client.query(&long, None).await?;
    ensure!(r.as_scalar().is_some_and(|s| s.v >= 5.0), "{r:?}");

    // The MetricsSource seam, shared through Arc into spawned tasks.
    let source = Arc::new(client.clone());
    let window = range_step(Duration::from_secs(60), 30, now());
    let tasks = [
        tokio::spawn(instant_count(source.clone())),
        tokio::spawn(range_count(source.clone(), window)),
        tokio::spawn(jobs_count(source.clone())),
        tokio::spawn(alert_count(source.clone())),
    ];
    for (name, t) in ["instant", "range", "label_values", "alerts"]
        .iter()
        .zip(tasks)
    {
        let n = t.await??;
        ensure!(n >= 1, "MetricsSource::{name} answered with no data");
    }
    Ok(())
}

async fn instant_count<S: MetricsSource>(s: Arc<S>) -> anyhow::Result<usize> {
    Ok(s.instant("up", None).await?.series_count())
}

async fn range_count<S: MetricsSource>(s: Arc<S>, w: RangeWindow) -> anyhow::Result<usize> {
    // Prometheus is only seconds old here: a constant has points over the whole window.
    let r = s.range("vector(1)", w).await?;
    ensure!(r.point_count() == 61, "60 s every 1 s: {r:?}");
    Ok(r.point_count())
}

async fn jobs_count<S: MetricsSource>(s: Arc<S>) -> anyhow::Result<usize> {
    Ok(s.label_values("job", Some("up")).await?.len())
}

async fn alert_count<S: MetricsSource>(s: Arc<S>) -> anyhow::Result<usize> {
    Ok(s.alerts().await?.len())
}

/// Runs every query of `d` as the dashboard would: graphs as range queries over the
/// dashboard's range, the rest and alerts as instant queries. Returns how many ran.
async fn run_all(client: &PromClient, d: &Dashboard) -> anyhow::Result<usize> {
    let mut n = 0;
    for panel in &d.panels {
        for q in &panel.queries {
            let r = if panel.kind.is_range() {
                let w = range_step(d.range, 100, now());
                client.query_range(&q.expr, w.start, w.end, w.step).await
            } else {
                client.query(&q.expr, None).await
            };
            r.with_context(|| format!("{} panel {:?}: {}", d.title, panel.title, q.expr))?;
            n += 1;
        }
    }
    for a in &d.alerts {
        client
            .query(&a.expr, None)
            .await
            .with_context(|| format!("{} alert {}: {}", d.title, a.name, a.expr))?;
        n += 1;
    }
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_dashboards_are_accepted_by_prometheus() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let prom = Prometheus::start(&[service.addr()]).await?;
    let client = PromClient::new(ClientConfig::new(prom.url()))?;
    let service_queries = run_all(&client, &default_dashboard()).await?;
    ensure!(service_queries >= 12, "{service_queries} queries");
    let prom_queries = run_all(&client, &prometheus_dashboard()).await?;
    ensure!(prom_queries >= 10, "{prom_queries} queries");
    Ok(())
}
