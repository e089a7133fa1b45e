//! Summaries for the dashboard and `crmtop segments`: RFM segments of the
//! active CLV fit, and the age-group x income-group matrix.

use crate::error::Result;
use rusqlite::Connection;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentRow {
    pub segment: String,
    pub customers: i64,
    pub share: f64,
    pub mean_recency_days: f64,
    pub mean_transactions: f64,
    pub mean_spend: f64,
    pub total_clv: f64,
    pub mean_churn: Option<f64>,
}

pub fn rfm_summary(conn: &Connection) -> Result<Vec<SegmentRow>> {
    let mut st = conn.prepare(
        "SELECT v.segment, count(*), avg(c.revenue), sum(v.clv), avg(c.churn_prob), avg(v.frequency + 1),
                avg((f.as_of_day - c.last_order / 86400.0))
         FROM clv_values v
         JOIN (SELECT id, unixepoch(as_of) / 86400.0 AS as_of_day FROM clv_fits WHERE active = 1) f ON f.id = v.fit_id
         JOIN customers c ON c.cid = v.cid
         WHERE v.segment IS NOT NULL
         GROUP BY v.segment ORDER BY sum(v.clv) DESC",
    )?;
    type Row = (String, i64, f64, Option<f64>, Option<f64>, f64, f64);
    let rows: Vec<Row> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let total: i64 = rows.iter().map(|r| r.1).sum();
    Ok(rows
        .into_iter()
        .map(|(segment, n, spend, clv, churn, tx, rec)| SegmentRow {
            segment,
            customers: n,
            share: n as f64 / total.max(1) as f64,
            mean_recency_days: rec,
            mean_transactions: tx,
            mean_spend: spend,
            total_clv: clv.unwrap_or(0.0),
            mean_churn: churn,
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cell {
    pub age_group: String,
    pub income_group: String,
    pub customers: i64,
    /// Mean churn probability of the active model.
    pub churn_rate: Option<f64>,
    pub mean_clv: Option<f64>,
}

pub const AGE_GROUPS: [&str; 7] = [
    "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown",
];
pub const INCOME_GROUPS: [&str; 7] = [
    "<25k", "25-50k", "50-75k", "75-100k", "100-150k", "150k+", "unknown",
];

/// Customers, churn rate and mean CLV per age group x income group.
pub fn age_income_matrix(conn: &Connection) -> Result<Vec<Cell>> {
    let mut st = conn.prepare(
        "WITH a AS (
           SELECT COALESCE(age, CAST((julianday('now') - julianday(birth_date)) / 365.25 AS INTEGER)) AS years,
                  income, churn_prob, clv FROM customers)
         SELECT CASE WHEN years IS NULL THEN 'unknown' WHEN years < 25 THEN '18-24' WHEN years < 35 THEN '25-34'
                     WHEN years < 45 THEN '35-44' WHEN years < 55 THEN '45-54' WHEN years < 65 THEN '55-64'
                     ELSE '65+' END,
                CASE WHEN income IS NULL THEN 'unknown' WHEN income < 25000 THEN '<25k'
                     WHEN income < 50000 THEN '25-50k' WHEN income < 75000 THEN '50-75k'
                     WHEN income < 100000 THEN '75-100k' WHEN income < 150000 THEN '100-150k' ELSE '150k+' END,
                count(*), avg(churn_prob), avg(clv)
         FROM a GROUP BY 1, 2",
    )?;
    let mut cells: Vec<Cell> = st
        .query_map([], |r| {
            Ok(Cell {
                age_group: r.get(0)?,
                income_group: r.get(1)?,
                customers: r.get(2)?,
                churn_rate: r.get(3)?,
                mean_clv: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let pos = |list: &[&str], v: &str| list.iter().position(|x| *x == v).unwrap_or(99);
    cells.sort_by_key(|c| {
        (
            pos(&AGE_GROUPS, &c.age_group),
            pos(&INCOME_GROUPS, &c.income_group),
        )
    });
    Ok(cells)
}
