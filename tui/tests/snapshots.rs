//! What the user sees, as text: TestBackend + insta, fixed data, frozen clock.
//!
//! Review changes with `cargo insta review` (or INSTA_UPDATE=always, then `git diff`).
//! A mismatch fails the test; new snapshots are never accepted silently in CI.

mod common;

use common::*;
use promdash::app::{Msg, update};
use promdash_queries::dashboard::parse_dashboard;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Color;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

fn snap(name: &str, w: u16, h: u16, text: String) {
    insta::with_settings!({ snapshot_suffix => format!("{w}x{h}"), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn default_dashboard_with_data() {
    for (w, h) in SIZES {
        let state = loaded(w, h);
        let text = screen(&state);
        assert!(text.contains("Reference service"));
        assert!(text.contains(" UP "));
        snap("default_with_data", w, h, text);
    }
}

/// Drives the alert rules: p95 high for 40 s (firing), error ratio high once (pending).
fn alerting(w: u16, h: u16) -> promdash::app::State {
    let (mut state, reqs) = default_state(w, h);
    let high = Data {
        alert_p95: 0.83,
        alert_errors: 0.012,
    };
    answer_all(&mut state, &reqs, high);
    let mut t = NOW;
    for k in 0..8 {
        t += 5.0;
        let data = if k == 7 {
            Data {
                alert_p95: 0.83,
                alert_errors: 0.09,
            }
        } else {
            high
        };
        let round = fetches(update(&mut state, Msg::Tick(t)));
        answer_all(&mut state, &round, data);
    }
    state
}

#[test]
fn firing_and_pending_alerts() {
    for (w, h) in SIZES {
        let state = alerting(w, h);
        let text = screen(&state);
        assert!(text.contains("FIRING HighLatencyP95 830ms for "), "{text}");
        // Pending shows its value too, in the alert's unit.
        assert!(text.contains("PENDING HighErrorRatio 9% "), "{text}");
        snap("alerts", w, h, text.clone());
        // The latency panel's border is red; the banner is red for a critical alert.
        let t = draw(&state);
        let buf = t.backend().buffer();
        let latency = state
            .dashboard
            .panels
            .iter()
            .position(|p| p.title.starts_with("Latency"))
            .expect("panel");
        let rect = state.panel_rects()[latency].expect("visible");
        assert_eq!(buf[(rect.x, rect.y)].fg, Color::Red);
        let firing_x = text
            .lines()
            .next()
            .and_then(|l| l.find("FIRING"))
            .expect("banner") as u16;
        assert_eq!(buf[(firing_x, 0)].bg, Color::Red);
    }
}

#[test]
fn server_down() {
    for (w, h) in SIZES {
        let mut state = loaded(w, h);
        let round = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
        for r in &round {
            update(
                &mut state,
                promdash::app::Msg::Fetched(Box::new(promdash::app::Fetched {
                    key: r.key.clone(),
                    seq: r.seq,
                    window: r.window,
                    result: Err(refused()),
                    elapsed: std::time::Duration::from_millis(1),
                })),
            );
        }
        update(&mut state, Msg::Tick(NOW + 5.2));
        let text = screen(&state);
        assert!(text.contains("DOWN connection refused"), "{text}");
        assert!(text.contains("stale"));
        snap("server_down", w, h, text);
    }
}

#[test]
fn panel_error() {
    for (w, h) in SIZES {
        let (mut state, reqs) = default_state(w, h);
        for r in &reqs {
            let result = if r.key.expr().starts_with("sum by (route) (rate(") {
                Err(bad_data(
                    "1:24: parse error: unexpected \")\" in aggregation",
                ))
            } else {
                answer(r, Data::default())
            };
            update(&mut state, fetched(r, result));
        }
        let text = screen(&state);
        assert!(text.contains("bad_data"), "{text}");
        snap("panel_error", w, h, text);

        // An error after data: the data stays, marked stale, the message below it.
        let mut state = loaded(w, h);
        // Far enough on that every window has moved and every query is asked again.
        let round = fetches(update(&mut state, Msg::Tick(NOW + 30.0)));
        for r in &round {
            let result = if r.key.expr().contains("histogram_quantile(0.99") {
                Err(bad_data(
                    "query processing would load too many samples into memory",
                ))
            } else {
                answer(r, Data::default())
            };
            update(&mut state, fetched(r, result));
        }
        let text = screen(&state);
        assert!(text.contains("⚠ the server rejected"), "{text}");
        assert!(text.contains("p99"), "old series still drawn");
        snap("panel_error_stale", w, h, text);
    }
}

#[test]
fn help_overlay() {
    for (w, h) in SIZES {
        let mut state = loaded(w, h);
        update(&mut state, char_key('?'));
        let text = screen(&state);
        for k in [
            "quit",
            "refresh now",
            "pause",
            "zoom",
            "pan",
            "Shift-Tab",
            "full screen",
            "Esc",
        ] {
            assert!(text.contains(k), "help lacks {k}");
        }
        snap("help", w, h, text);
    }
}

#[test]
fn full_screen_panel() {
    for (w, h) in SIZES {
        let mut state = loaded(w, h);
        let latency = state
            .dashboard
            .panels
            .iter()
            .position(|p| p.title.starts_with("Latency"))
            .expect("panel");
        while state.focus != latency {
            update(&mut state, key(KeyCode::Tab));
        }
        let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
        answer_all(&mut state, &reqs, Data::default());
        let text = screen(&state);
        assert!(
            !text.contains("Requests by route"),
            "only the focused panel"
        );
        snap("fullscreen", w, h, text);
    }
}

#[test]
fn paused_and_zoomed_status() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key('-'));
    update(&mut state, char_key('p'));
    let text = screen(&state);
    let status = text.lines().last().unwrap_or_default().to_owned();
    assert!(status.contains("PAUSED at 15:02:15"), "{status}");
    assert!(status.contains("range 1h"), "{status}");
    assert!(status.contains("refreshed 15:02:15 in 0ms"), "{status}");
    assert!(status.contains("every 5s"), "{status}");
    assert!(status.contains("http://localhost:9090"), "{status}");
}

const GRAPH: &str = r#"
title = "Graph"
[[panels]]
title = "Latency"
kind = "graph"
queries = [
  { expr = "histogram_quantile(0.50, sum by (le) (rate(app_request_latency_seconds_bucket[1m])))", legend = "p50" },
  { expr = "histogram_quantile(0.99, sum by (le) (rate(app_request_latency_seconds_bucket[1m])))", legend = "p99" },
]
unit = "seconds"
thresholds = [ { value = 0.25, color = "yellow" }, { value = 0.4, color = "red" } ]
"#;

#[test]
fn graph_widths_with_gaps_and_thresholds() {
    let dashboard = parse_dashboard(GRAPH, "graph.toml").expect("valid");
    for w in [30u16, 60, 100] {
        let (mut state, reqs) = start(dashboard.clone(), w, 16);
        answer_all(&mut state, &reqs, Data::default());
        let text = screen(&state);
        if w >= 60 {
            assert!(text.contains('╌'), "threshold line drawn at {w}:\n{text}");
            assert!(text.contains("p99"), "legend at {w}");
        }
        snap("graph", w, 16, text);
    }
}

#[test]
fn tiny_terminal_keeps_titles() {
    let state = loaded(40, 10);
    let text = screen(&state);
    assert!(text.contains("Reference service"));
    assert!(text.contains("Request"), "{text}");
    assert!(text.contains("Latency"), "{text}");
}

#[test]
fn five_thousand_series_show_the_top_ones_and_how_many_more() {
    use promdash_queries::model::{Notes, QueryData, QueryResult, RangeSeries, Sample};
    let dashboard = parse_dashboard(
        "title = \"Many\"\n[[panels]]\ntitle = \"By pod\"\nkind = \"graph\"\nquery = \"sum by (pod) (rate(x[1m]))\"\nlegend = \"{{pod}}\"\n",
        "many.toml",
    )
    .expect("valid");
    let (mut state, reqs) = start(dashboard, 120, 40);
    for r in &reqs {
        // The value at now (the newest point) is not needed here.
        let Some(w) = r.window else { continue };
        let step = w.step.as_secs_f64();
        let series = (0..5000)
            .map(|i| RangeSeries {
                labels: labels(&[("pod", &format!("pod-{i:04}"))]),
                samples: (0..10)
                    .map(|k| Sample {
                        t: w.end - step * f64::from(k),
                        v: f64::from(i),
                    })
                    .rev()
                    .collect(),
            })
            .collect();
        let ok = Ok(QueryResult {
            data: QueryData::Matrix(series),
            notes: Notes::default(),
        });
        update(&mut state, fetched(r, ok));
    }
    let p = &state.panels[0];
    assert_eq!(p.series.len(), 50, "at most 50 series drawn");
    assert_eq!(p.hidden, 4950);
    assert_eq!(p.series[0].name, "pod-4999", "highest last value first");
    assert!(
        p.series.iter().all(|s| s.last >= 4950.0),
        "the top 50 by last value"
    );
    let text = screen(&state);
    assert!(text.contains("● pod-4999 "), "{text}");
    let listed = text.matches("● pod-").count();
    assert!(listed > 0 && listed < 50);
    assert!(
        text.contains(&format!("+{} more series", 5000 - listed)),
        "{text}"
    );
}

#[test]
fn any_size_draws_without_panicking() {
    let mut state = alerting(120, 40);
    update(&mut state, char_key('?'));
    for w in (1..=130).step_by(7) {
        for h in 1..=42 {
            update(&mut state, Msg::Resize(w, h));
            let _ = screen(&state);
        }
    }
    update(&mut state, key(KeyCode::Esc));
    update(&mut state, key(KeyCode::Enter));
    for (w, h) in [(1, 1), (2, 2), (5, 3), (20, 5), (33, 7)] {
        update(&mut state, Msg::Resize(w, h));
        let _ = screen(&state);
    }
}

const TRUST: &str = r#"
title = "Trust"
[[panels]]
title = "Wide"
kind = "table"
query = "huge"
width = 4

[[panels]]
title = "Rate"
kind = "stat"
query = "one"
unit = "reqps"
width = 4

[[panels]]
title = "Latency by route"
kind = "stat"
query = "by_route"
legend = "{{route}}"
unit = "seconds"
width = 4

[[panels]]
title = "Usage"
kind = "gauge"
query = "usage"
legend = "{{pod}}"
unit = "percentunit"
width = 6
height = 6

[[panels]]
title = "Ratio"
kind = "graph"
query = "ratio"
unit = "percentunit"
width = 6
height = 6
"#;

/// Answers the TRUST dashboard: a huge table value, one stat, stats and gauges on
/// several series (listed by the server in no particular order), a graph whose newest
/// point is NaN.
fn trust_answer(r: &promdash::app::FetchRequest) -> promdash_queries::model::QueryResult {
    use promdash_queries::model::{
        InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample,
    };
    let series: Vec<(Labels, f64)> = match r.key.expr() {
        "huge" => vec![(labels(&[("route", "/a")]), 1.25e300)],
        "one" => vec![(Labels::new(), 37.9)],
        "by_route" => vec![
            (labels(&[("route", "/c")]), 0.4),
            (labels(&[("route", "/a")]), f64::NAN),
            (labels(&[("route", "/b")]), 0.2),
        ],
        "usage" => (0..7)
            .rev()
            .map(|i| (labels(&[("pod", &format!("pod-{i}"))]), f64::from(i) / 10.0))
            .collect(),
        _ => vec![(labels(&[("job", "x")]), 1.0)],
    };
    let data = match r.window {
        None => QueryData::Vector(
            series
                .into_iter()
                .map(|(labels, v)| InstantSeries {
                    labels,
                    // The ratio at now (the graph's newest point) is NaN too.
                    sample: Sample {
                        t: NOW,
                        v: if r.key.expr() == "ratio" { f64::NAN } else { v },
                    },
                })
                .collect(),
        ),
        Some(w) => {
            let step = w.step.as_secs_f64();
            QueryData::Matrix(
                series
                    .into_iter()
                    .map(|(labels, v)| RangeSeries {
                        labels,
                        samples: (0..20)
                            .rev()
                            .map(|k| Sample {
                                t: w.end - step * f64::from(k),
                                // The ratio's newest point is NaN (0/0), as Prometheus
                                // answers it; older ones are 100 %.
                                v: if r.key.expr() == "ratio" && k == 0 {
                                    f64::NAN
                                } else {
                                    v
                                },
                            })
                            .collect(),
                    })
                    .collect(),
            )
        }
    };
    QueryResult {
        data,
        notes: Notes::default(),
    }
}

#[test]
fn panels_clip_and_show_every_series_and_nan() {
    let dashboard = parse_dashboard(TRUST, "trust.toml").expect("valid");
    let (mut state, reqs) = start(dashboard, 120, 30);
    for r in &reqs {
        update(&mut state, fetched(r, Ok(trust_answer(r))));
    }
    let text = screen(&state);
    // The huge value stays in its table, cut with an ellipsis: the table's right
    // border and the next panel are intact.
    let wide = state.panel_rects()[0].expect("visible");
    let t = draw(&state);
    let buf = t.backend().buffer();
    for y in wide.y..wide.bottom() {
        let border = buf[(wide.right() - 1, y)].symbol();
        assert!(
            matches!(border, "┃" | "┓" | "┛"),
            "row {y}: {border:?}\n{text}"
        );
    }
    let value_row: String = (wide.x..wide.right())
        .map(|x| buf[(x, wide.y + 2)].symbol().to_owned())
        .collect();
    // Written short (scientific notation), never a 301-digit number.
    assert!(value_row.contains("1.25e300"), "{value_row}");
    assert!(text.contains("req/s"), "{text}");
    // Several series: each with its legend name, sorted by labels; the rest counted.
    let a = text.find("/a").expect("route /a");
    let b = text.find("/b").expect("route /b");
    let c = text.find("/c").expect("route /c");
    assert!(a < b && b < c, "sorted by labels:\n{text}");
    assert!(text.contains("NaN"), "{text}");
    assert!(text.contains("pod-0"), "{text}");
    assert!(
        text.contains("more"),
        "as many as fit, then +N more:\n{text}"
    );
    // The graph's newest point is NaN: its legend says so, not the last finite 100%.
    let p = state
        .dashboard
        .panels
        .iter()
        .position(|p| p.title == "Ratio")
        .expect("panel");
    assert!(state.panels[p].series[0].last_text.contains("NaN"));
    snap("trust", 120, 30, text);
}

/// At 80×24 a narrow graph's one-row legend shows the first series with its value before
/// "+N more", its name shortened if it must be.
#[test]
fn narrow_legend_keeps_the_first_series_and_its_value() {
    let panel = |title: &str| {
        format!(
            "[[panels]]\ntitle = \"{title}\"\nkind = \"graph\"\nquery = \"sum by (route) (rate(app_request_count_total[1m]))\"\nlegend = \"{{{{route}}}}\"\nunit = \"reqps\"\nwidth = 3\n"
        )
    };
    // Two rows of four: each graph has room for a one-row legend.
    let text = format!(
        "title = \"Narrow\"\n{}",
        ["A", "B", "C", "D", "E", "F", "G", "H"].map(panel).concat()
    );
    let dashboard = parse_dashboard(&text, "narrow.toml").expect("valid");
    let (mut state, reqs) = start(dashboard, 80, 24);
    answer_all(&mut state, &reqs, Data::default());
    let text = screen(&state);
    let legend: Vec<&str> = text.lines().filter(|l| l.contains('●')).collect();
    assert!(!legend.is_empty(), "{text}");
    for line in legend {
        // Four panels side by side, each: "● /pro… 48.3 req/s +1".
        for cell in line.split(['│', '┃']).filter(|c| !c.trim().is_empty()) {
            assert!(cell.contains("● /"), "{cell:?} in\n{text}");
            assert!(cell.contains("req/s"), "the value: {cell:?} in\n{text}");
            assert!(cell.trim_end().ends_with("+1"), "{cell:?} in\n{text}");
        }
    }
    snap("narrow_legend", 80, 24, text);
}

/// The status bar drops whole items that do not fit, never half a word, and leaves no
/// separator dangling at the end.
#[test]
fn status_bar_drops_whole_items() {
    let items = [
        "refreshed 15:02:15 in 0ms",
        "every 5s",
        "range 1h",
        "PAUSED at 15:02:15",
        "? help",
    ];
    for w in [60u16, 70, 80, 90, 100, 120] {
        let mut state = loaded(w, 24);
        update(&mut state, char_key('-'));
        update(&mut state, char_key('p'));
        let text = screen(&state);
        let status = text
            .lines()
            .last()
            .unwrap_or_default()
            .trim_end()
            .to_owned();
        assert!(!status.ends_with('│'), "{w}: {status:?}");
        let mut parts = status.split(" │ ");
        let head = parts.next().unwrap_or_default();
        assert!(head.contains("http://localhost:9090"), "{w}: {status:?}");
        for part in parts {
            assert!(
                items.contains(&part.trim()),
                "{w}: {part:?} is not a whole item in {status:?}"
            );
        }
    }
}

/// A graph whose query answers no series says "no data" instead of empty axes.
#[test]
fn an_empty_graph_says_no_data() {
    use promdash_queries::model::{Notes, QueryData, QueryResult};
    let dashboard = parse_dashboard(
        "title = \"Empty\"\n[[panels]]\ntitle = \"Nothing\"\nkind = \"graph\"\nquery = \"absent_metric\"\n",
        "empty.toml",
    )
    .expect("valid");
    let (mut state, reqs) = start(dashboard, 60, 16);
    for r in &reqs {
        let empty = match r.window {
            Some(_) => QueryData::Matrix(Vec::new()),
            None => QueryData::Vector(Vec::new()),
        };
        let ok = Ok(QueryResult {
            data: empty,
            notes: Notes::default(),
        });
        update(&mut state, fetched(r, ok));
    }
    assert!(state.panels[0].loaded);
    let text = screen(&state);
    assert!(text.contains("no data"), "{text}");
    assert!(!text.contains("waiting for data"), "{text}");
}
