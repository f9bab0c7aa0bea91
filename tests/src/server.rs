//! What Prometheus and VictoriaMetrics have in common as child processes: a temp dir with
//! config and data, a loopback port, readiness, waiting for scraped targets, restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use crate::child::{ChildProcess, free_port};
use crate::query::{QuerySample, query_api};

/// How long a server may take to become ready, and its targets to be up.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the command line for a port and a temp dir.
pub(crate) type ArgsFn = fn(port: u16, dir: &Path) -> Vec<String>;

pub(crate) struct Server {
    pub(crate) name: &'static str,
    binary: PathBuf,
    dir: TempDir,
    port: u16,
    args: ArgsFn,
    ready_path: &'static str,
    child: Option<ChildProcess>,
}

impl Server {
    /// Writes `config` to `<dir>/prometheus.yml` (and any `files`), then starts the
    /// server on a free port, retrying on a new port if the first was taken meanwhile.
    pub(crate) async fn start(
        name: &'static str,
        binary: PathBuf,
        config: &str,
        files: &[(&str, &str)],
        args: ArgsFn,
        ready_path: &'static str,
    ) -> anyhow::Result<Self> {
        Self::start_prepared(name, binary, config, files, args, ready_path, |_| Ok(())).await
    }

    /// Like [`start`](Self::start), calling `prepare` with the temp dir (its `data/`
    /// already made) before the server starts, e.g. to put TSDB blocks there.
    pub(crate) async fn start_prepared(
        name: &'static str,
        binary: PathBuf,
        config: &str,
        files: &[(&str, &str)],
        args: ArgsFn,
        ready_path: &'static str,
        prepare: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("promdash-{name}-"))
            .tempdir()
            .context("cannot create a temp dir")?;
        std::fs::write(dir.path().join("prometheus.yml"), config)?;
        for (file, text) in files {
            std::fs::write(dir.path().join(file), text)?;
        }
        std::fs::create_dir_all(dir.path().join("data"))?;
        prepare(dir.path())?;
        let mut server = Self {
            name,
            binary,
            dir,
            port: 0,
            args,
            ready_path,
            child: None,
        };
        let mut last_error = None;
        for _ in 0..3 {
            server.port = free_port()?;
            match server.launch().await {
                Ok(()) => return Ok(server),
                Err(e) if e.to_string().contains("address already in use") => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("{name}: no free port")))
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let args = (self.args)(self.port, self.dir.path());
        let log = self.dir.path().join("server.log");
        self.child = Some(ChildProcess::spawn(&self.binary, &args, &log)?);
        self.wait_ready().await
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ChildProcess::pid)
    }

    pub(crate) fn log(&self) -> String {
        crate::child::log_tail(&self.dir.path().join("server.log"))
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = promdash_queries::tls::http_client_builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}{}", self.url(), self.ready_path);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let child = self.child.as_mut().context("server not started")?;
            child.check_alive()?;
            if let Ok(resp) = client.get(&url).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not ready at {url} after {START_TIMEOUT:?}; end of its log:\n{}",
                    self.name,
                    child.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `up` has exactly `n` series, all 1.
    pub(crate) async fn wait_for_targets(&mut self, n: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last: anyhow::Result<Vec<QuerySample>> = Ok(Vec::new());
        loop {
            if let Some(child) = self.child.as_mut() {
                child.check_alive()?;
            }
            if let Ok(up) = &last
                && up.len() == n
                && up.iter().all(|s| s.value == 1.0)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{}: expected {n} scraped targets with up == 1 within {START_TIMEOUT:?}, \
                     last answer {last:?}; end of its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            last = query_api(&self.url(), "up").await;
        }
    }

    pub(crate) async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.stop(Duration::from_secs(15)).await?;
        }
        Ok(())
    }

    /// Stops, then starts again with the same port, config and data directory.
    pub(crate) async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.launch().await
    }
}
