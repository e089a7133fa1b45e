//! What to do with a customer: next best action and products to offer,
//! learned once per data version from the campaigns and the baskets.

use super::Executor;
use crate::store::{self, dashboard};
use std::sync::Arc;

/// Learned once per data version for the detail's advice.
pub(super) struct AdviceModel {
    measured: std::collections::BTreeMap<(String, String), crate::analytics::nba::Measured>,
    base: std::collections::BTreeMap<String, f64>,
    names: Vec<String>,
    histories: std::collections::HashMap<i64, Vec<u32>>,
    items: crate::analytics::recommend::ItemModel,
}

impl Executor {
    /// A customer's next best action (explained) and products to offer.
    pub(super) fn advice(
        &mut self,
        cid: i64,
        actions: &std::collections::BTreeMap<String, crate::config::Action>,
        medium: f64,
        high: f64,
    ) -> crate::Result<crate::tui::messages::Advice> {
        use crate::analytics::{campaign, nba, recommend};
        let version = dashboard::data_version(&self.conn)?;
        let model = match &self.advice_cache {
            Some((v, m)) if *v == version => Arc::clone(m),
            _ => {
                let (measured, base) = store::campaigns::measured(&self.conn)?;
                let b = recommend::Baskets::from_rows(store::clv::basket_rows(&self.conn)?);
                let mut histories: std::collections::HashMap<i64, Vec<u32>> = Default::default();
                for (c, _, items) in &b.baskets {
                    histories.entry(*c).or_default().extend(items);
                }
                for h in histories.values_mut() {
                    h.sort_unstable();
                    h.dedup();
                }
                let all: Vec<Vec<u32>> = histories.values().cloned().collect();
                let items = recommend::learn(b.names.len(), &all, 100);
                let m = Arc::new(AdviceModel {
                    measured,
                    base,
                    names: b.names,
                    histories,
                    items,
                });
                self.advice_cache = Some((version, Arc::clone(&m)));
                m
            }
        };
        let id = store::customers::id_of(&self.conn, cid)?.unwrap_or_default();
        let next_action = match store::campaigns::at_risk(&self.conn, 0.0, None, Some(&id))?.first()
        {
            Some((_, p, clv)) if *p >= medium => {
                let post = nba::posteriors(actions, &model.measured, &model.base);
                let c = nba::Customer {
                    customer_id: id.clone(),
                    churn_prob: *p,
                    clv: clv.unwrap_or(0.0),
                    band: campaign::band(Some(*p), medium, high),
                };
                Some(nba::advise(&c, actions, &post, &mut nba::rng_for(7, &id)).explanation)
            }
            Some(_) => Some("none: low churn risk".into()),
            None => None,
        };
        let history: &[u32] = model
            .histories
            .get(&cid)
            .map(|h| h.as_slice())
            .unwrap_or(&[]);
        let offer = if model.names.is_empty() {
            Vec::new()
        } else {
            model
                .items
                .recommend(history, 5)
                .into_iter()
                .map(|(i, _)| model.names[i as usize].clone())
                .collect()
        };
        Ok(crate::tui::messages::Advice { next_action, offer })
    }
}
