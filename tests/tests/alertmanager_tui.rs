//! The alerts view's silence keys against a real Alertmanager 0.25: `update` turns keys
//! into requests, the dashboard's Alertmanager sidecar carries them out, and its answers
//! come back as messages, exactly as in the running dashboard. `amtool` checks the result.

use std::time::Duration;

use promdash::alertmanager::{AlertmanagerArgs, sidecar};
use promdash::app::{Effect, Msg, Options, State, update};
use promdash_queries::ClientConfig;
use promdash_queries::alertmanager::time::{format_ms, now_ms};
use promdash_queries::alertmanager::{AlertmanagerClient, PostableAlert};
use promdash_queries::dashboard::default_dashboard;
use promdash_tests::Alertmanager;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        assert!(key(state, KeyCode::Char(c)).is_empty());
    }
}

/// Applies messages from the sidecar until `done(state)`, for up to 30 s.
async fn until(
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    what: &str,
    done: impl Fn(&State) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(state) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                update(state, msg);
            }
            _ => panic!("{what}: not within 30 s; am state: {:#?}", state.explore.am),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_silence_key_makes_a_real_silence_that_is_listed_and_expired() {
    let am = Alertmanager::start().await.expect("alertmanager starts");
    let rule = default_dashboard().alerts[0].name.clone();
    // The dashboard rule's alert, as the server (or promdash) would have sent it.
    let client = AlertmanagerClient::new(ClientConfig::new(am.url())).expect("client");
    let now = now_ms();
    client
        .post_alerts(&[PostableAlert {
            labels: [("alertname".to_owned(), rule.clone())].into(),
            annotations: Default::default(),
            starts_at: format_ms(now),
            ends_at: format_ms(now + 3_600_000),
            generator_url: String::new(),
        }])
        .await
        .expect("alert posted");

    let mut state = State::new(
        default_dashboard(),
        Options {
            url: "http://127.0.0.1:9".into(),
            refresh: Duration::from_secs(5),
            range: Duration::from_secs(900),
            bell: false,
            demo: false,
            utc_offset: 0,
        },
    );
    update(&mut state, Msg::Resize(120, 40));
    update(&mut state, Msg::Tick(now as f64 / 1000.0));
    state.explore.am.enabled = true;
    state.explore.am.url = am.url();
    let args = AlertmanagerArgs {
        urls: vec![am.url()],
        ..AlertmanagerArgs::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut handle = sidecar(None, args.clients().expect("clients"), None)(tx);
    // The sidecar reads Alertmanager at once: its alert, not silenced.
    until(
        &mut state,
        &mut rx,
        "Alertmanager's alerts",
        |s| matches!(&s.explore.am.alerts, Some(Ok(a)) if !a.is_empty()),
    )
    .await;

    key(&mut state, KeyCode::Char('a'));
    assert!(state.explore.alerts_view);
    assert_eq!(key(&mut state, KeyCode::Char('s')), []);
    let dialog = state
        .explore
        .am
        .dialog
        .clone()
        .expect("the silence dialog opens");
    assert_eq!(dialog.fields[0], format!("alertname=\"{rule}\""));
    assert_eq!(dialog.fields[1], "1h");
    assert_eq!(dialog.focus, 2, "the comment is what is left to write");
    // No comment: refused in the dialog, nothing sent.
    assert_eq!(key(&mut state, KeyCode::Enter), []);
    let error = state
        .explore
        .am
        .dialog
        .as_ref()
        .and_then(|d| d.error.clone());
    assert!(error.is_some_and(|e| e.contains("comment")));
    typed(&mut state, "rolling deploy");
    // Matchers are editable: one more.
    key(&mut state, KeyCode::Tab);
    assert_eq!(state.explore.am.dialog.as_ref().map(|d| d.focus), Some(0));
    typed(&mut state, ", severity!=\"info\"");
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Backspace);
    typed(&mut state, "30m");
    let effects = key(&mut state, KeyCode::Enter);
    assert!(state.explore.am.dialog.is_none());
    let [Effect::Alertmanager(req)] = effects.as_slice() else {
        panic!("one Alertmanager request expected: {effects:?}");
    };
    handle(&Effect::Alertmanager(req.clone()));
    until(&mut state, &mut rx, "the silence created", |s| {
        s.explore
            .am
            .note
            .as_ref()
            .is_some_and(|(t, _, _)| t.contains("created"))
    })
    .await;
    let note = state.explore.am.note.clone().expect("note").0;
    let id = note
        .trim_start_matches("silence ")
        .trim_end_matches(" created")
        .to_owned();

    // amtool sees it as promdash made it.
    let listed: Vec<serde_json::Value> = serde_json::from_str(
        &am.amtool(&["silence", "query", "-o", "json"])
            .expect("amtool"),
    )
    .expect("json");
    let s = listed
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {listed:#?}"));
    assert_eq!(s["comment"], "rolling deploy");
    assert_eq!(s["matchers"].as_array().map(Vec::len), Some(2));
    let user = promdash_queries::alertmanager::silence::current_user();
    assert_eq!(s["createdBy"], user.as_str());

    // The refresh after the change shows the alert silenced, and `S` lists the silence.
    until(
        &mut state,
        &mut rx,
        "the alert silenced",
        |s| matches!(&s.explore.am.alerts, Some(Ok(a)) if a.iter().any(|a| a.is_silenced())),
    )
    .await;
    let effects = key(&mut state, KeyCode::Char('S'));
    assert!(state.explore.am.silences_view);
    for e in effects {
        handle(&e);
    }
    until(&mut state, &mut rx, "the silence listed", |s| {
        s.explore.am.active_silences().iter().any(|x| x.id == id)
    })
    .await;
    let text = screen(&state);
    assert!(text.contains("Active silences"), "{text}");
    assert!(text.contains("rolling deploy"), "{text}");
    // Under the list, the alerts view's Alertmanager panel shows the alert silenced.
    key(&mut state, KeyCode::Esc);
    let text = screen(&state);
    assert!(text.contains("SILENCED"), "{text}");
    assert!(text.contains("sent 0 alerts, no errors"), "{text}");
    key(&mut state, KeyCode::Char('S'));
    let effects = key(&mut state, KeyCode::Char('x'));
    let [Effect::Alertmanager(req)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    handle(&Effect::Alertmanager(req.clone()));
    until(&mut state, &mut rx, "the silence expired", |s| {
        !s.explore.am.active_silences().iter().any(|x| x.id == id)
            && s.explore
                .am
                .note
                .as_ref()
                .is_some_and(|(t, _, _)| t.contains("expired"))
    })
    .await;
    let expired = am
        .amtool(&["silence", "query", "--expired", "-o", "json"])
        .expect("amtool");
    assert!(expired.contains(&id), "{expired}");
}

/// What the dashboard draws, as text.
fn screen(state: &State) -> String {
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("test terminal");
    term.draw(|f| promdash::ui::view(state, f)).expect("draws");
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn without_an_alertmanager_silences_stay_local() {
    let mut state = State::new(
        default_dashboard(),
        Options {
            url: "http://127.0.0.1:9".into(),
            refresh: Duration::from_secs(5),
            range: Duration::from_secs(900),
            bell: false,
            demo: false,
            utc_offset: 0,
        },
    );
    update(&mut state, Msg::Resize(120, 40));
    update(&mut state, Msg::Tick(1_700_000_000.0));
    key(&mut state, KeyCode::Char('a'));
    assert_eq!(key(&mut state, KeyCode::Char('s')), []);
    assert!(state.explore.am.dialog.is_none());
    assert_eq!(
        state.explore.silences.len(),
        1,
        "a local silence, as before"
    );
}
