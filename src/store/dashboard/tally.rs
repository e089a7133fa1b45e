//! The customer-wide aggregates counted one customer at a time (a file's
//! pass, a server's stream, a job's figures), and who has lapsed.

use super::{Aggregates, FitBrief, ModelBrief, TopRow};
use crate::error::Result;
use crate::store::segments::{years_of, MatrixAcc};
use rusqlite::Connection;

/// An f64 ordered by `total_cmp`, for heaps.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF64(f64);

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// Customers with orders whose last order is before this have lapsed: no
/// order in the 365 days (the label's activity window) before the last
/// order in the data.
pub fn lapsed_cutoff(latest_order: Option<i64>) -> Option<i64> {
    latest_order.map(|l| l - 365 * crate::timeutil::DAY)
}

/// The lapsed cutoff of the data as it is now (one index seek).
pub fn lapsed_cutoff_now(conn: &Connection) -> Result<Option<i64>> {
    let latest: Option<i64> = crate::store::customers::latest_order(conn)?;
    Ok(lapsed_cutoff(latest))
}

/// Whether a customer has already left: labelled churned, or with orders
/// and none since the cutoff. Customers without orders (subscription data)
/// are judged by their label alone.
pub fn is_lapsed(churned: Option<i64>, last_order: Option<i64>, cutoff: Option<i64>) -> bool {
    churned == Some(1) || matches!((last_order, cutoff), (Some(l), Some(c)) if l < c)
}

/// The customer-wide aggregates, fed one customer at a time (by either
/// engine's reader), then finished with what is not per customer.
pub struct Tally {
    customers: i64,
    latest_order: Option<i64>,
    high: f64,
    medium: f64,
    lapsed_before: Option<i64>,
    today: chrono::NaiveDate,
    lapsed: i64,
    histogram: [i64; 10],
    matrix: MatrixAcc,
    scored: i64,
    sum_churn: f64,
    hi: i64,
    med: i64,
    n_active: i64,
    var: f64,
    total: f64,
    n_var: i64,
    n_clv: i64,
    clvs: Vec<f64>,
    /// The 20 highest values at risk: a min-heap of (value, cid).
    top: std::collections::BinaryHeap<std::cmp::Reverse<(OrdF64, i64)>>,
}

/// One customer as the dashboard counts them.
pub struct TallyRow<'a> {
    pub cid: i64,
    pub age: Option<f64>,
    pub birth_date: Option<&'a str>,
    pub income: Option<f64>,
    pub churned: Option<i64>,
    pub last_order: Option<i64>,
    pub churn: Option<f64>,
    pub clv: Option<f64>,
}

impl Tally {
    /// `latest`: the latest order in the data (the lapsed cutoff's base).
    pub fn new(latest: Option<i64>, high: f64, medium: f64) -> Tally {
        Tally {
            customers: 0,
            latest_order: latest,
            high,
            medium,
            lapsed_before: lapsed_cutoff(latest),
            today: chrono::Utc::now().date_naive(),
            lapsed: 0,
            histogram: [0; 10],
            matrix: MatrixAcc::default(),
            scored: 0,
            sum_churn: 0.0,
            hi: 0,
            med: 0,
            n_active: 0,
            var: 0.0,
            total: 0.0,
            n_var: 0,
            n_clv: 0,
            clvs: Vec::new(),
            top: std::collections::BinaryHeap::new(),
        }
    }

    pub fn add(&mut self, r: TallyRow) {
        self.customers += 1;
        let (churn, clv) = (r.churn, r.clv);
        let gone = is_lapsed(r.churned, r.last_order, self.lapsed_before);
        if gone {
            self.lapsed += 1;
        }
        self.matrix.add(
            years_of(r.age, r.birth_date, self.today),
            r.income,
            churn,
            clv,
        );
        if let Some(p) = churn {
            self.scored += 1;
            if !gone {
                self.n_active += 1;
                self.sum_churn += p;
            }
            if gone {
                // Gone is not at risk.
            } else if p >= self.high {
                self.hi += 1;
            } else if p >= self.medium {
                self.med += 1;
            }
            self.histogram[((p * 10.0) as usize).min(9)] += 1;
        }
        if let Some(v) = clv {
            self.n_clv += 1;
            self.total += v;
            self.clvs.push(v);
        }
        if let (Some(p), Some(v), false) = (churn, clv, gone) {
            self.n_var += 1;
            self.var += p * v;
            self.top.push(std::cmp::Reverse((OrdF64(p * v), r.cid)));
            if self.top.len() > 20 {
                self.top.pop();
            }
        }
    }

    /// The customers with the highest values at risk, highest first:
    /// (value at risk, cid).
    pub fn top_at_risk(&self) -> Vec<(f64, i64)> {
        let mut ranked: Vec<(f64, i64)> = self.top.iter().map(|r| (r.0 .0 .0, r.0 .1)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked
    }

    /// The aggregates, with what is not per customer.
    pub fn finish(
        mut self,
        version: i64,
        monthly_revenue: Vec<(String, f64)>,
        top_at_risk: Vec<TopRow>,
        model: Option<ModelBrief>,
        fit: Option<FitBrief>,
    ) -> Aggregates {
        let mean = (self.n_active > 0).then(|| self.sum_churn / self.n_active as f64);
        let var = (self.n_var > 0).then_some(self.var);
        let total = (self.n_clv > 0).then_some(self.total);
        // Pareto curve, highest CLV first, in 50 steps.
        let mut pareto = Vec::new();
        if let Some(total) = total.filter(|t| *t > 0.0) {
            self.clvs.sort_unstable_by(|a, b| b.total_cmp(a));
            let n = self.clvs.len() as i64;
            let (mut k, mut cum) = (0i64, 0.0);
            let step = (n / 50).max(1);
            pareto.push((0.0, 0.0));
            for v in &self.clvs {
                cum += v;
                k += 1;
                if k % step == 0 || k == n {
                    pareto.push((k as f64 / n as f64, (cum / total).min(1.0)));
                }
            }
        }
        Aggregates {
            version,
            customers: self.customers,
            active_customers: self.customers - self.lapsed,
            lapsed: self.lapsed,
            latest_order: self.latest_order,
            scored: self.scored,
            mean_churn: mean,
            high_risk: self.hi,
            medium_risk: self.med,
            value_at_risk: var,
            total_clv: total,
            histogram: self.histogram,
            monthly_revenue,
            heatmap: self.matrix.cells(),
            top_at_risk,
            model,
            fit,
            pareto,
            high_threshold: self.high,
            unvalued: None,
        }
    }
}
