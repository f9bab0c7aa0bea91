//! `promdash query`: one instant or range query, printed as a table, JSON or CSV.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use promdash_queries::backend::Backend;
use promdash_queries::client::PromClient;
use promdash_queries::model::QueryResult;
use promdash_queries::step::range_step;

use super::conn::parse_duration;
use super::output::{Format, JsonNumbers, write_result_as};
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
    // A range query's start, to explain an empty answer.
    let mut range_start = None;
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
            range_start = Some(start);
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
    if let Some(start) = range_start
        && result.point_count() == 0
        && let Some(why) = hidden_window_note(client, start).await
    {
        writeln!(err, "promdash: note: {why}")?;
    }
    // JSON values as the server writes them: VictoriaMetrics never uses an exponent.
    let numbers = if args.output == Format::Json
        && client
            .buildinfo()
            .await
            .is_ok_and(|b| Backend::from_buildinfo(&b).is_victoria_metrics())
    {
        JsonNumbers::Plain
    } else {
        JsonNumbers::Prometheus
    };
    write_result_as(out, &result, args.output, numbers)?;
    out.flush()?;
    Ok(Outcome::Ok)
}

/// Why an empty range answer starting at `start` may be empty: the whole window lies in
/// the newest data VictoriaMetrics hides from range queries. `None` on other servers
/// or windows (asks the server's buildinfo, only after an empty answer).
async fn hidden_window_note(client: &PromClient, start: f64) -> Option<String> {
    let backend = client.detect_backend().await;
    let hidden = backend.hidden_window();
    if hidden.is_zero() || start < now() - hidden.as_secs_f64() {
        return None;
    }
    Some(format!(
        "the answer is empty because {backend} hides its newest {} from range queries \
         (-search.latencyOffset) and the whole window lies inside them: end it earlier \
         with --time, or widen --range",
        humantime::format_duration(hidden)
    ))
}
