//! What the store does with its own tables on a server beyond single
//! statements: their data version, and rewriting a derived table whole.

use super::Pg;
use crate::error::Result;
use crate::store::sql::Sql;
use rusqlite::types::Value;

/// A table's indexes that back no constraint: (name, definition).
pub(crate) fn indexes_of(pg: &Pg, table: &str) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    pg.each(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
          WHERE i.schemaname = current_schema() AND i.tablename = ?1
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
          ORDER BY i.indexname",
        &[Value::Text(table.to_string())],
        &mut |r| {
            found.push((r.text(0)?, r.text(1)?));
            Ok(())
        },
    )?;
    Ok(found)
}

/// Replace every row of `table` (one of the active figures, derived and
/// rewritten whole) by what `fill` inserts, inside the caller's
/// transaction. Its indexes and its key are dropped first and built after
/// from the sorted rows: a million rows kept in a (value, key) index one
/// by one took 5.2 s, built at the end 2.4 s. Readers wait for the commit
/// either way (TRUNCATE locks the table).
pub(crate) fn replace_rows(pg: &Pg, table: &str, fill: &dyn Fn() -> Result<()>) -> Result<()> {
    let indexes = indexes_of(pg, table)?;
    // The key too, unless another table's foreign key needs it: kept up
    // row by row, it made sending a million rows take 0.96 s, against
    // 0.36 s and 0.24 s to build it after.
    let key: Vec<(String, String)> = pg
        .rows(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
              WHERE c.conrelid = CAST(CAST(?1 AS TEXT) AS regclass) AND c.contype = 'p'
                AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                                 WHERE f.contype = 'f' AND f.confrelid = c.conrelid)",
            &[Value::Text(table.to_string())],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_>>()?;
    // sql-format-ok: the table is one of ours (a constant at every call);
    // index names come from the catalog, quoted as identifiers.
    let mut drop = format!("TRUNCATE {table};");
    for (name, _) in &key {
        // sql-format-ok: our table; a constraint name from the catalog, quoted.
        drop.push_str(&format!(
            "ALTER TABLE {table} DROP CONSTRAINT \"{}\";",
            name.replace('"', "\"\"")
        ));
    }
    for (name, _) in &indexes {
        // sql-format-ok: an index name from the catalog, quoted as an identifier.
        drop.push_str(&format!("DROP INDEX \"{}\";", name.replace('"', "\"\"")));
    }
    pg.batch(&drop)?;
    fill()?;
    for (name, def) in &key {
        // sql-format-ok: our table; the constraint's name and definition
        // from the catalog.
        pg.batch(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT \"{}\" {def}",
            name.replace('"', "\"\"")
        ))?;
    }
    for (_, def) in &indexes {
        pg.batch(def)?;
    }
    // Statistics of the new rows at once (a sample), not at the next
    // autovacuum: until then the planner works from the old rows'.
    // sql-format-ok: the table is one of ours (a constant at every call).
    pg.batch(&format!("ANALYZE {table}"))
}

/// The database's data version (schema pg 6): bumped by every statement
/// that changes the customers, their orders, the active figures, the
/// models, the CLV fits or the clusters. What is cached per version (the
/// dashboard's aggregates, the lists' counts, a UI's sums) is current
/// while it holds.
pub fn data_version(pg: &Pg) -> Result<i64> {
    pg.count("SELECT v FROM data_version WHERE id = 1", &[])
}
