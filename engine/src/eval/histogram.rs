//! `histogram_quantile` on classic (`le`) buckets, after Prometheus's
//! `promql/quantile.go` (`bucketQuantile`, `coalesceBuckets`, and `ensureMonotonic` in
//! 2.42 / `ensureMonotonicAndIgnoreSmallDeltas` in 3.x) and `funcHistogramQuantile`.

use std::collections::HashMap;

use super::{Annotations, Compat};
use crate::value::{Labels, Sample, almost_equal_within};

/// 3.x treats bucket counts this close (relatively) as equal.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// Go's `strconv.ParseFloat` for an `le` value (what Rust parses, plus Go's `Inf`
/// spellings and an optional `+`).
fn parse_le(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    s.parse::<f64>().ok()
}

/// `bucketQuantile`: the φ-quantile from cumulative buckets.
///
/// NaN for a NaN φ, ±Inf for φ outside [0, 1], NaN without a `+Inf` bucket, with fewer
/// than two buckets or with no observations. Buckets with the same bound are added up;
/// counts that go down are raised to the count before them (3.x also levels counts that
/// differ by a relative 1e-12).
#[cfg(test)]
fn bucket_quantile(q: f64, buckets: &mut [Bucket], compat: Compat) -> f64 {
    bucket_quantile_fixed(q, buckets, compat).0
}

/// [`bucket_quantile`], and whether a bucket's count had to be raised to make the counts
/// monotonic (3.x reports that as an info annotation; levelled tiny deltas do not count).
pub(crate) fn bucket_quantile_fixed(q: f64, buckets: &mut [Bucket], compat: Compat) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets.last().is_none_or(|b| b.upper != f64::INFINITY) {
        return (f64::NAN, false);
    }
    // coalesceBuckets
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    let mut buckets = merged;
    let mut forced = false;
    match compat {
        Compat::V2 => {
            let mut max = buckets[0].count;
            for b in buckets.iter_mut().skip(1) {
                if b.count > max {
                    max = b.count;
                } else if b.count < max {
                    b.count = max;
                    forced = true;
                }
            }
        }
        Compat::V3 => {
            let mut prev = buckets[0].count;
            for b in buckets.iter_mut().skip(1) {
                let curr = b.count;
                if curr == prev {
                    continue;
                }
                if almost_equal_within(prev, curr, SMALL_DELTA_TOLERANCE) {
                    b.count = prev;
                    continue;
                }
                if curr < prev {
                    b.count = prev;
                    forced = true;
                    continue;
                }
                prev = curr;
            }
        }
    }
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    // sort.Search over all but the last bucket.
    let n = buckets.len() - 1;
    let b = buckets[..n].partition_point(|x| x.count < rank);
    if b == n {
        return (buckets[n - 1].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// The upper bound of the bucket a series counts: its `le` label, parsed.
pub(crate) fn bucket_bound(labels: &Labels) -> Option<f64> {
    labels.get("le").and_then(parse_le)
}

/// The histogram a bucket series belongs to: its labels without `le`.
pub(crate) fn histogram_key(labels: &Labels) -> Labels {
    labels.iter().filter(|(n, _)| *n != "le").collect()
}

/// The labels of a histogram's quantile: its key without `__name__`.
pub(crate) fn histogram_output_labels(key: &Labels) -> Labels {
    key.iter().filter(|(n, _)| *n != "__name__").collect()
}

/// `funcHistogramQuantile` for float samples: the buckets grouped by their labels without
/// `le` (`__name__` included, so two histograms never mix); samples without a parsable
/// `le` are skipped (with a warning); the result has neither `le` nor `__name__`.
pub(crate) fn histogram_quantile(
    q: f64,
    v: Vec<Sample>,
    t: i64,
    compat: Compat,
    notes: &mut Annotations,
) -> Vec<Sample> {
    notes.check_quantile(q);
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();
    for s in v {
        let Some(upper) = bucket_bound(&s.labels) else {
            notes.bad_bucket_label(&s.labels);
            continue;
        };
        let key = histogram_key(&s.labels);
        let i = match index.get(&key) {
            Some(&i) => i,
            None => {
                let out = histogram_output_labels(&key);
                names.push(key.get("__name__").map(str::to_owned));
                index.insert(key, groups.len());
                groups.push((out, Vec::new()));
                groups.len() - 1
            }
        };
        groups[i].1.push(Bucket { upper, count: s.v });
    }
    groups
        .into_iter()
        .zip(names)
        .map(|((labels, mut buckets), name)| {
            let (v, forced) = bucket_quantile_fixed(q, &mut buckets, compat);
            if forced {
                notes.forced_monotonicity(name.as_deref());
            }
            Sample { labels, t, v }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn interpolates_inside_the_bucket() {
        for c in [Compat::V2, Compat::V3] {
            let mut bs = b(&[(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (INF, 40.0)]);
            // rank 20 lies in (0.1, 0.5]: 0.1 + 0.4 * (10/20).
            assert!((bucket_quantile(0.5, &mut bs, c) - 0.3).abs() < 1e-12);
        }
    }

    #[test]
    fn edge_cases() {
        let c = Compat::V2;
        let base = b(&[(1.0, 1.0), (2.0, 2.0), (INF, 3.0)]);
        assert_eq!(
            bucket_quantile(-0.5, &mut base.clone(), c),
            f64::NEG_INFINITY
        );
        assert_eq!(bucket_quantile(1.5, &mut base.clone(), c), INF);
        assert!(bucket_quantile(f64::NAN, &mut base.clone(), c).is_nan());
        // No +Inf bucket.
        assert!(bucket_quantile(0.5, &mut b(&[(1.0, 1.0), (2.0, 2.0)]), c).is_nan());
        // Only the +Inf bucket.
        assert!(bucket_quantile(0.5, &mut b(&[(INF, 3.0)]), c).is_nan());
        // No observations.
        assert!(bucket_quantile(0.5, &mut b(&[(1.0, 0.0), (INF, 0.0)]), c).is_nan());
        // In the +Inf bucket: the highest finite bound.
        assert_eq!(
            bucket_quantile(0.99, &mut b(&[(1.0, 1.0), (2.0, 1.0), (INF, 10.0)]), c),
            2.0
        );
        // The first bucket with a bound <= 0 answers its bound.
        assert_eq!(
            bucket_quantile(0.1, &mut b(&[(-1.0, 5.0), (INF, 10.0)]), c),
            -1.0
        );
        // The first bucket with a positive bound interpolates from 0.
        assert_eq!(
            bucket_quantile(0.25, &mut b(&[(4.0, 5.0), (INF, 10.0)]), c),
            2.0
        );
        // Unsorted input and duplicate bounds.
        assert_eq!(
            bucket_quantile(
                0.5,
                &mut b(&[(INF, 4.0), (2.0, 1.0), (2.0, 1.0), (4.0, 4.0)]),
                c
            ),
            2.0
        );
    }

    #[test]
    fn non_monotonic_buckets_are_levelled() {
        for c in [Compat::V2, Compat::V3] {
            // 3 at le=2 then 2 at le=3: treated as 3.
            let mut bs = b(&[(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (INF, 4.0)]);
            // rank 3.6 is in (3, +Inf]: the highest finite bound.
            assert_eq!(bucket_quantile(0.9, &mut bs, c), 3.0);
            let mut bs = b(&[(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (INF, 4.0)]);
            // rank 2 is in (1, 2]: 1 + 1 * (1/2).
            assert_eq!(bucket_quantile(0.5, &mut bs, c), 1.5);
        }
    }

    #[test]
    fn tiny_deltas_are_ignored_in_v3_only() {
        let counts = [(1.0, 1.0), (2.0, 1.0 + 1e-15), (INF, 1.0 + 1e-15)];
        // V2 sees one observation's worth of growth in (1, 2].
        let v2 = bucket_quantile(1.0, &mut b(&counts), Compat::V2);
        let v3 = bucket_quantile(1.0, &mut b(&counts), Compat::V3);
        assert_eq!(v2, 2.0);
        assert_eq!(v3, 1.0);
    }

    #[test]
    fn le_parses_like_go() {
        assert_eq!(parse_le("+Inf"), Some(INF));
        assert_eq!(parse_le("Inf"), Some(INF));
        assert_eq!(parse_le("0.005"), Some(0.005));
        assert_eq!(parse_le("1e3"), Some(1000.0));
        assert_eq!(parse_le("x"), None);
    }
}
