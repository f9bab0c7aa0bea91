//! `promdash check --rules FILE|GLOB…`: Prometheus rule files checked against the server
//! as Prometheus's rule manager would see them now.
//!
//! Each group is evaluated ([`GroupState::eval`]) at its own interval's ticks over the last
//! `for + keep_firing_for` of its longest rule plus one interval, ending at the newest tick
//! at or before now, so an alert whose condition has held for its `for` is FIRING (pending
//! ones are listed PENDING). `--instant` evaluates once, at now, with every `for` and
//! `keep_firing_for` taken as 0. A group without `interval` uses `--refresh` or 1m
//! (Prometheus's default `evaluation_interval`).
//!
//! Exit status as `check`: 0 when no alert fires, 1 when any does, 2 when a file is
//! invalid or any evaluation failed (unreachable server, rejected query, partial answer,
//! two results with one label set, `limit` exceeded): the state of that rule is not known.
//!
//! With `--alertmanager URL` the alerts of each group's last evaluation are pushed there
//! as Prometheus's notifier would (see [`promdash_queries::alertmanager`]); an
//! Alertmanager that cannot take them makes the exit status 2.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use promdash_queries::alertmanager::GroupEvaluation;
use promdash_queries::client::PromClient;
use promdash_queries::rules::eval::{AlertStatus, EvalContext, GroupState};
use promdash_queries::rules::source::SourceBackend;
use promdash_queries::rules::{RuleKind, glob, load_rule_file};
use promdash_queries::text::escape_control;

use super::check::CheckArgs;
use super::time::now;
use super::{Outcome, Report, fail};

/// Prometheus's default `evaluation_interval`.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The rule files `--rules` names, each pattern expanded; an unmatched pattern is an error.
fn files(patterns: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in patterns {
        let found = if p.contains(['*', '?', '[']) {
            glob::glob(p)
        } else {
            vec![PathBuf::from(p)]
        };
        if found.is_empty() {
            return Err(format!("--rules {p:?}: no file matches"));
        }
        out.extend(found);
    }
    Ok(out)
}

/// The timestamps (ms) a group is evaluated at: every `interval` up to the newest tick at
/// or before `now_ms`, covering `span` before it.
fn ticks(now_ms: i64, interval: Duration, span: Duration) -> Vec<i64> {
    let step = (interval.as_millis() as i64).max(1);
    let last = now_ms.div_euclid(step) * step;
    let n = (span.as_millis() as i64 + step - 1) / step;
    (0..=n).rev().map(|k| last - k * step).collect()
}

/// Runs `check --rules`.
pub async fn run_rules_check(
    client: &PromClient,
    args: &CheckArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if args.output == Report::Json {
        return fail(err, "--output json is not available with --rules yet");
    }
    let paths = match files(&args.rules) {
        Ok(p) => p,
        Err(e) => return fail(err, &e),
    };
    let default_interval = args.refresh.unwrap_or(DEFAULT_INTERVAL);
    let mut groups = Vec::new();
    let mut invalid = false;
    for path in &paths {
        match load_rule_file(path) {
            Ok(f) => {
                for g in &f.groups {
                    let mut state =
                        GroupState::new(g, &path.display().to_string(), default_interval);
                    if args.instant {
                        for r in &mut state.rules {
                            r.rule.for_ = Duration::ZERO;
                            r.rule.keep_firing_for = Duration::ZERO;
                        }
                    }
                    groups.push(state);
                }
            }
            Err(e) => {
                writeln!(err, "{}", escape_control(&e.to_string()))?;
                invalid = true;
            }
        }
    }
    if invalid {
        return Ok(Outcome::Failed);
    }
    let now_ms = (now() * 1000.0) as i64;
    let server = client.redacted_url().to_owned();
    let client = client.clone();
    let handle = tokio::runtime::Handle::current();
    let instant = args.instant;
    let ctx = EvalContext {
        external_labels: args.external_labels.iter().cloned().collect(),
        external_url: String::new(),
    };
    // Evaluations block on the runtime for each query: a blocking thread does them.
    let (groups, failures) = tokio::task::spawn_blocking(move || {
        let mut backend = SourceBackend {
            source: &client,
            handle,
        };
        let mut failures: BTreeSet<String> = BTreeSet::new();
        for g in &mut groups {
            let span = if instant {
                Duration::ZERO
            } else {
                g.rules
                    .iter()
                    .map(|r| r.rule.for_ + r.rule.keep_firing_for)
                    .max()
                    .unwrap_or_default()
                    + g.interval
            };
            let times = if instant {
                vec![now_ms]
            } else {
                ticks(now_ms, g.interval, span)
            };
            for t in times {
                g.eval(t, &mut backend, &ctx);
                for r in &g.rules {
                    if let Some(e) = &r.last_error {
                        failures.insert(format!(
                            "{}: group {:?}, rule {:?}: {e}",
                            g.file,
                            g.name,
                            r.rule.name()
                        ));
                    }
                }
            }
        }
        (groups, failures)
    })
    .await?;
    let mut firing = 0;
    for g in &groups {
        for r in &g.rules {
            if !matches!(r.rule.kind, RuleKind::Alert(_)) {
                continue;
            }
            let mut listed = false;
            for a in r.active.values() {
                let state = match a.state {
                    AlertStatus::Firing => "FIRING",
                    AlertStatus::Pending => "PENDING",
                    AlertStatus::Inactive => continue,
                };
                if a.state == AlertStatus::Firing {
                    firing += 1;
                }
                listed = true;
                let labels: Vec<String> = a
                    .labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != "alertname")
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect();
                let summary = a
                    .annotations
                    .get("summary")
                    .map(|s| format!("  {s}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{}",
                    escape_control(&format!(
                        "{state:<8} {}{{{}}}  value {}{summary}",
                        r.rule.name(),
                        labels.join(", "),
                        promdash_queries::rules::format_g(a.value, None)
                    ))
                )?;
            }
            if !listed && r.last_error.is_none() {
                writeln!(
                    out,
                    "{}",
                    escape_control(&format!("OK       {}", r.rule.name()))
                )?;
            }
        }
    }
    for f in &failures {
        writeln!(err, "UNKNOWN  {}", escape_control(f))?;
    }
    let pushed = match push_alerts(&server, args, &groups).await {
        Ok(()) => true,
        Err(e) => {
            writeln!(err, "{}", escape_control(&e))?;
            false
        }
    };
    Ok(if !failures.is_empty() || !pushed {
        Outcome::Failed
    } else if firing > 0 {
        Outcome::Firing
    } else {
        Outcome::Ok
    })
}

/// `--alertmanager`: hands each group's last evaluation to a notifier and sends what is
/// due (everything firing, everything resolved during the replay). An error names each
/// Alertmanager that refused the alerts or could not be reached.
async fn push_alerts(server: &str, args: &CheckArgs, groups: &[GroupState]) -> Result<(), String> {
    let Some(notifier) = args.alertmanager.notifier(
        Some(server.to_owned()),
        args.external_labels.iter().cloned(),
    )?
    else {
        return Ok(());
    };
    for g in groups {
        if let Some(ts) = g.last_eval {
            notifier.notify(&GroupEvaluation::of(g, ts));
        }
    }
    notifier.flush().await;
    let failed: Vec<String> = notifier
        .stats()
        .alertmanagers
        .into_iter()
        .filter(|a| a.errors > 0)
        .map(|a| {
            format!(
                "alerts not sent to Alertmanager {}: {}",
                a.url,
                a.last_error.unwrap_or_default()
            )
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_end_at_the_newest_interval_and_cover_the_span() {
        let t = ticks(10_500, Duration::from_secs(1), Duration::from_secs(3));
        assert_eq!(t, [7_000, 8_000, 9_000, 10_000]);
        let t = ticks(10_500, Duration::from_secs(2), Duration::from_secs(3));
        assert_eq!(t, [6_000, 8_000, 10_000]);
        assert_eq!(
            ticks(10_500, Duration::from_secs(2), Duration::ZERO),
            [10_000]
        );
    }
}
