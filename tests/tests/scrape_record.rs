//! `promdash record` end to end, and the round trip of what it writes.
//!
//! - Round trip: the built `promdash record` scrapes promdash-service (under a bounded
//!   load with failing requests) and a port nobody listens on for 12 s at 1 s; the file
//!   is backfilled with `promtool tsdb create-blocks-from openmetrics` into a real
//!   Prometheus 2.42, and loaded into the engine (`Compat::V2`); every expression of the
//!   built-in dashboard (panels and alerts), plus `up` and the scrape series, answers the
//!   same from both at four times inside the recording (label sets equal, values within
//!   relative 1e-6). 12 s instead of the issue's 60 s: the dashboard's windows (`[1m]`,
//!   `[5m]`) then reach past the start of the data, which exercises rate()'s extrapolation
//!   at the edge of a series as well as the middle; a longer recording adds nothing the
//!   comparison could catch.
//! - The unreachable target kept the recording going and was reported; the file has its
//!   `up` 0.
//! - An unwritable `--out` fails before any scrape; a recording where no target ever
//!   answered still writes the file and exits 2.

use std::process::Stdio;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use promdash_engine::exposition::load_openmetrics;
use promdash_engine::promqltest::almost_equal;
use promdash_engine::source::Clock;
use promdash_engine::{Compat, EmbeddedSource, Engine, EngineOptions, Store, StoreConfig};
use promdash_queries::dashboard::default_dashboard;
use promdash_tests::connect::cli::promdash_binary;
use promdash_tests::scrape_support::{by_labels, engine_query, side_by_side};
use promdash_tests::{
    Prometheus, ServiceConfig, free_port, http_client, query_api_at, start_service,
};

async fn run_record(args: &[&str], timeout: Duration) -> anyhow::Result<(Option<i32>, String)> {
    let child = tokio::process::Command::new(promdash_binary()?)
        .arg("record")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            anyhow::anyhow!("promdash record {args:?} did not end within {timeout:?}")
        })??;
    Ok((
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_answers_like_prometheus_on_its_backfill() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let addr = service.addr().to_string();
    let dead = format!("127.0.0.1:{}", free_port()?);
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("rec.om");
    let out_arg = out.display().to_string();
    // Build first, so the recording's clock starts with the load.
    promdash_binary()?;

    // 60 requests, one every 100 ms, every fifth failing: done well before the end.
    let load = {
        let url = format!("http://{addr}/process");
        tokio::spawn(async move {
            let client = http_client();
            for i in 0..60 {
                let u = if i % 5 == 4 {
                    format!("{url}?fail=1")
                } else {
                    url.clone()
                };
                client.get(u).send().await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::Ok(60)
        })
    };
    let (code, stderr) = run_record(
        &[
            "--scrape",
            &addr,
            "--scrape",
            &dead,
            "--duration",
            "12s",
            "--interval",
            "1s",
            "--out",
            &out_arg,
        ],
        Duration::from_secs(60),
    )
    .await?;
    let sent = load.await??;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("recording 2 targets every 1s for 12s into"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("http://{dead}/metrics is DOWN"))
            && stderr.contains("still recording"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1/2 targets up"),
        "no progress line: {stderr}"
    );
    assert!(stderr.contains(&format!("to {out_arg}")), "{stderr}");

    let bytes = std::fs::read(&out)?;
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.ends_with("# EOF\n"),
        "{}",
        &text[text.len().saturating_sub(200)..]
    );
    assert!(
        text.contains("# TYPE app_request_count counter\n"),
        "no TYPE line"
    );
    assert!(text.contains("# TYPE app_request_latency_seconds histogram\n"));

    let mut store = Store::new(StoreConfig {
        retention_ms: i64::MAX / 4,
        ..StoreConfig::default()
    });
    let loaded = load_openmetrics(&mut store, &bytes)?;
    assert!(loaded > 300, "only {loaded} samples recorded");
    let end_ms = store.newest().expect("samples were recorded");
    let engine = EmbeddedSource::new(
        Arc::new(RwLock::new(store)),
        Engine::new(EngineOptions {
            compat: Compat::V2,
            ..EngineOptions::default()
        }),
    )
    .with_clock(Clock::NewestSample);
    let prom = Prometheus::start_on_openmetrics(&out).await?;

    let end = end_ms as f64 / 1000.0;
    let total = engine_query(&engine, "sum(app_request_count_total)", Some(end))?;
    assert_eq!(total[0].value, sent as f64, "the file lacks requests");
    let dead_up = engine_query(&engine, &format!(r#"up{{instance="{dead}"}}"#), Some(end))?;
    assert_eq!(dead_up.len(), 1);
    assert_eq!(dead_up[0].value, 0.0);

    let dashboard = default_dashboard();
    let mut exprs: Vec<String> = dashboard
        .panels
        .iter()
        .flat_map(|p| p.queries.iter().map(|q| q.expr.clone()))
        .chain(dashboard.alerts.iter().map(|a| a.expr.clone()))
        .collect();
    assert!(exprs.len() >= 5, "{exprs:?}");
    exprs.extend(
        [
            "up",
            "sum(app_request_count_total)",
            "scrape_samples_scraped",
            "rate(app_request_count_total[10s])",
        ]
        .map(String::from),
    );
    let mut compared = 0;
    let mut non_empty = 0;
    let mut diffs = String::new();
    for expr in &exprs {
        for t in [end, end - 2.5, end - 5.25, end - 8.0] {
            let p = query_api_at(&prom.url(), expr, Some(t)).await?;
            let e = engine_query(&engine, expr, Some(t))?;
            let (pm, em) = (by_labels(&p), by_labels(&e));
            let same = pm.len() == em.len()
                && pm
                    .iter()
                    .all(|(k, v)| em.get(k).is_some_and(|w| almost_equal(*v, *w)));
            compared += 1;
            non_empty += usize::from(!p.is_empty());
            if !same {
                diffs.push_str(&format!(
                    "{expr} at {t}:\n{}\n",
                    side_by_side("prometheus", &p, "engine", &e)
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "the recording answers differently:\n{diffs}"
    );
    assert!(
        non_empty * 2 > compared,
        "most answers were empty: {non_empty} of {compared}"
    );
    drop(service);
    Ok(())
}

#[tokio::test]
async fn unwritable_output_fails_before_scraping_and_no_answer_is_an_error() -> anyhow::Result<()> {
    let dead = format!("127.0.0.1:{}", free_port()?);
    let started = Instant::now();
    let (code, stderr) = run_record(
        &[
            "--scrape",
            &dead,
            "--duration",
            "10m",
            "--out",
            "/nonexistent-promdash-dir/x.om",
        ],
        Duration::from_secs(120),
    )
    .await?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write --out /nonexistent-promdash-dir/x.om"),
        "{stderr}"
    );
    assert!(!stderr.contains("recording"), "it started: {stderr}");
    // It did not wait for the 10 minutes.
    assert!(started.elapsed() < Duration::from_secs(110));

    let (code, stderr) = run_record(
        &["--scrape", "ftp://x/metrics", "--out", "/dev/null"],
        Duration::from_secs(60),
    )
    .await?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not http or https"), "{stderr}");

    let dir = tempfile::tempdir()?;
    let out = dir.path().join("nothing.om");
    let (code, stderr) = run_record(
        &[
            "--scrape",
            &dead,
            "--duration",
            "2s",
            "--interval",
            "500ms",
            "--out",
            &out.display().to_string(),
        ],
        Duration::from_secs(60),
    )
    .await?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no target answered"), "{stderr}");
    let text = std::fs::read_to_string(&out)?;
    assert!(
        text.contains("up{instance=") && text.ends_with("# EOF\n"),
        "{text}"
    );
    Ok(())
}
