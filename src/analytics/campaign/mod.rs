//! Campaigns: who is in one (a target filter over the customers, ordered by
//! value at risk) and who is held out (random, stratified by risk band, for
//! a seed). The rows come from the store; this module decides. The report
//! is in `report`.

pub mod report;
pub use report::{report, Cost, Decile, Effect, Observed, Outcomes, Report};

use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

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
    pub age: Option<f64>,
    /// Yearly income, in the data's currency.
    pub income: Option<f64>,
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

/// Which candidate fields to read: `names` (id, name, e-mail) and
/// `attributes` (plan, region, RFM segment, cluster, age, income).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fields {
    pub names: bool,
    pub attributes: bool,
}

impl Fields {
    pub const ALL: Fields = Fields {
        names: true,
        attributes: true,
    };
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
/// `churn>=0.6`, `clv>=500`, `age>=65`, `income<30000` (an age or income
/// group is two bounds: `age>=30 age<50`), `segment=At_Risk` (RFM segment,
/// `_` for a space), `plan=premium`, `region=West`, `cluster=2`,
/// `lapsed=yes|no`;
/// other words match the id, name or e-mail. Without `lapsed=`, lapsed
/// customers are left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    conds: Vec<Cond>,
    pub text: String,
}

impl Target {
    pub fn parse(text: &str) -> Result<Target> {
        Target::parse_as(text, "--target")
    }

    /// As `parse`; errors name the text as `label` (an option, a config key).
    pub fn parse_as(text: &str, label: &str) -> Result<Target> {
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
            let bad = |why: &str| Error::bad(format!("{label} '{}': {why}", crate::term::safe(w)));
            match (field.as_str(), op) {
                ("risk", "=") => {
                    for b in value.split(',') {
                        if !["high", "medium", "low", "unscored"].contains(&b) {
                            return Err(bad("risk is high, medium, low or unscored"));
                        }
                    }
                    conds.push(Cond::Risk(value.to_string()));
                }
                ("churn" | "clv" | "cluster" | "age" | "income", _) => {
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
                    "fields: risk=, churn>=, clv>=, age>=, income>=, segment=, plan=, region=, cluster=, lapsed=",
                )),
            }
        }
        Ok(Target {
            conds,
            text: text.trim().to_string(),
        })
    }

    /// What of a candidate the target reads beyond scores and lapse: a
    /// million customers read without the rest take a third of the time.
    pub fn fields(&self) -> Fields {
        Fields {
            names: self.conds.iter().any(|c| matches!(c, Cond::Words(_))),
            attributes: self.conds.iter().any(|c| {
                matches!(c, Cond::Text { .. })
                    || matches!(c, Cond::Num { field, .. } if !["churn", "clv"].contains(&field.as_str()))
            }),
        }
    }

    /// Whether `c` is targeted (risk bands at these thresholds).
    pub fn matches(&self, c: &Candidate, medium: f64, high: f64) -> bool {
        self.matches_inner(c, medium, high, false)
    }

    /// As `matches`, without leaving lapsed customers out by default.
    pub fn matches_lapsed_or_not(&self, c: &Candidate, medium: f64, high: f64) -> bool {
        self.matches_inner(c, medium, high, true)
    }

    fn matches_inner(&self, c: &Candidate, medium: f64, high: f64, any_lapse: bool) -> bool {
        let mut lapsed_named = any_lapse;
        for cond in &self.conds {
            let ok = match cond {
                Cond::Risk(list) => list
                    .split(',')
                    .any(|b| b == band(c.churn_prob, medium, high)),
                Cond::Num { field, op, value } => {
                    let v = match field.as_str() {
                        "churn" => c.churn_prob,
                        "clv" => c.clv,
                        "age" => c.age,
                        "income" => c.income,
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
    targeted: Vec<Candidate>,
    size: Option<usize>,
    control: f64,
    seed: u64,
    medium: f64,
    high: f64,
) -> Result<Vec<Assigned>> {
    if !(0.0..1.0).contains(&control) {
        return Err(Error::bad("--control is a share in [0, 1), e.g. 0.2"));
    }
    // Sort keys, not the candidates (large structs: a million of them
    // moved about took most of the assignment's time).
    let mut order: Vec<(f64, i64, usize)> = targeted
        .iter()
        .enumerate()
        .map(|(i, c)| (c.value_at_risk(), c.cid, i))
        .collect();
    order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    if let Some(n) = size {
        order.truncate(n);
    }
    if order.is_empty() {
        return Err(Error::bad(
            "no customer matches the target (lapsed customers are left out unless lapsed=yes)",
        ));
    }
    let mut out: Vec<Assigned> = order
        .iter()
        .enumerate()
        .map(|(rank, &(var, _, i))| {
            let c = &targeted[i];
            Assigned {
                cid: c.cid,
                treatment: true,
                stratum: band(c.churn_prob, medium, high),
                churn_prob: c.churn_prob,
                clv: c.clv,
                value_at_risk: var,
                rank: rank as u32 + 1,
            }
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
        // Age and income groups are two bounds; unknown age matches none.
        let older = Target::parse("age>=65 income<30000").unwrap();
        c.age = Some(70.0);
        c.income = Some(25_000.0);
        assert!(older.matches(&c, 0.3, 0.6));
        c.income = Some(30_000.0);
        assert!(!older.matches(&c, 0.3, 0.6));
        c.age = None;
        c.income = Some(1.0);
        assert!(!older.matches(&c, 0.3, 0.6));
        // What a target needs read.
        let f = |t: &str| Target::parse(t).unwrap().fields();
        assert_eq!(
            f("risk=high clv>=500"),
            Fields {
                names: false,
                attributes: false
            }
        );
        assert_eq!(
            f("age>=65"),
            Fields {
                names: false,
                attributes: true
            }
        );
        assert_eq!(f("plan=basic lena"), Fields::ALL);
        let e = Target::parse_as("mood=sad", "playbook[1].who").unwrap_err();
        assert!(e.to_string().contains("playbook[1].who 'mood=sad'"), "{e}");
    }
}
