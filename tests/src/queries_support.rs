//! Support for the `queries_*` tests (the promdash-queries engineer's): VictoriaMetrics
//! as a remote-write receiver, so that it holds exactly the samples a Prometheus scraped,
//! and `promtool query` with an evaluation time.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::child::find_binary;
use crate::server::Server;

/// VictoriaMetrics single-node with no scrape targets, receiving Prometheus remote
/// write on [`write_url`](Self::write_url). Killed when dropped.
pub struct VictoriaReceiver {
    server: Server,
}

fn receiver_args(port: u16, dir: &Path) -> Vec<String> {
    vec![
        format!("-httpListenAddr=127.0.0.1:{port}"),
        format!("-storageDataPath={}", dir.join("data").display()),
        "-retentionPeriod=1d".into(),
        "-search.latencyOffset=0s".into(),
    ]
}

impl VictoriaReceiver {
    /// Starts it and returns once `/health` answers.
    pub async fn start() -> anyhow::Result<Self> {
        let binary = find_binary("victoria-metrics", "victoria-metrics")?;
        let server = Server::start(
            "victoria-metrics",
            binary,
            "",
            &[],
            receiver_args,
            "/health",
        )
        .await?;
        Ok(Self { server })
    }

    /// Base URL; the Prometheus query API is under it.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Where Prometheus sends remote write.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.server.url())
    }

    /// The end of its log, for assertion messages.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

/// A `remote_write` section sending to `url` every second.
pub fn remote_write_yaml(url: &str) -> String {
    format!(
        "remote_write:\n  - url: '{url}'\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n"
    )
}

fn promtool(args: &[String]) -> anyhow::Result<String> {
    let bin = find_binary("promtool", "prometheus")?;
    let out = Command::new(bin)
        .args(args)
        .output()
        .context("cannot run promtool")?;
    if !out.status.success() {
        bail!(
            "promtool {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `promtool query instant -o json --time=<time> <server> <expr>`; returns its JSON.
pub fn promtool_instant_json(server: &str, expr: &str, time: f64) -> anyhow::Result<String> {
    promtool(&[
        "query".into(),
        "instant".into(),
        "-o".into(),
        "json".into(),
        format!("--time={time:.3}"),
        server.into(),
        expr.into(),
    ])
}

/// `promtool query range -o json --start --end --step <server> <expr>`; returns its JSON.
pub fn promtool_range_json(
    server: &str,
    expr: &str,
    start: f64,
    end: f64,
    step_seconds: f64,
) -> anyhow::Result<String> {
    promtool(&[
        "query".into(),
        "range".into(),
        "-o".into(),
        "json".into(),
        format!("--start={start:.3}"),
        format!("--end={end:.3}"),
        format!("--step={}ms", (step_seconds * 1000.0).round() as u64),
        server.into(),
        expr.into(),
    ])
}
