//! The customer lists on PostgreSQL (the Customers and Churn screens):
//! keyset pages in any shown column's order, as on a file (never OFFSET:
//! each page is an index seek plus its rows), the counts beside them, and
//! the drivers of the rows a page shows.
//!
//! Orders match the file's: ids and texts by bytes (`COLLATE "C"`), names
//! without regard to ASCII case (SQLite's NOCASE), a missing value before
//! every value, ties by key. A nullable column is walked as (present,
//! value, key) on an index of those three (schema pg 5). The churn, CLV
//! and RFM-segment orders walk the active figures' index (schema pg 5 and
//! 8), then the customers without a figure (ranked below every figure, as
//! the file ranks them). The filters a page and its count share, and how
//! a filtered page is asked: `filters`.

mod filters;

use super::memo::{remembered, Memo};
use super::Pg;
use crate::error::{Error, Result};
use crate::store::list::{CustomerRow, Key, ListQuery, Seek, SortColumn};
use crate::store::search::Hits;
use crate::store::sql::{Row, Sql};
use filters::{conds, page_rows, Conds};
pub use filters::{count, count_by_bits, TextBy};
use rusqlite::types::Value;

const COLS: &str = "c.cid, c.id, c.name, c.email, c.segment, c.plan, c.since, c.last_order, \
                    c.n_orders, c.revenue, ac.prob, av.clv, av.segment";

/// How a column is walked: its value expression (as the index holds it)
/// and whether it can be missing (then walked behind a presence flag).
fn walked(sort: SortColumn) -> Result<(&'static str, bool)> {
    Ok(match sort {
        SortColumn::Id => ("(c.id COLLATE \"C\")", false),
        SortColumn::Name => ("lower(COALESCE(c.name, '') COLLATE \"C\")", true),
        SortColumn::Segment => ("(COALESCE(c.segment, '') COLLATE \"C\")", true),
        SortColumn::Plan => ("(COALESCE(c.plan, '') COLLATE \"C\")", true),
        SortColumn::Tenure => ("COALESCE(c.since, 0)", true),
        SortColumn::LastOrder => ("COALESCE(c.last_order, 0)", true),
        SortColumn::Orders => ("c.n_orders", false),
        SortColumn::Revenue => ("c.revenue", false),
        SortColumn::Churn | SortColumn::Clv | SortColumn::Rfm => {
            return Err(Error::Other(format!(
                "{} is walked as a ranking",
                sort.title()
            )))
        }
    })
}

/// An order walked in two parts: the rows of the active figures that have
/// a value, by (value, key) on the figures' index, then the customers
/// without one, by key (below every value, as a file ranks them).
struct Ranked {
    /// The figures joined to their customers (and the other figures).
    from: &'static str,
    /// The value as the index holds it.
    value: &'static str,
    /// The figures' key column.
    key: &'static str,
    /// The value's type, for the missing ones' NULL.
    null: &'static str,
    /// The figures' table alone (under the alias `value` names).
    figures: &'static str,
    /// The dashboard's count of the customers without a value.
    unvalued: fn(&crate::store::dashboard::Unvalued) -> i64,
}

fn ranked(sort: SortColumn) -> Option<Ranked> {
    const BY_CLV: &str = "active_clv av JOIN customers c ON c.cid = av.cid \
                          LEFT JOIN active_churn ac ON ac.cid = c.cid";
    match sort {
        SortColumn::Churn => Some(Ranked {
            from: "active_churn ac JOIN customers c ON c.cid = ac.cid \
                   LEFT JOIN active_clv av ON av.cid = c.cid",
            value: "ac.prob",
            key: "ac.cid",
            null: "NULL::float8",
            figures: "active_churn ac",
            unvalued: |u| u.churn,
        }),
        SortColumn::Clv => Some(Ranked {
            from: BY_CLV,
            value: "av.clv",
            key: "av.cid",
            null: "NULL::float8",
            figures: "active_clv av",
            unvalued: |u| u.clv,
        }),
        SortColumn::Rfm => Some(Ranked {
            from: BY_CLV,
            value: "(av.segment COLLATE \"C\")",
            key: "av.cid",
            null: "NULL::text",
            figures: "active_clv av",
            unvalued: |u| u.segment,
        }),
        _ => None,
    }
}

/// The column whose presence the flag tests.
fn present(sort: SortColumn) -> &'static str {
    match sort {
        SortColumn::Name => "c.name",
        SortColumn::Segment => "c.segment",
        SortColumn::Plan => "c.plan",
        SortColumn::Tenure => "c.since",
        SortColumn::LastOrder => "c.last_order",
        _ => "NULL",
    }
}

const FROM: &str = "customers c LEFT JOIN active_churn ac ON ac.cid = c.cid \
                    LEFT JOIN active_clv av ON av.cid = c.cid";

/// A page's rows joined to its keys (`k.k`, from a walk's subquery).
const FROM_KEYS: &str = "customers c ON c.cid = k.k LEFT JOIN active_churn ac ON ac.cid = c.cid \
                         LEFT JOIN active_clv av ON av.cid = c.cid";

fn customer_row(r: &Row, key: Value) -> Result<CustomerRow> {
    Ok(CustomerRow {
        cid: r.i64(0)?,
        id: r.text(1)?,
        name: r.opt_text(2)?,
        email: r.opt_text(3)?,
        segment: r.opt_text(4)?,
        plan: r.opt_text(5)?,
        since: r.opt_i64(6)?,
        last_order: r.opt_i64(7)?,
        n_orders: r.i64(8)?,
        revenue: r.f64(9)?,
        churn_prob: r.opt_f64(10)?,
        clv: r.opt_f64(11)?,
        rfm_segment: r.opt_text(12)?,
        key: Key {
            value: key,
            cid: r.i64(0)?,
        },
    })
}

/// Where a walk starts: after (or from) a key, in the walk's direction.
struct Bound<'a> {
    key: &'a Key,
    inclusive: bool,
}

/// The walk a seek asks for: its direction in the table's order (true:
/// descending), its bound, and whether the rows come back reversed.
fn walk_of(q: &ListQuery) -> (bool, Option<Bound<'_>>, bool) {
    let desc = q.descending != q.sort.inverted();
    match &q.seek {
        Seek::First => (desc, None, false),
        Seek::Last => (!desc, None, true),
        Seek::After(k) => (
            desc,
            Some(Bound {
                key: k,
                inclusive: false,
            }),
            false,
        ),
        Seek::From(k) => (
            desc,
            Some(Bound {
                key: k,
                inclusive: true,
            }),
            false,
        ),
        Seek::Before(k) => (
            !desc,
            Some(Bound {
                key: k,
                inclusive: false,
            }),
            true,
        ),
    }
}

fn cmp(desc: bool, inclusive: bool) -> &'static str {
    match (desc, inclusive) {
        (false, false) => ">",
        (false, true) => ">=",
        (true, false) => "<",
        (true, true) => "<=",
    }
}

/// One page of customers in display order.
pub fn page(pg: &Pg, q: &ListQuery, hits: Option<&Hits>) -> Result<Vec<CustomerRow>> {
    page_by(pg, q, TextBy::of(hits))
}

/// `page` with the text's matches asked for `by` in a column's order (a
/// ranking asks by the text; the tests compare every way).
pub fn page_by(pg: &Pg, q: &ListQuery, by: TextBy) -> Result<Vec<CustomerRow>> {
    let (desc, bound, reverse) = walk_of(q);
    // No match in the in-memory search: no page to ask for (a walk would
    // read the whole order to find none).
    if let TextBy::Keys(h) = by {
        if h.is_empty() && q.filter.as_deref().is_some_and(|t| !t.is_empty()) {
            return Ok(Vec::new());
        }
    }
    let mut rows = match ranked(q.sort) {
        // A ranking's walk joins the figures to the customers row by row,
        // asked by the matches when the in-memory search gave them: by the
        // folded text (schema pg 16), a rare text of two letters read the
        // whole ranking (`zq` at 1M: 7.3 s; `lukasz` 343 ms).
        Some(r) => ranked_walk(pg, q, &r, by, desc, bound)?,
        None => column_walk(pg, q, by, desc, bound)?,
    };
    if reverse {
        rows.reverse();
    }
    Ok(rows)
}

/// A page in id order of a text filter's matches, picked from the
/// in-memory search (`idx`, of the data version the server is at: the
/// caller checks) and read by key: a walk of the ids' index reads past
/// every customer who does not match (`c00` among 1M ids sorted
/// descending, 100,000 matches at the far end: 184 ms). None where the
/// page asks more than the text (a cluster, a band, a segment, the
/// lapsed left out) or is not in id order: it is walked.
pub fn page_from_index(
    pg: &Pg,
    q: &ListQuery,
    idx: &crate::store::search::SearchIndex,
    hits: &Hits,
) -> Result<Option<Vec<CustomerRow>>> {
    let only_text = q.sort == SortColumn::Id
        && q.filter.as_deref().is_some_and(|t| !t.is_empty())
        && q.cluster.is_none()
        && q.rfm_segment.is_none()
        && q.churn_band.is_none()
        && q.skip_lapsed.is_none();
    if !only_text {
        return Ok(None);
    }
    let (desc, bound, reverse) = walk_of(q);
    let after = bound.map(|b| (b.key.cid, b.inclusive));
    let Some(keys) = idx.first_by_id(hits, desc, after, q.limit) else {
        return Ok(None);
    };
    if keys.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let list: Vec<String> = keys.iter().map(i64::to_string).collect();
    // sql-format-ok: constant columns; the keys are a parameter.
    let text = format!("SELECT {COLS}, c.id FROM {FROM} WHERE c.cid = ANY(?1)");
    let rows = pg.rows(&text, &[Value::Text(format!("{{{}}}", list.join(",")))])?;
    let mut by_key: std::collections::HashMap<i64, CustomerRow> = Default::default();
    for r in &rows {
        let row = customer_row(r, r.0.get(13).cloned().unwrap_or(Value::Null))?;
        by_key.insert(row.cid, row);
    }
    let mut out: Vec<CustomerRow> = keys.iter().filter_map(|k| by_key.remove(k)).collect();
    if reverse {
        out.reverse();
    }
    Ok(Some(out))
}

/// A walk of a customers column's index.
fn column_walk(
    pg: &Pg,
    q: &ListQuery,
    by: TextBy,
    desc: bool,
    bound: Option<Bound>,
) -> Result<Vec<CustomerRow>> {
    let (val, nullable) = walked(q.sort)?;
    let Conds {
        mut sql,
        mut params,
    } = conds(q, by)?;
    let dir = if desc { "DESC" } else { "ASC" };
    let flag = format!("({} IS NOT NULL)", present(q.sort));
    if let Some(b) = &bound {
        let op = cmp(desc, b.inclusive);
        let n = params.len();
        if nullable {
            let (f, v) = split_key(&b.key.value, q.sort);
            params.extend([Value::Integer(f.into()), v, Value::Integer(b.key.cid)]);
            // sql-format-ok: a constant expression and numbered placeholders.
            sql.push_str(&format!(
                " AND ({flag}, {val}, c.cid) {op} (?{}, ?{}, ?{})",
                n + 1,
                n + 2,
                n + 3
            ));
        } else {
            params.extend([b.key.value.clone(), Value::Integer(b.key.cid)]);
            // sql-format-ok: a constant expression and numbered placeholders.
            sql.push_str(&format!(
                " AND ({val}, c.cid) {op} (?{}, ?{})",
                n + 1,
                n + 2
            ));
        }
    }
    params.push(Value::Integer(q.limit as i64));
    let lim = params.len();
    let where_ = sql.strip_prefix(" AND ").unwrap_or("true");
    // The page's keys first, walked on the column's index alone when the
    // filters ask only of the customers' keys (a text's matches, a
    // cluster): their rows are read for the page only. `c00`'s 100,000
    // matches at the far end of ids sorted descending: 483 ms walking the
    // rows, 81 ms walking the index. The churn band and the RFM segment
    // are the figures': those walks join them.
    let figures = q.churn_band.is_some() || q.rfm_segment.is_some();
    let walked_from = if figures { FROM } else { "customers c" };
    let text = if nullable {
        // sql-format-ok: constant columns, expressions and numbered placeholders.
        format!(
            "SELECT {COLS}, CASE WHEN k.f THEN k.v END FROM
               (SELECT c.cid AS k, {flag} AS f, {val} AS v FROM {walked_from} WHERE {where_}
                 ORDER BY {flag} {dir}, {val} {dir}, c.cid {dir} LIMIT ?{lim}) k
              JOIN {FROM_KEYS}
              ORDER BY k.f {dir}, k.v {dir}, k.k {dir}"
        )
    } else {
        // sql-format-ok: constant columns, expressions and numbered placeholders.
        format!(
            "SELECT {COLS}, k.v FROM
               (SELECT c.cid AS k, {val} AS v FROM {walked_from} WHERE {where_}
                 ORDER BY {val} {dir}, c.cid {dir} LIMIT ?{lim}) k
              JOIN {FROM_KEYS}
              ORDER BY k.v {dir}, k.k {dir}"
        )
    };
    page_rows(pg, q, by, &text, &params)?
        .iter()
        .map(|r| customer_row(r, r.0.get(13).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// A key's value as the walk compares it: (present, value), the value of
/// a missing one being the expression's stand-in ('' or 0).
fn split_key(v: &Value, sort: SortColumn) -> (bool, Value) {
    match v {
        Value::Null => (
            false,
            match sort {
                SortColumn::Tenure | SortColumn::LastOrder => Value::Integer(0),
                _ => Value::Text(String::new()),
            },
        ),
        other => (true, other.clone()),
    }
}

/// A ranking's order: the active figures by (value, key), then the
/// customers without one (by key), who rank below every value.
fn ranked_walk(
    pg: &Pg,
    q: &ListQuery,
    r: &Ranked,
    by: TextBy,
    desc: bool,
    bound: Option<Bound>,
) -> Result<Vec<CustomerRow>> {
    let unscored_key = bound.as_ref().and_then(|b| match b.key.value {
        Value::Null => Some(b.key.cid),
        _ => None,
    });
    // In the walk's direction: ascending, the unscored come first.
    let scored_first = desc;
    let mut out = Vec::new();
    let parts: [bool; 2] = if scored_first {
        [true, false]
    } else {
        [false, true]
    };
    for scored in parts {
        if out.len() >= q.limit {
            break;
        }
        // A bound in the other part: this one is wholly before it (skipped)
        // or wholly after it (walked from its start).
        let this_bound = match (&bound, scored, unscored_key) {
            (None, _, _) => None,
            (Some(b), true, None) | (Some(b), false, Some(_)) => Some(b),
            (Some(_), true, Some(_)) => {
                // Unscored key: the scored lie after it only ascending.
                if desc {
                    continue;
                }
                None
            }
            (Some(_), false, None) => {
                // Scored key: the unscored lie after it only descending.
                if !desc {
                    continue;
                }
                None
            }
        };
        // A band asks for a score, a segment filter for a segment: no
        // customer without the figure matches.
        let needs_value = match q.sort {
            SortColumn::Churn => q.churn_band.is_some(),
            SortColumn::Rfm => q.rfm_segment.is_some(),
            _ => false,
        };
        if !scored && (needs_value || !any_unvalued(pg, r)?) {
            continue;
        }
        let Conds {
            mut sql,
            mut params,
        } = conds(q, by)?;
        let dir = if desc { "DESC" } else { "ASC" };
        if let Some(b) = this_bound {
            let op = cmp(desc, b.inclusive);
            let n = params.len();
            if scored {
                params.extend([b.key.value.clone(), Value::Integer(b.key.cid)]);
                // sql-format-ok: numbered placeholders only.
                sql.push_str(&format!(
                    " AND ({}, {}) {op} (?{}, ?{})",
                    r.value,
                    r.key,
                    n + 1,
                    n + 2
                ));
            } else {
                params.push(Value::Integer(b.key.cid));
                // sql-format-ok: numbered placeholders only.
                sql.push_str(&format!(" AND c.cid {op} ?{}", n + 1));
            }
        }
        params.push(Value::Integer((q.limit - out.len()) as i64));
        let lim = params.len();
        let (from, value, key, null) = (r.from, r.value, r.key, r.null);
        let text = if scored {
            // The page's keys first, then their rows: the walk's filters
            // read indexes only (the lapsed customers' columns are beside
            // the key, schema pg 15), and only the page's rows are read
            // from the customers table.
            // sql-format-ok: constant columns and numbered placeholders.
            format!(
                "SELECT {COLS}, k.v FROM (SELECT {key} AS k, {value} AS v FROM {from}
                  WHERE {value} IS NOT NULL{sql}
                  ORDER BY {value} {dir}, {key} {dir} LIMIT ?{lim}) k
                 JOIN {FROM_KEYS}
                 ORDER BY k.v {dir}, k.k {dir}"
            )
        } else {
            // sql-format-ok: constant columns and numbered placeholders.
            format!(
                "SELECT {COLS}, {null} FROM {FROM}
                  WHERE {value} IS NULL{sql}
                  ORDER BY c.cid {dir} LIMIT ?{lim}"
            )
        };
        for row in page_rows(pg, q, by, &text, &params)? {
            out.push(customer_row(
                &row,
                row.0.get(13).cloned().unwrap_or(Value::Null),
            )?);
        }
    }
    Ok(out)
}

/// Whether any customer has no value in a ranking. Asked once per data
/// version (schema pg 6), database and ranking, where the walk's unvalued
/// part is asked at each page that reaches it. Counted on both sides'
/// indexes (the figures are of customers, one row each, and customers are
/// never deleted): an anti-join read every customer beside the figures,
/// 0.45 s at a million against 0.1 s.
/// The dashboard's tally counts them (it reads every customer beside the
/// figures): its cache answers when it is of the data version now, as it
/// is after every job, which prepares the dashboard.
fn any_unvalued(pg: &Pg, r: &Ranked) -> Result<bool> {
    static SEEN: Memo = Memo::new(Vec::new());
    Ok(remembered(&SEEN, pg, r.value, || {
        if let Some(u) = super::dashboard::cached_unvalued(pg)? {
            return Ok((r.unvalued)(&u));
        }
        // sql-format-ok: constant tables and expressions.
        let text = format!(
            "SELECT (SELECT count(*) FROM customers) - (SELECT count(*) FROM {} WHERE {} IS NOT NULL)",
            r.figures, r.value
        );
        pg.count(&text, &[])
    })? > 0)
}

/// The latest order in the data (the lapsed customers' cutoff is counted
/// back from it).
pub fn latest_order(pg: &Pg) -> Result<Option<i64>> {
    Ok(pg
        .row("SELECT max(last_order) FROM customers", &[])?
        .map(|r| r.opt_i64(0))
        .transpose()?
        .flatten())
}

/// The drivers JSON of the given customers under a model version.
pub fn drivers_of(
    pg: &Pg,
    model_id: i64,
    cids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    let mut out = std::collections::HashMap::new();
    if cids.is_empty() {
        return Ok(out);
    }
    // One statement for the page: the keys as a text array literal.
    let list = cids
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",");
    for r in pg.rows(
        "SELECT cid, drivers FROM churn_scores WHERE model_id = ?1 AND cid = ANY(CAST(CAST(?2 AS text) AS bigint[]))",
        &[Value::Integer(model_id), Value::Text(format!("{{{list}}}"))],
    )? {
        out.insert(r.i64(0)?, r.text(1)?);
    }
    Ok(out)
}
