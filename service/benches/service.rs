//! Costs of the instrumentation, without the network:
//! - `render_10k_series`: `Metrics::render` (what `/metrics` does) with about 10,000 series;
//! - `router/*`: one `GET /process?delay_ms=0` through the router in-process, with and
//!   without the metrics layer.
//!
//! Run with `cargo bench -p promdash-service --bench service`.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use promdash_service::{AppState, Metrics, ServiceConfig, app};
use tower::ServiceExt as _;

fn render_10k_series(c: &mut Criterion) {
    let metrics = Metrics::new().expect("metrics");
    // Each (method, route, status) adds 1 count series and 14 histogram series:
    // 667 routes × 15 = 10,005 series.
    for i in 0..667 {
        metrics.observe(
            "GET",
            &format!("/route/{i}"),
            "200",
            Duration::from_millis(7),
        );
    }
    let text = metrics.render().expect("render");
    let series = text.lines().filter(|l| l.starts_with("app_")).count();
    assert!(series >= 10_000, "{series} series");
    c.bench_function("render_10k_series", |b| {
        b.iter(|| metrics.render().expect("render").len())
    });
}

fn router(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("router");
    for (name, metrics_layer) in [("instrumented", true), ("uninstrumented", false)] {
        let config = ServiceConfig {
            metrics_layer,
            ..ServiceConfig::ephemeral()
        };
        let router = app(AppState::new(&config).expect("state"));
        group.bench_function(name, |b| {
            b.iter(|| {
                let req = Request::get("/process?delay_ms=0")
                    .body(Body::empty())
                    .expect("request");
                rt.block_on(router.clone().oneshot(req))
                    .expect("infallible")
                    .status()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, render_10k_series, router);
criterion_main!(benches);
