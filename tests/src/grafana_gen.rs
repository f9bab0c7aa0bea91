//! Large generated Grafana dashboards for the speed and CPU examples: rows of stat and
//! timeseries panels in Node Exporter Full's shape (an exported `__inputs` data source,
//! table legends, every row after the second collapsed, holding its panels).

use serde_json::{Value, json};

/// What differs between the generated dashboards: the title, the variables, and each
/// panel's field config and targets (by row and panel number).
pub struct Spec<'a> {
    pub title: &'a str,
    /// `templating.list`.
    pub variables: Value,
    /// `(row, panel) → (fieldConfig, targets)`.
    pub panel: &'a dyn Fn(usize, usize) -> (Value, Value),
}

/// The dashboard's JSON: `rows` rows of `per_row` panels (every fourth a stat, 6 of 24
/// columns wide, the rest timeseries at 12), rows from the third on collapsed.
pub fn large_dashboard(rows: usize, per_row: usize, spec: &Spec<'_>) -> String {
    let mut panels = Vec::new();
    let mut id = 0;
    let mut y = 0;
    for r in 0..rows {
        let collapsed = r >= 2;
        let mut inner = Vec::new();
        for p in 0..per_row {
            id += 1;
            let kind = if p % 4 == 0 { "stat" } else { "timeseries" };
            let w = if kind == "stat" { 6 } else { 12 };
            let (field_config, targets) = (spec.panel)(r, p);
            inner.push(json!({
                "type": kind, "title": format!("Panel {r}.{p}"), "id": id,
                "gridPos": { "h": 8, "w": w, "x": (p * w) % 24, "y": y + 1 + p },
                "datasource": { "type": "prometheus", "uid": "${DS_PROMETHEUS}" },
                "fieldConfig": field_config,
                "options": { "legend": { "displayMode": "table", "calcs": ["min", "mean", "max", "lastNotNull"] } },
                "targets": targets
            }));
        }
        id += 1;
        let row_panels = if collapsed {
            Value::Array(std::mem::take(&mut inner))
        } else {
            json!([])
        };
        panels.push(
            json!({ "type": "row", "title": format!("Row {r}"), "id": id,
            "collapsed": collapsed, "gridPos": { "h": 1, "w": 24, "x": 0, "y": y },
            "panels": row_panels }),
        );
        panels.extend(inner);
        y += 1 + per_row * 8;
    }
    json!({
        "__inputs": [ { "name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus" } ],
        "title": spec.title, "schemaVersion": 38, "refresh": "5s",
        "time": { "from": "now-1h", "to": "now" },
        "templating": { "list": spec.variables },
        "panels": panels
    })
    .to_string()
}
