//! Rule alerts pushed by promdash's notifier into a real Alertmanager 0.25: labels,
//! annotations, times, the graph link, resolutions, re-sends after a restart, batches.

use std::time::Duration;

use promdash_queries::ClientConfig;
use promdash_queries::alertmanager::time::{now_ms, parse_ms};
use promdash_queries::alertmanager::{
    AlertmanagerClient, GroupEvaluation, Notifier, NotifierConfig,
};
use promdash_queries::rules::eval::{EvalContext, GroupState};
use promdash_queries::rules::parse_rule_file;
use promdash_tests::alertmanager::{FixedAnswers, NULL_CONFIG, wait_until, webhook_config};
use promdash_tests::{Alertmanager, Recorder};
use serde_json::Value;

const RULES: &str = r#"groups:
- name: svc
  interval: 1s
  rules:
  - alert: HighErrorRate
    expr: rate(errors_total[1m]) > 0.5
    labels:
      severity: critical
      team: '{{ $labels.job }}-team'
    annotations:
      summary: 'errors on {{ $labels.instance }}: {{ $value }}'
"#;

fn group() -> GroupState {
    let f = parse_rule_file(RULES).expect("the test's rule file parses");
    GroupState::new(&f.groups[0], "svc.yml", Duration::from_secs(1))
}

fn notifier(ams: &[String], resend: Duration) -> Notifier {
    let clients = ams
        .iter()
        .map(|u| AlertmanagerClient::new(ClientConfig::new(u)).expect("valid URL"))
        .collect();
    let config = NotifierConfig {
        resend_delay: resend,
        external_labels: [("cluster".to_owned(), "eu".to_owned())].into(),
        source_label: Some(("promdash".into(), "test-host".into())),
        generator_base: Some("http://prom.example:9090".into()),
        ..NotifierConfig::default()
    };
    Notifier::new(config, clients)
}

/// Evaluates the group now and hands its alerts to the notifier; returns the evaluation
/// time and how many alerts were queued, after sending them.
async fn evaluate(g: &mut GroupState, b: &mut FixedAnswers, n: &Notifier) -> (i64, usize) {
    let ts = now_ms();
    g.eval(ts, b, &EvalContext::default());
    let queued = n.notify(&GroupEvaluation::of(g, ts));
    n.flush().await;
    (ts, queued)
}

fn ours<'a>(alerts: &'a [Value], job: &str) -> Option<&'a Value> {
    alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "HighErrorRate" && a["labels"]["job"] == job)
}

fn time_of(v: &Value) -> i64 {
    parse_ms(v.as_str().unwrap_or_default())
        .unwrap_or_else(|| panic!("{v} is not an RFC 3339 time"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_alerts_arrive_with_labels_annotations_and_times_and_resolutions_reach_it() {
    let hook = Recorder::start().await.expect("webhook recorder");
    let am = Alertmanager::start_with_config(&webhook_config(&format!("{}/hook", hook.url())))
        .await
        .expect("alertmanager starts");
    let n = notifier(&[am.url()], Duration::from_secs(60));
    let mut g = group();
    let mut b = FixedAnswers::default();
    b.set(
        &[
            &[("__name__", "x"), ("job", "api"), ("instance", "a:1")],
            &[("__name__", "x"), ("job", "web"), ("instance", "b:1")],
        ],
        2.0,
    );
    let (t0, queued) = evaluate(&mut g, &mut b, &n).await;
    assert_eq!(queued, 2);
    assert_eq!(n.stats().errors(), 0, "{:?}", n.stats());

    let alerts = am.alerts_json().await.expect("GET /api/v2/alerts");
    for (job, instance) in [("api", "a:1"), ("web", "b:1")] {
        let a = ours(&alerts, job)
            .unwrap_or_else(|| panic!("no {job} alert in Alertmanager: {alerts:#?}"));
        let want: Value = serde_json::json!({
            "alertname": "HighErrorRate", "severity": "critical", "team": format!("{job}-team"),
            "job": job, "instance": instance, "cluster": "eu", "promdash": "test-host",
        });
        assert_eq!(a["labels"], want, "{a:#}");
        assert_eq!(
            a["annotations"],
            serde_json::json!({"summary": format!("errors on {instance}: 2")})
        );
        assert_eq!(
            time_of(&a["startsAt"]),
            t0,
            "startsAt = when it fired: {a:#}"
        );
        assert_eq!(
            time_of(&a["endsAt"]),
            t0 + 4 * 60_000,
            "endsAt = now + 4 x max(1s, 1m): {a:#}"
        );
        assert_eq!(
            a["generatorURL"],
            "http://prom.example:9090/graph?g0.expr=rate%28errors_total%5B1m%5D%29+%3E+0.5&g0.tab=1"
        );
        assert_eq!(a["status"]["state"], "active");
    }

    // The server goes away: an evaluation error sends nothing, resolves nothing.
    b.error = Some("connection refused".into());
    let (_, queued) = evaluate(&mut g, &mut b, &n).await;
    assert_eq!(queued, 0);
    let alerts = am.alerts_json().await.expect("GET /api/v2/alerts");
    assert!(ours(&alerts, "web").is_some() && ours(&alerts, "api").is_some());

    // `web` recovers: its resolution goes at once (api is not due before a minute).
    b.set(
        &[&[("__name__", "x"), ("job", "api"), ("instance", "a:1")]],
        2.0,
    );
    let (t_resolved, queued) = evaluate(&mut g, &mut b, &n).await;
    assert_eq!(queued, 1);
    // Without the resolution it would stay listed for four minutes.
    wait_until(
        "the resolved alert leaves Alertmanager's active alerts",
        async || {
            let alerts = am.alerts_json().await?;
            Ok((ours(&alerts, "web").is_none() && ours(&alerts, "api").is_some()).then_some(()))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", am.log()));
    // And Alertmanager notifies it as resolved, ending when it resolved.
    let resolved = wait_until("a resolved notification for job=web", async || {
        Ok(hook.received().into_iter().find_map(|r| {
            r.body["alerts"].as_array()?.iter().find_map(|a| {
                (a["labels"]["job"] == "web" && a["status"] == "resolved").then(|| a.clone())
            })
        }))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nreceived: {:#?}\n{}", hook.received(), am.log()));
    assert_eq!(time_of(&resolved["endsAt"]), t_resolved, "{resolved:#}");
    assert_eq!(time_of(&resolved["startsAt"]), t0, "{resolved:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_firing_alerts_are_back_within_one_resend_delay() {
    let mut am = Alertmanager::start_with_config(NULL_CONFIG)
        .await
        .expect("alertmanager starts");
    let resend = Duration::from_secs(2);
    let n = notifier(&[am.url()], resend);
    let mut g = group();
    let mut b = FixedAnswers::default();
    b.set(&[&[("job", "api"), ("instance", "a:1")]], 3.0);
    let mut tick = tokio::time::interval(g.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let (mut last_sent, queued) = evaluate(&mut g, &mut b, &n).await;
    assert_eq!(queued, 1);
    assert!(ours(&am.alerts_json().await.expect("alerts"), "api").is_some());

    for keep_data in [true, false] {
        am.restart(keep_data).await.expect("alertmanager restarts");
        // Alertmanager keeps no alerts on disk: it starts empty either way.
        let alerts = am.alerts_json().await.expect("alerts");
        assert!(ours(&alerts, "api").is_none(), "{alerts:#?}");
        let mut evaluations = 0;
        loop {
            tick.tick().await;
            let (ts, queued) = evaluate(&mut g, &mut b, &n).await;
            evaluations += 1;
            let back = ours(&am.alerts_json().await.expect("alerts"), "api").is_some();
            let due = ts - last_sent > resend.as_millis() as i64;
            assert_eq!(
                queued > 0,
                due,
                "re-sent exactly when due (evaluation {evaluations})"
            );
            if queued > 0 {
                last_sent = ts;
            }
            assert_eq!(back, due, "back in Alertmanager once re-sent, not before");
            if back {
                break;
            }
            assert!(evaluations <= 10, "never re-sent: {:?}", n.stats());
        }
        // Evaluations every second, a resend delay of two: back at the third at most.
        assert!(
            evaluations <= 3,
            "{evaluations} evaluations after the restart"
        );
    }
    assert_eq!(n.stats().errors(), 0, "{:?}", n.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_alerts_go_in_batches_of_at_most_256_and_all_arrive() {
    let am = Alertmanager::start().await.expect("alertmanager starts");
    // A second "Alertmanager" that records each post shows the batches.
    let rec = Recorder::start().await.expect("recorder");
    let n = notifier(&[am.url(), rec.url()], Duration::from_secs(60));
    let mut g = group();
    let mut b = FixedAnswers::default();
    let names: Vec<String> = (0..600).map(|i| format!("host-{i:03}:9100")).collect();
    let series: Vec<Vec<(&str, &str)>> = names
        .iter()
        .map(|i| vec![("job", "node"), ("instance", i.as_str())])
        .collect();
    let refs: Vec<&[(&str, &str)]> = series.iter().map(Vec::as_slice).collect();
    b.set(&refs, 1.0);
    let (_, queued) = evaluate(&mut g, &mut b, &n).await;
    assert_eq!(queued, 600);
    let posts: Vec<usize> = rec
        .received()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v2/alerts")
        .map(|r| r.body.as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(posts, [256, 256, 88]);
    let stats = n.stats();
    assert_eq!(stats.errors(), 0, "{stats:?}");
    assert!(
        stats.alertmanagers.iter().all(|a| a.sent == 600),
        "{stats:?}"
    );
    let alerts = am.alerts_json().await.expect("alerts");
    let mut got: Vec<String> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "HighErrorRate")
        .filter_map(|a| a["labels"]["instance"].as_str().map(str::to_owned))
        .collect();
    got.sort();
    assert_eq!(got, names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_alertmanager_is_counted_and_the_others_still_get_the_alerts() {
    let am = Alertmanager::start().await.expect("alertmanager starts");
    let dead = format!(
        "http://127.0.0.1:{}",
        promdash_tests::free_port().expect("port")
    );
    let n = notifier(&[dead.clone(), am.url()], Duration::from_secs(60));
    let mut g = group();
    let mut b = FixedAnswers::default();
    b.set(&[&[("job", "api"), ("instance", "a:1")]], 3.0);
    let (_, queued) = evaluate(&mut g, &mut b, &n).await;
    assert_eq!(queued, 1);
    let stats = n.stats();
    assert_eq!(stats.alertmanagers[0].url, dead);
    assert_eq!(stats.alertmanagers[0].errors, 1, "{stats:?}");
    assert!(
        stats.alertmanagers[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("refused")),
        "{stats:?}"
    );
    assert_eq!(stats.alertmanagers[1].errors, 0, "{stats:?}");
    assert_eq!((stats.dropped, stats.queue_len), (0, 0), "one took them");
    assert!(ours(&am.alerts_json().await.expect("alerts"), "api").is_some());
    // Not retried in a loop: nothing more is sent until the alert is due again.
    let (_, queued) = evaluate(&mut g, &mut b, &n).await;
    assert_eq!(queued, 0);
    assert_eq!(n.stats().alertmanagers[0].errors, 1);
}
