//! Workflow writes on feedback items, safe with several agents on one file.
//!
//! Every change runs inside `BEGIN IMMEDIATE` (one writer at a time; the
//! others wait up to the busy timeout and then retry) and updates the row
//! only if it still has the version the agent saw:
//! `UPDATE feedback SET ... WHERE fid = ? AND version = ?`. When another
//! agent got there first, the caller learns who and when, and nothing is
//! written. The item's queue row and an audit entry (old -> new state, note)
//! are written in the same transaction, so the audit log replays to the
//! final state of every item.

use crate::analytics::priority::SlaConfig;
use crate::analytics::workflow::{self, Act, Refusal, State, Status};
use crate::error::{Error, Result};
use crate::store::feedback::{self, QueueFilter};
use crate::store::sql::{self, Sql, Writer};
use rusqlite::{Connection, TransactionBehavior};

mod undo;
pub use undo::undo;

/// An item as the caller knows it: its key and, for optimistic locking, the
/// version it saw (None: whatever is current, as a script acting by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub fid: i64,
    pub version: Option<i64>,
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Changed: from one state to another.
    Done {
        id: String,
        from: String,
        to: String,
        assignee: Option<String>,
        version: i64,
    },
    /// Another agent holds the item.
    Held {
        id: String,
        by: String,
        since: Option<i64>,
    },
    /// The item changed since the caller read it (by whom, when, and its
    /// state now).
    Conflict {
        id: String,
        by: Option<String>,
        at: Option<i64>,
        status: String,
        assignee: Option<String>,
    },
    /// Not allowed from the item's status, or input missing.
    Refused { id: String, message: String },
    /// No such item.
    Missing { fid: i64 },
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done { .. })
    }

    /// One line for a person about `act`'s outcome (a note says it was
    /// added: its status did not move).
    pub fn message_for(&self, act: &str) -> String {
        match self {
            Outcome::Done { id, .. } if act == "note" => format!("{id}: note added"),
            o => o.message(),
        }
    }

    /// One line for a person.
    pub fn message(&self) -> String {
        let when = |t: Option<i64>| {
            t.map(|t| format!(" at {}", crate::timeutil::ts_to_minute_string(t)))
                .unwrap_or_default()
        };
        match self {
            Outcome::Done {
                id,
                from,
                to,
                assignee,
                ..
            } => {
                let who = assignee
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default();
                if from == to {
                    format!("{id}: {to}{who}")
                } else {
                    format!("{id}: {from} -> {to}{who}")
                }
            }
            Outcome::Held { id, by, since } => match since {
                Some(t) => format!(
                    "{id} is held by {by} (since {})",
                    crate::timeutil::ts_to_minute_string(*t)
                ),
                None => format!("{id} is held by {by}"),
            },
            Outcome::Conflict {
                id,
                by,
                at,
                status,
                assignee,
            } => format!(
                "{id} was changed by {}{}: it is now {status}{}",
                by.as_deref().unwrap_or("another agent"),
                when(*at),
                assignee
                    .as_deref()
                    .map(|a| format!(", held by {a}"))
                    .unwrap_or_default()
            ),
            Outcome::Refused { id, message } => format!("{id}: {message}"),
            Outcome::Missing { fid } => format!("no feedback item with key {fid}"),
        }
    }
}

/// The audit entry's state text: `{"status": ..., "assignee": ..., "version": ...}`.
pub fn state_json(status: &str, assignee: Option<&str>, version: i64) -> String {
    serde_json::json!({"status": status, "assignee": assignee, "version": version}).to_string()
}

/// Run `f` in a `BEGIN IMMEDIATE` transaction; a busy database (another
/// writer past the busy timeout) is retried, so a user sees a wait, never
/// "database is locked".
pub fn immediate<T>(
    conn: &mut Connection,
    mut f: impl FnMut(&Connection) -> Result<T>,
) -> Result<T> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) if super::is_busy(&e) && attempt < 20 => continue,
            Err(e) => return Err(e.into()),
        };
        match f(&tx) {
            Ok(v) => match tx.commit() {
                Ok(()) => return Ok(v),
                Err(e) if super::is_busy(&e) && attempt < 20 => continue,
                Err(e) => return Err(e.into()),
            },
            Err(e) => return Err(e),
        }
    }
}

struct Current {
    id: String,
    status: Status,
    assignee: Option<String>,
    version: i64,
    updated_by: Option<String>,
    updated_at: Option<i64>,
    first_response_at: Option<i64>,
}

fn current(conn: &dyn Sql, fid: i64) -> Result<Option<Current>> {
    let Some(r) = conn.row(
        "SELECT id, status, assignee, version, updated_by, updated_at, first_response_at
         FROM feedback WHERE fid = ?1",
        &[sql::int(fid)],
    )?
    else {
        return Ok(None);
    };
    let (id, status) = (r.text(0)?, r.text(1)?);
    let status = Status::parse(&status)
        .ok_or_else(|| Error::Other(format!("feedback {id} has an unknown status '{status}'")))?;
    Ok(Some(Current {
        id,
        status,
        assignee: r.opt_text(2)?,
        version: r.i64(3)?,
        updated_by: r.opt_text(4)?,
        updated_at: r.opt_i64(5)?,
        first_response_at: r.opt_i64(6)?,
    }))
}

/// The pause an item's SLA clock gains when it leaves `pending` for `?1`
/// at time `?3` (in the dialect both engines run).
const PAUSE_SQL: &str = "sla_paused_secs = sla_paused_secs + CASE
                   WHEN status = 'pending' AND ?1 <> 'pending' AND ?3 > COALESCE(pending_since, ?3)
                   THEN ?3 - COALESCE(pending_since, ?3) ELSE 0 END,
                 pending_since = CASE WHEN ?1 = 'pending' THEN COALESCE(pending_since, ?3) END";

/// Apply `act` to one item inside the caller's transaction.
fn apply_one(conn: &dyn Sql, target: Target, act: &Act, agent: &str, now: i64) -> Result<Outcome> {
    let Some(cur) = current(conn, target.fid)? else {
        return Ok(Outcome::Missing { fid: target.fid });
    };
    if let Some(v) = target.version {
        if v != cur.version {
            return Ok(conflict(cur));
        }
    }
    let before = State {
        status: cur.status,
        assignee: cur.assignee.clone(),
    };
    let after = match workflow::apply(&before, act, agent) {
        Ok(s) => s,
        Err(Refusal::Held { by }) => {
            return Ok(Outcome::Held {
                id: cur.id,
                by,
                since: cur.updated_at,
            })
        }
        Err(Refusal::Invalid(message)) => {
            return Ok(Outcome::Refused {
                id: cur.id,
                message,
            })
        }
    };
    // Nothing changes (a claim of an item one already holds, an assignment
    // to its holder): nothing is written.
    if after == before && !matches!(act, Act::Resolve(_) | Act::Escalate(_) | Act::Note(_)) {
        return Ok(Outcome::Done {
            id: cur.id,
            from: cur.status.to_string(),
            to: after.status.to_string(),
            assignee: after.assignee,
            version: cur.version,
        });
    }
    // First response: the first time an agent acts on a new item.
    let first_response = cur
        .first_response_at
        .or((cur.status == Status::New && after.status != Status::New).then_some(now));
    let (note, resolved_at, reason) = match act {
        Act::Resolve(n) => (Some(n.trim().to_string()), Some(now), None),
        Act::Escalate(r) => (None, None, Some(r.trim().to_string())),
        _ => (None, None, None),
    };
    let changed = conn.exec(
        &format!(
            // sql-format-ok: a constant.
            "UPDATE feedback SET status = ?1, assignee = CAST(?2 AS TEXT), version = version + 1,
                 updated_at = ?3, updated_by = ?4, first_response_at = CAST(?5 AS BIGINT),
                 {PAUSE_SQL},
                 resolution_note = CASE WHEN CAST(?6 AS TEXT) IS NOT NULL THEN CAST(?6 AS TEXT)
                                        WHEN ?1 IN ('resolved', 'closed') THEN resolution_note END,
                 resolved_at = CASE WHEN CAST(?7 AS BIGINT) IS NOT NULL THEN CAST(?7 AS BIGINT)
                                    WHEN ?1 IN ('resolved', 'closed') THEN resolved_at END,
                 escalation_reason = CASE WHEN CAST(?8 AS TEXT) IS NOT NULL THEN CAST(?8 AS TEXT)
                                          WHEN ?1 = 'escalated' THEN escalation_reason END
             WHERE fid = ?9 AND version = ?10"
        ),
        &[
            sql::text(after.status.as_str()),
            sql::opt_text(after.assignee.as_deref()),
            sql::int(now),
            sql::text(agent),
            sql::opt_int(first_response),
            sql::opt_text(note.as_deref()),
            sql::opt_int(resolved_at),
            sql::opt_text(reason.as_deref()),
            sql::int(target.fid),
            sql::int(cur.version),
        ],
    )?;
    if changed != 1 {
        return changed_meanwhile(conn, target.fid, cur);
    }
    feedback::requeue(conn, target.fid)?;
    changed_and_logged(conn, now, agent, act.name(), cur, after, act.note())
}

/// An UPDATE that found the row at another version: another agent's
/// change committed since `current` read it (possible under PostgreSQL's
/// READ COMMITTED, not under SQLite's BEGIN IMMEDIATE). Refused, as any
/// stale change is, rather than guessed at. The item is read again for
/// the message (a new statement sees the
/// change that committed), so it names who changed it and what it is now.
fn changed_meanwhile(conn: &dyn Sql, fid: i64, cur: Current) -> Result<Outcome> {
    Ok(conflict(current(conn, fid)?.unwrap_or(cur)))
}

/// The item is not at the version the agent acted on: who changed it, and
/// how it is now.
fn conflict(now: Current) -> Outcome {
    Outcome::Conflict {
        id: now.id,
        by: now.updated_by,
        at: now.updated_at,
        status: now.status.to_string(),
        assignee: now.assignee,
    }
}

/// The audit entry of a change just written (from `cur` to `after`, one
/// version on) and its outcome.
fn changed_and_logged(
    conn: &dyn Sql,
    now: i64,
    agent: &str,
    action: &str,
    cur: Current,
    after: State,
    note: Option<&str>,
) -> Result<Outcome> {
    let version = cur.version + 1;
    crate::store::audit::append_at(
        conn,
        now,
        agent,
        action,
        "feedback",
        &cur.id,
        Some(&state_json(
            cur.status.as_str(),
            cur.assignee.as_deref(),
            cur.version,
        )),
        Some(&state_json(
            after.status.as_str(),
            after.assignee.as_deref(),
            version,
        )),
        note,
    )?;
    Ok(Outcome::Done {
        id: cur.id,
        from: cur.status.to_string(),
        to: after.status.to_string(),
        assignee: after.assignee,
        version,
    })
}

fn need_agent(agent: &str) -> Result<()> {
    if agent.trim().is_empty() {
        return Err(Error::BadInput(
            "an agent name is needed (--agent or CRMTOP_AGENT)".into(),
        ));
    }
    Ok(())
}

/// Apply `act` to each item in one transaction; each item's outcome is
/// reported (a conflict on one does not stop the others).
pub fn act(
    db: &mut impl Writer,
    targets: &[Target],
    act: &Act,
    agent: &str,
    now: i64,
) -> Result<Vec<Outcome>> {
    need_agent(agent)?;
    db.write(&mut |tx| {
        targets
            .iter()
            .map(|t| apply_one(tx, *t, act, agent, now))
            .collect()
    })
}

/// Claim the highest-priority unclaimed item for `agent`, in one
/// transaction (so two agents never get the same item). None when nothing
/// is left to claim.
///
/// SQLite has one writer at a time: the top of the queue is read under
/// its lock. PostgreSQL serves many: the candidates are locked as they are
/// read with `FOR UPDATE SKIP LOCKED`, so agents claiming at once each get
/// the best item nobody else is taking, without waiting for each other.
pub fn next(
    db: &mut impl Writer,
    agent: &str,
    sla: &SlaConfig,
    now: i64,
) -> Result<Option<(i64, Outcome)>> {
    need_agent(agent)?;
    db.write(&mut |tx| {
        if let Some(pg) = tx.postgres() {
            // One locked candidate at a time, skipping what others lock.
            let mut tried = Vec::new();
            while tried.len() < 8 {
                let Some(fid) = crate::store::pg::queue::claimable(pg, sla, now, &tried)? else {
                    break;
                };
                let out = apply_one(tx, Target { fid, version: None }, &Act::Claim, agent, now)?;
                if out.is_done() {
                    return Ok(Some((fid, out)));
                }
                tried.push(fid);
            }
            return Ok(None);
        }
        // Top unassigned items; the first that can be claimed is taken.
        let fids: Vec<i64> = match tx.sqlite() {
            Some(conn) => {
                crate::store::queue::top(conn, &QueueFilter::Unassigned, agent, sla, now, 8)?
                    .into_iter()
                    .map(|(_, r)| r.fid)
                    .collect()
            }
            None => vec![],
        };
        for fid in fids {
            let out = apply_one(tx, Target { fid, version: None }, &Act::Claim, agent, now)?;
            if out.is_done() {
                return Ok(Some((fid, out)));
            }
        }
        Ok(None)
    })
}

/// Agent names seen in the queue and the audit log (for completion). Each
/// list is read by skipping from one name to the next in its index, so a
/// long audit log costs one seek per agent, not a scan.
pub fn known_agents(conn: &dyn Sql) -> Result<Vec<String>> {
    conn.rows(
        "WITH RECURSIVE
           q(name) AS (SELECT min(assignee) FROM queue
                       UNION ALL SELECT (SELECT min(assignee) FROM queue WHERE assignee > q.name)
                       FROM q WHERE q.name IS NOT NULL),
           a(name) AS (SELECT min(agent) FROM audit_log
                       UNION ALL SELECT (SELECT min(agent) FROM audit_log WHERE agent > a.name)
                       FROM a WHERE a.name IS NOT NULL)
         SELECT name FROM q WHERE name IS NOT NULL
         UNION SELECT name FROM a WHERE name IS NOT NULL ORDER BY 1",
        &[],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
}
