//! Orders, events and feedback summed by customer and calendar day (UTC):
//! `order_days`, `event_days`, `event_kind_days` and `feedback_days`
//! (schema 0012). Triggers keep them up to date inside every transaction
//! that writes the raw rows, except during a bulk load, which sums what it
//! added before its commit (`begin_bulk`, `end_bulk`); this module also
//! fills them from the raw rows (the migration, `doctor --fix`) and counts
//! the days that differ from a recomputation (`doctor`, the tests).

use crate::error::Result;
use rusqlite::{params, Connection};

/// A table of raw rows that the daily sums sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Orders,
    Events,
    Feedback,
}

impl Source {
    fn table(self) -> &'static str {
        match self {
            Source::Orders => "orders",
            Source::Events => "events",
            Source::Feedback => "feedback",
        }
    }

    fn rowid(self) -> &'static str {
        match self {
            Source::Orders => "oid",
            Source::Events => "eid",
            Source::Feedback => "fid",
        }
    }
}

/// floor(col / 86400) in SQL, also for times before 1970.
fn day(col: &str) -> String {
    // sql-format-ok: a column name of ours.
    format!("(({col} - (({col} % 86400) + 86400) % 86400) / 86400)")
}

/// Each summary table with the query that recomputes it from the raw rows
/// (columns in the table's order), the key columns, and the columns that
/// must match exactly; the remaining columns are sums of reals, compared
/// with a relative tolerance (the triggers add in write order, the
/// recomputation in key order).
struct Summary {
    table: &'static str,
    /// The raw table it sums.
    source: Source,
    /// How a day's sums of further rows are added to it.
    add: &'static str,
    key: &'static [&'static str],
    exact: &'static [&'static str],
    sums: &'static [&'static str],
}

const SUMMARIES: &[Summary] = &[
    Summary {
        table: "order_days",
        source: Source::Orders,
        add: "n = n + excluded.n, spend = spend + excluded.spend,
              first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
        key: &["cid", "day"],
        exact: &["n", "first_ts", "last_ts"],
        sums: &["spend"],
    },
    Summary {
        table: "event_days",
        source: Source::Events,
        add: "n = n + excluded.n, value = value + excluded.value",
        key: &["cid", "day", "kind"],
        exact: &["n"],
        sums: &["value"],
    },
    Summary {
        table: "event_kind_days",
        source: Source::Events,
        add: "n = n + excluded.n",
        key: &["day", "kind"],
        exact: &["n"],
        sums: &[],
    },
    Summary {
        table: "feedback_days",
        source: Source::Feedback,
        add: "n = n + excluded.n, complaints = complaints + excluded.complaints,
              score_sum = score_sum + excluded.score_sum, score_n = score_n + excluded.score_n,
              sentiment_sum = sentiment_sum + excluded.sentiment_sum,
              sentiment_n = sentiment_n + excluded.sentiment_n, last_ts = max(last_ts, excluded.last_ts)",
        key: &["cid", "day"],
        exact: &["n", "complaints", "score_n", "sentiment_n", "last_ts"],
        sums: &["score_sum", "sentiment_sum"],
    },
];

/// The query that recomputes `table` from the raw rows that `filter` (a
/// WHERE clause of ours) keeps.
fn recompute_sql(table: &str, filter: &str) -> String {
    let ts = day("ts");
    let created = day("created_at");
    // sql-format-ok: day expressions of our own columns, filters of ours.
    match table {
        "order_days" => format!(
            "SELECT cid, {ts} AS day, count(*) AS n, sum(amount) AS spend, min(ts) AS first_ts, max(ts) AS last_ts
               FROM orders WHERE {filter} GROUP BY cid, {ts}"
        ),
        // sql-format-ok: day expressions of our own columns, filters of ours.
        "event_days" => format!(
            "SELECT cid, {ts} AS day, kind, count(*) AS n, sum(value) AS value
               FROM events WHERE {filter} GROUP BY cid, {ts}, kind"
        ),
        // sql-format-ok: day expressions of our own columns, filters of ours.
        "event_kind_days" => format!(
            "SELECT {ts} AS day, kind, count(*) AS n FROM events WHERE {filter} GROUP BY {ts}, kind"
        ),
        _ => format!(
            "SELECT cid, {created} AS day, count(*) AS n, sum(kind = 'complaint') AS complaints,
                    COALESCE(sum(CASE kind WHEN 'nps' THEN score / 10.0
                                           WHEN 'csat' THEN (score - 1.0) / 4.0 END), 0.0) AS score_sum,
                    sum(score IS NOT NULL AND kind IN ('nps', 'csat')) AS score_n,
                    COALESCE(sum(sentiment), 0.0) AS sentiment_sum, count(sentiment) AS sentiment_n,
                    max(created_at) AS last_ts
               FROM feedback WHERE {filter} GROUP BY cid, {created}"
        ),
    }
}

/// Fill the summary tables from the raw rows, replacing what they hold
/// (inside the caller's transaction).
pub fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute_batch("DELETE FROM activity_bulk")?;
    for s in SUMMARIES {
        // sql-format-ok: our own table names and queries.
        conn.execute_batch(&format!(
            "DELETE FROM {t}; INSERT INTO {t} {q} ORDER BY {k};",
            t = s.table,
            q = recompute_sql(s.table, "true"),
            k = s.key.join(", ")
        ))?;
    }
    Ok(())
}

/// Days that differ from a recomputation from the raw rows, per table
/// (missing, extra or with other values); empty when all agree.
pub fn faults(conn: &Connection) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    // A bulk load's mark outlives it only by a fault (its triggers would
    // stay switched off).
    let left: i64 = conn.query_row("SELECT count(*) FROM activity_bulk", [], |r| r.get(0))?;
    if left > 0 {
        out.push(("activity_bulk", left));
    }
    for s in SUMMARIES {
        let on: Vec<String> = s.key.iter().map(|k| format!("a.{k} = r.{k}")).collect();
        let mut differs: Vec<String> = s
            .exact
            .iter()
            .map(|c| format!("a.{c} IS NOT r.{c}"))
            .collect();
        differs.extend(
            s.sums
                .iter()
                .map(|c| format!("abs(a.{c} - r.{c}) > 1e-9 * max(1.0, abs(r.{c}))")),
        );
        let first = s.key[0];
        // sql-format-ok: our own table and column names.
        let sql = format!(
            "WITH r AS MATERIALIZED ({q})
             SELECT (SELECT count(*) FROM r LEFT JOIN {t} a ON {on}
                      WHERE a.{first} IS NULL OR {differs})
                  + (SELECT count(*) FROM {t} a WHERE NOT EXISTS (SELECT 1 FROM r WHERE {on}))",
            q = recompute_sql(s.table, "true"),
            t = s.table,
            on = on.join(" AND "),
            differs = differs.join(" OR "),
        );
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        if n > 0 {
            out.push((s.table, n));
        }
    }
    Ok(out)
}

/// Start a bulk load of `source` inside the caller's transaction: its
/// triggers stand aside until `end_bulk`, which must run before the commit.
pub fn begin_bulk(conn: &Connection, source: Source) -> Result<()> {
    // sql-format-ok: our own table and column names.
    let sql = format!(
        "INSERT OR REPLACE INTO activity_bulk(tbl, mark) SELECT ?1, COALESCE(max({}), 0) FROM {}",
        source.rowid(),
        source.table()
    );
    conn.execute(&sql, [source.table()])?;
    Ok(())
}

/// End a bulk load of `source`: the days of every customer in `changed`
/// (whose existing rows the load moved or changed, before and after) are
/// recomputed from their rows, and the rows the load added for the other
/// customers are summed into theirs. Run after the load's indexes are
/// back (the recomputation reads by customer).
pub fn end_bulk(conn: &Connection, source: Source, changed: &[i64]) -> Result<()> {
    let mark: i64 = conn.query_row(
        "SELECT mark FROM activity_bulk WHERE tbl = ?1",
        [source.table()],
        |r| r.get(0),
    )?;
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS bulk_changed(cid INTEGER PRIMARY KEY);
         DELETE FROM temp.bulk_changed;",
    )?;
    {
        let mut st = conn.prepare("INSERT OR IGNORE INTO temp.bulk_changed(cid) VALUES (?1)")?;
        for cid in changed {
            st.execute([cid])?;
        }
    }
    let rowid = source.rowid();
    for s in SUMMARIES.iter().filter(|s| s.source == source) {
        let key = s.key.join(", ");
        let per_customer = s.key[0] == "cid";
        if !changed.is_empty() {
            if per_customer {
                // sql-format-ok: our own table names and queries.
                conn.execute_batch(&format!(
                    "DELETE FROM {t} WHERE cid IN (SELECT cid FROM temp.bulk_changed);
                     INSERT INTO {t} {q} ORDER BY {key};",
                    t = s.table,
                    q = recompute_sql(s.table, "cid IN (SELECT cid FROM temp.bulk_changed)"),
                ))?;
            } else {
                // Days shared by all customers: recomputed whole (a load
                // that changed existing rows reads the table once more).
                // sql-format-ok: our own table names and queries.
                conn.execute_batch(&format!(
                    "DELETE FROM {t}; INSERT INTO {t} {q} ORDER BY {key};",
                    t = s.table,
                    q = recompute_sql(s.table, "true"),
                ))?;
                continue;
            }
        }
        let filter = if per_customer {
            // sql-format-ok: our own column names; the mark is bound.
            format!("{rowid} > ?1 AND cid NOT IN (SELECT cid FROM temp.bulk_changed)")
        } else {
            format!("{rowid} > ?1")
        };
        // sql-format-ok: our own table names and queries; the mark is bound.
        conn.execute(
            &format!(
                "INSERT INTO {t} {q} ORDER BY {key} ON CONFLICT({key}) DO UPDATE SET {add}",
                t = s.table,
                q = recompute_sql(s.table, &filter),
                add = s.add,
            ),
            params![mark],
        )?;
    }
    conn.execute_batch("DELETE FROM temp.bulk_changed")?;
    conn.execute("DELETE FROM activity_bulk WHERE tbl = ?1", [source.table()])?;
    Ok(())
}
