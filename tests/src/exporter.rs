//! A second exporter for the scrape tests: `tests/exporter/exporter.py`, the reference
//! service's request metrics written with Debian's `python3-prometheus-client` (which
//! serves OpenMetrics to a scraper that asks for it), run by Debian's python3 as a child
//! process on a free 127.0.0.1 port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use crate::child::{ChildProcess, free_port};

/// The exporter script in the repository.
pub fn exporter_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("exporter/exporter.py")
}

/// Debian's python3 (where `apt-get install python3-prometheus-client` puts the
/// module), or `python3` on PATH when there is no /usr/bin/python3; an error naming the
/// package to install when the module is missing.
pub fn python_with_prometheus_client() -> anyhow::Result<PathBuf> {
    let python = if Path::new("/usr/bin/python3").is_file() {
        PathBuf::from("/usr/bin/python3")
    } else {
        crate::find_binary("python3", "python3")?
    };
    let ok = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?
        .status
        .success();
    if !ok {
        bail!(
            "{} cannot import prometheus_client: install it with \
             `apt-get install python3-prometheus-client` (scripts/test.sh does this)",
            python.display()
        );
    }
    Ok(python)
}

/// The Python exporter as a child process; killed when dropped.
pub struct PythonExporter {
    child: Option<ChildProcess>,
    port: u16,
    _dir: TempDir,
}

impl PythonExporter {
    /// Starts it and returns once `/metrics` answers.
    pub async fn start() -> anyhow::Result<Self> {
        let python = python_with_prometheus_client()?;
        let dir = tempfile::Builder::new()
            .prefix("promdash-exporter-")
            .tempdir()?;
        let log = dir.path().join("exporter.log");
        let port = free_port()?;
        let child = ChildProcess::spawn(
            &python,
            &[exporter_script().display().to_string(), port.to_string()],
            &log,
        )?;
        let mut me = PythonExporter {
            child: Some(child),
            port,
            _dir: dir,
        };
        let client = crate::http_client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(c) = me.child.as_mut() {
                c.check_alive()?;
            }
            if let Ok(r) = client.get(me.metrics_url()).send().await
                && r.status().is_success()
            {
                return Ok(me);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the Python exporter did not answer on {} within 30 s; its log:\n{}",
                    me.metrics_url(),
                    me.child.as_ref().map(|c| c.log_tail()).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.addr())
    }

    /// `http://127.0.0.1:PORT/process`.
    pub fn process_url(&self) -> String {
        format!("http://{}/process", self.addr())
    }

    /// The child's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ChildProcess::pid)
    }

    /// Kills it (SIGKILL, by pid) and waits for it to be gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut c) = self.child.take() {
            crate::child::send_signal(c.pid(), "KILL")?;
            c.wait_timeout(Duration::from_secs(10)).await?;
        }
        Ok(())
    }
}
