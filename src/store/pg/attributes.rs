//! Customer attributes on a server (schema pg 10): the columns a customers
//! file brings, added the first time (`n<pos>` for numbers, `t<pos>` for
//! texts; see the migration). What reads them is engine-neutral, in
//! `store::attributes`.

use super::Pg;
use crate::error::Result;
use crate::store::attributes::Column;
use crate::store::sql::Sql;
use rusqlite::types::Value;

/// The columns of `names` (in that order), adding those that do not exist
/// yet. Call inside a transaction: DDL is transactional on PostgreSQL, so
/// an import that fails takes its new columns with it. Two imports that
/// bring the same new attribute are serialised by a lock on
/// `attribute_columns`, taken only when one is missing.
pub fn ensure(pg: &Pg, names: &[String]) -> Result<Vec<Column>> {
    let known = |pg: &Pg| -> Result<std::collections::HashMap<String, i64>> {
        pg.rows("SELECT name, pos FROM attribute_columns", &[])?
            .iter()
            .map(|r| Ok((r.text(0)?, r.i64(1)?)))
            .collect()
    };
    let mut have = known(pg)?;
    if names.iter().any(|n| !have.contains_key(n)) {
        pg.batch("LOCK TABLE attribute_columns IN SHARE ROW EXCLUSIVE MODE")?;
        have = known(pg)?;
        let new = names.iter().filter(|n| !have.contains_key(*n)).count();
        if have.len() + new > MAX_ATTRIBUTES {
            return Err(crate::error::Error::bad(format!(
                "{} holds {} customer attributes and this file brings {new} more: a PostgreSQL table holds at most {MAX_ATTRIBUTES} (each takes two of its 1,600 columns); leave some columns out of the file",
                pg.shown,
                have.len()
            )));
        }
        for name in names {
            if have.contains_key(name) {
                continue;
            }
            let pos = pg.count(
                "INSERT INTO attribute_columns(pos, name)
                 SELECT COALESCE(max(pos), 0) + 1, ?1 FROM attribute_columns RETURNING pos",
                &[Value::Text(name.clone())],
            )?;
            add_columns(pg, pos)?;
            have.insert(name.clone(), pos);
        }
    }
    Ok(names
        .iter()
        .filter_map(|n| {
            have.get(n).map(|&pos| Column {
                pos,
                name: n.clone(),
            })
        })
        .collect())
}

/// Add the columns of `names` that do not exist yet, in a transaction of
/// their own (committed before a load starts).
pub fn add_missing(pg: &Pg, names: &[String]) -> Result<()> {
    pg.begin("BEGIN")?;
    let r = ensure(pg, names).map(|_| ());
    pg.finish(r)
}

/// At most this many attributes: each is two of a PostgreSQL table's 1,600
/// columns.
pub(super) const MAX_ATTRIBUTES: usize = 790;

/// The two columns of attribute `pos`.
pub(super) fn add_columns(pg: &Pg, pos: i64) -> Result<()> {
    // sql-format-ok: the columns are named after our own integer.
    pg.batch(&format!(
        "ALTER TABLE customer_attrs ADD COLUMN n{pos} DOUBLE PRECISION, ADD COLUMN t{pos} TEXT"
    ))
}

/// Register attribute `name` at `pos` (a copy from a file keeps the file's
/// positions).
pub(super) fn register(pg: &Pg, pos: i64, name: &str) -> Result<()> {
    pg.exec(
        "INSERT INTO attribute_columns(pos, name) VALUES (?1, ?2)",
        &[Value::Integer(pos), Value::Text(name.to_string())],
    )?;
    add_columns(pg, pos)
}
