//! The rows survival curves are computed on: per customer, a duration, an
//! event flag and a group, from customer columns or attributes.

use super::attributes;
use super::sql::Sql;
use crate::error::{Error, Result};
use rusqlite::types::Value;
use std::collections::HashMap;

/// Core columns a curve can be grouped by (the rest are attributes).
const CORE: &[&str] = &["plan", "segment", "region"];

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        Value::Real(x) => Some(crate::export::num(*x).to_string()),
        Value::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}

fn flag_of(v: &Value) -> Option<bool> {
    match v {
        Value::Integer(i) => Some(*i != 0),
        Value::Real(x) => Some(*x != 0.0),
        Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" | "y" | "churned" => Some(true),
            "no" | "false" | "0" | "n" | "stayed" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The rows, and what the event turned out to be (in words).
pub struct Subjects {
    pub rows: Vec<(f64, bool, String)>,
    pub event: String,
}

/// (duration, event, group) per customer. `duration`: a numeric attribute
/// (e.g. Telco's `tenure`), or None for months from the customer's start
/// (signup, else first order). `event`: `churned` (the label column) or an
/// attribute with yes/no values. For customers without a label, leaving is
/// "lapsed": no order for 365 days, which is only known 365 days later, so
/// they are observed up to 365 days before the latest order (an event is
/// a last order before then; everyone else is censored there, and who
/// started after it is left out). `by`: plan, segment, region or an
/// attribute; customers without a value are "(none)". On either engine.
pub fn subjects(
    conn: &dyn Sql,
    duration: Option<&str>,
    event: &str,
    by: Option<&str>,
) -> Result<Subjects> {
    // Core columns per customer.
    struct Core {
        since: Option<i64>,
        last: Option<i64>,
        churned: Option<i64>,
        group: Option<String>,
    }
    let by_core = by.filter(|b| CORE.contains(b));
    let group_sql = match by_core {
        Some("plan") => "plan",
        Some("segment") => "segment",
        Some("region") => "region",
        _ => "NULL",
    };
    // sql-format-ok: the column comes from the constant list above.
    let sql = format!("SELECT cid, since, last_order, churned, {group_sql} FROM customers");
    let mut core: Vec<(i64, Core)> = Vec::new();
    conn.each(&sql, &[], &mut |r| {
        core.push((
            r.i64(0)?,
            Core {
                since: r.opt_i64(1)?,
                last: r.opt_i64(2)?,
                churned: r.opt_i64(3)?,
                group: r.opt_text(4)?,
            },
        ));
        Ok(())
    })?;
    let attr = |name: &str, what: &str| -> Result<HashMap<i64, Value>> {
        Ok(attributes::values(conn, name)?
            .ok_or_else(|| {
                let mut known: Vec<String> = match what {
                    "--by" => CORE.iter().map(|c| c.to_string()).collect(),
                    "--event" => vec!["churned".into()],
                    _ => Vec::new(),
                };
                known.extend(attributes::names(conn).unwrap_or_default());
                Error::bad(format!(
                    "{what} {name}: no such column or attribute (there are: {})",
                    known.join(", ")
                ))
            })?
            .into_iter()
            .collect())
    };
    let durations = duration.map(|d| attr(d, "--duration")).transpose()?;
    let events = if event == "churned" {
        None
    } else {
        let m = attr(event, "--event")?;
        if let Some(v) = m.values().find(|v| flag_of(v).is_none()) {
            return Err(Error::bad(format!(
                "--event {event}: its values are not yes/no (e.g. '{}'); use an attribute that says whether the customer left",
                text_of(v).unwrap_or_default()
            )));
        }
        Some(m)
    };
    let groups = match by {
        Some(b) if by_core.is_none() => Some(attr(b, "--by")?),
        _ => None,
    };
    let latest: Option<i64> = crate::store::customers::latest_order(conn)?;
    let lapsed_before = latest.map(|l| l - 365 * crate::timeutil::DAY);
    let month = crate::timeutil::DAY as f64 * 365.25 / 12.0;
    let mut out = Vec::with_capacity(core.len());
    let (mut labelled, mut lapsed_rule) = (0usize, 0usize);
    for (cid, c) in core {
        // The end of observation: the latest order, or for the lapsed rule
        // 365 days before it (only then is a lapse known).
        let mut end = latest;
        let ev = match &events {
            Some(m) => m.get(&cid).and_then(flag_of),
            None => match (c.churned, c.last, lapsed_before) {
                (Some(x), _, _) => {
                    labelled += 1;
                    Some(x != 0)
                }
                (None, Some(l), Some(cut)) => {
                    if durations.is_none() && c.since.is_some_and(|s| s >= cut) {
                        // Started too late for a lapse to be known.
                        continue;
                    }
                    lapsed_rule += 1;
                    end = Some(cut);
                    Some(l < cut)
                }
                _ => None,
            },
        };
        let Some(ev) = ev else { continue };
        let dur = match &durations {
            Some(m) => m.get(&cid).and_then(|v| match v {
                Value::Real(x) => Some(*x),
                Value::Integer(i) => Some(*i as f64),
                _ => None,
            }),
            None => match (c.since, end) {
                (Some(s), Some(e)) => {
                    let stop = if ev { c.last.unwrap_or(e).min(e) } else { e };
                    Some(((stop - s) as f64 / month).max(0.0))
                }
                _ => None,
            },
        };
        let Some(dur) = dur.filter(|d| d.is_finite() && *d >= 0.0) else {
            continue;
        };
        let group = match (&groups, by_core) {
            (Some(m), _) => m.get(&cid).and_then(text_of),
            (None, Some(_)) => c.group,
            (None, None) => Some("all".into()),
        }
        .unwrap_or_else(|| "(none)".into());
        out.push((dur, ev, group));
    }
    let event = match (event, labelled, lapsed_rule) {
        ("churned", _, 0) => "churned (the label)".to_string(),
        ("churned", 0, _) => "lapsed: no order for 365 days (the data have no churned label), \
                             observed up to 365 days before the latest order"
            .to_string(),
        ("churned", l, n) => format!(
            "churned (the label, {l} customers) or lapsed: no order for 365 days ({n} customers without a label)"
        ),
        (other, _, _) => other.to_string(),
    };
    Ok(Subjects { rows: out, event })
}
