//! `promdash check --rules FILE --alertmanager URL`: the alerts of one check run, pushed to
//! a real Alertmanager 0.25 from the built binary, against a real Prometheus 2.42.

use std::process::Command;

use promdash_tests::Alertmanager;
use promdash_tests::Prometheus;
use promdash_tests::workspace_bin::workspace_binary;

const RULES: &str = r#"groups:
- name: check
  rules:
  - alert: AlwaysOn
    expr: vector(1) > 0
    labels:
      severity: page
    annotations:
      summary: 'value {{ $value }}'
  - alert: NeverOn
    expr: vector(0) > 1
"#;

fn promdash(args: &[&str]) -> (i32, String, String) {
    let bin = workspace_binary("promdash", "PROMDASH_BIN").expect("promdash builds");
    let out = Command::new(bin)
        .args(args)
        .env_remove("PROMDASH_ALERTMANAGER")
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("promdash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_run_pushes_its_firing_alerts_and_names_an_alertmanager_it_could_not_reach() {
    let prom = Prometheus::start_with_config("global:\n  scrape_interval: 1h\n")
        .await
        .expect("prometheus starts");
    let am = Alertmanager::start().await.expect("alertmanager starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).expect("rule file");
    let rules = rules.display().to_string();
    let url = prom.url();
    let am_url = am.url();

    let (code, out, err) = promdash(&[
        "check",
        "--url",
        &url,
        "--rules",
        &rules,
        "--alertmanager",
        &am_url,
        "--alertmanager-label",
        "sender=ci",
    ]);
    assert_eq!(code, 1, "firing: exit 1\nstdout: {out}\nstderr: {err}");
    assert!(out.contains("FIRING   AlwaysOn"), "{out}");
    let alerts = am.alerts_json().await.expect("alerts");
    let ours: Vec<_> = alerts
        .iter()
        .filter(|a| a["labels"]["sender"] == "ci")
        .collect();
    assert_eq!(ours.len(), 1, "only the firing alert is sent: {alerts:#?}");
    let a = ours[0];
    assert_eq!(
        a["labels"],
        serde_json::json!({"alertname": "AlwaysOn", "severity": "page", "sender": "ci"})
    );
    assert_eq!(a["annotations"]["summary"], "value 1");
    assert_eq!(
        a["generatorURL"],
        format!("{url}/graph?g0.expr=vector%281%29+%3E+0&g0.tab=1")
    );

    // The default label names this host; --no-alertmanager-label sends none.
    let (code, _, err) = promdash(&[
        "check",
        "--url",
        &url,
        "--rules",
        &rules,
        "--alertmanager",
        &am_url,
        "--no-alertmanager-label",
    ]);
    assert_eq!(code, 1, "{err}");
    let alerts = am.alerts_json().await.expect("alerts");
    assert!(
        alerts.iter().any(
            |a| a["labels"] == serde_json::json!({"alertname": "AlwaysOn", "severity": "page"})
        ),
        "{alerts:#?}"
    );

    // An Alertmanager that cannot be reached: exit 2, named, the other still served.
    let dead = format!(
        "http://127.0.0.1:{}",
        promdash_tests::free_port().expect("port")
    );
    let both = format!("{dead},{am_url}");
    let (code, out, err) = promdash(&[
        "check",
        "--url",
        &url,
        "--rules",
        &rules,
        "--alertmanager",
        &both,
        "--alertmanager-label",
        "sender=second",
    ]);
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(
        err.contains(&format!("alerts not sent to Alertmanager {dead}")),
        "{err}"
    );
    let alerts = am.alerts_json().await.expect("alerts");
    assert!(alerts.iter().any(|a| a["labels"]["sender"] == "second"));
}
