//! Aggregation operators, after Prometheus's `promql/engine.go` (`aggregation`, and in
//! 3.x `aggregationK` and the Kahan-summed `sum`/`avg`).

use std::collections::HashMap;

use super::{
    Compat, EvalError, Evaluator, Grouping, Node, Val, format_float, functions::quantile, kahan_inc,
};
use crate::value::{Labels, Sample};

/// An aggregation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Quantile,
    CountValues,
}

impl AggOp {
    pub(crate) fn from_token(s: &str) -> Result<AggOp, EvalError> {
        Ok(match s {
            "sum" => AggOp::Sum,
            "avg" => AggOp::Avg,
            "min" => AggOp::Min,
            "max" => AggOp::Max,
            "count" => AggOp::Count,
            "group" => AggOp::Group,
            "stddev" => AggOp::Stddev,
            "stdvar" => AggOp::Stdvar,
            "topk" => AggOp::Topk,
            "bottomk" => AggOp::Bottomk,
            "quantile" => AggOp::Quantile,
            "count_values" => AggOp::CountValues,
            other => {
                return Err(EvalError::Unsupported(format!("the aggregation {other}()")));
            }
        })
    }
}

/// One group's running value for the operators that fold their members into one number
/// (all but `topk`, `bottomk`, `quantile`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acc {
    value: f64,
    kahan_c: f64,
    mean: f64,
    count: f64,
    incremental_mean: bool,
}

impl Acc {
    /// A group's state after its first member `v`.
    pub(crate) fn start(op: AggOp, v: f64, compat: Compat) -> Acc {
        Acc {
            value: match op {
                // 3.x starts a group whose first value is NaN or ±Inf at NaN.
                AggOp::Stddev | AggOp::Stdvar if compat == Compat::V3 && !v.is_finite() => f64::NAN,
                AggOp::Stddev | AggOp::Stdvar => 0.0,
                AggOp::Group => 1.0,
                _ => v,
            },
            kahan_c: 0.0,
            mean: v,
            count: 1.0,
            incremental_mean: false,
        }
    }

    /// Adds one more member `v` (in the order of the input vector).
    pub(crate) fn add(&mut self, op: AggOp, v: f64, compat: Compat) {
        match op {
            AggOp::Sum => match compat {
                Compat::V2 => self.value += v,
                Compat::V3 => (self.value, self.kahan_c) = kahan_inc(v, self.value, self.kahan_c),
            },
            AggOp::Avg => {
                self.count += 1.0;
                match compat {
                    Compat::V2 => avg_v2(self, v),
                    Compat::V3 => avg_v3(self, v),
                }
            }
            AggOp::Group => {}
            AggOp::Max => {
                if self.value < v || self.value.is_nan() {
                    self.value = v;
                }
            }
            AggOp::Min => {
                if self.value > v || self.value.is_nan() {
                    self.value = v;
                }
            }
            AggOp::Count | AggOp::CountValues => self.count += 1.0,
            AggOp::Stddev | AggOp::Stdvar => {
                self.count += 1.0;
                let delta = v - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (v - self.mean);
            }
            AggOp::Topk | AggOp::Bottomk | AggOp::Quantile => {}
        }
    }

    /// The group's value once all members are in.
    pub(crate) fn result(&self, op: AggOp, compat: Compat) -> f64 {
        match op {
            AggOp::Sum => match compat {
                Compat::V2 => self.value,
                Compat::V3 => self.value + self.kahan_c,
            },
            AggOp::Avg => match compat {
                Compat::V2 => self.mean,
                Compat::V3 => {
                    if self.incremental_mean {
                        self.mean + self.kahan_c
                    } else {
                        self.value / self.count + self.kahan_c / self.count
                    }
                }
            },
            AggOp::Count | AggOp::CountValues => self.count,
            AggOp::Stdvar => self.value / self.count,
            AggOp::Stddev => (self.value / self.count).sqrt(),
            AggOp::Min | AggOp::Max | AggOp::Group => self.value,
            AggOp::Topk | AggOp::Bottomk | AggOp::Quantile => f64::NAN,
        }
    }
}

/// Whether `op` keeps its members (`topk`, `bottomk`, `quantile`) instead of folding them.
pub(crate) fn keeps_members(op: AggOp) -> bool {
    matches!(op, AggOp::Topk | AggOp::Bottomk | AggOp::Quantile)
}

/// The order `topk` (`top`) and `bottomk` answer their members in: largest (smallest)
/// first, NaN last, as Prometheus's heaps sort.
pub(crate) fn topk_order(a: f64, b: f64, top: bool) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => {
            let o = a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
            if top { o.reverse() } else { o }
        }
    }
}

/// One group of an aggregation at one step.
#[derive(Debug)]
struct Group {
    labels: Labels,
    acc: Acc,
    members: Vec<Sample>,
}

/// The labels of the group a sample belongs to: `by` keeps the listed labels, `without`
/// drops them and `__name__`.
pub(crate) fn group_labels(l: &Labels, g: &Grouping) -> Labels {
    if g.without {
        l.iter()
            .filter(|(n, _)| *n != "__name__" && !g.labels.iter().any(|x| x == n))
            .collect()
    } else if g.labels.is_empty() {
        Labels::new()
    } else {
        l.iter()
            .filter(|(n, _)| g.labels.iter().any(|x| x == n))
            .collect()
    }
}

/// A hash of the labels [`group_labels`] keeps, computed without building them.
pub(crate) fn group_hash(l: &Labels, g: &Grouping) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    if !g.without && g.labels.is_empty() {
        return 0;
    }
    for (n, v) in l.iter() {
        let keep = if g.without {
            n != "__name__" && !g.labels.iter().any(|x| x == n)
        } else {
            g.labels.iter().any(|x| x == n)
        };
        if keep {
            n.hash(&mut h);
            v.hash(&mut h);
        }
    }
    h.finish()
}

/// Go's check that a float converts to int64 without overflow.
pub(crate) fn convertible_to_i64(v: f64) -> bool {
    v <= i64::MAX as f64 && v >= i64::MIN as f64
}

impl Evaluator<'_> {
    pub(super) fn aggregate(
        &mut self,
        op: AggOp,
        expr: &Node,
        param: Option<&Node>,
        grouping: &Grouping,
        t: i64,
    ) -> Result<Val, EvalError> {
        let param = match param {
            Some(p) => Some(self.eval(p, t)?),
            None => None,
        };
        let vec = self.eval_vector(expr, t)?;
        let scalar_param = match &param {
            Some(Val::Scalar(v)) => *v,
            _ => 0.0,
        };
        if op == AggOp::Quantile {
            self.notes.check_quantile(scalar_param);
        }
        let mut k = 0usize;
        if matches!(op, AggOp::Topk | AggOp::Bottomk) {
            if !convertible_to_i64(scalar_param) {
                return Err(EvalError::Execution(format!(
                    "Scalar value {} overflows int64",
                    format_float(scalar_param)
                )));
            }
            let ki = scalar_param as i64;
            if ki < 1 {
                return Ok(Val::Vector(Vec::new()));
            }
            k = ki.min(vec.len() as i64).max(0) as usize;
        }
        let value_label = match (&op, &param) {
            (AggOp::CountValues, Some(Val::Str(s))) => {
                if !valid_label_name(s, self.compat) {
                    return Err(EvalError::Execution(format!("invalid label name {s:?}")));
                }
                Some(s.clone())
            }
            (AggOp::CountValues, _) => {
                return Err(EvalError::Execution(
                    "count_values needs a string parameter".into(),
                ));
            }
            _ => None,
        };
        let mut grouping = grouping.clone();
        if let Some(vl) = &value_label
            && !grouping.without
        {
            grouping.labels.push(vl.clone());
        }

        // Groups by a 64-bit hash of their labels, as Prometheus's grouping key; the label
        // set is built once per group.
        let mut index: HashMap<u64, usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        for mut s in vec {
            if let Some(vl) = &value_label {
                s.labels.insert(vl, format_float(s.v));
            }
            let key = group_hash(&s.labels, &grouping);
            let gi = match index.get(&key) {
                Some(&i) => i,
                None => {
                    index.insert(key, groups.len());
                    groups.push(Group {
                        labels: group_labels(&s.labels, &grouping),
                        acc: Acc::start(op, s.v, self.compat),
                        members: Vec::new(),
                    });
                    let g = groups.last_mut().expect("just pushed");
                    if keeps_members(op) {
                        g.members.push(s);
                    }
                    continue;
                }
            };
            let g = &mut groups[gi];
            if keeps_members(op) {
                g.members.push(s);
            } else {
                g.acc.add(op, s.v, self.compat);
            }
        }

        let mut out = Vec::with_capacity(groups.len());
        for mut g in groups {
            let value = match op {
                AggOp::Quantile => {
                    let mut vals: Vec<f64> = g.members.iter().map(|s| s.v).collect();
                    quantile(scalar_param, &mut vals)
                }
                AggOp::Topk | AggOp::Bottomk => {
                    let top = op == AggOp::Topk;
                    g.members.sort_by(|a, b| topk_order(a.v, b.v, top));
                    g.members.truncate(k);
                    for mut s in g.members {
                        s.t = t;
                        out.push(s);
                    }
                    continue;
                }
                _ => g.acc.result(op, self.compat),
            };
            out.push(Sample {
                labels: g.labels,
                t,
                v: value,
            });
        }
        Ok(Val::Vector(out))
    }
}

/// 2.x `avg`: an incremental mean, careful with infinities.
fn avg_v2(g: &mut Acc, v: f64) {
    if g.mean.is_infinite() {
        if v.is_infinite() && (g.mean > 0.0) == (v > 0.0) {
            return;
        }
        if !v.is_infinite() && !v.is_nan() {
            return;
        }
    }
    g.mean += v / g.count - g.mean / g.count;
}

/// 3.x `avg`: a Kahan sum divided at the end, switching to an incremental mean if the
/// sum overflows.
fn avg_v3(g: &mut Acc, v: f64) {
    if !g.incremental_mean {
        let (s, c) = kahan_inc(v, g.value, g.kahan_c);
        if !s.is_infinite() {
            g.value = s;
            g.kahan_c = c;
            return;
        }
        g.incremental_mean = true;
        g.mean = g.value / (g.count - 1.0);
        g.kahan_c /= g.count - 1.0;
    }
    if g.mean.is_infinite() {
        if v.is_infinite() && (g.mean > 0.0) == (v > 0.0) {
            return;
        }
        if !v.is_infinite() && !v.is_nan() {
            return;
        }
    }
    let q = (g.count - 1.0) / g.count;
    let (m, c) = kahan_inc(v / g.count, q * g.mean, q * g.kahan_c);
    g.mean = m;
    g.kahan_c = c;
}

/// A label name as the Prometheus of `compat` accepts it: 2.x the legacy charset,
/// 3.x any non-empty UTF-8.
pub(crate) fn valid_label_name(s: &str, compat: Compat) -> bool {
    match compat {
        Compat::V3 => !s.is_empty(),
        Compat::V2 => {
            let mut chars = s.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
    }
}
