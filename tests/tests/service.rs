//! End-to-end tests of promdash-service over real HTTP, scraped by a real Prometheus
//! and VictoriaMetrics, and as its real binary receiving real signals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use promdash_service::{LoadConfig, run_load};
use promdash_tests::exposition::{self, Sample};
use promdash_tests::{
    Faults, Prometheus, ServiceBinary, ServiceConfig, VictoriaMetrics, promtool, service_command,
    start_service, wait_for_value,
};

/// How long a scraped value may take to show up in a query.
const WAIT: Duration = Duration::from_secs(30);

async fn scrape(client: &reqwest::Client, base: &str) -> Vec<Sample> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body");
    exposition::parse(&text).expect("valid exposition")
}

/// Sends `n` GETs of `path` with `concurrency` workers; returns the count per status.
async fn hammer(
    base: &str,
    paths: &[&str],
    n: u64,
    concurrency: usize,
) -> BTreeMap<(String, u16), u64> {
    let client = promdash_queries::tls::http_client_builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let next = Arc::new(AtomicU64::new(0));
    let paths: Arc<Vec<String>> = Arc::new(paths.iter().map(|p| (*p).to_owned()).collect());
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, next, paths, base) =
            (client.clone(), next.clone(), paths.clone(), base.to_owned());
        workers.push(tokio::spawn(async move {
            let mut seen: BTreeMap<(String, u16), u64> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return seen;
                }
                let path = &paths[(i % paths.len() as u64) as usize];
                let resp = client
                    .get(format!("{base}{path}"))
                    .send()
                    .await
                    .expect("every request gets an answer");
                let status = resp.status().as_u16();
                resp.bytes().await.expect("body");
                *seen.entry((path.clone(), status)).or_default() += 1;
            }
        }));
    }
    let mut total = BTreeMap::new();
    for w in workers {
        for (k, v) in w.await.expect("worker") {
            *total.entry(k).or_default() += v;
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_requests_at_concurrency_64_are_counted_exactly() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    let paths = [
        "/process",
        "/process?fail=1",
        "/process",
        "/process?delay_ms=oops",
        "/process",
        "/healthz",
        "/no/such/route",
        "/process?delay_ms=0",
    ];
    let sent = hammer(&service.url(), &paths, 20_000, 64).await;
    assert_eq!(sent.values().sum::<u64>(), 20_000);

    let mut by_labels: BTreeMap<(&str, String), u64> = BTreeMap::new();
    for ((path, status), n) in &sent {
        let route = match path.split('?').next() {
            Some("/process") => "/process",
            Some("/healthz") => "/healthz",
            _ => "unmatched",
        };
        *by_labels.entry((route, status.to_string())).or_default() += n;
    }
    let s = scrape(&promdash_tests::http_client(), &service.url()).await;
    for ((route, status), n) in &by_labels {
        let got = exposition::value(
            &s,
            "app_request_count_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        );
        assert_eq!(got, Some(*n as f64), "route={route} status={status}");
    }
    assert_eq!(exposition::sum(&s, "app_request_count_total"), 20_000.0);
    assert_eq!(
        exposition::sum(&s, "app_request_latency_seconds_count"),
        20_000.0
    );
    assert_eq!(
        exposition::sum(&s, "app_error_count_total"),
        by_labels[&("/process", "500".to_owned())] as f64
    );
    assert_eq!(
        exposition::value(&s, "app_in_flight_requests", &[]),
        Some(0.0)
    );
    service.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn metrics_pass_promtool_check_metrics() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    hammer(
        &service.url(),
        &[
            "/process",
            "/process?fail=1",
            "/process?fail=x",
            "/nope",
            "/healthz",
            "/readyz",
        ],
        60,
        4,
    )
    .await;
    let resp = promdash_tests::http_get(format!("{}/metrics", service.url()))
        .await
        .expect("GET /metrics");
    assert_eq!(
        resp.headers()[reqwest::header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = resp.text().await.expect("body");
    assert!(text.contains("app_request_latency_seconds_bucket"));
    promtool::check_metrics(&text).expect("promtool check metrics passes");
    // And the check can fail: a counter without its _total suffix is reported.
    let bad = "# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n";
    assert!(promtool::check_metrics(bad).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_service() {
    // 150 ms ± 10 ms lands in the (0.1, 0.25] bucket, with room for a busy machine.
    let service = start_service(ServiceConfig {
        faults: Faults {
            latency_ms: 150,
            jitter_ms: 10,
            error_rate: 0.0,
        },
        ..ServiceConfig::ephemeral()
    })
    .await
    .expect("service");
    let prom = Prometheus::start(&[service.addr()])
        .await
        .expect("prometheus");

    let up = prom.query("up").await.expect("query up");
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].value, 1.0);
    assert_eq!(up[0].labels["instance"], service.addr().to_string());

    let sent = hammer(&service.url(), &["/process"], 400, 32).await;
    assert_eq!(sent[&("/process".to_owned(), 200)], 400);

    wait_for_value(&prom.url(), "sum(app_request_count_total)", 400.0, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prom.log()));
    let out = promtool::query_instant(&prom.url(), "sum(app_request_count_total)")
        .expect("promtool query");
    assert!(out.contains("=> 400 @"), "promtool says: {out}");

    let p95 = prom
        .query(
            "histogram_quantile(0.95, sum(rate(app_request_latency_seconds_bucket[15s])) by (le))",
        )
        .await
        .expect("quantile");
    assert_eq!(p95.len(), 1, "{p95:?}");
    assert!(
        (0.1..=0.25).contains(&p95[0].value),
        "p95 {} is outside the bucket (0.1, 0.25] holding 150 ms",
        p95[0].value
    );
    service.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_scrapes_the_service() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    let vm = VictoriaMetrics::start(&[service.addr()])
        .await
        .expect("victoria-metrics");
    hammer(&service.url(), &["/process", "/process?fail=1"], 300, 8).await;
    wait_for_value(&vm.url(), "sum(app_request_count_total)", 300.0, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
    wait_for_value(&vm.url(), "sum(app_error_count_total)", 150.0, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish() {
    let mut service = ServiceBinary::start(&["--latency-ms", "0", "--jitter-ms", "0"])
        .await
        .expect("service binary");
    let client = promdash_tests::http_client();
    let in_flight: Vec<_> = (0..8)
        .map(|_| {
            let req = client.get(format!("{}/process?delay_ms=1500", service.url()));
            tokio::spawn(async move { req.send().await.map(|r| r.status()) })
        })
        .collect();
    // Wait until the service holds all eight.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = scrape(&client, &service.url()).await;
        if exposition::value(&s, "app_in_flight_requests", &[]) == Some(8.0) {
            break;
        }
        assert!(Instant::now() < deadline, "requests never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    service.signal("TERM").expect("kill -TERM");
    for r in in_flight {
        let status = r.await.expect("task").expect("answered despite SIGTERM");
        assert_eq!(status, reqwest::StatusCode::OK);
    }
    let status = service
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("wait")
        .unwrap_or_else(|| panic!("still running after SIGTERM:\n{}", service.log()));
    assert!(status.success(), "exit status {status}\n{}", service.log());
    assert!(
        service.log().contains("SIGTERM received"),
        "{}",
        service.log()
    );
    assert!(
        promdash_tests::http_get(format!("{}/healthz", service.url()))
            .await
            .is_err(),
        "no new connections after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_generator_holds_200_rps_for_5_seconds() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    let summary = run_load(LoadConfig {
        target: format!("{}/process", service.url()),
        rps: 200.0,
        duration: Some(Duration::from_secs(5)),
        concurrency: 32,
        timeout: Duration::from_secs(5),
    })
    .await
    .expect("load");
    assert!(
        (summary.achieved_rps - 200.0).abs() <= 20.0,
        "achieved {summary}"
    );
    assert!(summary.sent.abs_diff(1000) <= 100, "{summary}");
    assert_eq!(summary.ok, summary.sent, "{summary}");
    assert_eq!(summary.errors, 0, "{summary}");
    assert!(
        summary.p50.is_some() && summary.p95 >= summary.p50,
        "{summary}"
    );
    let s = scrape(&promdash_tests::http_client(), &service.url()).await;
    assert_eq!(
        exposition::sum(&s, "app_request_count_total"),
        summary.sent as f64,
        "the service saw every request the generator sent"
    );
}

/// `promdash-service load` at 40 requests/s (4 at a time) for `duration` on
/// `base_url/process?fail=1` (every one a 500); checks that it succeeds.
async fn failing_load(base_url: &str, duration: &str) -> std::process::Output {
    let mut cmd = service_command().expect("binary");
    cmd.args(["load", "--target", &format!("{base_url}/process?fail=1")])
        .args(["--rps", "40", "--duration", duration, "--concurrency", "4"]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("task")
        .expect("run load");
    assert!(out.status.success(), "{out:?}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_subcommand_prints_one_summary_line() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    let out = failing_load(&service.url(), "1s").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let field = |name: &str| -> u64 {
        lines[0]
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name}= in {stdout}"))
    };
    assert!(field("sent").abs_diff(40) <= 4, "{stdout}");
    assert_eq!(field("ok"), 0, "{stdout}");
    assert_eq!(field("errors"), field("sent"), "{stdout}");
    assert!(lines[0].contains("p95="), "{stdout}");
    let s = scrape(&promdash_tests::http_client(), &service.url()).await;
    assert_eq!(
        exposition::value(
            &s,
            "app_error_count_total",
            &[("method", "GET"), ("route", "/process"), ("status", "500")]
        ),
        Some(field("sent") as f64)
    );
}

/// `load` reports once a second on stderr (time, sent so far, the second's rate, errors
/// so far, the second's p95); stdout keeps only the summary line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_subcommand_reports_progress_every_second() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    let out = failing_load(&service.url(), "3500ms").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let field = |line: &str, name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .map(|v| v.trim_end_matches("/s").trim_end_matches("ms"))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name}= in {line:?} of {stderr}"))
    };
    let reports: Vec<&str> = stderr.lines().filter(|l| l.contains(" sent=")).collect();
    assert!(
        reports.len() >= 3,
        "one report a second for 3.5 s:\n{stderr}"
    );
    let mut last_sent = 0.0;
    for (k, line) in reports.iter().enumerate() {
        assert!(line.starts_with(&format!("{}s ", k + 1)), "{line:?}");
        let sent = field(line, "sent");
        assert!(sent > last_sent, "{stderr}");
        last_sent = sent;
        assert!(field(line, "rate") > 0.0, "{line:?}");
        // Every request fails (?fail=1): errors follow sent, counted as answered.
        assert!(field(line, "errors") <= sent, "{line:?}");
        assert!(field(line, "p95") > 0.0, "{line:?}");
    }
    let summary_sent = stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("sent="))
        .and_then(|v| v.parse::<f64>().ok())
        .expect("sent= in the summary");
    assert!(last_sent <= summary_sent, "{stderr}\n{stdout}");
}
