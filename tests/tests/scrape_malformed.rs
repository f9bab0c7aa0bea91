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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promdash_engine::{Health, ScrapeJob};
use promdash_tests::http_client;
use promdash_tests::scrape_support::{PageServer, ServedPage, engine_query, scrape_embedded};

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
    // One job per page: the targets share host:port, so `job` tells their series apart.
    let jobs = (0..n)
        .map(|i| {
            let mut job = ScrapeJob::new(format!("m{i}"), vec![server.url(i)], http_client());
            // A timeout is not what this test is about: on a loaded machine 150 targets
            // at 0.5 s timed out now and then, so give each scrape a second.
            job.interval = Duration::from_secs(1);
            job.timeout = Duration::from_secs(1);
            job
        })
        .collect();
    let (scraper, engine) = scrape_embedded(
        jobs,
        "every target UP on its good page",
        Duration::from_secs(30),
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
    // Every target DOWN with its page's parse error (line and column), all at once; a
    // scrape that timed out on a loaded machine is simply scraped again.
    let malformed = |e: &str| e.starts_with("malformed page at line ") && e.contains(", column ");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let targets = scraper.targets();
        let wrong: Vec<String> = targets
            .iter()
            .zip(&cases)
            .filter(|(t, _)| {
                t.health != Health::Down || !malformed(t.last_error.as_deref().unwrap_or(""))
            })
            .map(|(t, (om, body))| {
                let shown = String::from_utf8_lossy(&body[..body.len().min(60)]);
                format!(
                    "{} {:?} (OpenMetrics: {om}) page {shown:?}: {:?}",
                    t.url, t.health, t.last_error
                )
            })
            .collect();
        if wrong.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every target DOWN with a parse error within 60 s:\n{}",
            wrong.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
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
