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
//! Exit status: 0 when no alert fires, 1 when any does (each listed with its value and
//! summary), 2 on an error (the dashboard file, the server unreachable, a rule's query
//! rejected) — an error wins over firing, since the rules not evaluated could fire too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use promdash_queries::alert::{AlertEngine, AlertInstance, AlertState, format_value};
use promdash_queries::client::PromClient;
use promdash_queries::dashboard::{AlertRule, Dashboard};
use promdash_queries::model::{InstantSeries, Labels, Notes, QueryData, QueryResult, Sample};

use super::conn::ConnectionArgs;
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

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// What one rule came to.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleReport {
    pub rule: String,
    /// Firing and pending instances (resolved ones are left out).
    pub instances: Vec<AlertInstance>,
}

/// Evaluates every alert rule of `dashboard` at `at` (Unix seconds) and reports the
/// instances that are firing or pending. `Err` carries the rule and the server's error.
pub async fn evaluate_rules(
    client: &PromClient,
    dashboard: &Dashboard,
    at: f64,
    instant: bool,
) -> Result<Vec<RuleReport>, (String, promdash_queries::QueryError)> {
    let step = dashboard.refresh.max(Duration::from_secs(1));
    let mut reports = Vec::new();
    for rule in &dashboard.alerts {
        let mut rule = rule.clone();
        if instant {
            rule.for_ = Duration::ZERO;
            rule.keep_firing_for = Duration::ZERO;
        }
        let instances = evaluate_rule(client, &rule, step, at)
            .await
            .map_err(|e| (rule.name.clone(), e))?;
        reports.push(RuleReport {
            rule: rule.name.clone(),
            instances,
        });
    }
    Ok(reports)
}

/// Steps of `step` needed to cover `d`, rounded up.
fn steps(d: Duration, step: Duration) -> u32 {
    (d.as_secs_f64() / step.as_secs_f64()).ceil() as u32
}

async fn evaluate_rule(
    client: &PromClient,
    rule: &AlertRule,
    step: Duration,
    at: f64,
) -> Result<Vec<AlertInstance>, promdash_queries::QueryError> {
    let mut engine = AlertEngine::new(vec![rule.clone()]);
    let n = if rule.for_.is_zero() && rule.keep_firing_for.is_zero() {
        0
    } else {
        steps(rule.for_, step) + steps(rule.keep_firing_for, step) + 1
    };
    if n == 0 {
        let result = client.query(&rule.expr, Some(at)).await?;
        engine.evaluate(&rule.name, Ok(&result), at);
    } else {
        let step_s = step.as_secs_f64();
        let start = at - f64::from(n) * step_s;
        let result = client.query_range(&rule.expr, start, at, step).await?;
        for (i, data) in evaluations(&result.data, start, step_s, n)
            .into_iter()
            .enumerate()
        {
            let t = start + i as f64 * step_s;
            let one = QueryResult {
                data,
                notes: Notes::default(),
            };
            engine.evaluate(&rule.name, Ok(&one), t);
        }
    }
    Ok(engine
        .instances()
        .filter(|i| matches!(i.state, AlertState::Firing | AlertState::Pending))
        .cloned()
        .collect())
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

/// Runs `check` on a loaded dashboard, listing to `out`; errors go to `err`.
pub async fn run_check(
    client: &PromClient,
    dashboard: &Dashboard,
    args: &CheckArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if dashboard.alerts.is_empty() {
        writeln!(out, "no alert rules in {:?}", dashboard.title)?;
        return Ok(Outcome::Ok);
    }
    let mut dashboard = dashboard.clone();
    if let Some(refresh) = args.refresh {
        dashboard.refresh = refresh;
    }
    let dashboard = &dashboard;
    let reports = match evaluate_rules(client, dashboard, now(), args.instant).await {
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
    let rules_by_name: BTreeMap<&str, &AlertRule> = dashboard
        .alerts
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();
    let (mut firing, mut pending) = (0, 0);
    for report in &reports {
        if report.instances.is_empty() {
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
    writeln!(
        out,
        "{} rules: {firing} firing, {pending} pending",
        reports.len()
    )?;
    Ok(if firing > 0 {
        Outcome::Firing
    } else {
        Outcome::Ok
    })
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

    #[test]
    fn steps_round_up() {
        let s = Duration::from_secs;
        assert_eq!(steps(s(30), s(5)), 6);
        assert_eq!(steps(s(31), s(5)), 7);
        assert_eq!(steps(Duration::ZERO, s(5)), 0);
    }
}
