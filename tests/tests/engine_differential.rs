//! The embedded engine against Debian's Prometheus 2.42 on identical samples.
//!
//! A deterministic OpenMetrics file (`promdash_tests::engine_diff`) is backfilled with
//! `promtool tsdb create-blocks-from openmetrics` into the data directory of a Prometheus
//! that then serves it, and loaded into the engine's store with the engine's own parser.
//! Every expression of `dashboards/*.toml` and the expressions of
//! `engine_diff::expressions()` are asked of both with `--promql-compat 2`, as instant
//! queries at on- and off-grid times (in a gap, just after a counter reset, after the end
//! of the data) and as range queries on two step grids, then compared series by series and
//! value by value (relative 1e-6, NaN equal to NaN). An error must be an error on both.
//!
//! One Prometheus serves every expression. A disagreement prints both answers and fails
//! the test, except for the expressions listed in [`KNOWN_DISAGREEING`], which are
//! printed on every run; at least 300 expressions must agree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use promdash_engine::exposition::load_openmetrics;
use promdash_engine::promqltest::almost_equal;
use promdash_engine::value::Labels;
use promdash_engine::{Compat, Engine, EngineOptions, Store, StoreConfig, Value};
use promdash_tests::Prometheus;
use promdash_tests::engine_diff::{BASE_MS, SPAN_MS, expressions, openmetrics};
use serde_json::Value as Json;

/// Expressions known to disagree, each with why; printed on every run, never skipped
/// silently. Empty while everything agrees.
const KNOWN_DISAGREEING: &[(&str, &str)] = &[];

const MIN: i64 = 60_000;

/// Instant query times: on the 15 s grid (where one target's samples sit exactly), off
/// it, inside a target's 15-minute gap, just after a counter reset, after the data ends.
const INSTANTS: [(&str, i64); 5] = [
    ("on-grid", BASE_MS + 120 * MIN),
    ("off-grid", BASE_MS + 100 * MIN + 7_321),
    ("in a gap", BASE_MS + 68 * MIN + 30_000),
    ("after a reset", BASE_MS + 80 * MIN + 20_000),
    ("after the end", BASE_MS + SPAN_MS + 2 * MIN),
];

/// Range queries: (start, end, step).
const RANGES: [(i64, i64, i64); 2] = [
    (BASE_MS + 10 * MIN, BASE_MS + 170 * MIN, 60_000),
    (BASE_MS + 55 * MIN + 3_000, BASE_MS + 85 * MIN, 37_000),
];

/// An answer in a form both sides can be compared in.
#[derive(Debug)]
enum Answer {
    Error(String),
    Scalar(f64),
    Str(String),
    Vector(BTreeMap<Labels, f64>),
    Matrix(BTreeMap<Labels, Vec<(i64, f64)>>),
}

fn fmt_v(v: f64) -> String {
    promdash_engine::promqltest::fmt_f(v)
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Error(e) => write!(f, "error: {e}"),
            Answer::Scalar(v) => write!(f, "scalar {}", fmt_v(*v)),
            Answer::Str(s) => write!(f, "string {s:?}"),
            Answer::Vector(m) => {
                write!(f, "vector of {}", m.len())?;
                for (l, v) in m.iter().take(12) {
                    write!(f, "\n      {l} {}", fmt_v(*v))?;
                }
                if m.len() > 12 {
                    write!(f, "\n      …")?;
                }
                Ok(())
            }
            Answer::Matrix(m) => {
                write!(f, "matrix of {}", m.len())?;
                for (l, points) in m.iter().take(6) {
                    write!(f, "\n      {l} ({} points)", points.len())?;
                    for (t, v) in points.iter().take(8) {
                        write!(f, " {}@{}", fmt_v(*v), t)?;
                    }
                    if points.len() > 8 {
                        write!(f, " …")?;
                    }
                }
                if m.len() > 6 {
                    write!(f, "\n      …")?;
                }
                Ok(())
            }
        }
    }
}

fn from_engine(r: Result<Value, promdash_engine::EvalError>) -> Answer {
    match r {
        Err(e) => Answer::Error(e.to_string()),
        Ok(Value::Scalar(p)) => Answer::Scalar(p.v),
        Ok(Value::String { value, .. }) => Answer::Str(value),
        Ok(Value::Vector(v)) => Answer::Vector(v.into_iter().map(|s| (s.labels, s.v)).collect()),
        Ok(Value::Matrix(m)) => Answer::Matrix(
            m.into_iter()
                .map(|s| (s.labels, s.points.iter().map(|p| (p.t, p.v)).collect()))
                .collect(),
        ),
    }
}

fn json_value(v: &Json) -> anyhow::Result<f64> {
    let s = v.as_str().context("a value is not a string")?;
    Ok(match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().with_context(|| format!("value {s:?}"))?,
    })
}

fn json_time(v: &Json) -> anyhow::Result<i64> {
    let t = v.as_f64().context("a timestamp is not a number")?;
    Ok((t * 1000.0).round() as i64)
}

fn json_labels(v: &Json) -> Labels {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

fn from_prometheus(body: &Json) -> anyhow::Result<Answer> {
    if body["status"] != "success" {
        return Ok(Answer::Error(
            body["error"].as_str().unwrap_or("an error").to_owned(),
        ));
    }
    let data = &body["data"];
    let result = &data["result"];
    Ok(match data["resultType"].as_str() {
        Some("scalar") => Answer::Scalar(json_value(&result[1])?),
        Some("string") => Answer::Str(result[1].as_str().unwrap_or_default().to_owned()),
        Some("vector") => {
            let mut m = BTreeMap::new();
            for s in result.as_array().context("a vector is not an array")? {
                m.insert(json_labels(&s["metric"]), json_value(&s["value"][1])?);
            }
            Answer::Vector(m)
        }
        Some("matrix") => {
            let mut m = BTreeMap::new();
            for s in result.as_array().context("a matrix is not an array")? {
                let mut points = Vec::new();
                for p in s["values"].as_array().context("values")? {
                    points.push((json_time(&p[0])?, json_value(&p[1])?));
                }
                m.insert(json_labels(&s["metric"]), points);
            }
            Answer::Matrix(m)
        }
        other => bail!("unexpected resultType {other:?}"),
    })
}

/// Where two answers differ, or `None` when they agree.
fn differ(prom: &Answer, engine: &Answer) -> Option<String> {
    match (prom, engine) {
        (Answer::Error(_), Answer::Error(_)) => None,
        (Answer::Scalar(a), Answer::Scalar(b)) => {
            (!almost_equal(*a, *b)).then(|| format!("scalar {} vs {}", fmt_v(*a), fmt_v(*b)))
        }
        (Answer::Str(a), Answer::Str(b)) => (a != b).then(|| "strings differ".into()),
        (Answer::Vector(a), Answer::Vector(b)) => {
            if let Some(l) = a.keys().find(|l| !b.contains_key(*l)) {
                return Some(format!("series {l} only in Prometheus's answer"));
            }
            if let Some(l) = b.keys().find(|l| !a.contains_key(*l)) {
                return Some(format!("series {l} only in the engine's answer"));
            }
            a.iter().find_map(|(l, va)| {
                let vb = b[l];
                (!almost_equal(*va, vb))
                    .then(|| format!("{l}: Prometheus {} engine {}", fmt_v(*va), fmt_v(vb)))
            })
        }
        (Answer::Matrix(a), Answer::Matrix(b)) => {
            if let Some(l) = a.keys().find(|l| !b.contains_key(*l)) {
                return Some(format!("series {l} only in Prometheus's answer"));
            }
            if let Some(l) = b.keys().find(|l| !a.contains_key(*l)) {
                return Some(format!("series {l} only in the engine's answer"));
            }
            a.iter().find_map(|(l, pa)| {
                let pb = &b[l];
                if pa.len() != pb.len() {
                    let ta: Vec<i64> = pa.iter().map(|p| p.0).collect();
                    let tb: Vec<i64> = pb.iter().map(|p| p.0).collect();
                    let first = ta
                        .iter()
                        .zip(&tb)
                        .position(|(x, y)| x != y)
                        .unwrap_or(ta.len().min(tb.len()));
                    return Some(format!(
                        "{l}: {} points in Prometheus's answer, {} in the engine's (first difference at index {first})",
                        pa.len(),
                        pb.len()
                    ));
                }
                pa.iter().zip(pb).find_map(|((ta, va), (tb, vb))| {
                    if ta != tb {
                        Some(format!("{l}: a point at {ta} in Prometheus's answer, at {tb} in the engine's"))
                    } else if !almost_equal(*va, *vb) {
                        Some(format!("{l} at {ta}: Prometheus {} engine {}", fmt_v(*va), fmt_v(*vb)))
                    } else {
                        None
                    }
                })
            })
        }
        _ => Some("different kinds of answer".into()),
    }
}

fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

async fn ask(
    client: &reqwest::Client,
    url: &str,
    path: &str,
    form: &[(&str, String)],
) -> anyhow::Result<Answer> {
    let resp = client
        .post(format!("{url}{path}"))
        .form(form)
        .send()
        .await
        .with_context(|| format!("POST {path}"))?;
    let body: Json = resp.json().await.context("a JSON answer")?;
    from_prometheus(&body)
}

/// The dashboards' expressions: every panel query and alert rule of `dashboards/*.toml`.
fn dashboard_expressions() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dashboards/ exists")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let d = promdash_queries::dashboard::load_dashboard(&f)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for p in &d.panels {
            out.extend(p.queries.iter().map(|q| q.expr.clone()));
        }
        out.extend(d.alerts.iter().map(|a| a.expr.clone()));
    }
    assert!(out.len() >= 10, "only {} dashboard expressions", out.len());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_agrees_with_prometheus_2_42() -> anyhow::Result<()> {
    let om = openmetrics();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data.om");
    std::fs::write(&path, &om)?;

    let mut store = Store::new(StoreConfig {
        retention_ms: 10 * 365 * 86_400_000,
        max_series: 1_000_000,
    });
    let loaded =
        load_openmetrics(&mut store, om.as_bytes()).context("the engine loads the file")?;
    let engine = Engine::new(EngineOptions {
        lookback: Duration::from_secs(300),
        compat: if std::env::var_os("PROMDASH_DIFF_V3").is_some() {
            Compat::V3
        } else {
            Compat::V2
        },
    });

    let prom = Prometheus::start_on_openmetrics(&path).await?;
    let url = prom.url();
    let client = promdash_queries::tls::http_client_builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    // The blocks are there once `count(up)` sees every target.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = ask(
            &client,
            &url,
            "/api/v1/query",
            &[
                ("query", "count(up)".into()),
                ("time", secs(BASE_MS + 30 * MIN)),
            ],
        )
        .await?;
        if matches!(&a, Answer::Vector(v) if v.values().next() == Some(&5.0)) {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "Prometheus does not answer count(up) = 5 on the backfilled data: {a}\n{}",
                prom.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut exprs = dashboard_expressions();
    exprs.extend(expressions());
    let mut seen = std::collections::HashSet::new();
    exprs.retain(|e| seen.insert(e.clone()));

    let mut agreeing = 0;
    let mut failures = String::new();
    let mut known = String::new();
    let mut non_empty = 0;
    let mut errors = 0;
    for expr in &exprs {
        let mut disagreements = Vec::new();
        let mut any_data = false;
        let mut all_errors = true;
        for (what, t) in INSTANTS {
            let p = ask(
                &client,
                &url,
                "/api/v1/query",
                &[("query", expr.clone()), ("time", secs(t))],
            )
            .await?;
            let e = from_engine(engine.instant(&store, expr, t));
            any_data |=
                matches!(&p, Answer::Vector(v) if !v.is_empty()) || matches!(p, Answer::Scalar(_));
            all_errors &= matches!(p, Answer::Error(_));
            if let Some(d) = differ(&p, &e) {
                disagreements.push(format!(
                    "  instant at {} ({what}): {d}\n    Prometheus: {p}\n    engine:     {e}",
                    secs(t)
                ));
            }
        }
        for (start, end, step) in RANGES {
            let p = ask(
                &client,
                &url,
                "/api/v1/query_range",
                &[
                    ("query", expr.clone()),
                    ("start", secs(start)),
                    ("end", secs(end)),
                    ("step", format!("{}", step as f64 / 1000.0)),
                ],
            )
            .await?;
            let e = from_engine(engine.range(&store, expr, start, end, step));
            if let Some(d) = differ(&p, &e) {
                disagreements.push(format!(
                    "  range {}..{} step {}s: {d}\n    Prometheus: {p}\n    engine:     {e}",
                    secs(start),
                    secs(end),
                    step / 1000
                ));
            }
        }
        if any_data {
            non_empty += 1;
        }
        if all_errors {
            errors += 1;
        }
        let known_why = KNOWN_DISAGREEING
            .iter()
            .find(|(k, _)| k == expr)
            .map(|(_, why)| *why);
        match (disagreements.is_empty(), known_why) {
            (true, None) => agreeing += 1,
            (true, Some(_)) => {
                let _ = writeln!(known, "now agrees, remove from KNOWN_DISAGREEING: {expr}");
                agreeing += 1;
            }
            (false, Some(why)) => {
                let _ = writeln!(known, "known disagreement ({why}): {expr}");
            }
            (false, None) => {
                let _ = writeln!(failures, "{expr}\n{}", disagreements.join("\n"));
            }
        }
    }
    println!(
        "{} samples loaded; {} expressions ({} with data at some instant, {errors} an error on both sides): {agreeing} agree with Prometheus 2.42, {} known disagreements",
        loaded,
        exprs.len(),
        non_empty,
        KNOWN_DISAGREEING.len()
    );
    print!("{known}");
    assert!(
        failures.is_empty(),
        "the engine (Compat::V2) and Prometheus 2.42 disagree:\n{failures}"
    );
    assert!(
        agreeing >= 300,
        "only {agreeing} expressions agree; at least 300 must"
    );
    // Most expressions must see data, or the comparison proves little.
    assert!(
        non_empty * 10 >= exprs.len() * 8,
        "only {non_empty} of {} expressions have data",
        exprs.len()
    );
    drop(prom);
    Ok(())
}
