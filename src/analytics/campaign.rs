//! Campaigns: who is in one (a target filter over the customers, ordered by
//! value at risk) and who is held out (random, stratified by risk band, for
//! a seed). The rows come from the store; this module decides.

use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

/// A customer who could be in a campaign, as of its start.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub cid: i64,
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub region: Option<String>,
    pub rfm_segment: Option<String>,
    pub cluster: Option<u32>,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    /// Lapsed as of the start: labelled churned, or no order in the 365
    /// days before it (customers without orders: by their label).
    pub lapsed: bool,
}

impl Candidate {
    /// P(churn) x CLV: what the campaign tries to keep.
    pub fn value_at_risk(&self) -> f64 {
        self.churn_prob.unwrap_or(0.0) * self.clv.unwrap_or(0.0).max(0.0)
    }
}

/// Risk bands (the churn screen's): high, medium, low, or unscored.
pub fn band(p: Option<f64>, medium: f64, high: f64) -> &'static str {
    match p {
        Some(p) if p >= high => "high",
        Some(p) if p >= medium => "medium",
        Some(_) => "low",
        None => "unscored",
    }
}

/// One condition of a target filter.
#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Risk(String),
    Num {
        field: String,
        op: String,
        value: f64,
    },
    Text {
        field: String,
        value: String,
    },
    Lapsed(bool),
    Words(String),
}

/// A target: conditions that must all hold. The syntax is the TUI's filter
/// with fields: `risk=high` (high, medium, low; several with commas),
/// `churn>=0.6`, `clv>=500`, `segment=At_Risk` (RFM segment, `_` for a
/// space), `plan=premium`, `region=West`, `cluster=2`, `lapsed=yes|no`;
/// other words match the id, name or e-mail. Without `lapsed=`, lapsed
/// customers are left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    conds: Vec<Cond>,
    pub text: String,
}

impl Target {
    pub fn parse(text: &str) -> Result<Target> {
        let mut conds = Vec::new();
        for w in text.split_whitespace() {
            let op = ["<=", ">=", "=", "<", ">"]
                .iter()
                .find(|op| w.contains(**op))
                .copied();
            let Some(op) = op else {
                conds.push(Cond::Words(w.to_lowercase()));
                continue;
            };
            let (field, value) = w.split_once(op).unwrap_or((w, ""));
            let field = field.to_ascii_lowercase();
            let bad = |why: &str| Error::bad(format!("--target '{}': {why}", crate::term::safe(w)));
            match (field.as_str(), op) {
                ("risk", "=") => {
                    for b in value.split(',') {
                        if !["high", "medium", "low", "unscored"].contains(&b) {
                            return Err(bad("risk is high, medium, low or unscored"));
                        }
                    }
                    conds.push(Cond::Risk(value.to_string()));
                }
                ("churn" | "clv" | "cluster", _) => {
                    let v: f64 = value.parse().map_err(|_| bad("not a number"))?;
                    conds.push(Cond::Num {
                        field,
                        op: op.into(),
                        value: v,
                    });
                }
                ("segment" | "plan" | "region", "=") => conds.push(Cond::Text {
                    field,
                    value: value.replace('_', " "),
                }),
                ("lapsed", "=") => conds.push(Cond::Lapsed(match value {
                    "yes" | "true" | "1" => true,
                    "no" | "false" | "0" => false,
                    _ => return Err(bad("lapsed is yes or no")),
                })),
                _ => return Err(bad(
                    "fields: risk=, churn>=, clv>=, segment=, plan=, region=, cluster=, lapsed=",
                )),
            }
        }
        Ok(Target {
            conds,
            text: text.trim().to_string(),
        })
    }

    /// Whether `c` is targeted (risk bands at these thresholds).
    pub fn matches(&self, c: &Candidate, medium: f64, high: f64) -> bool {
        let mut lapsed_named = false;
        for cond in &self.conds {
            let ok = match cond {
                Cond::Risk(list) => list
                    .split(',')
                    .any(|b| b == band(c.churn_prob, medium, high)),
                Cond::Num { field, op, value } => {
                    let v = match field.as_str() {
                        "churn" => c.churn_prob,
                        "clv" => c.clv,
                        _ => c.cluster.map(f64::from),
                    };
                    v.is_some_and(|v| match op.as_str() {
                        "<=" => v <= *value,
                        ">=" => v >= *value,
                        "<" => v < *value,
                        ">" => v > *value,
                        _ => (v - value).abs() < 1e-9,
                    })
                }
                Cond::Text { field, value } => {
                    let v = match field.as_str() {
                        "segment" => &c.rfm_segment,
                        "plan" => &c.plan,
                        _ => &c.region,
                    };
                    v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(value))
                }
                Cond::Lapsed(want) => {
                    lapsed_named = true;
                    c.lapsed == *want
                }
                Cond::Words(w) => [Some(&c.id), c.name.as_ref(), c.email.as_ref()]
                    .iter()
                    .flatten()
                    .any(|s| s.to_lowercase().contains(w.as_str())),
            };
            if !ok {
                return false;
            }
        }
        lapsed_named || !c.lapsed
    }
}

/// A member as assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub cid: i64,
    pub treatment: bool,
    pub stratum: &'static str,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub value_at_risk: f64,
    /// 1 = the highest value at risk.
    pub rank: u32,
}

/// The targeted customers, highest value at risk first (ties by cid), the
/// first `size` of them, split at random within each risk band: a share
/// `control` (rounded per band) is held out.
pub fn assign(
    mut targeted: Vec<Candidate>,
    size: Option<usize>,
    control: f64,
    seed: u64,
    medium: f64,
    high: f64,
) -> Result<Vec<Assigned>> {
    if !(0.0..1.0).contains(&control) {
        return Err(Error::bad("--control is a share in [0, 1), e.g. 0.2"));
    }
    targeted.sort_by(|a, b| {
        b.value_at_risk()
            .total_cmp(&a.value_at_risk())
            .then(a.cid.cmp(&b.cid))
    });
    if let Some(n) = size {
        targeted.truncate(n);
    }
    if targeted.is_empty() {
        return Err(Error::bad(
            "no customer matches the target (lapsed customers are left out unless lapsed=yes)",
        ));
    }
    let mut out: Vec<Assigned> = targeted
        .iter()
        .enumerate()
        .map(|(i, c)| Assigned {
            cid: c.cid,
            treatment: true,
            stratum: band(c.churn_prob, medium, high),
            churn_prob: c.churn_prob,
            clv: c.clv,
            value_at_risk: c.value_at_risk(),
            rank: i as u32 + 1,
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for stratum in ["high", "medium", "low", "unscored"] {
        let mut idx: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].stratum == stratum)
            .collect();
        idx.shuffle(&mut rng);
        let held = (idx.len() as f64 * control).round() as usize;
        for &i in idx.iter().take(held) {
            out[i].treatment = false;
        }
    }
    Ok(out)
}

/// One member as the report sees it.
#[derive(Debug, Clone)]
pub struct Observed {
    pub treatment: bool,
    pub churn_prob: Option<f64>,
    pub value_at_risk: f64,
    pub outcome: Option<String>,
    /// Retained: ordered in the window (or, for explicit-label data, not
    /// labelled churned).
    pub retained: bool,
    pub revenue: f64,
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
    /// of value at risk, as scikit-uplift's qini_curve.
    pub qini_curve: Vec<(f64, f64)>,
    pub qini_coefficient: Option<f64>,
    pub outcomes: Outcomes,
    pub cost: Cost,
    pub notes: Vec<String>,
}

fn rate_effect(t: &[bool], c: &[bool]) -> Effect {
    let (xt, nt) = (t.iter().filter(|&&r| r).count() as f64, t.len() as f64);
    let (xc, nc) = (c.iter().filter(|&&r| r).count() as f64, c.len() as f64);
    let d = super::uplift::newcombe(xt, nt, xc, nc);
    let verdict = if nt == 0.0 || nc == 0.0 {
        "no comparison: a group is empty".to_string()
    } else if d.hi - d.lo > 0.2 {
        let p = ((xt + xc) / (nt + nc)).clamp(0.05, 0.95);
        let need = (2.0 * super::uplift::Z95.powi(2) * p * (1.0 - p) / 0.05f64.powi(2)).ceil();
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
    let (mt, mc) = (super::uplift::Moments::of(t), super::uplift::Moments::of(c));
    match super::uplift::welch(mt, mc) {
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
    let reached = |m: &&Observed| {
        matches!(
            m.outcome.as_deref(),
            Some("reached" | "accepted" | "declined")
        )
    };
    let contacted: Vec<bool> = pick(true).filter(reached).map(|m| m.retained).collect();
    let mut outcomes = Outcomes::default();
    for m in pick(true) {
        match m.outcome.as_deref() {
            Some("reached") => outcomes.reached += 1,
            Some("no_answer") => outcomes.no_answer += 1,
            Some("accepted") => outcomes.accepted += 1,
            Some("declined") => outcomes.declined += 1,
            _ => outcomes.not_worked += 1,
        }
    }
    // Deciles of churn probability before the campaign.
    let mut scored: Vec<&Observed> = members.iter().filter(|m| m.churn_prob.is_some()).collect();
    scored.sort_by(|a, b| {
        a.churn_prob
            .unwrap_or(0.0)
            .total_cmp(&b.churn_prob.unwrap_or(0.0))
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
    let (qx, qy) = super::uplift::qini_curve(&y, &score, &treat);
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
        .filter(|m| m.outcome.as_deref() == Some("accepted"))
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
    Report {
        retained_means: retained_means.into(),
        contacted_only: rate_effect(&contacted, &rc),
        retention,
        revenue,
        by_decile,
        qini_curve: qx.into_iter().zip(qy).collect(),
        qini_coefficient: super::uplift::qini_coefficient(&y, &score, &treat),
        outcomes,
        cost: Cost {
            contacted: n_contacted,
            total: total_cost,
            incremental_revenue: incremental,
            roi: (total_cost > 0.0).then(|| (incremental - total_cost) / total_cost),
        },
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(n: usize) -> Vec<Candidate> {
        (0..n)
            .map(|i| Candidate {
                cid: i as i64 + 1,
                id: format!("C{i}"),
                churn_prob: Some((i % 10) as f64 / 10.0 + 0.05),
                clv: Some(100.0 + i as f64),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn control_share_holds_in_every_stratum_and_a_seed_repeats() {
        let a = assign(people(1000), None, 0.2, 7, 0.3, 0.6).unwrap();
        for s in ["high", "medium", "low"] {
            let all: Vec<&Assigned> = a.iter().filter(|m| m.stratum == s).collect();
            let held = all.iter().filter(|m| !m.treatment).count();
            let want = (all.len() as f64 * 0.2).round() as usize;
            assert_eq!(held, want, "{s}");
        }
        assert_eq!(assign(people(1000), None, 0.2, 7, 0.3, 0.6).unwrap(), a);
        assert_ne!(assign(people(1000), None, 0.2, 8, 0.3, 0.6).unwrap(), a);
        // Ranked by value at risk.
        assert!(a
            .windows(2)
            .all(|w| w[0].value_at_risk >= w[1].value_at_risk));
        let top = assign(people(1000), Some(50), 0.2, 7, 0.3, 0.6).unwrap();
        assert_eq!(top.len(), 50);
        assert_eq!(top[0].cid, a[0].cid);
    }

    #[test]
    fn targets_parse_and_match() {
        let t = Target::parse("risk=high,medium clv>=150 plan=premium").unwrap();
        let mut c = Candidate {
            churn_prob: Some(0.7),
            clv: Some(200.0),
            plan: Some("Premium".into()),
            ..Default::default()
        };
        assert!(t.matches(&c, 0.3, 0.6));
        c.lapsed = true;
        assert!(!t.matches(&c, 0.3, 0.6), "lapsed are out by default");
        assert!(Target::parse("lapsed=yes").unwrap().matches(&c, 0.3, 0.6));
        c.lapsed = false;
        c.clv = Some(100.0);
        assert!(!t.matches(&c, 0.3, 0.6));
        assert!(Target::parse("risk=extreme").is_err());
        assert!(Target::parse("colour=red").is_err());
        assert!(Target::parse("clv>=lots").is_err());
    }
}
