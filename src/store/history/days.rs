//! The daily sums' reads behind feature extraction and the CLV summary
//! (`order_days`, `event_days`, `feedback_days`, schema 0012), with the
//! rows they are read into.

use super::{read_conn, stream, text};
use crate::error::Result;
use crate::jobs::Ctl;
use rusqlite::Connection;
use std::path::Path;

/// A customer's orders on one day (`order_days`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDay {
    pub cid: i64,
    pub day: i64,
    pub n: i64,
    pub spend: f64,
    pub first: i64,
    pub last: i64,
}

impl OrderDay {
    /// The columns of `order_days` that `from_row` reads, in its order.
    pub const COLUMNS: &'static str = "cid, day, n, spend, first_ts, last_ts";

    pub fn from_row(r: &rusqlite::Row) -> rusqlite::Result<OrderDay> {
        Ok(OrderDay {
            cid: r.get(0)?,
            day: r.get(1)?,
            n: r.get(2)?,
            spend: r.get(3)?,
            first: r.get(4)?,
            last: r.get(5)?,
        })
    }
}

/// Days with orders before `before_day` (days since 1970-01-01), by
/// customer and day.
pub fn scan_order_days(
    path: &Path,
    before_day: i64,
    ctl: Ctl,
    each: impl FnMut(OrderDay),
) -> Result<()> {
    order_days_of(&read_conn(path)?, before_day, ctl, each)
}

/// `scan_order_days` on the given connection.
pub fn order_days_of(
    conn: &Connection,
    before_day: i64,
    ctl: Ctl,
    mut each: impl FnMut(OrderDay),
) -> Result<()> {
    // sql-format-ok: a column list of ours.
    let mut st = conn.prepare(&format!(
        "SELECT {} FROM order_days WHERE day < ?1 ORDER BY cid, day",
        OrderDay::COLUMNS
    ))?;
    stream(&mut st, [before_day], ctl, |r| {
        each(OrderDay::from_row(r)?);
        Ok(())
    })
}

/// The `limit` most frequent event kinds on days [from_day, to_day), most
/// frequent first (from the per-day counts).
pub fn event_kinds_by_day(
    path: &Path,
    from_day: i64,
    to_day: i64,
    limit: usize,
) -> Result<Vec<String>> {
    let conn = read_conn(path)?;
    let mut st = conn.prepare(
        "SELECT kind FROM event_kind_days WHERE day >= ?1 AND day < ?2
         GROUP BY kind ORDER BY sum(n) DESC, kind LIMIT ?3",
    )?;
    let rows = st.query_map(rusqlite::params![from_day, to_day, limit as i64], |r| {
        r.get(0)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Events summed by customer, day and kind on days [from_day, to_day), as
/// (cid, day, kind, sum of values).
pub fn scan_event_days(
    path: &Path,
    from_day: i64,
    to_day: i64,
    ctl: Ctl,
    mut each: impl FnMut(i64, i64, &str, f64),
) -> Result<()> {
    let conn = read_conn(path)?;
    let mut st =
        conn.prepare("SELECT cid, day, kind, value FROM event_days WHERE day >= ?1 AND day < ?2")?;
    stream(&mut st, [from_day, to_day], ctl, |r| {
        let kind = text(r.get_ref(2)?).unwrap_or("");
        each(r.get(0)?, r.get(1)?, kind, r.get(3)?);
        Ok(())
    })
}

/// A customer's feedback on one day (`feedback_days`; scores on 0..1).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackDay {
    pub cid: i64,
    pub day: i64,
    pub n: i64,
    pub complaints: i64,
    pub score_sum: f64,
    pub score_n: i64,
    pub sentiment_sum: f64,
    pub sentiment_n: i64,
    pub last: i64,
}

impl FeedbackDay {
    /// The columns of `feedback_days` that `from_row` reads, in its order.
    pub const COLUMNS: &'static str =
        "cid, day, n, complaints, score_sum, score_n, sentiment_sum, sentiment_n, last_ts";

    pub fn from_row(r: &rusqlite::Row) -> rusqlite::Result<FeedbackDay> {
        Ok(FeedbackDay {
            cid: r.get(0)?,
            day: r.get(1)?,
            n: r.get(2)?,
            complaints: r.get(3)?,
            score_sum: r.get(4)?,
            score_n: r.get(5)?,
            sentiment_sum: r.get(6)?,
            sentiment_n: r.get(7)?,
            last: r.get(8)?,
        })
    }
}

/// Days with feedback before `before_day`.
pub fn scan_feedback_days(
    path: &Path,
    before_day: i64,
    ctl: Ctl,
    mut each: impl FnMut(FeedbackDay),
) -> Result<()> {
    let conn = read_conn(path)?;
    // sql-format-ok: a column list of ours.
    let mut st = conn.prepare(&format!(
        "SELECT {} FROM feedback_days WHERE day < ?1",
        FeedbackDay::COLUMNS
    ))?;
    stream(&mut st, [before_day], ctl, |r| {
        each(FeedbackDay::from_row(r)?);
        Ok(())
    })
}
