//! Behavioural clusters: the rows k-means reads (one per customer, as of a
//! day) and the latest run's report and assignments.

use super::sql::{self, Sql};
use crate::analytics::clusters::{Report, Row};
use crate::error::Result;
use crate::timeutil::DAY;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// Every customer's behaviour as of `as_of` (a timestamp): recency,
/// orders, revenue and tenure from the customer's columns, events in the
/// 90 days and complaints in the 365 days before it, mean sentiment, the
/// active churn probability, the label and CLV. In cid order. On either
/// engine.
pub fn rows(conn: &dyn Sql, as_of: i64) -> Result<Vec<Row>> {
    let days = |ts: i64| (as_of - ts) as f64 / DAY as f64;
    let mut events: HashMap<i64, f64> = HashMap::new();
    conn.each(
        "SELECT cid, count(*) FROM events WHERE ts >= ?1 AND ts < ?2 GROUP BY cid",
        &[sql::int(as_of - 90 * DAY), sql::int(as_of)],
        &mut |r| {
            events.insert(r.i64(0)?, r.i64(1)? as f64);
            Ok(())
        },
    )?;
    let mut feedback: HashMap<i64, (f64, Option<f64>)> = HashMap::new();
    conn.each(
        "SELECT cid, sum(CASE WHEN kind = 'complaint' AND created_at >= ?1 THEN 1 ELSE 0 END),
                avg(sentiment)
         FROM feedback WHERE created_at < ?2 GROUP BY cid",
        &[sql::int(as_of - 365 * DAY), sql::int(as_of)],
        &mut |r| {
            feedback.insert(r.i64(0)?, (r.i64(1)? as f64, r.opt_f64(2)?));
            Ok(())
        },
    )?;
    let (mut probs, mut clv_of) = super::scores::active_figures(conn)?;
    let mut out = Vec::new();
    conn.each(
        "SELECT cid, last_order, n_orders, revenue, since, churned FROM customers ORDER BY cid",
        &[],
        &mut |r| {
            let cid = r.i64(0)?;
            let (complaints, sentiment) = feedback.get(&cid).copied().unwrap_or((0.0, None));
            out.push(Row {
                cid,
                recency_days: r.opt_i64(1)?.map(days),
                orders: r.i64(2)? as f64,
                revenue: r.f64(3)?,
                tenure_days: r.opt_i64(4)?.map(days),
                events_90: events.get(&cid).copied().unwrap_or(0.0),
                complaints_365: complaints,
                sentiment,
                churn_prob: probs.get(cid),
                churned: r.opt_i64(5)?.map(|c| c == 1),
                clv: clv_of.get(cid),
            });
            Ok(())
        },
    )?;
    Ok(out)
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

/// The audit entry of a run (in its transaction, on either engine).
pub fn audit(conn: &dyn Sql, report: &Report, agent: &str) -> Result<()> {
    super::audit::append(
        conn,
        agent,
        "clusters",
        "cluster_run",
        &report.k.to_string(),
        None,
        None,
        Some(&format!(
            "{} customers in {} clusters",
            report.customers, report.k
        )),
    )?;
    Ok(())
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
