//! What a customer list asks for and what it answers: the sortable
//! columns, the keys and seeks of keyset paging, the query with its
//! filters, and one row of the list.

use rusqlite::types::Value;

/// A sortable column of the customer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    Id,
    Name,
    Segment,
    Plan,
    /// Time as a customer: sorted by the start of the relationship.
    Tenure,
    LastOrder,
    Orders,
    Revenue,
    Churn,
    Clv,
    Rfm,
}

impl SortColumn {
    pub const ALL: [SortColumn; 11] = [
        SortColumn::Id,
        SortColumn::Name,
        SortColumn::Segment,
        SortColumn::Plan,
        SortColumn::Tenure,
        SortColumn::LastOrder,
        SortColumn::Orders,
        SortColumn::Revenue,
        SortColumn::Churn,
        SortColumn::Clv,
        SortColumn::Rfm,
    ];

    /// The indexed expression behind the column in the customers table
    /// (constants only); the churn, CLV and segment orders are rankings of
    /// their own (`plan::Ranking`).
    pub(super) fn expr(self) -> &'static str {
        match self {
            SortColumn::Id => "c.id",
            SortColumn::Name => "c.name COLLATE NOCASE",
            SortColumn::Segment => "c.segment",
            SortColumn::Plan => "c.plan",
            SortColumn::Tenure => "c.since",
            SortColumn::LastOrder => "c.last_order",
            SortColumn::Orders => "c.n_orders",
            SortColumn::Revenue => "c.revenue",
            SortColumn::Churn | SortColumn::Clv | SortColumn::Rfm => "NULL",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            SortColumn::Id => "id",
            SortColumn::Name => "name",
            SortColumn::Segment => "segment",
            SortColumn::Plan => "plan",
            SortColumn::Tenure => "tenure",
            SortColumn::LastOrder => "last order",
            SortColumn::Orders => "orders",
            SortColumn::Revenue => "revenue",
            SortColumn::Churn => "churn %",
            SortColumn::Clv => "CLV",
            SortColumn::Rfm => "RFM segment",
        }
    }

    /// Whether the column is first shown highest first (amounts, risk,
    /// recency, tenure) rather than A to Z.
    pub fn descending_first(self) -> bool {
        matches!(
            self,
            SortColumn::Revenue
                | SortColumn::Orders
                | SortColumn::Churn
                | SortColumn::Clv
                | SortColumn::LastOrder
                | SortColumn::Tenure
        )
    }

    /// Whether "ascending" as a person reads the column runs against the
    /// stored value (longer tenure = earlier start).
    pub fn inverted(self) -> bool {
        self == SortColumn::Tenure
    }
}

/// A position in the sorted list: the sort value and the customer's key.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub value: Value,
    pub cid: i64,
}

impl Key {
    /// The sort value as a number (None for a text or a missing value).
    pub fn number(&self) -> Option<f64> {
        match self.value {
            Value::Real(f) => Some(f),
            Value::Integer(i) => Some(i as f64),
            _ => None,
        }
    }
}

/// Where a page starts, in display order.
#[derive(Debug, Clone, PartialEq)]
pub enum Seek {
    First,
    Last,
    After(Key),
    Before(Key),
    /// From this key on, itself included (reloading a window in place).
    From(Key),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub sort: SortColumn,
    /// Descending in display terms.
    pub descending: bool,
    /// Case-insensitive substring of id, name or e-mail.
    pub filter: Option<String>,
    /// Only customers with a churn probability in [lo, hi) (the churn screen's bands).
    pub churn_band: Option<(f64, f64)>,
    /// Only customers in this RFM segment (the CLV screen's filter).
    pub rfm_segment: Option<String>,
    /// Only customers in this behavioural cluster of the latest
    /// `crmtop clusters` run (`:cluster N`).
    pub cluster: Option<u32>,
    pub seek: Seek,
    pub limit: usize,
    /// `--mask-pii`: the text filter matches ids only (matching masked
    /// names or e-mails would confirm who a masked customer is).
    pub ids_only: bool,
    /// Leave out lapsed customers (see `dashboard::is_lapsed`): those
    /// labelled churned, and those whose last order is before this.
    pub skip_lapsed: Option<i64>,
}

impl ListQuery {
    pub fn new(sort: SortColumn, descending: bool) -> Self {
        ListQuery {
            ids_only: false,
            skip_lapsed: None,
            sort,
            descending,
            filter: None,
            churn_band: None,
            rfm_segment: None,
            cluster: None,
            seek: Seek::First,
            limit: 100,
        }
    }
}

/// One row of the customer list.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub cid: i64,
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub segment: Option<String>,
    pub plan: Option<String>,
    pub since: Option<i64>,
    pub last_order: Option<i64>,
    pub n_orders: i64,
    pub revenue: f64,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub rfm_segment: Option<String>,
    pub key: Key,
}

/// `%text%` with LIKE's wildcards escaped.
pub fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}
