//! Client-side threshold alerts: a pure state machine over query results and a clock.
//!
//! It follows Prometheus alerting rules: each label set the rule's query returns is one
//! instance; a true condition makes it pending, true for at least `for` makes it firing,
//! false again makes it resolved (after `keep_firing_for`, counted from the first false
//! evaluation). Resolved instances stay visible for [`AlertEngine::resolved_retention`].
//!
//! Unknown is not false: a query error, or an answer that says it may lack data
//! (`isPartial`, or warnings as Thanos and Mimir send when a store did not answer), marks
//! the rule's instances stale and changes nothing else, so an alert never resolves
//! because the server could not be reached or answered only in part. The reason is kept
//! per rule ([`AlertEngine::unknown_reason`]) for the screen to show.
//!
//! NaN follows Prometheus: a rule with a threshold compares as PromQL does (`NaN > t` is
//! false, `NaN != t` is true); without a threshold every returned sample is a firing
//! instance, whatever its value. An empty complete result is "false".

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::dashboard::{AlertRule, CompareOp, Severity};
use crate::error::QueryError;
use crate::model::{Labels, QueryData, QueryResult};

/// How long a resolved instance stays visible by default.
pub const DEFAULT_RESOLVED_RETENTION: Duration = Duration::from_secs(60);

/// The life of one alert instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One label set of one rule. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertInstance {
    pub rule: String,
    /// The series' labels without `__name__`.
    pub labels: Labels,
    pub state: AlertState,
    /// The latest value seen for this label set (NaN before any).
    pub value: f64,
    /// When the condition last became true (start of pending).
    pub active_since: Option<f64>,
    pub firing_since: Option<f64>,
    pub resolved_at: Option<f64>,
    /// First false evaluation while firing, for `keep_firing_for`.
    pub keep_firing_since: Option<f64>,
    /// The last evaluation failed: the state shown may be out of date.
    pub stale: bool,
    /// The rule's summary with `{{ $value }}` and `{{ $labels.x }}` filled in.
    pub summary: String,
    pub severity: Severity,
    /// Last time this instance was evaluated successfully.
    pub last_eval: f64,
}

/// A change of state of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub rule: String,
    pub labels: Labels,
    pub from: AlertState,
    pub to: AlertState,
    pub at: f64,
    pub value: f64,
}

/// The alert engine: rules plus every live instance.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    rules: Vec<AlertRule>,
    instances: BTreeMap<(String, Labels), AlertInstance>,
    resolved_retention: Duration,
    /// Rules whose last evaluation could not decide, with why.
    unknown: BTreeMap<String, String>,
    /// Per rule, the value of its expression at the last evaluation that decided: the one
    /// closest to the threshold (see [`AlertEngine::last_value`]).
    last: BTreeMap<String, f64>,
}

impl AlertEngine {
    pub fn new(rules: Vec<AlertRule>) -> Self {
        Self {
            rules,
            instances: BTreeMap::new(),
            resolved_retention: DEFAULT_RESOLVED_RETENTION,
            unknown: BTreeMap::new(),
            last: BTreeMap::new(),
        }
    }

    /// The value of `rule`'s expression at its last decided evaluation, so that an
    /// inactive rule can show how far it is from firing: of several series the one
    /// nearest to crossing (the highest for `>`/`>=`, the lowest for `<`/`<=`, else the
    /// first). `None` before any answer, or when the answer was empty.
    pub fn last_value(&self, rule: &str) -> Option<f64> {
        self.last.get(rule).copied()
    }

    /// Why the last evaluation of `rule` could not decide (the query failed, or its
    /// answer was partial), or `None` when it decided.
    pub fn unknown_reason(&self, rule: &str) -> Option<&str> {
        self.unknown.get(rule).map(String::as_str)
    }

    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// How long resolved instances stay listed (default 60 s).
    pub fn resolved_retention(&self) -> Duration {
        self.resolved_retention
    }

    pub fn set_resolved_retention(&mut self, d: Duration) {
        self.resolved_retention = d;
    }

    /// Every instance (pending, firing and recently resolved), ordered by rule name and
    /// labels.
    pub fn instances(&self) -> impl Iterator<Item = &AlertInstance> {
        self.instances.values()
    }

    /// Firing instances only.
    pub fn firing(&self) -> impl Iterator<Item = &AlertInstance> {
        self.instances().filter(|i| i.state == AlertState::Firing)
    }

    /// Drops resolved instances older than the retention. `evaluate` does this for the
    /// rule it evaluates; call this when drawing between evaluations.
    pub fn prune(&mut self, now: f64) {
        let keep = self.resolved_retention.as_secs_f64();
        self.instances.retain(|_, i| {
            !(i.state == AlertState::Resolved && i.resolved_at.is_some_and(|r| now - r >= keep))
        });
    }

    /// One evaluation of rule `rule` with its query outcome at `now` (Unix seconds).
    /// Returns the transitions that happened. An unknown rule name changes nothing; an
    /// error or an incomplete answer ([`Notes::is_incomplete`](crate::model::Notes))
    /// only marks the rule's instances stale.
    pub fn evaluate(
        &mut self,
        rule: &str,
        outcome: Result<&QueryResult, &QueryError>,
        now: f64,
    ) -> Vec<Transition> {
        let Some(r) = self.rules.iter().find(|r| r.name == rule) else {
            return Vec::new();
        };
        let result = match outcome {
            Ok(result) if !result.notes.is_incomplete() => result,
            _ => {
                let reason = match outcome {
                    Ok(result) => result.notes.incomplete_reason().unwrap_or_default(),
                    Err(e) => e.to_string(),
                };
                for inst in self.instances.values_mut().filter(|i| i.rule == rule) {
                    inst.stale = true;
                }
                self.unknown.insert(rule.to_owned(), reason);
                return Vec::new();
            }
        };
        self.unknown.remove(rule);
        match nearest_value(r, &result.data) {
            Some(v) => self.last.insert(rule.to_owned(), v),
            None => self.last.remove(rule),
        };
        let mut transitions = Vec::new();
        let active = active_label_sets(r, &result.data);
        let keep = self.resolved_retention.as_secs_f64();
        let for_ = r.for_.as_secs_f64();
        let keep_firing_for = r.keep_firing_for.as_secs_f64();

        // Instances whose condition is true now.
        for (labels, value) in &active {
            let key = (rule.to_owned(), labels.clone());
            let inst = self.instances.entry(key).or_insert_with(|| AlertInstance {
                rule: rule.to_owned(),
                labels: labels.clone(),
                state: AlertState::Inactive,
                value: f64::NAN,
                active_since: None,
                firing_since: None,
                resolved_at: None,
                keep_firing_since: None,
                stale: false,
                summary: String::new(),
                severity: r.severity,
                last_eval: now,
            });
            inst.value = *value;
            inst.stale = false;
            inst.last_eval = now;
            inst.keep_firing_since = None;
            inst.summary = render_summary(&r.summary, *value, labels);
            let from = inst.state;
            match from {
                AlertState::Inactive | AlertState::Resolved => {
                    inst.active_since = Some(now);
                    inst.resolved_at = None;
                    inst.firing_since = None;
                    if for_ <= 0.0 {
                        inst.state = AlertState::Firing;
                        inst.firing_since = Some(now);
                    } else {
                        inst.state = AlertState::Pending;
                    }
                }
                AlertState::Pending => {
                    if inst.active_since.is_some_and(|a| now - a >= for_) {
                        inst.state = AlertState::Firing;
                        inst.firing_since = Some(now);
                    }
                }
                AlertState::Firing => {}
            }
            if inst.state != from {
                transitions.push(transition(inst, from, now));
            }
        }

        // Instances of this rule whose condition is not true now.
        let mut remove = Vec::new();
        for (key, inst) in self.instances.iter_mut() {
            if key.0 != rule || active.contains_key(&key.1) {
                continue;
            }
            inst.stale = false;
            inst.last_eval = now;
            let from = inst.state;
            match from {
                AlertState::Pending | AlertState::Inactive => {
                    inst.state = AlertState::Inactive;
                    remove.push(key.clone());
                }
                AlertState::Firing => {
                    let since = *inst.keep_firing_since.get_or_insert(now);
                    if keep_firing_for <= 0.0 || now - since >= keep_firing_for {
                        inst.state = AlertState::Resolved;
                        inst.resolved_at = Some(now);
                        inst.keep_firing_since = None;
                    }
                }
                AlertState::Resolved => {
                    if inst.resolved_at.is_some_and(|r| now - r >= keep) {
                        remove.push(key.clone());
                    }
                }
            }
            if inst.state != from {
                transitions.push(transition(inst, from, now));
            }
        }
        for key in remove {
            self.instances.remove(&key);
        }
        transitions
    }
}

fn transition(inst: &AlertInstance, from: AlertState, at: f64) -> Transition {
    Transition {
        rule: inst.rule.clone(),
        labels: inst.labels.clone(),
        from,
        to: inst.state,
        at,
        value: inst.value,
    }
}

/// The label sets (without `__name__`) for which the rule's condition holds, with the
/// value that made it hold. For a matrix the last sample of each series counts.
/// The value of `data` nearest to making `rule` fire (see [`AlertEngine::last_value`]).
fn nearest_value(rule: &AlertRule, data: &QueryData) -> Option<f64> {
    let values: Vec<f64> = match data {
        QueryData::Vector(series) => series.iter().map(|s| s.sample.v).collect(),
        QueryData::Matrix(series) => series
            .iter()
            .filter_map(|s| s.samples.last().map(|p| p.v))
            .collect(),
        QueryData::Scalar(sample) => vec![sample.v],
        QueryData::String { .. } => Vec::new(),
    };
    let first = *values.first()?;
    let finite = values.iter().copied().filter(|v| !v.is_nan());
    let op = match (rule.op, rule.threshold) {
        (None, Some(_)) => Some(CompareOp::Gt),
        (op, _) => op,
    };
    Some(match op {
        Some(CompareOp::Gt | CompareOp::Ge) => finite.fold(first, f64::max),
        Some(CompareOp::Lt | CompareOp::Le) => finite.fold(first, f64::min),
        _ => first,
    })
}

fn active_label_sets(rule: &AlertRule, data: &QueryData) -> BTreeMap<Labels, f64> {
    let mut out = BTreeMap::new();
    let mut add = |labels: &Labels, v: f64| {
        if rule.condition_holds(v) {
            // A copy of its own: a clone would keep the text of the whole answer alive
            // for as long as the instance lives.
            let l = labels
                .iter()
                .filter(|(name, _)| *name != "__name__")
                .collect();
            out.insert(l, v);
        }
    };
    match data {
        QueryData::Vector(series) => {
            for s in series {
                add(&s.labels, s.sample.v);
            }
        }
        QueryData::Matrix(series) => {
            for s in series {
                if let Some(last) = s.samples.last() {
                    add(&s.labels, last.v);
                }
            }
        }
        QueryData::Scalar(sample) => add(&Labels::new(), sample.v),
        QueryData::String { .. } => {}
    }
    out
}

/// Fills `{{ $value }}` and `{{ $labels.name }}` (spaces inside the braces optional).
/// A missing label becomes empty; anything else between braces is left as written.
pub fn render_summary(template: &str, value: f64, labels: &Labels) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = after[..close].trim();
        if inner == "$value" {
            out.push_str(&format_value(value));
        } else if let Some(name) = inner.strip_prefix("$labels.") {
            if let Some(v) = labels.get(name.trim()) {
                out.push_str(v);
            }
        } else {
            out.push_str(&rest[open..open + 2 + close + 2]);
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A value for people: up to 4 significant digits, no trailing zeros, exponent form for
/// very large or very small magnitudes, and `NaN`/`+Inf`/`-Inf` as Prometheus writes them.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    if v.fract() == 0.0 {
        return format!("{v:.0}");
    }
    // Decimals so that about 4 significant digits show.
    let digits = a.log10().floor() as i32 + 1;
    let decimals = (4 - digits).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// An alert as the server reports it on `/api/v1/alerts`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerAlert {
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    /// `pending` or `firing` (kept as text: servers may add others).
    #[serde(default)]
    pub state: String,
    /// RFC 3339 time the alert became active.
    #[serde(default)]
    pub active_at: Option<String>,
    /// The value as a number (the server sends it as a string).
    #[serde(default, deserialize_with = "crate::model::de_opt_value")]
    pub value: Option<f64>,
}
