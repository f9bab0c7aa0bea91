//! Per-request CPU cost of the metrics layer, in-process (no network): alternates
//! batches through the router with and without the layer and prints the best and the
//! median batch of each, which is steadier than a single long run on a busy machine.
//!
//! `cargo run --release -p promdash-service --example overhead [ROUNDS] [BATCH]`

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use promdash_service::{AppState, ServiceConfig, app};
use tower::ServiceExt as _;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(Ok(15), |a| a.parse())?;
    let batch: u32 = args.next().map_or(Ok(50_000), |a| a.parse())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let routers = [true, false].map(|metrics_layer| {
        let config = ServiceConfig {
            metrics_layer,
            ..ServiceConfig::ephemeral()
        };
        AppState::new(&config).map(app)
    });
    let [with, without] = routers;
    let (with, without) = (with?, without?);
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, router) in [&with, &without].into_iter().enumerate() {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..batch {
                    let req = Request::get("/process?delay_ms=0").body(Body::empty())?;
                    let status = router.clone().oneshot(req).await?.status();
                    assert!(status.is_success());
                }
                anyhow::Ok(())
            })?;
            times[i].push(start.elapsed().as_nanos() as f64 / f64::from(batch));
        }
    }
    for (name, t) in ["instrumented", "uninstrumented"].iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        println!(
            "{name:>15}: best {:.0} ns/request, median {:.0} ns/request",
            t[0],
            t[t.len() / 2]
        );
    }
    let best = times[0][0] - times[1][0];
    println!("metrics layer: +{best:.0} ns/request (best vs best)");
    Ok(())
}
