//! promdash: a terminal dashboard for Prometheus.
//!
//! Data flows one way: dashboard file → queries → fetch tasks → [`app::Msg`] →
//! [`app::State`] → [`ui::view`]. Only [`fetch`] touches the network and only
//! [`run`] touches the terminal.

pub mod alertmanager;
pub mod app;
pub mod cli;
pub mod complete;
pub mod connection;
pub mod demo;
pub mod embedded;
pub mod explore;
pub mod export;
pub mod fetch;
pub mod headless;
pub mod heatmap;
pub mod history;
pub mod input;
pub mod layout;
pub mod logging;
pub mod panel;
pub mod plot;
pub mod rules;
pub mod run;
pub mod targets;
pub mod ticks;
pub mod ui;
pub mod units;
pub mod variables;
