//! `promdash check --rules FILE --external-label k=v`: templates see `$externalLabels` as
//! they do in Prometheus with `global.external_labels`. The same rule file is loaded into a
//! real Prometheus 2.42 with those external labels; the labels and annotations promdash
//! renders equal Prometheus's `/api/v1/alerts`, and the alerts pushed to a real
//! Alertmanager 0.25 carry the external labels, as Prometheus's notifier adds them.
//!
//! Needs `prometheus` and `prometheus-alertmanager` (Debian: apt-get install prometheus
//! prometheus-alertmanager); a missing one fails the test naming it.

use std::process::Command;
use std::time::{Duration, Instant};

use promdash_tests::workspace_bin::workspace_binary;
use promdash_tests::{Alertmanager, Prometheus};
use serde_json::Value;

const RULES: &str = r#"groups:
- name: ext
  rules:
  - alert: SiteCheck
    expr: vector(1) > 0
    labels:
      site_copy: '{{ $externalLabels.site }}'
    annotations:
      summary: 'at {{ $externalLabels.site }} in {{ $externalLabels.region }}: {{ $value }}'
      all: '{{ $externalLabels }}'
      upper: '{{ .ExternalLabels.region | toUpper }}'
"#;

fn promdash(args: &[&str]) -> (i32, String, String) {
    let bin = workspace_binary("promdash", "PROMDASH_BIN").expect("promdash builds");
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("promdash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Prometheus's firing `SiteCheck`, once its rule manager has evaluated it.
async fn prometheus_alert(prom: &Prometheus) -> Value {
    let http = promdash_tests::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body: Value = http
            .get(format!("{}/api/v1/alerts", prom.url()))
            .send()
            .await
            .expect("alerts answer")
            .json()
            .await
            .expect("json");
        if let Some(a) = body["data"]["alerts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["state"] == "firing"))
        {
            return a.clone();
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus has no firing alert after 30 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_rules_renders_external_labels_as_prometheus_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).expect("rule file");
    let rules = rules.display().to_string();
    let prom = Prometheus::start_with_config(&format!(
        "global:\n  evaluation_interval: 1s\n  external_labels:\n    site: lab\n    region: eu\n\
         rule_files: ['{rules}']\n"
    ))
    .await
    .expect("prometheus starts");
    let theirs = prometheus_alert(&prom).await;
    let am = Alertmanager::start().await.expect("alertmanager starts");
    let url = prom.url();
    let am_url = am.url();

    let (code, out, err) = promdash(&[
        "check",
        "--url",
        &url,
        "--rules",
        &rules,
        "--external-label",
        "site=lab",
        "--external-label",
        "region=eu",
        "--alertmanager",
        &am_url,
        "--alertmanager-label",
        "sender=ext",
    ]);
    assert_eq!(code, 1, "firing: exit 1\nstdout: {out}\nstderr: {err}");
    // The templated label and the summary as Prometheus rendered them.
    let site = theirs["labels"]["site_copy"].as_str().expect("label");
    let summary = theirs["annotations"]["summary"].as_str().expect("summary");
    assert_eq!((site, summary), ("lab", "at lab in eu: 1"), "{theirs}");
    let line = format!("FIRING   SiteCheck{{site_copy=\"{site}\"}}  value 1  {summary}");
    assert!(
        out.lines().any(|l| l == line),
        "promdash:\n{out}\nPrometheus: {theirs}"
    );
    // Every annotation, through what Alertmanager received.
    let alerts = am.alerts_json().await.expect("alerts");
    let ours: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["sender"] == "ext")
        .collect();
    assert_eq!(ours.len(), 1, "{alerts:#?}");
    assert_eq!(
        ours[0]["annotations"], theirs["annotations"],
        "promdash (through Alertmanager) and Prometheus"
    );
    // The external labels are on the alert sent, as Prometheus's notifier adds them.
    assert_eq!(
        ours[0]["labels"],
        serde_json::json!({
            "alertname": "SiteCheck", "site_copy": "lab", "site": "lab", "region": "eu",
            "sender": "ext"
        })
    );

    // Without them the templates see none; Prometheus would render the same.
    let (code, out, err) = promdash(&["check", "--url", &url, "--rules", &rules]);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains("at lab"), "{out}");

    // A bad label name and the option without --rules are refused (exit 2, named).
    let (code, _, err) = promdash(&[
        "check",
        "--url",
        &url,
        "--rules",
        &rules,
        "--external-label",
        "1site=lab",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1site"), "{err}");
    let (code, _, err) = promdash(&["check", "--url", &url, "--external-label", "site=lab"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--rules"), "{err}");
}
