//! The append-only audit log (triggers in the schema refuse UPDATE and DELETE).

use crate::error::Result;
use rusqlite::{params, Connection};

#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    pub agent: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub details: Option<String>,
}

/// Append one entry; returns its id.
#[allow(clippy::too_many_arguments)]
pub fn append(
    conn: &Connection,
    agent: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    old_value: Option<&str>,
    new_value: Option<&str>,
    details: Option<&str>,
) -> Result<i64> {
    append_at(
        conn,
        crate::timeutil::now(),
        agent,
        action,
        entity,
        entity_id,
        old_value,
        new_value,
        details,
    )
}

/// Append one entry with an explicit time (demo data, tests).
#[allow(clippy::too_many_arguments)]
pub fn append_at(
    conn: &Connection,
    at: i64,
    agent: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    old_value: Option<&str>,
    new_value: Option<&str>,
    details: Option<&str>,
) -> Result<i64> {
    let mut st = conn.prepare_cached(
        "INSERT INTO audit_log(at, agent, action, entity, entity_id, old_value, new_value, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    st.execute(params![
        at, agent, action, entity, entity_id, old_value, new_value, details
    ])?;
    Ok(conn.last_insert_rowid())
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        at: r.get(1)?,
        agent: r.get(2)?,
        action: r.get(3)?,
        entity: r.get(4)?,
        entity_id: r.get(5)?,
        old_value: r.get(6)?,
        new_value: r.get(7)?,
        details: r.get(8)?,
    })
}

/// The latest entries about one entity, newest first.
pub fn for_entity(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
    limit: i64,
) -> Result<Vec<Entry>> {
    let mut st = conn.prepare_cached(
        "SELECT aid, at, agent, action, entity, entity_id, old_value, new_value, details
         FROM audit_log WHERE entity = ?1 AND entity_id = ?2 ORDER BY aid DESC LIMIT ?3",
    )?;
    let rows = st.query_map(params![entity, entity_id, limit], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every entry about one kind of entity in order (for replaying the log).
pub fn all_for(conn: &Connection, entity: &str) -> Result<Vec<Entry>> {
    let mut st = conn.prepare(
        "SELECT aid, at, agent, action, entity, entity_id, old_value, new_value, details
         FROM audit_log WHERE entity = ?1 ORDER BY aid",
    )?;
    let rows = st.query_map([entity], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
