//! `update()`: keys, refresh rounds, results, failures. No terminal, no network, no clock.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use promdash::app::{Effect, FetchKey, Msg, Server, ZOOMS, update};
use promdash_queries::alert::AlertState;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[test]
fn first_round_fetches_each_distinct_query_once() {
    let (state, reqs) = default_state(120, 40);
    let keys: HashSet<&FetchKey> = reqs.iter().map(|r| &r.key).collect();
    assert_eq!(keys.len(), reqs.len(), "no request twice in a round");
    // The error-ratio stat and the error-ratio graph share one expression; the instant
    // query of that expression is sent once for both.
    let error_instant = reqs
        .iter()
        .filter(|r| matches!(&r.key, FetchKey::Instant { expr } if expr.starts_with("(sum(rate(app_error_count_total[1m]))")))
        .count();
    assert_eq!(error_instant, 1);
    // Every panel query and alert rule is covered.
    for p in &state.dashboard.panels {
        for q in &p.queries {
            assert!(
                reqs.iter().any(|r| r.key.expr() == q.expr),
                "{} not fetched",
                q.expr
            );
        }
    }
    for a in &state.dashboard.alerts {
        assert!(reqs.iter().any(|r| r.key
            == FetchKey::Instant {
                expr: a.expr.clone()
            }));
    }
    // Range windows are aligned to their step and end at or before now.
    for r in &reqs {
        if let Some(w) = r.window {
            let step = w.step.as_secs_f64();
            assert!(w.end <= NOW && NOW - w.end < step);
            assert_eq!((w.end / step).fract(), 0.0);
        }
    }
}

#[test]
fn at_most_one_request_in_flight_per_query() {
    let (mut state, first) = default_state(120, 40);
    assert!(!first.is_empty());
    let again = fetches(update(&mut state, char_key('r')));
    assert!(again.is_empty(), "everything is still in flight: {again:?}");
    // Answer one; only that one is sent again.
    let one = first
        .iter()
        .find(|r| matches!(r.key, FetchKey::Instant { .. }))
        .expect("an instant query");
    update(&mut state, fetched(one, answer(one, Data::default())));
    let again = fetches(update(&mut state, char_key('r')));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].key, one.key);
    assert!(again[0].seq > one.seq);
}

#[test]
fn refresh_runs_on_the_interval_not_before() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    assert!(fetches(update(&mut state, Msg::Tick(NOW + 4.9))).is_empty());
    let next = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
    assert_all_instant_queries(&reqs, &next);
    assert!(state.refreshed.is_some());
}

#[test]
fn quit_keys() {
    for msg in [char_key('q'), ctrl('c')] {
        let (mut state, _) = default_state(80, 24);
        let effects = update(&mut state, msg);
        assert!(state.quit);
        assert!(effects.contains(&Effect::Quit));
    }
    // A plain `c` does not quit.
    let (mut state, _) = default_state(80, 24);
    update(&mut state, char_key('c'));
    assert!(!state.quit);
}

#[test]
fn help_toggles_and_any_key_closes_it() {
    let (mut state, _) = default_state(80, 24);
    update(&mut state, char_key('?'));
    assert!(state.help);
    update(&mut state, char_key('?'));
    assert!(!state.help);
    update(&mut state, char_key('?'));
    update(&mut state, key(KeyCode::Esc));
    assert!(!state.help);
    update(&mut state, char_key('?'));
    let effects = update(&mut state, char_key('p'));
    assert!(!state.help, "a key closes the overlay");
    assert!(!state.paused, "…and does nothing else");
    assert!(effects.is_empty());
    // q still quits from the overlay.
    update(&mut state, char_key('?'));
    update(&mut state, char_key('q'));
    assert!(state.quit);
}

#[test]
fn r_refreshes_now() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    update(&mut state, Msg::Tick(NOW + 1.0));
    let again = fetches(update(&mut state, char_key('r')));
    assert_all_instant_queries(&reqs, &again);
    assert_eq!(state.next_refresh_at, NOW + 6.0, "the interval restarts");
}

#[test]
fn pause_stops_panel_refresh_and_pins_the_window() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    update(&mut state, char_key('p'));
    assert!(state.paused);
    assert_eq!(state.end, Some(NOW));
    // Later ticks only evaluate the alert rules.
    let later = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
    assert_eq!(later.len(), state.dashboard.alerts.len());
    assert!(later.iter().all(|r| {
        state
            .dashboard
            .alerts
            .iter()
            .any(|a| a.expr == r.key.expr())
    }));
    answer_all(&mut state, &later, Data::default());
    // Resume: back to live, everything fetched at once.
    let resumed = fetches(update(&mut state, char_key('p')));
    assert!(!state.paused);
    assert_eq!(state.end, None);
    assert_all_instant_queries(&reqs, &resumed);
}

#[test]
fn left_while_live_pauses_and_pans_back() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    assert!(
        fetches(update(&mut state, key(KeyCode::Right))).is_empty(),
        "nothing newer than now"
    );
    assert!(!state.paused);
    let panned = fetches(update(&mut state, key(KeyCode::Left)));
    assert!(state.paused, "← pauses");
    assert_eq!(
        state.end,
        Some(NOW - 450.0),
        "and pans half the 15m range back"
    );
    assert!(!panned.is_empty(), "the panned window is asked for");
    answer_all(&mut state, &panned, Data::default());
    let text = screen(&state);
    let status = text.lines().last().unwrap_or_default();
    assert!(status.contains("PAUSED at 14:54:45"), "{status}");
    // p resumes live.
    update(&mut state, char_key('p'));
    assert!(!state.paused);
    assert_eq!(state.end, None);
}

#[test]
fn pan_while_paused_and_never_past_now() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    update(&mut state, char_key('p'));
    let panned = fetches(update(&mut state, key(KeyCode::Left)));
    assert_eq!(state.end, Some(NOW - 450.0), "half of the 15m range back");
    let w = panned.iter().find_map(|r| r.window).expect("a range query");
    assert!(w.end <= NOW - 450.0 && w.end > NOW - 450.0 - w.step.as_secs_f64());
    // Instant queries of a paused dashboard are evaluated at the pinned end.
    assert!(
        panned
            .iter()
            .any(|r| matches!(r.key, FetchKey::Instant { .. }) && r.time == Some(NOW - 450.0))
    );
    answer_all(&mut state, &panned, Data::default());

    update(&mut state, key(KeyCode::Right));
    assert_eq!(state.end, Some(NOW));
    update(&mut state, key(KeyCode::Right));
    assert_eq!(state.end, Some(NOW), "not past now");
}

#[test]
fn zoom_walks_the_levels_and_stops_at_the_ends() {
    let (mut state, _) = default_state(120, 40);
    assert_eq!(state.range, Duration::from_secs(900));
    update(&mut state, char_key('+'));
    assert_eq!(state.range, Duration::from_secs(300));
    update(&mut state, char_key('+'));
    assert_eq!(state.range, Duration::from_secs(300), "5m is the closest");
    for _ in 0..10 {
        update(&mut state, char_key('-'));
    }
    assert_eq!(
        state.range,
        Duration::from_secs(ZOOMS[ZOOMS.len() - 1]),
        "7d is the widest"
    );
    update(&mut state, char_key('+'));
    assert_eq!(state.range, Duration::from_secs(86400));
}

#[test]
fn zoom_refetches_with_the_new_range() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    let zoomed = fetches(update(&mut state, char_key('-')));
    let w = zoomed.iter().find_map(|r| r.window).expect("a range query");
    assert!(w.end - w.start >= 3600.0);
}

#[test]
fn focus_wraps_both_ways() {
    let (mut state, _) = default_state(120, 40);
    let n = state.panels.len();
    assert_eq!(state.focus, 0);
    update(&mut state, key(KeyCode::BackTab));
    assert_eq!(state.focus, n - 1);
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, 0);
    for _ in 0..n {
        update(&mut state, key(KeyCode::Tab));
    }
    assert_eq!(state.focus, 0);
    // Some terminals send Shift+Tab as Tab with SHIFT.
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::SHIFT)),
    );
    assert_eq!(state.focus, n - 1);
}

#[test]
fn enter_goes_full_screen_and_esc_comes_back() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    update(&mut state, key(KeyCode::Tab));
    update(&mut state, key(KeyCode::Tab));
    update(&mut state, key(KeyCode::Tab));
    update(&mut state, key(KeyCode::Tab));
    let focus = state.focus;
    let wider = fetches(update(&mut state, key(KeyCode::Enter)));
    assert!(state.fullscreen);
    let rects = state.panel_rects();
    assert_eq!(rects[focus], Some(state.grid_area()));
    assert_eq!(rects.iter().flatten().count(), 1);
    // A wider panel asks for a finer step.
    assert!(wider.iter().any(|r| r.window.is_some()));
    update(&mut state, key(KeyCode::Esc));
    assert!(!state.fullscreen);
    assert_eq!(state.focus, focus);
}

#[test]
fn fault_key_only_in_demo() {
    let (mut state, _) = default_state(80, 24);
    assert!(update(&mut state, char_key('f')).is_empty());
    state.opts.demo = true;
    assert_eq!(
        update(&mut state, char_key('f')),
        vec![Effect::SetFault(true)]
    );
    assert_eq!(
        update(&mut state, char_key('f')),
        vec![Effect::SetFault(false)]
    );
}

#[test]
fn unknown_keys_do_not_redraw() {
    let (mut state, _) = default_state(80, 24);
    state.dirty = false;
    update(&mut state, char_key('z'));
    assert!(!state.dirty);
}

#[test]
fn results_out_of_order_keep_the_newest() {
    let (mut state, reqs) = default_state(120, 40);
    let total = reqs
        .iter()
        .find(|r| {
            r.key
                == FetchKey::Instant {
                    expr: "sum(app_request_count_total)".into(),
                }
        })
        .expect("total query")
        .clone();
    // A newer request for the same query (as if the first was retried).
    let mut newer = total.clone();
    newer.seq += 1000;
    let value = |v: f64| {
        Ok(promdash_queries::model::QueryResult {
            data: promdash_queries::model::QueryData::Scalar(promdash_queries::model::Sample {
                t: NOW,
                v,
            }),
            notes: Default::default(),
        })
    };
    update(&mut state, fetched(&newer, value(2.0)));
    update(&mut state, fetched(&total, value(1.0)));
    assert_eq!(
        state.panels[0].value,
        Some(2.0),
        "the older answer arrived last and is dropped"
    );
}

#[test]
fn error_after_data_keeps_data_marked_stale_then_recovers() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    assert_eq!(state.panels[0].value, Some(123_456.0));
    assert!(!state.panels[0].is_stale());

    let round = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
    assert!(!round.is_empty());
    for r in &round {
        let result = if r.key.expr() == "sum(app_request_count_total)" {
            Err(bad_data("parse error at char 4"))
        } else {
            answer(r, Data::default())
        };
        update(&mut state, fetched(r, result));
    }
    let p = &state.panels[0];
    assert_eq!(p.value, Some(123_456.0), "last data kept");
    assert!(p.is_stale());
    assert!(
        p.visible_error()
            .is_some_and(|e| e.contains("parse error at char 4"))
    );
    assert_eq!(
        state.server,
        Server::Up,
        "a rejected query is not a server outage"
    );
    assert!(!state.panels[1].is_stale(), "other panels unaffected");

    let round = fetches(update(&mut state, Msg::Tick(NOW + 10.0)));
    answer_all(&mut state, &round, Data::default());
    assert!(!state.panels[0].is_stale());
    assert!(state.panels[0].visible_error().is_none());
}

#[test]
fn server_down_backs_off_and_recovers() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    assert_eq!(state.server, Server::Up);

    // Prometheus goes away: every request of the next round is refused.
    let mut t = NOW + 5.0;
    let round = fetches(update(&mut state, Msg::Tick(t)));
    for r in &round {
        update(&mut state, fetched(r, Err(refused())));
    }
    assert!(matches!(&state.server, Server::Down { reason, .. } if reason == "connection refused"));
    assert!(
        (0..state.panels.len())
            .filter(|&i| state.panels[i].loaded)
            .all(|i| state.panel_is_stale(i))
    );
    assert!(
        state.panels.iter().all(|p| p.visible_error().is_none()),
        "the status bar says DOWN, panels only stale"
    );
    assert_eq!(state.panels[0].value, Some(123_456.0));

    // Retries back off: 1s, 2s, 4s, then capped at the 5s refresh interval.
    let mut delays = Vec::new();
    for _ in 0..5 {
        let wait = state.next_refresh_at - t;
        delays.push(wait);
        t = state.next_refresh_at;
        let round = fetches(update(&mut state, Msg::Tick(t)));
        assert!(!round.is_empty());
        for r in &round {
            update(&mut state, fetched(r, Err(refused())));
        }
    }
    assert_eq!(delays, vec![1.0, 2.0, 4.0, 5.0, 5.0]);

    // It comes back: UP, and a full fresh round right away.
    t = state.next_refresh_at;
    let round = fetches(update(&mut state, Msg::Tick(t)));
    update(
        &mut state,
        fetched(&round[0], answer(&round[0], Data::default())),
    );
    assert_eq!(state.server, Server::Up);
    assert_eq!(state.next_refresh_at, t);
    let rest: Vec<_> = round[1..].to_vec();
    answer_all(&mut state, &rest, Data::default());
    let fresh = fetches(update(&mut state, Msg::Tick(t + 0.1)));
    answer_all(&mut state, &fresh, Data::default());
    assert!((0..state.panels.len()).all(|i| !state.panel_is_stale(i)));
}

#[test]
fn alert_goes_pending_then_firing_and_rings_once() {
    let (mut state, reqs) = default_state(120, 40);
    let high = Data {
        alert_p95: 0.8,
        ..Data::default()
    };
    let effects = answer_all(&mut state, &reqs, high);
    assert!(!effects.contains(&Effect::Bell));
    let inst = state
        .alerts
        .instances()
        .find(|i| i.rule == "HighLatencyP95")
        .expect("instance");
    assert_eq!(inst.state, AlertState::Pending);

    let mut bells = 0;
    let mut t = NOW;
    for _ in 0..10 {
        t += 5.0;
        let round = fetches(update(&mut state, Msg::Tick(t)));
        bells += answer_all(&mut state, &round, high)
            .iter()
            .filter(|e| **e == Effect::Bell)
            .count();
    }
    assert_eq!(bells, 1, "one bell when it starts firing");
    let inst = state
        .alerts
        .instances()
        .find(|i| i.rule == "HighLatencyP95")
        .expect("instance");
    assert_eq!(inst.state, AlertState::Firing);
    let latency = state
        .dashboard
        .panels
        .iter()
        .position(|p| p.title.starts_with("Latency"))
        .expect("panel");
    assert!(state.firing_panels()[latency]);
    assert_eq!(state.firing_panels().iter().filter(|f| **f).count(), 1);
}

#[test]
fn no_bell_option() {
    let (mut state, reqs) = default_state(120, 40);
    state.opts.bell = false;
    let high = Data {
        alert_p95: 0.8,
        ..Data::default()
    };
    answer_all(&mut state, &reqs, high);
    let mut t = NOW;
    for _ in 0..10 {
        t += 5.0;
        let round = fetches(update(&mut state, Msg::Tick(t)));
        assert!(!answer_all(&mut state, &round, high).contains(&Effect::Bell));
    }
}

#[test]
fn alert_is_kept_not_resolved_when_the_server_is_down() {
    let (mut state, reqs) = default_state(120, 40);
    let high = Data {
        alert_p95: 0.8,
        ..Data::default()
    };
    answer_all(&mut state, &reqs, high);
    let mut t = NOW;
    for _ in 0..8 {
        t += 5.0;
        let round = fetches(update(&mut state, Msg::Tick(t)));
        answer_all(&mut state, &round, high);
    }
    t += 5.0;
    let round = fetches(update(&mut state, Msg::Tick(t)));
    for r in &round {
        update(&mut state, fetched(r, Err(refused())));
    }
    let inst = state
        .alerts
        .instances()
        .find(|i| i.rule == "HighLatencyP95")
        .expect("instance");
    assert_eq!(inst.state, AlertState::Firing);
    assert!(inst.stale);
}

#[test]
fn resize_redownsamples_and_refetches() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    let graph = state
        .dashboard
        .panels
        .iter()
        .position(|p| p.title.starts_with("Latency"))
        .expect("panel");
    let before = state.panels[graph].series[0].cols.len();
    let again = fetches(update(&mut state, Msg::Resize(200, 50)));
    let after = state.panels[graph].series[0].cols.len();
    assert!(after > before, "{before} → {after}");
    assert!(again.iter().any(|r| r.window.is_some()));
}

#[test]
fn deadline_is_the_next_refresh_when_idle() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    assert_eq!(state.next_deadline(), Some(NOW + 5.0));
    update(&mut state, char_key('p'));
    // Paused: still only the refresh deadline (alert rules), no per-second ticking.
    assert_eq!(state.next_deadline(), Some(NOW + 5.0));
}

#[test]
fn paused_alert_rounds_do_not_redraw_when_nothing_changes() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    update(&mut state, char_key('p'));
    let refreshed = state.refreshed;
    state.dirty = false;
    let mut t = NOW;
    for _ in 0..3 {
        t += 5.0;
        let round = fetches(update(&mut state, Msg::Tick(t)));
        assert_eq!(round.len(), state.dashboard.alerts.len());
        answer_all(&mut state, &round, Data::default());
        assert!(
            !state.dirty,
            "inactive alerts, same answers: nothing to redraw"
        );
    }
    assert_eq!(
        state.refreshed, refreshed,
        "alert-only rounds are not dashboard refreshes"
    );
    // An alert that starts pending is drawn.
    t += 5.0;
    let round = fetches(update(&mut state, Msg::Tick(t)));
    answer_all(
        &mut state,
        &round,
        Data {
            alert_p95: 0.9,
            ..Data::default()
        },
    );
    assert!(state.dirty);
}

/// The "Error ratio" stat and the HighErrorRatio rule share one expression. While paused
/// the stat keeps its value at the pinned end; the rule still sees now.
#[test]
fn a_shared_expression_paused_feeds_the_rule_not_the_panel() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    let stat = state
        .dashboard
        .panels
        .iter()
        .position(|p| p.title == "Error ratio")
        .expect("the Error ratio stat");
    let shared = state.dashboard.panels[stat].queries[0].expr.clone();
    let shared = shared.as_str();
    assert!(
        state.dashboard.alerts.iter().any(|a| a.expr == shared),
        "the built-in HighErrorRatio rule uses the stat's expression"
    );
    assert_eq!(state.panels[stat].value, Some(0.012));
    update(&mut state, char_key('p'));
    let high = Data {
        alert_errors: 0.09,
        ..Data::default()
    };
    let round = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
    assert!(
        round
            .iter()
            .any(|r| r.key.expr() == shared && r.time.is_none())
    );
    answer_all(&mut state, &round, high);
    assert_eq!(
        state.panels[stat].value,
        Some(0.012),
        "the paused stat moved"
    );
    let inst = state
        .alerts
        .instances()
        .find(|i| i.rule == "HighErrorRatio")
        .expect("HighErrorRatio evaluated while paused");
    assert_eq!(inst.state, AlertState::Pending);
    // Live again: the one answer serves both.
    let mut round = fetches(update(&mut state, char_key('p')));
    if round.is_empty() {
        round = fetches(update(&mut state, Msg::Tick(NOW + 10.0)));
    }
    assert_eq!(
        round
            .iter()
            .filter(|r| r.key.expr() == shared && r.window.is_none())
            .count(),
        1
    );
    answer_all(&mut state, &round, high);
    assert_eq!(state.panels[stat].value, Some(0.09));
}

/// Every instant query of `first` is in `next` (instant answers change every round).
fn assert_all_instant_queries(
    first: &[promdash::app::FetchRequest],
    next: &[promdash::app::FetchRequest],
) {
    for r in first
        .iter()
        .filter(|r| matches!(r.key, FetchKey::Instant { .. }))
    {
        assert!(
            next.iter().any(|n| n.key == r.key),
            "{:?} not asked again",
            r.key
        );
    }
}

#[test]
fn settled_range_windows_are_not_asked_again() {
    let (mut state, reqs) = default_state(120, 40);
    answer_all(&mut state, &reqs, Data::default());
    let mut last: std::collections::HashMap<
        FetchKey,
        (promdash_queries::source::RangeWindow, f64),
    > = reqs
        .iter()
        .filter_map(|r| r.window.map(|w| (r.key.clone(), (w, NOW))))
        .collect();
    assert!(!last.is_empty());
    let mut t = NOW;
    let mut skipped = 0;
    for _ in 0..12 {
        t += 5.0;
        let round = fetches(update(&mut state, Msg::Tick(t)));
        for (key, (w, asked_at)) in last.iter_mut() {
            match round.iter().find(|r| &r.key == key) {
                Some(r) => {
                    let nw = r.window.expect("window");
                    // Asked again: the window moved, or it had not settled when last asked.
                    assert!(
                        nw != *w || *asked_at < w.end + promdash::app::SETTLE_SECS,
                        "{key:?} asked again for a settled window"
                    );
                    *w = nw;
                    *asked_at = t;
                }
                None => {
                    skipped += 1;
                    // Skipped: its answer had settled, or it has not settled yet (asked
                    // again once it has).
                    assert!(
                        *asked_at >= w.end + promdash::app::SETTLE_SECS
                            || t < w.end + promdash::app::SETTLE_SECS,
                        "{key:?} skipped after it settled without a settled answer"
                    );
                }
            }
        }
        answer_all(&mut state, &round, Data::default());
    }
    assert!(
        skipped > 0,
        "graphs with a step above the refresh interval skip rounds"
    );
}

/// At a refresh interval shorter than the step, each range window is asked once, when it
/// has settled: never again, and never before.
#[test]
fn each_range_window_is_asked_once_when_settled() {
    let (mut state, reqs) = default_state(120, 40);
    state.opts.refresh = std::time::Duration::from_secs(1);
    answer_all(&mut state, &reqs, Data::default());
    let mut asked: std::collections::HashMap<(FetchKey, String), Vec<f64>> =
        std::collections::HashMap::new();
    let mut t = NOW;
    for _ in 0..120 {
        t += 1.0;
        let round = fetches(update(&mut state, Msg::Tick(t)));
        for r in &round {
            if let Some(w) = r.window {
                assert!(
                    t >= w.end + promdash::app::SETTLE_SECS,
                    "{:?} asked at {t} for a window ending at {}, before it settled",
                    r.key,
                    w.end
                );
                asked
                    .entry((r.key.clone(), format!("{}..{}", w.start, w.end)))
                    .or_default()
                    .push(t);
            }
        }
        answer_all(&mut state, &round, Data::default());
    }
    assert!(
        asked.len() > 12,
        "range windows move on in two minutes: {} asked",
        asked.len()
    );
    for ((key, window), times) in &asked {
        assert_eq!(times.len(), 1, "{key:?} window {window} asked at {times:?}");
    }
}

#[test]
fn a_failed_range_query_is_asked_again_even_if_its_window_has_not_moved() {
    let (mut state, reqs) = default_state(120, 40);
    for r in &reqs {
        let result = if r.window.is_some() {
            Err(bad_data("boom"))
        } else {
            answer(r, Data::default())
        };
        update(&mut state, fetched(r, result));
    }
    let again = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
    for r in reqs.iter().filter(|r| r.window.is_some()) {
        assert!(again.iter().any(|n| n.key == r.key), "{:?} retried", r.key);
    }
}

/// Issue 18 item 4: what the panels hold together is bounded. An answer that would take
/// them past `--memory-budget` is not kept: its panel says why and keeps what it showed,
/// and every other panel goes on as before.
#[test]
fn an_answer_past_the_memory_budget_is_refused_and_its_panel_says_why() {
    use promdash_queries::model::{InstantSeries, QueryData, QueryResult, Sample};
    let (mut state, reqs) = default_state(120, 40);
    state.memory_budget = 4 << 20;
    answer_all(&mut state, &reqs, Data::default());
    let text = screen(&state);
    assert!(!text.contains("memory budget"), "{text}");

    // The next round: the instant query of a stat answers 20,000 series, each with a
    // label of its own (about 5 MiB held, past the 4 MiB budget).
    let reqs = fetches(update(&mut state, Msg::Tick(NOW + 5.0)));
    let stat = state
        .dashboard
        .panels
        .iter()
        .position(|p| p.kind == promdash_queries::dashboard::PanelKind::Stat)
        .expect("the default dashboard has a stat");
    let expr = state.dashboard.panels[stat].queries[0].expr.clone();
    let wide = reqs
        .iter()
        .find(|r| matches!(&r.key, FetchKey::Instant { expr: e } if *e == expr))
        .expect("the stat's instant query in the round")
        .clone();
    let before = state.panels[stat].instant_values.clone();
    assert!(!before.iter().all(Vec::is_empty), "the stat had a value");
    for r in reqs.iter().filter(|r| r.key != wide.key) {
        update(&mut state, fetched(r, answer(r, Data::default())));
    }
    let series = (0..20_000)
        .map(|i| InstantSeries {
            labels: labels(&[("__name__", "x"), (&format!("l{i:05}"), "v")]),
            sample: Sample {
                t: NOW + 5.0,
                v: 1.0,
            },
        })
        .collect();
    let result = QueryResult {
        data: QueryData::Vector(series),
        notes: Default::default(),
    };
    update(&mut state, fetched(&wide, Ok(result)));
    let text = screen(&state);
    assert!(text.contains("memory budget"), "{text}");
    assert_eq!(
        state.panels[stat].instant_values, before,
        "the stat keeps what it showed"
    );
    // Only the panels of that expression refuse it.
    let refused = state
        .panels
        .iter()
        .filter(|p| {
            p.errors
                .iter()
                .flatten()
                .any(|e| e.message.contains("budget"))
        })
        .count();
    assert!(refused >= 1 && refused < state.panels.len(), "{text}");

    // With room for it, the same answer is shown.
    state.memory_budget = 256 << 20;
    let reqs = fetches(update(&mut state, Msg::Tick(NOW + 10.0)));
    let again = reqs
        .iter()
        .find(|r| r.key == wide.key)
        .expect("asked again")
        .clone();
    let series: Vec<InstantSeries> = (0..20_000)
        .map(|i| InstantSeries {
            labels: labels(&[("__name__", "x"), (&format!("l{i:05}"), "v")]),
            sample: Sample {
                t: NOW + 10.0,
                v: 1.0,
            },
        })
        .collect();
    update(
        &mut state,
        fetched(
            &again,
            Ok(QueryResult {
                data: QueryData::Vector(series),
                notes: Default::default(),
            }),
        ),
    );
    assert!(!screen(&state).contains("memory budget"));
}

/// At 7 d the step is hours long and a range window ends at the last step boundary: the
/// newest partial step (up to a whole step) is drawn from an instant query at the window's
/// end, so the graph reaches now.
#[test]
fn a_graph_reaches_now_at_seven_days() {
    use promdash_queries::dashboard::parse_dashboard;
    use promdash_queries::model::Sample;
    use promdash_queries::model::{InstantSeries, Notes, QueryData, QueryResult, RangeSeries};
    let dashboard = parse_dashboard(
        "title = \"t\"\n[[panels]]\ntitle = \"Rate\"\nkind = \"graph\"\nquery = \"sum(rate(x[5m]))\"\n",
        "t.toml",
    )
    .expect("valid");
    // Most of an hour past a whole hour.
    let now = NOW + 3000.0;
    let begin = |dashboard| {
        let opts = promdash::app::Options {
            range: Duration::from_secs(7 * 86_400),
            ..options()
        };
        let mut state = promdash::app::State::new(dashboard, opts);
        update(&mut state, Msg::Resize(120, 40));
        let reqs = fetches(update(&mut state, Msg::Tick(now)));
        (state, reqs)
    };
    let (mut state, reqs) = begin(dashboard.clone());
    let range = reqs
        .iter()
        .find(|r| matches!(r.key, FetchKey::Range { .. }))
        .expect("a range query");
    let w = range.window.expect("a window");
    let step = w.step.as_secs_f64();
    assert!(step >= 3600.0, "7 d over 120 columns: step {step}");
    // now is past the last step boundary by most of a step: that part was never drawn.
    assert!(now - w.end > 1800.0, "{} s undrawn", now - w.end);
    let instant = reqs
        .iter()
        .find(|r| {
            r.key
                == FetchKey::Instant {
                    expr: "sum(rate(x[5m]))".to_owned(),
                }
        })
        .expect("the graph asks the value at the window's end");
    assert_eq!(instant.time, None, "live: the server's now");
    let n = ((w.end - w.start) / step).round() as usize + 1;
    let matrix = QueryData::Matrix(vec![RangeSeries {
        labels: Default::default(),
        samples: (0..n)
            .map(|i| Sample {
                t: w.start + step * i as f64,
                v: 1.0,
            })
            .collect(),
    }]);
    let ok = |data| {
        Ok(QueryResult {
            data,
            notes: Notes::default(),
        })
    };
    update(&mut state, fetched(range, ok(matrix)));
    update(
        &mut state,
        fetched(
            instant,
            ok(QueryData::Vector(vec![InstantSeries {
                labels: Default::default(),
                sample: Sample { t: now, v: 9.0 },
            }])),
        ),
    );
    let p = &state.panels[0];
    assert_eq!(
        p.window.map(|w| w.end),
        Some(now),
        "the drawn window ends now"
    );
    let s = &p.series[0];
    assert_eq!(s.last, 9.0, "the legend shows the newest value");
    let right = s.cols.last().expect("columns");
    assert_eq!(
        right.last, 9.0,
        "the rightmost column holds the value at now"
    );
    assert!(right.join, "joined to the last point of the range answer");
    // Answers arriving in the other order draw the same.
    let (mut other, _) = begin(dashboard);
    update(
        &mut other,
        fetched(
            instant,
            ok(QueryData::Vector(vec![InstantSeries {
                labels: Default::default(),
                sample: Sample { t: now, v: 9.0 },
            }])),
        ),
    );
    let n2 = ((w.end - w.start) / step).round() as usize + 1;
    let matrix = QueryData::Matrix(vec![RangeSeries {
        labels: Default::default(),
        samples: (0..n2)
            .map(|i| Sample {
                t: w.start + step * i as f64,
                v: 1.0,
            })
            .collect(),
    }]);
    update(&mut other, fetched(range, ok(matrix)));
    // (Compared as text: empty columns hold NaN.)
    assert_eq!(
        format!("{:?}", other.panels[0].series),
        format!("{:?}", state.panels[0].series)
    );
    assert_eq!(other.panels[0].window, state.panels[0].window);
}
