//! Imported Grafana dashboards through `update`: chained variables asked again when their
//! parent changes, the queries sent after substitution, and the screens at 120×40.

mod common;

use common::*;
use promdash::app::{Effect, FetchRequest, Msg, State, update};
use promdash::explore::{ExploreAnswer, ExploreRequest};
use promdash_queries::grafana::import;
use ratatui::crossterm::event::KeyCode;

const NODE: &str = include_str!("../../queries/src/grafana/testdata/node-style.json");
const LEGACY: &str = include_str!("../../queries/src/grafana/testdata/legacy-rows.json");

fn var_requests(effects: &[Effect]) -> Vec<ExploreRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Explore(
                r @ (ExploreRequest::VarValues { .. } | ExploreRequest::VarQuery { .. }),
            ) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

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

#[test]
fn a_chained_variable_is_asked_again_when_its_parent_changes() {
    let d = import(NODE).expect("imports").dashboard;
    let mut state = State::new(d, options());
    update(&mut state, Msg::Resize(120, 40));
    let effects = update(&mut state, Msg::Tick(NOW));
    // The saved choices are used from the start; a single value goes in as it is.
    let first = exprs(&fetches(effects.clone()));
    assert!(
        first
            .iter()
            .any(|e| e == r#"node_memory_MemTotal_bytes{instance="localhost:9100"}"#),
        "{first:?}"
    );
    // $job is asked; $instance waits for it (its query uses $job).
    assert_eq!(
        var_requests(&effects),
        [ExploreRequest::VarValues {
            var: 0,
            label: "job".into(),
            matcher: Some("node_uname_info".into()),
        }]
    );
    let effects = update(&mut state, values(0, &["node", "other"]));
    assert_eq!(
        var_requests(&effects),
        [ExploreRequest::VarValues {
            var: 1,
            label: "instance".into(),
            matcher: Some(r#"node_uname_info{job="node"}"#.into()),
        }]
    );
    // The saved choice is among the values: kept, nothing to fetch again.
    let effects = update(&mut state, values(1, &["localhost:9100", "h2:9100"]));
    let sent = exprs(&fetches(effects));
    assert!(sent.iter().all(|e| !e.contains("instance")), "{sent:?}");
    // Choose job "other" in the picker: $instance is asked again with the new job.
    update(&mut state, char_key('V'));
    update(&mut state, key(KeyCode::Down));
    let effects = update(&mut state, key(KeyCode::Enter));
    assert_eq!(
        var_requests(&effects),
        [ExploreRequest::VarValues {
            var: 1,
            label: "instance".into(),
            matcher: Some(r#"node_uname_info{job="other"}"#.into()),
        }]
    );
    // The new job has other hosts: the choice falls back to the first, and the panels
    // using $instance are fetched with it.
    let effects = update(&mut state, values(1, &["db:9100"]));
    let sent = exprs(&fetches(effects));
    assert!(
        sent.iter()
            .any(|e| e == r#"node_memory_MemTotal_bytes{instance="db:9100"}"#),
        "{sent:?}"
    );
    assert!(sent.iter().all(|e| !e.contains("localhost")), "{sent:?}");
    // Multi-value custom variable: the two saved values as a regex-escaped alternation.
    assert!(
        sent.iter().any(|e| e.contains(r#"mode=~"(user|system)""#)),
        "{sent:?}"
    );
}

fn loaded_screen(json: &str, var_values: &[(usize, &[&str])]) -> String {
    let d = import(json).expect("imports").dashboard;
    let (mut state, reqs) = start(d, 120, 40);
    answer_all(&mut state, &reqs, Data::default());
    for (var, v) in var_values {
        let reqs = fetches(update(&mut state, values(*var, v)));
        answer_all(&mut state, &reqs, Data::default());
    }
    screen(&state)
}

#[test]
fn imported_screens() {
    let node = loaded_screen(NODE, &[(0, &["node"]), (1, &["localhost:9100"])]);
    for want in [
        "Uptime",
        "CPU busy",
        "CPU by mode",
        "Host overview",
        "$instance",
    ] {
        assert!(node.contains(want), "{want} missing:\n{node}");
    }
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("grafana_node_style", node);
    });
    let legacy = loaded_screen(LEGACY, &[(0, &["/process", "/healthz"])]);
    for want in [
        "Requests/s",
        "Errors",
        "Requests by route",
        "▸ Latency (3 panels)",
    ] {
        assert!(legacy.contains(want), "{want} missing:\n{legacy}");
    }
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("grafana_legacy_rows", legacy);
    });
}

/// The distinct expressions of the panels on screen.
fn visible_exprs(state: &State) -> Vec<String> {
    let rects = state.panel_rects();
    let mut v: Vec<String> = state
        .dashboard
        .panels
        .iter()
        .enumerate()
        .filter(|(i, _)| rects[*i].is_some())
        .flat_map(|(_, p)| p.queries.iter().map(|q| q.expr.clone()))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn collapsed_rows_cost_no_queries_until_unfolded() {
    let d = import(NODE).expect("imports").dashboard;
    let mut state = State::new(d, options());
    update(&mut state, Msg::Resize(120, 40));
    let first = exprs(&fetches(update(&mut state, Msg::Tick(NOW))));
    // Network and Logs are collapsed: none of their queries is sent.
    assert!(
        first.iter().all(|e| !e.contains("node_network")),
        "{first:?}"
    );
    assert!(first.iter().all(|e| !e.starts_with("up{")), "{first:?}");
    assert_eq!(
        first,
        visible_exprs(&state),
        "one request per visible expression"
    );
    let text = screen(&state);
    assert!(text.contains("▾ CPU / Memory"), "{text}");
    assert!(text.contains("▸ Network (2 panels)"), "{text}");
    assert!(text.contains("▸ Logs (2 panels)"), "{text}");
    // PgDn twice: the Network title bar; Enter unfolds it and fetches only its panels.
    update(&mut state, key(KeyCode::PageDown));
    update(&mut state, key(KeyCode::PageDown));
    assert_eq!(state.row_focus, Some(1));
    let unfolded = exprs(&fetches(update(&mut state, key(KeyCode::Enter))));
    assert!(!unfolded.is_empty());
    assert!(
        unfolded.iter().all(|e| e.contains("node_network")),
        "only the unfolded row's panels: {unfolded:?}"
    );
    let text = screen(&state);
    assert!(text.contains("▾ Network"), "{text}");
    assert!(text.contains("Network traffic"), "{text}");
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("grafana_row_unfolded", text);
    });
    // Fold it again: nothing is fetched, and the next round leaves it out.
    assert!(fetches(update(&mut state, char_key('z'))).is_empty());
    answer_all(&mut state, &[], Data::default());
    let round = exprs(&fetches(update(&mut state, Msg::Tick(NOW + 60.0))));
    assert!(
        round.iter().all(|e| !e.contains("node_network")),
        "{round:?}"
    );
    // Tab walks title bars and open panels; the view scrolls to the focus.
    for _ in 0..20 {
        update(&mut state, key(KeyCode::Tab));
        let rects = state.panel_rects();
        if state.row_focus.is_none() {
            assert!(
                rects[state.focus].is_some(),
                "focused panel {} is on screen",
                state.focus
            );
        }
    }
}

#[test]
fn a_dashboard_taller_than_the_screen_scrolls_to_the_focus() {
    let d = import(NODE).expect("imports").dashboard;
    let mut state = State::new(d, options());
    update(&mut state, Msg::Resize(120, 14));
    update(&mut state, Msg::Tick(NOW));
    let top = screen(&state);
    assert!(top.contains("Uptime"), "{top}");
    assert!(top.contains("▼ more"), "{top}");
    assert!(!top.contains("▲ more"), "{top}");
    // The Network title bar (PgUp: the last row, then the one before): the first lines
    // scroll away, it comes into view.
    update(&mut state, key(KeyCode::PageUp));
    update(&mut state, key(KeyCode::PageUp));
    assert_eq!(state.row_focus, Some(1));
    // Unfolding it fetches its panels, now on screen.
    let sent = exprs(&fetches(update(&mut state, key(KeyCode::Enter))));
    assert!(!sent.is_empty());
    let bottom = screen(&state);
    assert!(bottom.contains("▾ Network"), "{bottom}");
    assert!(bottom.contains("Network traffic"), "{bottom}");
    assert!(bottom.contains("▲ more"), "{bottom}");
    assert!(!bottom.contains("Uptime"), "{bottom}");
    let rects = state.panel_rects();
    for e in &sent {
        let shown = state
            .dashboard
            .panels
            .iter()
            .enumerate()
            .any(|(i, p)| rects[i].is_some() && p.queries.iter().any(|q| &q.expr == e));
        assert!(shown, "{e} sent for a panel off screen");
    }
}

/// `$__rate_interval` = max($__interval + scrape interval, 4 × scrape interval): asked of
/// the server once; its answer re-runs exactly the panels using it; no answer keeps 15 s;
/// a fixed interval (`--scrape-interval-hint`, the embedded engine's) is never asked.
#[test]
fn rate_interval_takes_the_servers_scrape_interval() {
    use std::time::Duration;
    let d = import(NODE).expect("imports").dashboard;
    let mut state = State::new(d.clone(), options());
    update(&mut state, Msg::Resize(120, 40));
    let effects = update(&mut state, Msg::Tick(NOW));
    assert!(
        effects.contains(&Effect::Explore(ExploreRequest::ScrapeInterval)),
        "{effects:?}"
    );
    let first = exprs(&fetches(effects));
    // 15 s until the server says: 4 × 15 s = 1m (a 15m graph's step is well under 45 s).
    assert!(first.iter().any(|e| e.contains("[1m]")), "{first:?}");
    let answer = |d: Option<Duration>| Msg::Explore(Box::new(ExploreAnswer::ScrapeInterval(d)));
    // The server scrapes every 40 s: 4 × 40 s = 2m40s, and only those panels run again.
    let again = exprs(&fetches(update(
        &mut state,
        answer(Some(Duration::from_secs(40))),
    )));
    assert!(!again.is_empty());
    assert!(again.iter().all(|e| e.contains("[2m40s]")), "{again:?}");
    let next = exprs(&fetches(update(&mut state, Msg::Tick(NOW + 60.0))));
    assert!(next.iter().all(|e| !e.contains("[1m]")), "{next:?}");
    // A server without a readable configuration (Thanos, a proxy hiding it): 15 s stays.
    let mut vm = State::new(d.clone(), options());
    update(&mut vm, Msg::Resize(120, 40));
    update(&mut vm, Msg::Tick(NOW));
    assert!(fetches(update(&mut vm, answer(None))).is_empty());
    assert_eq!(vm.vars.scrape_interval, Duration::from_secs(15));
    // A fixed interval: not asked, and an answer changes nothing.
    let mut fixed = State::new(d, options());
    fixed.vars.fix_scrape_interval(Duration::from_secs(5));
    update(&mut fixed, Msg::Resize(120, 40));
    let effects = update(&mut fixed, Msg::Tick(NOW));
    assert!(!effects.contains(&Effect::Explore(ExploreRequest::ScrapeInterval)));
    // max($__interval + 5 s, 20 s): 20s for steps up to 15 s.
    let sent = exprs(&fetches(effects));
    assert!(sent.iter().any(|e| e.contains("[20s]")), "{sent:?}");
    assert!(fetches(update(&mut fixed, answer(Some(Duration::from_secs(40))))).is_empty());
}

/// `options.legend` with `displayMode: table` and `calcs`: a table under the graph, a
/// column per calculation in the panel's unit, a row per series; a short panel keeps the
/// plain legend.
#[test]
fn table_legend_under_the_graph() {
    let json = r#"{
      "title": "Legends",
      "panels": [
        { "type": "timeseries", "title": "Traffic by route", "gridPos": { "x": 0, "y": 0, "w": 16, "h": 14 },
          "fieldConfig": { "defaults": { "unit": "bytes" } },
          "options": { "legend": { "displayMode": "table", "placement": "bottom",
                                   "calcs": ["min", "mean", "max", "lastNotNull", "count"] } },
          "targets": [ { "refId": "A", "expr": "sum by (route) (rate(app_request_count_total[5m]))", "legendFormat": "{{route}}" } ] },
        { "type": "timeseries", "title": "Short one", "gridPos": { "x": 16, "y": 0, "w": 8, "h": 7 },
          "options": { "legend": { "displayMode": "table", "calcs": ["max"] } },
          "targets": [ { "refId": "A", "expr": "sum by (route) (rate(app_request_count_total[1m]))", "legendFormat": "{{route}}" } ] },
        { "type": "graph", "title": "Old graph", "gridPos": { "x": 16, "y": 7, "w": 8, "h": 14 },
          "legend": { "show": true, "values": true, "alignAsTable": true, "avg": true, "current": true },
          "yaxes": [ { "format": "reqps" }, { "format": "short" } ],
          "targets": [ { "refId": "A", "expr": "sum by (route) (rate(app_request_count_total[2m]))", "legendFormat": "{{route}}" } ] }
      ]
    }"#;
    let text = loaded_screen(json, &[]);
    // The header and both routes' rows, in the panel's unit.
    for want in [
        "Min",
        "Mean",
        "Max",
        "Last *",
        "Count",
        "● /process",
        "● /healthz",
        " B ",
        "Mean",
        "Last *",
        "req/s",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    insta::with_settings!({ snapshot_suffix => "120x40", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("grafana_table_legend", text);
    });
}

/// An `interval` variable at `auto`: the range / auto_count rounded as Grafana rounds
/// intervals, at least auto_min, following the range shown; another choice goes in as it
/// is.
#[test]
fn interval_auto_follows_the_range() {
    let json = r#"{"title": "Auto", "time": {"from": "now-6h", "to": "now"},
      "templating": {"list": [
        {"name": "iv", "type": "interval", "query": "1m,10m", "auto": true,
         "auto_count": 30, "auto_min": "10s",
         "current": {"text": "auto", "value": "$__auto_interval_iv"}}]},
      "panels": [{"type": "stat", "title": "Rate", "gridPos": {"x": 0, "y": 0, "w": 8, "h": 6},
        "targets": [{"refId": "A", "expr": "sum(rate(app_request_count_total[$iv]))"}]}]}"#;
    let d = import(json).expect("imports").dashboard;
    let mut state = State::new(d.clone(), options());
    state.range = d.range;
    update(&mut state, Msg::Resize(120, 40));
    // 6h / 30 = 12m, rounded to 10m.
    let sent = exprs(&fetches(update(&mut state, Msg::Tick(NOW))));
    assert_eq!(sent, ["sum(rate(app_request_count_total[10m]))"]);
    // 1h / 30 = 2m; 5m / 30 = 10s; 1m / 30 = 2s, below the 10s minimum.
    for (range, want) in [(3_600, "2m"), (300, "10s"), (60, "10s")] {
        state.range = std::time::Duration::from_secs(range);
        promdash::variables::apply(&mut state);
        assert_eq!(
            state.dashboard.panels[0].queries[0].expr,
            format!("sum(rate(app_request_count_total[{want}]))"),
            "range {range} s"
        );
    }
    // Another value chosen: as it is.
    state.vars.vars[0].selected = vec!["1m".into()];
    promdash::variables::apply(&mut state);
    assert_eq!(
        state.dashboard.panels[0].queries[0].expr,
        "sum(rate(app_request_count_total[1m]))"
    );
}
