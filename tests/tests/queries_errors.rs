//! Issue 3: real error paths, each giving the right `QueryError` variant and a message a
//! user can act on: PromQL syntax error (400 bad_data), many-to-one match (422
//! execution), `timeout=1ms` on a heavy query (503 timeout), a range of more than 11,000
//! points, an answer over the size limit, VictoriaMetrics' own error answers, connection
//! refused, a server answering HTML 404, and a server that accepts and never answers.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, ensure};
use promdash_queries::error::{ErrorType, QueryError};
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::queries_support::VictoriaReceiver;
use promdash_tests::{Prometheus, ServiceConfig, start_service};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn api_error(e: &QueryError) -> Option<(u16, &ErrorType, &str)> {
    match e {
        QueryError::Api {
            status,
            error_type,
            message,
        } => Some((*status, error_type, message)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_rejections_keep_status_type_and_message() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let prom = Prometheus::start(&[service.addr()]).await?;
    let client = PromClient::new(ClientConfig::new(prom.url()))?;

    // Syntax error: 400 bad_data, Prometheus's message kept.
    let e = client
        .query("sum(app_request_count_total", None)
        .await
        .expect_err("a syntax error");
    let (status, kind, message) = api_error(&e).with_context(|| format!("{e:?}"))?;
    ensure!(status == 400 && *kind == ErrorType::BadData, "{e:?}");
    ensure!(message.contains("parse error"), "{message}");
    let text = e.to_string();
    ensure!(
        text.contains("bad_data")
            && text.contains("parse error")
            && text.contains("fix the expression"),
        "{text}"
    );
    ensure!(!e.is_unreachable());

    // Many-to-one without group_left: 422 execution.
    let many = r#"(label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")) / on() vector(1)"#;
    let e = client.query(many, None).await.expect_err("many-to-one");
    let (status, kind, message) = api_error(&e).with_context(|| format!("{e:?}"))?;
    ensure!(status == 422 && *kind == ErrorType::Execution, "{e:?}");
    ensure!(message.contains("many-to-one"), "{message}");
    ensure!(
        e.to_string().contains("group_left"),
        "says what to check: {e}"
    );

    // More than 11,000 points per series: 400 bad_data with the server's explanation.
    let end = now();
    let e = client
        .query_range("up", end - 20_000.0, end, Duration::from_secs(1))
        .await
        .expect_err("too many points");
    let (status, kind, message) = api_error(&e).with_context(|| format!("{e:?}"))?;
    ensure!(status == 400 && *kind == ErrorType::BadData, "{e:?}");
    ensure!(message.contains("11,000"), "{message}");

    // Prometheus's own `timeout` of 1 ms on a heavy query: 503 timeout.
    let hurried = PromClient::new(ClientConfig {
        query_timeout: Some(Duration::from_millis(1)),
        ..ClientConfig::new(prom.url())
    })?;
    // Heavy whatever the data: a one-hour subquery at 1 s resolution for every second of
    // an hour (13 million evaluations).
    let heavy = "count_over_time(vector(1)[1h:1s])";
    let e = hurried
        .query_range(heavy, end - 3600.0, end, Duration::from_secs(1))
        .await
        .expect_err("a 1 ms timeout");
    let (status, kind, message) = api_error(&e).with_context(|| format!("{e:?}"))?;
    ensure!(status == 503 && *kind == ErrorType::Timeout, "{e:?}");
    ensure!(message.contains("timed out"), "{message}");
    ensure!(e.to_string().contains("narrow it"), "{e}");
    ensure!(!e.is_unreachable(), "a slow query is not a server down");
    // Without the 1 ms limit the same expression over 5 s works: the limit was the cause.
    let r = client
        .query_range(heavy, end - 5.0, end, Duration::from_secs(1))
        .await?;
    ensure!(r.point_count() >= 5, "{r:?}");

    // An answer larger than the limit is refused.
    let small = PromClient::new(ClientConfig {
        max_response_bytes: 200,
        ..ClientConfig::new(prom.url())
    })?;
    let e = small
        .query(r#"{__name__=~".+"}"#, None)
        .await
        .expect_err("too large");
    ensure!(
        matches!(e, QueryError::TooLarge { limit: 200, .. }),
        "{e:?}"
    );
    ensure!(e.to_string().contains("200 bytes"), "{e}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_rejections_keep_its_error_type() -> anyhow::Result<()> {
    let vm = VictoriaReceiver::start().await?;
    let client = PromClient::new(ClientConfig::new(vm.url()))?;
    let e = client
        .query("sum(up", None)
        .await
        .expect_err("a syntax error");
    let (status, kind, message) = api_error(&e).with_context(|| format!("{e:?}"))?;
    // VictoriaMetrics puts the HTTP status in errorType: kept as text.
    ensure!(status == 422 || status == 400, "{e:?}");
    ensure!(*kind == ErrorType::Other(status.to_string()), "{e:?}");
    ensure!(message.contains("sum(up"), "{message}");
    // Path prefix VictoriaMetrics serves the API under.
    let prefixed = PromClient::new(ClientConfig::new(format!("{}/prometheus", vm.url())))?;
    let r = prefixed.query("vector(7)", None).await?;
    ensure!(r.as_scalar().map(|s| s.v) == Some(7.0), "{r:?}");
    Ok(())
}

#[tokio::test]
async fn connection_refused_is_unreachable() -> anyhow::Result<()> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let client = PromClient::new(ClientConfig::new(format!("http://127.0.0.1:{port}")))?;
    let e = client.query("up", None).await.expect_err("nothing listens");
    ensure!(matches!(e, QueryError::ConnectionRefused { .. }), "{e:?}");
    ensure!(e.is_unreachable());
    let text = e.to_string();
    ensure!(
        text.contains("connection refused")
            && text.contains("--url")
            && text.contains(&port.to_string()),
        "{text}"
    );
    Ok(())
}

/// A tiny HTTP server on 127.0.0.1 answering every request (at most `n`) with `response`.
async fn canned_server(response: String, n: usize) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        for _ in 0..n {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let mut read = 0;
            // Read the request head (bounded), then answer and close.
            while read < buf.len() {
                match sock.read(&mut buf[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => read += k,
                }
                if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let _ = sock.write_all(response.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    Ok(url)
}

#[tokio::test]
async fn html_404_quotes_status_and_body() -> anyhow::Result<()> {
    const BODY: &str = "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>No such page on this proxy.</p></body></html>";
    let response = format!(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let url = canned_server(response, 4).await?;
    let client = PromClient::new(ClientConfig::new(url))?;
    let e = client.query("up", None).await.expect_err("a 404 page");
    ensure!(matches!(e, QueryError::Http { status: 404, .. }), "{e:?}");
    ensure!(!e.is_unreachable(), "a wrong path is not a server down");
    let text = e.to_string();
    ensure!(
        text.contains("404")
            && text.contains("No such page on this proxy")
            && text.contains("path prefix"),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn server_that_never_answers_times_out() -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    // Accept connections and hold them open without a byte of answer (bounded).
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..4 {
            if let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(held);
    });
    let client = PromClient::new(ClientConfig {
        timeout: Duration::from_secs(1),
        ..ClientConfig::new(url)
    })?;
    let started = Instant::now();
    let e = client.query("up", None).await.expect_err("no answer");
    let took = started.elapsed();
    ensure!(matches!(e, QueryError::Timeout { .. }), "{e:?}");
    ensure!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "the 1 s timeout fired after {took:?}"
    );
    ensure!(e.is_unreachable());
    let text = e.to_string();
    ensure!(text.contains("--timeout") && text.contains("1s"), "{text}");
    holder.abort();
    Ok(())
}
