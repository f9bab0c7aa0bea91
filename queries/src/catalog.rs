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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_label_value("plain"), "plain");
        assert_eq!(escape_label_value(r#"a"b"#), r#"a\"b"#);
        assert_eq!(escape_label_value(r"a\b"), r"a\\b");
        assert_eq!(escape_label_value("a\nb"), r"a\nb");
        assert_eq!(escape_label_value("\\\"\n"), r#"\\\"\n"#);
        assert_eq!(escape_label_value("/process/{id}"), "/process/{id}");
    }

    #[test]
    fn matcher_lists() {
        assert_eq!(matchers(&[]), "");
        assert_eq!(
            matchers(&[Matcher::eq("route", "/process")]),
            r#"{route="/process"}"#
        );
        let ms = [
            Matcher::eq("route", "a\"b"),
            Matcher {
                name: "status".into(),
                op: MatchOp::Re,
                value: "5..".into(),
            },
            Matcher {
                name: "method".into(),
                op: MatchOp::NotRe,
                value: "GET|HEAD".into(),
            },
            Matcher {
                name: "x".into(),
                op: MatchOp::Ne,
                value: "y".into(),
            },
        ];
        assert_eq!(
            matchers(&ms),
            r#"{route="a\"b",status=~"5..",method!~"GET|HEAD",x!="y"}"#
        );
    }

    #[test]
    fn durations() {
        assert_eq!(promql_duration(Duration::from_secs(30)), "30s");
        assert_eq!(promql_duration(Duration::from_secs(300)), "5m");
        assert_eq!(promql_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(promql_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(promql_duration(Duration::from_secs(86_400 + 1)), "1d1s");
        assert_eq!(promql_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn queries_read_as_expected() {
        let w = Duration::from_secs(60);
        assert_eq!(request_total(&[]), "sum(app_request_count_total)");
        assert_eq!(
            request_rate_by_route(w, &[Matcher::eq("method", "GET")]),
            r#"sum by (route) (rate(app_request_count_total{method="GET"}[1m]))"#
        );
        assert_eq!(
            latency_quantile(0.95, w, &[]),
            "histogram_quantile(0.95, sum by (le) (rate(app_request_latency_seconds_bucket[1m])))"
        );
        assert_eq!(
            error_ratio(w, &[]),
            "(sum(rate(app_error_count_total[1m])) or vector(0)) / sum(rate(app_request_count_total[1m]))"
        );
        assert_eq!(catalog(w).len(), 9);
    }
}
