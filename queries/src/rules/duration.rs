//! Prometheus's duration format (`prometheus/common` `model.Duration`): `1y2w3d4h5m6s7ms`,
//! each unit at most once, largest first, or `0`. Stricter than humantime on purpose: a
//! rule file Prometheus rejects is rejected here too.

use std::time::Duration;

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a Prometheus duration; `None` when Prometheus would say "not a valid duration
/// string".
pub fn parse_model_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // `ms` before `m`: try the longest unit name that matches.
        let k = (next_unit..UNITS.len())
            .filter(|&k| rest.starts_with(UNITS[k].0))
            .max_by_key(|&k| UNITS[k].0.len())?;
        rest = &rest[UNITS[k].0.len()..];
        total = total.checked_add(n.checked_mul(UNITS[k].1)?)?;
        next_unit = k + 1;
    }
    // Go's time.Duration holds at most ~292 years in nanoseconds.
    if total > (i64::MAX as u64) / 1_000_000 {
        return None;
    }
    Some(Duration::from_millis(total))
}

/// A duration as Prometheus prints one (`model.Duration.String`): `0s`, `1m30s`, `2h`, `1d`.
pub fn format_model_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (name, unit) in UNITS {
        if ms >= unit {
            out.push_str(&format!("{}{name}", ms / unit));
            ms %= unit;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_as_prometheus() {
        let ok = [
            ("0", 0),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("90s", 90_000),
            ("1d", 86_400_000),
            ("500ms", 500),
            ("1m500ms", 60_500),
        ];
        for (s, ms) in ok {
            assert_eq!(
                parse_model_duration(s),
                Some(Duration::from_millis(ms)),
                "{s}"
            );
        }
        for bad in ["", "5", "-1m", "1m1h", "1.5m", "5 m", "m", "1mm", "0.0"] {
            assert_eq!(parse_model_duration(bad), None, "{bad}");
        }
        assert_eq!(format_model_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_model_duration(Duration::ZERO), "0s");
        assert_eq!(format_model_duration(Duration::from_secs(7200)), "2h");
    }
}
