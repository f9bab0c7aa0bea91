//! Grafana's intervals: the auto interval of an `interval` variable and the scrape
//! interval `$__rate_interval` is computed with, read from a Prometheus server's
//! configuration.
//!
//! The auto interval follows Grafana's `rangeutil` (`calculateInterval`,
//! `roundInterval`): the range divided by the variable's `auto_count` steps, rounded to a
//! readable interval by a table of thresholds (a value just under 1.5 s rounds to 1 s,
//! under 3.5 s to 2 s, …), never below `auto_min`.

use std::time::Duration;

/// Grafana's defaults for an `interval` variable with `auto`: 30 steps, at least 10 s.
pub const DEFAULT_AUTO_COUNT: u32 = 30;
/// See [`DEFAULT_AUTO_COUNT`].
pub const DEFAULT_AUTO_MIN: Duration = Duration::from_secs(10);

/// Grafana's rounding of a raw interval (milliseconds): every raw value below a bound is
/// shown as the interval next to it. Bounds sit half way between readable intervals.
const ROUNDING: &[(u64, u64)] = &[
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
];

/// A raw interval rounded as Grafana rounds intervals (see [`ROUNDING`]); above six
/// weeks it is a year.
pub fn round_interval(raw: Duration) -> Duration {
    let ms = raw.as_secs_f64() * 1000.0;
    let rounded = ROUNDING
        .iter()
        .find(|(below, _)| ms < *below as f64)
        .map_or(31_536_000_000, |&(_, to)| to);
    Duration::from_millis(rounded)
}

/// An `interval` variable's `auto` value for a dashboard showing `range`: `range /
/// count` rounded by [`round_interval`], at least `min`. Grafana then writes it in its
/// largest whole unit ([`grafana_text`]).
pub fn auto_interval(range: Duration, count: u32, min: Duration) -> Duration {
    let raw = range / count.max(1);
    round_interval(raw).max(min)
}

/// An interval as Grafana writes it (`secondsToHms`): its largest whole unit only (`1d`,
/// `2h`, `30s`, `500ms`); years count 365 days. Every rounded interval is whole in that
/// unit, so nothing is lost for the values [`auto_interval`] gives.
pub fn grafana_text(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, len) in [
        ("y", 31_536_000),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        if s >= len {
            return format!("{}{unit}", s / len);
        }
    }
    format!("{}ms", d.as_millis().max(1))
}

/// How Grafana's Prometheus data source chooses a target's step (its query options),
/// kept as written: the texts may hold variables (`$resolution`), filled in when the
/// dashboard runs. The default changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOptions {
    /// The panel's min interval (the panel's `interval`): `$__interval` is never below it.
    pub panel_min: Option<String>,
    /// The target's min step (its `interval`, the legacy `step` of old dashboards).
    pub min: Option<String>,
    /// `intervalFactor`: the step is this many times `$__interval` (0 and 1: once).
    pub factor: u32,
}

impl StepOptions {
    pub fn is_default(&self) -> bool {
        self.panel_min.is_none() && self.min.is_none() && self.factor <= 1
    }
}

/// A min interval as written in a panel or target (`"30s"`, `">30s"`; Grafana reads a
/// leading `>` as "at least", which a min interval is anyway).
pub fn parse_min_interval(s: &str) -> Option<Duration> {
    parse_grafana_interval(s.trim().trim_start_matches('>'))
}

/// The step Grafana's Prometheus data source sends for a target (its `adjustInterval`):
/// `$__interval` is the automatic interval, never below the panel's min interval; the
/// step is the largest of `$__interval × intervalFactor`, the target's min step (else
/// `$__interval`) and the step that keeps the answer within Prometheus's 11,000 points.
pub fn adjusted_step(
    auto: Duration,
    range: Duration,
    panel_min: Option<Duration>,
    min: Option<Duration>,
    factor: u32,
) -> Duration {
    let interval = auto.max(panel_min.unwrap_or_default());
    let min = min.unwrap_or(interval);
    let mut safe = range.as_secs_f64() / 11_000.0;
    if safe > 1.0 {
        safe = safe.ceil();
    }
    let scaled = interval.as_secs_f64() * f64::from(factor.max(1));
    let secs = scaled.max(min.as_secs_f64()).max(safe);
    // Whole milliseconds, at least one.
    Duration::from_millis((secs * 1000.0).round().max(1.0) as u64)
}

/// An interval variable's `auto_min` (`"10s"`, `"1m"`; Grafana's units `ms s m h d w M
/// y`, `M` 30 days, `y` 365 days).
pub fn parse_grafana_interval(s: &str) -> Option<Duration> {
    let s = s.trim();
    let digits = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(digits);
    let n: f64 = n.parse().ok()?;
    let secs = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3_600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        "M" => 2_592_000.0,
        "y" => 31_536_000.0,
        _ => return None,
    };
    let total = n * secs;
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total))
}

/// The global `scrape_interval` of a Prometheus configuration as `/api/v1/status/config`
/// returns it (`data.yaml`, the configuration Prometheus loaded, written back by it with
/// its defaults filled in). `None` when it has none or it is not a duration.
///
/// Only the `global:` block at the top level is read, line by line: the configuration
/// comes from Prometheus's own YAML writer (block style, two-space indentation), and a
/// job's own `scrape_interval` under `scrape_configs` must not be taken for it.
pub fn scrape_interval_of_config(yaml: &str) -> Option<Duration> {
    let mut in_global = false;
    let mut indent: Option<usize> = None;
    for line in yaml.lines() {
        let content = line.trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = content.len() - trimmed.len();
        if depth == 0 {
            in_global = trimmed.trim_end_matches(':').trim() == "global" && trimmed.ends_with(':');
            indent = None;
            continue;
        }
        if !in_global {
            continue;
        }
        // The first key inside `global:` sets the depth of its keys.
        let key_depth = *indent.get_or_insert(depth);
        if depth != key_depth {
            continue;
        }
        if let Some(value) = trimmed.strip_prefix("scrape_interval:") {
            let value = value.split(" #").next().unwrap_or("").trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            return crate::dashboard::parse_duration(value).filter(|d| !d.is_zero());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Each rounding bound: just under it rounds down to the interval it guards, at it
    /// rounds to the next one.
    #[test]
    fn rounding_table() {
        let cases: &[(u64, u64)] = &[
            (0, 1),
            (9, 1),
            (10, 10),
            (1_499, 1_000),
            (1_500, 2_000),
            (3_499, 2_000),
            (3_500, 5_000),
            (7_499, 5_000),
            (7_500, 10_000),
            (12_500, 15_000),
            (17_500, 20_000),
            (25_000, 30_000),
            (44_999, 30_000),
            (45_000, 60_000),
            (89_999, 60_000),
            (90_000, 120_000),
            (210_000, 300_000),
            (450_000, 600_000),
            (750_000, 900_000),
            (1_050_000, 1_200_000),
            (1_500_000, 1_800_000),
            (2_700_000, 3_600_000),
            (5_400_000, 7_200_000),
            (9_000_000, 10_800_000),
            (16_200_000, 21_600_000),
            (32_400_000, 43_200_000),
            (86_400_000, 86_400_000),
            (604_800_000, 604_800_000),
            (1_814_400_000, 2_592_000_000),
            (3_628_800_000, 31_536_000_000),
        ];
        for &(raw, want) in cases {
            assert_eq!(round_interval(ms(raw)), ms(want), "raw {raw} ms");
        }
    }

    /// `auto` with Grafana's defaults (30 steps, at least 10 s) over the time picker's
    /// usual ranges.
    #[test]
    fn auto_over_usual_ranges() {
        let auto = |range: Duration| {
            grafana_text(auto_interval(range, DEFAULT_AUTO_COUNT, DEFAULT_AUTO_MIN))
        };
        // 5m / 30 = 10 s; 15m / 30 = 30 s; 1h / 30 = 2m; 6h / 30 = 12m → 10m;
        // 24h / 30 = 48m → 1h; 7d / 30 = 5.6 h → 6h; 30d / 30 = 1d.
        assert_eq!(auto(s(300)), "10s");
        assert_eq!(auto(s(900)), "30s");
        assert_eq!(auto(s(3_600)), "2m");
        assert_eq!(auto(s(6 * 3_600)), "10m");
        assert_eq!(auto(s(24 * 3_600)), "1h");
        assert_eq!(auto(s(7 * 86_400)), "6h");
        assert_eq!(auto(s(30 * 86_400)), "1d");
        // 1m / 30 = 2 s, below the 10 s minimum.
        assert_eq!(auto(s(60)), "10s");
        // Another count and minimum: 1h / 100 = 36 s → 30 s; at least 1m.
        assert_eq!(auto_interval(s(3_600), 100, s(1)), s(30));
        assert_eq!(auto_interval(s(3_600), 100, s(60)), s(60));
        // A zero count is taken as one step.
        assert_eq!(auto_interval(s(3_600), 0, s(1)), s(3_600));
    }

    #[test]
    fn grafana_text_largest_unit() {
        assert_eq!(grafana_text(ms(500)), "500ms");
        assert_eq!(grafana_text(s(30)), "30s");
        assert_eq!(grafana_text(s(120)), "2m");
        assert_eq!(grafana_text(s(7_200)), "2h");
        assert_eq!(grafana_text(s(86_400)), "1d");
        assert_eq!(grafana_text(s(31_536_000)), "1y");
    }

    #[test]
    fn auto_min_units() {
        assert_eq!(parse_grafana_interval("10s"), Some(s(10)));
        assert_eq!(parse_grafana_interval("2m"), Some(s(120)));
        assert_eq!(parse_grafana_interval("1h"), Some(s(3_600)));
        assert_eq!(parse_grafana_interval("500ms"), Some(ms(500)));
        assert_eq!(parse_grafana_interval("1w"), Some(s(604_800)));
        assert_eq!(parse_grafana_interval("30"), Some(s(30)));
        assert_eq!(parse_grafana_interval("ten"), None);
        assert_eq!(parse_grafana_interval("5x"), None);
    }

    /// What Prometheus 2.42 answers in `data.yaml`, and the jobs' own intervals ignored.
    #[test]
    fn scrape_interval_from_prometheus_config() {
        let yaml = "global:\n  scrape_interval: 40s\n  scrape_timeout: 10s\n  \
                    evaluation_interval: 1m\nscrape_configs:\n- job_name: node\n  \
                    honor_timestamps: true\n  scrape_interval: 5s\n";
        assert_eq!(scrape_interval_of_config(yaml), Some(s(40)));
        // A job's interval only: not the global one.
        let jobs_only = "scrape_configs:\n- job_name: a\n  scrape_interval: 5s\n";
        assert_eq!(scrape_interval_of_config(jobs_only), None);
        // Nested keys under global (external_labels) are not taken for it.
        let nested = "global:\n  external_labels:\n    scrape_interval: 3s\n  \
                      scrape_interval: 1m30s\n";
        assert_eq!(scrape_interval_of_config(nested), Some(s(90)));
        assert_eq!(
            scrape_interval_of_config("global:\n  scrape_interval: \"2m\" # why\n"),
            Some(s(120))
        );
        assert_eq!(
            scrape_interval_of_config("global:\n  scrape_interval: soon\n"),
            None
        );
        assert_eq!(scrape_interval_of_config(""), None);
    }

    #[test]
    fn adjusted_step_follows_grafana() {
        let s = Duration::from_secs;
        let hour = s(3600);
        // Nothing set: the automatic interval.
        assert_eq!(adjusted_step(s(15), hour, None, None, 1), s(15));
        // intervalFactor multiplies it.
        assert_eq!(adjusted_step(s(15), hour, None, None, 3), s(45));
        // The target's min step raises it, never lowers it.
        assert_eq!(adjusted_step(s(15), hour, None, Some(s(60)), 1), s(60));
        assert_eq!(adjusted_step(s(15), hour, None, Some(s(5)), 1), s(15));
        // The factor applies to $__interval, not to the min step.
        assert_eq!(adjusted_step(s(15), hour, None, Some(s(60)), 2), s(60));
        assert_eq!(adjusted_step(s(40), hour, None, Some(s(60)), 2), s(80));
        // The panel's min interval raises $__interval itself (then the factor).
        assert_eq!(adjusted_step(s(15), hour, Some(s(30)), None, 2), s(60));
        // Never more than 11,000 points: 30 days / 11000 = 235.6 s, rounded up.
        assert_eq!(adjusted_step(s(1), s(30 * 86_400), None, None, 1), s(236));
        // Below a second the safe step stays fractional.
        assert_eq!(
            adjusted_step(Duration::from_millis(10), s(5500), None, None, 1),
            Duration::from_millis(500)
        );
        assert_eq!(parse_min_interval(">30s"), Some(s(30)));
        assert_eq!(parse_min_interval("2m"), Some(s(120)));
        assert_eq!(parse_min_interval("$x"), None);
        assert!(StepOptions::default().is_default());
        let f = StepOptions {
            factor: 2,
            ..StepOptions::default()
        };
        assert!(!f.is_default());
    }
}
