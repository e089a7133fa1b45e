//! The filters of a customer list on a server, shared by a page and its
//! count: the Churn screen's band, the CLV screen's segment, a cluster,
//! the lapsed customers left out, and the typed text, asked for by its
//! matches' keys when the in-memory search gave few, by their bitmap when
//! it gave many, else by the folded text (`crmtop_fold`, schema pg 16: the
//! test harness, which has no in-memory search); how a filtered page is asked (a walk of the
//! order within a budget, else its matches sorted); and the counts.

use crate::error::Result;
use crate::store::list::{like_pattern, ListQuery};
use crate::store::pg::memo::{remembered, Memo};
use crate::store::pg::Pg;
use crate::store::search::Hits;
use crate::store::sql::{Row, Sql};
use rusqlite::types::Value;

/// The filters every part of a page and its count share, with their
/// parameters numbered from 1.
pub(super) struct Conds {
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
}

/// Matches of a text filter up to which a page and its count ask for
/// them by key (`c.cid = ANY(...)`); more are asked for by their bitmap.
const BY_KEYS_MAX: usize = 5_000;

/// How a page or a count asks for a text filter's matches.
#[derive(Debug, Clone, Copy)]
pub enum TextBy<'a> {
    /// By the folded text (`crmtop_fold`, a scan): no in-memory search.
    Text,
    /// By the matches' keys (`c.cid = ANY(...)`, an `int8[]` the planner
    /// sees whole).
    Keys(&'a Hits),
    /// By the matches' bitmap (`get_bit` per row: cheaper than an `ILIKE`
    /// of the text, which lowers every row's text beyond ASCII).
    Bits(&'a Hits),
}

impl<'a> TextBy<'a> {
    /// By key up to `BY_KEYS_MAX` matches, else by bitmap; by the text
    /// without the in-memory search's matches.
    pub fn of(hits: Option<&'a Hits>) -> TextBy<'a> {
        match hits {
            None => TextBy::Text,
            Some(h) if h.len() <= BY_KEYS_MAX => TextBy::Keys(h),
            Some(h) => TextBy::Bits(h),
        }
    }
}

/// The filters of `q`, its text asked for `by`.
pub(super) fn conds(q: &ListQuery, by: TextBy) -> Result<Conds> {
    let mut sql = String::new();
    let mut params = Vec::new();
    if let Some(k) = q.cluster {
        params.push(Value::Integer(i64::from(k)));
        let i = params.len();
        // sql-format-ok: a numbered placeholder.
        sql.push_str(&format!(
            " AND c.cid IN (SELECT cid FROM customer_clusters WHERE cluster = ?{i})"
        ));
    }
    if let Some(seg) = &q.rfm_segment {
        params.push(Value::Text(seg.clone()));
        let i = params.len();
        // sql-format-ok: a numbered placeholder.
        sql.push_str(&format!(" AND av.segment = ?{i}"));
    }
    let text = q.filter.as_deref().filter(|t| !t.is_empty());
    if let (Some(_), TextBy::Bits(h)) = (text, by) {
        params.push(Value::Blob(h.bits.clone()));
        params.push(Value::Integer(h.bits.len() as i64 * 8));
        let i = params.len();
        // sql-format-ok: numbered placeholders; the bitmap is a parameter.
        sql.push_str(&format!(
            " AND c.cid >= 0 AND c.cid < ?{i} AND get_bit(?{}, c.cid) = 1",
            i - 1
        ));
    } else if let (Some(_), TextBy::Keys(h)) = (text, by) {
        let keys: Vec<String> = h.cids().iter().map(i64::to_string).collect();
        params.push(Value::Text(format!("{{{}}}", keys.join(","))));
        let i = params.len();
        // sql-format-ok: a numbered placeholder; the keys are its parameter.
        sql.push_str(&format!(" AND c.cid = ANY(?{i})"));
    } else if let Some(text) = text {
        // Folded on both sides, as the in-memory search folds them
        // (`store::fold`, schema pg 16).
        params.push(Value::Text(like_pattern(&crate::store::fold::fold(text))));
        let i = params.len();
        if q.ids_only {
            // sql-format-ok: a numbered placeholder; the text is its parameter.
            sql.push_str(&format!(" AND crmtop_fold(c.id) LIKE ?{i}"));
        } else {
            // sql-format-ok: a numbered placeholder; the text is its parameter.
            // (One text, its fields joined by a separator no filter holds.)
            sql.push_str(&format!(
                " AND (crmtop_fold(c.id) || E'\\x1f' || COALESCE(crmtop_fold(c.name), '') || E'\\x1f' || COALESCE(crmtop_fold(c.email), '')) LIKE ?{i}"
            ));
        }
    }
    if let Some(cut) = q.skip_lapsed {
        params.push(Value::Integer(cut));
        let i = params.len();
        // sql-format-ok: a numbered placeholder.
        sql.push_str(&format!(
            " AND NOT (c.churned IS NOT DISTINCT FROM 1 OR (c.last_order IS NOT NULL AND c.last_order < ?{i}))"
        ));
    }
    if let Some((lo, hi)) = q.churn_band {
        params.push(Value::Real(lo));
        params.push(Value::Real(hi));
        let i = params.len();
        // sql-format-ok: numbered placeholders.
        sql.push_str(&format!(" AND ac.prob >= ?{} AND ac.prob < ?{i}", i - 1));
    }
    Ok(Conds { sql, params })
}

/// How long a filtered page may walk its order before it is asked the
/// other way round: by the filter's text, and by its matches' keys (a
/// hashed lookup per row, and few matches to fetch after it).
const WALK_BUDGET: std::time::Duration = std::time::Duration::from_millis(50);
const KEYED_WALK_BUDGET: std::time::Duration = std::time::Duration::from_millis(25);

/// A page's rows. With a text filter, the order's index is walked for at
/// most a budget (a common text finds its first rows at once); a walk
/// that has not found them by then (the matches lie far along the order:
/// `c00` in ids sorted descending read 900,000 rows, 1.9 s) runs again
/// from the filter's matches, sorted: fetched by key when the in-memory
/// search gave few (`c000`'s 9,999
/// among ids sorted descending: 1 s walked, 35 ms fetched; `smi`'s 19,721,
/// spread along the order: 5 ms walked, 110 ms fetched). The planner
/// cannot tell the two apart: it does not know where the matches lie.
/// Many matches from the in-memory search are walked by their bitmap, then
/// sorted from a scan of it (`ü` took 583 ms walked by an `ILIKE` of the
/// text at 1M).
pub(super) fn page_rows(
    pg: &Pg,
    q: &ListQuery,
    by: TextBy,
    text: &str,
    params: &[Value],
) -> Result<Vec<Row>> {
    let texted = q.filter.as_deref().is_some_and(|t| !t.is_empty());
    let keyed = texted && matches!(by, TextBy::Keys(_));
    let bits = texted && matches!(by, TextBy::Bits(_));
    let filtered = keyed || bits || q.filter.as_deref().is_some_and(|t| t.chars().count() >= 3);
    if !filtered || pg.in_transaction() {
        return pg.rows(text, params);
    }
    let budget = if keyed {
        KEYED_WALK_BUDGET
    } else {
        WALK_BUDGET
    };
    if let Some(rows) = pg.rows_within(text, params, budget, "")? {
        return Ok(rows);
    }
    let sorted = if keyed {
        // The matches by their key's index, then sorted.
        "SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_seqscan = off"
    } else {
        "SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off"
    };
    Ok(pg
        .rows_within(text, params, std::time::Duration::from_secs(30), sorted)?
        .unwrap_or_default())
}

/// How many customers match a query's filters. Remembered per data
/// version: the screens ask again after every sort and jump, and counting
/// a million customers takes 50-60 ms, which a key pressed meanwhile
/// waited behind (the `G` after a `g` took 100 ms). A text filter's
/// matches from the in-memory search (`hits`) are counted there, or by key.
pub fn count(pg: &Pg, q: &ListQuery, hits: Option<&Hits>) -> Result<i64> {
    static SEEN: Memo = Memo::new(Vec::new());
    if let Some(h) = hits.filter(|_| q.filter.as_deref().is_some_and(|t| !t.is_empty())) {
        let text_only = q.cluster.is_none()
            && q.rfm_segment.is_none()
            && q.skip_lapsed.is_none()
            && q.churn_band.is_none();
        if text_only {
            return Ok(h.len() as i64);
        }
        let Conds { sql, params } = conds(q, TextBy::of(Some(h)))?;
        return count_now(pg, q, &sql, &params);
    }
    let Conds { sql, params } = conds(q, TextBy::Text)?;
    let key = format!("{} {sql} {params:?}", q.churn_band.is_some());
    remembered(&SEEN, pg, &key, || count_now(pg, q, &sql, &params))
}

/// `count` with a text's matches asked for by their bitmap, whatever their
/// number (`count`'s way beyond `BY_KEYS_MAX`; the tests compare it).
pub fn count_by_bits(pg: &Pg, q: &ListQuery, hits: &Hits) -> Result<i64> {
    let Conds { sql, params } = conds(q, TextBy::Bits(hits))?;
    count_now(pg, q, &sql, &params)
}

fn count_now(pg: &Pg, q: &ListQuery, sql: &str, params: &[Value]) -> Result<i64> {
    if sql.is_empty() {
        return pg.count("SELECT count(*) FROM customers", &[]);
    }
    let where_ = sql.strip_prefix(" AND ").unwrap_or("true");
    // The figures are joined only when a band or a segment asks for them.
    let from = match (q.churn_band.is_some(), q.rfm_segment.is_some()) {
        (false, false) => "customers c",
        (true, false) => "customers c JOIN active_churn ac ON ac.cid = c.cid",
        (false, true) => "customers c JOIN active_clv av ON av.cid = c.cid",
        (true, true) => {
            "customers c JOIN active_churn ac ON ac.cid = c.cid JOIN active_clv av ON av.cid = c.cid"
        }
    };
    // sql-format-ok: constant joins and numbered placeholders.
    let text = format!("SELECT count(*) FROM {from} WHERE {where_}");
    pg.count(&text, params)
}
