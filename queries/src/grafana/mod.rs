//! Grafana dashboard JSON → the dashboard model.
//!
//! A pure translation: [`import`] takes the file's text and gives the [`Dashboard`] and a
//! [`Warning`] for everything that was not carried over, named by its JSON path
//! (`panels[12].fieldConfig.overrides[0]`). No I/O, no terminal.
//!
//! Both schemas are read: old dashboards (schemaVersion < 16) with top-level `rows[]`
//! whose panels are sized by `span` (of 12), and new ones with `panels[]` placed by
//! `gridPos` on a 24-column grid, `row` panels between them and collapsed rows holding
//! their panels inside. Exported dashboards (`__inputs`, `${DS_PROMETHEUS}`) and
//! datasource variables mean the server promdash is connected to; targets of other
//! data sources are skipped with a warning.

pub mod calc;
pub mod fields;
pub mod interval;
pub mod repeat;
mod values;
mod write;

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::dashboard::{
    Color, DEFAULT_RANGE, DEFAULT_REFRESH, DEFAULT_SCRAPE_INTERVAL, Dashboard, Panel, PanelKind,
    PanelQuery, Row, Threshold, Unit, Variable, VariableSource, parse_duration,
    parse_variable_query,
};

use fields::{
    Axis, MappingMatch, SeriesMatcher, SeriesOverride, Stacking, ThresholdsMode, ValueMapping,
};
pub use values::{refine, sort_values, variable_regex};
pub use write::to_toml;

/// Something in the file that was not carried over, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// JSON path, e.g. `panels[3].fieldConfig.overrides[0]`.
    pub path: String,
    pub message: String,
    /// The imported panel it concerns (index into [`Dashboard::panels`]), if any.
    pub panel: Option<usize>,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// An imported dashboard and what could not be carried over.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub dashboard: Dashboard,
    pub warnings: Vec<Warning>,
    /// Per imported panel: its JSON path (`panels[3]`, `rows[1].panels[0]`).
    pub panel_paths: Vec<String>,
    /// Per imported panel, per query: the JSON path of the target's `expr`.
    pub query_paths: Vec<Vec<String>>,
}

/// Why a file could not be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not valid JSON.
    #[error("{line}:{col}: not valid JSON: {message}")]
    Json {
        line: usize,
        col: usize,
        message: String,
    },
    /// JSON, but not a Grafana dashboard.
    #[error("not a Grafana dashboard: {0}")]
    NotADashboard(String),
}

/// Whether a dashboard file's text is JSON (a Grafana dashboard) rather than TOML: its
/// first non-blank character opens an object. A TOML file cannot start with `{`.
pub fn is_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
}

/// Reads a Grafana dashboard. A file saved through Grafana's API (`{"dashboard": {...},
/// "meta": {...}}`) is read too.
pub fn import(text: &str) -> Result<Import, ImportError> {
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        ImportError::Json {
            line: e.line(),
            col: e.column(),
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or("")
                .to_owned(),
        }
    })?;
    let Value::Object(mut root) = value else {
        return Err(ImportError::NotADashboard(
            "the file holds no JSON object".into(),
        ));
    };
    let mut prefix = String::new();
    if !root.contains_key("panels")
        && !root.contains_key("rows")
        && let Some(Value::Object(inner)) = root.remove("dashboard")
    {
        root = inner;
        prefix = "dashboard.".into();
    }
    if !root.contains_key("panels") && !root.contains_key("rows") {
        return Err(ImportError::NotADashboard(
            "it has neither `panels` nor `rows`".into(),
        ));
    }
    let mut im = Importer::new(&root, prefix);
    let dashboard = im.dashboard(&root);
    Ok(Import {
        dashboard,
        warnings: im.warnings,
        panel_paths: im.panel_paths,
        query_paths: im.query_paths,
    })
}

/// What a `datasource` field names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// Prometheus, or the default data source (taken to be the connected server).
    Prometheus,
    /// Several sources: each target names its own.
    Mixed,
    /// Another kind of data source (its type or name).
    Other(String),
}

/// Top-level keys that have no meaning in a terminal dashboard (ignored without a word).
const IGNORED_TOP: &[&str] = &[
    "__inputs",
    "__requires",
    "__elements",
    "id",
    "uid",
    "version",
    "gnetId",
    "editable",
    "graphTooltip",
    "style",
    "timezone",
    "tags",
    "timepicker",
    "fiscalYearStartMonth",
    "liveNow",
    "weekStart",
    "description",
    "hideControls",
    "sharedCrosshair",
    "iteration",
    "originalTitle",
    "schemaVersion",
    "links",
    "nav",
    "preload",
];

/// Panel keys without meaning in a terminal (ignored without a word).
const IGNORED_PANEL: &[&str] = &[
    "id",
    "type",
    "title",
    "gridPos",
    "targets",
    "datasource",
    "fieldConfig",
    "options",
    "span",
    "description",
    "transparent",
    "pluginVersion",
    "links",
    "error",
    "editable",
    "isNew",
    "tooltip",
    "hideTimeOverride",
    "maxDataPoints",
    "interval",
    "cacheTimeout",
    "renderer",
    "nullPointMode",
    "lines",
    "linewidth",
    "fill",
    "fillGradient",
    "bars",
    "points",
    "pointradius",
    "dashes",
    "dashLength",
    "spaceLength",
    "steppedLine",
    "timeFrom",
    "timeShift",
    "xaxis",
    "yaxis",
    "yaxes",
    "legend",
    "format",
    "decimals",
    "thresholds",
    "colors",
    "sparkline",
    "gauge",
    "valueName",
    "prefix",
    "postfix",
    "prefixFontSize",
    "postfixFontSize",
    "valueFontSize",
    "colorValue",
    "colorBackground",
    "colorPostfix",
    "colorPrefix",
    "mappingType",
    "mappingTypes",
    "nullText",
    "tableColumn",
    "content",
    "mode",
    "styles",
    "columns",
    "sort",
    "scroll",
    "fontSize",
    "showHeader",
    "transform",
    "percentage",
    "stack",
    "aliasColors",
    "seriesOverrides",
    "valueMaps",
    "rangeMaps",
    "repeat",
    "repeatDirection",
    "maxPerRow",
    "scopedVars",
    "minSpan",
    "height",
    "libraryPanel",
    "repeatIteration",
    "repeatPanelId",
    "collapsed",
    "panels",
    "showTitle",
    "titleSize",
    "alert",
    "thresholdMarkers",
    "timeRegions",
    "options",
    "hiddenSeries",
    "dataFormat",
    "heatmap",
    "cards",
    "color",
    "highlightCards",
    "hideZeroBuckets",
    "reverseYBuckets",
    "xBucketNumber",
    "xBucketSize",
    "yBucketBound",
    "yBucketNumber",
    "yBucketSize",
    "tooltipDecimals",
    "transformations",
    "gridPos",
    "seriesOverrides",
];

/// Target keys with no meaning here (ignored without a word).
const IGNORED_TARGET: &[&str] = &[
    "refId",
    "datasource",
    "expr",
    "legendFormat",
    "hide",
    "instant",
    "range",
    "format",
    "interval",
    "intervalFactor",
    "step",
    "editorMode",
    "exemplar",
    "queryType",
    "key",
    "metric",
    "calculatedInterval",
    "datasourceErrors",
    "errors",
    "textEditor",
    "hinting",
    "useBackend",
];

struct Importer {
    warnings: Vec<Warning>,
    /// `__inputs` names → plugin id (`DS_PROMETHEUS` → `prometheus`).
    inputs: HashMap<String, String>,
    /// Datasource variables → plugin type.
    ds_vars: HashMap<String, String>,
    /// The path prefix of the dashboard object (`dashboard.` for an API answer).
    prefix: String,
    /// The imported panel being read, for [`Warning::panel`].
    panel: Option<usize>,
    panel_paths: Vec<String>,
    query_paths: Vec<Vec<String>>,
    /// Repeated panels and rows, with the JSON path of their `repeat`.
    repeats: Vec<(repeat::Repeat, String)>,
}

fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn num_of(o: &Map<String, Value>, key: &str) -> Option<f64> {
    match o.get(key)? {
        Value::Number(n) => n.as_f64(),
        // Old dashboards often write numbers as strings ("min": "0").
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn bool_of(o: &Map<String, Value>, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn arr<'a>(o: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    o.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

impl Importer {
    fn new(root: &Map<String, Value>, prefix: String) -> Self {
        let mut inputs = HashMap::new();
        for i in arr(root, "__inputs") {
            if let Some(o) = i.as_object()
                && let Some(name) = str_of(o, "name")
            {
                let plugin = str_of(o, "pluginId").unwrap_or("prometheus");
                inputs.insert(name.to_owned(), plugin.to_owned());
            }
        }
        let mut ds_vars = HashMap::new();
        if let Some(Value::Object(t)) = root.get("templating") {
            for v in arr(t, "list") {
                if let Some(o) = v.as_object()
                    && str_of(o, "type") == Some("datasource")
                    && let Some(name) = str_of(o, "name")
                {
                    let plugin = str_of(o, "query").unwrap_or("prometheus");
                    ds_vars.insert(name.to_owned(), plugin.to_owned());
                }
            }
        }
        Self {
            warnings: Vec::new(),
            inputs,
            ds_vars,
            prefix,
            panel: None,
            panel_paths: Vec::new(),
            query_paths: Vec::new(),
            repeats: Vec::new(),
        }
    }

    fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            path: format!("{}{path}", self.prefix),
            message: message.into(),
            panel: self.panel,
        });
    }

    fn dashboard(&mut self, root: &Map<String, Value>) -> Dashboard {
        for key in root.keys() {
            let handled = matches!(
                key.as_str(),
                "title" | "panels" | "rows" | "templating" | "time" | "refresh" | "annotations"
            );
            if !handled && !IGNORED_TOP.contains(&key.as_str()) {
                self.warn(key, "not supported");
            }
        }
        let refresh = match root.get("refresh") {
            Some(Value::String(s)) if !s.is_empty() => parse_duration(s)
                .filter(|d| !d.is_zero())
                .unwrap_or_else(|| {
                    self.warn("refresh", format!("{s:?} is not a duration; using 5s"));
                    DEFAULT_REFRESH
                }),
            _ => DEFAULT_REFRESH,
        };
        let range = self.range(root);
        self.annotations(root);
        let mut panels = Vec::new();
        let mut rows = Vec::new();
        if root.contains_key("panels") {
            self.new_panels(arr(root, "panels"), "panels", &mut panels, &mut rows);
        }
        if root.contains_key("rows") {
            self.old_rows(arr(root, "rows"), &mut panels, &mut rows);
        }
        let variables = match root.get("templating") {
            Some(Value::Object(t)) => self.variables(arr(t, "list")),
            _ => Vec::new(),
        };
        let repeats = self.checked_repeats(&variables);
        Dashboard {
            title: str_of(root, "title")
                .filter(|t| !t.trim().is_empty())
                .unwrap_or("Grafana dashboard")
                .to_owned(),
            refresh,
            range,
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            panels,
            alerts: Vec::new(),
            variables,
            connection: None,
            rows,
            scrape: Vec::new(),
            rule_files: Vec::new(),
            repeats,
        }
    }

    /// The repeats whose variable the dashboard has; the others are shown once, with a
    /// warning.
    fn checked_repeats(&mut self, variables: &[Variable]) -> Vec<repeat::Repeat> {
        self.panel = None;
        let mut out = Vec::new();
        for (r, path) in std::mem::take(&mut self.repeats) {
            if variables.iter().any(|v| v.name == r.var) {
                out.push(r);
            } else {
                self.warnings.push(Warning {
                    path: format!("{}{path}", self.prefix),
                    message: format!("repeat by ${}: no such variable; shown once", r.var),
                    panel: match r.what {
                        repeat::Repeated::Panel(i) => Some(i),
                        repeat::Repeated::Row(_) => None,
                    },
                });
            }
        }
        out
    }

    /// `time.from` = `now-6h` → 6 h; anything else keeps the default with a warning.
    fn range(&mut self, root: &Map<String, Value>) -> std::time::Duration {
        let Some(Value::Object(t)) = root.get("time") else {
            return DEFAULT_RANGE;
        };
        let from = str_of(t, "from").unwrap_or("now-15m");
        let to = str_of(t, "to").unwrap_or("now");
        if to != "now" {
            self.warn(
                "time.to",
                format!("{to:?}: promdash always shows up to now"),
            );
        }
        match from
            .strip_prefix("now-")
            .and_then(parse_duration)
            .filter(|d| !d.is_zero())
        {
            Some(d) => d,
            None => {
                self.warn(
                    "time.from",
                    format!("{from:?} is not now-<duration>; showing the last 15m"),
                );
                DEFAULT_RANGE
            }
        }
    }

    fn annotations(&mut self, root: &Map<String, Value>) {
        let Some(Value::Object(a)) = root.get("annotations") else {
            return;
        };
        for (i, item) in arr(a, "list").iter().enumerate() {
            let Some(o) = item.as_object() else { continue };
            // Grafana's built-in "Annotations & Alerts" entry is always there.
            let builtin = o.get("builtIn").and_then(Value::as_i64) == Some(1);
            let enabled = o.get("enable").and_then(Value::as_bool).unwrap_or(true);
            if !builtin && enabled {
                self.warn(
                    &format!("annotations.list[{i}]"),
                    "annotations are not drawn",
                );
            }
        }
    }

    /// What a `datasource` value names.
    fn source(&self, v: Option<&Value>) -> Source {
        let name = match v {
            None | Some(Value::Null) => return Source::Prometheus,
            Some(Value::String(s)) => s.as_str(),
            Some(Value::Object(o)) => {
                let uid = str_of(o, "uid").unwrap_or("");
                match str_of(o, "type") {
                    Some("prometheus") => return Source::Prometheus,
                    Some("datasource") if uid == "-- Mixed --" => return Source::Mixed,
                    Some("datasource") => return Source::Other(uid.to_owned()),
                    Some(t) if !t.starts_with("${") && !t.starts_with('$') => {
                        return Source::Other(t.to_owned());
                    }
                    _ => uid,
                }
            }
            Some(_) => return Source::Prometheus,
        };
        match name {
            "" | "default" => Source::Prometheus,
            "-- Mixed --" => Source::Mixed,
            "-- Grafana --" | "grafana" => Source::Other("grafana".into()),
            "-- Dashboard --" => Source::Other("dashboard".into()),
            _ => {
                let var = name
                    .strip_prefix("${")
                    .and_then(|n| n.strip_suffix('}'))
                    .or_else(|| name.strip_prefix('$'));
                let plugin = var.and_then(|v| self.inputs.get(v).or_else(|| self.ds_vars.get(v)));
                match plugin {
                    Some(p) if p != "prometheus" => Source::Other(p.clone()),
                    // A plain name: the data source of that name, most likely Prometheus.
                    _ => Source::Prometheus,
                }
            }
        }
    }

    /// The new schema: `panels[]` with `gridPos`, rows as `row` panels.
    fn new_panels(
        &mut self,
        list: &[Value],
        path: &str,
        out: &mut Vec<Panel>,
        rows: &mut Vec<Row>,
    ) {
        // Grafana places by gridPos; read in (y, x) order as it draws.
        let mut order: Vec<usize> = (0..list.len()).collect();
        let pos = |v: &Value| {
            let g = v.get("gridPos");
            let n = |k: &str| {
                g.and_then(|g| g.get(k))
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            };
            (n("y"), n("x"))
        };
        order.sort_by_key(|&i| pos(&list[i]));
        for i in order {
            let p = format!("{path}[{i}]");
            let Some(o) = list[i].as_object() else {
                self.warn(&p, "not a panel object");
                continue;
            };
            if repeat::is_copy(o) {
                continue;
            }
            if str_of(o, "type") == Some("row") {
                if let Some(last) = rows.last_mut() {
                    last.panels.end = out.len();
                }
                let collapsed = bool_of(o, "collapsed");
                rows.push(Row {
                    title: str_of(o, "title").unwrap_or("").to_owned(),
                    collapsed,
                    panels: out.len()..out.len(),
                });
                if !path.contains('.')
                    && let Some(r) = repeat::row(o, rows.len() - 1)
                {
                    self.repeats.push((r, format!("{p}.repeat")));
                }
                // A collapsed row holds its panels; an open one's follow it in the list.
                let inner = arr(o, "panels");
                let mut nested_rows = Vec::new();
                self.new_panels(inner, &format!("{p}.panels"), out, &mut nested_rows);
                if !nested_rows.is_empty() {
                    self.panel = None;
                    self.warn(&format!("{p}.panels"), "rows inside a row are flattened");
                }
                if let Some(last) = rows.last_mut() {
                    last.panels.end = out.len();
                }
                continue;
            }
            if let Some(panel) = self.panel(o, &p, out.len()) {
                out.push(panel);
                if let Some(last) = rows.last_mut() {
                    last.panels.end = out.len();
                }
            }
        }
    }

    /// The old schema: `rows[]`, each with `panels[]` sized by `span` (of 12).
    fn old_rows(&mut self, list: &[Value], out: &mut Vec<Panel>, rows: &mut Vec<Row>) {
        for (r, row) in list.iter().enumerate() {
            let path = format!("rows[{r}]");
            let Some(o) = row.as_object() else {
                self.warn(&path, "not a row object");
                continue;
            };
            if repeat::is_copy(o) {
                continue;
            }
            let height = row_height(o.get("height"));
            let start = out.len();
            for (i, panel) in arr(o, "panels").iter().enumerate() {
                let p = format!("{path}.panels[{i}]");
                let Some(po) = panel.as_object() else {
                    self.warn(&p, "not a panel object");
                    continue;
                };
                if repeat::is_copy(po) {
                    continue;
                }
                if let Some(mut panel) = self.panel(po, &p, out.len()) {
                    if let Some(span) = num_of(po, "span") {
                        panel.width = (span.round() as i64).clamp(1, 12) as u8;
                    }
                    panel.height = panel.height.or(height);
                    out.push(panel);
                }
            }
            let title = str_of(o, "title").unwrap_or("").to_owned();
            let show_title = bool_of(o, "showTitle");
            let collapsed = bool_of(o, "collapse");
            let repeated = repeat::row(o, rows.len());
            if show_title || collapsed || list.len() > 1 || repeated.is_some() {
                rows.push(Row {
                    title,
                    collapsed,
                    panels: start..out.len(),
                });
            }
            if let Some(r) = repeated {
                self.repeats.push((r, format!("{path}.repeat")));
            }
        }
    }

    /// One panel (not a row). `index` is the index it will have among the imported ones.
    fn panel(&mut self, o: &Map<String, Value>, path: &str, index: usize) -> Option<Panel> {
        self.query_paths.truncate(index);
        self.panel_paths.truncate(index);
        self.query_paths.push(Vec::new());
        self.panel_paths.push(format!("{}{path}", self.prefix));
        if let Some(r) = repeat::panel(o, index) {
            self.repeats.retain(|(x, _)| x.what != r.what);
            self.repeats.push((r, format!("{path}.repeat")));
        }
        self.panel_inner(o, path, index)
    }

    fn panel_inner(&mut self, o: &Map<String, Value>, path: &str, index: usize) -> Option<Panel> {
        self.panel = Some(index);
        let ty = str_of(o, "type").unwrap_or("graph");
        let title = str_of(o, "title").unwrap_or("").to_owned();
        let (width, height) = match o.get("gridPos").and_then(Value::as_object) {
            Some(g) => {
                let w = num_of(g, "w").unwrap_or(12.0);
                let h = num_of(g, "h").unwrap_or(8.0);
                (
                    ((w / 2.0).round() as i64).clamp(1, 12) as u8,
                    Some((h.round() as i64).clamp(3, 200) as u16),
                )
            }
            None => (12, None),
        };
        let mut panel = Panel {
            title,
            kind: PanelKind::Graph,
            queries: Vec::new(),
            unit: Unit::Short,
            width,
            height,
            thresholds: Vec::new(),
            min: None,
            max: None,
            decimals: None,
            text: None,
            legend_calcs: Vec::new(),
            field: Default::default(),
        };
        panel.kind = match ty {
            "graph" | "timeseries" | "trend" | "xychart" => PanelKind::Graph,
            "stat" | "singlestat" | "grafana-singlestat-panel" => PanelKind::Stat,
            "gauge" | "bargauge" => PanelKind::Gauge,
            "table" | "table-old" => PanelKind::Table,
            "heatmap" => PanelKind::Heatmap,
            "text" => {
                panel.kind = PanelKind::Text;
                let content = o
                    .get("options")
                    .and_then(|op| op.get("content"))
                    .and_then(Value::as_str)
                    .or_else(|| str_of(o, "content"))
                    .unwrap_or("");
                panel.text = Some(markdown_to_text(content));
                return Some(panel);
            }
            other => {
                self.warn(
                    &format!("{path}.type"),
                    format!("panel type {other:?} is not supported; a placeholder is shown"),
                );
                panel.kind = PanelKind::Text;
                panel.text = Some(format!("Grafana panel type {other:?} is not supported"));
                return Some(panel);
            }
        };
        // A panel drawn: every key it has that says something promdash does not do.
        for key in o.keys() {
            if !IGNORED_PANEL.contains(&key.as_str()) {
                self.warn(&format!("{path}.{key}"), "not supported");
            }
        }
        let panel_source = self.source(o.get("datasource"));
        let panel_min = self.min_interval(o.get("interval"), &format!("{path}.interval"));
        let mut any_table = false;
        for (t, target) in arr(o, "targets").iter().enumerate() {
            let tp = format!("{path}.targets[{t}]");
            let Some(to) = target.as_object() else {
                continue;
            };
            if bool_of(to, "hide") {
                continue;
            }
            let source = match (&panel_source, to.get("datasource")) {
                (Source::Mixed, ds) => self.source(ds),
                (_, Some(ds)) if !ds.is_null() => match self.source(Some(ds)) {
                    // A target naming the panel's own variable or input.
                    Source::Prometheus => panel_source.clone(),
                    other => other,
                },
                _ => panel_source.clone(),
            };
            if let Source::Other(kind) = &source {
                self.warn(&tp, format!("a {kind} query, not Prometheus: skipped"));
                continue;
            }
            let Some(expr) = str_of(to, "expr").filter(|e| !e.trim().is_empty()) else {
                if to.keys().any(|k| !IGNORED_TARGET.contains(&k.as_str())) {
                    self.warn(&tp, "not a PromQL query (no `expr`): skipped");
                }
                continue;
            };
            for key in to.keys() {
                if !IGNORED_TARGET.contains(&key.as_str()) {
                    self.warn(&format!("{tp}.{key}"), "not supported");
                }
            }
            let step = self.step_options(to, &tp, panel_min.clone());
            match str_of(to, "format") {
                Some("table") => any_table = true,
                Some("heatmap") if panel.kind != PanelKind::Heatmap => {
                    self.warn(
                        &format!("{tp}.format"),
                        "heatmap format outside a heatmap panel",
                    );
                }
                Some("time_series" | "heatmap") | None => {}
                Some(other) => self.warn(&format!("{tp}.format"), format!("{other:?}: unknown")),
            }
            if bool_of(to, "instant") && panel.kind == PanelKind::Graph {
                self.warn(
                    &format!("{tp}.instant"),
                    "an instant query in a graph: drawn as a range query",
                );
            }
            let legend = str_of(to, "legendFormat")
                .filter(|l| !l.trim().is_empty() && l.trim() != "__auto")
                .map(str::to_owned);
            panel.queries.push(PanelQuery {
                expr: expr.to_owned(),
                legend,
                step,
            });
            let qp = format!("{}{tp}.expr", self.prefix);
            if let Some(q) = self.query_paths.last_mut() {
                q.push(qp);
            }
        }
        if any_table && panel.kind == PanelKind::Graph {
            self.warn(
                &format!("{path}.targets"),
                "table format in a graph: drawn as a graph",
            );
        }
        if panel.queries.is_empty() {
            if let Some(q) = self.query_paths.last_mut() {
                q.clear();
            }
            panel.kind = PanelKind::Text;
            panel.text = Some("no Prometheus query".into());
            return Some(panel);
        }
        self.field_config(o, path, ty, &mut panel);
        self.options(o, path, ty, &mut panel);
        self.legacy(o, path, ty, &mut panel);
        if let (Some(lo), Some(hi)) = (panel.min, panel.max)
            && lo >= hi
        {
            self.warn(
                path,
                format!("min {lo} is not below max {hi}: both dropped"),
            );
            panel.min = None;
            panel.max = None;
        }
        Some(panel)
    }

    /// A min interval (a panel's or a target's `interval`): `"30s"`, `">30s"`, or text
    /// with a variable, checked when the dashboard runs. Anything else is named.
    fn min_interval(&mut self, v: Option<&Value>, path: &str) -> Option<String> {
        let text = match v? {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
            // Legacy `step`: a number of seconds.
            Value::Number(n) if n.as_f64().is_some_and(|f| f > 0.0) => format!("{n}s"),
            Value::Null | Value::String(_) => return None,
            other => {
                self.warn(path, format!("{other} is not an interval: not applied"));
                return None;
            }
        };
        if !text.contains('$') && interval::parse_min_interval(&text).is_none() {
            self.warn(path, format!("{text:?} is not an interval: not applied"));
            return None;
        }
        Some(text)
    }

    /// A target's step options: its min step (`interval`, else the legacy `step` of old
    /// dashboards), `intervalFactor`, and the panel's min interval.
    fn step_options(
        &mut self,
        to: &Map<String, Value>,
        tp: &str,
        panel_min: Option<String>,
    ) -> interval::StepOptions {
        let mut min = self.min_interval(to.get("interval"), &format!("{tp}.interval"));
        if min.is_none() {
            min = self.min_interval(to.get("step"), &format!("{tp}.step"));
        }
        let factor = match to.get("intervalFactor") {
            None | Some(Value::Null) => 1,
            Some(v) => match num_of(to, "intervalFactor").filter(|f| *f >= 1.0) {
                Some(f) => f.round().min(1000.0) as u32,
                None => {
                    self.warn(
                        &format!("{tp}.intervalFactor"),
                        format!("{v} is not a factor of at least 1: not applied"),
                    );
                    1
                }
            },
        };
        interval::StepOptions {
            panel_min,
            min,
            // Once is the default (0).
            factor: if factor > 1 { factor } else { 0 },
        }
    }

    /// `fieldConfig`: the defaults' unit, decimals, min, max, thresholds, mappings,
    /// `noValue`, display name, colour and custom settings; the overrides.
    fn field_config(&mut self, o: &Map<String, Value>, path: &str, ty: &str, panel: &mut Panel) {
        let Some(fc) = o.get("fieldConfig").and_then(Value::as_object) else {
            return;
        };
        let path = format!("{path}.fieldConfig");
        if let Some(d) = fc.get("defaults").and_then(Value::as_object) {
            let path = format!("{path}.defaults");
            let mut all = SeriesOverride::new(SeriesMatcher::All);
            for (key, v) in d {
                match key.as_str() {
                    "unit" => {
                        if let Some(u) = v.as_str() {
                            panel.unit = self.unit(u, &format!("{path}.unit"));
                        }
                    }
                    "decimals" => {
                        panel.decimals = v.as_f64().map(|n| n.clamp(0.0, 10.0) as u8);
                    }
                    "min" => panel.min = v.as_f64().filter(|f| f.is_finite()),
                    "max" => panel.max = v.as_f64().filter(|f| f.is_finite()),
                    "thresholds" => {
                        if let Some(t) = v.as_object() {
                            self.thresholds(t, &format!("{path}.thresholds"), panel);
                        }
                    }
                    "mappings" => {
                        panel.field.mappings = self.mappings(v, &format!("{path}.mappings"));
                    }
                    "noValue" => {
                        panel.field.no_value = match v {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        };
                    }
                    "displayName" => {
                        panel.field.display_name =
                            v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
                    }
                    "color" => {
                        if let Some(c) = self.fixed_color(v, &format!("{path}.color")) {
                            all.color = Some(c);
                        }
                    }
                    "custom" => {
                        if let Some(c) = v.as_object() {
                            self.custom(c, &format!("{path}.custom"), ty, panel, &mut all);
                        }
                    }
                    // Links and the like: nothing to draw differently.
                    "links" | "filterable" | "description" | "displayNameFromDS" | "path"
                    | "writeable" | "fieldMinMax" => {}
                    _ => self.warn(&format!("{path}.{key}"), "not supported"),
                }
            }
            if !all.is_empty() {
                panel.field.overrides.push(all);
            }
        }
        let refs = ref_ids(o, panel);
        for (i, ov) in arr(fc, "overrides").iter().enumerate() {
            let op = format!("{path}.overrides[{i}]");
            if let Some(ov) = ov.as_object()
                && let Some(out) = self.field_override(ov, &op, &refs)
            {
                panel.field.overrides.push(out);
            }
        }
    }

    /// A unit id: a known one, `suffix:<text>`, or raw values with a warning.
    fn unit(&mut self, u: &str, path: &str) -> Unit {
        if u.is_empty() || fields::KNOWN_UNITS.contains(&u) || u.starts_with("suffix:") {
            Unit::parse(u)
        } else {
            self.warn(path, format!("unknown unit {u:?}: values are shown raw"));
            Unit::parse("none")
        }
    }

    /// `color: {mode: "fixed", fixedColor}`: the colour; other modes (a palette, by
    /// thresholds) are how promdash colours anyway.
    fn fixed_color(&mut self, v: &Value, path: &str) -> Option<Color> {
        let c = v.as_object()?;
        let mode = str_of(c, "mode").unwrap_or("");
        if mode != "fixed" && mode != "shades" {
            return None;
        }
        let name = str_of(c, "fixedColor").unwrap_or("");
        let color = grafana_color(name);
        if color.is_none() {
            self.warn(
                &format!("{path}.fixedColor"),
                format!("colour {name:?} is not known"),
            );
        }
        color
    }

    /// One of `fieldConfig.overrides`: its matcher and the properties promdash applies.
    fn field_override(
        &mut self,
        ov: &Map<String, Value>,
        path: &str,
        refs: &HashMap<String, usize>,
    ) -> Option<SeriesOverride> {
        let m = ov.get("matcher").and_then(Value::as_object);
        let id = m.and_then(|m| str_of(m, "id")).unwrap_or("");
        let options = m.and_then(|m| m.get("options"));
        let text = options.and_then(Value::as_str).unwrap_or("");
        let matcher = match id {
            "byName" => SeriesMatcher::Name(text.to_owned()),
            "byRegexp" => match check_regex(text) {
                Ok(_) => SeriesMatcher::Regex(text.to_owned()),
                Err(e) => {
                    self.warn(
                        &format!("{path}.matcher.options"),
                        format!("{text:?} is not a regex ({e}): the override is not applied"),
                    );
                    return None;
                }
            },
            "byFrameRefID" => match refs.get(text) {
                Some(q) => SeriesMatcher::Query(*q),
                None => {
                    self.warn(
                        &format!("{path}.matcher.options"),
                        format!("no imported query has refId {text:?}: not applied"),
                    );
                    return None;
                }
            },
            other => {
                self.warn(
                    &format!("{path}.matcher"),
                    format!("matcher {other:?} is not supported: the override is not applied"),
                );
                return None;
            }
        };
        let mut out = SeriesOverride::new(matcher);
        for (j, p) in arr(ov, "properties").iter().enumerate() {
            let pp = format!("{path}.properties[{j}]");
            let Some(p) = p.as_object() else { continue };
            let pid = str_of(p, "id").unwrap_or("");
            let v = p.get("value").unwrap_or(&Value::Null);
            match pid {
                "displayName" => out.display_name = v.as_str().map(str::to_owned),
                "color" => out.color = self.fixed_color(v, &format!("{pp}.value")),
                "unit" => {
                    if let Some(u) = v.as_str() {
                        out.unit = Some(self.unit(u, &format!("{pp}.value")));
                    }
                }
                "custom.transform" => match v.as_str() {
                    Some("negative-Y") => out.negative_y = Some(true),
                    None => out.negative_y = Some(false),
                    Some(t) => self.warn(&pp, format!("transform {t:?} is not applied")),
                },
                "custom.axisPlacement" => match v.as_str().and_then(Axis::parse) {
                    Some(a) => out.axis = Some(a),
                    None => self.warn(&pp, format!("axis placement {v} is not known")),
                },
                "custom.hideFrom" => {
                    out.hidden = Some(v.get("viz").and_then(Value::as_bool) == Some(true));
                }
                "custom.stacking" => {
                    let mode = v.get("mode").and_then(Value::as_str).unwrap_or("none");
                    match Stacking::parse(mode) {
                        Some(s) => out.stacking = Some(s),
                        None => self.warn(&pp, format!("stacking {mode:?} is not known")),
                    }
                }
                id if COSMETIC.contains(&id) => {}
                id => self.warn(&pp, format!("{id:?} is not applied per series")),
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// `fieldConfig.defaults.custom`: stacking, negative-Y, axis placement and hidden
    /// series (for every series: `all`); the rest only changes how lines look.
    fn custom(
        &mut self,
        c: &Map<String, Value>,
        path: &str,
        _ty: &str,
        panel: &mut Panel,
        all: &mut SeriesOverride,
    ) {
        for (key, v) in c {
            match key.as_str() {
                "stacking" => {
                    let mode = v.get("mode").and_then(Value::as_str).unwrap_or("none");
                    match Stacking::parse(mode) {
                        Some(s) => panel.field.stacking = s,
                        None => self.warn(
                            &format!("{path}.stacking"),
                            format!("stacking {mode:?} is not known"),
                        ),
                    }
                }
                "transform" => match v.as_str() {
                    Some("negative-Y") => all.negative_y = Some(true),
                    Some("constant") | None => {}
                    Some(t) => self.warn(
                        &format!("{path}.transform"),
                        format!("{t:?} is not applied"),
                    ),
                },
                "hideFrom" if v.get("viz").and_then(Value::as_bool) == Some(true) => {
                    all.hidden = Some(true);
                }
                "axisPlacement" => match v.as_str().and_then(Axis::parse) {
                    Some(Axis::Left) => {}
                    Some(a) => all.axis = Some(a),
                    None => self.warn(
                        &format!("{path}.axisPlacement"),
                        format!("{v} is not known"),
                    ),
                },
                _ => {}
            }
        }
    }

    /// Value mappings, in either of Grafana's schemas: the current one (`{type: value,
    /// options: {"1": {text, color}}}`, `range`, `special`, `regex`) and the old one
    /// (`{type: 1, value, text}`, `{type: 2, from, to, text}`).
    fn mappings(&mut self, v: &Value, path: &str) -> Vec<ValueMapping> {
        let mut out: Vec<(i64, ValueMapping)> = Vec::new();
        for (i, m) in v
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
        {
            let mp = format!("{path}[{i}]");
            let Some(m) = m.as_object() else { continue };
            let options = m.get("options").and_then(Value::as_object);
            let result = |r: Option<&Map<String, Value>>| {
                let r = r?;
                let text = str_of(r, "text").map(str::to_owned);
                let color = str_of(r, "color").and_then(grafana_color);
                let index = r.get("index").and_then(Value::as_i64).unwrap_or(i64::MAX);
                (text.is_some() || color.is_some()).then_some((index, text, color))
            };
            let mut push = |on: MappingMatch, r: Option<(i64, Option<String>, Option<Color>)>| {
                if let Some((index, text, color)) = r {
                    out.push((index, ValueMapping { on, text, color }));
                }
            };
            match (m.get("type"), options) {
                (Some(Value::String(t)), Some(op)) if t == "value" => {
                    for (key, r) in op {
                        push(MappingMatch::Value(key.clone()), result(r.as_object()));
                    }
                }
                (Some(Value::String(t)), Some(op)) if t == "range" => push(
                    MappingMatch::Range {
                        from: num_of(op, "from"),
                        to: num_of(op, "to"),
                    },
                    result(op.get("result").and_then(Value::as_object)),
                ),
                (Some(Value::String(t)), Some(op)) if t == "special" => {
                    let on = match str_of(op, "match").unwrap_or("") {
                        "null" => MappingMatch::Null,
                        "nan" => MappingMatch::NaN,
                        "null+nan" => MappingMatch::NullNaN,
                        other => {
                            self.warn(
                                &format!("{mp}.options.match"),
                                format!("{other:?} never matches a Prometheus value"),
                            );
                            continue;
                        }
                    };
                    push(on, result(op.get("result").and_then(Value::as_object)));
                }
                (Some(Value::String(t)), Some(op)) if t == "regex" => {
                    let pattern = str_of(op, "pattern").unwrap_or("");
                    if check_regex(pattern).is_err() {
                        self.warn(&format!("{mp}.options.pattern"), "not a regex: not applied");
                        continue;
                    }
                    push(
                        MappingMatch::Regex(pattern.to_owned()),
                        result(op.get("result").and_then(Value::as_object)),
                    );
                }
                // The old schema: type 1 (value) or 2 (range), text beside them.
                _ => {
                    let ty = m.get("type").and_then(|t| {
                        t.as_i64()
                            .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
                    });
                    let text = str_of(m, "text").map(str::to_owned);
                    let on = match ty {
                        Some(1) => match str_of(m, "value").map(str::trim) {
                            Some("null") => MappingMatch::Null,
                            Some(v) => MappingMatch::Value(v.to_owned()),
                            None => continue,
                        },
                        Some(2) => {
                            let end = |k: &str| match str_of(m, k).map(str::trim) {
                                Some("null") => None,
                                _ => num_of(m, k),
                            };
                            let (from, to) = (end("from"), end("to"));
                            if from.is_none() && to.is_none() {
                                MappingMatch::Null
                            } else {
                                MappingMatch::Range { from, to }
                            }
                        }
                        _ => {
                            self.warn(&mp, "a mapping of an unknown type: not applied");
                            continue;
                        }
                    };
                    if text.is_some() {
                        out.push((
                            i64::MAX,
                            ValueMapping {
                                on,
                                text,
                                color: None,
                            },
                        ));
                    }
                }
            }
        }
        // Grafana tries them by their `index` (the order in its editor).
        out.sort_by_key(|(index, _)| *index);
        out.into_iter().map(|(_, m)| m).collect()
    }

    /// Thresholds `{mode, steps: [{color, value}]}`; the base step (value null) has no
    /// lower bound: its colour is the base colour.
    fn thresholds(&mut self, t: &Map<String, Value>, path: &str, panel: &mut Panel) {
        panel.field.thresholds_mode = match str_of(t, "mode") {
            Some("percentage") => ThresholdsMode::Percentage,
            _ => ThresholdsMode::Absolute,
        };
        let mut out: Vec<Threshold> = Vec::new();
        for (i, step) in arr(t, "steps").iter().enumerate() {
            let Some(s) = step.as_object() else { continue };
            let name = str_of(s, "color").unwrap_or("green");
            let Some(color) = grafana_color(name) else {
                self.warn(
                    &format!("{path}.steps[{i}].color"),
                    format!("colour {name:?} is not known"),
                );
                continue;
            };
            let Some(value) = num_of(s, "value") else {
                panel.field.base_color = Some(color);
                continue;
            };
            if out.last().is_none_or(|l| value > l.value) {
                out.push(Threshold { value, color });
            } else {
                self.warn(&format!("{path}.steps[{i}]"), "not in ascending order");
            }
        }
        panel.thresholds = out;
    }

    /// `options`: the reducer of a stat or gauge, a graph's legend.
    fn options(&mut self, o: &Map<String, Value>, path: &str, _ty: &str, panel: &mut Panel) {
        let Some(op) = o.get("options").and_then(Value::as_object) else {
            return;
        };
        let path = format!("{path}.options");
        if let Some(r) = op.get("reduceOptions").and_then(Value::as_object)
            && matches!(panel.kind, PanelKind::Stat | PanelKind::Gauge)
        {
            let calcs = arr(r, "calcs");
            if let Some(first) = calcs.first().and_then(Value::as_str) {
                match calc::Calc::parse(first) {
                    Some(c) => panel.field.reduce = Some(c),
                    None => self.warn(
                        &format!("{path}.reduceOptions.calcs[0]"),
                        format!("{first:?} is not computed: the last value is shown"),
                    ),
                }
            }
            if calcs.len() > 1 {
                self.warn(
                    &format!("{path}.reduceOptions.calcs"),
                    "only the first calculation is shown",
                );
            }
            if bool_of(r, "values") {
                self.warn(
                    &format!("{path}.reduceOptions.values"),
                    "every value is not shown: one per series",
                );
            }
        }
        if let Some(l) = op.get("legend").and_then(Value::as_object)
            && panel.kind == PanelKind::Graph
        {
            // A hidden legend (`showLegend: false`, `displayMode: hidden`) shows nothing.
            let hidden = l.get("showLegend").and_then(Value::as_bool) == Some(false)
                || str_of(l, "displayMode") == Some("hidden");
            for (i, c) in arr(l, "calcs").iter().enumerate() {
                let id = c.as_str().unwrap_or("");
                match calc::Calc::parse(id) {
                    Some(calc) if !hidden && !panel.legend_calcs.contains(&calc) => {
                        panel.legend_calcs.push(calc);
                    }
                    Some(_) => {}
                    None => self.warn(
                        &format!("{path}.legend.calcs[{i}]"),
                        format!("{id:?} is not computed"),
                    ),
                }
            }
        }
    }

    /// Old panels (`graph` before timeseries, `singlestat`): units, min/max, thresholds,
    /// series overrides, stacking, value maps, the value shown.
    fn legacy(&mut self, o: &Map<String, Value>, path: &str, ty: &str, panel: &mut Panel) {
        match ty {
            "graph" => {
                if let Some(y) = arr(o, "yaxes").first().and_then(Value::as_object) {
                    if let Some(f) = str_of(y, "format") {
                        panel.unit = self.unit(f, &format!("{path}.yaxes[0].format"));
                    }
                    panel.min = panel.min.or(num_of(y, "min"));
                    panel.max = panel.max.or(num_of(y, "max"));
                    if let Some(d) = num_of(y, "decimals") {
                        panel.decimals = Some(d.clamp(0.0, 10.0) as u8);
                    }
                }
                if let Some(d) = num_of(o, "decimals") {
                    panel.decimals = Some(d.clamp(0.0, 10.0) as u8);
                }
                if bool_of(o, "stack") {
                    panel.field.stacking = if bool_of(o, "percentage") {
                        Stacking::Percent
                    } else {
                        Stacking::Normal
                    };
                }
                for (i, s) in arr(o, "seriesOverrides").iter().enumerate() {
                    let sp = format!("{path}.seriesOverrides[{i}]");
                    if let Some(s) = s.as_object()
                        && let Some(out) = self.series_override(s, &sp, panel.field.stacking)
                    {
                        panel.field.overrides.push(out);
                    }
                }
                // The old legend: `values` with a switch per calculation, in Grafana's
                // column order.
                if let Some(l) = o.get("legend").and_then(Value::as_object)
                    && bool_of(l, "values")
                    && l.get("show").and_then(Value::as_bool) != Some(false)
                {
                    for id in ["min", "max", "avg", "current", "total"] {
                        if bool_of(l, id)
                            && let Some(calc) = calc::Calc::parse(id)
                        {
                            panel.legend_calcs.push(calc);
                        }
                    }
                }
            }
            "singlestat" | "grafana-singlestat-panel" => {
                if let Some(f) = str_of(o, "format") {
                    panel.unit = self.unit(f, &format!("{path}.format"));
                }
                if let Some(d) = num_of(o, "decimals") {
                    panel.decimals = Some(d.clamp(0.0, 10.0) as u8);
                }
                if let Some(g) = o.get("gauge").and_then(Value::as_object)
                    && bool_of(g, "show")
                {
                    panel.kind = PanelKind::Gauge;
                    panel.min = num_of(g, "minValue");
                    panel.max = num_of(g, "maxValue");
                }
                let colors: Vec<&str> = arr(o, "colors").iter().filter_map(Value::as_str).collect();
                // "80,90" with colors [base, warn, crit].
                if let Some(t) = str_of(o, "thresholds").filter(|t| !t.trim().is_empty()) {
                    let mut out: Vec<Threshold> = Vec::new();
                    for (i, v) in t.split(',').enumerate() {
                        let Ok(value) = v.trim().parse::<f64>() else {
                            self.warn(
                                &format!("{path}.thresholds"),
                                format!("{v:?} is not a number"),
                            );
                            break;
                        };
                        let color = colors
                            .get(i + 1)
                            .and_then(|c| grafana_color(c))
                            .unwrap_or(if i == 0 { Color::Yellow } else { Color::Red });
                        if out.last().is_none_or(|l| value > l.value) {
                            out.push(Threshold { value, color });
                        }
                    }
                    panel.thresholds = out;
                    if bool_of(o, "colorValue") || bool_of(o, "colorBackground") {
                        panel.field.base_color = colors.first().and_then(|c| grafana_color(c));
                    }
                }
                let vn = str_of(o, "valueName").unwrap_or("avg");
                match calc::Calc::parse(vn) {
                    Some(c) => panel.field.reduce = Some(c),
                    None => self.warn(
                        &format!("{path}.valueName"),
                        format!("{vn:?}: the last value is shown"),
                    ),
                }
                // valueMaps (mappingType 1) or rangeMaps (2), in the old mapping schema.
                let (key, ty) = match o.get("mappingType").and_then(Value::as_i64) {
                    Some(2) => ("rangeMaps", 2),
                    _ => ("valueMaps", 1),
                };
                let typed: Vec<Value> = arr(o, key)
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|m| {
                        let mut m = m.clone();
                        m.insert("type".into(), Value::from(ty));
                        Value::Object(m)
                    })
                    .collect();
                panel.field.mappings =
                    self.mappings(&Value::Array(typed), &format!("{path}.{key}"));
                if let Some(n) = str_of(o, "nullText").filter(|n| !n.is_empty()) {
                    panel.field.no_value = Some(n.to_owned());
                }
            }
            _ => {}
        }
    }

    /// One of the old graph's `seriesOverrides`: `alias` (a name, or `/regex/`) and what
    /// promdash applies of it: `transform: negative-Y`, `stack`, `yaxis: 2`,
    /// `hiddenSeries`, `color`.
    fn series_override(
        &mut self,
        s: &Map<String, Value>,
        path: &str,
        stacking: Stacking,
    ) -> Option<SeriesOverride> {
        let alias = str_of(s, "alias").unwrap_or("");
        let matcher = if alias.len() > 1 && alias.starts_with('/') {
            // A `/regex/` alias is not anchored (Grafana's stringToJsRegex).
            match check_regex(alias) {
                Ok(_) => SeriesMatcher::Regex(alias.to_owned()),
                Err(e) => {
                    self.warn(
                        &format!("{path}.alias"),
                        format!("{alias:?} is not a regex ({e}): not applied"),
                    );
                    return None;
                }
            }
        } else {
            SeriesMatcher::Name(alias.to_owned())
        };
        let mut out = SeriesOverride::new(matcher);
        for (key, v) in s {
            match key.as_str() {
                "alias" => {}
                "transform" => match v.as_str() {
                    Some("negative-Y") => out.negative_y = Some(true),
                    Some("constant") | None => {}
                    Some(t) => self.warn(
                        &format!("{path}.transform"),
                        format!("{t:?} is not applied"),
                    ),
                },
                "stack" => {
                    out.stacking = Some(match v {
                        Value::Bool(false) => Stacking::None,
                        // `true` or a group name ("A", "B"): stacked.
                        _ if stacking == Stacking::None => Stacking::Normal,
                        _ => stacking,
                    });
                }
                "yaxis" => {
                    if v.as_i64() == Some(2) || v.as_str() == Some("2") {
                        out.axis = Some(Axis::Right);
                    }
                }
                "hiddenSeries" => out.hidden = v.as_bool(),
                "color" => {
                    if let Some(c) = v.as_str() {
                        out.color = grafana_color(c);
                    }
                }
                "legend" | "lines" | "linewidth" | "fill" | "fillBelowTo" | "fillGradient"
                | "bars" | "points" | "pointradius" | "dashes" | "dashLength" | "spaceLength"
                | "steppedLine" | "zindex" | "nullPointMode" | "$$hashKey" => {}
                other => self.warn(&format!("{path}.{other}"), "not applied"),
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// `templating.list`.
    fn variables(&mut self, list: &[Value]) -> Vec<Variable> {
        self.panel = None;
        let mut out: Vec<Variable> = Vec::new();
        for (i, v) in list.iter().enumerate() {
            let path = format!("templating.list[{i}]");
            let Some(o) = v.as_object() else { continue };
            let name = str_of(o, "name").unwrap_or("").to_owned();
            let ty = str_of(o, "type").unwrap_or("query");
            if ty == "datasource" {
                // The connected server: nothing to choose.
                continue;
            }
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with("__");
            if !valid {
                self.warn(
                    &format!("{path}.name"),
                    format!("{name:?} cannot be a variable name: skipped"),
                );
                continue;
            }
            if out.iter().any(|v| v.name == name) {
                self.warn(
                    &format!("{path}.name"),
                    format!("a second variable {name:?}: skipped"),
                );
                continue;
            }
            let current = current_values(o);
            let saved_options: Vec<String> = arr(o, "options")
                .iter()
                .filter_map(|op| op.get("value"))
                .filter_map(Value::as_str)
                .filter(|s| *s != "$__all" && *s != "$__auto_interval")
                .map(str::to_owned)
                .collect();
            let query = match o.get("query") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Object(q)) => str_of(q, "query").unwrap_or("").to_owned(),
                _ => String::new(),
            };
            let source = match ty {
                "query" => match parse_variable_query(&query) {
                    Some(source) => source,
                    None if !query.trim().is_empty() && !query.contains("label_names") => {
                        // A series selector or expression: its series, as Grafana lists them.
                        VariableSource::QueryResult(query.trim().to_owned())
                    }
                    None => {
                        self.warn(
                            &format!("{path}.query"),
                            format!("{query:?} is not supported: the saved options are offered"),
                        );
                        fallback(&saved_options, &current)
                    }
                },
                "custom" => VariableSource::Values(split_custom(&query)),
                "interval" => {
                    let mut values = split_custom(&query);
                    if bool_of(o, "auto") {
                        values.retain(|v| v != AUTO);
                        values.insert(0, AUTO.to_owned());
                    }
                    VariableSource::Values(values)
                }
                "constant" => VariableSource::Values(vec![query.clone()]),
                "textbox" => {
                    let v = current.first().cloned().unwrap_or(query.clone());
                    VariableSource::Values(vec![v])
                }
                other => {
                    self.warn(
                        &format!("{path}.type"),
                        format!("{other:?} variables are not supported: skipped"),
                    );
                    continue;
                }
            };
            if let VariableSource::Values(v) = &source
                && v.is_empty()
            {
                self.warn(&path, "no values: skipped");
                continue;
            }
            let multi = bool_of(o, "multi");
            let all = bool_of(o, "includeAll");
            let all_value = str_of(o, "allValue")
                .filter(|a| all && !a.is_empty())
                .map(str::to_owned);
            let regex = str_of(o, "regex")
                .filter(|r| ty == "query" && !r.is_empty())
                .map(str::to_owned);
            if let Some(r) = &regex
                && let Err(e) = variable_regex(r)
            {
                self.warn(&format!("{path}.regex"), format!("{r:?}: {e}; not applied"));
            }
            let sort = o
                .get("sort")
                .and_then(Value::as_u64)
                .filter(|s| *s <= 8)
                .unwrap_or(0) as u8;
            let auto_interval = (ty == "interval" && bool_of(o, "auto")).then(|| {
                let count = o
                    .get("auto_count")
                    .and_then(Value::as_u64)
                    .filter(|c| *c > 0)
                    .map_or(interval::DEFAULT_AUTO_COUNT, |c| {
                        u32::try_from(c).unwrap_or(u32::MAX)
                    });
                let min = match str_of(o, "auto_min") {
                    None => interval::DEFAULT_AUTO_MIN,
                    Some(m) => interval::parse_grafana_interval(m).unwrap_or_else(|| {
                        self.warn(
                            &format!("{path}.auto_min"),
                            format!("{m:?} is not an interval; 10s is used"),
                        );
                        interval::DEFAULT_AUTO_MIN
                    }),
                };
                (count, min)
            });
            let mut default: Vec<String> = current
                .into_iter()
                .map(|c| {
                    if c == "$__all" {
                        crate::grafana::ALL.to_owned()
                    } else if c.starts_with("$__auto_interval") {
                        AUTO.to_owned()
                    } else {
                        c
                    }
                })
                .collect();
            if !multi && default.len() > 1 {
                default.truncate(1);
            }
            if let VariableSource::Values(vals) = &source {
                default.retain(|d| d == ALL || vals.contains(d));
            }
            if default.iter().any(|d| d == ALL) && !all {
                default.clear();
            }
            out.push(Variable {
                name,
                source,
                multi,
                all,
                default,
                regex: regex.filter(|r| variable_regex(r).is_ok()),
                all_value,
                sort: if ty == "query" { sort } else { 0 },
                grafana: true,
                auto_interval,
            });
        }
        out
    }
}

/// The picker's name for "every value" (as the TUI's variable picker shows it).
pub const ALL: &str = "All";

/// The value of an `interval` variable's `auto` option (see
/// [`Variable::auto_interval`](crate::dashboard::Variable::auto_interval)).
pub const AUTO: &str = "auto";

/// `current.value`: a string or a list of them.
fn current_values(o: &Map<String, Value>) -> Vec<String> {
    match o.get("current").and_then(|c| c.get("value")) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn fallback(saved: &[String], current: &[String]) -> VariableSource {
    if saved.is_empty() {
        VariableSource::Values(current.iter().filter(|c| *c != "$__all").cloned().collect())
    } else {
        VariableSource::Values(saved.to_vec())
    }
}

/// A custom variable's `a, b, c` (`\,` is a comma inside a value; `text : value` gives
/// the value).
pub fn split_custom(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = q.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| match s.split_once(" : ") {
            Some((_, value)) => value.trim().to_owned(),
            None => s.trim().to_owned(),
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// An old row's `height` (`"250px"` or 250) as terminal rows: about 30 px a row of
/// Grafana's grid, one terminal row each.
fn row_height(v: Option<&Value>) -> Option<u16> {
    let px = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches("px").trim().parse().ok()?,
        _ => return None,
    };
    Some(((px / 30.0).round() as i64).clamp(3, 200) as u16)
}

/// Grafana's colour names (`green`, `dark-red`, `semi-dark-yellow`, `#EAB839`,
/// `rgba(50, 172, 45, 0.97)`) as the nearest colour promdash has.
pub fn grafana_color(s: &str) -> Option<Color> {
    let s = s.trim();
    if let Some(inner) = s
        .strip_prefix("rgba(")
        .or_else(|| s.strip_prefix("rgb("))
        .and_then(|r| r.strip_suffix(')'))
    {
        let parts: Vec<u8> = inner
            .split(',')
            .take(3)
            .filter_map(|p| p.trim().parse::<f64>().ok())
            .map(|f| f.clamp(0.0, 255.0) as u8)
            .collect();
        return match parts[..] {
            [r, g, b] => Some(Color::Rgb(r, g, b)),
            _ => None,
        };
    }
    if s.starts_with('#') && s.len() == 4 {
        // #abc → #aabbcc
        let d: String = s[1..].chars().flat_map(|c| [c, c]).collect();
        return Color::parse(&format!("#{d}"));
    }
    let base = s
        .trim_start_matches("super-light-")
        .trim_start_matches("semi-dark-")
        .trim_start_matches("dark-")
        .trim_start_matches("light-");
    Color::parse(base).or(match base {
        "transparent" | "text" => Some(Color::White),
        _ => None,
    })
}

/// Whether `p` is a regex in Grafana's syntax, compiled once per pattern (a large
/// dashboard repeats its overrides in every panel).
fn check_regex(p: &str) -> Result<(), String> {
    match fields::cached_regex(p) {
        Some(_) => Ok(()),
        None => variable_regex(p).map(|_| ()),
    }
}

/// Override properties that only change how a line looks (ignored without a word).
const COSMETIC: &[&str] = &[
    "custom.fillOpacity",
    "custom.lineWidth",
    "custom.lineInterpolation",
    "custom.lineStyle",
    "custom.showPoints",
    "custom.pointSize",
    "custom.gradientMode",
    "custom.fillBelowTo",
    "custom.spanNulls",
    "custom.insertNulls",
    "custom.drawStyle",
    "custom.barAlignment",
    "custom.axisLabel",
    "custom.axisColorMode",
    "custom.axisWidth",
    "custom.axisBorderShow",
    "custom.axisGridShow",
    "custom.lineColor",
    "custom.width",
    "custom.align",
    "custom.cellOptions",
    "custom.displayMode",
    "custom.inspect",
    "custom.filterable",
    "custom.minWidth",
    "links",
    "description",
];

/// The query index (into the imported panel's queries) of each target's `refId`: the
/// targets that were imported, in order, matched to the queries by expression.
fn ref_ids(o: &Map<String, Value>, panel: &Panel) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut next = 0;
    for t in arr(o, "targets").iter().filter_map(Value::as_object) {
        if bool_of(t, "hide") {
            continue;
        }
        let Some(expr) = str_of(t, "expr") else {
            continue;
        };
        let Some(k) = panel.queries[next..]
            .iter()
            .position(|q| q.expr == expr)
            .map(|k| k + next)
        else {
            continue;
        };
        next = k + 1;
        if let Some(r) = str_of(t, "refId") {
            out.insert(r.to_owned(), k);
        }
    }
    out
}

/// Markdown (or HTML) as plain text: tags and emphasis marks removed, links as their text.
fn markdown_to_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut in_tag = false;
    for c in md.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '*' | '`' => {}
            _ => out.push(c),
        }
    }
    out.lines()
        .map(|l| l.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests;
