//! Issue 14 end to end: a Grafana dashboard in Node Exporter Full's style
//! (`tests/fixtures/grafana/node-e2e.json`: `__inputs` datasource, job → instance chain,
//! stats, table legends, a collapsed network row with a negative-Y override) opened with
//! `promdash --dashboard FILE.json` in tmux (120×40) against Debian's Prometheus 2.42
//! scraping two `prometheus-node-exporter`s and itself, through a proxy that records
//! every query.
//!
//! Checked: the panels show what Prometheus answers for the same expressions after
//! substitution (the table legend's min, mean, max and last of a constant series too;
//! a negative-Y series, the number of network devices, drawn at minus Prometheus's value
//! under the cursor while its legend keeps the value);
//! every query sent is substituted, `$__rate_interval` with the server's 1 s scrape
//! interval; the collapsed row costs no queries until it is unfolded; choosing another
//! job in the picker asks for the other host.
//!
//! Needs tmux, prometheus and prometheus-node-exporter (scripts/test.sh installs them);
//! a missing one fails the test naming its package.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::bail;
use promdash::units::Format;
use promdash_tests::Prometheus;
use promdash_tests::connect::fault_proxy::FaultProxy;
use promdash_tests::node_exporter::NodeExporter;
use promdash_tests::tmux::Tmux;

const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/grafana/node-e2e.json"
);

/// The inside of the panel titled `title` on `screen` (its box's lines between the
/// borders, joined by newlines), or `None` when it is not on screen.
fn panel_text(screen: &str, title: &str) -> Option<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    for (y, line) in lines.iter().enumerate() {
        let text: String = line.iter().collect();
        let Some(at) = ["┌ ", "┏ "]
            .iter()
            .find_map(|corner| text.find(&format!("{corner}{title} ")))
        else {
            continue;
        };
        let x0 = text[..at].chars().count();
        let x1 = (x0 + 1..line.len()).find(|&x| matches!(line[x], '┐' | '┓'))?;
        let mut inside = Vec::new();
        for row in &lines[y + 1..] {
            if matches!(row.get(x0), Some('└' | '┗') | None) {
                break;
            }
            inside.push(row[x0 + 1..x1.min(row.len())].iter().collect::<String>());
        }
        return Some(inside.join("\n"));
    }
    None
}

/// The one value Prometheus answers for `expr` now.
async fn one_value(prom: &Prometheus, expr: &str) -> anyhow::Result<f64> {
    let samples = prom.query(expr).await?;
    match samples.as_slice() {
        [s] => Ok(s.value),
        other => bail!("{expr}: expected one sample, Prometheus answered {other:?}"),
    }
}

/// Prometheus scraping `node` (job `node`), `node_b` (job `node-b`) and itself every
/// second, all three up.
async fn prometheus(node: &NodeExporter, node_b: &NodeExporter) -> anyhow::Result<Prometheus> {
    Prometheus::start_scraping_itself_and(&[("node", &[node.addr()]), ("node-b", &[node_b.addr()])])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_dashboard_shows_what_prometheus_answers() -> anyhow::Result<()> {
    let node = NodeExporter::start().await?;
    let node_b = NodeExporter::start().await?;
    let prom = prometheus(&node, &node_b).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;

    let dir = tempfile::tempdir()?;
    // Through sh so that the pane stays open (and its screen readable) if promdash exits.
    let tmux = Tmux::start_dashboard_kept_open(
        "grafana-node",
        dir.path(),
        Path::new(DASHBOARD),
        &proxy.url(),
        &[],
    )?;

    // The saved host is not among the job's hosts: the first one is chosen.
    let host = node.addr();
    let screen = tmux
        .wait_for(
            "the host chosen and the stats",
            Duration::from_secs(30),
            |s| {
                s.contains(&format!("Node ({host})"))
                    && panel_text(s, "RAM Total").is_some_and(|t| t.trim() != "waiting for data…")
                    && panel_text(s, "CPU Cores")
                        .is_some_and(|t| t.chars().any(|c| c.is_ascii_digit()))
            },
        )
        .await?;
    assert!(screen.contains("▸ Network Traffic (2 panels)"), "{screen}");
    assert!(screen.contains("▾ Basic CPU / Mem"), "{screen}");

    // Each panel shows Prometheus's answer to its expression after substitution.
    let sel = format!(r#"instance="{host}",job="node""#);
    let bytes = Format::from_name("bytes");
    let short = Format::from_name("short");
    let mem = one_value(&prom, &format!("node_memory_MemTotal_bytes{{{sel}}}")).await?;
    let cores = one_value(
        &prom,
        &format!("count(count(node_cpu_seconds_total{{{sel}}}) by (cpu))"),
    )
    .await?;
    let filesystems = one_value(
        &prom,
        &format!("count(node_filesystem_size_bytes{{{sel}}})"),
    )
    .await?;
    let up = one_value(&prom, "sum(up)").await?;
    assert_eq!(up, 3.0);
    let expected = [
        ("RAM Total", bytes.format(mem, None)),
        ("CPU Cores", short.format(cores, None)),
        ("Filesystems", short.format(filesystems, None)),
        ("Targets up", short.format(up, None)),
    ];
    tmux.wait_for(
        "every stat equal to Prometheus",
        Duration::from_secs(20),
        |s| {
            expected.iter().all(|(title, want)| {
                panel_text(s, title).is_some_and(|t| {
                    t.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .contains(want.as_str())
                })
            })
        },
    )
    .await?;
    // The table legend of a range query (min, mean, max, last): MemTotal is constant, so
    // each is Prometheus's value.
    let m = bytes.format(mem, None);
    let ram_total = format!("● RAM Total {m} {m} {m} {m}");
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    tmux.wait_for("the memory table legend", Duration::from_secs(20), |s| {
        panel_text(s, "Memory Basic").is_some_and(|t| {
            t.lines().any(|l| words(l) == "Min Mean Max Last *")
                && t.lines().any(|l| words(l) == ram_total)
        })
    })
    .await?;

    // Every query sent was substituted; the collapsed row's were never sent.
    let sent = proxy.queries();
    assert!(sent.iter().any(|q| q.contains(&sel)), "{sent:#?}");
    assert!(sent.iter().all(|q| !q.contains('$')), "{sent:#?}");
    assert!(
        sent.iter().all(|q| !q.contains("node_network")),
        "{sent:#?}"
    );
    // $__rate_interval = max($__interval + scrape interval, 4 × scrape interval) with the
    // server's 1 s (read from /api/v1/status/config): $__interval + 1s, not the 1m the
    // default 15 s would give (grafana_rate_interval.rs checks the exact figures).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !proxy
        .queries()
        .iter()
        .any(|q| q.contains("node_cpu_seconds_total") && !q.contains("[1m]"))
    {
        if std::time::Instant::now() > deadline {
            bail!("no rate with the server's interval: {:#?}", proxy.queries());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Another job in the picker: $node is asked again and the panels ask for host B.
    tmux.keys(&["V"])?;
    tmux.wait_for("the variable picker", Duration::from_secs(5), |s| {
        s.contains("node-b")
    })
    .await?;
    tmux.keys(&["Down"])?;
    tmux.keys(&["Enter"])?;
    let host_b = node_b.addr();
    let sel_b = format!(r#"instance="{host_b}",job="node-b""#);
    tmux.wait_for("host B chosen", Duration::from_secs(20), |s| {
        s.contains(&format!("Node ({host_b})"))
    })
    .await?;
    let before = proxy.queries().len();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let sent = proxy.queries();
        if sent[before..].iter().any(|q| q.contains(&sel_b)) {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!(
                "no query for host B after the change: {:#?}",
                &sent[before..]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mem_b = one_value(&prom, &format!("node_memory_MemTotal_bytes{{{sel_b}}}")).await?;
    tmux.wait_for("host B's memory", Duration::from_secs(20), |s| {
        panel_text(s, "RAM Total").is_some_and(|t| t.contains(&bytes.format(mem_b, None)))
    })
    .await?;

    // Unfold the network row (PgDn to its title bar, z): its queries are sent now.
    let before = proxy.queries().len();
    tmux.keys(&["NPage"])?;
    tmux.keys(&["NPage"])?;
    tmux.keys(&["z"])?;
    let screen = tmux
        .wait_for("the network row open", Duration::from_secs(20), |s| {
            s.contains("▾ Network Traffic") && s.contains("Network Traffic Basic")
        })
        .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let sent = proxy.queries();
        let net: Vec<&String> = sent[before..]
            .iter()
            .filter(|q| q.contains("node_network"))
            .collect();
        if net
            .iter()
            .any(|q| q.contains("receive") && q.contains(&sel_b))
            && net
                .iter()
                .any(|q| q.contains("transmit") && q.contains(&sel_b))
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!(
                "network queries not sent after unfolding:\n{screen}\n{:#?}",
                &sent[before..]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The negative-Y panel (the row's first): drawn below zero. Its table legend (min,
    // max) shows the count as Prometheus answers it; the cursor (`v`) reads the drawn
    // series: minus that.
    let devices = one_value(
        &prom,
        &format!("count(node_network_transmit_bytes_total{{{sel_b}}})"),
    )
    .await?;
    assert!(devices > 0.0, "{devices}");
    let shown = short.format(devices, None);
    let negated = short.format(-devices, None);
    tmux.wait_for("the devices legend", Duration::from_secs(20), |s| {
        panel_text(s, "Network Devices").is_some_and(|t| {
            t.lines()
                .any(|l| words(l) == format!("● devices out {shown} {shown}"))
        })
    })
    .await?;
    tmux.keys(&["Tab"])?;
    tmux.keys(&["v"])?;
    let screen = tmux
        .wait_for(
            "the negated count under the cursor",
            Duration::from_secs(20),
            |s| {
                panel_text(s, "Network Devices").is_some_and(|t| {
                    t.lines()
                        .any(|l| words(l).contains(&format!("{negated} devices out")))
                })
            },
        )
        .await?;
    let panel = panel_text(&screen, "Network Devices").unwrap_or_default();
    assert!(negated.starts_with('-'), "{negated}");
    assert!(panel.contains(&negated), "{panel}");
    tmux.keys(&["Escape"])?;
    tmux.keys(&["q"])?;
    Ok(())
}
