//! The accumulators behind `Raw`'s orders, events and feedback: one record
//! per customer and cutoff, for the customers at places `base..base + len`
//! (a part of them, when parts are read in parallel), filled from orders,
//! events and feedback items one at a time or a day's sums at once.
//!
//! A day [d, d + 1) lies wholly on one side of a whole-day cutoff t and of
//! t - k days, so every window test on a day's start gives the test on each
//! of its rows: the daily sums give the features of the rows.

use super::{FeedbackAcc, OrderAcc, MAX_EVENT_KINDS};
use crate::timeutil::DAY;

/// Orders before and after each cutoff.
pub(super) struct OrderTotals<'a> {
    cutoffs: &'a [i64],
    label_ends: &'a [i64],
    base: usize,
    len: usize,
    /// Allocated at the first order: data without orders (attributes only)
    /// gets no million empty records.
    acc: Vec<OrderAcc>,
}

impl<'a> OrderTotals<'a> {
    pub fn new(cutoffs: &'a [i64], label_ends: &'a [i64], base: usize, len: usize) -> Self {
        OrderTotals {
            cutoffs,
            label_ends,
            base,
            len,
            acc: Vec::new(),
        }
    }

    /// `k` orders of the customer at place `i` at `at` (one order at its
    /// time, or a day's at the day's start), `first` and `last` their
    /// times; a customer's orders come in time order.
    #[inline]
    pub fn add(&mut self, i: usize, at: i64, k: u32, spend: f64, first: i64, last: i64) {
        let nc = self.cutoffs.len();
        if self.acc.is_empty() {
            self.acc = vec![OrderAcc::default(); self.len * nc];
        }
        let row = (i - self.base) * nc;
        for (c, &t) in self.cutoffs.iter().enumerate() {
            let a = &mut self.acc[row + c];
            if at >= t {
                if at < self.label_ends[c] {
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
    }

    pub fn finish(self) -> Vec<OrderAcc> {
        self.acc
    }
}

/// The values of the chosen event kinds in the 90 days before each cutoff.
pub(super) struct EventTotals<'a> {
    cutoffs: &'a [i64],
    base: usize,
    acc: Vec<f32>,
}

impl<'a> EventTotals<'a> {
    pub fn new(cutoffs: &'a [i64], base: usize, len: usize) -> Self {
        EventTotals {
            cutoffs,
            base,
            acc: vec![0f32; len * cutoffs.len() * MAX_EVENT_KINDS],
        }
    }

    /// `value` of the chosen kind `ki` for the customer at place `i` at `at`.
    #[inline]
    pub fn add(&mut self, i: usize, at: i64, ki: usize, value: f64) {
        let nc = self.cutoffs.len();
        for (c, &t) in self.cutoffs.iter().enumerate() {
            if at < t && at >= t - 90 * DAY {
                self.acc[((i - self.base) * nc + c) * MAX_EVENT_KINDS + ki] += value as f32;
            }
        }
    }

    pub fn finish(self) -> Vec<f32> {
        self.acc
    }
}

/// Feedback sums of one item or one day.
pub(super) struct FeedbackSums {
    /// The item's time, or the day's start.
    pub at: i64,
    pub n: u32,
    pub complaints: u32,
    pub score_sum: f64,
    pub score_n: u32,
    pub sentiment_sum: f64,
    pub sentiment_n: u32,
    pub last: i64,
}

/// Feedback before each cutoff.
pub(super) struct FeedbackTotals<'a> {
    cutoffs: &'a [i64],
    base: usize,
    len: usize,
    acc: Vec<FeedbackAcc>,
}

impl<'a> FeedbackTotals<'a> {
    pub fn new(cutoffs: &'a [i64], base: usize, len: usize) -> Self {
        FeedbackTotals {
            cutoffs,
            base,
            len,
            acc: Vec::new(),
        }
    }

    #[inline]
    pub fn add(&mut self, i: usize, f: &FeedbackSums) {
        let nc = self.cutoffs.len();
        if self.acc.is_empty() {
            self.acc = vec![FeedbackAcc::default(); self.len * nc];
        }
        for (c, &t) in self.cutoffs.iter().enumerate() {
            if f.at >= t {
                continue;
            }
            let a = &mut self.acc[(i - self.base) * nc + c];
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
    }

    pub fn finish(self) -> Vec<FeedbackAcc> {
        self.acc
    }
}

/// Records in the parts they were read in, kept apart: joining a million
/// customers' parts into one vector copied 380 MB into fresh memory after
/// the readers had finished (0.15-0.19 s). A part that read nothing holds
/// no records and reads as defaults; when every part did, there are none.
#[derive(Debug, Clone, Default)]
pub struct Parts<T> {
    /// Each part's first place, its records (empty: `len` defaults), `len`.
    parts: Vec<(usize, Vec<T>, usize)>,
    len: usize,
    none: T,
}

impl<T: Default> Parts<T> {
    /// One part holding everything.
    pub fn whole(records: Vec<T>) -> Parts<T> {
        Parts::join(vec![(records, 0)])
    }

    /// Parts' records in order, each with its number of records (used when
    /// it read nothing).
    pub fn join(parts: Vec<(Vec<T>, usize)>) -> Parts<T> {
        if parts.iter().all(|(v, _)| v.is_empty()) {
            return Parts::default();
        }
        let mut start = 0;
        let parts: Vec<(usize, Vec<T>, usize)> = parts
            .into_iter()
            .map(|(v, n)| {
                let n = if v.is_empty() { n } else { v.len() };
                let part = (start, v, n);
                start += n;
                part
            })
            .collect();
        Parts {
            parts,
            len: start,
            none: T::default(),
        }
    }
}

impl<T> Parts<T> {
    /// The record at `place`.
    #[inline]
    pub fn get(&self, place: usize) -> Option<&T> {
        let (start, v, n) = self.parts.iter().rev().find(|p| p.0 <= place)?;
        let k = place - start;
        (k < *n).then(|| v.get(k).unwrap_or(&self.none))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.len).map(|k| self.get(k).unwrap_or(&self.none))
    }
}

impl<'a, T> IntoIterator for &'a Parts<T> {
    type Item = &'a T;
    type IntoIter = Box<dyn Iterator<Item = &'a T> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<T: PartialEq> PartialEq for Parts<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::Parts;

    #[test]
    fn parts_read_as_the_joined_records() {
        let p = Parts::join(vec![(vec![1, 2], 2), (vec![], 3), (vec![7], 1)]);
        assert_eq!(p.len(), 6);
        assert_eq!(p.iter().copied().collect::<Vec<_>>(), [1, 2, 0, 0, 0, 7]);
        assert_eq!(p.get(6), None);
        assert_eq!(p, Parts::whole(vec![1, 2, 0, 0, 0, 7]));
        assert_ne!(p, Parts::whole(vec![1, 2, 0, 0, 0, 8]));
        let none: Parts<i32> = Parts::join(vec![(vec![], 4), (vec![], 2)]);
        assert!(none.is_empty());
        assert_eq!(none.get(0), None);
    }
}
