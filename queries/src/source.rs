//! The seam between the dashboard and where its numbers come from.

use std::future::Future;
use std::time::Duration;

use crate::alert::ServerAlert;
use crate::error::QueryError;
use crate::model::QueryResult;

/// A range query's window: `start` and `end` as Unix seconds, `step` > 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeWindow {
    pub start: f64,
    pub end: f64,
    pub step: Duration,
}

/// Anything that answers PromQL: the HTTP client, or fixtures in tests.
///
/// Futures are `Send` so fetch tasks can run them on the tokio runtime.
pub trait MetricsSource: Send + Sync + 'static {
    /// An instant query at `time` (Unix seconds), or at the server's "now" when `None`.
    fn instant(
        &self,
        expr: &str,
        time: Option<f64>,
    ) -> impl Future<Output = Result<QueryResult, QueryError>> + Send;

    /// A range query over `window`.
    fn range(
        &self,
        expr: &str,
        window: RangeWindow,
    ) -> impl Future<Output = Result<QueryResult, QueryError>> + Send;

    /// Values of label `name`, optionally restricted to series matching `matcher`.
    fn label_values(
        &self,
        name: &str,
        matcher: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, QueryError>> + Send;

    /// Label names, optionally only those of series matching `matcher`. Sources without
    /// a label index answer an empty list.
    fn label_names(
        &self,
        matcher: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, QueryError>> + Send {
        let _ = matcher;
        async { Ok(Vec::new()) }
    }

    /// The server's scrape targets (`/api/v1/targets`, the active ones). Sources that
    /// scrape nothing themselves answer an empty list.
    fn targets(
        &self,
    ) -> impl Future<Output = Result<Vec<crate::client::Target>, QueryError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// The server's own alerts (`/api/v1/alerts`).
    fn alerts(&self) -> impl Future<Output = Result<Vec<ServerAlert>, QueryError>> + Send;

    /// Which server answers (Prometheus, VictoriaMetrics), from its buildinfo. Sources
    /// that cannot tell answer [`Backend::Unknown`](crate::backend::Backend::Unknown).
    fn backend(&self) -> impl Future<Output = crate::backend::Backend> + Send {
        async { crate::backend::Backend::Unknown }
    }

    /// The scrape interval the server is configured with (Prometheus: the global
    /// `scrape_interval` of `/api/v1/status/config`), for `$__rate_interval`. `None` when
    /// it cannot be told.
    fn scrape_interval(&self) -> impl Future<Output = Option<std::time::Duration>> + Send {
        async { None }
    }
}
