//! Features as of a date, without leakage: everything is computed from rows
//! strictly before the cutoff. One streaming pass per table (orders, events,
//! feedback in parallel, each on its own read connection) fills accumulators
//! for several cutoffs at once; a `FeatureSpec` learned on the training rows
//! (kept event kinds, categorical levels, imputation, dropped columns,
//! standardisation) turns them into a matrix, and is stored with the model
//! so that scoring builds exactly the same columns.

use crate::cid_index::CidIndex;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::timeutil::{self, DAY};
use ndarray::Array2;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Event kinds used as features at most (the most frequent ones).
pub const MAX_EVENT_KINDS: usize = 16;

/// Order history of one customer before one cutoff.
#[derive(Debug, Clone, Copy, Default)]
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
#[derive(Debug, Clone, Copy, Default)]
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
#[derive(Default)]
pub struct Interner {
    pub strings: Vec<String>,
    ids: HashMap<String, u32>,
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
    pub orders: Vec<OrderAcc>,
    /// [customer][cutoff][kind]
    pub events: Vec<f32>,
    /// [customer][cutoff]
    pub feedback: Vec<FeedbackAcc>,
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

fn read_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.execute_batch("PRAGMA cache_size = -65536")?;
    Ok(c)
}

/// Read every customer and its history before each cutoff. `label_ends[i]`
/// bounds the label window after `cutoffs[i]`.
pub fn extract(conn: &Connection, cutoffs: &[i64], label_ends: &[i64], ctl: Ctl) -> Result<Raw> {
    let path = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| Error::Other("feature extraction needs a database file".into()))?;
    ctl.report("reading customers, orders, events and feedback", 0, 1);
    // The customer keys first (an index-only scan); then everything in parallel,
    // each reader on its own connection. Rows are placed by cid.
    let cids: Vec<i64> = {
        let mut st = conn.prepare("SELECT cid FROM customers ORDER BY cid")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let by_cid = CidIndex::new(&cids);
    let n = cids.len();
    let nc = cutoffs.len();
    let min_cut = cutoffs.iter().copied().min().unwrap_or(0);
    let (customers, mut strings, (attrs, attr_strings), orders, (events, kinds), feedback) =
        std::thread::scope(|s| -> Result<_> {
            let o = s.spawn(|| scan_orders(&path, &by_cid, n, cutoffs, label_ends, ctl));
            let e = s.spawn(|| scan_events(&path, &by_cid, n, cutoffs, min_cut, ctl));
            let f = s.spawn(|| scan_feedback(&path, &by_cid, n, cutoffs, min_cut, ctl));
            let a = s.spawn(|| load_attributes(&path, &by_cid, n));
            let c = load_customers(&path, &by_cid, &cids);
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
fn load_customers(path: &Path, by_cid: &CidIndex, cids: &[i64]) -> Result<(Vec<Static>, Interner)> {
    let conn = read_conn(path)?;
    let mut customers: Vec<Static> = cids
        .iter()
        .map(|&cid| Static {
            cid,
            ..Default::default()
        })
        .collect();
    let mut strings = Interner::default();
    let text =
        |r: &rusqlite::Row, i: usize, strings: &mut Interner| -> rusqlite::Result<Option<u32>> {
            Ok(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Text(t) => Some(strings.id(&String::from_utf8_lossy(t))),
                _ => None,
            })
        };
    let date = |r: &rusqlite::Row, i: usize| -> rusqlite::Result<Option<i64>> {
        Ok(match r.get_ref(i)? {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(timeutil::parse_date)
                .map(timeutil::date_to_ts),
            _ => None,
        })
    };
    let mut st = conn.prepare(
        "SELECT cid, since, signup_date, age, birth_date, income, region, plan, segment, churned FROM customers",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let Some(i) = by_cid.get(r.get(0)?) else {
            continue;
        };
        let c = &mut customers[i];
        c.since = r.get(1)?;
        c.signup = date(r, 2)?;
        c.age = r.get::<_, Option<i64>>(3)?.map(|a| a as f64);
        c.birth = date(r, 4)?;
        c.income = r.get(5)?;
        c.region = text(r, 6, &mut strings)?;
        c.plan = text(r, 7, &mut strings)?;
        c.segment = text(r, 8, &mut strings)?;
        c.churned = r.get::<_, Option<i64>>(9)?.map(|c| c == 1);
    }
    Ok((customers, strings))
}

/// Attributes by column (one table scan, on its own connection), with the
/// texts in their own interner.
fn load_attributes(path: &Path, by_cid: &CidIndex, n: usize) -> Result<(AttrColumns, Interner)> {
    let conn = read_conn(path)?;
    let names = crate::store::attributes::names(&conn)?;
    let mut num = vec![vec![f64::NAN; n]; names.len()];
    let mut txt: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
    let mut strings = Interner::default();
    crate::store::attributes::scan(&conn, |cid, j, v| {
        let Some(i) = by_cid.get(cid) else {
            return Ok(());
        };
        match v {
            rusqlite::types::ValueRef::Real(x) => num[j][i] = x,
            rusqlite::types::ValueRef::Integer(x) => num[j][i] = x as f64,
            rusqlite::types::ValueRef::Text(t) => {
                if txt[j].is_empty() {
                    txt[j] = vec![NO_TEXT; n];
                }
                txt[j][i] = strings.id(&String::from_utf8_lossy(t));
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok((AttrColumns { names, num, txt }, strings))
}

fn scan_orders(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    label_ends: &[i64],
    ctl: Ctl,
) -> Result<Vec<OrderAcc>> {
    let conn = read_conn(path)?;
    let nc = cutoffs.len();
    if !crate::store::has_orders(&conn)? {
        return Ok(Vec::new());
    }
    let mut acc = vec![OrderAcc::default(); n * nc];
    let max_end = label_ends
        .iter()
        .chain(cutoffs)
        .copied()
        .max()
        .unwrap_or(i64::MAX);
    let mut st =
        conn.prepare("SELECT cid, ts, amount FROM orders WHERE ts < ?1 ORDER BY cid, ts")?;
    let mut rows = st.query([max_end])?;
    let mut k = 0u64;
    while let Some(r) = rows.next()? {
        k += 1;
        if k.is_multiple_of(1 << 20) {
            ctl.check()?;
        }
        let cid: i64 = r.get(0)?;
        let ts: i64 = r.get(1)?;
        let amount: f64 = r.get(2)?;
        let Some(i) = by_cid.get(cid) else { continue };
        for c in 0..nc {
            let t = cutoffs[c];
            let a = &mut acc[i * nc + c];
            if ts >= t {
                if ts < label_ends[c] {
                    a.n_after += 1;
                }
                continue;
            }
            if a.n_all == 0 {
                a.first = ts;
            }
            a.n_all += 1;
            a.spend_all += amount;
            a.last = ts;
            let age = t - ts;
            if age <= 90 * DAY {
                a.n_90 += 1;
                a.spend_90 += amount;
            } else if age <= 180 * DAY {
                a.n_prev_90 += 1;
            }
            if age <= 365 * DAY {
                a.n_365 += 1;
                a.spend_365 += amount;
            }
        }
    }
    Ok(acc)
}

fn scan_events(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    min_cut: i64,
    ctl: Ctl,
) -> Result<(Vec<f32>, Vec<String>)> {
    let conn = read_conn(path)?;
    let nc = cutoffs.len();
    let max_cut = cutoffs.iter().copied().max().unwrap_or(i64::MAX);
    let from = min_cut - 90 * DAY;
    // The most frequent kinds in the 90 days before the earliest cutoff (the
    // training cutoff): which kinds become features is itself decided
    // without looking past it.
    let kinds: Vec<String> = {
        let mut st = conn.prepare(
            "SELECT kind FROM events WHERE ts >= ?1 AND ts < ?2 GROUP BY kind ORDER BY count(*) DESC, kind LIMIT ?3",
        )?;
        let rows = st.query_map(
            rusqlite::params![from, min_cut, MAX_EVENT_KINDS as i64],
            |r| r.get(0),
        )?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    ctl.check()?;
    if kinds.is_empty() {
        return Ok((Vec::new(), kinds));
    }
    let mut acc = vec![0f32; n * nc * MAX_EVENT_KINDS];
    if kinds.is_empty() {
        return Ok((acc, kinds));
    }
    let index: HashMap<&str, usize> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut st =
        conn.prepare("SELECT cid, ts, kind, value FROM events WHERE ts >= ?1 AND ts < ?2")?;
    let mut rows = st.query([from, max_cut])?;
    let mut k = 0u64;
    while let Some(r) = rows.next()? {
        k += 1;
        if k.is_multiple_of(1 << 20) {
            ctl.check()?;
        }
        let cid: i64 = r.get(0)?;
        let ts: i64 = r.get(1)?;
        let kind = match r.get_ref(2)? {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).unwrap_or(""),
            _ => "",
        };
        let Some(&ki) = index.get(kind) else { continue };
        let value: f64 = r.get(3)?;
        let Some(i) = by_cid.get(cid) else { continue };
        for (c, &t) in cutoffs.iter().enumerate() {
            if ts < t && t - ts <= 90 * DAY {
                acc[(i * nc + c) * MAX_EVENT_KINDS + ki] += value as f32;
            }
        }
    }
    Ok((acc, kinds))
}

fn scan_feedback(
    path: &Path,
    by_cid: &CidIndex,
    n: usize,
    cutoffs: &[i64],
    _min_cut: i64,
    ctl: Ctl,
) -> Result<Vec<FeedbackAcc>> {
    let conn = read_conn(path)?;
    let nc = cutoffs.len();
    let max_cut = cutoffs.iter().copied().max().unwrap_or(i64::MAX);
    if !crate::store::has_feedback(&conn)? {
        return Ok(Vec::new());
    }
    let mut acc = vec![FeedbackAcc::default(); n * nc];
    let mut st = conn.prepare(
        "SELECT cid, created_at, kind, score, sentiment FROM feedback WHERE created_at < ?1",
    )?;
    let mut rows = st.query([max_cut])?;
    let mut k = 0u64;
    while let Some(r) = rows.next()? {
        k += 1;
        if k.is_multiple_of(1 << 20) {
            ctl.check()?;
        }
        let cid: i64 = r.get(0)?;
        let ts: i64 = r.get(1)?;
        let kind = match r.get_ref(2)? {
            rusqlite::types::ValueRef::Text(t) => t,
            _ => b"",
        };
        let complaint = kind == b"complaint";
        // Scores on one scale: NPS 0-10 -> 0..1, CSAT 1-5 -> 0..1.
        let score: Option<f64> = r.get::<_, Option<f64>>(3)?.and_then(|s| match kind {
            b"nps" => Some(s / 10.0),
            b"csat" => Some((s - 1.0) / 4.0),
            _ => None,
        });
        let sentiment: Option<f64> = r.get(4)?;
        let Some(i) = by_cid.get(cid) else { continue };
        for (c, &t) in cutoffs.iter().enumerate() {
            if ts >= t {
                continue;
            }
            let a = &mut acc[i * nc + c];
            a.last = a.last.max(ts);
            if t - ts <= 365 * DAY {
                a.n_365 += 1;
                if complaint {
                    a.complaints_365 += 1;
                }
                if let Some(s) = score {
                    a.score_sum += s;
                    a.score_n += 1;
                }
                if let Some(s) = sentiment {
                    a.sentiment_sum += s;
                    a.sentiment_n += 1;
                }
            }
        }
    }
    Ok(acc)
}

/// Where a column's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    TenureDays,
    DaysSinceLastOrder,
    NeverOrdered,
    Orders90,
    Orders365,
    Spend90,
    Spend365,
    AvgOrderValue,
    OrderTrend,
    Events90 {
        event: String,
    },
    Feedback365,
    Complaints365,
    MeanScore,
    MeanSentiment,
    DaysSinceLastFeedback,
    Age,
    Income,
    NumAttr {
        name: String,
    },
    /// 1 when the categorical source equals `level` ("other" = any level not kept).
    OneHot {
        cat: Categorical,
        level: String,
    },
    /// 1 when the underlying value is missing (it was imputed).
    Missing {
        of: Box<Source>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Categorical {
    Region,
    Plan,
    Segment,
    Attr(String),
}

impl Categorical {
    pub fn label(&self) -> String {
        match self {
            Categorical::Region => "region".into(),
            Categorical::Plan => "plan".into(),
            Categorical::Segment => "segment".into(),
            Categorical::Attr(a) => a.clone(),
        }
    }
}

/// The level names of a categorical: the kept ones, "(missing)" and "(other)".
pub const MISSING_LEVEL: &str = "(missing)";
pub const OTHER_LEVEL: &str = "(other)";

impl Source {
    /// Machine name (report, JSON).
    pub fn name(&self) -> String {
        match self {
            Source::TenureDays => "tenure_days".into(),
            Source::DaysSinceLastOrder => "days_since_last_order".into(),
            Source::NeverOrdered => "never_ordered".into(),
            Source::Orders90 => "orders_90d".into(),
            Source::Orders365 => "orders_365d".into(),
            Source::Spend90 => "spend_90d".into(),
            Source::Spend365 => "spend_365d".into(),
            Source::AvgOrderValue => "avg_order_value".into(),
            Source::OrderTrend => "order_trend".into(),
            Source::Events90 { event } => format!("events_{event}_90d"),
            Source::Feedback365 => "feedback_365d".into(),
            Source::Complaints365 => "complaints_365d".into(),
            Source::MeanScore => "mean_score".into(),
            Source::MeanSentiment => "mean_sentiment".into(),
            Source::DaysSinceLastFeedback => "days_since_last_feedback".into(),
            Source::Age => "age".into(),
            Source::Income => "income".into(),
            Source::NumAttr { name } => name.clone(),
            Source::OneHot { cat, level } => format!("{}={level}", cat.label()),
            Source::Missing { of } => format!("{}_missing", of.name()),
        }
    }

    /// Words a person reads.
    pub fn label(&self) -> String {
        match self {
            Source::TenureDays => "days as a customer".into(),
            Source::DaysSinceLastOrder => "days since last order".into(),
            Source::NeverOrdered => "never ordered".into(),
            Source::Orders90 => "orders in last 90 days".into(),
            Source::Orders365 => "orders in last 365 days".into(),
            Source::Spend90 => "spend in last 90 days".into(),
            Source::Spend365 => "spend in last 365 days".into(),
            Source::AvgOrderValue => "average order value".into(),
            Source::OrderTrend => "order trend (last 90 days vs the 90 before)".into(),
            Source::Events90 { event } => format!("{} in last 90 days", event_words(event)),
            Source::Feedback365 => "feedback items in last 365 days".into(),
            Source::Complaints365 => "complaints in last 365 days".into(),
            Source::MeanScore => "mean NPS/CSAT score (0-1)".into(),
            Source::MeanSentiment => "mean sentiment of feedback".into(),
            Source::DaysSinceLastFeedback => "days since last feedback".into(),
            Source::Age => "age".into(),
            Source::Income => "income".into(),
            Source::NumAttr { name } => name.clone(),
            Source::OneHot { cat, level } => format!("{}: {level}", cat.label()),
            Source::Missing { of } => format!("{} unknown", of.label()),
        }
    }

    pub fn is_indicator(&self) -> bool {
        matches!(
            self,
            Source::OneHot { .. } | Source::Missing { .. } | Source::NeverOrdered
        )
    }
}

/// "support_contact" -> "support contacts", "login" -> "logins".
fn event_words(kind: &str) -> String {
    let w = kind.replace('_', " ");
    if w.ends_with('s') {
        w
    } else {
        format!("{w}s")
    }
}

/// A column of the model's matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub source: Source,
    /// Value used for a missing raw value (the training mean).
    pub impute: f64,
    pub mean: f64,
    pub std: f64,
}

/// How to build the matrix; learned on training rows, stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub columns: Vec<Column>,
    /// Levels kept per categorical (others become "(other)").
    pub levels: Vec<(Categorical, Vec<String>)>,
}

/// A column dropped while learning the spec, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub feature: String,
    pub reason: String,
}

/// Code of each row's level of a categorical, against the kept levels:
/// 0..kept.len() for a kept level, then OTHER, then MISSING.
fn level_codes(
    raw: &Raw,
    levels: &[(Categorical, Vec<String>)],
    cat: &Categorical,
    rows: &[usize],
) -> (Vec<u32>, u32, u32) {
    let kept = levels
        .iter()
        .find(|(c, _)| c == cat)
        .map(|(_, l)| l.as_slice())
        .unwrap_or(&[]);
    let other = kept.len() as u32;
    let missing = other + 1;
    let mut map: rustc_hash::FxHashMap<u32, u32> = Default::default();
    for (k, l) in kept.iter().enumerate() {
        if let Some(id) = raw.strings.get(l) {
            map.insert(id, k as u32);
        }
    }
    let attr: Option<&[u32]> = match cat {
        Categorical::Attr(name) => raw
            .attrs
            .names
            .iter()
            .position(|a| a == name)
            .map(|p| raw.attrs.txt[p].as_slice()),
        _ => None,
    };
    let codes = rows
        .iter()
        .map(|&i| {
            let cust = &raw.customers[i];
            let id = match cat {
                Categorical::Region => cust.region,
                Categorical::Plan => cust.plan,
                Categorical::Segment => cust.segment,
                Categorical::Attr(_) => attr
                    .and_then(|a| a.get(i))
                    .copied()
                    .filter(|&v| v != NO_TEXT),
            };
            match id {
                None => missing,
                Some(id) => map.get(&id).copied().unwrap_or(other),
            }
        })
        .collect();
    (codes, other, missing)
}

/// The values of one source for `rows` at cutoff `c`; NaN marks a missing value.
fn column(
    raw: &Raw,
    levels: &[(Categorical, Vec<String>)],
    src: &Source,
    rows: &[usize],
    c: usize,
) -> Vec<f64> {
    let nan = f64::NAN;
    match src {
        Source::Events90 { event } => match raw.event_kinds.iter().position(|e| e == event) {
            Some(k) => rows
                .iter()
                .map(|&i| f64::from(raw.event(i, c, k)))
                .collect(),
            // A kind the data no longer has: no such events.
            None => vec![0.0; rows.len()],
        },
        Source::NumAttr { name } => match raw.attrs.names.iter().position(|a| a == name) {
            Some(p) => {
                let col = &raw.attrs.num[p];
                rows.iter()
                    .map(|&i| col.get(i).copied().unwrap_or(nan))
                    .collect()
            }
            None => vec![nan; rows.len()],
        },
        Source::OneHot { cat, level } => {
            let (codes, other, missing) = level_codes(raw, levels, cat, rows);
            let kept = levels
                .iter()
                .find(|(c, _)| c == cat)
                .map(|(_, l)| l.as_slice())
                .unwrap_or(&[]);
            let target = if level == OTHER_LEVEL {
                other
            } else if level == MISSING_LEVEL {
                missing
            } else {
                kept.iter()
                    .position(|l| l == level)
                    .map(|p| p as u32)
                    .unwrap_or(u32::MAX)
            };
            codes
                .into_iter()
                .map(|k| f64::from(u8::from(k == target)))
                .collect()
        }
        Source::Missing { of } => column(raw, levels, of, rows, c)
            .into_iter()
            .map(|v| f64::from(u8::from(v.is_nan())))
            .collect(),
        other => rows
            .iter()
            .map(|&i| scalar(raw, other, i, c).unwrap_or(nan))
            .collect(),
    }
}

/// Behavioural and built-in values of one customer (None = missing).
fn scalar(raw: &Raw, src: &Source, i: usize, c: usize) -> Option<f64> {
    let cust = &raw.customers[i];
    let t = raw.cutoffs[c];
    let o = raw.order(i, c);
    let f = raw.fb(i, c);
    let days = |from: i64| ((t - from) as f64 / DAY as f64).max(0.0);
    let start = cust
        .signup
        .or(if o.n_all > 0 { Some(o.first) } else { None });
    let tenure = start.map(days).unwrap_or(0.0);
    Some(match src {
        Source::TenureDays => tenure,
        Source::DaysSinceLastOrder => {
            if o.n_all > 0 {
                days(o.last)
            } else {
                tenure
            }
        }
        Source::NeverOrdered => f64::from(u8::from(o.n_all == 0)),
        Source::Orders90 => f64::from(o.n_90),
        Source::Orders365 => f64::from(o.n_365),
        Source::Spend90 => o.spend_90,
        Source::Spend365 => o.spend_365,
        Source::AvgOrderValue => {
            if o.n_all > 0 {
                o.spend_all / f64::from(o.n_all)
            } else {
                0.0
            }
        }
        Source::OrderTrend => ((f64::from(o.n_90) + 1.0) / (f64::from(o.n_prev_90) + 1.0)).ln(),
        Source::Feedback365 => f64::from(f.n_365),
        Source::Complaints365 => f64::from(f.complaints_365),
        Source::MeanScore => {
            if f.score_n == 0 {
                return None;
            }
            f.score_sum / f64::from(f.score_n)
        }
        Source::MeanSentiment => {
            if f.sentiment_n == 0 {
                return None;
            }
            f.sentiment_sum / f64::from(f.sentiment_n)
        }
        Source::DaysSinceLastFeedback => {
            if f.last == 0 {
                return None;
            }
            days(f.last)
        }
        Source::Age => match (cust.age, cust.birth) {
            (_, Some(b)) => ((t - b) as f64 / (365.25 * DAY as f64)).floor(),
            (Some(a), None) => a,
            _ => return None,
        },
        Source::Income => cust.income?,
        // Resolved in `column`.
        Source::Events90 { .. }
        | Source::NumAttr { .. }
        | Source::OneHot { .. }
        | Source::Missing { .. } => return None,
    })
}

/// The candidate sources before anything is learned.
fn candidates(raw: &Raw) -> (Vec<Source>, Vec<Categorical>) {
    let mut s = vec![
        Source::TenureDays,
        Source::DaysSinceLastOrder,
        Source::NeverOrdered,
        Source::Orders90,
        Source::Orders365,
        Source::Spend90,
        Source::Spend365,
        Source::AvgOrderValue,
        Source::OrderTrend,
    ];
    for k in &raw.event_kinds {
        s.push(Source::Events90 { event: k.clone() });
    }
    s.extend([
        Source::Feedback365,
        Source::Complaints365,
        Source::MeanScore,
        Source::MeanSentiment,
        Source::DaysSinceLastFeedback,
        Source::Age,
        Source::Income,
    ]);
    let mut cats = vec![Categorical::Region, Categorical::Plan, Categorical::Segment];
    // Attributes: numeric when every present value is a number, else categorical.
    for (id, name) in raw.attrs.names.iter().enumerate() {
        if !raw.attrs.txt[id].is_empty() {
            cats.push(Categorical::Attr(name.clone()));
        } else {
            s.push(Source::NumAttr { name: name.clone() });
        }
    }
    (s, cats)
}

/// Learn a spec from training rows `rows` (customer indices) at cutoff `c`.
pub fn learn(raw: &Raw, rows: &[usize], c: usize) -> (FeatureSpec, Vec<Dropped>) {
    let (sources, cats) = candidates(raw);
    let n = rows.len().max(1);
    let mut dropped = Vec::new();
    // Categorical levels: keep those with at least 1% of rows and 10 customers;
    // the rest are grouped as "(other)"; the most frequent level is the reference.
    let min_count = ((n as f64 * 0.01).ceil() as usize).max(10);
    let mut levels: Vec<(Categorical, Vec<String>)> = Vec::new();
    let mut onehots: Vec<Source> = Vec::new();
    for cat in cats {
        // Count by interned id, with every level kept for counting.
        let all: Vec<String> = raw.strings.strings.clone();
        let probe = vec![(cat.clone(), all.clone())];
        let (codes, _, missing_code) = level_codes(raw, &probe, &cat, rows);
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for k in codes {
            *counts.entry(k).or_default() += 1;
        }
        let missing = counts.remove(&missing_code).unwrap_or(0);
        let mut kept: Vec<(String, usize)> = counts
            .iter()
            .filter(|(_, k)| **k >= min_count)
            .map(|(id, k)| (all[*id as usize].clone(), *k))
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let grouped: usize = counts.values().filter(|k| **k < min_count).sum();
        let names: Vec<String> = kept.iter().map(|(l, _)| l.clone()).collect();
        let mut all_levels = kept.clone();
        if grouped > 0 {
            all_levels.push((OTHER_LEVEL.to_string(), grouped));
        }
        if missing > 0 {
            all_levels.push((MISSING_LEVEL.to_string(), missing));
        }
        all_levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if all_levels.len() <= 1 {
            dropped.push(Dropped {
                feature: cat.label(),
                reason: if missing == rows.len() {
                    "no values".into()
                } else {
                    "one level only".into()
                },
            });
        } else {
            for (l, _) in all_levels.iter().skip(1) {
                onehots.push(Source::OneHot {
                    cat: cat.clone(),
                    level: l.clone(),
                });
            }
        }
        levels.push((cat, names));
    }

    // Every candidate column, computed once (in parallel: the columns are
    // independent and each is a pass over every training row).
    use rayon::prelude::*;
    let computed: Vec<(Source, Vec<f64>, usize)> = sources
        .into_par_iter()
        .map(|s| {
            let v = column(raw, &levels, &s, rows, c);
            let missing = v.iter().filter(|x| x.is_nan()).count();
            (s, v, missing)
        })
        .collect();
    let mut cols: Vec<(Source, Vec<f64>)> = Vec::new();
    for (s, v, missing) in computed {
        if missing == v.len() {
            dropped.push(Dropped {
                feature: s.name(),
                reason: "no values".into(),
            });
            continue;
        }
        if missing > 0 {
            let ind: Vec<f64> = v.iter().map(|x| f64::from(u8::from(x.is_nan()))).collect();
            cols.push((s.clone(), v));
            cols.push((Source::Missing { of: Box::new(s) }, ind));
        } else {
            cols.push((s, v));
        }
    }
    let hot: Vec<(Source, Vec<f64>)> = onehots
        .into_par_iter()
        .map(|s| {
            let v = column(raw, &levels, &s, rows, c);
            (s, v)
        })
        .collect();
    cols.extend(hot);

    // Impute and summarise each column (in parallel), then drop constant,
    // near-constant and duplicate columns (in order).
    let summaries: Vec<(Source, Summary)> = cols
        .into_par_iter()
        .map(|(s, v)| {
            let sum = summarise(v);
            (s, sum)
        })
        .collect();
    let mut columns: Vec<Column> = Vec::new();
    let mut seen: HashMap<u128, String> = HashMap::new();
    for (s, sum) in summaries {
        match sum {
            Summary::Constant => {
                dropped.push(Dropped {
                    feature: s.name(),
                    reason: "constant".into(),
                });
            }
            Summary::AlmostConstant(share) => {
                dropped.push(Dropped {
                    feature: s.name(),
                    reason: format!("almost constant ({:.1}% the same value)", 100.0 * share),
                });
            }
            Summary::Varies {
                impute,
                key,
                mean,
                std,
            } => {
                if let Some(first) = seen.get(&key) {
                    dropped.push(Dropped {
                        feature: s.name(),
                        reason: format!("same values as {first}"),
                    });
                    continue;
                }
                seen.insert(key, s.name());
                columns.push(Column {
                    source: s,
                    impute,
                    mean,
                    std,
                });
            }
        }
    }
    (FeatureSpec { columns, levels }, dropped)
}

/// What `learn` needs to know of one candidate column.
enum Summary {
    Constant,
    /// The share of rows with the most frequent value (>= 99.5%).
    AlmostConstant(f64),
    Varies {
        impute: f64,
        /// A hash of the imputed values, to find duplicate columns.
        key: u128,
        mean: f64,
        std: f64,
    },
}

/// Impute missing values (NaN) with the mean of the others, then classify.
fn summarise(mut v: Vec<f64>) -> Summary {
    let (sum, n) = v
        .iter()
        .filter(|x| !x.is_nan())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    let impute = if n == 0 { 0.0 } else { sum / n as f64 };
    for x in v.iter_mut() {
        if x.is_nan() {
            *x = impute;
        }
    }
    // Constant or almost constant (one value in 99.5% of rows)? Then at
    // most 0.5% of rows hold other values, so there are few distinct
    // values: counting stops as soon as there are more (a continuous
    // column is known to vary after a few thousand rows, not a million).
    let most_distinct = (0.005 * v.len() as f64).floor() as usize + 1;
    let mut freq: rustc_hash::FxHashMap<u64, usize> = Default::default();
    let mut varied = false;
    for x in &v {
        *freq.entry(x.to_bits()).or_default() += 1;
        if freq.len() > most_distinct {
            varied = true;
            break;
        }
    }
    if !varied {
        let top = freq.values().copied().max().unwrap_or(0);
        if freq.len() <= 1 {
            return Summary::Constant;
        }
        if top as f64 >= 0.995 * v.len() as f64 {
            return Summary::AlmostConstant(top as f64 / v.len() as f64);
        }
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for x in &v {
        h.update(&x.to_bits().to_le_bytes());
    }
    let key = h.digest128();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    if !(std > 1e-12 && std.is_finite()) {
        return Summary::Constant;
    }
    Summary::Varies {
        impute,
        key,
        mean,
        std,
    }
}

impl FeatureSpec {
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.source.name()).collect()
    }

    /// Raw (imputed, unstandardised) values for `rows` at cutoff `c`.
    /// Row blocks are filled in parallel (a million rows: 1 s on one core).
    pub fn raw_matrix(&self, raw: &Raw, rows: &[usize], c: usize) -> Array2<f64> {
        use ndarray::parallel::prelude::*;
        use rayon::prelude::ParallelSlice;
        const BLOCK: usize = 16_384;
        let d = self.columns.len();
        let mut x = Array2::<f64>::zeros((rows.len(), d));
        x.axis_chunks_iter_mut(ndarray::Axis(0), BLOCK)
            .into_par_iter()
            .zip(rows.par_chunks(BLOCK))
            .for_each(|(mut block, rows)| {
                for (j, col) in self.columns.iter().enumerate() {
                    let v = column(raw, &self.levels, &col.source, rows, c);
                    for (r, val) in v.into_iter().enumerate() {
                        block[(r, j)] = if val.is_nan() { col.impute } else { val };
                    }
                }
            });
        x
    }

    /// Standardise a raw matrix in place: (x - mean) / std.
    pub fn standardise(&self, x: &mut Array2<f64>) {
        for (j, col) in self.columns.iter().enumerate() {
            let (m, s) = (col.mean, col.std);
            x.column_mut(j).mapv_inplace(|v| (v - m) / s);
        }
    }

    /// The standardised matrix for `rows` at cutoff `c`.
    pub fn matrix(&self, raw: &Raw, rows: &[usize], c: usize) -> Array2<f64> {
        let mut x = self.raw_matrix(raw, rows, c);
        self.standardise(&mut x);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_for_features() {
        assert_eq!(
            Source::Events90 {
                event: "support_contact".into()
            }
            .label(),
            "support contacts in last 90 days"
        );
        assert_eq!(
            Source::OneHot {
                cat: Categorical::Plan,
                level: "basic".into()
            }
            .name(),
            "plan=basic"
        );
        assert_eq!(
            Source::Missing {
                of: Box::new(Source::Income)
            }
            .label(),
            "income unknown"
        );
    }
}
