//! Feedback items: priority upkeep, the queue, and workflow writes with
//! optimistic locking.

use crate::analytics::priority::{self, Inputs};
use crate::error::Result;
use rusqlite::Connection;

/// Register `crmtop_prio(kind, score, sentiment, churn_prob, clv)`: the
/// time-independent priority of `analytics::priority`, for set-based updates.
pub fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "crmtop_prio",
        5,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let kind: String = ctx.get(0)?;
            let inputs = Inputs {
                kind: &kind,
                score: ctx.get(1)?,
                sentiment: ctx.get(2)?,
                churn_prob: ctx.get(3)?,
                clv: ctx.get(4)?,
            };
            Ok(priority::static_priority(&inputs))
        },
    )?;
    Ok(())
}

/// Recompute the stored, time-independent priority of the given items, or of
/// every item still in the queue when `fids` is None (after a model or CLV change).
pub fn refresh_static_priority(conn: &Connection, fids: Option<&[i64]>) -> Result<usize> {
    register_functions(conn)?;
    match fids {
        Some(fids) => {
            let mut st = conn.prepare_cached(
                "INSERT INTO feedback_prio(fid, prio_static)
                 SELECT f.fid, crmtop_prio(f.kind, f.score, f.sentiment, c.churn_prob, c.clv)
                 FROM feedback f JOIN customers c ON c.cid = f.cid WHERE f.fid = ?1
                 ON CONFLICT(fid) DO UPDATE SET prio_static = excluded.prio_static",
            )?;
            let mut n = 0;
            for fid in fids {
                n += st.execute([fid])?;
            }
            Ok(n)
        }
        None => Ok(conn.execute(
            "INSERT INTO feedback_prio(fid, prio_static)
             SELECT f.fid, crmtop_prio(f.kind, f.score, f.sentiment, c.churn_prob, c.clv)
             FROM feedback f JOIN customers c ON c.cid = f.cid
             WHERE f.status IN ('new', 'open', 'pending', 'escalated')
             ON CONFLICT(fid) DO UPDATE SET prio_static = excluded.prio_static",
            [],
        )?),
    }
}
