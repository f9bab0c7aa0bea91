//! RFC 3339 timestamps as Alertmanager's API v2 writes and reads them, to and from
//! milliseconds since the epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `2026-12-02T11:50:00.123Z` (UTC, milliseconds), as Go's `strfmt.DateTime` writes it.
pub fn format_ms(ms: i64) -> String {
    let t = if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    };
    humantime::format_rfc3339_millis(t).to_string()
}

/// Reads an RFC 3339 timestamp (`Z` or a `±hh:mm` offset, any fraction) into ms since the
/// epoch. `None` when it is not one.
pub fn parse_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    // Split off the zone: `Z`, or `+hh:mm`/`-hh:mm` after the time of day.
    let (local, offset_min) = if let Some(l) = text.strip_suffix(['Z', 'z']) {
        (l, 0i64)
    } else {
        let zone_at = text.len().checked_sub(6)?;
        let zone = text.get(zone_at..)?;
        let sign = match zone.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let h: i64 = zone.get(1..3)?.parse().ok()?;
        let m: i64 = zone.get(4..6)?.parse().ok()?;
        if zone.as_bytes().get(3) != Some(&b':') {
            return None;
        }
        (&text[..zone_at], sign * (h * 60 + m))
    };
    let (whole, frac) = match local.split_once('.') {
        Some((w, f)) => (w, f),
        None => (local, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = humantime::parse_rfc3339(&format!("{whole}Z")).ok()?;
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    let mut ms_frac = 0i64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms_frac += i64::from(b - b'0') * [100, 10, 1][i];
    }
    Some(secs * 1000 + ms_frac - offset_min * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        let ms = 1_764_676_200_123;
        let s = format_ms(ms);
        assert_eq!(s, "2025-12-02T11:50:00.123Z");
        assert_eq!(parse_ms(&s), Some(ms));
        assert_eq!(parse_ms("2025-12-02T11:50:00Z"), Some(ms - 123));
        assert_eq!(
            parse_ms("2025-12-02T11:50:00.123456789Z"),
            Some(ms),
            "nanoseconds cut to ms"
        );
        assert_eq!(parse_ms("2025-12-02T12:50:00.123+01:00"), Some(ms));
        assert_eq!(parse_ms("2025-12-02T10:20:00.123-01:30"), Some(ms));
        assert_eq!(parse_ms("0001-01-01T00:00:00Z"), None, "Go's zero time");
        assert_eq!(parse_ms("yesterday"), None);
        assert_eq!(parse_ms("2025-12-02T11:50:00.1x3Z"), None);
    }
}
