//! Paging through the customer list sorted by any shown column, with keyset
//! pagination (never OFFSET): each page is an index seek plus `limit` rows,
//! whether it is the first page or the millionth.

use super::search::Hits;
use crate::error::Result;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

mod plan;
mod query;
mod walk;

use plan::{choose, filters, Active, Plan, Ranking};
pub use query::{like_pattern, CustomerRow, Key, ListQuery, Seek, SortColumn};
#[cfg(test)]
use walk::reverse_first_page;
use walk::{page_walk, walk_within};

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
    let active = Active::of(conn)?;
    if plan == Plan::Bits && forced.is_none() {
        return walk_within(conn, q, hits, active, WALK_BUDGET, 2_000);
    }
    page_walk(conn, q, &filters(q, hits, plan, 4, active, None))
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
    // (The search's matches are of the text alone: the lapsed customers
    // the churn list leaves out, or another cluster's, are among them.)
    let only_text = q.churn_band.is_none()
        && q.rfm_segment.is_none()
        && q.skip_lapsed.is_none()
        && q.cluster.is_none();
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
    let active = Active::of(conn)?;
    // A risk band alone is a range of the active ranking, a segment alone
    // a range of the segments'.
    if let (Some(seg), true, false, None, None, None) = (
        &q.rfm_segment,
        active.clv,
        has_text,
        q.churn_band,
        q.skip_lapsed,
        q.cluster,
    ) {
        return Ok(conn.query_row(
            "SELECT count(*) FROM active_segment_rank WHERE segment = ?1",
            [seg],
            |r| r.get(0),
        )?);
    }
    if let (Some((lo, hi)), true, false, None, None, None) = (
        q.churn_band,
        active.churn,
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
    // The sort does not matter to a count: a ranking is walked only for a
    // segment or a band.
    let mut unsorted = q.clone();
    unsorted.sort = SortColumn::Id;
    let count_by = match (&q.rfm_segment, q.churn_band) {
        (Some(_), _) if active.clv => Some(Ranking::Segment),
        (_, Some(_)) if active.churn => Some(Ranking::Churn),
        _ => None,
    };
    let f = filters(
        &unsorted,
        hits.filter(|_| has_text),
        plan,
        1,
        active,
        count_by,
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
        crate::store::search::register_functions(&c).unwrap();
        for (_, sql) in crate::store::MIGRATIONS {
            c.execute_batch(sql).unwrap();
        }
        let mut scores = Vec::new();
        for i in 1..=55i64 {
            if i % 5 != 0 {
                scores.push((i, (i % 7) as f64 / 10.0, &[1u8][..]));
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
        // A CLV fit that values most customers, some without a segment and
        // some without a value; two customers arrive after it.
        c.execute(
            "INSERT INTO clv_fits(id, created_at, agent, as_of, time_unit, customers, total_clv, duration_ms, report)
             VALUES (1, 0, 't', '2025-01-01', 'days', 0, 0, 0, 'null')",
            [],
        )
        .unwrap();
        let segments = ["Champions", "At risk", "Hibernating"];
        let values: Vec<crate::analytics::clv::Value> = (1..=55i64)
            .filter(|i| i % 6 != 0)
            .map(|i| crate::analytics::clv::Value {
                clv: (i % 11 != 0).then_some((i % 9) as f64 * 12.5),
                segment: (i % 4 != 0).then_some(segments[i as usize % 3]),
                ..crate::analytics::clv::Value::unvalued(i, "test")
            })
            .collect();
        crate::store::clv_values::write(&c, 1, &values).unwrap();
        crate::store::clv::activate(&c, 1, crate::jobs::Ctl::silent()).unwrap();
        for i in 56..=57i64 {
            c.execute(
                "INSERT INTO customers(cid, id, name, n_orders) VALUES (?1, ?2, ?3, ?4)",
                params![i, format!("K{i:03}"), format!("Name {}", i % 9), i % 4],
            )
            .unwrap();
        }
        c
    }

    /// The missing values the key plan uses are the rankings' own.
    #[test]
    fn missing_values_match_the_rankings() {
        assert_eq!(crate::store::scores::UNSCORED, -1.0);
        assert_eq!(crate::store::clv_values::NO_CLV, -1e300);
        assert_eq!(crate::store::clv_values::NO_SEGMENT, "");
        let c = db();
        let v: f64 = c
            .query_row("SELECT clv FROM active_clv_rank WHERE cid = 57", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(v, -1e300);
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
        // Last orders (none for some), and a lapsed cutoff that leaves
        // some customers out, as the churn list does.
        c.execute(
            "UPDATE customers SET last_order = cid * 1000 WHERE cid % 6 <> 0",
            [],
        )
        .unwrap();
        let cut = Some(20_000);
        for text in ["k00", "name 3", "5", "K01", "zz"] {
            let hits = idx.search(text);
            for (band, seg, lapsed) in [
                (None, None, None),
                (None, None, cut),
                (Some((0.2, 0.6)), None, None),
                (None, Some("At risk"), None),
                (Some((0.2, 0.6)), Some("Champions"), cut),
            ] {
                for sort in SortColumn::ALL {
                    for descending in [false, true] {
                        let mut q = ListQuery::new(sort, descending);
                        q.filter = Some(text.into());
                        q.churn_band = band;
                        q.rfm_segment = seg.map(String::from);
                        q.skip_lapsed = lapsed;
                        q.limit = 1000;
                        let want: Vec<i64> = page(&c, &q).unwrap().iter().map(|r| r.cid).collect();
                        let n = count(&c, &q).unwrap();
                        assert_eq!(n as usize, want.len());
                        // As the UI counts: with the search's matches.
                        assert_eq!(
                            count_with(&c, &q, Some(&hits)).unwrap(),
                            n,
                            "{text} {lapsed:?}"
                        );
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
                            assert_eq!(
                                got, want,
                                "{text} {band:?} {seg:?} {lapsed:?} {sort:?} {descending} {keys:?}"
                            );
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
            let got = walk_within(
                &c,
                &q,
                Some(&hits),
                Active::of(&c).unwrap(),
                std::time::Duration::ZERO,
                1,
            )
            .unwrap();
            assert_eq!(got, want);
            assert_eq!(
                reverse_first_page(&c, &q, Some(&hits), Active::of(&c).unwrap()).unwrap(),
                want
            );
            // ...a later page to the key plan.
            q.seek = Seek::After(want[3].key.clone());
            let want2 = page(&c, &q).unwrap();
            assert!(!want2.is_empty());
            let got2 = walk_within(
                &c,
                &q,
                Some(&hits),
                Active::of(&c).unwrap(),
                std::time::Duration::ZERO,
                1,
            )
            .unwrap();
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
        // An RFM segment: counted from its ranking, paged in any order.
        let mut q = ListQuery::new(SortColumn::Clv, true);
        q.rfm_segment = Some("At risk".into());
        let want: i64 = c
            .query_row(
                "SELECT count(*) FROM clv_values_1 WHERE segment = 'At risk'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(want > 5);
        assert_eq!(count(&c, &q).unwrap(), want);
        q.limit = 1000;
        let rows = page(&c, &q).unwrap();
        assert_eq!(rows.len() as i64, want);
        assert!(rows
            .iter()
            .all(|r| r.rfm_segment.as_deref() == Some("At risk")));
        assert!(rows.windows(2).all(|w| w[0].clv >= w[1].clv));
        // The customers who came after the fit are in the list, without a value.
        // Missing values first, as a missing value sorts.
        let mut q = ListQuery::new(SortColumn::Clv, false);
        q.limit = 1000;
        let all = page(&c, &q).unwrap();
        assert_eq!(all.len(), 57);
        assert!(all.iter().any(|r| r.cid == 57 && r.clv.is_none()));
        let missing = all.iter().filter(|r| r.clv.is_none()).count();
        assert!(all[..missing].iter().all(|r| r.clv.is_none()));
    }
}
