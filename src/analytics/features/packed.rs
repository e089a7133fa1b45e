//! Training's read of the packed history (one row a customer, schema 15):
//! the customers' orders, events and feedback summed per cutoff, in two
//! customer ranges in parallel.

use super::extract::{day_feedback, last_cutoff, orders_end};
use super::totals::{EventTotals, FeedbackTotals, OrderTotals};
use super::*;
use crate::cid_index::CidIndex;
use crate::error::Result;
use crate::jobs::Ctl;
use crate::store::packs::PackReader;
use crate::timeutil::DAY;
use std::path::Path;

/// Orders, events (with the chosen kinds) and feedback records.
pub(super) type HistoryTotals = (
    Parts<OrderAcc>,
    (Parts<f32>, Vec<String>),
    Parts<FeedbackAcc>,
);

/// Orders, events and feedback of every customer from the packed daily
/// sums (schema 0015), the customers read in `parts` ranges in parallel,
/// each part on its own connection into its own slice of the records.
pub(super) fn scan_packs(
    path: &Path,
    cids: &[i64],
    by_cid: &CidIndex,
    cutoffs: &[i64],
    label_ends: &[i64],
    kinds: Vec<String>,
    ctl: Ctl,
) -> Result<HistoryTotals> {
    let n = cids.len();
    let nc = cutoffs.len();
    // Two parts from 100,000 customers (both cores are otherwise busy with
    // the customers and attributes: more parts only contend).
    let parts = if n >= 100_000 { 2 } else { 1 };
    let bounds: Vec<(usize, usize)> = (0..parts)
        .map(|p| (n * p / parts, n * (p + 1) / parts))
        .filter(|(a, b)| a < b)
        .collect();
    let end_day = orders_end(cutoffs, label_ends).div_euclid(DAY);
    let cut_day = last_cutoff(cutoffs).div_euclid(DAY);
    let read = |(lo, hi): (usize, usize)| -> Result<_> {
        let mut reader = PackReader::open(path)?;
        // Pack kind numbers to the chosen kinds' places.
        let place: Vec<Option<usize>> = reader
            .kinds()
            .iter()
            .map(|k| kinds.iter().position(|c| c == k))
            .collect();
        let mut orders = OrderTotals::new(cutoffs, label_ends, lo, hi - lo);
        let mut events = (!kinds.is_empty()).then(|| EventTotals::new(cutoffs, lo, hi - lo));
        let mut feedback = FeedbackTotals::new(cutoffs, lo, hi - lo);
        reader.scan((cids[lo], cids[hi - 1]), ctl, |h| {
            let Some(i) = by_cid.get(h.cid) else { return };
            // What the daily sums' reads read: orders before the last end,
            // feedback before the last cutoff.
            for o in h.orders.iter().take_while(|o| o.day < end_day) {
                orders.add(i, o.day * DAY, o.n as u32, o.spend, o.first, o.last);
            }
            if let Some(ev) = events.as_mut() {
                for e in &h.events {
                    if let Some(&Some(ki)) = place.get(e.kind as usize) {
                        ev.add(i, e.day * DAY, ki, e.value);
                    }
                }
            }
            for f in h.feedback.iter().take_while(|f| f.day < cut_day) {
                feedback.add(i, &day_feedback(f));
            }
        })?;
        Ok((
            orders.finish(),
            events.map(EventTotals::finish).unwrap_or_default(),
            feedback.finish(),
            (hi - lo) * nc,
        ))
    };
    let results = crate::parallel::each_part(bounds, "a packed-history reader", read)?;
    let (mut o, mut e, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for (orders, events, feedback, records) in results {
        o.push((orders, records));
        e.push((events, records * MAX_EVENT_KINDS));
        f.push((feedback, records));
    }
    let events = if kinds.is_empty() {
        Parts::default()
    } else {
        Parts::join(e)
    };
    Ok((Parts::join(o), (events, kinds), Parts::join(f)))
}
