//! Validation of one CSV row into a typed row: pure (no database), so it runs
//! on the reader thread, and is fuzzed. This file holds the rows and the
//! cell rules every kind shares (text, ids, numbers, times, keys);
//! `kinds.rs` each kind's own row.

use super::fields::{self, Field, MAX_ID_LEN, MAX_SHORT_LEN, MAX_TEXT_LEN};
use super::import::{Column, Layout};
use super::Kind;
use crate::analytics::{sentiment, workflow::Status};
use crate::timeutil;
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::Xxh3;

mod kinds;

/// Why a row is rejected: the field (column name, or empty) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub field: String,
    pub reason: String,
}

impl Reject {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        Reject {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

type R<T> = Result<T, Reject>;

/// An attribute's cell as a number, when it is one: not a code that only
/// looks like one (a zip code's leading zero, `02134`, or more digits than
/// a number keeps, `12345678901234567890`), which stays text as written.
pub fn number_of(v: &str) -> Option<f64> {
    let x: f64 = v.parse().ok().filter(|x: &f64| x.is_finite())?;
    let t = v.trim_start_matches(['+', '-']);
    let leading_zero = t.len() > 1 && t.starts_with('0') && t.as_bytes()[1].is_ascii_digit();
    let digits = t
        .split(['e', 'E'])
        .next()
        .unwrap_or("")
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    (!leading_zero && digits <= 15).then_some(x)
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub signup: Option<String>,
    /// End of the subscription (a day), when it has ended.
    pub cancelled: Option<String>,
    pub birth: Option<String>,
    pub age: Option<i64>,
    pub income: Option<f64>,
    pub region: Option<String>,
    pub plan: Option<String>,
    pub segment: Option<String>,
    pub churned: Option<i64>,
    /// (index into `attr_names`, number, text): exactly one of number/text
    /// is set; empty cells are left out.
    pub attributes: Vec<(u16, Option<f64>, Option<String>)>,
    /// The file's attribute columns, shared by every row of the file.
    pub attr_names: std::sync::Arc<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    /// Set by the `Resolver`: the customer's key, and whether this row creates it.
    pub cid: i64,
    pub new_customer: bool,
    pub key: String,
    pub customer: String,
    pub ts: i64,
    pub amount: f64,
    /// The quantity (1 when the cell is empty or the column missing).
    pub quantity: i64,
    /// Whether the file gave it: an empty cell keeps a stored quantity.
    pub quantity_given: bool,
    pub product: Option<String>,
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRow {
    /// Set by the `Resolver`: the customer's key, and whether this row creates it.
    pub cid: i64,
    pub new_customer: bool,
    pub id: String,
    pub customer: String,
    pub created: i64,
    pub channel: Option<String>,
    pub kind: &'static str,
    pub score: Option<f64>,
    pub text: Option<String>,
    pub sentiment: Option<f64>,
    pub status: &'static str,
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// Set by the `Resolver`: the customer's key, and whether this row creates it.
    pub cid: i64,
    pub new_customer: bool,
    pub key: String,
    pub customer: String,
    pub ts: i64,
    pub kind: String,
    /// The value (1 when the cell is empty or the column missing).
    pub value: f64,
    /// Whether the file gave it: an empty cell keeps a stored value.
    pub value_given: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Customer(Box<CustomerRow>),
    Order(OrderRow),
    Feedback(Box<FeedbackRow>),
    Event(EventRow),
}

impl Parsed {
    /// The customer a row refers to, with where to put its key.
    pub fn customer_ref(&mut self) -> Option<(&str, &mut i64, &mut bool)> {
        match self {
            Parsed::Customer(_) => None,
            Parsed::Order(o) => Some((&o.customer, &mut o.cid, &mut o.new_customer)),
            Parsed::Feedback(f) => Some((&f.customer, &mut f.cid, &mut f.new_customer)),
            Parsed::Event(e) => Some((&e.customer, &mut e.cid, &mut e.new_customer)),
        }
    }
}

/// Turns CSV records of one file into typed rows.
pub struct Parser {
    kind: Kind,
    index: FxHashMap<Field, usize>,
    attributes: Vec<(usize, String)>,
    attr_names: std::sync::Arc<Vec<String>>,
    has_id: bool,
    occurrences: FxHashMap<u128, u32>,
    sentiment_memo: FxHashMap<String, f64>,
    /// The latest timestamp accepted (now plus the configured margin): a
    /// date in the future would move every "as of" default.
    horizon: i64,
}

impl Parser {
    /// The known columns the file has.
    pub(crate) fn fields(&self) -> Vec<Field> {
        self.index.keys().copied().collect()
    }

    pub(crate) fn new(kind: Kind, layout: &Layout, horizon: i64) -> Self {
        Parser {
            horizon,
            kind,
            index: layout.index.iter().map(|(k, v)| (*k, *v)).collect(),
            attributes: layout
                .columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| match c {
                    Column::Attribute(a) => Some((i, a.clone())),
                    _ => None,
                })
                .collect(),
            attr_names: std::sync::Arc::new(
                layout
                    .columns
                    .iter()
                    .filter_map(|c| match c {
                        Column::Attribute(a) => Some(a.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            has_id: layout.index.contains_key(&Field::Id),
            occurrences: FxHashMap::default(),
            sentiment_memo: FxHashMap::default(),
        }
    }

    pub fn parse(&mut self, rec: &csv::ByteRecord) -> R<Parsed> {
        match self.kind {
            Kind::Customers => self.customer(rec).map(|c| Parsed::Customer(Box::new(c))),
            Kind::Orders => self.order(rec).map(Parsed::Order),
            Kind::Feedback => self.feedback(rec).map(|f| Parsed::Feedback(Box::new(f))),
            Kind::Events => self.event(rec).map(Parsed::Event),
        }
    }

    fn name(&self, f: Field) -> &'static str {
        f.name(self.kind)
    }

    /// The trimmed text of a field, `None` when the column is absent or the cell empty.
    fn text<'r>(&self, rec: &'r csv::ByteRecord, f: Field) -> R<Option<&'r str>> {
        match self.index.get(&f) {
            Some(&i) => cell(rec, i, self.name(f)),
            None => Ok(None),
        }
    }

    fn required<'r>(&self, rec: &'r csv::ByteRecord, f: Field) -> R<&'r str> {
        self.text(rec, f)?
            .ok_or_else(|| Reject::new(self.name(f), "missing (required)"))
    }

    fn short(&self, rec: &csv::ByteRecord, f: Field) -> R<Option<String>> {
        match self.text(rec, f)? {
            Some(s) => {
                fields::check_len(s, MAX_SHORT_LEN).map_err(|e| Reject::new(self.name(f), e))?;
                Ok(Some(s.to_string()))
            }
            None => Ok(None),
        }
    }

    fn id(&self, rec: &csv::ByteRecord, f: Field) -> R<String> {
        let v = self.required(rec, f)?;
        fields::check_len(v, MAX_ID_LEN).map_err(|e| Reject::new(self.name(f), e))?;
        Ok(v.to_string())
    }

    fn parsed<T>(
        &self,
        rec: &csv::ByteRecord,
        f: Field,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> R<Option<T>> {
        match self.text(rec, f)? {
            None => Ok(None),
            Some(s) => parse(s).map(Some).map_err(|e| Reject::new(self.name(f), e)),
        }
    }

    fn timestamp(&self, rec: &csv::ByteRecord, f: Field) -> R<Option<i64>> {
        let t = self.parsed(rec, f, parse_time)?;
        if let Some(ts) = t {
            if ts > self.horizon {
                return Err(Reject::new(
                    self.name(f),
                    format!(
                        "{} is in the future (dates after {} are refused; the margin is set by `future_margin_days` in the config)",
                        timeutil::ts_to_day_string(ts),
                        timeutil::ts_to_day_string(self.horizon)
                    ),
                ));
            }
        }
        Ok(t)
    }

    fn required_timestamp(&self, rec: &csv::ByteRecord, f: Field) -> R<i64> {
        self.timestamp(rec, f)?
            .ok_or_else(|| Reject::new(self.name(f), "missing (required)"))
    }

    /// The dedup key of a row: its own id, or a digest of its content plus its
    /// occurrence number in this file (two identical rows are two records).
    fn row_key(&mut self, rec: &csv::ByteRecord, content: &[&[u8]]) -> R<String> {
        if self.has_id {
            return self.id(rec, Field::Id);
        }
        let mut h = Xxh3::new();
        for part in content {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let digest = h.digest128();
        let n = self.occurrences.entry(digest).or_insert(0);
        *n += 1;
        Ok(if *n == 1 {
            format!("~{digest:032x}")
        } else {
            format!("~{digest:032x}.{n}")
        })
    }
}

fn parse_time(s: &str) -> Result<i64, String> {
    timeutil::parse_timestamp(s).ok_or_else(|| {
        format!(
            "'{}' is not a date (expected YYYY-MM-DD, YYYYMMDD or RFC 3339)",
            fields::clip(s)
        )
    })
}

/// The trimmed UTF-8 text of cell `i`, `None` when empty.
fn cell<'r>(rec: &'r csv::ByteRecord, i: usize, name: &str) -> R<Option<&'r str>> {
    let raw = rec.get(i).unwrap_or(b"");
    let s = std::str::from_utf8(raw).map_err(|e| {
        Reject::new(
            name,
            format!("not valid UTF-8 (byte {} of the cell)", e.valid_up_to() + 1),
        )
    })?;
    let s = s.trim();
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// Map a feedback kind (and a few common synonyms) to the stored kind.
pub fn normalise_feedback_kind(s: &str) -> Option<&'static str> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "complaint" | "complaints" | "issue" | "problem" => "complaint",
        "question" | "inquiry" | "enquiry" | "request" => "question",
        "praise" | "compliment" | "thanks" => "praise",
        "nps" => "nps",
        "csat" => "csat",
        "other" | "suggestion" | "feedback" => "other",
        _ => return None,
    })
}

/// Event kinds are stored lower case with underscores ("Support Contact" -> "support_contact").
pub fn normalise_event_kind(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::number_of;

    #[test]
    fn codes_that_look_like_numbers_stay_text() {
        for (v, want) in [
            ("3", Some(3.0)),
            ("2.50", Some(2.5)),
            ("-0.5", Some(-0.5)),
            ("0", Some(0.0)),
            ("1e3", Some(1000.0)),
            ("02134", None),
            ("00042", None),
            ("12345678901234567890", None),
            ("gold", None),
            ("inf", None),
        ] {
            assert_eq!(number_of(v), want, "{v}");
        }
    }
}
