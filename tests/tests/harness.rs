//! Tests of the harness itself: what other crates' tests rely on.

use std::time::Duration;

use promdash_tests::{Prometheus, ServiceConfig, promtool, start_service, wait_for_value};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_restarts_on_the_same_port_with_its_data() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    let mut prom = Prometheus::start(&[service.addr()])
        .await
        .expect("prometheus");
    let (port, first_pid) = (prom.port(), prom.pid());
    promdash_tests::http_get(format!("{}/process", service.url()))
        .await
        .expect("request");
    wait_for_value(&prom.url(), "sum(app_request_count_total)", 1.0, WAIT)
        .await
        .expect("scraped");

    prom.stop().await.expect("stop");
    assert!(prom.pid().is_none());
    assert!(
        promdash_tests::http_get(format!("{}/-/ready", prom.url()))
            .await
            .is_err()
    );

    prom.restart().await.expect("restart");
    assert_eq!(prom.port(), port);
    assert_ne!(prom.pid(), first_pid);
    prom.wait_for_targets(1).await.expect("target up again");
    // Samples from before the restart are still there.
    let before = prom
        .query("max_over_time(app_request_count_total[10m])")
        .await
        .expect("query");
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].value, 1.0);
}

#[tokio::test]
async fn prometheus_evaluates_rule_files() {
    let rules = "groups:\n  - name: t\n    rules:\n      - record: promdash:answer\n        expr: vector(42)\n      - alert: AlwaysFiring\n        expr: vector(1) > 0\n";
    let prom = Prometheus::start_with_rules(&[] as &[&str], rules)
        .await
        .expect("prometheus");
    wait_for_value(&prom.url(), "promdash:answer", 42.0, WAIT)
        .await
        .expect("recording rule evaluated");
    wait_for_value(
        &prom.url(),
        "count(ALERTS{alertname=\"AlwaysFiring\"})",
        1.0,
        WAIT,
    )
    .await
    .expect("alert evaluated");
    let out = promtool::query_instant(&prom.url(), "promdash:answer").expect("promtool");
    assert!(out.contains("=> 42 @"), "{out}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let range = promtool::query_range(
        &prom.url(),
        "vector(7)",
        &(now - 10).to_string(),
        &now.to_string(),
        "5s",
    )
    .expect("promtool range");
    assert!(range.contains("7 @"), "{range}");
}

#[tokio::test]
async fn scrape_targets_must_be_loopback() {
    let err = Prometheus::start(&["192.0.2.1:9090"])
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
    let yaml = "scrape_configs:\n  - job_name: x\n    static_configs:\n      - targets: ['198.51.100.7:80']\n";
    let err = Prometheus::start_with_config(yaml)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}
