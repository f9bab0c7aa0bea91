//! The set-up shared by the scrape benchmarks (`examples/scrape_vs_prometheus.rs` and
//! `examples/scrape_vs_prometheus_parts.rs`): the same page, the same runtime, the same
//! two positional arguments.

use std::fmt::Write as _;

use crate::scrape_support::ServedPage;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [&str; 5] = ["200", "201", "404", "500", "503"];

/// A text-format page of `series` counters (50 families of 200 series by
/// method/route/status/shard for the default 10,000, each family with HELP and TYPE);
/// every value depends on `round`, so successive rounds change every sample.
pub fn bench_page(series: usize, round: u64) -> ServedPage {
    let mut out = String::with_capacity(series * 110);
    let per_family = 200;
    let mut n = 0;
    'outer: for f in 0..series.div_ceil(per_family) {
        let name = format!("bench_requests_{f:02}_total");
        let _ = writeln!(out, "# HELP {name} Requests of family {f}.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for i in 0..per_family {
            if n == series {
                break 'outer;
            }
            let _ = writeln!(
                out,
                "{name}{{method=\"{}\",route=\"/api/v1/resource_{}\",status=\"{}\",shard=\"{}\"}} {}",
                METHODS[i % 4],
                i / 20,
                STATUSES[i / 4 % 5],
                i % 10,
                round * (i as u64 + 1) + f as u64
            );
            n += 1;
        }
    }
    ServedPage {
        content_type: "text/plain; version=0.0.4; charset=utf-8".into(),
        body: out.into_bytes(),
    }
}

/// The examples' arguments `[SERIES [N]]`: the number of series (default 10,000) and a
/// count (`default_n`: seconds or rounds).
pub fn bench_args(default_n: u64) -> anyhow::Result<(usize, u64)> {
    let mut args = std::env::args().skip(1);
    let series = args.next().map_or(Ok(10_000), |s| s.parse())?;
    let n = args.next().map_or(Ok(default_n), |s| s.parse())?;
    Ok((series, n))
}

/// Runs `f` on a 2-worker tokio runtime, as the TUI has.
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(f))
}
