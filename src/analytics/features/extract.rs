//! Reading the tables once each, in parallel, into the accumulators of
//! `Raw` for every cutoff at once (the reads themselves are
//! `store::history`'s).

use super::customers::load_customers;
use super::packed::scan_packs;
use super::totals::{EventTotals, FeedbackSums, FeedbackTotals, OrderTotals};
use super::*;
use crate::cid_index::CidIndex;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store::history::{self, FeedbackDay, Source as DataSource};
use crate::store::Conn;
use crate::timeutil::DAY;
use std::collections::HashMap;
use std::path::Path;

/// Where the history comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Every order, event and feedback row.
    Rows,
    /// Their sums by customer and day (schema 0012), exact when every cutoff
    /// and label end is a whole day (midnight UTC).
    Days,
    /// The same sums packed one row a customer (schema 0015), with the
    /// customers changed since read from their days: the same features,
    /// bit for bit.
    Packs,
}

/// Read every customer and its history before each cutoff. `label_ends[i]`
/// bounds the label window after `cutoffs[i]`. The daily sums are read when
/// they give the same features (whole-day cutoffs, as training's are).
pub fn extract(conn: &Conn, cutoffs: &[i64], label_ends: &[i64], ctl: Ctl) -> Result<Raw> {
    extract_from(
        conn,
        cutoffs,
        label_ends,
        history_for(cutoffs, label_ends),
        ctl,
    )
}

/// The packed daily sums when they give the same features (every cutoff
/// and label end a whole day), else the rows.
pub fn history_for(cutoffs: &[i64], label_ends: &[i64]) -> History {
    if cutoffs
        .iter()
        .chain(label_ends)
        .all(|t| t.rem_euclid(DAY) == 0)
    {
        History::Packs
    } else {
        History::Rows
    }
}

/// `extract` from the given history (the tests compare both).
pub fn extract_from(
    conn: &Conn,
    cutoffs: &[i64],
    label_ends: &[i64],
    from: History,
    ctl: Ctl,
) -> Result<Raw> {
    let path = history::path_of(conn)?;
    extract_source(&DataSource::File(path), cutoffs, label_ends, from, ctl)
}

/// `extract` from a file or a server (which has no daily sums: its rows are
/// read).
pub fn extract_source(
    src: &DataSource,
    cutoffs: &[i64],
    label_ends: &[i64],
    from: History,
    ctl: Ctl,
) -> Result<Raw> {
    let from = match src {
        DataSource::Server(_) => History::Rows,
        DataSource::File(_) => from,
    };
    let path = match src {
        DataSource::File(p) => p.clone(),
        DataSource::Server(_) => std::path::PathBuf::new(),
    };
    ctl.report("reading the history", 0, 1);
    // The customer keys first (an index-only scan); then everything in parallel,
    // each reader on its own connection. Rows are placed by cid.
    let cids = history::customer_keys(src)?;
    let by_cid = CidIndex::new(&cids);
    let n = cids.len();
    let nc = cutoffs.len();
    let min_cut = cutoffs.iter().copied().min().unwrap_or(0);
    let (customers, mut strings, (attrs, attr_strings), orders, (events, kinds), feedback) =
        std::thread::scope(|s| -> Result<_> {
            let h = s.spawn(|| match from {
                History::Packs => {
                    let kinds = chosen_kinds_by_day(&path, min_cut)?;
                    ctl.check()?;
                    scan_packs(&path, &cids, &by_cid, cutoffs, label_ends, kinds, ctl)
                }
                History::Rows | History::Days => std::thread::scope(|s| {
                    let (o, e, f) = if from == History::Rows {
                        (
                            s.spawn(|| scan_orders(src, &by_cid, n, cutoffs, label_ends, ctl)),
                            s.spawn(|| scan_events(src, &by_cid, n, cutoffs, min_cut, ctl)),
                            s.spawn(|| scan_feedback(src, &by_cid, n, cutoffs, ctl)),
                        )
                    } else {
                        (
                            s.spawn(|| {
                                scan_order_days(&path, &by_cid, n, cutoffs, label_ends, ctl)
                            }),
                            s.spawn(|| scan_event_days(&path, &by_cid, n, cutoffs, min_cut, ctl)),
                            s.spawn(|| scan_feedback_days(&path, &by_cid, n, cutoffs, ctl)),
                        )
                    };
                    let panicked = |_| Error::Other("a feature reader thread panicked".into());
                    let (events, kinds) = e.join().map_err(panicked)??;
                    Ok((
                        Parts::whole(o.join().map_err(panicked)??),
                        (Parts::whole(events), kinds),
                        Parts::whole(f.join().map_err(panicked)??),
                    ))
                }),
            });
            let a = s.spawn(|| attrs::load(src, &cids, &by_cid));
            let c = load_customers(src, &by_cid, &cids);
            let panicked = |_| Error::Other("a feature reader thread panicked".into());
            let (orders, events, feedback) = h.join().map_err(panicked)??;
            let attrs = a.join().map_err(panicked)??;
            let (customers, strings) = c?;
            Ok((customers, strings, attrs, orders, events, feedback))
        })?;
    // The attributes' texts join the customers' in one interner.
    let mut attrs = attrs;
    let remap: Vec<u32> = attr_strings.strings.iter().map(|t| strings.id(t)).collect();
    for col in &mut attrs.txt {
        for v in col.iter_mut() {
            if *v != NO_TEXT {
                *v = remap[*v as usize];
            }
        }
    }
    ctl.check()?;
    debug_assert!(orders.is_empty() || orders.len() == n * nc);
    Ok(Raw {
        cutoffs: cutoffs.to_vec(),
        label_ends: label_ends.to_vec(),
        customers,
        strings,
        attrs,
        event_kinds: kinds,
        orders,
        events,
        feedback,
    })
}

/// Where the reads of orders stop: the last label end or cutoff.
pub(super) fn orders_end(cutoffs: &[i64], label_ends: &[i64]) -> i64 {
    label_ends
        .iter()
        .chain(cutoffs)
        .copied()
        .max()
        .unwrap_or(i64::MAX)
}

/// Where the reads of events and feedback stop: the last cutoff.
pub(super) fn last_cutoff(cutoffs: &[i64]) -> i64 {
    cutoffs.iter().copied().max().unwrap_or(i64::MAX)
}

/// The event kinds that become features, from the per-day counts of the 90
/// days before the earliest cutoff (the training cutoff: which kinds become
/// features is itself decided without looking past it).
fn chosen_kinds_by_day(path: &Path, min_cut: i64) -> Result<Vec<String>> {
    let from = (min_cut - 90 * DAY).div_euclid(DAY);
    history::event_kinds_by_day(path, from, min_cut.div_euclid(DAY), MAX_EVENT_KINDS)
}

fn scan_events(
    src: &DataSource,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    min_cut: i64,
    ctl: Ctl,
) -> Result<(Vec<f32>, Vec<String>)> {
    let from = min_cut - 90 * DAY;
    // The most frequent kinds in the 90 days before the earliest cutoff (as
    // `chosen_kinds_by_day`).
    let kinds = history::event_kinds(src, from, min_cut, MAX_EVENT_KINDS)?;
    ctl.check()?;
    accumulate_events(by_cid, n, cutoffs, kinds, |add| {
        history::scan_events(src, from, last_cutoff(cutoffs), ctl, add)
    })
}

/// `scan_events` from the daily sums (why whole days give the same sums:
/// totals.rs).
fn scan_event_days(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    min_cut: i64,
    ctl: Ctl,
) -> Result<(Vec<f32>, Vec<String>)> {
    let from = (min_cut - 90 * DAY).div_euclid(DAY);
    let kinds = chosen_kinds_by_day(path, min_cut)?;
    ctl.check()?;
    accumulate_events(by_cid, n, cutoffs, kinds, |add| {
        let to = last_cutoff(cutoffs).div_euclid(DAY);
        history::scan_event_days(path, from, to, ctl, |cid, day, kind, value| {
            add(cid, day * DAY, kind, value)
        })
    })
}

/// The values of the chosen event kinds in the 90 days before each cutoff,
/// from a scan that calls `add(cid, at, kind, value)` for each event (at
/// its time) or each day's sum (at the day's start).
fn accumulate_events(
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    kinds: Vec<String>,
    scan: impl FnOnce(&mut dyn FnMut(i64, i64, &str, f64)) -> Result<()>,
) -> Result<(Vec<f32>, Vec<String>)> {
    if kinds.is_empty() {
        return Ok((Vec::new(), kinds));
    }
    let mut acc = EventTotals::new(cutoffs, 0, n);
    let index: HashMap<&str, usize> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    scan(&mut |cid, at, kind, value| {
        let Some(&ki) = index.get(kind) else { return };
        let Some(i) = by_cid.get(cid) else { return };
        acc.add(i, at, ki, value);
    })?;
    drop(index);
    Ok((acc.finish(), kinds))
}

/// Orders of every customer before and after each cutoff, from a scan that
/// calls `add(cid, at, n, spend, first, last)` for `n` orders at `at` (one
/// order at its time, or a day's orders at the day's start) in customer
/// and time order, reading up to `max_end`.
fn accumulate_orders(
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    label_ends: &[i64],
    scan: impl FnOnce(i64, &mut dyn FnMut(i64, i64, u32, f64, i64, i64)) -> Result<()>,
) -> Result<Vec<OrderAcc>> {
    let mut acc = OrderTotals::new(cutoffs, label_ends, 0, n);
    scan(
        orders_end(cutoffs, label_ends),
        &mut |cid, at, k, spend, first, last| {
            let Some(i) = by_cid.get(cid) else { return };
            acc.add(i, at, k, spend, first, last);
        },
    )?;
    Ok(acc.finish())
}

fn scan_orders(
    src: &DataSource,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    label_ends: &[i64],
    ctl: Ctl,
) -> Result<Vec<OrderAcc>> {
    accumulate_orders(by_cid, n, cutoffs, label_ends, |max_end, add| {
        history::scan_orders(src, max_end, ctl, |cid, ts, amount| {
            add(cid, ts, 1, amount, ts, ts)
        })
    })
}

/// Feedback of every customer before each cutoff, from a scan that calls
/// `add` for each item or day, reading before `max_cut`.
fn accumulate_feedback(
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    scan: impl FnOnce(i64, &mut dyn FnMut(i64, FeedbackSums)) -> Result<()>,
) -> Result<Vec<FeedbackAcc>> {
    let mut acc = FeedbackTotals::new(cutoffs, 0, n);
    scan(last_cutoff(cutoffs), &mut |cid, f| {
        let Some(i) = by_cid.get(cid) else { return };
        acc.add(i, &f);
    })?;
    Ok(acc.finish())
}

fn scan_feedback(
    src: &DataSource,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    ctl: Ctl,
) -> Result<Vec<FeedbackAcc>> {
    accumulate_feedback(by_cid, n, cutoffs, |max_cut, add| {
        history::scan_feedback(src, max_cut, ctl, |cid, ts, kind, score, sentiment| {
            let score = score.and_then(|s| crate::store::activity::unit_score(kind, s));
            add(
                cid,
                FeedbackSums {
                    at: ts,
                    n: 1,
                    complaints: u32::from(kind == "complaint"),
                    score_sum: score.unwrap_or(0.0),
                    score_n: u32::from(score.is_some()),
                    sentiment_sum: sentiment.unwrap_or(0.0),
                    sentiment_n: u32::from(sentiment.is_some()),
                    last: ts,
                },
            )
        })
    })
}

// The same accumulators from the daily sums (totals.rs says why whole days
// give the same sums).

fn scan_order_days(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    label_ends: &[i64],
    ctl: Ctl,
) -> Result<Vec<OrderAcc>> {
    accumulate_orders(by_cid, n, cutoffs, label_ends, |max_end, add| {
        history::scan_order_days(path, max_end.div_euclid(DAY), ctl, |d| {
            add(d.cid, d.day * DAY, d.n as u32, d.spend, d.first, d.last)
        })
    })
}

pub(super) fn day_feedback(d: &FeedbackDay) -> FeedbackSums {
    FeedbackSums {
        at: d.day * DAY,
        n: d.n as u32,
        complaints: d.complaints as u32,
        score_sum: d.score_sum,
        score_n: d.score_n as u32,
        sentiment_sum: d.sentiment_sum,
        sentiment_n: d.sentiment_n as u32,
        last: d.last,
    }
}

fn scan_feedback_days(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    ctl: Ctl,
) -> Result<Vec<FeedbackAcc>> {
    accumulate_feedback(by_cid, n, cutoffs, |max_cut, add| {
        history::scan_feedback_days(path, max_cut.div_euclid(DAY), ctl, |d| {
            add(d.cid, day_feedback(&d))
        })
    })
}
