//! The user's settings file (`config.toml`, placed by `PROMDASH_CONFIG` here) through the
//! real `promdash` binary: its `[connection]` table is the last fallback — the command
//! line beats the environment, which beats the dashboard's `[connection]`, which beats
//! the settings file — and a broken one is refused with file:line:col by the headless
//! commands and the dashboard alike, before any terminal is touched.
//!
//! Two servers tell the layers apart: a real Prometheus, and the fault proxy in front of
//! it answering every request with an HTML 502.

use std::net::SocketAddr;
use std::process::Output;

use promdash_tests::Prometheus;
use promdash_tests::connect::{FaultMode, FaultProxy, promdash_binary};

/// Runs `promdash args…` with only the given `PROMDASH_*` variables.
async fn promdash(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut cmd = tokio::process::Command::new(promdash_binary()?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    Ok(tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output()).await??)
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Answered by Prometheus (exit 0).
fn answered(o: &Output) -> bool {
    o.status.success()
}

/// Refused by the 502 proxy (exit 2 quoting the status).
fn bad_gateway(o: &Output) -> bool {
    o.status.code() == Some(2) && String::from_utf8_lossy(&o.stderr).contains("502")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_file_is_the_last_fallback() -> anyhow::Result<()> {
    let prom = Prometheus::start::<SocketAddr>(&[]).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    proxy.set_mode(FaultMode::Html502);
    let good = prom.url();
    let bad = proxy.url();

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[connection]\nurl = \"{good}\"\n"))?;
    let config = config.display().to_string();
    let dashboard = dir.path().join("dash.toml");
    std::fs::write(
        &dashboard,
        format!(
            "title = \"t\"\n[[alerts]]\nname = \"Never\"\nexpr = \"vector(0) > 1\"\n\
             [connection]\nurl = \"{bad}\"\n"
        ),
    )?;
    let dashboard = dashboard.display().to_string();
    let with_config = [("PROMDASH_CONFIG", config.as_str())];
    let query = ["query", "vector(1) * 7", "-o", "csv"];

    // The settings file alone names the server.
    let out = promdash(&query, &with_config).await?;
    assert!(answered(&out), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains('7'));

    // The environment beats it, and the command line beats the environment.
    let env = [
        ("PROMDASH_CONFIG", config.as_str()),
        ("PROMDASH_URL", bad.as_str()),
    ];
    let out = promdash(&query, &env).await?;
    assert!(bad_gateway(&out), "{}", text(&out));
    let mut args = query.to_vec();
    args.extend(["--url", &good]);
    let out = promdash(&args, &env).await?;
    assert!(answered(&out), "{}", text(&out));

    // The dashboard's [connection] beats the settings file; the command line beats both.
    let check = ["check", "--dashboard", dashboard.as_str()];
    let out = promdash(&check, &with_config).await?;
    assert!(bad_gateway(&out), "{}", text(&out));
    let mut args = check.to_vec();
    args.extend(["--url", &good]);
    let out = promdash(&args, &with_config).await?;
    assert!(answered(&out), "{}", text(&out));

    // No settings file at all is fine.
    let missing = dir.path().join("none.toml").display().to_string();
    let mut args = query.to_vec();
    args.extend(["--url", &good]);
    let out = promdash(&args, &[("PROMDASH_CONFIG", missing.as_str())]).await?;
    assert!(answered(&out), "{}", text(&out));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_settings_file_is_refused_with_line_and_column() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[connection]\nurl = \"not a url\"\n")?;
    let config = config.display().to_string();
    let env = [("PROMDASH_CONFIG", config.as_str())];
    let expected = format!("{config}:2:7:");
    for args in [
        vec!["query", "up", "--url", "http://127.0.0.1:9"],
        vec!["check"],
        vec!["--url", "http://127.0.0.1:9"],
        vec![],
    ] {
        let out = promdash(&args, &env).await?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&expected) && stderr.contains("http(s) URL"),
            "{args:?}: {}",
            text(&out)
        );
    }
    Ok(())
}
