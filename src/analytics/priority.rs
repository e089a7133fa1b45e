//! Queue priority of a feedback item, and its explanation in words.
//!
//! priority = value-at-risk term + sentiment term + kind term + detractor term + age term
//!
//! * value at risk = churn probability x CLV of the customer; term = 10 * log10(1 + VaR)
//!   (VaR 100 -> 20 points, 1,000 -> 30, 10,000 -> 40); 0 while no score exists.
//! * sentiment term = 20 * max(0, -sentiment)  (a text at -1 adds 20).
//! * kind: complaint 15, question 8, other 5, nps 3, csat 3, praise 0.
//! * NPS detractor (score 0-6) adds 10; a CSAT of 1-2 adds 5.
//! * age: 10 points per SLA period elapsed, capped at 30. The SLA clock is the
//!   first-response SLA while the item is `new`, the resolution SLA afterwards.
//!
//! The first four terms do not change with time and are stored with the item
//! (`prio_static`); the age term is added when the queue is read, with the
//! agent's SLA settings, so the queue is ordered correctly at every moment
//! (`store::queue` finds the top without sorting every item).

use serde::{Deserialize, Serialize};

pub const KINDS: [&str; 6] = ["complaint", "question", "praise", "nps", "csat", "other"];

/// Service levels of one kind, in hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    #[serde(default = "default_first")]
    pub first_response_hours: f64,
    #[serde(default = "default_resolution")]
    pub resolution_hours: f64,
}

fn default_first() -> f64 {
    24.0
}
fn default_resolution() -> f64 {
    72.0
}

impl Default for Sla {
    fn default() -> Self {
        Sla {
            first_response_hours: default_first(),
            resolution_hours: default_resolution(),
        }
    }
}

/// SLA per kind (defaults: 24 h first response, 72 h resolution for every kind).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    #[serde(default)]
    pub complaint: Sla,
    #[serde(default)]
    pub question: Sla,
    #[serde(default)]
    pub praise: Sla,
    #[serde(default)]
    pub nps: Sla,
    #[serde(default)]
    pub csat: Sla,
    #[serde(default)]
    pub other: Sla,
}

impl SlaConfig {
    pub fn for_kind(&self, kind: &str) -> Sla {
        match kind {
            "complaint" => self.complaint,
            "question" => self.question,
            "praise" => self.praise,
            "nps" => self.nps,
            "csat" => self.csat,
            _ => self.other,
        }
    }
}

/// What the time-independent part depends on.
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub sentiment: Option<f64>,
    pub kind: &'a str,
    pub score: Option<f64>,
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

pub fn value_at_risk(i: &Inputs) -> Option<f64> {
    match (finite(i.churn_prob), finite(i.clv)) {
        (Some(p), Some(c)) => Some((p.clamp(0.0, 1.0) * c).max(0.0)),
        _ => None,
    }
}

fn kind_points(kind: &str) -> f64 {
    match kind {
        "complaint" => 15.0,
        "question" => 8.0,
        "other" => 5.0,
        "nps" | "csat" => 3.0,
        _ => 0.0,
    }
}

fn detractor_points(i: &Inputs) -> f64 {
    match (i.kind, finite(i.score)) {
        ("nps", Some(s)) if s <= 6.0 => 10.0,
        ("csat", Some(s)) if s <= 2.0 => 5.0,
        _ => 0.0,
    }
}

/// The time-independent part of the priority.
pub fn static_priority(i: &Inputs) -> f64 {
    let var = value_at_risk(i).map_or(0.0, |v| 10.0 * (1.0 + v).log10());
    let sent = finite(i.sentiment).map_or(0.0, |s| 20.0 * (-s.clamp(-1.0, 1.0)).max(0.0));
    var + sent + kind_points(i.kind) + detractor_points(i)
}

/// Hours the SLA clock allows in the item's current phase.
pub fn sla_hours(sla: &SlaConfig, kind: &str, status: &str) -> f64 {
    let s = sla.for_kind(kind);
    if status == "new" {
        s.first_response_hours
    } else {
        s.resolution_hours
    }
    .max(1.0 / 60.0)
}

/// The age term.
pub fn age_term(sla: &SlaConfig, kind: &str, status: &str, created_at: i64, now: i64) -> f64 {
    // Done, or waiting on the customer (the clock is paused): no pressure.
    if status == "resolved" || status == "closed" || status == "pending" {
        return 0.0;
    }
    let hours = (now - created_at) as f64 / 3600.0;
    10.0 * (hours / sla_hours(sla, kind, status)).clamp(0.0, 3.0)
}

/// Seconds left on the SLA clock (negative when overdue), None once resolved.
pub fn sla_left(
    sla: &SlaConfig,
    kind: &str,
    status: &str,
    created_at: i64,
    now: i64,
) -> Option<i64> {
    // No clock: done, paused while pending, or never started (praise, an
    // NPS promoter: see `store::feedback::NO_SLA`).
    if status == "resolved" || status == "closed" || status == "pending" || created_at >= 1 << 59 {
        return None;
    }
    let limit = (sla_hours(sla, kind, status) * 3600.0).round() as i64;
    // Overdue when this is <= 0 (`store::queue::is_overdue`).
    Some(created_at + limit - now)
}

/// The SLA clock in words: ("5 h left", false), ("OVERDUE 2 d", true),
/// "paused: pending", "no SLA" (praise, an NPS promoter), "-" once done;
/// with " · 1st response late 5 h" when the first response came (or is
/// still missing) after its SLA, which stays visible afterwards.
#[allow(clippy::too_many_arguments)]
pub fn sla_words(
    sla: &SlaConfig,
    kind: &str,
    status: &str,
    sla_start: i64,
    created_at: i64,
    first_response_at: Option<i64>,
    now: i64,
) -> (String, bool) {
    let (mut text, overdue) = if status == "pending" {
        ("paused: pending".to_string(), false)
    } else if sla_start >= 1 << 59 {
        ("no SLA".to_string(), false)
    } else {
        match sla_left(sla, kind, status, sla_start, now) {
            None => ("-".to_string(), false),
            Some(s) if s <= 0 => (
                format!("OVERDUE {}", crate::timeutil::humanize_secs(-s)),
                true,
            ),
            Some(s) => (format!("{} left", crate::timeutil::humanize_secs(s)), false),
        }
    };
    if let Some(late) =
        first_response_late(sla, kind, sla_start, created_at, first_response_at, now)
    {
        if status != "new" {
            text.push_str(&format!(
                " · 1st response late {}",
                crate::timeutil::humanize_secs(late)
            ));
        }
    }
    (text, overdue)
}

/// How late the first response was (or is, while none came), in seconds;
/// None when it was in time or the item has no SLA.
pub fn first_response_late(
    sla: &SlaConfig,
    kind: &str,
    sla_start: i64,
    created_at: i64,
    first_response_at: Option<i64>,
    now: i64,
) -> Option<i64> {
    if sla_start >= 1 << 59 {
        return None;
    }
    let limit = (sla.for_kind(kind).first_response_hours.max(1.0 / 60.0) * 3600.0).round() as i64;
    let took = first_response_at.unwrap_or(now) - created_at;
    (took > limit).then_some(took - limit)
}

/// Money with two decimals and thousands separators: 1240.5 -> "1,240.50".
/// Digits with thousands separators: "1234567" -> "1,234,567".
fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with thousands separators: 1,240.
pub fn count(n: i64) -> String {
    let out = group_digits(&n.unsigned_abs().to_string());
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn money(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let neg = x < 0.0;
    let cents = (x.abs() * 100.0).round() as u128;
    let (whole, frac) = (cents / 100, cents % 100);
    let out = group_digits(&whole.to_string());
    format!("{}{out}.{frac:02}", if neg { "-" } else { "" })
}

/// Why an item ranks where it does, part by part.
pub fn explain(
    i: &Inputs,
    sla: &SlaConfig,
    status: &str,
    created_at: i64,
    now: i64,
) -> Vec<String> {
    let mut parts = Vec::new();
    match value_at_risk(i) {
        Some(v) => parts.push(format!("value at risk {}", money(v))),
        None => parts.push("value at risk unknown (no churn score or CLV yet)".into()),
    }
    if let Some(s) = finite(i.sentiment) {
        parts.push(format!("sentiment {s:+.2}"));
    }
    parts.push(format!("kind {}", i.kind));
    if detractor_points(i) > 0.0 {
        if let Some(s) = finite(i.score) {
            parts.push(format!("{} {s:.0} (detractor)", i.kind.to_uppercase()));
        }
    }
    if let Some(left) = sla_left(sla, i.kind, status, created_at, now) {
        let phase = if status == "new" {
            "first-response"
        } else {
            "resolution"
        };
        let h = left.abs() / 3600;
        if left <= 0 {
            parts.push(format!("{h} h past {phase} SLA"));
        } else {
            parts.push(format!("{h} h left on {phase} SLA"));
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats_like_people_write_it() {
        assert_eq!(money(1240.5), "1,240.50");
        assert_eq!(money(0.0), "0.00");
        assert_eq!(money(-1234567.891), "-1,234,567.89");
        assert_eq!(money(f64::NAN), "n/a");
    }

    #[test]
    fn riskier_items_rank_higher() {
        let base = Inputs {
            churn_prob: Some(0.2),
            clv: Some(100.0),
            sentiment: Some(0.0),
            kind: "question",
            score: None,
        };
        let worse = Inputs {
            churn_prob: Some(0.8),
            clv: Some(2000.0),
            sentiment: Some(-0.7),
            kind: "complaint",
            score: None,
        };
        assert!(static_priority(&worse) > static_priority(&base));
        let praise = Inputs {
            kind: "praise",
            ..base.clone()
        };
        assert!(static_priority(&base) > static_priority(&praise));
        let detractor = Inputs {
            kind: "nps",
            score: Some(3.0),
            ..base.clone()
        };
        let promoter = Inputs {
            kind: "nps",
            score: Some(9.0),
            ..base.clone()
        };
        assert!(static_priority(&detractor) > static_priority(&promoter));
    }

    #[test]
    fn explanation_names_each_part() {
        let i = Inputs {
            churn_prob: Some(0.5),
            clv: Some(2481.0),
            sentiment: Some(-0.72),
            kind: "complaint",
            score: None,
        };
        let now = 1_000_000;
        let text = explain(&i, &SlaConfig::default(), "new", now - 54 * 3600, now).join("; ");
        assert_eq!(
            text,
            "value at risk 1,240.50; sentiment -0.72; kind complaint; 30 h past first-response SLA"
        );
    }

    #[test]
    fn age_grows_until_capped() {
        let sla = SlaConfig::default();
        assert_eq!(age_term(&sla, "question", "new", 0, 0), 0.0);
        assert!((age_term(&sla, "question", "new", 0, 24 * 3600) - 10.0).abs() < 1e-9);
        assert!((age_term(&sla, "question", "open", 0, 24 * 3600) - 10.0 / 3.0).abs() < 1e-9);
        assert_eq!(age_term(&sla, "question", "new", 0, 1000 * 3600), 30.0);
        assert_eq!(age_term(&sla, "question", "resolved", 0, 1000 * 3600), 0.0);
    }
}
