//! The dashboard's numbers. Customer-wide aggregates (one scan of a million
//! customers takes about a second) only change when data, a model or a fit
//! changes: they are cached in `meta` under the data version, which every
//! such commit bumps. Queue counts are always fresh.

mod tally;

pub use tally::{is_lapsed, lapsed_cutoff, lapsed_cutoff_now, Tally, TallyRow};

use super::{meta_get, meta_set};
use crate::analytics::priority::SlaConfig;
use crate::error::Result;
use crate::store::segments::Cell;
use rusqlite::Connection;
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
    /// The fit's settings, shown wherever CLV is.
    #[serde(default)]
    pub margin: f64,
    #[serde(default)]
    pub discount_rate: f64,
    /// The family and its parameters ("Pareto/NBD r 0.5533 α 10.5777 ...")
    /// with its fit diagnostics (log-likelihood, customers).
    #[serde(default)]
    pub family: Option<String>,
    /// Why `--model auto` chose it.
    #[serde(default)]
    pub chosen_because: Option<String>,
    /// The settings a refit (`R`) keeps: the family as asked (`auto` when
    /// chosen), the penalizer and the method. (None from a cache written
    /// before they were kept: a refit then takes the defaults.)
    #[serde(default)]
    pub asked_model: Option<String>,
    #[serde(default)]
    pub penalizer: Option<f64>,
    #[serde(default)]
    pub method: Option<String>,
}

/// What only changes with the data version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Aggregates {
    pub version: i64,
    pub customers: i64,
    /// Customers who are not lapsed (see `lapsed`).
    pub active_customers: i64,
    /// Customers who have already left and cannot be saved: labelled
    /// churned, or (with orders) no order in the 365 days before the last
    /// order in the data. Excluded from the at-risk counts, the value at
    /// risk and the riskiest customers.
    #[serde(default)]
    pub lapsed: i64,
    pub latest_order: Option<i64>,
    pub scored: i64,
    /// Mean churn probability of the active (not lapsed) scored customers.
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
    /// On a server: how many customers lack each ranking's figure.
    #[serde(default)]
    pub unvalued: Option<Unvalued>,
}

/// How many customers lack each ranking's figure (a churn score, a CLV,
/// an RFM segment), counted by a server's dashboard tally at its data
/// version: a server's list asks whether any does before it walks a
/// ranking (counting took 0.1-0.35 s at a million, at the first look at
/// each ranking). A file ranks them by a stand-in value and never asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Unvalued {
    /// The server's data version (schema pg 6) they were counted at.
    pub data_version: i64,
    pub churn: i64,
    pub clv: i64,
    pub segment: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Dashboard {
    pub agg: Aggregates,
    pub open_feedback: i64,
    pub overdue_feedback: i64,
}

fn compute(conn: &Connection, version: i64, high: f64, medium: f64) -> Result<Aggregates> {
    let tally = tally_of(conn, high, medium, Held::default())?;
    finish_tally(conn, version, tally)
}

/// The figures a job holds that the pass takes instead of the active ones
/// stored (None: the stored ones).
#[derive(Default)]
pub struct Held {
    /// Churn scores, when the job's model version becomes the active one.
    pub churn: Option<super::scores::ActiveByCid>,
    /// CLV values, when the job's fit becomes the active one.
    pub clv: Option<super::scores::ActiveByCid>,
}

/// The per-customer pass: every customer with their churn score and CLV
/// (`held`, else the active ones) (a million rows: about 0.4 s, where one
/// SQL aggregate per tile took 3 s).
fn tally_of(conn: &Connection, high: f64, medium: f64, held: Held) -> Result<Tally> {
    let mut probs = match held.churn {
        Some(p) => p,
        None => super::scores::ActiveByCid::load(conn)?,
    };
    let mut clv_of = match held.clv {
        Some(v) => v,
        None => super::clv_values::active_by_cid(conn)?,
    };
    let latest: Option<i64> =
        conn.query_row("SELECT max(last_order) FROM customers", [], |r| r.get(0))?;
    let mut tally = Tally::new(latest, high, medium);
    let mut st = conn.prepare(
        "SELECT cid, age, birth_date, income, churned, last_order FROM customers ORDER BY cid",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let cid: i64 = r.get(0)?;
        tally.add(TallyRow {
            cid,
            age: r.get(1).ok().flatten(),
            birth_date: r.get_ref(2)?.as_str_or_null().ok().flatten(),
            income: r.get(3).ok().flatten(),
            churned: r.get(4)?,
            last_order: r.get(5)?,
            churn: probs.get(cid),
            clv: clv_of.get(cid),
        });
    }
    Ok(tally)
}

/// The aggregates from a finished pass, with what is not per customer (the
/// monthly revenue, the riskiest customers' names, the active model and fit).
fn finish_tally(conn: &Connection, version: i64, tally: Tally) -> Result<Aggregates> {
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
        let mut st =
            conn.prepare("SELECT c.id, c.name, s.prob, v.clv FROM customers c LEFT JOIN active_churn s ON s.cid = c.cid
                          LEFT JOIN active_clv v ON v.cid = c.cid WHERE c.cid = ?1")?;
        let mut out = Vec::new();
        for (value, cid) in tally.top_at_risk() {
            let row = st.query_row([cid], |r| {
                Ok(TopRow {
                    cid,
                    id: r.get(0)?,
                    name: r.get(1)?,
                    churn_prob: r.get(2)?,
                    clv: r.get(3)?,
                    value_at_risk: value,
                })
            })?;
            out.push(row);
        }
        out
    };
    let model = super::models::active(conn)?.map(|m| model_brief(&m));
    let fit = super::clv::active_report(conn)?.map(|(id, r)| fit_brief(id, &r));
    Ok(tally.finish(version, monthly_revenue, top_at_risk, model, fit))
}

/// The aggregates prepared by a job that writes churn scores or CLV values,
/// while it writes them: the per-customer pass runs on a thread of its own,
/// reading the file on its own connection, and the job stores the result
/// inside its transaction (`Ahead::store`), so the first screen after it
/// never pays for them. Started after the job took the write lock, the pass
/// reads what the commit will hold of what the job does not write (the
/// customers; the scores or values of the other kind); of its own kind it
/// takes the job's figures when they become the active ones, else the
/// active ones as read.
pub struct Ahead {
    pass: std::thread::JoinHandle<Result<Tally>>,
}

impl Ahead {
    /// Start the pass (call inside the job's write transaction `conn`).
    pub fn start(conn: &Connection, high: f64, medium: f64, held: Held) -> Result<Ahead> {
        let path = super::history::path_of(conn)?;
        let pass = std::thread::spawn(move || {
            let c = super::history::read_conn(&path)?;
            tally_of(&c, high, medium, held)
        });
        Ok(Ahead { pass })
    }

    /// Store the aggregates as the cache of the data version `tx` is at
    /// (call after the job's last `bump_version`, before its commit).
    /// Best effort: a pass that failed leaves the cache to `warm`.
    pub fn store(self, tx: &Connection) -> Result<()> {
        let Ok(Ok(tally)) = self.pass.join() else {
            return Ok(());
        };
        let version = data_version(tx)?;
        let a = finish_tally(tx, version, tally)?;
        meta_set(tx, "dashboard_cache", &serde_json::to_string(&a)?)
    }
}

/// The dashboard's brief of a CLV fit.
pub fn fit_brief(id: i64, r: &crate::analytics::clv::ClvReport) -> FitBrief {
    FitBrief {
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
        margin: r.margin,
        discount_rate: r.discount_rate,
        family: r.model.as_ref().map(family_text).or_else(|| {
            r.bgnbd.as_ref().map(|b| {
                format!(
                    "BG/NBD r {:.4} α {:.4} a {:.4} b {:.4} (LL {:.2})",
                    b.r, b.alpha, b.a, b.b, b.log_likelihood
                )
            })
        }),
        chosen_because: r.model.as_ref().and_then(|m| m.chosen_because.clone()),
        asked_model: r.model.as_ref().map(|m| {
            if m.chosen_because.is_some() {
                "auto".to_string()
            } else {
                m.family.clone()
            }
        }),
        penalizer: Some(r.penalizer),
        method: Some(r.method.clone()),
    }
}

/// The dashboard's brief of a model version.
pub fn model_brief(m: &super::models::ModelRow) -> ModelBrief {
    ModelBrief {
        id: m.id,
        kind: m.kind.clone(),
        auc: m
            .report
            .get("metrics")
            .and_then(|x| x.get("auc"))
            .and_then(|x| x.as_f64()),
        created_at: m.created_at,
        agent: m.agent.clone(),
        base_rate: m.positive_rate,
        window_days: m.window_days,
    }
}

/// Compute and cache the customer-wide aggregates now, at the end of the
/// job that changed the data (import, train, clv), so the first screen after
/// it never pays for them. Nothing to do when the cache is current.
pub fn warm(conn: &Connection, high: f64, medium: f64) -> Result<()> {
    let (version, cached) = current_cache(conn, high)?;
    if cached.is_some() {
        return Ok(());
    }
    let a = compute(conn, version, high, medium)?;
    meta_set(conn, "dashboard_cache", &serde_json::to_string(&a)?)?;
    Ok(())
}

/// The data version, and the cached aggregates when they are of it and of
/// the `high` threshold.
fn current_cache(conn: &Connection, high: f64) -> Result<(i64, Option<Aggregates>)> {
    let version = data_version(conn)?;
    let cached = meta_get(conn, "dashboard_cache")?
        .and_then(|s| serde_json::from_str::<Aggregates>(&s).ok())
        .filter(|a| a.version == version && a.high_threshold == high);
    Ok((version, cached))
}

/// Whether the cached aggregates are current (a job computed them in its
/// transaction: nothing is left for `warm`).
pub fn is_current(conn: &Connection, high: f64) -> Result<bool> {
    Ok(current_cache(conn, high)?.1.is_some())
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
    let (version, cached) = current_cache(conn, high)?;
    let agg = match cached {
        Some(a) => a,
        None => {
            let a = compute(conn, version, high, medium)?;
            if writable {
                // Best effort: another agent's write lock only costs a recompute next time.
                let _ = meta_set(conn, "dashboard_cache", &serde_json::to_string(&a)?);
            }
            a
        }
    };
    let open: i64 = conn.query_row("SELECT count(*) FROM queue", [], |r| r.get(0))?;
    let overdue = super::queue::overdue_count(conn, sla, now)?;
    Ok(Dashboard {
        agg,
        open_feedback: open,
        overdue_feedback: overdue,
    })
}

/// "Pareto/NBD r 0.5533 α 10.5777 s 0.6062 β 11.6687 (LL -9,594.98, 2,357 customers)".
fn family_text(m: &crate::analytics::clv::family::FitReport) -> String {
    use crate::analytics::clv::family::Model;
    let greek = |n: &str| match n {
        "alpha" => "α".to_string(),
        "beta" => "β".to_string(),
        "gamma" => "γ".to_string(),
        "delta" => "δ".to_string(),
        n => n.to_string(),
    };
    let params: Vec<String> = m
        .params
        .iter()
        .map(|(n, v)| format!("{} {:.4}", greek(n), v.as_f64().unwrap_or(f64::NAN)))
        .collect();
    format!(
        "{} {} (LL {}, {} customers)",
        Model::parse(&m.family).map(Model::title).unwrap_or("model"),
        params.join(" "),
        crate::analytics::priority::money(m.log_likelihood),
        crate::analytics::priority::count(m.customers as i64)
    )
}
