//! Rule files on the embedded engine beyond `--scrape`: a recording replayed with
//! `--data FILE.om --rules FILE`, and `promdash demo --rules FILE`.
//!
//! - Replay: promdash-service is scraped for real after each batch of requests, written as
//!   OpenMetrics with timestamps 5 s apart; replayed with a rule file (interval 5 s) whose
//!   recording rules feed an alert and a panel. The rules follow the recording's clock:
//!   the alert's transitions are in the alerts view's history at the recording times the
//!   data dictates (pending at the first evaluation that sees the counter grow, firing
//!   `for` later, resolved at the first evaluation that sees it stand still), the banner
//!   ends as the rules stood at the recording's end, and a panel shows the recorded series.
//!   `--alertmanager` with `--data` is refused (a recording's alerts are history).
//! - Demo: the built-in service under its load, a rule file evaluated every second on the
//!   demo's engine: the alert fires into the banner and the alerts view, and a panel shows
//!   the recorded series. With `--prometheus` the rules query the demo's Prometheus.
//!
//! Needs `tmux` and, for the last test, `prometheus` (Debian: apt-get install tmux
//! prometheus); a missing one fails the test saying so.

use std::process::Command;
use std::time::Duration;

use promdash_tests::connect::promdash_binary;
use promdash_tests::record_service;
use promdash_tests::tmux::{Tmux, table_value};

const LIMIT: Duration = Duration::from_secs(60);

/// The history line of the alerts view for `rule` going `from` → `to` at `at`.
fn history_has(screen: &str, at: &str, rule: &str, from: &str, to: &str) -> bool {
    let arrow = format!("{from} → {to}");
    screen.lines().any(|l| {
        let l = l.trim_start_matches(['│', ' ']);
        l.starts_with(&format!("{at} {rule} ")) && l.contains(&arrow)
    })
}

const REPLAY_RULES: &str = "groups:
  - name: service
    interval: 5s
    rules:
      - record: service:requests:sum
        expr: sum(app_request_count_total)
      - alert: RequestsGrowing
        expr: service:requests:sum - service:requests:sum offset 5s > 0
        for: 5s
        annotations:
          summary: '{{ $value }} more requests'
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_recording_raises_its_alerts_on_its_own_clock() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("service.om");
    // 2026-11-25T10:00:00Z, then every 5 s until 10:00:55. Requests arrive in the batches
    // scraped at 10:00:20, :25, :30 and :35 (totals 10, 20, 30, 40), none after.
    let t0 = 1_795_600_800_000;
    record_service(&file, &[0, 0, 0, 0, 10, 10, 10, 10, 0, 0, 0, 0], t0).await?;
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, REPLAY_RULES)?;
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        "title = \"Replayed\"\n[[panels]]\ntitle = \"Recorded total\"\nkind = \"table\"\n\
         query = \"service:requests:sum\"\nwidth = 12\n",
    )?;
    let tmux = Tmux::start_promdash(
        "rules-replay",
        dir.path(),
        &[
            &"--data",
            &file,
            &"--rules",
            &rules,
            &"--dashboard",
            &dashboard,
        ],
    )?;
    // The panel reads the series the recording rule wrote into the replay's store: 40 at
    // the recording's end. The alert resolved at 10:00:40, 15 s before the end.
    let screen = tmux
        .wait_for("REPLAY, the recorded total and the banner", LIMIT, |s| {
            s.contains("REPLAY")
                && table_value(s, "Recorded total") == Some(40.0)
                && s.contains("RESOLVED RequestsGrowing")
        })
        .await?;
    assert!(!screen.contains("FIRING"), "{screen}");
    tmux.keys(&["a"])?;
    // The counter grew at the evaluations of 10:00:25 (10 more than at :20), :30 and
    // :35, not at :40: pending at :25, firing 5 s later, resolved at :40.
    let screen = tmux
        .wait_for("the history of the recording", LIMIT, |s| {
            history_has(s, "10:00:25", "RequestsGrowing", "inactive", "pending")
                && history_has(s, "10:00:30", "RequestsGrowing", "pending", "firing")
                && history_has(s, "10:00:40", "RequestsGrowing", "firing", "resolved")
        })
        .await?;
    // Exactly those three transitions: nothing before the counter existed or grew.
    let transitions = screen
        .lines()
        .filter(|l| l.contains("RequestsGrowing") && l.contains(" → "))
        .count();
    assert_eq!(transitions, 3, "{screen}");
    // The group's last evaluation was at the recording's last sample, where the replay's
    // time stands.
    assert!(screen.contains("evaluated 10:00:55 (0s ago)"), "{screen}");
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", LIMIT, |s| !s.contains("REPLAY"))
        .await?;
    Ok(())
}

#[test]
fn a_recording_with_an_alertmanager_is_refused_before_the_terminal() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("r.om");
    std::fs::write(&file, "up 1 100\nup 1 105\n# EOF\n")?;
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, REPLAY_RULES)?;
    let mut cmd = Command::new(promdash_binary()?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .arg("--data")
        .arg(&file)
        .arg("--rules")
        .arg(&rules)
        .args(["--alertmanager", "http://127.0.0.1:9"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--alertmanager is not used with --data"),
        "{err}"
    );
    // A broken rule file is named with its line before anything else happens.
    std::fs::write(
        &rules,
        "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up +\n",
    )?;
    let out = Command::new(promdash_binary()?)
        .arg("--data")
        .arg(&file)
        .arg("--rules")
        .arg(&rules)
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:5:", rules.display())), "{err}");
    Ok(())
}

const DEMO_RULES: &str = "groups:
  - name: demo
    interval: 1s
    rules:
      - record: demo:requests:total
        expr: sum(app_request_count_total)
      - alert: DemoTraffic
        expr: demo:requests:total > 0
        for: 2s
        labels:
          severity: critical
        annotations:
          summary: '{{ $value }} requests so far'
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_evaluates_rule_files_on_its_engine() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, DEMO_RULES)?;
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        "title = \"Demo rules\"\n[[panels]]\ntitle = \"Recorded total\"\nkind = \"table\"\n\
         query = \"demo:requests:total\"\nwidth = 12\n",
    )?;
    let tmux = Tmux::start_promdash(
        "rules-demo",
        dir.path(),
        &[
            &"demo",
            &"--rules",
            &rules,
            &"--dashboard",
            &dashboard,
            &"--rps",
            &"20",
        ],
    )?;
    // The panel queries what the recording rule wrote into the demo's store; the alert
    // on it fires into the banner.
    tmux.wait_for("the recorded series and the firing alert", LIMIT, |s| {
        table_value(s, "Recorded total").is_some_and(|v| v > 0.0)
            && s.contains("FIRING DemoTraffic")
    })
    .await?;
    tmux.keys(&["a"])?;
    let screen = tmux
        .wait_for("the alerts view", LIMIT, |s| {
            s.contains("requests so far") && s.contains("pending → firing")
        })
        .await?;
    assert!(screen.contains("demo"), "{screen}");
    assert!(screen.contains("FIRING"), "{screen}");
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", LIMIT, |s| !s.contains("Demo rules"))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_on_prometheus_evaluates_rule_files_against_it() -> anyhow::Result<()> {
    let rules_text = "groups:
  - name: demo
    interval: 1s
    rules:
      - alert: DemoServed
        expr: sum(app_request_count_total) > 0
        for: 2s
        annotations:
          summary: '{{ $value }} requests served'
";
    let dir = tempfile::tempdir()?;
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, rules_text)?;
    let prometheus = promdash_tests::find_binary("prometheus", "prometheus")?;
    let tmux = Tmux::start_promdash(
        "rules-demo-prom",
        dir.path(),
        &[
            &"demo",
            &"--prometheus",
            &"--prometheus-bin",
            &prometheus,
            &"--rules",
            &rules,
            &"--rps",
            &"20",
        ],
    )?;
    tmux.wait_for("the alert firing from Prometheus's data", LIMIT, |s| {
        s.contains("FIRING DemoServed")
    })
    .await?;
    tmux.keys(&["a"])?;
    let screen = tmux
        .wait_for("the alerts view", LIMIT, |s| {
            s.contains("requests served") && s.contains("pending → firing")
        })
        .await?;
    assert!(!screen.contains("unknown:"), "{screen}");
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", LIMIT, |s| !s.contains("DemoServed"))
        .await?;
    Ok(())
}
