//! `crmtop next-action [CUSTOMER]`: the action with the highest expected
//! gain for each customer at risk (or one), explained.

use super::{print_json, Ctx, OK};
use crate::analytics::campaign::band;
use crate::analytics::nba::{self, Advice};
use crate::error::{Error, Result};
use crate::store;
use clap::Args;

#[derive(Debug, Args, Clone)]
pub struct NextActionArgs {
    /// One customer's id [default: every customer at risk (medium or high band, not lapsed)]
    pub customer: Option<String>,
    /// Show at most this many (the largest expected gains; 0 = all)
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Seed of the Thompson draws (same seed, same advice)
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

/// Advice for `customer` (or everyone at risk), best gain first.
pub fn advise(
    conn: &rusqlite::Connection,
    ctx: &Ctx,
    customer: Option<&str>,
    seed: u64,
) -> Result<Vec<Advice>> {
    let t = ctx.config.thresholds;
    let (measured, base) = store::campaigns::measured(conn)?;
    let posteriors = nba::posteriors(&ctx.config.actions, &measured, &base);
    let cutoff = store::dashboard::lapsed_cutoff_now(conn)?;
    let rows = store::campaigns::at_risk(conn, t.medium, cutoff, customer)?;
    let held = store::campaigns::held_out(conn)?;
    let mut out: Vec<Advice> = rows
        .into_iter()
        .map(|(id, p, clv)| {
            if let Some(name) = held.get(&id) {
                let clv = clv.unwrap_or(0.0);
                return Advice {
                    band: band(Some(p), t.medium, t.high).into(),
                    churn_prob: p,
                    clv,
                    value_at_risk: p * clv.max(0.0),
                    action: None,
                    net_gain: 0.0,
                    explanation: format!(
                        "none: in the control group of campaign {} (acting on them would spoil its measurement)",
                        crate::term::safe(name)
                    ),
                    options: Vec::new(),
                    customer_id: id,
                };
            }
            let c = nba::Customer {
                band: band(Some(p), t.medium, t.high),
                customer_id: id,
                churn_prob: p,
                clv: clv.unwrap_or(0.0),
            };
            nba::advise(
                &c,
                &ctx.config.actions,
                &posteriors,
                &mut nba::rng_for(seed, &c.customer_id),
            )
        })
        .collect();
    out.sort_by(|a, b| {
        b.net_gain
            .total_cmp(&a.net_gain)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    Ok(out)
}

pub fn next_action(ctx: &Ctx, a: NextActionArgs) -> Result<i32> {
    let s = ctx.open_for_read()?;
    if store::models::active(&s.conn)?.is_none() {
        return Err(Error::bad(
            "next best action needs churn scores: train a model first (crmtop train)",
        ));
    }
    let mut all = advise(&s.conn, ctx, a.customer.as_deref(), a.seed)?;
    if let Some(id) = &a.customer {
        if all.is_empty() {
            return Err(Error::bad(format!(
                "no scored customer '{}'",
                crate::term::safe(id)
            )));
        }
    }
    let total = all.len();
    if a.limit > 0 {
        all.truncate(a.limit);
    }
    if a.json {
        print_json(&serde_json::json!({ "total": total, "customers": all }))?;
        return Ok(OK);
    }
    if all.is_empty() {
        crate::outln!("no customer is at risk (medium or high band, not lapsed)");
        return Ok(OK);
    }
    for adv in &all {
        crate::outln!(
            "{:<12} {:>4.0}% churn  {}",
            crate::term::safe(&adv.customer_id),
            100.0 * adv.churn_prob,
            crate::term::safe(&adv.explanation)
        );
    }
    if total > all.len() {
        crate::outln!(
            "({} of {total} customers at risk; --limit 0 shows all)",
            all.len()
        );
    }
    Ok(OK)
}
