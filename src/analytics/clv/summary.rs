//! The per-customer summary the BG/NBD and Gamma-Gamma models use, in the
//! convention of lifetimes, CLVTools and PyMC-Marketing: orders on the same
//! calendar day (UTC) are one transaction with their amounts summed;
//! `frequency` x = repeat transactions (days with orders, less the first);
//! `recency` t_x = first to last transaction; `T` = first transaction to the
//! as-of date; `monetary` = mean amount of the repeat transactions (the first
//! is left out). Times are in the chosen unit (day, or week = 7 days).
//! Computed in one streaming pass over the transactions in customer order.

use crate::error::Result;
use crate::jobs::Ctl;
use crate::store::history;
use crate::store::Conn;
use crate::timeutil::DAY;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub cid: i64,
    pub x: f64,
    pub tx: f64,
    pub t: f64,
    pub monetary: f64,
    /// For RFM: days since the last transaction, transactions, total spend.
    pub recency_days: i64,
    pub transactions: u32,
    pub total: f64,
}

/// Summaries of every customer with an order on or before `as_of_day`
/// (days since 1970-01-01), in `unit_days` units, from the orders summed by
/// customer and day (`order_days`: one row per transaction).
pub fn summarise(
    reads: &dyn crate::store::clv::Reads,
    as_of_day: i64,
    unit_days: f64,
    ctl: Ctl,
) -> Result<Vec<Summary>> {
    // Two parts, each summarised by its own builder, put in customer order.
    let mut builders = [
        Builder::new(as_of_day, unit_days),
        Builder::new(as_of_day, unit_days),
    ];
    {
        let [a, b] = &mut builders;
        let mut each: [crate::store::clv::DaysOf<'_>; 2] = [
            Box::new(|c, d, spend| a.day(c, d, spend)),
            Box::new(|c, d, spend| b.day(c, d, spend)),
        ];
        reads.order_days_in_parts(as_of_day + 1, ctl, &mut each)?;
    }
    let [a, b] = builders;
    let mut out = a.finish();
    out.extend(b.finish());
    if !out.is_sorted_by_key(|s| s.cid) {
        out.sort_unstable_by_key(|s| s.cid);
    }
    Ok(out)
}

/// The same from every order row (the path before schema 12; the tests
/// compare the two).
pub fn summarise_rows(
    conn: &Conn,
    as_of_day: i64,
    unit_days: f64,
    ctl: Ctl,
) -> Result<Vec<Summary>> {
    let mut b = Builder::new(as_of_day, unit_days);
    // The orders of one customer and day, summed as they stream by.
    let mut days = history::DaySums::default();
    history::orders_of(conn, (as_of_day + 1) * DAY, ctl, |cid, ts, amount| {
        days.push(cid, ts, amount, &mut |c, d, s| b.day(c, d, s))
    })?;
    days.finish(&mut |c, d, s| b.day(c, d, s));
    Ok(b.finish())
}

/// Summaries built from each customer's transactions (days with orders, in
/// customer and day order).
struct Builder {
    as_of_day: i64,
    unit_days: f64,
    out: Vec<Summary>,
    cur: Option<i64>,
    first: i64,
    last: i64,
    days: u32,
    first_amount: f64,
    total: f64,
}

impl Builder {
    fn new(as_of_day: i64, unit_days: f64) -> Self {
        Builder {
            as_of_day,
            unit_days,
            out: Vec::new(),
            cur: None,
            first: 0,
            last: 0,
            days: 0,
            first_amount: 0.0,
            total: 0.0,
        }
    }

    fn day(&mut self, cid: i64, day: i64, amount: f64) {
        if self.cur == Some(cid) {
            self.days += 1;
            self.last = day;
            self.total += amount;
            return;
        }
        self.flush();
        self.cur = Some(cid);
        self.first = day;
        self.last = day;
        self.days = 1;
        self.first_amount = amount;
        self.total = amount;
    }

    fn flush(&mut self) {
        let Some(cid) = self.cur else { return };
        let x = f64::from(self.days.saturating_sub(1));
        self.out.push(Summary {
            cid,
            x,
            tx: (self.last - self.first) as f64 / self.unit_days,
            t: (self.as_of_day - self.first) as f64 / self.unit_days,
            monetary: if self.days > 1 {
                (self.total - self.first_amount) / x
            } else {
                0.0
            },
            recency_days: self.as_of_day - self.last,
            transactions: self.days,
            total: self.total,
        });
    }

    fn finish(mut self) -> Vec<Summary> {
        self.flush();
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(rows: &[(i64, &str, f64)]) -> Conn {
        let c = Conn::open_in_memory().unwrap();
        for (_, sql) in crate::store::MIGRATIONS {
            c.execute_batch(sql).unwrap();
        }
        for (i, (cid, ts, amount)) in rows.iter().enumerate() {
            c.execute(
                "INSERT OR IGNORE INTO customers(cid, id) VALUES (?1, ?1)",
                [cid],
            )
            .unwrap();
            c.execute(
                "INSERT INTO orders(order_key, cid, ts, amount) VALUES (?1, ?2, ?3, ?4)",
                (
                    i.to_string(),
                    cid,
                    crate::timeutil::parse_timestamp(ts).unwrap(),
                    amount,
                ),
            )
            .unwrap();
        }
        c
    }

    #[test]
    fn same_day_orders_merge_and_monetary_is_repeat_only() {
        let c = db(&[
            (1, "2024-01-01T09:00:00Z", 10.0),
            (1, "2024-01-01T17:00:00Z", 5.0), // same day: one transaction of 15
            (1, "2024-01-15", 30.0),
            (1, "2024-01-15T20:00:00Z", 10.0), // same day: 40
            (1, "2024-01-29", 20.0),
            (1, "2024-03-01", 999.0), // after the as-of date: ignored
            (2, "2024-01-20", 50.0),
        ]);
        let as_of = crate::timeutil::parse_timestamp("2024-02-05").unwrap() / DAY;
        let s = summarise(&c, as_of, 7.0, Ctl::silent()).unwrap();
        assert_eq!(s.len(), 2);
        let a = s[0];
        assert_eq!(a.x, 2.0);
        assert!((a.tx - 28.0 / 7.0).abs() < 1e-12);
        assert!((a.t - 35.0 / 7.0).abs() < 1e-12);
        assert!(
            (a.monetary - (40.0 + 20.0) / 2.0).abs() < 1e-12,
            "{}",
            a.monetary
        );
        assert_eq!(a.transactions, 3);
        assert_eq!(a.recency_days, 7);
        let b = s[1];
        assert_eq!((b.x, b.tx, b.monetary), (0.0, 0.0, 0.0));
        assert!((b.t - 16.0 / 7.0).abs() < 1e-12);
        let days = summarise(&c, as_of, 1.0, Ctl::silent()).unwrap();
        assert_eq!(days[0].t, 35.0);
        // The orders themselves give the same summaries as their daily sums.
        assert_eq!(summarise_rows(&c, as_of, 7.0, Ctl::silent()).unwrap(), s);
    }
}
