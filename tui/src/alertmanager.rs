//! `--alertmanager URL` (repeatable) and its connection options: where promdash sends the
//! alerts of rule files (see [`promdash_queries::alertmanager`]) and makes silences.
//!
//! Each Alertmanager gets its own credentials and TLS files (`--alertmanager-*`), never
//! those of `--url`: a token for Prometheus is not sent to another server unasked.
//! Credentials written in the URL (`https://user:pass@host`) are used as basic auth.
//! Every alert carries [`DEFAULT_SOURCE_LABEL`]`="<hostname>"` unless
//! `--alertmanager-label` names another label or `--no-alertmanager-label` turns it off:
//! Alertmanager merges alerts with equal labels, so without it the same alert from
//! promdash and from the server's own rule manager would be one alert whose `endsAt`
//! each sender moves.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use std::sync::Arc;

use promdash_queries::alertmanager::api::LabelMap;
use promdash_queries::alertmanager::notifier::{DEFAULT_SOURCE_LABEL, hostname};
use promdash_queries::alertmanager::silence::current_user;
use promdash_queries::alertmanager::{
    AlertQuery, AlertmanagerClient, GettableAlert, GettableSilence, Notifier, NotifierConfig,
    NotifierStats, PostableSilence, SilenceRequest, format_matchers, matchers_from_labels,
    parse_matchers,
};
use promdash_queries::client::{BasicAuth, ClientConfig, Secret};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{Effect, Msg, State};
use crate::connection::{parse_duration, parse_header, read_secret};
use crate::run::Sidecar;

/// Alertmanager requests give up after this long (Prometheus's default `timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where alerts go and how to reach it.
#[derive(Debug, Clone, Default, Args)]
pub struct AlertmanagerArgs {
    /// Send the alerts of rule files to this Alertmanager (repeatable; API v2), e.g.
    /// http://localhost:9093. Credentials in the URL are used as basic auth.
    #[arg(
        long = "alertmanager",
        env = "PROMDASH_ALERTMANAGER",
        hide_env_values = true,
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub urls: Vec<String>,

    /// File holding a bearer token for the Alertmanagers.
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_BEARER_TOKEN_FILE",
        value_name = "FILE"
    )]
    pub alertmanager_bearer_token_file: Option<PathBuf>,

    /// Basic auth user for the Alertmanagers (password from
    /// --alertmanager-basic-auth-password-file).
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_BASIC_AUTH_USER",
        value_name = "USER"
    )]
    pub alertmanager_basic_auth_user: Option<String>,

    /// File holding the Alertmanagers' basic auth password.
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_BASIC_AUTH_PASSWORD_FILE",
        value_name = "FILE"
    )]
    pub alertmanager_basic_auth_password_file: Option<PathBuf>,

    /// Extra header `Name: value` sent to the Alertmanagers (repeatable).
    #[arg(
        long,
        value_name = "NAME: VALUE",
        value_parser = parse_header
    )]
    pub alertmanager_header: Vec<(String, String)>,

    /// PEM file of CA certificates to trust for the Alertmanagers.
    #[arg(long, env = "PROMDASH_ALERTMANAGER_CA_CERT", value_name = "FILE")]
    pub alertmanager_ca_cert: Option<PathBuf>,

    /// PEM client certificate for the Alertmanagers (with --alertmanager-client-key).
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_CLIENT_CERT",
        value_name = "FILE",
        requires = "alertmanager_client_key"
    )]
    pub alertmanager_client_cert: Option<PathBuf>,

    /// PEM private key of --alertmanager-client-cert.
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_CLIENT_KEY",
        value_name = "FILE",
        requires = "alertmanager_client_cert"
    )]
    pub alertmanager_client_key: Option<PathBuf>,

    /// Do not verify the Alertmanagers' TLS certificates (for tests only).
    #[arg(long, env = "PROMDASH_ALERTMANAGER_INSECURE_SKIP_VERIFY")]
    pub alertmanager_insecure_skip_verify: bool,

    /// Give up on a request to an Alertmanager after this long [default: 10s].
    #[arg(long, env = "PROMDASH_ALERTMANAGER_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub alertmanager_timeout: Option<Duration>,

    /// Send firing alerts again this often [default: 1m, as Prometheus's
    /// --rules.alert.resend-delay].
    #[arg(long, env = "PROMDASH_ALERTMANAGER_RESEND_DELAY", value_name = "DURATION", value_parser = parse_duration)]
    pub alertmanager_resend_delay: Option<Duration>,

    /// The label added to every alert sent, so that promdash's alerts never merge with
    /// the server's identical ones [default: promdash=<this host's name>].
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_LABEL",
        value_name = "NAME=VALUE",
        value_parser = parse_label,
        conflicts_with = "no_alertmanager_label"
    )]
    pub alertmanager_label: Option<(String, String)>,

    /// Send the alerts' labels as they are, without the promdash label (they then merge
    /// with the server's identical alerts).
    #[arg(long, env = "PROMDASH_NO_ALERTMANAGER_LABEL")]
    pub no_alertmanager_label: bool,
}

/// A label name as Prometheus allows one: letters, digits and `_`, not starting with a
/// digit (`--alertmanager-label`, `--external-label`).
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name=value` with a label name as Prometheus allows one.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=VALUE"))?;
    let name = name.trim();
    if !is_label_name(name) || name.starts_with("__") {
        return Err(format!(
            "`{name}` is not a label name (letters, digits and _, not starting with a digit \
             or __)"
        ));
    }
    if value.is_empty() {
        return Err(format!("`{s}`: the label needs a value"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

impl AlertmanagerArgs {
    /// True when at least one Alertmanager is configured.
    pub fn enabled(&self) -> bool {
        self.urls.iter().any(|u| !u.trim().is_empty())
    }

    /// The client configuration for `url`.
    pub fn client_config(&self, url: &str) -> Result<ClientConfig, String> {
        let mut c = ClientConfig::new(url.trim());
        c.timeout = self.alertmanager_timeout.unwrap_or(DEFAULT_TIMEOUT);
        c.connect_timeout = c.connect_timeout.min(c.timeout);
        c.headers = self
            .alertmanager_header
            .iter()
            .map(|(n, v)| (n.clone(), Secret::new(v.clone())))
            .collect();
        if let Some(p) = &self.alertmanager_bearer_token_file {
            c.bearer_token = Some(Secret::new(read_secret(p, "Alertmanager bearer token")?));
        }
        if let Some(user) = &self.alertmanager_basic_auth_user {
            let password = match &self.alertmanager_basic_auth_password_file {
                Some(p) => read_secret(p, "Alertmanager basic auth password")?,
                None => String::new(),
            };
            c.basic_auth = Some(BasicAuth {
                user: user.clone(),
                password: Secret::new(password),
            });
        }
        c.ca_cert = self.alertmanager_ca_cert.clone();
        c.client_cert = self.alertmanager_client_cert.clone();
        c.client_key = self.alertmanager_client_key.clone();
        c.insecure_skip_verify = self.alertmanager_insecure_skip_verify;
        c.latency_offset_zero = false;
        Ok(c)
    }

    /// One client per `--alertmanager`; an error names the one that is wrong.
    pub fn clients(&self) -> Result<Vec<AlertmanagerClient>, String> {
        self.urls
            .iter()
            .filter(|u| !u.trim().is_empty())
            .map(|u| {
                let config = self.client_config(u)?;
                AlertmanagerClient::new(config).map_err(|e| format!("--alertmanager: {e}"))
            })
            .collect()
    }

    /// The label added to every alert, if any.
    pub fn source_label(&self) -> Option<(String, String)> {
        if self.no_alertmanager_label {
            return None;
        }
        Some(
            self.alertmanager_label
                .clone()
                .unwrap_or_else(|| (DEFAULT_SOURCE_LABEL.to_owned(), hostname())),
        )
    }

    /// The notifier for these Alertmanagers; `generator_base` is the server's URL for
    /// `generatorURL` (`None` on the embedded engine). `Ok(None)` without any.
    pub fn notifier(
        &self,
        generator_base: Option<String>,
        external_labels: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Option<Notifier>, String> {
        if !self.enabled() {
            return Ok(None);
        }
        let config = NotifierConfig {
            resend_delay: self
                .alertmanager_resend_delay
                .unwrap_or(promdash_queries::alertmanager::notifier::DEFAULT_RESEND_DELAY),
            external_labels: external_labels.into_iter().collect(),
            source_label: self.source_label(),
            generator_base,
            ..NotifierConfig::default()
        };
        if config.resend_delay.is_zero() {
            return Err("--alertmanager-resend-delay must be longer than 0s".into());
        }
        Ok(Some(Notifier::new(config, self.clients()?)))
    }
}

// ---------------------------------------------------------------------------------------
// In the dashboard: Alertmanager's alerts and silences in the alerts view.
//
// Like `update`, nothing below does I/O: requests go out as [`Effect::Alertmanager`] and
// come back as [`Msg::Alertmanager`]; the [`sidecar`] carries them out.

/// How often the alerts view's copy of Alertmanager's alerts and silences is refreshed.
pub const POLL_EVERY: Duration = Duration::from_secs(10);

/// A request to the Alertmanagers.
#[derive(Debug, Clone, PartialEq)]
pub enum AmRequest {
    /// Read every Alertmanager's alerts and silences again (and the send counters).
    Refresh,
    /// Create this silence in every Alertmanager.
    Create(PostableSilence),
    /// Expire this silence (as listed) in every Alertmanager that has it: the one with its
    /// id, or an active one with the same matchers, end, author and comment (the copy
    /// promdash made there).
    Expire(Box<GettableSilence>),
}

/// One Alertmanager's answer to a poll.
#[derive(Debug, Clone, PartialEq)]
pub struct AmPoll {
    /// Its URL, without credentials.
    pub url: String,
    pub alerts: Result<Vec<GettableAlert>, String>,
    pub silences: Result<Vec<GettableSilence>, String>,
}

/// Each Alertmanager's URL and what it answered, in `--alertmanager` order.
pub type PerAm<T> = Vec<(String, Result<T, String>)>;

/// What came back.
#[derive(Debug, Clone)]
pub enum AmAnswer {
    /// Every Alertmanager's alerts and silences.
    Status {
        polls: Vec<AmPoll>,
        stats: NotifierStats,
    },
    /// The new silence's id in each Alertmanager, or why not.
    Created(PerAm<String>),
    /// The silence (its id as listed) and, for each Alertmanager, how many copies were
    /// expired there, or why not.
    Expired(String, PerAm<usize>),
}

/// The fields of the silence dialog, in Tab order.
pub const FIELDS: [&str; 3] = ["matchers", "duration", "comment"];

/// The silence being written: matchers (editable text), duration, comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceDialog {
    /// Text of each of [`FIELDS`].
    pub fields: [String; 3],
    pub focus: usize,
    pub error: Option<String>,
    pub created_by: String,
}

/// The dashboard's view of the Alertmanagers (a field of [`crate::explore::Explore`]).
#[derive(Debug, Clone, Default)]
pub struct AmState {
    /// At least one `--alertmanager`: the silence keys make real silences.
    pub enabled: bool,
    /// The Alertmanagers' URLs (silences go to each), without credentials, joined by ", ".
    pub url: String,
    /// The alerts of every Alertmanager that answered, one per fingerprint (the first
    /// Alertmanager's copy); an error when none answered.
    pub alerts: Option<Result<Vec<GettableAlert>, String>>,
    /// The silences of every Alertmanager that answered, the copies promdash made of one
    /// silence in several Alertmanagers once (see [`same_silence`]); an error when none
    /// answered.
    pub silences: Option<Result<Vec<GettableSilence>, String>>,
    /// With several Alertmanagers: those whose last poll failed, `URL: why`.
    pub unreachable: Vec<String>,
    /// Each Alertmanager's last answer.
    pub polls: Vec<AmPoll>,
    pub stats: NotifierStats,
    pub dialog: Option<SilenceDialog>,
    /// The list of active silences (`S`), and the one selected.
    pub silences_view: bool,
    pub selected: usize,
    /// The outcome of the last create or expire, and when.
    pub note: Option<(String, bool, f64)>,
}

impl AmState {
    /// Active silences, soonest ending first.
    pub fn active_silences(&self) -> Vec<&GettableSilence> {
        let mut v: Vec<&GettableSilence> = match &self.silences {
            Some(Ok(s)) => s.iter().filter(|s| s.is_active()).collect(),
            _ => Vec::new(),
        };
        v.sort_by(|a, b| a.ends_at.cmp(&b.ends_at).then(a.id.cmp(&b.id)));
        v
    }

    /// Whether an active silence in Alertmanager matches the alert `rule` with `labels`
    /// (its `alertname` = the rule): its banner and bell are then quiet, as for a local
    /// silence.
    pub fn silenced(&self, rule: &str, labels: &promdash_queries::model::Labels) -> bool {
        if !self.enabled {
            return false;
        }
        let active = self.active_silences();
        if active.is_empty() {
            return false;
        }
        let labels = row_labels(rule, labels);
        active.iter().any(|s| silence_matches(s, &labels))
    }

    /// The status bar's short form of [`failure_text`](Self::failure_text): `AM: 3 send
    /// errors` (the alerts view says which Alertmanager and why).
    pub fn status_text(&self) -> Option<String> {
        self.failure_text()
            .map(|t| t.split(" (").next().unwrap_or_default().to_owned())
    }

    /// What could not be sent: `AM: 3 send errors (http://am:9093: connection refused)`.
    pub fn failure_text(&self) -> Option<String> {
        let failing: Vec<&promdash_queries::alertmanager::AlertmanagerStats> = self
            .stats
            .alertmanagers
            .iter()
            .filter(|a| a.errors > 0)
            .collect();
        let errors: u64 = failing.iter().map(|a| a.errors).sum();
        if errors == 0 && self.stats.dropped == 0 {
            return None;
        }
        let mut parts = Vec::new();
        if errors > 0 {
            parts.push(format!(
                "{errors} send error{}",
                if errors == 1 { "" } else { "s" }
            ));
        }
        if self.stats.dropped > 0 {
            parts.push(format!("{} alerts dropped", self.stats.dropped));
        }
        let mut text = format!("AM: {}", parts.join(", "));
        if let Some(last) = failing.iter().max_by_key(|a| a.last_error_ms) {
            text.push_str(&format!(
                " ({}: {})",
                last.url,
                last.last_error.as_deref().unwrap_or("?")
            ));
        }
        Some(text)
    }
}

/// The matchers of a silence for an alert row: `alertname` = the rule, and its labels.
pub fn row_labels(rule: &str, labels: &promdash_queries::model::Labels) -> LabelMap {
    let mut out: LabelMap = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    out.entry("alertname".to_owned())
        .or_insert_with(|| rule.to_owned());
    out
}

/// Opens the silence dialog for these labels.
pub fn open_dialog(am: &mut AmState, labels: &LabelMap) {
    am.dialog = Some(SilenceDialog {
        fields: [
            format_matchers(&matchers_from_labels(labels)),
            "1h".to_owned(),
            String::new(),
        ],
        // The comment is what is left to write.
        focus: 2,
        error: None,
        created_by: current_user(),
    });
}

/// Keys of the alerts view when an Alertmanager is configured (called by the alerts view
/// first): the silence dialog, the silences list, `s` and `S`. `None`: not ours.
pub fn on_key(state: &mut State, key: KeyEvent) -> Option<Vec<Effect>> {
    let now = state.now;
    let am = &mut state.explore.am;
    if !am.enabled {
        return None;
    }
    if let Some(d) = am.dialog.as_mut() {
        match key.code {
            KeyCode::Esc => am.dialog = None,
            KeyCode::Tab | KeyCode::Down => d.focus = (d.focus + 1) % FIELDS.len(),
            KeyCode::BackTab | KeyCode::Up => d.focus = (d.focus + FIELDS.len() - 1) % FIELDS.len(),
            KeyCode::Backspace => {
                d.fields[d.focus].pop();
                d.error = None;
            }
            KeyCode::Char(c) => {
                d.fields[d.focus].push(c);
                d.error = None;
            }
            KeyCode::Enter => match build_silence(d, now) {
                Ok(s) => {
                    am.dialog = None;
                    am.note = Some(("creating the silence…".into(), false, now));
                    return Some(vec![Effect::Alertmanager(AmRequest::Create(s))]);
                }
                Err(e) => d.error = Some(e),
            },
            _ => {}
        }
        return Some(Vec::new());
    }
    if am.silences_view {
        let n = am.active_silences().len();
        match key.code {
            KeyCode::Esc | KeyCode::Char('S') => am.silences_view = false,
            KeyCode::Up | KeyCode::Char('k') => am.selected = am.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                am.selected = (am.selected + 1).min(n.saturating_sub(1));
            }
            KeyCode::Char('x') | KeyCode::Delete => {
                let chosen = am.active_silences().get(am.selected).map(|s| (*s).clone());
                if let Some(s) = chosen {
                    am.note = Some((format!("expiring silence {}…", s.id), false, now));
                    return Some(vec![Effect::Alertmanager(AmRequest::Expire(Box::new(s)))]);
                }
            }
            KeyCode::Char('r') => return Some(vec![Effect::Alertmanager(AmRequest::Refresh)]),
            _ => return None,
        }
        return Some(Vec::new());
    }
    match key.code {
        KeyCode::Char('s') => {
            let rows = crate::explore::alert_rows(state);
            let row = rows.get(state.explore.alert_selected)?;
            let labels = row_labels(&row.rule, &row.labels);
            open_dialog(&mut state.explore.am, &labels);
            Some(Vec::new())
        }
        KeyCode::Char('S') => {
            am.silences_view = true;
            am.selected = 0;
            Some(vec![Effect::Alertmanager(AmRequest::Refresh)])
        }
        _ => None,
    }
}

/// The dialog's silence, or what is wrong with it.
fn build_silence(d: &SilenceDialog, now: f64) -> Result<PostableSilence, String> {
    let matchers = parse_matchers(&d.fields[0])?;
    let duration = parse_duration(&d.fields[1]).map_err(|e| format!("duration: {e}"))?;
    let req = SilenceRequest {
        matchers,
        duration,
        created_by: d.created_by.clone(),
        comment: d.fields[2].clone(),
    };
    req.build((now * 1000.0) as i64)
}

/// An answer from the sidecar.
pub fn on_answer(state: &mut State, a: AmAnswer) {
    let now = state.now;
    let am = &mut state.explore.am;
    match a {
        AmAnswer::Status { polls, stats } => {
            // Polled every few seconds: redraw only when something changed.
            if am.alerts.is_some() && am.polls == polls && am.stats == stats {
                return;
            }
            let (alerts, silences, unreachable) = merge(&polls);
            am.alerts = Some(alerts);
            am.silences = Some(silences);
            am.unreachable = unreachable;
            am.polls = polls;
            am.stats = stats;
            let n = am.active_silences().len();
            am.selected = am.selected.min(n.saturating_sub(1));
        }
        AmAnswer::Created(results) => {
            let (text, failed) = outcome(&results, |id| id.clone(), "silence not created");
            let text = match results.as_slice() {
                [(_, Ok(id))] => format!("silence {id} created"),
                _ if results.iter().any(|(_, r)| r.is_ok()) => format!("silence created: {text}"),
                _ => text,
            };
            am.note = Some((text, failed, now));
        }
        AmAnswer::Expired(id, results) => {
            // An Alertmanager without the silence (down when it was made) is no failure.
            let (text, failed) = outcome(
                &results,
                |n| format!("{n} expired"),
                &format!("silence {id} not expired"),
            );
            let text = match results.as_slice() {
                [(_, Ok(0))] => format!("silence {id} not expired: it is no longer active"),
                [(_, Ok(_))] => format!("silence {id} expired"),
                _ if results.iter().any(|(_, r)| r.is_ok()) => {
                    format!("silence {id} expired: {text}")
                }
                _ => text,
            };
            am.note = Some((text, failed, now));
        }
    }
    state.dirty = true;
}

/// The note for one request sent to every Alertmanager, and whether any failed: with one
/// Alertmanager `{failed}: why`; with several, what each did (`URL ok`) and, after
/// `NOT in`, each that failed and why.
fn outcome<T>(results: &PerAm<T>, ok: impl Fn(&T) -> String, failed: &str) -> (String, bool) {
    let bad: Vec<String> = results
        .iter()
        .filter_map(|(url, r)| r.as_ref().err().map(|e| format!("{url}: {e}")))
        .collect();
    for b in &bad {
        tracing::warn!("{failed} in {b}");
    }
    if let [(_, Err(e))] = results.as_slice() {
        return (format!("{failed}: {e}"), true);
    }
    let good: Vec<String> = results
        .iter()
        .filter_map(|(url, r)| r.as_ref().ok().map(|v| format!("{} in {url}", ok(v))))
        .collect();
    let text = match (good.is_empty(), bad.is_empty()) {
        (_, true) => good.join(", "),
        (true, false) => format!("{failed}: {}", bad.join("; ")),
        (false, false) => format!("{}; NOT in {}", good.join(", "), bad.join("; ")),
    };
    (text, !bad.is_empty())
}

/// Whether two silences are one: the same id (Alertmanagers in a cluster share them), or
/// active copies with the same matchers, end, author and comment (promdash made one in
/// each Alertmanager).
pub fn same_silence(a: &GettableSilence, b: &GettableSilence) -> bool {
    a.id == b.id
        || (a.matchers == b.matchers
            && a.ends_at == b.ends_at
            && a.created_by == b.created_by
            && a.comment == b.comment)
}

/// Every Alertmanager's answers as one: alerts by fingerprint, silences by
/// [`same_silence`] (the first Alertmanager's copy of each), and the Alertmanagers that did
/// not answer (`URL: why`, only with several). An error when none answered.
#[allow(clippy::type_complexity)]
pub fn merge(
    polls: &[AmPoll],
) -> (
    Result<Vec<GettableAlert>, String>,
    Result<Vec<GettableSilence>, String>,
    Vec<String>,
) {
    if let [one] = polls {
        return (one.alerts.clone(), one.silences.clone(), Vec::new());
    }
    let mut alerts: Vec<GettableAlert> = Vec::new();
    let mut silences: Vec<GettableSilence> = Vec::new();
    let mut unreachable = Vec::new();
    let (mut alert_errors, mut silence_errors) = (Vec::new(), Vec::new());
    for p in polls {
        match &p.alerts {
            Ok(list) => {
                for a in list {
                    if !alerts.iter().any(|x| x.fingerprint == a.fingerprint) {
                        alerts.push(a.clone());
                    }
                }
            }
            Err(e) => alert_errors.push(format!("{}: {e}", p.url)),
        }
        match &p.silences {
            Ok(list) => {
                for s in list {
                    // An expired copy in one does not hide the active one in another.
                    let twin = |x: &GettableSilence| x.status == s.status && same_silence(x, s);
                    if !silences.iter().any(twin) {
                        silences.push(s.clone());
                    }
                }
            }
            Err(e) => silence_errors.push(format!("{}: {e}", p.url)),
        }
        if let Some(e) = p.alerts.as_ref().err().or(p.silences.as_ref().err()) {
            unreachable.push(format!("{}: {e}", p.url));
        }
    }
    let answered = |errors: &Vec<String>| errors.len() < polls.len();
    let alerts = if answered(&alert_errors) {
        Ok(alerts)
    } else {
        Err(alert_errors.join("; "))
    };
    let silences = if answered(&silence_errors) {
        Ok(silences)
    } else {
        Err(silence_errors.join("; "))
    };
    (alerts, silences, unreachable)
}

/// Runs `f` against every Alertmanager at once: each one's URL and answer, in the order
/// given.
async fn each<T, F, Fut>(clients: &[AlertmanagerClient], f: F) -> PerAm<T>
where
    T: Send + 'static,
    F: Fn(AlertmanagerClient) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>> + Send + 'static,
{
    let tasks: Vec<_> = clients
        .iter()
        .map(|c| (c.url().to_owned(), tokio::spawn(f(c.clone()))))
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for (url, task) in tasks {
        let answer = task
            .await
            .unwrap_or_else(|e| Err(format!("the request did not finish: {e}")));
        out.push((url, answer));
    }
    out
}

/// Expires in one Alertmanager every active silence that is `s` (see [`same_silence`]);
/// how many.
async fn expire_in(client: AlertmanagerClient, s: &GettableSilence) -> Result<usize, String> {
    let list = client.silences().await.map_err(|e| e.to_string())?;
    let mut n = 0;
    for x in list.iter().filter(|x| x.is_active() && same_silence(x, s)) {
        client
            .expire_silence(&x.id)
            .await
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(n)
}

/// Carries out [`Effect::Alertmanager`] in every Alertmanager and keeps the alerts view's
/// copy of them fresh (every [`POLL_EVERY`], and after each change); starts the notifier's
/// sending task. Other effects go to `inner`.
pub fn sidecar(
    notifier: Option<Notifier>,
    clients: Vec<AlertmanagerClient>,
    inner: Option<Sidecar>,
) -> Sidecar {
    Box::new(move |tx: UnboundedSender<Msg>| {
        let mut inner_handler = inner.map(|start| start(tx.clone()));
        if let Some(n) = &notifier {
            // Ends with the runtime when the dashboard exits.
            drop(n.spawn());
        }
        let clients: Arc<[AlertmanagerClient]> = clients.into();
        let poke = Arc::new(tokio::sync::Notify::new());
        if !clients.is_empty() {
            let (tx, poke, notifier) = (tx.clone(), poke.clone(), notifier.clone());
            let clients = Arc::clone(&clients);
            tokio::spawn(async move {
                loop {
                    let polls = each(&clients, |client| async move {
                        let alerts = client
                            .alerts(&AlertQuery::default())
                            .await
                            .map_err(|e| e.to_string());
                        let silences = client.silences().await.map_err(|e| e.to_string());
                        Ok(AmPoll {
                            url: client.url().to_owned(),
                            alerts,
                            silences,
                        })
                    })
                    .await
                    .into_iter()
                    .filter_map(|(_, p)| p.ok())
                    .collect();
                    let stats = notifier.as_ref().map(Notifier::stats).unwrap_or_default();
                    let answer = AmAnswer::Status { polls, stats };
                    if tx.send(Msg::Alertmanager(Box::new(answer))).is_err() {
                        return;
                    }
                    let _ = tokio::time::timeout(POLL_EVERY, poke.notified()).await;
                }
            });
        }
        Box::new(move |effect: &Effect| {
            let Effect::Alertmanager(req) = effect else {
                if let Some(h) = inner_handler.as_mut() {
                    h(effect);
                }
                return;
            };
            if clients.is_empty() {
                return;
            }
            let (tx, poke, req) = (tx.clone(), poke.clone(), req.clone());
            let clients = Arc::clone(&clients);
            tokio::spawn(async move {
                let answer =
                    match req {
                        AmRequest::Refresh => None,
                        AmRequest::Create(s) => {
                            let s = Arc::new(s);
                            Some(AmAnswer::Created(
                                each(&clients, |client| {
                                    let s = Arc::clone(&s);
                                    async move {
                                        client.create_silence(&s).await.map_err(|e| e.to_string())
                                    }
                                })
                                .await,
                            ))
                        }
                        AmRequest::Expire(s) => {
                            let s: Arc<GettableSilence> = Arc::from(s);
                            let results = each(&clients, |client| {
                                let s = Arc::clone(&s);
                                async move { expire_in(client, &s).await }
                            })
                            .await;
                            Some(AmAnswer::Expired(s.id.clone(), results))
                        }
                    };
                if let Some(a) = answer {
                    let _ = tx.send(Msg::Alertmanager(Box::new(a)));
                }
                poke.notify_one();
            });
        })
    })
}

/// The dashboard's Alertmanagers: the notifier the rule scheduler feeds, and the clients
/// the silence keys use.
pub struct DashboardAm {
    pub notifier: Notifier,
    pub clients: Vec<AlertmanagerClient>,
}

impl AlertmanagerArgs {
    /// What the dashboard runs with; `Ok(None)` without `--alertmanager`. `server` is the
    /// server's URL for `generatorURL` (`None` on the embedded engine).
    pub fn dashboard(
        &self,
        server: Option<String>,
        external_labels: &[(String, String)],
    ) -> Result<Option<DashboardAm>, String> {
        let Some(notifier) = self.notifier(server, external_labels.iter().cloned())? else {
            return Ok(None);
        };
        let clients = notifier.alertmanagers().to_vec();
        Ok(Some(DashboardAm { notifier, clients }))
    }
}

impl DashboardAm {
    /// The hook the rule scheduler calls after each evaluation of a group: its alerts go
    /// to the notifier's queue (sent by the task the sidecar starts).
    pub fn hook(&self) -> crate::rules::Notifier {
        let notifier = self.notifier.clone();
        Arc::new(move |ev: &crate::rules::GroupEvaluation| {
            notifier.notify(&promdash_queries::alertmanager::GroupEvaluation::of(
                &ev.group, ev.at_ms,
            ));
        })
    }

    /// Marks the dashboard as having an Alertmanager and wraps `inner` in the sidecar that
    /// sends alerts, polls Alertmanager and carries out the silence requests.
    pub fn install(self, state: &mut State, inner: Option<Sidecar>) -> Sidecar {
        state.explore.am.enabled = true;
        state.explore.am.url = self
            .clients
            .iter()
            .map(AlertmanagerClient::url)
            .collect::<Vec<_>>()
            .join(", ");
        sidecar(Some(self.notifier), self.clients, inner)
    }
}

/// Whether `s` (an active silence) matches an alert with `labels`.
pub fn silence_matches(s: &GettableSilence, labels: &LabelMap) -> bool {
    s.matchers.iter().all(|m| {
        let v = labels.get(&m.name).map_or("", String::as_str);
        let eq = if m.is_regex {
            regex::Regex::new(&format!("^(?:{})$", m.value)).is_ok_and(|r| r.is_match(v))
        } else {
            m.value == v
        };
        eq == m.is_equal
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_source_label() {
        assert_eq!(
            parse_label("promdash=laptop").unwrap(),
            ("promdash".into(), "laptop".into())
        );
        assert!(parse_label("1a=b").is_err());
        assert!(parse_label("__x=b").is_err());
        assert!(parse_label("a").is_err());
        assert!(parse_label("a=").is_err());
        let mut a = AlertmanagerArgs::default();
        assert_eq!(a.source_label().unwrap().0, "promdash");
        a.alertmanager_label = Some(("sender".into(), "me".into()));
        assert_eq!(a.source_label().unwrap(), ("sender".into(), "me".into()));
        a.no_alertmanager_label = true;
        assert_eq!(a.source_label(), None);
    }

    #[test]
    fn no_alertmanager_no_notifier_and_bad_urls_are_named() {
        let mut a = AlertmanagerArgs::default();
        assert!(a.notifier(None, []).unwrap().is_none());
        a.urls = vec!["ftp://x".into()];
        let e = a.notifier(None, []).unwrap_err();
        assert!(e.contains("--alertmanager"), "{e}");
        a.urls = vec!["http://127.0.0.1:9093".into()];
        a.alertmanager_resend_delay = Some(Duration::ZERO);
        assert!(a.notifier(None, []).is_err());
    }

    #[test]
    fn an_unchanged_poll_does_not_redraw() {
        let mut state = State::new(
            promdash_queries::dashboard::default_dashboard(),
            crate::app::Options::for_url("http://127.0.0.1:9"),
        );
        let status = || AmAnswer::Status {
            polls: vec![AmPoll {
                url: "http://am".into(),
                alerts: Ok(Vec::new()),
                silences: Err("down".into()),
            }],
            stats: NotifierStats::default(),
        };
        state.dirty = false;
        on_answer(&mut state, status());
        assert!(state.dirty, "first answer");
        state.dirty = false;
        on_answer(&mut state, status());
        assert!(!state.dirty, "same answer again");
        let stats = NotifierStats {
            dropped: 1,
            ..NotifierStats::default()
        };
        on_answer(
            &mut state,
            AmAnswer::Status {
                polls: vec![AmPoll {
                    url: "http://am".into(),
                    alerts: Ok(Vec::new()),
                    silences: Err("down".into()),
                }],
                stats,
            },
        );
        assert!(state.dirty, "a counter moved");
        assert_eq!(
            state.explore.am.status_text().as_deref(),
            Some("AM: 1 alerts dropped")
        );
    }

    #[test]
    fn an_alertmanager_silence_quiets_the_matching_alerts_here() {
        let silence = |matchers: &str| GettableSilence {
            id: "x".into(),
            status: promdash_queries::alertmanager::api::SilenceStatus {
                state: "active".into(),
            },
            matchers: parse_matchers(matchers).unwrap(),
            ..GettableSilence::default()
        };
        let mut am = AmState {
            enabled: true,
            silences: Some(Ok(vec![silence(r#"alertname="A", job=~"api|web""#)])),
            ..AmState::default()
        };
        let mut labels = promdash_queries::model::Labels::new();
        labels.insert("job", "api");
        assert!(am.silenced("A", &labels));
        assert!(!am.silenced("B", &labels));
        labels.insert("job", "db");
        assert!(!am.silenced("A", &labels));
        am.silences = Some(Ok(vec![silence(r#"alertname="A", job!="db""#)]));
        assert!(!am.silenced("A", &labels));
        labels.insert("job", "x");
        assert!(am.silenced("A", &labels));
        am.enabled = false;
        assert!(!am.silenced("A", &labels));
    }
}
