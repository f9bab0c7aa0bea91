//! Debian's `prometheus-node-exporter` as a child process on 127.0.0.1.

use std::time::{Duration, Instant};

use anyhow::bail;
use tempfile::TempDir;

use crate::child::{ChildProcess, find_binary, free_port};

/// The collectors started: enough for a node dashboard (CPU, memory, filesystems,
/// network, load, uname), few enough to scrape fast.
const COLLECTORS: [&str; 7] = [
    "cpu",
    "meminfo",
    "filesystem",
    "netdev",
    "loadavg",
    "uname",
    "time",
];

/// A node exporter on a free loopback port; killed (by pid) when dropped.
pub struct NodeExporter {
    child: ChildProcess,
    port: u16,
    _dir: TempDir,
}

impl NodeExporter {
    /// Starts it and returns once `/metrics` answers with `node_uname_info`. Fails naming
    /// the Debian package when the binary is missing.
    pub async fn start() -> anyhow::Result<Self> {
        let binary = find_binary("prometheus-node-exporter", "prometheus-node-exporter")?;
        let dir = tempfile::Builder::new()
            .prefix("promdash-node-exporter-")
            .tempdir()?;
        let port = free_port()?;
        let mut args = vec![
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--collector.disable-defaults".to_owned(),
        ];
        args.extend(COLLECTORS.iter().map(|c| format!("--collector.{c}")));
        let mut child = ChildProcess::spawn(&binary, &args, &dir.path().join("node.log"))?;
        let client = crate::http_client();
        let url = format!("http://127.0.0.1:{port}/metrics");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            child.check_alive()?;
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
                && r.text().await.is_ok_and(|t| t.contains("node_uname_info"))
            {
                return Ok(Self {
                    child,
                    port,
                    _dir: dir,
                });
            }
            if Instant::now() >= deadline {
                bail!(
                    "prometheus-node-exporter did not answer on {url} within 30 s; its log:\n{}",
                    child.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }
}
