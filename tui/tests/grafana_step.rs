//! A Grafana target's step options through `update`: the range requests' step and the
//! `$__interval` put into the query follow `intervalFactor`, the target's min step
//! (`interval`, the legacy `step`) and the panel's min interval, as Grafana's Prometheus
//! data source computes them.

mod common;

use common::*;
use promdash::app::FetchKey;
use promdash_queries::grafana::import;

/// Five graphs of the same width, one per option; `$__interval` in each expression.
const STEPS: &str = r#"{"title": "Steps", "time": {"from": "now-1h", "to": "now"},
  "templating": {"list": [{"name": "res", "type": "custom", "query": "2m,5m",
                           "current": {"text": "2m", "value": "2m"}}]},
  "panels": [
    {"type": "timeseries", "title": "auto", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 5},
     "targets": [{"expr": "rate(a[$__interval])"}]},
    {"type": "timeseries", "title": "factor", "gridPos": {"x": 0, "y": 5, "w": 24, "h": 5},
     "targets": [{"expr": "rate(b[$__interval])", "intervalFactor": 3}]},
    {"type": "timeseries", "title": "min", "gridPos": {"x": 0, "y": 10, "w": 24, "h": 5},
     "targets": [{"expr": "rate(c[$__interval])", "interval": "10m"}]},
    {"type": "graph", "title": "legacy", "gridPos": {"x": 0, "y": 15, "w": 24, "h": 5},
     "targets": [{"expr": "rate(d[$__interval])", "step": 300}]},
    {"type": "timeseries", "title": "panel", "interval": "$res", "gridPos": {"x": 0, "y": 20, "w": 24, "h": 5},
     "targets": [{"expr": "rate(e[$__interval])", "intervalFactor": 2}]}
  ]}"#;

#[test]
fn steps_follow_grafana_step_options() {
    let d = import(STEPS).expect("imports").dashboard;
    let (state, reqs) = start(d, 120, 40);
    let step_of = |metric: &str| -> (u64, String) {
        reqs.iter()
            .find_map(|r| match &r.key {
                FetchKey::Range { expr, step_ms } if expr.contains(&format!("rate({metric}[")) => {
                    Some((*step_ms, expr.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no range request for {metric}: {reqs:#?}"))
    };
    let (auto, auto_expr) = step_of("a");
    // A full-width graph over the range shown: a round step of seconds.
    assert!((1000..60_000).contains(&auto), "{auto}");
    assert_eq!(
        auto_expr,
        format!(
            "rate(a[{}])",
            promdash::variables::promql_duration(std::time::Duration::from_millis(auto))
        )
    );
    let (factor, expr) = step_of("b");
    assert_eq!(factor, 3 * auto);
    assert_eq!(
        expr,
        format!(
            "rate(b[{}])",
            promdash::variables::promql_duration(std::time::Duration::from_millis(factor))
        ),
        "$__interval is the step sent"
    );
    assert_eq!(step_of("c"), (600_000, "rate(c[10m])".to_owned()));
    assert_eq!(step_of("d"), (300_000, "rate(d[5m])".to_owned()));
    // The panel's min interval from the variable ($res = 2m), then the factor.
    assert_eq!(step_of("e"), (240_000, "rate(e[4m])".to_owned()));
    // Each window is aligned to its own step.
    for r in &reqs {
        if let (FetchKey::Range { step_ms, .. }, Some(w)) = (&r.key, r.window) {
            let step = *step_ms as f64 / 1000.0;
            assert_eq!(w.end % step, 0.0, "{r:?}");
            assert!(w.end - w.start >= state.range.as_secs_f64(), "{r:?}");
        }
    }
}
