//! Dashboard variables through `update`: substitution, the picker (`V`), `--var`, and a
//! change re-running exactly the panels that use the variable (fetch effects counted).

mod common;

use common::*;
use promdash::app::{Effect, FetchKey, FetchRequest, Msg, State, update};
use promdash::explore::{ExploreAnswer, ExploreRequest};
use promdash_queries::dashboard::parse_dashboard;
use ratatui::crossterm::event::KeyCode;

const DASHBOARD: &str = r#"
title = "Variables"

[[variables]]
name = "route"
query = "label_values(app_request_count_total, route)"
all = true

[[variables]]
name = "status"
values = ["200", "500"]
multi = true
default = "200"

[[panels]]
title = "Rate of one route"
kind = "graph"
query = 'sum(rate(app_request_count_total{route=~"$route"}[$__rate_interval]))'

[[panels]]
title = "Requests by status"
kind = "stat"
query = 'sum(app_request_count_total{status=~"${status}"})'

[[panels]]
title = "All requests"
kind = "stat"
query = 'sum(app_request_count_total)'
"#;

fn dashboard() -> promdash_queries::dashboard::Dashboard {
    parse_dashboard(DASHBOARD, "vars.toml").expect("valid dashboard")
}

fn route_values() -> Msg {
    Msg::Explore(Box::new(ExploreAnswer::VarValues(
        0,
        Ok(vec!["/process".into(), "/healthz".into()]),
    )))
}

/// A started dashboard whose route values have arrived and whose requests are answered.
fn ready() -> State {
    let (mut state, reqs) = start(dashboard(), 120, 40);
    answer_all(&mut state, &reqs, Data::default());
    let reqs = fetches(update(&mut state, route_values()));
    answer_all(&mut state, &reqs, Data::default());
    state
}

fn exprs(reqs: &[FetchRequest]) -> Vec<&str> {
    reqs.iter().map(|r| r.key.expr()).collect()
}

#[test]
fn first_round_loads_label_values_and_substitutes_fixed_ones() {
    let mut state = State::new(dashboard(), options());
    update(&mut state, Msg::Resize(120, 40));
    let effects = update(&mut state, Msg::Tick(NOW));
    assert!(
        effects.contains(&Effect::Explore(ExploreRequest::VarValues {
            var: 0,
            label: "route".into(),
            matcher: Some("app_request_count_total".into()),
        })),
        "{effects:?}"
    );
    let reqs = fetches(effects);
    // The fixed variable takes its default; the `all` one starts at All (any value while
    // its values load); intervals are filled in.
    assert!(
        exprs(&reqs).contains(&r#"sum(app_request_count_total{status=~"200"})"#),
        "{:?}",
        exprs(&reqs)
    );
    assert!(
        exprs(&reqs).contains(&r#"sum(rate(app_request_count_total{route=~".*"}[1m]))"#),
        "{:?}",
        exprs(&reqs)
    );
    assert!(
        exprs(&reqs)
            .iter()
            .all(|e| !e.contains("$__rate_interval") && !e.contains("${status}")),
        "{:?}",
        exprs(&reqs)
    );
    // The values arrive: only the panel using $route runs again (its range request and
    // its value at the window's end), All now being the values, each regex-escaped.
    answer_all(&mut state, &reqs, Data::default());
    let again = fetches(update(&mut state, route_values()));
    assert_eq!(
        exprs(&again),
        vec![r#"sum(rate(app_request_count_total{route=~"(/healthz|/process)"}[1m]))"#; 2]
    );
    assert!(matches!(again[0].key, FetchKey::Range { .. }));
    assert!(matches!(again[1].key, FetchKey::Instant { .. }));
}

#[test]
fn picking_a_value_reruns_exactly_the_panels_that_use_it() {
    let mut state = ready();
    update(&mut state, char_key('V'));
    assert!(state.vars.picker.is_some());
    // Rows: All, /healthz, /process. Pick /process.
    update(&mut state, key(KeyCode::Down));
    update(&mut state, key(KeyCode::Down));
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    assert!(state.vars.picker.is_none());
    assert_eq!(
        exprs(&reqs),
        vec![r#"sum(rate(app_request_count_total{route=~"/process"}[1m]))"#; 2],
        "only the graph using $route (range, and the value at the window's end)"
    );
    assert_eq!(
        state.dashboard.panels[0].queries[0].expr,
        r#"sum(rate(app_request_count_total{route=~"/process"}[1m]))"#
    );
    answer_all(&mut state, &reqs, Data::default());

    // The multi variable: tick 500 beside 200; the stat runs again (range + instant).
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Right));
    update(&mut state, key(KeyCode::Down));
    update(&mut state, char_key(' '));
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    let mut got = exprs(&reqs);
    got.dedup();
    assert_eq!(
        got,
        vec![r#"sum(app_request_count_total{status=~"(200|500)"})"#]
    );
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    answer_all(&mut state, &reqs, Data::default());

    // Choosing the same value again runs nothing.
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Down));
    update(&mut state, key(KeyCode::Down));
    assert!(fetches(update(&mut state, key(KeyCode::Enter))).is_empty());

    // All: every value as an escaped alternation.
    update(&mut state, char_key('V'));
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    assert_eq!(
        exprs(&reqs),
        vec![r#"sum(rate(app_request_count_total{route=~"(/healthz|/process)"}[1m]))"#; 2]
    );
}

#[test]
fn picker_esc_changes_nothing_and_keys_do_not_leak() {
    let mut state = ready();
    let before = state.dashboard.clone();
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Down));
    // `q` and `p` belong to the picker while it is open.
    update(&mut state, char_key('q'));
    update(&mut state, char_key('p'));
    assert!(!state.quit);
    assert!(!state.paused);
    assert!(fetches(update(&mut state, key(KeyCode::Esc))).is_empty());
    assert!(state.vars.picker.is_none());
    assert_eq!(state.dashboard, before);
}

#[test]
fn var_on_the_command_line_presets_a_value() {
    let mut state = State::new(dashboard(), options());
    state
        .vars
        .preset(&[("route".into(), "/process".into())])
        .expect("known variable");
    assert!(
        state
            .vars
            .preset(&[("nope".into(), "x".into())])
            .is_err_and(|e| e.contains("route, status"))
    );
    update(&mut state, Msg::Resize(120, 40));
    let reqs = fetches(update(&mut state, Msg::Tick(NOW)));
    assert!(
        exprs(&reqs).contains(&r#"sum(rate(app_request_count_total{route=~"/process"}[1m]))"#),
        "{:?}",
        exprs(&reqs)
    );
    let cli = <promdash::cli::Cli as clap::Parser>::try_parse_from([
        "promdash",
        "--var",
        "route=/process",
        "--var",
        "status=200,500",
    ])
    .expect("parses");
    assert_eq!(
        cli.vars,
        vec![
            ("route".to_owned(), "/process".to_owned()),
            ("status".to_owned(), "200,500".to_owned())
        ]
    );
}

#[test]
fn zooming_out_changes_interval_variables() {
    let mut state = ready();
    let before = state.dashboard.panels[0].queries[0].expr.clone();
    let mut reqs = Vec::new();
    for _ in 0..3 {
        reqs.extend(fetches(update(&mut state, char_key('-'))));
    }
    let after = state.dashboard.panels[0].queries[0].expr.clone();
    assert_ne!(before, after, "a 24h range has a longer step");
    // $__rate_interval = max($__interval + scrape interval, 4 × scrape interval): the
    // 24h window's step plus 15s.
    let step_ms = reqs
        .iter()
        .find_map(|r| match &r.key {
            FetchKey::Range { expr, step_ms } if *expr == after => Some(*step_ms),
            _ => None,
        })
        .expect("the graph is fetched with its new expression");
    assert_eq!(step_ms, 600_000);
    assert!(after.ends_with("[10m15s]))"), "{after}");
}

#[test]
fn picker_snapshot() {
    let mut state = ready();
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Down));
    let text = screen(&state);
    assert!(text.contains("$route = All"), "{text}");
    assert!(text.contains("$status = 200"), "{text}");
    assert!(text.contains("( ) /process"), "{text}");
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("variable_picker", text);
    });
}

#[test]
fn the_prompt_substitutes_variables_too() {
    let mut state = ready();
    update(&mut state, char_key(':'));
    for c in r#"sum(rate(x{route=~"$route"}[$__rate_interval]))"#.chars() {
        update(&mut state, char_key(c));
    }
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    assert!(
        exprs(&reqs).contains(&r#"sum(rate(x{route=~"(/healthz|/process)"}[1m]))"#),
        "{:?}",
        exprs(&reqs)
    );
    // Closing it leaves the dashboard's own templates as they were.
    update(&mut state, key(KeyCode::Esc));
    update(&mut state, key(KeyCode::Esc));
    assert_eq!(state.vars.templates.len(), state.dashboard.panels.len());
    assert_eq!(state.dashboard.panels.len(), 3);
}

#[test]
fn the_variable_bar_shows_values_and_says_when_a_query_returned_nothing() {
    let mut state = State::new(dashboard(), options());
    update(&mut state, Msg::Resize(120, 40));
    let reqs = fetches(update(&mut state, Msg::Tick(NOW)));
    answer_all(&mut state, &reqs, Data::default());
    let text = screen(&state);
    let bar = text.lines().nth(1).unwrap_or_default();
    assert!(
        bar.contains("$route loading…") && bar.contains("$status 200"),
        "{bar}"
    );
    // The label values query comes back empty.
    let reqs = fetches(update(
        &mut state,
        Msg::Explore(Box::new(ExploreAnswer::VarValues(0, Ok(Vec::new())))),
    ));
    answer_all(&mut state, &reqs, Data::default());
    let text = screen(&state);
    let bar = text.lines().nth(1).unwrap_or_default();
    assert!(
        bar.contains(
            "$route no values (label_values(app_request_count_total, route) returned nothing)"
        ),
        "{bar}"
    );
    assert!(text.contains("no data: $route has no values"), "{text}");
}

#[test]
fn panel_titles_show_the_values_of_their_variables() {
    let text = DASHBOARD.replace(
        "title = \"Requests by status\"",
        "title = \"Requests with status $status\"",
    );
    let d = parse_dashboard(&text, "vars.toml").expect("valid dashboard");
    let (mut state, reqs) = start(d, 120, 40);
    answer_all(&mut state, &reqs, Data::default());
    assert!(screen(&state).contains(" Requests with status 200 "));
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Right));
    update(&mut state, key(KeyCode::Down));
    update(&mut state, char_key(' '));
    update(&mut state, key(KeyCode::Enter));
    assert!(
        screen(&state).contains(" Requests with status 200+500 "),
        "{}",
        screen(&state)
    );
}

#[test]
fn alert_expressions_take_the_variables_too() {
    let text = format!(
        "{DASHBOARD}\n[[alerts]]\nname = \"Errors\"\nexpr = 'sum(app_request_count_total{{status=~\"$status\"}}) > 0'\n"
    );
    let d = parse_dashboard(&text, "vars.toml").expect("valid dashboard");
    let mut state = State::new(d, options());
    update(&mut state, Msg::Resize(120, 40));
    let reqs = fetches(update(&mut state, Msg::Tick(NOW)));
    assert!(
        exprs(&reqs).contains(&r#"sum(app_request_count_total{status=~"200"}) > 0"#),
        "{:?}",
        exprs(&reqs)
    );
    assert_eq!(
        state.dashboard.alerts[0].expr,
        r#"sum(app_request_count_total{status=~"200"}) > 0"#
    );
}
