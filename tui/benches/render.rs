//! Frame rendering cost: `cargo bench -p promdash --bench render`.
//!
//! - `default_200x50`: the built-in dashboard at 200×50, every range query answered with
//!   20 series × 400 points (target < 2 ms per frame).
//! - `six_graphs_200x50`: six graph panels × 20 series × 400 points.
//! - `forty_panels_240x70`: 40 panels at 240×70 (issue 7 target < 5 ms).
//! - `graph_50x2000`: one graph, 50 series × 2,000 points (issue 7 target < 2 ms).
//! - `ingest_20x400`: applying one 20 × 400 range answer (the downsampling done when data
//!   arrives, not per frame).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use promdash::app::{Effect, FetchKey, FetchRequest, Fetched, Msg, Options, State, update};
use promdash_queries::dashboard::{Dashboard, default_dashboard, parse_dashboard};
use promdash_queries::model::{
    InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: f64 = 1_795_618_935.0;

fn options() -> Options {
    Options {
        bell: true,
        ..Options::for_url("http://localhost:9090")
    }
}

fn matrix(req: &FetchRequest, series: usize, points: usize) -> QueryResult {
    let w = req.window.expect("range request");
    let dt = (w.end - w.start) / (points - 1) as f64;
    let data = (0..series)
        .map(|s| {
            let mut labels = Labels::new();
            labels.insert("route", format!("/route/{s}"));
            RangeSeries {
                labels,
                samples: (0..points)
                    .map(|i| Sample {
                        t: w.start + dt * i as f64,
                        v: 10.0 + s as f64 + 5.0 * ((i as f64) * 0.05 + s as f64).sin(),
                    })
                    .collect(),
            }
        })
        .collect();
    QueryResult {
        data: QueryData::Matrix(data),
        notes: Notes::default(),
    }
}

fn vector(series: usize) -> QueryResult {
    let data = (0..series)
        .map(|s| {
            let mut labels = Labels::new();
            labels.insert("route", format!("/route/{s}"));
            InstantSeries {
                labels,
                sample: Sample {
                    t: NOW,
                    v: 1.0 + s as f64,
                },
            }
        })
        .collect();
    QueryResult {
        data: QueryData::Vector(data),
        notes: Notes::default(),
    }
}

/// A dashboard at `w`×`h` with every query answered.
fn loaded(dashboard: Dashboard, w: u16, h: u16, series: usize, points: usize) -> State {
    let mut state = State::new(dashboard, options());
    update(&mut state, Msg::Resize(w, h));
    let effects = update(&mut state, Msg::Tick(NOW));
    for e in effects {
        if let Effect::Fetch(req) = e {
            let result = match req.key {
                FetchKey::Range { .. } => matrix(&req, series, points),
                FetchKey::Instant { .. } => vector(3),
            };
            update(
                &mut state,
                Msg::Fetched(Box::new(Fetched {
                    key: req.key.clone(),
                    seq: req.seq,
                    window: req.window,
                    result: Ok(result),
                    elapsed: Duration::from_millis(5),
                })),
            );
        }
    }
    state
}

fn graphs(n: usize, width: u8) -> Dashboard {
    let mut toml = String::from("title = \"Bench\"\n");
    for i in 0..n {
        toml.push_str(&format!(
            "[[panels]]\ntitle = \"Graph {i}\"\nkind = \"graph\"\nquery = \"sum by (route) (rate(app_request_count_total{{i=\\\"{i}\\\"}}[1m]))\"\nlegend = \"{{{{route}}}}\"\nunit = \"reqps\"\nwidth = {width}\nthresholds = [ {{ value = 20, color = \"red\" }} ]\n"
        ));
    }
    parse_dashboard(&toml, "bench.toml").expect("valid bench dashboard")
}

fn frame(c: &mut Criterion, name: &str, state: &State) {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("backend");
    c.bench_function(name, |b| {
        b.iter(|| {
            terminal
                .draw(|f| promdash::ui::view(black_box(state), f))
                .expect("draw");
        });
    });
}

fn benches(c: &mut Criterion) {
    let state = loaded(default_dashboard(), 200, 50, 20, 400);
    frame(c, "default_200x50", &state);

    let state = loaded(graphs(6, 6), 200, 50, 20, 400);
    frame(c, "six_graphs_200x50", &state);

    let state = loaded(graphs(40, 3), 240, 70, 10, 400);
    frame(c, "forty_panels_240x70", &state);

    let mut one = graphs(1, 12);
    one.panels[0].height = Some(40);
    let state = loaded(one.clone(), 200, 50, 50, 2000);
    frame(c, "graph_50x2000", &state);

    // Applying one answer: naming, ranking and downsampling 20 × 400 points.
    let mut state = loaded(graphs(1, 12), 200, 50, 20, 400);
    let req = FetchRequest {
        key: FetchKey::Range {
            expr: String::new(),
            step_ms: 0,
        },
        seq: 0,
        window: state.panels[0].window,
        time: None,
    };
    let answer = matrix(&req, 20, 400);
    let panel = state.dashboard.panels[0].clone();
    let window = req.window.expect("window");
    c.bench_function("ingest_20x400", |b| {
        b.iter(|| {
            state.panels[0].apply_range(&panel, 0, window, black_box(answer.clone()), 380, 40)
        });
    });
}

criterion_group! {
    name = render;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(render);
