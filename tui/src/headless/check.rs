//! `promdash check`: evaluate the dashboard's alert rules now, for scripts and CI.
//!
//! By default `check` answers "would the dashboard show this alert FIRING now?", `for`
//! and `keep_firing_for` included: it asks for each rule's expression over the last
//! `for + keep_firing_for` (plus one step) as a range query with step = the dashboard's
//! refresh, and replays those evaluations through the dashboard's own alert engine
//! ([`AlertEngine`]). A rule with neither `for` nor `keep_firing_for` needs a single
//! instant query. `--instant` skips the replay: one instant query per rule, and a rule
//! fires when its condition holds now, whatever its `for`.
//!
//! A rule whose state cannot be told is listed `UNKNOWN` with the reason, never `OK`:
//! an answer that may lack data (`isPartial`, or warnings as Thanos and Mimir send when
//! a store did not answer: the warnings are printed), or an alert that may have been kept
//! firing by `keep_firing_for` since before the longest replay (see [`evaluate_rule`]).
//! Against VictoriaMetrics (recognised from its buildinfo) replays end 30 s before now,
//! outside the newest 30 s it hides from range queries, and a note says so.
//!
//! Exit status: 0 when no alert fires, 1 when any does (each listed with its value and
//! summary), 2 on an error (the dashboard file, the server unreachable, a rule's query
//! rejected) or when a rule is unknown — an error wins over firing, since the rules not
//! evaluated could fire too.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use promdash_queries::alert::{AlertEngine, AlertInstance, AlertState, format_value};
use promdash_queries::client::PromClient;
use promdash_queries::dashboard::{AlertRule, Dashboard};
use promdash_queries::model::{InstantSeries, Labels, Notes, QueryData, QueryResult, Sample};

use super::output::fmt_labels;
use super::time::now;
use super::{Outcome, fail};
use promdash_queries::text::escape_control;

/// `promdash check [--dashboard FILE] [--instant]`
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Dashboard file whose `[[alerts]]` are checked [default: the built-in dashboard].
    #[arg(long, short = 'd', env = "PROMDASH_DASHBOARD", value_name = "FILE")]
    pub dashboard: Option<PathBuf>,

    /// Only look at this instant: a rule fires when its condition holds now, ignoring
    /// `for` and `keep_firing_for`.
    #[arg(long)]
    pub instant: bool,

    /// How often the dashboard would evaluate the rules, e.g. 5s: the step at which
    /// `for` and `keep_firing_for` are replayed [default: the dashboard's refresh].
    #[arg(long, env = "PROMDASH_REFRESH", value_name = "DURATION", value_parser = super::conn::parse_duration)]
    pub refresh: Option<Duration>,

    /// `text` for people, `json` for programs (one object: rules, instances, counts).
    #[arg(long, short = 'o', value_enum, default_value_t = super::Report::Text)]
    pub output: super::Report,

    /// Check these Prometheus rule files (FILE or GLOB, repeatable) instead of the
    /// dashboard's `[[alerts]]`, evaluated as Prometheus's rule manager does.
    #[arg(long = "rules", value_name = "FILE|GLOB", conflicts_with = "dashboard")]
    pub rules: Vec<String>,

    /// With --rules: a label every alert template sees as `$externalLabels`, NAME=VALUE
    /// (repeatable), as Prometheus's `global.external_labels` (also added to the alerts
    /// pushed to Alertmanager), as the dashboard's --external-label.
    #[arg(
        long = "external-label",
        value_name = "NAME=VALUE",
        value_parser = crate::cli::parse_label,
        requires = "rules"
    )]
    pub external_labels: Vec<(String, String)>,

    /// With --rules: push the alerts to Alertmanager as Prometheus's notifier would after
    /// this evaluation (firing ones until now + 4 x max(interval, resend delay), resolved
    /// ones with their resolution time).
    #[command(flatten)]
    pub alertmanager: crate::alertmanager::AlertmanagerArgs,
}

/// What one rule came to.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleReport {
    pub rule: String,
    /// Firing and pending instances (resolved ones are left out).
    pub instances: Vec<AlertInstance>,
    /// The rule could not be decided, and why: an answer that may lack data (partial, or
    /// with warnings), or label sets whose state depends on more history than the
    /// longest replay holds.
    pub unknown: Option<String>,
    /// Warnings the server sent with the rule's answers.
    pub warnings: Vec<String>,
}

/// The longest history `check` replays looking for a state that cannot depend on
/// anything older.
const MAX_REPLAY: Duration = Duration::from_secs(6 * 3600);
/// Prometheus refuses range queries of more than 11,000 points per series.
const MAX_STEPS: u32 = 10_000;

/// Evaluates every alert rule of `dashboard` at `at` (Unix seconds) and reports the
/// instances that are firing or pending. Range replays end `hidden` before `at` (the
/// newest data VictoriaMetrics does not show to range queries). `Err` carries the rule
/// and the server's error.
pub async fn evaluate_rules(
    client: &PromClient,
    dashboard: &Dashboard,
    at: f64,
    instant: bool,
    hidden: Duration,
) -> Result<Vec<RuleReport>, (String, promdash_queries::QueryError)> {
    let step = dashboard.refresh.max(Duration::from_secs(1));
    let mut reports = Vec::new();
    for rule in &dashboard.alerts {
        let mut rule = rule.clone();
        if instant {
            rule.for_ = Duration::ZERO;
            rule.keep_firing_for = Duration::ZERO;
        }
        let report = evaluate_rule(client, &rule, step, at, hidden)
            .await
            .map_err(|e| (rule.name.clone(), e))?;
        reports.push(report);
    }
    Ok(reports)
}

/// Steps of `step` needed to cover `d`, rounded up.
fn steps(d: Duration, step: Duration) -> u32 {
    (d.as_secs_f64() / step.as_secs_f64()).ceil() as u32
}

/// Evaluates one rule: a single instant query when it has neither `for` nor
/// `keep_firing_for`, else a replay of its history through the dashboard's alert engine.
///
/// The replay starts with `for + keep_firing_for + step` of history. That is enough
/// unless an alert may have been kept firing from before the window (its condition
/// came and went with pauses shorter than `keep_firing_for`, or held since the start):
/// then the window grows fourfold until every label set's state is settled, up to
/// [`MAX_REPLAY`]; past that the rule is reported unknown, never as a confident OK.
async fn evaluate_rule(
    client: &PromClient,
    rule: &AlertRule,
    step: Duration,
    at: f64,
    hidden: Duration,
) -> Result<RuleReport, promdash_queries::QueryError> {
    let mut report = RuleReport {
        rule: rule.name.clone(),
        instances: Vec::new(),
        unknown: None,
        warnings: Vec::new(),
    };
    if rule.for_.is_zero() && rule.keep_firing_for.is_zero() {
        let result = client.query(&rule.expr, Some(at)).await?;
        report.warnings.clone_from(&result.notes.warnings);
        report.unknown = result.notes.incomplete_reason();
        if report.unknown.is_none() {
            let mut engine = AlertEngine::new(vec![rule.clone()]);
            engine.evaluate(&rule.name, Ok(&result), at);
            report.instances = live(&engine);
        }
        return Ok(report);
    }
    let step_s = step.as_secs_f64();
    let mut end = at - hidden.as_secs_f64();
    if !hidden.is_zero() {
        // VictoriaMetrics aligns range queries to the step: ask for aligned ones.
        end = (end / step_s).floor() * step_s;
    }
    let most = steps(MAX_REPLAY, step).min(MAX_STEPS);
    let mut n = (steps(rule.for_, step) + steps(rule.keep_firing_for, step) + 1).min(most);
    loop {
        let start = end - f64::from(n) * step_s;
        let result = client.query_range(&rule.expr, start, end, step).await?;
        report.warnings.clone_from(&result.notes.warnings);
        if let Some(reason) = result.notes.incomplete_reason() {
            report.unknown = Some(reason);
            return Ok(report);
        }
        let replay = replay(rule, &result.data, start, step, n);
        if replay.unsettled.is_empty() || n >= most {
            report.instances = replay.instances;
            if !replay.unsettled.is_empty() {
                let which: Vec<String> = replay
                    .unsettled
                    .iter()
                    .map(|l| {
                        if l.is_empty() {
                            "{}".to_owned()
                        } else {
                            fmt_labels(l)
                        }
                    })
                    .collect();
                report.unknown = Some(format!(
                    "cannot tell whether {} is firing: over the {} replayed its condition \
                     never stayed false for keep_firing_for ({}), so it may have been kept \
                     firing from before",
                    which.join(", "),
                    humantime::format_duration(Duration::from_secs(u64::from(n) * step.as_secs())),
                    humantime::format_duration(rule.keep_firing_for),
                ));
            }
            return Ok(report);
        }
        n = n.saturating_mul(4).min(most);
    }
}

/// Firing and pending instances.
fn live(engine: &AlertEngine) -> Vec<AlertInstance> {
    engine
        .instances()
        .filter(|i| matches!(i.state, AlertState::Firing | AlertState::Pending))
        .cloned()
        .collect()
}

/// The outcome of one replay.
struct Replay {
    instances: Vec<AlertInstance>,
    /// Label sets whose state at the end may depend on history before the window.
    unsettled: Vec<Labels>,
}

/// Replays `n + 1` evaluations from `start` through the alert engine.
///
/// The replay starts with every instance inactive, which the truth may not be: an alert
/// could have been pending with an older start, or firing and kept alive. A label set's
/// state no longer depends on anything before the window once (a) the replay has it
/// firing (from then on both agree), or (b) its condition has been false for
/// `keep_firing_for` plus one evaluation in a row (whatever it was, it is resolved or
/// inactive now). A label set not yet seen counts as false from the window's start.
fn replay(rule: &AlertRule, data: &QueryData, start: f64, step: Duration, n: u32) -> Replay {
    let step_s = step.as_secs_f64();
    let settle_after = steps(rule.keep_firing_for, step) + 1;
    let mut engine = AlertEngine::new(vec![rule.clone()]);
    // Per label set: consecutive false evaluations so far, settled.
    let mut track: BTreeMap<Labels, (u32, bool)> = BTreeMap::new();
    for (i, data) in evaluations(data, start, step_s, n).into_iter().enumerate() {
        let i = i as u32;
        let t = start + f64::from(i) * step_s;
        let active = condition_true(rule, &data);
        let one = QueryResult {
            data,
            notes: Notes::default(),
        };
        engine.evaluate(&rule.name, Ok(&one), t);
        for (labels, (false_run, settled)) in &mut track {
            if !active.contains(labels) {
                *false_run += 1;
                *settled |= *false_run >= settle_after;
            }
        }
        for labels in active {
            let firing = engine
                .instances()
                .any(|x| x.labels == labels && x.state == AlertState::Firing);
            let entry = track.entry(labels).or_insert((i, i >= settle_after));
            entry.0 = 0;
            entry.1 |= firing;
        }
    }
    Replay {
        instances: live(&engine),
        unsettled: track
            .into_iter()
            .filter(|(_, (_, settled))| !settled)
            .map(|(l, _)| l)
            .collect(),
    }
}

/// The label sets (without `__name__`) for which the rule's condition holds in one
/// evaluation.
fn condition_true(rule: &AlertRule, data: &QueryData) -> BTreeSet<Labels> {
    let mut out = BTreeSet::new();
    if let QueryData::Vector(series) = data {
        for s in series {
            if rule.condition_holds(s.sample.v) {
                out.insert(
                    s.labels
                        .iter()
                        .filter(|(name, _)| *name != "__name__")
                        .collect(),
                );
            }
        }
    }
    out
}

/// Splits a range answer into the `n + 1` instant answers the dashboard would have seen
/// at `start + i × step`: a series without a sample at a step is absent there.
fn evaluations(data: &QueryData, start: f64, step: f64, n: u32) -> Vec<QueryData> {
    let mut at_step: Vec<Vec<InstantSeries>> = vec![Vec::new(); n as usize + 1];
    let mut put = |labels: &Labels, s: &Sample| {
        let i = ((s.t - start) / step).round();
        if (0.0..=f64::from(n)).contains(&i) {
            at_step[i as usize].push(InstantSeries {
                labels: labels.clone(),
                sample: *s,
            });
        }
    };
    match data {
        QueryData::Matrix(series) => {
            for s in series {
                for p in &s.samples {
                    put(&s.labels, p);
                }
            }
        }
        // Not what a range query answers, but harmless: a single evaluation.
        QueryData::Vector(series) => {
            for s in series {
                put(&s.labels, &s.sample);
            }
        }
        QueryData::Scalar(s) => put(&Labels::new(), s),
        QueryData::String { .. } => {}
    }
    at_step.into_iter().map(QueryData::Vector).collect()
}

/// Runs `check` on a loaded dashboard, listing to `out`; errors, warnings and notes go
/// to `err`.
pub async fn run_check(
    client: &PromClient,
    dashboard: &Dashboard,
    args: &CheckArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if dashboard.alerts.is_empty() {
        if args.output == super::Report::Json {
            write_json(out, dashboard, &[])?;
        } else {
            writeln!(out, "no alert rules in {:?}", dashboard.title)?;
        }
        return Ok(Outcome::Ok);
    }
    let mut dashboard = dashboard.clone();
    if let Some(refresh) = args.refresh {
        dashboard.refresh = refresh;
    }
    let dashboard = &dashboard;
    // Unreachable or unreadable buildinfo: assume Prometheus; the queries will tell.
    let backend = client.detect_backend().await;
    let hidden = backend.hidden_window();
    let replays = !args.instant
        && dashboard
            .alerts
            .iter()
            .any(|r| !r.for_.is_zero() || !r.keep_firing_for.is_zero());
    if replays && !hidden.is_zero() {
        writeln!(
            err,
            "promdash: note: {backend} hides its newest {} from range queries: `for` and \
             keep_firing_for are replayed up to {} ago",
            humantime::format_duration(hidden),
            humantime::format_duration(hidden),
        )?;
    }
    let reports = match evaluate_rules(client, dashboard, now(), args.instant, hidden).await {
        Ok(r) => r,
        Err((rule, e)) => {
            let what = if e.is_unreachable() {
                "cannot reach the server".to_owned()
            } else {
                format!("the query of alert {rule:?} failed")
            };
            return fail(err, &format!("{what}: {e}"));
        }
    };
    if args.output == super::Report::Json {
        for report in &reports {
            for w in &report.warnings {
                writeln!(
                    err,
                    "promdash: warning: alert {:?}: {}",
                    report.rule,
                    escape_control(w)
                )?;
            }
        }
        let (firing, unknown) = write_json(out, dashboard, &reports)?;
        if unknown > 0 {
            return fail(
                err,
                &format!("cannot tell the state of {unknown} rule(s): see \"unknown\" above"),
            );
        }
        return Ok(if firing { Outcome::Firing } else { Outcome::Ok });
    }
    let rules_by_name: BTreeMap<&str, &AlertRule> = dashboard
        .alerts
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();
    let (mut firing, mut pending, mut unknown) = (0, 0, 0);
    for report in &reports {
        for w in &report.warnings {
            // The server's text: escaped before it reaches the terminal.
            writeln!(
                err,
                "promdash: warning: alert {:?}: {}",
                report.rule,
                escape_control(w)
            )?;
        }
        if let Some(why) = &report.unknown {
            unknown += 1;
            writeln!(
                out,
                "UNKNOWN  {}  {}",
                escape_control(&report.rule),
                escape_control(why)
            )?;
        } else if report.instances.is_empty() {
            writeln!(out, "OK       {}", report.rule)?;
        }
        let mut instances: Vec<&AlertInstance> = report.instances.iter().collect();
        instances.sort_by_key(|i| std::cmp::Reverse(i.state));
        for inst in instances {
            let word = if inst.state == AlertState::Firing {
                firing += 1;
                "FIRING "
            } else {
                pending += 1;
                "PENDING"
            };
            let labels = if inst.labels.is_empty() {
                String::new()
            } else {
                format!(" {}", fmt_labels(&inst.labels))
            };
            let severity = rules_by_name
                .get(report.rule.as_str())
                .map_or("", |r| r.severity.as_str());
            write!(
                out,
                "{word}  {}{labels}  value={}  severity={severity}",
                escape_control(&report.rule),
                format_value(inst.value),
            )?;
            if !inst.summary.is_empty() {
                // `{{ $labels.x }}` brings the exporter's text: escaped (as `fmt_labels`).
                write!(out, "  {}", escape_control(&inst.summary))?;
            }
            writeln!(out)?;
        }
    }
    write!(
        out,
        "{}: {firing} firing, {pending} pending",
        super::count(reports.len(), "rule", "rules")
    )?;
    if unknown > 0 {
        write!(out, ", {unknown} unknown")?;
    }
    writeln!(out)?;
    if unknown > 0 {
        // Cannot tell is not OK: the rules not decided could be firing.
        return fail(
            err,
            &format!("cannot tell the state of {unknown} rule(s): see UNKNOWN above"),
        );
    }
    Ok(if firing > 0 {
        Outcome::Firing
    } else {
        Outcome::Ok
    })
}

/// `check -o json`: one document with every rule, its instances and the counts.
/// A rule that cannot be told has state `unknown` and a `reason`. Returns whether any
/// instance fires, and how many rules are unknown.
fn write_json(
    out: &mut dyn Write,
    dashboard: &Dashboard,
    reports: &[RuleReport],
) -> anyhow::Result<(bool, usize)> {
    let mut firing = 0;
    let mut pending = 0;
    let mut unknown = 0;
    let rules: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let severity = dashboard
                .alerts
                .iter()
                .find(|a| a.name == r.rule)
                .map_or("", |a| a.severity.as_str());
            let instances: Vec<serde_json::Value> = r
                .instances
                .iter()
                .map(|i| {
                    if i.state == AlertState::Firing {
                        firing += 1;
                    } else {
                        pending += 1;
                    }
                    serde_json::json!({
                        "state": i.state.as_str(),
                        "labels": i.labels,
                        "value": format_value(i.value),
                        "summary": i.summary,
                    })
                })
                .collect();
            let state = r
                .instances
                .iter()
                .map(|i| i.state)
                .max()
                .map_or("ok", AlertState::as_str);
            match &r.unknown {
                Some(reason) => {
                    unknown += 1;
                    serde_json::json!({
                        "rule": r.rule,
                        "severity": severity,
                        "state": "unknown",
                        "reason": reason,
                        "instances": instances,
                    })
                }
                None => serde_json::json!({
                    "rule": r.rule,
                    "severity": severity,
                    "state": state,
                    "instances": instances,
                }),
            }
        })
        .collect();
    let doc = serde_json::json!({
        "dashboard": dashboard.title,
        "rules": rules,
        "firing": firing,
        "pending": pending,
        "unknown": unknown,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    out.flush()?;
    Ok((firing > 0, unknown))
}

#[cfg(test)]
mod tests {
    use promdash_queries::model::RangeSeries;

    use super::*;

    #[test]
    fn range_answers_split_into_evaluations() {
        let labels: Labels = [("route".to_owned(), "/a".to_owned())].into();
        let data = QueryData::Matrix(vec![RangeSeries {
            labels: labels.clone(),
            samples: vec![Sample { t: 100.0, v: 1.0 }, Sample { t: 110.001, v: 3.0 }],
        }]);
        let evals = evaluations(&data, 100.0, 5.0, 2);
        assert_eq!(evals.len(), 3);
        assert!(matches!(&evals[0], QueryData::Vector(v) if v.len() == 1 && v[0].sample.v == 1.0));
        assert!(matches!(&evals[1], QueryData::Vector(v) if v.is_empty()));
        assert!(matches!(&evals[2], QueryData::Vector(v) if v[0].labels == labels));
    }

    fn flap_rule() -> AlertRule {
        AlertRule {
            name: "Flap".into(),
            expr: "flap > 0".into(),
            op: None,
            threshold: None,
            for_: Duration::from_secs(10),
            keep_firing_for: Duration::from_secs(10),
            severity: promdash_queries::dashboard::Severity::Warning,
            summary: String::new(),
            panel: None,
            unit: None,
        }
    }

    /// A matrix with one sample per second from `start` where `pattern` says true.
    fn matrix(start: f64, pattern: &[bool]) -> QueryData {
        QueryData::Matrix(vec![RangeSeries {
            labels: Labels::new(),
            samples: pattern
                .iter()
                .enumerate()
                .filter(|(_, on)| **on)
                .map(|(i, _)| Sample {
                    t: start + i as f64,
                    v: 1.0,
                })
                .collect(),
        }])
    }

    #[test]
    fn a_replay_that_cannot_see_the_start_of_a_kept_alert_is_unsettled() {
        let rule = flap_rule();
        let step = Duration::from_secs(1);
        // 4 s on, 4 s off, over 21 s: never a 10 s stretch, never 11 s off.
        let flapping: Vec<bool> = (0..=21).map(|i| i % 8 < 4).collect();
        let r = replay(&rule, &matrix(0.0, &flapping), 0.0, step, 21);
        assert!(r.instances.is_empty() || r.instances[0].state == AlertState::Pending);
        assert_eq!(r.unsettled, vec![Labels::new()]);
        // Seen from further back: off for 11 s, on for 15 s (fires), then flapping: the
        // replay knows it is firing.
        let mut longer = vec![false; 11];
        longer.extend(std::iter::repeat_n(true, 15));
        longer.extend(&flapping);
        let n = longer.len() as u32 - 1;
        let r = replay(&rule, &matrix(0.0, &longer), 0.0, step, n);
        assert!(r.unsettled.is_empty());
        assert_eq!(r.instances[0].state, AlertState::Firing);
        // Off for 11 s at the end: resolved whatever came before.
        let mut off: Vec<bool> = flapping.clone();
        off.extend([false; 11]);
        let n = off.len() as u32 - 1;
        let r = replay(&rule, &matrix(0.0, &off), 0.0, step, n);
        assert!(r.unsettled.is_empty() && r.instances.is_empty());
    }

    #[test]
    fn steps_round_up() {
        let s = Duration::from_secs;
        assert_eq!(steps(s(30), s(5)), 6);
        assert_eq!(steps(s(31), s(5)), 7);
        assert_eq!(steps(Duration::ZERO, s(5)), 0);
    }
}
