//! Scrape cost of the embedded scraper side by side with Debian's Prometheus 2.42 on the
//! same target in the same run (issue 12, "Speed and memory"; target: embedded
//! `scrape_duration_seconds` ≤ 0.5× Prometheus's).
//!
//! ```sh
//! cargo run --release -p promdash-tests --example scrape_vs_prometheus [-- SERIES SECONDS]
//! ```
//!
//! Serves one text-format page of SERIES series (default 10,000: 50 counter families of
//! 200 series by method/route/status/shard, with HELP and TYPE; values grow every 500 ms)
//! on 127.0.0.1, and scrapes it every second with a Prometheus child process and with
//! `promdash_engine::Scraper` in this process (a 2-worker tokio runtime, as the TUI has)
//! for SECONDS (default 40). Both scrapers report their own `scrape_duration_seconds`
//! (fetch + parse + append: Prometheus measures from the request to the end of its
//! append, the embedded scraper the same); the figures are the median, mean and maximum of
//! each over the run, read back with `quantile_over_time`/`avg_over_time`/`max_over_time`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use promdash_engine::{Health, ScrapeJob};
use promdash_tests::scrape_bench::{bench_args, bench_page as page, block_on};
use promdash_tests::scrape_support::{PageServer, engine_query, scrape_embedded};
use promdash_tests::{Prometheus, http_client, query_api};

fn main() -> anyhow::Result<()> {
    let (series, seconds) = bench_args(40)?;
    block_on(run(series, seconds))?
}

async fn run(series: usize, seconds: u64) -> anyhow::Result<()> {
    let first = page(series, 1);
    println!(
        "page: {series} series, {} KiB, text format 0.0.4",
        first.body.len() / 1024
    );
    let server = Arc::new(PageServer::start(vec![first]).await?);
    let url = server.url(0);
    let updater = {
        let server = server.clone();
        tokio::spawn(async move {
            for round in 2.. {
                tokio::time::sleep(Duration::from_millis(500)).await;
                server.set(vec![page(series, round)]);
            }
        })
    };
    let addr = url
        .strip_prefix("http://")
        .and_then(|u| u.split_once('/'))
        .map(|(a, _)| a.to_owned())
        .context("page server URL")?;
    let yaml = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: bench\n    metrics_path: /p/0\n    static_configs:\n      - targets: ['{addr}']\n"
    );
    let mut prom = Prometheus::start_with_config(&yaml).await?;
    prom.wait_for_targets(1).await?;

    let mut job = ScrapeJob::new("bench", vec![url.clone()], http_client());
    job.interval = Duration::from_secs(1);
    job.timeout = Duration::from_secs(1);
    let (scraper, engine) = scrape_embedded(
        vec![job],
        "the embedded scraper is up",
        Duration::from_secs(20),
    )
    .await?;
    println!("scraping for {seconds} s at 1 s with both ...");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let t = scraper.targets();
    if t[0].health != Health::Up {
        bail!(
            "the embedded scraper's target is down: {:?}",
            t[0].last_error
        );
    }
    let window = format!("{}s", seconds.saturating_sub(2).max(5));
    let mut rows = Vec::new();
    for (label, f) in [
        ("median", "quantile_over_time(0.5, "),
        ("mean", "avg_over_time("),
        ("max", "max_over_time("),
        ("scrapes", "count_over_time("),
    ] {
        let expr = format!(r#"{f}scrape_duration_seconds{{job="bench"}}[{window}])"#);
        let p = query_api(&prom.url(), &expr).await?;
        let e = engine_query(&engine, &expr, None)?;
        let (Some(p), Some(e)) = (p.first(), e.first()) else {
            bail!("no answer to {expr}: prometheus {p:?}, engine {e:?}");
        };
        rows.push((label, p.value, e.value));
    }
    let samples = |expr: &str| engine_query(&engine, expr, None);
    let stored = samples(r#"scrape_samples_scraped{job="bench"}"#)?;
    println!(
        "samples per scrape (embedded): {}",
        stored.first().map_or(0.0, |s| s.value)
    );
    println!(
        "{:<8} {:>14} {:>14} {:>8}",
        "", "prometheus", "embedded", "ratio"
    );
    for (label, p, e) in rows {
        if label == "scrapes" {
            println!("{label:<8} {p:>14} {e:>14}");
        } else {
            println!(
                "{label:<8} {:>12.2}ms {:>12.2}ms {:>7.2}x",
                p * 1e3,
                e * 1e3,
                e / p
            );
        }
    }
    updater.abort();
    scraper.stop().await;
    prom.stop().await?;
    Ok(())
}
