//! Features as of a date, without leakage: everything is computed from rows
//! strictly before the cutoff. One streaming pass per table (orders, events,
//! feedback in parallel, each on its own read connection) fills accumulators
//! for several cutoffs at once; a `FeatureSpec` learned on the training rows
//! (kept event kinds, categorical levels, imputation, dropped columns,
//! standardisation) turns them into a matrix, and is stored with the model
//! so that scoring builds exactly the same columns.

mod attrs;
mod customers;
mod extract;
mod matrix;
mod packed;
mod spec;
mod totals;
pub use totals::Parts;

pub use extract::{extract, extract_from, extract_source, history_for, History};
pub use spec::{
    learn, Categorical, Column, Dropped, FeatureSpec, Source, MISSING_LEVEL, OTHER_LEVEL,
};

/// Event kinds used as features at most (the most frequent ones).
pub const MAX_EVENT_KINDS: usize = 16;

/// Order history of one customer before one cutoff.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OrderAcc {
    pub n_all: u32,
    pub n_90: u32,
    pub n_prev_90: u32,
    pub n_365: u32,
    pub spend_all: f64,
    pub spend_90: f64,
    pub spend_365: f64,
    pub first: i64,
    pub last: i64,
    /// Orders in [cutoff, label_end): what the label looks at.
    pub n_after: u32,
}

/// Feedback history of one customer before one cutoff.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeedbackAcc {
    pub n_365: u32,
    pub complaints_365: u32,
    pub score_sum: f64,
    pub score_n: u32,
    pub sentiment_sum: f64,
    pub sentiment_n: u32,
    pub last: i64,
}

/// What a customer is, independent of time.
#[derive(Debug, Clone, Default)]
pub struct Static {
    pub cid: i64,
    pub since: Option<i64>,
    pub signup: Option<i64>,
    pub age: Option<f64>,
    pub birth: Option<i64>,
    pub income: Option<f64>,
    /// Interned texts (see `Raw::strings`).
    pub region: Option<u32>,
    pub plan: Option<u32>,
    pub segment: Option<u32>,
    pub churned: Option<bool>,
}

/// A missing text in `Raw::attr_txt`.
pub const NO_TEXT: u32 = u32::MAX;

/// Attributes by column, placed by customer position.
#[derive(Default)]
pub struct AttrColumns {
    pub names: Vec<String>,
    /// [attribute][customer]: NaN when missing or not a number.
    pub num: Vec<Vec<f64>>,
    /// [attribute][customer]: interned text or `NO_TEXT`; an empty vector
    /// for an attribute with no text at all.
    pub txt: Vec<Vec<u32>>,
}

/// Few distinct texts (plans, regions, attribute values) stored once.
/// Looked up three times per customer while reading: a fast hash, not
/// SipHash (the texts are the user's own data, not an attacker's keys).
#[derive(Default)]
pub struct Interner {
    pub strings: Vec<String>,
    ids: rustc_hash::FxHashMap<String, u32>,
}

impl Interner {
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }
}

/// Everything extracted for a set of cutoffs.
pub struct Raw {
    pub cutoffs: Vec<i64>,
    /// End of the label window for each cutoff (orders in [cutoff, end) count).
    pub label_ends: Vec<i64>,
    pub customers: Vec<Static>,
    pub strings: Interner,
    pub attrs: AttrColumns,
    pub event_kinds: Vec<String>,
    /// [customer][cutoff]
    pub orders: Parts<OrderAcc>,
    /// [customer][cutoff][kind]
    pub events: Parts<f32>,
    /// [customer][cutoff]
    pub feedback: Parts<FeedbackAcc>,
}

impl Raw {
    // Data without orders, events or feedback (attributes only, as
    // subscription data) has empty tables here: every customer reads as
    // having none, without a million empty records to allocate.
    pub fn order(&self, i: usize, c: usize) -> &OrderAcc {
        static NONE: OrderAcc = OrderAcc {
            n_all: 0,
            n_90: 0,
            n_prev_90: 0,
            n_365: 0,
            spend_all: 0.0,
            spend_90: 0.0,
            spend_365: 0.0,
            first: 0,
            last: 0,
            n_after: 0,
        };
        self.orders.get(i * self.cutoffs.len() + c).unwrap_or(&NONE)
    }
    pub fn fb(&self, i: usize, c: usize) -> &FeedbackAcc {
        static NONE: FeedbackAcc = FeedbackAcc {
            n_365: 0,
            complaints_365: 0,
            score_sum: 0.0,
            score_n: 0,
            sentiment_sum: 0.0,
            sentiment_n: 0,
            last: 0,
        };
        self.feedback
            .get(i * self.cutoffs.len() + c)
            .unwrap_or(&NONE)
    }
    pub fn event(&self, i: usize, c: usize, k: usize) -> f32 {
        self.events
            .get((i * self.cutoffs.len() + c) * MAX_EVENT_KINDS + k)
            .copied()
            .unwrap_or(0.0)
    }
}
