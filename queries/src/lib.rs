//! Prometheus HTTP API client, dashboard files and the alert engine.
//!
//! No terminal code lives here: the TUI and the headless commands both stand on it.
//!
//! - [`client`]: [`client::PromClient`], the HTTP API client.
//! - [`model`] and [`decode`]: typed answers and their fast decoding.
//! - [`error`]: [`error::QueryError`], one error a user can act on.
//! - [`source`]: [`source::MetricsSource`], the seam the TUI fetches through.
//! - [`step`]: range-query step from range and chart width.
//! - [`catalog`]: named PromQL for the reference service.
//! - [`dashboard`]: dashboard files (TOML) with validation.
//! - [`grafana`]: Grafana dashboard JSON imported into the dashboard model.
//! - [`alert`]: the client-side alert engine.
//! - [`alertmanager`]: rule alerts pushed to Alertmanager, and its silences.
//! - [`text`]: server-controlled text made safe for a terminal.
//! - [`backend`]: Prometheus or VictoriaMetrics, and what differs.
//! - [`tls`]: the rustls crypto provider every HTTP client needs installed first.
pub mod alert;
pub mod alertmanager;
pub mod backend;
pub mod catalog;
pub mod client;
pub mod dashboard;
pub mod decode;
pub mod error;
mod fastnum;
pub mod grafana;
mod labels;
pub mod model;
pub mod rules;
pub mod source;
pub mod step;
pub mod text;
pub mod tls;

pub use alert::{AlertEngine, AlertInstance, AlertState, ServerAlert, Transition};
pub use client::{ClientConfig, PromClient, Secret};
pub use dashboard::{Dashboard, DashboardError, default_dashboard, parse_dashboard};
pub use error::{ErrorType, QueryError};
pub use model::{QueryData, QueryResult, Sample};
pub use source::{MetricsSource, RangeWindow};
pub use step::range_step;
