//! Selectors, lookback, staleness and subqueries, after Prometheus's `promql/engine.go`
//! (`vectorSelectorSingle`, `matrixIterSlice`, the `SubqueryExpr` case of `eval`, and
//! `getTimeRangesForSelector` for what to read).

use std::collections::HashMap;

use super::steps::Grid;
use super::{
    At, Compat, DEFAULT_SUBQUERY_STEP_MS, EvalError, Evaluator, Fetched, Node, Selector, Val,
};
use crate::chunk::XorChunk;
use crate::value::{Labels, Point, Sample, Series, is_stale_marker};

/// At most this many inner evaluations per subquery window, against runaway queries such
/// as `x[1y:1s]` (Prometheus bounds them by its 50 million samples limit).
const MAX_SUBQUERY_STEPS: i64 = 1_000_000;

impl Evaluator<'_> {
    /// Walks the tree once before evaluation: for each selector, the time range the
    /// whole query reads, then reads it. `lo..=hi` are the times `node` is evaluated at;
    /// `grid`, when those times are exactly a grid's (a range query's steps, outside any
    /// subquery), lets instant selectors read only the samples they answer with.
    pub(super) fn plan(&mut self, node: &Node, lo: i64, hi: i64, grid: Option<&Grid>) {
        match node {
            Node::Number(_) | Node::Str(_) => {}
            Node::Selector(sel) => match grid {
                Some(g) => self.plan_instant_selector(sel, g),
                None => self.plan_selector(sel, lo, hi, self.lookback),
            },
            Node::Matrix { sel, range } => self.plan_selector(sel, lo, hi, *range),
            Node::Subquery {
                expr,
                range,
                offset,
                at,
                ..
            } => {
                let (lo, hi) = self.reference_range(*at, lo, hi, *offset);
                self.plan(expr, lo.saturating_sub(*range), hi, None);
            }
            Node::Neg(e) => self.plan(e, lo, hi, grid),
            Node::Binary { lhs, rhs, .. } => {
                self.plan(lhs, lo, hi, grid);
                self.plan(rhs, lo, hi, grid);
            }
            Node::Aggregate { expr, param, .. } => {
                if let Some(p) = param {
                    self.plan(p, lo, hi, grid);
                }
                self.plan(expr, lo, hi, grid);
            }
            Node::Call { args, .. } => {
                for a in args {
                    self.plan(a, lo, hi, grid);
                }
            }
        }
    }

    /// The times a selector or subquery with `at` and `offset` looks at, for evaluation
    /// times `lo..=hi`.
    fn reference_range(&self, at: Option<At>, lo: i64, hi: i64, offset: i64) -> (i64, i64) {
        let (lo, hi) = match at {
            Some(a) => {
                let t = self.at_time(a);
                (t, t)
            }
            None => (lo, hi),
        };
        (lo.saturating_sub(offset), hi.saturating_sub(offset))
    }

    fn set_data(&mut self, sel: &Selector, bounds: (i64, i64), fetched: Vec<Fetched>) {
        if self.data.len() <= sel.id {
            self.data.resize_with(sel.id + 1, || None);
            self.bounds.resize(sel.id + 1, None);
        }
        self.bounds[sel.id] = Some(bounds);
        self.data[sel.id] = Some(fetched);
    }

    fn plan_selector(&mut self, sel: &Selector, lo: i64, hi: i64, window: i64) {
        let (lo, hi) = self.reference_range(sel.at, lo, hi, sel.offset);
        let (mint, maxt) = (lo.saturating_sub(window), hi);
        let mut fetched = Vec::new();
        for id in self.store.select(&sel.matchers) {
            let mut points = Vec::new();
            self.store.samples(id, mint, maxt, &mut points);
            if points.is_empty() {
                continue;
            }
            if let Some(labels) = self.store.labels(id) {
                let has_stale = points.iter().any(|p| is_stale_marker(p.v));
                fetched.push(Fetched {
                    labels: labels.clone(),
                    points,
                    has_stale,
                });
            }
        }
        self.set_data(sel, (mint, maxt), fetched);
    }

    /// An instant selector evaluated at the times of `grid` only: per series, for each
    /// step the newest sample at or before its reference time and inside the lookback
    /// window, each sample once. [`Evaluator::lookup`] finds the same sample among these as
    /// among all the samples of the range, and the series' other samples are never copied
    /// out of their chunks (nor decoded, for chunks no step can answer from).
    fn plan_instant_selector(&mut self, sel: &Selector, grid: &Grid) {
        let times: Vec<i64> = (0..grid.len())
            .map(|i| self.reference_time(sel.at, sel.offset, grid.time(i)))
            .collect();
        let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
            return self.set_data(sel, (0, -1), Vec::new());
        };
        let mint = first.saturating_sub(self.lookback);
        let mut fetched = Vec::new();
        for id in self.store.select(&sel.matchers) {
            let Some((chunks, head)) = self.store.series_samples(id) else {
                continue;
            };
            let mut points = Vec::new();
            newest_at(chunks, head, mint, &times, &mut points);
            if points.is_empty() {
                continue;
            }
            if let Some(labels) = self.store.labels(id) {
                let has_stale = points.iter().any(|p| is_stale_marker(p.v));
                fetched.push(Fetched {
                    labels: labels.clone(),
                    points,
                    has_stale,
                });
            }
        }
        self.set_data(sel, (mint, last), fetched);
    }

    /// The time a selector reads at for evaluation time `t`: `@` and `offset` applied.
    pub(super) fn reference_time(&self, at: Option<At>, offset: i64, t: i64) -> i64 {
        at.map_or(t, |a| self.at_time(a)).saturating_sub(offset)
    }

    /// For each series of the selector with a sample in the lookback window before `t`
    /// (`(t-lookback, t]` in 3.x, `[t-lookback, t]` in 2.x) that is not the stale
    /// marker: its index and that sample.
    pub(super) fn lookup(&self, sel: &Selector, t: i64) -> Vec<(usize, Point)> {
        let reft = self.reference_time(sel.at, sel.offset, t);
        let Some(Some(data)) = self.data.get(sel.id) else {
            return Vec::new();
        };
        let oldest = reft.saturating_sub(self.lookback);
        let mut out = Vec::new();
        for (i, f) in data.iter().enumerate() {
            let n = f.points.partition_point(|p| p.t <= reft);
            if n == 0 {
                continue;
            }
            let p = f.points[n - 1];
            if self.visible(p, oldest) {
                out.push((i, p));
            }
        }
        out
    }

    /// Whether `p`, the newest sample at or before a reference time, answers an instant
    /// selector whose lookback window starts after (3.x) or at (2.x) `oldest`: not too old
    /// and not the stale marker.
    pub(super) fn visible(&self, p: Point, oldest: i64) -> bool {
        let too_old = match self.compat {
            Compat::V2 => p.t < oldest,
            Compat::V3 => p.t <= oldest,
        };
        !too_old && !is_stale_marker(p.v)
    }

    /// An instant vector selector at `t`: one sample per series, stamped `t`, or with
    /// `own_times` its own timestamp (for `timestamp()`).
    pub(super) fn vector_selector(&self, sel: &Selector, t: i64, own_times: bool) -> Vec<Sample> {
        let found = self.lookup(sel, t);
        let Some(Some(data)) = self.data.get(sel.id) else {
            return Vec::new();
        };
        found
            .into_iter()
            .map(|(i, p)| Sample {
                labels: data[i].labels.clone(),
                t: if own_times { p.t } else { t },
                v: p.v,
            })
            .collect()
    }

    /// The index range of `points` inside the window ending at `end` of length `range`:
    /// `(end-range, end]` in 3.x, `[end-range, end]` in 2.x.
    pub(super) fn window(&self, points: &[Point], end: i64, range: i64) -> std::ops::Range<usize> {
        let start = end.saturating_sub(range);
        let from = points.partition_point(|p| self.before_window(p.t, start));
        let to = points.partition_point(|p| p.t <= end);
        from..to.max(from)
    }

    /// Whether a sample at `t` lies before a range window starting at `start`: the window
    /// is `(start, end]` in 3.x and `[start, end]` in 2.x.
    pub(super) fn before_window(&self, t: i64, start: i64) -> bool {
        match self.compat {
            Compat::V2 => t < start,
            Compat::V3 => t <= start,
        }
    }

    /// A range vector selector at `t`: each series' samples in the window, stale markers
    /// left out; series with none are left out.
    pub(super) fn matrix_selector(&self, sel: &Selector, range: i64, t: i64) -> Vec<Series> {
        let end = self.reference_time(sel.at, sel.offset, t);
        let Some(Some(data)) = self.data.get(sel.id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for f in data {
            let w = self.window(&f.points, end, range);
            let points: Vec<Point> = f.points[w]
                .iter()
                .copied()
                .filter(|p| !is_stale_marker(p.v))
                .collect();
            if !points.is_empty() {
                out.push(Series {
                    labels: f.labels.clone(),
                    points,
                });
            }
        }
        out
    }

    /// A subquery at `t`: the inner expression evaluated at every multiple of the step
    /// inside the window, as a range vector. Inner evaluations are shared between steps.
    pub(super) fn subquery(&mut self, node: &Node, t: i64) -> Result<Vec<Series>, EvalError> {
        let Node::Subquery {
            expr,
            range,
            step,
            offset,
            at,
        } = node
        else {
            return Ok(Vec::new());
        };
        let end = self.reference_time(*at, *offset, t);
        let start = end.saturating_sub(*range);
        let step = step.unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
        let steps = (end.saturating_sub(start) / step).saturating_add(1);
        if steps > MAX_SUBQUERY_STEPS {
            return Err(EvalError::Execution(format!(
                "the subquery would evaluate its expression {steps} times at each step (more than {MAX_SUBQUERY_STEPS}); use a larger subquery step"
            )));
        }
        // The first multiple of the step inside the window (Go's truncating division).
        let mut ti = step * (start / step);
        match self.compat {
            Compat::V2 => {
                if ti < start {
                    ti += step;
                }
            }
            Compat::V3 => {
                if ti <= start {
                    ti += step;
                }
            }
        }
        let key = node as *const Node as usize;
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<Series> = Vec::new();
        while ti <= end {
            let val = match self.subquery_cache.get(&(key, ti)) {
                Some(v) => v.clone(),
                None => {
                    let v = self.eval(expr, ti)?;
                    self.subquery_cache.insert((key, ti), v.clone());
                    v
                }
            };
            let mut push = |labels: &Labels, v: f64| {
                let i = *index.entry(labels.clone()).or_insert_with(|| {
                    out.push(Series {
                        labels: labels.clone(),
                        points: Vec::new(),
                    });
                    out.len() - 1
                });
                out[i].points.push(Point { t: ti, v });
            };
            match val {
                Val::Scalar(v) => push(&Labels::new(), v),
                Val::Vector(samples) => {
                    for s in &samples {
                        push(&s.labels, s.v);
                    }
                }
                other => {
                    return Err(EvalError::Execution(format!(
                        "a subquery needs a scalar or instant vector inside, got a {}",
                        other.kind()
                    )));
                }
            }
            match ti.checked_add(step) {
                Some(next) => ti = next,
                None => break,
            }
        }
        Ok(out)
    }
}

/// Appends to `out`, for each of `times` (ascending), the newest sample of a series
/// (`chunks` then `head`, in time order) at or before it and not before `mint`, each
/// sample once, in time order. A chunk is decoded only when one of the times falls
/// between its first sample and the next chunk's (or the head's) first sample, and only
/// up to the first sample after the last such time.
pub(super) fn newest_at(
    chunks: &[XorChunk],
    head: &[Point],
    mint: i64,
    times: &[i64],
    out: &mut Vec<Point>,
) {
    // Times before `mint` have no sample to answer with.
    let mut i = times.partition_point(|&t| t < mint);
    let mut prev: Option<Point> = None;
    // The newest sample read so far answers every time before the next sample.
    let serve = |i: &mut usize, until: i64, prev: Option<Point>, out: &mut Vec<Point>| {
        while *i < times.len() && times[*i] < until {
            if let Some(p) = prev
                && out.last().is_none_or(|l| l.t != p.t)
            {
                out.push(p);
            }
            *i += 1;
        }
    };
    let first = chunks.partition_point(|c| c.max_t() < mint);
    for (k, c) in chunks.iter().enumerate().skip(first) {
        serve(&mut i, c.min_t(), prev, out);
        if i == times.len() {
            return;
        }
        let next_min = chunks
            .get(k + 1)
            .map(XorChunk::min_t)
            .or_else(|| head.first().map(|p| p.t))
            .unwrap_or(i64::MAX);
        if times[i] >= next_min {
            // Every time left is answered from a later sample.
            continue;
        }
        for p in c.iter() {
            if p.t < mint {
                continue;
            }
            serve(&mut i, p.t, prev, out);
            if i == times.len() {
                return;
            }
            prev = Some(p);
            if times[i] >= next_min {
                // The rest of the chunk answers no time (as above).
                break;
            }
        }
    }
    let from = head.partition_point(|p| p.t < mint);
    for &p in &head[from..] {
        serve(&mut i, p.t, prev, out);
        if i == times.len() {
            return;
        }
        prev = Some(p);
    }
    if let Some(p) = prev
        && i < times.len()
        && out.last().is_none_or(|l| l.t != p.t)
    {
        out.push(p);
    }
}
