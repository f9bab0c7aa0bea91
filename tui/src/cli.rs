//! Command line. Every setting also reads a `PROMDASH_*` environment variable; the
//! command line wins over the environment, which wins over the dashboard file.
//!
//! The connection options are global: given before or after the subcommand, they are the
//! same option, and the command line beats the environment wherever it is written. The
//! options only the dashboard uses (`--refresh`, `--range`, `--var`, `--no-bell`,
//! `--log-file`) belong to the top level only: a headless subcommand neither accepts nor
//! parses them, so a bad `PROMDASH_RANGE` cannot break `promdash completions`.

use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use crate::connection::{ConnectionArgs, parse_duration};

/// A terminal dashboard for Prometheus: PromQL panels, live charts and alert banners.
#[derive(Debug, Parser)]
#[command(name = "promdash", version, about, long_about = None)]
pub struct Cli {
    /// Dashboard file (TOML); the built-in reference-service dashboard when omitted.
    #[arg(long, short = 'd', env = "PROMDASH_DASHBOARD", value_name = "FILE")]
    pub dashboard: Option<PathBuf>,

    /// Server, credentials and TLS: shared with `query`, `check` and `validate`.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// How often queries run (overrides the dashboard file), e.g. 5s.
    #[arg(long, env = "PROMDASH_REFRESH", value_name = "DURATION")]
    pub refresh: Option<String>,

    /// Time window shown by graphs (overrides the dashboard file), e.g. 15m, 1h.
    #[arg(long, env = "PROMDASH_RANGE", value_name = "DURATION")]
    pub range: Option<String>,

    /// Value of a dashboard variable, NAME=VALUE (repeatable; a comma list for a multi
    /// variable, `All` for all of its values).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Do not ring the terminal bell when an alert starts firing.
    #[arg(long, env = "PROMDASH_NO_BELL")]
    pub no_bell: bool,

    /// The most all panels together may hold in answers (estimated), e.g. 256MiB, 1GiB; a
    /// panel whose answer would go past it shows why instead of its data.
    #[arg(
        long,
        env = "PROMDASH_MEMORY_BUDGET",
        value_name = "SIZE",
        default_value = "256MiB",
        value_parser = parse_size
    )]
    pub memory_budget: u64,

    /// Log file [default: promdash.log in $XDG_STATE_HOME/promdash, ~/.local/state/promdash
    /// or the temp dir]. RUST_LOG sets the level.
    #[arg(long, env = "PROMDASH_LOG_FILE", value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Directory the export keys (`e`, `E`) write their files to.
    #[arg(
        long,
        env = "PROMDASH_EXPORT_DIR",
        value_name = "DIR",
        default_value = "."
    )]
    pub export_dir: PathBuf,

    /// Replay a recording (OpenMetrics text with timestamps, as `promdash record` writes
    /// it) on the embedded engine instead of asking a server: time stands at its end,
    /// ←/→ pan and +/- zoom over it.
    #[arg(long, value_name = "FILE.om")]
    pub data: Option<PathBuf>,

    /// Scrape this target into the embedded engine instead of asking a server: a URL, or
    /// a bare host:port meaning http://host:port/metrics (repeatable). Nothing else needs
    /// to run; `t` lists the targets, `w` saves what was scraped.
    #[arg(long, value_name = "URL", conflicts_with = "data")]
    pub scrape: Vec<String>,

    /// How often --scrape targets are scraped [default: 5s].
    #[arg(long, env = "PROMDASH_SCRAPE_INTERVAL", value_name = "DURATION")]
    pub scrape_interval: Option<String>,

    /// The scrape interval `$__rate_interval` is computed with (max($__interval + it, 4 ×
    /// it)) instead of the server's (Prometheus's global `scrape_interval` from
    /// /api/v1/status/config; else the dashboard's `scrape_interval`, 15s unless set). On
    /// the embedded engine the default is its own scrape interval.
    #[arg(long, env = "PROMDASH_SCRAPE_INTERVAL_HINT", value_name = "DURATION")]
    pub scrape_interval_hint: Option<String>,

    /// How much scraped data the embedded engine keeps, at most 24h [default: 1h].
    #[arg(long, env = "PROMDASH_RETENTION", value_name = "DURATION")]
    pub retention: Option<String>,

    /// On the embedded engine (--scrape, --data, demo): answer as Prometheus 2.x or 3.x
    /// does [default: 3].
    #[arg(long, value_enum, env = "PROMDASH_PROMQL_COMPAT", value_name = "2|3")]
    pub promql_compat: Option<crate::headless::promqltest::CompatArg>,

    /// Prometheus rule file (a path or a glob) evaluated while the dashboard runs
    /// (repeatable; replaces the dashboard's and config.toml's `rule_files`). `a` shows
    /// the groups and alerts; firing alerts join the banner. With --data, evaluated over
    /// the recording on its own clock.
    #[arg(long = "rules", value_name = "FILE|GLOB")]
    pub rules: Vec<String>,

    /// How often a rule group without its own `interval` is evaluated [default: 1m, as
    /// Prometheus's global evaluation_interval].
    #[arg(long, env = "PROMDASH_EVALUATION_INTERVAL", value_name = "DURATION")]
    pub evaluation_interval: Option<String>,

    /// A label every rule-file alert template sees as `$externalLabels`, NAME=VALUE
    /// (repeatable), as Prometheus's `global.external_labels`.
    #[arg(long = "external-label", value_name = "NAME=VALUE", value_parser = parse_label)]
    pub external_labels: Vec<(String, String)>,

    /// Where the alerts of rule files go, and the silence keys make silences.
    #[command(flatten)]
    pub alertmanager: crate::alertmanager::AlertmanagerArgs,

    /// The dashboard's own options written on the command line before the subcommand
    /// (not taken from the environment), e.g. `--range`: an error with a headless one.
    #[arg(skip)]
    pub dashboard_flags: Vec<&'static str>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The options of the dashboard only, by clap id and as written.
const DASHBOARD_ONLY: [(&str, &str); 30] = [
    ("dashboard", "--dashboard"),
    ("memory_budget", "--memory-budget"),
    ("refresh", "--refresh"),
    ("range", "--range"),
    ("vars", "--var"),
    ("no_bell", "--no-bell"),
    ("log_file", "--log-file"),
    ("export_dir", "--export-dir"),
    ("data", "--data"),
    ("promql_compat", "--promql-compat"),
    ("scrape", "--scrape"),
    ("scrape_interval", "--scrape-interval"),
    ("scrape_interval_hint", "--scrape-interval-hint"),
    ("retention", "--retention"),
    ("rules", "--rules"),
    ("evaluation_interval", "--evaluation-interval"),
    ("external_labels", "--external-label"),
    ("urls", "--alertmanager"),
    (
        "alertmanager_bearer_token_file",
        "--alertmanager-bearer-token-file",
    ),
    (
        "alertmanager_basic_auth_user",
        "--alertmanager-basic-auth-user",
    ),
    (
        "alertmanager_basic_auth_password_file",
        "--alertmanager-basic-auth-password-file",
    ),
    ("alertmanager_header", "--alertmanager-header"),
    ("alertmanager_ca_cert", "--alertmanager-ca-cert"),
    ("alertmanager_client_cert", "--alertmanager-client-cert"),
    ("alertmanager_client_key", "--alertmanager-client-key"),
    (
        "alertmanager_insecure_skip_verify",
        "--alertmanager-insecure-skip-verify",
    ),
    ("alertmanager_timeout", "--alertmanager-timeout"),
    ("alertmanager_resend_delay", "--alertmanager-resend-delay"),
    ("alertmanager_label", "--alertmanager-label"),
    ("no_alertmanager_label", "--no-alertmanager-label"),
];

impl Cli {
    /// Parses the process's command line (exiting with clap's message on an error) and
    /// notes which dashboard options were written on it.
    pub fn from_env_args() -> Self {
        let matches = Self::command().get_matches();
        match Self::from_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        }
    }

    /// [`Cli`] from parsed matches, with [`Cli::dashboard_flags`] filled in.
    pub fn from_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut cli = Self::from_arg_matches(matches)?;
        // `promdash demo --range 5m`: the demo's own copy, when written, wins.
        if let (Some(Command::Demo(demo)), Some(sub)) =
            (&cli.command, matches.subcommand_matches("demo"))
        {
            let given = |id: &str| sub.value_source(id) == Some(ValueSource::CommandLine);
            let o = &demo.dashboard_options;
            if given("dashboard") {
                cli.dashboard.clone_from(&o.dashboard);
            }
            if given("refresh") {
                cli.refresh.clone_from(&o.refresh);
            }
            if given("range") {
                cli.range.clone_from(&o.range);
            }
            if given("vars") {
                cli.vars.extend(o.vars.iter().cloned());
            }
            if given("no_bell") {
                cli.no_bell = true;
            }
            if given("log_file") {
                cli.log_file.clone_from(&o.log_file);
            }
            if given("rules") {
                cli.rules.extend(o.rules.iter().cloned());
            }
        }
        cli.dashboard_flags = DASHBOARD_ONLY
            .iter()
            .filter(|(id, _)| matches.value_source(id) == Some(ValueSource::CommandLine))
            .map(|&(_, flag)| flag)
            .collect();
        Ok(cli)
    }

    /// Parses `args` like the program's command line (for tests).
    pub fn try_parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::from_matches(&Self::command().try_get_matches_from(args)?)
    }

    /// `--scrape-interval` / `PROMDASH_SCRAPE_INTERVAL`, read only when the dashboard runs.
    pub fn scrape_interval(&self) -> Result<Option<Duration>, String> {
        dashboard_duration(
            "--scrape-interval",
            "PROMDASH_SCRAPE_INTERVAL",
            self.scrape_interval.as_deref(),
        )
    }

    /// `--evaluation-interval` / `PROMDASH_EVALUATION_INTERVAL`, read only when the
    /// dashboard runs.
    pub fn evaluation_interval(&self) -> Result<Option<Duration>, String> {
        dashboard_duration(
            "--evaluation-interval",
            "PROMDASH_EVALUATION_INTERVAL",
            self.evaluation_interval.as_deref(),
        )
    }

    /// `--scrape-interval-hint` / `PROMDASH_SCRAPE_INTERVAL_HINT`, read only when the
    /// dashboard runs.
    pub fn scrape_interval_hint(&self) -> Result<Option<Duration>, String> {
        dashboard_duration(
            "--scrape-interval-hint",
            "PROMDASH_SCRAPE_INTERVAL_HINT",
            self.scrape_interval_hint.as_deref(),
        )
    }

    /// `--retention` / `PROMDASH_RETENTION`, read only when the dashboard runs.
    pub fn retention(&self) -> Result<Option<Duration>, String> {
        dashboard_duration(
            "--retention",
            "PROMDASH_RETENTION",
            self.retention.as_deref(),
        )
    }

    /// `--refresh` / `PROMDASH_RANGE`, read only when the dashboard runs.
    pub fn refresh(&self) -> Result<Option<Duration>, String> {
        dashboard_duration("--refresh", "PROMDASH_REFRESH", self.refresh.as_deref())
    }

    /// `--range` / `PROMDASH_RANGE`, read only when the dashboard runs.
    pub fn range(&self) -> Result<Option<Duration>, String> {
        dashboard_duration("--range", "PROMDASH_RANGE", self.range.as_deref())
    }
}

fn dashboard_duration(
    flag: &str,
    env: &str,
    value: Option<&str>,
) -> Result<Option<Duration>, String> {
    value
        .map(|v| parse_duration(v).map_err(|e| format!("{flag} (or {env}) {v:?}: {e}")))
        .transpose()
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

/// `--external-label name=value`: a label name as Prometheus allows one.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    let Some((name, value)) = s.split_once('=') else {
        return Err(format!("{s:?} is not NAME=VALUE"));
    };
    if !crate::alertmanager::is_label_name(name) {
        return Err(format!(
            "{name:?} is not a label name (letters, digits and _, not starting with a digit)"
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try it out: start the reference service under load, scrape it with the embedded
    /// engine (or a real Prometheus with --prometheus) and open the dashboard on it.
    /// Nothing to install. Press `f` to toggle a latency fault.
    Demo(DemoArgs),
    #[command(flatten)]
    Headless(Box<crate::headless::HeadlessCommand>),
    /// Internal: how `demo` starts Prometheus. Asks the kernel to SIGKILL this process
    /// when the process `PARENT` ends (however it ends, SIGKILL included), then becomes
    /// PROGRAM (exec). Not meant to be typed.
    #[command(name = "__exec-child", hide = true)]
    ExecChild {
        /// The process id this one must not outlive.
        parent: u32,
        /// The program to become.
        program: PathBuf,
        /// Its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run a real Prometheus (a child process) to scrape the service and answer the
    /// dashboard, instead of the embedded engine.
    #[arg(long)]
    pub prometheus: bool,

    /// With --prometheus: the Prometheus binary [default: `prometheus` on PATH].
    #[arg(long, env = "PROMDASH_PROMETHEUS_BIN", value_name = "PATH")]
    pub prometheus_bin: Option<PathBuf>,

    /// Requests per second sent to the service by the built-in load generator.
    #[arg(long, env = "PROMDASH_DEMO_RPS", default_value_t = 50.0)]
    pub rps: f64,

    /// Latency of the service while the fault is on (`f`), e.g. 800ms.
    #[arg(long, env = "PROMDASH_DEMO_FAULT_LATENCY", value_parser = parse_duration, default_value = "800ms")]
    pub fault_latency: Duration,

    /// The dashboard's options, also accepted after `demo`.
    #[command(flatten)]
    pub dashboard_options: DashboardOptions,
}

/// The dashboard's own options as `demo` takes them (the same as the top level's).
#[derive(Debug, Clone, Default, Args)]
pub struct DashboardOptions {
    /// Dashboard file (TOML); the built-in reference-service dashboard when omitted.
    #[arg(long, short = 'd', value_name = "FILE")]
    pub dashboard: Option<PathBuf>,

    /// How often queries run (overrides the dashboard file), e.g. 5s.
    #[arg(long, value_name = "DURATION")]
    pub refresh: Option<String>,

    /// Time window shown by graphs (overrides the dashboard file), e.g. 15m, 1h.
    #[arg(long, value_name = "DURATION")]
    pub range: Option<String>,

    /// Value of a dashboard variable, NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Do not ring the terminal bell when an alert starts firing.
    #[arg(long)]
    pub no_bell: bool,

    /// Log file.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Prometheus rule file (a path or a glob) evaluated while the demo runs (repeatable).
    #[arg(long = "rules", value_name = "FILE|GLOB")]
    pub rules: Vec<String>,
}

/// A size in bytes: a plain number, or with a unit (`kB`, `MB`, `GB` powers of 1000;
/// `KiB`, `MiB`, `GiB` powers of 1024), e.g. `256MiB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit {other:?} (expected a size such as 256MiB, 1GiB or 500MB)"
            ));
        }
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size (expected e.g. 256MiB, 1GiB or 500MB)"))?;
    let bytes = n * factor as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("{s:?}: a size must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::parse_header;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(
            parse_size("12 parsecs")
                .expect_err("a bad unit")
                .contains("unknown unit")
        );
        assert!(
            parse_size("MiB")
                .expect_err("no number")
                .contains("not a size")
        );
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
        let cli = Cli::try_parse_args([
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
            cli.as_ref().is_ok_and(|c| c.connection.headers.len() == 2
                && c.refresh() == Ok(Some(Duration::from_secs(1)))
                && c.dashboard_flags == ["--refresh"]),
            "{cli:?}"
        );
    }

    #[test]
    fn dashboard_options_are_read_only_by_the_dashboard() {
        // Not accepted after a headless subcommand.
        let e = Cli::try_parse_args(["promdash", "completions", "bash", "--range", "5m"])
            .expect_err("--range is not an option of completions");
        assert!(e.to_string().contains("--range"), "{e}");
        // Written before it: parsed, noted, and not validated until the dashboard runs.
        let cli = Cli::try_parse_args(["promdash", "--range", "soon", "completions", "bash"])
            .expect("parses");
        assert_eq!(cli.dashboard_flags, ["--range"]);
        let e = cli.range().expect_err("not a duration");
        assert!(e.contains("--range") && e.contains("\"soon\""), "{e}");
    }

    #[test]
    fn the_demo_takes_the_dashboard_options_after_it() {
        let cli = Cli::try_parse_args(["promdash", "--range", "1h", "demo", "--range", "5m"])
            .expect("parses");
        assert_eq!(cli.range().ok().flatten(), Some(Duration::from_secs(300)));
        let cli = Cli::try_parse_args(["promdash", "--range", "1h", "demo"]).expect("parses");
        assert_eq!(cli.range().ok().flatten(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn every_connection_option_is_global() {
        let cmd = Cli::command();
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            let dashboard_only = DASHBOARD_ONLY.iter().any(|(d, _)| *d == id);
            if !dashboard_only && !matches!(id, "help" | "version") {
                assert!(arg.is_global_set(), "--{id} is not global");
            }
        }
    }

    #[test]
    fn connection_options_are_one_option_before_and_after_the_subcommand() {
        for args in [
            ["promdash", "--url", "http://b:1", "query", "up"],
            ["promdash", "query", "--url", "http://b:1", "up"],
        ] {
            let cli = Cli::try_parse_args(args).expect("parses");
            assert_eq!(
                cli.connection.url.as_deref(),
                Some("http://b:1"),
                "{args:?}"
            );
        }
    }
}
