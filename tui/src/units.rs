//! Number formatting for panel values and axis labels.
//!
//! Every formatter aims at about three significant digits so values fit in narrow panels:
//! `250ms`, `1.2s`, `2.5%`, `12.3 req/s`, `1.5 MiB`.

use std::fmt::Write as _;

use promdash_queries::dashboard::Unit;

/// The unit names a dashboard may use (besides `suffix:<text>`); `validate` lists them.
pub const UNIT_NAMES: &[&str] = &[
    "short",
    "none",
    "percent",
    "percentunit",
    "seconds",
    "s",
    "ms",
    "milliseconds",
    "bytes",
    "decbytes",
    "reqps",
];

/// How a value is shown. Mirrors the dashboard file's `unit` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// Plain number with K/M/G/T suffixes.
    Short,
    /// Already a percentage (0–100).
    Percent,
    /// A ratio (0–1) shown as a percentage.
    PercentUnit,
    Seconds,
    Milliseconds,
    /// IEC byte sizes (KiB, MiB, …).
    Bytes,
    /// Requests per second.
    ReqPerSec,
    /// Any other unit name, appended after a short number.
    Suffix(String),
}

impl Format {
    /// The formatter for a panel's unit.
    pub fn from_unit(unit: &Unit) -> Self {
        match unit {
            Unit::Short => Self::Short,
            Unit::Percent => Self::Percent,
            Unit::PercentUnit => Self::PercentUnit,
            Unit::Seconds => Self::Seconds,
            Unit::Milliseconds => Self::Milliseconds,
            Unit::Bytes => Self::Bytes,
            Unit::ReqPerSec => Self::ReqPerSec,
            Unit::Other(name) => Self::from_name(name),
        }
    }

    /// The formatter for a dashboard unit name (`short`, `percent`, `seconds`, …).
    pub fn from_name(name: &str) -> Self {
        match name {
            "" | "short" | "none" => Self::Short,
            "percent" => Self::Percent,
            "percentunit" => Self::PercentUnit,
            "s" | "seconds" => Self::Seconds,
            "ms" | "milliseconds" => Self::Milliseconds,
            "bytes" | "decbytes" => Self::Bytes,
            "reqps" => Self::ReqPerSec,
            other => Self::Suffix(other.strip_prefix("suffix:").unwrap_or(other).to_owned()),
        }
    }

    /// `v` formatted for display; `decimals` fixes the number of decimals when given.
    pub fn format(&self, v: f64, decimals: Option<u8>) -> String {
        let mut out = String::new();
        self.write(&mut out, v, decimals);
        out
    }

    /// Appends `v` formatted to `out` (no allocation beyond `out`'s growth).
    pub fn write(&self, out: &mut String, v: f64, decimals: Option<u8>) {
        if v.is_nan() {
            out.push_str("NaN");
            return;
        }
        if v.is_infinite() {
            out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
            return;
        }
        match self {
            Self::Short => scaled(out, v, decimals, 1000.0, &["", "K", "M", "G", "T", "P"], ""),
            Self::Percent => {
                number(out, v, decimals);
                out.push('%');
            }
            Self::PercentUnit => {
                number(out, v * 100.0, decimals);
                out.push('%');
            }
            Self::Seconds => duration(out, v, decimals),
            Self::Milliseconds => duration(out, v / 1000.0, decimals),
            Self::Bytes => scaled(
                out,
                v,
                decimals,
                1024.0,
                &["B", "KiB", "MiB", "GiB", "TiB", "PiB"],
                " ",
            ),
            Self::ReqPerSec => {
                scaled(out, v, decimals, 1000.0, &["", "K", "M", "G", "T", "P"], "");
                out.push_str(" req/s");
            }
            Self::Suffix(unit) => {
                scaled(out, v, decimals, 1000.0, &["", "K", "M", "G", "T", "P"], "");
                out.push(' ');
                out.push_str(unit);
            }
        }
    }
}

/// Writes `v` with about three significant digits, trailing zeros trimmed.
fn number(out: &mut String, v: f64, decimals: Option<u8>) {
    if let Some(d) = decimals {
        let _ = write!(out, "{:.*}", usize::from(d), v);
        return;
    }
    let a = v.abs();
    let d: usize = if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // Three significant digits below one, at most six decimals.
        let lead = (-a.log10()).floor() as usize;
        (lead + 3).min(6)
    };
    let start = out.len();
    let _ = write!(out, "{v:.d$}");
    if d > 0 {
        while out.ends_with('0') {
            out.pop();
        }
        if out.ends_with('.') {
            out.pop();
        }
    }
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

fn scaled(out: &mut String, v: f64, decimals: Option<u8>, base: f64, units: &[&str], sep: &str) {
    let mut x = v;
    let mut i = 0;
    // Round first so 999.96 becomes "1K", not "1000".
    while i + 1 < units.len() && x.abs() >= base * 0.9995 {
        x /= base;
        i += 1;
    }
    number(out, x, decimals);
    let unit = units[i];
    if !unit.is_empty() {
        out.push_str(sep);
        out.push_str(unit);
    }
}

fn duration(out: &mut String, secs: f64, decimals: Option<u8>) {
    let a = secs.abs();
    let (x, unit) = if a == 0.0 {
        (0.0, "s")
    } else if a < 1e-6 * 0.9995 {
        (secs * 1e9, "ns")
    } else if a < 1e-3 * 0.9995 {
        (secs * 1e6, "µs")
    } else if a < 0.9995 {
        (secs * 1e3, "ms")
    } else if a < 60.0 {
        (secs, "s")
    } else if a < 3600.0 {
        (secs / 60.0, "min")
    } else if a < 86400.0 {
        (secs / 3600.0, "h")
    } else {
        (secs / 86400.0, "d")
    };
    number(out, x, decimals);
    out.push_str(unit);
}

/// A short human duration for the banner and status bar: `45s`, `2m05s`, `1h02m`, `3d4h`.
pub fn short_duration(secs: f64) -> String {
    let s = if secs.is_finite() && secs > 0.0 {
        secs.round() as u64
    } else {
        0
    };
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

/// A range or zoom level as people write it: `5m`, `15m`, `1h`, `6h`, `24h`, `7d`.
pub fn range_label(secs: u64) -> String {
    if secs.is_multiple_of(86400) && secs >= 7 * 86400 {
        format!("{}d", secs / 86400)
    } else if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        let f = Format::Seconds;
        assert_eq!(f.format(0.25, None), "250ms");
        assert_eq!(f.format(1.2, None), "1.2s");
        assert_eq!(f.format(0.0123, None), "12.3ms");
        assert_eq!(f.format(0.0, None), "0s");
        assert_eq!(f.format(0.0000025, None), "2.5µs");
        assert_eq!(f.format(90.0, None), "1.5min");
        assert_eq!(f.format(0.9999, None), "1s");
        assert_eq!(Format::Milliseconds.format(250.0, None), "250ms");
    }

    #[test]
    fn percent() {
        assert_eq!(Format::PercentUnit.format(0.025, None), "2.5%");
        assert_eq!(Format::Percent.format(99.5, None), "99.5%");
        assert_eq!(Format::PercentUnit.format(1.0, None), "100%");
    }

    #[test]
    fn short_and_rates() {
        assert_eq!(Format::Short.format(1234.0, None), "1.23K");
        assert_eq!(Format::Short.format(250.0, None), "250");
        assert_eq!(Format::Short.format(999_960.0, None), "1M");
        assert_eq!(Format::Short.format(-0.0001, None), "-0.0001");
        assert_eq!(Format::ReqPerSec.format(49.87, None), "49.9 req/s");
        assert_eq!(Format::Short.format(4.5678, Some(1)), "4.6");
    }

    #[test]
    fn bytes() {
        assert_eq!(Format::Bytes.format(512.0, None), "512 B");
        assert_eq!(Format::Bytes.format(1536.0, None), "1.5 KiB");
        assert_eq!(Format::Bytes.format(3.0 * 1024.0 * 1024.0, None), "3 MiB");
    }

    #[test]
    fn specials() {
        assert_eq!(Format::Seconds.format(f64::NAN, None), "NaN");
        assert_eq!(Format::Short.format(f64::INFINITY, None), "+Inf");
    }

    #[test]
    fn durations() {
        assert_eq!(short_duration(45.0), "45s");
        assert_eq!(short_duration(125.0), "2m05s");
        assert_eq!(short_duration(3720.0), "1h02m");
        assert_eq!(range_label(900), "15m");
        assert_eq!(range_label(86400), "24h");
        assert_eq!(range_label(7 * 86400), "7d");
    }
}
