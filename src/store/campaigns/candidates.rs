//! The customers a campaign (or next best action) chooses from, as of a
//! start date: scores, lapse, and the fields a target reads.

use crate::analytics::campaign::{Candidate, Fields};
use crate::error::Result;
use crate::timeutil::DAY;
use rusqlite::{params, Connection};

/// Every customer as a candidate as of `start` (a timestamp): lapsed when
/// labelled churned, or with an order before the start and none in the 365
/// days before it. Only the `fields` asked for beyond the scores (the
/// others are empty).
pub fn candidates(conn: &Connection, start: i64, fields: Fields) -> Result<Vec<Candidate>> {
    candidates_where(conn, Some(start), None, fields)
}

/// Every customer (or the one with `cid`) as a candidate now: lapsed as
/// the dashboard counts them (churned, or no order in the 365 days before
/// the latest order in the data).
pub fn candidates_now(conn: &Connection, cid: Option<i64>) -> Result<Vec<Candidate>> {
    candidates_where(conn, None, cid, Fields::ALL)
}

fn candidates_where(
    conn: &Connection,
    start: Option<i64>,
    cid: Option<i64>,
    fields: Fields,
) -> Result<Vec<Candidate>> {
    // When the start is after every order (the usual case: a campaign that
    // starts today; advice now), each customer's last order before it is
    // the stored `last_order`; otherwise it is looked up per customer.
    let latest = crate::store::customers::latest_order(conn)?;
    let (last, cutoff) = match start {
        Some(s) if latest.is_none_or(|l| l >= s) => (
            "(SELECT max(o.ts) FROM orders o WHERE o.cid = c.cid AND o.ts < ?1)",
            Some(s - 365 * DAY),
        ),
        Some(s) => ("c.last_order", Some(s - 365 * DAY)),
        None => (
            "c.last_order",
            crate::store::dashboard::lapsed_cutoff(latest),
        ),
    };
    let names = if fields.names {
        "c.id, c.name, c.email"
    } else {
        "'', NULL, NULL"
    };
    let (attrs, join) = if fields.attributes {
        (
            "c.plan, c.region, v.segment, k.cluster",
            "LEFT JOIN customer_clusters k ON k.cid = c.cid",
        )
    } else {
        ("NULL, NULL, NULL, NULL", "")
    };
    let (age, income) = if fields.attributes {
        ("c.age", "c.income")
    } else {
        ("NULL", "NULL")
    };
    // One customer by key; `?2 IS NULL OR c.cid = ?2` would scan all of
    // them (a churn page's next actions: 17 s at a million customers).
    let only = if cid.is_some() {
        "WHERE c.cid = ?2"
    } else {
        "WHERE ?2 IS NULL"
    };
    // sql-format-ok: `last`, `names`, `attrs`, `join`, `age`, `income` and
    // `only` are constant expressions above.
    let sql = format!(
        "SELECT c.cid, {names}, {attrs},
                s.prob, v.clv, c.churned, {last}, {age}, {income}
         FROM customers c LEFT JOIN active_churn s ON s.cid = c.cid
              LEFT JOIN active_clv v ON v.cid = c.cid {join}
         {only}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![start.unwrap_or(0), cid], |r| {
        let churned: Option<i64> = r.get(10)?;
        let last_before: Option<i64> = r.get(11)?;
        // Columns not asked for are not even looked at (a million rows).
        let mut c = Candidate {
            cid: r.get(0)?,
            churn_prob: r.get(8)?,
            clv: r.get(9)?,
            lapsed: crate::store::dashboard::is_lapsed(churned, last_before, cutoff),
            ..Default::default()
        };
        if fields.names {
            c.id = r.get(1)?;
            c.name = r.get(2)?;
            c.email = r.get(3)?;
        }
        if fields.attributes {
            c.plan = r.get(4)?;
            c.region = r.get(5)?;
            c.rfm_segment = r.get(6)?;
            c.cluster = r.get(7)?;
            c.age = number(r.get_ref(12)?);
            c.income = number(r.get_ref(13)?);
        }
        Ok(c)
    })?;
    // Sized once: growing a vector of a million candidates copies it ~20 times.
    let n: i64 = match cid {
        Some(_) => 1,
        None => conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?,
    };
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

/// A number from a column that may hold text (an import's raw value).
fn number(v: rusqlite::types::ValueRef) -> Option<f64> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}
