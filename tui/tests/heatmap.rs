//! Heatmap panels: a classic histogram's buckets over time, shaded by count, with the
//! p50/p95/p99 rows over them (fixed data, frozen clock).

mod common;

use common::*;
use promdash::app::{FetchKey, Msg, update};
use promdash_queries::dashboard::parse_dashboard;
use promdash_queries::model::{Notes, QueryData, QueryResult, RangeSeries, Sample};

const DASHBOARD: &str = r#"
title = "Latency histogram"

[[panels]]
title = "Latency heatmap"
kind = "heatmap"
unit = "seconds"
query = 'sum by (le) (rate(app_request_latency_seconds_bucket[$__rate_interval]))'
"#;

const BOUNDS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

/// Cumulative bucket rates: most requests around 20-50ms, a slow spell in the middle
/// of the window that moves mass to 0.5-1s.
fn buckets(start: f64, end: f64, step: f64) -> Vec<RangeSeries> {
    let n = ((end - start) / step).round() as usize + 1;
    let density = |i: usize, b: usize| -> f64 {
        let slow = (n * 2 / 5..n * 3 / 5).contains(&i);
        let centre = if slow { 7.0 } else { 3.0 };
        let d = b as f64 - centre;
        10.0 * (-d * d / 2.0).exp()
    };
    BOUNDS
        .iter()
        .enumerate()
        .map(|(b, le)| RangeSeries {
            labels: labels(&[("le", le)]),
            samples: (0..n)
                .map(|i| Sample {
                    t: start + step * i as f64,
                    v: (0..=b).map(|k| density(i, k)).sum(),
                })
                .collect(),
        })
        .collect()
}

#[test]
fn heatmap_with_quantile_lines() {
    let dashboard = parse_dashboard(DASHBOARD, "heatmap.toml").expect("valid");
    let (mut state, reqs) = start(dashboard, 120, 40);
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    assert!(matches!(r.key, FetchKey::Range { .. }));
    assert_eq!(
        r.key.expr(),
        "sum by (le) (rate(app_request_latency_seconds_bucket[1m]))",
        "$__rate_interval = max(step + 15s, 60s)"
    );
    let w = r.window.expect("window");
    let result = Ok(QueryResult {
        data: QueryData::Matrix(buckets(w.start, w.end, w.step.as_secs_f64())),
        notes: Notes::default(),
    });
    update(&mut state, fetched(r, result));
    let view = state.panels[0].heatmap.as_ref().expect("heatmap built");
    assert_eq!(view.buckets, 12);
    assert!(view.max > 0.0);
    // The slow spell: p50 climbs to a higher row (smaller index) in the middle.
    let p50 = &view.quantile_rows[0];
    let edge = p50[2].expect("p50 at the start");
    let middle = p50[view.cols / 2].expect("p50 in the middle");
    assert!(middle < edge, "middle row {middle} should be above {edge}");
    let text = screen(&state);
    assert!(text.contains("─ p50"), "{text}");
    assert!(text.contains("≡ p99"), "{text}");
    assert!(text.contains("+Inf"), "{text}");
    assert!(text.contains('█'), "{text}");
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("heatmap", text);
    });
    // Without `le` labels the panel says what it needs.
    let round = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
    for r in &round {
        update(
            &mut state,
            fetched(
                r,
                Ok(QueryResult {
                    data: QueryData::Matrix(vec![RangeSeries {
                        labels: labels(&[("route", "/x")]),
                        samples: vec![Sample { t: NOW, v: 1.0 }],
                    }]),
                    notes: Notes::default(),
                }),
            ),
        );
    }
    assert!(screen(&state).contains("no `le` buckets"));
}

#[test]
fn scrape_interval_from_the_dashboard_sets_rate_interval() {
    let text = DASHBOARD.replacen("title = ", "scrape_interval = \"30s\"\ntitle = ", 1);
    let dashboard = parse_dashboard(&text, "heatmap.toml").expect("valid");
    let (_, reqs) = start(dashboard, 120, 40);
    // 4 × 30s beats the 5s step + 30s.
    assert_eq!(
        reqs[0].key.expr(),
        "sum by (le) (rate(app_request_latency_seconds_bucket[2m]))"
    );
}

/// In a small panel the p95 and p99 lines would cover most of the shading: only p50 is
/// drawn over it, the legend still gives all three.
#[test]
fn small_heatmap_keeps_its_shading() {
    let dashboard = parse_dashboard(DASHBOARD, "heatmap.toml").expect("valid");
    let (mut state, reqs) = start(dashboard, 60, 12);
    let r = &reqs[0];
    let w = r.window.expect("window");
    let result = Ok(QueryResult {
        data: QueryData::Matrix(buckets(w.start, w.end, w.step.as_secs_f64())),
        notes: Notes::default(),
    });
    update(&mut state, fetched(r, result));
    let text = screen(&state);
    let plot: String = text
        .lines()
        .filter(|l| !l.contains(" p50 "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plot.contains('─'), "the p50 line: {text}");
    assert!(!plot.contains('═') && !plot.contains('≡'), "{text}");
    assert!(
        text.contains("═ p95") || text.contains("═ p9"),
        "legend: {text}"
    );
    let shaded = plot.chars().filter(|c| "░▒▓█".contains(*c)).count();
    assert!(shaded > 0, "{text}");
}
