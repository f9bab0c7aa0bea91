//! The alerts view with `--alertmanager` (two of them), through `update` and `view`: the
//! Alertmanager panel (alerts of both, one per fingerprint, silenced and inhibited, send
//! errors, the Alertmanager that does not answer) and the silence dialog, as snapshots at
//! 120x40 with fixed data and a frozen clock.

mod common;

use common::*;
use promdash::alertmanager::{AmAnswer, AmPoll};
use promdash::app::{Msg, State, update};
use promdash_queries::alertmanager::api::{AlertStatus, SilenceStatus};
use promdash_queries::alertmanager::time::format_ms;
use promdash_queries::alertmanager::{
    AlertmanagerStats, GettableAlert, GettableSilence, NotifierStats, parse_matchers,
};

const A: &str = "http://127.0.0.1:9093";
const B: &str = "http://127.0.0.1:9094";

fn snap(name: &str, text: String) {
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

/// `secs` seconds before the frozen now, as Alertmanager writes times.
fn ago(secs: i64) -> String {
    format_ms((NOW as i64 - secs) * 1000)
}

fn alert(name: &str, labels: &[(&str, &str)], since: i64, fingerprint: &str) -> GettableAlert {
    let mut l: std::collections::BTreeMap<String, String> =
        [("alertname".to_owned(), name.to_owned())].into();
    for (k, v) in labels {
        l.insert((*k).to_owned(), (*v).to_owned());
    }
    GettableAlert {
        labels: l,
        starts_at: ago(since),
        ends_at: ago(-3600),
        fingerprint: fingerprint.to_owned(),
        status: AlertStatus {
            state: "active".into(),
            ..AlertStatus::default()
        },
        ..GettableAlert::default()
    }
}

/// The dashboard with two Alertmanagers: `a` answers (three alerts, one silenced, one
/// inhibited, and one silence), `b` has one of them again and one of its own, or does not
/// answer.
fn with_alertmanagers(b_answers: bool) -> State {
    let mut state = loaded(120, 40);
    state.explore.am.enabled = true;
    state.explore.am.url = format!("{A}, {B}");
    let mut silenced = alert(
        "DiskFull",
        &[("instance", "db-1"), ("severity", "warning")],
        600,
        "f2",
    );
    silenced.status.state = "suppressed".into();
    silenced.status.silenced_by = vec!["s1".into()];
    let mut inhibited = alert("HighErrorRatio", &[("severity", "warning")], 95, "f3");
    inhibited.status.state = "suppressed".into();
    inhibited.status.inhibited_by = vec!["f1".into()];
    let p95 = alert(
        "HighLatencyP95",
        &[("promdash", "laptop"), ("severity", "critical")],
        125,
        "f1",
    );
    let silence = GettableSilence {
        id: "s1".into(),
        status: SilenceStatus {
            state: "active".into(),
        },
        matchers: parse_matchers(r#"alertname="DiskFull", instance=~"db-.*""#).expect("matchers"),
        starts_at: ago(600),
        ends_at: ago(-3000),
        created_by: "sre".into(),
        comment: "resizing the volume".into(),
        ..GettableSilence::default()
    };
    let polls = vec![
        AmPoll {
            url: A.into(),
            alerts: Ok(vec![p95.clone(), silenced, inhibited]),
            silences: Ok(vec![silence.clone()]),
        },
        if b_answers {
            AmPoll {
                url: B.into(),
                alerts: Ok(vec![p95, alert("OnlyInB", &[("team", "b")], 30, "f4")]),
                silences: Ok(vec![GettableSilence {
                    id: "s9".into(),
                    ..silence
                }]),
            }
        } else {
            AmPoll {
                url: B.into(),
                alerts: Err("cannot connect to http://127.0.0.1:9094: connection refused".into()),
                silences: Err("cannot connect to http://127.0.0.1:9094: connection refused".into()),
            }
        },
    ];
    let stats = NotifierStats {
        alertmanagers: vec![
            AlertmanagerStats {
                url: A.into(),
                sent: 12,
                ..AlertmanagerStats::default()
            },
            AlertmanagerStats {
                url: B.into(),
                sent: 12,
                errors: 3,
                last_error: Some("connection refused".into()),
                last_error_ms: Some((NOW as i64 - 5) * 1000),
                last_success_ms: None,
            },
        ],
        ..NotifierStats::default()
    };
    update(
        &mut state,
        Msg::Alertmanager(Box::new(AmAnswer::Status { polls, stats })),
    );
    update(&mut state, char_key('a'));
    assert!(state.explore.alerts_view);
    state
}

#[test]
fn the_alertmanager_panel_with_one_alertmanager_down() {
    let state = with_alertmanagers(false);
    let text = screen(&state);
    for want in [
        format!("Alertmanager {A}, {B}"),
        format!("unreachable: {B}: cannot connect"),
        "AM: 3 send errors".to_owned(),
        "SILENCED".to_owned(),
        "INHIBITED".to_owned(),
        "ACTIVE".to_owned(),
    ] {
        assert!(text.contains(&want), "{want}: {text}");
    }
    snap("alertmanager_panel_one_down", text);
}

#[test]
fn the_alertmanager_panel_merges_both() {
    let state = with_alertmanagers(true);
    let text = screen(&state);
    // HighLatencyP95 is in both: listed once; b's own alert too; no one unreachable.
    assert_eq!(text.matches("HighLatencyP95 {").count(), 1, "{text}");
    assert!(text.contains("OnlyInB"), "{text}");
    assert!(!text.contains("unreachable"), "{text}");
    // The same silence made in both is one.
    assert_eq!(state.explore.am.active_silences().len(), 1);
    snap("alertmanager_panel", text);
}

#[test]
fn the_silence_dialog() {
    let mut state = with_alertmanagers(true);
    update(&mut state, char_key('s'));
    let dialog = state.explore.am.dialog.as_mut().expect("the dialog opens");
    // Who is logged in differs from machine to machine.
    dialog.created_by = "sre".into();
    for c in "deploying v2".chars() {
        update(&mut state, char_key(c));
    }
    let text = screen(&state);
    assert!(
        text.contains(&format!("New silence in {A}, {B} (by sre)")),
        "{text}"
    );
    assert!(text.contains("deploying v2"), "{text}");
    snap("silence_dialog", text);
}
