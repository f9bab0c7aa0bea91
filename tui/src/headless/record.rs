//! `promdash record --scrape URL… [--duration 10m] [--interval 5s] --out FILE.om`: scrapes
//! targets into the embedded store for a while, then writes what was scraped as
//! OpenMetrics text with timestamps (for `promdash --data FILE.om`, or for
//! `promtool tsdb create-blocks-from openmetrics FILE.om DIR` to look at it in a
//! Prometheus).
//!
//! The output file is created before the first scrape, so a path that cannot be written
//! fails at once. A target that cannot be scraped does not stop the recording: it is
//! reported (and recorded as `up` 0) and scraped again at the next interval. Ctrl-C ends
//! the recording early and still writes the file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal as _, Write};
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use clap::Args;
use promdash_engine::record::write_openmetrics;
use promdash_engine::{Health, ScrapeJob, Scraper, Store, StoreConfig, target_url};
use promdash_queries::text::escape_control;

use super::conn::parse_duration;
use super::{Outcome, count, fail};

/// Longest recording: the embedded store keeps at most a day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// `promdash record --scrape URL… [--duration D] [--interval I] --out FILE.om`
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// A target to scrape: a URL, or `host:port` for `http://host:port/metrics`
    /// (repeatable).
    #[arg(long = "scrape", value_name = "URL", required = true)]
    pub targets: Vec<String>,

    /// How long to record, e.g. 90s, 10m (at most 24h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m")]
    pub duration: Duration,

    /// Time between two scrapes of a target, e.g. 1s, 15s.
    #[arg(long, env = "PROMDASH_SCRAPE_INTERVAL", value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub interval: Duration,

    /// The `job` label of the targets.
    #[arg(long, value_name = "NAME", default_value = "promdash")]
    pub job: String,

    /// The OpenMetrics file to write (replaced if it exists).
    #[arg(long, short = 'o', value_name = "FILE.om")]
    pub out: PathBuf,
}

/// Records, writes the file and reports on `err`. Exit status: 0 when the file is
/// written and some target answered; 2 on a bad argument, an unwritable file, or when no
/// target answered at all (the file is still written).
pub async fn run_record(args: &RecordArgs, err: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut urls = Vec::new();
    for t in &args.targets {
        match target_url(t) {
            Ok(u) => urls.push(u),
            Err(e) => return fail(err, &format!("--scrape: {e}")),
        }
    }
    if args.interval.is_zero() {
        return fail(err, "--interval must be longer than 0s");
    }
    if args.duration.is_zero() || args.duration > MAX_DURATION {
        return fail(
            err,
            &format!(
                "--duration {} is out of range: it must be more than 0s and at most 24h",
                humantime::format_duration(args.duration)
            ),
        );
    }
    let out_name = args.out.display().to_string();
    let file = match File::create(&args.out) {
        Ok(f) => f,
        Err(e) => return fail(err, &format!("cannot write --out {out_name}: {e}")),
    };
    let client = match promdash_queries::tls::http_client_builder().build() {
        Ok(c) => c,
        Err(e) => return fail(err, &format!("cannot set up the HTTP client: {e}")),
    };
    // Everything recorded stays in memory until the file is written.
    let retention = args.duration + args.interval * 2 + Duration::from_secs(60);
    let store = Arc::new(RwLock::new(Store::new(StoreConfig {
        retention_ms: retention.as_millis() as i64,
        ..StoreConfig::default()
    })));
    let mut job = ScrapeJob::new(args.job.clone(), urls.clone(), client);
    job.interval = args.interval;
    job.timeout = args.interval.min(Duration::from_secs(10));
    let scraper = Scraper::start(store.clone(), vec![job]);

    let tty = std::io::stderr().is_terminal();
    writeln!(
        err,
        "recording {} every {} for {} into {out_name} (Ctrl-C ends it early)",
        count(urls.len(), "target", "targets"),
        humantime::format_duration(args.interval),
        humantime::format_duration(args.duration),
    )?;
    let started = tokio::time::Instant::now();
    let deadline = started + args.duration;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut said: HashMap<String, (Health, Option<String>)> = HashMap::new();
    let mut ever_up = false;
    let mut last_plain = started;
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = &mut ctrl_c => { interrupted = true; break }
            _ = tick.tick() => {}
        }
        let targets = scraper.targets();
        let mut changes = Vec::new();
        for t in &targets {
            ever_up |= t.health == Health::Up;
            let now = (t.health, t.last_error.clone());
            let before = said.get(&t.url);
            if t.health == Health::Unknown || before == Some(&now) {
                continue;
            }
            match (&now, before) {
                ((Health::Down, Some(e)), _) => changes.push(format!(
                    "{} is DOWN: {} (still recording; it is scraped again every {})",
                    t.url,
                    escape_control(e),
                    humantime::format_duration(args.interval)
                )),
                ((Health::Up, _), Some(_)) => changes.push(format!("{} is UP again", t.url)),
                _ => {}
            }
            said.insert(t.url.clone(), now);
        }
        let up = targets.iter().filter(|t| t.health == Health::Up).count();
        let (series, samples) = {
            let s = store.read().unwrap_or_else(PoisonError::into_inner);
            (s.series_count(), s.sample_count())
        };
        let elapsed = started.elapsed();
        let line = format!(
            "recording {} of {}: {up}/{} up, {} in {}",
            clock(elapsed),
            clock(args.duration),
            count(targets.len(), "target", "targets"),
            count(samples, "sample", "samples"),
            count(series, "series", "series"),
        );
        if tty {
            for c in &changes {
                write!(err, "\r\x1b[K{c}\n")?;
            }
            write!(err, "\r\x1b[K{line}")?;
        } else {
            for c in &changes {
                writeln!(err, "{c}")?;
            }
            if elapsed - (last_plain - started) >= Duration::from_secs(10) {
                last_plain = tokio::time::Instant::now();
                writeln!(err, "{line}")?;
            }
        }
        err.flush()?;
    }
    if tty {
        write!(err, "\r\x1b[K")?;
    }
    ever_up |= scraper.targets().iter().any(|t| t.health == Health::Up);
    scraper.stop().await;
    let stats = {
        let s = store.read().unwrap_or_else(PoisonError::into_inner);
        let mut w = BufWriter::new(file);
        write_openmetrics(&s, &mut w)
    };
    let stats = match stats {
        Ok(s) => s,
        Err(e) => return fail(err, &format!("cannot write --out {out_name}: {e}")),
    };
    let span = stats
        .span
        .map(|(a, b)| {
            format!(
                " over {}",
                clock(Duration::from_millis((b - a).max(0) as u64))
            )
        })
        .unwrap_or_default();
    writeln!(
        err,
        "{}wrote {} of {}{span} to {out_name}",
        if interrupted { "interrupted: " } else { "" },
        count(stats.samples, "sample", "samples"),
        count(stats.series, "series", "series"),
    )?;
    if !ever_up {
        return fail(
            err,
            "no target answered during the recording: the file holds only their `up` 0",
        );
    }
    Ok(Outcome::Ok)
}

/// `m:ss` (or `h:mm:ss`).
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_as_minutes_and_seconds() {
        assert_eq!(clock(Duration::from_secs(0)), "0:00");
        assert_eq!(clock(Duration::from_secs(75)), "1:15");
        assert_eq!(clock(Duration::from_secs(3_725)), "1:02:05");
    }
}
