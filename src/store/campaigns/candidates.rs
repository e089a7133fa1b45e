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

/// The customers `cids` as candidates now (those that exist, in no set
/// order): one query for a page of a list, not one per row.
pub fn candidates_of(conn: &dyn Sql, cids: &[i64]) -> Result<Vec<Candidate>> {
    if cids.is_empty() {
        return Ok(Vec::new());
    }
    candidates_where(conn, None, Some(cids), Fields::ALL)
}

/// Every customer (or the one with `cid`) as a candidate now: lapsed as
/// the dashboard counts them (churned, or no order in the 365 days before
/// the latest order in the data).
pub fn candidates_now(conn: &dyn Sql, cid: Option<i64>) -> Result<Vec<Candidate>> {
    match cid {
        Some(c) => candidates_of(conn, &[c]),
        None => candidates_where(conn, None, None, Fields::ALL),
    }
}

fn candidates_where(
    conn: &dyn Sql,
    start: Option<i64>,
    cids: Option<&[i64]>,
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
    // Some customers by key (`?2 IS NULL OR c.cid = ?2` would scan all of
    // them: a churn page's next actions took 17 s at a million customers).
    let only = match cids {
        Some([one]) => {
            params.push(int(*one));
            format!("WHERE c.cid = ?{}", params.len())
        }
        Some(many) => {
            let list = many
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",");
            match conn.engine() {
                crate::store::sql::Engine::Sqlite => {
                    params.push(Value::Text(format!("[{list}]")));
                    // sql-format-ok: a numbered placeholder.
                    format!(
                        "WHERE c.cid IN (SELECT value FROM json_each(?{}))",
                        params.len()
                    )
                }
                crate::store::sql::Engine::Postgres => {
                    params.push(Value::Text(format!("{{{list}}}")));
                    // sql-format-ok: a numbered placeholder.
                    format!(
                        "WHERE c.cid = ANY(CAST(CAST(?{} AS text) AS bigint[]))",
                        params.len()
                    )
                }
            }
        }
        None => String::new(),
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
    let n: i64 = match cids {
        Some(c) => c.len() as i64,
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
