//! Undoing an agent's own last change of an item (`u`, `crmtop feedback
//! undo`): back to the status and holder before it, with what that change
//! cleared (a resolution's note and time, an escalation's reason), through
//! the same version check as every change, as an audit entry of its own.

use super::{changed_and_logged, changed_meanwhile, conflict, current, Outcome, PAUSE_SQL};
use crate::analytics::workflow::{State, Status};
use crate::error::{Error, Result};
use crate::store::feedback;
use crate::store::sql::{self, Writer};

/// Undo `agent`'s own last change of an item, if nobody changed the item
/// since: `version` is the version that change produced (optimistic
/// locking, as every other change). The item goes back to the status and
/// assignee it had before; the undo is an audit entry of its own.
pub fn undo(
    db: &mut impl Writer,
    fid: i64,
    version: i64,
    agent: &str,
    now: i64,
) -> Result<Outcome> {
    db.write(&mut |tx| {
        let Some(cur) = current(tx, fid)? else {
            return Ok(Outcome::Missing { fid });
        };
        if cur.version != version {
            return Ok(conflict(cur));
        }
        let last = tx
            .row(
                "SELECT agent, action, old_value FROM audit_log
                 WHERE entity = 'feedback' AND entity_id = ?1 ORDER BY aid DESC LIMIT 1",
                &[sql::text(&cur.id)],
            )?
            .map(|r| Ok::<_, Error>((r.text(0)?, r.text(1)?, r.opt_text(2)?)))
            .transpose()?;
        let Some((by, action, Some(old))) = last else {
            return Ok(Outcome::Refused {
                id: cur.id,
                message: "nothing to undo".into(),
            });
        };
        if by != agent || action == "undo" {
            return Ok(Outcome::Refused {
                id: cur.id,
                message: format!("the last change ({action}) is not yours to undo"),
            });
        }
        let v: serde_json::Value = serde_json::from_str(&old)
            .map_err(|e| Error::Other(format!("{}: unreadable audit entry: {e}", cur.id)))?;
        let status = v
            .get("status")
            .and_then(|s| s.as_str())
            .and_then(Status::parse)
            .ok_or_else(|| Error::Other(format!("{}: the audit entry has no status", cur.id)))?;
        let assignee = v
            .get("assignee")
            .and_then(|s| s.as_str())
            .map(str::to_string);
        // Back to resolved or escalated: the note, time and reason the
        // undone change cleared come back from the entry that set them
        // (undoing a reopen had left a resolved item without them).
        let set_by = |act: &str| -> Result<Option<(Option<String>, i64)>> {
            tx.row(
                "SELECT details, at FROM audit_log
                 WHERE entity = 'feedback' AND entity_id = ?1 AND action = ?2 ORDER BY aid DESC LIMIT 1",
                &[sql::text(&cur.id), sql::text(act)],
            )?
            .map(|r| Ok((r.opt_text(0)?, r.i64(1)?)))
            .transpose()
        };
        let resolved = match status {
            Status::Resolved | Status::Closed => set_by("resolve")?,
            _ => None,
        };
        let escalated = match status {
            Status::Escalated => set_by("escalate")?,
            _ => None,
        };
        let changed = tx.exec(
            &format!(
                // sql-format-ok: a constant.
                "UPDATE feedback SET status = ?1, assignee = CAST(?2 AS TEXT), version = version + 1,
                     updated_at = ?3, updated_by = ?4,
                     {PAUSE_SQL},
                     resolution_note = CASE WHEN ?1 IN ('resolved', 'closed') THEN COALESCE(resolution_note, CAST(?7 AS TEXT)) END,
                     resolved_at = CASE WHEN ?1 IN ('resolved', 'closed') THEN COALESCE(resolved_at, CAST(?8 AS BIGINT)) END,
                     escalation_reason = CASE WHEN ?1 = 'escalated' THEN COALESCE(escalation_reason, CAST(?9 AS TEXT)) END
                 WHERE fid = ?5 AND version = ?6"
            ),
            &[
                sql::text(status.as_str()),
                sql::opt_text(assignee.as_deref()),
                sql::int(now),
                sql::text(agent),
                sql::int(fid),
                sql::int(cur.version),
                sql::opt_text(resolved.as_ref().and_then(|r| r.0.as_deref())),
                resolved
                    .as_ref()
                    .map_or(rusqlite::types::Value::Null, |r| sql::int(r.1)),
                sql::opt_text(escalated.as_ref().and_then(|r| r.0.as_deref())),
            ],
        )?;
        if changed != 1 {
            return changed_meanwhile(tx, fid, cur);
        }
        feedback::requeue(tx, fid)?;
        changed_and_logged(
            tx,
            now,
            agent,
            "undo",
            cur,
            State { status, assignee },
            Some(&format!("undid {action}")),
        )
    })
}
