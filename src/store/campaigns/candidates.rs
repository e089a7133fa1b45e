//! The customers a campaign (or next best action) chooses from, as of a
//! start date: scores, lapse, and the fields a target reads.

use crate::analytics::campaign::{Candidate, Fields};
use crate::error::Result;
use crate::store::sql::{int, Sql};
use crate::timeutil::DAY;
use rusqlite::types::Value;

/// Every customer as a candidate as of `start` (a timestamp): lapsed when
/// labelled churned, or with an order before the start and none in the 365
/// days before it. Only the `fields` asked for beyond the scores (the
/// others are empty).
pub fn candidates(conn: &dyn Sql, start: i64, fields: Fields) -> Result<Vec<Candidate>> {
    candidates_where(conn, Some(start), None, fields)
}

/// Every customer (or the one with `cid`) as a candidate now: lapsed as
/// the dashboard counts them (churned, or no order in the 365 days before
/// the latest order in the data).
pub fn candidates_now(conn: &dyn Sql, cid: Option<i64>) -> Result<Vec<Candidate>> {
    candidates_where(conn, None, cid, Fields::ALL)
}

fn candidates_where(
    conn: &dyn Sql,
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
    // The parameters the statement names (a server refuses one it does not).
    let mut params = Vec::new();
    if last.contains("?1") {
        params.push(int(start.unwrap_or(0)));
    }
    // One customer by key; `?2 IS NULL OR c.cid = ?2` would scan all of
    // them (a churn page's next actions: 17 s at a million customers).
    let only = match cid {
        Some(cid) => {
            params.push(int(cid));
            if params.len() == 1 {
                "WHERE c.cid = ?1"
            } else {
                "WHERE c.cid = ?2"
            }
        }
        None => "",
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
    // Sized once: growing a vector of a million candidates copies it ~20 times.
    let n: i64 = match cid {
        Some(_) => 1,
        None => conn.count("SELECT count(*) FROM customers", &[])?,
    };
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    conn.each(&sql, &params, &mut |r| {
        let churned = r.opt_i64(10)?;
        let last_before = r.opt_i64(11)?;
        // Columns not asked for are not even looked at (a million rows).
        let mut c = Candidate {
            cid: r.i64(0)?,
            churn_prob: r.opt_f64(8)?,
            clv: r.opt_f64(9)?,
            lapsed: crate::store::dashboard::is_lapsed(churned, last_before, cutoff),
            ..Default::default()
        };
        if fields.names {
            c.id = r.text(1)?;
            c.name = r.opt_text(2)?;
            c.email = r.opt_text(3)?;
        }
        if fields.attributes {
            c.plan = r.opt_text(4)?;
            c.region = r.opt_text(5)?;
            c.rfm_segment = r.opt_text(6)?;
            c.cluster = r.opt_i64(7)?.and_then(|k| u32::try_from(k).ok());
            c.age = number(r.0.get(12));
            c.income = number(r.0.get(13));
        }
        out.push(c);
        Ok(())
    })?;
    Ok(out)
}

/// A number from a column that may hold text (an import's raw value).
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(f) => Some(*f),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}
