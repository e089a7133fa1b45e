//! A CLV fit's per-customer values, stored once per fit in three tables of
//! its own (schema 13), as a churn model's scores are (`store::scores`):
//!   `clv_values_<id>`   (cid primary key, the values)  - a customer's values;
//!   `clv_rank_<id>`     (clv, cid)                     - the customers by CLV;
//!   `clv_segments_<id>` (segment, cid)                 - the customers by RFM segment.
//! All three are written in their own key order, so every insert appends
//! and no index is updated at random; pruning a fit drops its tables. The
//! active fit is reached through the views `active_clv`, `active_clv_rank`
//! and `active_segment_rank`, re-pointed when a fit becomes active: nothing
//! is copied into the customers table.
//!
//! A customer without a value (no CLV, or added after the fit) ranks with
//! [`NO_CLV`] and [`NO_SEGMENT`], before every value, as a missing value
//! sorts; the trigger `customers_unvalued` ranks customers who arrive
//! while the fit is active, so the lists sorted by CLV or segment still
//! hold every customer.

use super::ranking::Ranking;
use crate::analytics::clv::Value;
use crate::error::Result;
use rusqlite::types::Value as V;
use rusqlite::{Connection, OptionalExtension};

/// The rank of a customer without a CLV: below every value (a CLV is an
/// expected spend, never negative; -1e300 reads back exactly in SQL).
pub const NO_CLV: f64 = -1e300;
/// The segment rank of a customer without one: before every segment name.
pub const NO_SEGMENT: &str = "";

/// The columns of a fit's values table, after `cid`.
pub const VALUE_COLUMNS: &str =
    "frequency, recency, t, monetary, p_alive, exp_txn, exp_spend, clv, \
     method, r_score, f_score, m_score, segment";

const PREFIXES: [&str; 3] = ["clv_values_", "clv_rank_", "clv_segments_"];

/// The three table names of a fit (`id` is our own integer key).
fn tables(id: i64) -> [String; 3] {
    PREFIXES.map(|p| format!("{p}{id}"))
}

/// The fit a table name belongs to, if it is one of a fit's tables.
pub fn fit_of_table(name: &str) -> Option<i64> {
    PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .and_then(|n| n.parse().ok())
}

/// A fit's three table names (values, rank, segments).
pub fn table_names(id: i64) -> [String; 3] {
    tables(id)
}

/// The table of a fit's values by customer.
pub fn values_table(id: i64) -> String {
    format!("{}{id}", PREFIXES[0])
}

/// Create a fit's three empty tables (dropping any it had).
pub fn create(conn: &Connection, id: i64) -> Result<()> {
    drop_fit(conn, id)?;
    let [v, r, s] = tables(id);
    // sql-format-ok: table names built from our own integer key; the columns are constants.
    conn.execute_batch(&format!(
        "CREATE TABLE {v} (
             cid INTEGER PRIMARY KEY,
             frequency REAL, recency REAL, t REAL, monetary REAL,
             p_alive REAL, exp_txn REAL, exp_spend REAL, clv REAL,
             method TEXT NOT NULL,
             r_score INTEGER, f_score INTEGER, m_score INTEGER,
             segment TEXT);
         CREATE TABLE {r} (clv REAL NOT NULL, cid INTEGER NOT NULL, PRIMARY KEY (clv, cid)) WITHOUT ROWID;
         CREATE TABLE {s} (segment TEXT NOT NULL, cid INTEGER NOT NULL, PRIMARY KEY (segment, cid)) WITHOUT ROWID;"
    ))?;
    Ok(())
}

/// Retire a fit's values inside the caller's transaction (cleared after
/// the commit, see `store::retired`).
pub fn retire_fit(conn: &Connection, id: i64) -> Result<()> {
    for t in tables(id) {
        super::retired::retire(conn, &t)?;
    }
    Ok(())
}

/// Drop a fit's tables.
pub fn drop_fit(conn: &Connection, id: i64) -> Result<()> {
    let [v, r, s] = tables(id);
    // sql-format-ok: table names built from our own integer key.
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {v}; DROP TABLE IF EXISTS {r}; DROP TABLE IF EXISTS {s};"
    ))?;
    Ok(())
}

fn real(x: Option<f64>) -> V {
    x.filter(|v| v.is_finite()).map(V::Real).unwrap_or(V::Null)
}

/// A customer's values as stored: `cid`, then `VALUE_COLUMNS` (a value
/// that is not finite is missing).
pub fn row_of(v: &Value) -> [V; 14] {
    let (r, f, m) = match v.rfm {
        Some((r, f, m)) => (
            V::Integer(r.into()),
            V::Integer(f.into()),
            V::Integer(m.into()),
        ),
        None => (V::Null, V::Null, V::Null),
    };
    [
        V::Integer(v.cid),
        real(v.frequency),
        real(v.recency),
        real(v.t),
        real(v.monetary),
        real(v.p_alive),
        real(v.exp_txn),
        real(v.exp_spend),
        real(v.clv),
        V::Text(v.method.into()),
        r,
        f,
        m,
        v.segment.map(|s| V::Text(s.into())).unwrap_or(V::Null),
    ]
}

/// Write a fit's values, replacing any it had: by key, by CLV and by
/// segment, each appended in its own order; the rankings hold every
/// customer, those the fit did not value as missing. Returns how many
/// customers it ranked.
pub fn write(conn: &Connection, id: i64, values: &[Value]) -> Result<u64> {
    create(conn, id)?;
    let [vt, rt, st] = tables(id);
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by_key(|&i| values[i].cid);
    // sql-format-ok: a table name built from our own integer key; the columns are constants.
    let mut ins =
        super::BatchInsert::new(conn, &format!("INSERT INTO {vt}(cid, {VALUE_COLUMNS})"), 14)?;
    for &i in &order {
        ins.push(row_of(&values[i]))?;
    }
    ins.finish()?;
    // Every customer, in key order, beside the values in key order.
    let cids: Vec<i64> = {
        let mut st = conn.prepare("SELECT cid FROM customers ORDER BY cid")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut of_cid: Vec<Option<&Value>> = Vec::with_capacity(cids.len());
    let mut next = order.iter().map(|&i| &values[i]).peekable();
    for &cid in &cids {
        while next.next_if(|v| v.cid < cid).is_some() {}
        of_cid.push(next.next_if(|v| v.cid == cid));
    }
    let mut rank: Vec<(f64, i64)> = cids
        .iter()
        .zip(&of_cid)
        .map(|(&cid, v)| {
            let clv = v.and_then(|v| v.clv).filter(|c| c.is_finite());
            (clv.unwrap_or(NO_CLV), cid)
        })
        .collect();
    rank.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    // sql-format-ok: a table name built from our own integer key.
    let mut ins = super::BatchInsert::new(conn, &format!("INSERT INTO {rt}(clv, cid)"), 2)?;
    for &(c, cid) in &rank {
        ins.push([V::Real(c), V::Integer(cid)])?;
    }
    ins.finish()?;
    let mut segs: Vec<(&str, i64)> = cids
        .iter()
        .zip(&of_cid)
        .map(|(&cid, v)| (v.and_then(|v| v.segment).unwrap_or(NO_SEGMENT), cid))
        .collect();
    segs.sort_unstable();
    // sql-format-ok: a table name built from our own integer key.
    let mut ins = super::BatchInsert::new(conn, &format!("INSERT INTO {st}(segment, cid)"), 2)?;
    for &(s, cid) in &segs {
        ins.push([V::Text(s.into()), V::Integer(cid)])?;
    }
    ins.finish()?;
    Ok(rank.len() as u64)
}

/// Whether a fit has its values.
pub fn has(conn: &Connection, id: i64) -> Result<bool> {
    let [v, _, _] = tables(id);
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [v],
        |r| r.get(0),
    )?)
}

/// The fits that have any of their tables, ascending.
pub fn fits(conn: &Connection) -> Result<Vec<i64>> {
    let mut st = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'clv\\_%' ESCAPE '\\'",
    )?;
    let names = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out: Vec<i64> = Vec::new();
    for n in names {
        if let Some(id) = fit_of_table(&n?) {
            out.push(id);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Point the views and the trigger at fit `id` (None: no active fit, the
/// views are empty), and rank the customers it did not value. Call inside
/// a transaction.
pub fn point_active(conn: &Connection, id: Option<i64>) -> Result<()> {
    conn.execute_batch(
        "DROP VIEW IF EXISTS active_clv;
         DROP VIEW IF EXISTS active_clv_rank;
         DROP VIEW IF EXISTS active_segment_rank;
         DROP TRIGGER IF EXISTS customers_unvalued;",
    )?;
    let Some(id) = id else {
        // sql-format-ok: the column list is a constant.
        conn.execute_batch(&format!(
            "CREATE VIEW active_clv(cid, {VALUE_COLUMNS}) AS
                 SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0;
             CREATE VIEW active_clv_rank(clv, cid) AS SELECT NULL, NULL WHERE 0;
             CREATE VIEW active_segment_rank(segment, cid) AS SELECT NULL, NULL WHERE 0;"
        ))?;
        return Ok(());
    };
    let [v, r, s] = tables(id);
    // sql-format-ok: table names built from our own integer key; the
    // missing values are constants.
    conn.execute_batch(&format!(
        "CREATE VIEW active_clv(cid, {VALUE_COLUMNS}) AS SELECT cid, {VALUE_COLUMNS} FROM {v};
         CREATE VIEW active_clv_rank(clv, cid) AS SELECT clv, cid FROM {r};
         CREATE VIEW active_segment_rank(segment, cid) AS SELECT segment, cid FROM {s};
         CREATE TRIGGER customers_unvalued AFTER INSERT ON customers
         BEGIN
             INSERT OR IGNORE INTO {r}(clv, cid) VALUES ({NO_CLV:e}, new.cid);
             INSERT OR IGNORE INTO {s}(segment, cid) VALUES ('{NO_SEGMENT}', new.cid);
         END;"
    ))?;
    for k in rankings(&v, &r, &s) {
        k.add_newcomers(conn)?;
    }
    Ok(())
}

/// A fit's two rankings of its values: by CLV and by segment.
fn rankings<'a>(values: &'a str, by_clv: &'a str, by_segment: &'a str) -> [Ranking<'a, V>; 2] {
    [
        Ranking {
            table: by_clv,
            column: "clv",
            values,
            missing: V::Real(NO_CLV),
        },
        Ranking {
            table: by_segment,
            column: "segment",
            values,
            missing: V::Text(NO_SEGMENT.into()),
        },
    ]
}

/// How a fit's rankings stand against its values and the customers: rows
/// that disagree with a value, values missing from a ranking, and how far
/// each ranking's size is from the number of customers. All zero when sound.
pub fn rank_faults(conn: &Connection, id: i64) -> Result<(i64, i64, i64)> {
    let [v, r, s] = tables(id);
    // sql-format-ok: table names built from our own integer key.
    let sql = format!(
        "SELECT (SELECT count(*) FROM {r} k WHERE k.clv <> ?1
                   AND NOT EXISTS (SELECT 1 FROM {v} x WHERE x.cid = k.cid AND x.clv = k.clv))
              + (SELECT count(*) FROM {s} k WHERE k.segment <> ?2
                   AND NOT EXISTS (SELECT 1 FROM {v} x WHERE x.cid = k.cid AND x.segment = k.segment)),
                (SELECT count(*) FROM {v} x WHERE x.clv IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM {r} k WHERE k.clv = x.clv AND k.cid = x.cid))
              + (SELECT count(*) FROM {v} x WHERE x.segment IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM {s} k WHERE k.segment = x.segment AND k.cid = x.cid)),
                abs((SELECT count(*) FROM {r}) - (SELECT count(*) FROM customers))
              + abs((SELECT count(*) FROM {s}) - (SELECT count(*) FROM customers))"
    );
    Ok(
        conn.query_row(&sql, rusqlite::params![NO_CLV, NO_SEGMENT], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?,
    )
}

/// Rebuild a fit's rankings from its values (the customers it did not
/// value unranked). Call inside a transaction.
pub fn rebuild_ranks(conn: &Connection, id: i64) -> Result<()> {
    let [v, r, s] = tables(id);
    for k in rankings(&v, &r, &s) {
        k.fill(conn)?;
    }
    Ok(())
}

/// Values of fits that no longer exist (a damaged file).
pub fn drop_orphans(conn: &Connection) -> Result<usize> {
    let mut n = 0;
    for id in fits(conn)? {
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM clv_fits WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?;
        if !known || !has(conn, id)? {
            drop_fit(conn, id)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The active fit, if it has its values.
pub fn active_fit(conn: &Connection) -> Result<Option<i64>> {
    let id: Option<i64> = conn
        .query_row("SELECT id FROM clv_fits WHERE active = 1", [], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) if has(conn, id)? => Ok(Some(id)),
        _ => Ok(None),
    }
}

/// Point the views at the active fit, if it has values (after a salvage).
pub fn point_at_active(conn: &Connection) -> Result<()> {
    let id = active_fit(conn)?;
    point_active(conn, id)
}

/// Schema 13's step: the previous layout's values (one `clv_values` table
/// for every fit, the active one copied into the customers) move to each
/// fit's own tables, and the views point at the active one.
pub fn migrate_from_shared(conn: &Connection) -> Result<()> {
    let ids: Vec<i64> = {
        let mut st = conn.prepare("SELECT id FROM clv_fits ORDER BY id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in ids {
        create(conn, id)?;
        let [v, r, s] = tables(id);
        // sql-format-ok: table names built from our own integer key; the columns are constants.
        conn.execute(
            &format!(
                "INSERT INTO {v}(cid, {VALUE_COLUMNS})
                 SELECT cid, {VALUE_COLUMNS} FROM clv_values WHERE fit_id = ?1 ORDER BY cid"
            ),
            [id],
        )?;
        for k in rankings(&v, &r, &s) {
            k.fill(conn)?;
        }
    }
    conn.execute_batch("DROP TABLE clv_values;")?;
    point_at_active(conn)
}

/// The active fit's CLV by customer in key order, to walk beside a scan of
/// the customers in key order.
pub fn active_by_cid(conn: &Connection) -> Result<super::scores::ActiveByCid> {
    // From the ranking (two narrow columns; the values table is seven
    // times wider), sorted by key here.
    let mut st = conn.prepare("SELECT cid, clv FROM active_clv_rank WHERE clv > ?1")?;
    let rows = st.query_map([NO_CLV], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut by_cid: Vec<(i64, f64)> = rows.collect::<rusqlite::Result<_>>()?;
    by_cid.sort_unstable_by_key(|p| p.0);
    Ok(super::scores::ActiveByCid::from_sorted(by_cid))
}
