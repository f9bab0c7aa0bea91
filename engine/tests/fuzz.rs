//! Fuzzing the evaluator: PromQL-like expressions generated from a grammar, and raw
//! strings, through parse and evaluation (instant and range, both compatibility modes)
//! never panic; an expression either evaluates or is an error.
//!
//! 2,000 cases by default; `PROMDASH_FUZZ_CASES=1000000 cargo test -p promdash-engine
//! --release --test fuzz` runs more (see docs/ENGINE.md for the figure of the last long run).

use std::time::Duration;

use promdash_engine::eval::Func;
use promdash_engine::value::{Labels, stale_marker};
use promdash_engine::{Compat, Engine, EngineOptions, Store, StoreConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("PROMDASH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

/// The value of a series at its k-th scrape, `None` for no sample.
type ValueAt = Box<dyn Fn(i64) -> Option<f64>>;

/// A few series with counters, gauges, buckets, NaN, ±Inf, a stale marker and a gap.
fn store() -> Store {
    let mut store = Store::new(StoreConfig {
        retention_ms: i64::MAX / 4,
        max_series: 10_000,
    });
    let series: Vec<(Labels, ValueAt)> = vec![
        (
            [("__name__", "c_total"), ("job", "a"), ("i", "1")].into(),
            Box::new(|k| Some((k * 7 % 50) as f64)),
        ),
        (
            [("__name__", "c_total"), ("job", "b"), ("i", "2")].into(),
            Box::new(|k| Some(k as f64 * 1.5)),
        ),
        (
            [("__name__", "g"), ("job", "a")].into(),
            Box::new(|k| match k % 13 {
                0 => Some(f64::NAN),
                1 => Some(f64::INFINITY),
                2 => Some(f64::NEG_INFINITY),
                5 => Some(stale_marker()),
                _ => Some((k as f64).sin() * 10.0),
            }),
        ),
        (
            [("__name__", "g"), ("job", "b")].into(),
            Box::new(|k| (!(20..40).contains(&k)).then_some(-(k as f64))),
        ),
    ];
    for le in ["0.1", "1", "10", "+Inf", "x"] {
        let l: Labels = [("__name__", "h_bucket"), ("le", le), ("job", "a")].into();
        let bound: f64 = le.parse().unwrap_or(5.0);
        for k in 0..60i64 {
            store
                .append(&l, k * 15_000, (k as f64 * bound.min(20.0)).floor())
                .expect("append");
        }
    }
    for (l, f) in &series {
        for k in 0..60i64 {
            if let Some(v) = f(k) {
                store.append(l, k * 15_000 + (k % 3), v).expect("append");
            }
        }
    }
    store
}

fn leaf() -> impl Strategy<Value = String> {
    let metric = prop::sample::select(vec![
        "c_total",
        "g",
        "h_bucket",
        "nope",
        "up",
        "{job=\"a\"}",
        "{__name__=~\"c.*|g\"}",
    ]);
    let matcher = prop::option::of((
        prop::sample::select(vec!["job", "i", "le", "__name__", "x"]),
        prop::sample::select(vec!["=", "!=", "=~", "!~"]),
        prop::sample::select(vec!["a", "", ".*", "b|a", "(", "1", "\\\\", "ü"]),
    ));
    let range = prop::option::of(prop::sample::select(vec![
        "[1m]", "[30s]", "[5m]", "[0s]", "[1m:15s]", "[2m:]", "[10m:1m]", "[1ms]",
    ]));
    let modifier = prop::option::of(prop::sample::select(vec![
        " offset 1m",
        " offset -30s",
        " @ 300",
        " @ start()",
        " @ end()",
        " @ -1e9",
    ]));
    let number = prop::sample::select(vec![
        "0", "1", "-1", "0.5", "1e308", "-1e-308", "NaN", "Inf", "-Inf", "2", "100", "0x10",
    ]);
    prop_oneof![
        4 => (metric, matcher, range, modifier).prop_map(|(m, mat, r, md)| {
            let sel = match (m.starts_with('{'), mat) {
                (false, Some((l, op, v))) => format!("{m}{{{l}{op}\"{v}\"}}"),
                _ => m.to_owned(),
            };
            format!("{sel}{}{}", r.unwrap_or(""), md.unwrap_or(""))
        }),
        2 => number.prop_map(str::to_owned),
        1 => prop::sample::select(vec!["\"str\"", "time()", "pi()", "vector(1)", "-g", "(g)"])
            .prop_map(str::to_owned),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 48, 3, |inner| {
        // Every function the engine knows, and names it does not.
        let mut names: Vec<&'static str> = Func::ALL.iter().map(|f| f.name()).collect();
        names.extend(["holt_winters", "double_exponential_smoothing", "nosuchfunc"]);
        let func = prop::sample::select(names);
        let agg = prop::sample::select(vec![
            "sum",
            "avg",
            "min",
            "max",
            "count",
            "group",
            "stddev",
            "stdvar",
            "topk",
            "bottomk",
            "quantile",
            "count_values",
            "limitk",
        ]);
        let grouping = prop::sample::select(vec![
            "",
            " by (job)",
            " without (job)",
            " by ()",
            " by (le, i)",
            " without (__name__)",
        ]);
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">=", "and", "or", "unless",
            "atan2", "> bool", "== bool",
        ]);
        let matching = prop::sample::select(vec![
            "",
            " on(job)",
            " ignoring(i)",
            " on(job) group_left",
            " on(job) group_right(i)",
            " ignoring(le) group_left(le)",
            " on()",
        ]);
        prop_oneof![
            (func, prop::collection::vec(inner.clone(), 1..4))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            (
                agg,
                grouping,
                prop::option::of(inner.clone()),
                inner.clone()
            )
                .prop_map(|(a, g, param, e)| match param {
                    Some(p) => format!("{a}{g} ({p}, {e})"),
                    None => format!("{a}{g} ({e})"),
                }),
            (inner.clone(), op, matching, inner.clone())
                .prop_map(|(l, o, m, r)| format!("{l} {o}{m} {r}")),
            (
                inner.clone(),
                prop::sample::select(vec!["[5m:1m]", "[1m:10s]", "[3m]"])
            )
                .prop_map(|(e, r)| format!("({e}){r}")),
            inner.prop_map(|e| format!("({e})")),
        ]
    })
}

fn run(store: &Store, engines: &[Engine], expr: &str) {
    for engine in engines {
        let _ = engine.instant(store, expr, 600_000);
        let _ = engine.instant(store, expr, 0);
        let _ = engine.range(store, expr, 0, 900_000, 60_000);
    }
}

#[test]
fn arbitrary_expressions_never_panic() {
    let store = store();
    let engines = [Compat::V2, Compat::V3].map(|compat| {
        Engine::new(EngineOptions {
            lookback: Duration::from_secs(300),
            compat,
        })
    });
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop_oneof![
        6 => expr(),
        1 => ".{0,60}",
        1 => prop::collection::vec(
            prop::sample::select(vec![
                "(", ")", "{", "}", "[", "]", "\"", "'", "`", ",", "=~", "by", "on", "offset",
                "@", "5m", ":", "sum", "rate", "g", " ", "1", "-", "/", "bool", "group_left",
            ]),
            0..30,
        )
        .prop_map(|t| t.concat()),
    ];
    runner
        .run(&strategy, |expr| {
            run(&store, &engines, &expr);
            Ok(())
        })
        .expect("no expression makes the engine panic");
}
