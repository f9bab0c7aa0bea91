//! The command line of the `promdash-service` binary.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Faults, ServiceConfig};
use crate::load::{LoadConfig, run_load_reporting};
use crate::server::{serve_until, shutdown_signal};

/// A reference HTTP service instrumented with Prometheus metrics.
///
/// Without a subcommand it serves /process, /metrics, /healthz and /readyz until SIGINT
/// or SIGTERM, then finishes the requests in flight and exits.
#[derive(Debug, Parser)]
#[command(
    name = "promdash-service",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send GET requests at a fixed rate, print a one-line summary, and exit.
    Load(LoadArgs),
}

/// Options of the service itself.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(
        long,
        env = "PROMDASH_SERVICE_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,
    /// Serve /metrics on this separate address instead of --listen.
    #[arg(long, env = "PROMDASH_SERVICE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Mean simulated latency of /process, in milliseconds.
    #[arg(long, env = "PROMDASH_SERVICE_LATENCY_MS", default_value_t = Faults::default().latency_ms)]
    latency_ms: u64,
    /// Uniform jitter around --latency-ms (±), in milliseconds.
    #[arg(long, env = "PROMDASH_SERVICE_JITTER_MS", default_value_t = Faults::default().jitter_ms)]
    jitter_ms: u64,
    /// Probability (0..1) that /process fails with 500.
    #[arg(long, env = "PROMDASH_SERVICE_ERROR_RATE", default_value_t = Faults::default().error_rate)]
    error_rate: f64,
    /// Enable GET/PUT /admin/faults to change latency, jitter and error rate at run time.
    #[arg(long, env = "PROMDASH_SERVICE_ADMIN")]
    admin: bool,
    /// Requests taking longer answer 408 (e.g. 30s, 500ms).
    #[arg(long, env = "PROMDASH_SERVICE_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, env = "PROMDASH_SERVICE_BODY_LIMIT", default_value_t = 64 * 1024)]
    body_limit: usize,
    /// Answer 503 at once when this many requests are already in flight.
    #[arg(long, env = "PROMDASH_SERVICE_MAX_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrency: Option<u32>,
    /// Close a connection that has not sent a whole request head within this long.
    #[arg(long, env = "PROMDASH_SERVICE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    header_read_timeout: Duration,
    /// Most connections open at once; beyond, new ones are closed at once and a line is
    /// logged [default: the open-files limit less 64].
    #[arg(long, env = "PROMDASH_SERVICE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
    /// On SIGINT/SIGTERM, wait this long for requests in flight, then close what is
    /// still open.
    #[arg(long, env = "PROMDASH_SERVICE_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    shutdown_timeout: Duration,
    /// Benchmarks only: serve without recording metrics, to measure what recording costs.
    #[arg(long, hide = true)]
    no_metrics_layer: bool,
}

/// Options of `promdash-service load`.
#[derive(Debug, Args)]
struct LoadArgs {
    /// URL to request with GET, e.g. http://127.0.0.1:8080/process.
    #[arg(long, env = "PROMDASH_SERVICE_LOAD_TARGET")]
    target: String,
    /// Requests per second to hold.
    #[arg(long)]
    rps: f64,
    /// How long to send (e.g. 30s, 5m).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Most requests outstanding at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// A duration longer than zero.
fn positive_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be longer than 0s".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e} (expected e.g. 10s)")),
    }
}

impl ServeArgs {
    fn into_config(self) -> ServiceConfig {
        ServiceConfig {
            listen: self.listen,
            metrics_listen: self.metrics_listen,
            faults: Faults {
                latency_ms: self.latency_ms,
                jitter_ms: self.jitter_ms,
                error_rate: self.error_rate,
            },
            admin: self.admin,
            request_timeout: self.request_timeout,
            body_limit: self.body_limit,
            max_concurrency: self.max_concurrency.map(|n| n as usize),
            metrics_layer: !self.no_metrics_layer,
            header_read_timeout: self.header_read_timeout,
            max_connections: self.max_connections.map(|n| n as usize),
            shutdown_timeout: self.shutdown_timeout,
        }
    }
}

impl LoadArgs {
    fn into_config(self) -> LoadConfig {
        LoadConfig {
            target: self.target,
            rps: self.rps,
            duration: Some(self.duration),
            concurrency: self.concurrency,
            timeout: self.timeout,
        }
    }
}

/// Parses the command line and runs what it asks; the whole of `main`.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stdout)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => {
            let config = cli.serve.into_config();
            config.faults.validate()?;
            serve_until(config, shutdown_signal()?).await
        }
        Some(Command::Load(args)) => {
            // Progress once a second on stderr; the summary line on stdout at the end.
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let printer = tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    eprintln!("{p}");
                }
            });
            let summary = run_load_reporting(
                args.into_config(),
                shutdown_signal()?,
                Duration::from_secs(1),
                tx,
            )
            .await?;
            let _ = printer.await;
            println!("{summary}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_map_to_config() {
        let cli = Cli::try_parse_from([
            "promdash-service",
            "--listen",
            "127.0.0.1:0",
            "--latency-ms",
            "70",
            "--jitter-ms",
            "5",
            "--error-rate",
            "0.25",
            "--admin",
            "--request-timeout",
            "1500ms",
            "--max-concurrency",
            "8",
        ])
        .expect("valid flags");
        assert!(cli.command.is_none());
        let c = cli.serve.into_config();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(
            c.faults,
            Faults {
                latency_ms: 70,
                jitter_ms: 5,
                error_rate: 0.25
            }
        );
        assert!(c.admin && c.metrics_layer);
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!(c.max_concurrency, Some(8));
    }

    #[test]
    fn load_subcommand_parses_humantime() {
        let cli = Cli::try_parse_from([
            "promdash-service",
            "load",
            "--target",
            "http://127.0.0.1:1/process",
            "--rps",
            "200",
            "--duration",
            "5s",
        ])
        .expect("valid flags");
        let Some(Command::Load(args)) = cli.command else {
            panic!("expected the load subcommand");
        };
        let c = args.into_config();
        assert_eq!(c.duration, Some(Duration::from_secs(5)));
        assert_eq!(c.concurrency, 32);
        assert!((c.rps - 200.0).abs() < f64::EPSILON);
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["promdash-service", "--listen", "nowhere"][..],
            &["promdash-service", "--request-timeout", "soon"],
            &["promdash-service", "--max-concurrency", "0"],
            &["promdash-service", "load", "--target", "http://x/"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
