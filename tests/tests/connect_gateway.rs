//! Issue 6: the client through a Mimir/Cortex-style gateway (Debian's nginx in front of
//! a real Prometheus) that serves the API under `/prometheus/` and wants
//! `Authorization: Bearer <token>` and `X-Scope-OrgID`.

use std::time::Duration;

use promdash_queries::{ClientConfig, PromClient, QueryError, Secret};
use promdash_tests::Prometheus;
use promdash_tests::connect::Gateway;

const TOKEN: &str = "tok-3f9a1c0e7b2d4a68";

fn config(url: &str, token: Option<&str>, tenant: Option<&str>) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        bearer_token: token.map(Secret::from),
        headers: tenant
            .map(|t| vec![("X-Scope-OrgID".to_owned(), Secret::from(t))])
            .unwrap_or_default(),
        ..ClientConfig::new(url)
    }
}

async fn query(url: &str, token: Option<&str>, tenant: Option<&str>) -> Result<f64, QueryError> {
    let client = PromClient::new(config(url, token, tenant))?;
    let r = client.query("vector(1) + 41", None).await?;
    Ok(r.as_scalar().map_or(f64::NAN, |s| s.v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_and_tenant_header_gateway() -> anyhow::Result<()> {
    let prom = Prometheus::start::<String>(&[]).await?;
    let upstream = format!("127.0.0.1:{}", prom.port());
    let gateway = Gateway::start(&upstream, TOKEN).await?;
    let url = gateway.url();

    // Both: instant queries, the other API calls and long (POSTed) expressions pass.
    assert_eq!(
        query(&url, Some(TOKEN), Some("team-a")).await?,
        42.0,
        "gateway log:\n{}",
        gateway.log()
    );
    let client = PromClient::new(config(&url, Some(TOKEN), Some("team-a")))?;
    assert!(client.ready().await?);
    assert!(client.buildinfo().await?.version.starts_with("2."));
    client.label_names(&[]).await?;
    let long = format!("vector(1) + 0 * ({})", vec!["vector(1)"; 200].join(" + "));
    assert!(long.len() > promdash_queries::client::POST_THRESHOLD);
    let r = client.query(&long, None).await?;
    assert_eq!(r.as_scalar().map(|s| s.v), Some(1.0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    let r = client
        .query_range("vector(3)", now - 60.0, now, Duration::from_secs(15))
        .await?;
    assert_eq!(r.series_count(), 1);

    // The tenant header missing: a 401 that suggests it.
    let err = query(&url, Some(TOKEN), None)
        .await
        .expect_err("no tenant header must fail");
    let msg = err.to_string();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert!(msg.contains("missing tenant header?"), "{msg}");
    assert!(msg.contains("X-Scope-OrgID"), "{msg}");
    assert!(!msg.contains(TOKEN), "{msg}");

    // The bearer token missing or wrong: a 401 that names the token.
    let err = query(&url, None, Some("team-a"))
        .await
        .expect_err("no bearer token must fail");
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert!(err.to_string().contains("bearer token"), "{err}");
    let err = query(&url, Some("not-the-token"), Some("team-a"))
        .await
        .expect_err("a wrong bearer token must fail");
    let msg = err.to_string();
    assert!(msg.contains("check the bearer token"), "{msg}");
    assert!(!msg.contains("not-the-token"), "{msg}");

    // Neither: both hints.
    let err = query(&url, None, None)
        .await
        .expect_err("no credentials must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("bearer token") && msg.contains("missing tenant header?"),
        "{msg}"
    );
    assert!(!err.is_unreachable(), "a 401 is an answer: {err:?}");

    // The path prefix forgotten: a 404 that says so.
    let no_prefix = url.trim_end_matches("/prometheus").to_owned();
    let err = query(&no_prefix, Some(TOKEN), Some("team-a"))
        .await
        .expect_err("the API is not at the root");
    assert_eq!(err.http_status(), Some(404), "{err:?}");
    assert!(err.to_string().contains("path prefix"), "{err}");

    // And the gateway still serves the right request afterwards.
    assert_eq!(query(&url, Some(TOKEN), Some("team-b")).await?, 42.0);
    Ok(())
}
