//! The one layer around every route: concurrency bound, body limit, request timeout and
//! request metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus::{Histogram, IntCounter};
use tokio::sync::OwnedSemaphorePermit;
use tower::{Layer, Service};

use crate::metrics::{InFlightGuard, UNMATCHED_ROUTE};
use crate::routes::AppState;

/// The one layer around every route (but `/metrics`): see [`GuardedService`].
#[derive(Clone)]
pub struct ServiceLayer {
    state: AppState,
    records: bool,
}

impl ServiceLayer {
    /// Guards and records with `state`'s settings and metrics.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            records: true,
        }
    }

    /// Guards with `state`'s settings but records nothing: for `/admin/*`, whose calls
    /// are the operator's, not traffic, and must not show in the request metrics.
    pub fn unrecorded(state: AppState) -> Self {
        Self {
            state,
            records: false,
        }
    }
}

impl<S> Layer<S> for ServiceLayer {
    type Service = GuardedService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardedService {
            inner,
            endpoint: Arc::new(Endpoint {
                state: self.state.clone(),
                records: self.records,
                hot: OnceLock::new(),
            }),
        }
    }
}

/// Wraps one route's handlers: answers 503 beyond `--max-concurrency` requests in flight,
/// 413 for a declared body larger than `--body-limit`, 408 after `--request-timeout`,
/// and records the request metrics of every answer, those three included.
///
/// Metrics: each request is counted by method, route template and status, its latency
/// observed, and `app_in_flight_requests` kept up to date. The route is the template the
/// router matched (`MatchedPath`), never the raw path; a request that matched nothing is
/// recorded as `route="unmatched"`. Methods outside the standard set are recorded as
/// `method="OTHER"`, so neither paths nor methods a client makes up can add series.
///
/// Why one hand-written layer: `Router::layer` wraps each route once per layer, and each
/// wrapper costs a boxed clone per request (about 0.4 µs each here), so the timeout, the
/// body limit, the concurrency bound and the metrics share one. Per request it costs a
/// clock read, no allocation of its own (the inner future is held inline; axum's route
/// futures are `Unpin`), a timer only for requests not answered on their first poll, and,
/// on the common path, no label lookup: each `GuardedService` serves one route and
/// (nearly always) one method, so it caches the counter and histogram children of its
/// `200` label set on first use. Other label sets go through `with_label_values` on
/// borrowed `&str`s; the cache is used only when method, route and status all match.
/// With metrics disabled (benchmarks only) it does everything but record.
#[derive(Clone)]
pub struct GuardedService<S> {
    inner: S,
    endpoint: Arc<Endpoint>,
}

/// Per-handler state of the layer.
struct Endpoint {
    state: AppState,
    /// Off for routes kept out of the request metrics (`/admin/*`).
    records: bool,
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
    fn records(&self) -> bool {
        self.records && self.state.records_metrics()
    }

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

impl<S, B> Service<Request<B>> for GuardedService<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GuardedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let state = &self.endpoint.state;
        let in_flight = self.endpoint.records().then(|| state.metrics().in_flight());
        let method = method_label(req.method());
        let route = req.extensions().get::<MatchedPath>().cloned();
        let mut future = GuardedFuture {
            inner: None,
            sleep: None,
            _permit: None,
            endpoint: Arc::clone(&self.endpoint),
            start,
            method,
            route,
            _in_flight: in_flight,
        };
        if let Some(limiter) = state.limiter() {
            match Arc::clone(limiter).try_acquire_owned() {
                Ok(permit) => future._permit = Some(permit),
                Err(_) => return future.answer(overloaded()),
            }
        }
        let limit = state.body_limit();
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return future.answer(too_large(limit));
        }
        future.inner = Some(Inner::Pending(self.inner.call(req)));
        future
    }
}

enum Inner<F> {
    Pending(F),
    Answer(Response),
}

/// The future of [`GuardedService`]. If it is dropped before the answer (the client went
/// away, or the shutdown deadline closed its connection), the request is counted with
/// status `499` (nginx's "client closed request") and its latency observed up to that
/// moment, so abandoned requests show as traffic and latency, never as silence.
pub struct GuardedFuture<F> {
    inner: Option<Inner<F>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    _permit: Option<OwnedSemaphorePermit>,
    endpoint: Arc<Endpoint>,
    start: Instant,
    method: &'static str,
    route: Option<MatchedPath>,
    _in_flight: Option<InFlightGuard>,
}

impl<F> GuardedFuture<F> {
    fn answer(mut self, response: Response) -> Self {
        self.inner = Some(Inner::Answer(response));
        self
    }

    fn route(&self) -> &str {
        self.route
            .as_ref()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
    }
}

/// The status recorded for a request whose client went away before the answer.
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

impl<F> Drop for GuardedFuture<F> {
    fn drop(&mut self) {
        // `inner` is taken on completion: still here means never answered.
        if self.inner.is_some() && self.endpoint.records() {
            let status = StatusCode::from_u16(CLIENT_CLOSED_REQUEST)
                .expect("499 is in the range of status codes");
            self.endpoint
                .record(self.method, self.route(), status, self.start.elapsed());
        }
    }
}

impl<F, E> Future for GuardedFuture<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = match this.inner.take() {
            Some(Inner::Answer(response)) => Ok(response),
            Some(Inner::Pending(mut future)) => match Pin::new(&mut future).poll(cx) {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    let timeout = this.endpoint.state.request_timeout();
                    // A timeout too long to represent as an Instant means no timeout.
                    let Some(deadline) = this.start.checked_add(timeout) else {
                        this.inner = Some(Inner::Pending(future));
                        return Poll::Pending;
                    };
                    let sleep = this
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
                    if sleep.as_mut().poll(cx).is_pending() {
                        this.inner = Some(Inner::Pending(future));
                        return Poll::Pending;
                    }
                    Ok(timed_out())
                }
            },
            None => panic!("GuardedFuture polled after completion"),
        };
        if this.endpoint.records()
            && let Ok(response) = &result
        {
            this.endpoint.record(
                this.method,
                this.route(),
                response.status(),
                this.start.elapsed(),
            );
        }
        Poll::Ready(result)
    }
}

fn json_error(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn overloaded() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"error":"overloaded","message":"too many requests in flight"}"#.to_owned(),
    )
}

fn too_large(limit: usize) -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(r#"{{"error":"payload_too_large","message":"the body limit is {limit} bytes"}}"#),
    )
}

fn timed_out() -> Response {
    json_error(
        StatusCode::REQUEST_TIMEOUT,
        r#"{"error":"timeout","message":"the request took longer than the request timeout"}"#
            .to_owned(),
    )
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
