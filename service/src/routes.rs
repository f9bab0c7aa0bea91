//! The router: `/process`, `/metrics`, `/healthz`, `/readyz` and, with `--admin`,
//! `/admin/faults`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::config::{Faults, FaultsError, MAX_DELAY_MS, ServiceConfig};
use crate::metrics::{CONTENT_TYPE, Metrics};
use crate::middleware;

/// Shared state of one service instance: its metrics, the current faults, readiness.
/// Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    metrics: Metrics,
    faults: RwLock<Faults>,
    ready: AtomicBool,
    limiter: Option<Arc<Semaphore>>,
    admin: bool,
    metrics_layer: bool,
    serve_metrics: bool,
    request_timeout: Duration,
    body_limit: usize,
}

impl AppState {
    /// Creates the state for `config`, with a fresh [`Metrics`] registry.
    pub fn new(config: &ServiceConfig) -> Result<Self, prometheus::Error> {
        Ok(Self {
            inner: Arc::new(Inner {
                metrics: Metrics::new()?,
                faults: RwLock::new(config.faults),
                ready: AtomicBool::new(true),
                limiter: config.max_concurrency.map(|n| Arc::new(Semaphore::new(n))),
                admin: config.admin,
                metrics_layer: config.metrics_layer,
                serve_metrics: config.metrics_listen.is_none(),
                request_timeout: config.request_timeout,
                body_limit: config.body_limit,
            }),
        })
    }

    /// This instance's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The faults `/process` simulates right now.
    pub fn faults(&self) -> Faults {
        *self
            .inner
            .faults
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the simulated faults; refuses values that [`Faults::validate`] rejects.
    pub fn set_faults(&self, faults: Faults) -> Result<(), FaultsError> {
        faults.validate()?;
        *self
            .inner
            .faults
            .write()
            .unwrap_or_else(PoisonError::into_inner) = faults;
        Ok(())
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }

    /// Sets what `/readyz` answers; shutdown sets it to false first.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Relaxed);
    }

    pub(crate) fn limiter(&self) -> Option<&Arc<Semaphore>> {
        self.inner.limiter.as_ref()
    }

    pub(crate) fn records_metrics(&self) -> bool {
        self.inner.metrics_layer
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    pub(crate) fn body_limit(&self) -> usize {
        self.inner.body_limit
    }
}

/// The service's router for `state`. Every route but `/metrics` goes through one layer,
/// [`middleware::ServiceLayer`]: the concurrency bound (503), the body limit (413), the
/// request timeout (408) and the request metrics (unless disabled). `/metrics` is outside
/// it, so scrapes are not counted; it is absent when the config asked for a separate
/// metrics listener (see [`metrics_app`]). `/admin/faults` has the same guards but is not
/// counted either: changing the faults is the operator's doing, not traffic.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/process", get(process))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(middleware::ServiceLayer::new(state.clone()));
    if state.inner.admin {
        router = router.route(
            "/admin/faults",
            get(get_faults)
                .put(put_faults)
                .layer(middleware::ServiceLayer::unrecorded(state.clone())),
        );
    }
    if state.inner.serve_metrics {
        router = router.route("/metrics", get(metrics));
    }
    router.with_state(state)
}

/// A router serving only `/metrics`, for a separate metrics listener.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Per-request overrides of `/process`: `?delay_ms=N&fail=1`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessParams {
    /// Exact delay in milliseconds instead of the configured latency.
    pub delay_ms: Option<f64>,
    /// Fail (true) or succeed (false) instead of drawing from the error rate.
    pub fail: Option<bool>,
}

impl ProcessParams {
    /// Parses a raw query string. Unknown keys are ignored; a malformed `delay_ms`
    /// (not a number from 0 to 60000) or `fail` (not `0`, `1`, `true`, `false`) is an
    /// error whose message says what was expected.
    pub fn parse(query: Option<&str>) -> Result<Self, String> {
        let mut params = Self::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "delay_ms" => {
                    let ms: f64 = value.parse().map_err(|_| {
                        format!("delay_ms must be a number of milliseconds, got {value:?}")
                    })?;
                    if !(0.0..=MAX_DELAY_MS as f64).contains(&ms) {
                        return Err(format!(
                            "delay_ms must be between 0 and {MAX_DELAY_MS}, got {value}"
                        ));
                    }
                    params.delay_ms = Some(ms);
                }
                "fail" => {
                    params.fail = Some(match value {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => return Err(format!("fail must be 0 or 1, got {value:?}")),
                    });
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn json_error(status: StatusCode, kind: &str, message: &str) -> Response {
    json(
        status,
        serde_json::json!({ "error": kind, "message": message }).to_string(),
    )
}

/// Simulated work: sleeps, then succeeds (200) or fails (500).
async fn process(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params = match ProcessParams::parse(query.as_deref()) {
        Ok(p) => p,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, "bad_request", &message),
    };
    let (delay, fail, value) = {
        let faults = state.faults();
        let mut rng = rand::rng();
        let delay = match params.delay_ms {
            Some(ms) => Duration::from_secs_f64(ms / 1000.0),
            None => faults.sample_delay(&mut rng),
        };
        let fail = params
            .fail
            .unwrap_or_else(|| faults.sample_failure(&mut rng));
        (delay, fail, rand::Rng::random::<f64>(&mut rng))
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if fail {
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "simulated_failure",
            "the request failed on purpose",
        )
    } else {
        json(StatusCode::OK, format!(r#"{{"ok":true,"value":{value}}}"#))
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics().render() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("cannot render metrics: {e}"),
        ),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_ready() {
        "ready\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    }
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn get_faults(State(state): State<AppState>) -> Response {
    faults_response(state.faults())
}

fn faults_response(faults: Faults) -> Response {
    match serde_json::to_string(&faults) {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// Body of `PUT /admin/faults`; a missing field keeps its current value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsUpdate {
    latency_ms: Option<u64>,
    jitter_ms: Option<u64>,
    error_rate: Option<f64>,
}

async fn put_faults(State(state): State<AppState>, body: axum::body::Body) -> Response {
    let limit = state.body_limit();
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("cannot read a body of at most {limit} bytes"),
        );
    };
    let update: FaultsUpdate = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!(
                    "expected JSON {{\"latency_ms\": N, \"jitter_ms\": N, \"error_rate\": 0..1}}: {e}"
                ),
            );
        }
    };
    let current = state.faults();
    let faults = Faults {
        latency_ms: update.latency_ms.unwrap_or(current.latency_ms),
        jitter_ms: update.jitter_ms.unwrap_or(current.jitter_ms),
        error_rate: update.error_rate.unwrap_or(current.error_rate),
    };
    match state.set_faults(faults) {
        Ok(()) => {
            tracing::info!(?faults, "faults changed");
            faults_response(faults)
        }
        Err(e) => json_error(StatusCode::BAD_REQUEST, "bad_request", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_overrides_and_ignores_unknown_keys() {
        assert_eq!(ProcessParams::parse(None), Ok(ProcessParams::default()));
        assert_eq!(ProcessParams::parse(Some("")), Ok(ProcessParams::default()));
        assert_eq!(
            ProcessParams::parse(Some("delay_ms=12.5&fail=1&x=y")),
            Ok(ProcessParams {
                delay_ms: Some(12.5),
                fail: Some(true)
            })
        );
        assert_eq!(
            ProcessParams::parse(Some("fail=false&&delay_ms=0")),
            Ok(ProcessParams {
                delay_ms: Some(0.0),
                fail: Some(false)
            })
        );
    }

    #[test]
    fn parse_rejects_bad_values_with_a_message() {
        for (query, expected) in [
            ("delay_ms=abc", "delay_ms must be a number"),
            ("delay_ms=", "delay_ms must be a number"),
            ("delay_ms=-1", "between 0 and 60000"),
            ("delay_ms=60001", "between 0 and 60000"),
            ("delay_ms=NaN", "between 0 and 60000"),
            ("delay_ms=inf", "between 0 and 60000"),
            ("fail=2", "fail must be 0 or 1"),
            ("fail", "fail must be 0 or 1"),
        ] {
            let err = ProcessParams::parse(Some(query)).expect_err(query);
            assert!(err.contains(expected), "{query}: {err}");
        }
    }
}
