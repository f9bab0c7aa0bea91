//! The reference service, in-process or as its built binary.
//!
//! The binary is found by building it: [`service_binary`] runs
//! `cargo build -p promdash-service` once per test process, into the same target
//! directory and profile as the running test, and returns the path of the result.
//! `env!("CARGO_BIN_EXE_promdash-service")` only exists in the service crate's own tests,
//! and a binary merely found in `target/` could be stale; cargo is a no-op when it is
//! up to date. Set `PROMDASH_SERVICE_BIN` to use a given binary instead.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use promdash_service::{RunningService, ServiceConfig};
use tempfile::TempDir;

use crate::child::{ChildProcess, send_signal};

/// Starts the service in this process (library [`promdash_service::spawn`]); use
/// [`ServiceConfig::ephemeral`] for a free loopback port. Refuses non-loopback addresses.
pub async fn start_service(config: ServiceConfig) -> anyhow::Result<RunningService> {
    if !config.listen.ip().is_loopback() {
        bail!("tests only listen on loopback, not {}", config.listen);
    }
    promdash_service::spawn(config).await
}

/// Sends `n` requests that succeed (`/process`, no delay, no failure) to the service at
/// `base_url` (`http://host:port`), one after another.
pub async fn send_requests(base_url: &str, n: usize) -> anyhow::Result<()> {
    let http = crate::http_client();
    for _ in 0..n {
        let r = http
            .get(format!("{base_url}/process?delay_ms=0&fail=0"))
            .send()
            .await?;
        ensure!(r.status().is_success(), "/process: {}", r.status());
    }
    Ok(())
}

/// The service (2 ms ± 1 ms a request) in this process with Prometheus scraping it every
/// second, after `rounds` rounds of requests 0.4 s apart (round `r` sends `4 + r`, every
/// third to an unknown route, a 404); returns once Prometheus holds at least `scrapes`
/// scrapes in the last 10 s of both routes' counters.
pub async fn service_with_traffic(
    rounds: usize,
    scrapes: u32,
) -> anyhow::Result<(RunningService, crate::Prometheus)> {
    let service = start_service(ServiceConfig {
        faults: promdash_service::Faults {
            latency_ms: 2,
            jitter_ms: 1,
            error_rate: 0.0,
        },
        ..ServiceConfig::ephemeral()
    })
    .await?;
    let prom = crate::Prometheus::start(&[service.addr()]).await?;
    let http = crate::http_client();
    for round in 0..rounds {
        for i in 0..(4 + round) {
            let path = if i % 3 == 0 { "/nope" } else { "/process" };
            http.get(format!("{}{path}", service.url())).send().await?;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    crate::wait_for_value(
        &prom.url(),
        &format!("count(count_over_time(app_request_count_total[10s]) >= {scrapes})"),
        2.0,
        Duration::from_secs(60),
    )
    .await?;
    Ok((service, prom))
}

/// Records the service for replay: for each batch, that many requests, then `/metrics`
/// scraped for real and stamped `t0_ms + 5 s × batch`. Writes OpenMetrics text to `file`
/// (each series' samples together, `# EOF` last) and returns the requests sent.
pub async fn record_service(file: &Path, batches: &[usize], t0_ms: i64) -> anyhow::Result<usize> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let base = format!("http://{}", service.addr());
    let http = crate::http_client();
    // Series (its text up to the value) -> points.
    let mut series: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for (i, &n) in batches.iter().enumerate() {
        send_requests(&base, n).await?;
        let page = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        let t = t0_ms + i as i64 * 5_000;
        for line in page
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (s, v) = line.rsplit_once(' ').context("a sample line")?;
            series
                .entry(s.to_owned())
                .or_default()
                .push((t, v.to_owned()));
        }
    }
    // Without `# TYPE` every series is its own family: grouped, never interleaved.
    let mut text = String::new();
    for (s, points) in &series {
        for (t, v) in points {
            writeln!(text, "{s} {v} {}.{:03}", t / 1000, t % 1000)?;
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(file, text)?;
    Ok(batches.iter().sum())
}

/// Path of an up-to-date `promdash-service` binary (see the module docs).
pub fn service_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| build_service_binary().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build_service_binary() -> anyhow::Result<PathBuf> {
    crate::workspace_bin::workspace_binary("promdash-service", "PROMDASH_SERVICE_BIN")
}

/// A `Command` for the service binary with the `PROMDASH_SERVICE_*` environment
/// cleared, e.g. to run `promdash-service load ...` to completion.
pub fn service_command() -> anyhow::Result<Command> {
    let mut cmd = Command::new(service_binary()?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_SERVICE_") {
            cmd.env_remove(key);
        }
    }
    Ok(cmd)
}

/// The service binary running as a child process (killed on Drop).
pub struct ServiceBinary {
    child: ChildProcess,
    dir: TempDir,
    addr: SocketAddr,
}

impl ServiceBinary {
    /// Runs `promdash-service <args>` (adding `--listen 127.0.0.1:0` unless `args` has
    /// `--listen`) and returns once it logs `listening on http://ADDR`.
    pub async fn start(args: &[&str]) -> anyhow::Result<Self> {
        Self::launch(service_binary()?, Vec::new(), args).await
    }

    /// Like [`start`](Self::start), with the open-files limit (`RLIMIT_NOFILE`, soft and
    /// hard) lowered to `nofile`: run through util-linux's `prlimit`, which sets it and
    /// then becomes the service (same pid).
    pub async fn start_with_nofile(nofile: u32, args: &[&str]) -> anyhow::Result<Self> {
        let prlimit = crate::find_binary("prlimit", "util-linux")?;
        let service = service_binary()?;
        let prefix = vec![
            format!("--nofile={nofile}:{nofile}"),
            "--".to_owned(),
            service.display().to_string(),
        ];
        Self::launch(prlimit, prefix, args).await
    }

    async fn launch(binary: PathBuf, prefix: Vec<String>, args: &[&str]) -> anyhow::Result<Self> {
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        if !args
            .iter()
            .any(|a| a == "--listen" || a.starts_with("--listen="))
        {
            args.extend(["--listen".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        let dir = tempfile::Builder::new()
            .prefix("promdash-service-")
            .tempdir()?;
        let log = dir.path().join("service.log");
        let args: Vec<String> = prefix.into_iter().chain(args).collect();
        let mut child = ChildProcess::spawn(&binary, &args, &log)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(listening_addr) {
                break addr;
            }
            child.check_alive()?;
            if Instant::now() > deadline {
                bail!("promdash-service did not say where it listens; log:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Ok(Self { child, dir, addr })
    }

    /// The API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` + address.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Everything it logged so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }

    /// Sends a signal by pid with `kill -<signal> <pid>`, e.g. `"TERM"` or `"INT"`.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        send_signal(self.pid(), signal)
    }

    /// Waits up to `timeout` for it to exit by itself; `None` if it is still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        self.child.wait_timeout(timeout).await
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub async fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        self.child.stop(Duration::from_secs(10)).await
    }
}

/// `... listening on http://127.0.0.1:1234` → the address.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_listening_line() {
        assert_eq!(
            listening_addr(
                "2026-01-01T00:00:00Z  INFO promdash_service::server: listening on http://127.0.0.1:4321"
            ),
            Some(SocketAddr::from(([127, 0, 0, 1], 4321)))
        );
        assert_eq!(
            listening_addr("metrics on http://127.0.0.1:1/metrics"),
            None
        );
    }
}
