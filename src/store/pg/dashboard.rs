//! The dashboard on PostgreSQL: the same customer-wide aggregates as on a
//! file (`store::dashboard::Tally`, fed from one streamed read of the
//! customers beside their active figures), and fresh queue counts. A
//! server has no CLV fits yet: the fit's brief is absent, the values the
//! migration carried are counted.

use super::Pg;
use crate::analytics::priority::SlaConfig;
use crate::error::Result;
use crate::store::dashboard::{model_brief, Aggregates, Dashboard, Tally, TallyRow, TopRow};
use crate::store::feedback::QueueFilter;
use crate::store::sql::{int, Sql};
use rusqlite::types::Value;

/// What the aggregates depend on, read cheaply: the active model, and
/// the customers' count, latest order and order count (an import or a
/// doctor's repair moves one of them; not a sum of amounts, which a
/// parallel scan adds in another order each time). Equal stamps, equal
/// aggregates.
pub fn stamp(pg: &Pg) -> Result<Vec<Value>> {
    Ok(pg
        .row(
            "SELECT (SELECT coalesce(max(id), 0) FROM models WHERE active),
                    (SELECT count(*) FROM active_clv),
                    count(*), coalesce(max(last_order), 0), coalesce(sum(n_orders), 0)::bigint
               FROM customers",
            &[],
        )?
        .map(|r| r.0)
        .unwrap_or_default())
}

/// The customer-wide aggregates, computed now.
pub fn compute(pg: &Pg, high: f64, medium: f64) -> Result<Aggregates> {
    let latest = super::list::latest_order(pg)?;
    let mut tally = Tally::new(latest, high, medium);
    pg.each(
        "SELECT c.cid, c.age, c.birth_date, c.income, c.churned, c.last_order, ac.prob, av.clv
           FROM customers c LEFT JOIN active_churn ac ON ac.cid = c.cid
                            LEFT JOIN active_clv av ON av.cid = c.cid",
        &[],
        &mut |r| {
            tally.add(TallyRow {
                cid: r.i64(0)?,
                age: r.opt_i64(1)?.map(|a| a as f64),
                birth_date: match r.0.get(2) {
                    Some(Value::Text(t)) => Some(t.as_str()),
                    _ => None,
                },
                income: r.opt_f64(3)?,
                churned: r.opt_i64(4)?,
                last_order: r.opt_i64(5)?,
                churn: r.opt_f64(6)?,
                clv: r.opt_f64(7)?,
            });
            Ok(())
        },
    )?;
    // Revenue by day in integers (a date formatted per order took three
    // times as long at 5.5 million orders), then by month here.
    let mut months: std::collections::BTreeMap<String, f64> = Default::default();
    for r in pg.rows(
        "SELECT ts / 86400 - (CASE WHEN ts % 86400 < 0 THEN 1 ELSE 0 END) AS d, sum(amount)::float8
           FROM orders GROUP BY 1",
        &[],
    )? {
        let day = crate::timeutil::ts_to_date(r.i64(0)? * 86_400);
        *months.entry(day.format("%Y-%m").to_string()).or_default() += r.f64(1)?;
    }
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
    Ok(tally.finish(0, monthly_revenue, top_at_risk, model, None))
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
