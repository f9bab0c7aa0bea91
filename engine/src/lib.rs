//! promdash-engine: an in-memory store of samples and a PromQL evaluator that answers
//! with Prometheus's numbers, so promdash can watch a service with no Prometheus running.
//!
//! - [`store`]: series keyed by their sorted label set, compressed chunks, a label index,
//!   retention and a series cap.
//! - [`eval`]: the evaluator on `promql-parser`, Prometheus 3.x semantics by default and
//!   2.x on request ([`Compat`]).
//! - [`exposition`]: the Prometheus text format and OpenMetrics text parser.
//! - [`promqltest`]: Prometheus's promqltest file format and a runner on this engine.
//! - [`record`]: the store written as OpenMetrics text (`promdash record`, save store).
//! - [`scrape`]: the scraper, which fetches targets' `/metrics` pages over HTTP into a
//!   store with Prometheus's scrape semantics (the only module that touches the network).
//!
//! Nothing here touches a terminal; only [`scrape`] touches the network.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod chunk;
pub mod eval;
pub mod exposition;
pub mod promqltest;
pub mod record;
pub mod ruletest;
pub mod scrape;
pub mod source;
pub mod store;
pub mod value;

pub use eval::{Annotations, Compat, Engine, EngineOptions, EvalError};
pub use scrape::{Health, ScrapeError, ScrapeJob, Scraper, TargetStatus, target_url};
pub use source::EmbeddedSource;
pub use store::{Store, StoreConfig, StoreError};
pub use value::{Point, STALE_MARKER_BITS, Sample, Series, Value, is_stale_marker};
