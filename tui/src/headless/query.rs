//! `promdash query`: one instant or range query, printed as a table, JSON or CSV, from a
//! server or (`--data FILE.om`) from a recording on the embedded engine.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use promdash_queries::backend::Backend;
use promdash_queries::model::QueryResult;
use promdash_queries::source::{MetricsSource, RangeWindow};
use promdash_queries::step::range_step;

use super::conn::parse_duration;
use super::output::{Format, JsonNumbers, write_result_as};
use super::time::{now, parse_time};
use super::{Outcome, fail};

/// Chart width (cells) the default step of a range query is chosen for: about 200 points.
pub const DEFAULT_STEP_WIDTH: u16 = 100;

/// `promdash query EXPR [--time T | --range R [--step S] | --start S [--end E] [--step S]]
/// [--output table|json|csv] [--data FILE.om]`
#[derive(Debug, Clone, Default, Args)]
#[command(group(clap::ArgGroup::new("ranged").args(["query_range", "start"])))]
pub struct QueryArgs {
    /// The PromQL expression, e.g. 'sum by (route) (rate(app_request_count_total[1m]))'.
    #[arg(value_name = "EXPR")]
    pub expr: String,

    /// Evaluation time of an instant query, or the end of a range query: `now`, Unix
    /// seconds or RFC 3339 [default: now; with --data, the end of the recording].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub time: Option<f64>,

    /// Run a range query over this much time before --time, e.g. 15m.
    #[arg(id = "query_range", long = "range", value_name = "DURATION", value_parser = parse_duration)]
    pub range: Option<Duration>,

    /// Run a range query from this time (`now`, Unix seconds or RFC 3339) to --end.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub start: Option<f64>,

    /// The end of a range query from --start [default: now; with --data, the end of the
    /// recording].
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "start", conflicts_with = "time")]
    pub end: Option<f64>,

    /// Resolution of a range query, e.g. 15s [default: the range over about 200 points,
    /// rounded up to 1s, 2s, 5s, 10s, 15s, 30s, 1m, ...].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "ranged")]
    pub step: Option<Duration>,

    /// How to print the result.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub output: Format,

    /// Dashboard file whose `[connection]` table is used, as the dashboard and `check`
    /// would use it (the command line and environment still win).
    #[arg(long, short = 'd', env = "PROMDASH_DASHBOARD", value_name = "FILE")]
    pub dashboard: Option<std::path::PathBuf>,

    /// Where the numbers come from instead of a server.
    #[command(flatten)]
    pub data: DataArgs,
}

/// A recording to answer from on the embedded engine, instead of a server.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// Answer from a recording (OpenMetrics text with a timestamp on every sample, as
    /// `promdash record` writes it) on the embedded engine; no server is asked. "Now" is
    /// then the newest sample of the file.
    #[arg(long, value_name = "FILE.om")]
    pub data: Option<std::path::PathBuf>,

    /// With --data: answer as Prometheus 2.x or 3.x does [default: 3].
    #[arg(long, value_enum, env = "PROMDASH_PROMQL_COMPAT", value_name = "2|3")]
    pub promql_compat: Option<super::promqltest::CompatArg>,
}

/// Runs the query and prints the result to `out`; warnings from the server go to `err`.
/// Exit status: 0 on success, 2 when the query is rejected or the server unreachable.
pub async fn run_query<S: MetricsSource>(
    source: &S,
    args: &QueryArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    run_query_at(source, args, now(), out, err).await
}

/// [`run_query`] with `now` as the time when neither --time nor --end says (the end of
/// a recording, for `--data`).
pub async fn run_query_at<S: MetricsSource>(
    source: &S,
    args: &QueryArgs,
    now: f64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let at = args.time.or(args.end).unwrap_or(now);
    // A range query's start, to explain an empty answer.
    let mut range_start = None;
    let range = match (args.range, args.start) {
        (Some(range), _) => Some(range),
        (None, Some(start)) if start > at => {
            return fail(
                err,
                &format!("--start ({start}) is after the end of the range ({at})"),
            );
        }
        (None, Some(start)) => Some(Duration::from_secs_f64(at - start)),
        (None, None) => None,
    };
    let answer = match range {
        None => source.instant(&args.expr, Some(at)).await,
        Some(range) => {
            let (start, end, step) = match (args.step, args.start) {
                (Some(step), _) => (args.start.unwrap_or(at - range.as_secs_f64()), at, step),
                (None, Some(start)) => {
                    let w = range_step(range, DEFAULT_STEP_WIDTH, at);
                    (start, at, w.step)
                }
                (None, None) => {
                    let w = range_step(range, DEFAULT_STEP_WIDTH, at);
                    (w.start, w.end, w.step)
                }
            };
            if step.is_zero() {
                return fail(err, "--step must be longer than 0s");
            }
            range_start = Some(start);
            let window = RangeWindow { start, end, step };
            source.range(&args.expr, window).await
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
    let backend =
        if range_start.is_some_and(|_| result.point_count() == 0) || args.output == Format::Json {
            source.backend().await
        } else {
            Backend::Unknown
        };
    if let Some(start) = range_start
        && result.point_count() == 0
        && let Some(why) = hidden_window_note(&backend, start)
    {
        writeln!(err, "promdash: note: {why}")?;
    }
    // JSON values as the server writes them: VictoriaMetrics never uses an exponent.
    let numbers = if backend.is_victoria_metrics() {
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
/// or windows (the backend is only asked for after an empty answer or for JSON).
fn hidden_window_note(backend: &Backend, start: f64) -> Option<String> {
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
