//! `promdash query` against a real Prometheus scraping the reference service: the values
//! equal promtool's, `--output json` equals the API's own `data` and round-trips, and
//! `--output csv` has a header row.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use promdash::headless::{Format, Outcome, QueryArgs, run_query};
use promdash_queries::model::parse_value;
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::{Prometheus, find_binary, service_with_traffic};
use serde_json::Value;

/// Expressions with labels, long decimals, NaN and ±Inf.
const EXPRS: &[&str] = &[
    "app_request_count_total",
    "sum by (route) (rate(app_request_count_total[5s]))",
    "histogram_quantile(0.9, sum by (le) (rate(app_request_latency_seconds_bucket[5s])))",
    "vector(0.1 + 0.2)",
    "vector(1/3) * 1e-9",
    "vector(0/0)",
    "vector(1/0)",
    "vector(-1/0)",
    "up * 12345678.901234567",
    // Significands above 2^53 that no f64 holds exactly: parsing them as integer then
    // scaling rounds twice and lands one unit off.
    "vector(920.0864349327219)",
    "vector(0.12088995980580641)",
    "vector(91444.46394025773)",
];

fn query_args(expr: &str, time: f64, output: Format) -> QueryArgs {
    QueryArgs {
        expr: expr.to_owned(),
        time: Some(time),
        range: None,
        step: None,
        output,
        dashboard: None,
        ..Default::default()
    }
}

async fn run(client: &PromClient, args: &QueryArgs) -> (Outcome, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run_query(client, args, &mut out, &mut err)
        .await
        .expect("output goes to Vecs");
    (
        outcome,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}

fn promtool(args: &[String]) -> String {
    let out = Command::new(find_binary("promtool", "prometheus").expect("promtool"))
        .args(args)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// promtool's `{labels} => value @[t]` lines (an instant vector) as labels → value text.
/// A `scalar: v @[t]` answer has the key `scalar`.
fn promtool_instant(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (labels, rest) = l
                .rsplit_once(" => ")
                .or_else(|| l.split_once(": "))
                .unwrap_or_else(|| panic!("odd promtool line {l:?}"));
            let value = rest.split(" @[").next().unwrap_or_default();
            (labels.to_owned(), value.to_owned())
        })
        .collect()
}

/// promtool's range output: `{labels} =>` then `value @[t]` lines, per series.
fn promtool_range(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(labels) = line.strip_suffix(" =>") {
            current = labels.to_owned();
            out.entry(current.clone()).or_default();
        } else {
            let (v, t) = line
                .split_once(" @[")
                .unwrap_or_else(|| panic!("odd promtool line {line:?}"));
            let t = t.trim_end_matches(']');
            out.entry(current.clone())
                .or_default()
                .push((t.to_owned(), v.to_owned()));
        }
    }
    out
}

/// Go's `model.Metric.String()`: `name{a="1", b="2"}`, `{}` without labels.
fn go_labels(metric: &serde_json::Map<String, Value>) -> String {
    let name = metric
        .get("__name__")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut rest: Vec<String> = metric
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or_default()))
        .collect();
    rest.sort();
    if rest.is_empty() && !name.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", rest.join(", "))
    }
}

/// The `data` of the API's own answer to an instant or range query.
async fn api_data(url: &str, params: &[(&str, String)], range: bool) -> Value {
    let path = if range { "query_range" } else { "query" };
    let body: Value = promdash_tests::http_client()
        .get(format!("{url}/api/v1/{path}"))
        .query(params)
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json");
    assert_eq!(body["status"], "success", "{body}");
    body["data"].clone()
}

async fn setup() -> (
    promdash_service::RunningService,
    Prometheus,
    PromClient,
    f64,
) {
    // Requests over a few scrapes, so rates and quantiles have data.
    let (service, prom) = service_with_traffic(8, 3)
        .await
        .expect("service, Prometheus");
    let client = PromClient::new(ClientConfig::new(prom.url())).expect("client");
    // A fixed time in the recent past, to the millisecond, shared by both tools.
    let at = ((promdash::headless::time::now() - 1.0) * 1000.0).floor() / 1000.0;
    (service, prom, client, at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_values_equal_promtools_and_json_equals_the_api() {
    let (_service, prom, client, at) = setup().await;
    let at_s = promdash_queries::client::fmt_secs(at);
    for expr in EXPRS {
        let theirs = promtool_instant(&promtool(&[
            "query".into(),
            "instant".into(),
            format!("--time={at_s}"),
            prom.url(),
            (*expr).into(),
        ]));
        assert!(!theirs.is_empty(), "{expr}: promtool printed nothing");

        // JSON: exactly the API's data, values as strings.
        let (outcome, out, err) = run(&client, &query_args(expr, at, Format::Json)).await;
        assert_eq!(outcome, Outcome::Ok, "{expr}: {err}");
        let ours: Value = serde_json::from_str(&out).expect("valid JSON");
        let api = api_data(
            &prom.url(),
            &[("query", (*expr).into()), ("time", at_s.clone())],
            false,
        )
        .await;
        assert_eq!(ours, api, "{expr}: JSON differs from the API's");

        let mut from_json = BTreeMap::new();
        for s in ours["result"].as_array().expect("vector") {
            let text = s["value"][1].as_str().expect("value string");
            // Round trip: the text reads back as the same bits as the API's value.
            let v = parse_value(text).expect("parses");
            let api_v = api["result"]
                .as_array()
                .and_then(|r| r.iter().find(|a| a["metric"] == s["metric"]))
                .and_then(|a| a["value"][1].as_str())
                .and_then(parse_value)
                .expect("same series in the API answer");
            assert!(
                v.to_bits() == api_v.to_bits() || (v.is_nan() && api_v.is_nan()),
                "{expr}: {text}"
            );
            from_json.insert(
                go_labels(s["metric"].as_object().expect("metric")),
                text.to_owned(),
            );
        }
        // JSON writes tiny values with an exponent, as the API does, and promtool
        // without: compare the numbers, to the last bit.
        let bits = |m: &BTreeMap<String, String>| -> BTreeMap<String, u64> {
            m.iter()
                .map(|(k, v)| {
                    let v = parse_value(v).unwrap_or_else(|| panic!("{expr}: value {v:?}"));
                    (k.clone(), if v.is_nan() { 0 } else { v.to_bits() })
                })
                .collect()
        };
        assert_eq!(
            bits(&from_json),
            bits(&theirs),
            "{expr}: promdash JSON vs promtool"
        );

        // Table: the value column shows the same text.
        let (_, table, _) = run(&client, &query_args(expr, at, Format::Table)).await;
        let mut lines = table.lines();
        let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
        assert_eq!(header.last(), Some(&"value"), "{table}");
        let mut values: Vec<String> = lines
            .map(|l| l.split_whitespace().last().unwrap_or_default().to_owned())
            .collect();
        let mut want: Vec<String> = theirs.values().cloned().collect();
        values.sort();
        want.sort();
        assert_eq!(values, want, "{expr}: table vs promtool\n{table}");

        // CSV: a header row, then one row per series ending in the same value.
        let (_, csv, _) = run(&client, &query_args(expr, at, Format::Csv)).await;
        let mut rows = csv.lines();
        let head = rows.next().expect("csv header");
        assert!(head.ends_with("timestamp,value"), "{csv}");
        let mut csv_values: Vec<String> = rows
            .map(|r| {
                let cells: Vec<&str> = r.split(',').collect();
                assert_eq!(cells[cells.len() - 2], at_s, "{csv}");
                cells[cells.len() - 1].to_owned()
            })
            .collect();
        csv_values.sort();
        assert_eq!(csv_values, want, "{expr}: csv vs promtool\n{csv}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_values_equal_promtools() {
    let (_service, prom, client, at) = setup().await;
    let (range, step) = (Duration::from_secs(6), Duration::from_secs(1));
    let start = at - 6.0;
    let fmt = promdash_queries::client::fmt_secs;
    for expr in [
        "sum by (route) (rate(app_request_count_total[3s]))",
        "app_request_count_total",
        "vector(0.1 + 0.2) / 3",
    ] {
        let theirs = promtool_range(&promtool(&[
            "query".into(),
            "range".into(),
            format!("--start={}", fmt(start)),
            format!("--end={}", fmt(at)),
            "--step=1s".into(),
            prom.url(),
            expr.into(),
        ]));
        assert!(!theirs.is_empty(), "{expr}: promtool printed nothing");
        let mut args = query_args(expr, at, Format::Json);
        args.range = Some(range);
        args.step = Some(step);
        let (outcome, out, err) = run(&client, &args).await;
        assert_eq!(outcome, Outcome::Ok, "{expr}: {err}");
        let ours: Value = serde_json::from_str(&out).expect("valid JSON");
        let api = api_data(
            &prom.url(),
            &[
                ("query", expr.into()),
                ("start", fmt(start)),
                ("end", fmt(at)),
                ("step", "1".into()),
            ],
            true,
        )
        .await;
        assert_eq!(ours, api, "{expr}: JSON differs from the API's");
        let mut from_json = BTreeMap::new();
        for s in ours["result"].as_array().expect("matrix") {
            let points: Vec<(String, String)> = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| {
                    (
                        fmt(p[0].as_f64().expect("timestamp")),
                        p[1].as_str().expect("value").to_owned(),
                    )
                })
                .collect();
            from_json.insert(go_labels(s["metric"].as_object().expect("metric")), points);
        }
        assert_eq!(from_json, theirs, "{expr}: promdash vs promtool");

        // Table: one row per series with a sparkline as wide as the points (≤ 40).
        args.output = Format::Table;
        let (_, table, _) = run(&client, &args).await;
        let rows: Vec<&str> = table.lines().collect();
        let header: Vec<&str> = rows[0].split_whitespace().collect();
        assert!(
            header.ends_with(&["points", "last", "min", "max", "sparkline"]),
            "{table}"
        );
        assert_eq!(rows.len(), theirs.len() + 1, "{table}");
        for row in &rows[1..] {
            let spark: String = row.chars().filter(|c| ('▁'..='█').contains(c)).collect();
            assert!(!spark.is_empty() && spark.chars().count() <= 7, "{row}");
        }

        // CSV: header, then one row per sample.
        args.output = Format::Csv;
        let (_, csv, _) = run(&client, &args).await;
        let samples: usize = theirs.values().map(Vec::len).sum();
        assert!(
            csv.lines()
                .next()
                .is_some_and(|h| h.ends_with("timestamp,value")),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), samples + 1, "{csv}");
    }
}

#[tokio::test]
async fn errors_name_what_was_wrong_and_exit_2() {
    let prom = Prometheus::start(&[] as &[&str]).await.expect("prometheus");
    let client = PromClient::new(ClientConfig::new(prom.url())).expect("client");
    let now = promdash::headless::time::now();
    let (outcome, out, err) =
        run(&client, &query_args("sum(rate(up[5m])", now, Format::Table)).await;
    assert_eq!((outcome, outcome.code()), (Outcome::Failed, 2));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("sum(rate(up[5m])"), "names the query: {err}");
    assert!(
        err.contains("bad_data") && err.contains("parse error"),
        "{err}"
    );

    let mut args = query_args("up", now, Format::Table);
    args.range = Some(Duration::from_secs(3600));
    args.step = Some(Duration::from_millis(100));
    let (outcome, _, err) = run(&client, &args).await;
    assert_eq!(outcome, Outcome::Failed);
    assert!(err.contains("exceeded maximum resolution"), "{err}");

    let url = prom.url();
    drop(prom);
    let client = PromClient::new(ClientConfig::new(url)).expect("client");
    let (outcome, _, err) = run(&client, &query_args("up", now, Format::Json)).await;
    assert_eq!(outcome, Outcome::Failed);
    assert!(err.contains("connection refused"), "{err}");
}
