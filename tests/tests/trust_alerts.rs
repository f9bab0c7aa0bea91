//! Issue 17: `promdash check` agrees with a real Prometheus 2.42 evaluating the same
//! rules every second over scripted input, and never says OK when it cannot tell.
//!
//! - `keep_firing_for`: an alert kept alive by a condition that comes and goes with
//!   pauses shorter than `keep_firing_for` is FIRING in Prometheus long after its last
//!   full `for` stretch; `check` must say FIRING too (it used to replay too little
//!   history and say OK).
//! - NaN: Prometheus fires `x != 0` on a NaN sample and a rule whose expression returns
//!   a NaN series; `x > 0.5` does not fire.
//! - Partial answers: an empty successful answer with `isPartial` or warnings is not
//!   "nothing fires": `check` prints the warnings, lists the rule UNKNOWN and exits 2.

use std::time::{Duration, Instant};

use promdash::headless::{CheckArgs, HeadlessCommand, Outcome};
use promdash_tests::Prometheus;
use promdash_tests::connect::{FaultMode, FaultProxy, PARTIAL_WARNING};
use promdash_tests::headless::{check_args, run_headless};
use promdash_tests::scripted::ScriptedExporter;

struct Checker {
    file: std::path::PathBuf,
    url: String,
}

impl Checker {
    fn new(dir: &tempfile::TempDir, dashboard: &str, url: String) -> Self {
        let file = dir.path().join("trust.toml");
        std::fs::write(&file, dashboard).expect("write dashboard");
        Self { file, url }
    }

    async fn check(&self) -> (Outcome, String, String) {
        self.check_as(promdash::headless::Report::Text).await
    }

    async fn check_as(&self, output: promdash::headless::Report) -> (Outcome, String, String) {
        let args = CheckArgs {
            dashboard: Some(self.file.clone()),
            output,
            ..check_args()
        };
        run_headless(HeadlessCommand::Check(args), &self.url).await
    }
}

/// The alert names Prometheus has firing now (from its `ALERTS` series).
async fn prometheus_firing(prom: &Prometheus) -> Vec<String> {
    let mut names: Vec<String> = prom
        .query("ALERTS{alertstate=\"firing\"}")
        .await
        .expect("ALERTS query")
        .into_iter()
        .filter_map(|s| s.labels.get("alertname").cloned())
        .collect();
    names.sort();
    names
}

/// Polls until Prometheus fires exactly `want` (sorted), up to a minute.
async fn wait_prometheus_firing(prom: &Prometheus, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = prometheus_firing(prom).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never fired {want:?} (fires {got:?})\n{}",
            prom.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

const FLAP_RULES: &str = r#"groups:
  - name: trust
    interval: 1s
    rules:
      - alert: Flap
        expr: flap > 0
        for: 10s
        keep_firing_for: 10s
"#;

const FLAP_DASHBOARD: &str = r#"title = "keep_firing_for"
refresh = "1s"

[[alerts]]
name = "Flap"
expr = "flap > 0"
for = "10s"
keep_firing_for = "10s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_firing_while_prometheus_keeps_an_alert_firing() {
    let exporter = ScriptedExporter::start().await.expect("exporter");
    exporter.set("flap", 0.0);
    let prom = Prometheus::start_with_rules(&[exporter.addr()], FLAP_RULES)
        .await
        .expect("prometheus");
    let dir = tempfile::tempdir().expect("temp dir");
    let checker = Checker::new(&dir, FLAP_DASHBOARD, prom.url());

    // Quiet: nothing fires, in Prometheus or in check.
    wait_prometheus_firing(&prom, &[]).await;
    let (outcome, out, err) = checker.check().await;
    assert_eq!(outcome, Outcome::Ok, "{out}{err}");

    // The condition holds long enough to fire ...
    exporter.set("flap", 1.0);
    wait_prometheus_firing(&prom, &["Flap"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // ... then comes and goes: 4 s off, 4 s on. Never `for` (10 s) on again, never
    // `keep_firing_for` (10 s) off: Prometheus keeps it firing all along.
    let flapping = Instant::now();
    let script = {
        let exporter_flap = std::sync::Arc::new(exporter);
        let e = std::sync::Arc::clone(&exporter_flap);
        let task = tokio::spawn(async move {
            for i in 0u32..30 {
                e.set("flap", if i % 2 == 0 { 0.0 } else { 1.0 });
                tokio::time::sleep(Duration::from_secs(4)).await;
            }
        });
        (exporter_flap, task)
    };

    // From 25 s into the flapping on (more than for + keep_firing_for + a step: the
    // last full `for` stretch is out of the old replay's window), poll both.
    let mut compared = 0;
    while flapping.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if flapping.elapsed() < Duration::from_secs(25) {
            continue;
        }
        let before = prometheus_firing(&prom).await;
        let (outcome, out, err) = checker.check().await;
        let after = prometheus_firing(&prom).await;
        assert_eq!(
            (before.as_slice(), after.as_slice()),
            (
                ["Flap".to_owned()].as_slice(),
                ["Flap".to_owned()].as_slice()
            ),
            "the script should keep Prometheus firing\n{}",
            prom.log()
        );
        assert_eq!(
            outcome,
            Outcome::Firing,
            "Prometheus says Flap is FIRING, check said:\n{out}{err}"
        );
        assert!(out.contains("FIRING   Flap"), "{out}");
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} comparisons");
    script.1.abort();

    // Off for good: once keep_firing_for has passed, both say resolved.
    script.0.set("flap", 0.0);
    wait_prometheus_firing(&prom, &[]).await;
    let (outcome, out, err) = checker.check().await;
    assert_eq!(outcome, Outcome::Ok, "{out}{err}");
}

const NAN_RULES: &str = r#"groups:
  - name: nan
    interval: 1s
    rules:
      - alert: NotZero
        expr: ratio != 0
      - alert: Returned
        expr: ratio
      - alert: Above
        expr: ratio > 0.5
      - alert: Equal
        expr: ratio == 0
"#;

const NAN_DASHBOARD: &str = r#"title = "NaN"
refresh = "1s"

[[alerts]]
name = "NotZero"
expr = "ratio"
op = "!="
threshold = 0

[[alerts]]
name = "Returned"
expr = "ratio"

[[alerts]]
name = "Above"
expr = "ratio"
threshold = 0.5

[[alerts]]
name = "Equal"
expr = "ratio"
op = "=="
threshold = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nan_samples_fire_the_rules_prometheus_fires() {
    let exporter = ScriptedExporter::start().await.expect("exporter");
    exporter.set("ratio", f64::NAN);
    let prom = Prometheus::start_with_rules(&[exporter.addr()], NAN_RULES)
        .await
        .expect("prometheus");
    let dir = tempfile::tempdir().expect("temp dir");
    let checker = Checker::new(&dir, NAN_DASHBOARD, prom.url());

    wait_prometheus_firing(&prom, &["NotZero", "Returned"]).await;
    let (outcome, out, err) = checker.check().await;
    assert_eq!(outcome, Outcome::Firing, "{out}{err}");
    let has = |out: &str, start: &str, rest: &str| {
        out.lines()
            .any(|l| l.starts_with(start) && l.contains(rest))
    };
    for (start, rest) in [
        ("FIRING   NotZero {", "value=NaN"),
        ("FIRING   Returned {", "value=NaN"),
        ("OK       Above", ""),
        ("OK       Equal", ""),
        ("4 rules: 2 firing, 0 pending", ""),
    ] {
        assert!(
            has(&out, start, rest),
            "Prometheus fires {:?}; check said:\n{out}",
            prometheus_firing(&prom).await
        );
    }

    // Zero: `==` fires, `!=` does not.
    exporter.set("ratio", 0.0);
    wait_prometheus_firing(&prom, &["Equal", "Returned"]).await;
    let (_, out, _) = checker.check().await;
    assert!(has(&out, "FIRING   Equal {", "value=0"), "{out}");
    assert!(has(&out, "FIRING   Returned {", "value=0"), "{out}");
    assert!(out.contains("OK       NotZero"), "{out}");
}

const PARTIAL_DASHBOARD: &str = r#"title = "partial"
refresh = "1s"

[[alerts]]
name = "Held"
expr = "held > 0"
for = "2s"

[[alerts]]
name = "Now"
expr = "held > 0"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_answers_are_unknown_never_ok() {
    let exporter = ScriptedExporter::start().await.expect("exporter");
    exporter.set("held", 1.0);
    let prom = Prometheus::start(&[exporter.addr()])
        .await
        .expect("prometheus");
    let upstream = prom
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    // Prometheus is not taken for VictoriaMetrics (whose hidden window would delay check).
    let client = promdash_queries::PromClient::new(promdash_queries::ClientConfig::new(prom.url()))
        .expect("client");
    let backend = promdash_queries::MetricsSource::backend(&client).await;
    assert!(
        matches!(&backend, promdash_queries::backend::Backend::Prometheus { version } if version.starts_with("2.42")),
        "{backend:?}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let checker = Checker::new(&dir, PARTIAL_DASHBOARD, proxy.url());

    // Through the healthy proxy both fire (once `held` has been seen for 2 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (outcome, out, err) = checker.check().await;
        if outcome == Outcome::Firing && out.contains("2 rules: 2 firing") {
            break;
        }
        assert!(Instant::now() < deadline, "never fired:\n{out}{err}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    for is_partial in [true, false] {
        proxy.set_mode(FaultMode::PartialEmpty { is_partial });
        let (outcome, out, err) = checker.check().await;
        assert_eq!(
            (outcome, outcome.code()),
            (Outcome::Failed, 2),
            "isPartial={is_partial}: an empty partial answer is not OK\n{out}{err}"
        );
        assert!(!out.contains("OK "), "{out}");
        for rule in ["Held", "Now"] {
            assert!(
                out.contains(&format!("UNKNOWN  {rule}  ")),
                "isPartial={is_partial}:\n{out}"
            );
            assert!(
                err.contains(&format!("warning: alert {rule:?}: {PARTIAL_WARNING}")),
                "the server's warning is printed: {err}"
            );
        }
        let first = if is_partial {
            "partial answer"
        } else {
            "answer with warnings"
        };
        assert!(out.contains(first), "{out}");
        assert!(
            out.contains("2 rules: 0 firing, 0 pending, 2 unknown"),
            "{out}"
        );
    }

    // Healthy again: firing again.
    proxy.set_mode(FaultMode::Healthy);
    let (outcome, out, err) = checker.check().await;
    assert_eq!(outcome, Outcome::Firing, "{out}{err}");
}
