//! Correctness at scale (issue 7), against a real Prometheus where the network is
//! involved: thousands of series in one panel, month-long ranges, and panels sharing
//! expressions. These check what is shown and what is asked for, never how fast.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use promdash::app::{Effect, FetchKey, FetchRequest, Msg, Options, State, update};
use promdash::fetch::Fetcher;
use promdash_queries::client::{ClientConfig, PromClient};
use promdash_queries::dashboard::{Dashboard, parse_dashboard};
use promdash_queries::source::MetricsSource;
use promdash_queries::step::{MAX_POINTS, range_step};
use promdash_tests::Prometheus;
use promdash_tests::connect::fault_proxy::FaultProxy;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const SERIES: usize = 5_000;
const DAY: u64 = 86_400;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn options(range: Duration) -> Options {
    Options {
        url: String::new(),
        refresh: Duration::from_secs(5),
        range,
        bell: false,
        demo: false,
        utc_offset: 0,
    }
}

fn dashboard(toml: &str) -> Dashboard {
    parse_dashboard(toml, "scale.toml").expect("the test's dashboard is valid")
}

fn fetches(effects: Vec<Effect>) -> Vec<FetchRequest> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Fetch(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn screen(state: &State) -> String {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|f| promdash::ui::view(state, f))
        .expect("draw");
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Prometheus scraping the 5,000-series target, once every series is in and a few
/// scrapes later: the range windows promdash asks for end at the last settled step, a
/// few seconds ago, and must hold samples.
async fn prometheus_with_pods() -> anyhow::Result<Prometheus> {
    let target = exposition_target().await?;
    let prom = Prometheus::start(&[target]).await?;
    promdash_tests::wait_for_value(
        &prom.url(),
        "count(scale_pods)",
        SERIES as f64,
        Duration::from_secs(30),
    )
    .await?;
    // The windows end a few seconds back: wait until every series is there 6 s ago too
    // (the condition itself, not a fixed sleep).
    promdash_tests::wait_for_value(
        &prom.url(),
        "count(scale_pods offset 6s)",
        SERIES as f64,
        Duration::from_secs(60),
    )
    .await?;
    Ok(prom)
}

/// A scrape target serving `SERIES` gauges `scale_pods{pod="pod-NNNN"}` whose value is
/// the pod's number; the accept loop ends with the test's runtime.
async fn exposition_target() -> anyhow::Result<SocketAddr> {
    let mut body = String::from("# TYPE scale_pods gauge\n");
    for i in 0..SERIES {
        body.push_str(&format!("scale_pods{{pod=\"pod-{i:04}\"}} {i}\n"));
    }
    let answer = Arc::new(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                // Read the request head (Prometheus sends a small GET), then answer.
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(addr)
}

/// Sends one refresh round's requests through the dashboard's own fetcher (all at once,
/// as at run time) and applies the answers; returns the requests sent.
async fn run_round<S: MetricsSource>(
    state: &mut State,
    source: &Arc<S>,
    now: f64,
) -> anyhow::Result<Vec<FetchRequest>> {
    let reqs = fetches(update(state, Msg::Tick(now)));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let fetcher = Fetcher::new(Arc::clone(source), tx);
    for r in &reqs {
        fetcher.spawn(r.clone());
    }
    drop(fetcher);
    for _ in 0..reqs.len() {
        let msg = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .context("no answer within 30s")?
            .context("fetcher channel closed")?;
        if let Msg::Fetched(f) = &msg {
            f.result
                .as_ref()
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.key.expr()))?;
        }
        update(state, msg);
    }
    Ok(reqs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_series_from_prometheus_show_the_top_ones_and_how_many_more()
-> anyhow::Result<()> {
    let prom = prometheus_with_pods().await?;

    let client = Arc::new(PromClient::new(ClientConfig::new(prom.url()))?);
    let mut state = State::new(
        dashboard(
            "title = \"Pods\"\n[[panels]]\ntitle = \"By pod\"\nkind = \"graph\"\n\
             query = \"scale_pods\"\nlegend = \"{{pod}}\"\nwidth = 12\n",
        ),
        options(Duration::from_secs(300)),
    );
    update(&mut state, Msg::Resize(120, 40));
    let reqs = run_round(&mut state, &client, now()).await?;
    // The range query, and the value at now that draws the newest partial step.
    assert_eq!(reqs.len(), 2, "{reqs:?}");

    let p = &state.panels[0];
    let raw: usize = p.raw.iter().flatten().map(|r| r.series.len()).sum();
    assert_eq!(raw, SERIES, "every series came back from Prometheus");
    // The graph reaches past the step-aligned window's end, to Prometheus' now.
    let aligned = p.raw[0].as_ref().expect("range answer").window;
    let drawn = p.window.expect("drawn window");
    assert!(
        drawn.end > aligned.end
            && drawn.end
                <= aligned.end
                    + 2.0 * aligned.step.as_secs_f64()
                    + promdash::panel::TAIL_SLACK_SECS,
        "drawn {drawn:?}, range window {aligned:?}"
    );
    assert_eq!(p.series.len(), promdash::panel::MAX_SERIES);
    assert_eq!(p.hidden, SERIES - promdash::panel::MAX_SERIES);
    assert_eq!(p.series[0].name, "pod-4999", "highest last value first");
    let mut names: Vec<&str> = p.series.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    let want: Vec<String> = (SERIES - promdash::panel::MAX_SERIES..SERIES)
        .map(|i| format!("pod-{i:04}"))
        .collect();
    assert_eq!(names, want, "exactly the top 50 by last value are drawn");

    let text = screen(&state);
    let listed = text.matches("● pod-").count();
    assert!(listed > 0 && listed < promdash::panel::MAX_SERIES, "{text}");
    assert!(text.contains("● pod-4999 "), "{text}");
    assert!(
        text.contains(&format!("+{} more series", SERIES - listed)),
        "the legend counts every series not listed ({listed} listed):\n{text}"
    );
    Ok(())
}

#[test]
fn a_thirty_day_range_keeps_every_series_under_11000_points_and_two_per_cell() {
    let range = Duration::from_secs(30 * DAY);
    let end = 1_795_618_935.0;
    let widths = (1..=2_000u16).chain([4_000, 5_500, 10_000, 30_000, u16::MAX]);
    for cells in widths {
        let w = range_step(range, cells, end);
        let points = w.points();
        assert!(points <= MAX_POINTS, "{cells} cells: {points} points");
        assert!(
            points - 1 <= 2 * u64::from(cells),
            "{cells} cells: {points} points is more than two per braille cell"
        );
        assert!(
            w.start <= end - range.as_secs_f64(),
            "{cells} cells: the window covers the range"
        );
    }

    // Through the dashboard: every panel of a 40-panel dashboard at 240x70, and full
    // screen, asks for at most two points per cell of the widest plot showing its query.
    let mut toml = String::from("title = \"Month\"\nrange = \"30d\"\n");
    for i in 0..40 {
        let width = [3, 4, 6, 12][i % 4];
        toml.push_str(&format!(
            "[[panels]]\ntitle = \"p{i}\"\nkind = \"{}\"\nquery = \"rate(x_{}[5m])\"\nwidth = {width}\n",
            if i % 5 == 0 { "stat" } else { "graph" },
            i % 30,
        ));
    }
    let mut state = State::new(dashboard(&toml), options(range));
    update(&mut state, Msg::Resize(240, 70));
    let mut checked = 0;
    let first = fetches(update(&mut state, Msg::Tick(end)));
    checked += check_windows(&state, &first, range);
    // Full screen: the focused panel's plot is the whole terminal, and its query is
    // fetched again for that width.
    let full = fetches(update(&mut state, Msg::Key(enter())));
    assert!(!full.is_empty(), "full screen asks for the wider window");
    checked += check_windows(&state, &full, range);
    assert!(checked >= 30, "{checked} range requests checked");
}

/// Checks each range request against the widest plot showing its query (the width a
/// panel off screen is fetched for: its share of the grid, as `State` estimates it).
fn check_windows(state: &State, reqs: &[FetchRequest], range: Duration) -> usize {
    let rects = state.panel_rects();
    let grid = state.grid_area();
    let mut checked = 0;
    for r in reqs {
        let Some(w) = r.window else { continue };
        let cells = state
            .dashboard
            .panels
            .iter()
            .zip(&rects)
            .filter(|(p, _)| p.queries.iter().any(|q| q.expr == r.key.expr()))
            .map(|(p, rect)| {
                let rect = rect.unwrap_or_else(|| {
                    let share = u16::from(p.width.clamp(1, 12));
                    ratatui::layout::Rect::new(0, 0, grid.width * share / 12, 8)
                });
                u64::from(promdash::ui::plot_estimate(p, rect).0)
            })
            .max()
            .expect("a panel asked for it");
        let points = w.points();
        assert!(points <= MAX_POINTS, "{:?}: {points} points", r.key);
        assert!(
            points - 1 <= 2 * cells,
            "{:?}: {points} points on {cells} cells",
            r.key
        );
        assert!(w.end - w.start >= range.as_secs_f64());
        checked += 1;
    }
    checked
}

fn enter() -> ratatui::crossterm::event::KeyEvent {
    ratatui::crossterm::event::KeyEvent::new(
        ratatui::crossterm::event::KeyCode::Enter,
        ratatui::crossterm::event::KeyModifiers::NONE,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thirty_day_range_query_is_accepted_by_prometheus() -> anyhow::Result<()> {
    let target = exposition_target().await?;
    let prom = Prometheus::start(&[target]).await?;
    let client = PromClient::new(ClientConfig::new(prom.url()))?;
    // The widest terminal there is: the step is what keeps Prometheus from refusing.
    let window = range_step(Duration::from_secs(30 * DAY), u16::MAX, now());
    let answer = client
        .range("count(scale_pods)", window)
        .await
        .context("Prometheus refused the 30-day window promdash asks for")?;
    let promdash_queries::model::QueryData::Matrix(m) = answer.data else {
        anyhow::bail!("a range query answers a matrix");
    };
    assert!(m.iter().all(|s| s.samples.len() as u64 <= MAX_POINTS));
    // And the limit is real: one step finer than 11,000 points is refused.
    let too_fine = promdash_queries::source::RangeWindow {
        step: Duration::from_secs(30 * DAY / MAX_POINTS),
        ..window
    };
    let refused = client.range("count(scale_pods)", too_fine).await;
    assert!(
        refused.is_err(),
        "Prometheus accepted {} points",
        too_fine.points()
    );
    Ok(())
}

/// Identical expressions in panels of different kinds and widths: one request per
/// distinct expression and query type, counted by a proxy in front of Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_expressions_in_two_panels_are_fetched_once() -> anyhow::Result<()> {
    let prom = prometheus_with_pods().await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    let client = Arc::new(PromClient::new(ClientConfig::new(proxy.url()))?);
    let x = "sum(scale_pods)";
    let y = "count(scale_pods)";
    let toml = format!(
        "title = \"Shared\"\n\
         [[panels]]\ntitle = \"narrow\"\nkind = \"graph\"\nquery = \"{x}\"\nwidth = 4\n\
         [[panels]]\ntitle = \"wide\"\nkind = \"graph\"\nquery = \"{x}\"\nwidth = 12\n\
         [[panels]]\ntitle = \"stat\"\nkind = \"stat\"\nquery = \"{y}\"\nwidth = 6\n\
         [[panels]]\ntitle = \"gauge\"\nkind = \"gauge\"\nquery = \"{y}\"\nwidth = 6\nmax = 10000\n\
         [[alerts]]\nname = \"Few\"\nexpr = \"{y}\"\nop = \"<\"\nthreshold = 1\n"
    );
    let mut state = State::new(dashboard(&toml), options(Duration::from_secs(300)));
    update(&mut state, Msg::Resize(160, 48));

    let before = proxy.requests();
    let t0 = now();
    let reqs = run_round(&mut state, &client, t0).await?;
    let sent = proxy.requests() - before;
    // x over time and x now (both graphs' newest point); y over time (the stat's
    // sparkline); y now (stat, gauge and alert).
    let mut kinds: Vec<(bool, &str)> = reqs
        .iter()
        .map(|r| (matches!(r.key, FetchKey::Range { .. }), r.key.expr()))
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        vec![(false, y), (false, x), (true, y), (true, x)],
        "{reqs:?}"
    );
    assert_eq!(sent, 4, "requests counted at the server in one round");

    // Both graphs were drawn from the one answer, each at its own width.
    let (narrow, wide) = (&state.panels[0], &state.panels[1]);
    assert_eq!(narrow.series.len(), 1);
    assert_eq!(wide.series.len(), 1);
    assert!(narrow.series[0].cols.len() < wide.series[0].cols.len());
    assert!(state.panels[2].value.is_some() && state.panels[3].value.is_some());
    assert_eq!(state.panels[3].value, Some(SERIES as f64));

    // The next round asks again for the same four at most (never more).
    let before = proxy.requests();
    let reqs = run_round(&mut state, &client, t0 + 5.0).await?;
    let sent = proxy.requests() - before;
    assert_eq!(sent, reqs.len() as u64);
    assert!(sent <= 4, "{reqs:?}");
    Ok(())
}
