//! Debian's VictoriaMetrics single-node (`/usr/bin/victoria-metrics`) as a child process.

use std::path::Path;

use crate::child::find_binary;
use crate::query::{QuerySample, query_api};
use crate::scrape_config;
use crate::server::Server;

/// A VictoriaMetrics server scraping loopback targets with a Prometheus-style config,
/// on a free 127.0.0.1 port, with a temp data directory. Killed when dropped.
///
/// Started with `-search.latencyOffset=0s` (so fresh samples are visible at once) and
/// `-promscrape.config.strictParse=false` (so `evaluation_interval` is accepted).
pub struct VictoriaMetrics {
    server: Server,
}

fn args(port: u16, dir: &Path) -> Vec<String> {
    vec![
        format!("-httpListenAddr=127.0.0.1:{port}"),
        format!("-storageDataPath={}", dir.join("data").display()),
        "-retentionPeriod=1d".into(),
        format!(
            "-promscrape.config={}",
            dir.join("prometheus.yml").display()
        ),
        "-promscrape.config.strictParse=false".into(),
        "-search.latencyOffset=0s".into(),
    ]
}

impl VictoriaMetrics {
    /// Starts VictoriaMetrics scraping `targets` (loopback `host:port`) every second;
    /// returns once `/health` answers and every target has `up == 1`.
    pub async fn start<T: ToString>(targets: &[T]) -> anyhow::Result<Self> {
        let yaml = scrape_config(targets, &[])?;
        let binary = find_binary("victoria-metrics", "victoria-metrics")?;
        let mut server =
            Server::start("victoria-metrics", binary, &yaml, &[], args, "/health").await?;
        server.wait_for_targets(targets.len()).await?;
        Ok(Self { server })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`; the Prometheus query API is under it.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The port it listens on (kept across [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The temp directory holding `prometheus.yml`, `data/` and `server.log`.
    pub fn dir(&self) -> &Path {
        self.server.dir()
    }

    /// The end of its log, for assertion messages.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Instant query through the Prometheus-compatible API.
    pub async fn query(&self, expr: &str) -> anyhow::Result<Vec<QuerySample>> {
        query_api(&self.url(), expr).await
    }

    /// Waits until `up` has exactly `n` series, all equal to 1.
    pub async fn wait_for_targets(&mut self, n: usize) -> anyhow::Result<()> {
        self.server.wait_for_targets(n).await
    }

    /// Stops it (SIGTERM, then SIGKILL after 15 s).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.server.stop().await
    }

    /// Stops it if running and starts it again on the same port and data directory.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.server.restart().await
    }
}
