//! Heatmap panels (`kind = "heatmap"`) of a classic histogram: the query returns one
//! series per bucket (`sum by (le) (rate(x_bucket[$__rate_interval]))`, cumulative as
//! Prometheus keeps them). When data arrives it is reduced here, once, to a grid of
//! cells (time columns × bucket rows, shaded by the count in the bucket) and the p50, p95
//! and p99 rows of every column; drawing only reads the grid.

use promdash_queries::model::RangeSeries;
use promdash_queries::source::RangeWindow;

/// The quantiles drawn over the heatmap.
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// A heatmap ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapView {
    pub cols: usize,
    pub rows: usize,
    /// Row-major from the top row: the (non-cumulative) rate in the buckets of that row.
    pub cells: Vec<f32>,
    /// Largest cell, for shading.
    pub max: f32,
    /// Upper bound of the highest bucket of each row, from the top row (`+Inf` at the top).
    pub row_bounds: Vec<f64>,
    /// Per quantile, per column: the row (from the top) the quantile falls in.
    pub quantile_rows: [Vec<Option<u16>>; 3],
    /// Per quantile: its value in the last column that has one.
    pub last_quantiles: [Option<f64>; 3],
    /// Number of buckets found.
    pub buckets: usize,
}

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => s.parse().ok(),
    }
}

/// `histogram_quantile` over one column's cumulative counts (bounds ascending, the last
/// one `+Inf`). Returns the value and the position in buckets (index + fraction).
pub fn quantile(q: f64, bounds: &[f64], cum: &[f64]) -> Option<(f64, f64)> {
    let n = bounds.len();
    if n < 2 || cum.len() != n || !bounds[n - 1].is_infinite() {
        return None;
    }
    let total = cum[n - 1];
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let b = cum.iter().position(|&c| c >= rank)?;
    if b == n - 1 {
        // In the +Inf bucket: the highest finite bound, as Prometheus answers.
        return Some((bounds[n - 2], (n - 1) as f64));
    }
    let (start, below) = if b == 0 {
        (0.0_f64.min(bounds[0]), 0.0)
    } else {
        (bounds[b - 1], cum[b - 1])
    };
    let in_bucket = cum[b] - below;
    let frac = if in_bucket > 0.0 {
        ((rank - below) / in_bucket).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Some((start + (bounds[b] - start) * frac, b as f64 + frac))
}

/// Builds the grid for a plot `cols` cells wide and `rows` high from a range answer.
pub fn build(series: &[RangeSeries], window: RangeWindow, cols: usize, rows: usize) -> HeatmapView {
    // Buckets by upper bound.
    let mut buckets: Vec<(f64, &RangeSeries)> = series
        .iter()
        .filter_map(|s| s.labels.get("le").and_then(parse_le).map(|b| (b, s)))
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets.dedup_by(|a, b| a.0 == b.0);
    let nb = buckets.len();
    let rows = rows.max(1);
    let mut view = HeatmapView {
        cols,
        rows,
        cells: vec![0.0; cols * rows],
        max: 0.0,
        row_bounds: Vec::with_capacity(rows),
        quantile_rows: [vec![None; cols], vec![None; cols], vec![None; cols]],
        last_quantiles: [None; 3],
        buckets: nb,
    };
    if nb == 0 || cols == 0 {
        return view;
    }
    // Cumulative value per bucket per column: the last sample falling in the column.
    let span = (window.end - window.start).max(f64::EPSILON);
    let mut cum = vec![f64::NAN; nb * cols];
    for (b, (_, s)) in buckets.iter().enumerate() {
        for smp in &s.samples {
            if !smp.v.is_finite() {
                continue;
            }
            let c = (((smp.t - window.start) / span) * cols as f64).floor();
            if c < 0.0 || c >= cols as f64 + 1.0 {
                continue;
            }
            let c = (c as usize).min(cols - 1);
            cum[b * cols + c] = smp.v;
        }
    }
    let bounds: Vec<f64> = buckets.iter().map(|(b, _)| *b).collect();
    // Rows from the top. With fewer buckets than rows each bucket spans several rows;
    // with more, a row adds up several buckets.
    let bucket_of_row = |r: usize| -> usize { (rows - 1 - r) * nb / rows };
    let rows_of_bucket = |b: usize| -> (usize, usize) {
        // Rows (from the bottom) whose bucket is b: ceil(b*rows/nb) .. ceil((b+1)*rows/nb).
        let lo = (b * rows).div_ceil(nb);
        let hi = ((b + 1) * rows).div_ceil(nb).max(lo + 1).min(rows);
        (lo.min(rows - 1), hi)
    };
    for r in 0..rows {
        let b = if nb >= rows {
            // The highest bucket added into row r.
            (0..nb)
                .rev()
                .find(|&b| rows - 1 - (b * rows / nb).min(rows - 1) == r)
        } else {
            Some(bucket_of_row(r))
        };
        view.row_bounds.push(b.map_or(f64::NAN, |b| bounds[b]));
    }
    let mut column = vec![0.0; nb];
    for c in 0..cols {
        let mut have = true;
        for b in 0..nb {
            let v = cum[b * cols + c];
            if v.is_nan() {
                have = false;
                break;
            }
            column[b] = v;
        }
        if !have {
            continue;
        }
        for b in 0..nb {
            let below = if b == 0 { 0.0 } else { column[b - 1] };
            let count = (column[b] - below).max(0.0) as f32;
            if nb >= rows {
                let r = rows - 1 - (b * rows / nb).min(rows - 1);
                let cell = &mut view.cells[r * cols + c];
                *cell += count;
                view.max = view.max.max(*cell);
            } else {
                let (lo, hi) = rows_of_bucket(b);
                for from_bottom in lo..hi {
                    view.cells[(rows - 1 - from_bottom) * cols + c] = count;
                }
                view.max = view.max.max(count);
            }
        }
        for (k, q) in QUANTILES.iter().enumerate() {
            if let Some((value, pos)) = quantile(*q, &bounds, &column) {
                let b = (pos.floor() as usize).min(nb - 1);
                let frac = pos - b as f64;
                let from_bottom = if nb >= rows {
                    (b * rows / nb).min(rows - 1)
                } else {
                    let (lo, hi) = rows_of_bucket(b);
                    (lo + ((hi - lo) as f64 * frac) as usize).min(hi - 1)
                };
                view.quantile_rows[k][c] = Some((rows - 1 - from_bottom) as u16);
                view.last_quantiles[k] = Some(value);
            }
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use promdash_queries::model::{Labels, Sample};
    use std::time::Duration;

    #[test]
    fn quantile_interpolates_like_prometheus() {
        let bounds = [0.1, 0.5, 1.0, f64::INFINITY];
        let cum = [50.0, 90.0, 99.0, 100.0];
        let (v, pos) = quantile(0.5, &bounds, &cum).expect("value");
        assert!((v - 0.1).abs() < 1e-12 && (pos - 1.0).abs() < 1e-12);
        let (v, _) = quantile(0.7, &bounds, &cum).expect("value");
        assert!((v - 0.3).abs() < 1e-12, "{v}");
        // Past the last finite bucket: its bound.
        let (v, _) = quantile(0.999, &bounds, &cum).expect("value");
        assert_eq!(v, 1.0);
        assert_eq!(quantile(0.5, &bounds, &[0.0; 4]), None, "no traffic");
    }

    #[test]
    fn grid_counts_per_bucket_not_cumulative() {
        let w = RangeWindow {
            start: 0.0,
            end: 40.0,
            step: Duration::from_secs(10),
        };
        let bucket = |le: &str, v: f64| RangeSeries {
            labels: [("le".to_owned(), le.to_owned())]
                .into_iter()
                .collect::<Labels>(),
            samples: (0..4)
                .map(|i| Sample {
                    t: f64::from(i) * 10.0,
                    v,
                })
                .collect(),
        };
        let s = vec![bucket("+Inf", 10.0), bucket("0.1", 6.0), bucket("1", 9.0)];
        let v = build(&s, w, 4, 3);
        assert_eq!(v.buckets, 3);
        // Top row +Inf (1), middle 1 (3), bottom 0.1 (6).
        assert_eq!(&v.cells[0..4], &[1.0; 4]);
        assert_eq!(&v.cells[4..8], &[3.0; 4]);
        assert_eq!(&v.cells[8..12], &[6.0; 4]);
        assert_eq!(v.max, 6.0);
        assert_eq!(v.row_bounds[0], f64::INFINITY);
        assert_eq!(v.quantile_rows[0][0], Some(2), "p50 in the lowest bucket");
        assert_eq!(v.quantile_rows[2][0], Some(0), "p99 in +Inf");
        assert_eq!(v.last_quantiles[2], Some(1.0));
    }
}
