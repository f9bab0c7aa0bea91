//! Debian's Prometheus (`/usr/bin/prometheus`, 2.42) as a child process.

use std::path::Path;

use crate::child::{ensure_loopback, find_binary};
use crate::query::{QuerySample, query_api};
use crate::scrape_config;
use crate::server::Server;

/// A Prometheus server on a free 127.0.0.1 port with a temp config and data directory.
/// Killed when dropped.
pub struct Prometheus {
    server: Server,
}

fn args(port: u16, dir: &Path) -> Vec<String> {
    vec![
        format!("--config.file={}", dir.join("prometheus.yml").display()),
        format!("--storage.tsdb.path={}", dir.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--storage.tsdb.retention.time=1d".into(),
        "--web.enable-lifecycle".into(),
        "--log.level=info".into(),
    ]
}

/// [`args`] for a data directory made by backfilling: keep it all (retention counts
/// back from the newest block, so old timestamps stay), the default lookback.
fn backfilled_args(port: u16, dir: &Path) -> Vec<String> {
    let mut a = args(port, dir);
    for arg in &mut a {
        if arg.starts_with("--storage.tsdb.retention.time=") {
            *arg = "--storage.tsdb.retention.time=3650d".into();
        }
    }
    a
}

impl Prometheus {
    /// Starts Prometheus, scraping nothing, on the samples of the OpenMetrics file
    /// `openmetrics` backfilled into its data directory with
    /// `promtool tsdb create-blocks-from openmetrics`; returns once `/-/ready` answers.
    pub async fn start_on_openmetrics(openmetrics: &Path) -> anyhow::Result<Self> {
        let binary = find_binary("prometheus", "prometheus")?;
        let yaml = "global:\n  scrape_interval: 1h\n";
        let server = Server::start_prepared(
            "prometheus",
            binary,
            yaml,
            &[],
            backfilled_args,
            "/-/ready",
            |dir| {
                crate::promtool::create_blocks_from_openmetrics(openmetrics, &dir.join("data"))
                    .map(|_| ())
            },
        )
        .await?;
        Ok(Self { server })
    }

    /// Starts Prometheus scraping `targets` (loopback `host:port`, e.g. a `SocketAddr`)
    /// every second, and returns once it is ready and every target has `up == 1`.
    pub async fn start<T: ToString>(targets: &[T]) -> anyhow::Result<Self> {
        let yaml = scrape_config(targets, &[])?;
        let mut p = Self::launch(&yaml, &[]).await?;
        p.wait_for_targets(targets.len()).await?;
        Ok(p)
    }

    /// Like [`start`](Self::start), with `rules_yaml` (a Prometheus rule file: `groups:`
    /// of alerting/recording rules) loaded and evaluated every second.
    pub async fn start_with_rules<T: ToString>(
        targets: &[T],
        rules_yaml: &str,
    ) -> anyhow::Result<Self> {
        let yaml = scrape_config(targets, &["rules.yml"])?;
        let mut p = Self::launch(&yaml, &[("rules.yml", rules_yaml)]).await?;
        p.wait_for_targets(targets.len()).await?;
        Ok(p)
    }

    /// Starts Prometheus with a complete `prometheus.yml` of your own (relative paths
    /// such as rule files resolve in its temp directory, see [`dir`](Self::dir)); returns
    /// once `/-/ready` answers. Scrape targets must be loopback; call
    /// [`wait_for_targets`](Self::wait_for_targets) to wait for them.
    pub async fn start_with_config(yaml: &str) -> anyhow::Result<Self> {
        Self::launch(yaml, &[]).await
    }

    /// Starts Prometheus scraping every second each job's loopback targets (`jobs`: job
    /// name, targets) and itself (job `prometheus`: its port is known once it runs, so it
    /// is added by a reload); returns once every target, itself included, is up.
    pub async fn start_scraping_itself_and(jobs: &[(&str, &[String])]) -> anyhow::Result<Self> {
        let config = |own: Option<u16>| {
            let mut yaml = String::from(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
            );
            let own = own.map(|port| ("prometheus", vec![format!("127.0.0.1:{port}")]));
            let jobs = jobs.iter().map(|(job, targets)| (*job, targets.to_vec()));
            for (job, targets) in jobs.chain(own) {
                let targets = targets
                    .iter()
                    .map(|t| format!("'{t}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                yaml.push_str(&format!(
                    "  - job_name: {job}\n    static_configs:\n      - targets: [{targets}]\n"
                ));
            }
            yaml
        };
        let mut prom = Self::launch(&config(None), &[]).await?;
        std::fs::write(prom.dir().join("prometheus.yml"), config(Some(prom.port())))?;
        let reload = crate::http_client()
            .post(format!("{}/-/reload", prom.url()))
            .send()
            .await?;
        if !reload.status().is_success() {
            anyhow::bail!("reload failed: {}\n{}", reload.status(), prom.log());
        }
        let targets = jobs.iter().map(|(_, t)| t.len()).sum::<usize>() + 1;
        prom.wait_for_targets(targets).await?;
        Ok(prom)
    }

    async fn launch(yaml: &str, files: &[(&str, &str)]) -> anyhow::Result<Self> {
        for line in yaml.lines() {
            if let Some(targets) = line.trim().strip_prefix("- targets:") {
                for t in targets
                    .split(['[', ']', ',', '\'', '"', ' '])
                    .filter(|t| !t.is_empty())
                {
                    ensure_loopback(t)?;
                }
            }
        }
        let binary = find_binary("prometheus", "prometheus")?;
        let server = Server::start("prometheus", binary, yaml, files, args, "/-/ready").await?;
        Ok(Self { server })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
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

    /// The child's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// The end of its log, for assertion messages.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Waits (up to a minute) until `up` has exactly `n` series, all equal to 1.
    pub async fn wait_for_targets(&mut self, n: usize) -> anyhow::Result<()> {
        self.server.wait_for_targets(n).await
    }

    /// Instant query through the HTTP API.
    pub async fn query(&self, expr: &str) -> anyhow::Result<Vec<QuerySample>> {
        query_api(&self.url(), expr).await
    }

    /// Stops it (SIGTERM, then SIGKILL after 15 s); the port and data stay reserved for
    /// [`restart`](Self::restart).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.server.stop().await
    }

    /// Stops it if running and starts it again on the same port with the same config and
    /// data directory; returns when `/-/ready` answers (targets are not awaited).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.server.restart().await
    }
}
