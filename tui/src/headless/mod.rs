//! Headless commands: the dashboard's queries and alert rules for scripts, cron and CI.
//!
//! - `promdash query EXPR [--time T | --range R [--step S] | --start S [--end E]]
//!   [--output table|json|csv] [--data FILE.om]`
//! - `promdash check [--dashboard FILE] [--instant]`: exit 0 none firing, 1 firing, 2 error
//! - `promdash validate FILE [--url URL]`: exit 0 valid (and accepted), 2 otherwise
//! - `promdash import grafana FILE.json [-o FILE.toml]`: convert a Grafana dashboard
//! - `promdash snapshot --format svg|png|csv|json|txt|ansi [--panel TITLE]…`: pictures,
//!   data or text of the dashboard, once
//! - `promdash validate --rules FILE|GLOB…`: Prometheus rule files, as `promtool check rules`
//! - `promdash test promql FILE.test…`: promqltest files on the embedded engine
//! - `promdash record --scrape URL… [--duration D] --out FILE.om`: scrape, then write
//!   OpenMetrics
//! - `promdash print-default-dashboard`
//! - `promdash completions <SHELL>`
//!
//! [`HeadlessCommand`] is meant to be flattened into the program's subcommands
//! (`#[command(flatten)]`) and handed to [`main`]. Every command that talks to a server
//! takes the same [`ConnectionArgs`]; the ones given before the subcommand are passed to
//! [`main`] as the fallback. Nothing here touches the terminal beyond stdout and stderr.

pub mod check;
pub mod check_rules;
pub mod import;
pub use crate::connection as conn;
pub mod output;
pub mod promqltest;
pub mod query;
pub mod record;
pub mod snapshot;
pub mod time;
pub mod validate;

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use promdash_queries::client::PromClient;
use promdash_queries::dashboard::{DEFAULT_DASHBOARD_TOML, default_dashboard};

pub use check::{CheckArgs, run_check};
pub use conn::ConnectionArgs;
pub use output::Format;
pub use query::{QueryArgs, run_query};
pub use validate::{ValidateArgs, run_validate};

/// The headless subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum HeadlessCommand {
    /// Run one PromQL query (instant, or range with --range) and print the result as a
    /// table, JSON or CSV. Exit 2 when the query is rejected or the server unreachable.
    Query(QueryArgs),
    /// Evaluate the dashboard's alert rules now (honouring `for` and `keep_firing_for`
    /// unless --instant). Exit 0 when none fire, 1 when any fires, 2 on an error.
    Check(CheckArgs),
    /// Check a dashboard file (errors as file:line:col); with --url also run each of its
    /// queries once. Exit 0 when all is well, 2 otherwise.
    Validate(ValidateArgs),
    /// Convert a dashboard of another tool: `promdash import grafana FILE.json [-o FILE.toml]`.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Render the dashboard (or --panel TITLE…) once, without a terminal: pictures (svg,
    /// png), data (csv, json) or the terminal rendering (txt, ansi), written to --out.
    /// Exit 0 when written, 2 when the server cannot be queried; a panel whose query
    /// fails is drawn with its error.
    Snapshot(snapshot::SnapshotArgs),
    /// Run test files on the embedded engine: `promdash test promql FILE.test…`.
    #[command(subcommand)]
    Test(promqltest::TestCommand),
    /// Scrape targets with the embedded engine for a while, then write the samples as
    /// OpenMetrics text (for `promdash --data FILE.om` or promtool's backfill). Exit 0
    /// when written, 2 on an error or when no target ever answered.
    Record(record::RecordArgs),
    /// Print the built-in dashboard (TOML), to start a dashboard file of your own.
    PrintDefaultDashboard,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// E.g. `promdash completions bash > ~/.local/share/bash-completion/completions/promdash`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::aot::Shell,
    },
}

impl HeadlessCommand {
    /// The subcommand as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Query(_) => "query",
            Self::Check(_) => "check",
            Self::Validate(_) => "validate",
            Self::Import(_) => "import",
            Self::Snapshot(_) => "snapshot",
            Self::Test(_) => "test",
            Self::Record(_) => "record",
            Self::PrintDefaultDashboard => "print-default-dashboard",
            Self::Completions { .. } => "completions",
        }
    }
}

/// How `check` and `validate` report: for people or for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Report {
    /// Lines of text.
    #[default]
    Text,
    /// One JSON document on standard output.
    Json,
}

/// `n` and the word for it, singular or plural: `1 panel`, `2 panels`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How a headless command ended; [`Outcome::exit_code`] maps it to the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// `check` found a firing alert: exit 1.
    Firing,
    /// An error the user has to look at (message already printed): exit 2.
    Failed,
    /// `test` ran and a case failed: exit 1.
    TestsFailed,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Firing | Self::TestsFailed => 1,
            Self::Failed => 2,
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

/// Prints `promdash: {msg}` to `err` (control characters escaped: messages quote
/// servers and files) and returns [`Outcome::Failed`].
pub(crate) fn fail(err: &mut dyn Write, msg: &str) -> anyhow::Result<Outcome> {
    writeln!(
        err,
        "promdash: {}",
        promdash_queries::text::escape_lines(msg)
    )?;
    Ok(Outcome::Failed)
}

/// Runs `cmd` to completion on a small runtime of its own, printing to stdout/stderr.
/// `conn` holds the connection options (command line, environment, user settings);
/// `cli` builds the whole command line (for `completions`).
pub fn main(
    cmd: HeadlessCommand,
    conn: &ConnectionArgs,
    cli: impl FnOnce() -> clap::Command,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("promdash: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let result = runtime.block_on(run(cmd, conn, cli, &mut stdout.lock(), &mut stderr.lock()));
    match result {
        Ok(outcome) => outcome.exit_code(),
        // Writing failed (e.g. stdout closed by `| head`): nothing more to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("promdash: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs `cmd`, writing results to `out` and messages to `err`.
pub async fn run(
    cmd: HeadlessCommand,
    conn: &ConnectionArgs,
    cli: impl FnOnce() -> clap::Command,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    match cmd {
        HeadlessCommand::Query(args) => {
            if let Some(path) = &args.data.data {
                let recording = match crate::embedded::load_recording(path, args.data.promql_compat)
                {
                    Ok(r) => r,
                    Err(e) => return fail(err, &e),
                };
                return query::run_query_at(&recording.source, &args, recording.end, out, err)
                    .await;
            }
            let file = match &args.dashboard {
                None => None,
                Some(path) => match validate::check_file(path, err)? {
                    Some(d) => d.connection,
                    None => return Ok(Outcome::Failed),
                },
            };
            let Some(client) = client(conn, file.as_ref(), err)? else {
                return Ok(Outcome::Failed);
            };
            run_query(&client, &args, out, err).await
        }
        HeadlessCommand::Import(cmd) => import::run_import(&cmd, out, err),
        HeadlessCommand::Check(args) if !args.rules.is_empty() => {
            let Some(client) = client(conn, None, err)? else {
                return Ok(Outcome::Failed);
            };
            check_rules::run_rules_check(&client, &args, out, err).await
        }
        HeadlessCommand::Check(args) => {
            let mut dashboard = match &args.dashboard {
                None => default_dashboard(),
                Some(path) => match validate::check_file(path, err)? {
                    Some(d) => d,
                    None => return Ok(Outcome::Failed),
                },
            };
            // Variables in alert expressions take their defaults (All for multi/all).
            let exprs: Vec<String> = dashboard
                .alerts
                .iter()
                .map(|a| validate::substitute(&a.expr, &dashboard).0)
                .collect();
            for (rule, expr) in dashboard.alerts.iter_mut().zip(exprs) {
                rule.expr = expr;
            }
            let Some(client) = client(conn, dashboard.connection.as_ref(), err)? else {
                return Ok(Outcome::Failed);
            };
            run_check(&client, &dashboard, &args, out, err).await
        }
        HeadlessCommand::Validate(args) => {
            // What each dashboard's `[connection]` would change, or why it is refused.
            for file in &args.files {
                if let Ok(d) = promdash_queries::dashboard::load_dashboard(file)
                    && let Some(c) = d.connection.as_ref()
                {
                    let name = file.display();
                    match conn.client_config_with_notes(Some(c)) {
                        Ok((_, notes)) => {
                            // Not into the JSON document.
                            let to: &mut dyn Write = if args.output == Report::Json {
                                &mut *err
                            } else {
                                &mut *out
                            };
                            for note in notes {
                                let note =
                                    promdash_queries::text::escape_control(&note).into_owned();
                                writeln!(to, "{name}: connection: {note}")?;
                            }
                        }
                        Err(e) => return fail(err, &format!("{name}: {e}")),
                    }
                }
            }
            let client = match conn.url {
                None => None,
                Some(_) => match client(conn, None, err)? {
                    Some(c) => Some(c),
                    None => return Ok(Outcome::Failed),
                },
            };
            run_validate(client.as_ref(), &args, out, err).await
        }
        HeadlessCommand::Snapshot(args) => {
            let dashboard = match &args.dashboard {
                None => default_dashboard(),
                Some(path) => match validate::check_file(path, err)? {
                    Some(d) => d,
                    None => return Ok(Outcome::Failed),
                },
            };
            // The source: a recording (--data), or the server of --url.
            if let Some(path) = &args.data.data {
                let recording = match crate::embedded::load_recording(path, args.data.promql_compat)
                {
                    Ok(r) => r,
                    Err(e) => return fail(err, &e),
                };
                let mut args = args.clone();
                // "Now" is the newest sample of the file.
                args.time = Some(args.time.unwrap_or(recording.end));
                let server = format!("recording {}", path.display());
                let source = std::sync::Arc::new(recording.source);
                return snapshot::run_snapshot(source, &server, dashboard, &args, out, err).await;
            }
            let Some(client) = client(conn, dashboard.connection.as_ref(), err)? else {
                return Ok(Outcome::Failed);
            };
            let server = client.redacted_url().to_owned();
            let source = std::sync::Arc::new(client);
            snapshot::run_snapshot(source, &server, dashboard, &args, out, err).await
        }
        HeadlessCommand::Test(cmd) => promqltest::run_test(&cmd, out, err),
        HeadlessCommand::Record(args) => record::run_record(&args, err).await,
        HeadlessCommand::PrintDefaultDashboard => {
            out.write_all(DEFAULT_DASHBOARD_TOML.as_bytes())?;
            out.flush()?;
            Ok(Outcome::Ok)
        }
        HeadlessCommand::Completions { shell } => {
            let mut cmd = cli();
            let name = cmd.get_name().to_owned();
            // Into memory first: clap_complete panics when its writer fails (`| head`).
            let mut script = Vec::new();
            clap_complete::aot::generate(shell, &mut cmd, name, &mut script);
            out.write_all(&script)?;
            out.flush()?;
            Ok(Outcome::Ok)
        }
    }
}

/// The client for these settings, or `None` after printing why there is none.
fn client(
    conn: &ConnectionArgs,
    file: Option<&promdash_queries::dashboard::Connection>,
    err: &mut dyn Write,
) -> anyhow::Result<Option<PromClient>> {
    let config = match conn.client_config_with_notes(file) {
        Ok((c, notes)) => {
            // What the dashboard changes about the connection, before the first request.
            for note in notes {
                writeln!(
                    err,
                    "promdash: note: {}",
                    promdash_queries::text::escape_control(&note)
                )?;
            }
            c
        }
        Err(e) => {
            fail(err, &e)?;
            return Ok(None);
        }
    };
    match PromClient::new(config) {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            fail(err, &e.to_string())?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// A stand-in for the program's command line, shaped like `cli::Cli`.
    #[derive(Debug, Parser)]
    #[command(name = "promdash")]
    struct TestCli {
        #[command(flatten)]
        connection: ConnectionArgs,
        /// Like the dashboard's `--range`: top level only.
        #[arg(long, env = "PROMDASH_TEST_RANGE")]
        range: Option<String>,
        #[command(subcommand)]
        command: Option<HeadlessCommand>,
    }

    fn parse(args: &[&str]) -> Result<TestCli, String> {
        TestCli::try_parse_from(args).map_err(|e| e.to_string())
    }

    #[test]
    fn the_command_line_is_consistent() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn query_options_parse() {
        let cli = parse(&[
            "promdash",
            "query",
            "up",
            "--range",
            "5m",
            "--step",
            "15s",
            "-o",
            "csv",
            "--time",
            "1700000000",
            "--url",
            "http://h:1",
            "-d",
            "d.toml",
        ])
        .expect("parses");
        assert_eq!(cli.connection.url.as_deref(), Some("http://h:1"));
        let Some(HeadlessCommand::Query(q)) = cli.command else {
            panic!("not a query: {cli:?}");
        };
        assert_eq!(q.expr, "up");
        assert_eq!(q.range, Some(std::time::Duration::from_secs(300)));
        assert_eq!(q.step, Some(std::time::Duration::from_secs(15)));
        assert_eq!(q.output, Format::Csv);
        assert_eq!(q.time, Some(1_700_000_000.0));
        assert_eq!(q.dashboard.as_deref(), Some(std::path::Path::new("d.toml")));
        // The dashboard's --range before the subcommand is not the query's.
        let cli = parse(&["promdash", "--range", "5m", "query", "up"]).expect("parses");
        assert_eq!(cli.range.as_deref(), Some("5m"));
        let Some(HeadlessCommand::Query(q)) = cli.command else {
            panic!("not a query: {cli:?}");
        };
        assert_eq!(q.range, None);
        let e = parse(&["promdash", "query", "up", "--step", "15s"]).expect_err("needs --range");
        assert!(e.contains("--range"), "{e}");
        let e = parse(&["promdash", "query", "up", "--time", "noon"]).expect_err("bad time");
        assert!(e.contains("RFC 3339"), "{e}");
    }

    #[test]
    fn validate_takes_several_files_and_json() {
        let cli =
            parse(&["promdash", "validate", "a.toml", "b.toml", "-o", "json"]).expect("parses");
        let Some(HeadlessCommand::Validate(v)) = cli.command else {
            panic!("not validate");
        };
        assert_eq!(v.files.len(), 2);
        assert_eq!(v.output, Report::Json);
        assert!(
            parse(&["promdash", "validate"]).is_err(),
            "a file is required"
        );
    }

    #[test]
    fn plural_words() {
        assert_eq!(count(1, "panel", "panels"), "1 panel");
        assert_eq!(count(0, "query", "queries"), "0 queries");
        assert_eq!(count(2, "alert", "alerts"), "2 alerts");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(
            [Outcome::Ok, Outcome::Firing, Outcome::Failed].map(Outcome::code),
            [0, 1, 2]
        );
    }

    #[tokio::test]
    async fn completions_and_the_default_dashboard_print() {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let shell = clap_complete::aot::Shell::Bash;
        let cmd = HeadlessCommand::Completions { shell };
        let o = run(
            cmd,
            &ConnectionArgs::default(),
            TestCli::command,
            &mut out,
            &mut err,
        )
        .await
        .expect("runs");
        assert_eq!(o, Outcome::Ok);
        let script = String::from_utf8_lossy(&out);
        assert!(script.contains("promdash") && script.contains("print-default-dashboard"));

        out.clear();
        let cmd = HeadlessCommand::PrintDefaultDashboard;
        run(
            cmd,
            &ConnectionArgs::default(),
            TestCli::command,
            &mut out,
            &mut err,
        )
        .await
        .expect("runs");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(promdash_queries::parse_dashboard(&text, "printed").is_ok());
    }

    #[tokio::test]
    async fn validate_without_a_server_reports_line_and_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "title = \"x\"\nrefresh = \"soon\"\n").expect("write");
        let args = ValidateArgs {
            files: vec![path.clone()],
            rules: Vec::new(),
            output: Report::Text,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let o = run_validate(None, &args, &mut out, &mut err)
            .await
            .expect("runs");
        assert_eq!(o, Outcome::Failed);
        let msg = String::from_utf8(err).expect("utf-8");
        assert!(
            msg.starts_with(&format!("{}:2:11:", path.display())),
            "{msg}"
        );
    }
}
