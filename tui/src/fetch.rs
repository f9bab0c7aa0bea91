//! Background requests: each [`FetchRequest`] runs as its own tokio task and reports
//! back as a [`Msg::Fetched`] on the channel. `update` decides what to fetch and makes
//! sure at most one request per query is in flight; this module only carries them out.

use std::sync::Arc;
use std::time::Instant;

use promdash_queries::source::MetricsSource;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{FetchKey, FetchRequest, Fetched, Msg};
use crate::explore::{ExploreAnswer, ExploreRequest};

/// Runs requests against one source.
pub struct Fetcher<S> {
    source: Arc<S>,
    tx: UnboundedSender<Msg>,
}

impl<S: MetricsSource> Fetcher<S> {
    pub fn new(source: Arc<S>, tx: UnboundedSender<Msg>) -> Self {
        Self { source, tx }
    }

    /// Starts `req` in the background. All requests of a round run concurrently.
    pub fn spawn(&self, req: FetchRequest) {
        let source = Arc::clone(&self.source);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = match (&req.key, req.window) {
                (FetchKey::Range { expr, .. }, Some(window)) => source.range(expr, window).await,
                (key, _) => source.instant(key.expr(), req.time).await,
            };
            let elapsed = started.elapsed();
            tracing::debug!(
                expr = req.key.expr(),
                ?elapsed,
                ok = result.is_ok(),
                "query done"
            );
            // The receiver is gone only when the dashboard is shutting down.
            let _ = tx.send(Msg::Fetched(Box::new(Fetched {
                key: req.key,
                seq: req.seq,
                window: req.window,
                result,
                elapsed,
            })));
        });
    }

    /// Starts a request of the explore features in the background.
    pub fn spawn_explore(&self, req: ExploreRequest) {
        let source = Arc::clone(&self.source);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let answer = match req {
                ExploreRequest::ServerAlerts => ExploreAnswer::ServerAlerts(source.alerts().await),
                ExploreRequest::ServerTargets => {
                    ExploreAnswer::ServerTargets(source.targets().await)
                }
                ExploreRequest::Backend => ExploreAnswer::Backend(source.backend().await),
                ExploreRequest::ScrapeInterval => {
                    ExploreAnswer::ScrapeInterval(source.scrape_interval().await)
                }
                ExploreRequest::VarValues {
                    var,
                    label,
                    matcher,
                } => ExploreAnswer::VarValues(
                    var,
                    source.label_values(&label, matcher.as_deref()).await,
                ),
                ExploreRequest::VarQuery { var, expr } => ExploreAnswer::VarValues(
                    var,
                    source
                        .instant(&expr, None)
                        .await
                        .map(|r| crate::variables::query_result_values(&r.data)),
                ),
                ExploreRequest::Catalog(need) => {
                    let r = crate::complete::load(source.as_ref(), &need).await;
                    ExploreAnswer::Catalog(need, r)
                }
            };
            // The receiver is gone only when the dashboard is shutting down.
            let _ = tx.send(Msg::Explore(Box::new(answer)));
        });
    }
}
