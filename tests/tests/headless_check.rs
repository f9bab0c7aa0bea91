//! `promdash check` against a real Prometheus scraping the reference service under load:
//! 0 while latency is normal, PENDING and then 1 (FIRING) once p95 has been above the
//! threshold for longer than `for`, still 1 during `keep_firing_for` after recovery, 0
//! afterwards, and 2 once Prometheus is stopped.

use std::time::{Duration, Instant};

use promdash::headless::{CheckArgs, HeadlessCommand, Outcome};
use promdash_service::{LoadConfig, run_load_until};
use promdash_tests::headless::{check_args, run_headless};
use promdash_tests::{Faults, Prometheus, ServiceConfig, start_service};

const P95: &str =
    "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[5s])))";

fn dashboard() -> String {
    format!(
        r#"title = "check test"
refresh = "1s"

[[panels]]
title = "p95"
query = "{P95}"

[[alerts]]
name = "SlowP95"
expr = "{P95}"
op = ">"
threshold = 0.2
for = "4s"
keep_firing_for = "5s"
severity = "critical"
summary = "p95 is {{{{ $value }}}}s"

[[alerts]]
name = "NeverFires"
expr = 'app_request_count_total{{route="no-such-route"}}'
"#
    )
}

fn faults(latency_ms: u64) -> Faults {
    Faults {
        latency_ms,
        jitter_ms: 0,
        error_rate: 0.0,
    }
}

struct Checker {
    file: std::path::PathBuf,
    url: String,
}

impl Checker {
    async fn check(&self, instant: bool) -> (Outcome, String, String) {
        let args = CheckArgs {
            dashboard: Some(self.file.clone()),
            instant,
            ..check_args()
        };
        run_headless(HeadlessCommand::Check(args), &self.url).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_follows_for_and_keep_firing_for_and_fails_without_prometheus() {
    let service = start_service(ServiceConfig {
        faults: faults(5),
        ..ServiceConfig::ephemeral()
    })
    .await
    .expect("service");
    let mut prom = Prometheus::start(&[service.addr()])
        .await
        .expect("prometheus");
    let (stop_load, stopped) = tokio::sync::oneshot::channel::<()>();
    let load = tokio::spawn(run_load_until(
        LoadConfig {
            target: format!("{}/process", service.url()),
            rps: 40.0,
            duration: None,
            concurrency: 64,
            timeout: Duration::from_secs(10),
        },
        async {
            let _ = stopped.await;
        },
    ));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("check.toml");
    std::fs::write(&file, dashboard()).expect("write dashboard");
    let checker = Checker {
        file,
        url: prom.url(),
    };

    // Normal latency: p95 has data and is low; nothing fires.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let p95 = prom.query(P95).await.expect("query");
        if p95.len() == 1 && p95[0].value.is_finite() {
            assert!(p95[0].value < 0.2, "{p95:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no p95 yet: {p95:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (outcome, out, err) = checker.check(false).await;
    assert_eq!((outcome, outcome.code()), (Outcome::Ok, 0), "{out}{err}");
    assert!(out.contains("OK       SlowP95"), "{out}");
    assert!(out.contains("OK       NeverFires"), "{out}");
    assert!(out.contains("2 rules: 0 firing, 0 pending"), "{out}");

    // Slow: the condition turns true, stays PENDING for `for`, then FIRES.
    service.set_faults(faults(400)).expect("faults");
    let (mut saw_pending, deadline) = (false, Instant::now() + Duration::from_secs(60));
    let firing = loop {
        let (outcome, out, err) = checker.check(false).await;
        assert_ne!(outcome, Outcome::Failed, "{out}{err}");
        if outcome == Outcome::Firing {
            break out;
        }
        saw_pending |= out.contains("PENDING  SlowP95");
        assert!(Instant::now() < deadline, "never fired:\n{out}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(saw_pending, "fired without being pending for `for` first");
    assert_eq!(Outcome::Firing.code(), 1);
    let line = firing
        .lines()
        .find(|l| l.starts_with("FIRING   SlowP95"))
        .unwrap_or_else(|| panic!("no FIRING line:\n{firing}"));
    assert!(line.contains("severity=critical"), "{line}");
    let value: f64 = line
        .split("value=")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {line}"));
    assert!(value > 0.2, "{line}");
    assert!(
        line.contains(&format!("p95 is {value}s")),
        "summary: {line}"
    );
    assert!(firing.contains("OK       NeverFires"), "{firing}");
    assert!(firing.contains("2 rules: 1 firing"), "{firing}");

    // Fast again: the condition clears, the alert is kept firing for keep_firing_for
    // (an --instant check already says 0), then check says 0.
    service.set_faults(faults(5)).expect("faults");
    let (mut saw_kept, deadline) = (false, Instant::now() + Duration::from_secs(90));
    loop {
        let (instant, _, _) = checker.check(true).await;
        let (outcome, out, err) = checker.check(false).await;
        assert_ne!(outcome, Outcome::Failed, "{out}{err}");
        if outcome == Outcome::Ok {
            assert!(out.contains("2 rules: 0 firing, 0 pending"), "{out}");
            break;
        }
        saw_kept |= instant == Outcome::Ok && outcome == Outcome::Firing;
        assert!(Instant::now() < deadline, "never recovered:\n{out}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        saw_kept,
        "never saw the alert kept firing after its condition cleared"
    );

    // Prometheus gone: exit 2 with a clear message.
    prom.stop().await.expect("stop prometheus");
    let (outcome, out, err) = checker.check(false).await;
    assert_eq!(
        (outcome, outcome.code()),
        (Outcome::Failed, 2),
        "{out}{err}"
    );
    assert!(err.contains("cannot reach the server"), "{err}");
    assert!(err.contains("connection refused"), "{err}");

    let _ = stop_load.send(());
    let summary = load.await.expect("load task").expect("load ran");
    assert!(summary.ok > 0, "{summary}");
}

#[tokio::test]
async fn a_rejected_rule_query_is_an_error() {
    let prom = Prometheus::start(&[] as &[&str]).await.expect("prometheus");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "refresh = \"1s\"\n\n[[alerts]]\nname = \"Broken\"\nexpr = \"rate(up)\"\nfor = \"2s\"\n",
    )
    .expect("write");
    let checker = Checker {
        file,
        url: prom.url(),
    };
    let (outcome, out, err) = checker.check(false).await;
    assert_eq!(outcome, Outcome::Failed, "{out}{err}");
    assert!(
        err.contains("the query of alert \"Broken\" failed"),
        "{err}"
    );
    assert!(err.contains("expected type range vector"), "{err}");

    // A broken dashboard file is an error too, reported with line:col.
    std::fs::write(&checker.file, "refresh = 5\n").expect("write");
    let (outcome, _, err) = checker.check(false).await;
    assert_eq!(outcome, Outcome::Failed);
    assert!(err.contains("bad.toml:1:11:"), "{err}");
}
