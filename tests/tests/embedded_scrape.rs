//! `promdash --scrape` end to end: the real binary in tmux scraping the real
//! promdash-service binary with the embedded engine, no Prometheus anywhere.
//!
//! After a bounded number of requests the dashboard shows exactly that total; the targets
//! view (`t`) lists the service UP; killing the service turns it DOWN with the error;
//! restarting it on the same port brings it back UP; `w` saves what was scraped to a file
//! that `promdash query --data` reads back with the same total.
//!
//! A dashboard's `[[scrape]]` tables do the same without `--scrape`.
//!
//! Needs `tmux` (Debian: apt-get install tmux); a missing one fails the test with that
//! message.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use promdash_tests::connect::promdash_binary;
use promdash_tests::tmux::{Tmux, table_value};
use promdash_tests::{ServiceBinary, send_requests};

const REQUESTS: usize = 25;

/// Waits until the "Total requests" panel shows the [`REQUESTS`] sent, on the embedded
/// engine.
async fn wait_for_embedded_total(tmux: &Tmux) -> anyhow::Result<()> {
    let screen = tmux
        .wait_for("the request total", Duration::from_secs(30), |s| {
            table_value(s, "Total requests") == Some(REQUESTS as f64)
        })
        .await?;
    anyhow::ensure!(screen.contains("EMBEDDED"), "not embedded:\n{screen}");
    Ok(())
}

/// Runs `promdash --dashboard DASHBOARD` (with `PROMDASH_CONFIG=CONFIG` when given),
/// checks that it exits 2 before the terminal, and returns its stderr.
fn refused_dashboard(dashboard: &Path, config: Option<&Path>) -> anyhow::Result<String> {
    let mut cmd = Command::new(promdash_binary()?);
    cmd.arg("--dashboard").arg(dashboard);
    if let Some(config) = config {
        cmd.env("PROMDASH_CONFIG", config);
    }
    let out = cmd.output()?;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{}: {err}", dashboard.display());
    Ok(err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_shows_the_total_and_follows_the_target_down_and_up() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut service = ServiceBinary::start(&[]).await?;
    let addr = service.addr();
    send_requests(&service.url(), REQUESTS).await?;
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        "title = \"Scraped\"\nrefresh = \"1s\"\n\
         [[panels]]\ntitle = \"Total requests\"\nkind = \"table\"\n\
         query = \"sum(app_request_count_total)\"\nwidth = 12\n",
    )?;
    let saves = dir.path().join("saves");
    std::fs::create_dir(&saves)?;
    let tmux = Tmux::start_promdash(
        "scrape",
        dir.path(),
        &[
            &"--scrape",
            &addr.to_string(),
            &"--scrape-interval",
            &"1s",
            &"--dashboard",
            &dashboard,
            &"--export-dir",
            &saves,
        ],
    )?;
    let limit = Duration::from_secs(30);
    wait_for_embedded_total(&tmux).await?;
    tmux.wait_for("1/1 targets up", limit, |s| s.contains("1/1 targets up"))
        .await?;

    // The targets view: the service UP, with its labels.
    let url = format!("http://{addr}/metrics");
    tmux.keys(&["t"])?;
    let s = tmux
        .wait_for("the target UP", limit, |s| {
            s.contains(&format!("UP      {url}"))
        })
        .await?;
    assert!(
        s.contains(&format!(r#"{{instance="{addr}", job="promdash"}}"#)),
        "{s}"
    );
    // Killed: DOWN with the reason.
    service.stop().await?;
    let s = tmux
        .wait_for("the target DOWN with an error", limit, |s| {
            s.contains(&format!("DOWN    {url}")) && s.contains("error: ")
        })
        .await?;
    assert!(s.contains("0/1 targets up"), "{s}");
    // Back on the same port: UP again.
    let _service = ServiceBinary::start(&["--listen", &addr.to_string()]).await?;
    tmux.wait_for("the target UP again", limit, |s| {
        s.contains(&format!("UP      {url}")) && s.contains("1/1 targets up")
    })
    .await?;
    tmux.keys(&["t"])?;

    // `w` saves the store; the file reads back with the same total.
    tmux.keys(&["w"])?;
    let s = tmux
        .wait_for("saved", limit, |s| s.contains("saved "))
        .await?;
    let saved = std::fs::read_dir(&saves)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "om"))
        .with_context(|| format!("no .om file in {}; screen:\n{s}", saves.display()))?;
    let out = Command::new(promdash_binary()?)
        .args(["query", "--data"])
        .arg(&saved)
        .arg("max(max_over_time(app_request_count_total[1h]))")
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().map(str::trim).collect::<Vec<_>>(),
        ["value", &REQUESTS.to_string()],
        "{text}"
    );
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", limit, |s| !s.contains("EMBEDDED"))
        .await?;
    Ok(())
}

/// A dashboard's `[[scrape]]` table is enough: no `--scrape`, no server. Its job name and
/// labels are on every sample (the panel selects by them) and in the targets view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_tables_in_the_dashboard_run_it_on_the_embedded_engine() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let service = ServiceBinary::start(&[]).await?;
    let addr = service.addr();
    send_requests(&service.url(), REQUESTS).await?;
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        format!(
            "title = \"Scraped\"\nrefresh = \"1s\"\n\
             [[panels]]\ntitle = \"Total requests\"\nkind = \"table\"\n\
             query = 'sum(app_request_count_total{{job=\"svc\", team=\"checkout\"}})'\nwidth = 12\n\
             [[scrape]]\njob = \"svc\"\ntargets = [\"{addr}\"]\ninterval = \"1s\"\n\
             labels = {{ team = \"checkout\" }}\n"
        ),
    )?;
    let tmux = Tmux::start_promdash("scrape-table", dir.path(), &[&"--dashboard", &dashboard])?;
    let limit = Duration::from_secs(30);
    wait_for_embedded_total(&tmux).await?;
    tmux.keys(&["t"])?;
    let url = format!("http://{addr}/metrics");
    let s = tmux
        .wait_for("the target UP", limit, |s| {
            s.contains(&format!("UP      {url}"))
        })
        .await?;
    assert!(
        s.contains(&format!(
            r#"{{instance="{addr}", job="svc", team="checkout"}}"#
        )),
        "{s}"
    );
    assert!(s.contains("every 1s"), "{s}");
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", limit, |s| !s.contains("EMBEDDED"))
        .await?;
    Ok(())
}

/// Broken `[[scrape]]` tables stop promdash before the terminal: the file's own checks
/// with file:line:col, a target the scraper cannot use naming its job.
#[test]
fn bad_scrape_tables_are_exit_2_before_the_terminal() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    for (name, text, says) in [
        (
            "twice.toml",
            "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\n[[scrape]]\njob = \"a\"\ntargets = [\"h:2\"]\n",
            "twice.toml:5:7: scrape job \"a\" is defined twice",
        ),
        (
            "timeout.toml",
            "[[scrape]]\njob = \"a\"\ntargets = [\"h:1\"]\ninterval = \"1s\"\ntimeout = \"2s\"\n",
            "timeout.toml:5:11: scrape timeout is longer than the interval",
        ),
        (
            "ftp.toml",
            "[[scrape]]\njob = \"files\"\ntargets = [\"ftp://h:1/x\"]\n",
            "[[scrape]] job \"files\"",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text)?;
        let err = refused_dashboard(&path, None)?;
        assert!(err.contains(says), "{name}: {err}");
    }
    Ok(())
}

#[test]
fn bad_scrape_settings_are_exit_2_before_the_terminal() -> anyhow::Result<()> {
    for (args, says) in [
        (&["--scrape", "ftp://h:1/x"][..], "--scrape"),
        (&["--scrape", "127.0.0.1:1", "--retention", "48h"], "24h"),
        (
            &["--scrape", "127.0.0.1:1", "--scrape-interval", "soon"],
            "--scrape-interval",
        ),
        (&["--scrape", "127.0.0.1:1", "--data", "x.om"], "--data"),
    ] {
        let out = Command::new(promdash_binary()?).args(args).output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    Ok(())
}

/// `[[scrape]]` tables in the user's settings file (`config.toml`, placed by
/// `PROMDASH_CONFIG`) with the auth and TLS settings of `[connection]`: a real
/// Prometheus serving its own `/metrics` over HTTPS with client certificates and basic
/// auth (`--web.config.file`) is scraped UP with the right CA, client pair and password,
/// and DOWN with the server's 401 with a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_tables_in_the_settings_file_with_tls_and_basic_auth() -> anyhow::Result<()> {
    use promdash_tests::connect::tls::{Pki, TlsPrometheus, TlsSettings};
    let dir = tempfile::tempdir()?;
    let pki = Pki::generate()?;
    let prom = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: true,
        basic_auth: Some(("scraper", "s3cret-pass")),
    })
    .await?;
    std::fs::write(dir.path().join("good-pw"), "s3cret-pass\n")?;
    std::fs::write(dir.path().join("bad-pw"), "wrong-pass\n")?;
    let target = format!("{}/metrics", prom.url());
    let tls = format!(
        "ca_cert = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\n",
        pki.path("ca.pem").display(),
        pki.path("client.pem").display(),
        pki.path("client-key.pem").display()
    );
    // Password files relative to the settings file.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[scrape]]\njob = \"secure\"\ntargets = [\"{target}\"]\ninterval = \"1s\"\n\
             basic_auth_user = \"scraper\"\nbasic_auth_password_file = \"good-pw\"\n{tls}\
             [[scrape]]\njob = \"wrong\"\ntargets = [\"{target}\"]\ninterval = \"1s\"\n\
             basic_auth_user = \"scraper\"\nbasic_auth_password_file = \"bad-pw\"\n{tls}"
        ),
    )?;
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        "title = \"Protected\"\nrefresh = \"1s\"\n\
         [[panels]]\ntitle = \"Total requests\"\nkind = \"table\"\n\
         query = 'count(prometheus_build_info{job=\"secure\"})'\nwidth = 12\n",
    )?;
    let args = [
        "--dashboard".to_owned(),
        dashboard.display().to_string(),
        "--log-file".to_owned(),
        dir.path().join("promdash.log").display().to_string(),
    ];
    let config_env = config.display().to_string();
    let tmux = Tmux::start(
        "scrape-tls",
        (160, 40),
        &promdash_binary()?,
        &args,
        &[("PROMDASH_CONFIG", config_env.as_str())],
    )?;
    let limit = Duration::from_secs(30);
    let screen = tmux
        .wait_for("a sample scraped over TLS with basic auth", limit, |s| {
            table_value(s, "Total requests") == Some(1.0)
        })
        .await
        .with_context(|| format!("Prometheus log:\n{}", prom.log()))?;
    assert!(screen.contains("EMBEDDED"), "{screen}");
    tmux.keys(&["t"])?;
    let s = tmux
        .wait_for("one target UP, the other DOWN with 401", limit, |s| {
            s.contains(&format!("UP      {target}"))
                && s.contains(&format!("DOWN    {target}"))
                && s.contains("401")
        })
        .await?;
    assert!(s.contains("job=\"secure\""), "{s}");
    assert!(s.contains("job=\"wrong\""), "{s}");
    assert!(
        !s.contains("s3cret-pass") && !s.contains("wrong-pass"),
        "{s}"
    );
    tmux.keys(&["t"])?;
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", limit, |s| !s.contains("EMBEDDED"))
        .await?;
    Ok(())
}

/// With `--url`, a dashboard's `[[scrape]]` tables are not scraped: the dashboard shows
/// that server, and says so in the status bar (and on stderr).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_tables_are_ignored_with_url_and_the_status_bar_says_so() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let prom = promdash_tests::Prometheus::start::<&str>(&[]).await?;
    let dashboard = dir.path().join("tables.toml");
    std::fs::write(
        &dashboard,
        "title = \"Tables\"\nrefresh = \"1s\"\n\
         [[panels]]\ntitle = \"Total requests\"\nkind = \"table\"\nquery = \"vector(7)\"\nwidth = 12\n\
         [[scrape]]\njob = \"svc\"\ntargets = [\"127.0.0.1:1\"]\n",
    )?;
    let args = [
        "--url".to_owned(),
        prom.url(),
        "--dashboard".to_owned(),
        dashboard.display().to_string(),
        "--log-file".to_owned(),
        dir.path().join("promdash.log").display().to_string(),
    ];
    let tmux = Tmux::start("scrape-url", (240, 30), &promdash_binary()?, &args, &[])?;
    let limit = Duration::from_secs(30);
    let s = tmux
        .wait_for("the server's answer and the note", limit, |s| {
            table_value(s, "Total requests") == Some(7.0) && s.contains("[[scrape]] tables of")
        })
        .await?;
    assert!(!s.contains("EMBEDDED"), "{s}");
    assert!(s.contains("are ignored"), "{s}");
    tmux.keys(&["q"])?;
    tmux.wait_for("exit", limit, |s| !s.contains("Tables"))
        .await?;
    Ok(())
}

/// A dashboard's `[[scrape]]` table may name secret or certificate files only with
/// `--allow-dashboard-secrets` (as its `[connection]`); a job defined both in the
/// dashboard and in the settings file is an error naming both; both exit 2 before the
/// terminal.
#[test]
fn scrape_table_secrets_and_clashes_are_exit_2_before_the_terminal() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("token");
    std::fs::write(&secret, "t0ken")?;
    let dashboard = dir.path().join("secret.toml");
    std::fs::write(
        &dashboard,
        format!(
            "[[scrape]]\njob = \"a\"\ntargets = [\"127.0.0.1:1\"]\nbearer_token_file = \"{}\"\n",
            secret.display()
        ),
    )?;
    let err = refused_dashboard(&dashboard, Some(&dir.path().join("none.toml")))?;
    assert!(err.contains("--allow-dashboard-secrets"), "{err}");
    assert!(err.contains("bearer_token_file"), "{err}");
    assert!(!err.contains("t0ken"), "{err}");

    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[[scrape]]\njob = \"a\"\ntargets = [\"127.0.0.1:2\"]\n",
    )?;
    let plain = dir.path().join("plain.toml");
    std::fs::write(
        &plain,
        "[[scrape]]\njob = \"a\"\ntargets = [\"127.0.0.1:1\"]\n",
    )?;
    let err = refused_dashboard(&plain, Some(&config))?;
    assert!(err.contains("job \"a\" is also defined in"), "{err}");
    assert!(
        err.contains("plain.toml") && err.contains("config.toml"),
        "{err}"
    );
    Ok(())
}
