use super::*;

#[path = "malformed_cases.rs"]
mod malformed_cases;
use proptest::prelude::*;

fn text(page: &str) -> Result<Page, ParseError> {
    parse(page.as_bytes(), Format::Text, &Limits::default())
}

fn om(page: &str) -> Result<Page, ParseError> {
    parse(page.as_bytes(), Format::OpenMetrics, &Limits::default())
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().copied().collect()
}

#[test]
fn text_format_samples_metadata_and_escapes() {
    let page = text(concat!(
        "# HELP http_requests_total The total number of HTTP requests.\\nSecond line \\\\ here\n",
        "# TYPE http_requests_total counter\n",
        "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n",
        "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n",
        "\n",
        "# A comment\n",
        "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n",
        "metric_without_timestamp_and_labels 12.47\n",
        "something_weird{problem=\"division by zero\"} +Inf -3982045\n",
        "nan_value NaN\n",
        "neg_inf{a=\"b\",} -Inf\n",
        "rpc:latency:rate5m{le=\"0.05\"} 24054\n",
        "  indented\t 5\t\n",
    ))
    .expect("valid page");
    assert_eq!(page.samples.len(), 9);
    let s = &page.samples[0];
    assert_eq!(
        s.labels,
        labels(&[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("method", "post")
        ])
    );
    assert_eq!(s.value, 1027.0);
    assert_eq!(s.timestamp_ms, Some(1_395_066_363_000));
    let s = &page.samples[2];
    assert_eq!(s.labels.get("path"), Some("C:\\DIR\\FILE.TXT"));
    assert_eq!(
        s.labels.get("error"),
        Some("Cannot find file:\n\"FILE.TXT\"")
    );
    assert_eq!(page.samples[3].timestamp_ms, None);
    assert_eq!(page.samples[4].value, f64::INFINITY);
    assert_eq!(page.samples[4].timestamp_ms, Some(-3_982_045));
    assert!(page.samples[5].value.is_nan());
    assert_eq!(page.samples[6].value, f64::NEG_INFINITY);
    assert_eq!(
        page.samples[7].labels.get("__name__"),
        Some("rpc:latency:rate5m")
    );
    assert_eq!(page.samples[8].value, 5.0);
    let meta = &page.metadata[0];
    assert_eq!(meta.name, "http_requests_total");
    assert_eq!(meta.kind, Some(MetricType::Counter));
    assert_eq!(
        meta.help.as_deref(),
        Some("The total number of HTTP requests.\nSecond line \\ here")
    );
}

#[test]
fn openmetrics_samples_units_timestamps_exemplars() {
    let page = om(concat!(
        "# TYPE acme_http_router_request_seconds summary\n",
        "# UNIT acme_http_router_request_seconds seconds\n",
        "# HELP acme_http_router_request_seconds Latency \\\"quoted\\\".\n",
        "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32 1700000000.5\n",
        "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0 1700000000.5\n",
        "# TYPE foo counter\n",
        "foo_total 17.0 1520879607.789 # {id=\"counter-test\"} 5\n",
        "foo_total 18 1520879608\n",
        "# TYPE hist histogram\n",
        "hist_bucket{le=\"0.5\"} 1 1.5\n",
        "hist_bucket{le=\"+Inf\"} 2 1.5 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1.2\n",
        "hist_count 2 1.5\n",
        "hist_sum 1.2 1.5\n",
        "unit_less{a=\"ü \\\\ \\\"x\\\"\"} 3 -1.001\n",
        "# EOF\n",
    ))
    .expect("valid page");
    assert_eq!(page.samples.len(), 9);
    assert_eq!(page.samples[0].timestamp_ms, Some(1_700_000_000_500));
    assert_eq!(page.samples[2].timestamp_ms, Some(1_520_879_607_789));
    assert_eq!(page.samples[3].timestamp_ms, Some(1_520_879_608_000));
    assert_eq!(page.samples[5].labels.get("le"), Some("+Inf"));
    assert_eq!(page.samples[8].labels.get("a"), Some("ü \\ \"x\""));
    // Prometheus's int64(ts * 1000) truncates -1000.9999999999999 to -1000.
    assert_eq!(page.samples[8].timestamp_ms, Some(-1000));
    let meta = &page.metadata[0];
    assert_eq!(meta.unit.as_deref(), Some("seconds"));
    assert_eq!(meta.help.as_deref(), Some("Latency \"quoted\"."));
    assert_eq!(meta.kind, Some(MetricType::Summary));
    // Without a trailing newline after # EOF.
    assert!(om("a 1\n# EOF").is_ok());
}

#[test]
fn errors_name_line_column_and_what_was_expected() {
    let e = text("ok 1\nbad{a=\"x\" 2\n").expect_err("missing comma");
    assert_eq!((e.line, e.col), (2, 11));
    assert!(e.message.contains("expected `,` or `}`"), "{e}");

    let e = text("a{b=\"\\q\"} 1\n").expect_err("bad escape");
    assert_eq!((e.line, e.col), (1, 6));
    assert!(e.message.contains("invalid escape `\\q`"), "{e}");

    let e = text("a 1\nb 12x\n").expect_err("bad number");
    assert_eq!((e.line, e.col), (2, 3));
    assert!(e.message.contains("expected a number"), "{e}");

    let e = text("a{x=\"é\"} 1 nope\n").expect_err("bad timestamp");
    assert_eq!((e.line, e.col), (1, 12));
    assert_eq!(
        e.to_string(),
        "1:12: expected a timestamp in integer milliseconds, got \"nope\""
    );

    let e = om("a 1\n").expect_err("no EOF");
    assert!(e.message.contains("missing `# EOF`"), "{e}");

    let e = om("a 1\n# EOF\nb 2\n").expect_err("after EOF");
    assert_eq!(e.line, 3);

    let e = text("a{b=\"1\"} 1\na{b=\"1\"} 2\n").expect_err("duplicate");
    assert_eq!((e.line, e.col), (2, 1));
    assert!(e.message.contains("duplicate series"), "{e}");

    let mut page = b"ok 1\nbad{a=\"".to_vec();
    page.extend_from_slice(&[0xff, 0xfe]);
    page.extend_from_slice(b"\"} 1\n");
    let e = parse(&page, Format::Text, &Limits::default()).expect_err("invalid UTF-8");
    assert_eq!((e.line, e.col), (2, 8));
    assert!(e.message.contains("UTF-8"), "{e}");
}

#[test]
fn limits_on_line_length_and_samples() {
    let limits = Limits {
        max_line_bytes: 64,
        max_samples: Some(2),
    };
    let long = format!("a{{b=\"{}\"}} 1\n", "x".repeat(100));
    let e = parse(long.as_bytes(), Format::Text, &limits).expect_err("long line");
    assert!(e.message.contains("more than the limit of 64 bytes"), "{e}");
    let e = parse(b"a 1\nb 2\nc 3\n", Format::Text, &limits).expect_err("too many");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("sample limit"), "{e}");
    assert!(parse(b"a 1\nb 2\n", Format::Text, &limits).is_ok());
}

#[test]
fn same_series_at_increasing_timestamps_is_not_a_duplicate() {
    let page =
        om("# TYPE c counter\nc_total 1 10\nc_total 2 11\nc_total 3 11.5\n# EOF\n").expect("valid");
    assert_eq!(page.samples.len(), 3);
    let e = om("c_total 1 10\nc_total 2 10\n# EOF\n").expect_err("same timestamp");
    assert!(e.message.contains("duplicate series"), "{e}");
    let e = text("c 1 10\nc 2\n").expect_err("one without timestamp");
    assert!(e.message.contains("duplicate series"), "{e}");
}

#[test]
fn content_type_picks_the_format() {
    assert_eq!(
        Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4"),
        Format::Text
    );
    assert_eq!(Format::from_content_type(""), Format::Text);
}

#[test]
fn openmetrics_written_here_reads_back_bit_for_bit() {
    let cases = [
        (
            labels(&[("__name__", "m"), ("q", "a\"b\\c\nd ü")]),
            1_700_000_000_123,
            0.1,
        ),
        (labels(&[("__name__", "m")]), -5, f64::NEG_INFINITY),
        (labels(&[("__name__", "m2"), ("a", "")]), 0, 1e-300),
        (labels(&[("__name__", "m3")]), 999, 123_456_789.123_456_78),
        (labels(&[("__name__", "m4")]), 1001, 1.0),
        (labels(&[("__name__", "m4")]), 1_700_000_001_001, 2.0),
        (labels(&[("__name__", "m5")]), -1001, 3.0),
    ];
    let mut out = String::new();
    for (l, t, v) in &cases {
        write_openmetrics_sample(&mut out, l, *t, *v);
    }
    out.push_str("# EOF\n");
    let page = om(&out).expect(&out);
    for ((l, t, v), s) in cases.iter().zip(&page.samples) {
        assert_eq!(&s.labels, l);
        assert_eq!(s.timestamp_ms, Some(*t));
        assert_eq!(s.value.to_bits(), v.to_bits());
    }
}

/// Malformed pages of our own: each is an error with a position, never a panic.
#[test]
fn malformed_pages_are_errors() {
    let cases: Vec<(Format, Vec<u8>)> = malformed_cases::malformed_pages()
        .into_iter()
        .map(|(om, page)| {
            (
                if om {
                    Format::OpenMetrics
                } else {
                    Format::Text
                },
                page,
            )
        })
        .collect();
    assert!(cases.len() >= 100, "only {} malformed pages", cases.len());
    for (format, page) in &cases {
        let shown = String::from_utf8_lossy(&page[..page.len().min(80)]).into_owned();
        match parse(page, *format, &Limits::default()) {
            Ok(p) => panic!("{format:?} page {shown:?} parsed: {:?}", p.samples),
            Err(e) => {
                assert!(e.line >= 1 && e.col >= 1, "{format:?} {shown:?}: {e}");
                assert!(!e.message.is_empty());
            }
        }
    }
}

/// A page from the `prometheus` crate's text encoder: every sample it wrote comes back
/// with its labels and value.
fn encode_registry(families: &[(String, Vec<(String, f64)>)], hist: &[f64]) -> (String, usize) {
    use prometheus::{Encoder, HistogramOpts, Opts, Registry, TextEncoder};
    let registry = Registry::new();
    let mut expected = 0;
    for (i, (help, series)) in families.iter().enumerate() {
        let gauge =
            prometheus::GaugeVec::new(Opts::new(format!("fam_{i}:x"), help.clone()), &["lbl"])
                .expect("valid gauge");
        for (value, v) in series {
            gauge.with_label_values(&[value.as_str()]).set(*v);
        }
        expected += gauge.collect()[0].get_metric().len();
        registry.register(Box::new(gauge)).expect("unique name");
    }
    let h = prometheus::Histogram::with_opts(
        HistogramOpts::new("lat_seconds", "latency").buckets(vec![0.1, 1.0, 10.0]),
    )
    .expect("valid histogram");
    for v in hist {
        h.observe(*v);
    }
    registry.register(Box::new(h)).expect("unique name");
    expected += 4 + 2;
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buf)
        .expect("encodes");
    (String::from_utf8(buf).expect("utf-8"), expected)
}

use prometheus::core::Collector as _;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn pages_from_the_prometheus_crate_round_trip(
        families in prop::collection::vec(
            (any::<String>(), prop::collection::btree_map(any::<String>(), any::<f64>(), 0..5)),
            0..5,
        ),
        hist in prop::collection::vec(0.0f64..20.0, 0..20),
    ) {
        let families: Vec<(String, Vec<(String, f64)>)> = families
            .into_iter()
            .map(|(help, m)| (format!("h{help}"), m.into_iter().collect()))
            .collect();
        let (page, expected) = encode_registry(&families, &hist);
        let parsed = text(&page).map_err(|e| TestCaseError::fail(format!("{e}\n{page}")))?;
        prop_assert_eq!(parsed.samples.len(), expected);
        for (i, (help, series)) in families.iter().enumerate() {
            if series.is_empty() {
                continue;
            }
            let name = format!("fam_{i}:x");
            let meta = parsed.metadata.iter().find(|m| m.name == name).expect("family");
            prop_assert_eq!(meta.help.as_deref(), Some(help.as_str()));
            prop_assert_eq!(meta.kind, Some(MetricType::Gauge));
            for (value, v) in series {
                let s = parsed
                    .samples
                    .iter()
                    .find(|s| s.labels.get("__name__") == Some(name.as_str()) && s.labels.get("lbl") == Some(value.as_str()))
                    .expect("series is there");
                prop_assert!(s.value.to_bits() == v.to_bits() || (s.value.is_nan() && v.is_nan()), "{} != {}", s.value, v);
            }
        }
        let count = parsed.samples.iter().find(|s| s.labels.get("__name__") == Some("lat_seconds_count")).expect("count");
        prop_assert_eq!(count.value, hist.len() as f64);
        let inf = parsed.samples.iter().find(|s| s.labels.get("le") == Some("+Inf")).expect("+Inf bucket");
        prop_assert_eq!(inf.value, hist.len() as f64);
    }

    #[test]
    fn arbitrary_bytes_never_panic(page in prop::collection::vec(any::<u8>(), 0..400)) {
        for format in [Format::Text, Format::OpenMetrics] {
            let _ = parse(&page, format, &Limits { max_line_bytes: 200, max_samples: Some(5) });
        }
    }

    #[test]
    fn pagelike_text_never_panics(page in page_like()) {
        for format in [Format::Text, Format::OpenMetrics] {
            if let Err(e) = parse(page.as_bytes(), format, &Limits::default()) {
                prop_assert!(e.line >= 1 && e.col >= 1);
            }
        }
    }
}

/// Lines assembled from the format's own tokens, so the fuzzing reaches deep states.
pub(crate) fn page_like() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "m",
        "m_total",
        "_bucket",
        "{",
        "}",
        "=",
        "\"",
        "\\",
        "\\\\",
        "\\n",
        "\\\"",
        ",",
        " ",
        "\t",
        "1",
        "-1.5e3",
        "NaN",
        "+Inf",
        "-Inf",
        "# ",
        "# TYPE ",
        "# HELP ",
        "# UNIT ",
        "# EOF",
        "counter",
        "histogram",
        "le",
        "a",
        ":",
        "é",
        "\n",
        "\r",
        "1700000000.5",
        "x",
    ]);
    prop::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

/// How many random pages [`fuzz_exposition_parser`] feeds the parser: the
/// `PROMDASH_FUZZ_CASES` environment variable, 2,000 by default.
fn fuzz_cases() -> u32 {
    std::env::var("PROMDASH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

/// The fuzz run of the exposition parser: token soup and raw bytes through both formats.
/// `PROMDASH_FUZZ_CASES=1000000 cargo test -p promdash-engine --release --lib fuzz_exposition`
#[test]
fn fuzz_exposition_parser() {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: fuzz_cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop_oneof![
        page_like().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..200),
    ];
    runner
        .run(&strategy, |page| {
            for format in [Format::Text, Format::OpenMetrics] {
                let _ = parse(&page, format, &Limits::default());
            }
            Ok(())
        })
        .expect("the parser never panics");
}

proptest! {
    #[test]
    fn om_timestamps_read_back_exactly(t in -4_000_000_000_000i64..4_000_000_000_000) {
        let mut s = String::new();
        write_om_timestamp(&mut s, t);
        prop_assert_eq!(parse_om_timestamp(&s), Some(t), "{}", s);
    }
}

#[test]
fn load_openmetrics_appends_every_sample_or_says_why_not() {
    let mut store = Store::new(crate::store::StoreConfig::default());
    let n = load_openmetrics(
        &mut store,
        b"# TYPE c counter\nc_total{a=\"1\"} 1 10\nc_total{a=\"1\"} 2 20\ng 5 20.5\n# EOF\n",
    )
    .expect("loads");
    assert_eq!(n, 3);
    let e = load_openmetrics(&mut store, b"g 1\n# EOF\n").expect_err("no timestamp");
    assert!(e.to_string().contains("has no timestamp"), "{e}");
    let e = load_openmetrics(&mut store, b"g 1 1\n").expect_err("no EOF");
    assert!(e.to_string().starts_with("1:1: missing `# EOF`"), "{e}");
}
