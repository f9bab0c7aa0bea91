//! The running dashboard with `--rules` and `--alertmanager` (the built binary in tmux),
//! against real Prometheus 2.42 and Alertmanager 0.25: the rule's firing alert reaches
//! Alertmanager from the scheduler, `s` in the alerts view makes a real silence (amtool
//! sees it), the alert shows as silenced, `S` then `x` expires it; an Alertmanager that
//! cannot be reached shows as send errors in the status bar.

use std::time::Duration;

use promdash_tests::alertmanager::wait_until;
use promdash_tests::tmux::Tmux;
use promdash_tests::workspace_bin::workspace_binary;
use promdash_tests::{Alertmanager, Prometheus};
use serde_json::Value;

const RULES: &str = r#"groups:
- name: e2e
  interval: 1s
  rules:
  - alert: AlwaysOn
    expr: vector(1) > 0
    labels:
      severity: page
    annotations:
      summary: always on
"#;

/// A dashboard without `[[alerts]]`: the alerts view lists the rule file's alerts only.
const DASHBOARD: &str = "title = \"e2e\"\nrefresh = \"5s\"\n\n[[panels]]\ntitle = \"One\"\n\
kind = \"stat\"\nquery = \"vector(1)\"\n";

fn start(
    name: &str,
    dir: &std::path::Path,
    prom: &str,
    alertmanager: &str,
) -> anyhow::Result<Tmux> {
    std::fs::write(dir.join("rules.yml"), RULES)?;
    std::fs::write(dir.join("dash.toml"), DASHBOARD)?;
    let args: Vec<String> = [
        "--url",
        prom,
        "-d",
        &dir.join("dash.toml").display().to_string(),
        "--rules",
        &dir.join("rules.yml").display().to_string(),
        "--alertmanager",
        alertmanager,
        "--alertmanager-label",
        "promdash=e2e",
        "--log-file",
        &dir.join("promdash.log").display().to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let home = dir.display().to_string();
    Tmux::start(
        name,
        (120, 40),
        &workspace_binary("promdash", "PROMDASH_BIN")?,
        &args,
        &[("HOME", home.as_str()), ("USER", "tester")],
    )
}

fn silences(am: &Alertmanager) -> Vec<Value> {
    let out = am
        .amtool(&["silence", "query", "-o", "json"])
        .expect("amtool silence query");
    serde_json::from_str(&out).expect("amtool prints JSON")
}

/// The rule's `AlwaysOn` alert once `am` has it (the dashboard's screen when it never comes).
async fn always_on_in(am: &Alertmanager, tmux: &Tmux) -> Value {
    wait_until("AlwaysOn in Alertmanager", async || {
        Ok(am
            .alerts_json()
            .await?
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "AlwaysOn"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nscreen:\n{}", tmux.screen()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_alerts_reach_alertmanager_and_the_silence_key_silences_them_there() {
    let prom = Prometheus::start_with_config("global:\n  scrape_interval: 1h\n")
        .await
        .expect("prometheus starts");
    let am = Alertmanager::start().await.expect("alertmanager starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let tmux = start("am-e2e", dir.path(), &prom.url(), &am.url()).expect("promdash in tmux");
    let limit = Duration::from_secs(60);

    // The scheduler's first evaluation fires the alert (no `for`); the notifier sends it.
    let alert = always_on_in(&am, &tmux).await;
    assert_eq!(
        alert["labels"],
        serde_json::json!({"alertname": "AlwaysOn", "severity": "page", "promdash": "e2e"})
    );
    assert_eq!(alert["annotations"]["summary"], "always on");
    assert_eq!(
        alert["generatorURL"],
        format!("{}/graph?g0.expr=vector%281%29+%3E+0&g0.tab=1", prom.url())
    );

    tmux.keys(&["a"]).expect("keys");
    tmux.wait_for("the rule's alert and the Alertmanager panel", limit, |s| {
        s.contains("AlwaysOn") && s.contains("Alertmanager") && s.contains("ACTIVE")
    })
    .await
    .expect("alerts view");
    tmux.keys(&["s"]).expect("keys");
    tmux.wait_for("the silence dialog", limit, |s| {
        s.contains("New silence") && s.contains("alertname=\"AlwaysOn\"")
    })
    .await
    .expect("dialog");
    tmux.keys(&["-l", "e2e maintenance"]).expect("keys");
    tmux.keys(&["Enter"]).expect("keys");
    let silence = wait_until("the silence in amtool's list", async || {
        Ok(silences(&am)
            .into_iter()
            .find(|s| s["comment"] == "e2e maintenance"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nscreen:\n{}", tmux.screen()));
    assert_eq!(silence["createdBy"], "tester");
    let id = silence["id"].as_str().expect("id").to_owned();
    let mut names: Vec<&str> = silence["matchers"]
        .as_array()
        .expect("matchers")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alertname", "severity"]);
    tmux.wait_for("the alert silenced", limit, |s| {
        s.contains("SILENCED") && s.contains("silenced in Alertmanager")
    })
    .await
    .expect("silenced in the panel and on the rule's row");

    tmux.keys(&["S"]).expect("keys");
    tmux.wait_for("the silences list", limit, |s| {
        s.contains("Active silences") && s.contains("e2e maintenance")
    })
    .await
    .expect("list");
    tmux.keys(&["x"]).expect("keys");
    wait_until("the silence expired", async || {
        Ok(silences(&am)
            .iter()
            .all(|s| s["id"] != id.as_str())
            .then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nscreen:\n{}", tmux.screen()));
    tmux.wait_for("the list empty", limit, |s| {
        s.contains("no active silences")
    })
    .await
    .expect("list emptied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alertmanager_that_cannot_be_reached_shows_as_send_errors() {
    let prom = Prometheus::start_with_config("global:\n  scrape_interval: 1h\n")
        .await
        .expect("prometheus starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let dead = format!(
        "http://127.0.0.1:{}",
        promdash_tests::free_port().expect("port")
    );
    let tmux = start("am-dead", dir.path(), &prom.url(), &dead).expect("promdash in tmux");
    tmux.wait_for(
        "send errors in the status bar",
        Duration::from_secs(60),
        |s| s.contains("AM: 1 send error"),
    )
    .await
    .expect("status bar");
    // The alerts view says which Alertmanager and why.
    tmux.keys(&["a"]).expect("keys");
    tmux.wait_for(
        "the failure in the alerts view",
        Duration::from_secs(60),
        |s| s.contains(&format!("{dead}: ")) && s.contains("refused"),
    )
    .await
    .expect("alerts view");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_engine_rule_alerts_are_sent_without_a_graph_link() {
    let service = promdash_tests::start_service(promdash_tests::ServiceConfig::ephemeral())
        .await
        .expect("service starts");
    let am = Alertmanager::start().await.expect("alertmanager starts");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("rules.yml"), RULES).expect("rules");
    let args: Vec<String> = vec![
        "--scrape".into(),
        format!("http://{}/metrics", service.addr()),
        "--rules".into(),
        dir.path().join("rules.yml").display().to_string(),
        "--alertmanager".into(),
        am.url(),
        "--log-file".into(),
        dir.path().join("promdash.log").display().to_string(),
    ];
    let home = dir.path().display().to_string();
    let tmux = Tmux::start(
        "am-embedded",
        (120, 40),
        &workspace_binary("promdash", "PROMDASH_BIN").expect("promdash builds"),
        &args,
        &[("HOME", home.as_str())],
    )
    .expect("promdash in tmux");
    let alert = always_on_in(&am, &tmux).await;
    assert_eq!(
        alert["labels"]["promdash"],
        promdash_queries::alertmanager::notifier::hostname().as_str(),
        "the default label names this host: {alert:#}"
    );
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "no server page on the embedded engine: {alert:#}"
    );
}
