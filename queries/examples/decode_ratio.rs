//! Decoding speed ratio measured interleaved (one pass of each in turn, medians), which
//! holds up better than sequential benchmarks on a busy machine:
//!
//!     cargo run --release -p promdash-queries --example decode_ratio

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use promdash_queries::decode::decode_query_body;

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(name: &str, body: &[u8]) {
    let (mut base, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let t = Instant::now();
        let v: serde::de::IgnoredAny = serde_json::from_slice(black_box(body)).expect("valid JSON");
        black_box(v);
        base.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let e = decode_query_body(black_box(body)).expect("valid answer");
        black_box(e);
        ours.push(t.elapsed().as_secs_f64());
    }
    let (b, o) = (median(base), median(ours));
    println!(
        "{name}: {} bytes, IgnoredAny {:.3} ms, promdash {:.3} ms, speed ratio {:.2}x",
        body.len(),
        b * 1e3,
        o * 1e3,
        b / o
    );
}

fn main() {
    // `decode_ratio ours|ignored N [vector]`: only one side, N times, on the matrix (or
    // the vector) body (for perf stat and perf record).
    let args: Vec<String> = std::env::args().collect();
    if args.len() >= 3 {
        let body = if args.get(3).is_some_and(|a| a == "vector") {
            vector_body(5000)
        } else {
            matrix_body(100, 1000)
        };
        let n: usize = args[2].parse().unwrap_or(100);
        for _ in 0..n {
            if args[1] == "ours" {
                black_box(decode_query_body(black_box(&body)).expect("valid answer"));
            } else {
                let v: serde::de::IgnoredAny =
                    serde_json::from_slice(black_box(&body)).expect("valid JSON");
                black_box(v);
            }
        }
        return;
    }
    measure("matrix 100x1000", &matrix_body(100, 1000));
    measure("vector 5000", &vector_body(5000));
}
