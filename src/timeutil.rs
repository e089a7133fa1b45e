//! Dates and times. Stored as seconds since 1970-01-01 UTC; calendar dates as
//! `YYYY-MM-DD`. Parsers never panic, whatever the input (they are fuzzed).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};

pub const DAY: i64 = 86_400;

/// Current time in seconds since the epoch.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Today's date (UTC).
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Seconds at midnight UTC of a date.
pub fn date_to_ts(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|dt| dt.and_utc().timestamp())
        .unwrap_or(0)
}

/// The UTC calendar date of a timestamp.
pub fn ts_to_date(ts: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

/// `YYYY-MM-DD` of a timestamp.
pub fn ts_to_day_string(ts: i64) -> String {
    ts_to_date(ts).format("%Y-%m-%d").to_string()
}

/// `YYYY-MM-DD HH:MM` of a timestamp (UTC).
pub fn ts_to_minute_string(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// RFC 3339 in UTC: `2024-03-01T12:30:00Z`.
pub fn ts_to_rfc3339(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `YYYY-MM` of a timestamp.
pub fn ts_to_month_string(ts: i64) -> String {
    let d = ts_to_date(ts);
    format!("{:04}-{:02}", d.year(), d.month())
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parse a calendar date: `YYYY-MM-DD` or `YYYYMMDD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.trim().as_bytes();
    let (y, m, d) = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => {
            (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)
        }
        8 => (digits(&b[0..4])?, digits(&b[4..6])?, digits(&b[6..8])?),
        _ => return None,
    };
    if !(1000..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// Parse a point in time: `YYYY-MM-DD`, `YYYYMMDD` (midnight UTC), RFC 3339
/// (`2024-03-01T12:30:00Z`, `2024-03-01T12:30:00+02:00`), or a naive
/// `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DDTHH:MM[:SS]` taken as UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(d) = parse_date(t) {
        return Some(date_to_ts(d));
    }
    if t.len() < 16 || !t.is_char_boundary(10) {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        // The same years as the other forms (found by the property tests:
        // RFC 3339 took year 0000).
        if (1000..=9999).contains(&dt.with_timezone(&Utc).year()) {
            return Some(dt.timestamp());
        }
        return None;
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            if (1000..=9999).contains(&dt.year()) {
                return Some(Utc.from_utc_datetime(&dt).timestamp());
            }
        }
    }
    None
}

/// Whole days between two timestamps (b - a), rounded down.
pub fn days_between(a: i64, b: i64) -> f64 {
    (b - a) as f64 / DAY as f64
}

/// Human age of a duration in seconds: "45 s", "12 min", "5 h", "3 d".
pub fn humanize_secs(secs: i64) -> String {
    let s = secs.abs();
    let body = if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 2 * DAY {
        format!("{} h", s / 3600)
    } else {
        format!("{} d", s / DAY)
    };
    if secs < 0 {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_formats() {
        let d = date_to_ts(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
        assert_eq!(parse_timestamp("2024-03-01"), Some(d));
        assert_eq!(parse_timestamp("20240301"), Some(d));
        assert_eq!(parse_timestamp(" 2024-03-01 "), Some(d));
        assert_eq!(parse_timestamp("2024-03-01T00:00:00Z"), Some(d));
        assert_eq!(parse_timestamp("2024-03-01T02:00:00+02:00"), Some(d));
        assert_eq!(parse_timestamp("2024-03-01 01:00:00"), Some(d + 3600));
    }

    #[test]
    fn refuses_impossible_dates() {
        for s in [
            "2024-02-30",
            "20241301",
            "2024-1-01",
            "",
            "yesterday",
            "2024-03-01T25:00:00Z",
            "0000-01-01",
            "é024-03-01",
            "2024-03-01Té0:00",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let ts = parse_timestamp("1997-09-30").unwrap();
        assert_eq!(ts_to_day_string(ts), "1997-09-30");
        assert_eq!(ts_to_month_string(ts), "1997-09");
    }
}
