//! Debian's Alertmanager (`prometheus-alertmanager`, 0.25) and `amtool` as child
//! processes, and a small HTTP recorder that plays a webhook receiver (or an Alertmanager
//! that only records what it is sent).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::child::{ChildProcess, find_binary, free_port};
use crate::server::START_TIMEOUT;

/// A configuration routing every alert to a receiver that does nothing, grouping and
/// flushing every second.
pub const NULL_CONFIG: &str = "route:\n  receiver: 'null'\n  group_wait: 1s\n  \
    group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: 'null'\n";

/// A configuration sending every notification, resolved ones too, to `webhook_url`.
pub fn webhook_config(webhook_url: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: ['alertname']\n  group_wait: 1s\n  \
         group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    \
         webhook_configs:\n      - url: '{webhook_url}'\n        send_resolved: true\n"
    )
}

/// An Alertmanager on a free 127.0.0.1 port, clustering off, with a temp config and data
/// directory. Killed when dropped.
pub struct Alertmanager {
    binary: PathBuf,
    dir: TempDir,
    data: PathBuf,
    port: u16,
    child: Option<ChildProcess>,
    generation: u32,
}

impl Alertmanager {
    /// Starts it with [`NULL_CONFIG`]; returns once `/-/ready` answers.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_config(NULL_CONFIG).await
    }

    /// Starts it with `alertmanager.yml` = `yaml`; returns once `/-/ready` answers.
    pub async fn start_with_config(yaml: &str) -> anyhow::Result<Self> {
        let binary = find_binary("prometheus-alertmanager", "prometheus-alertmanager")?;
        let dir = tempfile::Builder::new()
            .prefix("promdash-alertmanager-")
            .tempdir()
            .context("cannot create a temp dir")?;
        std::fs::write(dir.path().join("alertmanager.yml"), yaml)?;
        let data = dir.path().join("data0");
        std::fs::create_dir_all(&data)?;
        let mut am = Alertmanager {
            binary,
            dir,
            data,
            port: 0,
            child: None,
            generation: 0,
        };
        let mut last = None;
        for _ in 0..3 {
            am.port = free_port()?;
            match am.launch().await {
                Ok(()) => return Ok(am),
                Err(e) if e.to_string().contains("address already in use") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("alertmanager: no free port")))
    }

    fn args(&self) -> Vec<String> {
        vec![
            format!(
                "--config.file={}",
                self.dir.path().join("alertmanager.yml").display()
            ),
            format!("--storage.path={}", self.data.display()),
            format!("--web.listen-address=127.0.0.1:{}", self.port),
            // Empty: no gossip, no cluster port.
            "--cluster.listen-address=".into(),
            "--log.level=debug".into(),
        ]
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let log = self.dir.path().join("server.log");
        self.child = Some(ChildProcess::spawn(&self.binary, &self.args(), &log)?);
        let client = promdash_queries::tls::http_client_builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/-/ready", self.url());
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let child = self.child.as_mut().context("not started")?;
            child.check_alive()?;
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "alertmanager not ready at {url} after {START_TIMEOUT:?}; end of its log:\n{}",
                    child.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The temp directory (config, data directories, `server.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ChildProcess::pid)
    }

    /// The end of its log, for assertion messages.
    pub fn log(&self) -> String {
        crate::child::log_tail(&self.dir.path().join("server.log"))
    }

    /// Stops it (SIGTERM, SIGKILL after 15 s).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut c) = self.child.take() {
            c.stop(Duration::from_secs(15)).await?;
        }
        Ok(())
    }

    /// Stops it and starts it again on the same port, with the same data directory
    /// (silences and notification log kept) or a new empty one.
    pub async fn restart(&mut self, keep_data: bool) -> anyhow::Result<()> {
        self.stop().await?;
        if !keep_data {
            self.generation += 1;
            self.data = self.dir.path().join(format!("data{}", self.generation));
            std::fs::create_dir_all(&self.data)?;
        }
        self.launch().await
    }

    /// `amtool --alertmanager.url=<url> args…`: its stdout, or an error with its output.
    pub fn amtool(&self, args: &[&str]) -> anyhow::Result<String> {
        let bin = find_binary("amtool", "prometheus-alertmanager")?;
        let out = Command::new(bin)
            .arg(format!("--alertmanager.url={}", self.url()))
            .args(args)
            .env_remove("HOME")
            .output()
            .context("cannot run amtool")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "amtool {args:?} failed ({}):\n{stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    }

    /// `GET /api/v2/alerts` read with plain reqwest (not promdash's client), as JSON.
    pub async fn alerts_json(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let r = crate::http_get(format!("{}/api/v2/alerts", self.url())).await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("GET /api/v2/alerts: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
}

/// One request the [`Recorder`] received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every request `200 OK` and keeps its
/// method, path and JSON body: a webhook receiver for Alertmanager, or a stand-in
/// Alertmanager that shows how promdash batches its posts. Stops when dropped.
pub struct Recorder {
    port: u16,
    received: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let r = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, r.clone()));
            }
        });
        Ok(Recorder {
            port,
            received,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What it has received so far.
    pub fn received(&self) -> Vec<Recorded> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: tokio::net::TcpStream, received: Arc<Mutex<Vec<Recorded>>>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut first = head.lines().next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let path = first.next().unwrap_or_default().to_owned();
        let len: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body = serde_json::from_slice(&buf[head_end..head_end + len])
            .unwrap_or(serde_json::Value::Null);
        buf.drain(..head_end + len);
        if let Ok(mut r) = received.lock() {
            r.push(Recorded { method, path, body });
        }
        let reply =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n";
        if stream.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// A rule backend answering every query with the samples it is given (the test decides
/// what the rules see; the Alertmanager under test is real).
#[derive(Debug, Default)]
pub struct FixedAnswers {
    pub samples: Vec<promdash_queries::rules::eval::QuerySample>,
    /// `Some(reason)`: every query fails (an outage).
    pub error: Option<String>,
}

impl FixedAnswers {
    /// One sample per label set, each with `value`.
    pub fn set(&mut self, series: &[&[(&str, &str)]], value: f64) {
        self.error = None;
        self.samples = series
            .iter()
            .map(|labels| promdash_queries::rules::eval::QuerySample {
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                value,
            })
            .collect();
    }
}

impl promdash_queries::rules::eval::RuleBackend for FixedAnswers {
    fn query(
        &self,
        _expr: &str,
        _t_ms: i64,
    ) -> Result<Vec<promdash_queries::rules::eval::QuerySample>, String> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(self.samples.clone()),
        }
    }

    fn append(&mut self, _labels: &promdash_queries::rules::template::LabelMap, _t: i64, _v: f64) {}
}

/// Waits (up to a minute) until `check` returns `Ok(Some(v))`, polling every 100 ms;
/// the error names `what` and the last thing `check` said.
pub async fn wait_until<T>(
    what: &str,
    mut check: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = format!("{e:#}"),
        }
        if Instant::now() > deadline {
            bail!("{what}: not within a minute (last error: {last})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
