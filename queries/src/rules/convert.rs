//! A dashboard's `[[alerts]]` tables as a Prometheus rule file (`promdash import rules`).
//!
//! One group named after the dashboard, evaluated every `refresh` (how often the dashboard
//! evaluates its alerts). Each alert becomes an alerting rule:
//!
//! - `expr`: the expression, compared with the threshold when there is one
//!   (`(EXPR) > 0.5`: Prometheus's comparison keeps the series for which it holds, as the
//!   dashboard compares each series); without a threshold the expression as written (any
//!   sample returned is true, as in the dashboard);
//! - `for`, `keep_firing_for` (when not 0);
//! - `labels: {severity: …}`;
//! - `annotations: {summary: …}`: the dashboard's summary is already a Go template
//!   (`{{ $value }}`, `{{ $labels.x }}`).
//!
//! What a rule file cannot say is left out with a `#` comment naming it: an alert whose
//! expression uses dashboard variables (`$var`), and the `panel` and `unit` keys (how the
//! dashboard shows the alert).

use std::fmt::Write as _;

use super::duration::format_model_duration;
use crate::dashboard::{Dashboard, Severity};

/// The converted file, and what was not carried over (one sentence each; also written as
/// comments in the file).
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub yaml: String,
    pub rules: usize,
    pub warnings: Vec<String>,
}

/// A YAML double-quoted scalar holding any text on one line (`\\`, `"` and control
/// characters escaped).
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `expr` uses a dashboard variable (`$name`, `${name}`, `[[name]]`).
fn uses_variables(expr: &str) -> bool {
    let b = expr.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'$' && (w[1] == b'{' || w[1] == b'_' || w[1].is_ascii_alphabetic()))
        || expr.contains("[[")
}

/// Converts `dashboard`'s `[[alerts]]`; `source` names the dashboard in the file's header.
pub fn alerts_to_rule_file(dashboard: &Dashboard, source: &str) -> Converted {
    let mut yaml = String::new();
    let mut warnings = Vec::new();
    let _ = writeln!(
        yaml,
        "# Converted by `promdash import rules` from the [[alerts]] tables of {source}."
    );
    yaml.push_str("groups:\n");
    let _ = writeln!(yaml, "  - name: {}", quoted(&dashboard.title));
    let _ = writeln!(
        yaml,
        "    interval: {}",
        format_model_duration(dashboard.refresh)
    );
    let mut rules = 0;
    let mut body = String::new();
    for a in &dashboard.alerts {
        if uses_variables(&a.expr) {
            let w = format!(
                "alert {:?} left out: its expression uses dashboard variables, which a rule \
                 file cannot have",
                a.name
            );
            let _ = writeln!(body, "      # {w}");
            warnings.push(w);
            continue;
        }
        if a.panel.is_some() || a.unit.is_some() {
            let w = format!(
                "alert {:?}: `panel` and `unit` are how the dashboard shows it; not carried over",
                a.name
            );
            let _ = writeln!(body, "      # {w}");
            warnings.push(w);
        }
        let expr = match (a.op, a.threshold) {
            (op, Some(t)) => format!(
                "({}) {} {}",
                a.expr.trim(),
                op.map_or(">", |o| o.as_str()),
                super::format_g(t, None)
            ),
            (_, None) => a.expr.trim().to_owned(),
        };
        let _ = writeln!(body, "      - alert: {}", quoted(&a.name));
        let _ = writeln!(body, "        expr: {}", quoted(&expr));
        if !a.for_.is_zero() {
            let _ = writeln!(body, "        for: {}", format_model_duration(a.for_));
        }
        if !a.keep_firing_for.is_zero() {
            let _ = writeln!(
                body,
                "        keep_firing_for: {}",
                format_model_duration(a.keep_firing_for)
            );
        }
        let severity = match a.severity {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let _ = writeln!(body, "        labels:\n          severity: {severity}");
        if !a.summary.is_empty() {
            let _ = writeln!(
                body,
                "        annotations:\n          summary: {}",
                quoted(&a.summary)
            );
        }
        rules += 1;
    }
    if rules == 0 {
        yaml.push_str("    rules: []\n");
    } else {
        yaml.push_str("    rules:\n");
    }
    yaml.push_str(&body);
    Converted {
        yaml,
        rules,
        warnings,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::dashboard::parse_dashboard;
    use crate::rules::{RuleKind, parse_rule_file};

    #[test]
    fn alerts_become_alerting_rules_that_read_back() {
        let d = parse_dashboard(
            r#"title = "It's mine"
refresh = "10s"
[[alerts]]
name = "HighLatency"
expr = 'histogram_quantile(0.95, sum by (le) (rate(x_bucket[1m])))'
op = "<="
threshold = 0.25
for = "1m30s"
keep_firing_for = "20s"
severity = "critical"
summary = "p95 {{ $value }} on {{ $labels.route }} isn't good"

[[alerts]]
name = "Any"
expr = "up == 0"

[[variables]]
name = "job"
values = ["a"]

[[alerts]]
name = "ByVar"
expr = 'up{job="$job"} == 0'
"#,
            "d.toml",
        )
        .unwrap();
        let c = alerts_to_rule_file(&d, "d.toml");
        assert_eq!(c.rules, 2);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        let f = parse_rule_file(&c.yaml).unwrap_or_else(|e| panic!("{e:?}\n{}", c.yaml));
        let g = &f.groups[0];
        assert_eq!(g.name, "It's mine");
        assert_eq!(g.interval, Some(std::time::Duration::from_secs(10)));
        let r = &g.rules[0];
        assert_eq!(r.kind, RuleKind::Alert("HighLatency".into()));
        assert_eq!(
            r.expr,
            "(histogram_quantile(0.95, sum by (le) (rate(x_bucket[1m])))) <= 0.25"
        );
        assert_eq!(r.for_, std::time::Duration::from_secs(90));
        assert_eq!(r.keep_firing_for, std::time::Duration::from_secs(20));
        assert_eq!(r.labels["severity"], "critical");
        assert_eq!(
            r.annotations["summary"],
            "p95 {{ $value }} on {{ $labels.route }} isn't good"
        );
        let r = &g.rules[1];
        assert_eq!(r.expr, "up == 0");
        assert_eq!(r.labels["severity"], "warning");
        assert!(r.annotations.is_empty());
        assert!(c.yaml.contains("# alert \"ByVar\" left out"), "{}", c.yaml);
    }
}
