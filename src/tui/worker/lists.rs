//! The customer lists' pages: the filter's matches and each row's extras
//! (churn drivers in words, CLV shares of the total).

use super::{Executor, Extra, Slot};
use crate::analytics::churn;
use crate::store::{
    self, dashboard,
    list::{self, CustomerRow, ListQuery, SortColumn},
    models,
    search::Hits,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Sums of CLV above a position in the ranking, so that each page's share
/// and cumulative share cost no scan of the customers before it.
#[derive(Default)]
pub(super) struct ClvSums {
    version: i64,
    total: f64,
    /// CLV of all customers ranked above the one with this key.
    above: HashMap<(u64, i64), f64>,
}

fn key_of(k: &list::Key) -> (u64, i64) {
    (k.number().map_or(u64::MAX, f64::to_bits), k.cid)
}

impl Executor {
    /// The customers matching the query's text filter (None without one).
    pub(super) fn hits(&mut self, q: &ListQuery) -> crate::Result<Option<Arc<Hits>>> {
        let Some(text) = q.filter.as_deref().filter(|f| !f.is_empty()) else {
            return Ok(None);
        };
        let version = dashboard::data_version(&self.conn)?;
        let idx = match self.search.current() {
            Some(i) if i.version == version => i,
            // Stale: answer from it while a fresh one is built.
            Some(i) if self.out.is_some() => {
                self.search.build_in_background(self.path.clone());
                i
            }
            _ => self.search.build_with(&self.conn)?,
        };
        Ok(Some(self.search.search(idx, text, version)))
    }

    pub(super) fn extras(
        &mut self,
        slot: Slot,
        query: &ListQuery,
        rows: &[CustomerRow],
    ) -> crate::Result<Vec<Extra>> {
        match slot {
            Slot::Customers => Ok(vec![Extra::None; rows.len()]),
            Slot::Churn => {
                let active = models::active_id(&self.conn)?;
                let Some(id) = active else {
                    return Ok(vec![Extra::None; rows.len()]);
                };
                let cids: Vec<i64> = rows.iter().map(|r| r.cid).collect();
                let advice = self.next_actions(&cids)?;
                let mut out = Vec::with_capacity(rows.len());
                let mask = self.mask;
                for (r, adv) in rows.iter().zip(advice) {
                    let d = models::score_of(&self.conn, id, r.cid)?;
                    let words = match (d, self.model_params(id)) {
                        (Some((_, json)), Some(p)) => churn::describe_drivers(p, &json, mask)
                            .into_iter()
                            .map(|(s, c)| format!("{s} ({c:+.2})"))
                            .collect::<Vec<_>>()
                            .join("; "),
                        _ => String::new(),
                    };
                    out.push(Extra::Churn {
                        drivers: words,
                        action: adv.map(|a| short_action(&a)).unwrap_or_default(),
                    });
                }
                Ok(out)
            }
            Slot::Clv => {
                let version = dashboard::data_version(&self.conn)?;
                clv_shares(&mut self.clv, version, query, rows, &self.conn)
            }
        }
    }
}

/// Each CLV row's share of the total and the running share down the
/// ranking, from a file's or a server's sums (`src`); `sums` keeps the
/// value above each row seen, so that the next page costs no scan.
pub(super) fn clv_shares(
    sums: &mut ClvSums,
    version: i64,
    query: &ListQuery,
    rows: &[CustomerRow],
    src: &dyn store::clv::Shares,
) -> crate::Result<Vec<Extra>> {
    if sums.version != version || sums.above.len() > 200_000 {
        let total = src.total_clv()?;
        *sums = ClvSums {
            version,
            total,
            above: HashMap::new(),
        };
    }
    let total = sums.total;
    let Some(first) = rows.first() else {
        return Ok(vec![]);
    };
    let ranking = query.sort == SortColumn::Clv && query.descending;
    let unfiltered = query.filter.as_deref().is_none_or(str::is_empty)
        && query.rfm_segment.is_none()
        && query.cluster.is_none()
        && query.churn_band.is_none();
    let page_sum: f64 = rows.iter().map(|r| r.clv.unwrap_or(0.0)).sum();
    // (The ranking's key of a customer without a value is its
    // "missing" rank, not a CLV.)
    let clv_of = |k: &list::Key| {
        k.number()
            .filter(|&v| v != store::clv_values::NO_CLV)
            .unwrap_or(0.0)
    };
    let known = |k: &list::Key| sums.above.get(&key_of(k)).copied();
    // Value above the first row, in the ranking's order (CLV, highest first).
    let cached = if ranking && unfiltered {
        match &query.seek {
            list::Seek::First => Some(0.0),
            list::Seek::Last => Some(total - page_sum),
            list::Seek::After(k) => known(k).map(|a| a + clv_of(k)),
            list::Seek::Before(k) => known(k).map(|a| a - page_sum),
            list::Seek::From(k) => known(k),
        }
    } else {
        None
    };
    // Within one RFM segment the running share is of the
    // segment's total (the rank column counts within it too).
    let segment = match (&query.rfm_segment, ranking) {
        (Some(seg), true)
            if query.filter.as_deref().is_none_or(str::is_empty)
                && query.cluster.is_none()
                && query.churn_band.is_none() =>
        {
            Some(seg.as_str())
        }
        _ => None,
    };
    let (above, of_total) = match (cached, segment) {
        (Some(a), _) => (Some(a), total),
        (None, Some(seg)) => (
            Some(src.segment_clv(seg, Some((first.clv, first.cid)))?),
            src.segment_clv(seg, None)?,
        ),
        (None, None) if ranking && unfiltered => {
            (Some(src.clv_above(first.clv, first.cid)?), total)
        }
        // Sorted otherwise or filtered otherwise: no running share.
        (None, None) => (None, total),
    };
    let mut cum = above.unwrap_or(0.0);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if ranking && unfiltered {
            sums.above.insert(key_of(&r.key), cum);
        }
        let v = r.clv.unwrap_or(0.0);
        cum += v;
        out.push(if total > 0.0 && of_total > 0.0 {
            Extra::Share {
                share: v / if segment.is_some() { of_total } else { total },
                cumulative: above
                    .filter(|_| of_total > 0.0)
                    .map(|_| (cum / of_total).clamp(0.0, 1.0)),
            }
        } else {
            Extra::None
        });
    }
    Ok(out)
}

/// Next best action in a list cell: the action's name ("hold (ctrl)" for
/// a control-group member, "-" for none); the detail explains it.
pub(super) fn short_action(a: &crate::analytics::nba::Advice) -> String {
    match &a.action {
        Some(name) => name.clone(),
        None if a.explanation.contains("control group") => "hold (ctrl)".into(),
        None => "-".into(),
    }
}
