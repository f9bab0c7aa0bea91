//! `promdash validate`: every broken example dashboard is reported at the right
//! line:col, and with a server each query the server rejects is named.

use std::path::{Path, PathBuf};

use promdash::headless::{ConnectionArgs, Outcome, ValidateArgs, run_validate};
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::Prometheus;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dashboards")
}

fn args(file: &Path) -> ValidateArgs {
    ValidateArgs {
        file: file.to_owned(),
        connection: ConnectionArgs::default(),
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
    assert!(files.len() >= 7, "fixtures missing: {files:?}");
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
        assert!(out.is_empty(), "nothing on stdout: {out}");
        let lines: Vec<&str> = err.lines().collect();
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
    assert!(out.contains("ok (8 panels, 2 alerts)"), "{out}");
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
title = "Bad rate"
query = "rate(up)"

[[alerts]]
name = "Unbalanced"
expr = "sum(up"
"#,
    )
    .expect("write");
    let (outcome, out, err) = validate(&file, Some(&client)).await;
    assert_eq!(outcome, Outcome::Failed, "{out}{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].contains("panel \"Bad rate\""), "{err}");
    assert!(lines[0].contains("bad_data"), "{err}");
    assert!(lines[0].contains("expected type range vector"), "{err}");
    assert!(lines[1].contains("alert \"Unbalanced\""), "{err}");
    assert!(lines[1].contains("parse error"), "{err}");
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
