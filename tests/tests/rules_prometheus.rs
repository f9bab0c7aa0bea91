//! Rule evaluation (`promdash_queries::rules::eval`) against a real Prometheus 2.42's rule
//! manager: one rule file (two groups on their own intervals, `for`, `keep_firing_for`,
//! templated labels and annotations, a recorded series used by a later group) loaded into
//! Prometheus (`rule_files`) over a scripted exporter: a spike shorter than `for`, a
//! sustained breach, a value change that changes a templated label (a new alert), recovery,
//! flapping, a steady breach, then Prometheus killed while firing.
//!
//! The file's `eval_tick` recording rules leave a sample at every evaluation Prometheus made;
//! promdash then evaluates the same groups at exactly those timestamps, querying that
//! Prometheus, and every alert's history (the `ALERTS` series each evaluation writes) must
//! go through the same states, each change within one evaluation interval of Prometheus's
//! (a scrape landing between Prometheus's evaluation and promdash's later query can move it
//! by one). The alerts firing at the end must equal `/api/v1/rules`'s (labels, rendered
//! annotations, state, value; `activeAt` within one interval), and `promdash check --rules`
//! on the same file lists exactly those as FIRING (exit 1). With Prometheus killed,
//! evaluations fail, every rule turns unhealthy, no alert changes state, and `check`
//! exits 2.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context as _;
use promdash::headless::{CheckArgs, HeadlessCommand, Outcome};
use promdash_queries::rules::eval::{
    AlertStatus, EvalContext, GroupState, Health, QuerySample, RuleBackend,
};
use promdash_queries::rules::parse_rule_file;
use promdash_queries::rules::source::SourceBackend;
use promdash_queries::rules::template::LabelMap;
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::Prometheus;
use promdash_tests::headless::{check_args, run_headless};
use promdash_tests::scripted::ScriptedExporter;
use serde_json::Value;

const RULES: &str = include_str!("../fixtures/rules/live/alerting.yml");
const RULES_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/rules/live/alerting.yml"
);

/// `promdash check --rules alerting.yml [--instant]` against `url`.
async fn check_rules(url: &str, instant: bool) -> (Outcome, String, String) {
    let args = CheckArgs {
        instant,
        rules: vec![RULES_PATH.to_owned()],
        ..check_args()
    };
    run_headless(HeadlessCommand::Check(args), url).await
}

/// The `FIRING name{labels}` heads of `check`'s lines.
fn firing_lines(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter(|l| l.starts_with("FIRING"))
        .filter_map(|l| {
            l.split_once("}  value")
                .map(|(head, _)| format!("{head}}}"))
        })
        .collect()
}

/// Records the `ALERTS` samples an evaluation writes; queries go to the server.
struct Capture<'a> {
    inner: SourceBackend<'a, PromClient>,
    alerts: Vec<(LabelMap, i64)>,
}

impl RuleBackend for Capture<'_> {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String> {
        self.inner.query(expr, t_ms)
    }

    fn append(&mut self, labels: &LabelMap, t_ms: i64, value: f64) {
        if labels.get("__name__").map(String::as_str) == Some("ALERTS") && !value.is_nan() {
            self.alerts.push((labels.clone(), t_ms));
        }
    }
}

/// Raw samples of a range selector, as (series labels, timestamps in ms).
async fn raw(url: &str, expr: &str) -> anyhow::Result<Vec<(LabelMap, Vec<i64>)>> {
    let body: Value = promdash_tests::http_client()
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await?
        .json()
        .await?;
    let result = body["data"]["result"]
        .as_array()
        .with_context(|| format!("{expr}: {body}"))?;
    Ok(result
        .iter()
        .map(|s| {
            let labels = json_map(&s["metric"]);
            let ts = s["values"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|p| p[0].as_f64())
                        .map(|t| (t * 1000.0).round() as i64)
                        .collect()
                })
                .unwrap_or_default();
            (labels, ts)
        })
        .collect())
}

fn json_map(v: &Value) -> LabelMap {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Identity (the `ALERTS` labels without `alertstate`) → (timestamp, state).
type History = BTreeMap<LabelMap, BTreeMap<i64, String>>;

fn history(samples: impl IntoIterator<Item = (LabelMap, i64)>) -> History {
    let mut h = History::new();
    for (mut labels, t) in samples {
        let state = labels.remove("alertstate").unwrap_or_default();
        h.entry(labels).or_default().insert(t, state);
    }
    h
}

/// The runs of one alert's state over its group's evaluations: (state, first tick).
fn runs(h: Option<&BTreeMap<i64, String>>, ticks: &[i64]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for &t in ticks {
        let s = h
            .and_then(|h| h.get(&t).cloned())
            .unwrap_or_else(|| "-".into());
        if out.last().is_none_or(|(last, _)| *last != s) {
            out.push((s, t));
        }
    }
    out
}

/// `2026-12-02T06:40:01.123456789Z` (or with `+hh:mm`) → ms since the epoch.
fn rfc3339_ms(s: &str) -> Option<i64> {
    let (date, rest) = s.split_once('T')?;
    let mut d = date.split('-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (time, offset_min) = match rest.strip_suffix('Z') {
        Some(t) => (t, 0),
        None => {
            let i = rest.rfind(['+', '-'])?;
            let (t, o) = rest.split_at(i);
            let (oh, om) = o[1..].split_once(':')?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            (
                t,
                sign * (oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?),
            )
        }
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut p = hms.split(':').map(str::parse::<i64>);
    let (h, mi, se) = (p.next()?.ok()?, p.next()?.ok()?, p.next()?.ok()?);
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400_000 + ((h * 60 + mi) * 60 + se) * 1000 + ms - offset_min * 60_000)
}

/// Evaluates `groups` at each of their ticks (in time order) against `url`, on a blocking
/// thread; returns the groups and the `ALERTS` samples written.
async fn replay(
    url: String,
    mut groups: Vec<GroupState>,
    ticks: BTreeMap<String, Vec<i64>>,
) -> anyhow::Result<(Vec<GroupState>, Vec<(LabelMap, i64)>)> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let client = PromClient::new(ClientConfig::new(url)).expect("client");
        let mut backend = Capture {
            inner: SourceBackend {
                source: &client,
                handle,
            },
            alerts: Vec::new(),
        };
        let mut order: Vec<(i64, usize)> = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            for &t in ticks.get(&g.name).into_iter().flatten() {
                order.push((t, i));
            }
        }
        order.sort();
        for (t, i) in order {
            groups[i].eval(t, &mut backend, &EvalContext::default());
        }
        (groups, backend.alerts)
    })
    .await
    .context("replay thread")
}

fn alert_group(name: &str) -> &'static str {
    if name == "JobLevelHigh" {
        "slow"
    } else {
        "fast"
    }
}

fn interval_ms(group: &str) -> i64 {
    if group == "slow" { 2000 } else { 1000 }
}

/// Alert identity → state, for every alert promdash holds.
fn states(groups: &[GroupState]) -> BTreeMap<LabelMap, AlertStatus> {
    groups
        .iter()
        .flat_map(|g| &g.rules)
        .flat_map(|r| r.active.values())
        .map(|a| (a.labels.clone(), a.state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_states_equal_prometheus_rule_manager() {
    let exporter = ScriptedExporter::start().await.expect("exporter");
    let (a, b) = ("level{node=\"a\"}", "level{node=\"b\"}");
    exporter.set(a, 1.0);
    exporter.set(b, 1.0);
    exporter.set("flag", 0.0);
    let mut prom = Prometheus::start_with_rules(&[exporter.addr()], RULES)
        .await
        .expect("prometheus 2.42 (package prometheus) starts with the rule file");
    let url = prom.url();

    // The input's timeline: each phase lasts as long as the scenario says (these sleeps
    // script the exporter's values; nothing here waits for a server).
    let phase = |secs: f64| tokio::time::sleep(Duration::from_secs_f64(secs));
    phase(3.0).await;
    exporter.set(a, 7.0); // a spike shorter than `for` (3s): pending, then gone
    phase(1.5).await;
    exporter.set(a, 1.0);
    phase(3.0).await;
    exporter.set(a, 7.0); // sustained: pending, firing (warning)
    phase(6.0).await;
    exporter.set(a, 9.0); // another severity: a new alert; the warning one kept 2s
    phase(5.0).await;
    exporter.set(a, 1.0); // recovery: the critical one kept firing 2s, then resolved
    phase(4.0).await;
    exporter.set("flag", 1.0); // no `for`: firing at once
    for _ in 0..3 {
        exporter.set(b, 7.0); // flapping, each breach shorter than `for`
        phase(2.0).await;
        exporter.set(b, 1.0);
        phase(2.0).await;
    }
    exporter.set("flag", 0.0);
    exporter.set(a, 7.0); // a steady breach, firing when Prometheus is killed
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let snapshot = loop {
        let rules: Value = promdash_tests::http_client()
            .get(format!("{url}/api/v1/rules"))
            .send()
            .await
            .expect("GET /api/v1/rules")
            .json()
            .await
            .expect("rules JSON");
        let firing: BTreeSet<String> = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .flat_map(|r| r["alerts"].as_array().into_iter().flatten())
            .filter(|a| a["state"] == "firing")
            .map(|a| {
                a["labels"]["alertname"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let all_resolved_gone = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .flat_map(|r| r["alerts"].as_array().into_iter().flatten())
            .all(|a| a["state"] == "firing");
        if firing.contains("LevelHigh") && firing.contains("JobLevelHigh") && all_resolved_gone {
            break rules;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "LevelHigh and JobLevelHigh never fired alone in Prometheus: {rules}\n{}",
            prom.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Every evaluation Prometheus made, and the alerts each wrote.
    let mut ticks: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (labels, ts) in raw(&url, "eval_tick[10m]").await.expect("eval_tick") {
        ticks.insert(labels["group"].clone(), ts);
    }
    let prom_alerts = raw(&url, "ALERTS[10m]").await.expect("ALERTS");
    let prom_history = history(
        prom_alerts
            .into_iter()
            .flat_map(|(l, ts)| ts.into_iter().map(move |t| (l.clone(), t))),
    );
    assert!(
        ticks.get("fast").is_some_and(|t| t.len() >= 40)
            && ticks.get("slow").is_some_and(|t| t.len() >= 20),
        "too few evaluations recorded: {ticks:?}"
    );

    // The same evaluations in promdash.
    let file = parse_rule_file(RULES).expect("the rule file is valid");
    let groups: Vec<GroupState> = file
        .groups
        .iter()
        .map(|g| GroupState::new(g, "alerting.yml", Duration::from_secs(1)))
        .collect();
    let (groups, ours) = replay(url.clone(), groups, ticks.clone())
        .await
        .expect("replay");
    for g in &groups {
        for r in &g.rules {
            assert_eq!(
                r.health,
                Health::Good,
                "{}: {:?}",
                r.rule.name(),
                r.last_error
            );
        }
    }
    let our_history = history(ours);

    // Same states over time.
    let identities: BTreeSet<&LabelMap> = prom_history.keys().chain(our_history.keys()).collect();
    let (mut agree, mut total) = (0, 0);
    let mut problems = Vec::new();
    for id in &identities {
        let group = alert_group(&id["alertname"]);
        let ticks = &ticks[group];
        let (p, o) = (prom_history.get(*id), our_history.get(*id));
        for &t in ticks {
            total += 1;
            if p.and_then(|h| h.get(&t)) == o.and_then(|h| h.get(&t)) {
                agree += 1;
            }
        }
        let (pr, or) = (runs(p, ticks), runs(o, ticks));
        let same = pr.len() == or.len()
            && pr
                .iter()
                .zip(&or)
                .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() <= interval_ms(group));
        if !same {
            problems.push(format!(
                "{id:?}\n  prometheus: {pr:?}\n  promdash:   {or:?}"
            ));
        }
    }
    eprintln!(
        "{} alert identities; {agree} of {total} (identity, evaluation) states equal",
        identities.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The scenario made what it meant to: the spike, two severities, flapping, the flag.
    let seen: BTreeSet<(String, String)> = prom_history
        .iter()
        .flat_map(|(id, h)| {
            h.values().map(move |s| {
                (
                    id["alertname"].clone() + "/" + id.get("severity").map_or("", String::as_str),
                    s.clone(),
                )
            })
        })
        .collect();
    for want in [
        ("LevelHigh/warning", "firing"),
        ("LevelHigh/critical", "firing"),
        ("LevelHigh/warning", "pending"),
        ("FlagSet/", "firing"),
        ("JobLevelHigh/", "firing"),
    ] {
        assert!(
            seen.contains(&(want.0.to_owned(), want.1.to_owned())),
            "Prometheus never had {want:?}: {seen:?}"
        );
    }

    // The alerts of the end: labels, annotations, state, value, activeAt.
    let ours_now: BTreeMap<LabelMap, _> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .flat_map(|r| r.active.values())
        .filter(|a| a.state != AlertStatus::Inactive)
        .map(|a| (a.labels.clone(), a))
        .collect();
    let mut theirs_now = Vec::new();
    for g in snapshot["data"]["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            for a in r["alerts"].as_array().into_iter().flatten() {
                theirs_now.push((g["name"].as_str().unwrap_or_default().to_owned(), a.clone()));
            }
        }
    }
    assert_eq!(
        theirs_now.len(),
        ours_now.len(),
        "Prometheus: {theirs_now:?}\npromdash: {ours_now:?}"
    );
    for (group, a) in &theirs_now {
        let labels = json_map(&a["labels"]);
        let ours = ours_now
            .get(&labels)
            .unwrap_or_else(|| panic!("promdash has no alert {labels:?}: {ours_now:?}"));
        assert_eq!(json_map(&a["annotations"]), ours.annotations, "{labels:?}");
        assert_eq!(a["state"].as_str(), Some(ours.state.as_str()), "{labels:?}");
        let value: f64 = a["value"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("value");
        assert_eq!(value, ours.value, "{labels:?}");
        let active_at = a["activeAt"]
            .as_str()
            .and_then(rfc3339_ms)
            .expect("activeAt");
        assert!(
            (active_at - ours.active_at).abs() <= interval_ms(group),
            "{labels:?}: activeAt {active_at} in Prometheus, {} in promdash",
            ours.active_at
        );
    }

    // `promdash check --rules` on the same file lists the alerts Prometheus has firing
    // (its evaluations fall on whole intervals, not Prometheus's: polled until it has seen
    // the breach for `for`).
    let expected: BTreeSet<String> = theirs_now
        .iter()
        .filter(|(_, a)| a["state"] == "firing")
        .map(|(_, a)| {
            let mut l = json_map(&a["labels"]);
            let name = l.remove("alertname").unwrap_or_default();
            let labels: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            format!("FIRING   {name}{{{}}}", labels.join(", "))
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (outcome, out, err) = check_rules(&url, false).await;
        if outcome == Outcome::Firing && firing_lines(&out) == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "check --rules: {outcome:?}\n{out}{err}\nexpected {expected:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (outcome, out, err) = check_rules(&url, true).await;
    assert_eq!(
        outcome,
        Outcome::Firing,
        "check --rules --instant:\n{out}{err}"
    );
    assert_eq!(
        firing_lines(&out),
        expected,
        "check --rules --instant:\n{out}"
    );
    assert!(out.contains("OK       FlagSet"), "{out}");

    // Prometheus killed while firing: every evaluation fails, nothing changes state.
    let before = states(&groups);
    assert!(before.values().any(|s| *s == AlertStatus::Firing));
    prom.stop().await.expect("stop prometheus");
    let last = ticks.values().flatten().copied().max().unwrap_or_default();
    let later: BTreeMap<String, Vec<i64>> = groups
        .iter()
        .map(|g| (g.name.clone(), vec![last + 2000, last + 4000]))
        .collect();
    let (groups, written) = replay(url.clone(), groups, later).await.expect("replay");
    for g in &groups {
        for r in &g.rules {
            assert_eq!(r.health, Health::Bad, "{}", r.rule.name());
            assert!(r.last_error.is_some(), "{}", r.rule.name());
        }
    }
    assert_eq!(states(&groups), before, "an outage changed alert states");
    assert!(written.is_empty(), "failed evaluations wrote {written:?}");
    let (outcome, out, err) = check_rules(&url, false).await;
    assert_eq!(
        outcome,
        Outcome::Failed,
        "check --rules, server down:\n{out}{err}"
    );
    assert!(err.contains("UNKNOWN"), "{err}");
    assert!(!out.contains("FIRING"), "{out}");
}

#[test]
fn rfc3339_reads_go_times() {
    assert_eq!(rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500));
    assert_eq!(
        rfc3339_ms("2026-12-02T06:40:01.123456789Z"),
        Some(1_796_193_601_123)
    );
    assert_eq!(rfc3339_ms("1970-01-01T01:00:00+01:00"), Some(0));
}
