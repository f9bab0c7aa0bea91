//! The explore features through `update` and `view`: query prompt, completion, history,
//! pinning, inspector, cursor and the alerts view (keys → state, effects, snapshots).

mod common;

use common::*;
use promdash::app::{Effect, FetchKey, Msg, State, update};
use promdash::complete::Need;
use promdash::explore::{ExploreAnswer, ExploreRequest};
use promdash_queries::alert::{AlertState, ServerAlert};
use promdash_queries::dashboard::PanelKind;
use promdash_queries::model::{Notes, QueryData, QueryResult, RangeSeries, Sample};
use ratatui::crossterm::event::KeyCode;

fn snap(name: &str, text: String) {
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

fn type_text(state: &mut State, text: &str) -> Vec<Effect> {
    let mut out = Vec::new();
    for c in text.chars() {
        out.extend(update(state, char_key(c)));
    }
    out
}

fn prompt_text(state: &State) -> &str {
    state
        .explore
        .prompt
        .as_ref()
        .map(|p| p.text.as_str())
        .expect("prompt open")
}

#[test]
fn colon_and_slash_open_the_prompt_and_keys_go_to_it() {
    let mut state = loaded(120, 40);
    assert!(state.explore.prompt.is_none());
    update(&mut state, char_key(':'));
    assert!(state.explore.prompt.is_some());
    // `q` and `p` are text while the prompt is open.
    let effects = type_text(&mut state, "up qp");
    assert!(effects.is_empty());
    assert!(!state.quit);
    assert!(!state.paused);
    assert_eq!(prompt_text(&state), "up qp");
    update(&mut state, key(KeyCode::Backspace));
    update(&mut state, key(KeyCode::Left));
    update(&mut state, char_key('X'));
    assert_eq!(prompt_text(&state), "up Xq");
    update(&mut state, key(KeyCode::Esc));
    assert!(state.explore.prompt.is_none());
    update(&mut state, char_key('/'));
    assert!(state.explore.prompt.is_some());
}

#[test]
fn enter_runs_a_temporary_full_screen_graph_that_esc_removes() {
    let mut state = loaded(120, 40);
    let panels = state.panels.len();
    update(&mut state, char_key(':'));
    type_text(&mut state, "sum(rate(app_request_count_total[2m]))");
    let effects = update(&mut state, key(KeyCode::Enter));
    assert!(
        effects.contains(&Effect::SaveHistory(
            "sum(rate(app_request_count_total[2m]))".to_owned()
        )),
        "{effects:?}"
    );
    let reqs = fetches(effects);
    let ours: Vec<_> = reqs
        .iter()
        .filter(|r| r.key.expr() == "sum(rate(app_request_count_total[2m]))")
        .collect();
    // The graph's range query, and its value at the window's end (the newest step).
    assert_eq!(ours.len(), 2, "{reqs:?}");
    assert!(matches!(ours[0].key, FetchKey::Range { .. }));
    assert!(matches!(ours[1].key, FetchKey::Instant { .. }));
    assert_eq!(state.panels.len(), panels + 1);
    assert_eq!(state.focus, panels);
    assert!(state.fullscreen);
    assert!(state.explore.prompt.as_ref().is_some_and(|p| p.running));
    // Data arrives: the prompt closes, the graph stays.
    answer_all(&mut state, &reqs, Data::default());
    assert!(state.explore.prompt.is_none());
    assert!(state.panels[panels].loaded);
    assert!(!state.panels[panels].series.is_empty());
    // Esc: the result goes, the grid comes back.
    update(&mut state, key(KeyCode::Esc));
    assert_eq!(state.panels.len(), panels);
    assert!(!state.fullscreen);
    assert_eq!(state.focus, 0);
}

#[test]
fn a_range_vector_is_shown_as_a_table_of_an_instant_query() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key(':'));
    type_text(&mut state, "up[1m]");
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    let i = state.panels.len() - 1;
    assert_eq!(state.dashboard.panels[i].kind, PanelKind::Table);
    assert!(reqs.iter().any(|r| r.key
        == FetchKey::Instant {
            expr: "up[1m]".into()
        }));
}

/// Prometheus shows a range vector as each series with every sample `value @timestamp`;
/// the prompt does too, the values exact (not one rounded number per series).
#[test]
fn a_range_vector_shows_every_sample_with_its_timestamp() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key(':'));
    type_text(&mut state, "app_up[10s]");
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    let req = reqs
        .iter()
        .find(|r| r.key.expr() == "app_up[10s]")
        .expect("the typed query");
    let series = |instance: &str, values: &[f64]| RangeSeries {
        labels: labels(&[("__name__", "app_up"), ("instance", instance)]),
        samples: values
            .iter()
            .enumerate()
            .map(|(k, v)| Sample {
                t: NOW - 10.0 + 5.0 * k as f64 + 0.25,
                v: *v,
            })
            .collect(),
    };
    let matrix = QueryData::Matrix(vec![
        series("b:9100", &[0.123456789, 1e-9]),
        series("a:9100", &[1.0, 2.5, f64::NAN]),
    ]);
    update(
        &mut state,
        fetched(
            req,
            Ok(QueryResult {
                data: matrix,
                notes: Notes::default(),
            }),
        ),
    );
    let text = screen(&state);
    let lines: Vec<&str> = text.lines().collect();
    let row = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{text}"))
    };
    // Series by labels; each sample on its own line under the series' labels.
    let a = row("a:9100");
    assert!(lines[a].contains("1 @1795618925.25"), "{}", lines[a]);
    assert_eq!(row("2.5 @1795618930.25"), a + 1);
    assert_eq!(row("NaN @1795618935.25"), a + 2);
    let b = row("b:9100");
    assert_eq!(b, a + 3);
    assert!(
        lines[b].contains("0.123456789 @1795618925.25"),
        "{}",
        lines[b]
    );
    assert_eq!(row("0.000000001 @1795618930.25"), b + 1);
    snap("prompt_range_vector", text);
}

#[test]
fn p_pins_the_result_for_the_session() {
    let mut state = loaded(120, 40);
    let panels = state.panels.len();
    update(&mut state, char_key(':'));
    type_text(&mut state, "up");
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    answer_all(&mut state, &reqs, Data::default());
    update(&mut state, char_key('P'));
    assert!(state.explore.temp_panel.is_none());
    assert!(
        state.dashboard.panels[panels]
            .title
            .starts_with("pinned: up")
    );
    let round = fetches(update(&mut state, key(KeyCode::Esc)));
    assert_eq!(state.panels.len(), panels + 1, "a pinned panel stays");
    assert!(!state.fullscreen);
    // Back in the grid it keeps its data, and is asked again only when its size there
    // needs another step than the one it has.
    assert!(
        state.panels[panels].loaded,
        "the pinned panel lost its data"
    );
    let (dots, _) = state.plot_size(panels, state.panel_rects()[panels]);
    let (needed, _) = state.range_key("up", dots);
    let has = state.panels[panels].window.map(|w| FetchKey::Range {
        expr: "up".into(),
        step_ms: w.step.as_millis() as u64,
    });
    assert!(
        round.iter().any(|r| r.key == needed) || has == Some(needed.clone()),
        "{needed:?} neither asked nor held: {round:?}"
    );
}

#[test]
fn a_syntax_error_stays_under_the_prompt_with_its_column() {
    let mut state = loaded(120, 40);
    let panels = state.panels.len();
    update(&mut state, char_key(':'));
    type_text(&mut state, "sum(rate(app_request_count_total[1m])))");
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    for r in &reqs {
        let result = if r.key.expr().ends_with(")))") {
            // What Prometheus 2.42 answers for this expression.
            Err(bad_data(
                "1:40: parse error: unexpected right parenthesis ')'",
            ))
        } else {
            answer(r, Data::default())
        };
        update(&mut state, fetched(r, result));
    }
    let p = state.explore.prompt.as_ref().expect("prompt stays open");
    let e = p.error.as_ref().expect("error shown");
    assert_eq!(e.column, Some(39));
    assert!(e.message.starts_with("1:40: parse error"), "{}", e.message);
    assert!(!p.running);
    assert_eq!(state.panels.len(), panels, "no result panel");
    assert!(!state.fullscreen);
    let text = screen(&state);
    assert!(text.contains("unexpected right parenthesis"), "{text}");
    snap("prompt_error", text);
    // Typing clears the error.
    update(&mut state, key(KeyCode::Backspace));
    assert!(
        state
            .explore
            .prompt
            .as_ref()
            .is_some_and(|p| p.error.is_none())
    );
}

#[test]
fn history_with_up_and_down() {
    let mut state = loaded(120, 40);
    state.explore.history = vec!["first".into(), "second".into()];
    update(&mut state, char_key(':'));
    type_text(&mut state, "draft");
    update(&mut state, key(KeyCode::Up));
    assert_eq!(prompt_text(&state), "second");
    update(&mut state, key(KeyCode::Up));
    assert_eq!(prompt_text(&state), "first");
    update(&mut state, key(KeyCode::Up));
    assert_eq!(prompt_text(&state), "first", "stops at the oldest");
    update(&mut state, key(KeyCode::Down));
    assert_eq!(prompt_text(&state), "second");
    update(&mut state, key(KeyCode::Down));
    assert_eq!(prompt_text(&state), "draft", "back to the line being typed");
    // Running adds to the history once.
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(
        state.explore.history.last().map(String::as_str),
        Some("draft")
    );
}

fn catalog_answer(need: Need, values: &[&str]) -> Msg {
    Msg::Explore(Box::new(ExploreAnswer::Catalog(
        need,
        Ok(values.iter().map(|s| (*s).to_owned()).collect()),
    )))
}

#[test]
fn tab_loads_metric_names_once_then_completes_and_cycles() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key(':'));
    type_text(&mut state, "app_req");
    let effects = update(&mut state, key(KeyCode::Tab));
    assert_eq!(
        effects,
        vec![Effect::Explore(ExploreRequest::Catalog(Need::MetricNames))]
    );
    // A second Tab while loading asks for nothing more.
    assert!(update(&mut state, key(KeyCode::Tab)).is_empty());
    let effects = update(
        &mut state,
        catalog_answer(
            Need::MetricNames,
            &[
                "app_request_count_total",
                "app_request_latency_seconds_bucket",
                "up",
            ],
        ),
    );
    assert!(effects.is_empty());
    // The Tab is replayed: the common prefix goes in, both are listed.
    assert_eq!(prompt_text(&state), "app_request_");
    let listed = state
        .explore
        .prompt
        .as_ref()
        .and_then(|p| p.completion.as_ref())
        .map(|(c, _)| c.items.clone())
        .expect("list");
    assert_eq!(
        listed,
        vec![
            "app_request_count_total",
            "app_request_latency_seconds_bucket"
        ]
    );
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(prompt_text(&state), "app_request_count_total");
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(prompt_text(&state), "app_request_latency_seconds_bucket");
    // Cached: a new word needs no request.
    update(&mut state, key(KeyCode::Esc));
    update(&mut state, char_key(':'));
    type_text(&mut state, "u");
    assert!(update(&mut state, key(KeyCode::Tab)).is_empty());
    assert_eq!(prompt_text(&state), "up");
}

/// Many candidates are listed in several columns (eight rows at most), then "… N more".
#[test]
fn many_completions_fill_several_columns() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key(':'));
    type_text(&mut state, "metric_");
    update(&mut state, key(KeyCode::Tab));
    let names: Vec<String> = (0..60).map(|i| format!("metric_{i:02}_total")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    update(&mut state, catalog_answer(Need::MetricNames, &refs));
    let text = screen(&state);
    // 15-character names in 17-cell columns: six columns of eight rows in 116 cells.
    let row = text
        .lines()
        .find(|l| l.contains("metric_00_total"))
        .unwrap_or_else(|| panic!("{text}"));
    for name in ["metric_08_total", "metric_16_total", "metric_40_total"] {
        assert!(
            row.contains(name),
            "{name} beside the first: {row:?}\n{text}"
        );
    }
    assert!(text.contains("metric_47_total"), "{text}");
    assert!(!text.contains("metric_48_total"), "{text}");
    assert!(text.contains("… 12 more"), "{text}");
}

#[test]
fn tab_loads_label_names_and_values_for_the_metric() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key(':'));
    type_text(&mut state, "app_request_count_total{rou");
    let effects = update(&mut state, key(KeyCode::Tab));
    let need = Need::LabelNames {
        metric: "app_request_count_total".into(),
    };
    assert_eq!(
        effects,
        vec![Effect::Explore(ExploreRequest::Catalog(need.clone()))]
    );
    update(
        &mut state,
        catalog_answer(need, &["__name__", "method", "route"]),
    );
    assert_eq!(prompt_text(&state), "app_request_count_total{route");
    type_text(&mut state, "=\"");
    let effects = update(&mut state, key(KeyCode::Tab));
    let need = Need::LabelValues {
        metric: "app_request_count_total".into(),
        label: "route".into(),
    };
    assert_eq!(
        effects,
        vec![Effect::Explore(ExploreRequest::Catalog(need.clone()))]
    );
    update(&mut state, catalog_answer(need, &["/process"]));
    assert_eq!(
        prompt_text(&state),
        "app_request_count_total{route=\"/process"
    );
}

#[test]
fn inspector_shows_what_the_focused_panel_sent_and_got() {
    let mut state = loaded(120, 40);
    state.focus = 5; // Latency p50 / p95 / p99
    // Answers with a warning, as Prometheus sends them (10 s on: the range windows move).
    let round = fetches(update(&mut state, Msg::Tick(NOW + 10.0)));
    for r in &round {
        let mut result = answer(r, Data::default());
        if let Ok(res) = result.as_mut()
            && r.key.expr().contains("histogram_quantile(0.95")
        {
            res.notes = Notes {
                warnings: vec![
                    "PromQL info: input to histogram_quantile needed to be fixed for monotonicity"
                        .into(),
                ],
                infos: Vec::new(),
                is_partial: false,
            };
        }
        update(&mut state, fetched(r, result));
    }
    update(&mut state, char_key('i'));
    assert!(state.explore.inspector);
    let text = screen(&state);
    assert!(text.contains("Inspect: Latency p50 / p95 / p99"), "{text}");
    assert!(text.contains("histogram_quantile(0.95"), "{text}");
    assert!(text.contains("1 series"), "{text}");
    assert!(text.contains("monotonicity"), "{text}");
    assert!(text.contains("step"), "{text}");
    snap("inspector", text);
    update(&mut state, char_key('i'));
    assert!(!state.explore.inspector);
    update(&mut state, char_key('i'));
    update(&mut state, key(KeyCode::Esc));
    assert!(!state.explore.inspector);
    assert!(!state.quit);
}

/// At 80×24 the inspector wraps its long lines inside its box and scrolls through what
/// does not fit: arrows, PgDn, End, Home.
#[test]
fn inspector_wraps_and_scrolls_at_80x24() {
    let mut state = loaded(80, 24);
    state.focus = 5; // Latency p50 / p95 / p99: six requests, long expressions
    update(&mut state, char_key('i'));
    let top = screen(&state);
    // A long expression is wrapped, not cut: its end is on screen.
    assert!(top.contains("bucket[1m])))"), "{top}");
    assert!(top.contains("#1 range query"), "{top}");
    assert!(!top.contains("#6 "), "more than fits: {top}");
    assert!(top.contains(" of "), "says where it is: {top}");
    update(&mut state, key(KeyCode::Down));
    assert_eq!(state.explore.inspector_scroll, 1);
    let down = screen(&state);
    assert!(!down.contains("#1 range query"), "{down}");
    update(&mut state, key(KeyCode::End));
    let end = screen(&state);
    assert!(end.contains("#6 instant query"), "{end}");
    // Further down stays at the end.
    let at_end = state.explore.inspector_scroll;
    update(&mut state, key(KeyCode::PageDown));
    update(&mut state, key(KeyCode::Down));
    assert_eq!(state.explore.inspector_scroll, at_end);
    update(&mut state, key(KeyCode::Home));
    assert_eq!(screen(&state), top);
    // Every line stays inside the box: nothing written past its right border.
    for line in top.lines().skip(1) {
        assert!(line.chars().count() <= 80, "{line}");
    }
}

/// A held arrow (the terminal repeating it, presses 30 ms apart) moves the cursor
/// faster: 1 column a press, then 2, 4 and 8; a pause starts over at 1.
#[test]
fn a_held_arrow_accelerates_the_cursor() {
    let mut state = loaded(120, 40);
    state.focus = 4; // Request rate by route
    update(&mut state, char_key('v'));
    let start = state.explore.cursor.expect("cursor on");
    assert!(start > 37, "room for the presses below: {start}");
    let mut moved = Vec::new();
    for _ in 0..13 {
        state.now += 0.03;
        let before = state.explore.cursor.expect("on");
        update(&mut state, key(KeyCode::Left));
        moved.push(before - state.explore.cursor.expect("on"));
    }
    assert_eq!(moved, [1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 8]);
    // Let go and press again: one column.
    state.now += 1.0;
    let before = state.explore.cursor.expect("on");
    update(&mut state, key(KeyCode::Left));
    assert_eq!(before - state.explore.cursor.expect("on"), 1);
}

#[test]
fn cursor_moves_with_arrows_and_shows_values() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key('v'));
    assert_eq!(state.explore.cursor, None, "the first panel is a stat");
    state.focus = 4; // Request rate by route
    update(&mut state, char_key('v'));
    let start = state.explore.cursor.expect("cursor on");
    // Presses a second apart: one column each (a held key accelerates, see below).
    let press = |state: &mut State, code: KeyCode| {
        state.now += 1.0;
        update(state, key(code));
    };
    press(&mut state, KeyCode::Left);
    press(&mut state, KeyCode::Left);
    assert_eq!(state.explore.cursor, Some(start - 2));
    press(&mut state, KeyCode::Right);
    assert_eq!(state.explore.cursor, Some(start - 1));
    // Right stops at the last column.
    for _ in 0..5 {
        press(&mut state, KeyCode::Right);
    }
    assert_eq!(state.explore.cursor, Some(start));
    for _ in 0..30 {
        press(&mut state, KeyCode::Left);
    }
    state.now = NOW;
    // Paused: the arrows move the cursor, not the window.
    update(&mut state, char_key('p'));
    let end = state.end;
    update(&mut state, key(KeyCode::Left));
    assert_eq!(state.end, end);
    assert_eq!(state.explore.cursor, Some(start - 31));
    let text = screen(&state);
    assert!(text.contains("req/s /process"), "{text}");
    assert!(text.contains("14:52:36"), "the time at the cursor: {text}");
    snap("cursor", text);
    update(&mut state, char_key('v'));
    assert_eq!(state.explore.cursor, None);
}

/// Drives the p95 rule to pending (one evaluation over the threshold).
fn pending_p95(state: &mut State, t: f64) {
    let round = fetches(update(state, Msg::Tick(t)));
    answer_all(
        state,
        &round,
        Data {
            alert_p95: 0.83,
            alert_errors: 0.012,
        },
    );
}

fn server_alert() -> ServerAlert {
    ServerAlert {
        labels: labels(&[("alertname", "TargetDown"), ("job", "node")]),
        annotations: labels(&[("summary", "node exporter is down")]),
        state: "firing".into(),
        active_at: Some("2026-11-25T14:50:00Z".into()),
        value: Some(0.0),
    }
}

#[test]
fn alerts_view_lists_silences_and_fetches_server_alerts_while_open() {
    let mut state = loaded(120, 40);
    pending_p95(&mut state, NOW + 5.0);
    let effects = update(&mut state, char_key('a'));
    assert_eq!(effects, vec![Effect::Explore(ExploreRequest::ServerAlerts)]);
    assert!(state.explore.alerts_view);
    // Each refresh while open asks again.
    let round = update(&mut state, Msg::Tick(NOW + 10.0));
    assert!(round.contains(&Effect::Explore(ExploreRequest::ServerAlerts)));
    update(
        &mut state,
        Msg::Explore(Box::new(ExploreAnswer::ServerAlerts(Ok(vec![
            server_alert(),
        ])))),
    );
    answer_all(
        &mut state,
        &fetches(round),
        Data {
            alert_p95: 0.83,
            alert_errors: 0.012,
        },
    );
    let rows = promdash::explore::alert_rows(&state);
    assert_eq!(rows[0].rule, "HighLatencyP95");
    assert_eq!(rows[0].state, "PENDING");
    assert!(
        rows.iter()
            .any(|r| r.rule == "HighErrorRatio" && r.state == "inactive")
    );
    assert!(rows.iter().any(|r| r.server && r.rule == "TargetDown"));
    // `s` silences the selected (first) row.
    update(&mut state, char_key('s'));
    assert!(
        state
            .explore
            .is_silenced(&rows[0].rule, &rows[0].labels, state.now)
    );
    // Firing while silenced: no bell, no banner.
    let mut bells = 0;
    for k in 0..8 {
        let t = NOW + 15.0 + 5.0 * f64::from(k);
        let round = fetches(update(&mut state, Msg::Tick(t)));
        let effects = answer_all(
            &mut state,
            &round,
            Data {
                alert_p95: 0.83,
                alert_errors: 0.012,
            },
        );
        bells += effects.iter().filter(|e| **e == Effect::Bell).count();
    }
    assert!(state.alerts.firing().next().is_some(), "the rule fires");
    assert_eq!(bells, 0, "a silenced alert does not ring");
    let text = screen(&state);
    assert!(text.contains("silenced 59m"), "{text}");
    assert!(text.contains("[server] TargetDown"), "{text}");
    assert!(text.contains("pending → firing"), "{text}");
    let banner = text.lines().next().unwrap_or("");
    assert!(!banner.contains("FIRING"), "{banner}");
    // The silenced alert still leaves a trace in the banner: how many are silenced.
    assert!(banner.trim_end().ends_with("1 silenced"), "{banner}");
    snap("alerts_view_silenced", text);
    // Closed, the dashboard's banner says it too, at 80 columns as well.
    update(&mut state, char_key('a'));
    for (w, h) in [(120, 40), (80, 24)] {
        update(&mut state, Msg::Resize(w, h));
        let text = screen(&state);
        let banner = text.lines().next().unwrap_or("");
        assert!(banner.trim_end().ends_with("1 silenced"), "{banner}");
        assert!(!banner.contains("FIRING"), "{banner}");
    }
    update(&mut state, Msg::Resize(120, 40));
    update(&mut state, char_key('a'));
    // At 80 columns the view keeps names whole, the inactive rule's value and threshold,
    // the silence and the start of each summary.
    update(&mut state, Msg::Resize(80, 24));
    let text = screen(&state);
    for want in [
        "HighLatencyP95",
        "[server] TargetDown",
        "0.012 > 0.05",
        "silenced 59m",
        "node exporter",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    insta::with_settings!({ snapshot_suffix => "80x24", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("alerts_view_silenced", text);
    });
    update(&mut state, Msg::Resize(120, 40));
    // `S` clears: the banner shows it again.
    update(&mut state, char_key('S'));
    assert!(state.explore.silences.is_empty());
    update(&mut state, char_key('a'));
    assert!(!state.explore.alerts_view);
    let text = screen(&state);
    assert!(
        text.lines().next().unwrap_or("").contains("FIRING"),
        "{text}"
    );
    assert!(!text.lines().next().unwrap_or("").contains("silenced"));
    // Closed: refreshes no longer ask for the server's alerts.
    let round = update(&mut state, Msg::Tick(NOW + 100.0));
    assert!(!round.contains(&Effect::Explore(ExploreRequest::ServerAlerts)));
}

#[test]
fn alerts_view_selection_and_history() {
    let mut state = loaded(120, 40);
    pending_p95(&mut state, NOW + 5.0);
    update(&mut state, char_key('a'));
    update(&mut state, key(KeyCode::Down));
    assert_eq!(state.explore.alert_selected, 1);
    update(&mut state, key(KeyCode::Down));
    assert_eq!(
        state.explore.alert_selected, 1,
        "two rows: stops at the last"
    );
    update(&mut state, key(KeyCode::Up));
    update(&mut state, key(KeyCode::Up));
    assert_eq!(state.explore.alert_selected, 0);
    let t = &state.explore.transitions;
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].from, t[0].to),
        (AlertState::Inactive, AlertState::Pending)
    );
    assert!(screen(&state).contains("server alerts: loading"));
    update(
        &mut state,
        Msg::Explore(Box::new(ExploreAnswer::ServerAlerts(Ok(Vec::new())))),
    );
    assert!(screen(&state).contains("server alerts: none"));
    update(
        &mut state,
        Msg::Explore(Box::new(ExploreAnswer::ServerAlerts(Err(refused())))),
    );
    let said: String = refused().to_string().chars().take(30).collect();
    assert!(
        screen(&state).contains(&format!("server alerts: {said}")),
        "{}",
        screen(&state)
    );
    update(&mut state, key(KeyCode::Esc));
    assert!(!state.explore.alerts_view);
}

#[test]
fn help_lists_the_new_keys() {
    let mut state = loaded(120, 40);
    update(&mut state, char_key('?'));
    let text = screen(&state);
    for k in [
        "pin the prompt",
        "inspect the focused",
        "cursor in the focused",
        "alerts view",
    ] {
        assert!(text.contains(k), "{k}: {text}");
    }
}

#[test]
fn query_range_answer_is_drawn_in_the_temporary_panel() {
    // A matrix answer with two series is plotted (legend shows both).
    let mut state = loaded(120, 40);
    update(&mut state, char_key(':'));
    type_text(&mut state, "x");
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    for r in &reqs {
        let result = if r.key.expr() == "x" && r.window.is_none() {
            // The value at the window's end.
            Ok(QueryResult {
                data: QueryData::Vector(Vec::new()),
                notes: Notes::default(),
            })
        } else if r.key.expr() == "x" {
            let w = r.window.expect("range");
            let s = |route: &str, v: f64| RangeSeries {
                labels: labels(&[("route", route)]),
                samples: vec![Sample { t: w.start, v }, Sample { t: w.end, v }],
            };
            Ok(QueryResult {
                data: QueryData::Matrix(vec![s("/a", 1.0), s("/b", 2.0)]),
                notes: Notes::default(),
            })
        } else {
            answer(r, Data::default())
        };
        update(&mut state, fetched(r, result));
    }
    let text = screen(&state);
    assert!(text.contains("query: x"), "{text}");
    assert!(
        text.contains("route=\"/a\"") && text.contains("route=\"/b\""),
        "{text}"
    );
}

#[test]
fn cursor_finds_the_sample_when_steps_are_wider_than_a_braille_column() {
    // 5m over ~110 cells: a 2s step is 1.5 braille columns, so some columns hold no
    // sample; the cursor shows the last sample before it, never a hole.
    let mut state = loaded(120, 40);
    let reqs = fetches(update(&mut state, char_key('+')));
    answer_all(&mut state, &reqs, Data::default());
    update(&mut state, char_key(':'));
    type_text(&mut state, "x");
    let reqs = fetches(update(&mut state, key(KeyCode::Enter)));
    answer_all(&mut state, &reqs, Data::default());
    let i = state.focus;
    let w = state.panels[i].window.expect("window");
    assert_eq!(w.step.as_secs(), 2);
    update(&mut state, char_key('v'));
    assert!(state.explore.cursor.is_some());
    let rect = state.panel_rects()[i].expect("on screen");
    let plot = promdash::ui::cursor::plot_rect(&state, i, rect).expect("plot");
    let mut holes = 0;
    for col in 0..plot.width {
        let (_, values) =
            promdash::ui::cursor::values_at(&state, i, col, plot.width).expect("values");
        if !values[0].1.is_finite() {
            holes += 1;
        }
    }
    assert_eq!(holes, 0);
}

#[test]
fn victoria_metrics_is_told_in_the_status_bar_and_inspector() {
    use promdash_queries::backend::Backend;
    let mut state = loaded(120, 40);
    let text = screen(&state);
    assert!(!text.contains("VictoriaMetrics"), "{text}");
    update(
        &mut state,
        Msg::Explore(Box::new(ExploreAnswer::Backend(Backend::VictoriaMetrics {
            version: String::new(),
            hidden: promdash_queries::backend::VM_HIDDEN_WINDOW,
        }))),
    );
    let text = screen(&state);
    let status = text.lines().last().unwrap_or_default();
    assert!(
        status.contains("VictoriaMetrics · newest 30s hidden"),
        "{status}"
    );
    update(&mut state, char_key('i'));
    let text = screen(&state);
    assert!(
        text.contains("server   VictoriaMetrics (MetricsQL, not PromQL)"),
        "{text}"
    );
    assert!(text.contains("do not extrapolate"), "{text}");
    assert!(text.contains("NaN are dropped"), "{text}");
    assert!(text.contains("+Inf"), "{text}");
    assert!(text.contains("rate() of a gauge"), "{text}");
    assert!(
        text.contains("newest 30s are hidden from range queries"),
        "{text}"
    );
    snap("inspector_victoria_metrics", text);
}
