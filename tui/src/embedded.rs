//! promdash on its own engine: a recording loaded from a file (`--data FILE.om`) and the
//! dashboard it gets when none is named (the reference service's when the data has
//! `app_request_count_total`, otherwise an overview built from what the data holds).
//!
//! The dashboard, `query` and completion read it through the same
//! [`MetricsSource`](promdash_queries::source::MetricsSource) seam as a server.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, RwLock};

use promdash_engine::exposition::{LoadError, load_openmetrics};
use promdash_engine::source::Clock;
use promdash_engine::{Compat, EmbeddedSource, Engine, EngineOptions, Store, StoreConfig};
use promdash_queries::dashboard::{Dashboard, default_dashboard, parse_dashboard};
use promdash_queries::model::QueryData;

use crate::headless::promqltest::CompatArg;

/// The metric that tells the reference service (and the seed application) apart.
pub const SERVICE_METRIC: &str = "app_request_count_total";

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
    if names.iter().any(|n| n == SERVICE_METRIC) {
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
