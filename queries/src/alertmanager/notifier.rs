//! Alerts of rule groups pushed to Alertmanager as Prometheus's notifier pushes them
//! (Prometheus `rules/alerting.go` `sendAlerts`/`needsSending`, `cmd/prometheus/main.go`
//! `sendAlerts`, `notifier/notifier.go`):
//!
//! - After each evaluation of a group, an alerting rule that evaluated without error sends
//!   its firing alerts if they were never sent or were last sent more than the resend
//!   delay ago (1 m; strictly more, as Prometheus), and its resolved alerts when they
//!   resolved after their last send, then again every resend delay while the rule keeps
//!   them (15 minutes). Pending alerts are never sent. A rule whose evaluation failed
//!   sends nothing: an outage resolves nothing in Alertmanager either.
//! - `startsAt` = when the alert fired; `endsAt` = the resolution time once resolved,
//!   otherwise `now + 4 × max(group interval, resend delay)`, so Alertmanager resolves it
//!   by itself if promdash stops sending; `generatorURL` = the server's
//!   `/graph?g0.expr=…&g0.tab=1` page for the rule's expression (none on the embedded
//!   engine).
//! - Labels: the alert's, then the external labels and the source label
//!   ([`NotifierConfig::source_label`], `promdash="<hostname>"` by default) where the
//!   alert has no label of that name. The source label keeps promdash's alerts apart from
//!   the identical ones the server's own rule manager sends: Alertmanager merges alerts
//!   with equal label sets, and two senders with different `endsAt` would flap them.
//! - A bounded queue (10,000 alerts; the oldest are dropped and counted when full),
//!   emptied in batches of at most 256 (Prometheus 3's default batch size; 2.42 sent 64),
//!   each batch posted to every Alertmanager at once. A failed post is counted for that
//!   Alertmanager and not retried: the next resend carries the alerts again. A batch no
//!   Alertmanager took is counted as dropped.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::api::{AlertmanagerClient, LabelMap, PostableAlert, encode};
use super::time::{format_ms, now_ms};
use crate::rules::RuleKind;
use crate::rules::eval::{Alert, AlertStatus, GroupState, Health};

/// Prometheus's `--rules.alert.resend-delay` default.
pub const DEFAULT_RESEND_DELAY: Duration = Duration::from_secs(60);
/// Prometheus's `--alertmanager.notification-queue-capacity` default.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Most alerts in one `POST /api/v2/alerts`.
pub const MAX_BATCH_SIZE: usize = 256;
/// The name of the label that marks promdash's alerts, unless configured otherwise.
pub const DEFAULT_SOURCE_LABEL: &str = "promdash";

/// How alerts are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    pub resend_delay: Duration,
    pub queue_capacity: usize,
    pub batch_size: usize,
    /// Added to every alert that has no label of that name (`--external-label`).
    pub external_labels: LabelMap,
    /// The label that keeps promdash's alerts from merging with the server's identical
    /// ones; `None` sends the alerts' labels as they are (they then merge).
    pub source_label: Option<(String, String)>,
    /// The server's URL, for `generatorURL`; `None` on the embedded engine.
    pub generator_base: Option<String>,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            resend_delay: DEFAULT_RESEND_DELAY,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            batch_size: MAX_BATCH_SIZE,
            external_labels: LabelMap::new(),
            source_label: Some((DEFAULT_SOURCE_LABEL.to_owned(), hostname())),
            generator_base: None,
        }
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`, `/etc/hostname`, `$HOSTNAME`),
/// `localhost` when none can be read.
pub fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// One alerting rule's alerts after an evaluation.
#[derive(Debug, Clone)]
pub struct RuleAlerts<'a> {
    /// The rule's name (`alert:`), and its position in the group: together they tell the
    /// rule's alerts apart from another rule's.
    pub name: &'a str,
    pub index: usize,
    pub expr: &'a str,
    /// False when this evaluation of the rule failed: nothing is sent for it.
    pub evaluated_ok: bool,
    pub alerts: Vec<&'a Alert>,
}

/// A group's alerts after one evaluation: what the notifier takes.
#[derive(Debug, Clone)]
pub struct GroupEvaluation<'a> {
    /// The file the group comes from and its name (the group's identity).
    pub file: &'a str,
    pub group: &'a str,
    /// When it was evaluated (ms since the epoch) and how often it is.
    pub ts_ms: i64,
    pub interval: Duration,
    pub rules: Vec<RuleAlerts<'a>>,
}

impl<'a> GroupEvaluation<'a> {
    /// A group as [`GroupState::eval`] left it at `ts_ms`: every alerting rule, an
    /// unhealthy one marked as failed.
    pub fn of(g: &'a GroupState, ts_ms: i64) -> Self {
        GroupEvaluation {
            file: &g.file,
            group: &g.name,
            ts_ms,
            interval: g.interval,
            rules: g
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| matches!(r.rule.kind, RuleKind::Alert(_)))
                .map(|(index, r)| RuleAlerts {
                    name: r.rule.name(),
                    index,
                    expr: &r.rule.expr,
                    evaluated_ok: r.health != Health::Bad,
                    alerts: r.active.values().collect(),
                })
                .collect(),
        }
    }
}

/// What promdash sent to one Alertmanager, for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertmanagerStats {
    /// Its URL without credentials.
    pub url: String,
    /// Alerts posted to it (successfully or not), as `prometheus_notifications_sent_total`.
    pub sent: u64,
    /// Posts that failed, as `prometheus_notifications_errors_total`.
    pub errors: u64,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
}

/// The notifier's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifierStats {
    pub alertmanagers: Vec<AlertmanagerStats>,
    /// Alerts dropped: pushed out of a full queue, or in a batch no Alertmanager took.
    pub dropped: u64,
    pub queue_len: usize,
    pub queue_capacity: usize,
}

impl NotifierStats {
    /// Failed posts, over every Alertmanager.
    pub fn errors(&self) -> u64 {
        self.alertmanagers.iter().map(|a| a.errors).sum()
    }
}

/// When one alert was last sent, for the alert instance that became active at `active_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    active_at: i64,
    at: i64,
}

/// Alerts are remembered per group and rule.
type RuleKey = (String, String, usize, String);

#[derive(Debug, Default)]
struct State {
    sent: HashMap<RuleKey, BTreeMap<LabelMap, Sent>>,
    queue: VecDeque<PostableAlert>,
    dropped: u64,
    stats: Vec<AlertmanagerStats>,
}

struct Inner {
    config: NotifierConfig,
    alertmanagers: Vec<AlertmanagerClient>,
    state: Mutex<State>,
    /// Held while batches go out: one sender at a time keeps them in order.
    sending: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
}

/// Sends rule groups' alerts to every configured Alertmanager. Cheap to clone; clones
/// share the queue and the counters.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("alertmanagers", &self.inner.alertmanagers)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    pub fn new(config: NotifierConfig, alertmanagers: Vec<AlertmanagerClient>) -> Self {
        let stats = alertmanagers
            .iter()
            .map(|a| AlertmanagerStats {
                url: a.url().to_owned(),
                ..AlertmanagerStats::default()
            })
            .collect();
        Notifier {
            inner: Arc::new(Inner {
                config,
                alertmanagers,
                state: Mutex::new(State {
                    stats,
                    ..State::default()
                }),
                sending: tokio::sync::Mutex::new(()),
                wake: tokio::sync::Notify::new(),
            }),
        }
    }

    pub fn config(&self) -> &NotifierConfig {
        &self.inner.config
    }

    pub fn alertmanagers(&self) -> &[AlertmanagerClient] {
        &self.inner.alertmanagers
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind: keep using them.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a group's alerts after an evaluation: queues those due to be sent (see the
    /// module docs) and wakes the sending task. Returns how many were queued.
    pub fn notify(&self, ev: &GroupEvaluation<'_>) -> usize {
        let alerts = {
            let mut st = self.state();
            self.due(&mut st, ev)
        };
        let n = alerts.len();
        if n > 0 {
            self.enqueue(alerts);
        }
        n
    }

    /// The alerts of `ev` due now, marked as sent.
    fn due(&self, st: &mut State, ev: &GroupEvaluation<'_>) -> Vec<PostableAlert> {
        let cfg = &self.inner.config;
        let ts = ev.ts_ms;
        let valid_for = 4 * ev.interval.max(cfg.resend_delay).as_millis() as i64;
        let mut out = Vec::new();
        for rule in &ev.rules {
            if !rule.evaluated_ok {
                continue;
            }
            let key = (
                ev.file.to_owned(),
                ev.group.to_owned(),
                rule.index,
                rule.name.to_owned(),
            );
            let sent = st.sent.entry(key).or_default();
            sent.retain(|labels, _| rule.alerts.iter().any(|a| &a.labels == labels));
            for a in &rule.alerts {
                let last = sent.get(&a.labels).filter(|s| s.active_at == a.active_at);
                if !needs_sending(a, last.map(|s| s.at), ts, cfg.resend_delay) {
                    continue;
                }
                sent.insert(
                    a.labels.clone(),
                    Sent {
                        active_at: a.active_at,
                        at: ts,
                    },
                );
                out.push(self.postable(a, rule.expr, ts + valid_for));
            }
        }
        out
    }

    /// The alert as Alertmanager gets it.
    fn postable(&self, a: &Alert, expr: &str, valid_until: i64) -> PostableAlert {
        let cfg = &self.inner.config;
        let mut labels = a.labels.clone();
        for (k, v) in cfg
            .external_labels
            .iter()
            .chain(cfg.source_label.as_ref().map(|(k, v)| (k, v)))
        {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        PostableAlert {
            labels,
            annotations: a.annotations.clone(),
            starts_at: a.fired_at.map(format_ms).unwrap_or_default(),
            ends_at: format_ms(a.resolved_at.unwrap_or(valid_until)),
            generator_url: cfg
                .generator_base
                .as_deref()
                .map(|base| generator_url(base, expr))
                .unwrap_or_default(),
        }
    }

    /// Queues alerts to send, dropping the oldest (and counting them) past the capacity,
    /// as Prometheus's `Manager.Send`. Nothing is queued without an Alertmanager.
    pub fn enqueue(&self, mut alerts: Vec<PostableAlert>) {
        if self.inner.alertmanagers.is_empty() {
            return;
        }
        let cap = self.inner.config.queue_capacity.max(1);
        {
            let mut st = self.state();
            if alerts.len() > cap {
                let d = alerts.len() - cap;
                alerts.drain(..d);
                st.dropped += d as u64;
                tracing::warn!(
                    dropped = d,
                    "more alerts than the queue holds: oldest dropped"
                );
            }
            let over = (st.queue.len() + alerts.len()).saturating_sub(cap);
            if over > 0 {
                st.queue.drain(..over);
                st.dropped += over as u64;
                tracing::warn!(dropped = over, "alert queue full: oldest dropped");
            }
            st.queue.extend(alerts);
        }
        self.inner.wake.notify_one();
    }

    /// Sends everything queued, batch by batch, each batch to every Alertmanager at once.
    pub async fn flush(&self) {
        let _one_sender = self.inner.sending.lock().await;
        loop {
            let batch: Vec<PostableAlert> = {
                let mut st = self.state();
                let n = st.queue.len().min(self.inner.config.batch_size.max(1));
                st.queue.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            self.send_batch(&batch).await;
        }
    }

    async fn send_batch(&self, batch: &[PostableAlert]) {
        let body = match encode(batch) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(%e, "alerts not sent");
                self.state().dropped += batch.len() as u64;
                return;
            }
        };
        // Every Alertmanager at once: a slow one does not hold up the others.
        let posts: Vec<_> = self
            .inner
            .alertmanagers
            .iter()
            .map(|am| {
                let (am, body) = (am.clone(), body.clone());
                tokio::spawn(async move { am.post_alerts_raw(body).await })
            })
            .collect();
        let mut results = Vec::with_capacity(posts.len());
        for p in posts {
            results.push(p.await.unwrap_or_else(|e| {
                Err(crate::error::QueryError::Config(format!(
                    "the task sending alerts ended: {e}"
                )))
            }));
        }
        let now = now_ms();
        let mut st = self.state();
        let mut ok = false;
        for (stats, r) in st.stats.iter_mut().zip(&results) {
            stats.sent += batch.len() as u64;
            match r {
                Ok(()) => {
                    ok = true;
                    stats.last_success_ms = Some(now);
                }
                Err(e) => {
                    stats.errors += 1;
                    stats.last_error = Some(e.to_string());
                    stats.last_error_ms = Some(now);
                    tracing::warn!(alertmanager = %stats.url, count = batch.len(), %e, "error sending alerts");
                }
            }
        }
        if !ok {
            st.dropped += batch.len() as u64;
        }
    }

    /// Runs the sending loop on the current runtime: each [`notify`](Self::notify) that
    /// queues alerts wakes it. Abort the handle to stop it.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.inner.wake.notified().await;
                me.flush().await;
            }
        })
    }

    /// The counters, for display.
    pub fn stats(&self) -> NotifierStats {
        let st = self.state();
        NotifierStats {
            alertmanagers: st.stats.clone(),
            dropped: st.dropped,
            queue_len: st.queue.len(),
            queue_capacity: self.inner.config.queue_capacity,
        }
    }
}

/// Prometheus's `needsSending`: never a pending alert; a resolved one if it resolved
/// after its last send; otherwise once the last send is more than `resend` before `ts`.
fn needs_sending(a: &Alert, last_sent: Option<i64>, ts: i64, resend: Duration) -> bool {
    if a.state == AlertStatus::Pending {
        return false;
    }
    let Some(last) = last_sent else {
        return true;
    };
    if a.resolved_at.is_some_and(|r| r > last) {
        return true;
    }
    last + (resend.as_millis() as i64) < ts
}

/// `<base>/graph?g0.expr=<expr>&g0.tab=1`, the expression escaped as Go's
/// `url.QueryEscape` does (Prometheus's `strutil.TableLinkForExpression`).
pub fn generator_url(base: &str, expr: &str) -> String {
    format!(
        "{}/graph?g0.expr={}&g0.tab=1",
        base.trim_end_matches('/'),
        query_escape(expr)
    )
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::client::ClientConfig;

    const S: i64 = 1000;

    fn labels(pairs: &[(&str, &str)]) -> LabelMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn alert(state: AlertStatus, active_at: i64) -> Alert {
        Alert {
            labels: labels(&[("alertname", "A"), ("job", "api")]),
            annotations: labels(&[("summary", "s")]),
            state,
            value: 1.0,
            active_at,
            fired_at: (state != AlertStatus::Pending).then_some(active_at),
            resolved_at: None,
            keep_firing_since: None,
            last_sent_at: None,
            valid_until: None,
        }
    }

    /// A notifier with one (unreachable, never contacted here) Alertmanager.
    fn notifier(config: NotifierConfig) -> Notifier {
        let am = AlertmanagerClient::new(ClientConfig::new("http://127.0.0.1:9")).unwrap();
        Notifier::new(config, vec![am])
    }

    fn config() -> NotifierConfig {
        NotifierConfig {
            external_labels: labels(&[("cluster", "eu"), ("job", "ignored")]),
            source_label: Some(("promdash".into(), "host1".into())),
            generator_base: Some("http://prom:9090/".into()),
            ..NotifierConfig::default()
        }
    }

    fn eval<'a>(ts: i64, ok: bool, alerts: &'a [Alert]) -> GroupEvaluation<'a> {
        GroupEvaluation {
            file: "r.yml",
            group: "g",
            ts_ms: ts,
            interval: Duration::from_secs(15),
            rules: vec![RuleAlerts {
                name: "A",
                index: 0,
                expr: "up == 0",
                evaluated_ok: ok,
                alerts: alerts.iter().collect(),
            }],
        }
    }

    fn queued(n: &Notifier) -> Vec<PostableAlert> {
        n.state().queue.drain(..).collect()
    }

    #[test]
    fn firing_alerts_are_resent_every_resend_delay_and_resolutions_at_once() {
        let n = notifier(config());
        let base = 1_700_000_000_000;
        // Pending: nothing.
        let mut a = alert(AlertStatus::Pending, base);
        assert_eq!(n.notify(&eval(base, true, std::slice::from_ref(&a))), 0);
        // Firing: sent, with labels, times and the graph link.
        a.state = AlertStatus::Firing;
        a.fired_at = Some(base + 15 * S);
        assert_eq!(
            n.notify(&eval(base + 15 * S, true, std::slice::from_ref(&a))),
            1
        );
        let sent = queued(&n);
        let p = &sent[0];
        assert_eq!(
            p.labels,
            labels(&[
                ("alertname", "A"),
                ("cluster", "eu"),
                ("job", "api"),
                ("promdash", "host1")
            ])
        );
        assert_eq!(p.annotations, labels(&[("summary", "s")]));
        assert_eq!(p.starts_at, format_ms(base + 15 * S));
        // 4 × max(15 s, 1 m) later.
        assert_eq!(p.ends_at, format_ms(base + 15 * S + 240 * S));
        assert_eq!(
            p.generator_url,
            "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
        // Not again until more than a minute has passed (strictly, as Prometheus).
        for t in [30, 45, 60, 75] {
            assert_eq!(
                n.notify(&eval(base + t * S, true, std::slice::from_ref(&a))),
                0,
                "{t}"
            );
        }
        assert_eq!(
            n.notify(&eval(base + 90 * S, true, std::slice::from_ref(&a))),
            1
        );
        queued(&n);
        // An evaluation error sends nothing, and forgets nothing.
        assert_eq!(n.notify(&eval(base + 300 * S, false, &[])), 0);
        // Resolved: sent at once with endsAt = resolution time, then every resend delay.
        a.state = AlertStatus::Inactive;
        a.resolved_at = Some(base + 105 * S);
        assert_eq!(
            n.notify(&eval(base + 105 * S, true, std::slice::from_ref(&a))),
            1
        );
        assert_eq!(queued(&n)[0].ends_at, format_ms(base + 105 * S));
        assert_eq!(
            n.notify(&eval(base + 120 * S, true, std::slice::from_ref(&a))),
            0
        );
        assert_eq!(
            n.notify(&eval(base + 180 * S, true, std::slice::from_ref(&a))),
            1
        );
        // Firing again (a new instance, active later): sent at once.
        let b = alert(AlertStatus::Firing, base + 195 * S);
        assert_eq!(
            n.notify(&eval(base + 195 * S, true, std::slice::from_ref(&b))),
            1
        );
        // Gone from the rule: forgotten.
        assert_eq!(n.notify(&eval(base + 210 * S, true, &[])), 0);
        assert!(n.state().sent.values().all(BTreeMap::is_empty));
    }

    #[test]
    fn the_source_label_can_be_turned_off_and_alert_labels_win() {
        let mut c = config();
        c.source_label = None;
        c.generator_base = None;
        let n = notifier(c);
        let a = alert(AlertStatus::Firing, 0);
        n.notify(&eval(0, true, std::slice::from_ref(&a)));
        let p = &queued(&n)[0];
        assert_eq!(p.labels["job"], "api");
        assert!(!p.labels.contains_key("promdash"));
        assert_eq!(p.generator_url, "");
        let json = String::from_utf8(encode(std::slice::from_ref(p)).unwrap()).unwrap();
        assert!(!json.contains("generatorURL"), "{json}");
        assert!(json.contains("\"startsAt\""), "{json}");
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let mut c = config();
        c.queue_capacity = 3;
        let n = notifier(c);
        let mk = |i: usize| PostableAlert {
            labels: labels(&[("i", &i.to_string())]),
            annotations: LabelMap::new(),
            starts_at: String::new(),
            ends_at: String::new(),
            generator_url: String::new(),
        };
        n.enqueue((0..2).map(mk).collect());
        n.enqueue((2..4).map(mk).collect());
        assert_eq!(n.stats().dropped, 1);
        n.enqueue((4..9).map(mk).collect());
        let s = n.stats();
        assert_eq!((s.dropped, s.queue_len), (6, 3));
        let left: Vec<String> = queued(&n).iter().map(|a| a.labels["i"].clone()).collect();
        assert_eq!(left, ["6", "7", "8"]);
        // No Alertmanager: nothing is queued.
        let none = Notifier::new(config(), Vec::new());
        none.enqueue((0..2).map(mk).collect());
        assert_eq!(none.stats().queue_len, 0);
    }

    #[test]
    fn a_failed_send_is_counted_not_retried() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let n = notifier(config());
        let a = alert(AlertStatus::Firing, 0);
        n.notify(&eval(0, true, std::slice::from_ref(&a)));
        rt.block_on(n.flush());
        let s = n.stats();
        assert_eq!(s.queue_len, 0);
        assert_eq!(s.dropped, 1);
        assert_eq!(s.errors(), 1);
        assert_eq!(s.alertmanagers[0].sent, 1);
        assert!(s.alertmanagers[0].last_error.is_some());
    }

    #[test]
    fn expressions_are_escaped_as_go_does() {
        assert_eq!(
            query_escape(r#"sum(rate(x{a="b/c"}[5m])) > 0.5 ~é"#),
            "sum%28rate%28x%7Ba%3D%22b%2Fc%22%7D%5B5m%5D%29%29+%3E+0.5+~%C3%A9"
        );
    }
}
