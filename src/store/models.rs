//! Churn model versions and their scores. A version becomes active inside
//! the transaction that writes it; until then the previous active model and
//! its scores are untouched.

use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};

/// Versions kept; older inactive ones are deleted.
pub const KEEP_VERSIONS: i64 = 20;
/// Versions whose per-customer scores are kept (the active one always):
/// scores are one row per customer, so twenty sets would dwarf the data.
/// A version without scores is re-scored when activated.
pub const KEEP_SCORES: i64 = 5;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelRow {
    pub id: i64,
    pub kind: String,
    pub created_at: i64,
    pub agent: String,
    pub as_of: String,
    pub window_days: i64,
    pub label_source: String,
    pub n_train: i64,
    pub n_test: i64,
    pub positive_rate: f64,
    pub duration_ms: i64,
    pub active: bool,
    pub report: serde_json::Value,
    #[serde(skip)]
    pub params: String,
    pub has_scores: bool,
}

pub struct NewModel<'a> {
    pub kind: &'a str,
    pub agent: &'a str,
    pub as_of: &'a str,
    pub window_days: i64,
    pub label_source: &'a str,
    pub n_train: i64,
    pub n_test: i64,
    pub positive_rate: f64,
    pub duration_ms: i64,
    pub report: &'a serde_json::Value,
    pub params: &'a str,
}

pub fn insert(conn: &Connection, m: &NewModel) -> Result<i64> {
    conn.execute(
        "INSERT INTO models(kind, created_at, agent, as_of, window_days, label_source, n_train, n_test,
                            positive_rate, duration_ms, active, report, params)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12)",
        params![
            m.kind,
            crate::timeutil::now(),
            m.agent,
            m.as_of,
            m.window_days,
            m.label_source,
            m.n_train,
            m.n_test,
            m.positive_rate,
            m.duration_ms,
            serde_json::to_string(m.report)?,
            m.params
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Replace the report of a model (its final duration is known after the write).
pub fn update_report(
    conn: &Connection,
    id: i64,
    report: &serde_json::Value,
    duration_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE models SET report = ?2, duration_ms = ?3 WHERE id = ?1",
        params![id, serde_json::to_string(report)?, duration_ms],
    )?;
    Ok(())
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<ModelRow> {
    let report: String = r.get(11)?;
    Ok(ModelRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        created_at: r.get(2)?,
        agent: r.get(3)?,
        as_of: r.get(4)?,
        window_days: r.get(5)?,
        label_source: r.get(6)?,
        n_train: r.get(7)?,
        n_test: r.get(8)?,
        positive_rate: r.get(9)?,
        duration_ms: r.get(10)?,
        report: serde_json::from_str(&report).unwrap_or(serde_json::Value::Null),
        active: r.get::<_, i64>(12)? == 1,
        params: r.get(13)?,
        has_scores: r.get::<_, i64>(14)? == 1,
    })
}

const SELECT: &str =
    "SELECT id, kind, created_at, agent, as_of, window_days, label_source, n_train, n_test,
    positive_rate, duration_ms, report, active, params,
    EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'churn_scores_' || models.id)
    FROM models";

/// Every version, newest first.
pub fn list(conn: &Connection) -> Result<Vec<ModelRow>> {
    // sql-format-ok: a constant column list.
    let mut st = conn.prepare(&format!("{SELECT} ORDER BY id DESC"))?;
    let rows = st.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<ModelRow>> {
    // sql-format-ok: a constant column list.
    let mut st = conn.prepare(&format!("{SELECT} WHERE id = ?1"))?;
    Ok(st.query_row([id], row).optional()?)
}

/// The active model's id (one index seek; the list pages ask on every load).
pub fn active_id(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT id FROM models WHERE active = 1", [], |r| r.get(0))
        .optional()?)
}

pub fn active(conn: &Connection) -> Result<Option<ModelRow>> {
    // sql-format-ok: a constant column list.
    let mut st = conn.prepare(&format!("{SELECT} WHERE active = 1"))?;
    Ok(st.query_row([], row).optional()?)
}

/// Write one version's scores, replacing any it had (see `store::scores`;
/// the drivers packed, see `store::drivers`).
pub fn write_scores<'a>(
    conn: &Connection,
    model_id: i64,
    scores: impl IntoIterator<Item = (i64, f64, &'a [u8])>,
) -> Result<u64> {
    super::scores::write(conn, model_id, scores)
}

/// Make `id` the active version: a flag and the views re-pointed at its
/// scores (instant at any size); the queue's priorities follow. Call
/// inside a transaction.
pub fn activate(conn: &Connection, id: i64, ctl: crate::jobs::Ctl) -> Result<()> {
    activate_given(conn, id, ctl, None, None)
}

/// `activate` a version whose scores the caller holds (in key order): the
/// queue's priorities are computed from them, not read back; `clv`, the
/// active CLV values read before the transaction, is used if still active.
pub fn activate_given(
    conn: &Connection,
    id: i64,
    ctl: crate::jobs::Ctl,
    scores: Option<super::scores::ActiveByCid>,
    clv: Option<super::feedback::Prefetched>,
) -> Result<()> {
    if !super::scores::has(conn, id)? {
        return Err(Error::Other(format!(
            "model v{id} has no scores to activate"
        )));
    }
    conn.execute(
        "UPDATE models SET active = 0 WHERE active = 1 AND id <> ?1",
        [id],
    )?;
    conn.execute("UPDATE models SET active = 1 WHERE id = ?1", [id])?;
    super::scores::point_active(conn, Some(id))?;
    ctl.report("updating queue priorities", 0, 1);
    super::feedback::refresh_priorities_prefetched(conn, scores, None, clv)?;
    Ok(())
}

/// Delete versions beyond the newest `KEEP_VERSIONS` (never the active one),
/// and the scores of all but the newest `KEEP_SCORES` and the active one
/// (retired: their rows are cleared after the commit by
/// `store::retired::clear`, without holding the write lock for long).
pub fn prune(conn: &Connection) -> Result<()> {
    // Scores go first, each version's two tables dropped (those beyond
    // KEEP_VERSIONS are among them).
    let gone: Vec<i64> = {
        let mut st = conn.prepare(
            "SELECT id FROM models WHERE active = 0 AND id NOT IN (SELECT id FROM models ORDER BY id DESC LIMIT ?1)",
        )?;
        let rows = st.query_map([KEEP_SCORES], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in gone {
        super::scores::retire_version(conn, id)?;
    }
    conn.execute(
        "DELETE FROM models WHERE active = 0 AND id NOT IN (SELECT id FROM models ORDER BY id DESC LIMIT ?1)",
        [KEEP_VERSIONS],
    )?;
    Ok(())
}

/// The score tables the next version's prune will retire (as `prune` picks
/// them once that version is the newest), to be read ahead of it
/// (`store::retired::warm`).
pub fn soon_pruned(conn: &Connection) -> Result<Vec<String>> {
    super::retired::tables_of(
        conn,
        "SELECT id FROM models WHERE active = 0 AND id NOT IN (SELECT id FROM models ORDER BY id DESC LIMIT ?1)",
        KEEP_SCORES - 1,
        |id| super::scores::table_names(id).to_vec(),
    )
}

/// One customer's score under a version, with its drivers JSON.
pub fn score_of(conn: &Connection, model_id: i64, cid: i64) -> Result<Option<(f64, String)>> {
    super::scores::score_of(conn, model_id, cid)
}
