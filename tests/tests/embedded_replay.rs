//! Recordings on the embedded engine: `promdash query --data FILE.om` and the dashboard
//! `promdash --data FILE.om`.
//!
//! - `query --data` answers the same as a real Prometheus 2.42 serving the same file
//!   backfilled with `promtool tsdb create-blocks-from openmetrics` (with
//!   `--promql-compat 2`), instant and range, in the API's JSON.
//! - A broken file is exit 2 with `file:line:col`.
//! - The dashboard on a recording of promdash-service (scraped for real after a known
//!   number of requests) says `REPLAY` and the span, shows the request total, and pans and
//!   zooms over the recording.
//!
//! Needs `prometheus` (with `promtool`) and `tmux` (Debian: apt-get install prometheus
//! tmux); a missing one fails the test with that message.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use promdash_engine::promqltest::almost_equal;
use promdash_tests::Prometheus;
use promdash_tests::connect::promdash_binary;
use promdash_tests::engine_diff::{BASE_MS, SPAN_MS, openmetrics};
use promdash_tests::record_service;
use promdash_tests::tmux::{Tmux, table_value};
use serde_json::Value as Json;

const MIN: i64 = 60_000;

/// `promdash args…` to completion: (exit status, stdout, stderr).
fn promdash(args: &[&str]) -> anyhow::Result<(i32, String, String)> {
    let mut cmd = Command::new(promdash_binary()?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.args(args).output().context("run promdash")?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The `result` of an API `data` object as series (labels as JSON text) → values.
/// Series (labels as JSON text) → their points (time, value).
type Points = BTreeMap<String, Vec<(f64, f64)>>;

fn series(data: &Json) -> anyhow::Result<(String, Points)> {
    let kind = data["resultType"]
        .as_str()
        .context("resultType")?
        .to_owned();
    let point = |p: &Json| -> anyhow::Result<(f64, f64)> {
        let t = p[0].as_f64().context("time")?;
        let v = p[1].as_str().context("value")?;
        let v = match v {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().with_context(|| format!("value {v:?}"))?,
        };
        Ok((t, v))
    };
    let mut out = BTreeMap::new();
    match kind.as_str() {
        "scalar" => {
            out.insert(String::new(), vec![point(&data["result"])?]);
        }
        "vector" | "matrix" => {
            for s in data["result"].as_array().context("result")? {
                let key = s["metric"].to_string();
                let points = match kind.as_str() {
                    "vector" => vec![point(&s["value"])?],
                    _ => s["values"]
                        .as_array()
                        .context("values")?
                        .iter()
                        .map(point)
                        .collect::<anyhow::Result<_>>()?,
                };
                out.insert(key, points);
            }
        }
        other => bail!("unexpected resultType {other}"),
    }
    Ok((kind, out))
}

fn same(a: &Points, b: &Points) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, va), (kb, vb))| {
            ka == kb
                && va.len() == vb.len()
                && va
                    .iter()
                    .zip(vb)
                    .all(|(x, y)| x.0 == y.0 && almost_equal(x.1, y.1))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_data_answers_like_prometheus_on_the_same_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("recording.om");
    std::fs::write(&file, openmetrics())?;
    let prom = Prometheus::start_on_openmetrics(&file).await?;
    let http = promdash_tests::http_client();
    let file_arg = file.display().to_string();
    let at = (BASE_MS + 120 * MIN) as f64 / 1000.0;
    let (start, end) = (
        (BASE_MS + 10 * MIN) as f64 / 1000.0,
        (BASE_MS + 170 * MIN) as f64 / 1000.0,
    );
    let exprs = [
        "sum(app_request_count_total)",
        "sum by (job) (rate(app_request_count_total[5m]))",
        "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[5m])))",
        "up",
        "count(up == 0) or vector(0)",
        "scalar(sum(up))",
    ];
    let mut compared = 0;
    for expr in exprs {
        // Instant.
        let (code, out, err) = promdash(&[
            "query",
            "--data",
            &file_arg,
            "--promql-compat",
            "2",
            "-o",
            "json",
            "--time",
            &at.to_string(),
            expr,
        ])?;
        assert_eq!(code, 0, "{expr}: {err}");
        let ours: Json = serde_json::from_str(&out).with_context(|| out.clone())?;
        let theirs: Json = http
            .get(format!("{}/api/v1/query", prom.url()))
            .query(&[("query", expr), ("time", &at.to_string())])
            .send()
            .await?
            .json()
            .await?;
        let (ka, a) = series(&ours)?;
        let (kb, b) = series(&theirs["data"])?;
        assert!(
            ka == kb && same(&a, &b) && !a.is_empty(),
            "instant {expr} at {at}:\n  promdash --data: {ka} {a:?}\n  Prometheus:      {kb} {b:?}"
        );
        // Range, with --start/--end/--step.
        let (code, out, err) = promdash(&[
            "query",
            "--data",
            &file_arg,
            "--promql-compat",
            "2",
            "-o",
            "json",
            "--start",
            &start.to_string(),
            "--end",
            &end.to_string(),
            "--step",
            "60s",
            expr,
        ])?;
        assert_eq!(code, 0, "{expr}: {err}");
        let ours: Json = serde_json::from_str(&out).with_context(|| out.clone())?;
        let theirs: Json = http
            .get(format!("{}/api/v1/query_range", prom.url()))
            .query(&[
                ("query", expr),
                ("start", &start.to_string()),
                ("end", &end.to_string()),
                ("step", "60"),
            ])
            .send()
            .await?
            .json()
            .await?;
        let (ka, a) = series(&ours)?;
        let (kb, b) = series(&theirs["data"])?;
        assert!(
            ka == kb && same(&a, &b) && !a.is_empty(),
            "range {expr}:\n  promdash --data: {ka} {a:?}\n  Prometheus:      {kb} {b:?}"
        );
        compared += 1;
    }
    assert_eq!(compared, exprs.len());

    // Without --time: "now" is the end of the recording, not the wall clock.
    let (code, out, err) = promdash(&["query", "--data", &file_arg, "-o", "json", "count(up)"])?;
    assert_eq!(code, 0, "{err}");
    let ours: Json = serde_json::from_str(&out)?;
    let t = ours["result"][0]["value"][0].as_f64().context("time")?;
    let newest = (BASE_MS + SPAN_MS) as f64 / 1000.0;
    assert!(
        (newest - 60.0..=newest).contains(&t),
        "evaluated at {t}, the data ends near {newest}"
    );
    Ok(())
}

#[test]
fn a_broken_recording_is_exit_2_with_file_line_and_column() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let bad = dir.path().join("bad.om");
    std::fs::write(&bad, "up 1 100\nup{job=\"x} 1 101\n# EOF\n")?;
    let bad_arg = bad.display().to_string();
    let (code, out, err) = promdash(&["query", "--data", &bad_arg, "up"])?;
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!("{bad_arg}:2:")),
        "file:line:col expected: {err}"
    );
    assert!(out.is_empty(), "{out}");
    // The dashboard says the same before touching the terminal.
    let (code, _, err) = promdash(&["--data", &bad_arg])?;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{bad_arg}:2:")), "{err}");
    // A missing file, and a range that ends before it starts.
    let (code, _, err) = promdash(&["query", "--data", "/nonexistent/x.om", "up"])?;
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent/x.om"), "{err}");
    let good = dir.path().join("good.om");
    std::fs::write(&good, "up 1 100\nup 1 105\n# EOF\n")?;
    let good_arg = good.display().to_string();
    let (code, _, err) = promdash(&[
        "query", "--data", &good_arg, "--start", "200", "--end", "100", "up",
    ])?;
    assert_eq!(code, 2);
    assert!(err.contains("--start"), "{err}");
    // A good one answers as a table.
    let (code, out, err) = promdash(&["query", "--data", &good_arg, "sum(up)"])?;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().map(str::trim).collect::<Vec<_>>(),
        ["value", "1"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_replays_a_recording() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("service.om");
    // 2026-11-25T10:00:00Z, then every 5 s.
    let t0 = 1_795_600_800_000;
    let sent = record_service(&file, &[10, 10, 10, 7, 0, 0], t0).await?;
    assert_eq!(sent, 37);
    // The total in a table panel: plain digits (a stat draws big ones).
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        "title = \"Replayed\"\n[[panels]]\ntitle = \"Total requests\"\nkind = \"table\"\n\
         query = \"sum(app_request_count_total)\"\nwidth = 12\n\
         [[panels]]\ntitle = \"Rate\"\nquery = \"sum(rate(app_request_count_total[10s]))\"\n",
    )?;
    let tmux = Tmux::start_promdash(
        "replay",
        dir.path(),
        &[&"--data", &file, &"--dashboard", &dashboard],
    )?;
    let limit = Duration::from_secs(30);
    let screen = tmux
        .wait_for("REPLAY and the request total", limit, |s| {
            s.contains("REPLAY") && table_value(s, "Total requests") == Some(37.0)
        })
        .await?;
    // The span of the recording.
    assert!(screen.contains("10:00:00–10:00:25 (25s)"), "{screen}");
    assert!(screen.contains("at 10:00:25"), "{screen}");
    // The range is the recording (at least a minute); zoom out one level.
    assert!(screen.contains("range 1m"), "{screen}");
    tmux.keys(&["-"])?;
    tmux.wait_for("zoomed out to 5m", limit, |s| s.contains("range 5m"))
        .await?;
    // Pan back half the range: the window ends before the recording starts, so it is
    // held at the start.
    tmux.keys(&["Left"])?;
    tmux.wait_for("panned to the start", limit, |s| s.contains("at 10:00:00"))
        .await?;
    tmux.keys(&["Right"])?;
    tmux.wait_for("panned back to the end", limit, |s| {
        s.contains("at 10:00:25")
    })
    .await?;
    // `p` does not resume a recording into the wall clock.
    tmux.keys(&["p"])?;
    tmux.keys(&["?"])?;
    let s = tmux
        .wait_for("help", limit, |s| s.contains("show or hide this help"))
        .await?;
    assert!(!s.contains("PAUSED"), "{s}");
    tmux.keys(&["Escape"])?;
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", limit, |s| !s.contains("REPLAY"))
        .await?;
    Ok(())
}
