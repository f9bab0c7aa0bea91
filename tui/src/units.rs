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
    "bits",
    "decbits",
    "Bps",
    "binBps",
    "bps",
    "binbps",
    "reqps",
    "ops",
    "pps",
    "µs",
    "ns",
    "dtdurations",
    "rps",
    "wps",
    "iops",
    "hertz",
    "celsius",
    "bool_yes_no",
    "bool",
    "bool_on_off",
    "dateTimeAsIso",
    "cps",
    "eps",
    "mps",
    "rotrpm",
];

/// SI prefixes (powers of 1000), as Grafana writes them.
const SI: &[&str] = &["", "k", "M", "G", "T", "P"];
/// IEC prefixes (powers of 1024).
const IEC: &[&str] = &["", "Ki", "Mi", "Gi", "Ti", "Pi"];

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
    /// IEC byte sizes (KiB, MiB, …): Grafana's `bytes`.
    Bytes,
    /// A unit with SI (`iec: false`: k, M, G, powers of 1000) or IEC (Ki, Mi, Gi, powers
    /// of 1024) prefixes, as Grafana's `decbytes` (SI bytes), `Bps` (bytes/s SI),
    /// `binBps` (bytes/s IEC), `bps`/`binbps` (bits/s), `bits`/`decbits`, `pps` (packets/s).
    Prefixed {
        iec: bool,
        unit: &'static str,
    },
    /// Requests per second.
    ReqPerSec,
    /// Operations per second (Grafana's `ops`).
    OpsPerSec,
    /// A count per second with SI prefixes and a suffix: Grafana's `rps` (`rd/s`), `wps`
    /// (`wr/s`), `iops` (`io/s`).
    Counted(&'static str),
    /// Grafana's `none`: the number as it is, no prefix.
    None,
    /// Microseconds (`µs`).
    Microseconds,
    /// Nanoseconds (`ns`).
    Nanoseconds,
    /// Grafana's `dtdurations`: seconds as `2 days, 3 hours` (the largest unit, and
    /// `decimals` more).
    DtDurations,
    /// Degrees Celsius (`celsius`): `21.5°C`.
    Celsius,
    /// Grafana's `bool_yes_no`: 0 is `No`, anything else `Yes`.
    YesNo,
    /// Grafana's `bool` (`False`/`True`) and `bool_on_off` (`Off`/`On`): the text for 0,
    /// then for anything else.
    Bool(&'static str, &'static str),
    /// A number without prefixes and a unit right after it: Grafana's `rotrpm` (`rpm`).
    Fixed(&'static str),
    /// Grafana's `dateTimeAsIso`: milliseconds since the epoch as `2026-11-25 15:02:15`
    /// (UTC).
    DateTimeIso,
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
            "" | "short" => Self::Short,
            "none" => Self::None,
            "µs" => Self::Microseconds,
            "ns" => Self::Nanoseconds,
            "dtdurations" => Self::DtDurations,
            "rps" => Self::Counted("rd/s"),
            "wps" => Self::Counted("wr/s"),
            "iops" => Self::Counted("io/s"),
            "hertz" => Self::Prefixed {
                iec: false,
                unit: "Hz",
            },
            "celsius" => Self::Celsius,
            "bool_yes_no" => Self::YesNo,
            "bool" => Self::Bool("False", "True"),
            "bool_on_off" => Self::Bool("Off", "On"),
            "cps" => Self::Counted("c/s"),
            "eps" => Self::Counted("evt/s"),
            "mps" => Self::Counted("msg/s"),
            "rotrpm" => Self::Fixed(" rpm"),
            "dateTimeAsIso" => Self::DateTimeIso,
            "percent" => Self::Percent,
            "percentunit" => Self::PercentUnit,
            "s" | "seconds" => Self::Seconds,
            "ms" | "milliseconds" => Self::Milliseconds,
            "bytes" => Self::Bytes,
            "decbytes" => Self::Prefixed {
                iec: false,
                unit: "B",
            },
            "bits" => Self::Prefixed {
                iec: true,
                unit: "b",
            },
            "decbits" => Self::Prefixed {
                iec: false,
                unit: "b",
            },
            // Grafana's ids are case-sensitive: `Bps` bytes/s, `bps` bits/s.
            "Bps" => Self::Prefixed {
                iec: false,
                unit: "B/s",
            },
            "binBps" => Self::Prefixed {
                iec: true,
                unit: "B/s",
            },
            "bps" => Self::Prefixed {
                iec: false,
                unit: "b/s",
            },
            "binbps" => Self::Prefixed {
                iec: true,
                unit: "b/s",
            },
            "pps" => Self::Prefixed {
                iec: false,
                unit: "p/s",
            },
            "reqps" => Self::ReqPerSec,
            "ops" => Self::OpsPerSec,
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
        if *self == Self::YesNo {
            out.push_str(if v == 0.0 { "No" } else { "Yes" });
            return;
        }
        if let Self::Bool(no, yes) = self {
            out.push_str(if v == 0.0 { no } else { yes });
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
            Self::Bytes => prefixed(out, v, decimals, true, "B"),
            Self::Prefixed { iec, unit } => prefixed(out, v, decimals, *iec, unit),
            Self::ReqPerSec => {
                scaled(out, v, decimals, 1000.0, &["", "K", "M", "G", "T", "P"], "");
                out.push_str(" req/s");
            }
            Self::OpsPerSec => {
                scaled(out, v, decimals, 1000.0, &["", "K", "M", "G", "T", "P"], "");
                out.push_str(" ops/s");
            }
            Self::Counted(unit) => {
                scaled(out, v, decimals, 1000.0, &["", "K", "M", "G", "T", "P"], "");
                out.push(' ');
                out.push_str(unit);
            }
            Self::None => number(out, v, decimals),
            Self::Microseconds => duration(out, v / 1e6, decimals),
            Self::Nanoseconds => duration(out, v / 1e9, decimals),
            Self::DtDurations => dt_durations(out, v, decimals),
            Self::Celsius => {
                number(out, v, decimals);
                out.push_str("°C");
            }
            // Handled above.
            Self::YesNo | Self::Bool(..) => {}
            Self::Fixed(unit) => {
                number(out, v, decimals);
                out.push_str(unit);
            }
            Self::DateTimeIso => {
                if v.abs() < 1e15 {
                    out.push_str(&crate::export::date_time(v / 1000.0, 0));
                } else {
                    number(out, v, decimals);
                }
            }
            Self::Suffix(unit) => {
                scaled(out, v, decimals, 1000.0, &["", "K", "M", "G", "T", "P"], "");
                out.push(' ');
                out.push_str(unit);
            }
        }
    }
}

/// Seconds as Grafana's `toDuration` writes them: the largest unit that is at least one,
/// then `decimals` more units (each written even when zero), whole numbers, `, ` between.
fn dt_durations(out: &mut String, secs: f64, decimals: Option<u8>) {
    const UNITS: [(&str, f64); 8] = [
        ("year", 31_536_000.0),
        ("month", 2_592_000.0),
        ("week", 604_800.0),
        ("day", 86_400.0),
        ("hour", 3_600.0),
        ("minute", 60.0),
        ("second", 1.0),
        ("millisecond", 0.001),
    ];
    if secs == 0.0 {
        out.push_str("0 seconds");
        return;
    }
    if secs < 0.0 {
        out.push('-');
    }
    let mut left = secs.abs();
    let mut more = i32::from(decimals.unwrap_or(0));
    let mut started = false;
    let start = out.len();
    for (name, size) in UNITS {
        if more < 0 {
            break;
        }
        let n = left / size;
        if n >= 1.0 || started {
            started = true;
            let whole = n.floor();
            if out.len() > start {
                out.push_str(", ");
            }
            let _ = write!(out, "{whole} {name}{}", if whole == 1.0 { "" } else { "s" });
            left -= whole * size;
            more -= 1;
        }
    }
    if !started {
        out.push_str("0 milliseconds");
    }
}

/// Above this (after any prefix is applied) a number is written in scientific notation: a
/// value such as `1.25e300` must never become a 301-digit string that runs out of its cell.
const SCIENTIFIC_ABOVE: f64 = 1e9;
/// Below this (and not zero) too: `2.5e-9` rather than a `0` that hides a real value.
const SCIENTIFIC_BELOW: f64 = 1e-6;

/// Writes `v` with about three significant digits, trailing zeros trimmed.
fn number(out: &mut String, v: f64, decimals: Option<u8>) {
    let a = v.abs();
    if a >= SCIENTIFIC_ABOVE || (a != 0.0 && a < SCIENTIFIC_BELOW && decimals.is_none()) {
        scientific(out, v, decimals.map_or(2, usize::from));
        return;
    }
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

/// `v` as `1.25e300`: `digits` decimals in the mantissa, trailing zeros trimmed.
fn scientific(out: &mut String, v: f64, digits: usize) {
    let text = format!("{v:.digits$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    out.push_str(mantissa);
    out.push('e');
    out.push_str(exponent);
}

/// `v` with an SI or IEC prefix before `unit`: `1.5 KiB`, `12 MB/s`, `512 B`.
fn prefixed(out: &mut String, v: f64, decimals: Option<u8>, iec: bool, unit: &str) {
    let (base, prefixes) = if iec { (1024.0, IEC) } else { (1000.0, SI) };
    let start = out.len();
    scaled(out, v, decimals, base, prefixes, "");
    // The prefix was written right after the number; put the space before it.
    let digits_end = out[start..]
        .rfind(|c: char| c.is_ascii_digit())
        .map_or(out.len(), |i| start + i + 1);
    out.insert(digits_end, ' ');
    out.push_str(unit);
}

fn scaled(out: &mut String, v: f64, decimals: Option<u8>, base: f64, units: &[&str], sep: &str) {
    let mut x = v;
    let mut i = 0;
    // Round first so 999.96 becomes "1K", not "1000".
    while i + 1 < units.len() && x.abs() >= base * 0.9995 {
        x /= base;
        i += 1;
    }
    if x.abs() >= SCIENTIFIC_ABOVE {
        // Past the largest prefix: the plain number in scientific notation, no prefix.
        number(out, v, decimals);
        return;
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

    /// Issue 16 item 10 and issue 17 item 6: Grafana's data and data-rate units.
    #[test]
    fn grafana_data_units() {
        let f = |name: &str, v: f64| Format::from_name(name).format(v, None);
        // `bytes` is IEC, `decbytes` SI, as in Grafana.
        assert_eq!(f("bytes", 1.5e9), "1.4 GiB");
        assert_eq!(f("decbytes", 1.5e9), "1.5 GB");
        assert_eq!(f("decbytes", 512.0), "512 B");
        assert_eq!(f("decbytes", 1500.0), "1.5 kB");
        // Bytes/s: `Bps` SI, `binBps` IEC; bits/s: `bps` SI, `binbps` IEC.
        assert_eq!(f("Bps", 2_500_000.0), "2.5 MB/s");
        assert_eq!(f("binBps", 2048.0), "2 KiB/s");
        assert_eq!(f("bps", 1e9), "1 Gb/s");
        assert_eq!(f("binbps", 1024.0 * 1024.0), "1 Mib/s");
        assert_eq!(f("bits", 8.0), "8 b");
        assert_eq!(f("decbits", 8000.0), "8 kb");
        // ops/s and packets/s.
        assert_eq!(f("ops", 1234.0), "1.23K ops/s");
        assert_eq!(f("pps", 12.0), "12 p/s");
        assert_eq!(f("pps", 0.5), "0.5 p/s");
        assert_eq!(f("Bps", -2000.0), "-2 kB/s");
        // Fixed decimals keep the prefix.
        assert_eq!(
            Format::from_name("decbytes").format(1.5e6, Some(2)),
            "1.50 MB"
        );
        // Every listed name is known (not a free suffix).
        for name in UNIT_NAMES {
            assert!(
                !matches!(Format::from_name(name), Format::Suffix(_)),
                "{name} falls through to a suffix"
            );
        }
    }

    /// Issue 14 item 5: the rest of Grafana's common unit ids.
    #[test]
    fn more_grafana_units() {
        let f = |name: &str, v: f64| Format::from_name(name).format(v, None);
        assert_eq!(f("none", 1_234_567.0), "1234567");
        assert_eq!(f("short", 1_234_567.0), "1.23M");
        assert_eq!(f("µs", 250.0), "250µs");
        assert_eq!(f("µs", 2500.0), "2.5ms");
        assert_eq!(f("ns", 1.5e9), "1.5s");
        assert_eq!(f("rps", 1500.0), "1.5K rd/s");
        assert_eq!(f("wps", 3.0), "3 wr/s");
        assert_eq!(f("iops", 42.0), "42 io/s");
        assert_eq!(f("hertz", 2.4e9), "2.4 GHz");
        assert_eq!(f("celsius", 21.5), "21.5°C");
        assert_eq!(f("bool_yes_no", 0.0), "No");
        assert_eq!(f("bool_yes_no", 1.0), "Yes");
        assert_eq!(f("bool_yes_no", -3.0), "Yes");
        assert_eq!(f("bool", 0.0), "False");
        assert_eq!(f("bool_on_off", 1.0), "On");
        assert_eq!(f("eps", 2500.0), "2.5K evt/s");
        assert_eq!(f("cps", 3.0), "3 c/s");
        assert_eq!(f("mps", 12.0), "12 msg/s");
        assert_eq!(f("rotrpm", 5400.0), "5400 rpm");
        assert_eq!(
            f("dateTimeAsIso", 1_795_618_935_000.0),
            "2026-11-25 15:02:15"
        );
        // dtdurations: the largest unit, then `decimals` more (zeros written).
        assert_eq!(f("dtdurations", 93_784.0), "1 day");
        assert_eq!(
            Format::from_name("dtdurations").format(93_784.0, Some(2)),
            "1 day, 2 hours, 3 minutes"
        );
        assert_eq!(
            Format::from_name("dtdurations").format(3_600.0, Some(1)),
            "1 hour, 0 minutes"
        );
        assert_eq!(f("dtdurations", 45.0), "45 seconds");
        assert_eq!(f("dtdurations", 0.0), "0 seconds");
        assert_eq!(f("dtdurations", -120.0), "-2 minutes");
        // The importer's list of known ids is what is formatted here.
        for name in promdash_queries::grafana::fields::KNOWN_UNITS {
            assert!(
                !matches!(Format::from_name(name), Format::Suffix(_)),
                "{name} falls through to a suffix"
            );
            assert!(UNIT_NAMES.contains(name), "{name} not in UNIT_NAMES");
        }
    }

    #[test]
    fn specials() {
        assert_eq!(Format::Seconds.format(f64::NAN, None), "NaN");
        assert_eq!(Format::Short.format(f64::INFINITY, None), "+Inf");
    }

    #[test]
    fn huge_and_tiny_values_stay_short() {
        assert_eq!(Format::ReqPerSec.format(1.25e300, None), "1.25e300 req/s");
        assert_eq!(Format::Short.format(-1.5e300, Some(1)), "-1.5e300");
        assert_eq!(Format::Short.format(2.5e-9, None), "2.5e-9");
        assert_eq!(Format::Bytes.format(1e300, None), "1e300 B");
        assert_eq!(Format::Seconds.format(1e300, None), "1.16e295d");
        assert_eq!(Format::PercentUnit.format(3e10, None), "3e12%");
        // Within the prefixes nothing changes.
        assert_eq!(Format::Short.format(1.5e15, None), "1.5P");
        for v in [1.25e300, f64::MAX, -f64::MAX, 1e-300, f64::MIN_POSITIVE] {
            for f in [
                Format::Short,
                Format::Bytes,
                Format::Seconds,
                Format::ReqPerSec,
            ] {
                let text = f.format(v, None);
                assert!(text.len() <= 16, "{v} as {f:?} is {text:?}");
            }
        }
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
