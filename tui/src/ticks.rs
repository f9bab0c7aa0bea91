//! "Nice" axis ticks: round steps of 1, 2, 2.5 or 5 times a power of ten.

/// An axis scale: `lo..=hi` with a tick every `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

impl Scale {
    /// Tick values from `lo` to `hi` inclusive.
    pub fn ticks(&self) -> impl Iterator<Item = f64> + '_ {
        let n = ((self.hi - self.lo) / self.step).round().max(0.0) as usize;
        // Count in whole steps and scale once, dividing by a power of ten when the step
        // is below one, so ticks read 0.3 and not 0.30000000000000004.
        let exp = self.step.log10().floor();
        let div = if exp < 0.0 { 10f64.powf(-exp) } else { 1.0 };
        let mant = (self.step * div * 1000.0).round() / 1000.0;
        let first = (self.lo / self.step).round();
        (0..=n).map(move |i| {
            let v = (first + i as f64) * mant / div;
            if v == 0.0 { 0.0 } else { v }
        })
    }
}

/// A round step near `raw` (1, 2, 2.5, 5 × 10^k).
fn nice_step(raw: f64) -> f64 {
    let exp = raw.log10().floor();
    let base = 10f64.powf(exp);
    let f = raw / base;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// A scale covering `min..=max` with at most `max_ticks` ticks (at least 2).
///
/// Non-negative data starts at zero, so rates and latencies are not exaggerated; a flat
/// series gets some room around it. Non-finite input gives `0..1`.
pub fn nice_scale(min: f64, max: f64, max_ticks: usize) -> Scale {
    let max_ticks = max_ticks.max(2);
    let (mut lo, mut hi) = if min.is_finite() && max.is_finite() && min <= max {
        (min, max)
    } else {
        (0.0, 1.0)
    };
    if lo >= 0.0 {
        lo = 0.0;
    }
    if hi <= 0.0 && lo < 0.0 && max <= 0.0 {
        hi = 0.0;
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        if hi == 0.0 {
            hi = 1.0;
        } else {
            let pad = hi.abs() * 0.5;
            lo -= pad;
            hi += pad;
            if min >= 0.0 {
                lo = lo.max(0.0);
            }
        }
    }
    // Data on both sides of zero needs a tick at zero as well.
    let max_ticks = if lo < 0.0 && hi > 0.0 {
        max_ticks.max(3)
    } else {
        max_ticks
    };
    let mut step = nice_step((hi - lo) / (max_ticks - 1) as f64);
    for _ in 0..64 {
        let l = (lo / step).floor() * step;
        let h = (hi / step).ceil() * step;
        if (((h - l) / step).round() as usize) < max_ticks {
            return Scale { lo: l, hi: h, step };
        }
        step = nice_step(step * 1.01);
    }
    Scale {
        lo,
        hi,
        step: hi - lo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_steps() {
        let s = nice_scale(0.0, 0.93, 5);
        assert_eq!((s.lo, s.hi, s.step), (0.0, 1.0, 0.25));
        let s = nice_scale(3.0, 47.0, 6);
        assert_eq!((s.lo, s.hi, s.step), (0.0, 50.0, 10.0));
        let t: Vec<f64> = nice_scale(0.0, 0.3, 4).ticks().collect();
        assert_eq!(t, vec![0.0, 0.1, 0.2, 0.3]);
    }

    #[test]
    fn negative_and_flat() {
        let s = nice_scale(-7.0, 3.0, 6);
        assert!(s.lo <= -7.0 && s.hi >= 3.0);
        let s = nice_scale(5.0, 5.0, 5);
        assert!(s.lo <= 5.0 && s.hi > 5.0);
        let s = nice_scale(0.0, 0.0, 5);
        assert_eq!((s.lo, s.hi), (0.0, 1.0));
        let s = nice_scale(f64::NAN, f64::NAN, 3);
        assert_eq!((s.lo, s.hi), (0.0, 1.0));
    }

    #[test]
    fn respects_max_ticks() {
        for max in [2usize, 3, 4, 5, 8] {
            for (a, b) in [(0.0, 1.0), (0.001, 0.0173), (12.0, 98765.0), (-3.0, 2.0)] {
                let s = nice_scale(a, b, max);
                let limit = if a < 0.0 { max.max(3) } else { max };
                assert!(s.ticks().count() <= limit, "{a}..{b} max {max}: {s:?}");
                assert!(s.lo <= a && s.hi >= b);
            }
        }
    }
}
