//! Decoding speed: the model decoder against `serde_json::from_slice::<IgnoredAny>` (the
//! parse limit: a pass over the same bytes that builds nothing), in the same run.
//!
//! cargo bench -p promdash-queries --bench decode

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use promdash_queries::decode::{Envelope, decode_query_body};

/// A Prometheus-shaped matrix answer: `series` series of `points` samples, with labels
/// and values like those of the reference service.
fn matrix_body(series: usize, points: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for i in 0..series {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"metric":{{"__name__":"app_request_count_total","instance":"127.0.0.1:8080","job":"svc","method":"GET","route":"/route/{i}","status":"200"}},"values":["#
        );
        for p in 0..points {
            if p > 0 {
                s.push(',');
            }
            let t = 1_700_000_000.0 + p as f64 * 15.0 + 0.123;
            let v = (i * 1000 + p) as f64 * 1.379_246_5;
            let _ = write!(s, r#"[{t:.3},"{v}"]"#);
        }
        s.push_str("]}");
    }
    s.push_str("]}}");
    s.into_bytes()
}

fn vector_body(series: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..series {
        if i > 0 {
            s.push(',');
        }
        let v = i as f64 * 0.731_5;
        let _ = write!(
            s,
            r#"{{"metric":{{"__name__":"app_request_count_total","instance":"10.0.{}.{}:8080","job":"svc","route":"/route/{i}","status":"200"}},"value":[1700000000.123,"{v}"]}}"#,
            i / 256,
            i % 256
        );
    }
    s.push_str("]}}");
    s.into_bytes()
}

fn bench(c: &mut Criterion, name: &str, body: &[u8]) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("serde_json IgnoredAny", |b| {
        b.iter(|| {
            let v: serde::de::IgnoredAny =
                serde_json::from_slice(black_box(body)).expect("valid JSON");
            black_box(v)
        });
    });
    g.bench_function("promdash decode", |b| {
        b.iter(|| {
            let e = decode_query_body(black_box(body)).expect("valid answer");
            assert!(matches!(e, Envelope::Success(_)));
            black_box(e)
        });
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench(c, "matrix 100x1000", &matrix_body(100, 1000));
    bench(c, "vector 5000", &vector_body(5000));
}

criterion_group!(decode, benches);
criterion_main!(decode);
