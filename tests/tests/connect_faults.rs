//! Issue 6: the client through a fault-injecting proxy in front of a real Prometheus.
//! Each fault gives the expected error with a message a user can act on, nothing panics,
//! oversized answers are refused without being read whole, and the same client works
//! again once the proxy is healthy.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use promdash_queries::client::DEFAULT_MAX_RESPONSE_BYTES;
use promdash_queries::{ClientConfig, PromClient, QueryError};
use promdash_tests::Prometheus;
use promdash_tests::connect::fault_proxy::HUGE_BODY_BYTES;
use promdash_tests::connect::{FaultMode, FaultProxy};

const TIMEOUT: Duration = Duration::from_secs(2);

async fn ask(client: &PromClient) -> Result<f64, QueryError> {
    let r = client.query("vector(1) + 1", None).await?;
    Ok(r.as_scalar().map_or(f64::NAN, |s| s.v))
}

async fn healthy(client: &PromClient, proxy: &FaultProxy) {
    proxy.set_mode(FaultMode::Healthy);
    let v = ask(client).await;
    assert_eq!(v.ok(), Some(2.0), "the client must recover once healthy");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let r = client
        .query_range("vector(5)", now - 30.0, now, Duration::from_secs(5))
        .await
        .expect("range query through a healthy proxy");
    assert_eq!(r.series_count(), 1);
}

/// Waits until the proxy stops writing (the client hung up), then returns how much of
/// the huge bodies it wrote.
async fn huge_bytes_settled(proxy: &FaultProxy) -> u64 {
    let mut last = proxy.huge_bytes_sent();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = proxy.huge_bytes_sent();
        if now == last {
            break;
        }
        last = now;
    }
    last
}

fn readable(err: &QueryError, proxy: &FaultProxy) -> String {
    let msg = err.to_string();
    assert!(msg.contains(&proxy.url()), "names the server: {msg}");
    assert!(msg.len() < 1000, "short enough to read: {msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    msg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_give_clear_errors_and_the_client_recovers() -> anyhow::Result<()> {
    let prom = Prometheus::start::<String>(&[]).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    let client = PromClient::new(ClientConfig {
        timeout: TIMEOUT,
        ..ClientConfig::new(proxy.url())
    })?;
    assert_eq!(client.redacted_url(), proxy.url());
    healthy(&client, &proxy).await;

    // A hanging server: abandoned at the timeout.
    proxy.set_mode(FaultMode::Hang);
    let started = Instant::now();
    let err = ask(&client).await.expect_err("a hang must time out");
    let waited = started.elapsed();
    assert!(matches!(err, QueryError::Timeout { .. }), "{err:?}");
    assert!(waited >= TIMEOUT && waited < TIMEOUT * 5, "{waited:?}");
    let msg = readable(&err, &proxy);
    assert!(msg.contains("2s") && msg.contains("--timeout"), "{msg}");
    assert!(err.is_unreachable());
    healthy(&client, &proxy).await;

    // A connection reset before any answer.
    proxy.set_mode(FaultMode::Reset);
    let err = ask(&client).await.expect_err("a reset must fail");
    assert!(matches!(err, QueryError::Transport { .. }), "{err:?}");
    readable(&err, &proxy);
    assert!(err.is_unreachable());
    healthy(&client, &proxy).await;

    // A body cut short: a transport error, not a decoding error about half a JSON.
    proxy.set_mode(FaultMode::Truncate);
    let err = ask(&client).await.expect_err("a cut body must fail");
    assert!(matches!(err, QueryError::Transport { .. }), "{err:?}");
    readable(&err, &proxy);
    let err = client.buildinfo().await.expect_err("a cut body must fail");
    assert!(matches!(err, QueryError::Transport { .. }), "{err:?}");
    healthy(&client, &proxy).await;

    // A proxy's HTML 502 page: the status, a hint and the start of the page.
    proxy.set_mode(FaultMode::Html502);
    let err = ask(&client).await.expect_err("a 502 must fail");
    assert!(
        matches!(err, QueryError::Http { status: 502, .. }),
        "{err:?}"
    );
    let msg = readable(&err, &proxy);
    assert!(msg.contains("502 Bad Gateway"), "{msg}");
    assert!(
        !msg.contains("<html") && !msg.contains("\\r\\n"),
        "page text, not markup: {msg}"
    );
    assert!(msg.contains("gateway"), "{msg}");
    assert!(err.is_unreachable());
    let err = client.targets().await.expect_err("a 502 must fail");
    assert_eq!(err.http_status(), Some(502), "{err:?}");
    assert!(client.ready().await.is_err());
    healthy(&client, &proxy).await;

    // 100 MiB announced by Content-Length: refused at once, before the body is read.
    proxy.set_mode(FaultMode::Huge {
        content_length: true,
    });
    let before = proxy.requests();
    let err = ask(&client).await.expect_err("100 MiB must be refused");
    assert_eq!(proxy.requests(), before + 1);
    assert!(
        matches!(err, QueryError::TooLarge { limit, .. } if limit == DEFAULT_MAX_RESPONSE_BYTES),
        "{err:?}"
    );
    let msg = readable(&err, &proxy);
    assert!(msg.contains("limit"), "{msg}");
    let sent = huge_bytes_settled(&proxy).await;
    assert!(
        sent < HUGE_BODY_BYTES / 4,
        "the client read {sent} bytes of a body it had refused"
    );
    healthy(&client, &proxy).await;

    // 100 MiB without a length: read only up to the (default, 64 MiB) limit, then refused.
    proxy.set_mode(FaultMode::Huge {
        content_length: false,
    });
    let start_sent = proxy.huge_bytes_sent();
    let err = ask(&client).await.expect_err("100 MiB must be refused");
    assert!(matches!(err, QueryError::TooLarge { .. }), "{err:?}");
    let sent = huge_bytes_settled(&proxy).await - start_sent;
    assert!(
        sent < HUGE_BODY_BYTES - 16 * 1024 * 1024,
        "the client read {sent} of {HUGE_BODY_BYTES} bytes"
    );
    healthy(&client, &proxy).await;

    // With a small configured limit, hardly anything is read.
    let small = PromClient::new(ClientConfig {
        timeout: TIMEOUT,
        max_response_bytes: 1024 * 1024,
        ..ClientConfig::new(proxy.url())
    })?;
    proxy.set_mode(FaultMode::Huge {
        content_length: false,
    });
    let start_sent = proxy.huge_bytes_sent();
    let err = ask(&small).await.expect_err("over 1 MiB must be refused");
    assert!(
        matches!(err, QueryError::TooLarge { limit, .. } if limit == 1024 * 1024),
        "{err:?}"
    );
    let sent = huge_bytes_settled(&proxy).await - start_sent;
    assert!(sent < 32 * 1024 * 1024, "a 1 MiB limit read {sent} bytes");
    healthy(&small, &proxy).await;
    healthy(&client, &proxy).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_queries_do_not_block_each_other() -> anyhow::Result<()> {
    let prom = Prometheus::start::<String>(&[]).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    let client = PromClient::new(ClientConfig {
        timeout: TIMEOUT,
        ..ClientConfig::new(proxy.url())
    })?;
    proxy.set_mode(FaultMode::Hang);
    // Twelve panels' queries at once, all hanging: all time out, together.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { ask(&c).await }));
    }
    for t in tasks {
        let err = t.await?.expect_err("hangs");
        assert!(matches!(err, QueryError::Timeout { .. }), "{err:?}");
    }
    assert!(started.elapsed() < TIMEOUT * 5, "{:?}", started.elapsed());
    assert_eq!(proxy.requests(), 12);
    healthy(&client, &proxy).await;
    Ok(())
}
