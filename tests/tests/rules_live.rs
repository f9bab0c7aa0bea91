//! Rule files in the running dashboard against a real Prometheus 2.42 (issue 13, proof 1).
//!
//! One rule file (`fixtures/rules/live/service.yml`: two groups, a recording rule a later
//! rule uses, `for`, templated labels and annotations) is loaded into Prometheus
//! (`rule_files`, 1 s evaluation, scraping promdash-service every second) and into promdash
//! pointed at that Prometheus, twice: the dashboard's own scheduler
//! ([`promdash::rules::Scheduler`], the code `--rules` runs) in this process, whose every
//! evaluation the test sees, and the `promdash --rules` binary in tmux with its alerts
//! view open. The service's error rate is driven through `/admin/faults` under a steady
//! load:
//!
//! 1. a spike shorter than `for`: pending on both sides, firing on neither;
//! 2. a sustained breach: firing on both, the same label sets and rendered annotations as
//!    Prometheus's `/api/v1/alerts`, `activeAt` and the first firing evaluation (the first
//!    `ALERTS{alertstate="firing"}` sample) within one evaluation interval of Prometheus's;
//! 3. recovery: resolved on both, the resolution within one interval of Prometheus's (the
//!    evaluation after its last firing `ALERTS` sample);
//! 4. a breach again, then Prometheus killed while firing: every rule turns unhealthy, the
//!    alerts stay firing in every later evaluation, and the dashboard shows the groups
//!    `err` and never a resolution.
//!
//! A second rule file flaps under `keep_firing_for` over scripted input (see the last
//! test): firing all along on both sides, resolved on both when the condition stops.
//!
//! Every step waits for a condition (bounded), never a fixed time.
//!
//! Needs `prometheus` (apt-get install prometheus) and `tmux` (apt-get install tmux); a
//! missing one fails the test naming it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use promdash::app::Msg;
use promdash::rules::{GroupEvaluation, RemoteBackend, Scheduler};
use promdash_queries::alert::ServerAlert;
use promdash_queries::rules::eval::{AlertStatus, EvalContext, Health};
use promdash_queries::rules::template::LabelMap;
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::connect::promdash_binary;
use promdash_tests::tmux::Tmux;
use promdash_tests::{Prometheus, ServiceBinary};
use tokio::sync::mpsc::UnboundedReceiver;

const RULES: &str = include_str!("../fixtures/rules/live/service.yml");
const RULES_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/rules/live/service.yml"
);

/// The evaluation interval of both groups, ms.
const INTERVAL_MS: i64 = 1000;

/// Longest wait for any one step.
const LIMIT: Duration = Duration::from_secs(60);

/// An alert as both sides show it: labels (with `alertname`), annotations, state word.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Shown {
    labels: LabelMap,
    annotations: LabelMap,
    state: String,
}

fn map(l: &promdash_queries::model::Labels) -> LabelMap {
    l.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Prometheus's active alerts, by label set.
async fn prom_alerts(client: &PromClient) -> anyhow::Result<Vec<ServerAlert>> {
    client.alerts().await.context("/api/v1/alerts")
}

fn shown_prom(alerts: &[ServerAlert]) -> Vec<Shown> {
    let mut v: Vec<Shown> = alerts
        .iter()
        .map(|a| Shown {
            labels: map(&a.labels),
            annotations: map(&a.annotations),
            state: a.state.clone(),
        })
        .collect();
    v.sort();
    v
}

/// Unix ms of an RFC 3339 time.
fn rfc3339_ms(s: &str) -> anyhow::Result<i64> {
    let t = promdash::headless::time::parse_time(s).map_err(anyhow::Error::msg)?;
    Ok((t * 1000.0).round() as i64)
}

/// What the in-process scheduler said: the newest evaluation of each group, and every
/// evaluation since the start.
struct Ours {
    rx: UnboundedReceiver<Msg>,
    latest: BTreeMap<String, GroupEvaluation>,
    log: Vec<GroupEvaluation>,
}

/// The dashboard's scheduler in this process: the groups of `files` (every 60 s unless
/// they say otherwise) evaluated against `client` as `--rules` does, `consumers` the
/// panels it warns about. Its evaluations come out of the receiver; it ends when that is
/// dropped.
fn start_scheduler(
    client: &PromClient,
    files: &[std::path::PathBuf],
    consumers: Vec<(String, String)>,
) -> anyhow::Result<UnboundedReceiver<Msg>> {
    let groups =
        promdash::rules::load(files, Duration::from_secs(60)).map_err(anyhow::Error::msg)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let backend = RemoteBackend {
        source: Arc::new(client.clone()),
        handle: tokio::runtime::Handle::current(),
    };
    Scheduler::new(groups, EvalContext::default())
        .with_consumers(consumers)
        .start(Box::new(backend), true, tx)?;
    Ok(rx)
}

impl Ours {
    /// The scheduler of [`start_scheduler`] on `files`, nothing seen yet.
    fn start(client: &PromClient, files: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        Ok(Ours {
            rx: start_scheduler(client, files, Vec::new())?,
            latest: BTreeMap::new(),
            log: Vec::new(),
        })
    }

    fn drain(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Rules(ev) = msg {
                self.latest.insert(ev.group.name.clone(), (*ev).clone());
                self.log.push(*ev);
            }
        }
    }

    /// Active (pending or firing) alerts, as Prometheus's `/api/v1/alerts` lists them.
    fn active(&self) -> Vec<Shown> {
        let mut v: Vec<Shown> = self
            .latest
            .values()
            .flat_map(|ev| ev.alerts())
            .filter(|a| a.state != AlertStatus::Inactive)
            .map(|a| Shown {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                state: a.state.as_str().to_owned(),
            })
            .collect();
        v.sort();
        v
    }

    fn alert(&self, name: &str) -> Option<&promdash_queries::rules::eval::Alert> {
        self.latest
            .values()
            .flat_map(|ev| ev.alerts())
            .find(|a| a.labels["alertname"] == name)
    }

    fn state_of(&self, name: &str) -> Option<AlertStatus> {
        self.alert(name).map(|a| a.state)
    }
}

/// Polls Prometheus and the scheduler every 100 ms until `pred(prometheus, ours)` holds.
async fn until(
    what: &str,
    client: &PromClient,
    ours: &mut Ours,
    seen_prom: &mut Vec<Shown>,
    pred: impl Fn(&[ServerAlert], &Ours) -> bool,
) -> anyhow::Result<Vec<ServerAlert>> {
    let deadline = Instant::now() + LIMIT;
    loop {
        ours.drain();
        let prom = prom_alerts(client).await?;
        seen_prom.extend(shown_prom(&prom));
        if pred(&prom, ours) {
            return Ok(prom);
        }
        if Instant::now() > deadline {
            bail!(
                "timed out after {LIMIT:?} waiting for {what}; Prometheus: {:?}; promdash: {:?}",
                shown_prom(&prom),
                ours.active()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has(prom: &[ServerAlert], name: &str, state: &str) -> bool {
    prom.iter()
        .any(|a| a.labels.get("alertname") == Some(name) && a.state == state)
}

/// Sets the service's error rate through its admin API.
async fn set_error_rate(service: &ServiceBinary, rate: f64) -> anyhow::Result<()> {
    let r = promdash_tests::http_client()
        .put(format!("{}/admin/faults", service.url()))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"error_rate": {rate}, "latency_ms": 1, "jitter_ms": 0}}"#
        ))
        .send()
        .await?;
    ensure!(r.status().is_success(), "PUT /admin/faults: {}", r.status());
    Ok(())
}

/// Timestamps (ms) of Prometheus's `ALERTS{alertname=name, alertstate="firing"}` samples
/// over the last `range`.
async fn firing_samples(url: &str, name: &str, range: &str) -> anyhow::Result<Vec<i64>> {
    let expr = format!("ALERTS{{alertname=\"{name}\",alertstate=\"firing\"}}[{range}]");
    let body: serde_json::Value = promdash_tests::http_client()
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", expr.as_str())])
        .send()
        .await?
        .json()
        .await?;
    let mut out: Vec<i64> = body["data"]["result"]
        .as_array()
        .with_context(|| format!("{expr}: {body}"))?
        .iter()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p[0].as_f64())
        .map(|t| (t * 1000.0).round() as i64)
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Whether a line of `screen` holds every one of `parts`.
fn line_with(screen: &str, parts: &[&str]) -> bool {
    screen.lines().any(|l| parts.iter().all(|p| l.contains(p)))
}

/// How many lines of `screen` hold every one of `parts`.
fn lines_with(screen: &str, parts: &[&str]) -> usize {
    screen
        .lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .count()
}

/// The label part of a row in the alerts view for `labels` (without `alertname`).
fn labels_text(labels: &LabelMap) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "alertname")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_files_in_the_dashboard_match_prometheus() -> anyhow::Result<()> {
    let mut service =
        ServiceBinary::start(&["--admin", "--latency-ms", "1", "--jitter-ms", "0"]).await?;
    set_error_rate(&service, 0.0).await?;
    // A steady load: ~40 requests a second until the test ends.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (stop, url) = (Arc::clone(&stop), format!("{}/process", service.url()));
        tokio::spawn(async move {
            let http = promdash_tests::http_client();
            while !stop.load(Ordering::Relaxed) {
                let _ = http.get(&url).send().await;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };
    let mut prom = Prometheus::start_with_rules(&[service.addr()], RULES).await?;
    let client = PromClient::new(ClientConfig::new(prom.url())).context("client")?;

    // The dashboard's scheduler, in this process.
    let mut ours = Ours::start(&client, &[RULES_PATH.into()])?;

    // The binary, in tmux, alerts view open.
    let dir = tempfile::tempdir()?;
    let args: Vec<String> = [
        "--url",
        &prom.url(),
        "--rules",
        RULES_PATH,
        "--evaluation-interval",
        "1s",
        "--refresh",
        "1s",
        "--log-file",
        &dir.path().join("promdash.log").display().to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let tmux = Tmux::start("rules-live", (200, 50), &promdash_binary()?, &args, &[])?;
    tmux.wait_for("the dashboard", LIMIT, |s| s.contains("? help"))
        .await?;
    tmux.keys(&["a"])?;
    tmux.wait_for("both groups evaluated", LIMIT, |s| {
        s.contains("ok   errors") && s.contains("ok   targets")
    })
    .await?;

    let mut seen_prom = Vec::new();
    // 0. Both see the target up (TargetUp fires after 2s): the same alert.
    let prom_now = until(
        "TargetUp firing on both",
        &client,
        &mut ours,
        &mut seen_prom,
        |p, o| has(p, "TargetUp", "firing") && o.state_of("TargetUp") == Some(AlertStatus::Firing),
    )
    .await?;
    let target_up: Vec<Shown> = shown_prom(&prom_now)
        .into_iter()
        .filter(|a| a.labels["alertname"] == "TargetUp")
        .collect();
    let ours_up: Vec<Shown> = ours
        .active()
        .into_iter()
        .filter(|a| a.labels["alertname"] == "TargetUp")
        .collect();
    assert_eq!(ours_up, target_up, "TargetUp: labels, annotations, state");
    assert!(
        target_up[0].annotations["description"].ends_with("up=1 loopback"),
        "{target_up:?}"
    );

    // 1. A spike shorter than `for` (8s): errors until Prometheus has the alert pending.
    set_error_rate(&service, 1.0).await?;
    until(
        "ErrorsHigh pending at Prometheus",
        &client,
        &mut ours,
        &mut seen_prom,
        |p, _| has(p, "ErrorsHigh", "pending"),
    )
    .await?;
    set_error_rate(&service, 0.0).await?;
    until(
        "ErrorsHigh gone on both",
        &client,
        &mut ours,
        &mut seen_prom,
        |p, o| {
            !p.iter()
                .any(|a| a.labels.get("alertname") == Some("ErrorsHigh"))
                && o.alert("ErrorsHigh").is_none()
        },
    )
    .await?;
    let pending_seen = ours.log.iter().any(|ev| {
        ev.alerts()
            .any(|a| a.labels["alertname"] == "ErrorsHigh" && a.state == AlertStatus::Pending)
    });
    assert!(pending_seen, "promdash saw the spike as pending");
    let fired = |log: &[GroupEvaluation]| {
        log.iter().any(|ev| {
            ev.alerts()
                .any(|a| a.labels["alertname"] == "ErrorsHigh" && a.state == AlertStatus::Firing)
        })
    };
    assert!(!fired(&ours.log), "the spike never fires in promdash");
    assert!(
        !seen_prom
            .iter()
            .any(|a| a.labels["alertname"] == "ErrorsHigh" && a.state == "firing"),
        "nor in Prometheus"
    );
    let screen = tmux
        .wait_for("the spike in the history", LIMIT, |s| {
            line_with(s, &["ErrorsHigh", "inactive → pending"])
        })
        .await?;
    assert!(
        !line_with(&screen, &["ErrorsHigh", "→ firing"]),
        "the history shows the spike pending, never firing:\n{screen}"
    );

    // 2. A sustained breach: firing on both, the same alerts.
    set_error_rate(&service, 1.0).await?;
    let prom_now = until(
        "ErrorsHigh firing on both",
        &client,
        &mut ours,
        &mut seen_prom,
        |p, o| {
            has(p, "ErrorsHigh", "firing") && o.state_of("ErrorsHigh") == Some(AlertStatus::Firing)
        },
    )
    .await?;
    let theirs: Vec<&ServerAlert> = prom_now
        .iter()
        .filter(|a| a.labels.get("alertname") == Some("ErrorsHigh"))
        .collect();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    let mine = ours.alert("ErrorsHigh").context("ours")?.clone();
    assert_eq!(mine.labels, map(&theirs[0].labels), "label sets");
    assert_eq!(
        mine.annotations,
        map(&theirs[0].annotations),
        "rendered annotations"
    );
    assert_eq!(mine.labels["severity"], "critical");
    assert_eq!(
        mine.annotations["runbook"],
        "https://runbooks.example/PROCESS"
    );
    let prom_active = rfc3339_ms(theirs[0].active_at.as_deref().context("activeAt")?)?;
    assert!(
        (mine.active_at - prom_active).abs() <= INTERVAL_MS,
        "activeAt: promdash {} vs Prometheus {prom_active}",
        mine.active_at
    );
    let prom_fired = *firing_samples(&prom.url(), "ErrorsHigh", "1m")
        .await?
        .first()
        .context("Prometheus's first firing ALERTS sample")?;
    let mine_fired = mine.fired_at.context("fired_at")?;
    assert!(
        (mine_fired - prom_fired).abs() <= INTERVAL_MS,
        "firing: promdash {mine_fired} vs Prometheus {prom_fired}"
    );
    let labels = labels_text(&mine.labels);
    let row = ["FIRING", "ErrorsHigh", labels.as_str()];
    let screen = tmux
        .wait_for("ErrorsHigh firing in the alerts view", LIMIT, |s| {
            line_with(s, &row) && s.contains(" FIRING ErrorsHigh ")
        })
        .await?;
    assert!(screen.contains("errors on /process"), "{screen}");

    // 3. Recovery: resolved on both.
    set_error_rate(&service, 0.0).await?;
    until(
        "ErrorsHigh resolved on both",
        &client,
        &mut ours,
        &mut seen_prom,
        |p, o| {
            !p.iter()
                .any(|a| a.labels.get("alertname") == Some("ErrorsHigh"))
                && o.alert("ErrorsHigh")
                    .is_some_and(|a| a.state == AlertStatus::Inactive)
        },
    )
    .await?;
    let resolved = ours
        .alert("ErrorsHigh")
        .and_then(|a| a.resolved_at)
        .context("resolved_at")?;
    let last_firing = *firing_samples(&prom.url(), "ErrorsHigh", "2m")
        .await?
        .last()
        .context("Prometheus's last firing ALERTS sample")?;
    // Prometheus resolved it at its next evaluation.
    let prom_resolved = last_firing + INTERVAL_MS;
    assert!(
        (resolved - prom_resolved).abs() <= INTERVAL_MS,
        "resolution: promdash {resolved} vs Prometheus {prom_resolved}"
    );
    tmux.wait_for("the resolution in the history", LIMIT, |s| {
        line_with(s, &["ErrorsHigh", "firing → resolved"])
    })
    .await?;

    // 4. A breach again, then Prometheus killed while it fires.
    set_error_rate(&service, 1.0).await?;
    until(
        "ErrorsHigh firing again on both",
        &client,
        &mut ours,
        &mut seen_prom,
        |p, o| {
            has(p, "ErrorsHigh", "firing") && o.state_of("ErrorsHigh") == Some(AlertStatus::Firing)
        },
    )
    .await?;
    let screen = tmux
        .wait_for("firing again in the view", LIMIT, |s| {
            // The banner shows the current state (the history has the earlier firing).
            s.contains(" FIRING ErrorsHigh ")
        })
        .await?;
    let resolutions_before = lines_with(&screen, &["firing → resolved"]);
    prom.stop().await?;
    let killed_at = ours.log.len();
    // Three failed evaluations of each group after the kill.
    let deadline = Instant::now() + LIMIT;
    loop {
        ours.drain();
        let bad = |name: &str| {
            ours.log[killed_at..]
                .iter()
                .filter(|ev| ev.group.name == name && ev.group.health() == Health::Bad)
                .count()
        };
        if bad("errors") >= 3 && bad("targets") >= 3 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "no failing evaluations after the kill: {:?}",
            ours.log[killed_at..]
                .iter()
                .map(|e| (e.group.name.clone(), e.group.health()))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for ev in &ours.log[killed_at..] {
        for a in ev.alerts() {
            assert_eq!(
                a.state,
                AlertStatus::Firing,
                "no alert changes state during the outage: {:?}",
                a.labels
            );
        }
        if ev.group.health() == Health::Bad {
            assert!(
                ev.group
                    .rules
                    .iter()
                    .all(|r| r.health == Health::Bad && r.last_error.is_some()),
                "every rule unhealthy with its error"
            );
        }
    }
    let screen = tmux
        .wait_for("both groups unhealthy in the view", LIMIT, |s| {
            s.contains("err  errors") && s.contains("err  targets")
        })
        .await?;
    assert!(
        line_with(&screen, &["FIRING (stale)", "ErrorsHigh"]),
        "still firing:\n{screen}"
    );
    assert!(screen.contains(" FIRING ErrorsHigh "), "banner:\n{screen}");
    assert_eq!(
        lines_with(&screen, &["firing → resolved"]),
        resolutions_before,
        "no resolution from the outage:\n{screen}"
    );
    assert!(
        screen.contains("unknown: "),
        "the rows say why they are unknown:\n{screen}"
    );

    stop.store(true, Ordering::Relaxed);
    let _ = traffic.await;
    tmux.keys(&["q"])?;
    service.stop().await?;
    Ok(())
}

/// Against a Prometheus that does not run the rule file, the series a recording rule
/// records here is missing there: the group's evaluation warns, naming the series, the
/// rule and the panel that need it; the rules themselves evaluate without error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_series_the_server_lacks_is_a_warning() -> anyhow::Result<()> {
    let service = ServiceBinary::start(&[]).await?;
    // Errors, so that the recording rule has something to record.
    let http = promdash_tests::http_client();
    for _ in 0..5 {
        http.get(format!("{}/process?fail=1", service.url()))
            .send()
            .await?;
    }
    let prom = Prometheus::start(&[service.addr()]).await?;
    let client = PromClient::new(ClientConfig::new(prom.url())).context("client")?;
    let mut rx = start_scheduler(
        &client,
        &[RULES_PATH.into()],
        vec![
            ("Errors".to_owned(), "sum(route:errors:rate3s)".to_owned()),
            (
                "Requests".to_owned(),
                "sum(app_request_count_total)".to_owned(),
            ),
        ],
    )?;
    let deadline = Instant::now() + LIMIT;
    let ev = loop {
        let msg = tokio::time::timeout_at(deadline.into(), rx.recv())
            .await
            .context("no evaluation of the errors group")?;
        match msg {
            Some(Msg::Rules(ev))
                if ev.group.name == "errors" && !ev.group.rules[0].last_output.is_empty() =>
            {
                break ev;
            }
            Some(_) => {}
            None => bail!("the scheduler ended"),
        }
    };
    assert_eq!(ev.group.health(), Health::Good, "{:?}", ev.group.rules);
    assert_eq!(ev.warnings.len(), 1, "{:?}", ev.warnings);
    let w = &ev.warnings[0];
    assert!(
        w.contains("the server has no series route:errors:rate3s")
            && w.contains("rule \"ErrorsHigh\"")
            && w.contains("panel \"Errors\"")
            && !w.contains("Requests"),
        "{w}"
    );
    assert_eq!(ev.group.rules[0].last_output[0].labels["route"], "/process");
    Ok(())
}

/// Flapping under `keep_firing_for` (2.42 accepts it), against Prometheus evaluating the
/// same rule over scripted input: the condition comes and goes every 3 s (shorter than
/// `for`, shorter than `keep_firing_for`), so Prometheus keeps the alert firing all along;
/// the dashboard's scheduler must too. When the condition stops for good, both resolve,
/// within one evaluation interval (plus the polling) of each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_under_keep_firing_for_stays_firing_on_both() -> anyhow::Result<()> {
    const FLAP: &str = "groups:
  - name: flap
    interval: 1s
    rules:
      - alert: Flap
        expr: flap == 1
        for: 4s
        keep_firing_for: 10s
        labels:
          severity: page
        annotations:
          summary: 'flap is {{ $value }}'
";
    let exporter = promdash_tests::scripted::ScriptedExporter::start().await?;
    exporter.set("flap", 0.0);
    let prom = Prometheus::start_with_rules(&[exporter.addr()], FLAP).await?;
    let client = PromClient::new(ClientConfig::new(prom.url())).context("client")?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("flap.yml");
    std::fs::write(&path, FLAP)?;
    let mut ours = Ours::start(&client, &[path])?;
    let mut seen_prom = Vec::new();

    exporter.set("flap", 1.0);
    until(
        "Flap firing on both",
        &client,
        &mut ours,
        &mut seen_prom,
        |p, o| has(p, "Flap", "firing") && o.state_of("Flap") == Some(AlertStatus::Firing),
    )
    .await?;

    // 24 s of flapping: 3 s off, 3 s on.
    let exporter = Arc::new(exporter);
    let script = {
        let e = Arc::clone(&exporter);
        tokio::spawn(async move {
            for i in 0u32..8 {
                e.set("flap", if i % 2 == 0 { 0.0 } else { 1.0 });
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        })
    };
    let mut polls = 0;
    while !script.is_finished() {
        ours.drain();
        let prom_alerts = prom_alerts(&client).await?;
        ensure!(
            has(&prom_alerts, "Flap", "firing"),
            "Prometheus stopped firing while flapping (the scenario, not promdash, is off): {:?}",
            shown_prom(&prom_alerts)
        );
        ensure!(
            ours.state_of("Flap") == Some(AlertStatus::Firing),
            "promdash left firing while Prometheus kept it (keep_firing_for): {:?}",
            ours.alert("Flap")
        );
        polls += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ensure!(polls > 20, "only {polls} comparisons while flapping");

    // Off for good: both resolve, close together.
    exporter.set("flap", 0.0);
    let deadline = Instant::now() + LIMIT;
    let (mut prom_resolved, mut ours_resolved) = (None, None);
    let (p, o) = loop {
        if let (Some(p), Some(o)) = (prom_resolved, ours_resolved) {
            break (p, o);
        }
        ensure!(
            Instant::now() < deadline,
            "not resolved on both within {LIMIT:?}"
        );
        ours.drain();
        let prom_alerts = prom_alerts(&client).await?;
        if prom_resolved.is_none()
            && !prom_alerts
                .iter()
                .any(|a| a.labels.get("alertname") == Some("Flap"))
        {
            prom_resolved = Some(Instant::now());
        }
        if ours_resolved.is_none() && ours.state_of("Flap") == Some(AlertStatus::Inactive) {
            ours_resolved = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let apart = if p > o { p - o } else { o - p };
    ensure!(
        apart <= Duration::from_millis(INTERVAL_MS as u64 * 2),
        "resolved {apart:?} apart (Prometheus {:?} after, promdash {:?} after the last poll)",
        p.elapsed(),
        o.elapsed()
    );
    let resolved = ours.alert("Flap").context("resolved alert kept")?;
    ensure!(resolved.resolved_at.is_some(), "{resolved:?}");
    script.await?;
    Ok(())
}
