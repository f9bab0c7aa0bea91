//! Issue 17: `check` and `query --range` against the real VictoriaMetrics as users run
//! it (default `-search.latencyOffset`, which hides the newest 30 s from range queries),
//! scraping a scripted exporter.
//!
//! - An always-true rule with a `for` is FIRING (a replay ending "now" saw nothing and
//!   said OK), and `check` says its replay ends 30 s ago.
//! - A 50 s breach of a rule with `for = "10s"` is seen (30 s late), never missed.
//! - A range query whose whole window is hidden says why it is empty.

use std::time::{Duration, Instant};

use promdash::headless::{CheckArgs, Format, HeadlessCommand, Outcome, QueryArgs};
use promdash_tests::connect::VictoriaDefaultOffset;
use promdash_tests::headless::{check_args, run_headless};
use promdash_tests::scripted::ScriptedExporter;

const DASHBOARD: &str = r#"title = "victoria"
refresh = "1s"

[[alerts]]
name = "Always"
expr = "level > 0"
for = "5s"

[[alerts]]
name = "Breach"
expr = "breach > 0"
for = "10s"
"#;

/// `query --range 20s --step 1s level` (as a table) against `url`.
async fn level_over_the_last_20s(url: &str) -> (Outcome, String, String) {
    let args = QueryArgs {
        expr: "level".into(),
        range: Some(Duration::from_secs(20)),
        step: Some(Duration::from_secs(1)),
        output: Format::Table,
        ..Default::default()
    };
    run_headless(HeadlessCommand::Query(args), url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_range_queries_on_victoria_metrics_mind_its_hidden_30_s() {
    let exporter = ScriptedExporter::start().await.expect("exporter");
    exporter.set("level", 1.0);
    exporter.set("breach", 0.0);
    let vm = VictoriaDefaultOffset::start(&[exporter.addr()])
        .await
        .expect("victoria-metrics");
    let url = vm.url();
    // Recognised from its buildinfo, as the TUI's status bar and inspector show it.
    let client =
        promdash_queries::PromClient::new(promdash_queries::ClientConfig::new(url.clone()))
            .expect("client");
    let backend = promdash_queries::MetricsSource::backend(&client).await;
    assert!(backend.is_victoria_metrics(), "{backend:?}");
    assert_eq!(
        backend.hidden_window(),
        Duration::from_secs(30),
        "the default -search.latencyOffset"
    );

    // `-o json` writes values as this server's API does: 0.000000001, not 1e-09.
    for expr in ["1e-9", "1.25e300", "1/3"] {
        let api: serde_json::Value = reqwest::get(format!("{url}/api/v1/query?query={expr}"))
            .await
            .expect("API")
            .json()
            .await
            .expect("JSON");
        let (outcome, out, err) = run_headless(
            HeadlessCommand::Query(QueryArgs {
                expr: expr.into(),
                time: None,
                range: None,
                step: None,
                output: Format::Json,
                dashboard: None,
                ..Default::default()
            }),
            &url,
        )
        .await;
        assert_eq!(outcome, Outcome::Ok, "{out}{err}");
        let ours: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        let ours = &ours["result"][0]["value"][1];
        let theirs = &api["data"]["result"][0]["value"][1];
        assert_eq!(ours, theirs, "{expr}: promdash {ours} vs API {theirs}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vm.toml");
    std::fs::write(&file, DASHBOARD).expect("write dashboard");
    let check = || {
        run_headless(
            HeadlessCommand::Check(CheckArgs {
                dashboard: Some(file.clone()),
                ..check_args()
            }),
            &url,
        )
    };

    // A range query over the last 20 s: always inside the hidden window, so empty, and
    // promdash says why.
    let (outcome, out, err) = level_over_the_last_20s(&url).await;
    assert_eq!(outcome, Outcome::Ok, "{out}{err}");
    assert!(
        err.contains("VictoriaMetrics hides its newest 30s from range queries"),
        "an empty hidden window is explained: {err}\n{}",
        vm.log()
    );

    // Always true: FIRING once the data is older than the hidden window (polled).
    let deadline = Instant::now() + Duration::from_secs(120);
    let (out, err) = loop {
        let (outcome, out, err) = check().await;
        assert_ne!(outcome, Outcome::Failed, "{out}{err}");
        if out.contains("FIRING   Always") {
            break (out, err);
        }
        assert!(
            Instant::now() < deadline,
            "an always-true rule never fired on VictoriaMetrics:\n{out}{err}\n{}",
            vm.log()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(out.contains("OK       Breach"), "{out}");
    assert!(
        err.contains("VictoriaMetrics hides its newest 30s from range queries")
            && err.contains("replayed up to 30s ago"),
        "check says where its replay ends: {err}"
    );

    // A 50 s breach: seen, 30 s late.
    exporter.set("breach", 1.0);
    let started = Instant::now();
    let mut seen = false;
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(95) {
        if started.elapsed() >= Duration::from_secs(50) {
            exporter.set("breach", 0.0);
        }
        let (_, out, _) = check().await;
        if out.contains("FIRING   Breach") {
            seen = true;
            break;
        }
        last = out;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(seen, "a 50 s breach was never seen; last check:\n{last}");
}

/// Started with `-search.latencyOffset=0s` (read from its `/flags` page), VictoriaMetrics
/// hides nothing: no note about a hidden window, and a range query ending now has data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_with_a_zero_latency_offset_hides_nothing() {
    let exporter = ScriptedExporter::start().await.expect("exporter");
    exporter.set("level", 1.0);
    exporter.set("breach", 0.0);
    let vm = promdash_tests::VictoriaMetrics::start(&[exporter.addr()])
        .await
        .expect("victoria-metrics");
    let url = vm.url();
    let client =
        promdash_queries::PromClient::new(promdash_queries::ClientConfig::new(url.clone()))
            .expect("client");
    let backend = promdash_queries::MetricsSource::backend(&client).await;
    assert!(backend.is_victoria_metrics(), "{backend:?}");
    assert_eq!(backend.hidden_window(), Duration::ZERO, "{backend:?}");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vm.toml");
    std::fs::write(&file, DASHBOARD).expect("write dashboard");
    // The last 20 s at 1 s: data as soon as two scrapes are in (polled), never a note.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (outcome, out, err) = level_over_the_last_20s(&url).await;
        assert_eq!(outcome, Outcome::Ok, "{out}{err}");
        assert!(!err.contains("hides its newest"), "{err}");
        if out.contains("level") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no data in the last 20 s: {out}{err}\n{}",
            vm.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (outcome, out, err) = run_headless(
        HeadlessCommand::Check(CheckArgs {
            dashboard: Some(file.clone()),
            ..check_args()
        }),
        &url,
    )
    .await;
    assert_ne!(outcome, Outcome::Failed, "{out}{err}");
    assert!(!err.contains("hides its newest"), "{err}");
}
