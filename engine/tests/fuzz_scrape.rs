//! Fuzzing the scrape path after the fetch: random pages (page-like token soup and raw
//! bytes) parsed in the format the Content-Type would name, then applied to a store by a
//! target's scrape loop state (label conflicts with and without `honor_labels`, a sample
//! limit, staleness across scrapes, the end of the target). Nothing may panic, and every
//! scrape stores its own `up`: 1 exactly when the page parsed within the limit (a page's
//! own `up` with the target's labels never takes its place).
//!
//! 500 cases by default; `PROMDASH_FUZZ_CASES=1000000 cargo test -p promdash-engine
//! --release --test fuzz_scrape` runs more (see docs/ENGINE.md for the last long run).

use std::time::Instant;

use promdash_engine::exposition::{Format, Limits, parse};
use promdash_engine::scrape::ScrapeError;
use promdash_engine::scrape::state::LoopState;
use promdash_engine::{Store, StoreConfig};
use promql_parser::label::{MatchOp, Matcher};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("PROMDASH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500)
}

/// Pieces of pages: names that clash with target labels, escapes, numbers, timestamps,
/// comments, OpenMetrics markers.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("m".to_owned()),
        Just("m_total".to_owned()),
        Just("h_bucket".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("job=\"x\"".to_owned()),
        Just("instance=\"y\"".to_owned()),
        Just("exported_job=\"z\"".to_owned()),
        Just("le=\"+Inf\"".to_owned()),
        Just("a=\"\\\\\\\"\\n\"".to_owned()),
        Just(",".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("1".to_owned()),
        Just("-2.5e3".to_owned()),
        Just("NaN".to_owned()),
        Just("+Inf".to_owned()),
        Just("1700000000000".to_owned()),
        Just("1700000000.5".to_owned()),
        Just("# TYPE m counter\n".to_owned()),
        Just("# TYPE h histogram\n".to_owned()),
        Just("# HELP m text\n".to_owned()),
        Just("# EOF\n".to_owned()),
        Just("# {t=\"1\"} 2\n".to_owned()),
        "[a-z_]{1,6}".prop_map(|s| s),
        "[0-9]{1,4}".prop_map(|s| s),
    ]
}

fn page() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(token(), 0..50).prop_map(|t| t.concat().into_bytes()),
        // Lines of valid samples with random label clashes, so pages parse often.
        prop::collection::vec((0..4usize, 0..4usize, any::<i16>(), any::<bool>()), 0..12).prop_map(
            |lines| {
                let mut out = String::new();
                for (name, label, v, ts) in lines {
                    let name = ["m", "up", "scrape_duration_seconds", "n_total"][name];
                    let label = [
                        "",
                        "job=\"page\"",
                        "instance=\"i\",job=\"j\"",
                        "exported_job=\"e\"",
                    ][label];
                    out.push_str(&format!("{name}{{{label}}} {v}"));
                    if ts {
                        out.push_str(" 1700000000000");
                    }
                    out.push('\n');
                }
                out.into_bytes()
            }
        ),
        prop::collection::vec(any::<u8>(), 0..120),
    ]
}

#[test]
fn fuzz_scrape_apply() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec((page(), any::<bool>()), 1..4),
        any::<bool>(),
        0..4usize,
    );
    let up = [
        Matcher::new(MatchOp::Equal, "__name__", "up"),
        Matcher::new(MatchOp::Equal, "job", "fuzz"),
        Matcher::new(MatchOp::Equal, "instance", "h:1"),
        // Exactly the target's labels: a page's `up{job="page"}` is kept beside it.
        Matcher::new(MatchOp::Equal, "exported_job", ""),
        Matcher::new(MatchOp::Equal, "exported_instance", ""),
        Matcher::new(MatchOp::Equal, "exported_exported_job", ""),
    ];
    runner
        .run(&strategy, |(pages, honor, limit)| {
            let mut store = Store::new(StoreConfig::default());
            let target = [("instance", "h:1"), ("job", "fuzz")].into();
            let mut state = LoopState::new(target, honor, limit);
            let mut t = 1_700_000_000_000;
            for (body, om) in pages {
                let format = if om {
                    Format::OpenMetrics
                } else {
                    Format::Text
                };
                // The plain parser says what to expect of the loop's own (cached) one.
                let plain = parse(&body, format, &Limits::default());
                let expect_up = plain
                    .as_ref()
                    .is_ok_and(|p| limit == 0 || p.samples.len() <= limit);
                let parsed = state.parse(&body, format);
                if let (Err(a), Err(ScrapeError::Parse(b))) = (&plain, &parsed) {
                    prop_assert_eq!(a, b);
                }
                let outcome = state.apply(&mut store, t, parsed, Instant::now());
                prop_assert_eq!(outcome.up, expect_up);
                let ids = store.select(&up);
                prop_assert_eq!(ids.len(), 1);
                let mut pts = Vec::new();
                store.samples(ids[0], t, t, &mut pts);
                prop_assert_eq!(pts.len(), 1);
                prop_assert_eq!(pts[0].v, if expect_up { 1.0 } else { 0.0 });
                t += 1_000;
            }
            state.end(&mut store, t);
            Ok(())
        })
        .expect("the scrape path never panics and always stores up");
}
