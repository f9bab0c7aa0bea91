//! Issue 14's speed figure: import + first frame of a 140-panel, 280-query Grafana
//! dashboard (10 rows of 14 panels, two targets each, rows 3–10 collapsed as in Node
//! Exporter Full), generated here. Times `grafana::import` of the JSON text, then
//! `State::new`, the first `Resize` and `Tick` (the round's requests computed) and one
//! frame drawn into a 120×40 `TestBackend`; prints the median and the slowest of `RUNS`.
//!
//! `cargo run -p promdash-tests --example grafana_import_speed [RUNS]`

use std::time::{Duration, Instant};

use promdash::app::{Effect, Msg, Options, State, update};
use promdash_tests::grafana_gen::{Spec, large_dashboard};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The dashboard: `rows` rows of `per_row` timeseries/stat panels, two targets each.
fn dashboard(rows: usize, per_row: usize) -> String {
    let panel = |r: usize, p: usize| {
        let field_config = serde_json::json!({ "defaults": { "unit": "bytes" }, "overrides": [
            { "matcher": { "id": "byRegexp", "options": "/.*out.*/" },
              "properties": [ { "id": "custom.transform", "value": "negative-Y" } ] }
        ] });
        let targets = serde_json::json!([
            { "refId": "A", "expr": format!("rate(node_network_receive_bytes_total{{instance=\"$node\",job=\"$job\",device=\"eth{r}\"}}[$__rate_interval]) * {p}"), "legendFormat": "{{device}} in" },
            { "refId": "B", "expr": format!("rate(node_network_transmit_bytes_total{{instance=\"$node\",job=\"$job\",device=\"eth{r}\"}}[$__rate_interval]) * {p}"), "legendFormat": "{{device}} out" }
        ]);
        (field_config, targets)
    };
    let spec = Spec {
        title: "Large ($node)",
        variables: serde_json::json!([
            { "name": "job", "type": "query", "query": "label_values(node_uname_info, job)",
              "current": { "text": "node", "value": "node" } },
            { "name": "node", "type": "query", "query": "label_values(node_uname_info{job=\"$job\"}, instance)",
              "current": { "text": "host:9100", "value": "host:9100" } }
        ]),
        panel: &panel,
    };
    large_dashboard(rows, per_row, &spec)
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
