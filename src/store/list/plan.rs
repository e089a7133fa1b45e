//! How a list query is built: the FROM clause, the sort expression and
//! key column (the churn order walks the active ranking), the conditions
//! with their numbered parameters, and which plan a text filter gets.

use super::*;

pub(super) const COLS: &str =
    "c.cid, c.id, c.name, c.email, c.segment, c.plan, c.since, c.last_order, c.n_orders, \
                    c.revenue, (SELECT s.prob FROM active_churn s WHERE s.cid = c.cid), c.clv, c.rfm_segment";

/// The churn order is the active version's ranking (`store::scores`):
/// walked as `r`, joined to the customers by key.
pub(super) const CHURN_RANK: &str = "r.prob";
pub(super) const RANK_FROM: &str = "active_rank r CROSS JOIN customers c ON c.cid = r.cid";
/// A customer's place in the churn order where the ranking is not walked
/// (a few matching keys sorted in memory): the same value the ranking holds.
pub(super) const CHURN_OF_C: &str =
    "coalesce((SELECT s.prob FROM active_churn s WHERE s.cid = c.cid), -1.0)";

/// The sort expression and the key's column of a query over `from`:
/// `rank` when it walks the churn ranking, `scored` when a version is active
/// (without one every churn value is missing: the list is in key order).
pub(super) fn sort_of(sort: SortColumn, scored: bool, rank: bool) -> (&'static str, &'static str) {
    match (sort, scored, rank) {
        (SortColumn::Churn, false, _) => ("NULL", "c.cid"),
        (SortColumn::Churn, true, true) => (CHURN_RANK, "r.cid"),
        (SortColumn::Churn, true, false) => (CHURN_OF_C, "c.cid"),
        (other, _, _) => (other.expr(), "c.cid"),
    }
}

/// How the text filter is applied to a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// `LIKE '%text%'` on id, name and e-mail (no search index at hand).
    Like,
    /// Few matches: the query starts from their keys and sorts them.
    Keys,
    /// Many matches: the sort order is walked, rows tested against a bit set.
    Bits,
}

/// A query's conditions beyond the seek: its FROM clause, its WHERE terms
/// (each starting with " AND ") and their parameters, numbered from `first`.
pub(super) struct Filters {
    pub(super) from: &'static str,
    pub(super) conds: String,
    pub(super) params: Vec<Value>,
    /// The sort expression and the key's column over `from`.
    pub(super) sort: &'static str,
    pub(super) tie: &'static str,
}

/// Whether a page walks its index upwards.
pub(super) fn walks_up(q: &ListQuery) -> bool {
    let asc = q.descending == q.sort.inverted();
    match q.seek {
        Seek::First | Seek::After(_) | Seek::From(_) => asc,
        Seek::Last | Seek::Before(_) => !asc,
    }
}

/// `scored`: a churn model is active. The churn ranking drives the query
/// when the list is sorted by churn, or when `count` asks for a risk band
/// (`rank_count`), unless a few keys do.
pub(super) fn filters(
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
pub(super) fn choose(q: &ListQuery, hits: Option<&Hits>, total: i64) -> Plan {
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
