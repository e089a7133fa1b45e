//! Next best action: for a customer at risk, the action with the highest
//! expected gain, P(churn) x CLV x uplift(action, risk band) - cost. The
//! uplift of each action in each risk band is learned from finished
//! campaigns, as a Beta posterior on retention with and without the action
//! (so a few customers mean wide uncertainty), starting from the action's
//! prior (the config's `prior_uplift`, worth 100 customers) where no
//! campaign measured it. Actions are chosen by Thompson sampling (one draw
//! from each posterior), so untested actions still get tried; the seed
//! makes it reproducible.

use crate::config::Action;
use rand::SeedableRng;
use rand_distr::{Beta, Distribution};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the campaigns measured for one action in one band.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub retained_treatment: f64,
    pub n_treatment: f64,
    pub retained_control: f64,
    pub n_control: f64,
    /// The campaigns it comes from.
    pub campaigns: Vec<String>,
}

/// Prior weight, in customers, of an action's `prior_uplift`.
const PRIOR_N: f64 = 100.0;

/// The posterior of one action in one band: Beta for retention with and
/// without the action.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    pub treated: (f64, f64),
    pub control: (f64, f64),
    pub measured: Option<Measured>,
}

impl Posterior {
    pub fn new(prior_uplift: f64, base: f64, m: Option<&Measured>) -> Posterior {
        let base = base.clamp(0.05, 0.95);
        let with = (base + prior_uplift).clamp(0.02, 0.98);
        let (mut t, mut c) = (
            (PRIOR_N * with, PRIOR_N * (1.0 - with)),
            (PRIOR_N * base, PRIOR_N * (1.0 - base)),
        );
        if let Some(m) = m {
            t.0 += m.retained_treatment;
            t.1 += m.n_treatment - m.retained_treatment;
            c.0 += m.retained_control;
            c.1 += m.n_control - m.retained_control;
        }
        Posterior {
            treated: t,
            control: c,
            measured: m.cloned(),
        }
    }

    /// The posterior mean uplift (points of retention as a share).
    pub fn mean(&self) -> f64 {
        self.treated.0 / (self.treated.0 + self.treated.1)
            - self.control.0 / (self.control.0 + self.control.1)
    }

    /// One Thompson draw of the uplift.
    pub fn draw(&self, rng: &mut rand_chacha::ChaCha8Rng) -> f64 {
        let b = |(a, b): (f64, f64), rng: &mut rand_chacha::ChaCha8Rng| {
            Beta::new(a.max(1e-3), b.max(1e-3))
                .map(|d| d.sample(rng))
                .unwrap_or(a / (a + b))
        };
        b(self.treated, rng) - b(self.control, rng)
    }
}

/// A customer to advise.
#[derive(Debug, Clone)]
pub struct Customer {
    pub customer_id: String,
    pub churn_prob: f64,
    pub clv: f64,
    pub band: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Option_ {
    pub action: String,
    /// The uplift drawn (Thompson) and the posterior mean, as shares.
    pub uplift_draw: f64,
    pub uplift_mean: f64,
    pub expected_gain: f64,
    pub cost: f64,
    pub net: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    pub customer_id: String,
    pub band: String,
    pub churn_prob: f64,
    pub clv: f64,
    pub value_at_risk: f64,
    /// The chosen action, or None when every action costs more than it is
    /// expected to keep.
    pub action: Option<String>,
    pub net_gain: f64,
    /// Why, in one line.
    pub explanation: String,
    /// Every action considered, best first.
    pub options: Vec<Option_>,
}

/// The cost of an action for a customer: per contact, plus its share of
/// about three months of the customer's spend (a quarter of a 12-month CLV).
pub fn cost(a: &Action, clv: f64) -> f64 {
    a.cost + a.cost_share * clv.max(0.0) * 0.25
}

/// Advise one customer. `posteriors[(action, band)]`.
pub fn advise(
    c: &Customer,
    actions: &BTreeMap<String, Action>,
    posteriors: &BTreeMap<(String, String), Posterior>,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Advice {
    let var = c.churn_prob * c.clv.max(0.0);
    let mut options: Vec<Option_> = actions
        .iter()
        .filter_map(|(name, a)| {
            let post = posteriors.get(&(name.clone(), c.band.to_string()))?;
            let draw = post.draw(rng);
            let gain = var * draw;
            let cost = cost(a, c.clv);
            Some(Option_ {
                action: name.clone(),
                uplift_draw: draw,
                uplift_mean: post.mean(),
                expected_gain: gain,
                cost,
                net: gain - cost,
            })
        })
        .collect();
    options.sort_by(|a, b| b.net.total_cmp(&a.net).then(a.action.cmp(&b.action)));
    let best = options.first().filter(|o| o.net > 0.0).cloned();
    let explanation = match &best {
        None => format!(
            "no action: each costs more than it is expected to keep (value at risk {})",
            crate::analytics::priority::money(var)
        ),
        Some(o) => {
            let post = &posteriors[&(o.action.clone(), c.band.to_string())];
            let evidence = match &post.measured {
                Some(m) if m.n_treatment > 0.0 && m.n_control > 0.0 => {
                    let d = crate::analytics::uplift::newcombe(
                        m.retained_treatment,
                        m.n_treatment,
                        m.retained_control,
                        m.n_control,
                    );
                    format!(
                        "{:+.1} pts retention in {} risk (campaign {}, n={}, 95% CI {:.1} to {:.1})",
                        100.0 * d.diff,
                        c.band,
                        m.campaigns.join(", "),
                        crate::analytics::priority::count((m.n_treatment + m.n_control) as i64),
                        100.0 * d.lo,
                        100.0 * d.hi
                    )
                }
                _ => format!(
                    "untested in {} risk: the config's prior {:+.1} pts, tried at this draw {:+.1} pts (Thompson sampling)",
                    c.band,
                    100.0 * post.mean(),
                    100.0 * o.uplift_draw
                ),
            };
            format!(
                "{}: {evidence}; value at risk {}; expected gain {:.1} - cost {:.2}",
                o.action,
                crate::analytics::priority::money(var),
                o.expected_gain,
                o.cost
            )
        }
    };
    Advice {
        customer_id: c.customer_id.clone(),
        band: c.band.into(),
        churn_prob: c.churn_prob,
        clv: c.clv,
        value_at_risk: var,
        action: best.as_ref().map(|o| o.action.clone()),
        net_gain: best.map(|o| o.net).unwrap_or(0.0),
        explanation,
        options,
    }
}

/// The posteriors of every action in every band, from what the campaigns
/// measured and each band's retention without action (`base`).
pub fn posteriors(
    actions: &BTreeMap<String, Action>,
    measured: &BTreeMap<(String, String), Measured>,
    base: &BTreeMap<String, f64>,
) -> BTreeMap<(String, String), Posterior> {
    let mut out = BTreeMap::new();
    for (name, a) in actions {
        for band in ["high", "medium", "low", "unscored"] {
            let key = (name.clone(), band.to_string());
            let b = base.get(band).copied().unwrap_or(0.5);
            out.insert(
                key.clone(),
                Posterior::new(a.prior_uplift, b, measured.get(&key)),
            );
        }
    }
    out
}

/// A seeded generator for one customer's draw (the same seed and customer
/// give the same advice, whatever else is advised).
pub fn rng_for(seed: u64, customer: &str) -> rand_chacha::ChaCha8Rng {
    let h = xxhash_rust::xxh3::xxh3_64(customer.as_bytes());
    rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions() -> BTreeMap<String, Action> {
        crate::config::default_actions()
    }

    #[test]
    fn measured_effects_win_and_little_data_stays_uncertain() {
        let mut measured = BTreeMap::new();
        // A call measured on 2,000 high-risk customers: +10 pts.
        measured.insert(
            ("call".to_string(), "high".to_string()),
            Measured {
                retained_treatment: 600.0,
                n_treatment: 1600.0,
                retained_control: 110.0,
                n_control: 400.0,
                campaigns: vec!["spring-call".into()],
            },
        );
        let base = BTreeMap::from([("high".to_string(), 0.3)]);
        let post = posteriors(&actions(), &measured, &base);
        let call = &post[&("call".to_string(), "high".to_string())];
        assert!((call.mean() - 0.0995).abs() < 0.01, "{}", call.mean());
        let c = Customer {
            customer_id: "C1".into(),
            churn_prob: 0.8,
            clv: 2000.0,
            band: "high",
        };
        let a = advise(&c, &actions(), &post, &mut rng_for(1, "C1"));
        assert_eq!(a.action.as_deref(), Some("call"));
        assert!(
            a.explanation.contains("campaign spring-call, n=2,000"),
            "{}",
            a.explanation
        );
        // The same seed, the same advice.
        let b = advise(&c, &actions(), &post, &mut rng_for(1, "C1"));
        assert_eq!(a.options[0].uplift_draw, b.options[0].uplift_draw);
        // An untested action's draws spread (its prior is worth 100).
        let email = &post[&("email".to_string(), "high".to_string())];
        let mut rng = rng_for(2, "x");
        let draws: Vec<f64> = (0..400).map(|_| email.draw(&mut rng)).collect();
        let sd = {
            let m = draws.iter().sum::<f64>() / 400.0;
            (draws.iter().map(|d| (d - m).powi(2)).sum::<f64>() / 400.0).sqrt()
        };
        assert!(sd > 0.05, "{sd}");
        // A customer worth little gets no action: every one costs more.
        let cheap = Customer { clv: 5.0, ..c };
        let n = advise(&cheap, &actions(), &post, &mut rng_for(1, "C1"));
        assert!(n.action.is_none() || n.net_gain > 0.0);
    }
}
