//! `promdash snapshot`: the dashboard, or some of its panels, rendered once without a
//! terminal, as pictures (SVG, PNG), data (CSV, JSON) or the terminal rendering as text.
//!
//! The dashboard is filled exactly as the TUI fills it: a [`State`] paused at `--time`,
//! one refresh round through the same [`Fetcher`] and `update`, then the exporters of
//! [`crate::export`] read it. Any [`MetricsSource`] can answer, so the embedded and
//! replay sources plug in by handing theirs to [`run_snapshot`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use promdash_queries::dashboard::Dashboard;
use promdash_queries::source::MetricsSource;

use super::conn::parse_duration;
use super::time::{now, parse_time};
use super::{Outcome, fail};
use crate::app::{self, Effect, Options, Server, State};
use crate::export::{self, ExportFormat, PageSize, Target};
use crate::fetch::Fetcher;

/// `promdash snapshot --format svg|png|csv|json|txt|ansi [--panel TITLE]… [--out DIR]`
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// Dashboard file (TOML); the built-in reference-service dashboard when omitted.
    #[arg(long, short = 'd', env = "PROMDASH_DASHBOARD", value_name = "FILE")]
    pub dashboard: Option<PathBuf>,

    /// What to write (repeatable or a comma list): svg, png (pictures), csv, json (the
    /// data), txt, ansi (the terminal rendering).
    #[arg(long, short = 'f', value_enum, value_delimiter = ',', required = true)]
    pub format: Vec<ExportFormat>,

    /// Only this panel, by title (repeatable); one file per panel. Without it the whole
    /// dashboard is one picture (and one CSV per panel).
    #[arg(long = "panel", value_name = "TITLE")]
    pub panels: Vec<String>,

    /// Time window of graphs [default: the dashboard's range], e.g. 1h.
    #[arg(id = "snapshot_range", long = "range", value_name = "DURATION", value_parser = parse_duration)]
    pub range: Option<Duration>,

    /// End of the window and time of the instant values: `now`, Unix seconds or RFC
    /// 3339 [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub time: Option<f64>,

    /// Directory the files go to (created if missing); `-` writes the one file to
    /// standard output instead. Names come from the dashboard and panel titles and the
    /// time; an existing file is never overwritten.
    #[arg(
        long,
        value_name = "DIR",
        env = "PROMDASH_EXPORT_DIR",
        default_value = "."
    )]
    pub out: PathBuf,

    /// Size of pictures in pixels [default: 1600x1000 for a dashboard, 1200x600 for a
    /// panel].
    #[arg(long, value_name = "WIDTHxHEIGHT", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,

    /// Size of the terminal the data is fetched for and the text drawn at.
    #[arg(long, value_name = "COLSxROWS", value_parser = parse_size, default_value = "160x50")]
    pub terminal: (u32, u32),

    /// Value of a dashboard variable, NAME=VALUE (repeatable).
    #[arg(id = "snapshot_vars", long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// A recording to render instead of a server (`--data FILE.om`).
    #[command(flatten)]
    pub data: super::query::DataArgs,
}

/// `1600x1000`.
fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?} is not WIDTHxHEIGHT (e.g. 1600x1000)");
    let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if !(16..=16_384).contains(&w) || !(16..=16_384).contains(&h) {
        return Err(format!("{s:?}: each side must be 16 to 16384"));
    }
    Ok((w, h))
}

/// Offset of local time from UTC, read before any thread is started; UTC when unknown.
fn local_offset() -> i32 {
    time::UtcOffset::current_local_offset().map_or(0, time::UtcOffset::whole_seconds)
}

/// Fills a dashboard state from `source` as the TUI would at `at` (paused there), with
/// the terminal `size`: one round of every query, variables resolved first.
pub async fn fill_state<S: MetricsSource>(
    source: Arc<S>,
    mut state: State,
    at: f64,
    size: (u16, u16),
) -> State {
    state.size = size;
    state.now = now().max(at);
    state.paused = true;
    state.end = Some(at);
    // The backend and the refresh clock matter only to a live dashboard.
    state.explore.backend_asked = true;
    state.next_refresh_at = f64::INFINITY;
    state.relayout();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let fetcher = Fetcher::new(source, tx);
    let mut pending = 0usize;
    let mut effects = state.refetch();
    loop {
        for e in effects.drain(..) {
            match e {
                Effect::Fetch(req) => {
                    fetcher.spawn(req);
                    pending += 1;
                }
                Effect::Explore(req) => {
                    fetcher.spawn_explore(req);
                    pending += 1;
                }
                _ => {}
            }
        }
        if pending == 0 {
            break;
        }
        // The fetcher holds a sender: the channel stays open while anything is out.
        let Some(msg) = rx.recv().await else { break };
        pending -= 1;
        effects = app::update(&mut state, msg);
    }
    state
}

/// Runs `promdash snapshot` against `source`; `server` is its name for footers and
/// messages (a URL without credentials). Exit 0 when the files are written, 2 when the
/// source cannot be queried or a file cannot be written.
pub async fn run_snapshot<S: MetricsSource>(
    source: Arc<S>,
    server: &str,
    dashboard: Dashboard,
    args: &SnapshotArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let utc_offset = local_offset();
    // Panels by title: exact first, then ignoring case.
    let mut targets = Vec::new();
    for want in &args.panels {
        let titles = || dashboard.panels.iter().map(|p| p.title.as_str());
        let found = titles()
            .position(|t| t == want)
            .or_else(|| titles().position(|t| t.eq_ignore_ascii_case(want)));
        match found {
            Some(i) => targets.push(Target::Panel(i)),
            None => {
                let all: Vec<String> = titles().map(|t| format!("{t:?}")).collect();
                return fail(
                    err,
                    &format!(
                        "--panel {want:?}: the dashboard has no panel of that title (it has: {})",
                        all.join(", ")
                    ),
                );
            }
        }
    }
    if targets.is_empty() {
        targets.push(Target::Dashboard);
    }
    let to_stdout = args.out.as_os_str() == "-";
    let opts = Options {
        url: server.to_owned(),
        refresh: dashboard.refresh,
        range: args
            .range
            .unwrap_or(dashboard.range)
            .max(Duration::from_secs(1)),
        bell: false,
        demo: false,
        utc_offset,
    };
    let mut state = State::new(dashboard, opts);
    let mut vars = Vec::new();
    for v in &args.vars {
        match v.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => vars.push((
                name.trim().trim_start_matches('$').to_owned(),
                value.to_owned(),
            )),
            _ => return fail(err, &format!("--var {v:?} is not NAME=VALUE")),
        }
    }
    if let Err(e) = state.vars.preset(&vars) {
        return fail(err, &e);
    }
    let at = args.time.unwrap_or_else(now);
    let size = (
        u16::try_from(args.terminal.0).unwrap_or(u16::MAX),
        u16::try_from(args.terminal.1).unwrap_or(u16::MAX),
    );
    let state = fill_state(source, state, at, size).await;
    if let Server::Down { reason, .. } = &state.server {
        return fail(err, &format!("cannot query {server}: {reason}"));
    }
    // A panel whose query failed is drawn with its error; say so here too.
    for (i, ps) in state.panels.iter().enumerate() {
        let shown = targets
            .iter()
            .any(|t| matches!(t, Target::Dashboard) || *t == Target::Panel(i));
        if shown && let Some(e) = ps.visible_error() {
            writeln!(
                err,
                "promdash: panel {:?}: {}",
                state.dashboard.panels[i].title,
                promdash_queries::text::escape_lines(e)
            )?;
        }
    }
    let mut outputs = Vec::new();
    for &format in &args.format {
        for &target in &targets {
            let size = args.size.map(|(width, height)| PageSize { width, height });
            match export::render(&state, target, format, size, at) {
                Ok(o) => outputs.extend(o),
                Err(e) => return fail(err, &e),
            }
        }
    }
    if to_stdout {
        if outputs.len() != 1 {
            return fail(
                err,
                &format!(
                    "--out - writes one file to standard output, and this snapshot makes {}: \
                     give a directory, one --format and one --panel (or a picture of the \
                     whole dashboard)",
                    outputs.len()
                ),
            );
        }
        out.write_all(&outputs[0].bytes)?;
        out.flush()?;
        return Ok(Outcome::Ok);
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        return fail(err, &format!("cannot create {}: {e}", args.out.display()));
    }
    match export::write_all(&args.out, &outputs) {
        Ok(paths) => {
            for p in paths {
                writeln!(out, "{}", p.display())?;
            }
            out.flush()?;
            Ok(Outcome::Ok)
        }
        Err(e) => fail(err, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1600x1000"), Ok((1600, 1000)));
        assert_eq!(parse_size(" 80X24 "), Ok((80, 24)));
        assert!(parse_size("1600").is_err());
        assert!(
            parse_size("0x10")
                .expect_err("too small")
                .contains("16 to 16384")
        );
    }
}
