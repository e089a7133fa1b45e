//! What to do with a customer: next best action and products to offer,
//! learned once per data version from the campaigns and the baskets.

use super::Executor;
use crate::analytics::nba;
use crate::store::sql::Sql;
use crate::store::{self, dashboard};
use std::sync::Arc;

/// What recommendations learn from the baskets, for one data version.
pub(super) struct ItemsModel {
    names: Vec<String>,
    histories: std::collections::HashMap<i64, Vec<u32>>,
    items: crate::analytics::recommend::ItemModel,
}

/// The seed of the advice the screens show (the CLI's default, so both
/// say the same).
const SEED: u64 = 7;

/// What advice learns (from the campaigns, from the baskets), kept for one
/// data version; the same for a file's executor and a server's.
pub(super) struct Advisor {
    /// The action catalogue, playbook and risk bands (from the config).
    pub policy: Arc<nba::Policy>,
    learned: Option<(i64, Arc<nba::Learned>)>,
    items: Option<(i64, Arc<ItemsModel>)>,
}

impl Advisor {
    pub fn new(policy: Arc<nba::Policy>) -> Advisor {
        Advisor {
            policy,
            learned: None,
            items: None,
        }
    }

    /// What next best action learned from the campaigns (a page of the
    /// churn list asks for it on every refresh).
    fn learned(&mut self, conn: &dyn Sql, version: i64) -> crate::Result<Arc<nba::Learned>> {
        if let Some((v, l)) = &self.learned {
            if *v == version {
                return Ok(Arc::clone(l));
            }
        }
        let l = Arc::new(store::campaigns::learned(conn)?);
        self.learned = Some((version, Arc::clone(&l)));
        Ok(l)
    }

    /// Next best action for each of `cids` (None: no such customer).
    pub fn next_actions(
        &mut self,
        conn: &dyn Sql,
        version: i64,
        cids: &[i64],
    ) -> crate::Result<Vec<Option<nba::Advice>>> {
        let learned = self.learned(conn, version)?;
        let policy = Arc::clone(&self.policy);
        // The page's customers in one query, then in the page's order.
        let found: std::collections::HashMap<i64, _> = store::campaigns::candidates_of(conn, cids)?
            .into_iter()
            .map(|c| (c.cid, c))
            .collect();
        Ok(cids
            .iter()
            .map(|cid| {
                found
                    .get(cid)
                    .map(|c| nba::advise(&policy, &learned, c, SEED))
            })
            .collect())
    }

    /// A customer's next best action (explained) and products to offer.
    pub fn advice(
        &mut self,
        conn: &dyn Sql,
        version: i64,
        cid: i64,
    ) -> crate::Result<crate::tui::messages::Advice> {
        let model = match &self.items {
            Some((v, m)) if *v == version => Arc::clone(m),
            _ => {
                let m = Arc::new(ItemsModel::learn(conn)?);
                self.items = Some((version, Arc::clone(&m)));
                m
            }
        };
        let next_action = self
            .next_actions(conn, version, &[cid])?
            .pop()
            .flatten()
            .map(|a| a.explanation);
        Ok(crate::tui::messages::Advice {
            next_action,
            offer: model.offer(cid),
        })
    }
}

impl Executor {
    /// Next best action for each of `cids` (None: no such customer).
    pub(super) fn next_actions(&mut self, cids: &[i64]) -> crate::Result<Vec<Option<nba::Advice>>> {
        let version = dashboard::data_version(&self.conn)?;
        self.advisor.next_actions(&self.conn, version, cids)
    }

    /// A customer's next best action (explained) and products to offer.
    pub(super) fn advice(&mut self, cid: i64) -> crate::Result<crate::tui::messages::Advice> {
        let version = dashboard::data_version(&self.conn)?;
        self.advisor.advice(&self.conn, version, cid)
    }
}

impl ItemsModel {
    /// What recommendations learn from every customer's baskets (a file's
    /// or a server's).
    pub(super) fn learn(conn: &dyn Sql) -> crate::Result<ItemsModel> {
        use crate::analytics::recommend;
        let b = {
            let (names, items) = store::clv::basket_items(conn)?;
            recommend::Baskets::from_items(names, &items)
        };
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
        Ok(ItemsModel {
            names: b.names,
            histories,
            items,
        })
    }

    /// The five products to offer a customer first.
    pub(super) fn offer(&self, cid: i64) -> Vec<String> {
        let history: &[u32] = self
            .histories
            .get(&cid)
            .map(|h| h.as_slice())
            .unwrap_or(&[]);
        if self.names.is_empty() {
            return Vec::new();
        }
        self.items
            .recommend(history, 5)
            .into_iter()
            .map(|(i, _)| self.names[i as usize].clone())
            .collect()
    }
}
