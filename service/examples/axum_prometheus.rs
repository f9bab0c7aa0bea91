//! The reference service's router instrumented with the `axum-prometheus` crate instead
//! of its own layer: the comparison `scripts/bench-service.sh` makes (issue 7: the
//! service should serve at least as many requests per second as this).
//!
//! The router is promdash-service's own, with its metrics recording switched off (the
//! concurrency bound, body limit and timeout stay), wrapped in axum-prometheus's
//! `PrometheusMetricLayer` (metrics-exporter-prometheus behind the `metrics` facade, its
//! default backend: request counter, latency histogram and pending gauge by endpoint,
//! method and status). Its exposition is served on `/axum-metrics`.
//!
//! ```sh
//! cargo run --release -p promdash-service --example axum_prometheus -- 127.0.0.1:8081
//! ```

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::routing::get;
use axum_prometheus::PrometheusMetricLayer;
use promdash_service::{AppState, ServiceConfig, app};

async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let config = ServiceConfig {
        listen: addr,
        metrics_layer: false,
        ..ServiceConfig::ephemeral()
    };
    let state = AppState::new(&config).context("cannot create the service state")?;
    let (layer, handle) = PrometheusMetricLayer::pair();
    let router = app(state)
        .route("/axum-metrics", get(move || async move { handle.render() }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // As promdash-service does: answer small exchanges at once (no Nagle delay).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("listening on http://{}", addr);
    axum::serve(listener, router).await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned())
        .parse()
        .context("the argument is the address to listen on, e.g. 127.0.0.1:8081")?;
    // The same runtime as promdash-service's main.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(addr))
}
