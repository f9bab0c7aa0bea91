//! Rule evaluation as Prometheus's rule manager does it (`rules/alerting.go`,
//! `rules/recording.go`, `rules/manager.go`, 2.42): one [`GroupState`] per rule group,
//! evaluated at a timestamp against a [`RuleBackend`] (the embedded store, or a remote
//! server through which nothing is written).
//!
//! - Alert identity: the result's labels without `__name__`, the rule's labels (templated,
//!   an empty result removing the label), `alertname`. Two results with one identity is an
//!   evaluation error.
//! - Pending from the first true evaluation, firing once `for` has passed (`>=`),
//!   `keep_firing_for` holds a firing alert after its condition clears, resolved alerts
//!   stay (inactive) for 15 minutes.
//! - An evaluation error (query failed, duplicate identity, limit exceeded) marks the rule
//!   unhealthy and leaves its alerts as they were: nothing resolves because of it (a limit
//!   error clears them, as Prometheus does).
//! - What rules produce (recorded series, `ALERTS`, `ALERTS_FOR_STATE`) is appended to the
//!   backend, and a series a rule produced last time but not now gets a stale marker.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::file::{Rule, RuleGroup, RuleKind};
use super::template::{AlertData, LabelMap, expand_alert};

/// How long a resolved alert is kept (and re-sent to Alertmanager).
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);

/// Prometheus's stale marker (compared by bits).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// One sample of a query answer.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: LabelMap,
    pub value: f64,
}

/// Where rules get their data and put their output.
pub trait RuleBackend {
    /// An instant query at `t_ms`: a vector, or a scalar as one sample without labels.
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String>;
    /// Stores one output sample (a remote backend ignores it).
    fn append(&mut self, labels: &LabelMap, t_ms: i64, value: f64);
}

/// An alert's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertStatus {
    Inactive,
    Pending,
    Firing,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Inactive => "inactive",
            AlertStatus::Pending => "pending",
            AlertStatus::Firing => "firing",
        }
    }
}

/// One alert instance of an alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: LabelMap,
    pub annotations: LabelMap,
    pub state: AlertStatus,
    pub value: f64,
    /// ms since the epoch.
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub keep_firing_since: Option<i64>,
    /// When it was last sent to Alertmanager, and until when that send holds.
    pub last_sent_at: Option<i64>,
    pub valid_until: Option<i64>,
}

/// A rule's health after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Good,
    Bad,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Good => "ok",
            Health::Bad => "err",
        }
    }
}

/// A rule and what its evaluations left.
#[derive(Debug, Clone)]
pub struct RuleState {
    pub rule: Rule,
    /// Alert instances by identity (alerting rules only).
    pub active: BTreeMap<LabelMap, Alert>,
    pub health: Health,
    pub last_error: Option<String>,
    pub last_eval: Option<i64>,
    pub last_duration: Duration,
    /// The recording rule's last output (shown in the inspector for a remote server).
    pub last_output: Vec<QuerySample>,
    /// Series written at the previous evaluation (for stale markers).
    previous_series: BTreeSet<LabelMap>,
}

/// Settings shared by all groups: what templates see.
#[derive(Debug, Clone, Default)]
pub struct EvalContext {
    pub external_labels: LabelMap,
    pub external_url: String,
}

/// A group and its rules' states.
#[derive(Debug, Clone)]
pub struct GroupState {
    pub name: String,
    /// Where it was read from.
    pub file: String,
    pub interval: Duration,
    pub limit: u64,
    pub rules: Vec<RuleState>,
    pub last_eval: Option<i64>,
    pub last_duration: Duration,
}

impl GroupState {
    /// A group as read from `file`, evaluated every `default_interval` unless it has its own.
    pub fn new(group: &RuleGroup, file: &str, default_interval: Duration) -> Self {
        GroupState {
            name: group.name.clone(),
            file: file.to_owned(),
            interval: group.interval.unwrap_or(default_interval),
            limit: group.limit,
            rules: group
                .rules
                .iter()
                .map(|r| RuleState {
                    rule: r.clone(),
                    active: BTreeMap::new(),
                    health: Health::Unknown,
                    last_error: None,
                    last_eval: None,
                    last_duration: Duration::ZERO,
                    last_output: Vec::new(),
                    previous_series: BTreeSet::new(),
                })
                .collect(),
            last_eval: None,
            last_duration: Duration::ZERO,
        }
    }

    /// Evaluates every rule in order at `ts_ms`, each seeing what the ones before wrote.
    pub fn eval(&mut self, ts_ms: i64, backend: &mut dyn RuleBackend, ctx: &EvalContext) {
        let started = std::time::Instant::now();
        for r in &mut self.rules {
            let rule_started = std::time::Instant::now();
            let result = match &r.rule.kind {
                RuleKind::Record(name) => {
                    eval_recording(&r.rule, name, ts_ms, &*backend, self.limit)
                }
                RuleKind::Alert(_) => eval_alerting(r, ts_ms, &*backend, ctx, self.limit),
            };
            r.last_eval = Some(ts_ms);
            r.last_duration = rule_started.elapsed();
            let out = match result {
                Ok(out) => {
                    r.health = Health::Good;
                    r.last_error = None;
                    out
                }
                Err(e) => {
                    r.health = Health::Bad;
                    r.last_error = Some(e);
                    continue;
                }
            };
            let mut now = BTreeSet::new();
            for s in &out {
                backend.append(&s.labels, ts_ms, s.value);
                now.insert(s.labels.clone());
            }
            for gone in r.previous_series.difference(&now) {
                backend.append(gone, ts_ms, f64::from_bits(STALE_NAN_BITS));
            }
            r.previous_series = now;
            if matches!(r.rule.kind, RuleKind::Record(_)) {
                r.last_output = out;
            }
        }
        self.last_eval = Some(ts_ms);
        self.last_duration = started.elapsed();
    }

    /// The group's health: bad when any rule is.
    pub fn health(&self) -> Health {
        if self.rules.iter().any(|r| r.health == Health::Bad) {
            Health::Bad
        } else if self.rules.iter().all(|r| r.health == Health::Good) {
            Health::Good
        } else {
            Health::Unknown
        }
    }
}

fn eval_recording(
    rule: &Rule,
    name: &str,
    ts: i64,
    backend: &dyn RuleBackend,
    limit: u64,
) -> Result<Vec<QuerySample>, String> {
    let mut v = backend.query(&rule.expr, ts)?;
    let mut seen = BTreeSet::new();
    for s in &mut v {
        s.labels.insert("__name__".into(), name.to_owned());
        for (k, val) in &rule.labels {
            if val.is_empty() {
                s.labels.remove(k);
            } else {
                s.labels.insert(k.clone(), val.clone());
            }
        }
        if !seen.insert(s.labels.clone()) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
    }
    if limit > 0 && v.len() as u64 > limit {
        return Err(format!("exceeded limit of {limit} with {} series", v.len()));
    }
    Ok(v)
}

fn eval_alerting(
    r: &mut RuleState,
    ts: i64,
    backend: &dyn RuleBackend,
    ctx: &EvalContext,
    limit: u64,
) -> Result<Vec<QuerySample>, String> {
    let rule = &r.rule;
    let name = rule.name().to_owned();
    let res = backend.query(&rule.expr, ts)?;
    let query = |e: &str| -> Result<Vec<(LabelMap, f64)>, String> {
        backend
            .query(e, ts)
            .map(|v| v.into_iter().map(|s| (s.labels, s.value)).collect())
    };
    let tmpl_name = format!("__alert_{name}");
    let mut fresh: BTreeMap<LabelMap, Alert> = BTreeMap::new();
    for s in &res {
        let data = AlertData {
            labels: s.labels.clone(),
            external_labels: ctx.external_labels.clone(),
            external_url: ctx.external_url.clone(),
            value: s.value,
        };
        let expand = |t: &str| expand_alert(&with_defs(t), &tmpl_name, &data, Some(&query));
        let mut labels = s.labels.clone();
        labels.remove("__name__");
        for (k, v) in &rule.labels {
            let x = expand(v);
            if x.is_empty() {
                labels.remove(k);
            } else {
                labels.insert(k.clone(), x);
            }
        }
        labels.insert("alertname".into(), name.clone());
        let annotations: LabelMap = rule
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), expand(v)))
            .collect();
        if fresh.contains_key(&labels) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        fresh.insert(
            labels.clone(),
            Alert {
                labels,
                annotations,
                state: AlertStatus::Pending,
                value: s.value,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                keep_firing_since: None,
                last_sent_at: None,
                valid_until: None,
            },
        );
    }
    let hold = rule.for_.as_millis() as i64;
    let keep_for = rule.keep_firing_for.as_millis() as i64;
    let in_result: BTreeSet<LabelMap> = fresh.keys().cloned().collect();
    let rule_labels: LabelMap = rule
        .labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, a) in fresh {
        match r.active.get_mut(&k) {
            Some(existing) if existing.state != AlertStatus::Inactive => {
                existing.value = a.value;
                existing.annotations = a.annotations;
            }
            _ => {
                r.active.insert(k, a);
            }
        }
    }
    let mut out = Vec::new();
    let mut active_pending = 0u64;
    let mut remove = Vec::new();
    for (k, a) in r.active.iter_mut() {
        if !in_result.contains(k) {
            let mut keep_firing = false;
            if a.state == AlertStatus::Firing && keep_for > 0 {
                let since = *a.keep_firing_since.get_or_insert(ts);
                keep_firing = ts - since < keep_for;
            }
            if a.state == AlertStatus::Pending
                || a.resolved_at
                    .is_some_and(|r| ts - r > RESOLVED_RETENTION.as_millis() as i64)
            {
                remove.push(k.clone());
            }
            if a.state != AlertStatus::Inactive && !keep_firing {
                a.state = AlertStatus::Inactive;
                a.resolved_at = Some(ts);
            }
            if !keep_firing {
                continue;
            }
        } else {
            a.keep_firing_since = None;
        }
        active_pending += 1;
        if a.state == AlertStatus::Pending && ts - a.active_at >= hold {
            a.state = AlertStatus::Firing;
            a.fired_at = Some(ts);
        }
        // `ALERTS` starts from the rule's labels as written (a label whose template came
        // out empty is not in the alert but is here), as `AlertingRule.sample` does.
        let mut alerts = rule_labels.clone();
        alerts.extend(a.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        alerts.insert("__name__".into(), "ALERTS".into());
        alerts.insert("alertstate".into(), a.state.as_str().into());
        out.push(QuerySample {
            labels: alerts,
            value: 1.0,
        });
        let mut for_state = rule_labels.clone();
        for_state.extend(a.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        for_state.insert("__name__".into(), "ALERTS_FOR_STATE".into());
        out.push(QuerySample {
            labels: for_state,
            value: a.active_at.div_euclid(1000) as f64,
        });
    }
    for k in remove {
        r.active.remove(&k);
    }
    if limit > 0 && active_pending > limit {
        r.active.clear();
        return Err(format!(
            "exceeded limit of {limit} with {active_pending} alerts"
        ));
    }
    Ok(out)
}

/// The variables Prometheus defines in front of every alert template (on the same line,
/// so error columns count them as Prometheus's do).
fn with_defs(text: &str) -> String {
    format!(
        "{{{{$labels := .Labels}}}}{{{{$externalLabels := .ExternalLabels}}}}{{{{$externalURL := .ExternalURL}}}}{{{{$value := .Value}}}}{text}"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rules::parse_rule_file;

    /// Answers each query from a script: `Some(v)` one sample, `None` nothing, `Err` a failure.
    struct Scripted {
        answer: Result<Option<f64>, String>,
        written: Vec<(LabelMap, i64, f64)>,
    }

    impl RuleBackend for Scripted {
        fn query(&self, _expr: &str, _t: i64) -> Result<Vec<QuerySample>, String> {
            self.answer.clone().map(|v| {
                v.map(|value| QuerySample {
                    labels: [("__name__", "m"), ("job", "a")]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    value,
                })
                .into_iter()
                .collect()
            })
        }
        fn append(&mut self, labels: &LabelMap, t: i64, v: f64) {
            self.written.push((labels.clone(), t, v));
        }
    }

    fn group(extra: &str) -> GroupState {
        let text = format!(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: m > 1\n    for: 2m\n{extra}    labels:\n      sev: \"{{{{ if gt $value 5.0 }}}}high{{{{ else }}}}low{{{{ end }}}}\"\n    annotations:\n      s: \"{{{{ $labels.job }}}} {{{{ $value }}}}\"\n"
        );
        let f = parse_rule_file(&text).unwrap();
        GroupState::new(&f.groups[0], "t.yml", Duration::from_secs(60))
    }

    fn state(g: &GroupState) -> Vec<(AlertStatus, String)> {
        g.rules[0]
            .active
            .values()
            .map(|a| (a.state, a.annotations["s"].clone()))
            .collect()
    }

    const MIN: i64 = 60_000;

    #[test]
    fn pending_firing_resolved_and_errors_change_nothing() {
        let mut g = group("");
        let ctx = EvalContext::default();
        let mut b = Scripted {
            answer: Ok(Some(3.0)),
            written: Vec::new(),
        };
        g.eval(0, &mut b, &ctx);
        assert_eq!(state(&g), [(AlertStatus::Pending, "a 3".to_string())]);
        let a = g.rules[0].active.values().next().unwrap();
        assert_eq!(a.labels["sev"], "low");
        assert_eq!(a.labels["alertname"], "A");
        assert!(!a.labels.contains_key("__name__"));
        g.eval(MIN, &mut b, &ctx);
        assert_eq!(state(&g)[0].0, AlertStatus::Pending);
        // An error: unhealthy, alert untouched.
        b.answer = Err("server down".into());
        g.eval(2 * MIN, &mut b, &ctx);
        assert_eq!(g.rules[0].health, Health::Bad);
        assert_eq!(state(&g)[0].0, AlertStatus::Pending);
        b.answer = Ok(Some(4.0));
        g.eval(3 * MIN, &mut b, &ctx);
        assert_eq!(state(&g), [(AlertStatus::Firing, "a 4".to_string())]);
        assert_eq!(g.rules[0].health, Health::Good);
        // Errors while firing resolve nothing.
        b.answer = Err("timeout".into());
        g.eval(4 * MIN, &mut b, &ctx);
        assert_eq!(state(&g)[0].0, AlertStatus::Firing);
        // Empty result: resolved, kept 15 minutes, then dropped.
        b.answer = Ok(None);
        g.eval(5 * MIN, &mut b, &ctx);
        assert_eq!(state(&g)[0].0, AlertStatus::Inactive);
        g.eval(20 * MIN, &mut b, &ctx);
        assert_eq!(state(&g).len(), 1);
        g.eval(21 * MIN, &mut b, &ctx);
        assert!(state(&g).is_empty());
        // ALERTS was written while active, then a stale marker.
        let alerts: Vec<_> = b
            .written
            .iter()
            .filter(|(l, _, _)| l["__name__"] == "ALERTS")
            .collect();
        assert_eq!(alerts.last().unwrap().2.to_bits(), STALE_NAN_BITS);
        assert_eq!(alerts.last().unwrap().1, 5 * MIN);
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert() {
        let mut g = group("    keep_firing_for: 2m\n");
        let ctx = EvalContext::default();
        let mut b = Scripted {
            answer: Ok(Some(9.0)),
            written: Vec::new(),
        };
        for t in 0..=2 {
            g.eval(t * MIN, &mut b, &ctx);
        }
        assert_eq!(state(&g)[0].0, AlertStatus::Firing);
        b.answer = Ok(None);
        g.eval(3 * MIN, &mut b, &ctx);
        g.eval(4 * MIN, &mut b, &ctx);
        assert_eq!(state(&g)[0].0, AlertStatus::Firing);
        g.eval(5 * MIN, &mut b, &ctx);
        assert_eq!(state(&g)[0].0, AlertStatus::Inactive);
        // Another value renders another `sev`: another alert (identity includes templated
        // labels) beside the resolved one; pending, it is dropped as soon as it clears.
        b.answer = Ok(Some(2.0));
        g.eval(6 * MIN, &mut b, &ctx);
        let states: Vec<_> = state(&g).into_iter().map(|s| s.0).collect();
        assert_eq!(states, [AlertStatus::Inactive, AlertStatus::Pending]);
        b.answer = Ok(None);
        g.eval(7 * MIN, &mut b, &ctx);
        let states: Vec<_> = state(&g).into_iter().map(|s| s.0).collect();
        assert_eq!(states, [AlertStatus::Inactive]);
    }
}
