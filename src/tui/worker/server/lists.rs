//! A server's customer lists (Customers, Churn, CLV): their pages and
//! counts, the live filter's matches from the in-memory search, the pages
//! picked from it, an unchanged list's reload answered from the last one,
//! and each row's extras (drivers and next action, CLV shares).

use super::super::{Extra, PageKind, Response, Slot};
use super::ServerExecutor;
use crate::store::pg::list as pg_list;
use std::sync::Arc;

/// A text filter's matches and the in-memory search they come from.
type Matches = (
    Arc<crate::store::search::SearchIndex>,
    Arc<crate::store::search::Hits>,
);

/// A reloaded page and what it depends on: its list, query, the data
/// version and the search index it was asked with.
pub(super) struct Reloaded {
    slot: Slot,
    query: crate::store::list::ListQuery,
    version: i64,
    search: Option<i64>,
    rows: Vec<crate::store::list::CustomerRow>,
    extra: Vec<Extra>,
}

impl ServerExecutor {
    /// One page of a list.
    pub(super) fn page(
        &mut self,
        slot: Slot,
        gen: u64,
        kind: PageKind,
        query: crate::store::list::ListQuery,
    ) -> crate::Result<Response> {
        if self.search.current().is_none() {
            self.start_search();
        }
        let mut query = query;
        if slot == Slot::Churn {
            // "Riskiest first" is of customers who can still be
            // saved: the lapsed are left out, as on a file.
            query.skip_lapsed = self.lapsed_cutoff()?;
        }
        // What a reload depends on, read before the page: a change
        // in between moves it on, and the next reload asks again.
        let stamp = match kind {
            PageKind::Reload => Some((
                crate::store::pg::data_version(&self.pg)?,
                self.search.current().map(|i| i.version),
            )),
            _ => None,
        };
        if let (Some((version, search)), Some(m)) = (stamp, &self.reloaded) {
            if m.slot == slot && m.query == query && m.version == version && m.search == search {
                return Ok(Response::Page {
                    slot,
                    gen,
                    kind,
                    rows: m.rows.clone(),
                    extra: m.extra.clone(),
                });
            }
        }
        let found = self.hits(&query)?;
        // In id order, picked from the index the matches are of; else walked.
        let picked = match &found {
            Some((index, hits)) => pg_list::page_from_index(&self.pg, &query, index, hits)?,
            None => None,
        };
        let rows = match picked {
            Some(rows) => rows,
            None => pg_list::page(&self.pg, &query, found.as_ref().map(|m| &*m.1))?,
        };
        let extra = self.extras(slot, &query, &rows)?;
        if let Some((version, search)) = stamp {
            self.reloaded = Some(Reloaded {
                slot,
                query,
                version,
                search,
                rows: rows.clone(),
                extra: extra.clone(),
            });
        }
        Ok(Response::Page {
            slot,
            gen,
            kind,
            rows,
            extra,
        })
    }

    /// How many customers a list's query matches.
    pub(super) fn count(
        &mut self,
        slot: Slot,
        gen: u64,
        query: crate::store::list::ListQuery,
    ) -> crate::Result<Response> {
        let mut query = query;
        if slot == Slot::Churn {
            query.skip_lapsed = self.lapsed_cutoff()?;
        }
        Ok(Response::Count {
            slot,
            gen,
            total: pg_list::count(&self.pg, &query, self.hits(&query)?.as_ref().map(|m| &*m.1))?,
        })
    }

    /// The text filter's matches from the in-memory search, with the index
    /// they are of (of the server's data version: a page in id order is
    /// picked from it, built first if it is not of that version); None
    /// without a text, and in the test harness.
    fn hits(&self, q: &crate::store::list::ListQuery) -> crate::Result<Option<Matches>> {
        let Some(text) = q.filter.as_deref().filter(|f| !f.is_empty()) else {
            return Ok(None);
        };
        let version = crate::store::pg::data_version(&self.pg)?;
        match self.search.current() {
            Some(i) if i.version == version => {
                let hits = self.search.search(Arc::clone(&i), text, version);
                Ok(Some((i, hits)))
            }
            // Missing, or of older data (a stale copy answered once: after
            // another tool renamed a customer, the count and the rows,
            // asked a moment apart, disagreed for up to 3 s): built now,
            // or waited for if a build is under way. The server's folded
            // text (schema pg 16) reads every customer for a rare short
            // text (`zq` at 1M: 7.3 s); the build streams them once per
            // data version (0.74 s), which moves only with imports,
            // retrains and refits.
            _ if self.live_search => {
                let i = self.search.build_at(version, |ids_only| {
                    crate::store::pg::search::build(&self.pg, ids_only)
                })?;
                let hits = self.search.search(Arc::clone(&i), text, version);
                Ok(Some((i, hits)))
            }
            // The test harness: the server's text answers.
            _ => Ok(None),
        }
    }

    /// Build the search index in the background after a pause (the UI's
    /// worker only: the test harness answers filters from the server's
    /// text index; the next screens' first pages go first).
    fn start_search(&self) {
        if self.live_search {
            self.search.build_on_server_in_background(self.url.clone());
        }
    }

    /// The lapsed customers' cutoff (the churn list leaves them out).
    fn lapsed_cutoff(&self) -> crate::Result<Option<i64>> {
        Ok(crate::store::dashboard::lapsed_cutoff(
            pg_list::latest_order(&self.pg)?,
        ))
    }

    /// Each row's extras: on the churn list, the active model's top
    /// drivers in words and the next best action.
    fn extras(
        &mut self,
        slot: Slot,
        query: &crate::store::list::ListQuery,
        rows: &[crate::store::list::CustomerRow],
    ) -> crate::Result<Vec<Extra>> {
        use crate::store::sql::Sql;
        match slot {
            Slot::Customers => return Ok(vec![Extra::None; rows.len()]),
            Slot::Clv => {
                let version = crate::store::pg::data_version(&self.pg)?;
                return super::super::lists::clv_shares(
                    &mut self.clv,
                    version,
                    query,
                    rows,
                    &self.pg,
                );
            }
            Slot::Churn => {}
        }
        // The active version's number only; its parameters are read when
        // it changes (a page asked for the whole row, JSON and all).
        let id = self
            .pg
            .count("SELECT coalesce(max(id), 0) FROM models WHERE active", &[])?;
        if id == 0 {
            return Ok(vec![Extra::None; rows.len()]);
        }
        if self.params.as_ref().map(|(i, _)| *i) != Some(id) {
            self.params = crate::store::pg::models::get(&self.pg, Some(id))?
                .and_then(|m| serde_json::from_str(&m.params).ok())
                .map(|p| (id, p));
        }
        let cids: Vec<i64> = rows.iter().map(|r| r.cid).collect();
        let drivers = pg_list::drivers_of(&self.pg, id, &cids)?;
        let version = crate::store::pg::data_version(&self.pg)?;
        let advice = self.advisor.next_actions(&self.pg, version, &cids)?;
        Ok(rows
            .iter()
            .zip(advice)
            .map(|(r, adv)| Extra::Churn {
                drivers: match (drivers.get(&r.cid), &self.params) {
                    (Some(json), Some((_, p))) => {
                        crate::analytics::churn::describe_drivers(p, json, self.mask)
                            .into_iter()
                            .map(|(s, c)| format!("{s} ({c:+.2})"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                    _ => String::new(),
                },
                action: adv
                    .map(|a| super::super::lists::short_action(&a))
                    .unwrap_or_default(),
            })
            .collect())
    }
}
