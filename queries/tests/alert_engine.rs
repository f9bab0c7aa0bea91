//! Table-driven tests of the alert engine: every transition, `for` boundaries,
//! `keep_firing_for`, flapping, several label sets, NaN, empty results, errors.

use std::time::Duration;

use promdash_queries::alert::{AlertEngine, AlertState, format_value, render_summary};
use promdash_queries::dashboard::{AlertRule, CompareOp, Severity};
use promdash_queries::error::QueryError;
use promdash_queries::model::{
    InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample,
};

use AlertState::{Firing, Inactive, Pending, Resolved};

fn rule(op: Option<CompareOp>, threshold: Option<f64>, for_s: u64, keep_s: u64) -> AlertRule {
    AlertRule {
        name: "R".into(),
        expr: "x".into(),
        op,
        threshold,
        for_: Duration::from_secs(for_s),
        keep_firing_for: Duration::from_secs(keep_s),
        severity: Severity::Critical,
        summary: "value {{ $value }} on {{ $labels.route }}".into(),
        panel: None,
        unit: None,
    }
}

fn gt(threshold: f64, for_s: u64, keep_s: u64) -> AlertRule {
    rule(Some(CompareOp::Gt), Some(threshold), for_s, keep_s)
}

#[derive(Clone, Copy)]
enum Outcome {
    /// (route label, value); an empty route means no labels.
    Vals(&'static [(&'static str, f64)]),
    Empty,
    Error,
}
use Outcome::{Empty, Error, Vals};

fn labels(route: &str) -> Labels {
    let mut l = Labels::new();
    if !route.is_empty() {
        l.insert("route", route);
    }
    l
}

fn vector(vals: &[(&str, f64)]) -> QueryResult {
    QueryResult {
        data: QueryData::Vector(
            vals.iter()
                .map(|(route, v)| {
                    let mut l = labels(route);
                    l.insert("__name__", "x");
                    InstantSeries {
                        labels: l,
                        sample: Sample { t: 0.0, v: *v },
                    }
                })
                .collect(),
        ),
        notes: Notes::default(),
    }
}

struct Step {
    at: f64,
    outcome: Outcome,
    /// Every instance expected afterwards: (route, state, stale).
    want: &'static [(&'static str, AlertState, bool)],
    /// Transitions expected from this evaluation: (route, from, to).
    transitions: &'static [(&'static str, AlertState, AlertState)],
}

const fn s(
    at: f64,
    outcome: Outcome,
    want: &'static [(&'static str, AlertState, bool)],
    transitions: &'static [(&'static str, AlertState, AlertState)],
) -> Step {
    Step {
        at,
        outcome,
        want,
        transitions,
    }
}

fn run(name: &str, rule: AlertRule, steps: &[Step]) {
    let mut engine = AlertEngine::new(vec![rule]);
    let err = QueryError::ConnectionRefused {
        url: "http://x".into(),
    };
    for (i, step) in steps.iter().enumerate() {
        let result;
        let outcome = match step.outcome {
            Vals(v) => {
                result = vector(v);
                Ok(&result)
            }
            Empty => {
                result = vector(&[]);
                Ok(&result)
            }
            Error => Err(&err),
        };
        let got_t: Vec<(Labels, AlertState, AlertState, f64)> = engine
            .evaluate("R", outcome, step.at)
            .into_iter()
            .map(|t| (t.labels, t.from, t.to, t.at))
            .collect();
        let want_t: Vec<(Labels, AlertState, AlertState, f64)> = step
            .transitions
            .iter()
            .map(|(r, f, t)| (labels(r), *f, *t, step.at))
            .collect();
        assert_eq!(
            got_t, want_t,
            "{name}: transitions at step {i} (t={})",
            step.at
        );
        let got: Vec<(Labels, AlertState, bool)> = engine
            .instances()
            .map(|i| (i.labels.clone(), i.state, i.stale))
            .collect();
        let want: Vec<(Labels, AlertState, bool)> = step
            .want
            .iter()
            .map(|(r, st, stale)| (labels(r), *st, *stale))
            .collect();
        assert_eq!(
            got, want,
            "{name}: instances after step {i} (t={})",
            step.at
        );
    }
}

const HIGH: Outcome = Vals(&[("", 0.9)]);
const LOW: Outcome = Vals(&[("", 0.1)]);
const NAN: Outcome = Vals(&[("", f64::NAN)]);

#[test]
fn pending_firing_resolved_and_retention() {
    run(
        "basic",
        gt(0.5, 30, 0),
        &[
            s(0.0, LOW, &[], &[]),
            s(
                10.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            s(39.9, HIGH, &[("", Pending, false)], &[]),
            // `for` boundary: exactly 30 s after becoming active fires.
            s(40.0, HIGH, &[("", Firing, false)], &[("", Pending, Firing)]),
            s(50.0, HIGH, &[("", Firing, false)], &[]),
            s(
                60.0,
                LOW,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
            // Resolved stays visible for the retention (60 s) ...
            s(119.9, LOW, &[("", Resolved, false)], &[]),
            // ... and is dropped at it, without a transition.
            s(120.0, LOW, &[], &[]),
        ],
    );
}

#[test]
fn zero_for_fires_at_once() {
    run(
        "for 0",
        gt(0.5, 0, 0),
        &[
            s(0.0, HIGH, &[("", Firing, false)], &[("", Inactive, Firing)]),
            s(
                1.0,
                LOW,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
        ],
    );
}

#[test]
fn pending_that_clears_goes_inactive() {
    run(
        "pending clears",
        gt(0.5, 30, 0),
        &[
            s(
                0.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            s(29.0, LOW, &[], &[("", Pending, Inactive)]),
            s(
                35.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
        ],
    );
}

#[test]
fn resolved_that_returns_goes_pending_again() {
    run(
        "resolved returns",
        gt(0.5, 10, 0),
        &[
            s(
                0.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            s(10.0, HIGH, &[("", Firing, false)], &[("", Pending, Firing)]),
            s(
                11.0,
                LOW,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
            s(
                12.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Resolved, Pending)],
            ),
            s(21.9, HIGH, &[("", Pending, false)], &[]),
            s(22.0, HIGH, &[("", Firing, false)], &[("", Pending, Firing)]),
        ],
    );
}

#[test]
fn keep_firing_for_counts_from_the_first_false_evaluation() {
    run(
        "keep_firing_for",
        gt(0.5, 0, 20),
        &[
            s(0.0, HIGH, &[("", Firing, false)], &[("", Inactive, Firing)]),
            s(10.0, LOW, &[("", Firing, false)], &[]),
            s(29.9, LOW, &[("", Firing, false)], &[]),
            s(
                30.0,
                LOW,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
        ],
    );
    run(
        "keep_firing_for restarts when true again",
        gt(0.5, 0, 20),
        &[
            s(0.0, HIGH, &[("", Firing, false)], &[("", Inactive, Firing)]),
            s(10.0, LOW, &[("", Firing, false)], &[]),
            s(20.0, HIGH, &[("", Firing, false)], &[]),
            s(35.0, Empty, &[("", Firing, false)], &[]),
            s(54.9, Empty, &[("", Firing, false)], &[]),
            s(
                55.0,
                Empty,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
        ],
    );
}

#[test]
fn flapping_restarts_the_for_clock() {
    run(
        "flapping",
        gt(0.5, 30, 0),
        &[
            s(
                0.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            s(10.0, LOW, &[], &[("", Pending, Inactive)]),
            s(
                20.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            s(30.0, LOW, &[], &[("", Pending, Inactive)]),
            s(
                40.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            // 30 s after 0 s would have fired; the clock restarted at 40 s.
            s(60.0, HIGH, &[("", Pending, false)], &[]),
            s(70.0, HIGH, &[("", Firing, false)], &[("", Pending, Firing)]),
            s(
                71.0,
                LOW,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
            s(
                72.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Resolved, Pending)],
            ),
        ],
    );
}

#[test]
fn several_label_sets_are_separate_instances() {
    run(
        "label sets",
        gt(0.5, 10, 0),
        &[
            s(
                0.0,
                Vals(&[("/a", 0.9), ("/b", 0.1)]),
                &[("/a", Pending, false)],
                &[("/a", Inactive, Pending)],
            ),
            s(
                5.0,
                Vals(&[("/a", 0.9), ("/b", 0.9)]),
                &[("/a", Pending, false), ("/b", Pending, false)],
                &[("/b", Inactive, Pending)],
            ),
            s(
                10.0,
                Vals(&[("/a", 0.9), ("/b", 0.9)]),
                &[("/a", Firing, false), ("/b", Pending, false)],
                &[("/a", Pending, Firing)],
            ),
            s(
                15.0,
                Vals(&[("/a", 0.1), ("/b", 0.9)]),
                &[("/a", Resolved, false), ("/b", Firing, false)],
                &[("/b", Pending, Firing), ("/a", Firing, Resolved)],
            ),
            // /b disappears from the result: its series is gone, the alert resolves.
            s(
                16.0,
                Vals(&[("/a", 0.1)]),
                &[("/a", Resolved, false), ("/b", Resolved, false)],
                &[("/b", Firing, Resolved)],
            ),
        ],
    );
}

#[test]
fn nan_compares_as_in_prometheus() {
    // `x > 0.5` on NaN: false, so a NaN resolves a firing alert like a low value.
    run(
        "NaN with >",
        gt(0.5, 0, 0),
        &[
            s(0.0, NAN, &[], &[]),
            s(1.0, HIGH, &[("", Firing, false)], &[("", Inactive, Firing)]),
            s(
                2.0,
                NAN,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
        ],
    );
    // With `<`, treating NaN as 0 would fire; it must not.
    run(
        "NaN with <",
        rule(Some(CompareOp::Lt), Some(1.0), 0, 0),
        &[s(0.0, NAN, &[], &[])],
    );
    // `x != 0` keeps a NaN sample in Prometheus, so the rule fires.
    run(
        "NaN with !=",
        rule(Some(CompareOp::Ne), Some(0.0), 0, 0),
        &[s(
            0.0,
            NAN,
            &[("", Firing, false)],
            &[("", Inactive, Firing)],
        )],
    );
    run(
        "NaN with ==",
        rule(Some(CompareOp::Eq), Some(0.0), 0, 0),
        &[s(0.0, NAN, &[], &[])],
    );
    // Without a threshold any returned sample is a firing instance, NaN included.
    run(
        "NaN without threshold",
        rule(None, None, 0, 0),
        &[s(
            0.0,
            NAN,
            &[("", Firing, false)],
            &[("", Inactive, Firing)],
        )],
    );
}

#[test]
fn empty_result_is_false() {
    run(
        "empty",
        gt(0.5, 10, 0),
        &[
            s(0.0, Empty, &[], &[]),
            s(
                1.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            s(2.0, Empty, &[], &[("", Pending, Inactive)]),
        ],
    );
    run(
        "any sample fires without a threshold",
        rule(None, None, 0, 0),
        &[
            s(0.0, Empty, &[], &[]),
            s(
                1.0,
                Vals(&[("", 0.0)]),
                &[("", Firing, false)],
                &[("", Inactive, Firing)],
            ),
            s(
                2.0,
                Empty,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
        ],
    );
}

#[test]
fn errors_keep_state_and_mark_stale() {
    run(
        "error while firing",
        gt(0.5, 0, 0),
        &[
            s(0.0, HIGH, &[("", Firing, false)], &[("", Inactive, Firing)]),
            s(10.0, Error, &[("", Firing, true)], &[]),
            // Long outages never resolve.
            s(1000.0, Error, &[("", Firing, true)], &[]),
            s(1001.0, HIGH, &[("", Firing, false)], &[]),
            s(1002.0, Error, &[("", Firing, true)], &[]),
            s(
                1003.0,
                LOW,
                &[("", Resolved, false)],
                &[("", Firing, Resolved)],
            ),
            // Resolved instances are kept (stale) through errors as well.
            s(1004.0, Error, &[("", Resolved, true)], &[]),
        ],
    );
    run(
        "error while pending keeps the for clock",
        gt(0.5, 30, 0),
        &[
            s(
                0.0,
                HIGH,
                &[("", Pending, false)],
                &[("", Inactive, Pending)],
            ),
            s(20.0, Error, &[("", Pending, true)], &[]),
            s(30.0, HIGH, &[("", Firing, false)], &[("", Pending, Firing)]),
        ],
    );
    run(
        "error with nothing active",
        gt(0.5, 0, 0),
        &[s(0.0, Error, &[], &[])],
    );
}

#[test]
fn comparison_operators_and_boundaries() {
    let cases = [
        (CompareOp::Gt, 0.5, false),
        (CompareOp::Ge, 0.5, true),
        (CompareOp::Lt, 0.5, false),
        (CompareOp::Le, 0.5, true),
        (CompareOp::Eq, 0.5, true),
        (CompareOp::Ne, 0.5, false),
        (CompareOp::Gt, 0.4, true),
        (CompareOp::Lt, 0.6, true),
        (CompareOp::Ne, 0.6, true),
    ];
    for (op, threshold, fires) in cases {
        let mut e = AlertEngine::new(vec![rule(Some(op), Some(threshold), 0, 0)]);
        let r = vector(&[("", 0.5)]);
        let t = e.evaluate("R", Ok(&r), 0.0);
        assert_eq!(!t.is_empty(), fires, "0.5 {op} {threshold}");
    }
}

#[test]
fn instance_fields_and_summary() {
    let mut e = AlertEngine::new(vec![gt(0.5, 10, 0)]);
    let r = vector(&[("/process", 0.734_56)]);
    e.evaluate("R", Ok(&r), 100.0);
    e.evaluate("R", Ok(&r), 110.0);
    let i = e.instances().next().expect("one instance");
    assert_eq!(i.rule, "R");
    assert!(
        !i.labels.contains_key("__name__"),
        "__name__ is dropped like Prometheus does"
    );
    assert_eq!(i.value, 0.734_56);
    assert_eq!(i.active_since, Some(100.0));
    assert_eq!(i.firing_since, Some(110.0));
    assert_eq!(i.severity, Severity::Critical);
    assert_eq!(i.summary, "value 0.7346 on /process");
    assert_eq!(e.firing().count(), 1);
    let low = vector(&[("/process", 0.1)]);
    e.evaluate("R", Ok(&low), 120.0);
    let i = e.instances().next().expect("resolved instance");
    assert_eq!(i.resolved_at, Some(120.0));
    // prune() drops it without an evaluation once the retention passed.
    e.set_resolved_retention(Duration::from_secs(5));
    e.prune(124.0);
    assert_eq!(e.instances().count(), 1);
    e.prune(125.0);
    assert_eq!(e.instances().count(), 0);
}

#[test]
fn matrix_uses_the_last_sample_and_scalar_has_no_labels() {
    let mut e = AlertEngine::new(vec![gt(0.5, 0, 0)]);
    let m = QueryResult {
        data: QueryData::Matrix(vec![RangeSeries {
            labels: labels("/a"),
            samples: vec![Sample { t: 0.0, v: 0.9 }, Sample { t: 1.0, v: 0.1 }],
        }]),
        notes: Notes::default(),
    };
    assert!(e.evaluate("R", Ok(&m), 0.0).is_empty());
    let sc = QueryResult {
        data: QueryData::Scalar(Sample { t: 0.0, v: 2.0 }),
        notes: Notes::default(),
    };
    let t = e.evaluate("R", Ok(&sc), 1.0);
    assert_eq!(t.len(), 1);
    assert!(t[0].labels.is_empty());
}

#[test]
fn unknown_rule_changes_nothing() {
    let mut e = AlertEngine::new(vec![gt(0.5, 0, 0)]);
    assert!(
        e.evaluate("Nope", Ok(&vector(&[("", 1.0)])), 0.0)
            .is_empty()
    );
    assert_eq!(e.instances().count(), 0);
}

#[test]
fn summary_templates() {
    let mut l = Labels::new();
    l.insert("route", "/process");
    assert_eq!(
        render_summary("p95 {{ $value }}s on {{ $labels.route }}", 0.5, &l),
        "p95 0.5s on /process"
    );
    assert_eq!(
        render_summary("{{$value}}|{{$labels.route}}", 2.0, &l),
        "2|/process"
    );
    assert_eq!(render_summary("[{{ $labels.missing }}]", 1.0, &l), "[]");
    assert_eq!(
        render_summary("{{ other }} {{ unclosed", 1.0, &l),
        "{{ other }} {{ unclosed"
    );
    assert_eq!(render_summary("no braces", 1.0, &l), "no braces");
}

#[test]
fn value_formatting() {
    let cases = [
        (0.0, "0"),
        (1.0, "1"),
        (1234.0, "1234"),
        (0.5, "0.5"),
        (0.734_56, "0.7346"),
        (12.345_67, "12.35"),
        (1234.567, "1235"),
        (0.012_345, "0.01235"),
        (0.000_12, "1.200e-4"),
        (3.5e12, "3.500e12"),
        (-0.25, "-0.25"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
    ];
    for (v, want) in cases {
        assert_eq!(format_value(v), want, "{v}");
    }
}

#[test]
fn partial_answers_are_unknown_like_errors() {
    let mut e = AlertEngine::new(vec![gt(0.5, 0, 10)]);
    let high = vector(&[("", 0.9)]);
    assert_eq!(e.evaluate("R", Ok(&high), 0.0).len(), 1);
    assert_eq!(e.unknown_reason("R"), None);
    // An empty answer that says it is partial, or carries warnings, is not "false".
    for (i, notes) in [
        Notes {
            is_partial: true,
            ..Notes::default()
        },
        Notes {
            warnings: vec!["store 10.0.0.1:10901 did not answer".into()],
            ..Notes::default()
        },
    ]
    .into_iter()
    .enumerate()
    {
        let empty = QueryResult {
            data: QueryData::Vector(Vec::new()),
            notes,
        };
        let t = 100.0 * (i as f64 + 1.0);
        assert!(e.evaluate("R", Ok(&empty), t).is_empty(), "answer {i}");
        let inst: Vec<_> = e.instances().map(|i| (i.state, i.stale)).collect();
        assert_eq!(inst, [(Firing, true)], "answer {i}");
        let reason = e.unknown_reason("R").unwrap_or_default();
        assert!(
            reason.starts_with(if i == 0 {
                "partial answer"
            } else {
                "answer with warnings: store 10.0.0.1:10901"
            }),
            "{reason}"
        );
    }
    // Infos are not warnings: an empty answer with infos is a real "false".
    let infos = QueryResult {
        data: QueryData::Vector(Vec::new()),
        notes: Notes {
            infos: vec!["PromQL info: metric might not be a counter".into()],
            ..Notes::default()
        },
    };
    assert!(e.evaluate("R", Ok(&infos), 300.0).is_empty());
    assert_eq!(e.unknown_reason("R"), None);
    assert_eq!(e.instances().next().map(|i| i.stale), Some(false));
    // An error is unknown too, with the error as the reason.
    let err = QueryError::ConnectionRefused {
        url: "http://x".into(),
    };
    e.evaluate("R", Err(&err), 301.0);
    assert!(e.unknown_reason("R").is_some());
}
