//! The per-customer summary the BG/NBD and Gamma-Gamma models use, in the
//! convention of lifetimes, CLVTools and PyMC-Marketing: orders on the same
//! calendar day (UTC) are one transaction with their amounts summed;
//! `frequency` x = repeat transactions (days with orders, less the first);
//! `recency` t_x = first to last transaction; `T` = first transaction to the
//! as-of date; `monetary` = mean amount of the repeat transactions (the first
//! is left out). Times are in the chosen unit (day, or week = 7 days).
//! Computed in one streaming pass over the orders in customer order.

use crate::error::Result;
use crate::jobs::Ctl;
use crate::timeutil::DAY;
use rusqlite::Connection;

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
/// (days since 1970-01-01), in `unit_days` units.
pub fn summarise(
    conn: &Connection,
    as_of_day: i64,
    unit_days: f64,
    ctl: Ctl,
) -> Result<Vec<Summary>> {
    let end = (as_of_day + 1) * DAY;
    let mut st =
        conn.prepare("SELECT cid, ts, amount FROM orders WHERE ts < ?1 ORDER BY cid, ts")?;
    let mut rows = st.query([end])?;
    let mut out = Vec::new();
    // Running state of the current customer.
    let mut cur: Option<i64> = None;
    let (mut first, mut last, mut days, mut first_amount, mut total, mut day_sum) =
        (0i64, 0i64, 0u32, 0.0, 0.0, 0.0);
    let flush = |cid: i64,
                 first: i64,
                 last: i64,
                 days: u32,
                 first_amount: f64,
                 total: f64,
                 out: &mut Vec<Summary>| {
        let x = f64::from(days.saturating_sub(1));
        out.push(Summary {
            cid,
            x,
            tx: (last - first) as f64 / unit_days,
            t: (as_of_day - first) as f64 / unit_days,
            monetary: if days > 1 {
                (total - first_amount) / x
            } else {
                0.0
            },
            recency_days: as_of_day - last,
            transactions: days,
            total,
        });
    };
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        n += 1;
        if n.is_multiple_of(1 << 20) {
            ctl.check()?;
        }
        let cid: i64 = r.get(0)?;
        let day = r.get::<_, i64>(1)?.div_euclid(DAY);
        let amount: f64 = r.get(2)?;
        if cur != Some(cid) {
            if let Some(c) = cur {
                if days == 1 {
                    first_amount = day_sum;
                }
                flush(c, first, last, days, first_amount, total, &mut out);
            }
            cur = Some(cid);
            first = day;
            last = day;
            days = 1;
            first_amount = 0.0;
            total = 0.0;
            day_sum = 0.0;
        } else if day != last {
            if days == 1 {
                first_amount = day_sum;
            }
            days += 1;
            last = day;
            day_sum = 0.0;
        }
        day_sum += amount;
        total += amount;
    }
    if let Some(c) = cur {
        if days == 1 {
            first_amount = day_sum;
        }
        flush(c, first, last, days, first_amount, total, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(rows: &[(i64, &str, f64)]) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::MIGRATIONS[0].1).unwrap();
        for (i, (cid, ts, amount)) in rows.iter().enumerate() {
            c.execute(
                "INSERT OR IGNORE INTO customers(cid, id) VALUES (?1, ?1)",
                [cid],
            )
            .unwrap();
            c.execute(
                "INSERT INTO orders(order_key, cid, ts, amount) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    i.to_string(),
                    cid,
                    crate::timeutil::parse_timestamp(ts).unwrap(),
                    amount
                ],
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
    }
}
