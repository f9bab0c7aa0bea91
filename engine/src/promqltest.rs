//! Prometheus's promqltest file format and a runner on this engine.
//!
//! The format and its semantics follow Prometheus's own harness (`promql/test.go` up to
//! 2.x, `promql/promqltest/test.go` in 3.x): `load <interval>` blocks of series
//! descriptions (`0+10x100`, `1-1x5`, `_`, `_x3`, `stale`, `NaN`, `Inf`), `clear`,
//! `eval instant at <t> <expr>` and `eval range from <t> to <t> step <d> <expr>` with the
//! `_fail`, `_ordered`, `_warn` and `_info` variants, the expected results below them, and
//! the newer `expect` lines (`expect fail`, `expect fail msg: …`, `expect fail regex: …`,
//! `expect ordered`, `expect warn`, `expect no_warn`, `expect info`, `expect no_info`,
//! `expect range vector from … to … step …`, `expect string "…"`). Times count from the
//! Unix epoch.
//!
//! As in Prometheus: values are equal within a relative 1e-6 (NaN equals NaN); series
//! order matters only for ordered evaluations; every instant evaluation is run again as a
//! range query from a minute before to a minute after its time, and the step at its time
//! must give the same answer (not for ordered evaluations, nor for expressions using
//! `start()`, `end()`, `range()` or `step()`).
//!
//! What differs, and why: an evaluation the engine answers with
//! [`EvalError::Unsupported`](crate::EvalError::Unsupported) is counted as unsupported,
//! not failed. Expected annotations (`eval_warn`, `eval_info`, `expect warn|info|no_warn|
//! no_info`) are checked by kind only, not by message: Prometheus appends the position in
//! the query, which the engine does not know. Native histograms in series descriptions are
//! not read.
//!
//! Also as in Prometheus: unless the expression uses a function whose answer depends on
//! the evaluation time (`time`, `timestamp`, the date functions, `predict_linear`), every
//! instant evaluation is run again with `@ <its time>` on each selector and subquery that
//! has none (or has `@ start()`/`@ end()`), at the times -10t, 0, t/5, t and 10t (-1s, 0
//! and 1s when t is 0), and must give the same answer each time.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use regex::Regex;

use crate::eval::{Compat, Engine, EngineOptions, EvalError};
use crate::store::{Store, StoreConfig};
use crate::value::{Labels, Value, is_stale_marker, stale_marker};

/// One value of a series description.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqValue {
    /// `_`: no sample at this step.
    Omitted,
    Value(f64),
}

/// A parsed test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub commands: Vec<Command>,
}

/// One command of a test file.
#[derive(Debug, Clone)]
pub enum Command {
    Load(Load),
    Clear,
    Eval(Box<Eval>),
}

/// `load <interval>` and its series.
#[derive(Debug, Clone)]
pub struct Load {
    pub line: usize,
    pub interval_ms: i64,
    pub series: Vec<(Labels, Vec<SeqValue>)>,
}

/// What an evaluation is asked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalAt {
    Instant { t: i64 },
    Range { start: i64, end: i64, step: i64 },
}

/// How an expected failure is matched.
#[derive(Debug, Clone)]
pub enum FailMatch {
    Any,
    Message(String),
    Regex(Regex),
}

impl FailMatch {
    fn matches(&self, msg: &str) -> bool {
        match self {
            FailMatch::Any => true,
            FailMatch::Message(m) => m == msg,
            FailMatch::Regex(r) => r.is_match(msg),
        }
    }
}

impl fmt::Display for FailMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailMatch::Any => f.write_str("any error"),
            FailMatch::Message(m) => write!(f, "the message {m:?}"),
            FailMatch::Regex(r) => write!(f, "the pattern {:?}", r.as_str()),
        }
    }
}

/// An `eval` command and what it expects.
#[derive(Debug, Clone)]
pub struct Eval {
    /// 1-based line of the `eval` command.
    pub line: usize,
    /// The command line as written (trimmed), e.g. `eval instant at 1m sum(x)`.
    pub command: String,
    pub expr: String,
    pub at: EvalAt,
    /// `Some` when the evaluation must fail.
    pub fail: Option<FailMatch>,
    pub ordered: bool,
    /// Expects warning (or info) annotations (`eval_warn`, `expect warn`, …).
    pub warn: bool,
    pub info: bool,
    /// Expects no warning (or info) annotation (`expect no_warn`, `expect no_info`).
    pub no_warn: bool,
    pub no_info: bool,
    /// For an instant evaluation with `expect range vector`: the steps its matrix holds.
    pub range_vector: Option<(i64, i64, i64)>,
    pub expected: Expected,
}

/// The expected result of an evaluation.
#[derive(Debug, Clone)]
pub enum Expected {
    /// Series with their values, each with its 1-based position among the result lines.
    Series(Vec<(usize, Labels, Vec<SeqValue>)>),
    Scalar(f64),
    String(String),
}

/// A test file that does not parse: line and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TestParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TestParseError {}

fn raise<T>(line: usize, message: impl Into<String>) -> Result<T, TestParseError> {
    Err(TestParseError {
        line: line + 1,
        message: message.into(),
    })
}

struct Patterns {
    load: Regex,
    instant: Regex,
    range: Regex,
    expect: Regex,
    expect_range: Regex,
}

fn patterns() -> &'static Patterns {
    static P: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("a constant pattern");
        Patterns {
            load: re(r"^load(?:_(with_nhcb))?\s+(.+?)$"),
            instant: re(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$"),
            range: re(
                r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
            ),
            expect: re(
                r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$",
            ),
            expect_range: re(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$"),
        }
    })
}

/// Parses a promqltest file.
pub fn parse(input: &str) -> Result<TestFile, TestParseError> {
    // As Prometheus's getLines: trimmed, comment lines made blank.
    let lines: Vec<&str> = input
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l
            .split([' ', '\t'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if word == "clear" {
            commands.push(Command::Clear);
        } else if word.starts_with("load") {
            let (next, load) = parse_load(&lines, i)?;
            commands.push(Command::Load(load));
            i = next;
        } else if word.starts_with("eval") {
            let (next, eval) = parse_eval(&lines, i)?;
            commands.push(Command::Eval(Box::new(eval)));
            i = next;
        } else {
            return raise(i, format!("invalid command {l:?}"));
        }
        i += 1;
    }
    Ok(TestFile { commands })
}

fn parse_load(lines: &[&str], mut i: usize) -> Result<(usize, Load), TestParseError> {
    let Some(caps) = patterns().load.captures(lines[i]) else {
        return raise(i, "invalid load command. (load <step:duration>)");
    };
    if caps.get(1).is_some() {
        return raise(i, "load_with_nhcb (native histograms) is not supported");
    }
    let step = &caps[2];
    let interval_ms = parse_duration(step).ok_or_else(|| TestParseError {
        line: i + 1,
        message: format!("invalid step definition {step:?}"),
    })?;
    let line = i + 1;
    let mut series = Vec::new();
    while i + 1 < lines.len() {
        i += 1;
        if lines[i].is_empty() {
            i -= 1;
            break;
        }
        let (labels, vals) = parse_series(lines[i]).map_err(|m| TestParseError {
            line: i + 1,
            message: m,
        })?;
        series.push((labels, vals));
    }
    Ok((
        i,
        Load {
            line,
            interval_ms,
            series,
        },
    ))
}

fn parse_eval(lines: &[&str], mut i: usize) -> Result<(usize, Eval), TestParseError> {
    let p = patterns();
    let l = lines[i];
    let (modifier, at, expr) = if let Some(c) = p.instant.captures(l) {
        let Some(at) = c.get(2) else {
            return raise(i, "an instant evaluation needs `at <time>`");
        };
        let t = parse_duration(at.as_str()).ok_or_else(|| TestParseError {
            line: i + 1,
            message: format!("invalid timestamp definition {:?}", at.as_str()),
        })?;
        (
            c.get(1).map(|m| m.as_str().to_owned()),
            EvalAt::Instant { t },
            c[3].to_owned(),
        )
    } else if let Some(c) = p.range.captures(l) {
        let (start, end, step) = parse_range(&c[2], &c[3], &c[4]).map_err(|m| TestParseError {
            line: i + 1,
            message: m,
        })?;
        (
            c.get(1).map(|m| m.as_str().to_owned()),
            EvalAt::Range { start, end, step },
            c[5].to_owned(),
        )
    } else {
        return raise(
            i,
            "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered|_info] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn|_info] range from <from> to <to> step <step> <query>'",
        );
    };
    let mut eval = Eval {
        line: i + 1,
        command: l.to_owned(),
        expr,
        at,
        fail: None,
        ordered: false,
        warn: false,
        info: false,
        no_warn: false,
        no_info: false,
        range_vector: None,
        expected: Expected::Series(Vec::new()),
    };
    match modifier.as_deref() {
        Some("fail") => eval.fail = Some(FailMatch::Any),
        Some("ordered") => eval.ordered = true,
        Some("warn") => eval.warn = true,
        Some("info") => eval.info = true,
        _ => {}
    }
    let is_instant = matches!(at, EvalAt::Instant { .. });
    let expr_text = eval.expr.clone();
    let eval_line = eval.line;
    let err = |i: usize, m: String| TestParseError {
        line: i + 1,
        message: format!("error in eval {expr_text} (line {eval_line}): {m}"),
    };
    let mut series = Vec::new();
    let mut scalar = None;
    let mut string = None;
    let mut pos = 0;
    let mut fail_lines = 0;
    let (mut saw_warn, mut saw_no_warn, mut saw_info, mut saw_no_info) =
        (false, false, false, false);
    while i + 1 < lines.len() {
        i += 1;
        let def = lines[i];
        if def.is_empty() {
            i -= 1;
            break;
        }
        if eval.fail.is_some() {
            if let Some(msg) = def.strip_prefix("expected_fail_message") {
                eval.fail = Some(FailMatch::Message(msg.trim().to_owned()));
                break;
            }
            if let Some(pat) = def.strip_prefix("expected_fail_regexp") {
                let pat = pat.trim();
                let r = Regex::new(pat).map_err(|e| {
                    err(
                        i,
                        format!("invalid regexp '{pat}' for expected_fail_regexp: {e}"),
                    )
                })?;
                eval.fail = Some(FailMatch::Regex(r));
                break;
            }
        }
        if def.starts_with("expect range vector") {
            let c = p
                .expect_range
                .captures(def)
                .ok_or_else(|| err(i, format!("invalid range vector definition {def:?}")))?;
            let (start, end, step) = parse_range(&c[1], &c[2], &c[3]).map_err(|m| err(i, m))?;
            eval.range_vector = Some((start, end, step));
            continue;
        }
        if let Some(rest) = def.strip_prefix("expect string") {
            let s = parse_go_string(rest.trim()).map_err(|_| {
                err(
                    i,
                    "expected string literal not valid - check that the string is correctly quoted"
                        .into(),
                )
            })?;
            string = Some(s);
            continue;
        }
        if def.split(' ').next() == Some("expect") {
            let c = p.expect.captures(def).ok_or_else(|| {
                err(
                    i,
                    "invalid expect statement, must match `expect <type> <match_type>: <string>` format"
                        .into(),
                )
            })?;
            let matcher = match c.get(2).map(|m| m.as_str()) {
                Some("msg") => FailMatch::Message(c[3].trim().to_owned()),
                Some(_) => {
                    let pat = c[3].trim();
                    FailMatch::Regex(
                        Regex::new(pat)
                            .map_err(|_| err(i, format!("invalid regex {pat} for {}", &c[1])))?,
                    )
                }
                None => FailMatch::Any,
            };
            match &c[1] {
                "ordered" => eval.ordered = true,
                "fail" => {
                    fail_lines += 1;
                    eval.fail = Some(matcher);
                }
                "warn" => saw_warn = true,
                "no_warn" => saw_no_warn = true,
                "info" => saw_info = true,
                _ => saw_no_info = true,
            }
            if saw_info && saw_no_info {
                return Err(err(
                    i,
                    "invalid expect lines, info and no_info cannot be used together".into(),
                ));
            }
            if saw_warn && saw_no_warn {
                return Err(err(
                    i,
                    "invalid expect lines, warn and no_warn cannot be used together".into(),
                ));
            }
            if fail_lines > 1 {
                return Err(err(
                    i,
                    "invalid expect lines, multiple expect fail lines are not allowed".into(),
                ));
            }
            continue;
        }
        pos += 1;
        if let Some(f) = parse_number(def) {
            scalar = Some(f);
            break;
        }
        let (labels, vals) = parse_series(def).map_err(|m| TestParseError {
            line: i + 1,
            message: m,
        })?;
        if vals.len() > 1 && is_instant && eval.range_vector.is_none() {
            return Err(err(
                i,
                "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query".into(),
            ));
        }
        series.push((pos, labels, vals));
    }
    eval.warn |= saw_warn;
    eval.info |= saw_info;
    eval.no_warn = saw_no_warn;
    eval.no_info = saw_no_info;
    eval.expected = match (scalar, string) {
        (Some(f), _) => Expected::Scalar(f),
        (None, Some(s)) => Expected::String(s),
        (None, None) => Expected::Series(series),
    };
    Ok((i, eval))
}

fn parse_range(from: &str, to: &str, step: &str) -> Result<(i64, i64, i64), String> {
    let start = parse_duration(from)
        .ok_or_else(|| format!("invalid start timestamp definition {from:?}"))?;
    let end =
        parse_duration(to).ok_or_else(|| format!("invalid end timestamp definition {to:?}"))?;
    if end < start {
        return Err(format!(
            "invalid test definition, end timestamp ({to}) is before start timestamp ({from})"
        ));
    }
    let step = parse_duration(step).ok_or_else(|| format!("invalid step definition {step:?}"))?;
    Ok((start, end, step))
}

/// A Prometheus duration (`1h30m`, `5m`, `10s`, `100ms`, `2d`, `1w`, `1y`, `0`) in ms.
pub fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    // Largest unit first; each at most once, in this order.
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    const ORDER: [usize; 7] = [0, 1, 2, 3, 6, 4, 5];
    let mut rest = s;
    let mut total: i64 = 0;
    let mut last: Option<usize> = None;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let k = UNITS.iter().position(|(u, _)| rest.starts_with(u))?;
        if last.is_some_and(|l| ORDER[k] <= l) {
            return None;
        }
        last = Some(ORDER[k]);
        rest = &rest[UNITS[k].0.len()..];
        total = total.checked_add(n.checked_mul(UNITS[k].1)?)?;
    }
    Some(total)
}

/// A number as Prometheus's harness reads an expected scalar: a Go integer (decimal,
/// `0x`, `0o`, `0b`) or a Go float (with `NaN`, `Inf`).
fn parse_number(s: &str) -> Option<f64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else {
        None
    };
    if let Some(n) = int {
        return Some(if neg { -(n as f64) } else { n as f64 });
    }
    match lower.as_str() {
        "nan" => return Some(f64::NAN),
        "inf" | "infinity" => {
            return Some(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        _ => {}
    }
    if digits.is_empty()
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// A series description: `metric{label="value", …} values…`, the metric name optional
/// (`{}` for none), values as in `load` blocks.
pub fn parse_series(line: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    if name_end > 0 {
        if bytes[0].is_ascii_digit() {
            return Err(format!(
                "invalid metric name in series description {line:?}"
            ));
        }
        pairs.push(("__name__".into(), line[..name_end].to_owned()));
        i = name_end;
    }
    if i < bytes.len() && bytes[i] == b'{' {
        i += 1;
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= bytes.len() {
                return Err(format!("unclosed `{{` in series description {line:?}"));
            }
            if bytes[i] == b'}' {
                i += 1;
                break;
            }
            // A label name, or a quoted metric name / label name.
            let name = if matches!(bytes[i], b'"' | b'\'' | b'`') {
                let (s, n) = take_go_string(&line[i..])?;
                i += n;
                s
            } else {
                let end = line[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(line.len(), |e| i + e);
                if end == i {
                    return Err(format!(
                        "unexpected character {:?} in label matching, expected label name in {line:?}",
                        line[i..].chars().next().unwrap_or(' ')
                    ));
                }
                let n = line[i..end].to_owned();
                i = end;
                n
            };
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i >= bytes.len() || !matches!(bytes[i], b'"' | b'\'' | b'`') {
                    return Err(format!("expected a quoted label value in {line:?}"));
                }
                let (v, n) = take_go_string(&line[i..])?;
                i += n;
                pairs.push((name, v));
            } else {
                // `{"metric.name"}`: the metric name.
                pairs.push(("__name__".into(), name));
            }
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b',' {
                i += 1;
            } else if i < bytes.len() && bytes[i] == b'}' {
                i += 1;
                break;
            } else {
                return Err(format!("expected `,` or `}}` in {line:?}"));
            }
        }
    }
    if pairs.is_empty() && i == 0 {
        return Err(format!(
            "expected a metric name or `{{` in series description {line:?}"
        ));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("label {} appears twice in {line:?}", w[0].0));
    }
    let labels: Labels = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let rest = &line[i..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(format!("expected a space before the values in {line:?}"));
    }
    let mut vals = Vec::new();
    for item in rest.split_whitespace() {
        parse_series_item(item, &mut vals)
            .map_err(|m| format!("{m} in series description {line:?}"))?;
    }
    Ok((labels, vals))
}

/// One item of a series description; appends its values.
fn parse_series_item(item: &str, vals: &mut Vec<SeqValue>) -> Result<(), String> {
    if item == "_" {
        vals.push(SeqValue::Omitted);
        return Ok(());
    }
    if let Some(n) = item.strip_prefix("_x") {
        let n: u64 = n
            .parse()
            .map_err(|_| format!("invalid repetition {item:?}"))?;
        vals.extend(std::iter::repeat_n(SeqValue::Omitted, cap(n)?));
        return Ok(());
    }
    if item.starts_with("{{") {
        return Err("native histograms are not supported".into());
    }
    // `<value>`, `<value>x<n>` or `<value>(+|-)<step>x<n>`.
    let (head, times) = match item.rfind('x') {
        Some(p)
            if p > 0 && p + 1 < item.len() && item[p + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            let n: u64 = item[p + 1..]
                .parse()
                .map_err(|_| format!("invalid repetition {item:?}"))?;
            (&item[..p], Some(n))
        }
        _ => (item, None),
    };
    // Split `<value><sign><step>` at a sign that is not the first character and does not
    // follow an exponent's `e`.
    let hb = head.as_bytes();
    let split =
        (1..hb.len()).find(|&k| matches!(hb[k], b'+' | b'-') && !matches!(hb[k - 1], b'e' | b'E'));
    match (split, times) {
        (Some(k), Some(n)) => {
            let base = series_value(&head[..k])?;
            let step = series_value(&head[k..])?;
            let mut v = base;
            vals.push(SeqValue::Value(v));
            for _ in 0..cap(n)? {
                v += step;
                vals.push(SeqValue::Value(v));
            }
        }
        (None, Some(n)) => {
            let v = series_value(head)?;
            vals.extend(std::iter::repeat_n(SeqValue::Value(v), cap(n)? + 1));
        }
        (None, None) => vals.push(SeqValue::Value(series_value(head)?)),
        (Some(_), None) => return Err(format!("expected `x<count>` after {item:?}")),
    }
    Ok(())
}

/// A bounded repetition count (a test file is not a way to fill memory).
fn cap(n: u64) -> Result<usize, String> {
    if n > 1_000_000 {
        return Err(format!("repetition {n} is more than 1,000,000"));
    }
    Ok(n as usize)
}

fn series_value(s: &str) -> Result<f64, String> {
    if s == "stale" {
        return Ok(stale_marker());
    }
    parse_number(s).ok_or_else(|| format!("invalid number {s:?}, expected a number or \"stale\""))
}

/// A whole Go string literal.
fn parse_go_string(s: &str) -> Result<String, String> {
    let (v, n) = take_go_string(s)?;
    if n != s.len() {
        return Err(format!("unexpected text after the string {s:?}"));
    }
    Ok(v)
}

/// A Go string literal at the start of `s` (`"…"` with escapes, `'…'`, or `` `…` ``):
/// its value and its length in bytes.
fn take_go_string(s: &str) -> Result<(String, usize), String> {
    let mut chars = s.char_indices();
    let Some((_, quote)) = chars.next() else {
        return Err("expected a string".into());
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, i + c.len_utf8()));
        }
        if c == '\\' && quote != '`' {
            let Some((_, e)) = chars.next() else { break };
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '\\' | '"' | '\'' | '`' => out.push(e),
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = (0..n)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .map_err(|_| format!("invalid escape \\{e}{hex}"))?;
                    out.push(
                        char::from_u32(code).ok_or_else(|| format!("invalid escape \\{e}{hex}"))?,
                    );
                }
                d @ '0'..='7' => {
                    let mut code = d.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        let (_, c) = chars.next().ok_or("short octal escape")?;
                        code = code * 8 + c.to_digit(8).ok_or("invalid octal escape")?;
                    }
                    out.push(char::from_u32(code).ok_or("invalid octal escape")?);
                }
                other => return Err(format!("unknown escape sequence \\{other}")),
            }
        } else {
            out.push(c);
        }
    }
    Err(format!("unterminated string {s:?}"))
}

// ---------------------------------------------------------------------------------------
// The runner.

/// How one evaluation went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    /// Why, and for a wrong answer the expected and the actual result, one series a line.
    Failed {
        message: String,
        expected: Option<String>,
        got: Option<String>,
    },
    /// The engine does not evaluate this (the reason).
    Unsupported(String),
}

/// The result of one `eval` command (or of a file that could not run).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// 1-based line of the `eval` command (of the error for a file that does not parse).
    pub line: usize,
    /// The `eval` line as written.
    pub command: String,
    pub expr: String,
    pub outcome: Outcome,
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub compat: Compat,
    pub lookback: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            compat: Compat::V3,
            lookback: Duration::from_secs(300),
        }
    }
}

/// Parses and runs a test file; one result per `eval` command. A file that does not parse
/// gives one failed result at the line of its error.
pub fn run(input: &str, options: &RunOptions) -> Vec<CaseResult> {
    match parse(input) {
        Ok(file) => run_parsed(&file, options),
        Err(e) => vec![CaseResult {
            line: e.line,
            command: String::new(),
            expr: String::new(),
            outcome: Outcome::Failed {
                message: format!("the test file does not parse: {}", e.message),
                expected: None,
                got: None,
            },
        }],
    }
}

fn new_store() -> Store {
    Store::new(StoreConfig {
        // Test data spans from the epoch; nothing is dropped.
        retention_ms: i64::MAX / 4,
        max_series: 1_000_000,
    })
}

/// Runs a parsed test file.
pub fn run_parsed(file: &TestFile, options: &RunOptions) -> Vec<CaseResult> {
    let engine = Engine::new(EngineOptions {
        lookback: options.lookback,
        compat: options.compat,
    });
    let mut store = new_store();
    let mut load_error: Option<String> = None;
    let mut results = Vec::new();
    for cmd in &file.commands {
        match cmd {
            Command::Clear => {
                store = new_store();
                load_error = None;
            }
            Command::Load(load) => {
                if let Err(e) = append_load(&mut store, load) {
                    load_error = Some(format!("the load at line {} failed: {e}", load.line));
                }
            }
            Command::Eval(eval) => {
                let outcome = match &load_error {
                    Some(e) => Outcome::Failed {
                        message: e.clone(),
                        expected: None,
                        got: None,
                    },
                    None => run_eval(&engine, &store, eval),
                };
                results.push(CaseResult {
                    line: eval.line,
                    command: eval.command.clone(),
                    expr: eval.expr.clone(),
                    outcome,
                });
            }
        }
    }
    results
}

/// Appends a load's samples. A series listed twice in one load keeps its last listing,
/// as Prometheus's harness keeps one definition per series (a map by label hash).
fn append_load(store: &mut Store, load: &Load) -> Result<(), crate::store::StoreError> {
    let mut last: HashMap<&Labels, usize> = HashMap::new();
    for (i, (labels, _)) in load.series.iter().enumerate() {
        last.insert(labels, i);
    }
    for (i, (labels, vals)) in load.series.iter().enumerate() {
        if last.get(labels) != Some(&i) {
            continue;
        }
        for (i, v) in vals.iter().enumerate() {
            if let SeqValue::Value(v) = v {
                store.append(labels, i as i64 * load.interval_ms, *v)?;
            }
        }
    }
    Ok(())
}

/// A failure with a message only.
fn fail(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        message: message.into(),
        expected: None,
        got: None,
    }
}

/// What to do with an evaluation error.
fn on_error(eval: &Eval, e: &EvalError, what: &str) -> Outcome {
    if let EvalError::Unsupported(_) = e {
        return Outcome::Unsupported(e.to_string());
    }
    match &eval.fail {
        Some(m) if what.is_empty() => {
            let msg = error_message(e);
            if m.matches(&msg) {
                Outcome::Passed
            } else {
                fail(format!(
                    "expected an error matching {m} evaluating {:?}, but got: {msg}",
                    eval.expr
                ))
            }
        }
        _ => fail(format!("error evaluating {:?}{what}: {e}", eval.expr)),
    }
}

/// The error's message as Prometheus would print it (without our variant's prefix).
fn error_message(e: &EvalError) -> String {
    match e {
        EvalError::Parse(m) | EvalError::Execution(m) | EvalError::Unsupported(m) => m.clone(),
    }
}

fn run_eval(engine: &Engine, store: &Store, eval: &Eval) -> Outcome {
    let EvalAt::Instant { t } = eval.at else {
        return run_query(engine, store, eval, &eval.expr, None);
    };
    let outcome = run_query(engine, store, eval, &eval.expr, Some(t));
    if outcome != Outcome::Passed {
        return outcome;
    }
    let Some((rewritten, times)) = at_modifier_cases(&eval.expr, t) else {
        return outcome;
    };
    for et in times {
        match run_query(engine, store, eval, &rewritten, Some(et)) {
            Outcome::Passed => {}
            Outcome::Failed {
                message,
                expected,
                got,
            } => {
                return Outcome::Failed {
                    message: format!("with @ added, {rewritten:?} at {et} ms: {message}"),
                    expected,
                    got,
                };
            }
            unsupported => return unsupported,
        }
    }
    Outcome::Passed
}

/// The annotations an evaluation expects: some warnings (infos), or none. Messages are
/// not compared: Prometheus appends the position in the query, which the engine lacks.
fn check_annotations(eval: &Eval, notes: &crate::eval::Annotations) -> Result<(), String> {
    for (kind, want, want_none, got) in [
        ("warning", eval.warn, eval.no_warn, &notes.warnings),
        ("info", eval.info, eval.no_info, &notes.infos),
    ] {
        if want && got.is_empty() {
            return Err(format!("expected {kind} annotations but got none"));
        }
        if want_none && !got.is_empty() {
            return Err(format!(
                "expected no {kind} annotation but got: {}",
                got.join("; ")
            ));
        }
    }
    Ok(())
}

/// One query of an evaluation: `expr` (the evaluation's own or its `@` rewrite) as a
/// range query, or as an instant query at `instant` checked again in range mode.
fn run_query(
    engine: &Engine,
    store: &Store,
    eval: &Eval,
    expr: &str,
    instant: Option<i64>,
) -> Outcome {
    let (result, eval_t) = match (instant, eval.at) {
        (Some(t), _) => (engine.instant_annotated(store, expr, t), Some(t)),
        (None, EvalAt::Range { start, end, step }) => {
            (engine.range_annotated(store, expr, start, end, step), None)
        }
        (None, EvalAt::Instant { t }) => (engine.instant_annotated(store, expr, t), Some(t)),
    };
    let (value, notes) = match result {
        Ok(v) => v,
        Err(e) => return on_error(eval, &e, ""),
    };
    if expr == eval.expr
        && let Err(message) = check_annotations(eval, &notes)
    {
        return fail(format!("evaluating {expr:?}: {message}"));
    }
    if eval.fail.is_some() {
        return fail(format!(
            "expected an error evaluating {:?} but got none; got {}",
            expr,
            render_value(&value, eval).join("; ")
        ));
    }
    if let Err(message) = compare(eval, &value) {
        return Outcome::Failed {
            message,
            expected: Some(render_expected(eval).join("\n")),
            got: Some(render_value(&value, eval).join("\n")),
        };
    }
    let Some(t) = eval_t else {
        return Outcome::Passed;
    };
    if eval.range_vector.is_some()
        || matches!(eval.expected, Expected::String(_))
        || eval.ordered
        || context_funcs(expr)
    {
        return Outcome::Passed;
    }
    // The same at the middle step of a range query around `t`.
    let range = match engine.range(store, expr, t - 60_000, t + 60_000, 60_000) {
        Ok(v) => v,
        Err(e) => return on_error(eval, &e, " in range mode"),
    };
    let Value::Matrix(matrix) = &range else {
        return fail(format!(
            "range mode: a range query of {:?} answered {} instead of a matrix",
            expr,
            kind(&range)
        ));
    };
    let mut vec = Vec::new();
    for s in matrix {
        if let Some(p) = s.points.iter().find(|p| p.t == t) {
            vec.push(crate::value::Sample {
                labels: s.labels.clone(),
                t,
                v: p.v,
            });
        }
    }
    let at_t = if matches!(value, Value::Scalar(_)) {
        match vec.first() {
            Some(s) => Value::Scalar(crate::value::Point { t, v: s.v }),
            None => {
                return fail(format!(
                    "range mode: the range query of {:?} has no point at {t} ms",
                    expr
                ));
            }
        }
    } else {
        Value::Vector(vec)
    };
    if let Err(message) = sorted(&range).and_then(|()| compare(eval, &at_t)) {
        return Outcome::Failed {
            message: format!(
                "range mode (the step at {t} ms of a range query around it): {message}"
            ),
            expected: Some(render_expected(eval).join("\n")),
            got: Some(render_value(&at_t, eval).join("\n")),
        };
    }
    Outcome::Passed
}

/// Functions whose answer depends on the evaluation time even when their arguments do
/// not (Prometheus's `AtModifierUnsafeFunctions`).
const AT_UNSAFE_FUNCTIONS: [&str; 11] = [
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// Prometheus's `atModifierTestCases`: `expr` with `@ t` on every selector and subquery
/// without one (not inside a subquery that has one), and the times to evaluate it at;
/// `None` when the expression uses an [`AT_UNSAFE_FUNCTIONS`] function or does not parse.
fn at_modifier_cases(expr: &str, t: i64) -> Option<(String, Vec<i64>)> {
    let mut ast = promql_parser::parser::parse(expr).ok()?;
    let mut unsafe_fn = false;
    set_at(&mut ast, t, false, &mut unsafe_fn);
    if unsafe_fn {
        return None;
    }
    let times = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    Some((ast.to_string(), times))
}

fn set_at(e: &mut promql_parser::parser::Expr, t: i64, under_at: bool, unsafe_fn: &mut bool) {
    use promql_parser::parser::{AtModifier, Expr, VectorSelector};
    let at = || {
        let d = Duration::from_millis(t.unsigned_abs());
        AtModifier::At(if t >= 0 {
            std::time::UNIX_EPOCH + d
        } else {
            std::time::UNIX_EPOCH - d
        })
    };
    // `@ start()` and `@ end()` become `@ t` too: Prometheus sets the timestamp the
    // rewrite prints over them.
    let mark = |vs: &mut VectorSelector| {
        if !matches!(vs.at, Some(AtModifier::At(_))) {
            vs.at = Some(at());
        }
    };
    match e {
        Expr::VectorSelector(vs) => {
            if !under_at {
                mark(vs);
            }
        }
        Expr::MatrixSelector(ms) => {
            if !under_at {
                mark(&mut ms.vs);
            }
        }
        Expr::Subquery(sq) => {
            if !under_at && !matches!(sq.at, Some(AtModifier::At(_))) {
                sq.at = Some(at());
            }
            set_at(&mut sq.expr, t, true, unsafe_fn);
        }
        Expr::Aggregate(a) => {
            set_at(&mut a.expr, t, under_at, unsafe_fn);
            if let Some(p) = &mut a.param {
                set_at(p, t, under_at, unsafe_fn);
            }
        }
        Expr::Unary(u) => set_at(&mut u.expr, t, under_at, unsafe_fn),
        Expr::Binary(b) => {
            set_at(&mut b.lhs, t, under_at, unsafe_fn);
            set_at(&mut b.rhs, t, under_at, unsafe_fn);
        }
        Expr::Paren(p) => set_at(&mut p.expr, t, under_at, unsafe_fn),
        Expr::Call(c) => {
            if !under_at && AT_UNSAFE_FUNCTIONS.contains(&c.func.name) {
                *unsafe_fn = true;
            }
            for arg in &mut c.args.args {
                set_at(arg, t, under_at, unsafe_fn);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn context_funcs(expr: &str) -> bool {
    static P: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    P.get_or_init(|| Regex::new(r"(start|end|range|step)\(\)").expect("a constant pattern"))
        .is_match(expr)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Scalar(_) => "a scalar",
        Value::String { .. } => "a string",
        Value::Vector(_) => "a vector",
        Value::Matrix(_) => "a matrix",
    }
}

/// Prometheus's `almost.Equal` with its epsilon 1e-6: NaN equals NaN; otherwise equal,
/// or a relative difference below epsilon (absolute near zero).
pub fn almost_equal(a: f64, b: f64) -> bool {
    crate::value::almost_equal_within(a, b, 1e-6)
}

fn sorted(v: &Value) -> Result<(), String> {
    if let Value::Matrix(m) = v
        && let Some(w) = m.windows(2).find(|w| w[0].labels > w[1].labels)
    {
        return Err(format!(
            "matrix results should always be sorted by labels, but {} comes before {}",
            w[0].labels, w[1].labels
        ));
    }
    Ok(())
}

/// Compares a result with what `eval` expects, as Prometheus's `compareResult`.
fn compare(eval: &Eval, value: &Value) -> Result<(), String> {
    let expected_series: HashMap<&Labels, (usize, &Vec<SeqValue>)> = match &eval.expected {
        Expected::Series(s) => s.iter().map(|(pos, l, v)| (l, (*pos, v))).collect(),
        _ => HashMap::new(),
    };
    let expect_scalar = matches!(eval.expected, Expected::Scalar(_));
    match value {
        Value::Matrix(m) => {
            if eval.ordered {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if expect_scalar {
                return Err("expected scalar result, but got a matrix".into());
            }
            sorted(value)?;
            let (start, end, step) = match (eval.at, eval.range_vector) {
                (_, Some(r)) => r,
                (EvalAt::Range { start, end, step }, None) => (start, end, step),
                (EvalAt::Instant { t }, None) => (t, t, 0),
            };
            let mut seen = 0;
            for s in m {
                let Some((_, vals)) = expected_series.get(&s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has {}",
                        s.labels,
                        fmt_points(&s.points)
                    ));
                };
                seen += 1;
                let mut exp = Vec::new();
                for (i, v) in vals.iter().enumerate() {
                    let t = start + i as i64 * step;
                    if t > end {
                        return Err(format!(
                            "expected {} points for {}, but query time range cannot return this many points",
                            vals.len(),
                            s.labels
                        ));
                    }
                    if let SeqValue::Value(v) = v {
                        exp.push((t, *v));
                    }
                }
                if exp.len() != s.points.len() {
                    return Err(format!(
                        "expected {} points for {}, but got {}",
                        exp.len(),
                        s.labels,
                        fmt_points(&s.points)
                    ));
                }
                for (i, ((t, v), p)) in exp.iter().zip(&s.points).enumerate() {
                    if *t != p.t {
                        return Err(format!(
                            "expected point {i} of {} at {t} ms, but it is at {} ms",
                            s.labels, p.t
                        ));
                    }
                    if !almost_equal(*v, p.v) {
                        return Err(format!(
                            "expected {} at {t} ms for {}, but got {}",
                            fmt_f(*v),
                            s.labels,
                            fmt_f(p.v)
                        ));
                    }
                }
            }
            if seen != expected_series.len() {
                let missing = expected_series
                    .keys()
                    .find(|l| !m.iter().any(|s| s.labels == ***l))
                    .map(|l| l.to_string())
                    .unwrap_or_default();
                return Err(format!("expected metric {missing} not found"));
            }
        }
        Value::Vector(vec) => {
            if expect_scalar {
                return Err("expected scalar result, but got a vector".into());
            }
            let mut seen = 0;
            for (pos, s) in vec.iter().enumerate() {
                let Some((exp_pos, vals)) = expected_series.get(&s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has value {}",
                        s.labels,
                        fmt_f(s.v)
                    ));
                };
                if eval.ordered && *exp_pos != pos + 1 {
                    return Err(format!(
                        "expected metric {} at position {exp_pos} but was at {}",
                        s.labels,
                        pos + 1
                    ));
                }
                let exp = match vals.first() {
                    Some(SeqValue::Value(v)) => *v,
                    _ => {
                        return Err(format!("no expected value for {} (`_`)", s.labels));
                    }
                };
                if !almost_equal(exp, s.v) {
                    return Err(format!(
                        "expected {} for {} but got {}",
                        fmt_f(exp),
                        s.labels,
                        fmt_f(s.v)
                    ));
                }
                seen += 1;
            }
            if seen != expected_series.len() {
                let missing = expected_series
                    .keys()
                    .find(|l| !vec.iter().any(|s| s.labels == ***l))
                    .map(|l| l.to_string())
                    .unwrap_or_default();
                return Err(format!("expected metric {missing} not found"));
            }
        }
        Value::Scalar(p) => {
            let Expected::Scalar(exp) = eval.expected else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {}",
                    fmt_f(p.v)
                ));
            };
            if !almost_equal(exp, p.v) {
                return Err(format!(
                    "expected scalar {} but got {}",
                    fmt_f(exp),
                    fmt_f(p.v)
                ));
            }
        }
        Value::String { value, .. } => {
            let exp = match &eval.expected {
                Expected::String(s) => s.as_str(),
                _ => "",
            };
            if exp != value {
                return Err(format!("expected string {exp:?} but got {value:?}"));
            }
        }
    }
    Ok(())
}

/// A value as test files write it (`stale` for the stale marker).
pub fn fmt_f(v: f64) -> String {
    if is_stale_marker(v) {
        "stale".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn fmt_points(points: &[crate::value::Point]) -> String {
    let mut s = format!(
        "{} point{}",
        points.len(),
        if points.len() == 1 { "" } else { "s" }
    );
    for p in points.iter().take(20) {
        let _ = write!(s, " {}@{}", fmt_f(p.v), p.t);
    }
    if points.len() > 20 {
        s.push_str(" …");
    }
    s
}

/// The expected result, one series a line, in the steps of the evaluation.
fn render_expected(eval: &Eval) -> Vec<String> {
    match &eval.expected {
        Expected::Scalar(f) => vec![fmt_f(*f)],
        Expected::String(s) => vec![format!("{s:?}")],
        Expected::Series(series) => {
            let mut lines: Vec<String> = series
                .iter()
                .map(|(_, l, vals)| {
                    let mut s = l.to_string();
                    for v in vals {
                        s.push(' ');
                        match v {
                            SeqValue::Omitted => s.push('_'),
                            SeqValue::Value(v) => s.push_str(&fmt_f(*v)),
                        }
                    }
                    s
                })
                .collect();
            if !eval.ordered {
                lines.sort();
            }
            lines
        }
    }
}

/// An actual result in the same notation as [`render_expected`] (`_` for a missing step).
fn render_value(value: &Value, eval: &Eval) -> Vec<String> {
    match value {
        Value::Scalar(p) => vec![fmt_f(p.v)],
        Value::String { value, .. } => vec![format!("{value:?}")],
        Value::Vector(v) => {
            let mut lines: Vec<String> = v
                .iter()
                .map(|s| format!("{} {}", s.labels, fmt_f(s.v)))
                .collect();
            if !eval.ordered {
                lines.sort();
            }
            lines
        }
        Value::Matrix(m) => {
            let (start, end, step) = match (eval.at, eval.range_vector) {
                (_, Some(r)) => r,
                (EvalAt::Range { start, end, step }, None) => (start, end, step),
                (EvalAt::Instant { t }, None) => (t, t, 0),
            };
            m.iter()
                .map(|s| {
                    let mut line = s.labels.to_string();
                    if step > 0
                        && s.points
                            .iter()
                            .all(|p| (p.t - start) % step == 0 && p.t <= end)
                    {
                        let mut it = s.points.iter().peekable();
                        let mut t = start;
                        while t <= end {
                            match it.peek() {
                                Some(p) if p.t == t => {
                                    let _ = write!(line, " {}", fmt_f(p.v));
                                    it.next();
                                }
                                _ => line.push_str(" _"),
                            }
                            t += step;
                        }
                    } else {
                        for p in &s.points {
                            let _ = write!(line, " {}@{}", fmt_f(p.v), p.t);
                        }
                    }
                    line
                })
                .collect()
        }
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub unsupported: usize,
}

impl Totals {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed { .. } => self.failed += 1,
            Outcome::Unsupported(_) => self.unsupported += 1,
        }
    }
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} unsupported",
            self.passed, self.failed, self.unsupported
        )
    }
}

/// A line diff of expected and actual results: `-` only expected, `+` only got, two
/// spaces in both.
pub fn diff(expected: &str, got: &str) -> String {
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = got.lines().collect();
    let mut out = String::new();
    for l in &exp {
        let mark = if act.contains(l) { ' ' } else { '-' };
        let _ = writeln!(out, "{mark} {l}");
    }
    for l in &act {
        if !exp.contains(l) {
            let _ = writeln!(out, "+ {l}");
        }
    }
    out
}

#[cfg(test)]
mod tests;
