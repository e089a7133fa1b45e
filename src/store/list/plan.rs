//! How a list query is built: the FROM clause, the sort expression and
//! key column (the churn order walks the active ranking), the conditions
//! with their numbered parameters, and which plan a text filter gets.

use super::*;

pub(super) const COLS: &str =
    "c.cid, c.id, c.name, c.email, c.segment, c.plan, c.since, c.last_order, c.n_orders, \
     c.revenue, (SELECT s.prob FROM active_churn s WHERE s.cid = c.cid), \
     (SELECT v.clv FROM active_clv v WHERE v.cid = c.cid), \
     (SELECT v.segment FROM active_clv v WHERE v.cid = c.cid)";

/// What is active: a churn model (its scores) and a CLV fit (its values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Active {
    pub(super) churn: bool,
    pub(super) clv: bool,
}

impl Active {
    pub(super) fn of(conn: &Connection) -> Result<Active> {
        Ok(Active {
            churn: super::super::models::active_id(conn)?.is_some(),
            clv: super::super::clv_values::active_fit(conn)?.is_some(),
        })
    }
}

/// The orders kept outside the customers table, each a ranking of the
/// active model or fit (`store::scores`, `store::clv_values`): walked as
/// `r`, joined to the customers by key. A customer without a value ranks
/// with the ranking's "missing" value, before every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ranking {
    Churn,
    Clv,
    Segment,
}

impl Ranking {
    pub(super) fn of(sort: SortColumn) -> Option<Ranking> {
        match sort {
            SortColumn::Churn => Some(Ranking::Churn),
            SortColumn::Clv => Some(Ranking::Clv),
            SortColumn::Rfm => Some(Ranking::Segment),
            _ => None,
        }
    }

    fn active(self, a: Active) -> bool {
        match self {
            Ranking::Churn => a.churn,
            Ranking::Clv | Ranking::Segment => a.clv,
        }
    }

    fn from(self) -> &'static str {
        match self {
            Ranking::Churn => "active_rank r CROSS JOIN customers c ON c.cid = r.cid",
            Ranking::Clv => "active_clv_rank r CROSS JOIN customers c ON c.cid = r.cid",
            Ranking::Segment => "active_segment_rank r CROSS JOIN customers c ON c.cid = r.cid",
        }
    }

    /// The walked ranking's value.
    fn expr(self) -> &'static str {
        match self {
            Ranking::Churn => "r.prob",
            Ranking::Clv => "r.clv",
            Ranking::Segment => "r.segment",
        }
    }

    /// A customer's place in the order where the ranking is not walked (a
    /// few matching keys sorted in memory): the same value the ranking holds.
    fn of_c(self) -> &'static str {
        // The missing values are the constants of store::scores::UNSCORED,
        // store::clv_values::NO_CLV and NO_SEGMENT (tested below).
        match self {
            Ranking::Churn => {
                "coalesce((SELECT s.prob FROM active_churn s WHERE s.cid = c.cid), -1.0)"
            }
            Ranking::Clv => {
                "coalesce((SELECT v.clv FROM active_clv v WHERE v.cid = c.cid), -1e300)"
            }
            Ranking::Segment => {
                "coalesce((SELECT v.segment FROM active_clv v WHERE v.cid = c.cid), '')"
            }
        }
    }
}

/// The sort expression and the key's column of a query that walks
/// `walked` (None: the customers table). Without an active model or fit
/// every value of its orders is missing: the list is in key order.
pub(super) fn sort_of(
    sort: SortColumn,
    active: Active,
    walked: Option<Ranking>,
) -> (&'static str, &'static str) {
    match Ranking::of(sort) {
        Some(k) if !k.active(active) => ("NULL", "c.cid"),
        Some(k) if walked == Some(k) => (k.expr(), "r.cid"),
        Some(k) => (k.of_c(), "c.cid"),
        None => (sort.expr(), "c.cid"),
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

/// The ranking of the sort column drives the query when its model or fit
/// is active, or the ranking `count_by` when a count asks for it (a risk
/// band, an RFM segment), unless a few keys do.
pub(super) fn filters(
    q: &ListQuery,
    hits: Option<&Hits>,
    plan: Plan,
    first: usize,
    active: Active,
    count_by: Option<Ranking>,
) -> Filters {
    let text = q.filter.as_deref().filter(|t| !t.is_empty());
    let keys = matches!((text, hits, plan), (Some(_), Some(_), Plan::Keys));
    let walked = count_by
        .or(Ranking::of(q.sort))
        .filter(|k| k.active(active) && !keys);
    let (sort, tie) = sort_of(q.sort, active, walked);
    let mut f = Filters {
        from: walked.map_or("customers c", Ranking::from),
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
        if walked == Some(Ranking::Churn) {
            // sql-format-ok: parameter numbers; the values are bound.
            f.conds
                .push_str(&format!(" AND r.prob >= ?{i} AND r.prob < ?{}", i + 1));
        } else if active.churn {
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
        if walked == Some(Ranking::Segment) {
            // sql-format-ok: a parameter number; the value is bound.
            f.conds.push_str(&format!(" AND r.segment = ?{i}"));
        } else if active.clv {
            // sql-format-ok: a parameter number; the value is bound.
            f.conds.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM active_clv v WHERE v.cid = c.cid AND v.segment = ?{i})"
            ));
        } else {
            // sql-format-ok: a parameter number; the value is bound. No
            // fit: no customer is in any segment.
            f.conds.push_str(&format!(" AND NULL = ?{i}"));
        }
    }
    if let (Some(t), None) = (text, hits) {
        // Folded on both sides, as the in-memory search folds them
        // (`store::fold`): the same matches asked either way.
        f.params
            .push(Value::Text(like_pattern(&crate::store::fold::fold(t))));
        let i = first + f.params.len() - 1;
        if q.ids_only {
            // sql-format-ok: a parameter number; the pattern is bound.
            f.conds
                .push_str(&format!(" AND crmtop_fold(c.id) LIKE ?{i} ESCAPE '\\'"));
        } else {
            // sql-format-ok: a parameter number; the pattern is bound.
            f.conds.push_str(&format!(
                " AND (crmtop_fold(c.id) LIKE ?{i} ESCAPE '\\' OR crmtop_fold(c.name) LIKE ?{i} ESCAPE '\\' OR crmtop_fold(c.email) LIKE ?{i} ESCAPE '\\')"
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
