//! Issue 15 through the real `promdash` binary: `promdash snapshot` against a real
//! Prometheus scraping the reference service.
//!
//! - the CSV of a range panel equals `promtool query range` for the same expression,
//!   start, end and step (taken from the JSON export), value by value;
//! - every format is written, named after the titles and the time, never overwritten;
//! - a panel whose query fails is drawn with the error (exit 0); an unreachable server
//!   exits 2 and writes nothing;
//! - against Prometheus behind TLS and basic auth, no exported file holds the password
//!   (given by file or inside the URL), and the footer names the server without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use promdash_queries::model::parse_value;
use promdash_tests::connect::{Pki, TlsPrometheus, TlsSettings, promdash_binary};
use promdash_tests::{free_port, service_with_traffic};
use serde_json::Value;

const USER: &str = "alice";
const PASSWORD: &str = "pwEXPORTsecret-71c2d9";

const RATE: &str = "sum by (route, status) (rate(app_request_count_total[5s]))";

fn dashboard() -> String {
    format!(
        r#"title = "Snapshot test"
range = "2m"

[[panels]]
title = "Rate by route"
kind = "graph"
unit = "reqps"
query = '{RATE}'
legend = "{{{{route}}}} {{{{status}}}}"
thresholds = [ {{ value = 1000, color = "red" }} ]
legend_calcs = ["min", "max", "last"]

[[panels.overrides]]
regex = "unmatched.*"
negative_y = true
color = "purple"

[[panels]]
title = "Total"
kind = "stat"
query = "sum(app_request_count_total)"
width = 6

[[panels]]
title = "Broken"
kind = "graph"
query = "sum(rate(app_request_count_total[5s])"
width = 6
"#
    )
}

async fn promdash(args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(promdash_binary().expect("promdash binary"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args).kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("promdash ends within 2 minutes")
        .expect("promdash runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn listed(out: &Output) -> Vec<PathBuf> {
    text(&out.stdout).lines().map(PathBuf::from).collect()
}

/// promtool's range output: `{labels} =>` then `value @[t]` lines, per series.
fn promtool_range(out: &str) -> BTreeMap<String, Vec<(f64, String)>> {
    let mut series: BTreeMap<String, Vec<(f64, String)>> = BTreeMap::new();
    let mut current = String::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(labels) = line.strip_suffix(" =>") {
            current = labels.to_owned();
            series.entry(current.clone()).or_default();
        } else {
            let (v, t) = line
                .split_once(" @[")
                .unwrap_or_else(|| panic!("odd promtool line {line:?}"));
            let t: f64 = t.trim_end_matches(']').parse().expect("promtool time");
            series
                .entry(current.clone())
                .or_default()
                .push((t, v.to_owned()));
        }
    }
    series
}

/// The CSV as promtool names series: `name{a="1", b="2"}` (no quoting needed here: the
/// service's label values hold no comma or quote).
fn csv_series(csv: &str) -> BTreeMap<String, Vec<(f64, String)>> {
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let n = head.len();
    assert_eq!(&head[n - 2..], ["timestamp", "value"], "{csv}");
    let mut out: BTreeMap<String, Vec<(f64, String)>> = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), n, "{line}");
        let mut name = "";
        let mut labels = Vec::new();
        for (k, v) in head[..n - 2].iter().zip(&cells) {
            if *k == "__name__" {
                name = v;
            } else if !v.is_empty() {
                labels.push(format!("{k}=\"{v}\""));
            }
        }
        let key = format!("{name}{{{}}}", labels.join(", "));
        let t: f64 = cells[n - 2].parse().expect("timestamp");
        out.entry(key)
            .or_default()
            .push((t, cells[n - 1].to_owned()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_csv_equals_promtool_and_every_format_is_written() {
    // Eight scrapes of both routes: the rates have several points to draw.
    let (_service, prom) = service_with_traffic(10, 8)
        .await
        .expect("service, Prometheus");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("dash.toml");
    std::fs::write(&file, dashboard()).expect("write dashboard");
    let out_dir = dir.path().join("out");
    let at = (promdash::headless::time::now() - 2.0).floor();
    let at_s = format!("{at}");
    let url = prom.url();
    let base = [
        "snapshot",
        "--url",
        &url,
        "-d",
        file.to_str().expect("utf-8 path"),
        "--time",
        &at_s,
        "--out",
        out_dir.to_str().expect("utf-8 path"),
    ];

    // The range panel as CSV and JSON.
    let mut args = base.to_vec();
    args.extend(["--panel", "Rate by route", "--format", "csv,json"]);
    let out = promdash(&args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let paths = listed(&out);
    assert_eq!(paths.len(), 2, "{paths:?}");
    let stamp = promdash::export::utc_stamp(at);
    assert_eq!(
        paths[0].file_name().and_then(|n| n.to_str()),
        Some(format!("snapshot-test-rate-by-route-{stamp}.csv").as_str())
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&paths[1]).expect("json")).expect("JSON");
    let q = &json["panels"][0]["queries"][0];
    assert_eq!(q["expr"], RATE);
    let w = &q["window"];
    let (start, end, step) = (
        w["start"].as_f64().expect("start"),
        w["end"].as_f64().expect("end"),
        w["step"].as_f64().expect("step"),
    );
    assert!(end <= at && end > at - step - 1e-9, "{w} vs {at}");
    assert!((end - start - 120.0).abs() <= step, "the 2m range: {w}");
    let theirs = promtool_range(
        &promdash_tests::promtool::query_range(
            &url,
            RATE,
            &format!("{start}"),
            &format!("{end}"),
            &format!("{}ms", (step * 1000.0).round()),
        )
        .expect("promtool query range"),
    );
    let csv = std::fs::read_to_string(&paths[0]).expect("csv");
    let ours = csv_series(&csv);
    assert!(!theirs.is_empty(), "promtool returned nothing");
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "series\nours:\n{csv}"
    );
    for (series, want) in &theirs {
        let got = &ours[series];
        assert_eq!(got.len(), want.len(), "{series}: points");
        for ((tg, vg), (tw, vw)) in got.iter().zip(want) {
            assert_eq!(tg, tw, "{series}: timestamps");
            let (a, b) = (
                parse_value(vg).expect("ours parses"),
                parse_value(vw).expect("promtool's parses"),
            );
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{series} @{tg}: promdash {vg} vs promtool {vw}"
            );
        }
    }

    // The whole dashboard in every format: one picture, one CSV per panel; the broken
    // panel drawn with its error and named on stderr; exit 0.
    let mut args = base.to_vec();
    args.extend(["--format", "svg,png,csv,json,txt,ansi"]);
    let out = promdash(&args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("panel \"Broken\"") && text(&out.stderr).contains("parse error"),
        "{}",
        text(&out.stderr)
    );
    let paths = listed(&out);
    let names: Vec<String> = paths
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let want = [
        format!("snapshot-test-{stamp}.svg"),
        format!("snapshot-test-{stamp}.png"),
        format!("snapshot-test-rate-by-route-{stamp}-2.csv"),
        format!("snapshot-test-total-{stamp}.csv"),
        format!("snapshot-test-broken-{stamp}.csv"),
        format!("snapshot-test-{stamp}.json"),
        format!("snapshot-test-{stamp}.txt"),
        format!("snapshot-test-{stamp}.ans"),
    ];
    assert_eq!(names, want, "the first run's CSV is not overwritten");
    let svg = std::fs::read_to_string(&paths[0]).expect("svg");
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    let broken = doc
        .descendants()
        .find(|n| n.attribute("data-title") == Some("Broken"))
        .expect("the broken panel is drawn");
    let error: String = broken
        .descendants()
        .filter(|n| n.attribute("class") == Some("error"))
        .flat_map(|n| n.descendants().filter_map(|t| t.text()))
        .collect();
    assert!(error.contains("parse error"), "{error}");
    let lines: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("series"))
        .collect();
    assert!(lines.len() >= 2, "lines for the routes");
    // The graph's legend calculations as a table legend: a row per series of the CSV,
    // each with three values in the panel's unit.
    let table = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("legend-table"))
        .expect("a table legend");
    let cells = |node: roxmltree::Node<'_, '_>, class: &str| -> Vec<String> {
        node.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .map(|n| {
                n.descendants()
                    .filter(|t| t.is_text())
                    .filter_map(|t| t.text())
                    .collect()
            })
            .collect()
    };
    assert_eq!(cells(table, "legend-th"), ["Min", "Max", "Last"]);
    let rows: Vec<_> = table
        .descendants()
        .filter(|n| n.attribute("class") == Some("legend-row"))
        .collect();
    assert_eq!(rows.len(), ours.len(), "a row per series");
    for row in &rows {
        let values = cells(*row, "legend-value");
        assert_eq!(values.len(), 3, "{values:?}");
        assert!(values.iter().all(|v| v.ends_with("req/s")), "{values:?}");
    }
    // The unmatched (/nope) series: drawn below zero in the override's colour.
    let plot = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("plot"))
        .expect("a plot");
    let num = |n: &roxmltree::Node<'_, '_>, a: &str| -> f64 {
        n.attribute(a).and_then(|v| v.parse().ok()).expect(a)
    };
    let (py, ph, lo, hi) = (
        num(&plot, "data-y"),
        num(&plot, "data-h"),
        num(&plot, "data-lo"),
        num(&plot, "data-hi"),
    );
    let zero = py + hi / (hi - lo) * ph;
    let nope = lines
        .iter()
        .find(|n| {
            n.attribute("data-name")
                .is_some_and(|d| d.starts_with("unmatched"))
        })
        .unwrap_or_else(|| {
            panic!(
                "the unmatched line among {:?}",
                lines
                    .iter()
                    .map(|n| n.attribute("data-name"))
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(nope.attribute("stroke"), Some("#b8379b"));
    let ys: Vec<f64> = nope
        .attribute("d")
        .expect("d")
        .split(['M', 'L'])
        .filter_map(|p| p.split_whitespace().nth(1))
        .map(|y| y.parse().expect("y"))
        .collect();
    assert!(lo < 0.0, "the axis reaches below zero: {lo}");
    assert!(
        ys.iter().all(|y| *y >= zero - 0.01) && ys.iter().any(|y| *y > zero + 1.0),
        "below zero ({zero}): {ys:?}"
    );
    let png = std::fs::read(&paths[1]).expect("png");
    assert_eq!(&png[1..4], b"PNG");
    let txt = std::fs::read_to_string(&paths[6]).expect("txt");
    assert!(txt.contains("Rate by route") && txt.contains(&url), "{txt}");
    assert!(
        std::fs::read_to_string(&paths[7])
            .expect("ansi")
            .contains("\u{1b}[")
    );

    // --out - : the one file on standard output.
    let mut args = base[..7].to_vec();
    args.extend(["--out", "-", "--panel", "Total", "--format", "csv"]);
    let out = promdash(&args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("timestamp,value\n"),
        "{}",
        text(&out.stdout)
    );

    // A server that is not there: exit 2, nothing written.
    let closed = format!("http://127.0.0.1:{}", free_port().expect("port"));
    let empty = dir.path().join("empty");
    let out = promdash(&[
        "snapshot",
        "--url",
        &closed,
        "--format",
        "png",
        "--out",
        empty.to_str().expect("utf-8"),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot query"),
        "{}",
        text(&out.stderr)
    );
    assert!(!empty.exists() || std::fs::read_dir(&empty).expect("dir").next().is_none());
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let p = e.expect("entry").path();
            let b = std::fs::read(&p).expect("read");
            (p, b)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_exported_file() {
    let pki = Pki::generate().expect("pki");
    let prom = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: false,
        basic_auth: Some((USER, PASSWORD)),
    })
    .await
    .expect("prometheus with basic auth");
    let dir = tempfile::tempdir().expect("temp dir");
    let pw = dir.path().join("password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).expect("write");
    let file = dir.path().join("dash.toml");
    std::fs::write(
        &file,
        "title = \"Secret test\"\n[[panels]]\ntitle = \"One\"\nkind = \"graph\"\nquery = \"vector(1)\"\n\
         [[panels]]\ntitle = \"Two\"\nkind = \"stat\"\nquery = \"vector(2)\"\n",
    )
    .expect("write");
    let ca = pki.path("ca.pem");
    let url = prom.url();
    let with_password = url.replacen("https://", &format!("https://{USER}:{PASSWORD}@"), 1);
    let out_dir = dir.path().join("out");
    for (k, target) in [url.as_str(), with_password.as_str()]
        .into_iter()
        .enumerate()
    {
        let mut args = vec![
            "snapshot",
            "--url",
            target,
            "--ca-cert",
            ca.to_str().expect("utf-8"),
            "-d",
            file.to_str().expect("utf-8"),
            "--format",
            "svg,png,csv,json,txt,ansi",
            "--out",
            out_dir.to_str().expect("utf-8"),
        ];
        if k == 0 {
            args.extend([
                "--basic-auth-user",
                USER,
                "--basic-auth-password-file",
                pw.to_str().expect("utf-8"),
            ]);
        }
        let out = promdash(&args).await;
        assert!(
            out.status.success(),
            "{}\n{}",
            text(&out.stderr),
            prom.log()
        );
        for stream in [&out.stdout, &out.stderr] {
            assert!(!text(stream).contains(PASSWORD));
        }
    }
    let all = files(&out_dir);
    assert_eq!(
        all.len(),
        2 * 7,
        "{:?}",
        all.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let secret = PASSWORD.as_bytes();
    for (path, bytes) in &all {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{} holds the password",
            path.display()
        );
        if path
            .extension()
            .is_some_and(|e| e == "svg" || e == "json" || e == "txt")
        {
            let t = String::from_utf8_lossy(bytes);
            let host = format!("127.0.0.1:{}", prom.port());
            assert!(t.contains(&host), "{}: names the server", path.display());
            assert!(!t.contains(&format!("{USER}:")), "{}", path.display());
        }
    }
    // The data came through: the graph's value and the stat.
    let svg = all
        .iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "svg"))
        .expect("an svg");
    assert!(String::from_utf8_lossy(&svg.1).contains(">2</text>"));
}
