//! `promdash test promql FILE.test…`: Prometheus's promqltest files on the embedded
//! engine (see `promdash_engine::promqltest`).
//!
//! Prints each failing case as `FILE:LINE: FAILED <eval line>` with the reason and a
//! diff of the expected and the actual result (`-` expected only, `+` got only), each
//! unsupported case on one line, and ends with exactly one line
//! `N passed, M failed, K unsupported`. Exit 0 when nothing failed, 1 when a case failed,
//! 2 when a file cannot be read. `--output json` prints every case as one JSON object.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use promdash_engine::Compat;
use promdash_engine::promqltest::{self, CaseResult, Outcome as CaseOutcome, RunOptions, Totals};
use serde_json::json;

use super::{Outcome, fail};

/// `promdash test …`.
#[derive(Debug, Clone, Subcommand)]
pub enum TestCommand {
    /// Run promqltest files (Prometheus's `load` / `eval` format) on the embedded engine.
    ///
    /// Exit 0 when every case passed (or is unsupported), 1 when any failed, 2 when a
    /// file cannot be read.
    Promql(PromqlTestArgs),
    /// Run Prometheus rule unit tests (`promtool test rules` files) on the embedded engine,
    /// answering as Prometheus 2.42's promtool does.
    ///
    /// Exit 0 when every file passed, 1 when any failed.
    Rules(RulesTestArgs),
}

/// `promdash test rules FILE…`.
#[derive(Debug, Clone, Args)]
pub struct RulesTestArgs {
    /// The unit-test files (YAML: `rule_files`, `evaluation_interval`, `tests`…).
    #[arg(required = true, value_name = "FILE.yml")]
    pub files: Vec<PathBuf>,
}

/// Runs `promdash test rules`: for each file `Unit Testing:  FILE`, then `  SUCCESS` or
/// `  FAILED:` and each failure, with promtool's wording and streams.
pub fn run_rules_test(
    args: &RulesTestArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let mut failed = false;
    for f in &args.files {
        writeln!(out, "Unit Testing:  {}", f.display())?;
        out.flush()?;
        let outcome = promdash_engine::ruletest::run_file(f);
        for w in &outcome.warnings {
            writeln!(err, "{}", promdash_queries::text::escape_lines(w))?;
        }
        if outcome.errors.is_empty() {
            writeln!(out, "  SUCCESS")?;
        } else {
            failed = true;
            writeln!(err, "  FAILED:")?;
            for e in &outcome.errors {
                writeln!(err, "{}", promdash_queries::text::escape_lines(e))?;
                writeln!(out)?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(if failed {
        Outcome::TestsFailed
    } else {
        Outcome::Ok
    })
}

/// How `promdash test promql` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TestOutput {
    /// Failing cases with a diff, unsupported ones in a line, then the totals.
    #[default]
    Text,
    /// One JSON object: every case with its outcome, and the totals.
    Json,
}

/// Which Prometheus the engine answers like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CompatArg {
    /// Prometheus 2.x (closed range windows, the older `rate` extrapolation).
    #[value(name = "2")]
    V2,
    /// Prometheus 3.x.
    #[default]
    #[value(name = "3")]
    V3,
}

#[derive(Debug, Clone, Args)]
pub struct PromqlTestArgs {
    /// The test files.
    #[arg(required = true, value_name = "FILE.test")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = TestOutput::Text)]
    pub output: TestOutput,

    /// Answer as Prometheus 2.x or 3.x does.
    #[arg(long, value_enum, env = "PROMDASH_PROMQL_COMPAT", default_value_t = CompatArg::V3)]
    pub promql_compat: CompatArg,

    /// How far back an instant selector looks for a sample.
    #[arg(long, value_parser = crate::connection::parse_duration, default_value = "5m")]
    pub lookback_delta: Duration,
}

/// Runs `promdash test …`.
pub fn run_test(
    cmd: &TestCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let args = match cmd {
        TestCommand::Promql(args) => args,
        TestCommand::Rules(args) => return run_rules_test(args, out, err),
    };
    let options = RunOptions {
        compat: match args.promql_compat {
            CompatArg::V2 => Compat::V2,
            CompatArg::V3 => Compat::V3,
        },
        lookback: args.lookback_delta,
    };
    let mut files = Vec::new();
    for path in &args.files {
        match std::fs::read_to_string(path) {
            Ok(text) => files.push((path.display().to_string(), promqltest::run(&text, &options))),
            Err(e) => return fail(err, &format!("cannot read {}: {e}", path.display())),
        }
    }
    let mut totals = Totals::default();
    for (_, cases) in &files {
        for c in cases {
            totals.add(&c.outcome);
        }
    }
    match args.output {
        TestOutput::Text => print_text(&files, &totals, out)?,
        TestOutput::Json => print_json(&files, &totals, out)?,
    }
    out.flush()?;
    Ok(if totals.failed > 0 {
        Outcome::TestsFailed
    } else {
        Outcome::Ok
    })
}

fn print_text(
    files: &[(String, Vec<CaseResult>)],
    totals: &Totals,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (file, cases) in files {
        for c in cases {
            match &c.outcome {
                CaseOutcome::Passed => {}
                CaseOutcome::Unsupported(why) => {
                    writeln!(out, "{file}:{}: unsupported: {}: {why}", c.line, c.command)?;
                }
                CaseOutcome::Failed {
                    message,
                    expected,
                    got,
                } => {
                    if c.command.is_empty() {
                        writeln!(out, "{file}:{}: FAILED: {message}", c.line)?;
                        continue;
                    }
                    writeln!(out, "{file}:{}: FAILED {}", c.line, c.command)?;
                    writeln!(out, "    {message}")?;
                    if let (Some(e), Some(g)) = (expected, got) {
                        writeln!(out, "    --- expected\n    +++ got")?;
                        for line in promqltest::diff(e, g).lines() {
                            writeln!(out, "    {line}")?;
                        }
                    }
                }
            }
        }
    }
    writeln!(out, "{totals}")
}

fn print_json(
    files: &[(String, Vec<CaseResult>)],
    totals: &Totals,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut cases = Vec::new();
    for (file, results) in files {
        for c in results {
            let mut case = json!({
                "file": file,
                "line": c.line,
                "command": c.command,
                "expr": c.expr,
            });
            match &c.outcome {
                CaseOutcome::Passed => case["outcome"] = json!("passed"),
                CaseOutcome::Unsupported(why) => {
                    case["outcome"] = json!("unsupported");
                    case["message"] = json!(why);
                }
                CaseOutcome::Failed {
                    message,
                    expected,
                    got,
                } => {
                    case["outcome"] = json!("failed");
                    case["message"] = json!(message);
                    case["expected"] = json!(expected);
                    case["got"] = json!(got);
                }
            }
            cases.push(case);
        }
    }
    let doc = json!({
        "cases": cases,
        "passed": totals.passed,
        "failed": totals.failed,
        "unsupported": totals.unsupported,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}
