//! The one layer that records request metrics for every route, and the concurrency bound.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, State};
use axum::http::{Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{Histogram, IntCounter};
use tower::{Layer, Service};

use crate::metrics::{InFlightGuard, UNMATCHED_ROUTE};
use crate::routes::AppState;

/// The layer that records request metrics: see [`MetricsService`].
#[derive(Clone)]
pub struct MetricsLayer {
    state: AppState,
}

impl MetricsLayer {
    /// Records into `state`'s metrics.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            endpoint: Arc::new(Endpoint {
                state: self.state.clone(),
                hot: OnceLock::new(),
            }),
        }
    }
}

/// Counts each request by method, route template and status, observes its latency and
/// keeps `app_in_flight_requests` up to date.
///
/// The route is the template the router matched (`MatchedPath`), never the raw path; a
/// request that matched nothing is recorded as `route="unmatched"`. Methods outside the
/// standard set are recorded as `method="OTHER"`, so neither paths nor methods a client
/// makes up can add series.
///
/// Cost per request: two clock reads, no allocation of its own (the inner future is held
/// inline; axum's route futures are `Unpin`) and, on the common path, no label lookup:
/// axum applies a layer to each route's handlers separately, so each `MetricsService`
/// sees one route and (nearly always) one method, and it caches the counter and
/// histogram children of its `200` label set on first use. Any other label set goes
/// through `with_label_values` on borrowed `&str`s. The cache is only a shortcut, used
/// when method, route and status all match. It is a hand-written `tower::Service` rather
/// than `axum::middleware::from_fn`, which boxes more per request.
#[derive(Clone)]
pub struct MetricsService<S> {
    inner: S,
    endpoint: Arc<Endpoint>,
}

/// Per-handler state of the metrics layer.
struct Endpoint {
    state: AppState,
    hot: OnceLock<Hot>,
}

/// Cached children for `status="200"` of one method and route.
struct Hot {
    method: &'static str,
    route: Box<str>,
    count: IntCounter,
    latency: Histogram,
}

impl Endpoint {
    fn record(&self, method: &'static str, route: &str, status: StatusCode, elapsed: Duration) {
        if status == StatusCode::OK {
            if let Some(hot) = self.hot.get()
                && hot.method == method
                && *hot.route == *route
            {
                hot.count.inc();
                hot.latency.observe(elapsed.as_secs_f64());
                return;
            }
            let (count, latency) = self.state.metrics().handles(method, route, "200");
            count.inc();
            latency.observe(elapsed.as_secs_f64());
            let _ = self.hot.set(Hot {
                method,
                route: route.into(),
                count,
                latency,
            });
            return;
        }
        self.state
            .metrics()
            .observe(method, route, status.as_str(), elapsed);
    }
}

impl<S, B> Service<Request<B>> for MetricsService<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let in_flight = self.endpoint.state.metrics().in_flight();
        let method = method_label(req.method());
        let route = req.extensions().get::<MatchedPath>().cloned();
        MetricsFuture {
            inner: self.inner.call(req),
            endpoint: Arc::clone(&self.endpoint),
            start,
            method,
            route,
            _in_flight: in_flight,
        }
    }
}

/// The future of [`MetricsService`]: records when the inner response is ready. If it is
/// dropped first (the client went away), only the in-flight gauge is decremented.
pub struct MetricsFuture<F> {
    inner: F,
    endpoint: Arc<Endpoint>,
    start: Instant,
    method: &'static str,
    route: Option<MatchedPath>,
    _in_flight: InFlightGuard,
}

impl<F, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = std::task::ready!(Pin::new(&mut this.inner).poll(cx));
        if let Ok(response) = &result {
            let route = this
                .route
                .as_ref()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
            this.endpoint
                .record(this.method, route, response.status(), this.start.elapsed());
        }
        Poll::Ready(result)
    }
}

/// Answers 503 at once when `--max-concurrency` requests are already being served.
pub async fn limit_concurrency(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    let Some(limiter) = state.limiter() else {
        return next.run(req).await;
    };
    match limiter.try_acquire() {
        Ok(_permit) => next.run(req).await,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"error":"overloaded","message":"too many requests in flight"}"#,
        )
            .into_response(),
    }
}

/// The `method` label: the standard method names, anything else as `OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        let odd = Method::from_bytes(b"BREW").expect("valid token");
        assert_eq!(method_label(&odd), "OTHER");
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PUT), "PUT");
    }
}
