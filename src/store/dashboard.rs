//! The dashboard's numbers. Customer-wide aggregates (one scan of a million
//! customers takes about a second) only change when data, a model or a fit
//! changes: they are cached in `meta` under the data version, which every
//! such commit bumps. Queue counts are always fresh.

use super::{meta_get, meta_set};
use crate::analytics::priority::{SlaConfig, AGE_SQL};
use crate::error::Result;
use crate::store::segments::{age_income_matrix, Cell};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Bump the data version (call inside every transaction that changes
/// customers, orders, scores or CLV).
pub fn bump_version(conn: &Connection) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('data_version', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        [],
    )?;
    Ok(())
}

pub fn data_version(conn: &Connection) -> Result<i64> {
    Ok(meta_get(conn, "data_version")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopRow {
    pub cid: i64,
    pub id: String,
    pub name: Option<String>,
    pub churn_prob: f64,
    pub clv: f64,
    pub value_at_risk: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBrief {
    pub id: i64,
    pub kind: String,
    pub auc: Option<f64>,
    pub created_at: i64,
    pub agent: String,
    pub base_rate: f64,
    pub window_days: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitBrief {
    pub id: i64,
    pub as_of: String,
    pub time_unit: String,
    pub r: Option<f64>,
    pub alpha: Option<f64>,
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub p: Option<f64>,
    pub q: Option<f64>,
    pub gamma: Option<f64>,
    pub total_clv: f64,
    pub horizon_months: u32,
    pub note: Option<String>,
}

/// What only changes with the data version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Aggregates {
    pub version: i64,
    pub customers: i64,
    pub active_customers: i64,
    pub latest_order: Option<i64>,
    pub scored: i64,
    pub mean_churn: Option<f64>,
    pub high_risk: i64,
    pub medium_risk: i64,
    pub value_at_risk: Option<f64>,
    pub total_clv: Option<f64>,
    /// Customers per tenth of churn probability.
    pub histogram: [i64; 10],
    pub monthly_revenue: Vec<(String, f64)>,
    pub heatmap: Vec<Cell>,
    pub top_at_risk: Vec<TopRow>,
    pub model: Option<ModelBrief>,
    pub fit: Option<FitBrief>,
    /// CLV Pareto curve: (share of customers, share of total CLV), highest CLV first.
    pub pareto: Vec<(f64, f64)>,
    pub high_threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Dashboard {
    pub agg: Aggregates,
    pub open_feedback: i64,
    pub overdue_feedback: i64,
}

fn compute(conn: &Connection, version: i64, high: f64, medium: f64) -> Result<Aggregates> {
    let (customers, latest): (i64, Option<i64>) =
        conn.query_row("SELECT count(*), max(last_order) FROM customers", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let active: i64 = match latest {
        Some(l) => conn.query_row(
            "SELECT count(*) FROM customers WHERE last_order >= ?1",
            [l - 90 * crate::timeutil::DAY],
            |r| r.get(0),
        )?,
        None => 0,
    };
    let mut histogram = [0i64; 10];
    let (scored, mean, hi, med, var, total): (i64, Option<f64>, i64, i64, Option<f64>, Option<f64>) = conn.query_row(
        "SELECT count(churn_prob), avg(churn_prob), total(churn_prob >= ?1), total(churn_prob >= ?2 AND churn_prob < ?1),
                sum(churn_prob * clv), sum(clv)
         FROM customers",
        params![high, medium],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, f64>(2)? as i64, r.get::<_, f64>(3)? as i64, r.get(4)?, r.get(5)?)),
    )?;
    {
        let mut st = conn.prepare(
            "SELECT min(CAST(churn_prob * 10 AS INTEGER), 9), count(*) FROM customers
             WHERE churn_prob IS NOT NULL GROUP BY 1",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for r in rows {
            let (b, n) = r?;
            if (0..10).contains(&b) {
                histogram[b as usize] = n;
            }
        }
    }
    let monthly_revenue: Vec<(String, f64)> = {
        let mut st = conn
            .prepare("SELECT month, revenue FROM monthly_revenue ORDER BY month DESC LIMIT 24")?;
        let mut v: Vec<(String, f64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        v.reverse();
        v
    };
    let top_at_risk: Vec<TopRow> = {
        let mut st = conn.prepare(
            "SELECT cid, id, name, churn_prob, clv, churn_prob * clv AS var FROM customers
             WHERE churn_prob IS NOT NULL AND clv IS NOT NULL ORDER BY var DESC LIMIT 20",
        )?;
        let rows = st.query_map([], |r| {
            Ok(TopRow {
                cid: r.get(0)?,
                id: r.get(1)?,
                name: r.get(2)?,
                churn_prob: r.get(3)?,
                clv: r.get(4)?,
                value_at_risk: r.get(5)?,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let model = super::models::active(conn)?.map(|m| ModelBrief {
        id: m.id,
        kind: m.kind,
        auc: m
            .report
            .get("metrics")
            .and_then(|x| x.get("auc"))
            .and_then(|x| x.as_f64()),
        created_at: m.created_at,
        agent: m.agent,
        base_rate: m.positive_rate,
        window_days: m.window_days,
    });
    let fit = super::clv::active_report(conn)?.map(|(id, r)| FitBrief {
        id,
        as_of: r.as_of.clone(),
        time_unit: r.time_unit.clone(),
        r: r.bgnbd.as_ref().map(|b| b.r),
        alpha: r.bgnbd.as_ref().map(|b| b.alpha),
        a: r.bgnbd.as_ref().map(|b| b.a),
        b: r.bgnbd.as_ref().map(|b| b.b),
        p: r.gamma_gamma.as_ref().map(|g| g.p),
        q: r.gamma_gamma.as_ref().map(|g| g.q),
        gamma: r.gamma_gamma.as_ref().map(|g| g.gamma),
        total_clv: r.total_clv,
        horizon_months: r.horizon_months,
        note: r.gamma_gamma_note.clone(),
    });
    // Pareto curve from the CLV index, in 50 steps.
    let mut pareto = Vec::new();
    if let Some(total) = total.filter(|t| *t > 0.0) {
        let n: i64 = conn.query_row("SELECT count(clv) FROM customers", [], |r| r.get(0))?;
        let mut st =
            conn.prepare("SELECT clv FROM customers WHERE clv IS NOT NULL ORDER BY clv DESC")?;
        let mut rows = st.query([])?;
        let (mut k, mut cum) = (0i64, 0.0);
        let step = (n / 50).max(1);
        pareto.push((0.0, 0.0));
        while let Some(r) = rows.next()? {
            cum += r.get::<_, f64>(0)?;
            k += 1;
            if k % step == 0 || k == n {
                pareto.push((k as f64 / n as f64, (cum / total).min(1.0)));
            }
        }
    }
    Ok(Aggregates {
        version,
        customers,
        active_customers: active,
        latest_order: latest,
        scored,
        mean_churn: mean,
        high_risk: hi,
        medium_risk: med,
        value_at_risk: var,
        total_clv: total,
        histogram,
        monthly_revenue,
        heatmap: age_income_matrix(conn)?,
        top_at_risk,
        model,
        fit,
        pareto,
        high_threshold: high,
    })
}

/// The dashboard: cached aggregates (recomputed when the data version or the
/// risk thresholds changed; the cache is written back when writable), and
/// fresh queue counts.
pub fn load(
    conn: &Connection,
    writable: bool,
    high: f64,
    medium: f64,
    sla: &SlaConfig,
    now: i64,
) -> Result<Dashboard> {
    let version = data_version(conn)?;
    let cached: Option<Aggregates> =
        meta_get(conn, "dashboard_cache")?.and_then(|s| serde_json::from_str(&s).ok());
    let agg = match cached {
        Some(a) if a.version == version && a.high_threshold == high => a,
        _ => {
            let a = compute(conn, version, high, medium)?;
            if writable {
                // Best effort: another agent's write lock only costs a recompute next time.
                let _ = meta_set(conn, "dashboard_cache", &serde_json::to_string(&a)?);
            }
            a
        }
    };
    let open: i64 = conn.query_row("SELECT count(*) FROM queue", [], |r| r.get(0))?;
    let p = sla.sql_params();
    // sql-format-ok: AGE_SQL is a constant.
    let overdue_sql = format!("SELECT count(*) FROM queue WHERE {AGE_SQL} >= 10.0");
    let overdue: i64 = conn
        .query_row(
            &overdue_sql,
            params![now, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    Ok(Dashboard {
        agg,
        open_feedback: open,
        overdue_feedback: overdue,
    })
}
