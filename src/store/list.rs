//! Paging through the customer list sorted by any shown column, with keyset
//! pagination (never OFFSET): each page is an index seek plus `limit` rows,
//! whether it is the first page or the millionth.

use super::search::Hits;
use crate::error::Result;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

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
            SortColumn::Churn => CHURN_RANK,
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

const COLS: &str =
    "c.cid, c.id, c.name, c.email, c.segment, c.plan, c.since, c.last_order, c.n_orders, \
                    c.revenue, (SELECT s.prob FROM active_churn s WHERE s.cid = c.cid), c.clv, c.rfm_segment";

/// The churn order is the active version's ranking (`store::scores`):
/// walked as `r`, joined to the customers by key.
const CHURN_RANK: &str = "r.prob";
const RANK_FROM: &str = "active_rank r CROSS JOIN customers c ON c.cid = r.cid";
/// A customer's place in the churn order where the ranking is not walked
/// (a few matching keys sorted in memory): the same value the ranking holds.
const CHURN_OF_C: &str = "coalesce((SELECT s.prob FROM active_churn s WHERE s.cid = c.cid), -1.0)";

/// The sort expression and the key's column of a query over `from`:
/// `rank` when it walks the churn ranking, `scored` when a version is active
/// (without one every churn value is missing: the list is in key order).
fn sort_of(sort: SortColumn, scored: bool, rank: bool) -> (&'static str, &'static str) {
    match (sort, scored, rank) {
        (SortColumn::Churn, false, _) => ("NULL", "c.cid"),
        (SortColumn::Churn, true, true) => (CHURN_RANK, "r.cid"),
        (SortColumn::Churn, true, false) => (CHURN_OF_C, "c.cid"),
        (other, _, _) => (other.expr(), "c.cid"),
    }
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

/// How the text filter is applied to a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// `LIKE '%text%'` on id, name and e-mail (no search index at hand).
    Like,
    /// Few matches: the query starts from their keys and sorts them.
    Keys,
    /// Many matches: the sort order is walked, rows tested against a bit set.
    Bits,
}

/// A query's conditions beyond the seek: its FROM clause, its WHERE terms
/// (each starting with " AND ") and their parameters, numbered from `first`.
struct Filters {
    from: &'static str,
    conds: String,
    params: Vec<Value>,
    /// The sort expression and the key's column over `from`.
    sort: &'static str,
    tie: &'static str,
}

/// Whether a page walks its index upwards.
fn walks_up(q: &ListQuery) -> bool {
    let asc = q.descending == q.sort.inverted();
    match q.seek {
        Seek::First | Seek::After(_) | Seek::From(_) => asc,
        Seek::Last | Seek::Before(_) => !asc,
    }
}

/// `scored`: a churn model is active. The churn ranking drives the query
/// when the list is sorted by churn, or when `count` asks for a risk band
/// (`rank_count`), unless a few keys do.
fn filters(
    q: &ListQuery,
    hits: Option<&Hits>,
    plan: Plan,
    first: usize,
    scored: bool,
    rank_count: bool,
) -> Filters {
    let text = q.filter.as_deref().filter(|t| !t.is_empty());
    let keys = matches!((text, hits, plan), (Some(_), Some(_), Plan::Keys));
    let rank = scored && !keys && (q.sort == SortColumn::Churn || rank_count);
    let (sort, tie) = sort_of(q.sort, scored, rank);
    let mut f = Filters {
        from: if rank { RANK_FROM } else { "customers c" },
        conds: String::new(),
        params: Vec::new(),
        sort,
        tie,
    };
    // The bit test first: it needs nothing but the key, which every index
    // holds, so rows that do not match never cost a table lookup.
    match (text, hits, plan) {
        (Some(_), Some(h), Plan::Keys) => {
            // Keys in the walk's direction: where the order follows the key
            // (ids, signup dates), SQLite's top-N sort then rejects almost
            // every row at once instead of replacing its heap's top.
            let mut keys = h.cids();
            if !walks_up(q) {
                keys.reverse();
            }
            let json = serde_json::to_string(&keys);
            f.params
                .push(Value::Text(json.unwrap_or_else(|_| "[]".into())));
            f.from = match first {
                1 => "json_each(?1) j CROSS JOIN customers c ON c.cid = j.value",
                _ => "json_each(?4) j CROSS JOIN customers c ON c.cid = j.value",
            };
        }
        (Some(_), Some(h), Plan::Bits) => {
            f.params.push(Value::Blob(h.bits.clone()));
            let i = first + f.params.len() - 1;
            // sql-format-ok: a parameter number; the value is bound.
            f.conds.push_str(&format!(" AND crmtop_bit(?{i}, c.cid)"));
        }
        _ => {}
    }
    if let Some((lo, hi)) = q.churn_band {
        f.params.push(Value::Real(lo));
        f.params.push(Value::Real(hi));
        let i = first + f.params.len() - 2;
        if rank {
            // sql-format-ok: parameter numbers; the values are bound.
            f.conds
                .push_str(&format!(" AND r.prob >= ?{i} AND r.prob < ?{}", i + 1));
        } else if scored {
            // sql-format-ok: parameter numbers; the values are bound.
            f.conds.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM active_churn s WHERE s.cid = c.cid AND s.prob >= ?{i} AND s.prob < ?{})",
                i + 1
            ));
        } else {
            // sql-format-ok: parameter numbers; the values are bound. No
            // model: no customer has a score in any band.
            f.conds
                .push_str(&format!(" AND NULL >= ?{i} AND NULL < ?{}", i + 1));
        }
    }
    if let Some(cutoff) = q.skip_lapsed {
        f.params.push(Value::Integer(cutoff));
        let i = first + f.params.len() - 1;
        // sql-format-ok: a parameter number; the value is bound.
        f.conds.push_str(&format!(
            " AND NOT (c.churned IS 1 OR (c.last_order IS NOT NULL AND c.last_order < ?{i}))"
        ));
    }
    if let Some(k) = q.cluster {
        f.params.push(Value::Integer(i64::from(k)));
        let i = first + f.params.len() - 1;
        // sql-format-ok: a parameter number; the value is bound.
        f.conds.push_str(&format!(
            " AND c.cid IN (SELECT cid FROM customer_clusters WHERE cluster = ?{i})"
        ));
    }
    if let Some(seg) = &q.rfm_segment {
        f.params.push(Value::Text(seg.clone()));
        let i = first + f.params.len() - 1;
        // sql-format-ok: a parameter number; the value is bound.
        f.conds.push_str(&format!(" AND c.rfm_segment = ?{i}"));
    }
    if let (Some(t), None) = (text, hits) {
        f.params.push(Value::Text(like_pattern(t)));
        let i = first + f.params.len() - 1;
        if q.ids_only {
            // sql-format-ok: a parameter number; the pattern is bound.
            f.conds
                .push_str(&format!(" AND c.id LIKE ?{i} ESCAPE '\\'"));
        } else {
            // sql-format-ok: a parameter number; the pattern is bound.
            f.conds.push_str(&format!(
                " AND (c.id LIKE ?{i} ESCAPE '\\' OR c.name LIKE ?{i} ESCAPE '\\' OR c.email LIKE ?{i} ESCAPE '\\')"
            ));
        }
    }
    f
}

/// Which plan a text filter gets. Measured on a million customers: a key
/// costs about 0.2 us (lookup and sort), a step along a sort index about
/// 0.06 us, and a page needs about limit * total / m steps; keys win while
/// m^2 < limit * total / 4.
fn choose(q: &ListQuery, hits: Option<&Hits>, total: i64) -> Plan {
    let Some(h) = hits else {
        return Plan::Like;
    };
    let m = h.len() as i64;
    let limit = q.limit.max(1) as i64;
    if m <= 1024 || m.saturating_mul(m) <= limit.saturating_mul(total) / 4 {
        Plan::Keys
    } else {
        Plan::Bits
    }
}

/// How long a walk of the sort order may take before the key plan is used
/// instead (matches bunched at the far end of the order: an id prefix
/// with the list sorted by id, descending).
const WALK_BUDGET: std::time::Duration = std::time::Duration::from_millis(12);

/// One page of customers in display order (the text filter by `LIKE`).
pub fn page(conn: &Connection, q: &ListQuery) -> Result<Vec<CustomerRow>> {
    page_with(conn, q, None)
}

/// One page of customers in display order; `hits` are the customers matching
/// the text filter, from the search index (`store::search`).
pub fn page_with(
    conn: &Connection,
    q: &ListQuery,
    hits: Option<&Hits>,
) -> Result<Vec<CustomerRow>> {
    page_plan(conn, q, hits, None)
}

fn max_cid(conn: &Connection) -> Result<i64> {
    Ok(conn
        .query_row("SELECT max(cid) FROM customers", [], |r| {
            r.get::<_, Option<i64>>(0)
        })?
        .unwrap_or(0))
}

fn page_plan(
    conn: &Connection,
    q: &ListQuery,
    hits: Option<&Hits>,
    forced: Option<Plan>,
) -> Result<Vec<CustomerRow>> {
    let has_text = q.filter.as_deref().is_some_and(|t| !t.is_empty());
    let plan = match (forced, has_text && hits.is_some()) {
        (Some(p), _) => p,
        (None, true) => choose(q, hits, max_cid(conn)?),
        (None, false) => Plan::Like,
    };
    let scored = super::models::active_id(conn)?.is_some();
    if plan == Plan::Bits && forced.is_none() {
        return walk_within(conn, q, hits, scored, WALK_BUDGET, 2_000);
    }
    page_walk(conn, q, &filters(q, hits, plan, 4, scored, false))
}

/// The bit plan, given up for the key plan after `budget` (checked every
/// `ops` virtual-machine steps).
fn walk_within(
    conn: &Connection,
    q: &ListQuery,
    hits: Option<&Hits>,
    scored: bool,
    budget: std::time::Duration,
    ops: i32,
) -> Result<Vec<CustomerRow>> {
    let deadline = std::time::Instant::now() + budget;
    conn.progress_handler(ops, Some(move || std::time::Instant::now() >= deadline));
    let r = page_walk(conn, q, &filters(q, hits, Plan::Bits, 4, scored, false));
    conn.progress_handler(0, None::<fn() -> bool>);
    if !is_interrupt(&r) {
        return r;
    }
    // The matches lie far along the order (an id prefix with the list sorted
    // by id, descending: the walk starts at the other end). For a first
    // page, walk the order backwards, where they come first, keeping the
    // last `limit` keys, then read those rows.
    // (At worst one pass over the sort index: 70 ms for a million rows,
    // where reading 100,000 matches by key can take several times that.)
    if q.seek == Seek::First {
        return reverse_first_page(conn, q, hits, scored);
    }
    page_walk(conn, q, &filters(q, hits, Plan::Keys, 4, scored, false))
}

fn is_interrupt<T>(r: &Result<T>) -> bool {
    matches!(r, Err(crate::error::Error::Db(rusqlite::Error::SqliteFailure(e, _)))
        if e.code == rusqlite::ErrorCode::OperationInterrupted)
}

/// The first page, found by walking the order from its far end: every
/// match in reverse, the last `limit` that pass the other conditions kept;
/// the walk ends as soon as all matches have been seen.
fn reverse_first_page(
    conn: &Connection,
    q: &ListQuery,
    hits: Option<&Hits>,
    scored: bool,
) -> Result<Vec<CustomerRow>> {
    let Some(h) = hits else {
        return page_walk(conn, q, &filters(q, None, Plan::Like, 4, scored, false));
    };
    // The other conditions (risk band, segment) as a value, numbered from ?2.
    let mut rest = q.clone();
    rest.filter = None;
    let other = filters(&rest, None, Plan::Like, 2, scored, false);
    let (e, t, from) = (other.sort, other.tie, other.from);
    let asc = q.descending == q.sort.inverted();
    // The display order walks up when `asc`; backwards is the other way.
    let back = if asc {
        format!("{e} DESC, {t} DESC")
    } else {
        format!("{e}, {t}")
    };
    // sql-format-ok: the sort expression and FROM clause are constants chosen by enum; the conditions hold only numbered parameters.
    let sql = format!(
        "SELECT c.cid, (1{}) FROM {from} WHERE crmtop_bit(?1, c.cid) ORDER BY {back}",
        other.conds
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut ps = vec![Value::Blob(h.bits.clone())];
    ps.extend(other.params);
    let mut rows = st.query(params_from_iter(ps))?;
    let mut last: std::collections::VecDeque<i64> = std::collections::VecDeque::new();
    let mut seen = 0usize;
    while let Some(r) = rows.next()? {
        seen += 1;
        if r.get::<_, bool>(1)? {
            last.push_back(r.get(0)?);
            if last.len() > q.limit {
                last.pop_front();
            }
        }
        if seen >= h.len() {
            break;
        }
    }
    drop(rows);
    // Those rows in display order (their keys, reversed, are in it).
    let keys: Vec<i64> = last.into_iter().rev().collect();
    let (e, _) = sort_of(q.sort, scored, false);
    let forward = if asc {
        format!("{e}, c.cid")
    } else {
        format!("{e} DESC, c.cid DESC")
    };
    let json = serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into());
    // sql-format-ok: the column list and sort expression are constants chosen by enum.
    let sql = format!(
        "SELECT {COLS}, {e} FROM json_each(?1) j CROSS JOIN customers c ON c.cid = j.value ORDER BY {forward}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([json], |r| read_row(r, 13))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn page_walk(conn: &Connection, q: &ListQuery, f: &Filters) -> Result<Vec<CustomerRow>> {
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
    let mut rows = walk_index(conn, q, f, walk)?;
    if reverse_result {
        rows.reverse();
    }
    Ok(rows)
}

/// `?1` sort value, `?2` cid and `?3` limit of the seek; filters from `?4`.
fn walk_index(
    conn: &Connection,
    q: &ListQuery,
    f: &Filters,
    walk: Walk,
) -> Result<Vec<CustomerRow>> {
    let (e, t) = (f.sort, f.tie);
    let sort_idx = 13;
    let limit = q.limit as i64;
    let run = |sql: &str, key: Option<&Key>, limit: i64| -> Result<Vec<CustomerRow>> {
        let mut st = conn.prepare_cached(sql)?;
        let (v, cid) = match key {
            Some(k) => (k.value.clone(), k.cid),
            None => (Value::Null, 0),
        };
        let mut ps = vec![v, Value::Integer(cid), Value::Integer(limit)];
        ps.extend(f.params.iter().cloned());
        let rows = st.query_map(params_from_iter(ps), |r| read_row(r, sort_idx))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let (from, w) = (f.from, &f.conds);
    // sql-format-ok: the sort expression, column list and FROM clause are constants chosen by enum; the conditions hold only numbered parameters.
    let q_all_up = format!("SELECT {COLS}, {e} FROM {from} WHERE 1{w} ORDER BY {e}, {t} LIMIT ?3");
    // sql-format-ok: as above.
    let q_all_down =
        format!("SELECT {COLS}, {e} FROM {from} WHERE 1{w} ORDER BY {e} DESC, {t} DESC LIMIT ?3");
    // sql-format-ok: as above.
    let q_after_value = format!(
        "SELECT {COLS}, {e} FROM {from} WHERE ({e}, {t}) > (?1, ?2){w} ORDER BY {e}, {t} LIMIT ?3"
    );
    // sql-format-ok: as above.
    let q_before_value = format!("SELECT {COLS}, {e} FROM {from} WHERE ({e}, {t}) < (?1, ?2){w} ORDER BY {e} DESC, {t} DESC LIMIT ?3");
    // sql-format-ok: as above.
    let q_null_after = format!(
        "SELECT {COLS}, {e} FROM {from} WHERE {e} IS NULL AND {t} > ?2{w} ORDER BY {t} LIMIT ?3"
    );
    // sql-format-ok: as above.
    let q_null_before = format!("SELECT {COLS}, {e} FROM {from} WHERE {e} IS NULL AND {t} < ?2{w} ORDER BY {t} DESC LIMIT ?3");
    // sql-format-ok: as above.
    let q_not_null_up = format!(
        "SELECT {COLS}, {e} FROM {from} WHERE {e} IS NOT NULL{w} ORDER BY {e}, {t} LIMIT ?3"
    );
    // sql-format-ok: as above.
    let q_null_down =
        format!("SELECT {COLS}, {e} FROM {from} WHERE {e} IS NULL{w} ORDER BY {t} DESC LIMIT ?3");
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

/// How many customers match a filter (the text filter by `LIKE`).
pub fn count(conn: &Connection, q: &ListQuery) -> Result<i64> {
    count_with(conn, q, None)
}

/// How many customers match a filter; `hits` as for `page_with`.
pub fn count_with(conn: &Connection, q: &ListQuery, hits: Option<&Hits>) -> Result<i64> {
    count_plan(conn, q, hits, None)
}

fn count_plan(
    conn: &Connection,
    q: &ListQuery,
    hits: Option<&Hits>,
    forced: Option<Plan>,
) -> Result<i64> {
    let has_text = q.filter.as_deref().is_some_and(|t| !t.is_empty());
    let only_text = q.churn_band.is_none() && q.rfm_segment.is_none();
    if let (Some(h), true, true, None) = (hits, has_text, only_text, forced) {
        return Ok(h.len() as i64);
    }
    // Counting visits every match: the key plan costs m lookups, the bit
    // plan a scan of the band's index; keys unless the matches are many.
    let plan = match (forced, has_text, hits) {
        (Some(p), _, _) => p,
        (None, true, Some(h)) if (h.len() as i64) * 4 <= max_cid(conn)? => Plan::Keys,
        (None, true, Some(_)) => Plan::Bits,
        _ => Plan::Like,
    };
    let scored = super::models::active_id(conn)?.is_some();
    // A risk band alone is a range of the active ranking.
    if let (Some((lo, hi)), true, false, None, None, None) = (
        q.churn_band,
        scored,
        has_text,
        &q.rfm_segment,
        q.skip_lapsed,
        q.cluster,
    ) {
        return Ok(conn.query_row(
            "SELECT count(*) FROM active_rank WHERE prob >= ?1 AND prob < ?2",
            [lo, hi],
            |r| r.get(0),
        )?);
    }
    // Only the conditions in use, so that SQLite counts from the smallest
    // index that answers (count(*) of a million rows: 5 ms, not 140 ms).
    // The sort does not matter to a count: the ranking is walked only for a band.
    let mut unsorted = q.clone();
    unsorted.sort = SortColumn::Id;
    let f = filters(
        &unsorted,
        hits.filter(|_| has_text),
        plan,
        1,
        scored,
        q.churn_band.is_some(),
    );
    // (No WHERE at all when nothing filters: SQLite then counts from the
    // smallest index.)
    let sql = match f.conds.strip_prefix(" AND ") {
        // sql-format-ok: a constant FROM clause; the conditions hold only numbered parameters.
        Some(conds) => format!("SELECT count(*) FROM {} WHERE {conds}", f.from),
        // sql-format-ok: a constant FROM clause.
        None => format!("SELECT count(*) FROM {}", f.from),
    };
    let mut st = conn.prepare_cached(&sql)?;
    let n = st.query_row(params_from_iter(f.params), |r| r.get(0))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        for (_, sql) in crate::store::MIGRATIONS {
            c.execute_batch(sql).unwrap();
        }
        let mut scores = Vec::new();
        for i in 1..=57i64 {
            if i % 5 != 0 {
                scores.push((i, (i % 7) as f64 / 10.0, "[]"));
            }
            c.execute(
                "INSERT INTO customers(cid, id, name, n_orders) VALUES (?1, ?2, ?3, ?4)",
                params![i, format!("K{i:03}"), format!("Name {}", i % 9), i % 4],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO models(id, kind, created_at, agent, as_of, window_days, label_source, n_train, n_test,
                                positive_rate, duration_ms, report, params)
             VALUES (1, 'logistic', 0, 't', '2025-01-01', 90, 't', 0, 0, 0, 0, 'null', '{}')",
            [],
        )
        .unwrap();
        crate::store::models::write_scores(&c, 1, scores).unwrap();
        crate::store::models::activate(&c, 1, crate::jobs::Ctl::silent()).unwrap();
        crate::store::scores::rebuild_rank(&c, 1).unwrap();
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

    /// The search-index plans (key list, bit set) return what LIKE returns,
    /// page by page, in every order, with and without a churn band.
    #[test]
    fn indexed_text_filter_matches_like() {
        let c = db();
        crate::store::search::register_functions(&c).unwrap();
        let idx = crate::store::search::SearchIndex::build(&c).unwrap();
        for text in ["k00", "name 3", "5", "K01", "zz"] {
            let hits = idx.search(text);
            for band in [None, Some((0.2, 0.6))] {
                for sort in SortColumn::ALL {
                    for descending in [false, true] {
                        let mut q = ListQuery::new(sort, descending);
                        q.filter = Some(text.into());
                        q.churn_band = band;
                        q.limit = 1000;
                        let want: Vec<i64> = page(&c, &q).unwrap().iter().map(|r| r.cid).collect();
                        let n = count(&c, &q).unwrap();
                        assert_eq!(n as usize, want.len());
                        for keys in [Some(Plan::Keys), Some(Plan::Bits), None] {
                            assert_eq!(count_plan(&c, &q, Some(&hits), keys).unwrap(), n);
                            q.limit = 4;
                            let mut got = Vec::new();
                            let mut seek = Seek::First;
                            loop {
                                q.seek = seek;
                                let p = page_plan(&c, &q, Some(&hits), keys).unwrap();
                                let Some(last) = p.last() else { break };
                                seek = Seek::After(last.key.clone());
                                got.extend(p.iter().map(|r| r.cid));
                            }
                            q.seek = Seek::First;
                            q.limit = 1000;
                            assert_eq!(got, want, "{text} {band:?} {sort:?} {descending} {keys:?}");
                        }
                    }
                }
            }
        }
    }

    /// A walk that runs out of time answers by the key plan, with the same rows.
    #[test]
    fn a_slow_walk_falls_back_to_keys() {
        let c = db();
        crate::store::search::register_functions(&c).unwrap();
        let hits = crate::store::search::SearchIndex::build(&c)
            .unwrap()
            .search("name");
        for (sort, desc) in [
            (SortColumn::Id, true),
            (SortColumn::Churn, true),
            (SortColumn::Churn, false),
            (SortColumn::Tenure, false),
        ] {
            let mut q = ListQuery::new(sort, desc);
            q.filter = Some("name".into());
            q.limit = 10;
            let want = page(&c, &q).unwrap();
            // A first page falls back to the backwards walk...
            let got = walk_within(&c, &q, Some(&hits), true, std::time::Duration::ZERO, 1).unwrap();
            assert_eq!(got, want);
            assert_eq!(reverse_first_page(&c, &q, Some(&hits), true).unwrap(), want);
            // ...a later page to the key plan.
            q.seek = Seek::After(want[3].key.clone());
            let want2 = page(&c, &q).unwrap();
            assert!(!want2.is_empty());
            let got2 =
                walk_within(&c, &q, Some(&hits), true, std::time::Duration::ZERO, 1).unwrap();
            assert_eq!(got2, want2);
            q.seek = Seek::First;
            // The progress handler is gone afterwards.
            assert_eq!(
                page_plan(&c, &q, Some(&hits), Some(Plan::Bits)).unwrap(),
                want
            );
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
