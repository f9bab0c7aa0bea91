//! Command line. Every setting also reads a `PROMDASH_*` environment variable; the
//! command line wins over the environment, which wins over the dashboard file.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::connection::{ConnectionArgs, parse_duration};

/// A terminal dashboard for Prometheus: PromQL panels, live charts and alert banners.
#[derive(Debug, Parser)]
#[command(name = "promdash", version, about, long_about = None)]
pub struct Cli {
    /// Dashboard file (TOML); the built-in reference-service dashboard when omitted.
    #[arg(
        long,
        short = 'd',
        env = "PROMDASH_DASHBOARD",
        value_name = "FILE",
        global = true
    )]
    pub dashboard: Option<PathBuf>,

    /// Server, credentials and TLS: shared with `query`, `check` and `validate`.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// How often queries run (overrides the dashboard file), e.g. 5s.
    #[arg(long, env = "PROMDASH_REFRESH", global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub refresh: Option<Duration>,

    /// Time window shown by graphs (overrides the dashboard file), e.g. 15m, 1h.
    #[arg(long, env = "PROMDASH_RANGE", global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub range: Option<Duration>,

    /// Value of a dashboard variable, NAME=VALUE (repeatable; a comma list for a multi
    /// variable, `All` for all of its values).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Do not ring the terminal bell when an alert starts firing.
    #[arg(long, env = "PROMDASH_NO_BELL", global = true)]
    pub no_bell: bool,

    /// Log file [default: promdash.log in $XDG_STATE_HOME/promdash, ~/.local/state/promdash
    /// or the temp dir]. RUST_LOG sets the level.
    #[arg(long, env = "PROMDASH_LOG_FILE", global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--var name=value`.
fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((
            name.trim().trim_start_matches('$').to_owned(),
            value.to_owned(),
        )),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try it out: start the reference service under load and a Prometheus scraping it,
    /// then open the dashboard on them. Press `f` to toggle a latency fault.
    Demo(DemoArgs),
    #[command(flatten)]
    Headless(Box<crate::headless::HeadlessCommand>),
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The Prometheus binary [default: `prometheus` on PATH].
    #[arg(long, env = "PROMDASH_PROMETHEUS_BIN", value_name = "PATH")]
    pub prometheus_bin: Option<PathBuf>,

    /// Requests per second sent to the service by the built-in load generator.
    #[arg(long, env = "PROMDASH_DEMO_RPS", default_value_t = 50.0)]
    pub rps: f64,

    /// Latency of the service while the fault is on (`f`), e.g. 800ms.
    #[arg(long, env = "PROMDASH_DEMO_FAULT_LATENCY", value_parser = parse_duration, default_value = "800ms")]
    pub fault_latency: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::parse_header;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn headers_and_durations() {
        assert_eq!(
            parse_header("X-Scope-OrgID: team-a").ok(),
            Some(("X-Scope-OrgID".into(), "team-a".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert_eq!(parse_duration("15m").ok(), Some(Duration::from_secs(900)));
        let cli = Cli::try_parse_from([
            "promdash",
            "--refresh",
            "1s",
            "--header",
            "A: b",
            "--header",
            "C: d",
        ]);
        let cli = cli.map_err(|e| e.to_string());
        assert!(
            cli.as_ref()
                .is_ok_and(|c| c.connection.headers.len() == 2
                    && c.refresh == Some(Duration::from_secs(1))),
            "{cli:?}"
        );
    }
}
