//! Where the embedded scraper's time goes on the page of `scrape_vs_prometheus`: fetch,
//! parse and append measured apart, in this process, no Prometheus (a companion to
//! `scrape_vs_prometheus`, for profiling; the ratio to Prometheus comes from that one).
//!
//! ```sh
//! cargo run --release -p promdash-tests --example scrape_vs_prometheus_parts [-- SERIES ROUNDS]
//! ```
//!
//! Serves one text-format page of SERIES series (default 10,000, the same page as
//! `scrape_vs_prometheus`, values changing every round) on 127.0.0.1 and scrapes it
//! ROUNDS times (default 200) back to back with the scraper's own fetch, parse and
//! append; prints the median and 90th percentile of each part and of the whole, for the
//! first scrape (every series new) and the others (every series known).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use promdash_engine::Store;
use promdash_engine::scrape::fetch::fetch;
use promdash_engine::scrape::state::LoopState;
use promdash_tests::http_client;
use promdash_tests::scrape_bench::{bench_args, bench_page as page, block_on};
use promdash_tests::scrape_support::PageServer;

fn main() -> anyhow::Result<()> {
    let (series, rounds) = bench_args(200)?;
    block_on(run(series, rounds.max(2)))?
}

async fn run(series: usize, rounds: u64) -> anyhow::Result<()> {
    let first = page(series, 1);
    println!(
        "page: {series} series, {} KiB, text format 0.0.4, {rounds} scrapes",
        first.body.len() / 1024
    );
    let server = PageServer::start(vec![first]).await?;
    let url = server.url(0);
    let client = http_client();
    let labels = [("instance", "127.0.0.1:1"), ("job", "bench")].into();
    let mut state = LoopState::new(labels, false, 0);
    let mut store = Store::default();
    let mut parts: [Vec<Duration>; 4] = Default::default();
    let mut first_scrape = None;
    for round in 1..=rounds {
        server.set(vec![page(series, round)]);
        let start = Instant::now();
        let body = fetch(&client, &url, Duration::from_secs(10), 64 << 20)
            .await
            .context("fetch")?;
        let fetched = Instant::now();
        let parsed = state.parse(&body.bytes, body.format);
        let parsed_at = Instant::now();
        let outcome = state.apply(&mut store, round as i64 * 1_000, parsed, start);
        let end = Instant::now();
        anyhow::ensure!(outcome.up, "scrape failed: {:?}", outcome.error);
        let times = [
            fetched - start,
            parsed_at - fetched,
            end - parsed_at,
            end - start,
        ];
        if round == 1 {
            first_scrape = Some(times);
        } else {
            for (v, d) in parts.iter_mut().zip(times) {
                v.push(d);
            }
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10}",
        "", "fetch", "parse", "append", "total"
    );
    if let Some(t) = first_scrape {
        println!(
            "{:<22} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            "first (all new)",
            ms(t[0]),
            ms(t[1]),
            ms(t[2]),
            ms(t[3])
        );
    }
    for (label, q) in [("known: median", 0.5), ("known: p90", 0.9)] {
        let pick = |v: &mut Vec<Duration>| {
            v.sort();
            ms(v[((v.len() - 1) as f64 * q).round() as usize])
        };
        let row: Vec<f64> = parts.iter_mut().map(pick).collect();
        println!(
            "{label:<22} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            row[0], row[1], row[2], row[3]
        );
    }
    Ok(())
}
