//! `promdash validate`: every broken example dashboard is reported at the right
//! line:col, and with a server each query the server rejects is named.

use std::path::{Path, PathBuf};

use promdash::headless::{Outcome, Report, ValidateArgs, run_validate};
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::Prometheus;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dashboards")
}

fn args(file: &Path) -> ValidateArgs {
    ValidateArgs {
        files: vec![file.to_owned()],
        rules: Vec::new(),
        output: Report::Text,
    }
}

async fn validate(file: &Path, client: Option<&PromClient>) -> (Outcome, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run_validate(client, &args(file), &mut out, &mut err)
        .await
        .expect("output goes to Vecs");
    (
        outcome,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}

/// `# expect: LINE:COL: text` lines at the top of a fixture.
fn expectations(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|e| {
            let mut parts = e.splitn(3, ':');
            let (line, col) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let text = parts.next().unwrap_or("").trim();
            (format!("{line}:{col}"), text.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn every_broken_example_is_reported_at_its_line_and_column() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "fixtures missing: {files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).expect("fixture");
        let want = expectations(&text);
        assert!(
            !want.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let (outcome, out, err) = validate(file, None).await;
        assert_eq!(outcome, Outcome::Failed, "{}: {out}{err}", file.display());
        assert_eq!(outcome.code(), 2);
        // Without a server, stdout only says the queries were not run.
        assert_eq!(
            out,
            "The queries were not run against a server (give --url to run each once).\n"
        );
        let mut lines: Vec<&str> = err.lines().collect();
        let last = lines.pop().unwrap_or_default();
        assert_eq!(
            last,
            format!(
                "{}: {} problem{}",
                file.display(),
                want.len(),
                if want.len() == 1 { "" } else { "s" }
            ),
            "{err}"
        );
        assert_eq!(lines.len(), want.len(), "{}:\n{err}", file.display());
        for (line, (pos, text)) in lines.iter().zip(&want) {
            let prefix = format!("{}:{pos}: ", file.display());
            assert!(line.starts_with(&prefix), "want {prefix}..., got: {line}");
            assert!(line.contains(text.as_str()), "want {text:?} in: {line}");
        }
    }
}

#[tokio::test]
async fn the_built_in_dashboard_is_valid() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards/service.toml");
    let (outcome, out, err) = validate(&file, None).await;
    assert_eq!(outcome, Outcome::Ok, "{err}");
    assert!(
        out.contains("ok (8 panels, 2 alerts, 0 variables)"),
        "{out}"
    );
    assert!(out.contains("not run against a server"), "{out}");
}

#[tokio::test]
async fn several_files_at_once_and_json() {
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards/service.toml");
    let bad = fixtures().join("offline_checks.toml");
    let args = ValidateArgs {
        files: vec![good.clone(), bad.clone()],
        rules: Vec::new(),
        output: Report::Json,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run_validate(None, &args, &mut out, &mut err)
        .await
        .expect("runs");
    assert_eq!(outcome, Outcome::Failed);
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
    let json: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    assert_eq!(json["valid"], false);
    assert_eq!(json["queries_run"], false);
    assert_eq!(json["files"][0]["valid"], true);
    assert_eq!(json["files"][0]["panels"], 8);
    assert_eq!(json["files"][1]["valid"], false);
    let first = &json["files"][1]["problems"][0];
    assert_eq!(
        (first["line"].clone(), first["col"].clone()),
        (17.into(), 13.into())
    );
    assert_eq!(
        json["files"][1]["problems"].as_array().map(Vec::len),
        Some(7)
    );
}

#[tokio::test]
async fn queries_the_server_rejects_are_named_with_the_servers_message() {
    let prom = Prometheus::start(&[] as &[&str]).await.expect("prometheus");
    let client = PromClient::new(ClientConfig::new(prom.url())).expect("client");

    // The built-in dashboard: every query accepted.
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards/service.toml");
    let (outcome, out, err) = validate(&builtin, Some(&client)).await;
    assert_eq!(outcome, Outcome::Ok, "{err}");
    assert!(out.contains("12 queries accepted by"), "{out}");
    assert!(!out.contains("not run against a server"), "{out}");

    // A valid file whose queries are not valid PromQL.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rejected.toml");
    std::fs::write(
        &file,
        r#"title = "Rejected"

[[panels]]
title = "Fine"
query = "sum(up)"

[[panels]]
title = "Newer function"
query = "mad_over_time(up[5m])"

[[alerts]]
name = "Also newer"
expr = "double_exponential_smoothing(up[5m], 0.5, 0.5)"
"#,
    )
    .expect("write");
    let (outcome, out, err) = validate(&file, Some(&client)).await;
    assert_eq!(outcome, Outcome::Failed, "{out}{err}");
    // Valid PromQL offline (promql-parser knows Prometheus 3's functions), rejected by
    // Prometheus 2.42: each named at the line:col of its expression.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    let at = |pos: &str| format!("{}:{pos}: ", file.display());
    assert!(lines[0].starts_with(&at("9:10")), "{err}");
    assert!(lines[0].contains("panel \"Newer function\""), "{err}");
    assert!(lines[0].contains("bad_data"), "{err}");
    assert!(lines[0].contains("unknown function"), "{err}");
    assert!(lines[1].starts_with(&at("13:9")), "{err}");
    assert!(lines[1].contains("alert \"Also newer\""), "{err}");
    assert!(lines[2].contains("2 of 3 queries rejected"), "{err}");
    assert!(!err.contains("\"Fine\""), "{err}");

    // The server gone: a clear error, still exit 2.
    let url = prom.url();
    drop(prom);
    let client = PromClient::new(ClientConfig::new(url)).expect("client");
    let (outcome, _, err) = validate(&builtin, Some(&client)).await;
    assert_eq!(outcome, Outcome::Failed);
    assert!(
        err.contains("could not be run") && err.contains("connection refused"),
        "{err}"
    );
}
