//! Formatting of numbers, dates and text for cells, by display width.

use crate::timeutil;
use unicode_width::UnicodeWidthStr;

/// Display width of a text in terminal cells (CJK and emoji count 2).
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Cut a text to at most `max` cells, with an ellipsis when cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    cut(s, max)
}

/// The start of a text that fits `max` cells with an ellipsis after it,
/// the ellipsis included, whether or not the whole text would fit (a text
/// that goes on past what is shown).
pub fn cut(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut w = 0;
    for ch in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(ch);
        w += cw;
    }
    out.push('…');
    out
}

/// The first of `titles` (longest first) that fits a panel `width` wide
/// (its borders and the spaces around the title taken off), else the last.
pub fn title_for(width: u16, titles: &[String]) -> String {
    let room = usize::from(width).saturating_sub(4);
    titles
        .iter()
        .find(|t| self::width(t) <= room)
        .or(titles.last())
        .cloned()
        .unwrap_or_default()
}

/// The end of a text in at most `max` cells, with an ellipsis before it when
/// cut (the text being typed on an input line: its end, where the cursor
/// is, stays in sight).
pub fn fit_tail(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut tail: Vec<char> = Vec::new();
    let mut w = 0;
    for ch in s.chars().rev() {
        let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        tail.push(ch);
        w += cw;
    }
    let mut out = String::from('…');
    out.extend(tail.into_iter().rev());
    out
}

/// A name in at most `max` cells, cut in the middle when it must be: its
/// start and its end stay (`events_…are_90d` and `events_…ike_90d` stay
/// apart, where `events_social_…` would not).
pub fn fit_middle(s: &str, max: usize) -> String {
    if width(s) <= max || max < 5 {
        return fit(s, max);
    }
    let head = fit(s, (max - 1) / 2 + 1);
    let head = head.trim_end_matches('…');
    let tail = fit_tail(s, max - width(head));
    format!("{head}{tail}")
}

/// Money with thousands separators and 2 decimals.
pub fn money(x: f64) -> String {
    crate::analytics::priority::money(x)
}

/// Compact money for narrow cells: 1,234.50 / 12.3k / 4.5M.
pub fn money_short(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if a >= 1e9 {
        format!("{:.1}B", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", x / 1e3)
    } else {
        money(x)
    }
}

/// Money in a column of values that `whole` says reach 10,000: then every
/// value is shown in whole units (15,123 above 8,751, not 15.1k above
/// 8,750.98), else with cents; past 10 million, 12.3M.
pub fn money_in_column(x: f64, whole: bool) -> String {
    if !x.is_finite() || x.abs() >= 1e7 {
        money_short(x)
    } else if whole {
        count(x.round() as i64)
    } else {
        money(x)
    }
}

/// Whether a column of money values is shown in whole units
/// ([`money_in_column`]).
pub fn whole_units(values: impl IntoIterator<Item = f64>) -> bool {
    values.into_iter().any(|v| v.abs() >= 10_000.0)
}

/// A count in at most four characters: 950, 9.5k, 95k, 1.2M.
pub fn count_short(n: i64) -> String {
    let a = n.abs() as f64;
    if a >= 1e6 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if a >= 1e5 {
        format!("{:.0}k", n as f64 / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

/// A probability or share as a percentage with one decimal. A value short
/// of certainty is never shown as certain: 0.99996 is ">99.9%", not
/// "100.0%", and 0.00004 is "<0.1%", not "0.0%".
pub fn percent(p: f64) -> String {
    if !p.is_finite() {
        return "n/a".into();
    }
    if (0.9995..1.0).contains(&p) {
        return ">99.9%".into();
    }
    if p > 0.0 && p < 0.0005 {
        return "<0.1%".into();
    }
    format!("{:.1}%", p * 100.0)
}

pub fn day(ts: i64) -> String {
    timeutil::ts_to_day_string(ts)
}

/// A duration in days as "2y 3m", "5m", "12d".
pub fn tenure(days: f64) -> String {
    if !days.is_finite() || days < 0.0 {
        return "-".into();
    }
    let d = days as i64;
    // Whole months of 30 days, at most 11 (the 360-364 days before a year
    // are 11 months, not "12m" nor "1y 12m").
    let months = ((d % 365) / 30).min(11);
    if d >= 365 && months == 0 {
        format!("{}y", d / 365)
    } else if d >= 365 {
        format!("{}y {months}m", d / 365)
    } else if d >= 30 {
        format!("{months}m")
    } else {
        format!("{d}d")
    }
}

/// `parts` joined with " · " in their order of importance, as many as fit
/// in `max` cells; "…" says that some did not.
pub fn fit_parts(parts: &[String], max: usize) -> String {
    let mut out = String::new();
    for (k, part) in parts.iter().enumerate() {
        let next = if out.is_empty() {
            part.clone()
        } else {
            format!("{out} · {part}")
        };
        let last = k + 1 == parts.len();
        // Room for the "…" that says more followed, unless this is the last.
        let room = if last { max } else { max.saturating_sub(2) };
        if width(&next) > room {
            if out.is_empty() {
                return fit(part, max);
            }
            return format!("{out} …");
        }
        out = next;
    }
    out
}

/// Thousands separators for counts.
pub fn count(n: i64) -> String {
    crate::analytics::priority::count(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cut_in_the_middle_keep_both_ends() {
        assert_eq!(fit_middle("events_social_share_90d", 15), "events_…are_90d");
        assert_eq!(fit_middle("events_social_like_90d", 15), "events_…ike_90d");
        assert_eq!(fit_middle("feedback_365d", 15), "feedback_365d");
        assert_eq!(width(&fit_middle("王芳王芳王芳王芳王芳", 9)), 9);
        assert_eq!(fit_middle("abcdefgh", 4), "abc…");
    }

    #[test]
    fn parts_fit_in_order_and_say_when_some_did_not() {
        let parts: Vec<String> = ["BG/NBD r 1.0851", "unit week", "margin 30%"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            fit_parts(&parts, 80),
            "BG/NBD r 1.0851 · unit week · margin 30%"
        );
        assert_eq!(
            fit_parts(&parts, 40),
            "BG/NBD r 1.0851 · unit week · margin 30%"
        );
        assert_eq!(fit_parts(&parts, 39), "BG/NBD r 1.0851 · unit week …");
        assert_eq!(fit_parts(&parts, 20), "BG/NBD r 1.0851 …");
        assert_eq!(width(&fit_parts(&parts, 10)), 10);
    }

    #[test]
    fn the_tail_fits_by_display_width() {
        assert_eq!(fit_tail("short", 10), "short");
        assert_eq!(fit_tail("a long note typed", 8), "…e typed");
        assert_eq!(width(&fit_tail("王芳王芳王芳", 5)), 5);
        assert_eq!(fit_tail("王芳王芳王芳", 5), "…王芳");
    }

    #[test]
    fn fits_by_display_width() {
        assert_eq!(fit("王芳王芳王芳", 5), "王芳…");
        assert_eq!(width(&fit("王芳王芳王芳", 5)), 5);
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("abcdef", 4), "abc…");
    }

    #[test]
    fn numbers() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(money_short(1234.5), "1,234.50");
        assert_eq!(money_short(15_619.9), "15.6k");
        assert_eq!(money_short(2_500_000.0), "2.5M");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(tenure(800.0), "2y 2m");
        // Never twelve months: a year is a year.
        assert_eq!(tenure(364.0), "11m");
        assert_eq!(tenure(365.0), "1y");
        assert_eq!(tenure(729.0), "1y 11m");
        assert_eq!(tenure(730.0), "2y");
    }
}

#[cfg(test)]
mod percent_tests {
    use super::percent;

    #[test]
    fn percent_never_claims_certainty() {
        assert_eq!(percent(0.99996), ">99.9%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(0.9992), "99.9%");
        assert_eq!(percent(0.00004), "<0.1%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.4567), "45.7%");
        assert_eq!(percent(f64::NAN), "n/a");
    }
}
