//! Named PromQL queries for the reference service (promdash-service), built from its
//! metric names, with label matchers escaped correctly.

use std::fmt::Write as _;
use std::time::Duration;

/// Counter of requests: labels method, route, status.
pub const REQUEST_COUNT: &str = "app_request_count_total";
/// Histogram of request latency in seconds: labels method, route.
pub const REQUEST_LATENCY_BUCKET: &str = "app_request_latency_seconds_bucket";
/// Counter of failed requests: labels method, route, status.
pub const ERROR_COUNT: &str = "app_error_count_total";
/// Gauge of requests being served.
pub const IN_FLIGHT: &str = "app_in_flight_requests";

/// How a label matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `=~`
    Re,
    /// `!~`
    NotRe,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Re => "=~",
            Self::NotRe => "!~",
        }
    }
}

/// One label matcher, `name op "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

impl Matcher {
    pub fn eq(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            op: MatchOp::Eq,
            value: value.to_owned(),
        }
    }
}

/// Escapes a label value for a PromQL double-quoted string: `\` → `\\`, `"` → `\"`,
/// newline → `\n` (and carriage return, tab likewise).
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// `{a="x",b!="y"}`, or the empty string for no matchers.
pub fn matchers(ms: &[Matcher]) -> String {
    if ms.is_empty() {
        return String::new();
    }
    let mut out = String::from("{");
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{}{}\"{}\"",
            m.name,
            m.op.as_str(),
            escape_label_value(&m.value)
        );
    }
    out.push('}');
    out
}

/// A duration as PromQL writes it: `30s`, `5m`, `1h30m`, `250ms`.
pub fn promql_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            let _ = write!(out, "{}{unit}", ms / size);
            ms %= size;
        }
    }
    out
}

/// Total requests served: `sum(app_request_count_total{…})`.
pub fn request_total(filter: &[Matcher]) -> String {
    format!("sum({REQUEST_COUNT}{})", matchers(filter))
}

/// Requests per second by route.
pub fn request_rate_by_route(window: Duration, filter: &[Matcher]) -> String {
    format!(
        "sum by (route) (rate({REQUEST_COUNT}{}[{}]))",
        matchers(filter),
        promql_duration(window)
    )
}

/// Requests per second in total.
pub fn request_rate(window: Duration, filter: &[Matcher]) -> String {
    format!(
        "sum(rate({REQUEST_COUNT}{}[{}]))",
        matchers(filter),
        promql_duration(window)
    )
}

/// Failed requests per second (0 while no error was ever counted).
pub fn error_rate(window: Duration, filter: &[Matcher]) -> String {
    format!(
        "sum(rate({ERROR_COUNT}{}[{}])) or vector(0)",
        matchers(filter),
        promql_duration(window)
    )
}

/// Fraction of requests that failed, 0..1 (0 while no error was ever counted; no data
/// without traffic).
pub fn error_ratio(window: Duration, filter: &[Matcher]) -> String {
    let w = promql_duration(window);
    let m = matchers(filter);
    format!("(sum(rate({ERROR_COUNT}{m}[{w}])) or vector(0)) / sum(rate({REQUEST_COUNT}{m}[{w}]))")
}

/// Latency quantile `q` (0..1) in seconds over all routes.
pub fn latency_quantile(q: f64, window: Duration, filter: &[Matcher]) -> String {
    format!(
        "histogram_quantile({q}, sum by (le) (rate({REQUEST_LATENCY_BUCKET}{}[{}])))",
        matchers(filter),
        promql_duration(window)
    )
}

/// Requests in flight.
pub fn in_flight() -> String {
    format!("sum({IN_FLIGHT})")
}

/// A named catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedQuery {
    pub name: &'static str,
    pub expr: String,
}

/// Every catalog query with rate window `window` and no filter.
pub fn catalog(window: Duration) -> Vec<NamedQuery> {
    let q = |name, expr| NamedQuery { name, expr };
    vec![
        q("request_total", request_total(&[])),
        q("request_rate", request_rate(window, &[])),
        q("request_rate_by_route", request_rate_by_route(window, &[])),
        q("error_rate", error_rate(window, &[])),
        q("error_ratio", error_ratio(window, &[])),
        q("latency_p50", latency_quantile(0.5, window, &[])),
        q("latency_p95", latency_quantile(0.95, window, &[])),
        q("latency_p99", latency_quantile(0.99, window, &[])),
        q("in_flight", in_flight()),
    ]
}
