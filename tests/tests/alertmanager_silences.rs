//! Silences made by promdash in a real Alertmanager 0.25, checked with its own `amtool`,
//! and amtool's silences seen by promdash.

use std::time::Duration;

use promdash_queries::ClientConfig;
use promdash_queries::alertmanager::time::{now_ms, parse_ms};
use promdash_queries::alertmanager::{
    AlertQuery, AlertmanagerClient, PostableAlert, SilenceRequest, parse_matchers,
};
use promdash_tests::Alertmanager;
use promdash_tests::alertmanager::wait_until;
use serde_json::Value;

fn labels(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Two firing alerts, pushed with the library.
async fn setup() -> (Alertmanager, AlertmanagerClient) {
    let am = Alertmanager::start().await.expect("alertmanager starts");
    let client = AlertmanagerClient::new(ClientConfig::new(am.url())).expect("client");
    let now = now_ms();
    let alert = |instance: &str| PostableAlert {
        labels: labels(&[
            ("alertname", "DiskFull"),
            ("job", "db"),
            ("instance", instance),
            ("severity", "warning"),
        ]),
        annotations: labels(&[("summary", "disk almost full")]),
        starts_at: promdash_queries::alertmanager::time::format_ms(now),
        ends_at: promdash_queries::alertmanager::time::format_ms(now + 3_600_000),
        generator_url: String::new(),
    };
    client
        .post_alerts(&[alert("db-1:9100"), alert("db-2:9100")])
        .await
        .expect("alerts posted");
    (am, client)
}

/// `amtool silence query -o json` (active ones, or `--expired`).
fn amtool_silences(am: &Alertmanager, expired: bool) -> Vec<Value> {
    let mut args = vec!["silence", "query", "-o", "json"];
    if expired {
        args.push("--expired");
    }
    let out = am.amtool(&args).expect("amtool silence query");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("amtool printed {out:?}: {e}"))
}

async fn silenced_by(client: &AlertmanagerClient, instance: &str) -> Option<Vec<String>> {
    let alerts = client.alerts(&AlertQuery::default()).await.ok()?;
    alerts
        .into_iter()
        .find(|a| a.labels.get("instance").map(String::as_str) == Some(instance))
        .map(|a| a.status.silenced_by)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_made_in_promdash_is_seen_by_amtool_silences_the_alert_and_expires() {
    let (am, client) = setup().await;
    let alerts = client.alerts(&AlertQuery::default()).await.expect("alerts");
    let target = alerts
        .iter()
        .find(|a| a.labels["instance"] == "db-1:9100")
        .expect("the alert is there");
    assert!(!target.is_silenced());
    let mut req = SilenceRequest::for_labels(&target.labels);
    req.created_by = "alice".into();
    assert!(req.build(now_ms()).is_err(), "no comment, no silence");
    req.comment = "replacing the disk".into();
    let start = now_ms();
    let id = client
        .create_silence(&req.build(start).expect("valid silence"))
        .await
        .expect("silence created");

    let listed = amtool_silences(&am, false);
    let s = listed
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap_or_else(|| panic!("amtool does not list {id}: {listed:#?}"));
    assert_eq!(s["createdBy"], "alice");
    assert_eq!(s["comment"], "replacing the disk");
    assert_eq!(s["status"]["state"], "active");
    let mut matchers: Vec<(String, String, bool, bool)> = s["matchers"]
        .as_array()
        .expect("matchers")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().to_owned(),
                m["value"].as_str().unwrap_or_default().to_owned(),
                m["isRegex"].as_bool().unwrap_or(true),
                m["isEqual"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    matchers.sort();
    let want = |n: &str, v: &str| (n.to_owned(), v.to_owned(), false, true);
    assert_eq!(
        matchers,
        [
            want("alertname", "DiskFull"),
            want("instance", "db-1:9100"),
            want("job", "db"),
            want("severity", "warning"),
        ]
    );
    let ends = parse_ms(s["endsAt"].as_str().unwrap_or_default()).expect("endsAt");
    assert_eq!(ends - start, 3_600_000, "an hour by default: {s:#}");
    // The simple listing names it too.
    assert!(
        am.amtool(&["silence", "query"])
            .expect("amtool")
            .contains(&id)
    );

    // The alert it matches is silenced by it; the other one is not.
    wait_until("db-1 silenced by the new silence", async || {
        Ok(silenced_by(&client, "db-1:9100")
            .await
            .filter(|ids| ids == std::slice::from_ref(&id)))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", am.log()));
    assert_eq!(silenced_by(&client, "db-2:9100").await, Some(Vec::new()));
    let alerts = client.alerts(&AlertQuery::default()).await.expect("alerts");
    let a = alerts
        .iter()
        .find(|a| a.labels["instance"] == "db-1:9100")
        .expect("still listed");
    assert_eq!(a.status.state, "suppressed");
    let active = client.silences().await.expect("silences");
    assert!(active.iter().any(|s| s.id == id && s.is_active()));

    // Expired from promdash: amtool lists it as expired only, the alert is active again.
    client.expire_silence(&id).await.expect("expired");
    assert!(
        amtool_silences(&am, false)
            .iter()
            .all(|s| s["id"] != id.as_str())
    );
    assert!(
        amtool_silences(&am, true)
            .iter()
            .any(|s| s["id"] == id.as_str() && s["status"]["state"] == "expired")
    );
    wait_until("db-1 no longer silenced", async || {
        Ok(silenced_by(&client, "db-1:9100")
            .await
            .filter(Vec::is_empty)
            .map(drop))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_matchers_go_to_alertmanager_as_written() {
    let (am, client) = setup().await;
    let mut req = SilenceRequest::for_labels(&labels(&[("alertname", "DiskFull")]));
    req.matchers =
        parse_matchers(r#"alertname="DiskFull", instance=~"db-[12]:.*", severity!="info""#)
            .expect("matchers parse");
    req.duration = Duration::from_secs(30 * 60);
    req.comment = "both db hosts".into();
    let id = client
        .create_silence(&req.build(now_ms()).expect("valid"))
        .await
        .expect("created");
    let listed = amtool_silences(&am, false);
    let s = listed
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{listed:#?}"));
    let ops: Vec<(bool, bool)> = ["alertname", "instance", "severity"]
        .iter()
        .map(|n| {
            let m = s["matchers"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["name"] == *n))
                .unwrap_or_else(|| panic!("no matcher {n}: {s:#}"));
            (
                m["isRegex"].as_bool().unwrap_or_default(),
                m["isEqual"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(ops, [(false, true), (true, true), (false, false)]);
    for instance in ["db-1:9100", "db-2:9100"] {
        wait_until("both alerts silenced", async || {
            Ok(silenced_by(&client, instance)
                .await
                .filter(|ids| ids.contains(&id))
                .map(drop))
        })
        .await
        .unwrap_or_else(|e| panic!("{instance}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_made_with_amtool_shows_as_silenced_in_promdash() {
    let (am, client) = setup().await;
    let out = am
        .amtool(&[
            "silence",
            "add",
            "alertname=DiskFull",
            "instance=db-2:9100",
            "--comment=from amtool",
            "--author=bob",
            "--duration=2h",
        ])
        .expect("amtool silence add");
    let id = out.trim().to_owned();
    assert!(!id.is_empty(), "amtool printed no id");
    wait_until("db-2 silenced by amtool's silence", async || {
        Ok(silenced_by(&client, "db-2:9100")
            .await
            .filter(|ids| ids == std::slice::from_ref(&id))
            .map(drop))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", am.log()));
    let alerts = client.alerts(&AlertQuery::default()).await.expect("alerts");
    let by_instance = |i: &str| {
        alerts
            .iter()
            .find(|a| a.labels["instance"] == i)
            .unwrap_or_else(|| panic!("{i} listed"))
    };
    assert!(by_instance("db-2:9100").is_silenced());
    assert!(!by_instance("db-1:9100").is_silenced());
    assert!(!by_instance("db-2:9100").is_inhibited());
    let silences = client.silences().await.expect("silences");
    let s = silences.iter().find(|s| s.id == id).expect("listed");
    assert!(s.is_active());
    assert_eq!(s.created_by, "bob");
    assert_eq!(s.comment, "from amtool");
    let d = parse_ms(&s.ends_at).expect("endsAt") - parse_ms(&s.starts_at).expect("startsAt");
    assert!((d - 7_200_000).abs() < 60_000, "two hours: {s:?}");
    // Only active (not silenced) alerts, when asked.
    let q = AlertQuery {
        silenced: false,
        ..AlertQuery::default()
    };
    let active = client.alerts(&q).await.expect("alerts");
    assert!(active.iter().all(|a| a.labels["instance"] != "db-2:9100"));
}
