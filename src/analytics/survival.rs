//! Retention curves: the Kaplan-Meier estimate of survival by group, with
//! Greenwood confidence bands on the log(-log) scale, and the log-rank test
//! between the groups, computed as lifelines' `KaplanMeierFitter` and
//! `multivariate_logrank_test` compute them (the tests compare on Telco).

use crate::error::{Error, Result};
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// One customer: time observed, whether the event (leaving) happened then
/// (else the customer is censored: still there), and the group.
#[derive(Debug, Clone)]
pub struct Subject {
    pub duration: f64,
    pub event: bool,
    pub group: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    pub time: f64,
    pub at_risk: usize,
    pub events: usize,
    pub censored: usize,
    pub survival: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupCurve {
    pub group: String,
    pub customers: usize,
    pub events: usize,
    /// The first time survival is at or below 50%; None if it never is.
    pub median: Option<f64>,
    pub curve: Vec<CurvePoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogRank {
    pub statistic: f64,
    pub df: usize,
    pub p_value: f64,
}

impl LogRank {
    /// The p-value for people: "< 1e-300" rather than 0.
    pub fn p_text(&self) -> String {
        if self.p_value < 1e-300 {
            "< 1e-300".to_string()
        } else {
            format!("= {:.3e}", self.p_value)
        }
    }
}

impl Subject {
    /// From the store's (duration, event, group) rows.
    pub fn from_rows(rows: Vec<(f64, bool, String)>) -> Vec<Subject> {
        rows.into_iter()
            .map(|(duration, event, group)| Subject {
                duration,
                event,
                group,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SurvivalReport {
    pub duration: String,
    pub event: String,
    pub by: Option<String>,
    pub groups: Vec<GroupCurve>,
    /// Between the groups (two or more).
    pub logrank: Option<LogRank>,
}

/// z of a two-sided 95% interval.
const Z95: f64 = 1.959963984540054;

/// Kaplan-Meier over the subjects (any group): a point at 0 and at every
/// distinct duration.
pub fn kaplan_meier(subjects: &[&Subject]) -> Vec<CurvePoint> {
    let mut times: Vec<f64> = subjects.iter().map(|s| s.duration).collect();
    times.push(0.0);
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut sorted: Vec<(f64, bool)> = subjects.iter().map(|s| (s.duration, s.event)).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut at_risk = sorted.len();
    let (mut s, mut var) = (1.0f64, 0.0f64);
    let mut i = 0;
    let mut out = Vec::with_capacity(times.len());
    for t in times {
        let (mut d, mut c) = (0usize, 0usize);
        while i < sorted.len() && sorted[i].0 == t {
            if sorted[i].1 {
                d += 1;
            } else {
                c += 1;
            }
            i += 1;
        }
        let n = at_risk;
        if d > 0 && n > 0 {
            s *= 1.0 - d as f64 / n as f64;
            var += if n > d {
                d as f64 / (n as f64 * (n - d) as f64)
            } else {
                f64::INFINITY
            };
        }
        // Greenwood on the log(-log S) scale (lifelines' default).
        let (lo, hi) = if s >= 1.0 {
            (1.0, 1.0)
        } else if s <= 0.0 || !var.is_finite() {
            (0.0, 0.0)
        } else {
            let v = s.ln();
            let w = Z95 * var.sqrt() / v;
            (
                (-((-v).ln() - w).exp()).exp(),
                (-((-v).ln() + w).exp()).exp(),
            )
        };
        out.push(CurvePoint {
            time: t,
            at_risk: n,
            events: d,
            censored: c,
            survival: s,
            ci_low: lo.min(hi),
            ci_high: lo.max(hi),
        });
        at_risk -= d + c;
    }
    out
}

/// The log-rank test between k >= 2 groups: (O - E)' V⁻¹ (O - E) over the
/// first k-1 groups, chi-squared with k-1 degrees of freedom.
pub fn log_rank(groups: &[Vec<&Subject>]) -> Option<LogRank> {
    let k = groups.len();
    if k < 2 {
        return None;
    }
    let mut times: Vec<f64> = groups
        .iter()
        .flatten()
        .filter(|s| s.event)
        .map(|s| s.duration)
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let m = k - 1;
    let mut z = vec![0.0; m];
    let mut v = nalgebra::DMatrix::<f64>::zeros(m, m);
    // Per group, durations sorted, to count who is at risk.
    let sorted: Vec<Vec<(f64, bool)>> = groups
        .iter()
        .map(|g| {
            let mut x: Vec<(f64, bool)> = g.iter().map(|s| (s.duration, s.event)).collect();
            x.sort_by(|a, b| a.0.total_cmp(&b.0));
            x
        })
        .collect();
    let mut pos = vec![0usize; k];
    for t in times {
        let mut n_j = vec![0.0; k];
        let mut d_j = vec![0.0; k];
        for j in 0..k {
            while pos[j] < sorted[j].len() && sorted[j][pos[j]].0 < t {
                pos[j] += 1;
            }
            n_j[j] = (sorted[j].len() - pos[j]) as f64;
            let mut q = pos[j];
            while q < sorted[j].len() && sorted[j][q].0 == t {
                if sorted[j][q].1 {
                    d_j[j] += 1.0;
                }
                q += 1;
            }
        }
        let n: f64 = n_j.iter().sum();
        let d: f64 = d_j.iter().sum();
        if n <= 0.0 {
            continue;
        }
        for a in 0..m {
            z[a] += d_j[a] - d * n_j[a] / n;
            if n > 1.0 {
                let f = d * (n - d) / (n - 1.0);
                for b in 0..m {
                    let delta = if a == b { 1.0 } else { 0.0 };
                    v[(a, b)] += f * (n_j[a] / n) * (delta - n_j[b] / n);
                }
            }
        }
    }
    let inv = v.try_inverse()?;
    let zv = nalgebra::DVector::from_vec(z);
    let stat = (zv.transpose() * inv * &zv)[(0, 0)];
    let dist = ChiSquared::new(m as f64).ok()?;
    Some(LogRank {
        statistic: stat,
        df: m,
        // The upper tail itself: 1 - cdf loses every digit below 1e-16
        // (a p of 7.2e-16 came out as 6.661e-16, three units of rounding).
        p_value: dist.sf(stat),
    })
}

/// Curves per group (sorted by name) and the log-rank test between them.
pub fn report(
    subjects: &[Subject],
    duration: &str,
    event: &str,
    by: Option<&str>,
) -> Result<SurvivalReport> {
    if subjects.is_empty() {
        return Err(Error::bad("no customer has a duration to analyse"));
    }
    let mut names: Vec<&str> = subjects.iter().map(|s| s.group.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() > 50 {
        return Err(Error::bad(format!(
            "--by gives {} groups: survival curves are for a handful (pick a column with fewer values)",
            names.len()
        )));
    }
    let groups: Vec<Vec<&Subject>> = names
        .iter()
        .map(|g| subjects.iter().filter(|s| s.group == *g).collect())
        .collect();
    let curves = names
        .iter()
        .zip(&groups)
        .map(|(name, g)| {
            let curve = kaplan_meier(g);
            GroupCurve {
                group: name.to_string(),
                customers: g.len(),
                events: g.iter().filter(|s| s.event).count(),
                median: curve.iter().find(|p| p.survival <= 0.5).map(|p| p.time),
                curve,
            }
        })
        .collect();
    Ok(SurvivalReport {
        duration: duration.to_string(),
        event: event.to_string(),
        by: by.map(str::to_string),
        logrank: log_rank(&groups),
        groups: curves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(d: f64, e: bool, g: &str) -> Subject {
        Subject {
            duration: d,
            event: e,
            group: g.into(),
        }
    }

    #[test]
    fn kaplan_meier_by_hand() {
        // 5 at risk; one leaves at 1, one censored at 2, one leaves at 3.
        let v = [
            s(1.0, true, "a"),
            s(2.0, false, "a"),
            s(3.0, true, "a"),
            s(4.0, false, "a"),
            s(5.0, false, "a"),
        ];
        let refs: Vec<&Subject> = v.iter().collect();
        let c = kaplan_meier(&refs);
        let at = |t: f64| c.iter().find(|p| p.time == t).unwrap().survival;
        assert_eq!(at(0.0), 1.0);
        assert!((at(1.0) - 0.8).abs() < 1e-12);
        assert!((at(2.0) - 0.8).abs() < 1e-12);
        assert!((at(3.0) - 0.8 * 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_tiny_log_rank_p_keeps_its_digits() {
        // Three groups far apart: 2 df, where the upper tail is exp(-x/2).
        let g = |lo: f64, name: &str| -> Vec<Subject> {
            (0..60).map(|i| s(lo + i as f64, true, name)).collect()
        };
        let (a, b, c) = (g(1.0, "a"), g(40.0, "b"), g(80.0, "c"));
        let r = log_rank(&[a.iter().collect(), b.iter().collect(), c.iter().collect()]).unwrap();
        assert_eq!(r.df, 2);
        let exact = (-r.statistic / 2.0).exp();
        assert!(exact < 1e-15 && exact > 1e-300, "{exact}");
        assert!(
            (r.p_value / exact - 1.0).abs() < 1e-6,
            "{} vs {exact}",
            r.p_value
        );
    }

    #[test]
    fn log_rank_is_zero_for_identical_groups() {
        let a: Vec<Subject> = (1..20).map(|i| s(i as f64, i % 3 == 0, "a")).collect();
        let b: Vec<Subject> = (1..20).map(|i| s(i as f64, i % 3 == 0, "b")).collect();
        let r = log_rank(&[a.iter().collect(), b.iter().collect()]).unwrap();
        assert!(r.statistic.abs() < 1e-12);
        assert!((r.p_value - 1.0).abs() < 1e-9);
    }
}

/// Cohort retention: customers grouped by the month of their first order,
/// and the share of each cohort that ordered in each month since.
#[derive(Debug, Clone, Serialize)]
pub struct CohortTable {
    pub cohorts: Vec<CohortRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CohortRow {
    /// YYYY-MM of the first order.
    pub month: String,
    pub customers: usize,
    /// Share of the cohort with an order in month k since the first
    /// (k = 0 is always 1); None where month k has not been reached yet.
    pub active: Vec<Option<f64>>,
    /// The k of the data's last month when the data end before that
    /// month does: its share counts only the days so far (a lower bound,
    /// not a drop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_at: Option<usize>,
}

/// The cohort table of the data: purchase days up to the latest order.
pub fn cohort_table(reads: &dyn crate::store::clv::Reads, n: usize) -> Result<CohortTable> {
    let days = match reads.latest_order()? {
        Some(l) => reads.purchase_days(l.div_euclid(crate::timeutil::DAY))?,
        None => Vec::new(),
    };
    Ok(cohorts(&days, n))
}

/// From each customer's purchase days (cid, day; sorted by customer), the
/// last `n` cohorts over `n` months since the first order.
pub fn cohorts(days: &[(i64, i64)], n: usize) -> CohortTable {
    let month_of = |day: i64| -> i64 {
        let d = crate::timeutil::ts_to_date(day * crate::timeutil::DAY);
        use chrono::Datelike;
        i64::from(d.year()) * 12 + i64::from(d.month0())
    };
    let Some(last_day) = days.iter().map(|(_, d)| *d).max() else {
        return CohortTable {
            cohorts: Vec::new(),
        };
    };
    let last_month = month_of(last_day);
    // The data end before their last month does (the next day is in it).
    let partial = month_of(last_day + 1) == last_month;
    // Per cohort month: customers, and per k the customers active.
    let mut table: std::collections::BTreeMap<i64, (usize, Vec<usize>)> = Default::default();
    let mut i = 0;
    while i < days.len() {
        let cid = days[i].0;
        let first = month_of(days[i].1);
        let mut active = vec![false; n];
        while i < days.len() && days[i].0 == cid {
            let k = month_of(days[i].1) - first;
            if (0..n as i64).contains(&k) {
                active[k as usize] = true;
            }
            i += 1;
        }
        let e = table.entry(first).or_insert_with(|| (0, vec![0; n]));
        e.0 += 1;
        for (k, a) in active.iter().enumerate() {
            if *a {
                e.1[k] += 1;
            }
        }
    }
    let cohorts = table
        .into_iter()
        .rev()
        .take(n)
        .rev()
        .map(|(m, (count, act))| CohortRow {
            month: format!("{:04}-{:02}", m / 12, m % 12 + 1),
            customers: count,
            active: act
                .iter()
                .enumerate()
                .map(|(k, a)| (m + k as i64 <= last_month).then(|| *a as f64 / count as f64))
                .collect(),
            partial_at: usize::try_from(last_month - m)
                .ok()
                .filter(|&k| partial && k >= 1 && k < n),
        })
        .collect();
    CohortTable { cohorts }
}

#[cfg(test)]
mod cohort_tests {
    use super::*;

    #[test]
    fn cohorts_count_who_ordered_in_each_month_since_the_first() {
        // 2025-01-01 is day 20089.
        let jan = 20089;
        let days = vec![
            (1, jan),
            (1, jan + 31),  // February
            (2, jan + 3),   // January only
            (3, jan + 40),  // February cohort
            (3, jan + 100), // April
        ];
        let t = cohorts(&days, 4);
        assert_eq!(t.cohorts.len(), 2);
        let j = &t.cohorts[0];
        assert_eq!((j.month.as_str(), j.customers), ("2025-01", 2));
        assert_eq!(j.active[0], Some(1.0));
        assert_eq!(j.active[1], Some(0.5));
        assert_eq!(j.active[2], Some(0.0));
        let f = &t.cohorts[1];
        assert_eq!((f.month.as_str(), f.customers), ("2025-02", 1));
        assert_eq!(f.active[2], Some(1.0)); // April is month 2 of February's
        assert_eq!(f.active[3], None); // May has not happened yet
                                       // The data end on 11 April: April's shares are so far only.
        assert_eq!(j.partial_at, Some(3));
        assert_eq!(f.partial_at, Some(2));
        let mut whole = days.clone();
        whole.push((4, jan + 119)); // 30 April: the month is whole
        assert!(cohorts(&whole, 4)
            .cohorts
            .iter()
            .all(|c| c.partial_at.is_none()));
    }
}
