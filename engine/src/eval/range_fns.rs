//! Functions over range vectors, after Prometheus's `promql/functions.go`
//! (`extrapolatedRate` in its 2.42 and 3.x forms, `instantValue`, `linearRegression`,
//! `funcResets`, `funcChanges`, the `*_over_time` family).

use super::functions::{Func, quantile};
use super::{
    Compat, EvalError, Evaluator, Node, Val, check_duplicates, drop_name, kahan_inc, one_name,
};
use crate::value::{Labels, Point, Sample, is_stale_marker};

impl Evaluator<'_> {
    /// The window a range argument covers at evaluation time `t`: its end (offset and `@`
    /// applied) and its length.
    pub(super) fn range_of(&self, node: &Node, t: i64) -> (i64, i64) {
        match node {
            Node::Matrix { sel, range } => (self.reference_time(sel.at, sel.offset, t), *range),
            Node::Subquery {
                range, offset, at, ..
            } => (self.reference_time(*at, *offset, t), *range),
            _ => (t, 0),
        }
    }

    /// A function with a range-vector argument at `t`: one output sample per input series
    /// (when the function gives one), `__name__` dropped except by `last_over_time`.
    pub(super) fn range_function(
        &mut self,
        func: Func,
        args: &[Node],
        t: i64,
    ) -> Result<Val, EvalError> {
        let (matrix_arg, scalar_arg) = range_args(func, args);
        let scalar = match scalar_arg {
            Some(a) => self.eval_scalar(a, t)?,
            None => 0.0,
        };
        let (end, range) = self.range_of(matrix_arg, t);
        let mut out = Vec::new();
        let mut any = false;
        // Whether the inputs (distinct series) share one `__name__`: then the outputs are
        // distinct without checking.
        let mut same_name = func == Func::LastOverTime;
        if let Node::Matrix { sel, .. } = matrix_arg {
            // Straight from the selector's data: no copy of the window unless it holds a
            // stale marker to leave out.
            let mut scratch = Vec::new();
            if let Some(Some(data)) = self.data.get(sel.id) {
                same_name = same_name || one_name(data.iter().map(|f| &f.labels));
                for f in data {
                    let w = self.window(&f.points, end, range);
                    let mut pts = &f.points[w];
                    if f.has_stale {
                        scratch.clear();
                        scratch.extend(pts.iter().copied().filter(|p| !is_stale_marker(p.v)));
                        pts = &scratch;
                    }
                    if pts.is_empty() {
                        continue;
                    }
                    any = true;
                    if func == Func::QuantileOverTime {
                        self.notes.check_quantile(scalar);
                    }
                    if let Some(v) = self.over_window(func, pts, end, range, scalar, t)? {
                        if matches!(func, Func::Rate | Func::Increase) {
                            self.notes.possible_non_counter(&f.labels);
                        }
                        out.push(self.range_output(func, &f.labels, v, t));
                    }
                }
            }
        } else {
            let matrix = self.eval_matrix(matrix_arg, t)?;
            same_name = same_name || one_name(matrix.iter().map(|s| &s.labels));
            for s in matrix {
                any = true;
                if func == Func::QuantileOverTime {
                    self.notes.check_quantile(scalar);
                }
                if let Some(v) = self.over_window(func, &s.points, end, range, scalar, t)? {
                    out.push(self.range_output(func, &s.labels, v, t));
                }
            }
        }
        if func == Func::AbsentOverTime {
            return Ok(Val::Vector(if any {
                Vec::new()
            } else {
                vec![Sample {
                    labels: super::functions::absent_labels(matrix_arg),
                    t,
                    v: 1.0,
                }]
            }));
        }
        if !same_name {
            check_duplicates(&out)?;
        }
        Ok(Val::Vector(out))
    }

    /// One output sample.
    fn range_output(&self, func: Func, labels: &Labels, v: f64, t: i64) -> Sample {
        Sample {
            labels: self.range_output_labels(func, labels),
            t,
            v,
        }
    }

    /// The labels of a function's output for an input series: `__name__` dropped except
    /// by `last_over_time`.
    pub(super) fn range_output_labels(&self, func: Func, labels: &Labels) -> Labels {
        let mut labels = labels.clone();
        if func != Func::LastOverTime {
            drop_name(&mut labels);
        }
        labels
    }

    /// The function over one series' samples in the window (never empty).
    pub(super) fn over_window(
        &self,
        func: Func,
        p: &[Point],
        end: i64,
        range: i64,
        scalar: f64,
        t: i64,
    ) -> Result<Option<f64>, EvalError> {
        Ok(match func {
            Func::Rate => {
                self.extrapolated_rate(p, end.saturating_sub(range), end, range, true, true)
            }
            Func::Increase => {
                self.extrapolated_rate(p, end.saturating_sub(range), end, range, true, false)
            }
            Func::Delta => {
                self.extrapolated_rate(p, end.saturating_sub(range), end, range, false, false)
            }
            Func::Irate => instant_value(p, true),
            Func::Idelta => instant_value(p, false),
            Func::Deriv => {
                if p.len() < 2 {
                    None
                } else {
                    Some(linear_regression(p, p[0].t).0)
                }
            }
            Func::PredictLinear => {
                if p.len() < 2 {
                    None
                } else {
                    let (slope, intercept) = linear_regression(p, t);
                    Some(slope * scalar + intercept)
                }
            }
            Func::Resets => Some(p.windows(2).filter(|w| w[1].v < w[0].v).count() as f64),
            Func::Changes => Some(
                p.windows(2)
                    .filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan()))
                    .count() as f64,
            ),
            Func::AvgOverTime => Some(match self.compat {
                Compat::V2 => avg_over_time_v2(p),
                Compat::V3 => avg_over_time_v3(p),
            }),
            Func::MinOverTime => Some(
                p.iter()
                    .fold(p[0].v, |m, x| if x.v < m || m.is_nan() { x.v } else { m }),
            ),
            Func::MaxOverTime => Some(
                p.iter()
                    .fold(p[0].v, |m, x| if x.v > m || m.is_nan() { x.v } else { m }),
            ),
            Func::SumOverTime => {
                let (mut sum, mut c) = (0.0, 0.0);
                for x in p {
                    (sum, c) = kahan_inc(x.v, sum, c);
                }
                Some(if sum.is_infinite() { sum } else { sum + c })
            }
            Func::CountOverTime => Some(p.len() as f64),
            Func::LastOverTime => p.last().map(|x| x.v),
            Func::PresentOverTime => Some(1.0),
            Func::AbsentOverTime => None,
            Func::QuantileOverTime => {
                let mut vals: Vec<f64> = p.iter().map(|x| x.v).collect();
                Some(quantile(scalar, &mut vals))
            }
            Func::StdvarOverTime => Some(stdvar_over_time(p)),
            Func::StddevOverTime => Some(stdvar_over_time(p).sqrt()),
            _ => {
                return Err(EvalError::Execution(format!(
                    "{} is not a function over a range vector",
                    func.name()
                )));
            }
        })
    }

    /// `extrapolatedRate`: `rate`, `increase` and `delta` over the window
    /// `[range_start, range_end]`, extrapolated towards its edges. 2.42 limits the start
    /// by the counter's zero point before checking the threshold; 3.x (since 2.51) checks
    /// the threshold first, then the zero point.
    fn extrapolated_rate(
        &self,
        p: &[Point],
        range_start: i64,
        range_end: i64,
        range: i64,
        is_counter: bool,
        is_rate: bool,
    ) -> Option<f64> {
        if p.len() < 2 {
            return None;
        }
        let first = p[0];
        let last = p[p.len() - 1];
        let mut result = last.v - first.v;
        if is_counter {
            let mut prev = first.v;
            for x in &p[1..] {
                if x.v < prev {
                    result += prev;
                }
                prev = x.v;
            }
        }
        self.extrapolate(
            p,
            result,
            (range_start, range_end, range),
            is_counter,
            is_rate,
        )
    }

    /// The rest of `extrapolatedRate`, once `result` (the last value less the first, plus
    /// for a counter the value before each reset, added in time order) is known.
    pub(super) fn extrapolate(
        &self,
        p: &[Point],
        result: f64,
        (range_start, range_end, range): (i64, i64, i64),
        is_counter: bool,
        is_rate: bool,
    ) -> Option<f64> {
        let first = p[0];
        let last = p[p.len() - 1];
        let mut duration_to_start = (first.t - range_start) as f64 / 1000.0;
        let mut duration_to_end = (range_end - last.t) as f64 / 1000.0;
        let sampled_interval = (last.t - first.t) as f64 / 1000.0;
        let average = sampled_interval / (p.len() - 1) as f64;
        let threshold = average * 1.1;
        let mut extrapolate_to = sampled_interval;
        match self.compat {
            Compat::V2 => {
                if is_counter && result > 0.0 && first.v >= 0.0 {
                    let duration_to_zero = sampled_interval * (first.v / result);
                    if duration_to_zero < duration_to_start {
                        duration_to_start = duration_to_zero;
                    }
                }
                extrapolate_to += if duration_to_start < threshold {
                    duration_to_start
                } else {
                    average / 2.0
                };
                extrapolate_to += if duration_to_end < threshold {
                    duration_to_end
                } else {
                    average / 2.0
                };
            }
            Compat::V3 => {
                if duration_to_start >= threshold {
                    duration_to_start = average / 2.0;
                }
                if is_counter && result > 0.0 && first.v >= 0.0 {
                    let duration_to_zero = sampled_interval * (first.v / result);
                    if duration_to_zero < duration_to_start {
                        duration_to_start = duration_to_zero;
                    }
                }
                extrapolate_to += duration_to_start;
                if duration_to_end >= threshold {
                    duration_to_end = average / 2.0;
                }
                extrapolate_to += duration_to_end;
            }
        }
        let mut factor = extrapolate_to / sampled_interval;
        if is_rate {
            factor /= range as f64 / 1000.0;
        }
        Some(result * factor)
    }
}

/// The range-vector argument of a function over a range vector, and its scalar argument
/// if it has one (`quantile_over_time`'s φ, `predict_linear`'s seconds).
pub(super) fn range_args(func: Func, args: &[Node]) -> (&Node, Option<&Node>) {
    match func {
        Func::QuantileOverTime => (&args[1], Some(&args[0])),
        Func::PredictLinear => (&args[0], Some(&args[1])),
        _ => (&args[0], None),
    }
}

/// `instantValue`: `irate` (`is_rate`) and `idelta` from the last two samples.
fn instant_value(p: &[Point], is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let last = p[p.len() - 1];
    let prev = p[p.len() - 2];
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// `linearRegression`: least squares with Kahan sums; x in seconds from `intercept_t`.
pub(crate) fn linear_regression(p: &[Point], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = p[0].v;
    let mut const_y = true;
    for (i, s) in p.iter().enumerate() {
        if const_y && i > 0 && s.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (s.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(s.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * s.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov_xy = sxy - sx * sy / n;
    let var_x = sx2 - sx * sx / n;
    let slope = cov_xy / var_x;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}

/// 2.42 `avg_over_time`: an incremental mean with Kahan compensation.
fn avg_over_time_v2(p: &[Point]) -> f64 {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0, 0.0);
    for x in p {
        count += 1.0;
        if mean.is_infinite() {
            if x.v.is_infinite() && (mean > 0.0) == (x.v > 0.0) {
                continue;
            }
            if !x.v.is_infinite() && !x.v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_inc(x.v / count - mean / count, mean, c);
    }
    if mean.is_infinite() { mean } else { mean + c }
}

/// 3.x `avg_over_time`: a Kahan sum divided at the end, or an incremental mean once the
/// sum overflows.
fn avg_over_time_v3(p: &[Point]) -> f64 {
    let (mut sum, mut count) = (p[0].v, 1.0f64);
    let (mut mean, mut c) = (0.0f64, 0.0f64);
    let mut incremental = false;
    for (i, x) in p[1..].iter().enumerate() {
        count = (i + 2) as f64;
        if !incremental {
            let (s, nc) = kahan_inc(x.v, sum, c);
            if !s.is_infinite() {
                sum = s;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(x.v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// `stdvar_over_time`: Welford's algorithm with Kahan sums.
fn stdvar_over_time(p: &[Point]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for x in p {
        count += 1.0;
        let delta = x.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (x.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}
