//! Prometheus's rule unit tests (`promtool test rules`, 2.42 `cmd/promtool/unittest.go`)
//! on this engine: the same file format, the same evaluation loop, the same verdicts and
//! failure messages.
//!
//! For each test group the input series are loaded into a fresh [`Store`]; every
//! `evaluation_interval` from 0 to the largest `eval_time` all rule groups are evaluated in
//! `group_eval_order` (recorded series and `ALERTS` written to the store); alert tests are
//! checked against the evaluation at or just before their `eval_time`; expression tests run
//! at the end. Values compare exactly, as promtool's `reflect.DeepEqual` does.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use promdash_queries::rules::duration::{format_model_duration, parse_model_duration};
use promdash_queries::rules::eval::{
    AlertStatus, EvalContext, GroupState, QuerySample, RuleBackend,
};
use promdash_queries::rules::template::LabelMap;
use promdash_queries::rules::yaml::{self, Kind, Node};
use promdash_queries::rules::{glob, load_rule_file};

use crate::eval::{Compat, Engine, EngineOptions};
use crate::promqltest::{SeqValue, parse_series};
use crate::store::{Store, StoreConfig};
use crate::value::{Labels, Value};

/// A unit-test file.
#[derive(Debug, Clone, Default)]
pub struct UnitTestFile {
    pub rule_files: Vec<String>,
    pub evaluation_interval: Duration,
    pub group_eval_order: Vec<String>,
    pub tests: Vec<TestGroup>,
}

/// One entry of `tests`.
#[derive(Debug, Clone, Default)]
pub struct TestGroup {
    pub interval: Duration,
    pub input_series: Vec<(String, String)>,
    pub alert_rule_test: Vec<AlertTest>,
    pub promql_expr_test: Vec<ExprTest>,
    pub external_labels: LabelMap,
    pub external_url: String,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct AlertTest {
    pub eval_time: Duration,
    pub alertname: String,
    pub exp_alerts: Vec<(LabelMap, LabelMap)>,
}

#[derive(Debug, Clone, Default)]
pub struct ExprTest {
    pub expr: String,
    pub eval_time: Duration,
    pub exp_samples: Vec<(String, f64)>,
}

/// What one file's run printed: `errors` empty on success.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    /// Warnings promtool prints to stderr before the verdict.
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

/// Runs one unit-test file.
pub fn run_file(path: &Path) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            outcome.errors.push(format!("open {}: {e}", path.display()));
            return outcome;
        }
    };
    let file = match parse_unit_test_file(&text) {
        Ok(f) => f,
        Err(e) => {
            outcome.errors.push(format!("{}:{e}", path.display()));
            return outcome;
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut rule_files = Vec::new();
    for rf in &file.rule_files {
        let full = if rf.is_empty() || Path::new(rf).is_absolute() {
            PathBuf::from(rf)
        } else {
            base.join(rf)
        };
        let found = glob::glob(&full.to_string_lossy());
        if found.is_empty() {
            outcome.warnings.push(format!(
                "  WARNING: no file match pattern {}",
                full.display()
            ));
        }
        rule_files.extend(found);
    }
    let interval = if file.evaluation_interval.is_zero() {
        Duration::from_secs(60)
    } else {
        file.evaluation_interval
    };
    let mut order = HashMap::new();
    for (i, g) in file.group_eval_order.iter().enumerate() {
        if order.insert(g.clone(), i).is_some() {
            outcome
                .errors
                .push(format!("group name repeated in evaluation order: {g}"));
            return outcome;
        }
    }
    for tg in &file.tests {
        outcome
            .errors
            .extend(run_group(tg, interval, &order, &rule_files));
    }
    outcome
}

/// The store and engine a test group runs on.
struct Suite {
    store: RefCell<Store>,
    engine: Engine,
}

impl RuleBackend for Suite {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String> {
        let store = self.store.borrow();
        match self.engine.instant(&store, expr, t_ms) {
            Ok(Value::Vector(v)) => Ok(v
                .into_iter()
                .map(|s| QuerySample {
                    labels: to_map(&s.labels),
                    value: s.v,
                })
                .collect()),
            Ok(Value::Scalar(p)) => Ok(vec![QuerySample {
                labels: LabelMap::new(),
                value: p.v,
            }]),
            Ok(_) => Err("rule result is not a vector or scalar".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn append(&mut self, labels: &LabelMap, t_ms: i64, value: f64) {
        let l: Labels = labels.iter().collect();
        // Out-of-order or duplicate samples are dropped, as Prometheus's appender logs them.
        let _ = self.store.borrow_mut().append(&l, t_ms, value);
    }
}

fn to_map(l: &Labels) -> LabelMap {
    l.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn run_group(
    tg: &TestGroup,
    eval_interval: Duration,
    order: &HashMap<String, usize>,
    rule_files: &[PathBuf],
) -> Vec<String> {
    let mut errs = Vec::new();
    // Input series.
    let mut store = Store::new(StoreConfig {
        // Test data spans from the epoch; nothing is dropped.
        retention_ms: i64::MAX / 4,
        max_series: 1_000_000,
    });
    let step = tg.interval.as_millis() as i64;
    for (series, values) in &tg.input_series {
        match parse_series(&format!("{series} {values}")) {
            Ok((labels, vals)) => {
                for (i, v) in vals.iter().enumerate() {
                    if let SeqValue::Value(v) = v {
                        let _ = store.append(&labels, i as i64 * step, *v);
                    }
                }
            }
            Err(e) => return vec![e],
        }
    }
    let mut suite = Suite {
        store: RefCell::new(store),
        engine: Engine::new(EngineOptions {
            lookback: Duration::from_secs(300),
            compat: Compat::V2,
        }),
    };
    // Rule groups.
    let mut groups = Vec::new();
    let mut load_errs = Vec::new();
    for f in rule_files {
        match load_rule_file(f) {
            Ok(rf) => {
                for g in &rf.groups {
                    groups.push(GroupState::new(g, &f.display().to_string(), tg.interval));
                }
            }
            Err(e) => load_errs.push(e.to_string()),
        }
    }
    if !load_errs.is_empty() {
        return load_errs;
    }
    groups.sort_by_key(|g| order.get(&g.name).copied().unwrap_or(0));
    let ctx = EvalContext {
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone(),
    };
    for a in &tg.alert_rule_test {
        if a.alertname.is_empty() {
            let in_group = if tg.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", tg.name)
            };
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                format_model_duration(a.eval_time)
            )];
        }
    }
    let mut times: Vec<Duration> = tg.alert_rule_test.iter().map(|a| a.eval_time).collect();
    times.sort();
    times.dedup();
    let max = tg
        .alert_rule_test
        .iter()
        .map(|a| a.eval_time)
        .chain(tg.promql_expr_test.iter().map(|p| p.eval_time))
        .max()
        .unwrap_or_default();
    let mut curr = 0;
    let mut ts = Duration::ZERO;
    let step = eval_interval;
    while ts <= max {
        let ts_ms = ts.as_millis() as i64;
        let mut eval_errs = Vec::new();
        for g in &mut groups {
            g.eval(ts_ms, &mut suite, &ctx);
            for r in &g.rules {
                if let Some(e) = &r.last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.rule.name(),
                        go_duration(ts)
                    ));
                }
            }
        }
        let stop = !eval_errs.is_empty();
        errs.extend(eval_errs);
        if stop {
            return errs;
        }
        while curr < times.len() && ts <= times[curr] && times[curr] < ts + step {
            let t = times[curr];
            for case in tg.alert_rule_test.iter().filter(|a| a.eval_time == t) {
                let mut got: Vec<(LabelMap, LabelMap)> = Vec::new();
                for g in &groups {
                    for r in &g.rules {
                        if !r.rule.is_alert() || r.rule.name() != case.alertname {
                            continue;
                        }
                        for a in r.active.values() {
                            if a.state == AlertStatus::Firing {
                                got.push((a.labels.clone(), a.annotations.clone()));
                            }
                        }
                    }
                }
                let mut exp: Vec<(LabelMap, LabelMap)> = case
                    .exp_alerts
                    .iter()
                    .map(|(l, a)| {
                        let mut l = l.clone();
                        l.insert("alertname".into(), case.alertname.clone());
                        (l, a.clone())
                    })
                    .collect();
                got.sort();
                exp.sort();
                if got != exp {
                    let name = if tg.name.is_empty() {
                        String::new()
                    } else {
                        format!("    name: {},\n", tg.name)
                    };
                    errs.push(format!(
                        "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        case.alertname,
                        format_model_duration(case.eval_time),
                        indent_lines(&alerts_string(&exp), "            "),
                        indent_lines(&alerts_string(&got), "            ")
                    ));
                }
            }
            curr += 1;
        }
        ts += step;
    }
    'cases: for case in &tg.promql_expr_test {
        let t = case.eval_time.as_millis() as i64;
        let got = match suite.query(&case.expr, t) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!(
                    "    expr: {:?}, time: {}, err: {e}",
                    case.expr,
                    format_model_duration(case.eval_time)
                ));
                continue;
            }
        };
        let mut got: Vec<(LabelMap, f64)> = got.into_iter().map(|s| (s.labels, s.value)).collect();
        let mut exp = Vec::new();
        for (labels, v) in &case.exp_samples {
            match parse_series(&format!("{labels} ")) {
                Ok((l, _)) => exp.push((to_map(&l), *v)),
                Err(e) => {
                    errs.push(format!(
                        "    expr: {:?}, time: {}, err: labels {labels:?}: {e}",
                        case.expr,
                        format_model_duration(case.eval_time)
                    ));
                    continue 'cases;
                }
            }
        }
        got.sort_by(|a, b| a.0.cmp(&b.0));
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        // reflect.DeepEqual: exact values, NaN never equal.
        let equal =
            got.len() == exp.len() && got.iter().zip(&exp).all(|(g, e)| g.0 == e.0 && g.1 == e.1);
        if !equal {
            errs.push(format!(
                "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
                case.expr,
                format_model_duration(case.eval_time),
                samples_string(&exp),
                samples_string(&got)
            ));
        }
    }
    errs
}

/// Go's `labels.Labels.String()`: `{a="b", c="d"}`.
pub fn labels_string(l: &LabelMap) -> String {
    let inner: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Go's `strconv.Quote` for label values.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn alerts_string(v: &[(LabelMap, LabelMap)]) -> String {
    if v.is_empty() {
        return "[]".into();
    }
    let mut s = String::from("[\n");
    for (i, (l, a)) in v.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        let one = format!(
            "\nLabels:{}\nAnnotations:{}",
            labels_string(l),
            labels_string(a)
        );
        s.push_str(&format!("{i}:{}", indent_lines(&one, "  ")));
    }
    s.push_str("\n]");
    s
}

fn indent_lines(lines: &str, indent: &str) -> String {
    let parts: Vec<&str> = lines.split('\n').collect();
    let mut out = String::new();
    for (i, l) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(indent);
        }
        out.push_str(l);
        if i != parts.len() - 1 {
            out.push('\n');
        }
    }
    out
}

fn samples_string(v: &[(LabelMap, f64)]) -> String {
    if v.is_empty() {
        return "nil".into();
    }
    v.iter()
        .map(|(l, x)| format!("{} {}", labels_string(l), format_upper_e(*x)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `strconv.FormatFloat(v, 'E', -1, 64)`: `1E+00`, `2.5E-01`.
pub fn format_upper_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mant}E{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// Go's `time.Duration.String()` for a whole number of milliseconds: `0s`, `1m0s`, `1h0m0s`,
/// `1.5s`, `500ms`.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m) = (ms / 3_600_000, ms / 60_000 % 60);
    let s_ms = ms % 60_000;
    let secs = if s_ms.is_multiple_of(1000) {
        format!("{}s", s_ms / 1000)
    } else {
        let f = format!("{}.{:03}", s_ms / 1000, s_ms % 1000);
        format!("{}s", f.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{m}m{secs}")
    } else {
        secs
    }
}

// ------------------------------------------------------------------ the file format

/// Decodes a unit-test file as strictly as promtool (`yaml.UnmarshalStrict`): unknown
/// fields and wrong types are errors, at `line:col`.
pub fn parse_unit_test_file(text: &str) -> Result<UnitTestFile, String> {
    let root =
        yaml::parse(text).map_err(|e| format!("{}:{}: yaml: {}", e.line, e.col, e.message))?;
    let mut f = UnitTestFile::default();
    let Some(root) = root else {
        return Ok(f);
    };
    for (k, v) in map(&root, "main.unitTestFile")? {
        match key(k) {
            "rule_files" => f.rule_files = strings(v)?,
            "evaluation_interval" => f.evaluation_interval = duration(v)?,
            "group_eval_order" => f.group_eval_order = strings(v)?,
            "tests" => {
                for t in seq(v, "[]main.testGroup")? {
                    f.tests.push(test_group(t)?);
                }
            }
            other => return Err(unknown(k, other, "main.unitTestFile")),
        }
    }
    Ok(f)
}

fn key(n: &Node) -> &str {
    n.scalar().unwrap_or_default()
}

fn at(n: &Node, msg: String) -> String {
    format!("{}:{}: {msg}", n.line, n.col)
}

fn unknown(n: &Node, name: &str, ty: &str) -> String {
    at(n, format!("field {name} not found in type {ty}"))
}

fn cannot(n: &Node, into: &str) -> String {
    let what = match &n.kind {
        Kind::Scalar { value, .. } => format!("{} `{value}`", n.tag_name()),
        _ => n.tag_name().to_owned(),
    };
    at(n, format!("cannot unmarshal {what} into {into}"))
}

fn map<'n>(n: &'n Node, into: &str) -> Result<&'n [(Node, Node)], String> {
    match &n.kind {
        Kind::Map(p) => Ok(p),
        _ if n.is_null() => Ok(&[]),
        _ => Err(cannot(n, into)),
    }
}

fn seq<'n>(n: &'n Node, into: &str) -> Result<&'n [Node], String> {
    match &n.kind {
        Kind::Seq(p) => Ok(p),
        _ if n.is_null() => Ok(&[]),
        _ => Err(cannot(n, into)),
    }
}

fn string(n: &Node) -> Result<String, String> {
    if n.is_null() {
        return Ok(String::new());
    }
    n.scalar()
        .map(str::to_owned)
        .ok_or_else(|| cannot(n, "string"))
}

fn strings(n: &Node) -> Result<Vec<String>, String> {
    seq(n, "[]string")?.iter().map(string).collect()
}

fn duration(n: &Node) -> Result<Duration, String> {
    if n.is_null() {
        return Ok(Duration::ZERO);
    }
    let s = string(n)?;
    parse_model_duration(&s).ok_or_else(|| at(n, format!("not a valid duration string: {s:?}")))
}

fn string_map(n: &Node) -> Result<LabelMap, String> {
    let mut out = BTreeMap::new();
    for (k, v) in map(n, "map[string]string")? {
        out.insert(string(k)?, string(v)?);
    }
    Ok(out)
}

fn float(n: &Node) -> Result<f64, String> {
    if n.is_null() {
        return Ok(0.0);
    }
    match n.tag_name() {
        "!!int" => yaml::parse_int(n.scalar().unwrap_or_default())
            .map(|i| i as f64)
            .ok_or_else(|| cannot(n, "float64")),
        "!!float" => {
            yaml::parse_float(n.scalar().unwrap_or_default()).ok_or_else(|| cannot(n, "float64"))
        }
        _ => Err(cannot(n, "float64")),
    }
}

fn test_group(n: &Node) -> Result<TestGroup, String> {
    let mut tg = TestGroup::default();
    for (k, v) in map(n, "main.testGroup")? {
        match key(k) {
            "interval" => tg.interval = duration(v)?,
            "input_series" => {
                for s in seq(v, "[]main.series")? {
                    let (mut series, mut values) = (String::new(), String::new());
                    for (k, v) in map(s, "main.series")? {
                        match key(k) {
                            "series" => series = string(v)?,
                            "values" => values = string(v)?,
                            other => return Err(unknown(k, other, "main.series")),
                        }
                    }
                    tg.input_series.push((series, values));
                }
            }
            "alert_rule_test" => {
                for a in seq(v, "[]main.alertTestCase")? {
                    let mut t = AlertTest::default();
                    for (k, v) in map(a, "main.alertTestCase")? {
                        match key(k) {
                            "eval_time" => t.eval_time = duration(v)?,
                            "alertname" => t.alertname = string(v)?,
                            "exp_alerts" => {
                                for e in seq(v, "[]main.alert")? {
                                    let (mut l, mut an) = (LabelMap::new(), LabelMap::new());
                                    for (k, v) in map(e, "main.alert")? {
                                        match key(k) {
                                            "exp_labels" => l = string_map(v)?,
                                            "exp_annotations" => an = string_map(v)?,
                                            other => return Err(unknown(k, other, "main.alert")),
                                        }
                                    }
                                    t.exp_alerts.push((l, an));
                                }
                            }
                            other => return Err(unknown(k, other, "main.alertTestCase")),
                        }
                    }
                    tg.alert_rule_test.push(t);
                }
            }
            "promql_expr_test" => {
                for p in seq(v, "[]main.promqlTestCase")? {
                    let mut t = ExprTest::default();
                    for (k, v) in map(p, "main.promqlTestCase")? {
                        match key(k) {
                            "expr" => t.expr = string(v)?,
                            "eval_time" => t.eval_time = duration(v)?,
                            "exp_samples" => {
                                for s in seq(v, "[]main.sample")? {
                                    let (mut l, mut x) = (String::new(), 0.0);
                                    for (k, v) in map(s, "main.sample")? {
                                        match key(k) {
                                            "labels" => l = string(v)?,
                                            "value" => x = float(v)?,
                                            other => return Err(unknown(k, other, "main.sample")),
                                        }
                                    }
                                    t.exp_samples.push((l, x));
                                }
                            }
                            other => return Err(unknown(k, other, "main.promqlTestCase")),
                        }
                    }
                    tg.promql_expr_test.push(t);
                }
            }
            "external_labels" => tg.external_labels = string_map(v)?,
            "external_url" => tg.external_url = string(v)?,
            "name" => tg.name = string(v)?,
            other => return Err(unknown(k, other, "main.testGroup")),
        }
    }
    Ok(tg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(format_upper_e(1.0), "1E+00");
        assert_eq!(format_upper_e(0.25), "2.5E-01");
        assert_eq!(format_upper_e(1234.5), "1.2345E+03");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
        let l: LabelMap = [("a".to_string(), "x\"y".to_string())]
            .into_iter()
            .collect();
        assert_eq!(labels_string(&l), "{a=\"x\\\"y\"}");
    }
}
