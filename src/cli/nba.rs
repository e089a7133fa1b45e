//! `crmtop next-action [CUSTOMER]`: the action with the highest expected
//! gain for each customer at risk (or one), explained.

use super::{print_json, Ctx, OK};
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
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// Advice for `customer` (or everyone at risk: medium or high band, not
/// lapsed), best gain first.
pub fn advise(
    conn: &dyn store::sql::Sql,
    ctx: &Ctx,
    customer: Option<&str>,
    seed: u64,
) -> Result<Vec<Advice>> {
    let policy = nba::Policy::from_config(&ctx.config)?;
    let learned = store::campaigns::learned(conn)?;
    let candidates = match customer {
        Some(id) => match store::customers::cid_of(conn, id)? {
            Some(cid) => store::campaigns::candidates_now(conn, Some(cid))?,
            None => Vec::new(),
        },
        None => store::campaigns::candidates_now(conn, None)?
            .into_iter()
            .filter(|c| !c.lapsed && matches!(policy.band(c), "high" | "medium"))
            .collect(),
    };
    let mut out: Vec<Advice> = candidates
        .iter()
        .map(|c| nba::advise(&policy, &learned, c, seed))
        .collect();
    out.sort_by(|a, b| {
        b.net_gain
            .total_cmp(&a.net_gain)
            .then(b.churn_prob.total_cmp(&a.churn_prob))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    Ok(out)
}

pub fn next_action(ctx: &Ctx, a: NextActionArgs) -> Result<i32> {
    let s = ctx.open_db_for_read()?;
    if store::export::active_model(&s)?.is_none() {
        return Err(Error::bad(
            "next best action needs churn scores: train a model first (crmtop train)",
        ));
    }
    let mut all = advise(&s, ctx, a.customer.as_deref(), a.seed)?;
    if let Some(id) = &a.customer {
        if all.is_empty() {
            return Err(Error::bad(format!(
                "no customer '{}'",
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
            "{:<12} {:>5.1}% churn  {}",
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
