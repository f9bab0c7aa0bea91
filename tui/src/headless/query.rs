//! `promdash query`: one instant or range query, printed as a table, JSON or CSV.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use promdash_queries::client::PromClient;
use promdash_queries::model::QueryResult;
use promdash_queries::step::range_step;

use super::conn::parse_duration;
use super::output::{Format, write_result};
use super::time::{now, parse_time};
use super::{Outcome, fail};

/// Chart width (cells) the default step of a range query is chosen for: about 200 points.
pub const DEFAULT_STEP_WIDTH: u16 = 100;

/// `promdash query EXPR [--time T | --range R [--step S]] [--output table|json|csv]`
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The PromQL expression, e.g. 'sum by (route) (rate(app_request_count_total[1m]))'.
    #[arg(value_name = "EXPR")]
    pub expr: String,

    /// Evaluation time of an instant query, or the end of a range query: `now`, Unix
    /// seconds or RFC 3339 [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub time: Option<f64>,

    /// Run a range query over this much time before --time, e.g. 15m.
    #[arg(id = "query_range", long = "range", value_name = "DURATION", value_parser = parse_duration)]
    pub range: Option<Duration>,

    /// Resolution of a range query, e.g. 15s [default: the range over about 200 points,
    /// rounded up to 1s, 2s, 5s, 10s, 15s, 30s, 1m, ...].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "query_range")]
    pub step: Option<Duration>,

    /// How to print the result.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub output: Format,

    /// Dashboard file whose `[connection]` table is used, as the dashboard and `check`
    /// would use it (the command line and environment still win).
    #[arg(long, short = 'd', env = "PROMDASH_DASHBOARD", value_name = "FILE")]
    pub dashboard: Option<std::path::PathBuf>,
}

/// Runs the query and prints the result to `out`; warnings from the server go to `err`.
/// Exit status: 0 on success, 2 when the query is rejected or the server unreachable.
pub async fn run_query(
    client: &PromClient,
    args: &QueryArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let at = args.time.unwrap_or_else(now);
    let answer = match args.range {
        None => client.query(&args.expr, Some(at)).await,
        Some(range) => {
            let (start, end, step) = match args.step {
                Some(step) => (at - range.as_secs_f64(), at, step),
                None => {
                    let w = range_step(range, DEFAULT_STEP_WIDTH, at);
                    (w.start, w.end, w.step)
                }
            };
            if step.is_zero() {
                return fail(err, "--step must be longer than 0s");
            }
            client.query_range(&args.expr, start, end, step).await
        }
    };
    let result: QueryResult = match answer {
        Ok(r) => r,
        Err(e) => return fail(err, &format!("query {:?} failed: {e}", args.expr)),
    };
    for w in &result.notes.warnings {
        writeln!(err, "promdash: warning from the server: {w}")?;
    }
    for i in &result.notes.infos {
        writeln!(err, "promdash: note from the server: {i}")?;
    }
    if result.notes.is_partial {
        writeln!(
            err,
            "promdash: warning: the answer is partial (some storage nodes did not answer)"
        )?;
    }
    write_result(out, &result, args.output)?;
    out.flush()?;
    Ok(Outcome::Ok)
}
