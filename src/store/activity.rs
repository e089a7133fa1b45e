//! Orders, events and feedback summed by customer and calendar day (UTC):
//! `order_days`, `event_days`, `event_kind_days` and `feedback_days`
//! (schema 0012). Triggers keep them up to date inside every transaction
//! that writes the raw rows; this module fills them from the raw rows (the
//! migration, `doctor --fix`) and counts the days that differ from a
//! recomputation (`doctor`, the tests).

use crate::error::Result;
use rusqlite::Connection;

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
    key: &'static [&'static str],
    exact: &'static [&'static str],
    sums: &'static [&'static str],
}

const SUMMARIES: &[Summary] = &[
    Summary {
        table: "order_days",
        key: &["cid", "day"],
        exact: &["n", "first_ts", "last_ts"],
        sums: &["spend"],
    },
    Summary {
        table: "event_days",
        key: &["cid", "day", "kind"],
        exact: &["n"],
        sums: &["value"],
    },
    Summary {
        table: "event_kind_days",
        key: &["day", "kind"],
        exact: &["n"],
        sums: &[],
    },
    Summary {
        table: "feedback_days",
        key: &["cid", "day"],
        exact: &["n", "complaints", "score_n", "sentiment_n", "last_ts"],
        sums: &["score_sum", "sentiment_sum"],
    },
];

fn recompute_sql(table: &str) -> String {
    let ts = day("ts");
    let created = day("created_at");
    // sql-format-ok: day expressions of our own columns.
    match table {
        "order_days" => format!(
            "SELECT cid, {ts} AS day, count(*) AS n, sum(amount) AS spend, min(ts) AS first_ts, max(ts) AS last_ts
               FROM orders GROUP BY cid, {ts}"
        ),
        "event_days" => format!(
            "SELECT cid, {ts} AS day, kind, count(*) AS n, sum(value) AS value
               FROM events GROUP BY cid, {ts}, kind"
        ),
        "event_kind_days" => {
            format!("SELECT {ts} AS day, kind, count(*) AS n FROM events GROUP BY {ts}, kind")
        }
        _ => format!(
            "SELECT cid, {created} AS day, count(*) AS n, sum(kind = 'complaint') AS complaints,
                    COALESCE(sum(CASE kind WHEN 'nps' THEN score / 10.0
                                           WHEN 'csat' THEN (score - 1.0) / 4.0 END), 0.0) AS score_sum,
                    sum(score IS NOT NULL AND kind IN ('nps', 'csat')) AS score_n,
                    COALESCE(sum(sentiment), 0.0) AS sentiment_sum, count(sentiment) AS sentiment_n,
                    max(created_at) AS last_ts
               FROM feedback GROUP BY cid, {created}"
        ),
    }
}

/// Fill the summary tables from the raw rows, replacing what they hold
/// (inside the caller's transaction).
pub fn rebuild(conn: &Connection) -> Result<()> {
    for s in SUMMARIES {
        // sql-format-ok: our own table names and queries.
        conn.execute_batch(&format!(
            "DELETE FROM {t}; INSERT INTO {t} {q} ORDER BY {k};",
            t = s.table,
            q = recompute_sql(s.table),
            k = s.key.join(", ")
        ))?;
    }
    Ok(())
}

/// Days that differ from a recomputation from the raw rows, per table
/// (missing, extra or with other values); empty when all agree.
pub fn faults(conn: &Connection) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
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
            q = recompute_sql(s.table),
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
