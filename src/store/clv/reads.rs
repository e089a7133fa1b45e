//! What a CLV fit reads (`Reads`), and its reading of a file: the
//! customers' order days from the packed history in parallel parts.

use super::{purchase_days, spend_between};
use crate::error::Result;
use rusqlite::Connection;

/// One part's receiver of `Reads::order_days_in_parts`: (cid, day, spend).
pub type DaysOf<'a> = Box<dyn FnMut(i64, i64, f64) + Send + 'a>;

/// What a CLV fit reads, from a file (here) or a server
/// (`store::pg::clv`); `analytics::clv` computes on what it is handed.
pub trait Reads {
    /// The latest order's time, if any.
    fn latest_order(&self) -> Result<Option<i64>>;
    /// Each customer's spend per day with orders, on days before
    /// `before_day` (days since 1970), in customer then day order:
    /// `each(cid, day, spend)`.
    fn order_days(
        &self,
        before_day: i64,
        ctl: crate::jobs::Ctl,
        each: &mut dyn FnMut(i64, i64, f64),
    ) -> Result<()>;
    /// `order_days` in parts read in parallel where the engine can: every
    /// customer's days go, together and in day order, to one of `each`;
    /// customers come in no particular order. By default all go to the
    /// first, in customer order.
    fn order_days_in_parts(
        &self,
        before_day: i64,
        ctl: crate::jobs::Ctl,
        each: &mut [DaysOf<'_>],
    ) -> Result<()> {
        match each.first_mut() {
            Some(first) => self.order_days(before_day, ctl, &mut **first),
            None => Ok(()),
        }
    }
    /// `(cid, day)` of every day with orders up to and including
    /// `last_day`, in customer then day order.
    fn purchase_days(&self, last_day: i64) -> Result<Vec<(i64, i64)>> {
        let mut out = Vec::new();
        self.order_days(last_day + 1, crate::jobs::Ctl::silent(), &mut |c, d, _| {
            out.push((c, d))
        })?;
        Ok(out)
    }
    /// Customers with a cancellation date.
    fn cancelled_count(&self) -> Result<i64>;
    /// Every customer.
    fn customers(&self) -> Result<i64>;
    /// The active churn model's window in days, if a model is active.
    fn churn_window(&self) -> Result<Option<i64>>;
    /// Every scored customer's churn probability under the active model.
    fn churn_probs(&self) -> Result<Vec<(i64, f64)>>;
    /// A numeric customer attribute, per customer that has it.
    fn numeric_attribute(&self, name: &str) -> Result<Vec<(i64, f64)>>;
    /// Per customer with orders in [start, end): (cid, spend, first order).
    fn spend_between(&self, start: i64, end: i64) -> Result<Vec<(i64, f64, i64)>>;
    /// (cid, signup day, cancellation day) of every customer with a signup date.
    fn contracts(&self) -> Result<Vec<(i64, i64, Option<i64>)>>;
}

impl Reads for Connection {
    fn latest_order(&self) -> Result<Option<i64>> {
        crate::store::customers::latest_order(self)
    }
    fn order_days(
        &self,
        before_day: i64,
        ctl: crate::jobs::Ctl,
        each: &mut dyn FnMut(i64, i64, f64),
    ) -> Result<()> {
        crate::store::history::order_days_of(self, before_day, ctl, |d| each(d.cid, d.day, d.spend))
    }
    /// From the packed history (one row a customer, schema 15), in ranges
    /// of customer keys read in parallel from 100,000 customers: 2.8
    /// million daily rows of a million customers took 0.7 s to step
    /// through one by one.
    fn order_days_in_parts(
        &self,
        before_day: i64,
        ctl: crate::jobs::Ctl,
        each: &mut [DaysOf<'_>],
    ) -> Result<()> {
        order_days_packed(self, before_day, ctl, each, 100_000)
    }
    fn purchase_days(&self, last_day: i64) -> Result<Vec<(i64, i64)>> {
        purchase_days(self, last_day)
    }
    fn cancelled_count(&self) -> Result<i64> {
        crate::store::customers::cancelled_count(self)
    }

    fn customers(&self) -> Result<i64> {
        crate::store::customers::total(self)
    }
    fn churn_window(&self) -> Result<Option<i64>> {
        Ok(crate::store::models::active(self)?.map(|m| m.window_days))
    }
    fn churn_probs(&self) -> Result<Vec<(i64, f64)>> {
        crate::store::customers::churn_probs(self)
    }
    fn numeric_attribute(&self, name: &str) -> Result<Vec<(i64, f64)>> {
        crate::store::attributes::numeric(self, name)
    }
    fn spend_between(&self, start: i64, end: i64) -> Result<Vec<(i64, f64, i64)>> {
        spend_between(self, start, end)
    }
    fn contracts(&self) -> Result<Vec<(i64, i64, Option<i64>)>> {
        crate::store::customers::contracts(self)
    }
}

/// `Reads::order_days_in_parts` on a file: from the packed history in
/// ranges of customer keys read in parallel, from `parallel_from`
/// customers (in one range below that).
fn order_days_packed(
    conn: &Connection,
    before_day: i64,
    ctl: crate::jobs::Ctl,
    each: &mut [DaysOf<'_>],
    parallel_from: i64,
) -> Result<()> {
    let path = match crate::store::history::path_of(conn) {
        Ok(p) => p,
        Err(_) => {
            return match each.first_mut() {
                Some(first) => conn.order_days(before_day, ctl, &mut **first),
                None => Ok(()),
            }
        }
    };
    let (lo, hi, n): (Option<i64>, Option<i64>, i64) = conn.query_row(
        "SELECT min(cid), max(cid), count(*) FROM customers",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(());
    };
    let parts = if n >= parallel_from {
        each.len().max(1)
    } else {
        1
    };
    let width = (hi - lo) / parts as i64 + 1;
    let read = |k: usize, each: &mut DaysOf<'_>| -> Result<()> {
        let from = lo + width * k as i64;
        let to = if k + 1 == parts { hi } else { from + width - 1 };
        let mut reader = crate::store::packs::PackReader::open(&path)?;
        reader.scan((from, to), ctl, |h| {
            for o in h.orders.iter().take_while(|o| o.day < before_day) {
                each(h.cid, o.day, o.spend);
            }
        })
    };
    crate::parallel::each_part(
        each.iter_mut().take(parts).enumerate().collect(),
        "an order-history reader",
        |(k, e)| read(k, e),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read in parts from the packed history, every customer's order days
    /// are those the daily sums give, each customer's in one part, in day
    /// order; a customer changed by a plain write (marked, read from its
    /// days) included.
    #[test]
    fn order_days_in_parts_are_the_daily_sums() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("o.db");
        let csv = dir.path().join("o.csv");
        let mut text = String::from("customer_id,date,amount\n");
        for i in 0..23 {
            for d in 0..(i % 4 + 1) {
                text.push_str(&format!("K{i:02},2024-0{}-1{d},{}.25\n", d % 3 + 1, 10 + i));
            }
        }
        std::fs::write(&csv, text).expect("csv");
        let mut store = crate::store::open(&db, crate::store::Mode::ReadWrite).expect("open");
        let opts = crate::ingest::ImportOptions::new(crate::ingest::Kind::Orders, &csv);
        crate::ingest::import(&mut store.conn, &opts, crate::jobs::Ctl::silent()).expect("import");
        let conn = &store.conn;
        // A plain write after the load: that customer is read from its days.
        conn.execute(
            "INSERT INTO orders(order_key, cid, ts, amount)
             SELECT 'late', cid, unixepoch('2024-05-01'), 99.5 FROM customers WHERE id = 'K05'",
            [],
        )
        .expect("plain write");
        let marked: i64 = conn
            .query_row("SELECT count(*) FROM history_stale", [], |r| r.get(0))
            .expect("marks");
        assert_eq!(marked, 1);
        let before =
            crate::timeutil::date_to_ts(chrono::NaiveDate::from_ymd_opt(2024, 3, 12).expect("day"))
                / crate::timeutil::DAY;
        let mut whole = Vec::new();
        conn.order_days(before, crate::jobs::Ctl::silent(), &mut |c, d, s| {
            whole.push((c, d, s.to_bits()))
        })
        .expect("days");
        assert!(whole.len() > 23);
        for parts in [1usize, 2, 3, 30] {
            let mut got: Vec<Vec<(i64, i64, u64)>> = vec![Vec::new(); parts];
            {
                let mut each: Vec<DaysOf<'_>> = got
                    .iter_mut()
                    .map(|g| {
                        Box::new(move |c, d, s: f64| g.push((c, d, s.to_bits()))) as DaysOf<'_>
                    })
                    .collect();
                order_days_packed(conn, before, crate::jobs::Ctl::silent(), &mut each, 0)
                    .expect("parts");
            }
            for g in &got {
                // Each customer's days together and in day order.
                let mut seen = std::collections::HashSet::new();
                for w in g.windows(2) {
                    if w[0].0 == w[1].0 {
                        assert!(w[0].1 < w[1].1, "{parts} parts: {w:?}");
                    } else {
                        assert!(
                            seen.insert(w[0].0),
                            "{parts} parts: customer {} split",
                            w[0].0
                        );
                    }
                }
            }
            let mut all: Vec<(i64, i64, u64)> = got.into_iter().flatten().collect();
            all.sort_unstable();
            assert_eq!(all, whole, "{parts} parts");
        }
    }
}
