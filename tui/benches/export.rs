//! Export cost: `cargo bench -p promdash --bench export`.
//!
//! The built-in dashboard with every range query answered by 20 series × 400 points
//! and every instant query by 3 series, exported as a 1600×1000 page:
//! - `dashboard_svg_1600x1000`: writing the SVG (target < 30 ms);
//! - `dashboard_png_1600x1000`: the same picture painted with tiny-skia and the bundled
//!   font, PNG encoded (target < 150 ms);
//! - `dashboard_csv`: every panel's raw data as CSV;
//! - `…_table_legends`: the same pictures with legend calculations (min, mean, max,
//!   last) on every graph, drawn as table legends.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use promdash::app::{Effect, FetchKey, FetchRequest, Fetched, Msg, Options, State, update};
use promdash::export::{self, ExportFormat, PageSize, Target};
use promdash_queries::dashboard::{PanelKind, default_dashboard};
use promdash_queries::grafana::calc::Calc;
use promdash_queries::model::{
    InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample,
};

const NOW: f64 = 1_795_618_935.0;

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

fn loaded(table_legends: bool) -> State {
    let opts = Options::for_url("http://localhost:9090");
    let mut dashboard = default_dashboard();
    if table_legends {
        for p in dashboard
            .panels
            .iter_mut()
            .filter(|p| p.kind == PanelKind::Graph)
        {
            p.legend_calcs = vec![Calc::Min, Calc::Mean, Calc::Max, Calc::Last];
        }
    }
    let mut state = State::new(dashboard, opts);
    update(&mut state, Msg::Resize(160, 50));
    for e in update(&mut state, Msg::Tick(NOW)) {
        if let Effect::Fetch(req) = e {
            let result = match req.key {
                FetchKey::Range { .. } => matrix(&req, 20, 400),
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

fn benches(c: &mut Criterion) {
    let state = loaded(false);
    let tables = loaded(true);
    assert!(
        export::svg::render(
            &tables,
            Target::Dashboard,
            PageSize::default_for(Target::Dashboard)
        )
        .contains("class=\"legend-table\""),
        "the graphs draw table legends"
    );
    let size = PageSize {
        width: 1600,
        height: 1000,
    };
    c.bench_function("dashboard_svg_1600x1000", |b| {
        b.iter(|| export::svg::render(black_box(&state), Target::Dashboard, size));
    });
    // The fonts are parsed, and the glyphs rasterised, once per process: not part of
    // each export.
    export::png::render(&state, Target::Dashboard, size).expect("renders");
    let mut group = c.benchmark_group("png");
    group.sample_size(20);
    group.bench_function("dashboard_png_1600x1000", |b| {
        b.iter(|| export::png::render(black_box(&state), Target::Dashboard, size).expect("png"));
    });
    group.bench_function("dashboard_png_1600x1000_table_legends", |b| {
        b.iter(|| export::png::render(black_box(&tables), Target::Dashboard, size).expect("png"));
    });
    group.finish();
    c.bench_function("dashboard_svg_1600x1000_table_legends", |b| {
        b.iter(|| export::svg::render(black_box(&tables), Target::Dashboard, size));
    });
    c.bench_function("dashboard_csv", |b| {
        b.iter(|| {
            export::render(
                black_box(&state),
                Target::Dashboard,
                ExportFormat::Csv,
                None,
                NOW,
            )
            .expect("csv")
        });
    });
}

criterion_group!(export_benches, benches);
criterion_main!(export_benches);
