//! The headless commands through the real `promdash` binary: arguments, exit statuses,
//! stdout and stderr.
//!
//! The binary is built with `cargo build -p promdash` into this test's target directory
//! and profile (`CARGO_BIN_EXE_promdash` only exists inside the tui crate's own tests);
//! cargo is a no-op when it is up to date. `PROMDASH_BIN` names a binary to use instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use promdash_tests::Prometheus;

/// The `promdash` binary (built once per test process by the harness).
fn promdash_binary() -> PathBuf {
    promdash_tests::connect::promdash_binary().unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs `promdash args...` with no `PROMDASH_*` variables from the environment.
fn promdash(args: &[&str]) -> Output {
    promdash_env(args, &[])
}

/// Runs `promdash args...` with only these `PROMDASH_*` variables.
fn promdash_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(promdash_binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.args(args).output().expect("run promdash")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

#[test]
fn prints_the_default_dashboard_and_completions() {
    let out = promdash(&["print-default-dashboard"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let builtin = std::fs::read_to_string(repo("dashboards/service.toml")).expect("dashboard");
    assert_eq!(text(&out.stdout), builtin);

    for shell in ["bash", "zsh", "fish"] {
        let out = promdash(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for word in ["promdash", "query", "check", "validate", "output"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = promdash(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
}

#[test]
fn validate_reports_line_and_column_and_exits_2() {
    let file = repo("tests/fixtures/dashboards/unknown_kind.toml");
    let out = promdash(&["validate", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("{file}:6:8: unknown panel kind \"pie\"")),
        "{err}"
    );
    let out = promdash(&["validate", &repo("dashboards/service.toml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(": ok (8 panels, 2 alerts, 0 variables)"));
}

#[tokio::test]
async fn query_check_and_validate_against_prometheus() {
    let prom = Prometheus::start(&[] as &[&str]).await.expect("prometheus");
    let url = prom.url();

    // query: CSV with a header, the value exactly as promtool prints it.
    let out = promdash(&[
        "query",
        "vector(0.1 + 0.2)",
        "--url",
        &url,
        "--time",
        "2026-01-01T00:00:00Z",
        "--output",
        "csv",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "timestamp,value\n1767225600,0.30000000000000004\n"
    );

    // The dashboard's PROMDASH_RANGE does not turn a query into a range query, and
    // PROMDASH_URL is a connection setting like --url.
    let out = promdash_env(
        &["query", "vector(2)"],
        &[("PROMDASH_RANGE", "1h"), ("PROMDASH_URL", &url)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "value\n2\n");

    // The connection options may also come before the subcommand.
    let out = promdash(&["--url", &url, "query", "vector(1/0)", "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["result"][0]["value"][1], "+Inf");

    // A range query in table mode gets a sparkline.
    let out = promdash(&[
        "query",
        "vector(time())",
        "--url",
        &url,
        "--range",
        "1m",
        "--step",
        "10s",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("▁▂▃▅▆▇█") || table.contains('█'), "{table}");

    // A syntax error: Prometheus's message, exit 2.
    let out = promdash(&["query", "sum(up", "--url", &url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("parse error"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    // check: 1 with an alert that always fires, 0 with the built-in dashboard (no
    // service here, so no data: nothing fires).
    let dir = tempfile::tempdir().expect("temp dir");
    let always = dir.path().join("always.toml");
    std::fs::write(
        &always,
        "[[alerts]]\nname = \"Always\"\nexpr = \"vector(1)\"\nsummary = \"it is {{ $value }}\"\n",
    )
    .expect("write");
    let out = promdash(&["check", "--url", &url, "-d", &always.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("FIRING   Always  value=1  severity=warning  it is 1"),
        "{}",
        text(&out.stdout)
    );
    let out = promdash(&["check", "--url", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The server named by the dashboard file's [connection] table.
    let connected = dir.path().join("connected.toml");
    std::fs::write(
        &connected,
        format!(
            "[connection]\nurl = \"{url}\"\n\n[[alerts]]\nname = \"Always\"\nexpr = \"vector(1)\"\n"
        ),
    )
    .expect("write");
    let out = promdash(&["check", "-d", &connected.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    // check -o json: one document, the same exit status.
    let out = promdash(&[
        "check",
        "--url",
        &url,
        "-d",
        &always.display().to_string(),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["firing"], 1);
    assert_eq!(json["rules"][0]["rule"], "Always");
    assert_eq!(json["rules"][0]["state"], "firing");
    assert_eq!(json["rules"][0]["instances"][0]["summary"], "it is 1");

    // query -d: the server named by the file's [connection], as check does.
    let out = promdash(&["query", "vector(7)", "-d", &connected.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "value\n7\n");

    // The command line beats the environment wherever it is written: PROMDASH_URL names
    // a closed port, --url (before or after the subcommand) the live server.
    let closed = "http://127.0.0.1:9";
    for args in [
        ["--url", url.as_str(), "query", "vector(3)"],
        ["query", "vector(3)", "--url", url.as_str()],
    ] {
        let out = promdash_env(&args, &[("PROMDASH_URL", closed)]);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "value\n3\n");
    }
    let out = promdash_env(&["query", "vector(3)"], &[("PROMDASH_URL", closed)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the environment alone names the closed port"
    );

    // validate --url: every query of the built-in dashboard is accepted.
    let out = promdash(&["validate", &repo("dashboards/service.toml"), "--url", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Prometheus gone: check and query exit 2 and say why.
    drop(prom);
    let out = promdash(&["check", "--url", &url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("connection refused"),
        "{}",
        text(&out.stderr)
    );
    let out = promdash(&["query", "up", "--url", &url]);
    assert_eq!(out.status.code(), Some(2));
}
