//! promdash on its own engine: targets scraped into an in-memory store (`--scrape`, the
//! demo), a recording loaded from a file (`--data FILE.om`), and the dashboard either gets
//! when none is named (the reference service's when the data has its metrics, otherwise
//! an overview built from what the data holds).
//!
//! The dashboard, `query` and completion read it through the same
//! [`MetricsSource`](promdash_queries::source::MetricsSource) seam as a server.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use promdash_engine::exposition::{LoadError, load_openmetrics};
use promdash_engine::scrape::{Health, ScrapeJob, Scraper, target_url};
use promdash_engine::source::Clock;
use promdash_engine::{Compat, EmbeddedSource, Engine, EngineOptions, Store, StoreConfig};
use promdash_queries::dashboard::{Dashboard, ScrapeConfig, default_dashboard, parse_dashboard};
use promdash_queries::model::QueryData;

use crate::app::{Effect, Msg, State};
use crate::headless::promqltest::CompatArg;
use crate::run::{Settings, Sidecar, with_terminal_and};

/// The metrics that tell the reference service (and the seed application) apart; the
/// request counter only exists once a request was served, the others from the start.
pub const SERVICE_METRICS: [&str; 3] = [
    "app_request_count_total",
    "app_in_flight_requests",
    "app_build_info",
];

/// `--retention` when not given.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600);

/// The longest `--retention`.
pub const MAX_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// How long after a scrape's timeout its samples are taken to be stored (parsing, waiting
/// for the store), before the steps of a range answer that read them count as final.
const RANGE_SETTLE_MARGIN: Duration = Duration::from_secs(2);

/// The job `--scrape` targets belong to.
pub const CLI_JOB: &str = "promdash";

/// The scrape job of `--scrape URL…`: each a URL or a bare `host:port` (meaning
/// `http://host:port/metrics`). An error names the argument and why.
pub fn cli_job(targets: &[String], interval: Duration) -> Result<ScrapeJob, String> {
    if interval.is_zero() {
        return Err("--scrape-interval must be longer than 0s".into());
    }
    let urls = targets
        .iter()
        .map(|t| target_url(t).map_err(|e| format!("--scrape: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let client = promdash_queries::tls::http_client_builder()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut job = ScrapeJob::new(CLI_JOB, urls, client);
    job.interval = interval;
    job.timeout = interval;
    Ok(job)
}

/// The scrape job of a dashboard's `[[scrape]]` table; `interval` is used when the
/// table gives none (`--scrape-interval`, else 5 s). An error names the job and target.
pub fn dashboard_job(table: &ScrapeConfig, interval: Duration) -> Result<ScrapeJob, String> {
    let urls = table
        .targets
        .iter()
        .map(|t| target_url(t).map_err(|e| format!("[[scrape]] job {:?}: {e}", table.job)))
        .collect::<Result<Vec<_>, _>>()?;
    let client = promdash_queries::tls::http_client_builder()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let mut job = ScrapeJob::new(table.job.clone(), urls, client);
    job.interval = table.interval.unwrap_or(interval);
    // The file checks the timeout against its own interval; one from the command line
    // can be shorter than the file's timeout.
    job.timeout = table.timeout.unwrap_or(job.interval).min(job.interval);
    job.labels = table.labels.clone();
    job.honor_labels = table.honor_labels;
    job.sample_limit = usize::try_from(table.sample_limit).unwrap_or(usize::MAX);
    Ok(job)
}

/// `--retention`: at most [`MAX_RETENTION`].
pub fn check_retention(retention: Duration) -> Result<Duration, String> {
    if retention.is_zero() || retention > MAX_RETENTION {
        return Err(format!(
            "--retention {} is out of range: the embedded store keeps between 1s and 24h",
            humantime::format_duration(retention)
        ));
    }
    Ok(retention)
}

/// What the dashboard on the embedded engine runs with, besides the settings.
pub struct Live {
    pub jobs: Vec<ScrapeJob>,
    pub retention: Duration,
    pub compat: Option<CompatArg>,
    /// No dashboard was named: choose one from what the targets expose.
    pub auto_dashboard: bool,
    /// `--var` presets.
    pub vars: Vec<(String, String)>,
    /// Rule files evaluated on the engine (their output appended to the store).
    pub rules: Option<crate::rules::Setup>,
    /// `--alertmanager`: the rules' alerts go there, the silence keys make silences there.
    pub alertmanager: Option<crate::alertmanager::DashboardAm>,
}

/// Scrapes `live.jobs` into a fresh store and runs the dashboard on it until it quits.
/// The first scrape of every target is awaited (at most an interval and a timeout) so
/// that the dashboard can be chosen from what they expose and opens with data.
pub async fn run_live(
    settings: Settings,
    live: Live,
    on_fault: impl FnMut(bool),
) -> anyhow::Result<()> {
    let store = Arc::new(RwLock::new(Store::new(StoreConfig {
        retention_ms: i64::try_from(live.retention.as_millis()).unwrap_or(i64::MAX),
        ..StoreConfig::default()
    })));
    let longest = live
        .jobs
        .iter()
        .map(|j| j.interval + j.timeout)
        .max()
        .unwrap_or_default();
    let interval = live
        .jobs
        .iter()
        .map(|j| j.interval)
        .min()
        .unwrap_or(promdash_engine::scrape::DEFAULT_INTERVAL);
    // A sample is stamped with its scrape's start and stored before the scrape's timeout
    // is over (and the page parsed): older steps of a range answer are final, and the
    // next refresh of the same graph evaluates only the steps it lacks.
    let settle = live
        .jobs
        .iter()
        .map(|j| j.timeout)
        .max()
        .unwrap_or_default()
        + RANGE_SETTLE_MARGIN;
    let scraper = Arc::new(Scraper::start(Arc::clone(&store), live.jobs));
    let deadline = Instant::now() + longest + Duration::from_secs(1);
    while Instant::now() < deadline
        && scraper
            .targets()
            .iter()
            .any(|t| t.health == Health::Unknown)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let source =
        EmbeddedSource::new(Arc::clone(&store), engine(live.compat)).with_range_reuse(settle);
    let mut dashboard = settings.dashboard;
    if live.auto_dashboard {
        let interval = humantime::format_duration(interval).to_string();
        dashboard = auto_dashboard(&source, crate::run::wall_now(), &interval);
    }
    let mut state = State::new(dashboard, settings.opts);
    state.memory_budget = settings.memory_budget;
    // `$__rate_interval` with the interval the targets are really scraped at.
    state
        .vars
        .fix_scrape_interval(settings.scrape_hint.unwrap_or(interval));
    state.export_dir = settings.export_dir.clone();
    state.embedded = Some(crate::targets::Embedded {
        targets: scraper.targets(),
        ..Default::default()
    });
    state
        .vars
        .preset(&live.vars)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(
        targets = state.embedded.as_ref().map_or(0, |e| e.targets.len()),
        "scraping"
    );
    let rules_store = Arc::clone(&store);
    let mut sidecar = sidecar(Arc::clone(&scraper), store, settings.export_dir);
    let hooks: Vec<crate::rules::Notifier> = live
        .alertmanager
        .as_ref()
        .map(crate::alertmanager::DashboardAm::hook)
        .into_iter()
        .collect();
    if let Some(rules) = live.rules {
        let engine = engine(live.compat);
        let (rules_state, with_rules) = rules.start(
            false,
            move || {
                Box::new(crate::rules::EmbeddedBackend {
                    store: rules_store,
                    engine,
                })
            },
            hooks,
            Some(sidecar),
        );
        state.rules = rules_state;
        sidecar = with_rules;
    }
    if let Some(am) = live.alertmanager {
        sidecar = am.install(&mut state, Some(sidecar));
    }
    with_terminal_and(state, Arc::new(source), on_fault, Some(sidecar)).await
}

/// Sends the targets' states to the dashboard every second and saves the store on
/// [`Effect::SaveStore`] (on a blocking thread: writing a day of data takes a while).
fn sidecar(scraper: Arc<Scraper>, store: Arc<RwLock<Store>>, dir: PathBuf) -> Sidecar {
    Box::new(move |tx| {
        let targets_tx = tx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // The receiver is gone once the dashboard has ended.
                if targets_tx.send(Msg::Targets(scraper.targets())).is_err() {
                    break;
                }
            }
        });
        Box::new(move |effect: &Effect| {
            if matches!(effect, Effect::SaveStore) {
                let (store, tx, dir) = (Arc::clone(&store), tx.clone(), dir.clone());
                tokio::task::spawn_blocking(move || {
                    let result = save_store(&store, &dir);
                    match &result {
                        Ok(path) => tracing::info!(path, "saved the store"),
                        Err(e) => tracing::warn!("cannot save the store: {e}"),
                    }
                    let _ = tx.send(Msg::Saved(result));
                });
            }
        })
    })
}

/// Writes the whole store as OpenMetrics text into `dir/promdash-YYYYMMDD-HHMMSS.om`
/// (UTC); the path written, or why not.
pub fn save_store(store: &RwLock<Store>, dir: &Path) -> Result<String, String> {
    let now = time::OffsetDateTime::now_utc();
    let name = format!(
        "promdash-{:04}{:02}{:02}-{:02}{:02}{:02}.om",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let path = dir.join(name);
    let shown = path.display().to_string();
    let file = std::fs::File::create(&path).map_err(|e| format!("cannot create {shown}: {e}"))?;
    let mut out = std::io::BufWriter::new(file);
    {
        let store = store
            .read()
            .map_err(|_| "the store is unusable: a writer panicked".to_owned())?;
        promdash_engine::record::write_openmetrics(&store, &mut out)
            .map_err(|e| format!("cannot write {shown}: {e}"))?;
    }
    out.flush()
        .map_err(|e| format!("cannot write {shown}: {e}"))?;
    Ok(shown)
}

/// The engine answering as Prometheus `compat` (3.x when `None`) does.
pub fn engine(compat: Option<CompatArg>) -> Engine {
    Engine::new(EngineOptions {
        compat: match compat {
            Some(CompatArg::V2) => Compat::V2,
            Some(CompatArg::V3) | None => Compat::V3,
        },
        ..EngineOptions::default()
    })
}

/// A recording loaded into a store.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Answers with "now" at the newest sample.
    pub source: EmbeddedSource,
    /// The oldest and newest sample, Unix seconds.
    pub start: f64,
    pub end: f64,
    pub samples: usize,
    pub series: usize,
}

/// Loads an OpenMetrics file (`# EOF` at the end, a timestamp on every sample) into a
/// store with no retention limit. Errors name the file, and the line and column when the
/// text is malformed.
pub fn load_recording(path: &Path, compat: Option<CompatArg>) -> Result<Recording, String> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut store = Store::new(StoreConfig {
        // A recording is kept whole, however long it spans.
        retention_ms: i64::MAX / 4,
        ..StoreConfig::default()
    });
    let samples = load_openmetrics(&mut store, &bytes).map_err(|e| match e {
        LoadError::Parse(p) => format!(
            "{name}:{}:{}: {} (expected OpenMetrics text as `promdash record` writes it)",
            p.line, p.col, p.message
        ),
        other => format!("{name}: {other}"),
    })?;
    let (Some(oldest), Some(newest)) = (store.oldest(), store.newest()) else {
        return Err(format!("{name}: the file holds no samples"));
    };
    let series = store.series_count();
    let source = EmbeddedSource::new(Arc::new(RwLock::new(store)), engine(compat))
        .with_clock(Clock::NewestSample);
    Ok(Recording {
        source,
        start: oldest as f64 / 1000.0,
        end: newest as f64 / 1000.0,
        samples,
        series,
    })
}

/// Most counters the overview draws.
const MAX_COUNTERS: usize = 6;
/// Most histograms the overview draws.
const MAX_HISTOGRAMS: usize = 4;

/// The dashboard for data when the user names none: the reference service's when the
/// data has [`SERVICE_METRIC`], otherwise [`overview`]. `at` is "now" (Unix seconds).
pub fn auto_dashboard(source: &EmbeddedSource, at: f64, scrape_interval: &str) -> Dashboard {
    let names = source.values_of("__name__", None).unwrap_or_default();
    if names.iter().any(|n| SERVICE_METRICS.contains(&n.as_str())) {
        default_dashboard()
    } else {
        overview(source, &names, at, scrape_interval)
    }
}

/// A generic dashboard from what the data holds: targets up, scrape duration, the
/// busiest counters as rates and the histograms as p95.
///
/// Counters (`*_total`) are ranked by their summed rate over the last five minutes, and
/// by their summed value where there is no rate yet (a single scrape).
pub fn overview(
    source: &EmbeddedSource,
    names: &[String],
    at: f64,
    scrape_interval: &str,
) -> Dashboard {
    let value = |expr: &str| -> Option<f64> {
        let r = source.query_instant(expr, Some(at)).ok()?;
        match r.data {
            QueryData::Vector(v) => v.first().map(|s| s.sample.v).filter(|v| v.is_finite()),
            QueryData::Scalar(s) => Some(s.v).filter(|v| v.is_finite()),
            _ => None,
        }
    };
    let synthetic = |n: &str| n == "up" || n.starts_with("scrape_");
    let mut counters: Vec<(f64, f64, &str)> = names
        .iter()
        .filter(|n| n.ends_with("_total") && !synthetic(n))
        .map(|n| {
            let rate = value(&format!("sum(rate({n}[5m]))")).unwrap_or(0.0);
            let total = value(&format!("sum({n})")).unwrap_or(0.0);
            (rate, total, n.as_str())
        })
        .collect();
    counters.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(a.2.cmp(b.2))
    });
    let histograms: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_suffix("_bucket"))
        .filter(|base| {
            let le = source
                .values_of("le", Some(&format!("{base}_bucket")))
                .unwrap_or_default();
            le.iter().any(|v| v == "+Inf")
        })
        .take(MAX_HISTOGRAMS)
        .collect();

    let mut toml = String::new();
    let _ = writeln!(
        toml,
        "title = \"Overview\"\nrefresh = \"5s\"\nrange = \"15m\"\nscrape_interval = {scrape_interval:?}\n"
    );
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("up") {
        panel(&mut toml, "Targets up", "stat", "sum(up)", None, "short", 3);
        panel(
            &mut toml,
            "Targets down",
            "stat",
            "count(up == 0) or vector(0)",
            None,
            "short",
            3,
        );
    }
    if has("scrape_samples_scraped") {
        panel(
            &mut toml,
            "Samples per scrape",
            "stat",
            "sum(scrape_samples_scraped)",
            None,
            "short",
            3,
        );
    }
    if has("scrape_duration_seconds") {
        panel(
            &mut toml,
            "Slowest scrape",
            "stat",
            "max(scrape_duration_seconds)",
            None,
            "seconds",
            3,
        );
    }
    if has("up") {
        panel(
            &mut toml,
            "Up by target",
            "graph",
            "up",
            Some("{{job}} {{instance}}"),
            "short",
            6,
        );
    }
    if has("scrape_duration_seconds") {
        panel(
            &mut toml,
            "Scrape duration",
            "graph",
            "scrape_duration_seconds",
            Some("{{job}} {{instance}}"),
            "seconds",
            6,
        );
    }
    for (_, _, name) in counters.iter().take(MAX_COUNTERS) {
        let unit = if name.ends_with("_bytes_total") {
            "Bps"
        } else {
            "short"
        };
        panel(
            &mut toml,
            &format!("{name} (rate)"),
            "graph",
            &format!("sum(rate({name}[$__rate_interval]))"),
            Some(name),
            unit,
            6,
        );
    }
    for base in &histograms {
        let unit = if base.ends_with("_seconds") {
            "seconds"
        } else if base.ends_with("_bytes") {
            "bytes"
        } else {
            "short"
        };
        panel(
            &mut toml,
            &format!("{base} p95"),
            "graph",
            &format!(
                "histogram_quantile(0.95, sum by (le) (rate({base}_bucket[$__rate_interval])))"
            ),
            Some("p95"),
            unit,
            6,
        );
    }
    if toml.matches("[[panels]]").count() == 0 {
        // Nothing known to draw: the number of series at least.
        panel(
            &mut toml,
            "Series",
            "stat",
            "count({__name__=~\".+\"})",
            None,
            "short",
            12,
        );
    }
    // Built from metric names (letters, digits, `_`, `:`): always valid.
    parse_dashboard(&toml, "<overview>").unwrap_or_else(|e| {
        tracing::error!("the generated overview does not parse: {e}\n{toml}");
        default_dashboard()
    })
}

fn panel(
    toml: &mut String,
    title: &str,
    kind: &str,
    query: &str,
    legend: Option<&str>,
    unit: &str,
    width: u8,
) {
    let _ = writeln!(
        toml,
        "[[panels]]\ntitle = {}\nkind = \"{kind}\"\nquery = {}\nunit = \"{unit}\"\nwidth = {width}",
        toml_string(title),
        toml_string(query)
    );
    if let Some(l) = legend {
        let _ = writeln!(toml, "legend = {}", toml_string(l));
    }
    toml.push('\n');
}

/// A TOML literal string when the text allows one (no `'`, no control characters), else a
/// basic string with `\` and `"` escaped.
fn toml_string(s: &str) -> String {
    if !s.contains('\'') && !s.chars().any(char::is_control) {
        format!("'{s}'")
    } else {
        let escaped: String = s
            .chars()
            .filter(|c| !c.is_control())
            .flat_map(|c| match c {
                '\\' => vec!['\\', '\\'],
                '"' => vec!['\\', '"'],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn a_recording_loads_with_its_span() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = write(
            &dir,
            "r.om",
            "# TYPE a counter\na_total 1 100\na_total 2 160.5\n# EOF\n",
        );
        let r = load_recording(&p, None).expect("loads");
        assert_eq!((r.start, r.end, r.samples, r.series), (100.0, 160.5, 2, 1));
        let v = r.source.query_instant("a_total", None).expect("answers");
        let QueryData::Vector(v) = v.data else {
            panic!("{v:?}")
        };
        assert_eq!((v[0].sample.t, v[0].sample.v), (160.5, 2.0));
    }

    #[test]
    fn a_broken_recording_names_file_line_and_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = write(&dir, "bad.om", "a_total 1 100\na_total x 101\n# EOF\n");
        let e = load_recording(&p, None).expect_err("malformed");
        let prefix = format!("{}:2:", p.display());
        assert!(e.starts_with(&prefix), "{e}");
        let p = write(&dir, "empty.om", "# EOF\n");
        let e = load_recording(&p, None).expect_err("empty");
        assert!(e.contains("holds no samples"), "{e}");
        let e = load_recording(&dir.path().join("missing.om"), None).expect_err("missing");
        assert!(
            e.starts_with("cannot read ") && e.contains("missing.om"),
            "{e}"
        );
    }

    #[test]
    fn the_service_gets_its_dashboard_and_anything_else_an_overview() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut text = String::new();
        for t in 0..30 {
            let ts = 1000 + t * 5;
            let _ = writeln!(text, "up{{job=\"x\",instance=\"h:1\"}} 1 {ts}");
            let _ = writeln!(text, "scrape_duration_seconds{{job=\"x\"}} 0.01 {ts}");
            let _ = writeln!(text, "slow_total 1 {ts}");
            let _ = writeln!(text, "fast_total {} {ts}", t * 100);
            for (le, c) in [("0.1", t), ("+Inf", 2 * t)] {
                let _ = writeln!(text, "lat_seconds_bucket{{le=\"{le}\"}} {c} {ts}");
            }
        }
        text.push_str("# EOF\n");
        let p = write(&dir, "o.om", &text);
        let r = load_recording(&p, None).expect("loads");
        let d = auto_dashboard(&r.source, r.end, "5s");
        assert_eq!(d.title, "Overview");
        let titles: Vec<&str> = d.panels.iter().map(|p| p.title.as_str()).collect();
        let fast = titles.iter().position(|t| *t == "fast_total (rate)");
        let slow = titles.iter().position(|t| *t == "slow_total (rate)");
        assert!(fast.is_some() && fast < slow, "busiest first: {titles:?}");
        assert!(titles.contains(&"lat_seconds p95"), "{titles:?}");
        assert!(titles.contains(&"Up by target"), "{titles:?}");
        assert_eq!(d.scrape_interval, std::time::Duration::from_secs(5));

        let p = write(
            &dir,
            "s.om",
            "app_request_count_total{route=\"/process\"} 3 1000\n# EOF\n",
        );
        let r = load_recording(&p, None).expect("loads");
        assert_eq!(auto_dashboard(&r.source, r.end, "5s"), default_dashboard());
    }

    #[test]
    fn toml_strings_quote_anything() {
        for title in ["plain", "it's", "a\"b\\c", "{{job}}"] {
            let mut toml = String::new();
            panel(&mut toml, title, "stat", "up", Some(title), "short", 3);
            let d = parse_dashboard(&toml, "t").expect("parses");
            assert_eq!(d.panels[0].title, title, "{toml}");
            assert_eq!(d.panels[0].queries[0].legend.as_deref(), Some(title));
        }
    }
}
