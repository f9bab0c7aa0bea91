//! Issue 14's speed figure: import + first frame of a 140-panel, 280-query Grafana
//! dashboard (10 rows of 14 panels, two targets each, rows 3–10 collapsed as in Node
//! Exporter Full), generated here. Times `grafana::import` of the JSON text, then
//! `State::new`, the first `Resize` and `Tick` (the round's requests computed) and one
//! frame drawn into a 120×40 `TestBackend`; prints the median and the slowest of `RUNS`.
//!
//! `cargo run -p promdash-tests --example grafana_import_speed [RUNS]`

use std::time::{Duration, Instant};

use promdash::app::{Effect, Msg, Options, State, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The dashboard: `rows` rows of `per_row` timeseries/stat panels, two targets each.
fn dashboard(rows: usize, per_row: usize) -> String {
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
            inner.push(serde_json::json!({
                "type": kind, "title": format!("Panel {r}.{p}"), "id": id,
                "gridPos": { "h": 8, "w": w, "x": (p * w) % 24, "y": y + 1 + p },
                "datasource": { "type": "prometheus", "uid": "${DS_PROMETHEUS}" },
                "fieldConfig": { "defaults": { "unit": "bytes" }, "overrides": [
                    { "matcher": { "id": "byRegexp", "options": "/.*out.*/" },
                      "properties": [ { "id": "custom.transform", "value": "negative-Y" } ] }
                ] },
                "options": { "legend": { "displayMode": "table", "calcs": ["min", "mean", "max", "lastNotNull"] } },
                "targets": [
                    { "refId": "A", "expr": format!("rate(node_network_receive_bytes_total{{instance=\"$node\",job=\"$job\",device=\"eth{r}\"}}[$__rate_interval]) * {p}"), "legendFormat": "{{device}} in" },
                    { "refId": "B", "expr": format!("rate(node_network_transmit_bytes_total{{instance=\"$node\",job=\"$job\",device=\"eth{r}\"}}[$__rate_interval]) * {p}"), "legendFormat": "{{device}} out" }
                ]
            }));
        }
        id += 1;
        let row = if collapsed {
            serde_json::json!({ "type": "row", "title": format!("Row {r}"), "id": id, "collapsed": true,
                "gridPos": { "h": 1, "w": 24, "x": 0, "y": y }, "panels": inner })
        } else {
            serde_json::json!({ "type": "row", "title": format!("Row {r}"), "id": id, "collapsed": false,
                "gridPos": { "h": 1, "w": 24, "x": 0, "y": y }, "panels": [] })
        };
        panels.push(row);
        if !collapsed {
            panels.extend(inner);
        }
        y += 1 + per_row * 8;
    }
    serde_json::json!({
        "__inputs": [ { "name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus" } ],
        "title": "Large ($node)", "schemaVersion": 38, "refresh": "5s",
        "time": { "from": "now-1h", "to": "now" },
        "templating": { "list": [
            { "name": "job", "type": "query", "query": "label_values(node_uname_info, job)",
              "current": { "text": "node", "value": "node" } },
            { "name": "node", "type": "query", "query": "label_values(node_uname_info{job=\"$job\"}, instance)",
              "current": { "text": "host:9100", "value": "host:9100" } }
        ] },
        "panels": panels
    })
    .to_string()
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let json = dashboard(10, 14);
    let opts = Options {
        url: "http://127.0.0.1:9090".to_owned(),
        refresh: Duration::from_secs(5),
        range: Duration::from_secs(3600),
        bell: false,
        demo: false,
        utc_offset: 0,
    };
    let mut times = Vec::with_capacity(runs);
    let mut shape = (0, 0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        let imported =
            promdash_queries::grafana::import(&json).expect("the generated JSON imports");
        let d = imported.dashboard;
        shape = (
            d.panels.len(),
            d.panels.iter().map(|p| p.queries.len()).sum::<usize>(),
            0,
        );
        let mut state = State::new(d, opts.clone());
        update(&mut state, Msg::Resize(120, 40));
        let effects = update(&mut state, Msg::Tick(1_700_000_000.0));
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
        terminal
            .draw(|f| promdash::ui::view(&state, f))
            .expect("draw");
        times.push(start.elapsed());
        shape.2 = effects
            .iter()
            .filter(|e| matches!(e, Effect::Fetch(_)))
            .count();
    }
    times.sort();
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "{} panels, {} queries, {} bytes of JSON; first round: {} requests (panels on screen only); import + first frame over {runs} runs: median {:.1} ms, max {:.1} ms",
        shape.0,
        shape.1,
        json.len(),
        shape.2,
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}
