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

/// The default dashboard in a 120×40 terminal at `now` (Unix seconds), its server
/// unreachable.
fn dashboard_at(now: f64) -> State {
    let mut state = State::new(default_dashboard(), Options::for_url("http://127.0.0.1:9"));
    update(&mut state, Msg::Resize(120, 40));
    update(&mut state, Msg::Tick(now));
    state
}

/// What the dashboard's Alertmanager sidecar does with an `Effect`.
type Handler = Box<dyn FnMut(&Effect) + Send>;

/// Points the dashboard at the Alertmanagers `urls` and starts its sidecar for them: the
/// channel of the sidecar's messages and the handler of `Effect`s.
fn connect(state: &mut State, urls: Vec<String>) -> (mpsc::UnboundedReceiver<Msg>, Handler) {
    state.explore.am.enabled = true;
    state.explore.am.url = urls.join(", ");
    let args = AlertmanagerArgs {
        urls,
        ..AlertmanagerArgs::default()
    };
    let (tx, rx) = mpsc::unbounded_channel();
    (
        rx,
        sidecar(None, args.clients().expect("clients"), None)(tx),
    )
}

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

    let mut state = dashboard_at(now as f64 / 1000.0);
    let (mut rx, mut handle) = connect(&mut state, vec![am.url()]);
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
    let mut state = dashboard_at(1_700_000_000.0);
    key(&mut state, KeyCode::Char('a'));
    assert_eq!(key(&mut state, KeyCode::Char('s')), []);
    assert!(state.explore.am.dialog.is_none());
    assert_eq!(
        state.explore.silences.len(),
        1,
        "a local silence, as before"
    );
}

/// Posts an alert named `name` (labels `extra` too) that ends in an hour.
async fn post_alert(url: &str, name: &str, extra: &[(&str, &str)]) {
    let client = AlertmanagerClient::new(ClientConfig::new(url)).expect("client");
    let now = now_ms();
    let mut labels: std::collections::BTreeMap<String, String> =
        [("alertname".to_owned(), name.to_owned())].into();
    for (k, v) in extra {
        labels.insert((*k).to_owned(), (*v).to_owned());
    }
    client
        .post_alerts(&[PostableAlert {
            labels,
            annotations: Default::default(),
            starts_at: format_ms(now),
            ends_at: format_ms(now + 3_600_000),
            generator_url: String::new(),
        }])
        .await
        .expect("alert posted");
}

/// Active silences of one Alertmanager with this comment, by `amtool`.
fn silences_with(am: &Alertmanager, comment: &str, expired: bool) -> Vec<String> {
    let mut args = vec!["silence", "query", "-o", "json"];
    if expired {
        args.push("--expired");
    }
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&am.amtool(&args).expect("amtool")).expect("json");
    listed
        .iter()
        .filter(|s| s["comment"] == comment)
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect()
}

/// Creates a silence of the selected alert from the dialog with `comment`; the note.
async fn silence_selected(
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    handle: &mut dyn FnMut(&Effect),
    comment: &str,
) -> (String, bool) {
    state.explore.am.note = None;
    assert_eq!(key(state, KeyCode::Char('s')), []);
    typed(state, comment);
    let effects = key(state, KeyCode::Enter);
    carry_out(state, rx, handle, &effects, "the silence's outcome").await
}

/// Hands the one Alertmanager request in `effects` to `handle` and applies the sidecar's
/// messages until the note no longer says it is under way; the note and whether it
/// reports a failure.
async fn carry_out(
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    handle: &mut dyn FnMut(&Effect),
    effects: &[Effect],
    what: &str,
) -> (String, bool) {
    let [Effect::Alertmanager(req)] = effects else {
        panic!("one Alertmanager request expected: {effects:?}");
    };
    handle(&Effect::Alertmanager(req.clone()));
    until(state, rx, what, |s| {
        s.explore
            .am
            .note
            .as_ref()
            .is_some_and(|(t, _, _)| !t.ends_with('…'))
    })
    .await;
    let (text, failed, _) = state.explore.am.note.clone().expect("note");
    (text, failed)
}

/// Expires the only active silence listed (`S`, `x`); the note.
async fn expire_listed(
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    handle: &mut dyn FnMut(&Effect),
) -> (String, bool) {
    state.explore.am.note = None;
    for e in key(state, KeyCode::Char('S')) {
        handle(&e);
    }
    let effects = key(state, KeyCode::Char('x'));
    let outcome = carry_out(state, rx, handle, &effects, "the expiry's outcome").await;
    key(state, KeyCode::Esc);
    outcome
}

/// Two Alertmanager 0.25 processes: the panel shows the alerts of both, one per
/// fingerprint, and names the one that does not answer; a silence made in promdash goes to
/// each (listed once), and a failure in one is reported naming it; expiring likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_alertmanagers_share_the_panel_and_get_every_silence() {
    let a = Alertmanager::start().await.expect("alertmanager a starts");
    let mut b = Alertmanager::start().await.expect("alertmanager b starts");
    let rule = default_dashboard().alerts[0].name.clone();
    // The dashboard rule's alert in both (one fingerprint), and one only in b.
    post_alert(&a.url(), &rule, &[]).await;
    post_alert(&b.url(), &rule, &[]).await;
    post_alert(&b.url(), "OnlyInB", &[("team", "b")]).await;

    let mut state = dashboard_at(now_ms() as f64 / 1000.0);
    let (mut rx, mut handle) = connect(&mut state, vec![a.url(), b.url()]);
    until(
        &mut state,
        &mut rx,
        "the alerts of both",
        |s| matches!(&s.explore.am.alerts, Some(Ok(a)) if a.len() == 2),
    )
    .await;
    let names: Vec<String> = match &state.explore.am.alerts {
        Some(Ok(list)) => list.iter().map(|a| a.labels["alertname"].clone()).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(names, [rule.clone(), "OnlyInB".to_owned()]);
    key(&mut state, KeyCode::Char('a'));
    let text = screen(&state);
    assert!(text.contains("OnlyInB"), "{text}");
    assert!(!text.contains("unreachable"), "{text}");

    // A silence goes to both; listed once.
    let (note, failed) = silence_selected(&mut state, &mut rx, &mut handle, "both up").await;
    assert!(!failed, "{note}");
    let (in_a, in_b) = (
        silences_with(&a, "both up", false),
        silences_with(&b, "both up", false),
    );
    assert_eq!((in_a.len(), in_b.len()), (1, 1), "{note}");
    assert_eq!(
        note,
        format!(
            "silence created: {} in {}, {} in {}",
            in_a[0],
            a.url(),
            in_b[0],
            b.url()
        )
    );
    until(&mut state, &mut rx, "the silence listed once", |s| {
        s.explore.am.active_silences().len() == 1
            && matches!(&s.explore.am.alerts, Some(Ok(a)) if a.iter().any(|a| a.is_silenced()))
    })
    .await;

    // b goes down: the panel names it and still shows a's alerts.
    b.stop().await.expect("b stops");
    for e in key(&mut state, KeyCode::Char('S')) {
        handle(&e);
    }
    key(&mut state, KeyCode::Esc);
    until(&mut state, &mut rx, "b unreachable", |s| {
        s.explore.am.unreachable.len() == 1
    })
    .await;
    assert!(
        state.explore.am.unreachable[0].starts_with(&format!("{}: ", b.url())),
        "{:?}",
        state.explore.am.unreachable
    );
    assert!(matches!(&state.explore.am.alerts, Some(Ok(a)) if a.len() == 1));
    let text = screen(&state);
    assert!(
        text.contains(&format!("unreachable: {}", b.url())),
        "{text}"
    );

    // Expiring: done in a, b's failure named.
    let (note, failed) = expire_listed(&mut state, &mut rx, &mut handle).await;
    assert!(failed, "{note}");
    assert!(
        note.starts_with(&format!(
            "silence {} expired: 1 expired in {}; NOT in {}: ",
            in_a[0],
            a.url(),
            b.url()
        )),
        "{note}"
    );
    assert_eq!(silences_with(&a, "both up", true), in_a);
    // A new silence while b is down: made in a, b's failure named.
    let (note, failed) = silence_selected(&mut state, &mut rx, &mut handle, "b down").await;
    assert!(failed, "{note}");
    let made = silences_with(&a, "b down", false);
    assert_eq!(made.len(), 1);
    assert!(
        note.starts_with(&format!(
            "silence created: {} in {}; NOT in {}: ",
            made[0],
            a.url(),
            b.url()
        )),
        "{note}"
    );

    // b is back with its copy of the first silence still active: listed, and expiring it
    // now expires it there (a has no active copy left, and the second silence only in a).
    b.restart(true).await.expect("b restarts");
    for e in key(&mut state, KeyCode::Char('S')) {
        handle(&e);
    }
    key(&mut state, KeyCode::Esc);
    until(&mut state, &mut rx, "b back with its silence", |s| {
        s.explore.am.unreachable.is_empty() && s.explore.am.active_silences().len() == 2
    })
    .await;
    // Soonest ending first: both end in 1 h; select the first one made.
    let first = state
        .explore
        .am
        .active_silences()
        .iter()
        .position(|s| s.comment == "both up")
        .expect("listed");
    for e in key(&mut state, KeyCode::Char('S')) {
        handle(&e);
    }
    for _ in 0..first {
        key(&mut state, KeyCode::Down);
    }
    let effects = key(&mut state, KeyCode::Char('x'));
    let [Effect::Alertmanager(req)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    state.explore.am.note = None;
    handle(&Effect::Alertmanager(req.clone()));
    until(&mut state, &mut rx, "the second expiry", |s| {
        s.explore
            .am
            .note
            .as_ref()
            .is_some_and(|(t, _, _)| !t.ends_with('…'))
    })
    .await;
    let (note, failed, _) = state.explore.am.note.clone().expect("note");
    assert!(!failed, "{note}");
    assert_eq!(
        note,
        format!(
            "silence {} expired: 0 expired in {}, 1 expired in {}",
            in_b[0],
            a.url(),
            b.url()
        )
    );
    assert_eq!(silences_with(&b, "both up", true), in_b);
    assert!(silences_with(&b, "both up", false).is_empty());
}
