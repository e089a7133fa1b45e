//! Paging through the customer list sorted by any shown column, with keyset
//! pagination (never OFFSET): each page is an index seek plus `limit` rows,
//! whether it is the first page or the millionth.

use crate::error::Result;
use rusqlite::types::Value;
use rusqlite::{params, Connection};

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

    /// The indexed expression behind the column (constants only).
    fn expr(self) -> &'static str {
        match self {
            SortColumn::Id => "c.id",
            SortColumn::Name => "c.name COLLATE NOCASE",
            SortColumn::Segment => "c.segment",
            SortColumn::Plan => "c.plan",
            SortColumn::Tenure => "c.since",
            SortColumn::LastOrder => "c.last_order",
            SortColumn::Orders => "c.n_orders",
            SortColumn::Revenue => "c.revenue",
            SortColumn::Churn => "c.churn_prob",
            SortColumn::Clv => "c.clv",
            SortColumn::Rfm => "c.rfm_segment",
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
    pub seek: Seek,
    pub limit: usize,
}

impl ListQuery {
    pub fn new(sort: SortColumn, descending: bool) -> Self {
        ListQuery {
            sort,
            descending,
            filter: None,
            churn_band: None,
            rfm_segment: None,
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

const COLS: &str =
    "c.cid, c.id, c.name, c.email, c.segment, c.plan, c.since, c.last_order, c.n_orders, \
                    c.revenue, c.churn_prob, c.clv, c.rfm_segment";

/// `?1` filter pattern, `?2`/`?3` churn band, `?4` RFM segment: each NULL when unused.
const WHERE: &str = "(?1 IS NULL OR c.id LIKE ?1 ESCAPE '\\' OR c.name LIKE ?1 ESCAPE '\\' OR c.email LIKE ?1 ESCAPE '\\') \
                     AND (?2 IS NULL OR (c.churn_prob >= ?2 AND c.churn_prob < ?3)) \
                     AND (?4 IS NULL OR c.rfm_segment = ?4)";

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

fn read_row(r: &rusqlite::Row, sort_idx: usize) -> rusqlite::Result<CustomerRow> {
    Ok(CustomerRow {
        cid: r.get(0)?,
        id: r.get(1)?,
        name: r.get(2)?,
        email: r.get(3)?,
        segment: r.get(4)?,
        plan: r.get(5)?,
        since: r.get(6)?,
        last_order: r.get(7)?,
        n_orders: r.get(8)?,
        revenue: r.get(9)?,
        churn_prob: r.get(10)?,
        clv: r.get(11)?,
        rfm_segment: r.get(12)?,
        key: Key {
            value: r.get(sort_idx)?,
            cid: r.get(0)?,
        },
    })
}

/// Which way to walk the index, and from where.
enum Walk {
    /// Ascending from the start, or from after a key.
    Up(Option<Key>),
    /// Descending from the end, or from before a key.
    Down(Option<Key>),
}

/// The key just before `k` in ascending index order (for an inclusive seek).
fn just_before(k: &Key) -> Key {
    Key {
        value: k.value.clone(),
        cid: k.cid - 1,
    }
}

/// One page of customers in display order.
pub fn page(conn: &Connection, q: &ListQuery) -> Result<Vec<CustomerRow>> {
    // Display order -> index direction.
    let asc = q.descending == q.sort.inverted();
    let walk = match (&q.seek, asc) {
        (Seek::First, true) | (Seek::Last, false) => Walk::Up(None),
        (Seek::First, false) | (Seek::Last, true) => Walk::Down(None),
        (Seek::After(k), true) | (Seek::Before(k), false) => Walk::Up(Some(k.clone())),
        (Seek::After(k), false) | (Seek::Before(k), true) => Walk::Down(Some(k.clone())),
        // Same sort value, the next-smaller (larger) cid: the row itself comes next.
        (Seek::From(k), true) => Walk::Up(Some(just_before(k))),
        (Seek::From(k), false) => Walk::Down(Some(Key {
            value: k.value.clone(),
            cid: k.cid + 1,
        })),
    };
    let reverse_result = matches!(q.seek, Seek::Last | Seek::Before(_));
    let mut rows = walk_index(conn, q, walk)?;
    if reverse_result {
        rows.reverse();
    }
    Ok(rows)
}

fn walk_index(conn: &Connection, q: &ListQuery, walk: Walk) -> Result<Vec<CustomerRow>> {
    let e = q.sort.expr();
    let sort_idx = 13;
    let filter = q
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(like_pattern);
    let (lo, hi) = match q.churn_band {
        Some((lo, hi)) => (Some(lo), Some(hi)),
        None => (None, None),
    };
    let seg = q.rfm_segment.as_deref();
    let limit = q.limit as i64;
    let run = |sql: &str, key: Option<&Key>, limit: i64| -> Result<Vec<CustomerRow>> {
        let mut st = conn.prepare_cached(sql)?;
        let (v, cid) = match key {
            Some(k) => (k.value.clone(), k.cid),
            None => (Value::Null, 0),
        };
        let rows = st.query_map(params![filter, lo, hi, seg, v, cid, limit], |r| {
            read_row(r, sort_idx)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    // sql-format-ok: the sort expression and column list are constants chosen by enum.
    let q_all_up = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND ?5 IS NULL AND ?6 = ?6 ORDER BY {e}, c.cid LIMIT ?7");
    // sql-format-ok: constants only.
    let q_all_down = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND ?5 IS NULL AND ?6 = ?6 ORDER BY {e} DESC, c.cid DESC LIMIT ?7");
    // sql-format-ok: constants only.
    let q_after_value = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND ({e}, c.cid) > (?5, ?6) ORDER BY {e}, c.cid LIMIT ?7");
    // sql-format-ok: constants only.
    let q_before_value = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND ({e}, c.cid) < (?5, ?6) ORDER BY {e} DESC, c.cid DESC LIMIT ?7");
    // sql-format-ok: constants only.
    let q_null_after = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND {e} IS NULL AND ?5 IS NULL AND c.cid > ?6 ORDER BY c.cid LIMIT ?7");
    // sql-format-ok: constants only.
    let q_null_before = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND {e} IS NULL AND ?5 IS NULL AND c.cid < ?6 ORDER BY c.cid DESC LIMIT ?7");
    // sql-format-ok: constants only.
    let q_not_null_up = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND {e} IS NOT NULL AND ?5 IS NULL AND ?6 = ?6 ORDER BY {e}, c.cid LIMIT ?7");
    // sql-format-ok: constants only.
    let q_null_down = format!("SELECT {COLS}, {e} FROM customers c WHERE {WHERE} AND {e} IS NULL AND ?5 IS NULL AND ?6 = ?6 ORDER BY c.cid DESC LIMIT ?7");
    match walk {
        Walk::Up(None) => run(&q_all_up, None, limit),
        Walk::Down(None) => run(&q_all_down, None, limit),
        // NULLs sort first: after a NULL come the remaining NULLs, then every value.
        Walk::Up(Some(k)) if k.value == Value::Null => {
            let mut rows = run(
                &q_null_after,
                Some(&Key {
                    value: Value::Null,
                    cid: k.cid,
                }),
                limit,
            )?;
            if rows.len() < q.limit {
                rows.extend(run(&q_not_null_up, None, limit - rows.len() as i64)?);
            }
            Ok(rows)
        }
        Walk::Up(Some(k)) => run(&q_after_value, Some(&k), limit),
        Walk::Down(Some(k)) if k.value == Value::Null => run(
            &q_null_before,
            Some(&Key {
                value: Value::Null,
                cid: k.cid,
            }),
            limit,
        ),
        // Before a value come smaller values, then the NULLs.
        Walk::Down(Some(k)) => {
            let mut rows = run(&q_before_value, Some(&k), limit)?;
            if rows.len() < q.limit {
                rows.extend(run(&q_null_down, None, limit - rows.len() as i64)?);
            }
            Ok(rows)
        }
    }
}

/// How many customers match a filter.
pub fn count(conn: &Connection, q: &ListQuery) -> Result<i64> {
    let filter = q
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(like_pattern);
    let (lo, hi) = match q.churn_band {
        Some((lo, hi)) => (Some(lo), Some(hi)),
        None => (None, None),
    };
    // sql-format-ok: the WHERE clause is a constant.
    let sql = format!("SELECT count(*) FROM customers c WHERE {WHERE}");
    let mut st = conn.prepare_cached(&sql)?;
    Ok(st.query_row(params![filter, lo, hi, q.rfm_segment], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::MIGRATIONS[0].1).unwrap();
        for i in 1..=57i64 {
            let p: Option<f64> = if i % 5 == 0 {
                None
            } else {
                Some((i % 7) as f64 / 10.0)
            };
            c.execute(
                "INSERT INTO customers(cid, id, name, churn_prob, n_orders) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![i, format!("K{i:03}"), format!("Name {}", i % 9), p, i % 4],
            )
            .unwrap();
        }
        c
    }

    /// Walking page by page forwards, and backwards from the end, visits
    /// every row exactly once, in the same order as a plain ORDER BY.
    #[test]
    fn keyset_pages_match_a_full_sort_for_every_column_and_direction() {
        let c = db();
        for sort in SortColumn::ALL {
            for descending in [false, true] {
                let mut q = ListQuery::new(sort, descending);
                q.limit = 1000;
                let all: Vec<i64> = page(&c, &q).unwrap().iter().map(|r| r.cid).collect();
                assert_eq!(all.len(), 57);
                q.limit = 6;
                let mut fwd = Vec::new();
                let mut seek = Seek::First;
                loop {
                    q.seek = seek;
                    let p = page(&c, &q).unwrap();
                    if p.is_empty() {
                        break;
                    }
                    seek = Seek::After(p.last().unwrap().key.clone());
                    fwd.extend(p.iter().map(|r| r.cid));
                }
                assert_eq!(fwd, all, "{sort:?} desc={descending} forwards");
                let mut back = Vec::new();
                let mut seek = Seek::Last;
                loop {
                    q.seek = seek;
                    let p = page(&c, &q).unwrap();
                    if p.is_empty() {
                        break;
                    }
                    seek = Seek::Before(p.first().unwrap().key.clone());
                    let mut ids: Vec<i64> = p.iter().map(|r| r.cid).collect();
                    ids.extend(back);
                    back = ids;
                }
                assert_eq!(back, all, "{sort:?} desc={descending} backwards");
                // Reloading from any row starts with that row.
                for (i, cid) in all.iter().enumerate().step_by(7) {
                    q.limit = 1000;
                    q.seek = Seek::First;
                    let key = page(&c, &q).unwrap()[i].key.clone();
                    q.seek = Seek::From(key);
                    let got: Vec<i64> = page(&c, &q).unwrap().iter().map(|r| r.cid).collect();
                    assert_eq!(
                        got,
                        all[i..].to_vec(),
                        "{sort:?} desc={descending} from {cid}"
                    );
                }
            }
        }
    }

    #[test]
    fn filters_and_bands() {
        let c = db();
        let mut q = ListQuery::new(SortColumn::Id, false);
        q.filter = Some("k00".into());
        assert_eq!(count(&c, &q).unwrap(), 9);
        q.filter = Some("50%".into());
        assert_eq!(count(&c, &q).unwrap(), 0);
        q.filter = None;
        q.churn_band = Some((0.5, 1.01));
        let rows = page(&c, &q).unwrap();
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.churn_prob.unwrap() >= 0.5));
        assert_eq!(like_pattern("a_b%"), "%a\\_b\\%%");
    }
}
