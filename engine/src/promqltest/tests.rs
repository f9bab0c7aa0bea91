use super::*;
use crate::value::{Point, Sample, Series};

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().copied().collect()
}

fn vals(s: &str) -> Vec<SeqValue> {
    parse_series(&format!("m {s}")).expect("valid").1
}

fn v(xs: &[f64]) -> Vec<SeqValue> {
    xs.iter().map(|x| SeqValue::Value(*x)).collect()
}

#[test]
fn series_descriptions_expand_as_prometheus_does() {
    assert_eq!(vals("0+10x3"), v(&[0.0, 10.0, 20.0, 30.0]));
    assert_eq!(vals("1-1x2"), v(&[1.0, 0.0, -1.0]));
    assert_eq!(vals("-2+4x2"), v(&[-2.0, 2.0, 6.0]));
    assert_eq!(vals("5x2"), v(&[5.0, 5.0, 5.0]));
    assert_eq!(vals("1e3+1e1x1"), v(&[1000.0, 1010.0]));
    assert_eq!(
        vals("_ _x2 3"),
        vec![
            SeqValue::Omitted,
            SeqValue::Omitted,
            SeqValue::Omitted,
            SeqValue::Value(3.0)
        ]
    );
    // `0x3` is 0 four times, not hexadecimal.
    assert_eq!(vals("0x3"), v(&[0.0; 4]));
    let s = vals("stale NaN Inf -Inf +Inf 16");
    assert!(matches!(s[0], SeqValue::Value(x) if is_stale_marker(x)));
    assert!(matches!(s[1], SeqValue::Value(x) if x.is_nan() && !is_stale_marker(x)));
    assert_eq!(
        &s[2..],
        &v(&[f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, 16.0])[..]
    );
    assert!(parse_series("m 1+x3").is_err());
    assert!(parse_series("m 1+2").is_err());
    assert!(parse_series("m one").is_err());
    assert!(parse_series("m _x99999999999").is_err());
}

#[test]
fn series_labels_with_go_strings() {
    let (labels, vals) =
        parse_series(r#"http_requests{job="api\"x\n", path='/a b', raw=`c\d`} 1 2"#)
            .expect("valid");
    assert_eq!(
        labels,
        l(&[
            ("__name__", "http_requests"),
            ("job", "api\"x\n"),
            ("path", "/a b"),
            ("raw", "c\\d"),
        ])
    );
    assert_eq!(vals, v(&[1.0, 2.0]));
    let (labels, _) = parse_series("{} 1").expect("valid");
    assert!(labels.is_empty());
    let (labels, _) = parse_series(r#"{"my.metric", a="b"} 1"#).expect("valid");
    assert_eq!(labels, l(&[("__name__", "my.metric"), ("a", "b")]));
    assert!(parse_series(r#"m{a="b" 1"#).is_err());
    assert!(parse_series(r#"m{a="b",a="c"} 1"#).is_err());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("0"), Some(0));
    assert_eq!(parse_duration("5m"), Some(300_000));
    assert_eq!(parse_duration("1h30m"), Some(5_400_000));
    assert_eq!(parse_duration("100ms"), Some(100));
    assert_eq!(parse_duration("1m30s500ms"), Some(90_500));
    assert_eq!(parse_duration("2d"), Some(172_800_000));
    assert_eq!(parse_duration("1w"), Some(604_800_000));
    assert_eq!(parse_duration("1y"), Some(31_536_000_000));
    assert_eq!(parse_duration("30s1m"), None);
    assert_eq!(parse_duration("5"), None);
    assert_eq!(parse_duration(""), None);
    assert_eq!(parse_duration("-1m"), None);
}

#[test]
fn a_file_with_every_command() {
    let file = parse(
        r#"
# A comment.
load 5m
  http_requests{job="api"} 0+10x10
  other 1 _ 3

eval instant at 50m sum(http_requests)
  {} 100

eval_ordered instant at 50m sort(http_requests)
  http_requests{job="api"} 100

eval range from 0 to 10m step 5m http_requests
  http_requests{job="api"} 0 10 20

eval_fail instant at 0m foo + bar
  expected_fail_message boom

eval instant at 1m scalar(other)
  expect fail regex: ^vector.*
  expect warn

eval instant at 1m time()
  60

eval instant at 1m "a"
  expect string "a"

eval instant at 10m other[10m]
  expect range vector from 0 to 10m step 5m
  other 1 _ 3

clear
"#,
    )
    .expect("parses");
    assert_eq!(file.commands.len(), 10);
    let Command::Load(load) = &file.commands[0] else {
        panic!("load first")
    };
    assert_eq!(load.interval_ms, 300_000);
    assert_eq!(load.series.len(), 2);
    let evals: Vec<&Eval> = file
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Eval(e) => Some(&**e),
            _ => None,
        })
        .collect();
    assert_eq!(evals[0].line, 7);
    assert_eq!(evals[0].at, EvalAt::Instant { t: 3_000_000 });
    assert_eq!(evals[0].expr, "sum(http_requests)");
    assert!(matches!(&evals[0].expected, Expected::Series(s) if s.len() == 1 && s[0].1.is_empty()));
    assert!(evals[1].ordered);
    assert_eq!(
        evals[2].at,
        EvalAt::Range {
            start: 0,
            end: 600_000,
            step: 300_000
        }
    );
    assert!(matches!(&evals[3].fail, Some(FailMatch::Message(m)) if m == "boom"));
    assert!(matches!(&evals[4].fail, Some(FailMatch::Regex(_))));
    assert!(evals[4].warn);
    assert!(matches!(evals[5].expected, Expected::Scalar(x) if x == 60.0));
    assert!(matches!(&evals[6].expected, Expected::String(s) if s == "a"));
    assert_eq!(evals[7].range_vector, Some((0, 600_000, 300_000)));
}

#[test]
fn malformed_files_name_their_line() {
    let e = parse("load 5m\n  m 1\n\nbogus\n").expect_err("invalid command");
    assert_eq!(e.line, 4);
    let e = parse("load five\n  m 1\n").expect_err("bad step");
    assert_eq!(e.line, 1);
    let e = parse("load 1m\n  m 1 x\n").expect_err("bad value");
    assert_eq!(e.line, 2);
    let e = parse("eval instant at 1m m\n  m 1 2\n").expect_err("two values in instant");
    assert!(e.message.contains("expecting multiple values"), "{e}");
    let e = parse("eval range from 10m to 0 step 1m m\n").expect_err("backwards");
    assert!(e.message.contains("before start"), "{e}");
    let e = parse("eval instant at 1m m\n  expect fail\n  expect fail\n").expect_err("two fails");
    assert!(e.message.contains("multiple expect fail"), "{e}");
    let e = parse("eval instant at 1m m\n  expect warn\n  expect no_warn\n").expect_err("warn");
    assert!(e.message.contains("warn and no_warn"), "{e}");
    let e = parse("eval sometime m\n").expect_err("bad eval");
    assert!(e.message.contains("invalid evaluation command"), "{e}");
}

#[test]
fn almost_equal_is_prometheus_s() {
    assert!(almost_equal(f64::NAN, f64::NAN));
    assert!(almost_equal(1.0, 1.0 + 1e-7));
    assert!(!almost_equal(1.0, 1.00001));
    assert!(almost_equal(f64::INFINITY, f64::INFINITY));
    assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY));
    assert!(!almost_equal(0.0, 1e-300));
    assert!(almost_equal(0.0, -0.0));
    assert!(!almost_equal(f64::NAN, 1.0));
}

fn eval_of(src: &str) -> Eval {
    let file = parse(src).expect("parses");
    file.commands
        .into_iter()
        .find_map(|c| match c {
            Command::Eval(e) => Some(*e),
            _ => None,
        })
        .expect("an eval")
}

fn sample(labels: Labels, v: f64) -> Sample {
    Sample { labels, t: 0, v }
}

#[test]
fn comparing_vectors_scalars_and_matrices() {
    let e = eval_of("eval instant at 0 m\n  m{a=\"1\"} 1\n  m{a=\"2\"} NaN\n");
    let a1 = l(&[("__name__", "m"), ("a", "1")]);
    let a2 = l(&[("__name__", "m"), ("a", "2")]);
    let good = Value::Vector(vec![
        sample(a2.clone(), f64::NAN),
        sample(a1.clone(), 1.0000001),
    ]);
    assert_eq!(compare(&e, &good), Ok(()));
    let wrong = Value::Vector(vec![sample(a1.clone(), 1.1), sample(a2.clone(), f64::NAN)]);
    assert!(
        compare(&e, &wrong)
            .expect_err("wrong value")
            .contains("expected 1")
    );
    let missing = Value::Vector(vec![sample(a1.clone(), 1.0)]);
    assert!(
        compare(&e, &missing)
            .expect_err("missing")
            .contains("not found")
    );
    let extra = Value::Vector(vec![
        sample(a1.clone(), 1.0),
        sample(a2.clone(), f64::NAN),
        sample(l(&[("a", "3")]), 0.0),
    ]);
    assert!(
        compare(&e, &extra)
            .expect_err("extra")
            .contains("unexpected metric")
    );
    assert!(compare(&e, &Value::Scalar(Point { t: 0, v: 1.0 })).is_err());

    let ordered = eval_of("eval_ordered instant at 0 m\n  m{a=\"1\"} 1\n  m{a=\"2\"} 2\n");
    let in_order = Value::Vector(vec![sample(a1.clone(), 1.0), sample(a2.clone(), 2.0)]);
    let reversed = Value::Vector(vec![sample(a2.clone(), 2.0), sample(a1.clone(), 1.0)]);
    assert_eq!(compare(&ordered, &in_order), Ok(()));
    assert!(
        compare(&ordered, &reversed)
            .expect_err("order")
            .contains("position")
    );
    // Order does not matter without eval_ordered.
    let unordered = eval_of("eval instant at 0 m\n  m{a=\"1\"} 1\n  m{a=\"2\"} 2\n");
    assert_eq!(compare(&unordered, &reversed), Ok(()));

    let scalar = eval_of("eval instant at 0 1+1\n  2\n");
    assert_eq!(
        compare(&scalar, &Value::Scalar(Point { t: 0, v: 2.0 })),
        Ok(())
    );
    assert!(compare(&scalar, &Value::Vector(vec![])).is_err());

    let range = eval_of("eval range from 0 to 2m step 1m m\n  m{a=\"1\"} 1 _ 3\n");
    let pts = |ps: &[(i64, f64)]| ps.iter().map(|&(t, v)| Point { t, v }).collect::<Vec<_>>();
    let m = |points| {
        Value::Matrix(vec![Series {
            labels: a1.clone(),
            points,
        }])
    };
    assert_eq!(
        compare(&range, &m(pts(&[(0, 1.0), (120_000, 3.0)]))),
        Ok(())
    );
    assert!(compare(&range, &m(pts(&[(0, 1.0), (60_000, 3.0)]))).is_err());
    assert!(compare(&range, &m(pts(&[(0, 1.0), (60_000, 2.0), (120_000, 3.0)]))).is_err());
    let unsorted = Value::Matrix(vec![
        Series {
            labels: a2.clone(),
            points: vec![],
        },
        Series {
            labels: a1.clone(),
            points: vec![],
        },
    ]);
    assert!(
        compare(&range, &unsorted)
            .expect_err("unsorted")
            .contains("sorted")
    );
}

#[test]
fn totals_line_and_diff() {
    let mut t = Totals::default();
    t.add(&Outcome::Passed);
    t.add(&Outcome::Unsupported("x".into()));
    t.add(&fail("y"));
    t.add(&Outcome::Passed);
    assert_eq!(t.to_string(), "2 passed, 1 failed, 1 unsupported");
    assert_eq!(diff("a 1\nb 2", "a 1\nb 3"), "  a 1\n- b 2\n+ b 3\n");
}

#[test]
fn a_file_that_does_not_parse_is_one_failure() {
    let r = run("load 5m\n  m 1\n\nnonsense\n", &RunOptions::default());
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].line, 4);
    assert!(
        matches!(&r[0].outcome, Outcome::Failed { message, .. } if message.contains("does not parse"))
    );
}

#[test]
fn a_series_listed_twice_in_a_load_keeps_its_last_listing() {
    let r = run(
        "load 1m\n  m 1 2\n  m 5 6\n\neval instant at 1m m\n  m 6\n",
        &RunOptions::default(),
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].outcome, Outcome::Passed, "{r:?}");
}

#[test]
fn at_modifier_rewrites_as_prometheus_s_harness() {
    let (e, times) = at_modifier_cases("rate(m[5m]) + on(a) x @ 10", 60_000).expect("safe");
    assert_eq!(times, vec![-600_000, 0, 12_000, 60_000, 600_000]);
    assert!(e.contains("m[5m] @ 60.000"), "{e}");
    assert!(e.contains("x @ 10.000"), "an existing @ stays: {e}");
    let (e, times) = at_modifier_cases("max_over_time(m[5m:1m]) / m @ start()", 0).expect("safe");
    assert_eq!(times, vec![-1000, 0, 1000]);
    assert!(e.contains("[5m:1m] @ 0.000"), "{e}");
    assert!(
        !e.contains("m @ 0.000[5m:1m]") && e.matches("@ 0.000").count() == 2,
        "{e}"
    );
    assert!(at_modifier_cases("time() - m", 60_000).is_none());
    assert!(at_modifier_cases("sum(timestamp(m))", 60_000).is_none());
    // Every rewrite parses again.
    for expr in [
        "sum by (a) (rate(m{a=~\"x|y\"}[1m] offset 30s))",
        "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
        "label_replace(m, \"dst\", \"$1\", \"src\", \"(.*)\")",
        "-m * 2 ^ 3 > bool 1",
        "count_values(\"v\", m) or vector(1)",
    ] {
        let (e, _) = at_modifier_cases(expr, 90_000).expect("safe");
        assert!(promql_parser::parser::parse(&e).is_ok(), "{expr} -> {e}");
    }
}

#[test]
fn unsupported_is_counted_apart_from_failed() {
    let r = run(
        "load 1m\n  m 1+1x10\n\neval instant at 5m m\n  expect warn\n  m 6\n\neval instant at 5m holt_winters(m[5m], 0.5, 0.5)\n  {} 6\n\neval instant at 5m m\n  m 7\n",
        &RunOptions::default(),
    );
    assert_eq!(r.len(), 3);
    // A plain selector gives no warning: an expected one is missing.
    assert!(
        matches!(&r[0].outcome, Outcome::Failed { message, .. } if message.contains("expected warning annotations but got none")),
        "{r:?}"
    );
    assert!(matches!(&r[1].outcome, Outcome::Unsupported(_)), "{r:?}");
    assert!(
        matches!(&r[2].outcome, Outcome::Failed { message, .. } if message.contains("expected 7")),
        "{r:?}"
    );
    let mut t = Totals::default();
    for c in &r {
        t.add(&c.outcome);
    }
    assert_eq!(t.to_string(), "0 passed, 2 failed, 1 unsupported");
}
