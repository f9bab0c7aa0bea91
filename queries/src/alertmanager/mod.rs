//! Alertmanager: rule alerts pushed as Prometheus's notifier pushes them, and silences.
//!
//! - [`api`]: [`AlertmanagerClient`], Alertmanager's HTTP API v2 (alerts, silences),
//!   through the same connection code and flags as the Prometheus client.
//! - [`notifier`]: [`Notifier`], which takes a rule group's alerts after each evaluation
//!   ([`GroupEvaluation`]) and sends those due, in batches, to every Alertmanager.
//! - [`silence`]: silences made from an alert's labels, checked before they are sent.
//! - [`time`]: RFC 3339 timestamps to and from milliseconds.

pub mod api;
pub mod notifier;
pub mod silence;
pub mod time;

pub use api::{
    AlertQuery, AlertmanagerClient, GettableAlert, GettableSilence, Matcher, PostableAlert,
    PostableSilence,
};
pub use notifier::{
    AlertmanagerStats, GroupEvaluation, Notifier, NotifierConfig, NotifierStats, RuleAlerts,
};
pub use silence::{SilenceRequest, format_matchers, matchers_from_labels, parse_matchers};
