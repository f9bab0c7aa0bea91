//! `promdash import rules DASHBOARD.toml -o FILE.yml`: a dashboard's `[[alerts]]` tables
//! as a Prometheus rule file that Prometheus's own `promtool` accepts (`check rules`) and
//! that fires as the dashboard's alerts do (`test rules` on the converted file: a
//! threshold with `for`, labels and a templated summary; an alert without threshold).
//! An alert using a dashboard variable is left out, said on stderr and in the file.
//!
//! Needs `promtool` (Debian: apt-get install prometheus); a missing one fails the test
//! with that message.

use std::process::Command;

use anyhow::{Context as _, ensure};
use promdash_tests::connect::promdash_binary;
use promdash_tests::find_binary;

const DASHBOARD: &str = r#"title = "Service"
refresh = "15s"

[[variables]]
name = "job"
values = ["api"]

[[panels]]
title = "Up"
kind = "stat"
query = "sum(up)"

[[alerts]]
name = "TargetDown"
expr = "up"
op = "=="
threshold = 0
for = "1m"
severity = "critical"
summary = "{{ $labels.job }} is down (up={{ $value }})"

[[alerts]]
name = "Requests"
expr = 'sum by (job) (rate(requests_total[1m])) > 2'
severity = "info"

[[alerts]]
name = "ByVariable"
expr = 'up{job="$job"} == 0'
"#;

/// promtool's unit test of the converted file: TargetDown pending at 30s, firing at 2m
/// with the rendered summary; Requests (no threshold: any sample) firing at once.
const UNIT_TEST: &str = r#"rule_files: [converted.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'up{job="api", instance="a"}'
        values: '0x10'
      - series: 'up{job="db", instance="b"}'
        values: '1x10'
      - series: 'requests_total{job="api"}'
        values: '0+60x10'
    alert_rule_test:
      - eval_time: 30s
        alertname: TargetDown
        exp_alerts: []
      - eval_time: 2m
        alertname: TargetDown
        exp_alerts:
          - exp_labels: {job: api, instance: a, severity: critical}
            exp_annotations:
              summary: 'api is down (up=0)'
      - eval_time: 2m
        alertname: Requests
        exp_alerts:
          - exp_labels: {job: api, severity: info}
"#;

#[test]
fn converted_alerts_pass_promtool_check_and_test_rules() -> anyhow::Result<()> {
    let promtool = find_binary("promtool", "prometheus")?;
    let dir = tempfile::tempdir()?;
    let dashboard = dir.path().join("d.toml");
    std::fs::write(&dashboard, DASHBOARD)?;
    let converted = dir.path().join("converted.yml");
    let out = Command::new(promdash_binary()?)
        .args(["import", "rules"])
        .arg(&dashboard)
        .arg("-o")
        .arg(&converted)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "import rules failed: {stderr}");
    assert!(out.stdout.is_empty(), "the file goes to -o");
    assert!(
        stderr.contains("alert \"ByVariable\" left out") && stderr.contains("2 alerting rules"),
        "{stderr}"
    );
    let yaml = std::fs::read_to_string(&converted)?;
    assert!(yaml.contains("# alert \"ByVariable\" left out"), "{yaml}");

    let check = Command::new(&promtool)
        .args(["check", "rules"])
        .arg(&converted)
        .output()?;
    let text = String::from_utf8_lossy(&check.stdout);
    ensure!(
        check.status.success(),
        "promtool check rules rejects the converted file:\n{text}{}\n{yaml}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(text.contains("SUCCESS: 2 rules found"), "{text}");

    std::fs::write(dir.path().join("test.yml"), UNIT_TEST)?;
    let test = Command::new(&promtool)
        .args(["test", "rules", "test.yml"])
        .current_dir(dir.path())
        .output()
        .context("promtool test rules")?;
    ensure!(
        test.status.success(),
        "promtool test rules on the converted file:\n{}{}\n{yaml}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );

    // To standard output without -o; a broken dashboard is exit 2 naming it.
    let out = Command::new(promdash_binary()?)
        .args(["import", "rules"])
        .arg(&dashboard)
        .output()?;
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), yaml);
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[alerts]]\nname = 3\n")?;
    let out = Command::new(promdash_binary()?)
        .args(["import", "rules"])
        .arg(&broken)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.toml:2:"), "{stderr}");
    Ok(())
}
