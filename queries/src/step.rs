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

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;
    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;

    /// (range s, width cells, end, expected step s, expected start, expected end)
    #[test]
    fn table() {
        let end = 1_700_000_123.456;
        let cases: &[(u64, u16, f64, u64, f64, f64)] = &[
            // 1h over 80 cells: 3600/160 = 22.5s → 30s; 120 intervals.
            (HOUR, 80, end, 30, 1_699_996_500.0, 1_700_000_100.0),
            // 30d over 200 cells: 2592000/400 = 6480s → 2h; 360 intervals.
            (
                30 * DAY,
                200,
                end,
                2 * HOUR,
                1_697_407_200.0,
                1_699_999_200.0,
            ),
            // 10s range: never below 1s.
            (10, 80, end, 1, 1_700_000_113.0, 1_700_000_123.0),
            // 15m over 100 cells: 4.5s → 5s.
            (15 * MIN, 100, end, 5, 1_699_999_220.0, 1_700_000_120.0),
            // 15m over 200 cells: 2.25s → 5s.
            (15 * MIN, 200, end, 5, 1_699_999_220.0, 1_700_000_120.0),
            // 6h over 120 cells: 90s → 2m.
            (
                6 * HOUR,
                120,
                end,
                2 * MIN,
                1_699_978_440.0,
                1_700_000_040.0,
            ),
            // exact round step: 1h over 60 cells = 30s.
            (HOUR, 60, 3600.0, 30, 0.0, 3600.0),
            // width 0 counts as 1 cell: 1h/2 = 1800s = 30m.
            (HOUR, 0, 7200.0, 30 * MIN, 3600.0, 7200.0),
            // 1 year over 80 cells: 197100s → 7d.
            (
                365 * DAY,
                80,
                0.0,
                7 * DAY,
                -371.0 * 7.0 * DAY as f64 + 0.0,
                0.0,
            ),
        ];
        for &(range, width, end, step, start, want_end) in cases {
            let w = range_step(Duration::from_secs(range), width, end);
            assert_eq!(
                w.step,
                Duration::from_secs(step),
                "range {range}s width {width}"
            );
            assert_eq!(w.end, want_end, "end, range {range}s width {width}");
            if range != 365 * DAY {
                assert_eq!(w.start, start, "start, range {range}s width {width}");
            }
            assert!(w.start <= w.end - range as f64, "window covers the range");
            assert!(w.points() <= MAX_POINTS);
        }
    }

    #[test]
    fn never_more_than_11000_points() {
        // 65535 cells × 2 points would ask for 131070 points of a 1-day range.
        let w = range_step(Duration::from_secs(DAY), u16::MAX, 0.0);
        assert!(w.points() <= MAX_POINTS, "{} points", w.points());
        assert_eq!(w.step, Duration::from_secs(10));
        // 30 days over a wide chart.
        let w = range_step(Duration::from_secs(30 * DAY), 10_000, 0.0);
        assert!(w.points() <= MAX_POINTS, "{} points", w.points());
    }

    #[test]
    fn aligned_to_step_so_refreshes_hit_caches() {
        for end in [100.0, 101.0, 129.999, 130.0, 1e9 + 0.5] {
            let w = range_step(Duration::from_secs(HOUR), 80, end);
            let step = w.step.as_secs_f64();
            assert_eq!(w.end % step, 0.0);
            assert_eq!(w.start % step, 0.0);
            assert!(w.end <= end && end - w.end < step);
        }
        let a = range_step(Duration::from_secs(HOUR), 80, 1020.0);
        let b = range_step(Duration::from_secs(HOUR), 80, 1049.9);
        assert_eq!(a, b, "same window within one step");
    }

    #[test]
    fn round_steps() {
        assert_eq!(round_step(0.0), 1);
        assert_eq!(round_step(0.3), 1);
        assert_eq!(round_step(1.0), 1);
        assert_eq!(round_step(1.01), 2);
        assert_eq!(round_step(11.0), 15);
        assert_eq!(round_step(61.0), 120);
        assert_eq!(round_step(4000.0), 2 * HOUR);
        assert_eq!(round_step(4.0 * HOUR as f64), 6 * HOUR);
        assert_eq!(round_step(400.0 * DAY as f64), 400 * DAY);
    }
}
