//! The alerts view's server alerts against a real Prometheus evaluating an alerting rule:
//! `a` asks for `/api/v1/alerts` through the same client the dashboard uses, and the
//! rule's alert is listed, marked as the server's, with its labels and summary.
//!
//! Needs `prometheus` (Debian: apt-get install prometheus); a missing binary fails the
//! test with that message.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use promdash::app::{Effect, Msg, Options, State, update};
use promdash::explore::{ExploreAnswer, ExploreRequest, alert_rows};
use promdash_queries::dashboard::default_dashboard;
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::{Prometheus, ServiceConfig, start_service};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const RULES: &str = r#"groups:
  - name: promdash
    rules:
      - alert: AlwaysOn
        expr: vector(1) > 0
        labels:
          severity: warning
        annotations:
          summary: always firing for the test
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_view_lists_the_servers_alerts() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let prom = Prometheus::start_with_rules(&[service.addr()], RULES).await?;
    let client = PromClient::new(ClientConfig::new(prom.url())).context("client")?;
    let mut state = State::new(default_dashboard(), Options::for_url(prom.url()));
    update(&mut state, Msg::Resize(120, 40));
    let effects = update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE)),
    );
    assert_eq!(effects, vec![Effect::Explore(ExploreRequest::ServerAlerts)]);
    // The rule is evaluated every second: ask (bounded) until it is listed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = client.alerts().await;
        update(
            &mut state,
            Msg::Explore(Box::new(ExploreAnswer::ServerAlerts(answer))),
        );
        let rows = alert_rows(&state);
        if let Some(row) = rows.iter().find(|r| r.server && r.rule == "AlwaysOn") {
            assert_eq!(row.state, "FIRING");
            assert_eq!(row.summary, "always firing for the test");
            assert_eq!(row.labels.get("severity"), Some("warning"));
            assert_eq!(row.value, 1.0);
            assert!(row.since.is_some(), "activeAt parsed");
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "AlwaysOn not listed within 30s: {rows:?}; log:\n{}",
                prom.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(prom);
    drop(service);
    Ok(())
}
