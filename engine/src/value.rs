//! What the evaluator answers, and the stale marker.

pub use promdash_queries::model::Labels;

/// Prometheus's stale marker: a NaN with exactly these bits. Recognised by bits only;
/// any other NaN is an ordinary value.
pub const STALE_MARKER_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker as an `f64`.
pub fn stale_marker() -> f64 {
    f64::from_bits(STALE_MARKER_BITS)
}

/// Whether `v` is the stale marker (by bits, never by `is_nan`).
pub fn is_stale_marker(v: f64) -> bool {
    v.to_bits() == STALE_MARKER_BITS
}

/// One sample of a series: a timestamp in milliseconds since the Unix epoch and a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// One series of a range matrix, points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(Point),
    String { t: i64, value: String },
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

/// Prometheus's `almost.Equal`: NaN equals NaN; otherwise equal, or a relative difference
/// below `epsilon` (an absolute one near zero).
pub fn almost_equal_within(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}
