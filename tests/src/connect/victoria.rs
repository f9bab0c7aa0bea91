//! VictoriaMetrics as users run it: with its default `-search.latencyOffset` (30 s), so
//! only a client that sends `latency_offset=0s` sees the newest samples. (The harness's
//! [`crate::VictoriaMetrics`] sets the offset to 0 for everyone, which would hide a
//! client that forgets.) Debian's 1.79 has no `latency_offset` argument: instant queries
//! are fresh with `nocache=1`, range queries with a step under a minute show the newest
//! 30 s flattened to the last older value whatever the client sends.

use std::path::Path;

use crate::child::find_binary;
use crate::scrape_config;
use crate::server::Server;

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
    ]
}

/// VictoriaMetrics single-node scraping loopback targets every second, default latency
/// offset. Killed when dropped.
pub struct VictoriaDefaultOffset {
    server: Server,
}

impl VictoriaDefaultOffset {
    /// Starts it; returns once `/health` answers. Targets are not awaited: with the
    /// default offset, `up` shows only 30 s later to a client that does not ask for
    /// fresh data.
    pub async fn start<T: ToString>(targets: &[T]) -> anyhow::Result<Self> {
        let yaml = scrape_config(targets, &[])?;
        let binary = find_binary("victoria-metrics", "victoria-metrics")?;
        let server = Server::start("victoria-metrics", binary, &yaml, &[], args, "/health").await?;
        Ok(Self { server })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The end of its log, for assertion messages.
    pub fn log(&self) -> String {
        self.server.log()
    }
}
