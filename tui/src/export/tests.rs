//! Exports of a dashboard filled with fixed answers through the real `update`: SVGs
//! parsed back as XML (path points equal the samples mapped to the axes), PNGs decoded
//! and probed, CSV and JSON compared value by value.

use std::time::Duration;

use promdash_queries::error::{ErrorType, QueryError};
use promdash_queries::model::{
    InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample,
};
use promdash_queries::source::RangeWindow;
use tiny_skia::Pixmap;

use super::*;
use crate::app::{Effect, FetchKey, Fetched, Msg, Options, State, update};

/// 2026-12-02T04:15:00Z.
const END: f64 = 1_796_184_900.0;

const DASHBOARD: &str = r#"
title = "Test <dash> & co"
range = "10m"

[[panels]]
title = "Latency"
kind = "graph"
unit = "seconds"
queries = [ { expr = "lat", legend = "{{q}}" } ]
thresholds = [ { value = 0.5, color = "yellow" }, { value = 0.8, color = "red" } ]

[[panels]]
title = "Total"
kind = "stat"
query = "total"
width = 3

[[panels]]
title = "Load"
kind = "gauge"
query = "load"
unit = "percent"
thresholds = [ { value = 50, color = "yellow" }, { value = 90, color = "red" } ]
width = 3

[[panels]]
title = "Routes"
kind = "table"
query = "routes"
unit = "reqps"
width = 3

[[panels]]
title = "Broken"
kind = "graph"
query = "broken("
width = 3

[[alerts]]
name = "LoadHigh"
expr = "load_alert"
op = ">"
threshold = 50
for = "0s"
severity = "critical"
"#;

fn labels(kv: &[(&str, &str)]) -> Labels {
    kv.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The hostile label value of the table and the graph: markup and a control character.
const HOSTILE: &str = "</text><script>alert(1)</script>\u{1b}[2J";

/// p50 rises steadily; p99 has a gap of three steps in the middle and a NaN.
fn latency(w: RangeWindow) -> QueryData {
    let step = w.step.as_secs_f64();
    let n = ((w.end - w.start) / step).round() as usize;
    let p50: Vec<Sample> = (0..=n)
        .map(|k| Sample {
            t: w.start + k as f64 * step,
            v: 0.1 + 0.002 * k as f64,
        })
        .collect();
    let p99: Vec<Sample> = (0..=n)
        .filter(|k| !(n / 2..n / 2 + 3).contains(k))
        .map(|k| Sample {
            t: w.start + k as f64 * step,
            v: if k == n - 2 { f64::NAN } else { 0.9 },
        })
        .collect();
    QueryData::Matrix(vec![
        RangeSeries {
            labels: labels(&[("q", "p50")]),
            samples: p50,
        },
        RangeSeries {
            labels: labels(&[("q", "p99"), ("route", HOSTILE)]),
            samples: p99,
        },
    ])
}

/// The steps of `w`: (index, time).
fn steps(w: RangeWindow) -> impl Iterator<Item = (usize, f64)> {
    let step = w.step.as_secs_f64();
    let n = ((w.end - w.start) / step).round() as usize;
    (0..=n).map(move |k| (k, w.start + k as f64 * step))
}

fn vector(rows: &[(&[(&str, &str)], f64)]) -> QueryData {
    QueryData::Vector(
        rows.iter()
            .map(|(l, v)| InstantSeries {
                labels: labels(l),
                sample: Sample { t: END, v: *v },
            })
            .collect(),
    )
}

fn answer(key: &FetchKey, window: Option<RangeWindow>) -> Result<QueryResult, QueryError> {
    let data = match (key.expr(), window) {
        ("lat", Some(w)) => latency(w),
        ("total", Some(w)) => {
            let step = w.step.as_secs_f64();
            let n = ((w.end - w.start) / step).round() as usize;
            QueryData::Matrix(vec![RangeSeries {
                labels: Labels::new(),
                samples: (0..=n)
                    .map(|k| Sample {
                        t: w.start + k as f64 * step,
                        v: 1000.0 + k as f64,
                    })
                    .collect(),
            }])
        }
        ("total", None) => vector(&[(&[], 1234.0)]),
        // A graph's value at its window's end (its newest point): none here, so the
        // exports show the range answer alone.
        ("lat", None) => QueryData::Vector(Vec::new()),
        ("load", None) => vector(&[(&[], 75.0)]),
        ("load_alert", None) => vector(&[(&[], 75.0)]),
        ("routes", None) => vector(&[(&[("route", "/a")], 2.5), (&[("route", HOSTILE)], 7.25)]),
        // The field-config dashboard: three series by direction, a stat mapped, one
        // with no value, a gauge reduced to its range's max.
        ("net", Some(w)) => QueryData::Matrix(
            [("rx", 100.0, 1.0), ("tx", 50.0, 0.0), ("drop", 10.0, 0.0)]
                .iter()
                .map(|(dir, base, slope)| RangeSeries {
                    labels: labels(&[("dir", dir)]),
                    samples: steps(w)
                        .map(|(k, t)| Sample {
                            t,
                            v: base + slope * k as f64,
                        })
                        .collect(),
                })
                .collect(),
        ),
        ("net", None) | ("empty", None) => QueryData::Vector(Vec::new()),
        ("empty", Some(_)) => QueryData::Matrix(Vec::new()),
        ("up", None) => vector(&[(&[], 1.0)]),
        ("up", Some(w)) => QueryData::Matrix(vec![RangeSeries {
            labels: Labels::new(),
            samples: steps(w).map(|(_, t)| Sample { t, v: 1.0 }).collect(),
        }]),
        ("peak", None) => vector(&[(&[], 5.0)]),
        ("peak", Some(w)) => QueryData::Matrix(vec![RangeSeries {
            labels: Labels::new(),
            samples: steps(w)
                .map(|(k, t)| Sample {
                    t,
                    v: if k == 3 { 42.0 } else { 5.0 },
                })
                .collect(),
        }]),
        ("broken(", _) => {
            return Err(QueryError::Api {
                status: 400,
                error_type: ErrorType::BadData,
                message: "1:8: parse error: unclosed left parenthesis".into(),
            });
        }
        (other, w) => panic!("unexpected request {other} {w:?}"),
    };
    Ok(QueryResult {
        data,
        notes: Notes::default(),
    })
}

/// Answers every fetch among `effects` with [`answer`].
fn answer_all(state: &mut State, effects: Vec<Effect>) {
    for e in effects {
        if let Effect::Fetch(req) = e {
            let result = answer(&req.key, req.window);
            update(
                state,
                Msg::Fetched(Box::new(Fetched {
                    key: req.key,
                    seq: req.seq,
                    window: req.window,
                    result,
                    elapsed: Duration::ZERO,
                })),
            );
        }
    }
}

/// The dashboard filled through `update` with the answers above, paused at [`END`].
pub(crate) fn filled_state() -> State {
    filled_state_of(DASHBOARD)
}

/// Dashboard `src` (asking only what [`answer`] answers) filled as [`filled_state`].
fn filled_state_of(src: &str) -> State {
    let dashboard = promdash_queries::parse_dashboard(src, "test.toml").expect("valid");
    let opts = Options {
        url: "http://prom.example:9090".into(),
        refresh: Duration::from_secs(5),
        range: dashboard.range,
        bell: false,
        demo: false,
        utc_offset: 0,
    };
    let mut state = State::new(dashboard, opts);
    state.size = (120, 40);
    state.now = END;
    state.paused = true;
    state.end = Some(END);
    state.relayout();
    let effects = state.refetch();
    answer_all(&mut state, effects);
    // Then a tick: a paused dashboard still evaluates its alert rules at "now".
    state.next_refresh_at = 0.0;
    let effects = update(&mut state, Msg::Tick(END));
    answer_all(&mut state, effects);
    assert!(
        state
            .panels
            .iter()
            .all(|p| p.loaded || p.visible_error().is_some())
    );
    state
}

fn attr<'a>(n: &roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    n.attribute(name)
        .unwrap_or_else(|| panic!("no {name} on {:?}", n.tag_name()))
}

fn f(n: &roxmltree::Node<'_, '_>, name: &str) -> f64 {
    attr(n, name).parse().expect("a number")
}

/// The subpaths of `d` (`M x y L x y …`) as lists of points.
fn subpaths(d: &str) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let tokens: Vec<&str> = d.split_whitespace().collect();
    let mut k = 0;
    while k < tokens.len() {
        let (cmd, x) = tokens[k].split_at(1);
        let x: f64 = x.parse().expect("x");
        let y: f64 = tokens[k + 1].parse().expect("y");
        if cmd == "M" {
            out.push(Vec::new());
        } else {
            assert_eq!(cmd, "L", "{d}");
        }
        out.last_mut().expect("starts with M").push((x, y));
        k += 2;
    }
    out
}

fn panel_group<'a, 'i>(doc: &'a roxmltree::Document<'i>, title: &str) -> roxmltree::Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.attribute("class") == Some("panel") && n.attribute("data-title") == Some(title))
        .unwrap_or_else(|| panic!("no panel {title}"))
}

fn texts<'a>(node: roxmltree::Node<'a, '_>, class: &str) -> Vec<String> {
    node.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .map(|n| {
            n.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn graph_paths_are_the_samples_mapped_to_the_axes() {
    let state = filled_state();
    let svg = svg::render(
        &state,
        Target::Panel(0),
        PageSize::default_for(Target::Panel(0)),
    );
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(
        (attr(&root, "width"), attr(&root, "height")),
        ("1200", "600")
    );
    let plot = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("plot"))
        .expect("a plot");
    let (px, py, pw, ph) = (
        f(&plot, "data-x"),
        f(&plot, "data-y"),
        f(&plot, "data-w"),
        f(&plot, "data-h"),
    );
    let (start, end, lo, hi) = (
        f(&plot, "data-start"),
        f(&plot, "data-end"),
        f(&plot, "data-lo"),
        f(&plot, "data-hi"),
    );
    let raw = state.panels[0].raw[0].as_ref().expect("answered");
    assert_eq!((start, end), (raw.window.start, raw.window.end));
    // The axis covers the data and the first threshold above it; starts at zero.
    assert_eq!(lo, 0.0);
    assert!((0.8..=1.0).contains(&hi), "{hi}");
    let map = |s: &Sample| {
        (
            px + (s.t - start) / (end - start) * pw,
            py + (hi - s.v) / (hi - lo) * ph,
        )
    };
    let close =
        |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() <= 0.006 && (a.1 - b.1).abs() <= 0.006;
    let paths: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("series"))
        .collect();
    assert_eq!(paths.len(), 2);
    for series in &raw.series {
        let name = crate::panel::series_name(Some("{{q}}"), &series.labels, "lat");
        let path = paths
            .iter()
            .find(|p| p.attribute("data-name") == Some(name.as_str()))
            .unwrap_or_else(|| panic!("no path for {name}"));
        let got = subpaths(attr(path, "d"));
        // Expected runs: split at gaps longer than 1.5 steps and at NaN.
        let step = raw.window.step.as_secs_f64();
        let mut want: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        let mut last_t = f64::NEG_INFINITY;
        for s in &series.samples {
            if (!s.v.is_finite() || s.t - last_t > step * 1.5)
                && !want.last().expect("a run").is_empty()
            {
                want.push(Vec::new());
            }
            if s.v.is_finite() {
                want.last_mut().expect("a run").push(map(s));
            }
            last_t = s.t;
        }
        want.retain(|r| r.len() > 1);
        assert_eq!(got.len(), want.len(), "{name}: subpaths");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.len(), w.len(), "{name}: points");
            for (a, b) in g.iter().zip(w) {
                assert!(close(*a, *b), "{name}: {a:?} != {b:?}");
            }
        }
        // The legend's colour is the path's colour.
        let view = state.panels[0]
            .series
            .iter()
            .find(|v| v.name == name)
            .expect("shown");
        assert_eq!(attr(path, "stroke"), svg::series_color(view.color));
    }
    // p99 has a gap and a NaN: three runs.
    assert!(paths.iter().any(|p| subpaths(attr(p, "d")).len() == 3));
    // Threshold lines at their values, in their colours; bands under them.
    let lines: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("threshold"))
        .collect();
    assert_eq!(lines.len(), 2);
    for (line, (value, color)) in lines.iter().zip([(0.5, "#e0b400"), (0.8, "#d62728")]) {
        assert_eq!(f(line, "data-value"), value);
        let y = py + (hi - value) / (hi - lo) * ph;
        assert!((f(line, "y1") - y).abs() <= 0.006 && f(line, "y1") == f(line, "y2"));
        assert_eq!(attr(line, "stroke"), color);
    }
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("band"))
            .count(),
        2
    );
    // Value axis in the unit; time axis with the date; footer with range and server.
    let ylabels = texts(root, "ylabel");
    assert!(ylabels.iter().any(|l| l == "400ms"), "{ylabels:?}");
    assert!(texts(root, "xdate").contains(&"2026-12-02".to_owned()));
    let xlabels = texts(root, "xlabel");
    assert!(xlabels.contains(&"04:10".to_owned()), "{xlabels:?}");
    let footer = texts(root, "footer").join("");
    assert!(
        footer.contains("2026-12-02 04:05:00 – 04:15:00 UTC") || footer.contains("– 04:15:00 UTC"),
        "{footer}"
    );
    assert!(footer.contains("http://prom.example:9090"), "{footer}");
    // The hostile label is text, escaped: no element came from it.
    assert!(doc.descendants().all(|n| n.tag_name().name() != "script"));
    let legend = texts(root, "legend").join("|");
    assert_eq!(
        legend, "p99 900ms|p50 340ms",
        "the TUI's names, highest first"
    );
    // The same state draws the same bytes.
    assert_eq!(
        svg,
        svg::render(
            &state,
            Target::Panel(0),
            PageSize::default_for(Target::Panel(0))
        )
    );
}

#[test]
fn stat_gauge_table_and_errors_are_drawn_as_such() {
    let state = filled_state();
    let svg = svg::render(
        &state,
        Target::Dashboard,
        PageSize::default_for(Target::Dashboard),
    );
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(texts(root, "dashboard-title"), ["Test <dash> & co"]);
    // The banner's firing alert in the header, white on red.
    let alerts = texts(root, "alert-text");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].starts_with("FIRING LoadHigh 75"), "{alerts:?}");
    // Every panel is on the page, inside it, not overlapping another.
    let boxes: Vec<(f64, f64, f64, f64)> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("panel"))
        .map(|g| {
            let r = g.first_element_child().expect("frame");
            (f(&r, "x"), f(&r, "y"), f(&r, "width"), f(&r, "height"))
        })
        .collect();
    assert_eq!(boxes.len(), 5);
    for (k, a) in boxes.iter().enumerate() {
        assert!(
            a.0 >= 0.0 && a.1 >= 0.0 && a.0 + a.2 <= 1600.0 && a.1 + a.3 <= 1000.0,
            "{a:?}"
        );
        for b in &boxes[k + 1..] {
            let apart =
                a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
            assert!(apart, "{a:?} overlaps {b:?}");
        }
    }
    let stat = panel_group(&doc, "Total");
    assert_eq!(texts(stat, "value"), ["1.23K"]);
    assert_eq!(
        stat.descendants()
            .filter(|n| n.attribute("class") == Some("sparkline"))
            .count(),
        1
    );
    let gauge = panel_group(&doc, "Load");
    assert_eq!(texts(gauge, "value"), ["75%"]);
    let arc = gauge
        .descendants()
        .find(|n| n.attribute("class") == Some("gauge-value"))
        .expect("value arc");
    assert_eq!(f(&arc, "data-ratio"), 0.75);
    assert_eq!(
        attr(&arc, "stroke"),
        "#e0b400",
        "75% is past the yellow threshold"
    );
    assert_eq!(texts(gauge, "gauge-max"), ["100%"]);
    let table = panel_group(&doc, "Routes");
    assert_eq!(texts(table, "th"), ["route", "value"]);
    let cells = texts(table, "td");
    // Highest first, the label escaped as text.
    assert!(
        cells[0].starts_with(r"</text><script>alert(1)</"),
        "{}",
        cells[0]
    );
    assert_eq!(cells[1], "/a");
    assert_eq!(cells[2..], ["7.25 req/s", "2.5 req/s"]);
    let broken = panel_group(&doc, "Broken");
    let error = texts(broken, "error").join("");
    assert!(error.contains("unclosed left parenthesis"), "{error}");
}

/// The pixel at (x, y), or the closest one within `r` px, matching `color` within `tol`.
fn near(p: &Pixmap, x: f64, y: f64, r: i32, color: (u8, u8, u8), tol: i32) -> bool {
    for dy in -r..=r {
        for dx in -r..=r {
            let (px, py) = (x.round() as i32 + dx, y.round() as i32 + dy);
            if px < 0 || py < 0 {
                continue;
            }
            if let Some(c) = p.pixel(px as u32, py as u32) {
                let c = c.demultiply();
                let d = (i32::from(c.red()) - i32::from(color.0)).abs()
                    + (i32::from(c.green()) - i32::from(color.1)).abs()
                    + (i32::from(c.blue()) - i32::from(color.2)).abs();
                if d <= tol {
                    return true;
                }
            }
        }
    }
    false
}

fn rgb(hex: &str) -> (u8, u8, u8) {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).expect("hex");
    ((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

#[test]
fn pngs_decode_at_size_with_lines_thresholds_and_values_where_the_svg_puts_them() {
    let state = filled_state();
    let size = PageSize {
        width: 1200,
        height: 600,
    };
    let png = png::render(&state, Target::Panel(0), size).expect("renders");
    let p = Pixmap::decode_png(&png).expect("a PNG");
    assert_eq!((p.width(), p.height()), (1200, 600));
    let svg = svg::render(&state, Target::Panel(0), size);
    let doc = roxmltree::Document::parse(&svg).expect("XML");
    // On the p50 line: a point in the middle of its path.
    let path = doc
        .descendants()
        .find(|n| n.attribute("data-name") == Some("p50"))
        .expect("p50");
    let pts = &subpaths(attr(&path, "d"))[0];
    let (x, y) = pts[pts.len() / 2];
    assert!(
        near(&p, x, y, 1, rgb(attr(&path, "stroke")), 60),
        "p50 at {x},{y}"
    );
    // Off the line, above it: white.
    assert!(near(&p, x, y - 40.0, 0, (255, 255, 255), 10));
    // The red threshold line (dashed: somewhere along it).
    let red = doc
        .descendants()
        .find(|n| n.attribute("data-value") == Some("0.8"))
        .expect("red threshold");
    let (x1, y1) = (f(&red, "x1"), f(&red, "y1"));
    assert!(
        (0..40).any(|k| near(&p, x1 + 5.0 + f64::from(k), y1, 1, rgb("#d62728"), 100)),
        "red threshold at y={y1}"
    );
    // The title in ink.
    assert!(near(&p, 22.0, 25.0, 6, (0x22, 0x22, 0x22), 90), "title ink");

    // The dashboard page: stat value ink, gauge arc in the threshold colour, table ink.
    let size = PageSize::default_for(Target::Dashboard);
    let png = png::render(&state, Target::Dashboard, size).expect("renders");
    let p = Pixmap::decode_png(&png).expect("a PNG");
    assert_eq!((p.width(), p.height()), (1600, 1000));
    let svg = svg::render(&state, Target::Dashboard, size);
    let doc = roxmltree::Document::parse(&svg).expect("XML");
    let gauge = panel_group(&doc, "Load");
    let arc = gauge
        .descendants()
        .find(|n| n.attribute("class") == Some("gauge-value"))
        .expect("arc");
    // The arc's first point (ratio 0, left end) sits on the track in the value colour.
    let d = attr(&arc, "d");
    let mut it = d.trim_start_matches('M').split_whitespace();
    let (ax, ay): (f64, f64) = (
        it.next().expect("x").parse().expect("x"),
        it.next().expect("y").parse().expect("y"),
    );
    assert!(
        near(&p, ax, ay - 3.0, 2, rgb("#e0b400"), 60),
        "gauge arc at {ax},{ay}"
    );
    for (title, class) in [("Total", "value"), ("Routes", "td")] {
        let g = panel_group(&doc, title);
        let t = g
            .descendants()
            .find(|n| n.attribute("class") == Some(class))
            .expect("text");
        let (tx, ty) = (f(&t, "x"), f(&t, "y"));
        let dx = if t.attribute("text-anchor").is_none() {
            6.0
        } else {
            0.0
        };
        assert!(
            near(&p, tx + dx, ty - 4.0, 6, (0x22, 0x22, 0x22), 120),
            "{title} ink at {tx},{ty}"
        );
    }
    let broken = panel_group(&doc, "Broken");
    let e = broken
        .descendants()
        .find(|n| n.attribute("class") == Some("error"))
        .expect("error");
    assert!(
        near(
            &p,
            f(&e, "x") + 10.0,
            f(&e, "y") - 4.0,
            6,
            rgb("#c62828"),
            120
        ),
        "error text"
    );
}

#[test]
fn csv_and_json_hold_every_raw_sample() {
    let state = filled_state();
    let raw = state.panels[0].raw[0].as_ref().expect("answered");
    let csv = String::from_utf8(data::csv(&state, 0)).expect("utf-8");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("q,route,timestamp,value"));
    let rows: Vec<&str> = lines.collect();
    let total: usize = raw.series.iter().map(|s| s.samples.len()).sum();
    assert_eq!(rows.len(), total, "every sample, not the drawn columns");
    let first = &raw.series[0].samples[0];
    assert_eq!(
        rows[0],
        format!(
            "p50,,{},{}",
            crate::headless::output::fmt_time(first.t),
            first.v
        )
    );
    assert!(rows.iter().any(|r| r.ends_with(",NaN")));
    // The table's instant answer, with the hostile label escaped.
    let csv = String::from_utf8(data::csv(&state, 3)).expect("utf-8");
    assert_eq!(
        csv,
        format!(
            "route,timestamp,value\n/a,{END},2.5\n</text><script>alert(1)</script>\\x1b[2J,{END},7.25\n"
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&data::json(&state, Target::Dashboard)).expect("JSON");
    assert_eq!(json["dashboard"], "Test <dash> & co");
    assert_eq!(json["server"], "http://prom.example:9090");
    let lat = &json["panels"][0]["queries"][0];
    assert_eq!(lat["window"]["end"], raw.window.end);
    assert_eq!(lat["data"]["resultType"], "matrix");
    assert_eq!(
        lat["data"]["result"][0]["values"].as_array().map(Vec::len),
        Some(raw.series[0].samples.len())
    );
    let broken = &json["panels"][4]["queries"][0];
    assert!(broken["data"].is_null());
    assert!(
        broken["error"]
            .as_str()
            .is_some_and(|e| e.contains("unclosed"))
    );
    assert_eq!(
        json["panels"][2]["queries"][0]["data"]["result"][0]["value"][1],
        "75"
    );
}

/// The test dashboard with legend calculations on the latency graph.
fn table_legend_state() -> State {
    let src = DASHBOARD.replace(
        r#"queries = [ { expr = "lat", legend = "{{q}}" } ]"#,
        "queries = [ { expr = \"lat\", legend = \"{{q}}\" } ]\n\
         legend_calcs = [\"min\", \"mean\", \"max\", \"last\"]",
    );
    assert_ne!(src, DASHBOARD);
    filled_state_of(&src)
}

/// The `legend-row` groups of `node`: (data-name, swatch fill, name text, value texts).
fn legend_rows(node: roxmltree::Node<'_, '_>) -> Vec<(String, String, String, Vec<String>)> {
    node.descendants()
        .filter(|n| n.attribute("class") == Some("legend-row"))
        .map(|g| {
            let swatch = g
                .descendants()
                .find(|n| n.attribute("class") == Some("swatch"))
                .expect("a swatch");
            (
                attr(&g, "data-name").to_owned(),
                attr(&swatch, "fill").to_owned(),
                texts(g, "legend-name").join(""),
                texts(g, "legend-value"),
            )
        })
        .collect()
}

#[test]
fn table_legends_show_the_tuis_calculations_in_svg_and_png() {
    let state = table_legend_state();
    let ps = &state.panels[0];
    // The TUI's strings: p50 climbs from 100 ms; p99 is 900 ms wherever it has a value
    // (its NaN and its gap are missing points, not zeros).
    let calcs: Vec<(&str, Vec<&str>)> = ps
        .series
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.calcs.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(calcs[0], ("p99", vec!["900ms", "900ms", "900ms", "900ms"]));
    assert_eq!(calcs[1].0, "p50");
    assert_eq!(calcs[1].1[0], "100ms");
    assert_eq!(calcs[1].1[3], "340ms");
    // And the terminal shows them in its table legend.
    let screen = text::render(&state, Target::Panel(0), false);
    let row = |name: &str| {
        screen
            .lines()
            .find(|l| l.contains(&format!("● {name} ")))
            .unwrap_or_else(|| panic!("no {name} row in\n{screen}"))
            .to_owned()
    };
    // Words of a screen line, without the panel's border.
    let words = |l: &str| -> Vec<String> {
        l.split(|c: char| c.is_whitespace() || c == '┃' || c == '│')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert!(
        screen
            .lines()
            .any(|l| words(l) == ["Min", "Mean", "Max", "Last"]),
        "{screen}"
    );
    for (name, values) in &calcs {
        let words = words(&row(name));
        assert_eq!(words[words.len() - 4..], values[..], "{name}");
    }

    for (target, size) in [
        (Target::Panel(0), PageSize::default_for(Target::Panel(0))),
        (Target::Dashboard, PageSize::default_for(Target::Dashboard)),
    ] {
        let svg = svg::render(&state, target, size);
        let doc = roxmltree::Document::parse(&svg).expect("XML");
        let panel = panel_group(&doc, "Latency");
        let table = panel
            .descendants()
            .find(|n| n.attribute("class") == Some("legend-table"))
            .unwrap_or_else(|| panic!("{target:?}: a table legend"));
        assert_eq!(texts(table, "legend-th"), ["Min", "Mean", "Max", "Last"]);
        // A row per series, in the TUI's order, colour, name and values.
        let rows = legend_rows(table);
        let want: Vec<(String, String, String, Vec<String>)> = ps
            .series
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    svg::series_color(s.color),
                    s.name.clone(),
                    s.calcs.clone(),
                )
            })
            .collect();
        assert_eq!(rows, want, "{target:?}");
        // The swatch is the colour of its series' line.
        for (name, fill, _, _) in &rows {
            let path = panel
                .descendants()
                .find(|n| {
                    n.attribute("class") == Some("series")
                        && n.attribute("data-name") == Some(name.as_str())
                })
                .expect("a line");
            assert_eq!(attr(&path, "stroke"), fill);
        }
        // No plain legend besides it; the plot ends above the table.
        assert!(texts(panel, "legend").is_empty());
        let plot = panel
            .descendants()
            .find(|n| n.attribute("class") == Some("plot"))
            .expect("plot");
        let header = table
            .descendants()
            .find(|n| n.attribute("class") == Some("legend-th"))
            .expect("header");
        assert!(f(&header, "y") > f(&plot, "data-y") + f(&plot, "data-h"));
        // Values right-aligned in their columns: one x per column, left to right.
        let xs: Vec<f64> = table
            .descendants()
            .filter(|n| n.attribute("class") == Some("legend-value"))
            .map(|n| f(&n, "x"))
            .collect();
        assert_eq!(xs[..4], xs[4..8]);
        assert!(xs[..4].windows(2).all(|w| w[0] < w[1]), "{xs:?}");

        // The PNG paints the swatches in the series' colours and the values in ink.
        let png = png::render(&state, target, size).expect("renders");
        let p = Pixmap::decode_png(&png).expect("a PNG");
        for g in table
            .descendants()
            .filter(|n| n.attribute("class") == Some("legend-row"))
        {
            let sw = g
                .descendants()
                .find(|n| n.attribute("class") == Some("swatch"))
                .expect("swatch");
            let (x, y) = (
                f(&sw, "x") + f(&sw, "width") / 2.0,
                f(&sw, "y") + f(&sw, "height") / 2.0,
            );
            assert!(
                near(&p, x, y, 0, rgb(attr(&sw, "fill")), 30),
                "{target:?}: swatch at {x},{y}"
            );
            for v in g
                .descendants()
                .filter(|n| n.attribute("class") == Some("legend-value"))
            {
                assert!(
                    near(
                        &p,
                        f(&v, "x") - 8.0,
                        f(&v, "y") - 4.0,
                        5,
                        (0x22, 0x22, 0x22),
                        120
                    ),
                    "{target:?}: value ink"
                );
            }
        }
        let h = table
            .descendants()
            .find(|n| n.attribute("class") == Some("legend-th"))
            .expect("th");
        assert!(
            near(
                &p,
                f(&h, "x") - 8.0,
                f(&h, "y") - 4.0,
                5,
                (0x66, 0x66, 0x66),
                120
            ),
            "{target:?}: header ink"
        );
    }
}

#[test]
fn text_renderings_show_the_dashboard() {
    let state = filled_state();
    let plain = text::render(&state, Target::Dashboard, false);
    assert_eq!(plain.lines().count(), 40);
    assert!(plain.contains("Latency") && plain.contains("Routes"));
    assert!(!plain.contains('\u{1b}'));
    let ansi = text::render(&state, Target::Panel(0), true);
    assert!(ansi.contains("\u{1b}[0;"), "colours");
    assert!(
        ansi.lines()
            .all(|l| !l.contains('\u{1b}') || l.ends_with("\u{1b}[0m"))
    );
    // A panel alone fills the screen.
    let panel = text::render(&state, Target::Panel(3), false);
    assert!(panel.contains("Routes") && !panel.contains("Latency"));
}

#[test]
fn render_names_files_after_titles_and_time() {
    let state = filled_state();
    let out = render(&state, Target::Dashboard, ExportFormat::Csv, None, END).expect("renders");
    let names: Vec<String> = out
        .iter()
        .map(|o| format!("{}.{}", o.stem, o.extension))
        .collect();
    assert_eq!(names[0], "test-dash-co-latency-20261202T041500Z.csv");
    assert_eq!(names.len(), 5);
    let out = render(&state, Target::Panel(1), ExportFormat::Svg, None, END).expect("renders");
    assert_eq!(out[0].stem, "test-dash-co-total-20261202T041500Z");
}

#[test]
fn export_keys_ask_for_an_export_and_the_status_bar_shows_the_paths() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut state = filled_state();
    let key = |c: char| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    state.focus = 2;
    assert_eq!(
        update(&mut state, key('e')),
        [Effect::Export(Target::Panel(2))]
    );
    assert_eq!(
        update(&mut state, key('E')),
        [Effect::Export(Target::Dashboard)]
    );
    // What the runtime does with it, then tells update.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut outputs = Vec::new();
    for format in ExportFormat::TUI {
        outputs.extend(render(&state, Target::Panel(2), format, None, END).expect("renders"));
    }
    let paths = write_all(dir.path(), &outputs).expect("writes");
    assert_eq!(paths.len(), 4);
    update(&mut state, Msg::Exported(Ok(paths)));
    let screen = text::render(&state, Target::Dashboard, false);
    let status = screen.lines().last().expect("a status bar");
    let want = format!(
        "saved {}/test-dash-co-load-20261202T041500Z.{{png,svg,csv,json}}",
        dir.path().display()
    );
    assert!(status.contains(&want), "{status}\n{want}");
    assert_eq!(
        state.export_note.as_ref().map(|n| n.text.as_str()),
        Some(want.as_str())
    );
    update(
        &mut state,
        Msg::Exported(Err("cannot create /nope: denied".into())),
    );
    assert!(state.export_note.as_ref().is_some_and(|n| n.failed));
    // The keys are in the help.
    let help: Vec<&str> = crate::ui::help::KEYS.iter().map(|(k, _)| *k).collect();
    assert!(help.contains(&"e") && help.contains(&"E"));
}

/// Grafana field config applied the TUI's way: overrides (display name, colour,
/// negative-Y, hidden), stacking, value mappings, no-value text, reducers.
const FIELDS: &str = r#"
title = "Fields"
range = "10m"

[[panels]]
title = "Network"
kind = "graph"
unit = "bytes"
queries = [ { expr = "net", legend = "{{dir}}" } ]

[[panels.overrides]]
name = "tx"
display_name = "transmit"
color = "red"
negative_y = true

[[panels.overrides]]
name = "drop"
hidden = true

[[panels]]
title = "Stacked"
kind = "graph"
queries = [ { expr = "net", legend = "{{dir}}" } ]
stacking = "normal"

[[panels]]
title = "Shares"
kind = "graph"
queries = [ { expr = "net", legend = "{{dir}}" } ]
stacking = "percent"
thresholds_mode = "percentage"
thresholds = [ { value = 50, color = "red" } ]

[[panels]]
title = "Axes"
kind = "graph"
queries = [ { expr = "net", legend = "{{dir}}" } ]

[[panels.overrides]]
name = "drop"
axis = "right"
unit = "percent"

[[panels]]
title = "Up"
kind = "stat"
query = "up"
mappings = [ { value = "1", text = "UP", color = "green" } ]
width = 4

[[panels]]
title = "Empty"
kind = "stat"
query = "empty"
no_value = "nothing here"
width = 4

[[panels]]
title = "Peak"
kind = "gauge"
query = "peak"
reduce = "max"
max = 100
width = 4
"#;

/// The plot of a panel: its mapping from data to the page.
fn plot_of(panel: roxmltree::Node<'_, '_>) -> svg::Mapping {
    let plot = panel
        .descendants()
        .find(|n| n.attribute("class") == Some("plot"))
        .expect("a plot");
    svg::Mapping {
        plot: svg::Area {
            x: f(&plot, "data-x"),
            y: f(&plot, "data-y"),
            w: f(&plot, "data-w"),
            h: f(&plot, "data-h"),
        },
        start: f(&plot, "data-start"),
        end: f(&plot, "data-end"),
        lo: f(&plot, "data-lo"),
        hi: f(&plot, "data-hi"),
    }
}

fn path_of<'a, 'i>(panel: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    panel
        .descendants()
        .find(|n| n.attribute("class") == Some("series") && n.attribute("data-name") == Some(name))
}

#[test]
fn exports_apply_the_field_config_as_the_tui_does() {
    let state = filled_state_of(FIELDS);
    let size = PageSize::default_for(Target::Dashboard);
    let svg = svg::render(&state, Target::Dashboard, size);
    let doc = roxmltree::Document::parse(&svg).expect("XML");

    // Network: "tx" is named "transmit", red, and drawn below zero; "drop" is in the
    // legend only.
    let net = panel_group(&doc, "Network");
    let ps = &state.panels[0];
    let names: Vec<&str> = ps.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["rx", "transmit", "drop"]);
    let legend = texts(net, "legend");
    let want: Vec<String> = ps
        .series
        .iter()
        .map(|s| format!("{} {}", s.name, s.last_text))
        .collect();
    assert_eq!(legend, want);
    assert_eq!(
        legend[1], "transmit 50 B",
        "the legend keeps the value positive"
    );
    let swatches: Vec<String> = net
        .descendants()
        .filter(|n| n.attribute("class") == Some("swatch"))
        .map(|n| attr(&n, "fill").to_owned())
        .collect();
    assert_eq!(swatches[1], "#d62728", "the override's red");
    let m = plot_of(net);
    assert!(m.lo <= -50.0 && m.hi >= 100.0, "{} {}", m.lo, m.hi);
    let tx = path_of(net, "transmit").expect("transmit drawn");
    assert_eq!(attr(&tx, "stroke"), "#d62728");
    let zero = m.y(0.0);
    let pts = subpaths(attr(&tx, "d")).concat();
    assert!(!pts.is_empty());
    for (_, y) in &pts {
        assert!(
            (y - m.y(-50.0)).abs() <= 0.006 && *y > zero,
            "{y} vs zero at {zero}"
        );
    }
    assert!(path_of(net, "rx").is_some());
    assert!(
        path_of(net, "drop").is_none(),
        "hidden series are not drawn"
    );
    assert!(path_of(net, "tx").is_none());

    // Stacked: each series on top of the ones before it (query order).
    let stacked = panel_group(&doc, "Stacked");
    let m = plot_of(stacked);
    let raw = state.panels[1].raw[0].as_ref().expect("answered");
    let mut sum = vec![0.0; raw.series[0].samples.len()];
    for s in &raw.series {
        let name = s.labels.get("dir").expect("dir");
        for (acc, p) in sum.iter_mut().zip(&s.samples) {
            *acc += p.v;
        }
        let path = path_of(stacked, name).unwrap_or_else(|| panic!("{name} drawn"));
        let got = subpaths(attr(&path, "d")).concat();
        let first = got[0];
        let last = got[got.len() - 1];
        let (t0, tn) = (s.samples[0].t, s.samples[s.samples.len() - 1].t);
        for ((x, y), (t, v)) in [(first, (t0, sum[0])), (last, (tn, sum[sum.len() - 1]))] {
            assert!(
                (x - m.x(t)).abs() <= 0.006 && (y - m.y(v)).abs() <= 0.006,
                "{name}: ({x}, {y}) is not the stack's {v} at {t}"
            );
        }
    }

    // Shares: a percent stack reaches 100% at the top, labelled in percent; the 50%
    // threshold halfway up the axis.
    let shares = panel_group(&doc, "Shares");
    let m = plot_of(shares);
    let top = path_of(shares, "drop").expect("drop drawn");
    for (_, y) in subpaths(attr(&top, "d")).concat() {
        assert!((y - m.y(1.0)).abs() <= 0.006, "{y} vs {}", m.y(1.0));
    }
    let labels = texts(shares, "ylabel");
    assert!(labels.contains(&"100%".to_owned()), "{labels:?}");
    let line = shares
        .descendants()
        .find(|n| n.attribute("class") == Some("threshold"))
        .expect("a threshold");
    assert!((f(&line, "y1") - m.y(m.lo + (m.hi - m.lo) * 0.5)).abs() <= 0.006);

    // Axes: "drop" against its own right-hand axis, labelled in its unit.
    let axes = panel_group(&doc, "Axes");
    let plot = axes
        .descendants()
        .find(|n| n.attribute("class") == Some("plot"))
        .expect("plot");
    let right = svg::Mapping {
        lo: f(&plot, "data-right-lo"),
        hi: f(&plot, "data-right-hi"),
        ..plot_of(axes)
    };
    assert!(right.hi < 100.0, "drop's own scale: {}", right.hi);
    let labels = texts(axes, "ylabel-right");
    assert!(
        !labels.is_empty() && labels.iter().all(|l| l.ends_with('%')),
        "{labels:?}"
    );
    let drop = path_of(axes, "drop").expect("drop drawn");
    for (_, y) in subpaths(attr(&drop, "d")).concat() {
        assert!((y - right.y(10.0)).abs() <= 0.006, "{y}");
    }
    let left = plot_of(axes);
    let rx = path_of(axes, "rx").expect("rx");
    let (x0, y0) = subpaths(attr(&rx, "d"))[0][0];
    assert!((y0 - left.y(100.0)).abs() <= 0.006 && (x0 - left.x(left.start)).abs() <= 0.006);

    // Stat and gauge values through mappings, no-value text and reducers, coloured
    // as the model colours them.
    let value = |title: &str| {
        let g = panel_group(&doc, title);
        let v = g
            .descendants()
            .find(|n| n.attribute("class") == Some("value"))
            .unwrap_or_else(|| panic!("{title}: a value"));
        (texts(g, "value").join(""), attr(&v, "fill").to_owned())
    };
    assert_eq!(value("Up"), ("UP".to_owned(), "#2ca02c".to_owned()));
    assert_eq!(value("Empty").0, "nothing here");
    assert_eq!(value("Peak").0, "42", "the range's max, not the last value");
    let arc = panel_group(&doc, "Peak")
        .descendants()
        .find(|n| n.attribute("class") == Some("gauge-value"))
        .expect("arc");
    assert_eq!(f(&arc, "data-ratio"), 0.42);

    // The PNG: transmit's red below zero; nothing of drop's colour where it would be.
    let png = png::render(&state, Target::Dashboard, size).expect("renders");
    let p = Pixmap::decode_png(&png).expect("a PNG");
    let (x, y) = pts[pts.len() / 2];
    // (A line between two pixel rows is split between them: a looser tolerance.)
    assert!(
        near(&p, x, y, 1, rgb("#d62728"), 100),
        "transmit at {x},{y}"
    );
    let m = plot_of(net);
    let drop = &ps.series[2];
    assert_eq!(drop.name, "drop");
    let drop_color = rgb(&svg::view_color(drop));
    assert!(
        (0..20).all(|k| !near(&p, x + f64::from(k) * 5.0, m.y(10.0), 1, drop_color, 30)),
        "drop is not painted"
    );
    let up = panel_group(&doc, "Up")
        .descendants()
        .find(|n| n.attribute("class") == Some("value"))
        .expect("value");
    assert!(
        near(&p, f(&up, "x"), f(&up, "y") - 10.0, 12, rgb("#2ca02c"), 90),
        "UP in green"
    );
}
