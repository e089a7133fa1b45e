//! Walking the sort order from a key: the keyset queries of a page, in
//! either direction, with the NULL sort values first; and the bit plan's
//! walk within a time budget, given up for the key plan.

use super::plan::{filters, sort_of, Active, Filters, Plan, COLS};
use super::*;
use rusqlite::params_from_iter;

pub(super) fn read_row(r: &rusqlite::Row, sort_idx: usize) -> rusqlite::Result<CustomerRow> {
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
pub(super) enum Walk {
    /// Ascending from the start, or from after a key.
    Up(Option<Key>),
    /// Descending from the end, or from before a key.
    Down(Option<Key>),
}

/// The key just before `k` in ascending index order (for an inclusive seek).
pub(super) fn just_before(k: &Key) -> Key {
    Key {
        value: k.value.clone(),
        cid: k.cid - 1,
    }
}

/// The bit plan, given up for the key plan after `budget` (checked every
/// `ops` virtual-machine steps).
pub(super) fn walk_within(
    conn: &Connection,
    q: &ListQuery,
    hits: Option<&Hits>,
    active: Active,
    budget: std::time::Duration,
    ops: i32,
) -> Result<Vec<CustomerRow>> {
    let deadline = std::time::Instant::now() + budget;
    conn.progress_handler(ops, Some(move || std::time::Instant::now() >= deadline));
    let r = page_walk(conn, q, &filters(q, hits, Plan::Bits, 4, active, None));
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
        return reverse_first_page(conn, q, hits, active);
    }
    page_walk(conn, q, &filters(q, hits, Plan::Keys, 4, active, None))
}

pub(super) fn is_interrupt<T>(r: &Result<T>) -> bool {
    matches!(r, Err(crate::error::Error::Db(e)) if e.is_interrupt())
}

/// The first page, found by walking the order from its far end: every
/// match in reverse, the last `limit` that pass the other conditions kept;
/// the walk ends as soon as all matches have been seen.
pub(super) fn reverse_first_page(
    conn: &Connection,
    q: &ListQuery,
    hits: Option<&Hits>,
    active: Active,
) -> Result<Vec<CustomerRow>> {
    let Some(h) = hits else {
        return page_walk(conn, q, &filters(q, None, Plan::Like, 4, active, None));
    };
    // The other conditions (risk band, segment) as a value, numbered from ?2.
    let mut rest = q.clone();
    rest.filter = None;
    let other = filters(&rest, None, Plan::Like, 2, active, None);
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
    let (e, _) = sort_of(q.sort, active, None);
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

pub(super) fn page_walk(conn: &Connection, q: &ListQuery, f: &Filters) -> Result<Vec<CustomerRow>> {
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
pub(super) fn walk_index(
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
