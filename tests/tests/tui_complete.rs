//! The query prompt's Tab completion against a real Prometheus scraping promdash-service:
//! the catalog is loaded with the real client through the same code the dashboard uses
//! (`promdash::complete::load`), and the prompt is driven through `update`.
//!
//! Needs `prometheus` (Debian: apt-get install prometheus); a missing binary fails the
//! test with that message.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use promdash::app::{Effect, Msg, Options, State, update};
use promdash::complete::{self, Catalog, Completion};
use promdash::explore::{ExploreAnswer, ExploreRequest};
use promdash_queries::dashboard::default_dashboard;
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::{Faults, Prometheus, ServiceConfig, start_service};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Tab at the end of `text`: loads what the catalog lacks from the server, then lists.
async fn tab(client: &PromClient, catalog: &mut Catalog, text: &str) -> anyhow::Result<Completion> {
    let ctx = complete::context(text, text.len());
    if let Some(need) = catalog.missing(&ctx) {
        let values = complete::load(client, &need).await?;
        catalog.insert(need, values);
    }
    Ok(complete::complete(text, text.len(), catalog))
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Carries out the explore effects with the real client, feeding answers back.
async fn run_effects(client: &PromClient, state: &mut State, effects: Vec<Effect>) {
    let mut todo = effects;
    // Each answer can ask for at most one more thing; bounded either way.
    for _ in 0..8 {
        let mut next = Vec::new();
        for e in todo {
            if let Effect::Explore(ExploreRequest::Catalog(need)) = e {
                let r = complete::load(client, &need).await;
                next.extend(update(
                    state,
                    Msg::Explore(Box::new(ExploreAnswer::Catalog(need, r))),
                ));
            }
        }
        if next.is_empty() {
            return;
        }
        todo = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_offers_what_prometheus_has() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig {
        faults: Faults {
            latency_ms: 1,
            jitter_ms: 0,
            error_rate: 0.0,
        },
        ..ServiceConfig::ephemeral()
    })
    .await?;
    // Traffic on two routes and one unmatched path, so each has series.
    let http = promdash_queries::tls::http_client_builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    for path in ["/process", "/healthz", "/no/such/path"] {
        for _ in 0..3 {
            http.get(format!("{}{path}", service.url())).send().await?;
        }
    }
    let prom = Prometheus::start(&[service.addr()]).await?;
    // Wait (bounded) until the counters and the histogram have been scraped.
    let deadline = Instant::now() + Duration::from_secs(30);
    let routes: BTreeSet<String> = loop {
        let count = prom
            .query("count by (route) (app_request_count_total)")
            .await?;
        let hist = prom
            .query("count(app_request_latency_seconds_bucket)")
            .await?;
        if count.len() >= 3 && !hist.is_empty() {
            break count
                .iter()
                .filter_map(|s| s.labels.get("route").cloned())
                .collect();
        }
        if Instant::now() > deadline {
            bail!(
                "Prometheus did not scrape the service within 30s; log:\n{}",
                prom.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(routes.contains("/process"), "{routes:?}");
    assert!(routes.contains("unmatched"), "{routes:?}");

    let client = PromClient::new(ClientConfig::new(prom.url())).context("client")?;
    let mut catalog = Catalog::default();

    // Metric names.
    let c = tab(&client, &mut catalog, "app_req").await?;
    assert!(
        c.items.contains(&"app_request_count_total".to_owned()),
        "{:?}",
        c.items
    );
    assert!(
        c.items
            .contains(&"app_request_latency_seconds_bucket".to_owned()),
        "{:?}",
        c.items
    );
    assert!(c.items.iter().all(|m| m.starts_with("app_req")));

    // Label names of the metric being typed.
    let c = tab(&client, &mut catalog, "app_request_count_total{rou").await?;
    assert_eq!(c.items, vec!["route".to_owned()]);

    // Label values after `route="`: the routes that exist.
    let c = tab(&client, &mut catalog, "{route=\"").await?;
    let offered: BTreeSet<String> = c.items.into_iter().collect();
    assert_eq!(offered, routes);
    let c = tab(
        &client,
        &mut catalog,
        "app_request_count_total{route=\"/pro",
    )
    .await?;
    assert_eq!(c.items, vec!["/process".to_owned()]);

    // The same through the dashboard's prompt: Tab asks, the answer completes.
    let mut state = State::new(default_dashboard(), Options::for_url(prom.url()));
    update(&mut state, Msg::Resize(120, 40));
    update(&mut state, key(KeyCode::Char(':')));
    for ch in "app_request_count_total{rou".chars() {
        update(&mut state, key(KeyCode::Char(ch)));
    }
    let effects = update(&mut state, key(KeyCode::Tab));
    run_effects(&client, &mut state, effects).await;
    let text = state
        .explore
        .prompt
        .as_ref()
        .map(|p| p.text.clone())
        .context("prompt")?;
    assert_eq!(text, "app_request_count_total{route");
    for ch in "=\"/pro".chars() {
        update(&mut state, key(KeyCode::Char(ch)));
    }
    let effects = update(&mut state, key(KeyCode::Tab));
    run_effects(&client, &mut state, effects).await;
    let text = state
        .explore
        .prompt
        .as_ref()
        .map(|p| p.text.clone())
        .context("prompt")?;
    assert_eq!(text, "app_request_count_total{route=\"/process");
    drop(prom);
    drop(service);
    Ok(())
}
