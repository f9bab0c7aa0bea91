//! Issue 14, repeated panels and rows end to end: `tests/fixtures/grafana/repeat-e2e.json`
//! (a stat repeated by `$instance` side by side, a row repeated by `$instance` with two
//! stats) opened with `promdash --dashboard FILE.json` in tmux (120×40) against Debian's
//! Prometheus 2.42 scraping two `prometheus-node-exporter`s and itself, through a proxy
//! that records every query.
//!
//! Checked: with All selected there is one copy per target, each titled with its target
//! and showing what Prometheus answers for the expression with that one target; each
//! copy's query has its own target (regex-escaped in `=~`); choosing one target in the
//! picker leaves one copy of each, for that target. A graph's targets with a min step
//! (`interval`) and an `intervalFactor` are sent with Grafana's step (counted at the proxy).
//!
//! Needs tmux, prometheus and prometheus-node-exporter (scripts/test.sh installs them);
//! a missing one fails the test naming its package.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use promdash_tests::Prometheus;
use promdash_tests::connect::fault_proxy::FaultProxy;
use promdash_tests::node_exporter::NodeExporter;
use promdash_tests::tmux::Tmux;

const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/grafana/repeat-e2e.json"
);

/// The insides of every panel titled `title` on `screen`, top to bottom, left to right.
fn panels_titled(screen: &str, title: &str) -> Vec<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let mut out = Vec::new();
    for (y, line) in lines.iter().enumerate() {
        let text: String = line.iter().collect();
        for corner in ["┌ ", "┏ "] {
            let pattern = format!("{corner}{title} ");
            let mut from = 0;
            while let Some(at) = text[from..].find(&pattern) {
                let at = from + at;
                from = at + pattern.len();
                let x0 = text[..at].chars().count();
                let Some(x1) = (x0 + 1..line.len()).find(|&x| matches!(line[x], '┐' | '┓'))
                else {
                    continue;
                };
                let mut inside = Vec::new();
                for row in &lines[y + 1..] {
                    if matches!(row.get(x0), Some('└' | '┗') | None) {
                        break;
                    }
                    inside.push(row[x0 + 1..x1.min(row.len())].iter().collect::<String>());
                }
                out.push(inside.join("\n"));
            }
        }
    }
    out
}

/// The number a stat panel shows (its digits), if any.
fn number(text: &str) -> Option<f64> {
    text.split_whitespace().find_map(|w| w.parse::<f64>().ok())
}

/// Prometheus scraping both node exporters (job `node`) and itself every second, all three
/// up.
async fn prometheus(node: &NodeExporter, node_b: &NodeExporter) -> anyhow::Result<Prometheus> {
    Prometheus::start_scraping_itself_and(&[("node", &[node.addr(), node_b.addr()])]).await
}

/// Waits until every copy `Samples <target>` on screen shows what Prometheus answers for
/// `scrape_samples_scraped{instance="<target>"}` (asked again each try: the number can
/// change between scrapes). Returns the last screen.
async fn copies_equal_prometheus(
    tmux: &Tmux,
    prom: &Prometheus,
    targets: &[String],
) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let mut want = Vec::new();
        for t in targets {
            let answer = prom
                .query(&format!(r#"scrape_samples_scraped{{instance="{t}"}}"#))
                .await?;
            let [s] = answer.as_slice() else {
                bail!("{t}: expected one sample, Prometheus answered {answer:?}");
            };
            want.push(s.value);
        }
        let screen = tmux.screen();
        let shown: Vec<Option<f64>> = targets
            .iter()
            .map(|t| {
                let copies = panels_titled(&screen, &format!("Samples {t}"));
                match copies.as_slice() {
                    [one] => number(one),
                    _ => None,
                }
            })
            .collect();
        if shown
            .iter()
            .zip(&want)
            .all(|(s, w)| s.is_some_and(|s| s == *w))
        {
            return Ok(screen);
        }
        if Instant::now() > deadline {
            bail!(
                "the copies do not show Prometheus's answers: shown {shown:?}, Prometheus \
                 {want:?} for {targets:?}\n{screen}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_repeated_by_instance_shows_each_target() -> anyhow::Result<()> {
    let node = NodeExporter::start().await?;
    let node_b = NodeExporter::start().await?;
    let prom = prometheus(&node, &node_b).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    // The targets as `label_values(up, instance)` sorts them (sort 1: alphabetical).
    let own = format!("127.0.0.1:{}", prom.port());
    let mut targets = vec![node.addr(), node_b.addr(), own.clone()];
    targets.sort();

    let dir = tempfile::tempdir()?;
    let tmux = Tmux::start_dashboard_kept_open(
        "grafana-repeat",
        dir.path(),
        Path::new(DASHBOARD),
        &proxy.url(),
        &[],
    )?;

    // All: one copy of the stat and of the row per target, each showing its own answer.
    let screen = copies_equal_prometheus(&tmux, &prom, &targets).await?;
    for t in &targets {
        assert!(
            screen.contains(&format!("▾ Target {t}")),
            "row copy for {t} missing:\n{screen}"
        );
    }
    let screen = tmux
        .wait_for("every row copy's stats", Duration::from_secs(20), |s| {
            let ups = panels_titled(s, "Up");
            ups.len() == targets.len() && ups.iter().all(|u| number(u) == Some(1.0))
        })
        .await?;
    assert_eq!(panels_titled(&screen, "Series added").len(), targets.len());
    // Each copy asked for its own target; nothing left unsubstituted.
    let sent = proxy.queries();
    for t in &targets {
        let escaped = t.replace('.', r"\\.");
        for want in [
            format!(r#"scrape_samples_scraped{{instance=~"{escaped}"}}"#),
            format!(r#"up{{instance="{t}"}}"#),
        ] {
            assert!(sent.contains(&want), "{want} not sent: {sent:#?}");
        }
    }
    assert!(sent.iter().all(|q| !q.contains('$')), "{sent:#?}");
    // The graph's targets: a min step of 45s (`interval`), and 30 × the automatic step
    // (`intervalFactor`), as sent to Prometheus.
    let steps = proxy.range_steps();
    let step_of = |job: &str| -> Vec<f64> {
        steps
            .iter()
            .filter(|(q, _)| q.contains(&format!(r#"job="{job}""#)))
            .filter_map(|(_, s)| s.trim_end_matches('s').parse::<f64>().ok())
            .collect()
    };
    let node_steps = step_of("node");
    assert!(
        !node_steps.is_empty() && node_steps.iter().all(|s| *s == 45.0),
        "min step 45s: {steps:#?}"
    );
    let prom_steps = step_of("prometheus");
    assert!(
        !prom_steps.is_empty()
            && prom_steps
                .iter()
                .all(|s| *s >= 30.0 && (s / 30.0).fract() == 0.0),
        "intervalFactor 30: {steps:#?}"
    );

    // Choose Prometheus's own target only (the picker lists All first): one copy left.
    let row = 1 + targets.iter().position(|t| *t == own).unwrap_or(0);
    tmux.keys(&["V"])?;
    tmux.wait_for("the variable picker", Duration::from_secs(10), |s| {
        s.contains(" Variables ")
    })
    .await?;
    for _ in 0..row {
        tmux.keys(&["Down"])?;
    }
    tmux.keys(&["Space"])?;
    tmux.keys(&["Enter"])?;
    let screen = tmux
        .wait_for("one copy, for Prometheus", Duration::from_secs(20), |s| {
            panels_titled(s, "Up").len() == 1
                && s.contains(&format!("▾ Target {own}"))
                && targets
                    .iter()
                    .filter(|t| **t != own)
                    .all(|t| !s.contains(t.as_str()))
        })
        .await?;
    assert_eq!(panels_titled(&screen, "Series added").len(), 1, "{screen}");
    copies_equal_prometheus(&tmux, &prom, std::slice::from_ref(&own)).await?;
    tmux.keys(&["q"])?;
    Ok(())
}
