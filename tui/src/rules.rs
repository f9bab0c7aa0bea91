//! Prometheus rule files in the running dashboard (`--rules FILE|GLOB`, `rule_files = [...]`
//! in a dashboard or `config.toml`).
//!
//! A [`Scheduler`] evaluates each group on its own interval (the group's `interval`, else
//! `--evaluation-interval`, default [`DEFAULT_EVALUATION_INTERVAL`] as Prometheus's global
//! `evaluation_interval`) at timestamps aligned to that interval, on one thread of its own:
//! the dashboard never waits for it, and at most one evaluation runs at a time (a group
//! whose ticks were missed is evaluated once, at the newest tick, as Prometheus skips
//! missed iterations). Each evaluation goes to the dashboard as [`Msg::Rules`].
//!
//! - On the embedded engine ([`EmbeddedBackend`]) recorded series, `ALERTS` and
//!   `ALERTS_FOR_STATE` are appended to the store: later rules and panels query them.
//! - Against a server ([`RemoteBackend`]) nothing is written; recorded series are shown in
//!   the alerts view, and a recorded series the server does not have (while the rule
//!   records some here) is a warning naming the rules and panels that need it.
//! - An evaluation error marks the rule unhealthy and changes no alert state (see
//!   [`promdash_queries::rules::eval`]).
//!
//! ## The notifier hook
//!
//! [`Scheduler::on_evaluation`] registers a function called on the scheduler's thread
//! after every evaluation of a group with its [`GroupEvaluation`]: the group's state as
//! the rule manager left it — every alert with state, labels, annotations, `active_at`,
//! `fired_at`, `resolved_at` (ms), resolved alerts kept 15 minutes — and the group's
//! interval. [`GroupEvaluation::alerts`] lists the alerts. The function must not block
//! (hand the evaluation to a channel or task).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promdash_engine::value::{Labels as EngineLabels, Value};
use promdash_engine::{Engine, Store};
use promdash_queries::alert::{AlertInstance, AlertState, Transition};
use promdash_queries::dashboard::Severity;
use promdash_queries::model::Labels;
use promdash_queries::rules::eval::{
    Alert, AlertStatus, EvalContext, GroupState, Health, QuerySample, RuleBackend,
};
use promdash_queries::rules::source::samples;
use promdash_queries::rules::template::LabelMap;
use promdash_queries::rules::{RuleKind, glob, load_rule_file};
use promdash_queries::source::MetricsSource;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{Effect, Msg, State};

/// A group without `interval` is evaluated this often unless `--evaluation-interval` says
/// otherwise: Prometheus's default global `evaluation_interval`.
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);

/// The rule files `patterns` name (`--rules`, `rule_files`), each glob expanded; a
/// relative pattern is taken from `base` when given (a dashboard's directory). An
/// unmatched pattern is an error naming it.
pub fn expand(patterns: &[String], base: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in patterns {
        let full = match base {
            Some(b) if Path::new(p).is_relative() => b.join(p).display().to_string(),
            _ => p.clone(),
        };
        let found = if full.contains(['*', '?', '[']) {
            glob::glob(&full)
        } else {
            vec![PathBuf::from(&full)]
        };
        if found.is_empty() {
            return Err(format!("rule files {p:?}: no file matches"));
        }
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// Reads and checks every file: the groups in file order, or every problem found
/// (file:line:col each).
pub fn load(paths: &[PathBuf], default_interval: Duration) -> Result<Vec<GroupState>, String> {
    let mut groups = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match load_rule_file(path) {
            Ok(f) => {
                for g in &f.groups {
                    groups.push(GroupState::new(
                        g,
                        &path.display().to_string(),
                        default_interval,
                    ));
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(groups)
    } else {
        Err(problems.join("\n"))
    }
}

/// One evaluation of one group: what the notifier and the dashboard get.
#[derive(Debug, Clone)]
pub struct GroupEvaluation {
    /// The group's position among all groups loaded (file order).
    pub index: usize,
    /// The group as the rule manager left it after this evaluation (`group.interval`,
    /// `group.last_eval`, each rule's health, last error and alerts).
    pub group: GroupState,
    /// The evaluation's timestamp, ms since the epoch.
    pub at_ms: i64,
    /// Against a server: recorded series it does not have, each with who needs it.
    pub warnings: Vec<String>,
}

impl GroupEvaluation {
    /// Every alert of the group's alerting rules (`labels["alertname"]` names the rule):
    /// pending, firing, and resolved ones (`state` inactive, `resolved_at` set) for 15
    /// minutes after their resolution.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.group.rules.iter().flat_map(|r| r.active.values())
    }
}

/// What the notifier hook is called with (see the module documentation).
pub type Notifier = Arc<dyn Fn(&GroupEvaluation) + Send + Sync>;

/// Rules answered by the embedded engine; what they produce goes into its store.
pub struct EmbeddedBackend {
    pub store: Arc<RwLock<Store>>,
    pub engine: Engine,
}

impl RuleBackend for EmbeddedBackend {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String> {
        let store = self
            .store
            .read()
            .map_err(|_| "the store is unusable: a writer panicked".to_owned())?;
        match self.engine.instant(&store, expr, t_ms) {
            Ok(Value::Vector(v)) => Ok(v
                .into_iter()
                .map(|s| QuerySample {
                    labels: s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                    value: s.v,
                })
                .collect()),
            Ok(Value::Scalar(p)) => Ok(vec![QuerySample {
                labels: LabelMap::new(),
                value: p.v,
            }]),
            Ok(_) => Err("rule result is not a vector or scalar".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn append(&mut self, labels: &LabelMap, t_ms: i64, value: f64) {
        let l: EngineLabels = labels.iter().collect();
        if let Ok(mut store) = self.store.write() {
            // Out-of-order and duplicate samples are dropped, as Prometheus's appender does.
            let _ = store.append(&l, t_ms, value);
        }
    }
}

/// Rules answered by a server (any [`MetricsSource`]); nothing is written back.
pub struct RemoteBackend<S: MetricsSource> {
    pub source: Arc<S>,
    /// The runtime the source's requests run on; the scheduler's thread blocks on it.
    pub handle: tokio::runtime::Handle,
}

impl<S: MetricsSource> RuleBackend for RemoteBackend<S> {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String> {
        // A task on the runtime, awaited here: when the runtime shuts down (the dashboard
        // ends) the task is dropped and this answers an error instead of panicking.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (source, expr) = (Arc::clone(&self.source), expr.to_owned());
        self.handle.spawn(async move {
            let answer = source.instant(&expr, Some(t_ms as f64 / 1000.0)).await;
            let _ = tx.send(answer);
        });
        let answer = rx
            .recv()
            .map_err(|_| "the dashboard is ending".to_owned())?
            .map_err(|e| e.to_string())?;
        samples(answer)
    }

    fn append(&mut self, _labels: &LabelMap, _t_ms: i64, _value: f64) {}
}

/// Rule groups and how to evaluate them; [`Scheduler::start`] runs it.
pub struct Scheduler {
    groups: Vec<GroupState>,
    ctx: EvalContext,
    notifiers: Vec<Notifier>,
    /// Expressions that may need a recorded series (panels and their titles), checked
    /// against a server.
    consumers: Vec<(String, String)>,
}

impl Scheduler {
    pub fn new(groups: Vec<GroupState>, ctx: EvalContext) -> Self {
        Scheduler {
            groups,
            ctx,
            notifiers: Vec::new(),
            consumers: Vec::new(),
        }
    }

    /// Calls `f` after every evaluation of a group (the notifier hook; see the module
    /// documentation).
    pub fn on_evaluation(&mut self, f: Notifier) {
        self.notifiers.push(f);
    }

    /// Panels (title, expression) warned about when they need a recorded series the server
    /// does not have.
    pub fn with_consumers(mut self, consumers: Vec<(String, String)>) -> Self {
        self.consumers = consumers;
        self
    }

    /// The groups before any evaluation (what the dashboard starts with).
    pub fn groups(&self) -> &[GroupState] {
        &self.groups
    }

    /// Evaluates on a thread of its own until `tx` is closed (the dashboard ended).
    /// `remote`: the backend is a server (recorded series are checked there, not written).
    pub fn start(
        self,
        backend: Box<dyn RuleBackend + Send>,
        remote: bool,
        tx: UnboundedSender<Msg>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("promdash-rules".into())
            .spawn(move || self.run(backend, remote, &tx))
    }

    fn run(
        mut self,
        mut backend: Box<dyn RuleBackend + Send>,
        remote: bool,
        tx: &UnboundedSender<Msg>,
    ) {
        let mut next: Vec<i64> = vec![0; self.groups.len()];
        loop {
            let now = now_ms();
            let mut evaluated = false;
            for (i, due) in next.iter_mut().enumerate() {
                if *due > now {
                    continue;
                }
                let step = interval_ms(self.groups[i].interval);
                let at = now.div_euclid(step) * step;
                *due = at + step;
                let warnings = self.evaluate(i, at, backend.as_mut(), remote);
                let ev = GroupEvaluation {
                    index: i,
                    group: self.groups[i].clone(),
                    at_ms: at,
                    warnings,
                };
                for n in &self.notifiers {
                    n(&ev);
                }
                if tx.send(Msg::Rules(Box::new(ev))).is_err() {
                    return;
                }
                evaluated = true;
            }
            if tx.is_closed() {
                return;
            }
            if evaluated {
                continue;
            }
            let Some(&due) = next.iter().min() else {
                return;
            };
            let wait = u64::try_from(due - now_ms()).unwrap_or(0);
            // Wake at least once a second to notice the dashboard has ended.
            std::thread::sleep(Duration::from_millis(wait.clamp(1, 1000)));
        }
    }

    fn evaluate(
        &mut self,
        i: usize,
        at: i64,
        backend: &mut dyn RuleBackend,
        remote: bool,
    ) -> Vec<String> {
        let group = &mut self.groups[i];
        group.eval(at, backend, &self.ctx);
        for r in &group.rules {
            if let Some(e) = &r.last_error {
                tracing::warn!(group = %group.name, rule = %r.rule.name(), "rule evaluation failed: {e}");
            }
        }
        if !remote {
            return Vec::new();
        }
        // Against a server: a recorded series it does not have is a warning for whoever
        // needs it (rules of any group, panels).
        let mut warnings = Vec::new();
        // Only names recorded here now: an empty output proves nothing about the server.
        let recorded: Vec<String> = group
            .rules
            .iter()
            .filter(|r| r.last_error.is_none() && !r.last_output.is_empty())
            .filter_map(|r| match &r.rule.kind {
                RuleKind::Record(name) => Some(name.clone()),
                RuleKind::Alert(_) => None,
            })
            .collect();
        let group_name = group.name.clone();
        for name in recorded {
            let mut users: Vec<String> = Vec::new();
            for g in &self.groups {
                for r in &g.rules {
                    if mentions(&r.rule.expr, &name) {
                        users.push(format!("rule {:?}", r.rule.name()));
                    }
                }
            }
            for (title, expr) in &self.consumers {
                if mentions(expr, &name) {
                    users.push(format!("panel {title:?}"));
                }
            }
            if users.is_empty() {
                continue;
            }
            let users: Vec<String> = users
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            match backend.query(&format!("count({{__name__={name:?}}})"), at) {
                Ok(v) if v.is_empty() => warnings.push(format!(
                    "the server has no series {name} (recorded by group {group_name:?}, \
                     evaluated here only for this view): {} will find nothing",
                    users.join(", ")
                )),
                _ => {}
            }
        }
        warnings
    }
}

fn interval_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether `expr` names the metric `name` (not as part of a longer name).
pub fn mentions(expr: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(name).any(|(at, _)| {
        let before = expr[..at].chars().next_back();
        let after = expr[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// What the dashboard evaluates: the groups read from the rule files and what templates
/// see.
pub struct Setup {
    pub groups: Vec<GroupState>,
    pub ctx: EvalContext,
    /// The dashboard's panels (title, expression), warned about when they need a
    /// recorded series the server does not have.
    pub consumers: Vec<(String, String)>,
}

/// The rule files of the dashboard: `--rules` when given, else the dashboard's
/// `rule_files`, else `config.toml`'s; `None` when there are none. Every file is read and
/// checked here (a problem is the user's to fix before the terminal is touched).
pub fn setup(
    cli: &crate::cli::Cli,
    dashboard: &promdash_queries::Dashboard,
) -> Result<Option<Setup>, String> {
    let patterns = if !cli.rules.is_empty() {
        cli.rules.clone()
    } else if !dashboard.rule_files.is_empty() {
        dashboard.rule_files.clone()
    } else {
        match crate::connection::user_config_path() {
            Some(path) => promdash_queries::dashboard::load_config_rule_files(&path)
                .map_err(|e| e.to_string())?,
            None => Vec::new(),
        }
    };
    if patterns.is_empty() {
        return Ok(None);
    }
    let interval = cli
        .evaluation_interval()?
        .unwrap_or(DEFAULT_EVALUATION_INTERVAL);
    if interval.is_zero() {
        return Err("--evaluation-interval must be longer than 0s".into());
    }
    let paths = expand(&patterns, None)?;
    let groups = load(&paths, interval)?;
    let ctx = EvalContext {
        external_labels: cli.external_labels.iter().cloned().collect(),
        external_url: String::new(),
    };
    let consumers = dashboard
        .panels
        .iter()
        .flat_map(|p| p.queries.iter().map(|q| (p.title.clone(), q.expr.clone())))
        .collect();
    Ok(Some(Setup {
        groups,
        ctx,
        consumers,
    }))
}

impl Setup {
    /// The state the dashboard starts with, and the [`Sidecar`](crate::run::Sidecar)
    /// that starts the scheduler with the dashboard (before `inner`, the embedded
    /// engine's). `backend` is made on the runtime (a remote one needs its handle).
    pub fn start(
        self,
        remote: bool,
        backend: impl FnOnce() -> Box<dyn RuleBackend + Send> + Send + 'static,
        notifiers: Vec<Notifier>,
        inner: Option<crate::run::Sidecar>,
    ) -> (RulesState, crate::run::Sidecar) {
        let state = RulesState::new(self.groups.clone(), remote);
        let mut scheduler = Scheduler::new(self.groups, self.ctx).with_consumers(self.consumers);
        for n in notifiers {
            scheduler.on_evaluation(n);
        }
        let sidecar: crate::run::Sidecar = Box::new(move |tx| {
            if let Err(e) = scheduler.start(backend(), remote, tx.clone()) {
                tracing::error!("cannot start the rule evaluation thread: {e}");
            }
            match inner {
                Some(start) => start(tx),
                None => Box::new(|_: &Effect| {}),
            }
        });
        (state, sidecar)
    }
}

/// Rules answered by `client` (the dashboard's server), their notifications going to
/// `am`'s Alertmanagers: puts the rules' state into `state` and returns the sidecar that
/// starts them, and the Alertmanager panel's, with the dashboard.
pub fn start_remote<S: MetricsSource + 'static>(
    state: &mut crate::app::State,
    client: &Arc<S>,
    rules: Option<Setup>,
    am: Option<crate::alertmanager::DashboardAm>,
) -> Option<crate::run::Sidecar> {
    let hooks: Vec<Notifier> = am
        .as_ref()
        .map(crate::alertmanager::DashboardAm::hook)
        .into_iter()
        .collect();
    let sidecar = rules.map(|setup| {
        let source = Arc::clone(client);
        let (rules_state, sidecar) = setup.start(
            true,
            move || {
                Box::new(RemoteBackend {
                    source,
                    handle: tokio::runtime::Handle::current(),
                })
            },
            hooks,
            None,
        );
        state.rules = rules_state;
        sidecar
    });
    match am {
        Some(am) => Some(am.install(state, sidecar)),
        None => sidecar,
    }
}

impl Setup {
    /// The rules over a recording (`--data` with rule files), on the recording's clock:
    /// every group is evaluated at each multiple of its interval from the recording's first
    /// sample (`start_ms`) to its last (`end_ms`), groups due at the same time in file
    /// order, as fast as the engine answers — the evaluations Prometheus would have made
    /// while the data was scraped. Recorded series and `ALERTS` go into `store` (panels
    /// read them), every transition into the alerts view's history at the recording time
    /// it happened, and the banner and alerts view end as the rules stood at the
    /// recording's end, where the replay's time stands. Nothing rings and nothing is
    /// sent. Returns the number of group evaluations.
    pub fn replay(
        self,
        store: Arc<RwLock<Store>>,
        engine: Engine,
        start_ms: i64,
        end_ms: i64,
        state: &mut State,
    ) -> usize {
        let mut groups = self.groups;
        state.rules = RulesState::new(groups.clone(), false);
        let mut backend = EmbeddedBackend { store, engine };
        let mut next: Vec<i64> = groups
            .iter()
            .map(|g| {
                let step = interval_ms(g.interval);
                // The first multiple of the interval at or after the first sample.
                let first = start_ms.div_euclid(step) * step;
                if first < start_ms {
                    first + step
                } else {
                    first
                }
            })
            .collect();
        let mut count = 0;
        // The earliest due group, the first in file order among equals.
        let earliest = |next: &[i64]| {
            next.iter()
                .copied()
                .enumerate()
                .min_by_key(|&(i, at)| (at, i))
                .filter(|&(_, at)| at <= end_ms)
        };
        while let Some((i, at)) = earliest(&next) {
            groups[i].eval(at, &mut backend, &self.ctx);
            next[i] = at + interval_ms(groups[i].interval);
            // No bell for history.
            let _ = on_evaluation(
                state,
                GroupEvaluation {
                    index: i,
                    group: groups[i].clone(),
                    at_ms: at,
                    warnings: Vec::new(),
                },
            );
            count += 1;
        }
        count
    }
}

/// The rule groups the dashboard shows (the alerts view, the banner).
#[derive(Debug, Clone, Default)]
pub struct RulesState {
    /// Every group, as its last evaluation left it (not yet evaluated: health unknown).
    pub groups: Vec<GroupState>,
    /// Warnings of the last evaluation of each group, by group index.
    pub warnings: Vec<Vec<String>>,
    /// The rules are evaluated against a server (recorded series are not stored).
    pub remote: bool,
}

impl RulesState {
    pub fn new(groups: Vec<GroupState>, remote: bool) -> Self {
        let warnings = vec![Vec::new(); groups.len()];
        RulesState {
            groups,
            warnings,
            remote,
        }
    }

    /// Every alert as the banner and the alerts view show alerts of `[[alerts]]` tables.
    pub fn instances(&self) -> Vec<AlertInstance> {
        let mut out = Vec::new();
        for g in &self.groups {
            for r in &g.rules {
                let stale = r.health == Health::Bad;
                for a in r.active.values() {
                    out.push(instance(a, stale));
                }
            }
        }
        out
    }

    /// The warnings of every group.
    pub fn all_warnings(&self) -> impl Iterator<Item = &String> {
        self.warnings.iter().flatten()
    }
}

/// An alert of a rule file as an [`AlertInstance`] (`rule` = `alertname`, labels without
/// it; `severity` from the `severity` label, warning when it is none of critical, warning,
/// info).
pub fn instance(a: &Alert, stale: bool) -> AlertInstance {
    let mut labels: Labels = a.labels.iter().collect();
    let rule = labels.remove("alertname").unwrap_or_default();
    let secs = |ms: i64| ms as f64 / 1000.0;
    let state = match (a.state, a.resolved_at) {
        (AlertStatus::Firing, _) => AlertState::Firing,
        (AlertStatus::Pending, _) => AlertState::Pending,
        (AlertStatus::Inactive, Some(_)) => AlertState::Resolved,
        (AlertStatus::Inactive, None) => AlertState::Inactive,
    };
    let severity = match a.labels.get("severity").map(String::as_str) {
        Some("critical") => Severity::Critical,
        Some("info") => Severity::Info,
        _ => Severity::Warning,
    };
    let summary = a
        .annotations
        .get("summary")
        .or_else(|| a.annotations.get("description"))
        .cloned()
        .unwrap_or_default();
    AlertInstance {
        rule,
        labels,
        state,
        value: a.value,
        active_since: Some(secs(a.active_at)),
        firing_since: a.fired_at.map(secs),
        resolved_at: a.resolved_at.map(secs),
        keep_firing_since: a.keep_firing_since.map(secs),
        stale,
        summary,
        severity,
        last_eval: secs(a.active_at),
    }
}

/// [`Msg::Rules`]: the group's new state; its alerts' transitions go to the history, a
/// new firing alert rings the bell.
pub fn on_evaluation(state: &mut State, ev: GroupEvaluation) -> Vec<Effect> {
    let mut effects = Vec::new();
    let Some(slot) = state.rules.groups.get_mut(ev.index) else {
        return effects;
    };
    let before: Vec<AlertInstance> = slot
        .rules
        .iter()
        .flat_map(|r| r.active.values().map(|a| instance(a, false)))
        .collect();
    *slot = ev.group;
    if let Some(w) = state.rules.warnings.get_mut(ev.index) {
        for new in ev.warnings.iter().filter(|n| !w.contains(n)) {
            tracing::warn!("{new}");
        }
        *w = ev.warnings;
    }
    let after: Vec<AlertInstance> = state.rules.groups[ev.index]
        .rules
        .iter()
        .flat_map(|r| r.active.values().map(|a| instance(a, false)))
        .collect();
    let at = ev.at_ms as f64 / 1000.0;
    let mut transitions = Vec::new();
    for a in &after {
        let from = before
            .iter()
            .find(|b| b.rule == a.rule && b.labels == a.labels)
            .map_or(AlertState::Inactive, |b| b.state);
        if from != a.state {
            transitions.push(Transition {
                rule: a.rule.clone(),
                labels: a.labels.clone(),
                from,
                to: a.state,
                at,
                value: a.value,
            });
        }
    }
    let loud = transitions.iter().any(|t| {
        t.to == AlertState::Firing && !state.explore.is_silenced(&t.rule, &t.labels, state.now)
    });
    state.explore.push_transitions(&transitions);
    if loud && state.opts.bell {
        effects.push(Effect::Bell);
    }
    state.dirty = true;
    effects
}

/// The alerts view's rows for the rule files' alerting rules: each alert (labels without
/// `alertname`, its annotations as the summary), or one inactive (`unknown` when its last
/// evaluation failed) row for a rule without any.
pub fn alert_rows(state: &State) -> Vec<crate::explore::AlertRow> {
    let mut rows = Vec::new();
    for g in &state.rules.groups {
        for r in &g.rules {
            let RuleKind::Alert(name) = &r.rule.kind else {
                continue;
            };
            let stale = r.health == Health::Bad;
            let why = |text: String| match (&r.last_error, text.is_empty()) {
                (Some(e), true) => format!("unknown: {e}"),
                (Some(e), false) => format!("unknown: {e} · {text}"),
                (None, _) => text,
            };
            for a in r.active.values() {
                let inst = instance(a, stale);
                // Active since, as Prometheus's alerts page says (a resolved one: since
                // its resolution).
                let since = match inst.state {
                    AlertState::Resolved => inst.resolved_at,
                    _ => inst.active_since,
                };
                let word = match inst.state {
                    AlertState::Inactive => "inactive".to_owned(),
                    s => s.as_str().to_ascii_uppercase(),
                };
                // The summary first, then the other annotations.
                let mut notes: Vec<String> = Vec::new();
                for key in ["summary", "description"] {
                    if let Some(v) = a.annotations.get(key) {
                        notes.push(v.clone());
                    }
                }
                for (k, v) in &a.annotations {
                    if k != "summary" && k != "description" {
                        notes.push(format!("{k}: {v}"));
                    }
                }
                rows.push(crate::explore::AlertRow {
                    rule: inst.rule,
                    labels: inst.labels,
                    state: word,
                    value: inst.value,
                    since,
                    summary: why(notes.join(" · ")),
                    server: false,
                    stale,
                    threshold: None,
                });
            }
            if r.active.is_empty() {
                rows.push(crate::explore::AlertRow {
                    rule: name.clone(),
                    labels: Labels::new(),
                    state: if stale { "unknown" } else { "inactive" }.to_owned(),
                    value: f64::NAN,
                    since: None,
                    summary: why(String::new()),
                    server: false,
                    stale: false,
                    threshold: None,
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    use promdash_engine::StoreConfig;
    use promdash_queries::rules::parse_rule_file;

    const FILE: &str = "groups:
  - name: g
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Up
        expr: job:up:sum > 0
        labels:
          severity: critical
        annotations:
          summary: '{{ $labels.job }} has {{ $value }} up ({{ $externalLabels.site }})'
      - alert: Broken
        expr: up + on() group_left up
";

    fn groups() -> Vec<GroupState> {
        let f = parse_rule_file(FILE).expect("valid");
        f.groups
            .iter()
            .map(|g| GroupState::new(g, "r.yml", DEFAULT_EVALUATION_INTERVAL))
            .collect()
    }

    /// The scheduler on the embedded engine: the first evaluation comes at once; the
    /// recorded series and ALERTS are in the store; a failing rule is unhealthy; the
    /// notifier sees what the dashboard sees.
    #[test]
    fn the_scheduler_evaluates_into_the_store_and_tells_the_notifier() {
        let store = Arc::new(RwLock::new(Store::new(StoreConfig::default())));
        let now = now_ms();
        {
            let mut s = store.write().expect("store");
            for job in ["a", "b"] {
                let l: EngineLabels = [("__name__", "up"), ("job", job), ("instance", "x")]
                    .into_iter()
                    .collect();
                s.append(&l, now - 1000, 1.0).expect("append");
            }
        }
        let ctx = EvalContext {
            external_labels: [("site".to_owned(), "lab".to_owned())]
                .into_iter()
                .collect(),
            external_url: String::new(),
        };
        let mut scheduler = Scheduler::new(groups(), ctx);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let notes = Arc::clone(&seen);
        scheduler.on_evaluation(Arc::new(move |ev: &GroupEvaluation| {
            let alerts: Vec<String> = ev
                .alerts()
                .map(|a| format!("{} {}", a.labels["alertname"], a.state.as_str()))
                .collect();
            notes
                .lock()
                .expect("notes")
                .push((ev.group.interval, alerts));
        }));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let backend = EmbeddedBackend {
            store: Arc::clone(&store),
            engine: Engine::new(promdash_engine::EngineOptions::default()),
        };
        let thread = scheduler
            .start(Box::new(backend), false, tx)
            .expect("thread");
        let Some(Msg::Rules(ev)) = rx.blocking_recv() else {
            panic!("no evaluation")
        };
        drop(rx);
        let g = &ev.group;
        assert_eq!(g.rules[0].health, Health::Good);
        assert_eq!(g.rules[1].health, Health::Good);
        assert_eq!(
            g.rules[2].health,
            Health::Bad,
            "{:?}",
            g.rules[2].last_error
        );
        let alerts: Vec<&Alert> = ev.alerts().collect();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].state, AlertStatus::Firing);
        assert_eq!(alerts[0].annotations["summary"], "a has 1 up (lab)");
        let engine = Engine::new(promdash_engine::EngineOptions::default());
        let s = store.read().expect("store");
        for expr in ["job:up:sum", "ALERTS{alertstate=\"firing\"}"] {
            match engine.instant(&s, expr, ev.at_ms) {
                Ok(Value::Vector(v)) => assert_eq!(v.len(), 2, "{expr}"),
                other => panic!("{expr}: {other:?}"),
            }
        }
        drop(s);
        let notes = seen.lock().expect("notes").clone();
        assert_eq!(
            notes[0],
            (
                Duration::from_secs(1),
                vec!["Up firing".to_owned(), "Up firing".to_owned()]
            )
        );
        // The dashboard has gone: the thread ends.
        thread.join().expect("no panic");
    }

    /// What the dashboard does with an evaluation: the banner's instances, the alerts
    /// view's rows (labels without alertname, annotations), the history.
    #[test]
    fn an_evaluation_reaches_the_banner_rows_and_history() {
        let mut state = State::new(
            promdash_queries::dashboard::default_dashboard(),
            crate::app::Options {
                bell: true,
                ..crate::app::Options::for_url("")
            },
        );
        let mut gs = groups();
        state.rules = RulesState::new(gs.clone(), true);
        let mut alert = Alert {
            labels: [("alertname", "Up"), ("job", "a"), ("severity", "critical")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            annotations: [("summary", "a is up"), ("runbook", "r")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            state: AlertStatus::Firing,
            value: 1.0,
            active_at: 10_000,
            fired_at: Some(20_000),
            resolved_at: None,
            keep_firing_since: None,
            last_sent_at: None,
            valid_until: None,
        };
        gs[0].rules[1]
            .active
            .insert(alert.labels.clone(), alert.clone());
        let effects = on_evaluation(
            &mut state,
            GroupEvaluation {
                index: 0,
                group: gs[0].clone(),
                at_ms: 20_000,
                warnings: vec!["the server has no series x".into()],
            },
        );
        assert_eq!(effects, vec![Effect::Bell]);
        let inst = state.rules.instances();
        assert_eq!(inst.len(), 1);
        assert_eq!(inst[0].rule, "Up");
        assert_eq!(inst[0].state, AlertState::Firing);
        assert_eq!(inst[0].severity, Severity::Critical);
        assert_eq!(inst[0].labels.get("alertname"), None);
        let rows = alert_rows(&state);
        let up = rows.iter().find(|r| r.rule == "Up").expect("row");
        assert_eq!(up.state, "FIRING");
        assert_eq!(up.summary, "a is up · runbook: r");
        assert_eq!(up.since, Some(10.0));
        assert!(
            rows.iter()
                .any(|r| r.rule == "Broken" && r.state == "inactive")
        );
        let t = state.explore.transitions.last().expect("history");
        assert_eq!(
            (t.from, t.to, t.at),
            (AlertState::Inactive, AlertState::Firing, 20.0)
        );
        assert_eq!(state.rules.all_warnings().count(), 1);
        // An evaluation error: unhealthy, the alert stays firing (stale), no bell.
        gs[0].rules[1].health = Health::Bad;
        gs[0].rules[1].last_error = Some("connection refused".into());
        alert.value = 2.0;
        gs[0].rules[1].active.insert(alert.labels.clone(), alert);
        let effects = on_evaluation(
            &mut state,
            GroupEvaluation {
                index: 0,
                group: gs[0].clone(),
                at_ms: 21_000,
                warnings: Vec::new(),
            },
        );
        assert!(effects.is_empty());
        let rows = alert_rows(&state);
        let up = rows.iter().find(|r| r.rule == "Up").expect("row");
        assert_eq!(up.state, "FIRING");
        assert!(up.stale);
        assert!(
            up.summary.starts_with("unknown: connection refused"),
            "{}",
            up.summary
        );
    }

    /// Rules over a recording: evaluated on the recording's clock (multiples of the
    /// interval from its first sample to its last), the recorded series in the store, the
    /// transitions in the history at recording times, the state at the end.
    #[test]
    fn a_recording_is_evaluated_on_its_own_clock() {
        let store = Arc::new(RwLock::new(Store::new(StoreConfig {
            retention_ms: i64::MAX / 4,
            ..StoreConfig::default()
        })));
        // x every 5 s from 1000.5 s: 0, then 5 from 1020.5 s, 0 again from 1040.5 s.
        let l: EngineLabels = [("__name__", "x"), ("job", "j")].into_iter().collect();
        {
            let mut s = store.write().expect("store");
            for i in 0..13 {
                let t = 1_000_500 + i * 5_000;
                let v = if (4..8).contains(&i) { 5.0 } else { 0.0 };
                s.append(&l, t, v).expect("append");
            }
        }
        let file = "groups:
  - name: g
    interval: 5s
    rules:
      - record: j:x:max
        expr: max by (job) (x)
      - alert: High
        expr: j:x:max > 1
        for: 10s
";
        let f = parse_rule_file(file).expect("valid");
        let setup = Setup {
            groups: f
                .groups
                .iter()
                .map(|g| GroupState::new(g, "r.yml", DEFAULT_EVALUATION_INTERVAL))
                .collect(),
            ctx: EvalContext::default(),
            consumers: Vec::new(),
        };
        let mut state = State::new(
            promdash_queries::dashboard::default_dashboard(),
            crate::app::Options {
                bell: true,
                ..crate::app::Options::for_url("")
            },
        );
        let n = setup.replay(
            Arc::clone(&store),
            Engine::new(promdash_engine::EngineOptions::default()),
            1_000_500,
            1_060_500,
            &mut state,
        );
        // 1005, 1010, …, 1060: twelve evaluations.
        assert_eq!(n, 12);
        assert_eq!(state.rules.groups[0].last_eval, Some(1_060_000));
        let seen: Vec<(f64, AlertState, AlertState)> = state
            .explore
            .transitions
            .iter()
            .map(|t| (t.at, t.from, t.to))
            .collect();
        assert_eq!(
            seen,
            [
                (1025.0, AlertState::Inactive, AlertState::Pending),
                (1035.0, AlertState::Pending, AlertState::Firing),
                (1045.0, AlertState::Firing, AlertState::Resolved),
            ]
        );
        let inst = state.rules.instances();
        assert_eq!(inst.len(), 1);
        assert_eq!(inst[0].state, AlertState::Resolved);
        // The recorded series went into the store at every evaluation.
        let engine = Engine::new(promdash_engine::EngineOptions::default());
        let s = store.read().expect("store");
        match engine.instant(&s, "count_over_time(j:x:max[1m])", 1_060_000) {
            Ok(Value::Vector(v)) => assert_eq!(v[0].v, 12.0, "{v:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rule_files_expand_globs_from_a_base_and_name_what_matches_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["a.yml", "b.yml", "c.txt"] {
            std::fs::write(dir.path().join(name), FILE).expect("write");
        }
        let found = expand(&["*.yml".into(), "a.yml".into()], Some(dir.path())).expect("found");
        assert_eq!(found.len(), 2, "{found:?}");
        let e = expand(&["nothing*.yml".into()], Some(dir.path())).expect_err("none");
        assert!(
            e.contains("nothing*.yml") && e.contains("no file matches"),
            "{e}"
        );
        let groups = load(&found, Duration::from_secs(7)).expect("loads");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].interval, Duration::from_secs(1));
        std::fs::write(
            dir.path().join("bad.yml"),
            "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up +\n",
        )
        .expect("write");
        let e = load(&[dir.path().join("bad.yml")], Duration::from_secs(7)).expect_err("bad");
        assert!(e.contains("bad.yml:5:"), "{e}");
    }

    /// `rule_files` in a dashboard and in config.toml: relative to the file; an empty
    /// entry is an error at its line and column.
    #[test]
    fn rule_files_in_a_dashboard_and_in_config_toml() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().join("d.toml");
        std::fs::write(
            &d,
            "title = \"x\"\nrule_files = [\"rules/*.yml\", \"/abs.yml\"]\n",
        )
        .expect("write");
        let dash = promdash_queries::dashboard::load_dashboard(&d).expect("loads");
        assert_eq!(
            dash.rule_files,
            [
                dir.path().join("rules/*.yml").display().to_string(),
                "/abs.yml".to_owned()
            ]
        );
        let e = promdash_queries::parse_dashboard("rule_files = [\"a.yml\", \" \"]\n", "t.toml")
            .expect_err("empty entry");
        assert!(
            e.to_string()
                .starts_with("t.toml:1:24: a rule file is empty"),
            "{e}"
        );
        let c = dir.path().join("config.toml");
        std::fs::write(
            &c,
            "rule_files = [\"mine.yml\"]\n[connection]\nurl = \"http://h:9090\"\n",
        )
        .expect("write");
        let files = promdash_queries::dashboard::load_config_rule_files(&c).expect("reads");
        assert_eq!(files, [dir.path().join("mine.yml").display().to_string()]);
        let conn = promdash_queries::dashboard::load_config(&c).expect("still a config");
        assert!(conn.is_some());
    }

    #[test]
    fn names_are_found_on_token_boundaries() {
        assert!(mentions("sum(job:req:rate5m) > 1", "job:req:rate5m"));
        assert!(mentions("job:req:rate5m", "job:req:rate5m"));
        assert!(!mentions("job:req:rate5m_total", "job:req:rate5m"));
        assert!(!mentions("x_job:req:rate5m", "job:req:rate5m"));
    }
}
