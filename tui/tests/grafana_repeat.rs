//! Grafana's repeated panels and rows through `update`: one copy per selected value, each
//! with the variable fixed to its value in its queries, title and legends; the copies made
//! again when the selection changes; the screen at 120×40.

mod common;

use common::*;
use promdash::app::{Effect, FetchRequest, Msg, State, update};
use promdash::explore::{ExploreAnswer, ExploreRequest};
use promdash_queries::grafana::import;
use ratatui::crossterm::event::KeyCode;

const REPEAT: &str = include_str!("../../queries/src/grafana/testdata/repeat.json");

const HOSTS: [&str; 3] = ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"];

fn values(var: usize, v: &[&str]) -> Msg {
    Msg::Explore(Box::new(ExploreAnswer::VarValues(
        var,
        Ok(v.iter().map(|s| (*s).to_owned()).collect()),
    )))
}

fn exprs(reqs: &[FetchRequest]) -> Vec<String> {
    let mut v: Vec<String> = reqs.iter().map(|r| r.key.expr().to_owned()).collect();
    v.sort();
    v.dedup();
    v
}

fn titles(state: &State) -> Vec<String> {
    state
        .dashboard
        .panels
        .iter()
        .map(|p| state.vars.title(&p.title))
        .collect()
}

fn row_titles(state: &State) -> Vec<String> {
    state
        .dashboard
        .rows
        .iter()
        .map(|r| state.vars.title(&r.title))
        .collect()
}

/// The dashboard with `$job` and `$instance` loaded (All hosts); every request answered.
fn loaded() -> (State, Vec<String>) {
    let d = import(REPEAT).expect("imports").dashboard;
    let (mut state, reqs) = start(d, 120, 40);
    answer_all(&mut state, &reqs, Data::default());
    let effects = update(&mut state, values(0, &["node", "prometheus"]));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Explore(ExploreRequest::VarValues { var: 1, .. }))),
        "$instance is asked once $job is known: {effects:?}"
    );
    let reqs = fetches(effects);
    answer_all(&mut state, &reqs, Data::default());
    let reqs = fetches(update(&mut state, values(1, &HOSTS)));
    let sent = exprs(&reqs);
    answer_all(&mut state, &reqs, Data::default());
    (state, sent)
}

#[test]
fn one_copy_per_value_with_the_variable_fixed() {
    let (state, sent) = loaded();
    assert_eq!(
        titles(&state),
        [
            "Up: 10.0.0.1:9100",
            "Up: 10.0.0.2:9100",
            "Up: 10.0.0.3:9100",
            "Targets",
            "Scrape p0.5",
            "Scrape p0.99",
            "Samples scraped",
            "Scrape duration",
            "Samples scraped",
            "Scrape duration",
            "Samples scraped",
            "Scrape duration",
        ]
    );
    assert_eq!(
        row_titles(&state),
        [
            "Overview",
            "Instance 10.0.0.1:9100",
            "Instance 10.0.0.2:9100",
            "Instance 10.0.0.3:9100"
        ]
    );
    // Side by side: 24/3 of Grafana's columns each; the vertical ones keep their width.
    let widths: Vec<u8> = state.dashboard.panels.iter().map(|p| p.width).collect();
    assert_eq!(widths[..6], [4, 4, 4, 3, 6, 6]);
    // Each copy's query has its one value (regex-escaped in =~, as it is in =); the
    // panel that does not repeat has All (the custom all value).
    for want in [
        r#"up{job=~"prometheus", instance=~"10\\.0\\.0\\.1:9100"}"#,
        r#"up{job=~"prometheus", instance=~"10\\.0\\.0\\.3:9100"}"#,
        r#"scrape_samples_scraped{instance="10.0.0.2:9100"}"#,
        r#"scrape_duration_seconds{instance="10.0.0.3:9100"}"#,
    ] {
        assert!(sent.iter().any(|e| e == want), "{want} not sent: {sent:#?}");
    }
    let all: Vec<String> = state
        .dashboard
        .panels
        .iter()
        .flat_map(|p| p.queries.iter().map(|q| q.expr.clone()))
        .collect();
    for want in [
        r#"quantile(0.99, scrape_duration_seconds{job=~"prometheus"})"#,
        r#"count(up{job=~"prometheus", instance=~".+"})"#,
    ] {
        assert!(all.iter().any(|e| e == want), "{want} missing: {all:#?}");
    }
    // Legends of a copy name its value.
    let legend = state.dashboard.panels[11].queries[0].legend.clone();
    assert_eq!(legend.as_deref(), Some("{{job}} 10.0.0.3:9100"));
    let q = state.dashboard.panels[5].queries[0].legend.clone();
    assert_eq!(q.as_deref(), Some("q0.99"));
    let text = screen(&state);
    for want in [
        "Up: 10.0.0.1:9100",
        "Up: 10.0.0.3:9100",
        "Scrape p0.99",
        "▾ Instance 10.0.0.1:9100",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("grafana_repeat", text);
    });
}

#[test]
fn the_copies_follow_the_selection() {
    let (mut state, _) = loaded();
    // Picker on $instance: untick All by ticking the second host only.
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Right));
    update(&mut state, key(KeyCode::Down));
    update(&mut state, key(KeyCode::Down));
    update(&mut state, char_key(' '));
    let effects = update(&mut state, key(KeyCode::Enter));
    assert_eq!(state.vars.vars[1].selected, [HOSTS[1]]);
    let sent = exprs(&fetches(effects));
    assert_eq!(
        titles(&state)[..2],
        ["Up: 10.0.0.2:9100".to_owned(), "Targets".to_owned()]
    );
    assert_eq!(row_titles(&state), ["Overview", "Instance 10.0.0.2:9100"]);
    // One copy: the whole line.
    assert_eq!(state.dashboard.panels[0].width, 12);
    // The copy that stays keeps its data (not asked again); the panel using $instance
    // without repeating is.
    assert!(state.panels[0].loaded, "the kept copy keeps its data");
    assert_eq!(
        sent,
        [r#"count(up{job=~"prometheus", instance=~"10\\.0\\.0\\.2:9100"})"#]
    );
    let text = screen(&state);
    assert!(!text.contains("10.0.0.1"), "{text}");
    // Back to All: the other two copies come back and are fetched.
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Right));
    update(&mut state, char_key(' '));
    let sent = exprs(&fetches(update(&mut state, key(KeyCode::Enter))));
    assert_eq!(titles(&state).len(), 12);
    for want in [
        r#"up{job=~"prometheus", instance=~"10\\.0\\.0\\.1:9100"}"#,
        r#"up{job=~"prometheus", instance=~"10\\.0\\.0\\.3:9100"}"#,
    ] {
        assert!(sent.iter().any(|e| e == want), "{want} not sent: {sent:#?}");
    }
    // A folded row copy stays folded when the copies are made again.
    let r = 2;
    state.toggle_row(r);
    assert!(state.collapsed[r]);
    update(&mut state, values(1, &HOSTS));
    assert!(state.collapsed[r]);
}

#[test]
fn without_values_the_panel_is_shown_once() {
    let d = import(REPEAT).expect("imports").dashboard;
    let (mut state, _) = start(d, 120, 40);
    // $instance has no values yet (All, before its query answered): each repeated panel
    // once, as written.
    assert_eq!(titles(&state)[0], "Up: All");
    assert_eq!(row_titles(&state).len(), 2);
    update(&mut state, values(0, &["prometheus"]));
    update(&mut state, values(1, &[]));
    assert_eq!(titles(&state).len(), 6, "{:?}", titles(&state));
}
