//! promdash-service: a reference HTTP service instrumented with Prometheus metrics.
//!
//! It is what the promdash dashboard watches, and the way to try everything end to end.
//! `GET /process` does simulated work (latency and failures as configured by [`Faults`]),
//! `GET /metrics` exposes `app_request_count_total`, `app_request_latency_seconds`,
//! `app_error_count_total`, `app_in_flight_requests`, `app_build_info` and the process
//! metrics.
//!
//! Embedding it (what `promdash demo` does):
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use promdash_service::{Faults, LoadConfig, ServiceConfig};
//!
//! let service = promdash_service::spawn(ServiceConfig::ephemeral()).await?;
//! service.set_faults(Faults { latency_ms: 80, jitter_ms: 20, error_rate: 0.02 })?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let load = tokio::spawn(promdash_service::run_load_until(
//!     LoadConfig {
//!         target: format!("{}/process", service.url()),
//!         rps: 50.0,
//!         duration: None,
//!         ..LoadConfig::default()
//!     },
//!     async move { let _ = stopped.await; },
//! ));
//! // ... later, on quit:
//! let _ = stop.send(());
//! let summary = load.await??;
//! println!("{summary}");
//! service.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod cli;
pub mod config;
pub mod load;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod server;

pub use config::{Faults, FaultsError, ServiceConfig};
pub use load::{
    LoadConfig, LoadError, LoadProgress, LoadSummary, run_load, run_load_reporting, run_load_until,
};
pub use metrics::Metrics;
pub use routes::{AppState, app};
pub use server::{RunningService, spawn};
