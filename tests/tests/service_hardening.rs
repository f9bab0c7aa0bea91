//! Service hardening through the real `promdash-service` binary and its flags (the
//! in-process router tests in service/tests/app.rs cover the same behaviour from a
//! `ServiceConfig`; these check the flags reach it): `--metrics-listen` moves `/metrics`
//! to its own address, `/admin/*` exists only with `--admin`, `--request-timeout` answers
//! 408, `--body-limit` 413, and `--max-concurrency` 503 at once — each counted in the
//! request metrics.

use std::time::{Duration, Instant};

use promdash_tests::{ServiceBinary, free_port};

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(promdash_queries::tls::http_client_builder()
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// The value of the sample line starting with `series` in a text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_flags_reach_the_service() -> anyhow::Result<()> {
    let metrics_addr = format!("127.0.0.1:{}", free_port()?);
    let service = ServiceBinary::start(&[
        "--metrics-listen",
        &metrics_addr,
        "--admin",
        "--request-timeout",
        "1s",
        "--body-limit",
        "1024",
        "--max-concurrency",
        "2",
        "--latency-ms",
        "1",
        "--jitter-ms",
        "0",
    ])
    .await?;
    let http = client()?;
    let api = service.url();
    let metrics_url = format!("http://{metrics_addr}/metrics");

    // /metrics lives on its own address only.
    let r = http.get(format!("{api}/metrics")).send().await?;
    assert_eq!(r.status(), 404, "/metrics on the API address");
    let r = http.get(&metrics_url).send().await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("app_build_info"));

    // --admin: /admin/faults answers.
    let r = http.get(format!("{api}/admin/faults")).send().await?;
    assert_eq!(r.status(), 200, "{}", r.text().await?);

    // --request-timeout 1s: a 3 s request answers 408 after about a second.
    let started = Instant::now();
    let r = http
        .get(format!("{api}/process?delay_ms=3000"))
        .send()
        .await?;
    assert_eq!(r.status(), 408);
    assert!(started.elapsed() < Duration::from_millis(2900));

    // --body-limit 1024: a 2 KiB body answers 413, on /process as on the admin route.
    for method in [reqwest::Method::GET, reqwest::Method::PUT] {
        let path = if method == reqwest::Method::GET {
            "process"
        } else {
            "admin/faults"
        };
        let r = http
            .request(method, format!("{api}/{path}"))
            .header("content-type", "application/json")
            .body(format!("{{\"pad\":\"{}\"}}", "x".repeat(2048)))
            .send()
            .await?;
        assert_eq!(r.status(), 413, "{path}");
    }

    // --max-concurrency 2: with two requests held, a third answers 503 at once.
    let slow = |http: reqwest::Client, url: String| {
        tokio::spawn(async move { http.get(url).send().await.map(|r| r.status().as_u16()) })
    };
    // Both held requests have their permits once the gauge shows them (the gauge and the
    // permit are taken in the same synchronous call). On a loaded machine the held
    // requests may end before the third is sent: then the round is tried again.
    let mut refused = false;
    for _round in 0..5 {
        let held = [
            slow(http.clone(), format!("{api}/process?delay_ms=800")),
            slow(http.clone(), format!("{api}/process?delay_ms=800")),
        ];
        let mut both_held = false;
        while !held.iter().all(|h| h.is_finished()) {
            let page = http.get(&metrics_url).send().await?.text().await?;
            if page.lines().any(|l| l == "app_in_flight_requests 2") {
                both_held = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let third = if both_held {
            Some(http.get(format!("{api}/process")).send().await?.status())
        } else {
            None
        };
        for h in held {
            assert_eq!(h.await??, 200);
        }
        // A 200 means the held ones ended first (or the bound is broken: then every round
        // answers 200 and the test fails below).
        if third.is_some_and(|status| status == 503) {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "no third request was refused in 5 rounds with two held"
    );
    let r = http.get(format!("{api}/process")).send().await?;
    assert_eq!(r.status(), 200, "the bound frees up");

    // Each refusal is counted, by status.
    let text = http.get(&metrics_url).send().await?.text().await?;
    for (route, status) in [
        ("/process", "408"),
        ("/process", "413"),
        ("/process", "503"),
    ] {
        let series = format!(
            "app_request_count_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}}"
        );
        assert_eq!(sample(&text, &series), Some(1.0), "{series} in:\n{text}");
    }
    // Admin calls are the operator's, not traffic: never counted.
    assert!(!text.contains("/admin"), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_admin_there_is_no_admin_route() -> anyhow::Result<()> {
    let service = ServiceBinary::start(&[]).await?;
    let http = client()?;
    for method in [reqwest::Method::GET, reqwest::Method::PUT] {
        let r = http
            .request(method.clone(), format!("{}/admin/faults", service.url()))
            .body("{}")
            .send()
            .await?;
        assert_eq!(r.status(), 404, "{method} /admin/faults without --admin");
    }
    // Without --metrics-listen, /metrics is on the API address.
    let r = http
        .get(format!("{}/metrics", service.url()))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    Ok(())
}
