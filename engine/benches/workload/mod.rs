//! A deterministic, realistic workload shared by the engine's benches: 1,100 series shaped
//! like the reference service's `/metrics` under load (request counters by method, route and
//! status; latency histograms with 12 buckets plus `_sum` and `_count`; gauges), scraped
//! every `interval_ms` with timestamps on the interval (as Prometheus aligns scrape times
//! within its 2 ms tolerance).

use promdash_engine::store::{Store, StoreConfig};
use promdash_engine::value::Labels;

/// Start of the workload's data (ms).
pub const START: i64 = 1_700_000_000_000;

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

/// One series of the workload and how it moves.
struct Spec {
    labels: Labels,
    kind: Kind,
    value: f64,
}

enum Kind {
    /// Goes up by 0..n whole requests a scrape.
    Counter(u64),
    /// Bucket `i` of 12 of a histogram: goes up with its histogram's observations.
    Bucket { hist: usize, i: usize },
    /// The histogram's `_count`.
    Count(usize),
    /// The histogram's `_sum`: goes up by the latency of each observation.
    Sum(usize),
    /// A gauge that does not move (`up`, `*_info`).
    Constant,
    /// A gauge jumping around small integers (in-flight requests).
    Small,
    /// A large gauge drifting (resident memory in bytes).
    Drift,
}

/// 1,100 series: 200 counters, 60 histograms × (12 buckets + sum + count) = 840, 60 gauges
/// (20 constant, 20 small, 20 drifting).
fn specs() -> Vec<Spec> {
    let mut out = Vec::new();
    let methods = ["GET", "POST", "PUT", "DELETE"];
    for i in 0..200 {
        out.push(Spec {
            labels: [
                ("__name__", "app_request_count_total".to_string()),
                ("method", methods[i % 4].to_string()),
                ("route", format!("/api/v1/r{}", i / 20)),
                (
                    "status",
                    ["200", "201", "404", "500", "503"][i % 5].to_string(),
                ),
                ("instance", format!("app-{}:8080", i % 10)),
            ]
            .into(),
            kind: Kind::Counter(if i % 5 < 2 { 40 } else { 3 }),
            value: 0.0,
        });
    }
    for h in 0..60 {
        let base = |name: &str| -> Vec<(&'static str, String)> {
            vec![
                ("__name__", name.to_string()),
                ("method", methods[h % 4].to_string()),
                ("route", format!("/api/v1/r{}", h / 6)),
                ("instance", format!("app-{}:8080", h % 10)),
            ]
        };
        for (i, le) in BUCKETS.iter().enumerate() {
            let mut l = base("app_request_latency_seconds_bucket");
            l.push(("le", le.to_string()));
            out.push(Spec {
                labels: l.into_iter().collect(),
                kind: Kind::Bucket { hist: h, i },
                value: 0.0,
            });
        }
        out.push(Spec {
            labels: base("app_request_latency_seconds_sum")
                .into_iter()
                .collect(),
            kind: Kind::Sum(h),
            value: 0.0,
        });
        out.push(Spec {
            labels: base("app_request_latency_seconds_count")
                .into_iter()
                .collect(),
            kind: Kind::Count(h),
            value: 0.0,
        });
    }
    for g in 0..60 {
        let (name, kind, value) = match g / 20 {
            0 => ("up", Kind::Constant, 1.0),
            1 => ("app_in_flight_requests", Kind::Small, 0.0),
            _ => ("process_resident_memory_bytes", Kind::Drift, 52_428_800.0),
        };
        out.push(Spec {
            labels: [
                ("__name__", name.to_string()),
                ("instance", format!("app-{g}:8080")),
                ("job", "app".to_string()),
            ]
            .into(),
            kind,
            value,
        });
    }
    out
}

/// A store holding `duration_ms` of the workload scraped every `interval_ms`.
pub fn build(duration_ms: i64, interval_ms: i64) -> Store {
    let mut store = Store::new(StoreConfig {
        retention_ms: duration_ms + 3_600_000,
        max_series: 10_000,
    });
    let mut specs = specs();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = START;
    let mut t = start;
    // Per histogram: this scrape's observations per bucket (cumulative) and their sum.
    let mut obs = vec![[0u64; 12]; 60];
    let mut sums = vec![0.0f64; 60];
    while t < start + duration_ms {
        for h in 0..60 {
            let n = rng.below(8);
            let mut counts = [0u64; 12];
            let mut sum = 0.0;
            for _ in 0..n {
                // Mostly fast requests, a tail of slow ones.
                let b = match rng.below(100) {
                    0..=39 => 2,
                    40..=74 => 3,
                    75..=89 => 4,
                    90..=97 => 5,
                    _ => 7,
                };
                for c in counts.iter_mut().skip(b) {
                    *c += 1;
                }
                sum += [0.003, 0.008, 0.02, 0.04, 0.08, 0.2, 0.4, 0.8][b]
                    * (1.0 + rng.below(50) as f64 / 100.0);
            }
            obs[h] = counts;
            sums[h] = sum;
        }
        for s in &mut specs {
            s.value = match s.kind {
                Kind::Counter(n) => s.value + rng.below(n) as f64,
                Kind::Bucket { hist, i } => s.value + obs[hist][i] as f64,
                Kind::Count(hist) => s.value + obs[hist][11] as f64,
                Kind::Sum(hist) => s.value + sums[hist],
                Kind::Constant => s.value,
                Kind::Small => rng.below(10) as f64,
                Kind::Drift => s.value + (rng.below(3) as f64 - 1.0) * 4096.0,
            };
            store
                .append(&s.labels, t, s.value)
                .expect("the workload appends in time order");
        }
        t += interval_ms;
    }
    store
}
