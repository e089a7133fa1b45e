//! Behavioural clusters: the rows k-means reads (one per customer, as of a
//! day) and the latest run's report and assignments.

use crate::analytics::clusters::{Report, Row};
use crate::error::Result;
use crate::timeutil::DAY;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// Every customer's behaviour as of `as_of` (a timestamp): recency,
/// orders, revenue and tenure from the customer's columns, events in the
/// 90 days and complaints in the 365 days before it, mean sentiment, the
/// active churn probability, the label and CLV. In cid order.
pub fn rows(conn: &Connection, as_of: i64) -> Result<Vec<Row>> {
    let days = |ts: i64| (as_of - ts) as f64 / DAY as f64;
    let mut events: HashMap<i64, f64> = HashMap::new();
    {
        let mut st = conn
            .prepare("SELECT cid, count(*) FROM events WHERE ts >= ?1 AND ts < ?2 GROUP BY cid")?;
        let rows = st.query_map([as_of - 90 * DAY, as_of], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for r in rows {
            let (c, n): (i64, i64) = r?;
            events.insert(c, n as f64);
        }
    }
    let mut feedback: HashMap<i64, (f64, Option<f64>)> = HashMap::new();
    {
        let mut st = conn.prepare(
            "SELECT cid, sum(kind = 'complaint' AND created_at >= ?1), avg(sentiment)
             FROM feedback WHERE created_at < ?2 GROUP BY cid",
        )?;
        let rows = st.query_map([as_of - 365 * DAY, as_of], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        for r in rows {
            let (c, n, s): (i64, i64, Option<f64>) = r?;
            feedback.insert(c, (n as f64, s));
        }
    }
    let mut probs = super::scores::ActiveByCid::load(conn)?;
    let mut clv_of = super::clv_values::active_by_cid(conn)?;
    let mut st = conn.prepare(
        "SELECT cid, last_order, n_orders, revenue, since, churned FROM customers ORDER BY cid",
    )?;
    let rows = st.query_map([], |r| {
        let cid: i64 = r.get(0)?;
        let last: Option<i64> = r.get(1)?;
        let since: Option<i64> = r.get(4)?;
        let (complaints, sentiment) = feedback.get(&cid).copied().unwrap_or((0.0, None));
        Ok(Row {
            cid,
            recency_days: last.map(days),
            orders: r.get::<_, i64>(2)? as f64,
            revenue: r.get(3)?,
            tenure_days: since.map(days),
            events_90: events.get(&cid).copied().unwrap_or(0.0),
            complaints_365: complaints,
            sentiment,
            churn_prob: probs.get(cid),
            churned: r.get::<_, Option<i64>>(5)?.map(|c| c == 1),
            clv: clv_of.get(cid),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replace the latest run: its report and every customer's cluster
/// (`labels[i]` for `cids[i]`). Call inside a transaction.
pub fn save(
    conn: &Connection,
    report: &Report,
    cids: &[i64],
    labels: &[u32],
    agent: &str,
) -> Result<i64> {
    conn.execute("DELETE FROM customer_clusters", [])?;
    conn.execute("DELETE FROM cluster_runs", [])?;
    conn.execute(
        "INSERT INTO cluster_runs(created_at, agent, k, report) VALUES (?1, ?2, ?3, ?4)",
        params![
            crate::timeutil::now(),
            agent,
            report.k as i64,
            serde_json::to_string(report)?
        ],
    )?;
    let id = conn.last_insert_rowid();
    let mut ins = super::BatchInsert::new(conn, "INSERT INTO customer_clusters(cid, cluster)", 2)?;
    use rusqlite::types::Value as V;
    for (&cid, &l) in cids.iter().zip(labels) {
        ins.push([V::Integer(cid), V::Integer(i64::from(l))])?;
    }
    ins.finish()?;
    Ok(id)
}

/// The latest run's report, if any.
pub fn latest(conn: &Connection) -> Result<Option<Report>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT report FROM cluster_runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// A customer's cluster in the latest run.
pub fn of_customer(conn: &Connection, cid: i64) -> Result<Option<u32>> {
    Ok(conn
        .query_row(
            "SELECT cluster FROM customer_clusters WHERE cid = ?1",
            [cid],
            |r| r.get(0),
        )
        .optional()?)
}
