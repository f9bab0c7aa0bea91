//! Range queries evaluated series by series over all steps at once, as Prometheus's
//! `rangeEval` and the matrix-selector case of its `eval` do (`promql/engine.go`).
//!
//! Before a range query's step loop, the largest subtrees made of instant selectors,
//! functions over range vectors, aggregations and `histogram_quantile` are evaluated for
//! every step in one go ([`Table`]): each series' samples are walked once with cursors (the
//! range window slides along instead of being searched for at each step), a series' group
//! is worked out once instead of at every step, and no label set is cloned or hashed per
//! step. The step loop then takes each step's vector from the table.
//!
//! The answers are those of the step-by-step evaluation, bit for bit: each value is
//! computed by the same function over the same samples, group members are added up in
//! the same order, and each step's vector lists its samples in the same order. Where that
//! cannot be had cheaply (output label sets that might collide, parameters that are not
//! number literals, subqueries, `count_values`, everything else) the subtree is left to
//! the step-by-step evaluation.

use std::collections::{HashMap, HashSet};

use super::aggregate::{
    Acc, AggOp, convertible_to_i64, group_hash, group_labels, keeps_members, topk_order,
};
use super::functions::{Func, quantile};
use super::histogram::histogram_output_labels;
use super::histogram::{Bucket, bucket_bound, bucket_quantile_fixed, histogram_key};
use super::range_fns::range_args;
use super::{Evaluator, Grouping, Node, Selector, one_name};
use crate::value::{Labels, Point, Sample, Series, is_stale_marker};

/// Range queries with more steps than this are evaluated step by step only (a table holds
/// every step's vector at once).
const MAX_TABLE_STEPS: usize = 100_000;

/// The evaluation times of a range query: `start`, `start + step`, … up to `end`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    start: i64,
    step: i64,
    len: usize,
}

impl Grid {
    /// The grid of a range query, if a table of it is small enough to hold.
    pub(crate) fn new(start: i64, end: i64, step: i64) -> Option<Grid> {
        if step <= 0 || end < start {
            return None;
        }
        let len = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= MAX_TABLE_STEPS)?;
        Some(Grid { start, step, len })
    }

    /// The number of evaluation times.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn time(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// The index of evaluation time `t`, if it is one of the grid's.
    fn index(&self, t: i64) -> Option<usize> {
        let d = t.checked_sub(self.start)?;
        if d < 0 || d % self.step != 0 {
            return None;
        }
        usize::try_from(d / self.step)
            .ok()
            .filter(|&i| i < self.len)
    }
}

/// An instant vector over all steps of a range query: its distinct label sets (rows) and,
/// per step, the (row, value) pairs the step-by-step evaluation answers, in its order.
#[derive(Debug)]
pub(crate) struct Table {
    labels: Vec<Labels>,
    /// `None` once the step's vector has been handed out.
    steps: Vec<Option<Vec<(u32, f64)>>>,
}

impl Table {
    /// The whole table as a range query's matrix: one series per row with a sample.
    pub(crate) fn into_matrix(self, grid: Grid) -> Vec<Series> {
        let mut points: Vec<Vec<Point>> = vec![Vec::new(); self.labels.len()];
        for (i, step) in self.steps.into_iter().enumerate() {
            let t = grid.time(i);
            for (row, v) in step.into_iter().flatten() {
                points[row as usize].push(Point { t, v });
            }
        }
        self.labels
            .into_iter()
            .zip(points)
            .filter(|(_, p)| !p.is_empty())
            .map(|(labels, points)| Series { labels, points })
            .collect()
    }
}

/// A node's identity for the tables: its address in the compiled tree, which outlives
/// the evaluation.
fn key(node: &Node) -> usize {
    node as *const Node as usize
}

/// Whether these label sets are all different.
fn distinct(labels: &[Labels]) -> bool {
    let mut seen = HashSet::with_capacity(labels.len());
    labels.iter().all(|l| seen.insert(l))
}

impl Evaluator<'_> {
    /// Evaluates for every step of `grid` the largest subtrees of `node` that a table can
    /// hold; [`Evaluator::eval`] then answers them from the tables.
    pub(crate) fn precompute(&mut self, node: &Node, grid: Grid) {
        self.grid = Some(grid);
        self.precompute_node(node);
    }

    fn precompute_node(&mut self, node: &Node) {
        if self.tables.contains_key(&key(node)) {
            return;
        }
        if let Some(table) = self.table(node) {
            self.tables.insert(key(node), table);
            return;
        }
        match node {
            Node::Neg(e) => self.precompute_node(e),
            Node::Binary { lhs, rhs, .. } => {
                self.precompute_node(lhs);
                self.precompute_node(rhs);
            }
            Node::Aggregate { expr, param, .. } => {
                if let Some(p) = param {
                    self.precompute_node(p);
                }
                self.precompute_node(expr);
            }
            Node::Call { args, .. } => {
                for a in args {
                    self.precompute_node(a);
                }
            }
            // A subquery evaluates its inside at times of its own, off the grid.
            Node::Subquery { .. }
            | Node::Number(_)
            | Node::Str(_)
            | Node::Selector(_)
            | Node::Matrix { .. } => {}
        }
    }

    /// The table of `node`, taken out of the evaluator (for the root of a range query).
    pub(crate) fn take_table(&mut self, node: &Node) -> Option<Table> {
        self.tables.remove(&key(node))
    }

    /// The vector of `node` at `t` from its table, if it has one and `t` is on the grid.
    pub(crate) fn table_step(&mut self, node: &Node, t: i64) -> Option<Vec<Sample>> {
        let i = self.grid?.index(t)?;
        let table = self.tables.get_mut(&key(node))?;
        let entries = table.steps.get_mut(i)?.take()?;
        Some(
            entries
                .into_iter()
                .map(|(row, v)| Sample {
                    labels: table.labels[row as usize].clone(),
                    t,
                    v,
                })
                .collect(),
        )
    }

    /// `node` over all steps, when a table can give exactly the step-by-step answers.
    fn table(&mut self, node: &Node) -> Option<Table> {
        match node {
            Node::Selector(sel) => self.selector_table(sel),
            Node::Call { func, args } if func.takes_range_vector() => {
                self.range_function_table(*func, args)
            }
            Node::Call {
                func: Func::HistogramQuantile,
                args,
            } => self.histogram_table(args),
            Node::Aggregate {
                op,
                expr,
                param,
                grouping,
            } => self.aggregate_table(*op, expr, param.as_deref(), grouping),
            _ => None,
        }
    }

    /// An instant selector: per series, the newest sample at or before each step's
    /// reference time, found with a cursor that only moves forward.
    fn selector_table(&self, sel: &Selector) -> Option<Table> {
        let grid = self.grid?;
        let data = self.data.get(sel.id)?.as_ref()?;
        let mut steps = vec![Vec::new(); grid.len];
        for (row, f) in data.iter().enumerate() {
            let mut next = 0;
            for (i, step) in steps.iter_mut().enumerate() {
                let reft = self.reference_time(sel.at, sel.offset, grid.time(i));
                while next < f.points.len() && f.points[next].t <= reft {
                    next += 1;
                }
                if next == 0 {
                    continue;
                }
                let p = f.points[next - 1];
                if self.visible(p, reft.saturating_sub(self.lookback)) {
                    step.push((row as u32, p.v));
                }
            }
        }
        Some(Table {
            labels: data.iter().map(|f| f.labels.clone()).collect(),
            steps: steps.into_iter().map(Some).collect(),
        })
    }

    /// A function over a range selector: per series, the window slides along its samples.
    fn range_function_table(&mut self, func: Func, args: &[Node]) -> Option<Table> {
        let grid = self.grid?;
        if func == Func::AbsentOverTime {
            return None;
        }
        let (matrix_arg, scalar_arg) = range_args(func, args);
        let scalar = match scalar_arg {
            None => 0.0,
            Some(Node::Number(v)) => *v,
            Some(_) => return None,
        };
        let Node::Matrix { sel, .. } = matrix_arg else {
            return None;
        };
        let data = self.data.get(sel.id)?.as_ref()?;
        let labels: Vec<Labels> = data
            .iter()
            .map(|f| self.range_output_labels(func, &f.labels))
            .collect();
        let same_name = func == Func::LastOverTime || one_name(data.iter().map(|f| &f.labels));
        if !same_name && !distinct(&labels) {
            return None;
        }
        let mut steps = vec![Vec::new(); grid.len];
        let mut scratch = Vec::new();
        // `rate` and `increase` add the value before each counter reset in the window: the
        // resets are found once per series, and each window adds those inside it, in the
        // same order as the walk over the window does (so the same bits).
        let counter = matches!(func, Func::Rate | Func::Increase);
        let mut resets: Vec<usize> = Vec::new();
        for (row, f) in data.iter().enumerate() {
            let points = &f.points;
            let sliding_resets = counter && !f.has_stale;
            if sliding_resets {
                resets.clear();
                resets.extend((1..points.len()).filter(|&j| points[j].v < points[j - 1].v));
            }
            let (mut from, mut to) = (0, 0);
            let (mut reset_lo, mut reset_hi) = (0, 0);
            let mut counted = false;
            for (i, step) in steps.iter_mut().enumerate() {
                let t = grid.time(i);
                let (end, range) = self.range_of(matrix_arg, t);
                let start = end.saturating_sub(range);
                while from < points.len() && self.before_window(points[from].t, start) {
                    from += 1;
                }
                while to < points.len() && points[to].t <= end {
                    to += 1;
                }
                if sliding_resets {
                    // The resets at j with from < j < to: between a pair inside the window.
                    while reset_lo < resets.len() && resets[reset_lo] <= from {
                        reset_lo += 1;
                    }
                    while reset_hi < resets.len() && resets[reset_hi] < to {
                        reset_hi += 1;
                    }
                    if to < from + 2 {
                        continue;
                    }
                    let window = &points[from..to];
                    let mut result = window[window.len() - 1].v - window[0].v;
                    for &j in &resets[reset_lo..reset_hi.max(reset_lo)] {
                        result += points[j - 1].v;
                    }
                    let bounds = (start, end, range);
                    if let Some(v) =
                        self.extrapolate(window, result, bounds, true, func == Func::Rate)
                    {
                        step.push((row as u32, v));
                        counted = true;
                    }
                    continue;
                }
                let mut window = &points[from..to.max(from)];
                if f.has_stale {
                    scratch.clear();
                    scratch.extend(window.iter().copied().filter(|p| !is_stale_marker(p.v)));
                    window = &scratch;
                }
                if window.is_empty() {
                    continue;
                }
                if func == Func::QuantileOverTime {
                    self.notes.check_quantile(scalar);
                }
                if let Some(v) = self.over_window(func, window, end, range, scalar, t).ok()? {
                    step.push((row as u32, v));
                    counted = true;
                }
            }
            if counted && matches!(func, Func::Rate | Func::Increase) {
                self.notes.possible_non_counter(&f.labels);
            }
        }
        Some(Table {
            labels,
            steps: steps.into_iter().map(Some).collect(),
        })
    }

    /// An aggregation: each input row's group is found once; at each step the members
    /// present are folded in the order of the step's input vector.
    fn aggregate_table(
        &mut self,
        op: AggOp,
        expr: &Node,
        param: Option<&Node>,
        grouping: &Grouping,
    ) -> Option<Table> {
        let members = keeps_members(op);
        let param = match (param, members) {
            (None, false) => 0.0,
            (Some(Node::Number(v)), true) => *v,
            _ => return None,
        };
        let top = op == AggOp::Topk;
        let k = if matches!(op, AggOp::Topk | AggOp::Bottomk) {
            if !convertible_to_i64(param) {
                return None;
            }
            usize::try_from(param as i64).unwrap_or(0)
        } else {
            0
        };
        let child = self.table(expr)?;
        if op == AggOp::Quantile {
            self.notes.check_quantile(param);
        }

        let mut index: HashMap<u64, u32> = HashMap::new();
        let mut groups: Vec<Labels> = Vec::new();
        let group_of: Vec<u32> = child
            .labels
            .iter()
            .map(|l| {
                *index.entry(group_hash(l, grouping)).or_insert_with(|| {
                    groups.push(group_labels(l, grouping));
                    (groups.len() - 1) as u32
                })
            })
            .collect();

        let compat = self.compat;
        let mut accs = vec![Acc::start(op, 0.0, compat); groups.len()];
        let mut kept: Vec<Vec<(u32, f64)>> =
            vec![Vec::new(); if members { groups.len() } else { 0 }];
        let mut seen = vec![false; groups.len()];
        let mut order: Vec<u32> = Vec::new();
        let mut steps = Vec::with_capacity(child.steps.len());
        for entries in child.steps {
            let entries = entries.unwrap_or_default();
            order.clear();
            for &(row, v) in &entries {
                let g = group_of[row as usize] as usize;
                if !seen[g] {
                    seen[g] = true;
                    order.push(g as u32);
                    if !members {
                        accs[g] = Acc::start(op, v, compat);
                        continue;
                    }
                }
                if members {
                    kept[g].push((row, v));
                } else {
                    accs[g].add(op, v, compat);
                }
            }
            let mut out = Vec::with_capacity(order.len());
            for &g in &order {
                let g = g as usize;
                seen[g] = false;
                match op {
                    AggOp::Topk | AggOp::Bottomk => {
                        let m = &mut kept[g];
                        m.sort_by(|a, b| topk_order(a.1, b.1, top));
                        out.extend(m.iter().take(k).copied());
                        m.clear();
                    }
                    AggOp::Quantile => {
                        let mut vals: Vec<f64> = kept[g].iter().map(|m| m.1).collect();
                        out.push((g as u32, quantile(param, &mut vals)));
                        kept[g].clear();
                    }
                    _ => out.push((g as u32, accs[g].result(op, compat))),
                }
            }
            steps.push(Some(out));
        }
        let labels = if matches!(op, AggOp::Topk | AggOp::Bottomk) {
            child.labels
        } else {
            groups
        };
        Some(Table { labels, steps })
    }

    /// `histogram_quantile` with a literal φ: each input row's histogram is found once; at
    /// each step the buckets present are gathered in the order of the step's input vector.
    fn histogram_table(&mut self, args: &[Node]) -> Option<Table> {
        let Node::Number(q) = args[0] else {
            return None;
        };
        let child = self.table(&args[1])?;
        self.notes.check_quantile(q);
        let mut index: HashMap<Labels, u32> = HashMap::new();
        let mut groups: Vec<Labels> = Vec::new();
        let mut names: Vec<Option<String>> = Vec::new();
        let rows: Vec<Option<(u32, f64)>> = child
            .labels
            .iter()
            .map(|l| {
                let upper = bucket_bound(l)?;
                let g = *index.entry(histogram_key(l)).or_insert_with_key(|key| {
                    groups.push(histogram_output_labels(key));
                    names.push(key.get("__name__").map(str::to_owned));
                    (groups.len() - 1) as u32
                });
                Some((g, upper))
            })
            .collect();
        if !distinct(&groups) {
            // Two histograms differing only in `__name__`: the step-by-step evaluation
            // reports the collision where it happens.
            self.tables.insert(key(&args[1]), child);
            return None;
        }
        let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); groups.len()];
        let mut order: Vec<u32> = Vec::new();
        let mut steps = Vec::with_capacity(child.steps.len());
        for entries in child.steps {
            order.clear();
            for (row, count) in entries.unwrap_or_default() {
                let Some((g, upper)) = rows[row as usize] else {
                    self.notes.bad_bucket_label(&child.labels[row as usize]);
                    continue;
                };
                if buckets[g as usize].is_empty() {
                    order.push(g);
                }
                buckets[g as usize].push(Bucket { upper, count });
            }
            let out = order
                .iter()
                .map(|&g| {
                    let b = &mut buckets[g as usize];
                    let (v, forced) = bucket_quantile_fixed(q, b, self.compat);
                    if forced {
                        self.notes.forced_monotonicity(names[g as usize].as_deref());
                    }
                    b.clear();
                    (g, v)
                })
                .collect();
            steps.push(Some(out));
        }
        Some(Table {
            labels: groups,
            steps,
        })
    }
}
