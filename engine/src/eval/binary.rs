//! Binary operators and vector matching, after Prometheus's `promql/engine.go`
//! (`scalarBinop`, `vectorElemBinop`, `VectorscalarBinop`, `VectorBinop`, `VectorAnd`,
//! `VectorOr`, `VectorUnless`, `signatureFunc`, `resultMetric`).

use std::collections::{HashMap, HashSet};

use super::{
    Card, Compat, EvalError, Evaluator, Matching, Node, Val, check_duplicates, drop_name, one_name,
};
use crate::value::{Labels, Sample};

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub(crate) fn from_token(s: &str) -> Result<BinOp, EvalError> {
        Ok(match s {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Mod,
            "^" => BinOp::Pow,
            "atan2" => BinOp::Atan2,
            "==" => BinOp::Eq,
            "!=" => BinOp::Ne,
            ">" => BinOp::Gt,
            "<" => BinOp::Lt,
            ">=" => BinOp::Ge,
            "<=" => BinOp::Le,
            "and" => BinOp::And,
            "or" => BinOp::Or,
            "unless" => BinOp::Unless,
            other => return Err(EvalError::Unsupported(format!("the operator {other:?}"))),
        })
    }

    pub(crate) fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    pub(crate) fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le
        )
    }

    /// Whether the result loses `__name__` (`shouldDropMetricName` in 2.x,
    /// `changesMetricSchema` in 3.x, which adds `atan2`).
    fn drops_name(self, compat: Compat) -> bool {
        match self {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Pow | BinOp::Mod => true,
            BinOp::Atan2 => compat == Compat::V3,
            _ => false,
        }
    }
}

/// Go's `math.Mod`: the sign of the dividend, NaN for a zero divisor or infinite dividend.
fn go_mod(a: f64, b: f64) -> f64 {
    a % b
}

/// `scalarBinop` / the value part of `vectorElemBinop`: (value, keep).
fn elem(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        BinOp::Mod => (go_mod(l, r), true),
        BinOp::Pow => (go_pow(l, r), true),
        BinOp::Atan2 => (l.atan2(r), true),
        BinOp::Eq => (l, l == r),
        BinOp::Ne => (l, l != r),
        BinOp::Gt => (l, l > r),
        BinOp::Lt => (l, l < r),
        BinOp::Ge => (l, l >= r),
        BinOp::Le => (l, l <= r),
        BinOp::And | BinOp::Or | BinOp::Unless => (l, true),
    }
}

/// Go's `math.Pow`, which differs from C's `pow` on a few special cases.
pub(crate) fn go_pow(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == -1.0 && y.is_infinite() {
        return 1.0;
    }
    if x == 1.0 {
        return 1.0;
    }
    x.powf(y)
}

/// Prometheus's `labels.String()`: `{a="b", c="d"}`.
pub(crate) fn labels_string(l: &Labels) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in l.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&format!("{v:?}"));
    }
    s.push('}');
    s
}

/// The matching signature of a label set: the `on` labels, or all but the `ignoring`
/// ones and `__name__`.
fn signature(l: &Labels, m: &Matching) -> String {
    let mut s = String::new();
    if m.on {
        let mut names: Vec<&str> = m.labels.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            if let Some(v) = l.get(n) {
                s.push_str(n);
                s.push('\u{ff}');
                s.push_str(v);
                s.push('\u{ff}');
            }
        }
    } else {
        for (n, v) in l.iter() {
            if n == "__name__" || m.labels.iter().any(|x| x == n) {
                continue;
            }
            s.push_str(n);
            s.push('\u{ff}');
            s.push_str(v);
            s.push('\u{ff}');
        }
    }
    s
}

/// The labels a signature is made of (`MatchLabels`), for error messages.
fn match_labels(l: &Labels, m: &Matching) -> Labels {
    if m.on {
        l.iter()
            .filter(|(n, _)| m.labels.iter().any(|x| x == n))
            .collect()
    } else {
        l.iter()
            .filter(|(n, _)| *n != "__name__" && !m.labels.iter().any(|x| x == n))
            .collect()
    }
}

impl Evaluator<'_> {
    pub(super) fn binary(
        &mut self,
        op: BinOp,
        lhs: &Node,
        rhs: &Node,
        matching: &Matching,
        return_bool: bool,
        t: i64,
    ) -> Result<Val, EvalError> {
        let l = self.eval(lhs, t)?;
        let r = self.eval(rhs, t)?;
        match (l, r) {
            (Val::Scalar(a), Val::Scalar(b)) => {
                let (v, keep) = elem(op, a, b);
                Ok(Val::Scalar(if op.is_comparison() {
                    if keep { 1.0 } else { 0.0 }
                } else {
                    v
                }))
            }
            (Val::Vector(v), Val::Scalar(s)) => Ok(Val::Vector(self.vector_scalar(
                op,
                v,
                s,
                false,
                return_bool,
            )?)),
            (Val::Scalar(s), Val::Vector(v)) => Ok(Val::Vector(self.vector_scalar(
                op,
                v,
                s,
                true,
                return_bool,
            )?)),
            (Val::Vector(a), Val::Vector(b)) => {
                let out = match op {
                    BinOp::And => vector_and(a, b, matching),
                    BinOp::Or => vector_or(a, b, matching),
                    BinOp::Unless => vector_unless(a, b, matching),
                    _ => self.vector_binop(op, a, b, matching, return_bool)?,
                };
                Ok(Val::Vector(out))
            }
            (a, b) => Err(EvalError::Execution(format!(
                "binary operator between a {} and a {}",
                a.kind(),
                b.kind()
            ))),
        }
    }

    /// `VectorscalarBinop`: the vector's samples against one number; `swap` when the
    /// scalar is on the left.
    fn vector_scalar(
        &self,
        op: BinOp,
        v: Vec<Sample>,
        s: f64,
        swap: bool,
        return_bool: bool,
    ) -> Result<Vec<Sample>, EvalError> {
        let mut out = Vec::with_capacity(v.len());
        let drop = op.drops_name(self.compat) || return_bool;
        let same_name = one_name(v.iter().map(|s| &s.labels));
        for mut sample in v {
            let (l, r) = if swap { (s, sample.v) } else { (sample.v, s) };
            let (mut value, mut keep) = elem(op, l, r);
            // A comparison keeps the vector's value, whichever side it is on.
            if op.is_comparison() && swap {
                value = r;
            }
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            if keep {
                sample.v = value;
                if drop {
                    drop_name(&mut sample.labels);
                }
                out.push(sample);
            }
        }
        if drop && !same_name {
            check_duplicates(&out)?;
        }
        Ok(out)
    }

    /// `VectorBinop`: arithmetic and comparisons between vectors, one-to-one or
    /// many-to-one/one-to-many with `group_left`/`group_right`.
    fn vector_binop(
        &self,
        op: BinOp,
        lhs: Vec<Sample>,
        rhs: Vec<Sample>,
        m: &Matching,
        return_bool: bool,
    ) -> Result<Vec<Sample>, EvalError> {
        if lhs.is_empty() || rhs.is_empty() {
            return Ok(Vec::new());
        }
        let swapped = m.card == Card::OneToMany;
        let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
        // The "one" side by signature; two with one signature is many-to-many.
        let mut right: HashMap<String, usize> = HashMap::with_capacity(one.len());
        for (i, s) in one.iter().enumerate() {
            let sig = signature(&s.labels, m);
            if let Some(&j) = right.get(&sig) {
                let side = if swapped { "left" } else { "right" };
                return Err(EvalError::Execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    labels_string(&match_labels(&s.labels, m)),
                    labels_string(&s.labels),
                    labels_string(&one[j].labels),
                )));
            }
            right.insert(sig, i);
        }
        let mut matched: HashMap<String, HashSet<Labels>> = HashMap::new();
        let mut out = Vec::new();
        for ls in &many {
            let sig = signature(&ls.labels, m);
            let Some(&ri) = right.get(&sig) else { continue };
            let rs = &one[ri];
            let (vl, vr) = if swapped { (rs.v, ls.v) } else { (ls.v, rs.v) };
            let (mut value, keep) = elem(op, vl, vr);
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
            } else if !keep {
                continue;
            }
            let mut metric = self.result_metric(&ls.labels, &rs.labels, op, m);
            if return_bool {
                drop_name(&mut metric);
            }
            match m.card {
                Card::OneToOne => {
                    if matched.contains_key(&sig) {
                        return Err(EvalError::Execution(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                        ));
                    }
                    matched.insert(sig, HashSet::new());
                }
                _ => {
                    let set = matched.entry(sig).or_default();
                    if !set.insert(metric.clone()) {
                        return Err(EvalError::Execution(
                            "multiple matches for labels: grouping labels must ensure unique matches".into(),
                        ));
                    }
                }
            }
            out.push(Sample {
                labels: metric,
                t: ls.t,
                v: value,
            });
        }
        check_duplicates(&out)?;
        Ok(out)
    }

    /// `resultMetric`: the many side's labels, `__name__` dropped by arithmetic, only the
    /// `on` labels (or all but `ignoring`) for one-to-one, and `group_x` labels copied
    /// from the one side.
    fn result_metric(&self, many: &Labels, one: &Labels, op: BinOp, m: &Matching) -> Labels {
        let drop = op.drops_name(self.compat);
        let keep = |n: &str| -> bool {
            if drop && n == "__name__" {
                return false;
            }
            if m.card == Card::OneToOne {
                let listed = m.labels.iter().any(|x| x == n);
                return if m.on { listed } else { !listed };
            }
            true
        };
        let simple = m.include.is_empty()
            && !(drop && many.contains_key("__name__"))
            && (m.card != Card::OneToOne || (!m.on && m.labels.is_empty()));
        if simple {
            return many.clone();
        }
        let mut pairs: Vec<(String, String)> = many
            .iter()
            .filter(|(n, _)| keep(n))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        for name in &m.include {
            pairs.retain(|(n, _)| n != name);
            if let Some(v) = one.get(name)
                && !v.is_empty()
            {
                pairs.push((name.clone(), v.to_owned()));
            }
        }
        pairs.into_iter().collect()
    }
}

/// `VectorAnd`: left samples whose signature is on the right.
fn vector_and(lhs: Vec<Sample>, rhs: Vec<Sample>, m: &Matching) -> Vec<Sample> {
    if lhs.is_empty() || rhs.is_empty() {
        return Vec::new();
    }
    let right: HashSet<String> = rhs.iter().map(|s| signature(&s.labels, m)).collect();
    lhs.into_iter()
        .filter(|s| right.contains(&signature(&s.labels, m)))
        .collect()
}

/// `VectorOr`: all left samples, then right samples whose signature is not on the left.
fn vector_or(lhs: Vec<Sample>, rhs: Vec<Sample>, m: &Matching) -> Vec<Sample> {
    if lhs.is_empty() {
        return rhs;
    }
    if rhs.is_empty() {
        return lhs;
    }
    let left: HashSet<String> = lhs.iter().map(|s| signature(&s.labels, m)).collect();
    let mut out = lhs;
    out.extend(
        rhs.into_iter()
            .filter(|s| !left.contains(&signature(&s.labels, m))),
    );
    out
}

/// `VectorUnless`: left samples whose signature is not on the right.
fn vector_unless(lhs: Vec<Sample>, rhs: Vec<Sample>, m: &Matching) -> Vec<Sample> {
    if lhs.is_empty() || rhs.is_empty() {
        return lhs;
    }
    let right: HashSet<String> = rhs.iter().map(|s| signature(&s.labels, m)).collect();
    lhs.into_iter()
        .filter(|s| !right.contains(&signature(&s.labels, m)))
        .collect()
}
