//! The step of a range query, from the time range and the chart width.
//!
//! A braille chart draws two points per terminal cell, so there is no use in fetching more
//! than `width × 2` points: `step = range / (width × 2)`, snapped up to a round duration
//! so that the axis reads well and consecutive refreshes hit the server's caches, never
//! below one second and never more than [`MAX_POINTS`] points (Prometheus refuses more).
//! `start` and `end` are aligned down to a multiple of the step.

use std::time::Duration;

pub use crate::source::RangeWindow;

/// Prometheus refuses range queries with more points per series than this.
pub const MAX_POINTS: u64 = 11_000;

/// Round steps in seconds, ascending.
const ROUND_STEPS: &[u64] = &[
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    2 * 60,
    5 * 60,
    10 * 60,
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    7 * 86_400,
    14 * 86_400,
    30 * 86_400,
    90 * 86_400,
    365 * 86_400,
];

/// The smallest round step of at least `secs` seconds (whole days beyond the table).
pub fn round_step(secs: f64) -> u64 {
    ROUND_STEPS
        .iter()
        .copied()
        .find(|&s| s as f64 >= secs)
        .unwrap_or_else(|| (secs / 86_400.0).ceil() as u64 * 86_400)
}

/// The window of a range query ending at `end` (Unix seconds) that shows `range` on a
/// chart `width_cells` wide. A width of 0 counts as 1.
pub fn range_step(range: Duration, width_cells: u16, end: f64) -> RangeWindow {
    let range_s = range.as_secs_f64().max(1.0);
    let points = f64::from(width_cells.max(1)) * 2.0;
    let mut step = round_step(range_s / points);
    // Never more than MAX_POINTS points: `range / step + 1` of them.
    while (range_s / step as f64).ceil() as u64 + 1 > MAX_POINTS {
        step = round_step(step as f64 + 1.0);
    }
    let step_f = step as f64;
    let end_aligned = (end / step_f).floor() * step_f;
    let intervals = (range_s / step_f).ceil();
    RangeWindow {
        start: end_aligned - intervals * step_f,
        end: end_aligned,
        step: Duration::from_secs(step),
    }
}

impl RangeWindow {
    /// Number of points per series this window asks for.
    pub fn points(&self) -> u64 {
        let step = self.step.as_secs_f64();
        if step <= 0.0 || self.end < self.start {
            return 0;
        }
        ((self.end - self.start) / step).floor() as u64 + 1
    }
}
