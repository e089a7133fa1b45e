//! Summaries for the dashboard and `crmtop segments`: RFM segments of the
//! active CLV fit, and the age-group x income-group matrix.

use super::sql::Sql;
use crate::error::Result;

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

/// The active fit's RFM segments, highest total CLV first (on either
/// engine).
pub fn rfm_summary(conn: &dyn Sql) -> Result<Vec<SegmentRow>> {
    // The fit's as-of day (its values are as of then).
    let Some(as_of_day) = conn
        // (`active` is 1 on a file and true on a server: both are true.)
        .row("SELECT as_of FROM clv_fits WHERE active", &[])?
        .map(|r| r.text(0))
        .transpose()?
        .as_deref()
        .and_then(crate::timeutil::parse_date)
        .map(|d| crate::timeutil::date_to_ts(d) as f64 / 86400.0)
    else {
        return Ok(Vec::new());
    };
    type Row = (String, i64, f64, Option<f64>, Option<f64>, f64, f64);
    let mut rows: Vec<Row> = Vec::new();
    conn.each(
        "SELECT v.segment, count(*), avg(c.revenue), sum(v.clv), avg(s.prob), avg(v.frequency + 1),
                avg(?1 - CAST(c.last_order AS DOUBLE PRECISION) / 86400.0)
         FROM active_clv v
         JOIN customers c ON c.cid = v.cid
         LEFT JOIN active_churn s ON s.cid = v.cid
         WHERE v.segment IS NOT NULL
         GROUP BY v.segment ORDER BY sum(v.clv) DESC",
        &[rusqlite::types::Value::Real(as_of_day)],
        &mut |r| {
            rows.push((
                r.text(0)?,
                r.i64(1)?,
                r.f64(2)?,
                r.opt_f64(3)?,
                r.opt_f64(4)?,
                r.f64(5)?,
                r.f64(6)?,
            ));
            Ok(())
        },
    )?;
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

/// The age group (index into `AGE_GROUPS`) of an age in years.
pub fn age_group(years: Option<i64>) -> usize {
    match years {
        None => 6,
        Some(y) if y < 25 => 0,
        Some(y) if y < 35 => 1,
        Some(y) if y < 45 => 2,
        Some(y) if y < 55 => 3,
        Some(y) if y < 65 => 4,
        Some(_) => 5,
    }
}

/// The income group (index into `INCOME_GROUPS`).
pub fn income_group(income: Option<f64>) -> usize {
    match income {
        None => 6,
        Some(i) if i < 25_000.0 => 0,
        Some(i) if i < 50_000.0 => 1,
        Some(i) if i < 75_000.0 => 2,
        Some(i) if i < 100_000.0 => 3,
        Some(i) if i < 150_000.0 => 4,
        Some(_) => 5,
    }
}

/// Whole years from a `YYYY-MM-DD` birth date to `today` (days / 365.25).
pub fn years_since(birth: &str, today: chrono::NaiveDate) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(birth.get(..10)?, "%Y-%m-%d").ok()?;
    Some(((today - d).num_days() as f64 / 365.25).floor() as i64)
}

/// One cell's running sums: customers, scored, sum of churn, valued, sum of CLV.
type CellSums = (i64, i64, f64, i64, f64);

/// Accumulates the age-group x income-group matrix in one pass.
#[derive(Debug, Clone, Default)]
pub struct MatrixAcc {
    cells: [[CellSums; 7]; 7],
}

impl MatrixAcc {
    pub fn add(
        &mut self,
        years: Option<i64>,
        income: Option<f64>,
        churn: Option<f64>,
        clv: Option<f64>,
    ) {
        let c = &mut self.cells[age_group(years)][income_group(income)];
        c.0 += 1;
        if let Some(p) = churn {
            c.1 += 1;
            c.2 += p;
        }
        if let Some(v) = clv {
            c.3 += 1;
            c.4 += v;
        }
    }

    /// The cells that hold customers, by age group then income group.
    pub fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        for (a, row) in self.cells.iter().enumerate() {
            for (i, c) in row.iter().enumerate() {
                if c.0 == 0 {
                    continue;
                }
                out.push(Cell {
                    age_group: AGE_GROUPS[a].to_string(),
                    income_group: INCOME_GROUPS[i].to_string(),
                    customers: c.0,
                    churn_rate: (c.1 > 0).then(|| c.2 / c.1 as f64),
                    mean_clv: (c.3 > 0).then(|| c.4 / c.3 as f64),
                });
            }
        }
        out
    }
}

/// A customer's age in years: the age column, else from the birth date.
pub fn years_of(age: Option<f64>, birth: Option<&str>, today: chrono::NaiveDate) -> Option<i64> {
    age.map(|a| a.floor() as i64)
        .or_else(|| birth.and_then(|b| years_since(b, today)))
}

/// Customers, churn rate and mean CLV per age group x income group (on
/// either engine).
pub fn age_income_matrix(conn: &dyn Sql) -> Result<Vec<Cell>> {
    let today = chrono::Utc::now().date_naive();
    let mut acc = MatrixAcc::default();
    let (mut probs, mut clv_of) = super::scores::active_figures(conn)?;
    conn.each(
        "SELECT cid, age, birth_date, income FROM customers ORDER BY cid",
        &[],
        &mut |r| {
            let cid = r.i64(0)?;
            let birth = r.opt_text(2).ok().flatten();
            acc.add(
                years_of(r.opt_f64(1).ok().flatten(), birth.as_deref(), today),
                r.opt_f64(3).ok().flatten(),
                probs.get(cid),
                clv_of.get(cid),
            );
            Ok(())
        },
    )?;
    Ok(acc.cells())
}
