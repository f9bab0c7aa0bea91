//! Decoding of recorded response bodies: every result type, special values, notes,
//! error envelopes of Prometheus, VictoriaMetrics and Mimir, unknown fields.

use promdash_queries::decode::{
    Envelope, decode_query_body, decode_query_body_serde, parse_api_response, parse_query_response,
};
use promdash_queries::error::{ErrorType, QueryError};
use promdash_queries::model::{Labels, QueryData, QueryResult, Sample};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ok(name: &str) -> QueryResult {
    parse_query_response("http://x", 200, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn vector() {
    let r = ok("vector.json");
    let QueryData::Vector(v) = &r.data else {
        panic!("{r:?}")
    };
    assert_eq!(v.len(), 2);
    assert_eq!(
        v[0].labels,
        labels(&[
            ("__name__", "up"),
            ("instance", "127.0.0.1:9090"),
            ("job", "prometheus")
        ])
    );
    assert_eq!(
        v[0].sample,
        Sample {
            t: 1_700_000_000.123,
            v: 1.0
        }
    );
    assert_eq!(v[1].sample.v, 0.0);
    assert_eq!(r.notes, Default::default());
}

/// Label sets as servers rarely send them: unsorted, a name twice (the last one counts,
/// as in a JSON object read into a map), escapes, non-ASCII, long values, `metric`
/// twice, `null` and empty sets, many series sharing their names. The single-pass
/// reader and the serde decoder agree.
#[test]
fn unusual_label_sets() {
    let long = "v".repeat(300);
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[
        {{"metric":{{"z":"1","a":"2","m":"3"}},"value":[1,"1"]}},
        {{"metric":{{"a":"x","b":"y","a":"z"}},"value":[1,"2"]}},
        {{"metric":{{"path":"/a\"b\\c\u00e9\n","ünï":"çødé"}},"value":[1,"3"]}},
        {{"metric":{{"long":"{long}"}},"value":[1,"4"]}},
        {{"metric":{{"dropped":"1"}},"metric":{{"kept":"2"}},"value":[1,"5"]}},
        {{"metric":null,"value":[1,"6"]}},
        {{"metric":{{}},"value":[1,"7"]}},
        {{"value":[1,"8"]}}
        ]}}}}"#
    );
    let want = [
        labels(&[("a", "2"), ("m", "3"), ("z", "1")]),
        labels(&[("a", "z"), ("b", "y")]),
        labels(&[("path", "/a\"b\\c\u{e9}\n"), ("ünï", "çødé")]),
        labels(&[("long", &long)]),
        labels(&[("kept", "2")]),
        Labels::new(),
        Labels::new(),
        Labels::new(),
    ];
    for decoded in [
        decode_query_body(body.as_bytes()),
        decode_query_body_serde(body.as_bytes()),
    ] {
        let Ok(Envelope::Success(r)) = decoded else {
            panic!("{decoded:?}")
        };
        let QueryData::Vector(v) = &r.data else {
            panic!("{r:?}")
        };
        let got: Vec<&Labels> = v.iter().map(|s| &s.labels).collect();
        assert_eq!(got, want.iter().collect::<Vec<_>>());
        assert_eq!(v[1].labels.keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    let mut body = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for i in 0..300 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"metric":{{"__name__":"up","instance":"10.0.0.{i}:9100","job":"node"}},"values":[[1,"{i}"]]}}"#
        ));
    }
    body.push_str("]}}");
    let Ok(Envelope::Success(r)) = decode_query_body(body.as_bytes()) else {
        panic!("{body}")
    };
    let QueryData::Matrix(m) = &r.data else {
        panic!("{r:?}")
    };
    for (i, s) in m.iter().enumerate() {
        let instance = format!("10.0.0.{i}:9100");
        assert_eq!(
            s.labels,
            labels(&[("__name__", "up"), ("instance", &instance), ("job", "node")])
        );
        assert_eq!(s.samples[0].v, i as f64);
    }
}

#[test]
fn matrix_with_special_values() {
    let r = ok("matrix.json");
    let QueryData::Matrix(m) = &r.data else {
        panic!("{r:?}")
    };
    assert_eq!(m.len(), 2);
    let v: Vec<f64> = m[0].samples.iter().map(|s| s.v).collect();
    assert_eq!(v[0], 1.5);
    assert!(v[1].is_nan());
    assert_eq!(v[2], f64::INFINITY);
    assert_eq!(v[3], f64::NEG_INFINITY);
    assert_eq!(v[4], 2e-7);
    assert_eq!(v[5], 1250.0);
    assert_eq!(m[0].samples[1].t, 1_700_000_015.0);
    assert!(m[1].samples.is_empty());
    assert_eq!(r.point_count(), 6);
}

#[test]
fn scalar_and_string() {
    let r = ok("scalar.json");
    assert_eq!(
        r.data,
        QueryData::Scalar(Sample {
            t: 1_700_000_000.5,
            v: 42.0
        })
    );
    assert_eq!(
        r.as_scalar(),
        Some(Sample {
            t: 1_700_000_000.5,
            v: 42.0
        })
    );
    let r = ok("string.json");
    assert_eq!(
        r.data,
        QueryData::String {
            t: 1_700_000_000.5,
            value: "hello \"world\"".into()
        }
    );
}

#[test]
fn vector_accepted_where_scalar_expected() {
    // VictoriaMetrics answers `vector` for scalar(...) and instant queries.
    let r = ok("vm_instant_vector.json");
    assert_eq!(r.as_scalar().map(|s| s.v), Some(1.0));
    assert_eq!(
        ok("vector.json").as_scalar(),
        None,
        "two series are not one number"
    );
}

#[test]
fn warnings_infos_partial() {
    let r = ok("warnings_infos.json");
    assert_eq!(
        r.notes.warnings,
        ["PromQL warning: encountered a mix of histograms and floats"]
    );
    assert_eq!(
        r.notes.infos,
        ["PromQL info: metric might not be a counter"]
    );
    assert!(!r.notes.is_partial);
    let r = ok("vm_partial.json");
    assert!(r.notes.is_partial);
    assert_eq!(r.data, QueryData::Vector(vec![]));
}

#[test]
fn unknown_fields_in_any_order() {
    let r = ok("unknown_fields_any_order.json");
    let QueryData::Vector(v) = &r.data else {
        panic!("{r:?}")
    };
    assert_eq!(v[0].labels, labels(&[("a", "b")]));
    assert_eq!(v[0].sample.v, 7.0);
}

#[test]
fn native_histogram_series_are_skipped() {
    let r = ok("native_histogram.json");
    let QueryData::Vector(v) = &r.data else {
        panic!("{r:?}")
    };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].labels, labels(&[("a", "b")]));
}

#[test]
fn api_errors_keep_type_and_message() {
    let cases = [
        (
            "error_bad_data.json",
            400,
            ErrorType::BadData,
            "parse error: unexpected end of input",
        ),
        (
            "error_vm_422.json",
            422,
            ErrorType::Other("422".into()),
            "cannot execute query",
        ),
        (
            "error_mimir.json",
            401,
            ErrorType::Other("server_error".into()),
            "no org id",
        ),
    ];
    for (name, status, want_type, want_msg) in cases {
        let e = parse_query_response("http://x", status, &fixture(name)).expect_err(name);
        let QueryError::Api {
            status: s,
            error_type,
            message,
        } = &e
        else {
            panic!("{name}: {e:?}")
        };
        assert_eq!(*s, status);
        assert_eq!(*error_type, want_type);
        assert!(message.contains(want_msg), "{message}");
        assert!(e.to_string().contains(want_msg));
        assert!(!e.is_unreachable());
    }
}

#[test]
fn non_json_bodies_quote_status_and_body_start() {
    let e = parse_query_response("http://x/prom", 404, b"404 page not found\n").expect_err("404");
    assert!(matches!(e, QueryError::Http { status: 404, .. }));
    let s = e.to_string();
    assert!(
        s.contains("HTTP 404") && s.contains("404 page not found") && s.contains("path prefix"),
        "{s}"
    );

    let html = format!("<html><body>{}</body></html>", "x".repeat(1000));
    let e = parse_query_response("http://x", 502, html.as_bytes()).expect_err("502");
    let QueryError::Http { body, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(body.len(), 200, "only the first 200 bytes are quoted");
    assert!(
        e.is_unreachable(),
        "a gateway's 502 page means the server is down"
    );

    let e = parse_query_response("http://x", 200, b"<html>login</html>").expect_err("html 200");
    assert!(e.to_string().contains("not Prometheus JSON"), "{e}");

    // JSON of another shape with an error status (a gateway's own error).
    let e = parse_query_response("http://x", 503, br#"{"message":"no healthy upstream"}"#)
        .expect_err("503");
    assert!(matches!(e, QueryError::Http { status: 503, .. }), "{e:?}");
}

#[test]
fn decode_errors_say_what_and_where() {
    let cases: &[(&[u8], &str)] = &[
        (br#"{"status":"success"}"#, "`data`"),
        (br#"{"status":"success","data":{"resultType":"vector"}}"#, "data.result"),
        (br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#, "sample value"),
        (br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["1","2"]}]}}"#, "line 1 column"),
        (br#"{"status":"success","data":{"resultType":"heatmap","result":[]}}"#, "resultType"),
        (br#"{"status":"success","data":{"resultType":"scalar","result":[{"metric":{}}]}}"#, "shape"),
        (br#"{"status":"success","data":{"resultType":"vector","result":[]}"#, "EOF"),
        (br#"{"status":"weird","data":{}}"#, "status"),
    ];
    for (body, want) in cases {
        let e = parse_query_response("http://x", 200, body)
            .expect_err(std::str::from_utf8(body).unwrap_or("?"));
        assert!(matches!(e, QueryError::Decode { .. }), "{e:?}");
        let s = e.to_string();
        assert!(s.contains(want), "{s:?} lacks {want:?}");
        assert!(s.contains("Prometheus-compatible"), "says what to do: {s}");
    }
}

#[test]
fn envelope_level_decoding() {
    match decode_query_body(&fixture("error_bad_data.json")).expect("decodes") {
        Envelope::Error { error_type, .. } => assert_eq!(error_type, ErrorType::BadData),
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_endpoints() {
    let body = br#"{"status":"success","data":["__name__","job"],"warnings":["w"]}"#;
    let (names, notes): (Vec<String>, _) = parse_api_response("http://x", 200, body).expect("ok");
    assert_eq!(names, ["__name__", "job"]);
    assert_eq!(notes.warnings, ["w"]);
    let body = br#"{"status":"error","errorType":"bad_data","error":"bad matcher"}"#;
    let e = parse_api_response::<Vec<String>>("http://x", 400, body).expect_err("error");
    assert_eq!(e.error_type(), Some(&ErrorType::BadData));
}

/// Bodies recorded from Prometheus 2.42 and VictoriaMetrics 1.79 (curl against servers
/// on loopback scraping themselves).
#[test]
fn recorded_prometheus_and_victoria_metrics_bodies() {
    let r = ok("recorded_prometheus_vector.json");
    let QueryData::Vector(v) = &r.data else {
        panic!("{r:?}")
    };
    assert_eq!(v[0].labels.get("__name__"), Some("up"));
    assert_eq!(
        v[0].sample,
        Sample {
            t: 1_795_621_852.109,
            v: 1.0
        }
    );

    let r = ok("recorded_prometheus_matrix.json");
    let QueryData::Matrix(m) = &r.data else {
        panic!("{r:?}")
    };
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0].samples.len(), 5);
    assert_eq!(m[0].samples[0].t, 1_795_621_848.0);
    assert_eq!(m[1].samples.len(), 6);
    assert_eq!(
        m[1].samples[0],
        Sample {
            t: 1_795_621_847.0,
            v: 0.495_599_999_999_999_93
        }
    );
    assert_eq!(m[1].samples[3].v, 0.999_000_999_000_999_1);

    let r = ok("recorded_prometheus_scalar.json");
    assert_eq!(
        r.data,
        QueryData::Scalar(Sample {
            t: 1_795_621_852.171,
            v: 1.0 / 3.0
        })
    );

    let r = ok("recorded_prometheus_string.json");
    assert_eq!(
        r.data,
        QueryData::String {
            t: 1_795_621_852.184,
            value: "some text".into()
        }
    );

    let r = ok("recorded_prometheus_special.json");
    let QueryData::Vector(v) = &r.data else {
        panic!("{r:?}")
    };
    assert!(v[0].sample.v.is_nan());
    assert_eq!(v[1].sample.v, f64::INFINITY);
    assert_eq!(v[2].sample.v, f64::NEG_INFINITY);
    assert_eq!(v[3].sample.v, 2e-7);

    let e = parse_query_response(
        "http://x",
        400,
        &fixture("recorded_prometheus_bad_data.json"),
    )
    .expect_err("400");
    assert_eq!(e.error_type(), Some(&ErrorType::BadData));
    assert!(e.to_string().contains("unclosed left parenthesis"));
    let e = parse_query_response(
        "http://x",
        422,
        &fixture("recorded_prometheus_execution.json"),
    )
    .expect_err("422");
    assert_eq!(e.error_type(), Some(&ErrorType::Execution));
    let e = parse_query_response("http://x", 404, &fixture("recorded_prometheus_404.txt"))
        .expect_err("404");
    assert!(matches!(e, QueryError::Http { status: 404, .. }), "{e:?}");

    let r = ok("recorded_vm_vector.json");
    assert_eq!(r.series_count(), 1);
    // VictoriaMetrics answers `vector` for a scalar expression: accepted as a number.
    let r = ok("recorded_vm_scalar_as_vector.json");
    assert_eq!(r.as_scalar().map(|s| s.v), Some(1.0 / 3.0));
    let r = ok("recorded_vm_matrix.json");
    assert!(r.series_count() > 5 && r.point_count() > 30, "{r:?}");
    let e =
        parse_query_response("http://x", 422, &fixture("recorded_vm_error.json")).expect_err("422");
    assert_eq!(e.error_type(), Some(&ErrorType::Other("422".into())));
    assert!(e.to_string().contains("unexpected token"));
}
