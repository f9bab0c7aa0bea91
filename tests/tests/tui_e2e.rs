//! promdash end to end: the real binary in tmux (120×40) against a real Prometheus
//! scraping promdash-service under load.
//!
//! Needs `tmux` and `prometheus` (Debian: apt-get install tmux prometheus); a missing one
//! fails the test with that message. Each tmux server runs on its own socket and is
//! killed when the test ends.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use promdash_tests::connect::promdash_binary;
use promdash_tests::tmux::{Tmux, shell_quote};
use promdash_tests::{Faults, Prometheus, ServiceConfig, start_service};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const RPS: f64 = 50.0;

/// `program args…` in a 120×40 tmux (the harness's [`Tmux`]), through `sh` so that its
/// exit status is written to `dir/exit-status` and the pane stays open afterwards for the
/// screen to be checked. The status file is returned with the session.
fn start_recorded(
    name: &str,
    dir: &Path,
    program: &Path,
    args: &[String],
) -> anyhow::Result<(Tmux, PathBuf)> {
    let status_file = dir.join("exit-status");
    let mut line = shell_quote(&program.display().to_string());
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let script = format!(
        "{line}; echo $? > {}; sleep 600",
        shell_quote(&status_file.display().to_string())
    );
    let tmux = Tmux::start(
        name,
        (WIDTH, HEIGHT),
        Path::new("sh"),
        &["-c".to_owned(), script],
        &[],
    )?;
    Ok((tmux, status_file))
}

/// The exit status `start_recorded` wrote, once the program has ended.
fn exit_status(status_file: &Path) -> Option<i32> {
    std::fs::read_to_string(status_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// A number with an optional K/M suffix at the start of `s` ("3.05K" → 3050).
fn parse_short(s: &str) -> Option<f64> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    Some(match s[end..].chars().next() {
        Some('K') => n * 1e3,
        Some('M') => n * 1e6,
        _ => n,
    })
}

/// The value shown in the "Total" table panel (a single row: right-aligned value).
fn shown_total(screen: &str) -> Option<f64> {
    let mut lines = screen.lines().skip_while(|l| !l.contains("Total requests"));
    lines.next()?;
    // Header row ("value"), then the value row.
    let header = lines.next()?;
    if !header.contains("value") {
        return None;
    }
    let row = lines.next()?;
    let cell = row.split(['│', '┃']).nth(1)?.trim();
    parse_short(cell)
}

/// The p95 value from the latency graph's legend ("● p95 23.4ms"), in seconds.
fn shown_p95(screen: &str) -> Option<f64> {
    let at = screen.find("● p95 ")?;
    let rest = &screen[at + "● p95 ".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let n: f64 = rest[..end].parse().ok()?;
    let unit = &rest[end..];
    Some(if unit.starts_with("ms") {
        n / 1e3
    } else if unit.starts_with("µs") {
        n / 1e6
    } else if unit.starts_with('s') {
        n
    } else {
        return None;
    })
}

const DASHBOARD: &str = r#"
title = "E2E reference service"
refresh = "1s"
range = "5m"

[[panels]]
title = "Total requests"
kind = "table"
query = "sum(app_request_count_total)"
unit = "short"
width = 4

[[panels]]
title = "Request rate"
kind = "stat"
query = "sum(rate(app_request_count_total[10s]))"
unit = "reqps"
width = 4

[[panels]]
title = "In flight"
kind = "gauge"
query = "sum(app_in_flight_requests)"
min = 0
max = 100
width = 4

[[panels]]
title = "Latency"
kind = "graph"
queries = [
  { expr = "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[10s])))", legend = "p95" },
  { expr = "histogram_quantile(0.50, sum by (le) (rate(app_request_latency_seconds_bucket[10s])))", legend = "p50" },
]
unit = "seconds"
thresholds = [ { value = 0.5, color = "red" } ]

[[alerts]]
name = "HighLatencyP95"
expr = "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[5s])))"
op = ">"
threshold = 0.5
for = "8s"
severity = "critical"
panel = "Latency"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_against_real_prometheus() -> anyhow::Result<()> {
    let binary = promdash_binary()?;
    let normal = Faults {
        latency_ms: 20,
        jitter_ms: 10,
        error_rate: 0.0,
    };
    let service = start_service(ServiceConfig {
        admin: true,
        faults: normal,
        ..ServiceConfig::ephemeral()
    })
    .await?;
    let (stop_load, load_stopped) = tokio::sync::oneshot::channel::<()>();
    let load = tokio::spawn(promdash_service::run_load_until(
        promdash_service::LoadConfig {
            target: format!("{}/process", service.url()),
            rps: RPS,
            duration: None,
            concurrency: 256,
            timeout: Duration::from_secs(10),
        },
        async move {
            let _ = load_stopped.await;
        },
    ));
    let mut prom = Prometheus::start(&[service.addr()]).await?;

    let dir = tempfile::tempdir()?;
    let dashboard = dir.path().join("e2e.toml");
    std::fs::write(&dashboard, DASHBOARD)?;
    let args = vec![
        "--dashboard".to_owned(),
        dashboard.display().to_string(),
        "--url".to_owned(),
        prom.url(),
        "--no-bell".to_owned(),
        "--timeout".to_owned(),
        "2s".to_owned(),
        "--log-file".to_owned(),
        dir.path().join("promdash.log").display().to_string(),
    ];
    let (tmux, status) = start_recorded("e2e", dir.path(), &binary, &args)?;

    // The dashboard comes up with its title, UP, a total and a p95.
    let screen = tmux
        .wait_for("title, UP, total and p95", Duration::from_secs(20), |s| {
            s.contains("E2E reference service")
                && s.contains(" UP ")
                && shown_total(s).is_some()
                && shown_p95(s).is_some()
        })
        .await?;
    assert!(
        screen.contains(&prom.url()),
        "status bar names the server:\n{screen}"
    );

    // The total matches Prometheus's own answer, to within one refresh's requests (plus
    // the 3-significant-digit rounding of the display).
    let mut matched = false;
    let mut last = String::new();
    for _ in 0..5 {
        let screen = tmux.screen();
        let Some(shown) = shown_total(&screen) else {
            continue;
        };
        let api = prom.query("sum(app_request_count_total)").await?;
        let actual = api
            .first()
            .map(|s| s.value)
            .context("no total from Prometheus")?;
        let tolerance = RPS * 1.0 * 1.5 + actual * 0.005 + 1.0;
        last = format!("shown {shown}, Prometheus {actual}, tolerance {tolerance}");
        if (shown - actual).abs() <= tolerance {
            matched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(matched, "request total: {last}");
    let p95 = shown_p95(&tmux.screen()).context("p95 shown")?;
    assert!(p95 > 0.005 && p95 < 0.2, "p95 of a 20±10 ms service: {p95}");

    // Latency past the threshold: PENDING, then FIRING.
    service.set_faults(Faults {
        latency_ms: 900,
        jitter_ms: 50,
        error_rate: 0.0,
    })?;
    tmux.wait_for("PENDING HighLatencyP95", Duration::from_secs(30), |s| {
        s.contains("PENDING HighLatencyP95")
    })
    .await?;
    tmux.wait_for("FIRING HighLatencyP95", Duration::from_secs(30), |s| {
        s.contains("FIRING HighLatencyP95")
    })
    .await?;
    service.set_faults(normal)?;

    // Prometheus goes away: DOWN within two refreshes, keys still answered.
    let total_before = shown_total(&tmux.screen());
    prom.stop().await?;
    let stopped = Instant::now();
    tmux.wait_for(
        "DOWN",
        Duration::from_secs(2) + Duration::from_millis(1500),
        |s| s.contains(" DOWN "),
    )
    .await?;
    eprintln!(
        "DOWN shown {:?} after Prometheus stopped",
        stopped.elapsed()
    );
    tmux.keys(&["?"])?;
    tmux.wait_for("help overlay while down", Duration::from_secs(3), |s| {
        s.contains("refresh now")
    })
    .await?;
    tmux.keys(&["Escape"])?;
    tmux.wait_for("help closed", Duration::from_secs(3), |s| {
        !s.contains("refresh now")
    })
    .await?;

    // Back again: UP and fresh data without restarting promdash.
    prom.restart().await?;
    let screen = tmux
        .wait_for("UP with fresh data", Duration::from_secs(20), |s| {
            s.contains(" UP ")
                && shown_total(s)
                    .zip(total_before)
                    .is_some_and(|(now, before)| now > before)
        })
        .await?;
    assert!(!screen.contains(" DOWN "));

    // q: exit status 0 and the terminal handed back (alternate screen off, cursor shown).
    tmux.keys(&["q"])?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while exit_status(&status).is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        exit_status(&status),
        Some(0),
        "exit status; screen:\n{}",
        tmux.screen()
    );
    let flags = tmux.tmux(&[
        "display-message",
        "-p",
        "-t",
        "0",
        "#{alternate_on} #{cursor_flag}",
    ])?;
    assert_eq!(
        flags.trim(),
        "0 1",
        "alternate screen off and cursor visible after exit"
    );
    assert!(
        !tmux.screen().contains("E2E reference service"),
        "dashboard gone from the screen"
    );

    let _ = stop_load.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), load).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_with_prometheus_fills_and_fault_fires() -> anyhow::Result<()> {
    if promdash_tests::find_binary("prometheus", "prometheus").is_err() {
        bail!("prometheus is not installed (Debian/Ubuntu: apt-get install prometheus)");
    }
    let dir = tempfile::tempdir()?;
    let args = vec![
        "demo".to_owned(),
        "--prometheus".to_owned(),
        "--no-bell".to_owned(),
        "--log-file".to_owned(),
        dir.path().join("demo.log").display().to_string(),
    ];
    let (tmux, status) = start_recorded("demo", dir.path(), &promdash_binary()?, &args)?;
    demo_fills_and_fault_fires(&tmux, &status).await
}

/// `promdash demo` installs nothing: it runs with `PATH` holding no `prometheus` (nor
/// anything else) on the embedded engine, and the status bar says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_without_prometheus_fills_and_fault_fires() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let empty_path = dir.path().join("empty-bin");
    std::fs::create_dir(&empty_path)?;
    // `env PATH=… promdash demo`: only promdash's own PATH is empty (the shell around it
    // still finds `sleep`).
    let args = vec![
        format!("PATH={}", empty_path.display()),
        promdash_binary()?.display().to_string(),
        "demo".to_owned(),
        "--no-bell".to_owned(),
        "--log-file".to_owned(),
        dir.path().join("demo.log").display().to_string(),
    ];
    let (tmux, status) = start_recorded("demo-embedded", dir.path(), Path::new("env"), &args)?;
    tmux.wait_for("EMBEDDED, 1/1 targets up", Duration::from_secs(60), |s| {
        s.contains("EMBEDDED") && s.contains("1/1 targets up")
    })
    .await?;
    demo_fills_and_fault_fires(&tmux, &status).await
}

async fn demo_fills_and_fault_fires(tmux: &Tmux, status: &Path) -> anyhow::Result<()> {
    // Charts fill within 15 s: the latency legend has values and the graphs have lines.
    let started = Instant::now();
    let screen = tmux
        .wait_for("charts with data", Duration::from_secs(60), |s| {
            // Every graph has a line and a legend value: rate, p95 and error ratio.
            shown_p95(s).is_some()
                && s.contains("● /process ")
                && s.contains("● errors ")
                && s.chars()
                    .filter(|c| ('\u{2801}'..='\u{28ff}').contains(c))
                    .count()
                    > 30
        })
        .await?;
    eprintln!("charts filled after {:?}", started.elapsed());
    assert!(screen.contains("Reference service"));

    // `f` turns the latency fault on: the p95 alert goes PENDING, then FIRING.
    tmux.keys(&["f"])?;
    tmux.wait_for("fault on", Duration::from_secs(3), |s| {
        s.contains("FAULT ON")
    })
    .await?;
    tmux.wait_for("PENDING or FIRING", Duration::from_secs(40), |s| {
        s.contains("PENDING HighLatencyP95") || s.contains("FIRING HighLatencyP95")
    })
    .await?;
    tmux.wait_for("FIRING HighLatencyP95", Duration::from_secs(60), |s| {
        s.contains("FIRING HighLatencyP95")
    })
    .await?;

    tmux.keys(&["f"])?;
    tmux.keys(&["q"])?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while exit_status(status).is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        exit_status(status),
        Some(0),
        "demo exit status; screen:\n{}",
        tmux.screen()
    );
    Ok(())
}

#[test]
fn parsing_helpers() {
    assert_eq!(parse_short("3.05K"), Some(3050.0));
    assert_eq!(parse_short("812"), Some(812.0));
    assert!(shown_p95("│● p95 23.4ms  ● p50").is_some_and(|v| (v - 0.0234).abs() < 1e-12));
    assert_eq!(shown_p95("│● p95 1.2s"), Some(1.2));
}
