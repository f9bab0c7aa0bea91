//! Issue 18, items 7 and 8: the real `promdash-service` binary survives slow clients and
//! counts the requests its clients abandon.
//!
//! - Half-open connections (a request head never finished), more of them than the open
//!   files limit allows (set to 64 with util-linux's `prlimit`), neither block new clients
//!   for good nor exhaust descriptors: the header-read timeout closes them, the
//!   connection limit closes what is beyond it at once and says so in the log.
//! - A shutdown finishes within its deadline while a request and a half-open connection
//!   are still open.
//! - Requests whose client gave up are counted with `status="499"`, exactly as many as
//!   were abandoned, their latency observed up to the moment the client left.

use std::time::{Duration, Instant};

use promdash_tests::ServiceBinary;
use promdash_tests::exposition::{parse, value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(60);

/// A connection that sends the start of a request head and then nothing.
async fn half_open(addr: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"GET /process HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await?;
    Ok(s)
}

async fn metrics(url: &str) -> anyhow::Result<Vec<promdash_tests::exposition::Sample>> {
    let text = promdash_tests::http_get(format!("{url}/metrics"))
        .await?
        .text()
        .await?;
    parse(&text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_beyond_the_descriptor_limit_do_not_block_new_clients() {
    let service = ServiceBinary::start_with_nofile(64, &["--header-read-timeout", "2s"])
        .await
        .expect("the service starts under prlimit --nofile=64");
    let addr = service.addr();
    // 200 half-open connections: three times the descriptors the service may open.
    let mut held = Vec::new();
    for _ in 0..200 {
        if let Ok(s) = half_open(addr).await {
            held.push(s);
        }
    }
    // A well-behaved client gets its answer (retrying while the slots are taken).
    let client = promdash_queries::tls::http_client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + WAIT;
    let answered = loop {
        let r = client
            .get(format!("{}/process?delay_ms=0", service.url()))
            .send()
            .await;
        if let Ok(r) = r {
            break r.status();
        }
        assert!(
            Instant::now() < deadline,
            "no answer while half-open connections are held; log:\n{}",
            service.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answered, 200);
    let log = service.log();
    assert!(
        log.contains("connection limit reached"),
        "the limit is logged:\n{log}"
    );
    // Every half-open connection has been closed by the service: reading gives EOF (or a
    // reset), never blocks past the header-read timeout.
    for mut s in held {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(WAIT, async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(
            read.is_ok(),
            "a half-open connection stayed open; log:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_what_is_still_open_after_its_deadline() {
    let mut service = ServiceBinary::start(&[
        "--shutdown-timeout",
        "1s",
        "--header-read-timeout",
        "300s",
        "--request-timeout",
        "300s",
    ])
    .await
    .expect("the service starts");
    let url = service.url();
    // One request that would take a minute, and one connection that never sends its head.
    let slow = tokio::spawn({
        let url = url.clone();
        async move {
            promdash_queries::tls::http_client_builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("client")
                .get(format!("{url}/process?delay_ms=60000"))
                .send()
                .await
        }
    });
    let _held = half_open(service.addr()).await.expect("connect");
    let deadline = Instant::now() + WAIT;
    loop {
        let m = metrics(&url).await.expect("/metrics");
        if value(&m, "app_in_flight_requests", &[]) == Some(1.0) {
            break;
        }
        assert!(Instant::now() < deadline, "the slow request never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service.signal("TERM").expect("SIGTERM");
    // Far less than the request's minute: the deadline closed it.
    let exited = service
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("wait");
    assert!(
        exited.is_some_and(|s| s.success()),
        "still running or failed 30 s after SIGTERM: {exited:?}; log:\n{}",
        service.log()
    );
    assert!(
        service.log().contains("shutdown deadline of 1s passed"),
        "{}",
        service.log()
    );
    let r = slow.await.expect("task");
    assert!(r.is_err(), "the slow request was cut: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_abandoned_by_the_client_are_counted_as_499() {
    const ABANDONED: usize = 25;
    let service = ServiceBinary::start(&[]).await.expect("the service starts");
    let url = service.url();
    let client = promdash_queries::tls::http_client_builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let mut tasks = Vec::new();
    for _ in 0..ABANDONED {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            client
                .get(format!("{url}/process?delay_ms=5000"))
                .send()
                .await
        }));
    }
    for t in tasks {
        let r = t.await.expect("task");
        assert!(
            r.as_ref().is_err_and(reqwest::Error::is_timeout),
            "the client gave up: {r:?}"
        );
    }
    let labels = [("method", "GET"), ("route", "/process"), ("status", "499")];
    let deadline = Instant::now() + WAIT;
    let m = loop {
        let m = metrics(&url).await.expect("/metrics");
        if value(&m, "app_request_count_total", &labels) == Some(ABANDONED as f64) {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "499s counted: {:?}, want {ABANDONED}",
            value(&m, "app_request_count_total", &labels)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let route = [("method", "GET"), ("route", "/process")];
    assert_eq!(
        value(&m, "app_request_latency_seconds_count", &route),
        Some(ABANDONED as f64),
        "one latency sample per abandoned request"
    );
    // Observed when the client left, not when the 5 s of work would have ended.
    let le5 = [("method", "GET"), ("route", "/process"), ("le", "5")];
    assert_eq!(
        value(&m, "app_request_latency_seconds_bucket", &le5),
        Some(ABANDONED as f64)
    );
    // Nothing else was counted for /process.
    let all: f64 = m
        .iter()
        .filter(|s| {
            s.name == "app_request_count_total"
                && s.labels.get("route").map(String::as_str) == Some("/process")
        })
        .map(|s| s.value)
        .sum();
    assert_eq!(all, ABANDONED as f64);
}
