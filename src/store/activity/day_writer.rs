//! The daily sums written by the demo as it generates each customer.

use super::{order_day, unit_score};
use crate::error::Result;
use rusqlite::{params, Connection};

/// The daily sums written directly by a load that knows every row of each
/// customer as it writes them (the demo, into a fresh file), appended in
/// key order: no grouping pass over the rows afterwards (23 s of a
/// 1,000,000-customer demo). Start with `begin_bulk` for each source, so
/// the triggers stand aside; `finish` ends the bulk loads.
pub struct DayWriter<'c> {
    orders: crate::store::BatchInsert<'c>,
    events: crate::store::BatchInsert<'c>,
    feedback: crate::store::BatchInsert<'c>,
    kinds: rustc_hash::FxHashMap<(i64, String), i64>,
}

/// A feedback item as the daily sums see it.
pub struct FeedbackFacts<'a> {
    pub ts: i64,
    pub kind: &'a str,
    pub score: Option<f64>,
    pub sentiment: Option<f64>,
}

impl<'c> DayWriter<'c> {
    pub fn new(conn: &'c Connection) -> Result<Self> {
        Ok(DayWriter {
            orders: crate::store::BatchInsert::new(
                conn,
                "INSERT INTO order_days(cid, day, n, spend, first_ts, last_ts)",
                6,
            )?,
            events: crate::store::BatchInsert::new(
                conn,
                "INSERT INTO event_days(cid, day, kind, n, value)",
                5,
            )?,
            feedback: crate::store::BatchInsert::new(
                conn,
                "INSERT INTO feedback_days(cid, day, n, complaints, score_sum, score_n, sentiment_sum, sentiment_n, last_ts)",
                9,
            )?,
            kinds: Default::default(),
        })
    }

    /// One customer's rows (customers in ascending `cid`): orders as (ts,
    /// amount), events as (ts, kind, value).
    pub fn customer<'a>(
        &mut self,
        cid: i64,
        orders: impl IntoIterator<Item = (i64, f64)>,
        events: impl IntoIterator<Item = (i64, &'a str, f64)>,
        feedback: impl IntoIterator<Item = FeedbackFacts<'a>>,
    ) -> Result<()> {
        use rusqlite::types::Value as V;
        use std::collections::BTreeMap;
        let day = |ts: i64| ts.div_euclid(crate::timeutil::DAY);
        let mut o: BTreeMap<i64, (i64, f64, i64, i64)> = BTreeMap::new();
        for (ts, amount) in orders {
            let e = o.entry(day(ts)).or_insert((0, 0.0, ts, ts));
            e.0 += 1;
            e.1 += amount;
            e.2 = e.2.min(ts);
            e.3 = e.3.max(ts);
        }
        for (d, (n, spend, first, last)) in o {
            self.orders
                .push(order_day((cid, d, n, spend, first, last)))?;
        }
        let mut e: BTreeMap<(i64, &str), (i64, f64)> = BTreeMap::new();
        for (ts, kind, value) in events {
            let a = e.entry((day(ts), kind)).or_insert((0, 0.0));
            a.0 += 1;
            a.1 += value;
        }
        for ((d, kind), (n, value)) in e {
            *self.kinds.entry((d, kind.to_string())).or_insert(0) += n;
            self.events.push([
                V::Integer(cid),
                V::Integer(d),
                V::Text(kind.to_string()),
                V::Integer(n),
                V::Real(value),
            ])?;
        }
        // (n, complaints, score sum, scores, sentiment sum, sentiments, last)
        type Acc = (i64, i64, f64, i64, f64, i64, i64);
        let mut f: BTreeMap<i64, Acc> = BTreeMap::new();
        for it in feedback {
            let a = f.entry(day(it.ts)).or_insert((0, 0, 0.0, 0, 0.0, 0, it.ts));
            a.0 += 1;
            a.1 += i64::from(it.kind == "complaint");
            let score = it.score.and_then(|s| unit_score(it.kind, s));
            if let Some(s) = score {
                a.2 += s;
                a.3 += 1;
            }
            if let Some(s) = it.sentiment {
                a.4 += s;
                a.5 += 1;
            }
            a.6 = a.6.max(it.ts);
        }
        for (d, a) in f {
            self.feedback.push([
                V::Integer(cid),
                V::Integer(d),
                V::Integer(a.0),
                V::Integer(a.1),
                V::Real(a.2),
                V::Integer(a.3),
                V::Real(a.4),
                V::Integer(a.5),
                V::Integer(a.6),
            ])?;
        }
        Ok(())
    }

    /// Write what is pending and the kinds' daily counts; end the bulk
    /// loads of the three sources.
    pub fn finish(self, conn: &Connection) -> Result<()> {
        self.orders.finish()?;
        self.events.finish()?;
        self.feedback.finish()?;
        let mut kinds: Vec<((i64, String), i64)> = self.kinds.into_iter().collect();
        kinds.sort_unstable();
        {
            let mut st =
                conn.prepare("INSERT INTO event_kind_days(day, kind, n) VALUES (?1, ?2, ?3)")?;
            for ((d, kind), n) in kinds {
                st.execute(params![d, kind, n])?;
            }
        }
        conn.execute_batch("DELETE FROM activity_bulk")?;
        Ok(())
    }
}
