//! The data behind panels: the answers as the server sent them (every sample of a range
//! answer, not the columns drawn), as CSV and JSON.
//!
//! Graphs and heatmaps export their range answers; stats, gauges and tables the instant
//! answers whose values they show.

use promdash_queries::dashboard::{Panel, PanelKind};
use promdash_queries::model::QueryData;
use promdash_queries::source::RangeWindow;
use serde_json::{Value, json};

use super::Target;
use crate::app::State;
use crate::headless::output;

/// One query of a panel as exported.
#[derive(Debug, Clone)]
pub struct QueryExport<'a> {
    pub expr: &'a str,
    pub legend: Option<&'a str>,
    /// The range query's window (graphs, heatmaps).
    pub window: Option<RangeWindow>,
    /// The last good answer.
    pub data: Option<QueryData>,
    /// The last error of this query, if its last refresh failed.
    pub error: Option<String>,
}

impl QueryExport<'_> {
    /// The name of the query in a CSV's `query` column: its legend, else its expression.
    pub fn name(&self) -> &str {
        self.legend.unwrap_or(self.expr)
    }
}

/// Whether `kind` shows range answers (else instant answers).
fn shows_range(kind: PanelKind) -> bool {
    matches!(kind, PanelKind::Graph | PanelKind::Heatmap)
}

/// The data of panel `i`, query by query.
pub fn panel_queries(state: &State, i: usize) -> Vec<QueryExport<'_>> {
    let (Some(panel), Some(ps)) = (state.dashboard.panels.get(i), state.panels.get(i)) else {
        return Vec::new();
    };
    let range = shows_range(panel.kind);
    panel
        .queries
        .iter()
        .enumerate()
        .map(|(qi, q)| {
            let (window, data) = if range {
                match ps.raw.get(qi).and_then(Option::as_ref) {
                    Some(r) => (Some(r.window), Some(QueryData::Matrix(r.series.clone()))),
                    None => (None, None),
                }
            } else {
                (None, ps.instant_raw.get(qi).cloned().flatten())
            };
            let error = ps
                .errors
                .get(qi * 2 + usize::from(range))
                .and_then(Option::as_ref)
                .map(|e| e.message.clone());
            QueryExport {
                expr: &q.expr,
                legend: q.legend.as_deref(),
                window,
                data,
                error,
            }
        })
        .collect()
}

/// Panel `i`'s data as CSV with the columns of `promdash query -o csv` (labels,
/// `timestamp`, `value`); a panel of several queries gets a first column `query` naming
/// each row's query (its legend, else its expression).
pub fn csv(state: &State, i: usize) -> Vec<u8> {
    let queries = panel_queries(state, i);
    let parts: Vec<(&str, &QueryData)> = queries
        .iter()
        .filter_map(|q| q.data.as_ref().map(|d| (q.name(), d)))
        .collect();
    let tag = (queries.len() > 1).then_some("query");
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = output::write_csv_tagged(&mut out, tag, &parts);
    out
}

/// The exported panels' data as one JSON document: the dashboard, server (without
/// credentials), time range, and per panel per query its expression, window, the answer
/// as the API's `data` object (values as strings, exact) and its error.
pub fn json(state: &State, target: Target) -> String {
    let panels: Vec<usize> = match target {
        Target::Panel(i) => vec![i],
        Target::Dashboard => (0..state.dashboard.panels.len()).collect(),
    };
    let (start, end) = super::shown_window(state);
    let doc = json!({
        "dashboard": state.dashboard.title,
        "server": state.opts.url,
        "range": { "start": start, "end": end, "seconds": state.range.as_secs_f64() },
        "panels": panels.iter().map(|&i| panel_json(state, i)).collect::<Vec<Value>>(),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn panel_json(state: &State, i: usize) -> Value {
    let Some(panel) = state.dashboard.panels.get(i) else {
        return Value::Null;
    };
    let queries: Vec<Value> = panel_queries(state, i)
        .into_iter()
        .map(|q| {
            json!({
                "expr": q.expr,
                "legend": q.legend,
                "window": q.window.map(|w| json!({
                    "start": w.start,
                    "end": w.end,
                    "step": w.step.as_secs_f64(),
                })),
                "data": q.data.as_ref().map(output::to_json),
                "error": q.error,
            })
        })
        .collect();
    json!({
        "title": panel.title,
        "kind": kind_str(panel.kind),
        "unit": unit_name(panel),
        "queries": queries,
    })
}

/// A panel kind as the dashboard file writes it.
pub fn kind_str(kind: PanelKind) -> &'static str {
    match kind {
        PanelKind::Graph => "graph",
        PanelKind::Stat => "stat",
        PanelKind::Gauge => "gauge",
        PanelKind::Table => "table",
        PanelKind::Heatmap => "heatmap",
        PanelKind::Text => "text",
    }
}

fn unit_name(panel: &Panel) -> String {
    use promdash_queries::dashboard::Unit;
    match &panel.unit {
        Unit::Short => "short",
        Unit::Percent => "percent",
        Unit::PercentUnit => "percentunit",
        Unit::Seconds => "seconds",
        Unit::Milliseconds => "ms",
        Unit::Bytes => "bytes",
        Unit::ReqPerSec => "reqps",
        Unit::Other(s) => s,
    }
    .to_owned()
}
