//! Reading the tables once each, in parallel, into the accumulators of
//! `Raw` for every cutoff at once (the reads themselves are
//! `store::history`'s).

use super::*;
use crate::cid_index::CidIndex;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store::history::{self, Source as DataSource};
use crate::store::Conn;
use crate::timeutil::{self, DAY};
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

/// The daily sums when they give the same features (every cutoff and label
/// end a whole day), else the rows.
pub fn history_for(cutoffs: &[i64], label_ends: &[i64]) -> History {
    if cutoffs
        .iter()
        .chain(label_ends)
        .all(|t| t.rem_euclid(DAY) == 0)
    {
        History::Days
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
            let (o, e, f) = match from {
                History::Rows => (
                    s.spawn(|| scan_orders(src, &by_cid, n, cutoffs, label_ends, ctl)),
                    s.spawn(|| scan_events(src, &by_cid, n, cutoffs, min_cut, ctl)),
                    s.spawn(|| scan_feedback(src, &by_cid, n, cutoffs, ctl)),
                ),
                History::Days => (
                    s.spawn(|| scan_order_days(&path, &by_cid, n, cutoffs, label_ends, ctl)),
                    s.spawn(|| scan_event_days(&path, &by_cid, n, cutoffs, min_cut, ctl)),
                    s.spawn(|| scan_feedback_days(&path, &by_cid, n, cutoffs, ctl)),
                ),
            };
            let a = s.spawn(|| attrs::load(src, &cids, &by_cid));
            let c = load_customers(src, &by_cid, &cids);
            let panicked = |_| Error::Other("a feature reader thread panicked".into());
            let orders = o.join().map_err(panicked)??;
            let events = e.join().map_err(panicked)??;
            let feedback = f.join().map_err(panicked)??;
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

/// Customers, placed by cid.
fn load_customers(
    src: &DataSource,
    by_cid: &CidIndex,
    cids: &[i64],
) -> Result<(Vec<Static>, Interner)> {
    let mut customers: Vec<Static> = cids
        .iter()
        .map(|&cid| Static {
            cid,
            ..Default::default()
        })
        .collect();
    let mut strings = Interner::default();
    let date = |t: Option<&str>| t.and_then(timeutil::parse_date).map(timeutil::date_to_ts);
    history::scan_customers(src, |r| {
        let Some(i) = by_cid.get(r.cid) else {
            return Ok(());
        };
        let c = &mut customers[i];
        c.since = r.since;
        c.signup = date(r.signup_date);
        c.age = r.age;
        c.birth = date(r.birth_date);
        c.income = r.income;
        c.region = r.region.map(|t| strings.id(&t));
        c.plan = r.plan.map(|t| strings.id(&t));
        c.segment = r.segment.map(|t| strings.id(&t));
        c.churned = r.churned;
        Ok(())
    })?;
    Ok((customers, strings))
}

fn scan_events(
    src: &DataSource,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    min_cut: i64,
    ctl: Ctl,
) -> Result<(Vec<f32>, Vec<String>)> {
    let max_cut = cutoffs.iter().copied().max().unwrap_or(i64::MAX);
    let from = min_cut - 90 * DAY;
    // The most frequent kinds in the 90 days before the earliest cutoff (the
    // training cutoff): which kinds become features is itself decided
    // without looking past it.
    let kinds = history::event_kinds(src, from, min_cut, MAX_EVENT_KINDS)?;
    ctl.check()?;
    accumulate_events(by_cid, n, cutoffs, kinds, |add| {
        history::scan_events(src, from, max_cut, ctl, add)
    })
}

/// `scan_events` from the daily sums (why whole days give the same sums:
/// below, before `scan_order_days`).
fn scan_event_days(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    min_cut: i64,
    ctl: Ctl,
) -> Result<(Vec<f32>, Vec<String>)> {
    let max_cut = cutoffs.iter().copied().max().unwrap_or(i64::MAX);
    let from = (min_cut - 90 * DAY).div_euclid(DAY);
    let kinds = history::event_kinds_by_day(path, from, min_cut.div_euclid(DAY), MAX_EVENT_KINDS)?;
    ctl.check()?;
    accumulate_events(by_cid, n, cutoffs, kinds, |add| {
        let to = max_cut.div_euclid(DAY);
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
    let nc = cutoffs.len();
    let mut acc = vec![0f32; n * nc * MAX_EVENT_KINDS];
    let index: HashMap<&str, usize> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    scan(&mut |cid, at, kind, value| {
        let Some(&ki) = index.get(kind) else { return };
        let Some(i) = by_cid.get(cid) else { return };
        for (c, &t) in cutoffs.iter().enumerate() {
            if at < t && at >= t - 90 * DAY {
                acc[(i * nc + c) * MAX_EVENT_KINDS + ki] += value as f32;
            }
        }
    })?;
    drop(index);
    Ok((acc, kinds))
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
    let nc = cutoffs.len();
    // Allocated at the first order: data without orders (attributes only)
    // gets no million empty records.
    let mut acc: Vec<OrderAcc> = Vec::new();
    let max_end = label_ends
        .iter()
        .chain(cutoffs)
        .copied()
        .max()
        .unwrap_or(i64::MAX);
    scan(max_end, &mut |cid, at, k, spend, first, last| {
        let Some(i) = by_cid.get(cid) else { return };
        if acc.is_empty() {
            acc = vec![OrderAcc::default(); n * nc];
        }
        for c in 0..nc {
            let t = cutoffs[c];
            let a = &mut acc[i * nc + c];
            if at >= t {
                if at < label_ends[c] {
                    a.n_after += k;
                }
                continue;
            }
            if a.n_all == 0 {
                a.first = first;
            }
            a.n_all += k;
            a.spend_all += spend;
            a.last = last;
            if at >= t - 90 * DAY {
                a.n_90 += k;
                a.spend_90 += spend;
            } else if at >= t - 180 * DAY {
                a.n_prev_90 += k;
            }
            if at >= t - 365 * DAY {
                a.n_365 += k;
                a.spend_365 += spend;
            }
        }
    })?;
    Ok(acc)
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

/// Feedback sums of one item or one day, as `accumulate_feedback` takes them.
struct FeedbackSums {
    cid: i64,
    /// The item's time, or the day's start.
    at: i64,
    n: u32,
    complaints: u32,
    score_sum: f64,
    score_n: u32,
    sentiment_sum: f64,
    sentiment_n: u32,
    last: i64,
}

/// Feedback of every customer before each cutoff, from a scan that calls
/// `add` for each item or day, reading before `max_cut`.
fn accumulate_feedback(
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    scan: impl FnOnce(i64, &mut dyn FnMut(FeedbackSums)) -> Result<()>,
) -> Result<Vec<FeedbackAcc>> {
    let nc = cutoffs.len();
    let max_cut = cutoffs.iter().copied().max().unwrap_or(i64::MAX);
    let mut acc: Vec<FeedbackAcc> = Vec::new();
    scan(max_cut, &mut |f| {
        let Some(i) = by_cid.get(f.cid) else { return };
        if acc.is_empty() {
            acc = vec![FeedbackAcc::default(); n * nc];
        }
        for (c, &t) in cutoffs.iter().enumerate() {
            if f.at >= t {
                continue;
            }
            let a = &mut acc[i * nc + c];
            a.last = a.last.max(f.last);
            if f.at >= t - 365 * DAY {
                a.n_365 += f.n;
                a.complaints_365 += f.complaints;
                a.score_sum += f.score_sum;
                a.score_n += f.score_n;
                a.sentiment_sum += f.sentiment_sum;
                a.sentiment_n += f.sentiment_n;
            }
        }
    })?;
    Ok(acc)
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
            add(FeedbackSums {
                cid,
                at: ts,
                n: 1,
                complaints: u32::from(kind == "complaint"),
                score_sum: score.unwrap_or(0.0),
                score_n: u32::from(score.is_some()),
                sentiment_sum: sentiment.unwrap_or(0.0),
                sentiment_n: u32::from(sentiment.is_some()),
                last: ts,
            })
        })
    })
}

// The same accumulators from the daily sums. A day [d, d + 1) lies wholly
// on one side of a whole-day cutoff t and of t - k days, so every window
// test on its start gives the test on each of its rows.

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

fn scan_feedback_days(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    ctl: Ctl,
) -> Result<Vec<FeedbackAcc>> {
    accumulate_feedback(by_cid, n, cutoffs, |max_cut, add| {
        history::scan_feedback_days(path, max_cut.div_euclid(DAY), ctl, |d| {
            add(FeedbackSums {
                cid: d.cid,
                at: d.day * DAY,
                n: d.n as u32,
                complaints: d.complaints as u32,
                score_sum: d.score_sum,
                score_n: d.score_n as u32,
                sentiment_sum: d.sentiment_sum,
                sentiment_n: d.sentiment_n as u32,
                last: d.last,
            })
        })
    })
}
