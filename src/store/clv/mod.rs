//! CLV fits and per-customer values. A fit becomes active in the transaction
//! that writes it; the previous one stays until then.

use crate::analytics::clv::ClvReport;
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension};

mod reads;
pub use reads::{DaysOf, Reads};

/// Fits kept (with their per-customer values).
pub const KEEP_FITS: i64 = 3;

pub fn insert_fit(conn: &Connection, r: &ClvReport, agent: &str) -> Result<i64> {
    conn.execute(
        "INSERT INTO clv_fits(created_at, agent, as_of, time_unit, customers, total_clv, duration_ms, active, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
        params![
            crate::timeutil::now(),
            agent,
            r.as_of,
            r.time_unit,
            r.customers as i64,
            r.total_clv,
            r.duration_ms as i64,
            serde_json::to_string(r)?
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update_report(conn: &Connection, id: i64, r: &ClvReport) -> Result<()> {
    conn.execute(
        "UPDATE clv_fits SET report = ?2, duration_ms = ?3 WHERE id = ?1",
        params![id, serde_json::to_string(r)?, r.duration_ms as i64],
    )?;
    Ok(())
}

/// Make a fit active: the views over its values (`store::clv_values`)
/// point at it, and the queue's priorities follow. Call inside a
/// transaction.
pub fn activate(conn: &Connection, id: i64, ctl: crate::jobs::Ctl) -> Result<()> {
    activate_given(conn, id, ctl, None, None)
}

/// `activate` a fit whose values the caller holds (in key order): the
/// queue's priorities are computed from them, not read back; `churn`, the
/// active scores read before the transaction, is used if still active.
pub fn activate_given(
    conn: &Connection,
    id: i64,
    ctl: crate::jobs::Ctl,
    values: Option<super::scores::ActiveByCid>,
    churn: Option<super::feedback::Prefetched>,
) -> Result<()> {
    if !super::clv_values::has(conn, id)? {
        return Err(crate::Error::Other(format!(
            "CLV fit #{id} has no values to activate"
        )));
    }
    conn.execute(
        "UPDATE clv_fits SET active = 0 WHERE active = 1 AND id <> ?1",
        [id],
    )?;
    conn.execute("UPDATE clv_fits SET active = 1 WHERE id = ?1", [id])?;
    super::clv_values::point_active(conn, Some(id))?;
    ctl.report("updating queue priorities", 0, 1);
    super::feedback::refresh_priorities_prefetched(conn, None, values, churn)?;
    Ok(())
}

/// Keep the newest fits and the active one; the others' values are
/// retired with their tables (cleared after the commit by
/// `store::retired::clear`).
pub fn prune(conn: &Connection) -> Result<()> {
    let gone: Vec<i64> = {
        let mut st = conn.prepare(
            "SELECT id FROM clv_fits WHERE active = 0 AND id NOT IN (SELECT id FROM clv_fits ORDER BY id DESC LIMIT ?1)",
        )?;
        let rows = st.query_map([KEEP_FITS], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in gone {
        super::clv_values::retire_fit(conn, id)?;
        conn.execute("DELETE FROM clv_fits WHERE id = ?1", [id])?;
    }
    Ok(())
}

/// The value tables the next fit's prune will retire (as `prune` picks
/// them once that fit is the newest), to be read ahead of it
/// (`store::retired::warm`).
pub fn soon_pruned(conn: &Connection) -> Result<Vec<String>> {
    super::retired::tables_of(
        conn,
        "SELECT id FROM clv_fits WHERE active = 0 AND id NOT IN (SELECT id FROM clv_fits ORDER BY id DESC LIMIT ?1)",
        KEEP_FITS - 1,
        |id| super::clv_values::table_names(id).to_vec(),
    )
}

/// The active fit's report.
pub fn active_report(conn: &Connection) -> Result<Option<(i64, ClvReport)>> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, report FROM clv_fits WHERE active = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(id, rep)| serde_json::from_str(&rep).ok().map(|r| (id, r))))
}

/// One customer's values under the active fit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomerValue {
    pub p_alive: Option<f64>,
    pub exp_txn: Option<f64>,
    pub exp_spend: Option<f64>,
    pub clv: Option<f64>,
    pub method: String,
    pub frequency: Option<f64>,
    pub recency: Option<f64>,
    pub t: Option<f64>,
    pub monetary: Option<f64>,
    pub rfm: Option<(i64, i64, i64)>,
    pub segment: Option<String>,
}

/// One customer's values under the active fit, on either engine.
pub fn customer_value(conn: &dyn super::sql::Sql, cid: i64) -> Result<Option<CustomerValue>> {
    let Some(r) = conn.row(
        "SELECT p_alive, exp_txn, exp_spend, clv, method, frequency, recency, t, monetary,
                r_score, f_score, m_score, segment
           FROM active_clv WHERE cid = ?1",
        &[super::sql::int(cid)],
    )?
    else {
        return Ok(None);
    };
    let rfm = match (r.opt_i64(9)?, r.opt_i64(10)?, r.opt_i64(11)?) {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        _ => None,
    };
    Ok(Some(CustomerValue {
        p_alive: r.opt_f64(0)?,
        exp_txn: r.opt_f64(1)?,
        exp_spend: r.opt_f64(2)?,
        clv: r.opt_f64(3)?,
        method: r.opt_text(4)?.unwrap_or_default(),
        frequency: r.opt_f64(5)?,
        recency: r.opt_f64(6)?,
        t: r.opt_f64(7)?,
        monetary: r.opt_f64(8)?,
        rfm,
        segment: r.opt_text(12)?,
    }))
}

/// Every customer's purchase days up to and including `last_day` (days
/// since 1970; several orders on one day are one purchase, as lifetimes and
/// Fader-Hardie count them), in customer then day order: `(cid, day)`.
pub fn purchase_days(conn: &Connection, last_day: i64) -> Result<Vec<(i64, i64)>> {
    let end = (last_day + 1) * crate::timeutil::DAY;
    // Along the (cid, ts) index, days merged here (a DISTINCT over an
    // expression would sort every order again).
    let mut st = conn.prepare("SELECT cid, ts FROM orders WHERE ts < ?1 ORDER BY cid, ts")?;
    let mut rows = st.query([end])?;
    let mut out: Vec<(i64, i64)> = Vec::new();
    while let Some(r) = rows.next()? {
        let cid: i64 = r.get(0)?;
        let day = r.get::<_, i64>(1)?.div_euclid(crate::timeutil::DAY);
        if out.last() != Some(&(cid, day)) {
            out.push((cid, day));
        }
    }
    Ok(out)
}

/// Per customer with orders in [start, end): (cid, total spend, first order ts).
pub fn spend_between(conn: &Connection, start: i64, end: i64) -> Result<Vec<(i64, f64, i64)>> {
    let mut st = conn.prepare(
        "SELECT cid, sum(amount), min(ts) FROM orders WHERE ts >= ?1 AND ts < ?2 GROUP BY cid",
    )?;
    let rows = st.query_map([start, end], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Products' names by index, and (customer, day, product index) rows.
pub type BasketItems = (Vec<String>, Vec<(i64, i64, u32)>);

/// Every order with a product as (customer, day, product index), in
/// customer then time order, and the products' names by index (numbered
/// as they first appear in that order): the baskets of association rules
/// and recommendations. The table is read as stored and sorted here: walking
/// the (customer, time) index instead looks up every row in the table, 13 s
/// for 10 million orders where this takes a few.
pub fn basket_items(conn: &dyn super::sql::Sql) -> Result<BasketItems> {
    let mut ids: rustc_hash::FxHashMap<String, u32> = Default::default();
    let mut names: Vec<String> = Vec::new();
    // Room for every order at once (10 million orders grow the vector
    // otherwise through a dozen copies).
    let n: i64 = conn.count("SELECT count(*) FROM orders", &[])?;
    let mut items: Vec<(i64, i64, u32)> = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut push = |cid: i64, ts: i64, product: &str| {
        let id = match ids.get(product) {
            Some(&id) => id,
            None => {
                let id = names.len() as u32;
                names.push(product.to_string());
                ids.insert(product.to_string(), id);
                id
            }
        };
        items.push((cid, ts, id));
    };
    match conn.sqlite() {
        Some(conn) => {
            let mut st = conn.prepare(
                "SELECT cid, ts, product FROM orders WHERE product IS NOT NULL AND product <> ''",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                use rusqlite::types::ValueRef;
                let owned;
                let product: &str = match r.get_ref(2)? {
                    ValueRef::Text(t) => {
                        std::str::from_utf8(t).map_err(|e| crate::Error::Other(e.to_string()))?
                    }
                    ValueRef::Integer(i) => {
                        owned = i.to_string();
                        &owned
                    }
                    ValueRef::Real(f) => {
                        owned = f.to_string();
                        &owned
                    }
                    _ => continue,
                };
                push(r.get(0)?, r.get(1)?, product);
            }
        }
        // A server: in the order a file stores them (by key), so that the
        // same data give the same numbering and baskets.
        None => conn.each(
            "SELECT cid, ts, product FROM orders WHERE product IS NOT NULL AND product <> '' ORDER BY oid",
            &[],
            &mut |r| {
                if let Some(p) = r.opt_text(2)? {
                    push(r.i64(0)?, r.i64(1)?, &p);
                }
                Ok(())
            },
        )?,
    }
    // Stable: orders at the same time stay in the order they were stored,
    // as the index would give them.
    items.sort_by_key(|&(cid, ts, _)| (cid, ts));
    let mut renumber = vec![u32::MAX; names.len()];
    let mut ordered: Vec<String> = Vec::with_capacity(names.len());
    for (_, ts, id) in &mut items {
        let old = *id as usize;
        if renumber[old] == u32::MAX {
            renumber[old] = ordered.len() as u32;
            ordered.push(std::mem::take(&mut names[old]));
        }
        *id = renumber[old];
        *ts = ts.div_euclid(crate::timeutil::DAY);
    }
    Ok((ordered, items))
}

/// The sums behind the CLV screen's shares, from a file (here) or a
/// server (`store::pg::clv`).
pub trait Shares {
    /// Every customer's CLV under the active fit, summed.
    fn total_clv(&self) -> Result<f64>;
    /// The CLV of the customers ranked above (clv, cid), highest first.
    fn clv_above(&self, clv: Option<f64>, cid: i64) -> Result<f64>;
    /// The CLV of one RFM segment's customers (with `above`, of those
    /// ranked above (clv, cid) in the segment).
    fn segment_clv(&self, segment: &str, above: Option<(Option<f64>, i64)>) -> Result<f64>;
}

impl Shares for Connection {
    fn total_clv(&self) -> Result<f64> {
        // The active fit's report holds the total (only fits write CLV);
        // summing a million values takes 40 ms.
        match active_report(self)? {
            Some((_, r)) => Ok(r.total_clv),
            None => total_clv(self),
        }
    }
    fn clv_above(&self, clv: Option<f64>, cid: i64) -> Result<f64> {
        clv_above(self, clv, cid)
    }
    fn segment_clv(&self, segment: &str, above: Option<(Option<f64>, i64)>) -> Result<f64> {
        segment_clv(self, segment, above)
    }
}

/// The sum of every customer's CLV under the active fit (its ranking
/// holds every value: a scan of two narrow columns).
pub fn total_clv(conn: &Connection) -> Result<f64> {
    Ok(conn.query_row(
        "SELECT total(clv) FROM active_clv_rank WHERE clv > ?1",
        [super::clv_values::NO_CLV],
        |r| r.get(0),
    )?)
}

/// The sum of the CLV of one RFM segment's customers under the active fit;
/// with `above`, of those ranked above (clv, cid) in the segment's CLV
/// order (highest first). A walk of the segment's ranking.
pub fn segment_clv(
    conn: &Connection,
    segment: &str,
    above: Option<(Option<f64>, i64)>,
) -> Result<f64> {
    const FROM: &str =
        "FROM active_segment_rank r JOIN active_clv v ON v.cid = r.cid WHERE r.segment = ?1";
    Ok(match above {
        None => conn.query_row(
            // sql-format-ok: a constant clause.
            &format!("SELECT total(v.clv) {FROM}"),
            [segment],
            |r| r.get(0),
        )?,
        Some((clv, cid)) => conn.query_row(
            // sql-format-ok: a constant clause.
            &format!(
                "SELECT total(v.clv) {FROM} AND v.clv IS NOT NULL AND (v.clv, v.cid) > (?2, ?3)"
            ),
            params![segment, clv.unwrap_or(super::clv_values::NO_CLV), cid],
            |r| r.get(0),
        )?,
    })
}

/// The sum of the CLV of customers ranked above (clv, cid) in the CLV
/// screen's order (highest first): the cumulative share before a page.
pub fn clv_above(conn: &Connection, clv: Option<f64>, cid: i64) -> Result<f64> {
    let at = clv.unwrap_or(super::clv_values::NO_CLV);
    Ok(conn.query_row(
        "SELECT total(clv) FROM active_clv_rank WHERE (clv, cid) > (?1, ?2) AND clv > ?3",
        params![at, cid, super::clv_values::NO_CLV],
        |r| r.get(0),
    )?)
}
