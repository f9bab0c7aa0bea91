//! Wall-clock labels without a time zone database: the offset from UTC is passed in.

use std::fmt::Write as _;

/// Hours, minutes and seconds of the day of Unix time `t` shifted by `offset` seconds.
pub fn hms(t: f64, offset: i32) -> (u32, u32, u32) {
    let secs = (t.floor() as i64 + i64::from(offset)).rem_euclid(86400);
    (
        (secs / 3600) as u32,
        ((secs % 3600) / 60) as u32,
        (secs % 60) as u32,
    )
}

/// Month and day of Unix time `t` shifted by `offset` seconds (proleptic Gregorian).
pub fn month_day(t: f64, offset: i32) -> (u32, u32) {
    let days = (t.floor() as i64 + i64::from(offset)).div_euclid(86400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (m as u32, d as u32)
}

/// `HH:MM:SS`.
pub fn clock(t: f64, offset: i32) -> String {
    let (h, m, s) = hms(t, offset);
    format!("{h:02}:{m:02}:{s:02}")
}

/// An axis label for a tick `interval` seconds apart.
pub fn axis_label(out: &mut String, t: f64, offset: i32, interval: u64) {
    out.clear();
    if interval >= 86400 {
        let (mo, d) = month_day(t, offset);
        let _ = write!(out, "{mo:02}-{d:02}");
    } else {
        let (h, m, s) = hms(t, offset);
        if interval < 60 {
            let _ = write!(out, "{h:02}:{m:02}:{s:02}");
        } else {
            let _ = write!(out, "{h:02}:{m:02}");
        }
    }
}

/// Round tick intervals for a time axis, in seconds.
pub const INTERVALS: [u64; 17] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
];

/// The smallest round interval giving at most `max_labels` labels over `span` seconds.
pub fn interval_for(span: f64, max_labels: usize) -> u64 {
    let max_labels = max_labels.max(1) as f64;
    INTERVALS
        .iter()
        .copied()
        .find(|i| span / *i as f64 <= max_labels)
        .unwrap_or(86400 * ((span / 86400.0 / max_labels).ceil() as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time() {
        // 2026-11-25 15:02:15 UTC
        let t = 1_795_618_935.0;
        assert_eq!(hms(t, 0), (15, 2, 15));
        assert_eq!(month_day(t, 0), (11, 25));
        assert_eq!(hms(t, 3600), (16, 2, 15));
        assert_eq!(clock(t, -16 * 3600), "23:02:15");
    }

    #[test]
    fn intervals() {
        assert_eq!(interval_for(900.0, 6), 300);
        assert_eq!(interval_for(60.0, 10), 10);
        assert_eq!(interval_for(7.0 * 86400.0, 8), 86400);
    }
}
