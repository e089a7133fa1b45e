//! The dashboard on PostgreSQL: the same customer-wide aggregates as on a
//! file (`store::dashboard::Tally`, fed from one streamed read of the
//! customers beside their active figures), and fresh queue counts. A
//! server has no CLV fits yet: the fit's brief is absent, the values the
//! migration carried are counted.

use super::Pg;
use crate::analytics::priority::SlaConfig;
use crate::error::{Error, Result};
use crate::store::dashboard::{
    fit_brief, model_brief, Aggregates, Dashboard, Tally, TallyRow, TopRow, Unvalued,
};
use crate::store::feedback::QueueFilter;
use crate::store::sql::{int, Cells, Sql};
use rusqlite::types::Value;

/// What the cached aggregates hold: raised when a build computes more
/// (2: the active CLV fit's brief; 3: the settings a refit keeps), so that an older build's cache is not
/// taken for this one's.
const CACHE_FORMAT: u32 = 3;

/// The cache's version: the data version (schema pg 6: bumped by every
/// statement that changes customers, orders, the active figures, the
/// models or the CLV fits) with the risk thresholds and the cache's format.
fn version_of(pg: &Pg, high: f64, medium: f64) -> Result<i64> {
    use std::hash::{Hash, Hasher};
    let v = super::data_version(pg)?;
    let mut h = rustc_hash::FxHasher::default();
    (v, high.to_bits(), medium.to_bits(), CACHE_FORMAT).hash(&mut h);
    Ok(h.finish() as i64)
}

/// The customer-wide aggregates: cached in `meta` under the version they
/// were computed at (as a file caches them under its data version), else
/// computed now and, when `writable`, cached for every UI.
pub fn aggregates(pg: &Pg, writable: bool, high: f64, medium: f64) -> Result<Aggregates> {
    let version = version_of(pg, high, medium)?;
    let cached: Option<Aggregates> = pg
        .row("SELECT value FROM meta WHERE key = 'dashboard_cache'", &[])?
        .and_then(|r| r.text(0).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    if let Some(a) = cached.filter(|a| a.version == version && a.high_threshold == high) {
        return Ok(a);
    }
    let mut a = compute(pg, high, medium)?;
    a.version = version;
    if writable {
        // Best effort: a read-only role only costs a recompute next time.
        let _ = pg.exec(
            "INSERT INTO meta(key, value) VALUES ('dashboard_cache', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[Value::Text(serde_json::to_string(&a)?)],
        );
    }
    Ok(a)
}

/// The customer-wide aggregates, computed now.
pub fn compute(pg: &Pg, high: f64, medium: f64) -> Result<Aggregates> {
    // Read first: a change while the tally runs leaves the counts labelled
    // older than they are, and a reader at a newer version counts again.
    let data_version = super::data_version(pg)?;
    let latest = super::list::latest_order(pg)?;
    // Revenue by month on a second connection while this one tallies the
    // customers (0.9 s and 1.7 s at a million customers and 5.5 million
    // orders); in a transaction, both on this one (it sees what the
    // transaction wrote).
    let months = if pg.in_transaction() {
        None
    } else {
        pg.sibling().ok()
    };
    let (tally, months) = std::thread::scope(|s| {
        let side = months.map(|other| s.spawn(move || revenue_by_month(&other)));
        let tally = tally_customers(pg, latest, high, medium);
        let months = match side {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::Other("the revenue query panicked".into()))),
            None => revenue_by_month(pg),
        };
        (tally, months)
    });
    let ((tally, mut unvalued), months) = (tally?, months?);
    unvalued.data_version = data_version;
    let skip = months.len().saturating_sub(24);
    let monthly_revenue: Vec<(String, f64)> = months.into_iter().skip(skip).collect();
    let mut top_at_risk = Vec::new();
    for (value, cid) in tally.top_at_risk() {
        if let Some(r) = pg.row(
            "SELECT c.id, c.name, ac.prob, av.clv FROM customers c
               LEFT JOIN active_churn ac ON ac.cid = c.cid LEFT JOIN active_clv av ON av.cid = c.cid
              WHERE c.cid = ?1",
            &[int(cid)],
        )? {
            top_at_risk.push(TopRow {
                cid,
                id: r.text(0)?,
                name: r.opt_text(1)?,
                churn_prob: r.opt_f64(2)?.unwrap_or(0.0),
                clv: r.opt_f64(3)?.unwrap_or(0.0),
                value_at_risk: value,
            });
        }
    }
    let model = super::models::get(pg, None)?.map(|m| model_brief(&m));
    let fit = super::clv::active_report(pg)?.map(|(id, r)| fit_brief(id, &r));
    let mut agg = tally.finish(0, monthly_revenue, top_at_risk, model, fit);
    agg.unvalued = Some(unvalued);
    Ok(agg)
}

/// The cached dashboard's counts of customers without each figure, if
/// they were counted at the data version the server is at now.
pub fn cached_unvalued(pg: &Pg) -> Result<Option<Unvalued>> {
    #[derive(serde::Deserialize)]
    struct Only {
        #[serde(default)]
        unvalued: Option<Unvalued>,
    }
    let Some(r) = pg.row("SELECT value FROM meta WHERE key = 'dashboard_cache'", &[])? else {
        return Ok(None);
    };
    let Some(u) = r
        .text(0)
        .ok()
        .and_then(|t| serde_json::from_str::<Only>(&t).ok())
        .and_then(|o| o.unvalued)
    else {
        return Ok(None);
    };
    Ok((u.data_version == super::data_version(pg)?).then_some(u))
}

/// Every customer's row of the dashboard's tally: streamed on a
/// connection of its own (`Pg::stream`), unless a transaction is open
/// (only this connection sees what it wrote).
/// With it, the customers without each figure (all but the data version).
fn tally_customers(
    pg: &Pg,
    latest: Option<i64>,
    high: f64,
    medium: f64,
) -> Result<(Tally, Unvalued)> {
    const SQL: &str =
        "SELECT c.cid, c.age, c.birth_date, c.income, c.churned, c.last_order, ac.prob, av.clv,
                av.segment IS NULL
           FROM customers c LEFT JOIN active_churn ac ON ac.cid = c.cid
                            LEFT JOIN active_clv av ON av.cid = c.cid";
    fn row(r: &dyn Cells) -> Result<TallyRow<'_>> {
        Ok(TallyRow {
            cid: r.i64(0)?,
            age: r.opt_i64(1)?.map(|a| a as f64),
            birth_date: r.text_at(2),
            income: r.opt_f64(3)?,
            churned: r.opt_i64(4)?,
            last_order: r.opt_i64(5)?,
            churn: r.opt_f64(6)?,
            clv: r.opt_f64(7)?,
        })
    }
    let mut tally = Tally::new(latest, high, medium);
    let mut unvalued = Unvalued::default();
    let mut add = |r: &dyn Cells| -> Result<()> {
        let t = row(r)?;
        unvalued.churn += i64::from(t.churn.is_none());
        unvalued.clv += i64::from(t.clv.is_none());
        unvalued.segment += i64::from(r.opt_i64(8)?.unwrap_or(1) != 0);
        tally.add(t);
        Ok(())
    };
    if pg.in_transaction() {
        pg.each(SQL, &[], &mut |r| add(r))?;
    } else {
        pg.stream(SQL, &[], &mut |r| add(r))?;
    }
    Ok((tally, unvalued))
}

/// Revenue by calendar month: summed by day in integers (a date formatted
/// per order took three times as long at 5.5 million orders), then by
/// month here.
fn revenue_by_month(pg: &Pg) -> Result<std::collections::BTreeMap<String, f64>> {
    let mut months: std::collections::BTreeMap<String, f64> = Default::default();
    for r in pg.rows(
        "SELECT ts / 86400 - (CASE WHEN ts % 86400 < 0 THEN 1 ELSE 0 END) AS d, sum(amount)::float8
           FROM orders GROUP BY 1",
        &[],
    )? {
        let day = crate::timeutil::ts_to_date(r.i64(0)? * 86_400);
        *months.entry(day.format("%Y-%m").to_string()).or_default() += r.f64(1)?;
    }
    Ok(months)
}

/// The dashboard from given aggregates, with the queue's counts now.
pub fn with_queue(pg: &Pg, agg: Aggregates, sla: &SlaConfig, now: i64) -> Result<Dashboard> {
    let open = pg.count("SELECT count(*) FROM queue", &[])?;
    let (_, overdue) = super::queue::page(pg, &QueueFilter::Overdue, "", sla, now, 0, Some(0))?;
    Ok(Dashboard {
        agg,
        open_feedback: open,
        overdue_feedback: overdue,
    })
}
