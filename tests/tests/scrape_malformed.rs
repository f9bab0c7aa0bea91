//! Every malformed page of the parser's own list (engine/src/exposition/malformed_cases.rs:
//! bad escapes, bad numbers and timestamps, duplicate series, a missing `# EOF` and other
//! OpenMetrics rules, 2 MiB lines, invalid UTF-8), served over HTTP with its format's
//! Content-Type to the real scraper (one target per page, all scraped at once):
//!
//! - first each target serves a good page: all UP, their samples stored;
//! - then each serves its malformed page: every target DOWN with
//!   "malformed page at line L, column C: …" in the targets view, `up` 0 in the store,
//!   the good page's series marked stale — and what was stored before is still there.
//!
//! No scrape loop may panic: a panicked loop would never turn its target DOWN.

#[path = "../../engine/src/exposition/malformed_cases.rs"]
mod malformed_cases;

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promdash_engine::{
    Compat, EmbeddedSource, Engine, EngineOptions, Health, ScrapeJob, Scraper, Store,
};
use promdash_tests::http_client;
use promdash_tests::scrape_support::{PageServer, ServedPage, engine_query, poll_until};

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn good(om: bool) -> ServedPage {
    let body = if om {
        "# TYPE good gauge\ngood{k=\"v\"} 1\n# EOF\n"
    } else {
        "# TYPE good gauge\ngood{k=\"v\"} 1\n"
    };
    ServedPage {
        content_type: (if om { OM } else { TEXT }).into(),
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_page_fails_its_scrape_and_loses_nothing() -> anyhow::Result<()> {
    let cases = malformed_cases::malformed_pages();
    assert!(cases.len() >= 150, "only {} malformed pages", cases.len());
    let n = cases.len();
    let server = PageServer::start(cases.iter().map(|(om, _)| good(*om)).collect()).await?;
    let store = Arc::new(RwLock::new(Store::default()));
    // One job per page: the targets share host:port, so `job` tells their series apart.
    let jobs = (0..n)
        .map(|i| {
            let mut job = ScrapeJob::new(format!("m{i}"), vec![server.url(i)], http_client());
            job.interval = Duration::from_millis(500);
            job.timeout = Duration::from_millis(500);
            job
        })
        .collect();
    let scraper = Scraper::start(store.clone(), jobs);
    let engine = EmbeddedSource::new(
        store.clone(),
        Engine::new(EngineOptions {
            compat: Compat::V2,
            ..EngineOptions::default()
        }),
    );
    poll_until(
        "every target UP on its good page",
        Duration::from_secs(30),
        || {
            let up = scraper.targets().iter().all(|t| t.health == Health::Up);
            async move { Ok(up) }
        },
    )
    .await?;
    let good_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    assert_eq!(
        engine_query(&engine, "count(good)", Some(good_at))?[0].value,
        n as f64
    );

    server.set(
        cases
            .iter()
            .map(|(om, body)| ServedPage {
                content_type: (if *om { OM } else { TEXT }).into(),
                body: body.clone(),
            })
            .collect(),
    );
    poll_until(
        "every target DOWN on its malformed page",
        Duration::from_secs(30),
        || {
            let down = scraper.targets().iter().all(|t| t.health == Health::Down);
            async move { Ok(down) }
        },
    )
    .await?;
    let targets = scraper.targets();
    for (t, (om, body)) in targets.iter().zip(&cases) {
        let e = t.last_error.as_deref().unwrap_or("");
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]);
        assert!(
            e.starts_with("malformed page at line ") && e.contains(", column "),
            "{} (OpenMetrics: {om}) page {shown:?}: {e:?}",
            t.url
        );
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    let up = engine_query(&engine, r#"sum(up{job=~"m[0-9]+"})"#, Some(now))?;
    assert_eq!(up[0].value, 0.0, "{up:?}");
    assert_eq!(
        engine_query(&engine, r#"count(up{job=~"m[0-9]+"})"#, Some(now))?[0].value,
        n as f64
    );
    // The good series are stale now, and still there at the time they were scraped.
    assert!(engine_query(&engine, "good", Some(now))?.is_empty());
    assert_eq!(
        engine_query(&engine, "count(good)", Some(good_at))?[0].value,
        n as f64
    );
    scraper.stop().await;
    Ok(())
}
