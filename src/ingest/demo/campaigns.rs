//! Two finished retention campaigns in the demo's past, with effects the
//! generator knows, so `crmtop campaign report` has something real to
//! recover: `spring-call` (a phone call: +30% of would-be leavers kept in
//! the high risk band, +15% in medium, nothing in low) and `summer-email`
//! (an e-mail that does nothing). Members are active customers (an order in
//! the 365 days before the start), half of them at random; each is held out
//! with probability 0.2 (simple randomisation, as a campaign run outside
//! crmtop might be). A treated member who would not have ordered in the
//! window is "rescued" (an order added in it) with the band's probability,
//! so the true effect on retention is the mean over members of
//! effect(band) x P(no order without the campaign), which the summary
//! reports beside each campaign.

use super::world::{Customer, Order, DAY};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub struct Past {
    pub name: &'static str,
    pub action: &'static str,
    pub channel: &'static str,
    pub cost: f64,
    /// Days before the as-of date it started.
    pub days_ago: i64,
    pub window_days: i64,
    /// Share of would-be leavers kept: high, medium, low risk band.
    pub effect: [f64; 3],
}

pub const PAST: [Past; 2] = [
    Past {
        name: "spring-call",
        action: "call",
        channel: "phone",
        cost: 5.0,
        days_ago: 300,
        window_days: 90,
        effect: [0.30, 0.15, 0.0],
    },
    Past {
        name: "summer-email",
        action: "email",
        channel: "email",
        cost: 0.10,
        days_ago: 180,
        window_days: 90,
        effect: [0.0, 0.0, 0.0],
    },
];

/// The risk score a team would have had at the start: from the days since
/// the last order (a recency rule; no model existed then).
pub fn risk(days_since_last: f64) -> f64 {
    1.0 - (-days_since_last / 120.0).exp()
}

pub fn band(p: f64) -> usize {
    if p >= 0.6 {
        0
    } else if p >= 0.3 {
        1
    } else {
        2
    }
}

/// One customer's place in a past campaign.
#[derive(Debug, Clone)]
pub struct Membership {
    pub campaign: usize,
    pub treatment: bool,
    pub risk: f64,
    pub value: f64,
    pub outcome: Option<&'static str>,
    /// Would have ordered in the window without the campaign.
    pub untreated_retained: bool,
}

/// Decide the customer's campaigns and apply their effect to her orders.
pub fn apply(c: &mut Customer, rng: &mut ChaCha8Rng, end: i64) -> Vec<Membership> {
    let mut out = Vec::new();
    for (k, p) in PAST.iter().enumerate() {
        let start = end - p.days_ago * DAY;
        let stop = start + p.window_days * DAY;
        let last_before = c.orders.iter().rev().find(|o| o.ts < start).map(|o| o.ts);
        let eligible = c.signup < start && last_before.is_some_and(|l| l >= start - 365 * DAY);
        // Draws happen whether or not she is eligible, so one customer's
        // campaigns never shift another's random numbers.
        let (join, held, rescue, u) = (
            rng.gen::<f64>(),
            rng.gen::<f64>(),
            rng.gen::<f64>(),
            rng.gen::<f64>(),
        );
        let Some(last) = last_before.filter(|_| eligible && join < 0.5) else {
            continue;
        };
        let r = risk((start - last) as f64 / DAY as f64);
        let spend: f64 = c
            .orders
            .iter()
            .filter(|o| o.ts < start && o.ts >= start - 365 * DAY)
            .map(|o| o.amount)
            .sum();
        let retained = c.orders.iter().any(|o| o.ts >= start && o.ts < stop);
        let treatment = held >= 0.2;
        let mut outcome = None;
        if treatment {
            let rescued = !retained && rescue < p.effect[band(r)];
            if rescued {
                let n = c.orders.len().max(1) as f64;
                let amount = (c.orders.iter().map(|o| o.amount).sum::<f64>() / n).max(5.0);
                let (product, category) = c
                    .orders
                    .last()
                    .map(|o| (o.product, o.category))
                    .unwrap_or(("P0001", "Home"));
                let ts = start + ((3.0 + u * (p.window_days as f64 - 5.0)) * DAY as f64) as i64;
                c.orders.push(Order {
                    ts: ts.min(end - 1),
                    amount: (amount * 100.0).round() / 100.0,
                    quantity: 1,
                    product,
                    category,
                });
                c.orders.sort_by_key(|o| o.ts);
            }
            if p.action == "call" {
                outcome = Some(if rescued {
                    "accepted"
                } else if u < 0.4 {
                    "reached"
                } else if u < 0.75 {
                    "no_answer"
                } else {
                    "declined"
                });
            }
        }
        out.push(Membership {
            campaign: k,
            treatment,
            risk: r,
            value: r * spend,
            outcome,
            untreated_retained: retained,
        });
    }
    out
}
