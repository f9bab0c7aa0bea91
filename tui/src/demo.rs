//! `promdash demo`: the reference service under load, scraped by the embedded engine (or,
//! with `--prometheus`, by a real Prometheus child process), and the dashboard on top.
//! Nothing needs to be installed for the first. Everything runs on loopback ports and temp
//! directories, and is cleaned up on the way out.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use promdash_queries::client::PromClient;
use promdash_service::{Faults, LoadConfig, ServiceConfig};
use tokio::process::{Child, Command};

use crate::app::State;
use crate::cli::DemoArgs;
use crate::run::{Settings, with_terminal_and};

/// How the service behaves normally in the demo: 20 ms ± 10 ms, 1% errors.
pub const NORMAL: Faults = Faults {
    latency_ms: 20,
    jitter_ms: 10,
    error_rate: 0.01,
};

/// How often the demo's engine scrapes the service (as the demo's Prometheus does).
pub const DEMO_SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// How to get Prometheus when it is missing.
pub const INSTALL_HINT: &str = "Prometheus is needed for `demo --prometheus` and was not found \
on PATH. Install it (Debian/Ubuntu: sudo apt-get update && sudo apt-get install prometheus; \
macOS: brew install prometheus), pass --prometheus-bin /path/to/prometheus, or leave out \
--prometheus: the demo then runs on promdash's embedded engine.";

/// Finds the Prometheus binary: `--prometheus-bin`, else `prometheus` on PATH.
pub fn find_prometheus(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        bail!(
            "--prometheus-bin {} does not exist. {INSTALL_HINT}",
            p.display()
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!(INSTALL_HINT))
}

/// A free TCP port on 127.0.0.1 (bound and released; Prometheus binds it right after).
fn free_port() -> anyhow::Result<u16> {
    let l =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot find a free loopback port")?;
    Ok(l.local_addr()?.port())
}

/// The Prometheus child process and its temp directory (removed on drop).
pub struct Prometheus {
    child: Child,
    pub url: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second and waits until it is ready.
    pub async fn start(bin: &Path, target: SocketAddr) -> anyhow::Result<Self> {
        let mut dir = tempfile::Builder::new()
            .prefix("promdash-demo-")
            .tempdir()?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: promdash-service\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )?;
        let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
        let mut last_err = None;
        // The free port can be taken between finding and binding it: try a few.
        for _ in 0..3 {
            let port = free_port()?;
            // Through `promdash __exec-child`: Prometheus is SIGKILLed by the kernel when
            // promdash ends, even when promdash itself is SIGKILLed (no drop runs then).
            let mut cmd = match std::env::current_exe() {
                Ok(me) if cfg!(target_os = "linux") => {
                    let mut c = Command::new(me);
                    c.arg("__exec-child")
                        .arg(std::process::id().to_string())
                        .arg(bin)
                        .arg("--");
                    c
                }
                _ => Command::new(bin),
            };
            let child = cmd
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log.try_clone()?)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("cannot start {}", bin.display()))?;
            let mut p = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                dir,
            };
            match p.wait_ready(Duration::from_secs(30)).await {
                Ok(()) => return Ok(p),
                Err(e) => {
                    p.stop().await;
                    last_err = Some(e);
                    dir = p.dir;
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("Prometheus did not start")))
    }

    async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let http = promdash_queries::tls::http_client_builder()
            .timeout(Duration::from_secs(1))
            .build()?;
        let deadline = Instant::now() + limit;
        let ready = format!("{}/-/ready", self.url);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("Prometheus exited with {status}: {}", self.log_tail());
            }
            if http
                .get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "Prometheus was not ready within {limit:?}: {}",
            self.log_tail()
        )
    }

    fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
        let start = text.len().saturating_sub(600);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].trim().to_owned()
    }

    /// Stops the child and waits for it.
    pub async fn stop(&mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

/// The rule files and Alertmanagers of `promdash demo --rules … [--alertmanager …]`.
#[derive(Default)]
pub struct DemoRules {
    /// Evaluated on the embedded engine (recorded series go into its store), or, with
    /// `--prometheus`, against the demo's Prometheus.
    pub rules: Option<crate::rules::Setup>,
    pub alertmanager: Option<crate::alertmanager::DashboardAm>,
}

/// Runs the demo until the dashboard is closed.
pub async fn run(
    mut settings: Settings,
    args: DemoArgs,
    compat: Option<crate::headless::promqltest::CompatArg>,
    vars: Vec<(String, String)>,
    rules: DemoRules,
) -> anyhow::Result<()> {
    let bin = if args.prometheus {
        Some(find_prometheus(args.prometheus_bin.as_deref())?)
    } else {
        None
    };
    let service = promdash_service::spawn(ServiceConfig {
        admin: true,
        faults: NORMAL,
        ..ServiceConfig::ephemeral()
    })
    .await
    .context("cannot start the reference service")?;

    let (stop_load, load_stopped) = tokio::sync::oneshot::channel::<()>();
    let load = tokio::spawn(promdash_service::run_load_until(
        LoadConfig {
            target: format!("{}/process", service.url()),
            rps: args.rps,
            duration: None,
            concurrency: 256,
            timeout: Duration::from_secs(10),
        },
        async move {
            let _ = load_stopped.await;
        },
    ));

    let mut opts = settings.opts.clone();
    opts.demo = true;
    // Data starts now: a short range and refresh make the charts fill quickly, unless
    // the user asked for something else.
    if opts.refresh == settings.dashboard.refresh {
        opts.refresh = opts.refresh.min(Duration::from_secs(1));
    }
    if opts.range == settings.dashboard.range {
        opts.range = opts.range.min(Duration::from_secs(60));
    }
    let fault_latency = u64::try_from(args.fault_latency.as_millis()).unwrap_or(u64::MAX);
    let svc = Arc::new(service);
    let svc_fault = Arc::clone(&svc);
    let on_fault = move |on| {
        let faults = if on {
            Faults {
                latency_ms: fault_latency,
                jitter_ms: fault_latency / 4,
                ..NORMAL
            }
        } else {
            NORMAL
        };
        match svc_fault.set_faults(faults) {
            Ok(()) => tracing::info!(on, ?faults, "latency fault"),
            Err(e) => tracing::warn!("cannot set faults: {e}"),
        }
    };
    let target = svc.metrics_addr();
    let result = match bin {
        Some(bin) => {
            let mut prometheus = Prometheus::start(&bin, target).await?;
            tracing::info!(service = %svc.url(), prometheus = %prometheus.url, "demo started");
            settings.client.url = prometheus.url.clone();
            let client = PromClient::new(settings.client.clone())?;
            opts.url = client.redacted_url().to_owned();
            let mut state = State::new(settings.dashboard, opts);
            state.memory_budget = settings.memory_budget;
            state.export_dir = settings.export_dir;
            let client = Arc::new(client);
            // The rules against the demo's Prometheus, as against any server.
            let sidecar =
                crate::rules::start_remote(&mut state, &client, rules.rules, rules.alertmanager);
            let result = with_terminal_and(state, client, on_fault, sidecar).await;
            prometheus.stop().await;
            result
        }
        None => {
            // The embedded engine scrapes the service every second, as the demo's
            // Prometheus would.
            tracing::info!(service = %svc.url(), "demo started on the embedded engine");
            let job = crate::embedded::cli_job(&[target.to_string()], DEMO_SCRAPE_INTERVAL)
                .map_err(anyhow::Error::msg)?;
            opts.url = job.targets.join(" ");
            settings.opts = opts;
            let live = crate::embedded::Live {
                jobs: vec![job],
                retention: crate::embedded::DEFAULT_RETENTION,
                compat,
                auto_dashboard: false,
                vars,
                rules: rules.rules,
                alertmanager: rules.alertmanager,
            };
            crate::embedded::run_live(settings, live, on_fault).await
        }
    };

    let _ = stop_load.send(());
    let _ = tokio::time::timeout(Duration::from_secs(2), load).await;
    if let Ok(service) = Arc::try_unwrap(svc) {
        let _ = tokio::time::timeout(Duration::from_secs(2), service.shutdown()).await;
    }
    result
}

/// `promdash __exec-child PARENT PROGRAM ARGS...`: on Linux, ask for SIGKILL when the
/// parent ends (`PR_SET_PDEATHSIG`, which survives `exec`), make sure the parent is still
/// `PARENT` (it may have died before the request), then become PROGRAM. The signal follows
/// the thread that spawned this process: the demo spawns from a runtime worker thread,
/// which lives as long as the demo. Returns only when PROGRAM cannot be run.
pub fn exec_child(parent: u32, program: &Path, args: &[std::ffi::OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt as _;
    #[cfg(target_os = "linux")]
    {
        if let Err(e) =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        {
            eprintln!(
                "promdash: cannot tie {} to its parent: {e}",
                program.display()
            );
            return ExitCode::from(127);
        }
        let ppid = rustix::process::getppid().map(|p| p.as_raw_pid());
        if ppid != i32::try_from(parent).ok() {
            // The parent is already gone: nothing would stop the program.
            return ExitCode::from(1);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
    let err = std::process::Command::new(program).args(args).exec();
    eprintln!("promdash: cannot run {}: {err}", program.display());
    ExitCode::from(127)
}
