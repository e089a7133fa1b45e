//! Orders, events and feedback summed by customer and calendar day (UTC):
//! `order_days`, `event_days`, `event_kind_days` and `feedback_days`
//! (schema 0012). Triggers keep them up to date inside every transaction
//! that writes the raw rows, except during a bulk load, which sums what it
//! added before its commit (`begin_bulk`, `end_bulk`); this module also
//! fills them from the raw rows (the migration, `doctor --fix`) and counts
//! the days that differ from a recomputation (`doctor`, the tests).

mod day_writer;

pub use day_writer::{DayWriter, FeedbackFacts};

use super::packs;
use crate::error::Result;
use crate::jobs::Ctl;
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

/// A feedback score on one scale, as `feedback_days` sums it: NPS 0-10 ->
/// 0..1, CSAT 1-5 -> 0..1; other kinds have none.
pub fn unit_score(kind: &str, score: f64) -> Option<f64> {
    match kind {
        "nps" => Some(score / 10.0),
        "csat" => Some((score - 1.0) / 4.0),
        _ => None,
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
    // The packs' stale marks (schema 15) stand aside for rows that all
    // change; the caller packs everyone after.
    let marks = packs::pause_marks(conn)?;
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
    packs::resume_marks(conn, &marks)
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

/// Set aside the daily sums' triggers on `source`'s table for a bulk load
/// (inside its transaction), returning them for `resume_sums`. While the
/// load runs they would add nothing (`begin_bulk`'s mark stops them), but
/// their WHEN clause ran for every row: 1.3 s of the writer's time in
/// 10,000,000 orders (measured with the sqlite3 shell, 3M rows: 2.58 s
/// without the trigger, 2.97 s with it).
pub fn pause_sums(conn: &Connection, source: Source) -> Result<Vec<String>> {
    let prefix = match source {
        Source::Orders => "order_days_",
        Source::Events => "event_days_",
        Source::Feedback => "feedback_days_",
    };
    crate::store::drop_table_triggers(conn, source.table(), prefix)
}

/// Put back the triggers `pause_sums` set aside (before `end_bulk`).
pub fn resume_sums(conn: &Connection, triggers: &[String]) -> Result<()> {
    crate::store::create_triggers(conn, triggers)
}

/// End a bulk load of `source`: the days of every customer in `changed`
/// (whose existing rows the load moved or changed, before and after) are
/// recomputed from their rows, and the rows the load added for the other
/// customers are summed into theirs. Run after the load's indexes are
/// back (the recomputation reads by customer). Then the customers it
/// touched are packed again (`packs`; the caller has set the stale marks'
/// triggers aside): a streamed orders load has merged its new days into
/// the packs on the way, and the changed customers are packed from their
/// days; another load that is a good part of its table packs everyone;
/// any other packs the customers it touched, with those marked before.
pub fn end_bulk(conn: &Connection, source: Source, changed: &[i64], ctl: Ctl) -> Result<()> {
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
    // A load that is a good part of its table sums its orders streaming
    // them in the order of the (customer, time) index, without the sort of
    // a grouped statement (10M orders: 9 s).
    let last: i64 = conn.query_row(
        // sql-format-ok: our own table and column names.
        &format!("SELECT COALESCE(max({rowid}), 0) FROM {}", source.table()),
        [],
        |r| r.get(0),
    )?;
    let streamed = source == Source::Orders && (last - mark) * 4 >= last && last > mark;
    for s in SUMMARIES.iter().filter(|s| s.source == source) {
        let key = s.key.join(", ");
        let per_customer = s.key[0] == "cid";
        if !changed.is_empty() && per_customer {
            // The kinds' daily counts follow the changed customers' event
            // days: their old counts out, the recomputed ones in (the new
            // rows of the others are added below).
            let kinds_follow = s.table == "event_days";
            if kinds_follow {
                conn.execute_batch(
                    "UPDATE event_kind_days SET n = n - d.gone
                       FROM (SELECT day, kind, sum(n) AS gone FROM event_days
                              WHERE cid IN (SELECT cid FROM temp.bulk_changed) GROUP BY day, kind) d
                      WHERE event_kind_days.day = d.day AND event_kind_days.kind = d.kind;",
                )?;
            }
            // sql-format-ok: our own table names and queries.
            conn.execute_batch(&format!(
                "DELETE FROM {t} WHERE cid IN (SELECT cid FROM temp.bulk_changed);
                 INSERT INTO {t} {q} ORDER BY {key};",
                t = s.table,
                q = recompute_sql(s.table, "cid IN (SELECT cid FROM temp.bulk_changed)"),
            ))?;
            if kinds_follow {
                conn.execute_batch(
                    "INSERT INTO event_kind_days(day, kind, n)
                     SELECT day, kind, sum(n) FROM event_days
                      WHERE cid IN (SELECT cid FROM temp.bulk_changed) GROUP BY day, kind
                     ON CONFLICT(day, kind) DO UPDATE SET n = n + excluded.n;
                     DELETE FROM event_kind_days WHERE n <= 0;",
                )?;
            }
        }
        if streamed && s.table == "order_days" {
            stream_order_days(conn, mark, changed)?;
            continue;
        }
        // sql-format-ok: our own column names; the mark is bound.
        let filter = format!("{rowid} > ?1 AND cid NOT IN (SELECT cid FROM temp.bulk_changed)");
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
    let scope = if streamed {
        // The streamed customers' packs were brought up to date on the way;
        // the changed ones are packed from their recomputed days.
        conn.execute_batch(
            "INSERT OR IGNORE INTO history_stale(cid) SELECT cid FROM temp.bulk_changed",
        )?;
        packs::Scope::Stale
    } else if (last - mark) * 4 >= last && last > mark {
        packs::Scope::All
    } else {
        // sql-format-ok: our own table and column names; the mark is bound.
        conn.execute(
            &format!(
                "INSERT OR IGNORE INTO history_stale(cid)
                 SELECT cid FROM {} WHERE {rowid} > ?1 UNION SELECT cid FROM temp.bulk_changed",
                source.table()
            ),
            [mark],
        )?;
        packs::Scope::Stale
    };
    conn.execute_batch("DELETE FROM temp.bulk_changed")?;
    conn.execute("DELETE FROM activity_bulk WHERE tbl = ?1", [source.table()])?;
    ctl.report("packing the history", 0, 1);
    packs::refresh(conn, scope, ctl)?;
    Ok(())
}

/// An `order_days` row: (cid, day, n, spend, first, last).
fn order_day(d: (i64, i64, i64, f64, i64, i64)) -> [rusqlite::types::Value; 6] {
    use rusqlite::types::Value as V;
    [
        V::Integer(d.0),
        V::Integer(d.1),
        V::Integer(d.2),
        V::Real(d.3),
        V::Integer(d.4),
        V::Integer(d.5),
    ]
}

/// Add the orders after `mark` of the customers not in `changed` to their
/// days, reading them in (customer, time) order from the covering index.
fn stream_order_days(conn: &Connection, mark: i64, changed: &[i64]) -> Result<()> {
    let changed: rustc_hash::FxHashSet<i64> = changed.iter().copied().collect();
    let mut st = conn.prepare(
        "SELECT cid, ts, amount FROM orders INDEXED BY orders_cid_ts WHERE oid > ?1 ORDER BY cid, ts",
    )?;
    let mut out = super::BatchInsert::with_tail(
        conn,
        "INSERT INTO order_days(cid, day, n, spend, first_ts, last_ts)",
        6,
        "ON CONFLICT(cid, day) DO UPDATE SET n = n + excluded.n, spend = spend + excluded.spend,
           first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
    )?;
    let mut merge = packs::OrderDaysMerge::new(conn)?;
    // The day being summed: (cid, day, n, spend, first, last).
    let mut open: Option<(i64, i64, i64, f64, i64, i64)> = None;
    let mut flush = |d: (i64, i64, i64, f64, i64, i64)| -> Result<()> {
        merge.day(super::history::OrderDay {
            cid: d.0,
            day: d.1,
            n: d.2,
            spend: d.3,
            first: d.4,
            last: d.5,
        })?;
        out.push(order_day(d))
    };
    let mut rows = st.query([mark])?;
    while let Some(r) = rows.next()? {
        let cid: i64 = r.get(0)?;
        if changed.contains(&cid) {
            continue;
        }
        let ts: i64 = r.get(1)?;
        let amount: f64 = r.get(2)?;
        let day = ts.div_euclid(crate::timeutil::DAY);
        match &mut open {
            Some(d) if d.0 == cid && d.1 == day => {
                d.2 += 1;
                d.3 += amount;
                d.5 = ts;
            }
            _ => {
                if let Some(d) = open.take() {
                    flush(d)?;
                }
                open = Some((cid, day, 1, amount, ts, ts));
            }
        }
    }
    if let Some(d) = open {
        flush(d)?;
    }
    merge.finish()?;
    out.finish()
}
