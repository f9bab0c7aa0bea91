//! Evaluation speed of the embedded engine on 1,100 series × 6 h at 15 s (the workload of
//! `workload.rs`): dashboard-like and heavy queries as range queries of 200 steps over the
//! last hour, and instant queries. `cargo bench -p promdash-engine --bench query`.

use criterion::{Criterion, criterion_group, criterion_main};
use promdash_engine::{Engine, EngineOptions};

mod workload;

const QUERIES: [(&str, &str); 7] = [
    ("sum_rate", "sum(rate(app_request_count_total[5m]))"),
    (
        "sum_by_rate",
        "sum by (route) (rate(app_request_count_total[5m]))",
    ),
    (
        "error_ratio",
        "sum(rate(app_request_count_total{status=~\"5..\"}[5m])) / sum(rate(app_request_count_total[5m]))",
    ),
    (
        "p95_histogram_quantile",
        "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[5m])))",
    ),
    (
        "p99_by_route_100_histograms",
        "histogram_quantile(0.99, sum by (route, le) (rate(app_request_latency_seconds_bucket[5m])))",
    ),
    ("topk", "topk(5, rate(app_request_count_total[5m]))"),
    ("sum_all_series", "sum({__name__=~\".+\"})"),
];

fn bench(c: &mut Criterion) {
    let duration = 6 * 3_600_000;
    let store = workload::build(duration, 15_000);
    let engine = Engine::new(EngineOptions::default());
    let end = workload::START + duration - 15_000;
    let start = end - 3_600_000;
    let step = (end - start) / 199;
    let mut g = c.benchmark_group("range_200_steps_1h");
    g.sample_size(20);
    for (name, q) in QUERIES {
        g.bench_function(name, |b| {
            b.iter(|| {
                engine
                    .range(&store, q, start, end, step)
                    .expect("evaluates")
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("instant");
    for (name, q) in QUERIES {
        g.bench_function(name, |b| {
            b.iter(|| engine.instant(&store, q, end).expect("evaluates"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
