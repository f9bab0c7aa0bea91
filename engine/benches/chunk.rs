//! Decoding speed of closed chunks: 200 busy counters × 1 h at 1 s (720,000 samples in
//! chunks of 120), the data of `sum(app_request_count_total)` in
//! `tests/examples/engine_vs_prometheus.rs -- 1s`, where nearly every sample is decoded.
//! `cargo bench -p promdash-engine --bench chunk`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use promdash_engine::chunk::{SAMPLES_PER_CHUNK, XorChunk};
use promdash_engine::value::Point;

/// Start of the data (ms).
const START: i64 = 1_700_000_000_000;

fn chunks() -> Vec<XorChunk> {
    // xorshift64*, as the other benches' workload.
    let mut state = 0x0b5e_55ed_5eed_1234u64;
    let mut below = |n: u64| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    };
    let mut out = Vec::new();
    for s in 0..200u64 {
        let max = if s % 5 < 2 { 40 - 6 * (s / 50) } else { 3 };
        let mut v = 0.0;
        let points: Vec<Point> = (0..3_600)
            .map(|i| {
                v += below(max) as f64;
                Point {
                    t: START + i * 1_000,
                    v,
                }
            })
            .collect();
        out.extend(points.chunks(SAMPLES_PER_CHUNK).map(XorChunk::encode));
    }
    out
}

fn bench(c: &mut Criterion) {
    let chunks = chunks();
    let samples: usize = chunks.iter().map(XorChunk::len).sum();
    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Elements(samples as u64));
    g.bench_function("decode_720k_samples", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            let mut last = 0;
            for c in &chunks {
                for p in c.iter() {
                    acc += p.v;
                    last = p.t;
                }
            }
            (acc, last)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
