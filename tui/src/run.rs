//! The program: settings, the terminal session and the event loop.
//!
//! Everything that can be wrong with the settings (dashboard file, token file, URL) is
//! reported and exits with status 2 before the terminal is touched. The terminal is then
//! restored on every way out: normal exit, error and panic.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promdash_queries::client::{ClientConfig, PromClient};
use promdash_queries::dashboard::{Dashboard, default_dashboard, load_dashboard};
use promdash_queries::source::MetricsSource;
use ratatui::layout::Rect;
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::app::{self, Effect, Msg, Options, State};
use crate::cli::{Cli, Command};
use crate::fetch::Fetcher;
use crate::ui;

/// Longest wait for the rest of a refresh round before drawing what has arrived.
const DRAW_DELAY: Duration = Duration::from_millis(100);

/// Default request timeout when neither the command line nor the file sets one.
pub use crate::connection::DEFAULT_TIMEOUT;

/// Unix time now, in seconds.
pub fn wall_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What the dashboard says when standard input or output is not a terminal.
pub const NEEDS_A_TERMINAL: &str =
    "promdash needs a terminal; use `promdash query` or `check` in scripts";

/// Settings resolved from the command line, the environment and the dashboard file.
pub struct Settings {
    pub dashboard: Dashboard,
    pub client: ClientConfig,
    pub opts: Options,
    /// What the dashboard changes about the connection (see
    /// [`crate::connection::ConnectionArgs::client_config_with_notes`]).
    pub connection_notes: Vec<String>,
    /// Where the export keys write (`--export-dir`).
    pub export_dir: std::path::PathBuf,
    /// What all panels together may hold (`--memory-budget`).
    pub memory_budget: u64,
    /// `--scrape-interval-hint`: the scrape interval for `$__rate_interval`, instead of
    /// the server's.
    pub scrape_hint: Option<Duration>,
}

/// `--scrape` and the `[[scrape]]` tables of the dashboard and of the user's settings
/// file: the embedded engine's jobs, retention and options; `None` with none of them (or
/// with a subcommand or `--data`), and `None` with a note saying so when there are only
/// tables and `--url` (or `PROMDASH_URL`) names a server: that server is shown then.
fn live_settings(
    cli: &Cli,
    dashboard: &promdash_queries::Dashboard,
) -> Result<(Option<crate::embedded::Live>, Vec<String>), String> {
    if cli.command.is_some() || cli.data.is_some() {
        return Ok((None, Vec::new()));
    }
    let file = cli
        .dashboard
        .as_ref()
        .map_or_else(|| "the dashboard".to_owned(), |p| p.display().to_string());
    let config_path = crate::connection::user_config_path();
    let user_tables = match &config_path {
        Some(path) => {
            promdash_queries::dashboard::load_user_config(path)
                .map_err(|e| e.to_string())?
                .scrape
        }
        None => Vec::new(),
    };
    let config_name = config_path
        .as_ref()
        .map_or_else(|| "config.toml".to_owned(), |p| p.display().to_string());
    use crate::connection::ScrapeOrigin;
    let tables: Vec<(
        &promdash_queries::dashboard::ScrapeConfig,
        ScrapeOrigin,
        &str,
    )> = dashboard
        .scrape
        .iter()
        .map(|t| (t, ScrapeOrigin::Dashboard, file.as_str()))
        .chain(
            user_tables
                .iter()
                .map(|t| (t, ScrapeOrigin::UserConfig, config_name.as_str())),
        )
        .collect();
    if cli.scrape.is_empty() {
        if tables.is_empty() {
            return Ok((None, Vec::new()));
        }
        if let Some(url) = &cli.connection.url {
            let mut files: Vec<&str> = tables.iter().map(|(_, _, f)| *f).collect();
            files.dedup();
            let note = format!(
                "the [[scrape]] tables of {} are ignored: --url (or PROMDASH_URL) names the \
                 server to show ({}); leave it out to scrape them",
                files.join(" and "),
                crate::connection::redact(url)
            );
            return Ok((None, vec![note]));
        }
    }
    let interval = cli
        .scrape_interval()?
        .unwrap_or(promdash_engine::scrape::DEFAULT_INTERVAL);
    let retention = crate::embedded::check_retention(
        cli.retention()?
            .unwrap_or(crate::embedded::DEFAULT_RETENTION),
    )?;
    let mut jobs = Vec::new();
    let mut notes = Vec::new();
    if !cli.scrape.is_empty() {
        jobs.push(crate::embedded::cli_job(&cli.scrape, interval)?);
    }
    let mut names: Vec<(&str, &str)> = Vec::new();
    for (table, origin, from) in tables {
        if !cli.scrape.is_empty() && table.job == crate::embedded::CLI_JOB {
            return Err(format!(
                "{from}: [[scrape]] job {:?} is the job of the --scrape targets; name it \
                 something else",
                table.job
            ));
        }
        if let Some((_, first)) = names.iter().find(|(j, _)| *j == table.job) {
            return Err(format!(
                "{from}: [[scrape]] job {:?} is also defined in {first}; give one of them \
                 another name",
                table.job
            ));
        }
        names.push((&table.job, from));
        let mut job =
            crate::embedded::dashboard_job(table, interval).map_err(|e| format!("{from}: {e}"))?;
        let (client, headers, table_notes) = crate::connection::scrape_client(
            &table.job,
            &table.auth,
            origin,
            cli.connection.allow_dashboard_secrets,
        )
        .map_err(|e| format!("{from}: {e}"))?;
        job.client = client;
        job.headers = headers;
        notes.extend(table_notes);
        jobs.push(job);
    }
    Ok((
        Some(crate::embedded::Live {
            jobs,
            retention,
            compat: cli.promql_compat,
            auto_dashboard: cli.dashboard.is_none(),
            vars: cli.vars.clone(),
            rules: None,
            alertmanager: None,
        }),
        notes,
    ))
}

/// Reads the dashboard and credentials; every error here is the user's to fix (exit 2).
pub fn settings(cli: &Cli, utc_offset: i32) -> Result<Settings, String> {
    let dashboard = match &cli.dashboard {
        Some(path) => load_dashboard(path).map_err(|e| e.to_string())?,
        None => default_dashboard(),
    };
    let conn = cli.connection.clone().with_user_config()?;
    let (client, connection_notes) =
        conn.client_config_with_notes(dashboard.connection.as_ref())?;
    let opts = Options {
        url: String::new(),
        refresh: cli
            .refresh()?
            .unwrap_or(dashboard.refresh)
            .max(Duration::from_millis(200)),
        range: cli
            .range()?
            .unwrap_or(dashboard.range)
            .max(Duration::from_secs(1)),
        bell: !cli.no_bell,
        demo: false,
        utc_offset,
    };
    let scrape_hint = cli.scrape_interval_hint()?;
    if scrape_hint.is_some_and(|d| d.is_zero()) {
        return Err(
            "--scrape-interval-hint (or PROMDASH_SCRAPE_INTERVAL_HINT) must be more \
                    than 0s"
                .to_owned(),
        );
    }
    Ok(Settings {
        dashboard,
        client,
        opts,
        connection_notes,
        export_dir: cli.export_dir.clone(),
        memory_budget: cli.memory_budget,
        scrape_hint,
    })
}

/// The whole program after argument parsing.
pub fn main(cli: Cli) -> ExitCode {
    if let Some(Command::ExecChild {
        parent,
        program,
        args,
    }) = &cli.command
    {
        return crate::demo::exec_child(*parent, program, args);
    }
    // query, check, validate, print-default-dashboard, completions: no terminal, no log.
    if let Some(Command::Headless(cmd)) = &cli.command {
        if let Some(flag) = cli.dashboard_flags.first() {
            eprintln!(
                "promdash: {flag} is an option of the dashboard; `promdash {}` does not take it",
                cmd.name()
            );
            return ExitCode::from(2);
        }
        let parent = match cli.connection.clone().with_user_config() {
            Ok(p) => p,
            Err(e) => {
                eprintln!(
                    "promdash: {}",
                    promdash_queries::text::escape_lines(&e.to_string())
                );
                return ExitCode::from(2);
            }
        };
        return crate::headless::main(
            *cmd.clone(),
            &parent,
            <Cli as clap::CommandFactory>::command,
        );
    }
    // The local offset can only be read safely while the process has a single thread.
    let utc_offset = local_utc_offset();
    let mut settings = match settings(&cli, utc_offset) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "promdash: {}",
                promdash_queries::text::escape_lines(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    // A recording to replay: read before the terminal is touched (a broken file is exit 2).
    let recording = match &cli.data {
        None => None,
        Some(path) => match crate::embedded::load_recording(path, cli.promql_compat) {
            Ok(r) => {
                if cli.dashboard.is_none() {
                    settings.dashboard = crate::embedded::auto_dashboard(&r.source, r.end, "5s");
                }
                if cli.range.is_none() {
                    // The whole recording, at least a minute.
                    let span = (r.end - r.start).max(60.0).ceil();
                    settings.opts.range = Duration::from_secs_f64(span);
                }
                settings.opts.url = path.display().to_string();
                Some(r)
            }
            Err(e) => {
                eprintln!("promdash: {}", promdash_queries::text::escape_lines(&e));
                return ExitCode::from(2);
            }
        },
    };
    // Targets to scrape into the embedded engine: checked before the terminal too.
    let mut live = match live_settings(&cli, &settings.dashboard) {
        Ok((l, notes)) => {
            for note in notes {
                // Before the terminal is taken (visible after quitting) and in the status
                // bar with the connection's notes.
                eprintln!("promdash: {}", promdash_queries::text::escape_lines(&note));
                settings.connection_notes.push(note);
            }
            l
        }
        Err(e) => {
            eprintln!("promdash: {}", promdash_queries::text::escape_lines(&e));
            return ExitCode::from(2);
        }
    };
    // Rule files: read and checked before the terminal too.
    let mut rules = match crate::rules::setup(&cli, &settings.dashboard) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("promdash: {}", promdash_queries::text::escape_lines(&e));
            return ExitCode::from(2);
        }
    };
    // A recording's alerts are history (see crate::rules::Setup::replay): none is sent.
    if recording.is_some() && cli.alertmanager.enabled() {
        eprintln!(
            "promdash: --alertmanager is not used with --data: the alerts of a recording \
             are history and are not sent; leave it out"
        );
        return ExitCode::from(2);
    }
    // On the embedded engine (--scrape, the demo) there is no server page to link alerts
    // to.
    let mut embedded_am = if live.is_some() || matches!(cli.command, Some(Command::Demo(_))) {
        match cli.alertmanager.dashboard(None, &cli.external_labels) {
            Ok(am) => am,
            Err(e) => {
                eprintln!("promdash: {}", promdash_queries::text::escape_lines(&e));
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    if let Some(l) = live.as_mut() {
        l.rules = rules.take();
        l.alertmanager = embedded_am.take();
    }
    // Checked after the settings, whose mistakes are more useful to hear about first.
    if let Some(Command::Demo(args)) = &cli.command
        && args.prometheus
        && let Err(e) = crate::demo::find_prometheus(args.prometheus_bin.as_deref())
    {
        eprintln!("promdash: {e:#}");
        return ExitCode::from(2);
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!("{NEEDS_A_TERMINAL}");
        return ExitCode::from(2);
    }
    let log_file = cli
        .log_file
        .clone()
        .unwrap_or_else(crate::logging::default_log_file);
    let _guard = match crate::logging::init(&log_file) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!(
                "promdash: cannot open the log file {}: {e}",
                log_file.display()
            );
            return ExitCode::from(2);
        }
    };
    // The dashboard is all I/O-bound tasks: one thread is enough and keeps CPU and memory
    // down. The demo also serves the reference service and its load, and the embedded
    // engine scrapes and evaluates, so they get two.
    let runtime = match &cli.command {
        _ if live.is_some() => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        Some(Command::Demo(_)) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("promdash: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match (&cli.command, recording) {
        (Some(Command::Demo(args)), _) => runtime.block_on(crate::demo::run(
            settings,
            args.clone(),
            cli.promql_compat,
            cli.vars.clone(),
            crate::demo::DemoRules {
                rules,
                alertmanager: embedded_am,
            },
        )),
        (None, None) if live.is_some() => {
            let Some(live) = live else {
                unreachable!("checked by the match guard")
            };
            settings.opts.url = live
                .jobs
                .iter()
                .flat_map(|j| j.targets.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            runtime.block_on(crate::embedded::run_live(settings, live, |_| {}))
        }
        (Some(Command::Headless(_) | Command::ExecChild { .. }), _) => {
            unreachable!("headless commands and exec-child return at the top")
        }
        (None, Some(r)) => {
            tracing::info!(
                file = %settings.opts.url,
                samples = r.samples,
                series = r.series,
                "replaying a recording"
            );
            let mut state = State::new(settings.dashboard, settings.opts);
            state.memory_budget = settings.memory_budget;
            if let Some(hint) = settings.scrape_hint {
                state.vars.fix_scrape_interval(hint);
            }
            state.export_dir = settings.export_dir;
            state.start_replay(r.start, r.end);
            if let Err(e) = state.vars.preset(&cli.vars) {
                eprintln!(
                    "promdash: {}",
                    promdash_queries::text::escape_lines(&e.to_string())
                );
                return ExitCode::from(2);
            }
            if let Some(setup) = rules {
                // On the recording's clock, before the first frame (see Setup::replay).
                let ms = |t: f64| (t * 1000.0).round() as i64;
                let many: f64 = setup
                    .groups
                    .iter()
                    .map(|g| (r.end - r.start) / g.interval.as_secs_f64().max(0.001))
                    .sum();
                if many > 10_000.0 {
                    // The terminal is not taken yet: say why the first frame waits.
                    eprintln!(
                        "promdash: evaluating the rules over the recording ({many:.0} group \
                         evaluations)…"
                    );
                }
                let evaluations = setup.replay(
                    Arc::clone(r.source.store()),
                    crate::embedded::engine(cli.promql_compat),
                    ms(r.start),
                    ms(r.end),
                    &mut state,
                );
                tracing::info!(evaluations, "rules evaluated over the recording");
            }
            runtime.block_on(async move { with_terminal(state, Arc::new(r.source), |_| {}).await })
        }
        (None, None) => {
            let client = match PromClient::new(settings.client.clone()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "promdash: {}",
                        promdash_queries::text::escape_lines(&e.to_string())
                    );
                    return ExitCode::from(2);
                }
            };
            settings.opts.url = client.redacted_url().to_owned();
            tracing::info!(url = %settings.opts.url, title = %settings.dashboard.title, "starting");
            let mut state = State::new(settings.dashboard, settings.opts);
            state.memory_budget = settings.memory_budget;
            if let Some(hint) = settings.scrape_hint {
                state.vars.fix_scrape_interval(hint);
            }
            state.insecure = settings.client.insecure_skip_verify;
            for note in &settings.connection_notes {
                tracing::warn!("{note}");
            }
            state.connection_notes = settings.connection_notes;
            state.export_dir = settings.export_dir;
            if let Err(e) = state.vars.preset(&cli.vars) {
                eprintln!(
                    "promdash: {}",
                    promdash_queries::text::escape_lines(&e.to_string())
                );
                return ExitCode::from(2);
            }
            let am = match cli
                .alertmanager
                .dashboard(Some(client.redacted_url().to_owned()), &cli.external_labels)
            {
                Ok(am) => am,
                Err(e) => {
                    eprintln!("promdash: {}", promdash_queries::text::escape_lines(&e));
                    return ExitCode::from(2);
                }
            };
            let client = Arc::new(client);
            let sidecar = crate::rules::start_remote(&mut state, &client, rules, am);
            runtime.block_on(async move { with_terminal_and(state, client, |_| {}, sidecar).await })
        }
    };
    // Fetch tasks may still be waiting on the network: do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Hangup>() => {
            tracing::info!("exiting: {e}");
            ExitCode::from(129)
        }
        Err(e) => {
            tracing::error!("{e:#}");
            // Not eprintln!: it panics when stderr is gone.
            let _ = writeln!(
                std::io::stderr(),
                "promdash: {}",
                promdash_queries::text::escape_lines(&format!("{e:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

fn local_utc_offset() -> i32 {
    time::UtcOffset::current_local_offset().map_or(0, time::UtcOffset::whole_seconds)
}

/// The terminal, drawn through a buffer flushed once per frame.
type Screen =
    ratatui::Terminal<ratatui::backend::CrosstermBackend<std::io::BufWriter<std::io::Stdout>>>;

/// Takes over the terminal, runs the dashboard, and gives the terminal back however the
/// dashboard ends.
pub async fn with_terminal<S: MetricsSource>(
    state: State,
    source: Arc<S>,
    on_fault: impl FnMut(bool),
) -> anyhow::Result<()> {
    with_terminal_and(state, source, on_fault, None).await
}

/// Work beside the dashboard (the embedded engine's scraper): started with the message
/// channel when the event loop starts, it returns the handler of the effects only it
/// can carry out ([`Effect::SaveStore`]).
pub type Sidecar = Box<dyn FnOnce(UnboundedSender<Msg>) -> Box<dyn FnMut(&Effect) + Send> + Send>;

/// [`with_terminal`] with a [`Sidecar`].
pub async fn with_terminal_and<S: MetricsSource>(
    mut state: State,
    source: Arc<S>,
    on_fault: impl FnMut(bool),
    sidecar: Option<Sidecar>,
) -> anyhow::Result<()> {
    // Our hook first, so ratatui's (installed by init) restores the terminal before it runs.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        previous(info);
    }));
    // Listen for signals before the terminal is taken: a SIGINT, SIGQUIT or SIGTSTP that
    // came between entering the alternate screen and listening got its default action
    // (killed or stopped with the terminal still raw and on the alternate screen).
    let signals = Signals::new();
    let terminal = ratatui::try_init().and_then(|t| {
        // A fixed viewport, resized on Resize events: the full-screen one asks the terminal
        // for its size (opening /dev/tty) before every frame.
        let size = t.size()?;
        let options = ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, size.width, size.height)),
        };
        drop(t);
        // One write per frame: standard output's own buffer holds 1 KiB.
        let out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
        Screen::with_options(ratatui::backend::CrosstermBackend::new(out), options)
    });
    let mut terminal = match terminal {
        Ok(t) => t,
        Err(e) => {
            // Raw mode may already be on when entering the alternate screen failed.
            ratatui::restore();
            return Err(e.into());
        }
    };
    let on_a_terminal = std::io::stdout().is_terminal();
    let result = event_loop(
        &mut terminal,
        &mut state,
        source,
        on_fault,
        sidecar,
        signals,
    )
    .await;
    // Drawing fails once the terminal is gone: that is a hangup too.
    let result = match result {
        Err(e) if on_a_terminal && !e.is::<Hangup>() && !std::io::stdout().is_terminal() => {
            tracing::info!("the terminal went away: {e:#}");
            Err(Hangup.into())
        }
        other => other,
    };
    if result.as_ref().is_err_and(|e| e.is::<Hangup>()) {
        // Nothing to restore on a terminal that is gone, and no one to tell: dropping
        // the terminal would try to show the cursor and report failing on stderr, which
        // panics when stderr is gone too.
        let _ = ratatui::try_restore();
        std::mem::forget(terminal);
    } else {
        ratatui::restore();
    }
    result
}

/// The terminal went away (hangup, the tmux session or SSH connection closed): the
/// dashboard ends quietly with exit status 129 (128 + SIGHUP).
#[derive(Debug, Clone, Copy)]
pub struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the terminal went away")
    }
}

impl std::error::Error for Hangup {}

/// Writes what the export keys write (see [`crate::export::ExportFormat::TUI`]) into the
/// state's export directory.
fn export_files(
    state: &State,
    target: crate::export::Target,
) -> Result<Vec<std::path::PathBuf>, String> {
    let at = state.window_end();
    let mut outputs = Vec::new();
    for format in crate::export::ExportFormat::TUI {
        outputs.extend(crate::export::render(state, target, format, None, at)?);
    }
    std::fs::create_dir_all(&state.export_dir)
        .map_err(|e| format!("cannot create {}: {e}", state.export_dir.display()))?;
    crate::export::write_all(&state.export_dir, &outputs).map_err(|e| e.to_string())
}

/// The event loop: messages in, `update`, effects out, draw when something changed.
async fn event_loop<S: MetricsSource>(
    terminal: &mut Screen,
    state: &mut State,
    source: Arc<S>,
    mut on_fault: impl FnMut(bool),
    sidecar: Option<Sidecar>,
    mut signals: Signals,
) -> anyhow::Result<()> {
    let (tx, mut rx): (UnboundedSender<Msg>, UnboundedReceiver<Msg>) = mpsc::unbounded_channel();
    let fetcher = Fetcher::new(source, tx.clone());
    let mut side_effects = sidecar.map(|start| start(tx.clone()));
    let hangup = Arc::new(Notify::new());
    crate::input::spawn(tx, Arc::clone(&hangup));
    // Retry jitter from the per-process random keys of the standard library's hasher.
    state.seed_jitter(std::hash::BuildHasher::hash_one(
        &std::collections::hash_map::RandomState::new(),
        std::process::id(),
    ));
    let history_file = crate::history::path();
    if let Some(file) = &history_file {
        state.explore.history = crate::history::load(file);
    }

    let size = terminal.size()?;
    let mut effects = app::update(state, Msg::Resize(size.width, size.height));
    effects.extend(app::update(state, Msg::Tick(wall_now())));
    // While a refresh round is still coming in, answers are drawn together (at most
    // DRAW_DELAY after the first), not one frame per answer; keys draw at once.
    let mut draw_at: Option<Instant> = None;
    let mut input = false;
    let timer = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(timer);
    loop {
        for effect in effects.drain(..) {
            match effect {
                Effect::Fetch(req) => fetcher.spawn(req),
                Effect::Bell => {
                    let out = terminal.backend_mut();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                Effect::SetFault(on) => on_fault(on),
                Effect::Explore(req) => fetcher.spawn_explore(req),
                Effect::SaveHistory(expr) => {
                    if let Some(file) = &history_file
                        && let Err(e) = crate::history::append(file, &expr)
                    {
                        tracing::warn!("cannot write the history file {}: {e}", file.display());
                    }
                }
                Effect::Export(target) => {
                    let result = export_files(state, target);
                    app::update(state, Msg::Exported(result));
                }
                Effect::Alertmanager(_) => {
                    if let Some(handle) = side_effects.as_mut() {
                        handle(&effect);
                    }
                }
                Effect::SaveStore => match side_effects.as_mut() {
                    Some(handle) => handle(&effect),
                    None => {
                        app::update(state, Msg::Saved(Err("nothing to save".into())));
                    }
                },
                Effect::Quit => {}
            }
        }
        if state.quit {
            return Ok(());
        }
        if state.dirty {
            let due = draw_at.is_some_and(|t| Instant::now() >= t);
            if input || due || !state.round_in_progress() {
                terminal.draw(|f| ui::view(state, f))?;
                state.dirty = false;
                draw_at = None;
            } else if draw_at.is_none() {
                draw_at = Some(Instant::now() + DRAW_DELAY);
            }
        }
        input = false;
        let now = wall_now();
        let mut wait = state
            .next_deadline()
            .map_or(Duration::from_secs(3600), |d| {
                Duration::from_secs_f64((d - now).clamp(0.0, 3600.0))
            });
        if let Some(t) = draw_at {
            wait = wait.min(t.saturating_duration_since(Instant::now()));
        }
        // Re-arming the timer costs a timer-wheel update: keep it when the deadline moved
        // by less than a millisecond (most wake-ups are answers within one round).
        let wake = tokio::time::Instant::now() + wait;
        let armed = timer.deadline();
        if wake.max(armed) - wake.min(armed) >= Duration::from_millis(1) {
            timer.as_mut().reset(wake);
        }
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                effects.extend(app::update(state, Msg::Tick(wall_now())));
                input |= matches!(msg, Msg::Key(_) | Msg::Resize(..));
                resize_viewport(terminal, &msg)?;
                effects.extend(app::update(state, msg));
                // Apply whatever else is already waiting before drawing once.
                while let Ok(msg) = rx.try_recv() {
                    input |= matches!(msg, Msg::Key(_) | Msg::Resize(..));
                    resize_viewport(terminal, &msg)?;
                    effects.extend(app::update(state, msg));
                }
            }
            () = &mut timer => {
                effects.extend(app::update(state, Msg::Tick(wall_now())));
            }
            signal = signals.recv() => match signal {
                Signal::Resize => {
                    let (w, h) = ratatui::crossterm::terminal::size()?;
                    let msg = Msg::Resize(w, h);
                    input = true;
                    resize_viewport(terminal, &msg)?;
                    effects.extend(app::update(state, msg));
                }
                Signal::Terminate => {
                    tracing::info!("terminating on a signal (SIGTERM, SIGINT or SIGQUIT)");
                    return Ok(());
                }
                Signal::Suspend => {
                    suspend(terminal)?;
                    state.dirty = true;
                }
                Signal::Hangup => {
                    tracing::info!("terminating on SIGHUP");
                    return Err(Hangup.into());
                }
            },
            () = hangup.notified() => {
                tracing::info!("the terminal went away");
                return Err(Hangup.into());
            }
        }
    }
}

/// The viewport is fixed (see [`with_terminal`]): it follows the terminal's new size.
fn resize_viewport(terminal: &mut Screen, msg: &Msg) -> std::io::Result<()> {
    match *msg {
        Msg::Resize(w, h) => terminal.resize(Rect::new(0, 0, w, h)),
        _ => Ok(()),
    }
}

/// SIGTSTP: gives the terminal back, stops the process (SIGSTOP, which cannot be caught,
/// sent with `kill`), and once SIGCONT resumes it takes the terminal again and redraws.
fn suspend(terminal: &mut Screen) -> anyhow::Result<()> {
    tracing::info!("suspended (SIGTSTP)");
    ratatui::restore();
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &std::process::id().to_string()])
        .status();
    if let Err(e) = stopped {
        tracing::warn!("cannot stop: {e}");
    }
    tracing::info!("resumed (SIGCONT)");
    ratatui::crossterm::terminal::enable_raw_mode()?;
    ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::terminal::EnterAlternateScreen
    )?;
    // Not `terminal.clear()`: it asks the terminal where the cursor is, which waits for
    // crossterm's event reader — held by the input thread while it waits for a key, so a
    // resume with input pending hung for good (SIGINT after SIGCONT never ended promdash).
    // Resizing to the terminal's size clears the viewport and forces a full redraw without
    // asking, and takes a size change made while stopped.
    let (w, h) = ratatui::crossterm::terminal::size()?;
    terminal.resize(Rect::new(0, 0, w, h))?;
    Ok(())
}

/// What a signal asks of the dashboard.
#[derive(Debug, Clone, Copy)]
enum Signal {
    /// SIGTERM, SIGINT, SIGQUIT: end like `q` (the terminal is restored).
    Terminate,
    /// SIGTSTP: suspend (see [`suspend`]).
    Suspend,
    /// SIGHUP: end as a [`Hangup`].
    Hangup,
    /// SIGWINCH: the terminal changed size (the input thread only waits for keys).
    Resize,
}

struct Signals {
    #[cfg(unix)]
    streams: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let wanted = [
                (Signal::Terminate, SignalKind::terminate()),
                (Signal::Terminate, SignalKind::interrupt()),
                (Signal::Terminate, SignalKind::quit()),
                // SIGTSTP is 20 on Linux (x86, ARM, RISC-V alike).
                (Signal::Suspend, SignalKind::from_raw(20)),
                (Signal::Hangup, SignalKind::hangup()),
                (Signal::Resize, SignalKind::window_change()),
            ];
            let streams = wanted
                .into_iter()
                .filter_map(|(what, kind)| match signal(kind) {
                    Ok(stream) => Some((what, stream)),
                    Err(e) => {
                        tracing::warn!("cannot listen for signal {}: {e}", kind.as_raw_value());
                        None
                    }
                })
                .collect();
            Self { streams }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Waits for the next signal.
    async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            std::future::poll_fn(|cx| {
                for (what, stream) in &mut self.streams {
                    if stream.poll_recv(cx).is_ready() {
                        return std::task::Poll::Ready(*what);
                    }
                }
                std::task::Poll::Pending
            })
            .await
        }
        #[cfg(not(unix))]
        std::future::pending::<Signal>().await
    }
}
