//! Next best action: for a customer at risk, the action with the highest
//! expected gain, P(churn) x CLV x uplift(action, risk band) - cost. The
//! uplift of each action in each risk band is learned from finished
//! campaigns, as a Beta posterior on retention with and without the action
//! (so a few customers mean wide uncertainty), starting from a prior worth
//! 100 customers where no campaign measured it: the playbook's, for the
//! action its first matching rule names, else the action's own
//! `prior_uplift`. Actions are chosen by Thompson sampling (one draw from
//! each posterior), so untested actions still get tried; the seed makes it
//! reproducible.

use crate::analytics::campaign::{band, Candidate, Target};
use crate::config::{Action, Config};
use rand::SeedableRng;
use rand_distr::{Beta, Distribution};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

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

/// Prior weight, in customers, of a prior uplift.
const PRIOR_N: f64 = 100.0;

/// The posterior of one action in one band: Beta for retention with and
/// without the action.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    pub treated: (f64, f64),
    pub control: (f64, f64),
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

/// One line of the playbook: who (a campaign target) gets what, and what
/// it is believed to add to their retention before a campaign measures it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub target: Target,
    pub action: String,
    pub prior_uplift: f64,
}

/// What the team decided: the action catalogue, the playbook and the risk
/// bands. Built from the config.
#[derive(Debug, Clone)]
pub struct Policy {
    pub actions: BTreeMap<String, Action>,
    pub playbook: Vec<Rule>,
    pub medium: f64,
    pub high: f64,
}

impl Policy {
    /// The config's policy (its playbook was checked when it was loaded).
    pub fn from_config(cfg: &Config) -> crate::Result<Policy> {
        let mut playbook = Vec::with_capacity(cfg.playbook.len());
        for (i, r) in cfg.playbook.iter().enumerate() {
            let target = Target::parse_as(&r.who, &format!("playbook rule {} who", i + 1))?;
            let prior = match (r.prior_uplift, cfg.actions.get(&r.action)) {
                (Some(p), _) => p,
                (None, Some(a)) => a.prior_uplift,
                (None, None) => {
                    return Err(crate::Error::bad(format!(
                        "playbook rule {}: no action '{}' in the catalogue",
                        i + 1,
                        crate::term::safe(&r.action)
                    )))
                }
            };
            playbook.push(Rule {
                target,
                action: r.action.clone(),
                prior_uplift: prior,
            });
        }
        Ok(Policy {
            actions: cfg.actions.clone(),
            playbook,
            medium: cfg.thresholds.medium,
            high: cfg.thresholds.high,
        })
    }

    /// The first playbook rule `c` matches, with its number (from 1).
    pub fn rule_for(&self, c: &Candidate) -> Option<(usize, &Rule)> {
        self.playbook
            .iter()
            .enumerate()
            .find(|(_, r)| r.target.matches(c, self.medium, self.high))
            .map(|(i, r)| (i + 1, r))
    }

    /// The risk band of `c`.
    pub fn band(&self, c: &Candidate) -> &'static str {
        band(c.churn_prob, self.medium, self.high)
    }
}

/// What the finished campaigns taught, and who must not be acted on: read
/// from the store once per data version.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    /// By (action, band).
    pub measured: BTreeMap<(String, String), Measured>,
    /// Retention without action, by band (the control groups').
    pub base: BTreeMap<String, f64>,
    /// Customer (cid) -> the open campaign whose control group holds them.
    pub held_out: HashMap<i64, String>,
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
    /// expected to keep (or the customer must not be acted on).
    pub action: Option<String>,
    pub net_gain: f64,
    /// Why, in one line.
    pub explanation: String,
    /// The playbook rule the customer matches (its number from 1, its
    /// `who` and action), if any.
    pub playbook: Option<String>,
    /// Every action considered, best first.
    pub options: Vec<Option_>,
}

/// The cost of an action for a customer: per contact, plus its share of
/// about three months of the customer's spend (a quarter of a 12-month CLV).
pub fn cost(a: &Action, clv: f64) -> f64 {
    a.cost + a.cost_share * clv.max(0.0) * 0.25
}

/// Advise one customer: their draws come from `seed` and their id alone,
/// so the same seed gives the same advice whoever else is advised.
/// The smallest expected net gain (money) an advised action has.
pub const MIN_NET_GAIN: f64 = 0.01;

pub fn advise(policy: &Policy, learned: &Learned, c: &Candidate, seed: u64) -> Advice {
    let p = c.churn_prob.unwrap_or(0.0);
    let clv = c.clv.unwrap_or(0.0);
    let var = p * clv.max(0.0);
    let band = policy.band(c);
    let rule = policy.rule_for(c);
    let mut advice = Advice {
        customer_id: c.id.clone(),
        band: band.into(),
        churn_prob: p,
        clv,
        value_at_risk: var,
        action: None,
        net_gain: 0.0,
        explanation: String::new(),
        playbook: rule.map(|(i, r)| format!("rule {i}: {} -> {}", r.target.text, r.action)),
        options: Vec::new(),
    };
    if let Some(name) = learned.held_out.get(&c.cid) {
        advice.explanation = format!(
            "none: in the control group of campaign {name} (acting on them would spoil its measurement)"
        );
        return advice;
    }
    if c.churn_prob.is_none() {
        advice.explanation = "none: not scored yet (crmtop train scores every customer)".into();
        return advice;
    }
    if band == "low" {
        advice.explanation = "none: low churn risk".into();
        return advice;
    }
    let base = learned.base.get(band).copied().unwrap_or(0.5);
    let mut rng = rng_for(seed, &c.id);
    let posterior = |name: &str, a: &Action| {
        let prior = match rule {
            Some((_, r)) if r.action == name => r.prior_uplift,
            _ => a.prior_uplift,
        };
        Posterior::new(
            prior,
            base,
            learned.measured.get(&(name.to_string(), band.to_string())),
        )
    };
    let mut options: Vec<Option_> = policy
        .actions
        .iter()
        .map(|(name, a)| {
            let post = posterior(name, a);
            let draw = post.draw(&mut rng);
            let gain = var * draw;
            let cost = cost(a, clv);
            Option_ {
                action: name.clone(),
                uplift_draw: draw,
                uplift_mean: post.mean(),
                expected_gain: gain,
                cost,
                net: gain - cost,
            }
        })
        .collect();
    options.sort_by(|a, b| b.net.total_cmp(&a.net).then(a.action.cmp(&b.action)));
    // An action is worth advising when it keeps at least a cent more than
    // it costs: below that the figures print as 0.00 - 0.00, and an agent
    // would be sent to discount a customer worth nothing.
    let best = options.first().filter(|o| o.net >= MIN_NET_GAIN).cloned();
    advice.explanation = match &best {
        None => format!(
            "no action: each costs more than it is expected to keep (value at risk {})",
            crate::analytics::priority::money(var)
        ),
        Some(o) => {
            let measured = learned
                .measured
                .get(&(o.action.clone(), band.to_string()))
                .filter(|m| m.n_treatment > 0.0 && m.n_control > 0.0);
            let evidence = match measured {
                Some(m) => {
                    let d = crate::analytics::uplift::newcombe(
                        m.retained_treatment,
                        m.n_treatment,
                        m.retained_control,
                        m.n_control,
                    );
                    format!(
                        "{:+.1} pts retention in {band} risk (campaign {}, n={}, 95% CI {:.1} to {:.1})",
                        100.0 * d.diff,
                        m.campaigns.join(", "),
                        crate::analytics::priority::count((m.n_treatment + m.n_control) as i64),
                        100.0 * d.lo,
                        100.0 * d.hi
                    )
                }
                None => {
                    let source = match rule {
                        Some((i, r)) if r.action == o.action => {
                            format!("playbook rule {i} ({})", r.target.text)
                        }
                        _ => "the catalogue".to_string(),
                    };
                    format!(
                        "untested in {band} risk: prior {:+.1} pts from {source}, drawn {:+.1} pts (Thompson sampling)",
                        100.0 * o.uplift_mean,
                        100.0 * o.uplift_draw
                    )
                }
            };
            // The gain is the Thompson draw's: say so when a measurement
            // is what the reader sees, since the draw may lie far from it.
            let drawn = if measured.is_some() {
                format!(" (uplift drawn {:+.1} pts)", 100.0 * o.uplift_draw)
            } else {
                String::new()
            };
            format!(
                "{}: {evidence}; value at risk {}; expected gain {}{drawn} - cost {}",
                o.action,
                crate::analytics::priority::money(var),
                crate::analytics::priority::money(o.expected_gain),
                crate::analytics::priority::money(o.cost)
            )
        }
    };
    advice.action = best.as_ref().map(|o| o.action.clone());
    advice.net_gain = best.map(|o| o.net).unwrap_or(0.0);
    advice.options = options;
    advice
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

    fn policy(playbook: Vec<Rule>) -> Policy {
        Policy {
            actions: crate::config::default_actions(),
            playbook,
            medium: 0.3,
            high: 0.6,
        }
    }

    fn customer(p: f64, clv: f64) -> Candidate {
        Candidate {
            cid: 1,
            id: "C1".into(),
            churn_prob: Some(p),
            clv: Some(clv),
            ..Default::default()
        }
    }

    #[test]
    fn measured_effects_win_and_little_data_stays_uncertain() {
        let mut learned = Learned::default();
        // A call measured on 2,000 high-risk customers: +10 pts.
        learned.measured.insert(
            ("call".to_string(), "high".to_string()),
            Measured {
                retained_treatment: 600.0,
                n_treatment: 1600.0,
                retained_control: 110.0,
                n_control: 400.0,
                campaigns: vec!["spring-call".into()],
            },
        );
        learned.base.insert("high".to_string(), 0.3);
        let call = Posterior::new(0.05, 0.3, learned.measured.values().next());
        assert!((call.mean() - 0.0995).abs() < 0.01, "{}", call.mean());
        let pol = policy(vec![]);
        let c = customer(0.8, 2000.0);
        let a = advise(&pol, &learned, &c, 1);
        assert_eq!(a.action.as_deref(), Some("call"));
        assert!(
            a.explanation.contains("campaign spring-call, n=2,000"),
            "{}",
            a.explanation
        );
        // The same seed, the same advice.
        let b = advise(&pol, &learned, &c, 1);
        assert_eq!(a.options[0].uplift_draw, b.options[0].uplift_draw);
        // An untested action's draws spread (its prior is worth 100).
        let email = Posterior::new(0.01, 0.3, None);
        let mut rng = rng_for(2, "x");
        let draws: Vec<f64> = (0..400).map(|_| email.draw(&mut rng)).collect();
        let sd = {
            let m = draws.iter().sum::<f64>() / 400.0;
            (draws.iter().map(|d| (d - m).powi(2)).sum::<f64>() / 400.0).sqrt()
        };
        assert!(sd > 0.05, "{sd}");
        // A customer worth little gets no action: every one costs more.
        let cheap = customer(0.8, 5.0);
        let n = advise(&pol, &learned, &cheap, 1);
        assert!(n.action.is_none() || n.net_gain >= MIN_NET_GAIN);
        // A customer worth almost nothing (the discount's cost scales with
        // the CLV, so its net stays positive): no action, in every draw,
        // and the explanation's money reads as money.
        for seed in 0..50 {
            let dust = advise(&pol, &learned, &customer(0.997, 0.004), seed);
            assert!(dust.action.is_none(), "{}", dust.explanation);
            assert!(
                dust.explanation.starts_with("no action"),
                "{}",
                dust.explanation
            );
        }
        // Low risk, and the control group of an open campaign: none.
        assert!(advise(&pol, &learned, &customer(0.1, 2000.0), 1)
            .action
            .is_none());
        learned.held_out.insert(c.cid, "autumn".into());
        let held = advise(&pol, &learned, &c, 1);
        assert!(held.action.is_none() && held.explanation.contains("campaign autumn"));
    }

    #[test]
    fn the_playbook_sets_the_prior_of_its_action_for_whom_it_names() {
        // Nothing measured: the rule's strong prior for sms makes it the
        // advice for high-value customers in most draws; others keep the
        // catalogue's priors, where sms is weak.
        let rule = Rule {
            target: Target::parse("risk=high clv>=500").unwrap(),
            action: "sms".into(),
            prior_uplift: 0.4,
        };
        let pol = policy(vec![rule]);
        let learned = Learned::default();
        let (mut sms_rich, mut sms_poor) = (0, 0);
        for seed in 0..200 {
            let rich = advise(&pol, &learned, &customer(0.8, 900.0), seed);
            sms_rich += usize::from(rich.action.as_deref() == Some("sms"));
            let poor = advise(&pol, &learned, &customer(0.8, 400.0), seed);
            sms_poor += usize::from(poor.action.as_deref() == Some("sms"));
        }
        assert!(sms_rich > 150, "{sms_rich}");
        assert!(sms_poor < 100, "{sms_poor}");
        let rich = advise(&pol, &learned, &customer(0.8, 900.0), 3);
        assert_eq!(
            rich.playbook.as_deref(),
            Some("rule 1: risk=high clv>=500 -> sms")
        );
        if rich.action.as_deref() == Some("sms") {
            assert!(
                rich.explanation
                    .contains("playbook rule 1 (risk=high clv>=500)"),
                "{}",
                rich.explanation
            );
        }
    }
}
