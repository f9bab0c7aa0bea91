//! Live parity: Debian's Prometheus 2.42 and the embedded scraper scrape the same two
//! targets at 1 s — promdash-service (text format 0.0.4) and `tests/exporter/exporter.py`
//! (python3-prometheus-client, which answers both with OpenMetrics) — under a bounded
//! load with a known number of requests.
//!
//! - `sum(app_request_count_total)` is exactly the number of requests sent, in both;
//! - the series of job `promdash` (every metric, `up` and the `scrape_*` series) are the
//!   same label sets in both, and every `app_*` and `up` value is equal;
//! - after the exporter is killed (SIGKILL), `up` for it is 0 in both and its series are
//!   gone from both two intervals after the kill, while what was scraped before stays
//!   queryable at the time of the kill;
//! - `Scraper::stop` marks every series stale.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promdash_engine::{Health, ScrapeJob};
use promdash_tests::exporter::PythonExporter;
use promdash_tests::scrape_support::{
    by_labels, engine_query, poll_until, scrape_embedded, side_by_side,
};
use promdash_tests::{
    Prometheus, QuerySample, ServiceConfig, http_client, query_api, query_api_at, start_service,
};

const INTERVAL: Duration = Duration::from_secs(1);

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}

fn sorted(mut v: Vec<QuerySample>) -> Vec<QuerySample> {
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_scraper_and_prometheus_agree_on_two_live_targets() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let mut exporter = PythonExporter::start().await?;
    let service_addr = service.addr().to_string();
    let exporter_addr = exporter.addr();
    let prom = Prometheus::start(&[service_addr.clone(), exporter_addr.clone()]).await?;

    let mut job = ScrapeJob::new(
        "promdash",
        vec![service_addr.clone(), exporter_addr.clone()],
        http_client(),
    );
    job.interval = INTERVAL;
    job.timeout = INTERVAL;
    let (scraper, engine) = scrape_embedded(
        vec![job],
        "both targets up in the embedded scraper",
        Duration::from_secs(20),
    )
    .await?;

    // Bounded load: 30 requests to the service, 20 to the exporter (5 of them failing).
    let client = http_client();
    let mut sent = 0;
    for _ in 0..30 {
        client
            .get(format!("http://{service_addr}/process"))
            .send()
            .await?;
        sent += 1;
    }
    for i in 0..20 {
        let url = if i % 4 == 0 {
            format!("{}?fail=1", exporter.process_url())
        } else {
            exporter.process_url()
        };
        client.get(url).send().await?;
        sent += 1;
    }
    let total = "sum(app_request_count_total)";
    let want = sent as f64;
    poll_until(
        "Prometheus sees every request",
        Duration::from_secs(30),
        || {
            let url = prom.url();
            async move {
                let v = query_api(&url, total).await?;
                Ok(v.len() == 1 && v[0].value == want)
            }
        },
    )
    .await?;
    poll_until(
        "the engine sees every request",
        Duration::from_secs(30),
        || {
            let v = engine_query(&engine, total, None);
            async move {
                let v = v?;
                Ok(v.len() == 1 && v[0].value == want)
            }
        },
    )
    .await?;
    assert_eq!(query_api(&prom.url(), total).await?[0].value, 50.0);
    assert_eq!(engine_query(&engine, total, None)?[0].value, 50.0);

    // Same series, and the same values for the request metrics and `up` (the load has
    // stopped, so both have scraped the final values).
    let every = r#"{job="promdash"}"#;
    let p = sorted(query_api(&prom.url(), every).await?);
    let e = sorted(engine_query(&engine, every, None)?);
    let p_sets: Vec<_> = p.iter().map(|s| &s.labels).collect();
    let e_sets: Vec<_> = e.iter().map(|s| &s.labels).collect();
    assert!(
        p_sets == e_sets,
        "the series differ:\n{}",
        side_by_side("prometheus", &p, "engine", &e)
    );
    assert!(
        p.len() > 40,
        "too few series to prove anything: {}",
        p.len()
    );
    // The exporter's OpenMetrics `_created` series came through both.
    assert!(
        p.iter()
            .any(|s| s.labels["__name__"] == "app_request_count_created"),
        "no _created series:\n{}",
        side_by_side("prometheus", &p, "engine", &e)
    );
    let app = r#"{job="promdash", __name__=~"app_.*|up"}"#;
    let p = query_api(&prom.url(), app).await?;
    let e = engine_query(&engine, app, None)?;
    assert!(
        by_labels(&p) == by_labels(&e),
        "the values differ:\n{}",
        side_by_side("prometheus", &p, "engine", &e)
    );
    for target in [&service_addr, &exporter_addr] {
        let up = format!(r#"up{{instance="{target}"}}"#);
        assert_eq!(query_api(&prom.url(), &up).await?[0].value, 1.0, "{up}");
        assert_eq!(engine_query(&engine, &up, None)?[0].value, 1.0, "{up}");
    }

    // Kill the exporter: `up` 0 and its series gone in both.
    let killed_at = now_secs();
    exporter.kill().await?;
    let up_exporter = format!(r#"up{{instance="{exporter_addr}"}}"#);
    poll_until(
        "Prometheus: up 0 for the killed exporter",
        Duration::from_secs(15),
        || {
            let (url, q) = (prom.url(), up_exporter.clone());
            async move { Ok(query_api(&url, &q).await?.first().map(|s| s.value) == Some(0.0)) }
        },
    )
    .await?;
    poll_until(
        "engine: up 0 for the killed exporter",
        Duration::from_secs(15),
        || {
            let v = engine_query(&engine, &up_exporter, None);
            async move { Ok(v?.first().map(|s| s.value) == Some(0.0)) }
        },
    )
    .await?;
    let down = scraper
        .targets()
        .into_iter()
        .find(|t| t.labels.get("instance") == Some(exporter_addr.as_str()))
        .expect("the exporter is a target");
    assert_eq!(down.health, Health::Down);
    assert!(
        down.last_error
            .as_deref()
            .is_some_and(|e| e.contains("onnection refused")),
        "{down:?}"
    );
    // Two intervals after the kill, in data time (wait until that time has passed).
    let t = killed_at + 2.0 * INTERVAL.as_secs_f64();
    poll_until(
        "two intervals after the kill",
        Duration::from_secs(10),
        || async move { Ok(now_secs() > t + 0.5) },
    )
    .await?;
    let series = format!(r#"{{instance="{exporter_addr}", __name__!~"up|scrape_.*"}}"#);
    let p = query_api_at(&prom.url(), &series, Some(t)).await?;
    let e = engine_query(&engine, &series, Some(t))?;
    assert!(
        p.is_empty() && e.is_empty(),
        "the killed exporter's series are still there two intervals after the kill:\n{}",
        side_by_side("prometheus", &p, "engine", &e)
    );
    for (name, v) in [
        (
            "prometheus",
            query_api_at(&prom.url(), &up_exporter, Some(t)).await?,
        ),
        ("engine", engine_query(&engine, &up_exporter, Some(t))?),
    ] {
        assert_eq!(v.len(), 1, "{name}: {v:?}");
        assert_eq!(v[0].value, 0.0, "{name}: {v:?}");
    }
    // Nothing scraped before the kill is lost; after it only the service counts.
    let at_kill = query_api_at(&prom.url(), total, Some(killed_at)).await?;
    assert_eq!(at_kill[0].value, 50.0, "{at_kill:?}");
    assert_eq!(
        engine_query(&engine, total, Some(killed_at))?[0].value,
        50.0
    );
    assert_eq!(
        query_api_at(&prom.url(), total, Some(t)).await?[0].value,
        30.0
    );
    assert_eq!(engine_query(&engine, total, Some(t))?[0].value, 30.0);

    // Stopping the scraper marks everything stale: nothing is left a moment later.
    scraper.stop().await;
    let after = now_secs() + 0.01;
    let left = engine_query(&engine, r#"{job="promdash"}"#, Some(after))?;
    assert!(left.is_empty(), "still there after stop: {left:?}");
    let before = engine_query(&engine, total, Some(after - 0.5))?;
    assert_eq!(before[0].value, 30.0, "{before:?}");
    drop(service);
    Ok(())
}
