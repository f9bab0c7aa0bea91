//! Functions that are not over range vectors, and the table of all supported functions,
//! after Prometheus's `promql/functions.go` (`FunctionCalls`, `simpleFunc`, `funcRound`,
//! `funcClamp*`, `dateWrapper`, `funcLabelReplace`, `funcLabelJoin`, `funcAbsent`,
//! `funcSort*`, `funcTimestamp`, `funcScalar`, `funcVector`, `quantile`).

use super::aggregate::valid_label_name;
use super::{
    Compat, EvalError, Evaluator, Node, Val, ValueType, check_duplicates, drop_name, exec_err,
    one_name,
};
use crate::value::{Labels, Sample};

macro_rules! funcs {
    ($($variant:ident => $name:literal,)*) => {
        /// A supported PromQL function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Func { $($variant,)* }

        impl Func {
            /// Every supported function, in the order of this table.
            pub const ALL: &'static [Func] = &[$(Func::$variant,)*];

            pub(crate) fn from_name(name: &str) -> Result<Func, EvalError> {
                match name {
                    $($name => Ok(Func::$variant),)*
                    other => Err(EvalError::Unsupported(format!("the function {other}()"))),
                }
            }

            pub fn name(self) -> &'static str {
                match self { $(Func::$variant => $name,)* }
            }
        }
    };
}

funcs! {
    Abs => "abs", Ceil => "ceil", Floor => "floor", Exp => "exp", Ln => "ln", Log2 => "log2",
    Log10 => "log10", Sqrt => "sqrt", Sgn => "sgn", Round => "round",
    Acos => "acos", Acosh => "acosh", Asin => "asin", Asinh => "asinh", Atan => "atan",
    Atanh => "atanh", Cos => "cos", Cosh => "cosh", Sin => "sin", Sinh => "sinh", Tan => "tan",
    Tanh => "tanh", Deg => "deg", Rad => "rad", Pi => "pi",
    Clamp => "clamp", ClampMin => "clamp_min", ClampMax => "clamp_max",
    Minute => "minute", Hour => "hour", DayOfMonth => "day_of_month",
    DayOfWeek => "day_of_week", DayOfYear => "day_of_year", DaysInMonth => "days_in_month",
    Month => "month", Year => "year",
    Time => "time", Timestamp => "timestamp", Scalar => "scalar", Vector => "vector",
    Sort => "sort", SortDesc => "sort_desc", LabelReplace => "label_replace",
    LabelJoin => "label_join", Absent => "absent", HistogramQuantile => "histogram_quantile",
    Rate => "rate", Irate => "irate", Increase => "increase", Delta => "delta",
    Idelta => "idelta", Deriv => "deriv", PredictLinear => "predict_linear",
    Resets => "resets", Changes => "changes",
    AvgOverTime => "avg_over_time", MinOverTime => "min_over_time",
    MaxOverTime => "max_over_time", SumOverTime => "sum_over_time",
    CountOverTime => "count_over_time", LastOverTime => "last_over_time",
    QuantileOverTime => "quantile_over_time", StddevOverTime => "stddev_over_time",
    StdvarOverTime => "stdvar_over_time", PresentOverTime => "present_over_time",
    AbsentOverTime => "absent_over_time",
}

impl Func {
    pub(crate) fn return_type(self) -> ValueType {
        match self {
            Func::Time | Func::Scalar | Func::Pi => ValueType::Scalar,
            _ => ValueType::Vector,
        }
    }

    /// Whether the function takes a range vector.
    pub fn takes_range_vector(self) -> bool {
        matches!(
            self,
            Func::Rate
                | Func::Irate
                | Func::Increase
                | Func::Delta
                | Func::Idelta
                | Func::Deriv
                | Func::PredictLinear
                | Func::Resets
                | Func::Changes
                | Func::AvgOverTime
                | Func::MinOverTime
                | Func::MaxOverTime
                | Func::SumOverTime
                | Func::CountOverTime
                | Func::LastOverTime
                | Func::QuantileOverTime
                | Func::StddevOverTime
                | Func::StdvarOverTime
                | Func::PresentOverTime
                | Func::AbsentOverTime
        )
    }
}

/// Go's `math.Max` / `math.Min`: NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// `quantile`: the φ-quantile of `values` by linear interpolation between closest ranks;
/// NaN for no values or a NaN φ, ±Inf for φ outside [0, 1].
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts first, as Prometheus's `vectorByValueHeap`.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// `createLabelsForAbsentFunction`: the equality matchers of a selector argument (but
/// `__name__`); a label matched more than once, or not by `=`, is left out.
pub(crate) fn absent_labels(arg: &Node) -> Labels {
    let matchers = match arg {
        Node::Selector(sel) | Node::Matrix { sel, .. } => &sel.matchers,
        _ => return Labels::new(),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == "__name__" {
            continue;
        }
        let first = !seen.contains(&m.name.as_str());
        if matches!(m.op, promql_parser::label::MatchOp::Equal) && first {
            pairs.push((m.name.clone(), m.value.clone()));
            seen.push(&m.name);
        } else {
            pairs.retain(|(n, _)| n != &m.name);
        }
    }
    pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

/// A date function of Unix seconds `secs` (UTC), as Go's `time` computes it.
fn date_part(func: Func, secs: i64) -> f64 {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    match func {
        Func::Minute => ((sod / 60) % 60) as f64,
        Func::Hour => (sod / 3_600) as f64,
        Func::DayOfMonth => d as f64,
        // 1970-01-01 was a Thursday (4).
        Func::DayOfWeek => (days + 4).rem_euclid(7) as f64,
        Func::DayOfYear => {
            let before: u32 = (1..m).map(|mm| days_in_month(y, mm)).sum();
            (before + d) as f64
        }
        Func::DaysInMonth => days_in_month(y, m) as f64,
        Func::Month => m as f64,
        Func::Year => y as f64,
        _ => f64::NAN,
    }
}

/// Go's `int64(f)` for a float's seconds: truncation; out-of-range values saturate as
/// amd64 does (to the minimum).
fn go_int64(v: f64) -> i64 {
    if v.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

/// Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in `template` as Go's
/// `Regexp.ExpandString` does.
fn expand(template: &str, caps: &regex::Captures<'_>) -> String {
    let mut out = String::new();
    caps.expand(template, &mut out);
    out
}

impl Evaluator<'_> {
    pub(super) fn call(&mut self, func: Func, args: &[Node], t: i64) -> Result<Val, EvalError> {
        if func.takes_range_vector() {
            return self.range_function(func, args, t);
        }
        match func {
            Func::Time => return Ok(Val::Scalar(t as f64 / 1000.0)),
            Func::Pi => return Ok(Val::Scalar(std::f64::consts::PI)),
            Func::Vector => {
                let v = self.eval_scalar(&args[0], t)?;
                return Ok(Val::Vector(vec![Sample {
                    labels: Labels::new(),
                    t,
                    v,
                }]));
            }
            Func::Scalar => {
                let v = self.eval_vector(&args[0], t)?;
                return Ok(Val::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }));
            }
            Func::Timestamp => {
                let v = match &args[0] {
                    Node::Selector(sel) => self.vector_selector(sel, t, true),
                    other => self.eval_vector(other, t)?,
                };
                let out: Vec<Sample> = v
                    .into_iter()
                    .map(|mut s| {
                        drop_name(&mut s.labels);
                        s.v = s.t as f64 / 1000.0;
                        s.t = t;
                        s
                    })
                    .collect();
                check_duplicates(&out)?;
                return Ok(Val::Vector(out));
            }
            Func::Absent => {
                let v = self.eval_vector(&args[0], t)?;
                return Ok(Val::Vector(if v.is_empty() {
                    vec![Sample {
                        labels: absent_labels(&args[0]),
                        t,
                        v: 1.0,
                    }]
                } else {
                    Vec::new()
                }));
            }
            Func::HistogramQuantile => {
                let q = self.eval_scalar(&args[0], t)?;
                let v = self.eval_vector(&args[1], t)?;
                let out =
                    super::histogram::histogram_quantile(q, v, t, self.compat, &mut self.notes);
                check_duplicates(&out)?;
                return Ok(Val::Vector(out));
            }
            Func::Minute
            | Func::Hour
            | Func::DayOfMonth
            | Func::DayOfWeek
            | Func::DayOfYear
            | Func::DaysInMonth
            | Func::Month
            | Func::Year
                if args.is_empty() =>
            {
                return Ok(Val::Vector(vec![Sample {
                    labels: Labels::new(),
                    t,
                    v: date_part(func, t.div_euclid(1000)),
                }]));
            }
            _ => {}
        }
        // The rest take an instant vector first, and maybe scalars or strings after it.
        let mut v = self.eval_vector(&args[0], t)?;
        // Distinct inputs of one name stay distinct when only `__name__` is dropped.
        let same_name = !matches!(func, Func::LabelReplace | Func::LabelJoin)
            && one_name(v.iter().map(|s| &s.labels));
        let mut extra = Vec::with_capacity(args.len().saturating_sub(1));
        for a in &args[1..] {
            extra.push(self.eval(a, t)?);
        }
        let num = |i: usize| -> f64 {
            match extra.get(i) {
                Some(Val::Scalar(x)) => *x,
                _ => f64::NAN,
            }
        };
        let string = |i: usize| -> String {
            match extra.get(i) {
                Some(Val::Str(s)) => s.clone(),
                _ => String::new(),
            }
        };
        let simple: Option<fn(f64) -> f64> = match func {
            Func::Abs => Some(f64::abs),
            Func::Ceil => Some(f64::ceil),
            Func::Floor => Some(f64::floor),
            Func::Exp => Some(f64::exp),
            Func::Ln => Some(f64::ln),
            Func::Log2 => Some(f64::log2),
            Func::Log10 => Some(f64::log10),
            Func::Sqrt => Some(f64::sqrt),
            Func::Sgn => Some(|x: f64| {
                if x < 0.0 {
                    -1.0
                } else if x > 0.0 {
                    1.0
                } else {
                    x
                }
            }),
            Func::Acos => Some(f64::acos),
            Func::Acosh => Some(f64::acosh),
            Func::Asin => Some(f64::asin),
            Func::Asinh => Some(f64::asinh),
            Func::Atan => Some(f64::atan),
            Func::Atanh => Some(f64::atanh),
            Func::Cos => Some(f64::cos),
            Func::Cosh => Some(f64::cosh),
            Func::Sin => Some(f64::sin),
            Func::Sinh => Some(f64::sinh),
            Func::Tan => Some(f64::tan),
            Func::Tanh => Some(f64::tanh),
            Func::Deg => Some(|x: f64| x * 180.0 / std::f64::consts::PI),
            Func::Rad => Some(|x: f64| x * std::f64::consts::PI / 180.0),
            _ => None,
        };
        let out = if let Some(f) = simple {
            for s in &mut v {
                s.v = f(s.v);
                drop_name(&mut s.labels);
            }
            v
        } else {
            match func {
                Func::Round => {
                    let to_nearest = if extra.is_empty() { 1.0 } else { num(0) };
                    let inverse = 1.0 / to_nearest;
                    for s in &mut v {
                        s.v = (s.v * inverse + 0.5).floor() / inverse;
                        drop_name(&mut s.labels);
                    }
                    v
                }
                Func::Clamp | Func::ClampMin | Func::ClampMax => {
                    let (lo, hi) = match func {
                        Func::Clamp => (num(0), num(1)),
                        Func::ClampMin => (num(0), f64::INFINITY),
                        _ => (f64::NEG_INFINITY, num(0)),
                    };
                    if func == Func::Clamp && hi < lo {
                        return Ok(Val::Vector(Vec::new()));
                    }
                    for s in &mut v {
                        s.v = match func {
                            Func::ClampMin => go_max(lo, s.v),
                            Func::ClampMax => go_min(hi, s.v),
                            _ => go_max(lo, go_min(hi, s.v)),
                        };
                        drop_name(&mut s.labels);
                    }
                    v
                }
                Func::Minute
                | Func::Hour
                | Func::DayOfMonth
                | Func::DayOfWeek
                | Func::DayOfYear
                | Func::DaysInMonth
                | Func::Month
                | Func::Year => {
                    for s in &mut v {
                        s.v = date_part(func, go_int64(s.v));
                        drop_name(&mut s.labels);
                    }
                    v
                }
                Func::Sort | Func::SortDesc => {
                    let asc = func == Func::Sort;
                    v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ => {
                            let o = a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal);
                            if asc { o } else { o.reverse() }
                        }
                    });
                    return Ok(Val::Vector(v));
                }
                Func::LabelReplace => {
                    let (dst, repl, src, re) = (string(0), string(1), string(2), string(3));
                    // 3.x lets `.` match a newline, as its label matchers do; 2.x did not.
                    let pattern = match self.compat {
                        Compat::V2 => format!("^(?:{re})$"),
                        Compat::V3 => format!("^(?s:{re})$"),
                    };
                    let regex = regex::Regex::new(&pattern).map_err(|_| {
                        EvalError::Execution(format!(
                            "invalid regular expression in label_replace(): {re}"
                        ))
                    })?;
                    if !valid_label_name(&dst, self.compat) {
                        return exec_err(format!(
                            "invalid destination label name in label_replace(): {dst}"
                        ));
                    }
                    for s in &mut v {
                        let src_val = s.labels.get(&src).unwrap_or("").to_owned();
                        if let Some(caps) = regex.captures(&src_val) {
                            let res = expand(&repl, &caps);
                            let mut pairs: Vec<(String, String)> = s
                                .labels
                                .iter()
                                .filter(|(n, _)| *n != dst)
                                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                                .collect();
                            if !res.is_empty() {
                                pairs.push((dst.clone(), res));
                            }
                            s.labels = pairs.into_iter().collect();
                        }
                    }
                    v
                }
                Func::LabelJoin => {
                    let (dst, sep) = (string(0), string(1));
                    let srcs: Vec<String> = (2..extra.len()).map(string).collect();
                    for src in &srcs {
                        if !valid_label_name(src, self.compat) {
                            return exec_err(format!(
                                "invalid source label name in label_join(): {src}"
                            ));
                        }
                    }
                    if !valid_label_name(&dst, self.compat) {
                        return exec_err(format!(
                            "invalid destination label name in label_join(): {dst}"
                        ));
                    }
                    for s in &mut v {
                        let joined = srcs
                            .iter()
                            .map(|n| s.labels.get(n).unwrap_or(""))
                            .collect::<Vec<_>>()
                            .join(&sep);
                        let mut pairs: Vec<(String, String)> = s
                            .labels
                            .iter()
                            .filter(|(n, _)| *n != dst)
                            .map(|(n, v)| (n.to_owned(), v.to_owned()))
                            .collect();
                        if !joined.is_empty() {
                            pairs.push((dst.clone(), joined));
                        }
                        s.labels = pairs.into_iter().collect();
                    }
                    v
                }
                other => {
                    return Err(EvalError::Unsupported(format!(
                        "the function {}()",
                        other.name()
                    )));
                }
            }
        };
        if !same_name {
            check_duplicates(&out)?;
        }
        Ok(Val::Vector(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_go() {
        // 2024-02-29T13:45:00Z, a Thursday.
        let t = 1_709_214_300;
        assert_eq!(date_part(Func::Year, t), 2024.0);
        assert_eq!(date_part(Func::Month, t), 2.0);
        assert_eq!(date_part(Func::DayOfMonth, t), 29.0);
        assert_eq!(date_part(Func::DaysInMonth, t), 29.0);
        assert_eq!(date_part(Func::DayOfWeek, t), 4.0);
        assert_eq!(date_part(Func::DayOfYear, t), 60.0);
        assert_eq!(date_part(Func::Hour, t), 13.0);
        assert_eq!(date_part(Func::Minute, t), 45.0);
        // Before the epoch: 1969-12-31T23:59:59Z, a Wednesday.
        assert_eq!(date_part(Func::Year, -1), 1969.0);
        assert_eq!(date_part(Func::DayOfWeek, -1), 3.0);
        assert_eq!(date_part(Func::Hour, -1), 23.0);
    }

    #[test]
    fn quantile_edges() {
        assert!(quantile(0.5, &mut []).is_nan());
        assert!(quantile(f64::NAN, &mut [1.0]).is_nan());
        assert_eq!(quantile(-0.1, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(quantile(1.1, &mut [1.0]), f64::INFINITY);
        assert_eq!(quantile(0.5, &mut [3.0, 1.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(1.0, &mut [3.0, 1.0]), 3.0);
    }

    #[test]
    fn compat_label_names() {
        assert!(valid_label_name("a_1", Compat::V2));
        assert!(!valid_label_name("1a", Compat::V2));
        assert!(valid_label_name("température", Compat::V3));
    }
}
