//! In-process tests of the router: requests go through `tower::ServiceExt::oneshot`, the
//! counts are read back from the `/metrics` exposition text.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use promdash_service::{AppState, Faults, ServiceConfig, app};
use tower::ServiceExt as _;

fn router(config: &ServiceConfig) -> (Router, AppState) {
    let state = AppState::new(config).expect("metrics registry");
    (app(state.clone()), state)
}

fn quiet() -> ServiceConfig {
    ServiceConfig {
        faults: Faults::NONE,
        ..ServiceConfig::ephemeral()
    }
}

async fn send(router: &Router, method: Method, uri: &str, body: Body) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("valid request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get(router: &Router, uri: &str) -> (StatusCode, String) {
    send(router, Method::GET, uri, Body::empty()).await
}

/// One parsed sample line of the exposition: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn parse_exposition(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().expect("numeric value"),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_owned(), BTreeMap::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').expect("closing brace");
                    let labels = rest
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("label pair");
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
            };
            (name, labels, value)
        })
        .collect()
}

/// The value of the sample `name` whose labels are exactly `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == want)
        .map(|(_, _, v)| *v)
}

fn series_of<'a>(samples: &'a [Sample], name: &str) -> Vec<&'a Sample> {
    samples.iter().filter(|(n, _, _)| n == name).collect()
}

async fn scrape(router: &Router) -> Vec<Sample> {
    let (status, text) = get(router, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    parse_exposition(&text)
}

#[tokio::test]
async fn counts_every_label_set_exactly() {
    let (router, _) = router(&quiet());
    for _ in 0..7 {
        assert_eq!(get(&router, "/process").await.0, StatusCode::OK);
    }
    for _ in 0..3 {
        assert_eq!(
            get(&router, "/process?fail=1").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    for bad in ["/process?delay_ms=abc", "/process?fail=yes"] {
        let (status, body) = get(&router, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON error body");
        assert_eq!(json["error"], "bad_request", "{body}");
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    for path in ["/nope", "/process/extra", "/admin/faults", "/"] {
        assert_eq!(get(&router, path).await.0, StatusCode::NOT_FOUND);
    }
    let (status, _) = send(&router, Method::POST, "/process", Body::empty()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    for _ in 0..2 {
        assert_eq!(get(&router, "/healthz").await.0, StatusCode::OK);
    }
    assert_eq!(get(&router, "/readyz").await.0, StatusCode::OK);
    // Scrapes are not counted, however many.
    for _ in 0..3 {
        scrape(&router).await;
    }

    let s = scrape(&router).await;
    let count = |m: &str, r: &str, st: &str| {
        value(
            &s,
            "app_request_count_total",
            &[("method", m), ("route", r), ("status", st)],
        )
    };
    assert_eq!(count("GET", "/process", "200"), Some(7.0));
    assert_eq!(count("GET", "/process", "500"), Some(3.0));
    assert_eq!(count("GET", "/process", "400"), Some(2.0));
    assert_eq!(count("GET", "unmatched", "404"), Some(4.0));
    assert_eq!(count("POST", "/process", "405"), Some(1.0));
    assert_eq!(count("GET", "/healthz", "200"), Some(2.0));
    assert_eq!(count("GET", "/readyz", "200"), Some(1.0));
    let all = series_of(&s, "app_request_count_total");
    assert_eq!(all.len(), 7, "no other series: {all:?}");
    assert_eq!(all.iter().map(|(_, _, v)| v).sum::<f64>(), 20.0);
    assert!(
        all.iter().all(|(_, l, _)| l["route"] != "/metrics"),
        "/metrics must not be counted"
    );

    // Errors: 5xx only.
    let errors = series_of(&s, "app_error_count_total");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        value(
            &s,
            "app_error_count_total",
            &[("method", "GET"), ("route", "/process"), ("status", "500")]
        ),
        Some(3.0)
    );
    assert_eq!(value(&s, "app_in_flight_requests", &[]), Some(0.0));
    assert_eq!(
        value(
            &s,
            "app_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    #[cfg(target_os = "linux")]
    assert!(value(&s, "process_resident_memory_bytes", &[]).is_some_and(|v| v > 0.0));
}

#[tokio::test]
async fn histogram_count_and_inf_bucket_match_requests() {
    let (router, _) = router(&quiet());
    for _ in 0..5 {
        get(&router, "/process?delay_ms=12").await;
    }
    for _ in 0..4 {
        get(&router, "/process?fail=1").await;
    }
    get(&router, "/process?delay_ms=-3").await;
    for _ in 0..6 {
        get(&router, "/healthz").await;
    }

    let s = scrape(&router).await;
    for (route, n) in [("/process", 10.0), ("/healthz", 6.0)] {
        let labels = [("method", "GET"), ("route", route)];
        let count = value(&s, "app_request_latency_seconds_count", &labels);
        assert_eq!(count, Some(n), "{route}");
        let inf = value(
            &s,
            "app_request_latency_seconds_bucket",
            &[("method", "GET"), ("route", route), ("le", "+Inf")],
        );
        assert_eq!(inf, count, "+Inf bucket equals _count for {route}");
        let buckets: Vec<f64> = [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
        ]
        .iter()
        .map(|le| {
            value(
                &s,
                "app_request_latency_seconds_bucket",
                &[("method", "GET"), ("route", route), ("le", le)],
            )
            .expect("every default bucket is exposed")
        })
        .collect();
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "cumulative");
    }
    // Five requests slept 12 ms: at least 60 ms in _sum, and none of them under 10 ms.
    let sum = value(
        &s,
        "app_request_latency_seconds_sum",
        &[("method", "GET"), ("route", "/process")],
    )
    .expect("sum");
    assert!(sum >= 0.060, "sum {sum}");
    let under_10ms = value(
        &s,
        "app_request_latency_seconds_bucket",
        &[("method", "GET"), ("route", "/process"), ("le", "0.01")],
    )
    .expect("bucket");
    assert!(under_10ms <= 5.0, "only the 5 fast requests fit in 10 ms");
}

#[tokio::test]
async fn ten_thousand_unknown_paths_add_no_series() {
    let (router, _) = router(&quiet());
    get(&router, "/process").await;
    let before = scrape(&router).await.len();
    for i in 0..10_000 {
        let (status, _) = get(&router, &format!("/random/{i}/path-{}", i * 7)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let s = scrape(&router).await;
    let routes: std::collections::BTreeSet<&str> = s
        .iter()
        .filter(|(n, _, _)| n.starts_with("app_"))
        .filter_map(|(_, l, _)| l.get("route").map(String::as_str))
        .collect();
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        vec!["/process", "unmatched"]
    );
    assert_eq!(
        value(
            &s,
            "app_request_count_total",
            &[("method", "GET"), ("route", "unmatched"), ("status", "404")]
        ),
        Some(10_000.0)
    );
    // One count series + 14 histogram series for route="unmatched", nothing else new.
    let app_series = |v: &[Sample]| v.iter().filter(|(n, _, _)| n.starts_with("app_")).count();
    assert_eq!(
        app_series(&s),
        2 * 15 + 2,
        "two routes × (count + 14 histogram lines) + build_info + in_flight"
    );
    assert!(
        s.len() <= before + 15,
        "{} series after, {before} before",
        s.len()
    );
}

#[tokio::test]
async fn metrics_content_type_is_text_format_0_0_4() {
    let (router, _) = router(&quiet());
    let resp = router
        .clone()
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
}

#[tokio::test]
async fn process_answers_json() {
    let (router, _) = router(&quiet());
    let (status, body) = get(&router, "/process").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["ok"], true);
    assert!(json["value"].is_f64());
    let (status, body) = get(&router, "/process?fail=1").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["error"], "simulated_failure");
}

#[tokio::test]
async fn configured_error_rate_and_fail_override() {
    let config = ServiceConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::NONE
        },
        ..quiet()
    };
    let (router, _) = router(&config);
    assert_eq!(
        get(&router, "/process").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(get(&router, "/process?fail=0").await.0, StatusCode::OK);
}

#[tokio::test]
async fn admin_faults_only_with_admin() {
    let (plain, _) = router(&quiet());
    let body = r#"{"error_rate": 1.0}"#;
    let (status, _) = send(&plain, Method::PUT, "/admin/faults", Body::from(body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (admin, state) = router(&ServiceConfig {
        admin: true,
        ..quiet()
    });
    let (status, text) = send(&admin, Method::PUT, "/admin/faults", Body::from(body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        state.faults(),
        Faults {
            error_rate: 1.0,
            ..Faults::NONE
        }
    );
    assert_eq!(
        get(&admin, "/process").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let (status, text) = get(&admin, "/admin/faults").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        json,
        serde_json::json!({"latency_ms": 0, "jitter_ms": 0, "error_rate": 1.0})
    );

    for bad in [
        r#"{"error_rate": 2}"#,
        r#"{"latency_ms": -1}"#,
        r#"{"typo": 1}"#,
        "not json",
    ] {
        let (status, text) = send(&admin, Method::PUT, "/admin/faults", Body::from(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {text}");
        assert!(text.contains("\"error\""), "{text}");
    }
    assert_eq!(
        state.faults().error_rate,
        1.0,
        "refused updates change nothing"
    );

    // Admin calls (7 above, 4 of them refused) are not traffic: no request metric has
    // them, only the one /process request is counted.
    let s = scrape(&admin).await;
    let admin_series: Vec<_> = s
        .iter()
        .filter(|(_, l, _)| l.get("route").is_some_and(|r| r.starts_with("/admin")))
        .collect();
    assert!(admin_series.is_empty(), "{admin_series:?}");
    let requests: f64 = series_of(&s, "app_request_count_total")
        .iter()
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(requests, 1.0);
    assert_eq!(
        value(
            &s,
            "app_request_latency_seconds_count",
            &[("method", "GET"), ("route", "/process")]
        ),
        Some(1.0)
    );
    let errors: f64 = series_of(&s, "app_error_count_total")
        .iter()
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(errors, 1.0, "the refused admin calls are not errors either");
}

#[tokio::test]
async fn body_limit_answers_413() {
    let (router, _) = router(&ServiceConfig {
        admin: true,
        body_limit: 1024,
        ..quiet()
    });
    let big = format!(r#"{{"latency_ms": 1, "pad": "{}"}}"#, "x".repeat(4096));
    for (method, path) in [(Method::GET, "/process"), (Method::PUT, "/admin/faults")] {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big.clone()))
            .expect("request");
        let resp = router.clone().oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
    // Counted for /process; the admin route is guarded the same but never counted.
    let s = scrape(&router).await;
    assert_eq!(
        value(
            &s,
            "app_request_count_total",
            &[("method", "GET"), ("route", "/process"), ("status", "413")]
        ),
        Some(1.0)
    );
    assert_eq!(series_of(&s, "app_request_count_total").len(), 1);
}

#[tokio::test]
async fn request_timeout_answers_408() {
    let (router, _) = router(&ServiceConfig {
        request_timeout: Duration::from_millis(50),
        ..quiet()
    });
    assert_eq!(
        get(&router, "/process?delay_ms=2000").await.0,
        StatusCode::REQUEST_TIMEOUT
    );
    let s = scrape(&router).await;
    assert_eq!(
        value(
            &s,
            "app_request_count_total",
            &[("method", "GET"), ("route", "/process"), ("status", "408")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn concurrency_bound_answers_503_and_counts_it() {
    let (router, _) = router(&ServiceConfig {
        max_concurrency: Some(1),
        ..quiet()
    });
    let slow = tokio::spawn({
        let router = router.clone();
        async move { get(&router, "/process?delay_ms=400").await.0 }
    });
    // Wait until the slow request holds the only slot.
    for _ in 0..200 {
        let s = scrape(&router).await;
        if value(&s, "app_in_flight_requests", &[]) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (status, body) = get(&router, "/process").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(slow.await.expect("task"), StatusCode::OK);
    let s = scrape(&router).await;
    let labels = [("method", "GET"), ("route", "/process"), ("status", "503")];
    assert_eq!(value(&s, "app_request_count_total", &labels), Some(1.0));
    assert_eq!(value(&s, "app_error_count_total", &labels), Some(1.0));
}

#[tokio::test]
async fn readyz_follows_state() {
    let (router, state) = router(&quiet());
    assert_eq!(get(&router, "/readyz").await.0, StatusCode::OK);
    state.set_ready(false);
    assert_eq!(
        get(&router, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn without_metrics_layer_nothing_is_counted() {
    let (router, _) = router(&ServiceConfig {
        metrics_layer: false,
        ..quiet()
    });
    assert_eq!(get(&router, "/process").await.0, StatusCode::OK);
    let s = scrape(&router).await;
    assert!(series_of(&s, "app_request_count_total").is_empty());
}

#[tokio::test]
async fn separate_metrics_listener_over_http() {
    let service = promdash_service::spawn(ServiceConfig {
        metrics_listen: Some(([127, 0, 0, 1], 0).into()),
        ..quiet()
    })
    .await
    .expect("spawn");
    assert_ne!(service.addr(), service.metrics_addr());
    let client = promdash_service::load::http_client_builder()
        .build()
        .expect("client");
    let main = client
        .get(format!("{}/metrics", service.url()))
        .send()
        .await
        .expect("request");
    assert_eq!(main.status(), reqwest::StatusCode::NOT_FOUND);
    let text = client
        .get(format!("http://{}/metrics", service.metrics_addr()))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let s = parse_exposition(&text);
    assert_eq!(
        value(
            &s,
            "app_request_count_total",
            &[("method", "GET"), ("route", "unmatched"), ("status", "404")]
        ),
        Some(1.0)
    );
    service.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn one_handler_serving_two_methods_keeps_them_apart() {
    // axum serves HEAD with the GET handler: the layer's per-handler cache of the
    // GET/200 label set must not swallow HEAD requests.
    let (router, _) = router(&quiet());
    for _ in 0..3 {
        assert_eq!(get(&router, "/process").await.0, StatusCode::OK);
        let (status, _) = send(&router, Method::HEAD, "/process", Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
    }
    get(&router, "/process?fail=1").await;
    let s = scrape(&router).await;
    for (method, status, n) in [
        ("GET", "200", 3.0),
        ("HEAD", "200", 3.0),
        ("GET", "500", 1.0),
    ] {
        assert_eq!(
            value(
                &s,
                "app_request_count_total",
                &[
                    ("method", method),
                    ("route", "/process"),
                    ("status", status)
                ]
            ),
            Some(n),
            "{method} {status}"
        );
    }
    assert_eq!(
        value(
            &s,
            "app_request_latency_seconds_count",
            &[("method", "HEAD"), ("route", "/process")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn body_limit_also_holds_without_content_length() {
    let (router, state) = router(&ServiceConfig {
        admin: true,
        body_limit: 1024,
        ..quiet()
    });
    // No Content-Length header: the layer cannot refuse it up front, the handler's
    // bounded read does.
    let big = format!(r#"{{"error_rate": 1.0, "pad": "{}"}}"#, "x".repeat(4096));
    let req = Request::put("/admin/faults")
        .body(Body::from(big))
        .expect("request");
    assert!(req.headers().get(header::CONTENT_LENGTH).is_none());
    let resp = router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(state.faults(), Faults::NONE, "nothing changed");
}

#[tokio::test]
async fn an_enormous_timeout_means_no_timeout() {
    let (router, _) = router(&ServiceConfig {
        request_timeout: Duration::from_secs(u64::MAX),
        ..quiet()
    });
    assert_eq!(get(&router, "/process?delay_ms=20").await.0, StatusCode::OK);
}
