//! Reading the Prometheus text exposition format (what `/metrics` answers) in tests.

use std::collections::BTreeMap;

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name, e.g. `app_request_count_total`.
    pub name: String,
    /// Labels of the line.
    pub labels: BTreeMap<String, String>,
    /// Value (`+Inf`, `-Inf`, `NaN` included).
    pub value: f64,
}

/// Parses every sample line of `text`, skipping comments. Label values with escaped
/// quotes are not expected (the service's label values never contain any).
pub fn parse(text: &str) -> anyhow::Result<Vec<Sample>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .ok_or_else(|| anyhow::anyhow!("no value in {line:?}"))?;
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                v => v
                    .parse()
                    .map_err(|e| anyhow::anyhow!("value of {line:?}: {e}"))?,
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_owned(), BTreeMap::new()),
                Some((name, rest)) => {
                    let rest = rest
                        .strip_suffix('}')
                        .ok_or_else(|| anyhow::anyhow!("no closing brace in {line:?}"))?;
                    let mut labels = BTreeMap::new();
                    for pair in rest.split("\",").filter(|p| !p.is_empty()) {
                        let (k, v) = pair
                            .split_once("=\"")
                            .ok_or_else(|| anyhow::anyhow!("bad label in {line:?}"))?;
                        labels.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
                    }
                    (name.to_owned(), labels)
                }
            };
            Ok(Sample {
                name,
                labels,
                value,
            })
        })
        .collect()
}

/// The value of the sample named `name` whose labels are exactly `labels`.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
}

/// Sum of every sample named `name`.
pub fn sum(samples: &[Sample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_and_specials() {
        let text = "# HELP x y\n# TYPE x counter\nx_total{a=\"1\",b=\"two\"} 3\nup 1\nh_bucket{le=\"+Inf\"} 4\nq NaN\n";
        let s = parse(text).expect("valid");
        assert_eq!(s.len(), 4);
        assert_eq!(value(&s, "x_total", &[("a", "1"), ("b", "two")]), Some(3.0));
        assert_eq!(
            value(&s, "x_total", &[("a", "1")]),
            None,
            "labels must match exactly"
        );
        assert_eq!(value(&s, "up", &[]), Some(1.0));
        assert_eq!(value(&s, "h_bucket", &[("le", "+Inf")]), Some(4.0));
        assert!(value(&s, "q", &[]).is_some_and(f64::is_nan));
        assert_eq!(sum(&s, "x_total"), 3.0);
    }
}
