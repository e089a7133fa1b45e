//! A campaign's report: treatment against control, intention to treat,
//! with intervals and verdicts in words; contacted-only beside it; uplift
//! by churn decile, Qini, outcomes, cost and return.

use crate::analytics::uplift;
use serde::Serialize;

/// One member as the report sees it.
#[derive(Debug, Clone)]
pub struct Observed {
    pub treatment: bool,
    pub churn_prob: Option<f64>,
    pub value_at_risk: f64,
    pub outcome: Option<&'static str>,
    /// Retained: ordered in the window (or, for explicit-label data, not
    /// labelled churned).
    pub retained: bool,
    pub revenue: f64,
}

/// A share as a percentage ("51.0%"), "-" when undefined.
pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", 100.0 * v)
    } else {
        "-".into()
    }
}

/// A difference of shares in points, signed ("+8.5", "0.0"), "-" when
/// undefined.
pub fn pts(v: f64) -> String {
    if v.is_finite() {
        format!("{:+.1}", 100.0 * v)
            .replace("-0.0", "0.0")
            .replace("+0.0", "0.0")
    } else {
        "-".into()
    }
}

/// A p-value as the report prints it: "p = 0.645", "p < 0.001", "p -".
pub fn p_text(p: f64) -> String {
    if !p.is_finite() {
        "p -".into()
    } else if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// The most points of a Qini curve a report keeps (a chart is narrower;
/// a million-point curve made the JSON 60 MB).
pub const QINI_POINTS: usize = 1000;

/// At most `max` + 1 points of `curve`, evenly spread by index, with the
/// first and the last.
fn thin(curve: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if curve.len() <= max + 1 || max == 0 {
        return curve;
    }
    let last = curve.len() - 1;
    let mut idx: Vec<usize> = (0..=max).map(|k| k * last / max).collect();
    idx.dedup();
    idx.into_iter().map(|i| curve[i]).collect()
}

/// A difference between treatment and control, as the report prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    pub treatment: f64,
    pub control: f64,
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    pub n_treatment: usize,
    pub n_control: usize,
    /// In words: what can be said at this sample size.
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decile {
    pub decile: usize,
    pub churn_from: f64,
    pub churn_to: f64,
    pub n_treatment: usize,
    pub n_control: usize,
    pub treatment_rate: Option<f64>,
    pub control_rate: Option<f64>,
    pub uplift: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Outcomes {
    pub reached: usize,
    pub no_answer: usize,
    pub accepted: usize,
    pub declined: usize,
    pub not_worked: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub contacted: usize,
    pub total: f64,
    /// (revenue per treated customer - per control customer) x treated.
    pub incremental_revenue: f64,
    /// (incremental revenue - cost) / cost; None without cost.
    pub roi: Option<f64>,
    /// The return at the ends of the revenue difference's 95% interval.
    pub roi_low: Option<f64>,
    pub roi_high: Option<f64>,
    /// Whether the return can be told from chance (the revenue interval
    /// excludes 0), in words.
    pub roi_verdict: String,
    /// Some treated customers worked, not all: no return yet.
    pub under_way: bool,
}

impl Cost {
    /// "+12% [-40%, +64%]", "not yet" while the work list is under way,
    /// or "-" without cost.
    pub fn roi_text(&self) -> String {
        let pc = |x: f64| format!("{:+.0}%", 100.0 * x);
        match (self.roi, self.roi_low, self.roi_high) {
            (Some(r), Some(lo), Some(hi)) => format!("{} [{}, {}]", pc(r), pc(lo), pc(hi)),
            (Some(r), _, _) => pc(r),
            _ if self.under_way => "not yet (work list under way)".into(),
            _ => "-".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What "retained" means here.
    pub retained_means: String,
    pub retention: Effect,
    pub revenue: Effect,
    /// Treated customers who were reached (reached, accepted or declined) against
    /// the whole control group: not randomised, so only a hint.
    pub contacted_only: Effect,
    pub by_decile: Vec<Decile>,
    /// (customers targeted, incremental retained) in the campaign's order
    /// of value at risk, as scikit-uplift's qini_curve; a large campaign's
    /// thinned to at most `QINI_POINTS` + 1 points, evenly spread, first
    /// and last kept (the coefficient is computed on the whole curve).
    pub qini_curve: Vec<(f64, f64)>,
    pub qini_coefficient: Option<f64>,
    pub outcomes: Outcomes,
    pub cost: Cost,
    pub notes: Vec<String>,
}

fn rate_effect(t: &[bool], c: &[bool]) -> Effect {
    let (xt, nt) = (t.iter().filter(|&&r| r).count() as f64, t.len() as f64);
    let (xc, nc) = (c.iter().filter(|&&r| r).count() as f64, c.len() as f64);
    let d = uplift::newcombe(xt, nt, xc, nc);
    let verdict = if nt == 0.0 || nc == 0.0 {
        "no comparison: a group is empty".to_string()
    } else if d.hi - d.lo > 0.2 {
        let p = ((xt + xc) / (nt + nc)).clamp(0.05, 0.95);
        let need = (2.0 * uplift::Z95.powi(2) * p * (1.0 - p) / 0.05f64.powi(2)).ceil();
        format!(
            "too wide to tell: the 95% interval spans {:.0} points; about {need:.0} customers per group would narrow it to +-5",
            100.0 * (d.hi - d.lo)
        )
    } else if d.lo > 0.0 {
        format!(
            "retention is higher with the action, by {:.1} to {:.1} points (95%)",
            100.0 * d.lo,
            100.0 * d.hi
        )
    } else if d.hi < 0.0 {
        format!(
            "retention is lower with the action, by {:.1} to {:.1} points (95%)",
            -100.0 * d.hi,
            -100.0 * d.lo
        )
    } else {
        "no difference can be told from chance at this size".to_string()
    };
    Effect {
        treatment: d.p1,
        control: d.p2,
        difference: d.diff,
        ci_low: d.lo,
        ci_high: d.hi,
        p_value: d.p_value,
        n_treatment: t.len(),
        n_control: c.len(),
        verdict,
    }
}

fn mean_effect(t: &[f64], c: &[f64]) -> Effect {
    let (mt, mc) = (uplift::Moments::of(t), uplift::Moments::of(c));
    match uplift::welch(mt, mc) {
        Some(w) => Effect {
            treatment: mt.mean,
            control: mc.mean,
            difference: w.diff,
            ci_low: w.lo,
            ci_high: w.hi,
            p_value: w.p_value,
            n_treatment: t.len(),
            n_control: c.len(),
            verdict: if w.lo > 0.0 || w.hi < 0.0 {
                format!(
                    "the difference per customer is {:.2} to {:.2} (95%)",
                    w.lo, w.hi
                )
            } else {
                "no difference in revenue can be told from chance at this size".into()
            },
        },
        None => Effect {
            treatment: mt.mean,
            control: mc.mean,
            difference: mt.mean - mc.mean,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            p_value: f64::NAN,
            n_treatment: t.len(),
            n_control: c.len(),
            verdict: "too few customers (or no variation) to compare revenue".into(),
        },
    }
}

/// The report of a campaign's members. `cost` per contact, `cost_share` of
/// accepted customers' spend.
pub fn report(members: &[Observed], cost: f64, cost_share: f64, retained_means: &str) -> Report {
    let pick = |treat: bool| members.iter().filter(move |m| m.treatment == treat);
    let rt: Vec<bool> = pick(true).map(|m| m.retained).collect();
    let rc: Vec<bool> = pick(false).map(|m| m.retained).collect();
    let vt: Vec<f64> = pick(true).map(|m| m.revenue).collect();
    let vc: Vec<f64> = pick(false).map(|m| m.revenue).collect();
    // Reached: they answered (whatever they said).
    let reached = |m: &&Observed| matches!(m.outcome, Some("reached" | "accepted" | "declined"));
    let contacted: Vec<bool> = pick(true).filter(reached).map(|m| m.retained).collect();
    let mut outcomes = Outcomes::default();
    for m in pick(true) {
        match m.outcome {
            Some("reached") => outcomes.reached += 1,
            Some("no_answer") => outcomes.no_answer += 1,
            Some("accepted") => outcomes.accepted += 1,
            Some("declined") => outcomes.declined += 1,
            _ => outcomes.not_worked += 1,
        }
    }
    // Deciles of churn probability before the campaign.
    let mut scored: Vec<&Observed> = members.iter().filter(|m| m.churn_prob.is_some()).collect();
    // Ties keep the members' order (as a stable sort would; the
    // unstable one with the place as tie-break is faster at a million).
    scored.sort_unstable_by(|a, b| {
        a.churn_prob
            .unwrap_or(0.0)
            .total_cmp(&b.churn_prob.unwrap_or(0.0))
            .then_with(|| std::ptr::from_ref(*a).cmp(&std::ptr::from_ref(*b)))
    });
    let mut by_decile = Vec::new();
    if scored.len() >= 10 {
        for d in 0..10 {
            let part = &scored[d * scored.len() / 10..(d + 1) * scored.len() / 10];
            let rate = |treat: bool| {
                let g: Vec<bool> = part
                    .iter()
                    .filter(|m| m.treatment == treat)
                    .map(|m| m.retained)
                    .collect();
                (
                    g.len(),
                    (!g.is_empty())
                        .then(|| g.iter().filter(|&&r| r).count() as f64 / g.len() as f64),
                )
            };
            let ((nt, tr), (nc, cr)) = (rate(true), rate(false));
            by_decile.push(Decile {
                decile: d + 1,
                churn_from: part.first().and_then(|m| m.churn_prob).unwrap_or(0.0),
                churn_to: part.last().and_then(|m| m.churn_prob).unwrap_or(0.0),
                n_treatment: nt,
                n_control: nc,
                treatment_rate: tr,
                control_rate: cr,
                uplift: tr.zip(cr).map(|(a, b)| a - b),
            });
        }
    }
    let y: Vec<bool> = members.iter().map(|m| m.retained).collect();
    let score: Vec<f64> = members.iter().map(|m| m.value_at_risk).collect();
    let treat: Vec<bool> = members.iter().map(|m| m.treatment).collect();
    let (qx, qy) = uplift::qini_curve(&y, &score, &treat);
    let retention = rate_effect(&rt, &rc);
    let revenue = mean_effect(&vt, &vc);
    // Every attempt costs (an unanswered call too); an action with no
    // outcomes recorded at all (an e-mail) went to every treated customer.
    let n_contacted = if outcomes.not_worked == rt.len() {
        rt.len()
    } else {
        rt.len() - outcomes.not_worked
    };
    let accepted_spend: f64 = pick(true)
        .filter(|m| m.outcome == Some("accepted"))
        .map(|m| m.revenue)
        .sum();
    let total_cost = cost * n_contacted as f64 + cost_share * accepted_spend;
    let incremental = revenue.difference * rt.len() as f64;
    let mut notes = Vec::new();
    if outcomes.not_worked > 0 {
        notes.push(format!(
            "{} treated customers have no outcome recorded: intention-to-treat counts them as treated all the same",
            outcomes.not_worked
        ));
    }
    notes.push("contacted-only compares the treated customers who were reached with the whole control group: who answers is not random, so it is a hint, not a measurement".into());
    // A work list under way: the revenue difference is every treated
    // customer's (intention to treat), the cost only the contacts made so
    // far; their ratio would be a return of thousands of percent after one
    // call. No return until every treated customer has been worked.
    let under_way = outcomes.not_worked > 0 && outcomes.not_worked < rt.len();
    let cost = {
        let roi_at = |diff: f64| {
            (total_cost > 0.0 && diff.is_finite() && !under_way)
                .then(|| (diff * rt.len() as f64 - total_cost) / total_cost)
        };
        let (lo, hi) = (revenue.ci_low, revenue.ci_high);
        let roi_verdict = if total_cost <= 0.0 {
            "no cost recorded".to_string()
        } else if under_way {
            format!(
                "the work list is under way ({n_contacted} of {} treated customers worked): the return is read once every one has been",
                rt.len()
            )
        } else if !(lo.is_finite() && hi.is_finite()) {
            "too few customers to put an interval on the return".to_string()
        } else if lo > 0.0 || hi < 0.0 {
            "the revenue difference behind the return is not chance (95%)".to_string()
        } else {
            "the revenue difference behind the return cannot be told from chance: read the return as its range".to_string()
        };
        Cost {
            contacted: n_contacted,
            total: total_cost,
            incremental_revenue: incremental,
            roi: roi_at(revenue.difference),
            roi_low: roi_at(lo),
            roi_high: roi_at(hi),
            roi_verdict,
            under_way,
        }
    };
    Report {
        retained_means: retained_means.into(),
        contacted_only: rate_effect(&contacted, &rc),
        retention,
        revenue,
        by_decile,
        qini_coefficient: uplift::qini_coefficient_of(&qx, &qy, &y, &treat),
        qini_curve: thin(qx.into_iter().zip(qy).collect(), QINI_POINTS),
        outcomes,
        cost,
        notes,
    }
}

/// A stored campaign's report as of a day (default: the data's last day):
/// its members' orders and spend in the window up to that day.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub as_of: String,
    pub report: Report,
}

/// The last day (exclusive) a report as of `as_of_day` can see of the
/// campaign's window, or why there is nothing to measure yet.
pub fn window_end(c: &crate::store::campaigns::Campaign, as_of_day: i64) -> crate::Result<i64> {
    if as_of_day < c.start_day {
        return Err(crate::Error::bad(format!(
            "campaign '{}' starts on {}, after the data's last day ({}): nothing to measure yet (import the orders since, or give --as-of)",
            crate::term::safe(&c.name),
            c.start,
            crate::timeutil::ts_to_day_string(as_of_day * crate::timeutil::DAY)
        )));
    }
    Ok((c.start_day + c.window_days).min(as_of_day + 1))
}

/// A campaign's report from its members' rows in the window [start,
/// `end_day`) (retained: ordered then, or for data without orders, not
/// labelled churned).
pub fn measured(
    c: &crate::store::campaigns::Campaign,
    as_of_day: i64,
    end_day: i64,
    orders: bool,
    members: Vec<crate::store::campaigns::WindowRow>,
) -> Measured {
    use crate::timeutil::{ts_to_day_string, DAY};
    let day = |d: i64| ts_to_day_string(d * DAY);
    let observed: Vec<Observed> = members
        .into_iter()
        .map(|m| Observed {
            treatment: m.treatment,
            churn_prob: m.churn_prob,
            value_at_risk: m.value_at_risk,
            outcome: m.outcome,
            retained: if orders {
                m.ordered
            } else {
                m.churned != Some(true)
            },
            revenue: m.revenue,
        })
        .collect();
    let means = if orders {
        format!(
            "ordered between {} and {}",
            day(c.start_day),
            day(end_day - 1)
        )
    } else {
        "not labelled churned (the data have no orders)".to_string()
    };
    let mut r = report(&observed, c.cost, c.cost_share, &means);
    if end_day < c.start_day + c.window_days {
        r.notes.insert(
            0,
            format!(
                "the window is still open: {} of {} days observed, so retention and revenue are not final",
                (end_day - c.start_day).max(0),
                c.window_days
            ),
        );
    }
    Measured {
        as_of: day(as_of_day),
        report: r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_qini_curve_is_thinned_keeping_its_ends() {
        let curve: Vec<(f64, f64)> = (0..=5000).map(|i| (i as f64, (i % 7) as f64)).collect();
        let t = thin(curve.clone(), 1000);
        assert_eq!(t.len(), 1001);
        assert_eq!(t[0], curve[0]);
        assert_eq!(t[1000], curve[5000]);
        assert!(t.windows(2).all(|w| w[1].0 - w[0].0 == 5.0));
        let short = thin(curve[..10].to_vec(), 1000);
        assert_eq!(short, curve[..10].to_vec());
    }

    /// One call made among 700 treated: no return of thousands of percent
    /// (the revenue difference is every treated customer's, the cost one
    /// call's); once every one is worked, the return is given.
    #[test]
    fn no_return_while_the_work_list_is_under_way() {
        let member = |i: usize, treatment: bool, outcome: Option<&'static str>| Observed {
            treatment,
            churn_prob: Some(0.5),
            value_at_risk: i as f64,
            outcome,
            retained: i.is_multiple_of(3),
            revenue: if treatment { 20.0 } else { 10.0 } + (i % 5) as f64,
        };
        let mut members: Vec<Observed> = (0..700).map(|i| member(i, true, None)).collect();
        members.extend((700..900).map(|i| member(i, false, None)));
        members[0].outcome = Some("no_answer");
        let r = report(&members, 5.0, 0.0, "ordered");
        assert!(r.cost.roi.is_none() && r.cost.under_way, "{:?}", r.cost.roi);
        assert_eq!(r.cost.roi_text(), "not yet (work list under way)");
        assert!(
            r.cost.roi_verdict.contains("1 of 700"),
            "{}",
            r.cost.roi_verdict
        );
        for m in members.iter_mut().filter(|m| m.treatment) {
            m.outcome = Some("reached");
        }
        let r = report(&members, 5.0, 0.0, "ordered");
        assert!(r.cost.roi.is_some() && !r.cost.under_way);
    }
}
