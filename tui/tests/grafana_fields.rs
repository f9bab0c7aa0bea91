//! Issue 14 item 5: Grafana's field config drawn — value mappings and `noValue`,
//! percentage thresholds with the base colour, stat/gauge reducers over the range,
//! units, overrides (display name, fixed colour, unit, negative-Y, right axis, hidden
//! series), the old graph's series overrides and stacking — from fixed answers, with the
//! screen at 120×40.

mod common;

use common::*;
use promdash::app::{FetchKey, FetchRequest, State};
use promdash_queries::dashboard::Color;
use promdash_queries::error::QueryError;
use promdash_queries::grafana::import;
use promdash_queries::model::{
    InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample,
};

const FIELDS: &str = include_str!("../../queries/src/grafana/testdata/field-config.json");

/// Each expression's series: labels and a value per point index (`i` of `n`).
#[allow(clippy::type_complexity)]
fn series_of(expr: &str) -> Vec<(Labels, Box<dyn Fn(usize, usize) -> f64>)> {
    let l = |k: &str, v: &str| labels(&[(k, v)]);
    match expr {
        "demo_service_up" => vec![
            (l("service", "api"), Box::new(|_, _| 1.0)),
            (l("service", "db"), Box::new(|_, _| 0.0)),
            (l("service", "cache"), Box::new(|_, _| f64::NAN)),
        ],
        // Rises to 1.5 GB (75% of 0..2 GB) and falls back to 0.5 GB at the end.
        "demo_disk_used_bytes" => vec![(
            Labels::new(),
            Box::new(|i, n| {
                if i + 1 == n {
                    0.5e9
                } else {
                    1.5e9 * i as f64 / (n - 2) as f64
                }
            }),
        )],
        // 1, 2, 2, ..., 2, 3: the mean is 2, the last value 3.
        "demo_load1" => vec![(
            Labels::new(),
            Box::new(|i, n| match i {
                0 => 1.0,
                _ if i + 1 == n => 3.0,
                _ => 2.0,
            }),
        )],
        "demo_temp_celsius" => vec![
            (l("sensor", "cpu"), Box::new(|_, _| 95.0)),
            (l("sensor", "gpu"), Box::new(|_, _| 61.5)),
        ],
        "demo_net_receive_bits" => vec![
            (l("device", "eth0"), Box::new(|_, _| 8e6)),
            (l("device", "lo"), Box::new(|_, _| 1e9)),
        ],
        "demo_net_transmit_bits" => vec![(l("device", "eth0"), Box::new(|_, _| 4e6))],
        "demo_requests_rate" => vec![
            (l("route", "/a"), Box::new(|_, _| 30.0)),
            (l("route", "/b"), Box::new(|_, _| 10.0)),
        ],
        "demo_error_ratio" => vec![(Labels::new(), Box::new(|_, _| 0.02))],
        "demo_jobs" => vec![
            (l("kind", "ok"), Box::new(|_, _| 3.0)),
            (l("kind", "retry"), Box::new(|_, _| 1.0)),
            (l("kind", "errors"), Box::new(|_, _| 2.0)),
            (l("kind", "debug"), Box::new(|_, _| 50.0)),
        ],
        "demo_answer" => vec![(l("job", "deep"), Box::new(|_, _| 42.0))],
        "demo_disk_ratio" => vec![
            (l("mount", "/"), Box::new(|_, _| 1.0)),
            (l("mount", "/home"), Box::new(|_, _| 0.5)),
        ],
        _ => Vec::new(),
    }
}

fn reply(req: &FetchRequest) -> Result<QueryResult, QueryError> {
    let expr = req.key.expr();
    let data = match (&req.key, req.window) {
        (FetchKey::Range { .. }, Some(w)) => {
            let step = w.step.as_secs_f64();
            let n = ((w.end - w.start) / step).round() as usize + 1;
            QueryData::Matrix(
                series_of(expr)
                    .into_iter()
                    .map(|(labels, f)| RangeSeries {
                        labels,
                        samples: (0..n)
                            .map(|i| Sample {
                                t: w.start + step * i as f64,
                                v: f(i, n),
                            })
                            .collect(),
                    })
                    .collect(),
            )
        }
        _ => QueryData::Vector(
            series_of(expr)
                .into_iter()
                .map(|(labels, f)| InstantSeries {
                    labels,
                    sample: Sample {
                        t: NOW,
                        v: f(99, 100),
                    },
                })
                .collect(),
        ),
    };
    Ok(QueryResult {
        data,
        notes: Notes::default(),
    })
}

fn loaded_state() -> State {
    let d = import(FIELDS).expect("imports").dashboard;
    let (mut state, reqs) = start(d, 120, 40);
    for r in &reqs {
        promdash::app::update(&mut state, fetched(r, reply(r)));
    }
    state
}

fn panel(state: &State, title: &str) -> usize {
    state
        .dashboard
        .panels
        .iter()
        .position(|p| p.title == title)
        .unwrap_or_else(|| panic!("no panel {title}"))
}

#[test]
fn field_config_drawn() {
    let state = loaded_state();
    let ps = |t: &str| &state.panels[panel(&state, t)];
    // Mappings: text and colour; NaN by the null+nan mapping.
    let svc: Vec<(&str, &str, Option<Color>)> = ps("Service state")
        .stat_values()
        .map(|v| (v.name.as_str(), v.text.as_str(), v.color))
        .collect();
    assert_eq!(
        svc,
        [
            ("api", "UP", Some(Color::Green)),
            ("cache", "N/A", Some(Color::Gray)),
            ("db", "DOWN", Some(Color::Red)),
        ]
    );
    // Max over the range (not the last value), 75% of 0..2 GB: orange.
    let disk = ps("Disk peak").stat_values().next().expect("a value");
    assert_eq!(
        (disk.text.as_str(), disk.color),
        ("1.5 GB", Some(Color::Orange))
    );
    // A gauge's mean over the range.
    let load = ps("Load mean").stat_values().next().expect("a value");
    assert_eq!(load.text, "2.00");
    // Range mapping over 90; a unit of Grafana's (celsius).
    let temps: Vec<&str> = ps("Temperatures")
        .stat_values()
        .map(|v| v.text.as_str())
        .collect();
    assert_eq!(temps, ["HOT", "61.5°C"]);
    // Display name from the defaults with a label; unknown unit: the raw number.
    let odd = ps("Odd unit").stat_values().next().expect("a value");
    assert_eq!(
        (odd.name.as_str(), odd.text.as_str()),
        ("deep answers", "42")
    );
    // A table's value mapping (old schema) and thresholds.
    let rows: Vec<(&str, Option<Color>)> = ps("Disks")
        .rows
        .iter()
        .map(|r| (r.text.as_str(), r.color))
        .collect();
    assert_eq!(rows, [("FULL", Some(Color::Red)), ("50%", None)]);

    // Overrides: negative-Y drawn below zero, the legend as the server answers; a fixed
    // colour and display name; a hidden series listed but not drawn.
    let net = ps("Network traffic");
    let by_name = |n: &str| {
        net.series
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("no series {n}: {:?}", net.series))
    };
    let out = by_name("eth0 out");
    assert!(
        out.cols
            .iter()
            .filter(|c| !c.is_empty())
            .all(|c| c.hi == -4e6)
    );
    assert_eq!(out.last_text, "4 Mb/s");
    let rx = by_name("Receive eth0");
    assert_eq!(rx.fixed, Some(Color::Purple));
    assert!(by_name("lo in").invisible);
    // The hidden series does not stretch the axis: -4 Mb/s .. 8 Mb/s.
    assert!(
        net.scale.lo < 0.0 && net.scale.lo >= -5e6,
        "{:?}",
        net.scale
    );
    assert!(
        net.scale.hi >= 8e6 && net.scale.hi <= 1e7,
        "{:?}",
        net.scale
    );
    // Normal stacking; refId B on its own right-hand axis, not stacked.
    let req = ps("Requests stacked");
    let top = |n: &str| {
        req.series.iter().find(|s| s.name == n).map(|s| {
            s.cols
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| c.hi)
                .fold(f32::MIN, f32::max)
        })
    };
    assert_eq!(top("/a"), Some(30.0));
    assert_eq!(top("/b"), Some(40.0));
    assert_eq!(top("error ratio"), Some(0.02));
    assert!(req.right_scale.is_some());
    assert!(
        req.right_labels.iter().any(|l| l.ends_with('%')),
        "{:?}",
        req.right_labels
    );
    // Old graph: percent stacking of ok + retry (debug hidden, errors apart, negated).
    let old = ps("Old graph");
    let top = |n: &str| {
        old.series.iter().find(|s| s.name == n).map(|s| {
            s.cols
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| c.hi)
                .fold(f32::MIN, f32::max)
        })
    };
    assert_eq!(top("ok"), Some(0.75));
    assert_eq!(top("retry"), Some(1.0));
    assert_eq!(top("errors"), Some(-2.0));
    assert!(old.series.iter().any(|s| s.name == "debug" && s.invisible));
    assert!(
        old.y_labels.iter().any(|l| l == "100%"),
        "{:?}",
        old.y_labels
    );

    let text = screen(&state);
    for want in ["UP", "DOWN", "N/A", "HOT", "Receive eth0", "FULL"] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("grafana_field_config", text);
    });
}

/// `noValue` where a query answers nothing.
#[test]
fn no_value_text() {
    let json = r#"{"title": "Nothing", "panels": [
      {"type": "stat", "title": "Empty", "gridPos": {"x": 0, "y": 0, "w": 8, "h": 5},
       "fieldConfig": {"defaults": {"noValue": "nobody home"}},
       "targets": [{"refId": "A", "expr": "demo_absent"}]},
      {"type": "stat", "title": "Default", "gridPos": {"x": 8, "y": 0, "w": 8, "h": 5},
       "targets": [{"refId": "A", "expr": "demo_absent"}]}]}"#;
    let d = import(json).expect("imports").dashboard;
    let (mut state, reqs) = start(d, 120, 40);
    for r in &reqs {
        promdash::app::update(&mut state, fetched(r, reply(r)));
    }
    assert_eq!(state.panels[0].value_text, "nobody home");
    assert_eq!(state.panels[1].value_text, "no data");
    let text = screen(&state);
    assert!(text.contains("nobody home"), "{text}");
}
