//! Tab completion for the query prompt: a pure function of (text, cursor, catalog).
//!
//! [`context`] says what is being typed at the cursor (a metric or function name, a label
//! name inside `{…}` or `by (…)`, a label value after `label="`); [`complete`] lists the
//! candidates the catalog holds for it. What the catalog lacks is named by [`Need`], which
//! the fetcher loads with [`load`] and the state merges with [`Catalog::insert`].

use std::collections::HashMap;

use promdash_queries::error::QueryError;
use promdash_queries::source::MetricsSource;

/// At most this many metric names are kept (the rest are never offered).
pub const MAX_METRICS: usize = 10_000;

/// PromQL functions and aggregation operators offered beside metric names.
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "avg",
    "avg_over_time",
    "bottomk",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "count_values",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "delta",
    "deriv",
    "exp",
    "floor",
    "group",
    "histogram_count",
    "histogram_fraction",
    "histogram_quantile",
    "histogram_sum",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "minute",
    "month",
    "predict_linear",
    "present_over_time",
    "quantile",
    "quantile_over_time",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev",
    "stddev_over_time",
    "stdvar",
    "stdvar_over_time",
    "sum",
    "sum_over_time",
    "time",
    "timestamp",
    "topk",
    "vector",
    "year",
];

/// What is being typed at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// A metric or function name.
    Metric { prefix: String },
    /// A label name, of the series of `metric` (empty: any series).
    LabelName { metric: String, prefix: String },
    /// A value of `label` after `label="`.
    LabelValue {
        metric: String,
        label: String,
        prefix: String,
    },
    /// Inside a string, a number, a range `[5m]`, …: nothing to offer.
    None,
}

/// Something the catalog must load before a context can be completed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Need {
    MetricNames,
    /// Label names of the series of a metric ("" = all series).
    LabelNames {
        metric: String,
    },
    LabelValues {
        metric: String,
        label: String,
    },
}

/// What the server told us so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub metrics: Option<Vec<String>>,
    pub label_names: HashMap<String, Vec<String>>,
    pub label_values: HashMap<(String, String), Vec<String>>,
}

impl Catalog {
    /// Stores a loaded list (metric names are capped at [`MAX_METRICS`]).
    pub fn insert(&mut self, need: Need, mut values: Vec<String>) {
        // Names and values come from the server and are shown in the prompt: their
        // control characters escaped, as in a PromQL string (`\x1b`, `\n`), so a
        // chosen value still matches inside quotes.
        for v in &mut values {
            if let std::borrow::Cow::Owned(e) = promdash_queries::text::escape_control(v) {
                *v = e;
            }
        }
        values.sort();
        values.dedup();
        match need {
            Need::MetricNames => {
                values.truncate(MAX_METRICS);
                self.metrics = Some(values);
            }
            Need::LabelNames { metric } => {
                values.retain(|v| v != "__name__");
                self.label_names.insert(metric, values);
            }
            Need::LabelValues { metric, label } => {
                self.label_values.insert((metric, label), values);
            }
        }
    }

    /// What must be loaded to complete `ctx` (None when it is already here or not needed).
    pub fn missing(&self, ctx: &Context) -> Option<Need> {
        match ctx {
            Context::Metric { .. } if self.metrics.is_none() => Some(Need::MetricNames),
            Context::LabelName { metric, .. } if !self.label_names.contains_key(metric) => {
                Some(Need::LabelNames {
                    metric: metric.clone(),
                })
            }
            Context::LabelValue { metric, label, .. }
                if !self
                    .label_values
                    .contains_key(&(metric.clone(), label.clone())) =>
            {
                Some(Need::LabelValues {
                    metric: metric.clone(),
                    label: label.clone(),
                })
            }
            _ => None,
        }
    }
}

/// Candidates for the word ending at the cursor: replace `text[start..cursor]` by one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    pub start: usize,
    pub items: Vec<String>,
}

impl Completion {
    /// The longest prefix every candidate shares.
    pub fn common_prefix(&self) -> &str {
        let Some(first) = self.items.first() else {
            return "";
        };
        let mut len = first.len();
        for item in &self.items[1..] {
            len = len.min(
                first
                    .bytes()
                    .zip(item.bytes())
                    .take_while(|(a, b)| a == b)
                    .count(),
            );
        }
        while !first.is_char_boundary(len) {
            len -= 1;
        }
        &first[..len]
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The identifier ending at byte `end` of `text`: (start, word).
fn word_before(text: &str, end: usize) -> (usize, &str) {
    let start = text[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident(*c))
        .last()
        .map_or(end, |(i, _)| i);
    (start, &text[start..end])
}

/// What is being typed at byte `cursor` of `text`.
pub fn context(text: &str, cursor: usize) -> Context {
    let cursor = cursor.min(text.len());
    let before = &text[..cursor];
    // Walk the text up to the cursor, tracking strings, braces, brackets and parentheses.
    let mut quote: Option<(char, usize)> = None; // quote char, byte after it
    let mut brace: Option<usize> = None; // byte of the open '{'
    let mut bracket = false;
    let mut parens: Vec<usize> = Vec::new();
    let mut chars = before.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some((q, _)) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some((c, i + 1)),
            '{' => brace = Some(i),
            '}' => brace = None,
            '[' => bracket = true,
            ']' => bracket = false,
            '(' => parens.push(i),
            ')' => {
                parens.pop();
            }
            '#' => return Context::None,
            _ => {}
        }
    }
    if bracket {
        return Context::None;
    }
    if let Some((_, value_start)) = quote {
        // A label value: `label="pre|` or `label=~"pre|` inside braces.
        let Some(open) = brace else {
            return Context::None;
        };
        let head = before[..value_start - 1].trim_end();
        let head = head.trim_end_matches(['=', '~', '!']).trim_end();
        let (_, label) = word_before(head, head.len());
        if label.is_empty() {
            return Context::None;
        }
        return Context::LabelValue {
            metric: metric_before_brace(text, open),
            label: label.to_owned(),
            prefix: before[value_start..].to_owned(),
        };
    }
    let (start, word) = word_before(before, cursor);
    if let Some(open) = brace {
        // Inside a selector: a label name follows '{' or ','.
        let prev = before[..start].trim_end().chars().last();
        if matches!(prev, Some('{') | Some(',')) {
            return Context::LabelName {
                metric: metric_before_brace(text, open),
                prefix: word.to_owned(),
            };
        }
        return Context::None;
    }
    // `by (`/`without (`/`on (`/`ignoring (`/`group_left (`: label names.
    if let Some(&open) = parens.last() {
        let head = before[..open].trim_end();
        let (_, kw) = word_before(head, head.len());
        if matches!(
            kw,
            "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
        ) {
            let prev = before[..start].trim_end().chars().last();
            if matches!(prev, Some('(') | Some(',')) {
                return Context::LabelName {
                    metric: String::new(),
                    prefix: word.to_owned(),
                };
            }
            return Context::None;
        }
    }
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        return Context::None;
    }
    Context::Metric {
        prefix: word.to_owned(),
    }
}

/// The metric name right before the '{' at byte `open` ("" when there is none).
fn metric_before_brace(text: &str, open: usize) -> String {
    let head = text[..open].trim_end();
    word_before(head, head.len()).1.to_owned()
}

/// The candidates for the word at `cursor`, from what `catalog` holds.
pub fn complete(text: &str, cursor: usize, catalog: &Catalog) -> Completion {
    let cursor = cursor.min(text.len());
    let ctx = context(text, cursor);
    let (prefix, pool): (&str, Vec<&str>) = match &ctx {
        Context::Metric { prefix } => {
            let mut pool: Vec<&str> = catalog
                .metrics
                .iter()
                .flatten()
                .map(String::as_str)
                .filter(|m| m.starts_with(prefix.as_str()))
                .collect();
            // Functions only once something is typed (an empty prompt lists metrics).
            if !prefix.is_empty() {
                pool.extend(
                    FUNCTIONS
                        .iter()
                        .copied()
                        .filter(|f| f.starts_with(prefix.as_str())),
                );
            }
            (prefix, pool)
        }
        Context::LabelName { metric, prefix } => (
            prefix,
            catalog
                .label_names
                .get(metric)
                .into_iter()
                .flatten()
                .map(String::as_str)
                .filter(|l| l.starts_with(prefix.as_str()))
                .collect(),
        ),
        Context::LabelValue {
            metric,
            label,
            prefix,
        } => (
            prefix,
            catalog
                .label_values
                .get(&(metric.clone(), label.clone()))
                .into_iter()
                .flatten()
                .map(String::as_str)
                .filter(|v| v.starts_with(prefix.as_str()))
                .collect(),
        ),
        Context::None => return Completion::default(),
    };
    let mut items: Vec<String> = pool.into_iter().map(str::to_owned).collect();
    items.sort();
    items.dedup();
    Completion {
        start: cursor - prefix.len(),
        items,
    }
}

/// Loads what `need` names from `source` (metric names capped at [`MAX_METRICS`]).
pub async fn load<S: MetricsSource>(source: &S, need: &Need) -> Result<Vec<String>, QueryError> {
    match need {
        Need::MetricNames => {
            let mut v = source.label_values("__name__", None).await?;
            v.truncate(MAX_METRICS);
            Ok(v)
        }
        Need::LabelNames { metric } => {
            let matcher = (!metric.is_empty()).then_some(metric.as_str());
            source.label_names(matcher).await
        }
        Need::LabelValues { metric, label } => {
            let matcher = (!metric.is_empty()).then_some(metric.as_str());
            source.label_values(label, matcher).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.insert(
            Need::MetricNames,
            s(&[
                "app_request_count_total",
                "app_request_latency_seconds_bucket",
                "app_error_count_total",
                "up",
            ]),
        );
        c.insert(
            Need::LabelNames {
                metric: "app_request_count_total".into(),
            },
            s(&["__name__", "method", "route", "status"]),
        );
        c.insert(
            Need::LabelNames { metric: "".into() },
            s(&["instance", "job", "route"]),
        );
        c.insert(
            Need::LabelValues {
                metric: "app_request_count_total".into(),
                label: "route".into(),
            },
            s(&["/process", "/healthz"]),
        );
        c
    }

    fn at_end(text: &str) -> Completion {
        complete(text, text.len(), &catalog())
    }

    #[test]
    fn contexts() {
        let c = |t: &str| context(t, t.len());
        assert_eq!(
            c("app_req"),
            Context::Metric {
                prefix: "app_req".into()
            }
        );
        assert_eq!(
            c("sum(rate(app"),
            Context::Metric {
                prefix: "app".into()
            }
        );
        assert_eq!(
            c("x{rou"),
            Context::LabelName {
                metric: "x".into(),
                prefix: "rou".into()
            }
        );
        assert_eq!(
            c("x{a=\"b\", "),
            Context::LabelName {
                metric: "x".into(),
                prefix: "".into()
            }
        );
        assert_eq!(
            c("{route=\"/p"),
            Context::LabelValue {
                metric: "".into(),
                label: "route".into(),
                prefix: "/p".into()
            }
        );
        assert_eq!(
            c("x{route=~\""),
            Context::LabelValue {
                metric: "x".into(),
                label: "route".into(),
                prefix: "".into()
            }
        );
        assert_eq!(
            c("sum by (ro"),
            Context::LabelName {
                metric: "".into(),
                prefix: "ro".into()
            }
        );
        assert_eq!(c("rate(x[5"), Context::None);
        assert_eq!(c("x{a=\"b\"} > 0.5"), Context::None);
        assert_eq!(c("x{a=\"b\" "), Context::None);
    }

    #[test]
    fn metric_names_and_functions() {
        let c = at_end("app_req");
        assert_eq!(c.start, 0);
        assert_eq!(
            c.items,
            s(&[
                "app_request_count_total",
                "app_request_latency_seconds_bucket"
            ])
        );
        assert_eq!(c.common_prefix(), "app_request_");
        let c = at_end("sum(rat");
        assert_eq!(c.start, 4);
        assert_eq!(c.items, s(&["rate"]));
        let c = at_end("histogram_q");
        assert_eq!(c.items, s(&["histogram_quantile"]));
    }

    #[test]
    fn label_names_for_the_metric() {
        let c = at_end("app_request_count_total{rou");
        assert_eq!(c.items, s(&["route"]));
        assert_eq!(c.start, "app_request_count_total{".len());
        let c = at_end("app_request_count_total{");
        assert_eq!(c.items, s(&["method", "route", "status"]), "no __name__");
        let c = at_end("sum by (in");
        assert_eq!(c.items, s(&["instance"]));
    }

    #[test]
    fn label_values_after_quote() {
        let c = at_end("app_request_count_total{route=\"");
        assert_eq!(c.items, s(&["/healthz", "/process"]));
        let c = at_end("app_request_count_total{route=\"/p");
        assert_eq!(c.items, s(&["/process"]));
        assert_eq!(c.start, "app_request_count_total{route=\"".len());
    }

    #[test]
    fn server_values_are_escaped_before_they_are_shown() {
        let mut c = Catalog::default();
        c.insert(
            Need::LabelValues {
                metric: "m".into(),
                label: "l".into(),
            },
            s(&["ok", "\u{1b}]0;title\u{7}\u{202e}"]),
        );
        let got = complete("m{l=\"", "m{l=\"".len(), &c);
        assert_eq!(got.items, s(&[r"\x1b]0;title\a\u202e", "ok"]));
    }

    #[test]
    fn cursor_in_the_middle() {
        let text = "sum(app_req) by (le)";
        let c = complete(text, "sum(app_req".len(), &catalog());
        assert_eq!(c.items.len(), 2);
        assert_eq!(c.start, 4);
    }

    #[test]
    fn missing_parts() {
        let empty = Catalog::default();
        assert_eq!(empty.missing(&context("ap", 2)), Some(Need::MetricNames));
        assert_eq!(
            empty.missing(&context("x{a=\"", 5)),
            Some(Need::LabelValues {
                metric: "x".into(),
                label: "a".into()
            })
        );
        assert_eq!(catalog().missing(&context("ap", 2)), None);
        assert_eq!(empty.missing(&Context::None), None);
    }

    #[test]
    fn metric_names_are_capped() {
        let mut c = Catalog::default();
        c.insert(
            Need::MetricNames,
            (0..MAX_METRICS + 5).map(|i| format!("m{i:06}")).collect(),
        );
        assert_eq!(c.metrics.as_ref().map(Vec::len), Some(MAX_METRICS));
    }
}
