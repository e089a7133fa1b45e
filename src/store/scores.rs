//! A churn model version's scores, stored once per version in two tables of
//! its own (schema 11):
//!   `churn_scores_<id>` (cid primary key, prob, drivers) - a customer's score
//!                       and its drivers, packed (`store::drivers`);
//!   `churn_rank_<id>`   (prob, cid)                      - the customers by score.
//! Both are written in their own key order, so every insert appends and no
//! index is updated at random; deleting a version drops its two tables
//! (freeing pages, not deleting a million rows one by one). The active
//! version is reached through the views `active_churn(cid, prob, drivers)`
//! and `active_rank(prob, cid)`, re-pointed when a version is activated:
//! switching versions costs a few schema statements, whatever the size.
//!
//! A customer who arrives after the active version scored has no score; the
//! trigger `customers_unscored` gives them a rank row with [`UNSCORED`], so
//! a list sorted by churn still holds every customer.

use crate::error::Result;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

/// The rank of a customer the version did not score (they came after it):
/// before every score, as a missing value sorts.
pub const UNSCORED: f64 = -1.0;

/// The two table names of a version (`id` is our own integer key).
fn tables(id: i64) -> (String, String) {
    (format!("churn_scores_{id}"), format!("churn_rank_{id}"))
}

/// The version a table name belongs to, if it is a scores or rank table.
pub fn version_of_table(name: &str) -> Option<i64> {
    name.strip_prefix("churn_scores_")
        .or_else(|| name.strip_prefix("churn_rank_"))
        .and_then(|n| n.parse().ok())
}

/// Create a version's two empty tables (dropping any it had).
pub fn create(conn: &Connection, id: i64) -> Result<()> {
    let (s, r) = tables(id);
    // sql-format-ok: table names built from our own integer key.
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {s};
         DROP TABLE IF EXISTS {r};
         CREATE TABLE {s} (cid INTEGER PRIMARY KEY, prob REAL NOT NULL, drivers BLOB NOT NULL);
         CREATE TABLE {r} (prob REAL NOT NULL, cid INTEGER NOT NULL, PRIMARY KEY (prob, cid)) WITHOUT ROWID;"
    ))?;
    Ok(())
}

/// Write one version's scores, replacing any it had: once by key and once
/// by score, both appended. Returns how many customers were scored.
pub fn write<'a>(
    conn: &Connection,
    id: i64,
    scores: impl IntoIterator<Item = (i64, f64, &'a [u8])>,
) -> Result<u64> {
    create(conn, id)?;
    let (s, r) = tables(id);
    let mut rows: Vec<(i64, f64, &[u8])> = scores.into_iter().collect();
    rows.sort_unstable_by_key(|r| r.0);
    super::insert_bound(
        conn,
        // sql-format-ok: a table name built from our own integer key.
        &format!("INSERT INTO {s}(cid, prob, drivers)"),
        3,
        &rows,
        |st, at, &(cid, p, d)| {
            st.raw_bind_parameter(at, cid)?;
            st.raw_bind_parameter(at + 1, p)?;
            st.raw_bind_parameter(at + 2, d)
        },
    )?;
    let mut rank: Vec<(f64, i64)> = rows.iter().map(|r| (r.1, r.0)).collect();
    drop(rows);
    rank.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    super::insert_bound(
        conn,
        // sql-format-ok: a table name built from our own integer key.
        &format!("INSERT INTO {r}(prob, cid)"),
        2,
        &rank,
        |st, at, &(p, cid)| {
            st.raw_bind_parameter(at, p)?;
            st.raw_bind_parameter(at + 1, cid)
        },
    )?;
    Ok(rank.len() as u64)
}

/// Drop a version's scores.
pub fn drop_version(conn: &Connection, id: i64) -> Result<()> {
    let (s, r) = tables(id);
    // sql-format-ok: table names built from our own integer key.
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {s}; DROP TABLE IF EXISTS {r};"
    ))?;
    Ok(())
}

/// Retire a version's scores inside the caller's transaction (gone at
/// once for every reader; the rows are cleared after the commit, see
/// `store::retired`).
pub fn retire_version(conn: &Connection, id: i64) -> Result<()> {
    let (s, r) = tables(id);
    super::retired::retire(conn, &s)?;
    super::retired::retire(conn, &r)
}

/// A version's two table names (scores, rank).
pub fn table_names(id: i64) -> [String; 2] {
    let (s, r) = tables(id);
    [s, r]
}

/// Whether a version has its scores.
pub fn has(conn: &Connection, id: i64) -> Result<bool> {
    let (s, _) = tables(id);
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [s],
        |r| r.get(0),
    )?)
}

/// The versions that have scores, ascending.
pub fn versions(conn: &Connection) -> Result<Vec<i64>> {
    let mut st = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'churn\\_scores\\_%' ESCAPE '\\'",
    )?;
    let names = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out: Vec<i64> = Vec::new();
    for n in names {
        if let Some(id) = version_of_table(&n?) {
            out.push(id);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Point the views and the trigger at version `id` (None: no active
/// version, the views are empty), and give the customers it did not score
/// their unscored rank rows. Call inside a transaction.
pub fn point_active(conn: &Connection, id: Option<i64>) -> Result<()> {
    conn.execute_batch(
        "DROP VIEW IF EXISTS active_churn;
         DROP VIEW IF EXISTS active_rank;
         DROP TRIGGER IF EXISTS customers_unscored;",
    )?;
    let Some(id) = id else {
        conn.execute_batch(
            "CREATE VIEW active_churn(cid, prob, drivers) AS SELECT NULL, NULL, NULL WHERE 0;
             CREATE VIEW active_rank(prob, cid) AS SELECT NULL, NULL WHERE 0;",
        )?;
        return Ok(());
    };
    let (s, r) = tables(id);
    // sql-format-ok: table names built from our own integer key; the
    // unscored rank is a constant.
    conn.execute_batch(&format!(
        "CREATE VIEW active_churn(cid, prob, drivers) AS SELECT cid, prob, drivers FROM {s};
         CREATE VIEW active_rank(prob, cid) AS SELECT prob, cid FROM {r};
         CREATE TRIGGER customers_unscored AFTER INSERT ON customers
         BEGIN
             INSERT OR IGNORE INTO {r}(prob, cid) VALUES ({UNSCORED:.1}, new.cid);
         END;"
    ))?;
    rank_of(&s, &r).add_newcomers(conn)
}

/// A version's ranking of its scores.
fn rank_of<'a>(scores: &'a str, rank: &'a str) -> super::ranking::Ranking<'a, f64> {
    super::ranking::Ranking {
        table: rank,
        column: "prob",
        values: scores,
        missing: UNSCORED,
    }
}

/// One customer's score under a version, with its drivers JSON (unpacked,
/// see `store::drivers`).
pub fn score_of(conn: &Connection, id: i64, cid: i64) -> Result<Option<(f64, String)>> {
    if !has(conn, id)? {
        return Ok(None);
    }
    let (s, _) = tables(id);
    // sql-format-ok: a table name built from our own integer key.
    let sql = format!("SELECT prob, drivers FROM {s} WHERE cid = ?1");
    Ok(conn
        .query_row(&sql, [cid], |r| Ok((r.get(0)?, r.get::<_, Value>(1)?)))
        .optional()?
        .map(|(p, d)| (p, super::drivers::text_of(d))))
}

/// How a version's ranking stands against its scores and the customers:
/// rows that disagree with a score, scores missing from it, and how far
/// its size is from the number of customers. All zero for a sound ranking.
pub fn rank_faults(conn: &Connection, id: i64) -> Result<(i64, i64, i64)> {
    let (s, r) = tables(id);
    // sql-format-ok: table names built from our own integer key.
    let sql = format!(
        "SELECT (SELECT count(*) FROM {r} k WHERE k.prob <> ?1
                   AND NOT EXISTS (SELECT 1 FROM {s} x WHERE x.cid = k.cid AND x.prob = k.prob)),
                (SELECT count(*) FROM {s} x
                   WHERE NOT EXISTS (SELECT 1 FROM {r} k WHERE k.prob = x.prob AND k.cid = x.cid)),
                (SELECT count(*) FROM {r}) - (SELECT count(*) FROM customers)"
    );
    Ok(conn.query_row(&sql, [UNSCORED], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.abs()))
    })?)
}

/// Rebuild a version's ranking from its scores (the customers it did not
/// score unranked). Call inside a transaction.
pub fn rebuild_rank(conn: &Connection, id: i64) -> Result<()> {
    let (s, r) = tables(id);
    rank_of(&s, &r).fill(conn)
}

/// Scores and rankings of versions that no longer exist (a damaged file).
pub fn drop_orphans(conn: &Connection) -> Result<usize> {
    let mut n = 0;
    for id in versions(conn)? {
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM models WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if !known {
            drop_version(conn, id)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Schema 11's step: the previous layout's scores (one `churn_scores`
/// table for every version, the active one copied into the customers)
/// move to each version's own tables, and the views point at the active one.
pub fn migrate_from_shared(conn: &Connection) -> Result<()> {
    let ids: Vec<i64> = {
        let mut st =
            conn.prepare("SELECT DISTINCT model_id FROM churn_scores ORDER BY model_id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in ids {
        create(conn, id)?;
        let (s, r) = tables(id);
        // sql-format-ok: table names built from our own integer key.
        conn.execute(
            &format!(
                "INSERT INTO {s}(cid, prob, drivers)
                 SELECT cid, prob, drivers FROM churn_scores WHERE model_id = ?1 ORDER BY cid"
            ),
            [id],
        )?;
        // sql-format-ok: as above.
        conn.execute(
            &format!(
                "INSERT INTO {r}(prob, cid)
                 SELECT prob, cid FROM churn_scores WHERE model_id = ?1 ORDER BY prob, cid"
            ),
            [id],
        )?;
    }
    conn.execute_batch("DROP TABLE churn_scores;")?;
    let active: Option<i64> = conn
        .query_row("SELECT id FROM models WHERE active = 1", [], |r| r.get(0))
        .optional()?;
    point_active(conn, active.filter(|&id| has(conn, id).unwrap_or(false)))?;
    Ok(())
}

/// The active version's scores in key order, to be walked beside a scan of
/// the customers in key order (two sequential reads instead of a key
/// lookup per customer: a million customers' dashboard 1.8 s -> 0.9 s).
#[derive(Clone)]
pub struct ActiveByCid {
    scores: Vec<(i64, f64)>,
    next: usize,
}

impl ActiveByCid {
    pub fn load(conn: &Connection) -> Result<ActiveByCid> {
        let mut st = conn.prepare("SELECT cid, prob FROM active_churn ORDER BY cid")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(ActiveByCid::from_sorted(
            rows.collect::<rusqlite::Result<_>>()?,
        ))
    }

    /// Values in ascending key order (the CLV's, `store::clv_values`).
    pub fn from_sorted(scores: Vec<(i64, f64)>) -> ActiveByCid {
        ActiveByCid { scores, next: 0 }
    }

    /// Values in any order (a job's figures, as it holds them).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (i64, f64)>) -> ActiveByCid {
        let mut scores: Vec<(i64, f64)> = pairs.into_iter().collect();
        scores.sort_unstable_by_key(|s| s.0);
        ActiveByCid::from_sorted(scores)
    }

    /// The score of `cid`; keys must be asked in ascending order.
    pub fn get(&mut self, cid: i64) -> Option<f64> {
        while self.scores.get(self.next).is_some_and(|s| s.0 < cid) {
            self.next += 1;
        }
        match self.scores.get(self.next) {
            Some(&(c, p)) if c == cid => Some(p),
            _ => None,
        }
    }
}

/// Every customer's active churn probability and CLV by key, on either
/// engine: a file's from its per-version tables, a server's from the
/// active figures.
pub fn active_figures(conn: &dyn super::sql::Sql) -> Result<(ActiveByCid, ActiveByCid)> {
    if let Some(c) = conn.sqlite() {
        return Ok((ActiveByCid::load(c)?, super::clv_values::active_by_cid(c)?));
    }
    let sorted = |q: &str| -> Result<Vec<(i64, f64)>> {
        let mut v = Vec::new();
        conn.each(q, &[], &mut |r| {
            if let Some(x) = r.opt_f64(1)? {
                v.push((r.i64(0)?, x));
            }
            Ok(())
        })?;
        Ok(v)
    };
    Ok((
        ActiveByCid::from_sorted(sorted("SELECT cid, prob FROM active_churn ORDER BY cid")?),
        ActiveByCid::from_sorted(sorted("SELECT cid, clv FROM active_clv ORDER BY cid")?),
    ))
}
