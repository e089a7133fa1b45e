//! Feedback items: priority upkeep, the queue, and workflow writes with
//! optimistic locking.

use crate::analytics::priority::{self, Inputs};
use crate::error::Result;
use rusqlite::{params, Connection};

/// Recompute the stored, time-independent priority of the given items, or of
/// every item still in the queue when `fids` is None (after a model or CLV change).
pub fn refresh_static_priority(conn: &Connection, fids: Option<&[i64]>) -> Result<usize> {
    let mut upd = conn.prepare_cached("UPDATE feedback SET prio_static = ?2 WHERE fid = ?1")?;
    let mut n = 0;
    let mut apply = |r: &rusqlite::Row| -> rusqlite::Result<()> {
        let fid: i64 = r.get(0)?;
        let kind: String = r.get(1)?;
        let inputs = Inputs {
            kind: &kind,
            score: r.get(2)?,
            sentiment: r.get(3)?,
            churn_prob: r.get(4)?,
            clv: r.get(5)?,
        };
        upd.execute(params![fid, priority::static_priority(&inputs)])?;
        n += 1;
        Ok(())
    };
    match fids {
        Some(fids) => {
            let mut st = conn.prepare_cached(
                "SELECT f.fid, f.kind, f.score, f.sentiment, c.churn_prob, c.clv
                 FROM feedback f JOIN customers c ON c.cid = f.cid WHERE f.fid = ?1",
            )?;
            for fid in fids {
                let mut rows = st.query([fid])?;
                if let Some(r) = rows.next()? {
                    apply(r)?;
                }
            }
        }
        None => {
            let mut st = conn.prepare(
                "SELECT f.fid, f.kind, f.score, f.sentiment, c.churn_prob, c.clv
                 FROM feedback f JOIN customers c ON c.cid = f.cid
                 WHERE f.status NOT IN ('resolved','closed')",
            )?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                apply(r)?;
            }
        }
    }
    Ok(n)
}
