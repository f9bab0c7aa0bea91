//! The one layer that records request metrics for every route, and the concurrency bound.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::metrics::UNMATCHED_ROUTE;
use crate::routes::AppState;

/// Counts the request by method, route template and status, observes its latency and
/// keeps `app_in_flight_requests` up to date.
///
/// The route is the template the router matched (`MatchedPath`), never the raw path;
/// a request that matched nothing is recorded as `route="unmatched"`. Methods outside
/// the standard set are recorded as `method="OTHER"`, so neither paths nor methods a
/// client makes up can add series. Nothing here allocates on the hot path: labels are
/// borrowed `&str`s and the matched path is a shared `Arc<str>`.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let metrics = state.metrics();
    let _in_flight = metrics.in_flight();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    metrics.observe(method, route, response.status().as_str(), start.elapsed());
    response
}

/// Answers 503 at once when `--max-concurrency` requests are already being served.
pub async fn limit_concurrency(
    State(state): State<AppState>,
    req: Request,
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
