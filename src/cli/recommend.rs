//! `crmtop rules` (products bought together) and `crmtop recommend`
//! (products to offer a customer next), with their offline evaluation.

use super::{print_json, Ctx, OK};
use crate::analytics::recommend::{self, Baskets};
use crate::error::{Error, Result};
use crate::store;
use clap::Args;

#[derive(Debug, Args, Clone)]
pub struct RulesArgs {
    /// Least share of baskets (a customer's orders on one day) holding the items
    #[arg(long, default_value_t = 0.01)]
    pub min_support: f64,
    /// Least confidence: P(consequents | antecedents)
    #[arg(long, default_value_t = 0.3)]
    pub min_confidence: f64,
    /// Most items in a rule
    #[arg(long, default_value_t = 3)]
    pub max_len: usize,
    /// Show at most this many (0 = all)
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct RecommendArgs {
    /// A customer's id [default: every customer with orders]
    pub customer: Option<String>,
    #[arg(long, default_value_t = 10)]
    pub n: usize,
    /// Customers listed at most without CUSTOMER (0 = all)
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

fn baskets(ctx: &Ctx) -> Result<(crate::store::Db, Baskets)> {
    let s = ctx.open_db_for_read()?;
    let b = {
        let (names, items) = store::clv::basket_items(&s)?;
        Baskets::from_items(names, &items)
    };
    if b.baskets.is_empty() {
        return Err(Error::bad(
            "no orders with a product: import orders with a product column",
        ));
    }
    Ok((s, b))
}

pub fn rules(ctx: &Ctx, a: RulesArgs) -> Result<i32> {
    if !(0.0..=1.0).contains(&a.min_support) || a.min_support == 0.0 {
        return Err(Error::bad("--min-support is a share of baskets in (0, 1]"));
    }
    if !(0.0..=1.0).contains(&a.min_confidence) || !(2..=6).contains(&a.max_len) {
        return Err(Error::bad(
            "--min-confidence in [0, 1]; --max-len from 2 to 6",
        ));
    }
    let (_s, b) = baskets(ctx)?;
    let sets = recommend::frequent_itemsets(&b, a.min_support, a.max_len);
    let mut all = recommend::rules(&b, &sets, a.min_confidence);
    let total = all.len();
    if a.limit > 0 {
        all.truncate(a.limit);
    }
    if a.json {
        print_json(&all)?;
        return Ok(OK);
    }
    crate::outln!(
        "{} baskets, {} products; {} frequent itemsets (support >= {}), {} rules (confidence >= {})",
        b.baskets.len(),
        b.names.len(),
        sets.len(),
        a.min_support,
        total,
        a.min_confidence
    );
    for r in &all {
        crate::outln!(
            "  {} -> {}   support {:.4}  confidence {:.3}  lift {:.2}",
            crate::term::safe(&r.antecedents.join(" + ")),
            crate::term::safe(&r.consequents.join(" + ")),
            r.support,
            r.confidence,
            r.lift
        );
    }
    if total > all.len() {
        crate::outln!("({} of {total}; --limit 0 shows all)", all.len());
    }
    Ok(OK)
}

pub fn recommend(ctx: &Ctx, a: RecommendArgs) -> Result<i32> {
    if !(1..=100).contains(&a.n) {
        return Err(Error::bad("--n is between 1 and 100"));
    }
    let (s, b) = baskets(ctx)?;
    let n = a.n;
    // Histories per customer.
    let mut histories: Vec<(i64, Vec<u32>)> = Vec::new();
    for (cid, _, items) in &b.baskets {
        match histories.last_mut() {
            Some((c, h)) if c == cid => h.extend(items),
            _ => histories.push((*cid, items.clone())),
        }
    }
    for (_, h) in &mut histories {
        h.sort_unstable();
        h.dedup();
    }
    let only: Vec<Vec<u32>> = histories.iter().map(|(_, h)| h.clone()).collect();
    let model = recommend::learn(b.names.len(), &only, 100);
    let evaluation = recommend::evaluate(&b);
    let wanted = match &a.customer {
        Some(id) => {
            let cid = store::customers::cid_of(&s, id)?
                .ok_or_else(|| Error::bad(format!("no customer '{}'", crate::term::safe(id))))?;
            vec![cid]
        }
        None => histories
            .iter()
            .map(|(c, _)| *c)
            .take(if a.limit == 0 { usize::MAX } else { a.limit })
            .collect(),
    };
    let mut out = Vec::new();
    for cid in wanted {
        let history: &[u32] = histories
            .iter()
            .find(|(c, _)| *c == cid)
            .map(|(_, h)| h.as_slice())
            .unwrap_or(&[]);
        let recs = model.recommend(history, n);
        let id = store::customers::id_of(&s, cid)?.unwrap_or_default();
        out.push(serde_json::json!({
            "customer_id": id,
            "bought": history.iter().map(|&i| b.names[i as usize].clone()).collect::<Vec<_>>(),
            "recommendations": recs.iter().map(|(i, sc)| serde_json::json!({
                "product": b.names[*i as usize], "score": sc
            })).collect::<Vec<_>>(),
        }));
    }
    if a.json {
        print_json(&serde_json::json!({ "customers": out, "evaluation": evaluation }))?;
        return Ok(OK);
    }
    for c in &out {
        let recs: Vec<String> = c["recommendations"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|r| crate::term::safe(r["product"].as_str().unwrap_or("")).to_string())
                    .collect()
            })
            .unwrap_or_default();
        crate::outln!(
            "{:<12} offer: {}",
            crate::term::safe(c["customer_id"].as_str().unwrap_or("")),
            recs.join(", ")
        );
    }
    crate::outln!(
        "evaluation (each customer's last basket held out, {} customers): hit rate@10 {:.3}, NDCG@10 {:.3}; most popular: {:.3}, {:.3}",
        evaluation.customers,
        evaluation.hit_rate_at_10,
        evaluation.ndcg_at_10,
        evaluation.baseline.hit_rate_at_10,
        evaluation.baseline.ndcg_at_10
    );
    Ok(OK)
}
