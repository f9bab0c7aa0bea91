//! The PromQL evaluator, after Prometheus's `promql/engine.go`.
//!
//! An expression is parsed by `promql-parser`, compiled into a small tree of its own
//! ([`Node`]: operators and functions resolved, durations in milliseconds, anything the
//! engine does not evaluate rejected with [`EvalError::Unsupported`]), then evaluated as a
//! pure step loop over the [`Store`]: each step evaluates the tree at its time, as
//! Prometheus's `rangeEval` does step by step. Series data is read once per selector for
//! the whole query.
//!
//! One module per concern: [`selector`] (selectors, lookback, staleness, subqueries),
//! [`range_fns`] (functions over range vectors), [`aggregate`], [`binary`] (operators and
//! vector matching), [`histogram`] (`histogram_quantile`), [`functions`] (the others).

mod aggregate;
mod binary;
mod functions;
mod histogram;
mod range_fns;
mod selector;
mod steps;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{
    self, AtModifier, Expr, LabelModifier, Offset, VectorMatchCardinality,
};

use crate::store::Store;
use crate::value::{Labels, Point, Sample, Series, Value};

pub use aggregate::AggOp;
pub use binary::BinOp;
pub use functions::Func;

/// Which Prometheus the engine answers like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compat {
    /// Prometheus 2.x (e.g. Debian's 2.42): closed range windows, pre-2.51 extrapolation.
    V2,
    /// Prometheus 3.x: left-open windows and lookback, the post-2.51 `rate` extrapolation.
    #[default]
    V3,
}

/// Evaluation settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub lookback: Duration,
    pub compat: Compat,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback: Duration::from_secs(300),
            compat: Compat::V3,
        }
    }
}

/// The step of a subquery without one (`x[5m:]`): Prometheus's default evaluation interval.
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The expression does not parse.
    #[error("parse error: {0}")]
    Parse(String),
    /// Valid PromQL this engine does not evaluate (native histograms, experimental syntax):
    /// never answered with a plausible wrong number.
    #[error("{0} is not supported by the embedded engine; use --url with a real Prometheus")]
    Unsupported(String),
    /// An error Prometheus would also give (many-to-many matching, duplicate series, ...).
    #[error("{0}")]
    Execution(String),
}

/// Annotations Prometheus 3.x returns next to an answer (`warnings` and `infos` in its
/// API), deduplicated by message and sorted. Prometheus 2.x returns none: in
/// [`Compat::V2`] the engine reports none either. Messages are Prometheus's, without the
/// position in the query it appends (the parser gives none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// Messages starting with `PromQL warning:`.
    pub warnings: Vec<String>,
    /// Messages starting with `PromQL info:`.
    pub infos: Vec<String>,
    /// Whether to collect any (3.x).
    enabled: bool,
}

impl Annotations {
    fn new(compat: Compat) -> Self {
        Annotations {
            enabled: compat == Compat::V3,
            ..Annotations::default()
        }
    }

    fn add(list: &mut Vec<String>, enabled: bool, msg: impl FnOnce() -> String) {
        if enabled {
            let msg = msg();
            if let Err(i) = list.binary_search(&msg) {
                list.insert(i, msg);
            }
        }
    }

    pub(crate) fn warn(&mut self, msg: impl FnOnce() -> String) {
        Self::add(&mut self.warnings, self.enabled, msg);
    }

    pub(crate) fn info(&mut self, msg: impl FnOnce() -> String) {
        Self::add(&mut self.infos, self.enabled, msg);
    }

    /// `InvalidQuantileWarning`, for a φ outside [0, 1] or NaN.
    pub(crate) fn check_quantile(&mut self, q: f64) {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            self.warn(|| {
                format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    go_format_g(q)
                )
            });
        }
    }

    /// `BadBucketLabelWarning`, for a bucket series without a parsable `le`.
    pub(crate) fn bad_bucket_label(&mut self, labels: &Labels) {
        self.warn(|| {
            let mut m = format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?}",
                labels.get("le").unwrap_or("")
            );
            if let Some(name) = labels.get("__name__") {
                m.push_str(&format!(" for metric name {name:?}"));
            }
            m
        });
    }

    /// `HistogramQuantileForcedMonotonicityInfo`.
    pub(crate) fn forced_monotonicity(&mut self, name: Option<&str>) {
        self.info(|| {
            let mut m = "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_string();
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                m.push_str(&format!(" for metric name {name:?}"));
            }
            m
        });
    }

    /// `PossibleNonCounterInfo`: `rate` or `increase` of a series whose name does not say
    /// it is a counter.
    pub(crate) fn possible_non_counter(&mut self, labels: &Labels) {
        if !self.enabled {
            return;
        }
        let Some(name) = labels.get("__name__") else {
            return;
        };
        if ["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|s| name.ends_with(s))
        {
            return;
        }
        self.info(|| {
            format!(
                "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
            )
        });
    }
}

/// Go's `%g` for a float (shortest digits; an exponent below 1e-4 and from 1e6 on).
pub(crate) fn go_format_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if v != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

fn exec_err<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError::Execution(msg.into()))
}

/// Evaluates PromQL over a [`Store`].
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    pub fn new(options: EngineOptions) -> Self {
        Engine { options }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// An instant query at `t` (ms).
    pub fn instant(&self, store: &Store, expr: &str, t: i64) -> Result<Value, EvalError> {
        self.instant_annotated(store, expr, t).map(|(v, _)| v)
    }

    /// An instant query at `t` (ms), with the annotations Prometheus would return.
    pub fn instant_annotated(
        &self,
        store: &Store,
        expr: &str,
        t: i64,
    ) -> Result<(Value, Annotations), EvalError> {
        let node = compile_str(expr)?;
        // One evaluation time: each instant selector reads only the sample it answers with.
        let mut ev = Evaluator::new(store, &self.options, &node, t, t, steps::Grid::new(t, t, 1));
        let v = ev.eval(&node, t)?;
        let v = match v {
            Val::Scalar(v) => Value::Scalar(Point { t, v }),
            Val::Str(s) => Value::String { t, value: s },
            Val::Vector(v) => Value::Vector(v),
            Val::Matrix(m) => Value::Matrix(m),
        };
        Ok((v, ev.notes))
    }

    /// A range query from `start` to `end` (ms, inclusive) every `step` ms; answers a matrix
    /// sorted by labels, as Prometheus's.
    pub fn range(
        &self,
        store: &Store,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, EvalError> {
        self.range_with(store, expr, (start, end, step), true)
            .map(|(v, _)| v)
    }

    /// A range query, with the annotations Prometheus would return.
    pub fn range_annotated(
        &self,
        store: &Store,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<(Value, Annotations), EvalError> {
        self.range_with(store, expr, (start, end, step), true)
    }

    /// A range query; with `tables`, the subtrees [`steps`] can evaluate for all steps at
    /// once are (the tests compare both ways).
    fn range_with(
        &self,
        store: &Store,
        expr: &str,
        (start, end, step): (i64, i64, i64),
        tables: bool,
    ) -> Result<(Value, Annotations), EvalError> {
        if step <= 0 {
            return exec_err("zero or negative query resolution step widths are not accepted");
        }
        if end < start {
            return exec_err("end timestamp must not be before start time");
        }
        let node = compile_str(expr)?;
        match node.value_type() {
            ValueType::Matrix => {
                return exec_err(
                    "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
                );
            }
            ValueType::String => {
                return exec_err(
                    "invalid expression type \"string\" for range query, must be Scalar or instant Vector",
                );
            }
            _ => {}
        }
        let grid = steps::Grid::new(start, end, step).filter(|_| tables);
        let mut ev = Evaluator::new(store, &self.options, &node, start, end, grid);
        if let Some(grid) = grid {
            ev.precompute(&node, grid);
            if let Some(table) = ev.take_table(&node) {
                let mut out = table.into_matrix(grid);
                out.sort_by(|a, b| a.labels.cmp(&b.labels));
                return Ok((Value::Matrix(out), ev.notes));
            }
        }
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<Series> = Vec::new();
        let mut t = start;
        while t <= end {
            match ev.eval(&node, t)? {
                Val::Scalar(v) => {
                    if out.is_empty() {
                        out.push(Series {
                            labels: Labels::new(),
                            points: Vec::new(),
                        });
                    }
                    out[0].points.push(Point { t, v });
                }
                Val::Vector(samples) => {
                    for s in samples {
                        let i = *index.entry(s.labels.clone()).or_insert_with(|| {
                            out.push(Series {
                                labels: s.labels.clone(),
                                points: Vec::new(),
                            });
                            out.len() - 1
                        });
                        out[i].points.push(Point { t, v: s.v });
                    }
                }
                Val::Str(_) | Val::Matrix(_) => {
                    return exec_err("a range query must answer a scalar or an instant vector");
                }
            }
            match t.checked_add(step) {
                Some(next) => t = next,
                None => break,
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok((Value::Matrix(out), ev.notes))
    }
}

/// How far around each evaluation time `t` the expression `expr` reads samples: from
/// `t - behind` to `t + ahead` (ms; `ahead` > 0 only with negative offsets). `None` when
/// a step's answer may depend on more than its own time (an `@` modifier: a fixed time,
/// or the query's start or end), and for expressions that do not compile.
pub(crate) fn reach(expr: &str, lookback: i64) -> Option<(i64, i64)> {
    fn walk(node: &Node, lookback: i64) -> Option<(i64, i64)> {
        let sel = |sel: &Selector, window: i64| {
            if sel.at.is_some() {
                return None;
            }
            Some((
                sel.offset.saturating_add(window),
                sel.offset.saturating_neg().max(0),
            ))
        };
        let mut out = (0i64, 0i64);
        let mut widen = |r: (i64, i64)| {
            out = (out.0.max(r.0), out.1.max(r.1));
        };
        match node {
            Node::Number(_) | Node::Str(_) => {}
            Node::Selector(s) => widen(sel(s, lookback)?),
            Node::Matrix { sel: s, range } => widen(sel(s, *range)?),
            Node::Subquery {
                expr,
                range,
                offset,
                at,
                ..
            } => {
                if at.is_some() {
                    return None;
                }
                let (behind, ahead) = walk(expr, lookback)?;
                widen((
                    offset.saturating_add(*range).saturating_add(behind),
                    ahead.saturating_sub(*offset).max(0),
                ));
            }
            Node::Neg(e) => widen(walk(e, lookback)?),
            Node::Binary { lhs, rhs, .. } => {
                widen(walk(lhs, lookback)?);
                widen(walk(rhs, lookback)?);
            }
            Node::Aggregate { expr, param, .. } => {
                if let Some(p) = param {
                    widen(walk(p, lookback)?);
                }
                widen(walk(expr, lookback)?);
            }
            Node::Call { args, .. } => {
                for a in args {
                    widen(walk(a, lookback)?);
                }
            }
        }
        Some(out)
    }
    walk(&compile_str(expr).ok()?, lookback)
}

/// What a node answers at one step.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Scalar(f64),
    Str(String),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// The static type of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    Scalar,
    String,
    Vector,
    Matrix,
}

/// An `@` modifier.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At {
    Ts(i64),
    Start,
    End,
}

/// A vector selector, compiled.
#[derive(Debug)]
pub(crate) struct Selector {
    /// Index of this selector's series data in the evaluator.
    pub id: usize,
    pub matchers: Vec<Matcher>,
    pub offset: i64,
    pub at: Option<At>,
}

/// How two vectors match.
#[derive(Debug, Clone)]
pub(crate) struct Matching {
    pub card: Card,
    /// `on(...)` (true) or `ignoring(...)` (false).
    pub on: bool,
    pub labels: Vec<String>,
    /// `group_left(...)`/`group_right(...)` labels.
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// `by (...)` or `without (...)`.
#[derive(Debug, Clone)]
pub(crate) struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

/// An expression, compiled.
#[derive(Debug)]
pub(crate) enum Node {
    Number(f64),
    Str(String),
    Selector(Selector),
    Matrix {
        sel: Selector,
        range: i64,
    },
    Subquery {
        expr: Box<Node>,
        range: i64,
        step: Option<i64>,
        offset: i64,
        at: Option<At>,
    },
    Neg(Box<Node>),
    Binary {
        op: BinOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        matching: Matching,
        return_bool: bool,
    },
    Aggregate {
        op: AggOp,
        expr: Box<Node>,
        param: Option<Box<Node>>,
        grouping: Grouping,
    },
    Call {
        func: Func,
        args: Vec<Node>,
    },
}

impl Node {
    pub(crate) fn value_type(&self) -> ValueType {
        match self {
            Node::Number(_) => ValueType::Scalar,
            Node::Str(_) => ValueType::String,
            Node::Selector(_) => ValueType::Vector,
            Node::Matrix { .. } | Node::Subquery { .. } => ValueType::Matrix,
            Node::Neg(e) => e.value_type(),
            Node::Binary { lhs, rhs, .. } => {
                if lhs.value_type() == ValueType::Scalar && rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Node::Aggregate { .. } => ValueType::Vector,
            Node::Call { func, .. } => func.return_type(),
        }
    }
}

fn compile_str(expr: &str) -> Result<Node, EvalError> {
    let parsed = parser::parse(expr).map_err(|e| {
        // Functions of other Prometheus versions the parser does not know.
        for name in ["holt_winters"] {
            if e.contains(&format!("unknown function with name '{name}'")) {
                return EvalError::Unsupported(format!("the function {name}()"));
            }
        }
        EvalError::Parse(e)
    })?;
    let mut next_id = 0;
    compile(&parsed, &mut next_id)
}

fn duration_ms(d: &Duration) -> i64 {
    d.as_millis() as i64
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_nanos() as f64 / 1e6).round() as i64,
        Err(e) => -((e.duration().as_nanos() as f64 / 1e6).round() as i64),
    }
}

fn at_of(at: &Option<AtModifier>) -> Option<At> {
    at.as_ref().map(|a| match a {
        AtModifier::Start => At::Start,
        AtModifier::End => At::End,
        AtModifier::At(t) => At::Ts(system_time_ms(t)),
    })
}

fn compile_selector(
    vs: &parser::VectorSelector,
    next_id: &mut usize,
) -> Result<Selector, EvalError> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(EvalError::Unsupported(
            "the `or` operator inside a selector's braces".into(),
        ));
    }
    let mut matchers = vs.matchers.matchers.clone();
    if let Some(name) = &vs.name {
        matchers.push(Matcher::new(MatchOp::Equal, "__name__", name));
    }
    let id = *next_id;
    *next_id += 1;
    Ok(Selector {
        id,
        matchers,
        offset: offset_ms(&vs.offset),
        at: at_of(&vs.at),
    })
}

fn label_list(l: &promql_parser::label::Labels) -> Vec<String> {
    l.labels.clone()
}

fn compile(e: &Expr, next_id: &mut usize) -> Result<Node, EvalError> {
    Ok(match e {
        Expr::NumberLiteral(n) => Node::Number(n.val),
        Expr::StringLiteral(s) => Node::Str(s.val.clone()),
        Expr::Paren(p) => compile(&p.expr, next_id)?,
        Expr::VectorSelector(vs) => Node::Selector(compile_selector(vs, next_id)?),
        Expr::MatrixSelector(ms) => Node::Matrix {
            sel: compile_selector(&ms.vs, next_id)?,
            range: duration_ms(&ms.range),
        },
        Expr::Subquery(sq) => Node::Subquery {
            expr: Box::new(compile(&sq.expr, next_id)?),
            range: duration_ms(&sq.range),
            step: sq.step.as_ref().map(duration_ms).filter(|&s| s > 0),
            offset: offset_ms(&sq.offset),
            at: at_of(&sq.at),
        },
        Expr::Unary(u) => Node::Neg(Box::new(compile(&u.expr, next_id)?)),
        Expr::Binary(b) => {
            let op = BinOp::from_token(&b.op.to_string())?;
            let (matching, return_bool) = match &b.modifier {
                None => (
                    Matching {
                        card: if op.is_set() {
                            Card::ManyToMany
                        } else {
                            Card::OneToOne
                        },
                        on: false,
                        labels: Vec::new(),
                        include: Vec::new(),
                    },
                    false,
                ),
                Some(m) => {
                    if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
                        return Err(EvalError::Unsupported(
                            "the experimental `fill` modifier of binary operators".into(),
                        ));
                    }
                    let (card, include) = match &m.card {
                        VectorMatchCardinality::OneToOne => (Card::OneToOne, Vec::new()),
                        VectorMatchCardinality::ManyToOne(l) => (Card::ManyToOne, label_list(l)),
                        VectorMatchCardinality::OneToMany(l) => (Card::OneToMany, label_list(l)),
                        VectorMatchCardinality::ManyToMany => (Card::ManyToMany, Vec::new()),
                    };
                    let card = if op.is_set() { Card::ManyToMany } else { card };
                    let (on, labels) = match &m.matching {
                        Some(LabelModifier::Include(l)) => (true, label_list(l)),
                        Some(LabelModifier::Exclude(l)) => (false, label_list(l)),
                        None => (false, Vec::new()),
                    };
                    (
                        Matching {
                            card,
                            on,
                            labels,
                            include,
                        },
                        m.return_bool,
                    )
                }
            };
            Node::Binary {
                op,
                lhs: Box::new(compile(&b.lhs, next_id)?),
                rhs: Box::new(compile(&b.rhs, next_id)?),
                matching,
                return_bool,
            }
        }
        Expr::Aggregate(a) => {
            let op = AggOp::from_token(&a.op.to_string())?;
            let grouping = match &a.modifier {
                Some(LabelModifier::Include(l)) => Grouping {
                    without: false,
                    labels: label_list(l),
                },
                Some(LabelModifier::Exclude(l)) => Grouping {
                    without: true,
                    labels: label_list(l),
                },
                None => Grouping {
                    without: false,
                    labels: Vec::new(),
                },
            };
            Node::Aggregate {
                op,
                expr: Box::new(compile(&a.expr, next_id)?),
                param: match &a.param {
                    Some(p) => Some(Box::new(compile(p, next_id)?)),
                    None => None,
                },
                grouping,
            }
        }
        Expr::Call(c) => {
            let func = Func::from_name(c.func.name)?;
            let args = c
                .args
                .args
                .iter()
                .map(|a| compile(a, next_id))
                .collect::<Result<Vec<_>, _>>()?;
            Node::Call { func, args }
        }
        Expr::Extension(_) => {
            return Err(EvalError::Unsupported("an extension expression".into()));
        }
    })
}

/// Data of one selector: its series and their samples over the whole query.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub labels: Labels,
    pub points: Vec<Point>,
    /// Whether any point is the stale marker (range windows must then filter).
    pub has_stale: bool,
}

/// One evaluation: the store, the options, the query's bounds and the series data read.
pub(crate) struct Evaluator<'a> {
    pub store: &'a Store,
    pub compat: Compat,
    pub lookback: i64,
    /// The query's start and end (for `@ start()` / `@ end()`).
    pub start: i64,
    pub end: i64,
    /// Per selector id: the time range to read, then the data read.
    pub bounds: Vec<Option<(i64, i64)>>,
    pub data: Vec<Option<Vec<Fetched>>>,
    /// Inner evaluations of subqueries, by (node address, time).
    pub subquery_cache: HashMap<(usize, i64), Val>,
    /// A range query's steps, and the subtrees evaluated for all of them at once
    /// ([`steps`]), by node address.
    grid: Option<steps::Grid>,
    tables: HashMap<usize, steps::Table>,
    /// Warnings and infos so far.
    pub notes: Annotations,
}

impl<'a> Evaluator<'a> {
    fn new(
        store: &'a Store,
        options: &EngineOptions,
        node: &Node,
        start: i64,
        end: i64,
        times: Option<steps::Grid>,
    ) -> Self {
        let mut ev = Evaluator {
            store,
            compat: options.compat,
            lookback: duration_ms(&options.lookback),
            start,
            end,
            bounds: Vec::new(),
            data: Vec::new(),
            subquery_cache: HashMap::new(),
            grid: None,
            tables: HashMap::new(),
            notes: Annotations::new(options.compat),
        };
        ev.plan(node, start, end, times.as_ref());
        ev
    }

    /// Evaluates `node` at time `t`.
    pub(crate) fn eval(&mut self, node: &Node, t: i64) -> Result<Val, EvalError> {
        if !self.tables.is_empty()
            && let Some(v) = self.table_step(node, t)
        {
            return Ok(Val::Vector(v));
        }
        match node {
            Node::Number(v) => Ok(Val::Scalar(*v)),
            Node::Str(s) => Ok(Val::Str(s.clone())),
            Node::Selector(sel) => Ok(Val::Vector(self.vector_selector(sel, t, false))),
            Node::Matrix { sel, range } => Ok(Val::Matrix(self.matrix_selector(sel, *range, t))),
            Node::Subquery { .. } => Ok(Val::Matrix(self.subquery(node, t)?)),
            Node::Neg(e) => match self.eval(e, t)? {
                Val::Scalar(v) => Ok(Val::Scalar(-v)),
                Val::Vector(mut v) => {
                    let same_name = one_name(v.iter().map(|s| &s.labels));
                    for s in &mut v {
                        s.v = -s.v;
                        drop_name(&mut s.labels);
                    }
                    if !same_name {
                        check_duplicates(&v)?;
                    }
                    Ok(Val::Vector(v))
                }
                other => exec_err(format!("unary minus on a {}", other.kind())),
            },
            Node::Binary {
                op,
                lhs,
                rhs,
                matching,
                return_bool,
            } => self.binary(*op, lhs, rhs, matching, *return_bool, t),
            Node::Aggregate {
                op,
                expr,
                param,
                grouping,
            } => self.aggregate(*op, expr, param.as_deref(), grouping, t),
            Node::Call { func, args } => self.call(*func, args, t),
        }
    }

    /// Evaluates `node` at `t` expecting an instant vector.
    pub(crate) fn eval_vector(&mut self, node: &Node, t: i64) -> Result<Vec<Sample>, EvalError> {
        match self.eval(node, t)? {
            Val::Vector(v) => Ok(v),
            other => exec_err(format!(
                "expected an instant vector, got a {}",
                other.kind()
            )),
        }
    }

    /// Evaluates `node` at `t` expecting a scalar.
    pub(crate) fn eval_scalar(&mut self, node: &Node, t: i64) -> Result<f64, EvalError> {
        match self.eval(node, t)? {
            Val::Scalar(v) => Ok(v),
            other => exec_err(format!("expected a scalar, got a {}", other.kind())),
        }
    }

    /// Evaluates `node` at `t` expecting a range vector.
    pub(crate) fn eval_matrix(&mut self, node: &Node, t: i64) -> Result<Vec<Series>, EvalError> {
        match self.eval(node, t)? {
            Val::Matrix(m) => Ok(m),
            other => exec_err(format!("expected a range vector, got a {}", other.kind())),
        }
    }

    /// The time an `@` modifier names.
    pub(crate) fn at_time(&self, at: At) -> i64 {
        match at {
            At::Ts(t) => t,
            At::Start => self.start,
            At::End => self.end,
        }
    }
}

/// Takes `__name__` out of a label set.
pub(crate) fn drop_name(labels: &mut Labels) {
    if labels.contains_key("__name__") {
        labels.remove("__name__");
    }
}

/// Whether all these label sets have the same `__name__` (or none): then dropping it keeps
/// distinct sets distinct, and the duplicate check can be skipped.
pub(crate) fn one_name<'a>(sets: impl IntoIterator<Item = &'a Labels>) -> bool {
    let mut first: Option<Option<&str>> = None;
    for l in sets {
        let n = l.get("__name__");
        match first {
            None => first = Some(n),
            Some(f) if f != n => return false,
            Some(_) => {}
        }
    }
    true
}

/// Prometheus's check that one step's vector has each label set once.
pub(crate) fn check_duplicates(v: &[Sample]) -> Result<(), EvalError> {
    if v.len() < 2 {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    for s in v {
        if !seen.insert(&s.labels) {
            return exec_err("vector cannot contain metrics with the same labelset");
        }
    }
    Ok(())
}

/// Prometheus's `kahanSumInc`: Kahan–Neumaier compensated summation, one term.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`, as Prometheus formats values in labels.
pub(crate) fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests;
