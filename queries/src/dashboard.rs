//! Dashboard files: the TOML model, its defaults and its validation.
//!
//! A file is read in two steps. First serde reads it into "raw" structs that keep the
//! byte position of every value the user could get wrong (`toml::Spanned`), with
//! `deny_unknown_fields` everywhere. Then [`validate`] turns the raw structs into the
//! public [`Dashboard`], collecting every problem as `file:line:col: message; expected ...`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

/// The built-in default dashboard: the reference service.
pub const DEFAULT_DASHBOARD_TOML: &str = include_str!("../../dashboards/service.toml");
/// A dashboard of Prometheus's own metrics, useful against any Prometheus.
pub const PROMETHEUS_DASHBOARD_TOML: &str = include_str!("../../dashboards/prometheus.toml");

/// Refresh interval when the file does not set one.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(5);
/// Graph time range when the file does not set one.
pub const DEFAULT_RANGE: Duration = Duration::from_secs(15 * 60);

/// Scrape interval assumed for `$__rate_interval` when the file does not say (Grafana's
/// default for a Prometheus data source).
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// A validated dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub title: String,
    /// How often queries run (default 5s).
    pub refresh: Duration,
    /// Time window shown by graphs (default 15m).
    pub range: Duration,
    /// The servers' scrape interval, for `$__rate_interval` (default 15s).
    pub scrape_interval: Duration,
    pub panels: Vec<Panel>,
    pub alerts: Vec<AlertRule>,
    pub variables: Vec<Variable>,
    /// Optional `[connection]` table; command line and environment override it.
    pub connection: Option<Connection>,
    /// Grafana rows (from an imported dashboard), in panel order; empty for TOML files.
    pub rows: Vec<Row>,
    /// `[[scrape]]` tables: targets the embedded engine scrapes for this dashboard.
    pub scrape: Vec<ScrapeConfig>,
    /// `rule_files = [...]`: Prometheus rule files (paths or globs) evaluated while the
    /// dashboard runs; relative ones are taken from the dashboard's directory by
    /// [`load_dashboard`].
    pub rule_files: Vec<String>,
    /// Grafana's repeated panels and rows (from an imported dashboard): made into copies
    /// per variable value when the dashboard runs; empty for TOML files.
    pub repeats: Vec<crate::grafana::repeat::Repeat>,
}

/// One `[[scrape]]` table: a scrape job of the embedded engine, as a Prometheus
/// `scrape_configs` entry with static targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeConfig {
    /// The `job` label; unique in the file.
    pub job: String,
    /// URLs, or bare `host:port` meaning `http://host:port/metrics` (checked by the
    /// scraper, which names the target).
    pub targets: Vec<String>,
    /// `None`: the command line's `--scrape-interval`, else 5s.
    pub interval: Option<Duration>,
    /// `None`: the interval. Never longer than the interval.
    pub timeout: Option<Duration>,
    /// Labels added to every sample of the job.
    pub labels: BTreeMap<String, String>,
    pub honor_labels: bool,
    /// More samples in a page fail its scrape; 0 = no limit.
    pub sample_limit: u64,
    /// How to authenticate to the targets and check their TLS certificates.
    pub auth: ScrapeAuth,
}

/// The auth and TLS settings of a `[[scrape]]` table: those of `[connection]` (paths
/// relative to the file they came from, resolved by the loaders).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrapeAuth {
    pub bearer_token_file: Option<PathBuf>,
    pub basic_auth_user: Option<String>,
    pub basic_auth_password_file: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

impl ScrapeAuth {
    /// The secret and certificate files it names, with their keys.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        [
            ("bearer_token_file", &self.bearer_token_file),
            ("basic_auth_password_file", &self.basic_auth_password_file),
            ("ca_cert", &self.ca_cert),
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.as_deref().map(|p| (k, p)))
        .collect()
    }

    /// Relative paths are joined to `dir`, as [`Connection::resolve_paths`] does.
    pub fn resolve_paths(&mut self, dir: &Path) {
        resolve_auth_paths(
            dir,
            [
                &mut self.bearer_token_file,
                &mut self.basic_auth_password_file,
                &mut self.ca_cert,
                &mut self.client_cert,
                &mut self.client_key,
            ],
        );
    }
}

/// The secret and certificate files of a `[connection]` or `[[scrape]]` table
/// (`bearer_token_file`, `basic_auth_password_file`, `ca_cert`, `client_cert`,
/// `client_key`), relative ones joined to `dir`.
fn resolve_auth_paths(dir: &Path, paths: [&mut Option<PathBuf>; 5]) {
    for path in paths.into_iter().flatten() {
        if path.is_relative() {
            *path = dir.join(&*path);
        }
    }
}

/// The user's settings file (`config.toml`): a `[connection]` table and `[[scrape]]`
/// tables, both optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserConfig {
    pub connection: Option<Connection>,
    pub scrape: Vec<ScrapeConfig>,
}

/// A titled group of consecutive panels (a Grafana row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub title: String,
    /// Collapsed in the file: its panels are hidden (and not queried) until expanded.
    pub collapsed: bool,
    /// The panels it holds: indices into [`Dashboard::panels`].
    pub panels: Range<usize>,
}

impl Dashboard {
    /// The unit an alert's value is shown in: its own `unit`, else the unit of the first
    /// panel with a query of exactly the alert's expression, else a plain number.
    pub fn alert_unit(&self, rule: &AlertRule) -> Unit {
        if let Some(u) = &rule.unit {
            return u.clone();
        }
        self.panels
            .iter()
            .find(|p| p.queries.iter().any(|q| q.expr.trim() == rule.expr.trim()))
            .map_or(Unit::Short, |p| p.unit.clone())
    }

    /// The panels an alert marks (red border while it fires): the one its `panel` names,
    /// else every panel with a query of exactly the alert's expression.
    pub fn alert_panels(&self, rule: &AlertRule) -> Vec<usize> {
        self.panels
            .iter()
            .enumerate()
            .filter(|(_, p)| match &rule.panel {
                Some(title) => &p.title == title,
                None => p.queries.iter().any(|q| q.expr.trim() == rule.expr.trim()),
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// What a panel draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PanelKind {
    Graph,
    Stat,
    Gauge,
    Table,
    Heatmap,
    /// Text only, no query (Grafana's text panel, or a note standing in for a panel
    /// type promdash does not draw).
    Text,
}

impl PanelKind {
    const NAMES: &'static str = "graph, stat, gauge, table, heatmap or text";

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "graph" => Self::Graph,
            "stat" => Self::Stat,
            "gauge" => Self::Gauge,
            "table" => Self::Table,
            "heatmap" => Self::Heatmap,
            "text" => Self::Text,
            _ => return None,
        })
    }

    /// The name as written in a dashboard file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Graph => "graph",
            Self::Stat => "stat",
            Self::Gauge => "gauge",
            Self::Table => "table",
            Self::Heatmap => "heatmap",
            Self::Text => "text",
        }
    }

    /// Default width in grid columns (of 12): 4 for stat and gauge, 12 otherwise.
    pub fn default_width(self) -> u8 {
        match self {
            Self::Stat | Self::Gauge => 4,
            Self::Graph | Self::Table | Self::Heatmap | Self::Text => 12,
        }
    }

    /// Whether this kind runs range queries (graphs, heatmaps) or instant ones.
    pub fn is_range(self) -> bool {
        matches!(self, Self::Graph | Self::Heatmap)
    }
}

/// One panel of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub kind: PanelKind,
    /// `query = "..."` becomes one query (with the panel's `legend`, if any).
    pub queries: Vec<PanelQuery>,
    pub unit: Unit,
    /// Columns of 12, in 1..=12. Default: [`PanelKind::default_width`].
    pub width: u8,
    /// Height in rows, a hint.
    pub height: Option<u16>,
    /// Strictly ascending by value.
    pub thresholds: Vec<Threshold>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub decimals: Option<u8>,
    /// The text a `text` panel shows.
    pub text: Option<String>,
    /// A graph's legend as a table with these columns per series (`legend_calcs =
    /// ["min", "mean", "max", "lastNotNull"]`, Grafana's `legend.calcs`); empty: the
    /// plain legend.
    pub legend_calcs: Vec<crate::grafana::calc::Calc>,
    /// Value mappings, `no_value`, threshold mode and base colour, the stat reducer,
    /// stacking and per-series overrides (Grafana's field config).
    pub field: crate::grafana::fields::FieldConfig,
}

impl Panel {
    /// Gauge bounds: `min`/`max` when set, else 0..1 for percentunit, 0..100 for percent,
    /// and 0..(last threshold or 1) otherwise.
    pub fn gauge_bounds(&self) -> (f64, f64) {
        let (dmin, dmax) = match self.unit {
            Unit::PercentUnit => (0.0, 1.0),
            Unit::Percent => (0.0, 100.0),
            // Percentage thresholds say nothing of the values: Grafana's 0..100.
            _ if self.field.thresholds_mode
                == crate::grafana::fields::ThresholdsMode::Percentage =>
            {
                (0.0, 100.0)
            }
            _ => (0.0, self.thresholds.last().map_or(1.0, |t| t.value)),
        };
        (self.min.unwrap_or(dmin), self.max.unwrap_or(dmax))
    }
}

/// One PromQL expression of a panel, with an optional legend template (`{{route}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    pub expr: String,
    pub legend: Option<String>,
    /// How a Grafana target's step is chosen (min step, `intervalFactor`); the default
    /// (always, in a TOML file) is the step from the range and the chart's width.
    pub step: crate::grafana::interval::StepOptions,
}

/// How values are formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// Plain number with SI suffixes (`short`; `none` is [`Unit::Other`], no suffixes).
    Short,
    /// 0..100 (`percent`).
    Percent,
    /// 0..1 shown as percent (`percentunit`).
    PercentUnit,
    /// `seconds` or `s`.
    Seconds,
    /// `ms` or `milliseconds`.
    Milliseconds,
    /// `bytes`.
    Bytes,
    /// `reqps`: requests per second.
    ReqPerSec,
    /// Anything else, shown as a suffix.
    Other(String),
}

impl Unit {
    /// The unit named `s` (any name is accepted: unknown ones become [`Unit::Other`]).
    pub fn parse(s: &str) -> Self {
        match s {
            "short" | "" => Self::Short,
            "percent" => Self::Percent,
            "percentunit" => Self::PercentUnit,
            "seconds" | "s" => Self::Seconds,
            "ms" | "milliseconds" => Self::Milliseconds,
            "bytes" => Self::Bytes,
            "reqps" => Self::ReqPerSec,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A coloured threshold: values at or above `value` take `color`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub color: Color,
}

/// Named colours, or `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Color {
    Green,
    Yellow,
    Orange,
    Red,
    Blue,
    Purple,
    Cyan,
    Gray,
    White,
    Rgb(u8, u8, u8),
}

impl Color {
    const NAMES: &'static str =
        "green, yellow, orange, red, blue, purple, cyan, gray, white or #rrggbb";

    /// A colour name or `#rrggbb`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "green" => Self::Green,
            "yellow" => Self::Yellow,
            "orange" => Self::Orange,
            "red" => Self::Red,
            "blue" => Self::Blue,
            "purple" => Self::Purple,
            "cyan" => Self::Cyan,
            "gray" | "grey" => Self::Gray,
            "white" => Self::White,
            hex if hex.len() == 7 && hex.starts_with('#') => {
                let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
                Self::Rgb(byte(1)?, byte(3)?, byte(5)?)
            }
            _ => return None,
        })
    }
}

/// How an alert compares each sample with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl CompareOp {
    const NAMES: &'static str = "one of >, >=, <, <=, ==, !=";

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "<" => Self::Lt,
            "<=" => Self::Le,
            "==" => Self::Eq,
            "!=" => Self::Ne,
            _ => return None,
        })
    }

    /// `value OP threshold` as PromQL's filtering comparison decides it (IEEE 754):
    /// with a NaN on either side every operator is false except `!=`, which is true.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
            Self::Eq => value == threshold,
            Self::Ne => value != threshold,
        }
    }

    /// The operator as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Eq => "==",
            Self::Ne => "!=",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How loud an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    const NAMES: &'static str = "critical, warning or info";

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "critical" => Self::Critical,
            "warning" => Self::Warning,
            "info" => Self::Info,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client-side alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub name: String,
    pub expr: String,
    /// With a threshold each sample is compared; without, any sample returned is "true".
    /// A `threshold` written without `op` means `>`.
    pub op: Option<CompareOp>,
    pub threshold: Option<f64>,
    /// How long the condition must hold before pending turns into firing (default 0s).
    pub for_: Duration,
    /// How long a firing alert stays firing after the condition clears (default 0s).
    pub keep_firing_for: Duration,
    /// Default `warning`.
    pub severity: Severity,
    /// Template with `{{ $value }}` and `{{ $labels.name }}`; may be empty.
    pub summary: String,
    /// Title of the panel whose border turns red while this alert fires (a title only
    /// one panel has). When `None`, the panels with the same expression are marked.
    pub panel: Option<String>,
    /// How the alert's value is shown. `None` in the file: the unit of the panel with the
    /// same expression, if one has it (see [`Dashboard::alert_unit`]), else a plain number.
    pub unit: Option<Unit>,
}

impl AlertRule {
    /// Whether one sample value makes the condition true, as in a Prometheus alerting
    /// rule `expr OP threshold`: a NaN sample fails `>`, `>=`, `<`, `<=`, `==` and passes
    /// `!=`; without a threshold every returned sample is true, NaN included (Prometheus
    /// fires a rule whose expression returns a NaN series).
    pub fn condition_holds(&self, value: f64) -> bool {
        match (self.op, self.threshold) {
            (Some(op), Some(t)) => op.holds(value, t),
            (None, Some(t)) => value > t,
            // Validation never produces an op without a threshold.
            (_, None) => true,
        }
    }
}

/// A dashboard variable, used as `$name` in expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub source: VariableSource,
    /// Several values may be chosen at once (joined as a regex alternation).
    pub multi: bool,
    /// An "All" entry is offered.
    pub all: bool,
    /// The value(s) chosen at start (`default = "a"` or `default = ["a", "b"]`). Empty:
    /// All for a `multi` or `all` variable, else the first value.
    pub default: Vec<String>,
    /// What "All" stands for instead of every value (Grafana's `allValue`, e.g. `.*`),
    /// put in as written.
    pub all_value: Option<String>,
    /// Keeps only the values it matches; with a capture group (or a group named
    /// `value`), the captured text is the value (Grafana's `regex`, `/.../` allowed).
    pub regex: Option<String>,
    /// How the values are ordered (Grafana's `sort`): 0 as the server lists them, 1/2
    /// alphabetical up/down, 3/4 numerical up/down, 5/6 alphabetical ignoring case,
    /// 7/8 natural.
    pub sort: u8,
    /// Substitution follows Grafana exactly (imported dashboards): the one value of a
    /// variable that is neither `multi` nor `all` is put in without regex escaping.
    pub grafana: bool,
    /// An `interval` variable with `auto` (Grafana): its `auto_count` steps and
    /// `auto_min`. The value `auto` then stands for the interval that many steps make of
    /// the dashboard's range, rounded as Grafana rounds intervals
    /// ([`crate::grafana::interval::auto_interval`]).
    pub auto_interval: Option<(u32, std::time::Duration)>,
}

/// Where a variable's choices come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableSource {
    /// `query = "label_values(job)"` or `query = "label_values(up{env=\"x\"}, job)"`.
    LabelValues {
        label: String,
        matcher: Option<String>,
    },
    /// `values = ["a", "b"]`.
    Values(Vec<String>),
    /// `query = "query_result(expr)"`: each series of the instant query's answer as
    /// `name{label="value", ...} value timestamp` (filter it with `regex`).
    QueryResult(String),
    /// `query = "metrics(regex)"`: metric names matching the regex.
    Metrics(String),
}

/// The optional `[connection]` table. Secrets are only ever named by file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connection {
    pub url: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub bearer_token_file: Option<PathBuf>,
    pub basic_auth_user: Option<String>,
    pub basic_auth_password_file: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    pub timeout: Option<Duration>,
    pub max_response_bytes: Option<u64>,
}

impl Connection {
    /// Relative file paths in a file mean "next to this file", as in Prometheus's own
    /// configuration: they are joined to `dir`, the directory of the file they came from.
    pub fn resolve_paths(&mut self, dir: &Path) {
        resolve_auth_paths(
            dir,
            [
                &mut self.bearer_token_file,
                &mut self.basic_auth_password_file,
                &mut self.ca_cert,
                &mut self.client_cert,
                &mut self.client_key,
            ],
        );
    }
}

/// The directory relative paths in the file at `path` are resolved against.
fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// One problem in a dashboard file, at a 1-based line and column (columns count chars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub expected: Option<String>,
}

/// Every problem found in a dashboard file. Display prints one line per problem:
/// `file:line:col: message; expected ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for DashboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{}:{}: {}", self.file, p.line, p.col, p.message)?;
            if let Some(e) = &p.expected {
                write!(f, "; expected {e}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for DashboardError {}

/// The built-in default dashboard (`dashboards/service.toml`).
pub fn default_dashboard() -> Dashboard {
    // The embedded file is checked by the unit test `builtin_dashboards_parse`.
    parse_dashboard(DEFAULT_DASHBOARD_TOML, "<built-in service.toml>")
        .unwrap_or_else(|e| panic!("the built-in dashboard is invalid: {e}"))
}

/// The built-in dashboard of Prometheus's own metrics (`dashboards/prometheus.toml`).
pub fn prometheus_dashboard() -> Dashboard {
    // Checked by the unit test `builtin_dashboards_parse`.
    parse_dashboard(PROMETHEUS_DASHBOARD_TOML, "<built-in prometheus.toml>")
        .unwrap_or_else(|e| panic!("the built-in dashboard is invalid: {e}"))
}

/// Reads and validates a dashboard file; relative paths in its `[connection]` are
/// resolved against the file's directory.
pub fn load_dashboard(path: &Path) -> Result<Dashboard, DashboardError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) if crate::grafana::is_json(&text) => import_grafana(&text, &name),
        Ok(text) => parse_dashboard(&text, &name).map(|mut d| {
            if let Some(c) = d.connection.as_mut() {
                c.resolve_paths(directory_of(path));
            }
            d.rule_files = resolve_rule_files(&d.rule_files, directory_of(path));
            for s in &mut d.scrape {
                s.auth.resolve_paths(directory_of(path));
            }
            d
        }),
        Err(e) => Err(DashboardError {
            file: name,
            problems: vec![Problem {
                line: 1,
                col: 1,
                message: format!("cannot read the file: {e}"),
                expected: Some("a readable TOML dashboard file".into()),
            }],
        }),
    }
}

/// A Grafana dashboard (JSON) as a dashboard; what was not carried over is logged (and
/// listed by `promdash validate`).
pub fn import_grafana(text: &str, name: &str) -> Result<Dashboard, DashboardError> {
    match crate::grafana::import(text) {
        Ok(im) => {
            for w in &im.warnings {
                tracing::info!(file = name, "Grafana import: {w}");
            }
            Ok(im.dashboard)
        }
        Err(e) => {
            let (line, col) = match &e {
                crate::grafana::ImportError::Json { line, col, .. } => (*line, *col),
                crate::grafana::ImportError::NotADashboard(_) => (1, 1),
            };
            let message = match e {
                crate::grafana::ImportError::Json { message, .. } => {
                    format!("not valid JSON: {message}")
                }
                other => other.to_string(),
            };
            Err(DashboardError {
                file: name.to_owned(),
                problems: vec![Problem {
                    line,
                    col,
                    message,
                    expected: Some(
                        "a Grafana dashboard (JSON) or a promdash dashboard (TOML)".into(),
                    ),
                }],
            })
        }
    }
}

/// Reads the user's settings file (`~/.config/promdash/config.toml`): its optional
/// `[connection]` table, checked like a dashboard's. A missing file is no error (`None`).
pub fn load_config(path: &Path) -> Result<Option<Connection>, DashboardError> {
    load_user_config(path).map(|c| c.connection)
}

/// Reads the user's settings file, both its `[connection]` and its `[[scrape]]` tables;
/// relative paths are resolved against the file's directory. A missing file is an empty
/// configuration.
pub fn load_user_config(path: &Path) -> Result<UserConfig, DashboardError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_user_config(&text, &path.display().to_string()).map(|mut c| {
            if let Some(conn) = c.connection.as_mut() {
                conn.resolve_paths(directory_of(path));
            }
            for s in &mut c.scrape {
                s.auth.resolve_paths(directory_of(path));
            }
            c
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UserConfig::default()),
        Err(e) => Err(DashboardError {
            file: path.display().to_string(),
            problems: vec![Problem {
                line: 1,
                col: 1,
                message: format!("cannot read the file: {e}"),
                expected: Some("a readable TOML settings file".into()),
            }],
        }),
    }
}

/// Rule file patterns as written in `file_dir`'s file: relative ones from that directory.
fn resolve_rule_files(patterns: &[String], file_dir: &Path) -> Vec<String> {
    patterns
        .iter()
        .map(|p| {
            if Path::new(p).is_relative() {
                file_dir.join(p).display().to_string()
            } else {
                p.clone()
            }
        })
        .collect()
}

/// The `rule_files = [...]` of the user's settings file (relative ones from its
/// directory); a missing file has none.
pub fn load_config_rule_files(path: &Path) -> Result<Vec<String>, DashboardError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        // load_config reports an unreadable file.
        Err(_) => return Ok(Vec::new()),
    };
    let file_name = path.display().to_string();
    let mut v = Validator {
        text: &text,
        problems: Vec::new(),
    };
    let raw: RawConfig = match toml::from_str(&text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (message, expected) = split_toml_message(e.message());
            v.push(span, message, expected);
            return Err(v.finish(&file_name));
        }
    };
    let files = v.rule_files(raw.rule_files);
    if v.problems.is_empty() {
        Ok(resolve_rule_files(&files, directory_of(path)))
    } else {
        Err(v.finish(&file_name))
    }
}

/// Parses the user's settings file and gives its `[connection]` table (its `[[scrape]]`
/// tables are checked too).
pub fn parse_config(text: &str, file_name: &str) -> Result<Option<Connection>, DashboardError> {
    parse_user_config(text, file_name).map(|c| c.connection)
}

/// Parses the user's settings file: an optional `[connection]` table and `[[scrape]]`
/// tables.
pub fn parse_user_config(text: &str, file_name: &str) -> Result<UserConfig, DashboardError> {
    let mut v = Validator {
        text,
        problems: Vec::new(),
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (message, expected) = split_toml_message(e.message());
            v.push(span, message, expected);
            return Err(v.finish(file_name));
        }
    };
    let connection = raw.connection.map(|c| v.connection(c));
    let mut jobs = HashSet::new();
    let scrape = raw
        .scrape
        .into_iter()
        .filter_map(|s| v.scrape(s, &mut jobs))
        .collect();
    if v.problems.is_empty() {
        Ok(UserConfig { connection, scrape })
    } else {
        Err(v.finish(file_name))
    }
}

/// Parses and validates dashboard TOML. `file_name` is only used in messages.
pub fn parse_dashboard(text: &str, file_name: &str) -> Result<Dashboard, DashboardError> {
    let mut v = Validator {
        text,
        problems: Vec::new(),
    };
    let raw: RawDashboard = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (message, expected) = split_toml_message(e.message());
            v.push(span, message, expected);
            return Err(v.finish(file_name));
        }
    };
    let dashboard = v.dashboard(raw);
    if v.problems.is_empty() {
        Ok(dashboard)
    } else {
        Err(v.finish(file_name))
    }
}

/// serde messages read "unknown field `x`, expected one of `a`, `b`": split them.
fn split_toml_message(msg: &str) -> (String, Option<String>) {
    let msg = msg.trim();
    if let Some(i) = msg.find(", expected ") {
        let (m, e) = msg.split_at(i);
        (m.to_owned(), Some(e[", expected ".len()..].to_owned()))
    } else {
        (msg.to_owned(), None)
    }
}

/// Converts a byte offset into a 1-based (line, column); columns count chars.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

// ---------------------------------------------------------------------------------------
// Where things are in the file, for checks beyond the model (`promdash validate`)

/// What a [`Site`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteKind {
    /// Query `query` (0-based) of panel `panel`.
    PanelQuery { panel: usize, query: usize },
    /// The `unit` of panel `panel`.
    PanelUnit { panel: usize },
    /// The `title` of panel `panel`.
    PanelTitle { panel: usize },
    /// The `expr` of alert `alert`.
    AlertExpr { alert: usize },
    /// The `summary` of alert `alert`.
    AlertSummary { alert: usize },
    /// The `unit` of alert `alert`.
    AlertUnit { alert: usize },
    /// The `query` of variable `variable`.
    VariableQuery { variable: usize },
}

/// A string value of a dashboard file and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub kind: SiteKind,
    /// The value as read.
    pub value: String,
    /// Byte range of the value in the file, quotes included.
    pub span: Range<usize>,
}

/// Every string value of a dashboard file that later checks look into, with where it is.
/// Meant for a file [`parse_dashboard`] accepted: its indices are those of the
/// [`Dashboard`]'s panels, alerts and variables. An unreadable file gives none.
pub fn sites(text: &str) -> Vec<Site> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        panels: Vec<FilePanel>,
        #[serde(default)]
        alerts: Vec<FileAlert>,
        #[serde(default)]
        variables: Vec<FileVariable>,
    }
    #[derive(Deserialize)]
    struct FilePanel {
        title: Option<Spanned<String>>,
        query: Option<Spanned<String>>,
        queries: Option<Vec<FileQuery>>,
        unit: Option<Spanned<String>>,
    }
    #[derive(Deserialize)]
    struct FileQuery {
        expr: Option<Spanned<String>>,
    }
    #[derive(Deserialize)]
    struct FileAlert {
        expr: Option<Spanned<String>>,
        summary: Option<Spanned<String>>,
        unit: Option<Spanned<String>>,
    }
    #[derive(Deserialize)]
    struct FileVariable {
        query: Option<Spanned<String>>,
    }
    let Ok(file) = toml::from_str::<File>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut put = |kind: SiteKind, v: Option<Spanned<String>>| {
        if let Some(v) = v {
            let span = v.span();
            out.push(Site {
                kind,
                value: v.into_inner(),
                span,
            });
        }
    };
    for (panel, p) in file.panels.into_iter().enumerate() {
        put(SiteKind::PanelTitle { panel }, p.title);
        put(SiteKind::PanelUnit { panel }, p.unit);
        put(SiteKind::PanelQuery { panel, query: 0 }, p.query);
        for (query, q) in p.queries.into_iter().flatten().enumerate() {
            put(SiteKind::PanelQuery { panel, query }, q.expr);
        }
    }
    for (alert, a) in file.alerts.into_iter().enumerate() {
        put(SiteKind::AlertExpr { alert }, a.expr);
        put(SiteKind::AlertSummary { alert }, a.summary);
        put(SiteKind::AlertUnit { alert }, a.unit);
    }
    for (variable, v) in file.variables.into_iter().enumerate() {
        put(SiteKind::VariableQuery { variable }, v.query);
    }
    out
}

/// The byte offset in the file of byte `at` of a string value written at `span` (quotes
/// included): TOML escapes and the quotes are stepped over, so a problem found in the
/// value can be shown at its line and column in the file.
pub fn offset_in_value(text: &str, span: &Range<usize>, at: usize) -> usize {
    let Some(raw) = text.get(span.clone()) else {
        return span.start;
    };
    let (open, literal) = if raw.starts_with("\"\"\"") {
        (3, false)
    } else if raw.starts_with("'''") {
        (3, true)
    } else {
        (1, raw.starts_with('\''))
    };
    let mut i = open;
    // A newline right after a multi-line opening delimiter is not part of the value.
    if open == 3 {
        if raw[i..].starts_with("\r\n") {
            i += 2;
        } else if raw[i..].starts_with('\n') {
            i += 1;
        }
    }
    let bytes = raw.as_bytes();
    let mut value_pos = 0;
    while value_pos < at && i < raw.len() {
        if !literal && bytes[i] == b'\\' && i + 1 < raw.len() {
            let (raw_len, value_len) = match bytes[i + 1] {
                b'u' => (6, 1),
                b'U' => (10, 1),
                b'\n' | b'\r' | b' ' | b'\t' => {
                    // A line-ending backslash: the newline and leading blanks vanish.
                    let rest = &raw[i + 1..];
                    let skipped = rest.len() - rest.trim_start().len();
                    (1 + skipped, 0)
                }
                _ => (2, 1),
            };
            i += raw_len;
            value_pos += value_len;
        } else {
            let c = raw[i..].chars().next().map_or(1, char::len_utf8);
            i += c;
            value_pos += c;
        }
    }
    span.start + i.min(raw.len())
}

// ---------------------------------------------------------------------------------------
// Raw file model

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    title: Option<String>,
    refresh: Option<Spanned<String>>,
    range: Option<Spanned<String>>,
    scrape_interval: Option<Spanned<String>>,
    #[serde(default)]
    panels: Vec<Spanned<RawPanel>>,
    #[serde(default)]
    alerts: Vec<Spanned<RawAlert>>,
    #[serde(default)]
    variables: Vec<Spanned<RawVariable>>,
    connection: Option<Spanned<RawConnection>>,
    #[serde(default)]
    scrape: Vec<Spanned<RawScrape>>,
    rule_files: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScrape {
    job: Option<Spanned<String>>,
    targets: Option<Spanned<Vec<Spanned<String>>>>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    honor_labels: bool,
    sample_limit: Option<Spanned<i64>>,
    bearer_token_file: Option<Spanned<PathBuf>>,
    basic_auth_user: Option<Spanned<String>>,
    basic_auth_password_file: Option<Spanned<PathBuf>>,
    ca_cert: Option<Spanned<PathBuf>>,
    client_cert: Option<Spanned<PathBuf>>,
    client_key: Option<Spanned<PathBuf>>,
    #[serde(default)]
    insecure_skip_verify: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPanel {
    title: Option<String>,
    kind: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
    legend: Option<String>,
    queries: Option<Spanned<Vec<Spanned<RawQuery>>>>,
    unit: Option<String>,
    width: Option<Spanned<i64>>,
    height: Option<Spanned<i64>>,
    thresholds: Option<Spanned<Vec<Spanned<RawThreshold>>>>,
    min: Option<Spanned<f64>>,
    max: Option<Spanned<f64>>,
    decimals: Option<Spanned<i64>>,
    text: Option<Spanned<String>>,
    legend_calcs: Option<Vec<Spanned<String>>>,
    mappings: Option<Vec<Spanned<RawMapping>>>,
    no_value: Option<String>,
    thresholds_mode: Option<Spanned<String>>,
    base_color: Option<Spanned<String>>,
    reduce: Option<Spanned<String>>,
    stacking: Option<Spanned<String>>,
    display_name: Option<String>,
    overrides: Option<Vec<Spanned<RawOverride>>>,
}

/// `mappings = [{ value = "1", text = "Up", color = "green" }, { from = 0.0, to = 10.0,
/// text = "low" }, { special = "null", text = "N/A" }, { regex = "...", text = "..." }]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    value: Option<String>,
    from: Option<f64>,
    to: Option<f64>,
    special: Option<Spanned<String>>,
    regex: Option<Spanned<String>>,
    text: Option<String>,
    color: Option<Spanned<String>>,
}

/// `[[panels.overrides]]`: a matcher (`name`, `regex`, `query`, or none for every
/// series) and the properties it sets.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    name: Option<String>,
    regex: Option<Spanned<String>>,
    query: Option<Spanned<i64>>,
    display_name: Option<String>,
    color: Option<Spanned<String>>,
    unit: Option<String>,
    negative_y: Option<bool>,
    axis: Option<Spanned<String>>,
    hidden: Option<bool>,
    stacking: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    expr: Option<Spanned<String>>,
    legend: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    value: Spanned<f64>,
    color: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    name: Option<Spanned<String>>,
    expr: Option<Spanned<String>>,
    op: Option<Spanned<String>>,
    threshold: Option<Spanned<f64>>,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
    keep_firing_for: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    summary: Option<String>,
    panel: Option<Spanned<String>>,
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    name: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
    values: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    multi: bool,
    #[serde(default)]
    all: bool,
    default: Option<Spanned<RawDefault>>,
    all_value: Option<String>,
    regex: Option<String>,
    sort: Option<Spanned<i64>>,
}

/// `default = "a"` or `default = ["a", "b"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDefault {
    One(String),
    Many(Vec<String>),
}

/// `config.toml`: only connection settings so far.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    connection: Option<Spanned<RawConnection>>,
    rule_files: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    scrape: Vec<Spanned<RawScrape>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    url: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    bearer_token_file: Option<PathBuf>,
    basic_auth_user: Option<String>,
    basic_auth_password_file: Option<Spanned<PathBuf>>,
    ca_cert: Option<PathBuf>,
    client_cert: Option<Spanned<PathBuf>>,
    client_key: Option<Spanned<PathBuf>>,
    #[serde(default)]
    insecure_skip_verify: bool,
    timeout: Option<Spanned<String>>,
    max_response_bytes: Option<Spanned<i64>>,
}

// ---------------------------------------------------------------------------------------
// Validation

struct Validator<'a> {
    text: &'a str,
    problems: Vec<(Range<usize>, String, Option<String>)>,
}

impl Validator<'_> {
    fn push(&mut self, span: Range<usize>, message: impl Into<String>, expected: Option<String>) {
        self.problems.push((span, message.into(), expected));
    }

    fn err(&mut self, span: Range<usize>, message: impl Into<String>, expected: &str) {
        self.push(span, message, Some(expected.to_owned()));
    }

    /// The auth settings that go in pairs, as `[connection]` and `[[scrape]]` tables
    /// both have them: a client certificate with its key, a password file with a user.
    /// Whether they are complete.
    fn auth_pairs(
        &mut self,
        client_cert: Option<&Spanned<PathBuf>>,
        client_key: Option<&Spanned<PathBuf>>,
        has_user: bool,
        password_file: Option<&Spanned<PathBuf>>,
    ) -> bool {
        let mut ok = true;
        match (client_cert, client_key) {
            (Some(c), None) => {
                self.err(
                    c.span(),
                    "client_cert without client_key",
                    "both or neither",
                );
                ok = false;
            }
            (None, Some(k)) => {
                self.err(
                    k.span(),
                    "client_key without client_cert",
                    "both or neither",
                );
                ok = false;
            }
            _ => {}
        }
        if let (false, Some(p)) = (has_user, password_file) {
            self.err(
                p.span(),
                "basic_auth_password_file without basic_auth_user",
                "basic_auth_user = \"...\" as well",
            );
            ok = false;
        }
        ok
    }

    fn finish(self, file: &str) -> DashboardError {
        let mut problems: Vec<Problem> = self
            .problems
            .into_iter()
            .map(|(span, message, expected)| {
                let (line, col) = line_col(self.text, span.start);
                Problem {
                    line,
                    col,
                    message,
                    expected,
                }
            })
            .collect();
        problems.sort_by_key(|p| (p.line, p.col));
        DashboardError {
            file: file.to_owned(),
            problems,
        }
    }

    fn duration(&mut self, what: &str, s: &Spanned<String>, allow_zero: bool) -> Option<Duration> {
        match parse_duration(s.get_ref()) {
            Some(d) if allow_zero || !d.is_zero() => Some(d),
            Some(_) => {
                self.err(
                    s.span(),
                    format!("{what} must be longer than zero"),
                    "a positive duration such as \"5s\"",
                );
                None
            }
            None => {
                self.err(
                    s.span(),
                    format!("{what}: {:?} is not a duration", s.get_ref()),
                    "a duration such as \"30s\", \"5m\", \"1h30m\" or \"500ms\"",
                );
                None
            }
        }
    }

    fn dashboard(&mut self, raw: RawDashboard) -> Dashboard {
        let refresh = raw
            .refresh
            .as_ref()
            .and_then(|s| self.duration("refresh", s, false))
            .unwrap_or(DEFAULT_REFRESH);
        let range = raw
            .range
            .as_ref()
            .and_then(|s| self.duration("range", s, false))
            .unwrap_or(DEFAULT_RANGE);
        let scrape_interval = raw
            .scrape_interval
            .as_ref()
            .and_then(|s| self.duration("scrape_interval", s, false))
            .unwrap_or(DEFAULT_SCRAPE_INTERVAL);
        let panels: Vec<Panel> = raw
            .panels
            .into_iter()
            .filter_map(|p| self.panel(p))
            .collect();
        let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
        let mut alerts = Vec::new();
        let mut alert_names: HashSet<String> = HashSet::new();
        for a in raw.alerts {
            if let Some(rule) = self.alert(a, &titles, &mut alert_names) {
                alerts.push(rule);
            }
        }
        let mut var_names: HashSet<String> = HashSet::new();
        let variables = raw
            .variables
            .into_iter()
            .filter_map(|v| self.variable(v, &mut var_names))
            .collect();
        let connection = raw.connection.map(|c| self.connection(c));
        let mut jobs = HashSet::new();
        let scrape = raw
            .scrape
            .into_iter()
            .filter_map(|s| self.scrape(s, &mut jobs))
            .collect();
        let rule_files = self.rule_files(raw.rule_files);
        Dashboard {
            title: raw.title.unwrap_or_else(|| "promdash".to_owned()),
            refresh,
            range,
            scrape_interval,
            panels,
            alerts,
            variables,
            connection,
            rows: Vec::new(),
            scrape,
            rule_files,
            repeats: Vec::new(),
        }
    }

    /// `rule_files = [...]`: paths or globs, none empty.
    fn rule_files(&mut self, raw: Option<Spanned<Vec<Spanned<String>>>>) -> Vec<String> {
        let mut out = Vec::new();
        for f in raw.map(Spanned::into_inner).unwrap_or_default() {
            if f.get_ref().trim().is_empty() {
                self.err(
                    f.span(),
                    "a rule file is empty",
                    "a path or glob such as \"rules/*.yml\"",
                );
            } else {
                out.push(f.into_inner());
            }
        }
        out
    }

    /// One `[[scrape]]` table, checked as Prometheus checks a scrape config: a unique
    /// job name, at least one target, a timeout no longer than the interval, label names
    /// of `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__`.
    fn scrape(
        &mut self,
        raw: Spanned<RawScrape>,
        jobs: &mut HashSet<String>,
    ) -> Option<ScrapeConfig> {
        let span = raw.span();
        let raw = raw.into_inner();
        let mut ok = true;
        let job = match &raw.job {
            Some(j) if j.get_ref().trim().is_empty() => {
                self.err(
                    j.span(),
                    "scrape job is empty",
                    "a job name such as \"api\"",
                );
                None
            }
            Some(j) if !jobs.insert(j.get_ref().clone()) => {
                self.err(
                    j.span(),
                    format!("scrape job {:?} is defined twice", j.get_ref()),
                    "one [[scrape]] table per job",
                );
                None
            }
            Some(j) => Some(j.get_ref().clone()),
            None => {
                self.err(span.clone(), "[[scrape]] has no job", "job = \"api\"");
                None
            }
        };
        let targets: Vec<String> = match &raw.targets {
            Some(t) if t.get_ref().is_empty() => {
                self.err(
                    t.span(),
                    "scrape targets are empty",
                    "targets = [\"127.0.0.1:8080\"] (host:port or a URL)",
                );
                ok = false;
                Vec::new()
            }
            Some(t) => {
                for target in t.get_ref() {
                    if target.get_ref().trim().is_empty() {
                        self.err(
                            target.span(),
                            "a scrape target is empty",
                            "host:port or a URL",
                        );
                        ok = false;
                    }
                }
                t.get_ref()
                    .iter()
                    .map(|t| t.get_ref().trim().to_owned())
                    .collect()
            }
            None => {
                self.err(
                    span.clone(),
                    "[[scrape]] has no targets",
                    "targets = [\"127.0.0.1:8080\"] (host:port or a URL)",
                );
                ok = false;
                Vec::new()
            }
        };
        let interval = match &raw.interval {
            Some(i) => {
                let d = self.duration("scrape interval", i, false);
                ok &= d.is_some();
                d
            }
            None => None,
        };
        let timeout = match &raw.timeout {
            Some(t) => match self.duration("scrape timeout", t, false) {
                Some(d) if interval.is_some_and(|i| d > i) => {
                    self.err(
                        t.span(),
                        "scrape timeout is longer than the interval",
                        "a timeout no longer than the interval",
                    );
                    ok = false;
                    None
                }
                Some(d) => Some(d),
                None => {
                    ok = false;
                    None
                }
            },
            None => None,
        };
        let mut labels = BTreeMap::new();
        for (n, value) in raw.labels {
            let valid = n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !n.starts_with("__");
            if valid {
                labels.insert(n, value.into_inner());
            } else {
                self.err(
                    value.span(),
                    format!("{n:?} is not a label name a scrape may add"),
                    "[a-zA-Z_][a-zA-Z0-9_]*, not starting with __",
                );
                ok = false;
            }
        }
        let sample_limit = match &raw.sample_limit {
            Some(l) => match u64::try_from(*l.get_ref()) {
                Ok(n) => n,
                Err(_) => {
                    self.err(l.span(), "sample_limit is negative", "0 (no limit) or more");
                    ok = false;
                    0
                }
            },
            None => 0,
        };
        ok &= self.auth_pairs(
            raw.client_cert.as_ref(),
            raw.client_key.as_ref(),
            raw.basic_auth_user.is_some(),
            raw.basic_auth_password_file.as_ref(),
        );
        if let (Some(b), Some(_)) = (&raw.bearer_token_file, &raw.basic_auth_user) {
            self.err(
                b.span(),
                "bearer_token_file and basic_auth_user in one [[scrape]] table",
                "one way to authenticate",
            );
            ok = false;
        }
        for path in [
            &raw.bearer_token_file,
            &raw.basic_auth_password_file,
            &raw.ca_cert,
            &raw.client_cert,
            &raw.client_key,
        ]
        .into_iter()
        .flatten()
        {
            if path.get_ref().as_os_str().is_empty() {
                self.err(path.span(), "the file name is empty", "a path to a file");
                ok = false;
            }
        }
        let file = |p: Option<Spanned<PathBuf>>| p.map(Spanned::into_inner);
        let auth = ScrapeAuth {
            bearer_token_file: file(raw.bearer_token_file),
            basic_auth_user: raw.basic_auth_user.map(Spanned::into_inner),
            basic_auth_password_file: file(raw.basic_auth_password_file),
            ca_cert: file(raw.ca_cert),
            client_cert: file(raw.client_cert),
            client_key: file(raw.client_key),
            insecure_skip_verify: raw.insecure_skip_verify,
        };
        Some(ScrapeConfig {
            job: job?,
            targets,
            interval,
            timeout,
            labels,
            honor_labels: raw.honor_labels,
            sample_limit,
            auth,
        })
        .filter(|_| ok)
    }

    fn expr(&mut self, what: &str, s: &Spanned<String>) -> Option<String> {
        if s.get_ref().trim().is_empty() {
            self.err(
                s.span(),
                format!("{what} is empty"),
                "a PromQL expression such as \"sum(rate(app_request_count_total[5m]))\"",
            );
            None
        } else {
            Some(s.get_ref().clone())
        }
    }

    fn panel(&mut self, raw: Spanned<RawPanel>) -> Option<Panel> {
        let start = raw.span();
        let raw = raw.into_inner();
        let before = self.problems.len();
        let kind = match &raw.kind {
            None => PanelKind::Graph,
            Some(k) => PanelKind::parse(k.get_ref()).unwrap_or_else(|| {
                self.err(
                    k.span(),
                    format!("unknown panel kind {:?}", k.get_ref()),
                    PanelKind::NAMES,
                );
                PanelKind::Graph
            }),
        };
        let mut queries = Vec::new();
        match (&raw.query, &raw.queries) {
            (Some(_), Some(qs)) => self.err(
                qs.span(),
                "a panel has either `query` or `queries`, not both",
                "only one of `query = \"...\"` or `queries = [{ expr = \"...\" }]`",
            ),
            (None, None) if kind == PanelKind::Text => {}
            (None, None) => self.err(
                start.clone(),
                "panel has no query",
                "`query = \"...\"` or `queries = [{ expr = \"...\", legend = \"...\" }]`",
            ),
            (Some(q), None) => {
                if let Some(expr) = self.expr("query", q) {
                    queries.push(PanelQuery {
                        expr,
                        legend: raw.legend.clone(),
                        step: Default::default(),
                    });
                }
            }
            (None, Some(qs)) => {
                if qs.get_ref().is_empty() {
                    self.err(
                        qs.span(),
                        "`queries` is empty",
                        "at least one `{ expr = \"...\" }`",
                    );
                }
                for q in qs.get_ref() {
                    match &q.get_ref().expr {
                        None => self.err(
                            q.span(),
                            "query without `expr`",
                            "`{ expr = \"...\", legend = \"...\" }`",
                        ),
                        Some(e) => {
                            if let Some(expr) = self.expr("expr", e) {
                                queries.push(PanelQuery {
                                    expr,
                                    legend: q.get_ref().legend.clone(),
                                    step: Default::default(),
                                });
                            }
                        }
                    }
                }
            }
        }
        let width = match &raw.width {
            None => kind.default_width(),
            Some(w) => match u8::try_from(*w.get_ref()) {
                Ok(n @ 1..=12) => n,
                _ => {
                    self.err(
                        w.span(),
                        format!("width {} is out of range", w.get_ref()),
                        "a whole number of grid columns from 1 to 12",
                    );
                    12
                }
            },
        };
        let height = raw
            .height
            .as_ref()
            .and_then(|h| match u16::try_from(*h.get_ref()) {
                Ok(n @ 1..=200) => Some(n),
                _ => {
                    self.err(
                        h.span(),
                        format!("height {} is out of range", h.get_ref()),
                        "a number of rows from 1 to 200",
                    );
                    None
                }
            });
        let mut thresholds: Vec<Threshold> = Vec::new();
        if let Some(ts) = &raw.thresholds {
            let mut prev: Option<f64> = None;
            for t in ts.get_ref() {
                let t = t.get_ref();
                let value = *t.value.get_ref();
                if !value.is_finite() {
                    self.err(
                        t.value.span(),
                        "threshold value is not a finite number",
                        "a number such as 0.5",
                    );
                } else if let Some(p) = prev.filter(|p| value <= *p) {
                    self.err(
                        t.value.span(),
                        format!("threshold {value} is not above the previous one ({p})"),
                        "thresholds in ascending order of value",
                    );
                }
                prev = Some(value);
                match Color::parse(t.color.get_ref()) {
                    Some(color) => thresholds.push(Threshold { value, color }),
                    None => self.err(
                        t.color.span(),
                        format!("unknown colour {:?}", t.color.get_ref()),
                        Color::NAMES,
                    ),
                }
            }
        }
        if let (Some(lo), Some(hi)) = (&raw.min, &raw.max)
            && lo.get_ref() >= hi.get_ref()
        {
            self.err(
                hi.span(),
                format!("max {} is not above min {}", hi.get_ref(), lo.get_ref()),
                "max greater than min",
            );
        }
        let decimals = raw
            .decimals
            .as_ref()
            .and_then(|d| match u8::try_from(*d.get_ref()) {
                Ok(n @ 0..=10) => Some(n),
                _ => {
                    self.err(
                        d.span(),
                        format!("decimals {} is out of range", d.get_ref()),
                        "a number from 0 to 10",
                    );
                    None
                }
            });
        match (&raw.text, kind) {
            (Some(t), k) if k != PanelKind::Text => self.err(
                t.span(),
                "`text` belongs to a panel of kind \"text\"",
                "kind = \"text\", or no `text`",
            ),
            (None, PanelKind::Text) => self.err(
                start.clone(),
                "text panel without `text`",
                "`text = \"...\"`",
            ),
            _ => {}
        }
        if kind == PanelKind::Text && !queries.is_empty() {
            self.err(
                start.clone(),
                "a text panel runs no query",
                "no `query` or `queries` on a text panel",
            );
        }
        let mut legend_calcs = Vec::new();
        for c in raw.legend_calcs.iter().flatten() {
            match crate::grafana::calc::Calc::parse(c.get_ref()) {
                Some(calc) => legend_calcs.push(calc),
                None => self.err(
                    c.span(),
                    format!("unknown legend calculation {:?}", c.get_ref()),
                    crate::grafana::calc::Calc::NAMES,
                ),
            }
        }
        let field = self.field_config(&raw, queries.len());
        if self.problems.len() != before {
            return None;
        }
        Some(Panel {
            field,
            legend_calcs,
            title: raw.title.unwrap_or_default(),
            kind,
            queries,
            unit: Unit::parse(raw.unit.as_deref().unwrap_or("short")),
            width,
            height,
            thresholds,
            min: raw.min.map(|m| *m.get_ref()),
            max: raw.max.map(|m| *m.get_ref()),
            decimals,
            text: raw.text.map(Spanned::into_inner),
        })
    }

    /// A colour value, or a problem at its span.
    fn color(&mut self, c: &Spanned<String>) -> Option<Color> {
        let color = Color::parse(c.get_ref());
        if color.is_none() {
            self.err(
                c.span(),
                format!("unknown colour {:?}", c.get_ref()),
                Color::NAMES,
            );
        }
        color
    }

    /// A regex in Grafana's syntax, or a problem at its span.
    fn grafana_regex(&mut self, r: &Spanned<String>) -> Option<String> {
        match crate::grafana::variable_regex(r.get_ref()) {
            Ok(_) => Some(r.get_ref().clone()),
            Err(e) => {
                self.err(
                    r.span(),
                    format!("{:?} is not a regex: {e}", r.get_ref()),
                    "a regex, bare (anchored) or as /pattern/flags",
                );
                None
            }
        }
    }

    /// Mappings, `no_value`, thresholds mode and base colour, `reduce`, stacking, display
    /// name and overrides of a panel with `queries` queries.
    fn field_config(
        &mut self,
        raw: &RawPanel,
        queries: usize,
    ) -> crate::grafana::fields::FieldConfig {
        use crate::grafana::fields::{
            Axis, FieldConfig, MappingMatch, SeriesMatcher, SeriesOverride, Stacking,
            ThresholdsMode, ValueMapping,
        };
        let mut f = FieldConfig {
            no_value: raw.no_value.clone(),
            display_name: raw.display_name.clone(),
            ..FieldConfig::default()
        };
        for m in raw.mappings.iter().flatten() {
            let span = m.span();
            let m = m.get_ref();
            let problems = self.problems.len();
            let mut on = Vec::new();
            if let Some(v) = &m.value {
                on.push(MappingMatch::Value(v.clone()));
            }
            if m.from.is_some() || m.to.is_some() {
                on.push(MappingMatch::Range {
                    from: m.from,
                    to: m.to,
                });
            }
            if let Some(s) = &m.special {
                match s.get_ref().as_str() {
                    "null" => on.push(MappingMatch::Null),
                    "nan" => on.push(MappingMatch::NaN),
                    "null+nan" => on.push(MappingMatch::NullNaN),
                    other => self.err(
                        s.span(),
                        format!("unknown special value {other:?}"),
                        "null, nan or null+nan",
                    ),
                }
            }
            if let Some(r) = &m.regex
                && let Some(r) = self.grafana_regex(r)
            {
                on.push(MappingMatch::Regex(r));
            }
            let color = m.color.as_ref().and_then(|c| self.color(c));
            if self.problems.len() != problems {
                continue;
            }
            if on.len() != 1 {
                self.err(
                    span,
                    "a mapping matches one thing",
                    "one of `value = \"1\"`, `from`/`to`, `special = \"null\"` or `regex`",
                );
                continue;
            }
            if m.text.is_none() && color.is_none() {
                self.err(
                    span,
                    "a mapping without `text` or `color`",
                    "`text = \"...\"` and/or `color`",
                );
                continue;
            }
            f.mappings.push(ValueMapping {
                on: on.remove(0),
                text: m.text.clone(),
                color,
            });
        }
        if let Some(t) = &raw.thresholds_mode {
            match t.get_ref().as_str() {
                "absolute" => {}
                "percentage" => f.thresholds_mode = ThresholdsMode::Percentage,
                other => self.err(
                    t.span(),
                    format!("unknown thresholds mode {other:?}"),
                    "absolute or percentage",
                ),
            }
        }
        f.base_color = raw.base_color.as_ref().and_then(|c| self.color(c));
        if let Some(r) = &raw.reduce {
            match crate::grafana::calc::Calc::parse(r.get_ref()) {
                Some(c) => f.reduce = Some(c),
                None => self.err(
                    r.span(),
                    format!("unknown reducer {:?}", r.get_ref()),
                    crate::grafana::calc::Calc::NAMES,
                ),
            }
        }
        let stacking = |v: &mut Self, s: &Spanned<String>| {
            let st = Stacking::parse(s.get_ref());
            if st.is_none() {
                v.err(
                    s.span(),
                    format!("unknown stacking {:?}", s.get_ref()),
                    "none, normal or percent",
                );
            }
            st
        };
        if let Some(s) = &raw.stacking {
            f.stacking = stacking(self, s).unwrap_or_default();
        }
        for o in raw.overrides.iter().flatten() {
            let span = o.span();
            let o = o.get_ref();
            let matcher = match (&o.name, &o.regex, &o.query) {
                (None, None, None) => SeriesMatcher::All,
                (Some(n), None, None) => SeriesMatcher::Name(n.clone()),
                (None, Some(r), None) => match self.grafana_regex(r) {
                    Some(r) => SeriesMatcher::Regex(r),
                    None => continue,
                },
                (None, None, Some(q)) => match usize::try_from(*q.get_ref()) {
                    Ok(n) if (1..=queries).contains(&n) => SeriesMatcher::Query(n - 1),
                    _ => {
                        self.err(
                            q.span(),
                            format!("query {} is not one of the panel's", q.get_ref()),
                            &format!("a query number from 1 to {queries}"),
                        );
                        continue;
                    }
                },
                _ => {
                    self.err(
                        span,
                        "an override matches by one of `name`, `regex` or `query`",
                        "only one of them (none: every series)",
                    );
                    continue;
                }
            };
            let mut out = SeriesOverride::new(matcher);
            out.display_name = o.display_name.clone();
            out.color = o.color.as_ref().and_then(|c| self.color(c));
            out.unit = o.unit.as_deref().map(Unit::parse);
            out.negative_y = o.negative_y;
            out.hidden = o.hidden;
            if let Some(a) = &o.axis {
                out.axis = Axis::parse(a.get_ref());
                if out.axis.is_none() {
                    self.err(
                        a.span(),
                        format!("unknown axis {:?}", a.get_ref()),
                        "left, right or hidden",
                    );
                }
            }
            if let Some(s) = &o.stacking {
                out.stacking = stacking(self, s);
            }
            f.overrides.push(out);
        }
        f
    }

    fn alert(
        &mut self,
        raw: Spanned<RawAlert>,
        titles: &[&str],
        names: &mut HashSet<String>,
    ) -> Option<AlertRule> {
        let start = raw.span();
        let raw = raw.into_inner();
        let before = self.problems.len();
        let name = match &raw.name {
            None => {
                self.err(start.clone(), "alert without a name", "`name = \"...\"`");
                String::new()
            }
            Some(n) if n.get_ref().trim().is_empty() => {
                self.err(
                    n.span(),
                    "alert name is empty",
                    "a name such as \"HighLatency\"",
                );
                String::new()
            }
            Some(n) => {
                if !names.insert(n.get_ref().clone()) {
                    self.err(
                        n.span(),
                        format!("duplicate alert name {:?}", n.get_ref()),
                        "a name used by no other alert",
                    );
                }
                n.get_ref().clone()
            }
        };
        let expr = match &raw.expr {
            None => {
                self.err(
                    start.clone(),
                    "alert without `expr`",
                    "`expr = \"...\"` (PromQL)",
                );
                String::new()
            }
            Some(e) => self.expr("expr", e).unwrap_or_default(),
        };
        let op = raw.op.as_ref().and_then(|o| {
            let op = CompareOp::parse(o.get_ref());
            if op.is_none() {
                self.err(
                    o.span(),
                    format!("unknown comparison {:?}", o.get_ref()),
                    CompareOp::NAMES,
                );
            }
            op
        });
        if let (Some(o), None) = (&raw.op, &raw.threshold) {
            self.err(
                o.span(),
                "`op` without `threshold`",
                "`threshold = <number>` next to `op`, or neither (any sample returned fires)",
            );
        }
        if let Some(t) = &raw.threshold
            && t.get_ref().is_nan()
        {
            self.err(t.span(), "threshold is NaN", "a number");
        }
        let for_ = raw
            .for_
            .as_ref()
            .and_then(|d| self.duration("for", d, true))
            .unwrap_or_default();
        let keep_firing_for = raw
            .keep_firing_for
            .as_ref()
            .and_then(|d| self.duration("keep_firing_for", d, true))
            .unwrap_or_default();
        let severity = match &raw.severity {
            None => Severity::Warning,
            Some(s) => Severity::parse(s.get_ref()).unwrap_or_else(|| {
                self.err(
                    s.span(),
                    format!("unknown severity {:?}", s.get_ref()),
                    Severity::NAMES,
                );
                Severity::Warning
            }),
        };
        let same_title = raw.panel.as_ref().map_or(0, |p| {
            titles
                .iter()
                .filter(|t| **t == p.get_ref().as_str())
                .count()
        });
        if let Some(p) = raw.panel.as_ref().filter(|_| same_title > 1) {
            self.push(
                p.span(),
                format!(
                    "{same_title} panels are titled {:?}: `panel` cannot tell which one",
                    p.get_ref()
                ),
                Some("a title only one panel has (rename one of them)".to_owned()),
            );
        }
        if let Some(p) = &raw.panel
            && same_title == 0
        {
            let list = titles
                .iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            self.push(
                p.span(),
                format!("no panel titled {:?}", p.get_ref()),
                Some(format!("the title of a panel: {list}")),
            );
        }
        if self.problems.len() != before {
            return None;
        }
        Some(AlertRule {
            name,
            expr,
            op: op.or(raw.threshold.as_ref().map(|_| CompareOp::Gt)),
            threshold: raw.threshold.map(|t| *t.get_ref()),
            for_,
            keep_firing_for,
            severity,
            summary: raw.summary.unwrap_or_default(),
            panel: raw.panel.map(Spanned::into_inner),
            unit: raw.unit.as_deref().map(Unit::parse),
        })
    }

    fn variable(
        &mut self,
        raw: Spanned<RawVariable>,
        names: &mut HashSet<String>,
    ) -> Option<Variable> {
        let start = raw.span();
        let raw = raw.into_inner();
        let before = self.problems.len();
        let name = match &raw.name {
            None => {
                self.err(start.clone(), "variable without a name", "`name = \"...\"`");
                String::new()
            }
            Some(n) => {
                let s = n.get_ref();
                if !is_identifier(s) || s.starts_with("__") {
                    self.err(
                        n.span(),
                        format!("{s:?} cannot be a variable name"),
                        "letters, digits and _, not starting with a digit or __",
                    );
                } else if !names.insert(s.clone()) {
                    self.err(
                        n.span(),
                        format!("duplicate variable name {s:?}"),
                        "a name used by no other variable",
                    );
                }
                s.clone()
            }
        };
        let source = match (&raw.query, &raw.values) {
            (Some(_), Some(v)) => {
                self.err(
                    v.span(),
                    "a variable has either `query` or `values`, not both",
                    "only one of them",
                );
                None
            }
            (None, None) => {
                self.err(
                    start.clone(),
                    "variable without `query` or `values`",
                    "`query = \"label_values(metric, label)\"` or `values = [\"a\", \"b\"]`",
                );
                None
            }
            (Some(q), None) => match parse_variable_query(q.get_ref()) {
                Some(source) => Some(source),
                None => {
                    self.err(
                        q.span(),
                        format!("cannot read variable query {:?}", q.get_ref()),
                        "label_values(label), label_values(series_selector, label), query_result(expr) or metrics(regex)",
                    );
                    None
                }
            },
            (None, Some(v)) => {
                if v.get_ref().is_empty() {
                    self.err(v.span(), "`values` is empty", "at least one value");
                }
                Some(VariableSource::Values(v.get_ref().clone()))
            }
        };
        let default = match raw.default.map(Spanned::into_inner) {
            None => Vec::new(),
            Some(RawDefault::One(v)) => vec![v],
            Some(RawDefault::Many(v)) => v,
        };
        if default.len() > 1 && !raw.multi {
            self.err(
                start.clone(),
                format!("variable {name:?} has several default values but is not `multi`"),
                "one default value, or `multi = true`",
            );
        }
        let sort = raw
            .sort
            .as_ref()
            .map_or(0, |s| match u8::try_from(*s.get_ref()) {
                Ok(n @ 0..=8) => n,
                _ => {
                    self.err(
                        s.span(),
                        format!("sort {} is out of range", s.get_ref()),
                        "0 to 8 (Grafana's sort codes)",
                    );
                    0
                }
            });
        if let Some(r) = &raw.regex
            && let Err(e) = crate::grafana::variable_regex(r)
        {
            self.err(
                start.clone(),
                format!("regex {r:?}: {e}"),
                "a regular expression",
            );
        }
        if self.problems.len() != before {
            return None;
        }
        Some(Variable {
            name,
            source: source?,
            multi: raw.multi,
            all: raw.all,
            default,
            all_value: raw.all_value,
            regex: raw.regex,
            sort,
            grafana: false,
            auto_interval: None,
        })
    }

    fn connection(&mut self, raw: Spanned<RawConnection>) -> Connection {
        let raw = raw.into_inner();
        if let Some(u) = &raw.url {
            match reqwest::Url::parse(u.get_ref()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => self.err(
                    u.span(),
                    "url is not an http(s) URL",
                    "a URL such as \"http://localhost:9090\" or \"https://host/prometheus\"",
                ),
            }
        }
        for (name, value) in &raw.headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.err(
                    value.span(),
                    format!("{name:?} is not a valid header name"),
                    "a header name such as \"X-Scope-OrgID\"",
                );
            } else if reqwest::header::HeaderValue::from_str(value.get_ref()).is_err() {
                self.err(
                    value.span(),
                    format!("the value of header {name:?} is not valid"),
                    "visible ASCII characters",
                );
            }
        }
        self.auth_pairs(
            raw.client_cert.as_ref(),
            raw.client_key.as_ref(),
            raw.basic_auth_user.is_some(),
            raw.basic_auth_password_file.as_ref(),
        );
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| self.duration("timeout", t, false));
        let max_response_bytes = raw
            .max_response_bytes
            .as_ref()
            .and_then(|m| match u64::try_from(*m.get_ref()) {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    self.err(
                        m.span(),
                        "max_response_bytes must be positive",
                        "a number of bytes such as 67108864",
                    );
                    None
                }
            });
        Connection {
            url: raw.url.map(Spanned::into_inner),
            headers: raw
                .headers
                .into_iter()
                .map(|(k, v)| (k, v.into_inner()))
                .collect(),
            bearer_token_file: raw.bearer_token_file,
            basic_auth_user: raw.basic_auth_user,
            basic_auth_password_file: raw.basic_auth_password_file.map(Spanned::into_inner),
            ca_cert: raw.ca_cert,
            client_cert: raw.client_cert.map(Spanned::into_inner),
            client_key: raw.client_key.map(Spanned::into_inner),
            insecure_skip_verify: raw.insecure_skip_verify,
            timeout,
            max_response_bytes,
        }
    }
}

/// Parses Prometheus-style durations: `30s`, `5m`, `1h30m`, `500ms`, `1d`, `1w`, `0`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with(|c: char| !c.is_ascii_digit()) {
        return None;
    }
    humantime::parse_duration(s).ok()
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A variable's `query`: `label_values(...)`, `query_result(expr)` or `metrics(regex)`.
pub fn parse_variable_query(q: &str) -> Option<VariableSource> {
    let t = q.trim();
    let inner = |name: &str| {
        t.strip_prefix(name)?
            .trim_start()
            .strip_prefix('(')?
            .strip_suffix(')')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some((label, matcher)) = parse_label_values(t) {
        return Some(VariableSource::LabelValues { label, matcher });
    }
    if let Some(e) = inner("query_result") {
        return Some(VariableSource::QueryResult(e));
    }
    inner("metrics").map(VariableSource::Metrics)
}

/// `label_values(job)` → ("job", None); `label_values(up{a="b"}, job)` → ("job", Some(..)).
fn parse_label_values(q: &str) -> Option<(String, Option<String>)> {
    let inner = q
        .trim()
        .strip_prefix("label_values")?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?
        .trim();
    let (matcher, label) = match inner.rfind(',') {
        Some(i) => (Some(inner[..i].trim()), inner[i + 1..].trim()),
        None => (None, inner),
    };
    if !is_identifier(label) || matcher.is_some_and(str::is_empty) {
        return None;
    }
    Some((label.to_owned(), matcher.map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_dashboards_parse() {
        for (name, text) in [
            ("service.toml", DEFAULT_DASHBOARD_TOML),
            ("prometheus.toml", PROMETHEUS_DASHBOARD_TOML),
        ] {
            if let Err(e) = parse_dashboard(text, name) {
                panic!("{e}");
            }
        }
        let d = default_dashboard();
        assert_eq!(d.refresh, DEFAULT_REFRESH);
        assert_eq!(d.range, DEFAULT_RANGE);
        assert_eq!(d.alerts.len(), 2);
    }

    #[test]
    fn scrape_tables() {
        let d = parse_dashboard(
            "[[scrape]]\njob = \"api\"\ntargets = [\"127.0.0.1:8080\", \"https://h/m\"]\n\
             interval = \"2s\"\ntimeout = \"1s\"\nlabels = { team = \"a\" }\n\
             honor_labels = true\nsample_limit = 500\n\
             [[scrape]]\njob = \"db\"\ntargets = [\"h:9\"]\n",
            "s.toml",
        )
        .expect("valid");
        assert_eq!(
            d.scrape,
            [
                ScrapeConfig {
                    job: "api".into(),
                    targets: vec!["127.0.0.1:8080".into(), "https://h/m".into()],
                    interval: Some(Duration::from_secs(2)),
                    timeout: Some(Duration::from_secs(1)),
                    labels: [("team".to_owned(), "a".to_owned())].into(),
                    honor_labels: true,
                    sample_limit: 500,
                    auth: ScrapeAuth::default(),
                },
                ScrapeConfig {
                    job: "db".into(),
                    targets: vec!["h:9".into()],
                    interval: None,
                    timeout: None,
                    labels: BTreeMap::new(),
                    honor_labels: false,
                    sample_limit: 0,
                    auth: ScrapeAuth::default(),
                },
            ]
        );
        for (text, says) in [
            (
                "[[scrape]]\ntargets = [\"h:1\"]\n",
                "1:1: [[scrape]] has no job",
            ),
            (
                "[[scrape]]\njob = \" \"\ntargets = [\"h:1\"]\n",
                "2:7: scrape job is empty",
            ),
            (
                "[[scrape]]\njob = \"a\"\n",
                "1:1: [[scrape]] has no targets",
            ),
            (
                "[[scrape]]\njob = \"a\"\ntargets = []\n",
                "3:11: scrape targets are empty",
            ),
            (
                "[[scrape]]\njob = \"a\"\ntargets = [\"\"]\n",
                "3:12: a scrape target is empty",
            ),
            (
                "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\ninterval = \"0s\"\n",
                "4:12: scrape interval must be longer than zero",
            ),
            (
                "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\ntimeout = \"soon\"\n",
                "4:11: scrape timeout: \"soon\" is not a duration",
            ),
            (
                "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\nlabels = { __x = \"1\" }\n",
                "4:18: \"__x\" is not a label name a scrape may add",
            ),
            (
                "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\nsample_limit = -1\n",
                "4:16: sample_limit is negative",
            ),
            (
                "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\nhonour_labels = true\n",
                "honour_labels",
            ),
        ] {
            let e = parse_dashboard(text, "s.toml").expect_err(text);
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn settings_file_holds_a_connection_table() {
        let text = "[connection]\nurl = \"https://h/prometheus\"\ntimeout = \"3s\"\n";
        let c = parse_config(text, "config.toml").expect("valid");
        let c = c.expect("has a connection table");
        assert_eq!(c.url.as_deref(), Some("https://h/prometheus"));
        assert_eq!(c.timeout, Some(Duration::from_secs(3)));
        assert_eq!(parse_config("", "config.toml"), Ok(None));
        let e = parse_config("[connection]\nurl = \"x\"\n", "config.toml").expect_err("bad url");
        assert!(e.to_string().starts_with("config.toml:2:7:"), "{e}");
        let e = parse_config("title = \"x\"\n", "config.toml").expect_err("unknown key");
        assert!(e.to_string().starts_with("config.toml:1:1:"), "{e}");
        assert_eq!(
            load_config(Path::new("/nonexistent/promdash.toml")),
            Ok(None)
        );
    }

    #[test]
    fn scrape_tables_take_the_auth_and_tls_settings_of_connection() {
        let d = parse_dashboard(
            "[[scrape]]\njob = \"a\"\ntargets = [\"https://h:1\"]\n\
             basic_auth_user = \"me\"\nbasic_auth_password_file = \"pw\"\n\
             ca_cert = \"/etc/ca.pem\"\nclient_cert = \"c.pem\"\nclient_key = \"k.pem\"\n\
             insecure_skip_verify = true\n\
             [[scrape]]\njob = \"b\"\ntargets = [\"h:2\"]\nbearer_token_file = \"t\"\n",
            "s.toml",
        )
        .expect("valid");
        let mut a = d.scrape[0].auth.clone();
        assert_eq!(
            a,
            ScrapeAuth {
                bearer_token_file: None,
                basic_auth_user: Some("me".into()),
                basic_auth_password_file: Some("pw".into()),
                ca_cert: Some("/etc/ca.pem".into()),
                client_cert: Some("c.pem".into()),
                client_key: Some("k.pem".into()),
                insecure_skip_verify: true,
            }
        );
        a.resolve_paths(Path::new("/dash"));
        assert_eq!(
            a.files(),
            [
                ("basic_auth_password_file", Path::new("/dash/pw")),
                ("ca_cert", Path::new("/etc/ca.pem")),
                ("client_cert", Path::new("/dash/c.pem")),
                ("client_key", Path::new("/dash/k.pem")),
            ]
        );
        assert_eq!(d.scrape[1].auth.bearer_token_file, Some("t".into()));
        let table = "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\n";
        for (extra, says) in [
            (
                "client_cert = \"c\"\n",
                "4:15: client_cert without client_key",
            ),
            (
                "client_key = \"k\"\n",
                "4:14: client_key without client_cert",
            ),
            (
                "basic_auth_password_file = \"p\"\n",
                "4:28: basic_auth_password_file without basic_auth_user",
            ),
            (
                "bearer_token_file = \"t\"\nbasic_auth_user = \"u\"\n",
                "4:21: bearer_token_file and basic_auth_user in one [[scrape]] table",
            ),
            ("ca_cert = \"\"\n", "4:11: the file name is empty"),
            ("password = \"x\"\n", "unknown field `password`"),
        ] {
            let e = parse_dashboard(&format!("{table}{extra}"), "s.toml").expect_err(extra);
            assert!(e.to_string().contains(says), "{extra}: {e}");
        }
    }

    #[test]
    fn config_file_scrape_tables() {
        let text = "[connection]\nurl = \"http://p:9090\"\n\
                    [[scrape]]\njob = \"node\"\ntargets = [\"127.0.0.1:9100\"]\n\
                    bearer_token_file = \"tok\"\n";
        let c = parse_user_config(text, "config.toml").expect("valid");
        assert_eq!(
            c.connection.expect("connection").url.as_deref(),
            Some("http://p:9090")
        );
        assert_eq!(c.scrape.len(), 1);
        assert_eq!(c.scrape[0].job, "node");
        assert_eq!(c.scrape[0].auth.bearer_token_file, Some("tok".into()));
        // The connection-only reader accepts the file too, and checks its tables.
        assert!(parse_config(text, "config.toml").is_ok());
        let e =
            parse_config("[[scrape]]\ntargets = [\"h:1\"]\n", "config.toml").expect_err("no job");
        assert_eq!(
            e.to_string().lines().next(),
            Some("config.toml:1:1: [[scrape]] has no job; expected job = \"api\"")
        );
        // Relative paths are next to the file.
        let dir = std::env::temp_dir().join(format!("promdash-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("config.toml");
        std::fs::write(&path, text).expect("write");
        let c = load_user_config(&path).expect("valid");
        assert_eq!(c.scrape[0].auth.bearer_token_file, Some(dir.join("tok")));
        assert_eq!(
            load_user_config(&dir.join("missing.toml")).expect("missing is empty"),
            UserConfig::default()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scrape_interval_for_rate_interval() {
        let d = parse_dashboard("scrape_interval = \"30s\"\n", "s.toml").expect("valid");
        assert_eq!(d.scrape_interval, Duration::from_secs(30));
        let d = parse_dashboard("", "s.toml").expect("valid");
        assert_eq!(d.scrape_interval, DEFAULT_SCRAPE_INTERVAL);
        let e = parse_dashboard("scrape_interval = \"0s\"\n", "s.toml").expect_err("zero");
        assert!(e.to_string().contains("scrape_interval"), "{e}");
    }
}
