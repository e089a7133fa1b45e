//! The append-only audit log (triggers in the schema refuse UPDATE and DELETE).

use crate::error::Result;
use crate::store::sql::{self, Row, Sql};
use rusqlite::types::Value;

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
    conn: &dyn Sql,
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
    conn: &dyn Sql,
    at: i64,
    agent: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    old_value: Option<&str>,
    new_value: Option<&str>,
    details: Option<&str>,
) -> Result<i64> {
    let row = conn.row(
        "INSERT INTO audit_log(at, agent, action, entity, entity_id, old_value, new_value, details)
         VALUES (?1, ?2, ?3, ?4, ?5, CAST(?6 AS TEXT), CAST(?7 AS TEXT), CAST(?8 AS TEXT))
         RETURNING aid",
        &[
            sql::int(at),
            sql::text(agent),
            sql::text(action),
            sql::text(entity),
            sql::text(entity_id),
            sql::opt_text(old_value),
            sql::opt_text(new_value),
            sql::opt_text(details),
        ],
    )?;
    match row {
        Some(r) => r.i64(0),
        None => Err(crate::error::Error::Other(
            "the audit log gave no key for a new entry".into(),
        )),
    }
}

/// An entry from a row of its nine columns (`SELECT aid, at, agent, ...`).
pub(crate) fn row(r: &Row) -> Result<Entry> {
    Ok(Entry {
        id: r.i64(0)?,
        at: r.i64(1)?,
        agent: r.text(2)?,
        action: r.text(3)?,
        entity: r.text(4)?,
        entity_id: r.text(5)?,
        old_value: r.opt_text(6)?,
        new_value: r.opt_text(7)?,
        details: r.opt_text(8)?,
    })
}

/// The latest entries about one entity, newest first.
pub fn for_entity(conn: &dyn Sql, entity: &str, entity_id: &str, limit: i64) -> Result<Vec<Entry>> {
    conn.rows(
        "SELECT aid, at, agent, action, entity, entity_id, old_value, new_value, details
         FROM audit_log WHERE entity = ?1 AND entity_id = ?2 ORDER BY aid DESC LIMIT ?3",
        &[sql::text(entity), sql::text(entity_id), sql::int(limit)],
    )?
    .iter()
    .map(row)
    .collect()
}

/// Every entry about one kind of entity in order (for replaying the log).
pub fn all_for(conn: &dyn Sql, entity: &str) -> Result<Vec<Entry>> {
    conn.rows(
        "SELECT aid, at, agent, action, entity, entity_id, old_value, new_value, details
         FROM audit_log WHERE entity = ?1 ORDER BY aid",
        &[Value::Text(entity.to_string())],
    )?
    .iter()
    .map(row)
    .collect()
}

/// What replaying the feedback workflow entries of the audit log found.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct Replay {
    /// Workflow entries replayed.
    pub entries: u64,
    /// Items they concern.
    pub items: u64,
    /// Where the log and the items disagree (empty: it replays exactly).
    pub problems: Vec<String>,
}

/// One item's state as the log records it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Logged {
    status: String,
    assignee: Option<String>,
    version: i64,
}

/// Replay every item's workflow entries in order: each must start where the
/// one before it ended (an update lost to a race would show as a break),
/// be a transition the rules allow, carry a higher version than the one
/// before, and the last must match the item as it is now. (A re-import may
/// bump an item's version between two entries when its content changed.)
pub fn replay_feedback(conn: &dyn Sql) -> Result<Replay> {
    use crate::analytics::workflow::{self as wf, Act, State, Status};
    use std::collections::HashMap;
    const ACTIONS: [&str; 10] = [
        "claim", "assign", "release", "pending", "resolve", "escalate", "reopen", "close", "undo",
        "note",
    ];
    let mut out = Replay::default();
    let mut last: HashMap<String, Logged> = HashMap::new();
    // The state before each item's last change (what an undo restores).
    let mut before_last: HashMap<String, Logged> = HashMap::new();
    // The log is read in order, a row at a time (it may hold millions).
    let mut each = |r: &crate::store::sql::Row| -> Result<()> {
        let (aid, agent, action, id) = (r.i64(0)?, r.text(1)?, r.text(2)?, r.text(3)?);
        if !ACTIONS.contains(&action.as_str()) {
            return Ok(());
        }
        out.entries += 1;
        let parse = |v: Option<String>| -> Option<Logged> {
            v.and_then(|s| serde_json::from_str::<Logged>(&s).ok())
        };
        let (Some(old), Some(new)) = (parse(r.opt_text(4)?), parse(r.opt_text(5)?)) else {
            out.problems
                .push(format!("entry {aid} ({id}): old or new state unreadable"));
            return Ok(());
        };
        let details = r.opt_text(6)?;
        if let Some(prev) = last.get(&id) {
            if (prev.status.as_str(), prev.assignee.as_deref())
                != (old.status.as_str(), old.assignee.as_deref())
                || old.version < prev.version
            {
                out.problems.push(format!(
                    "entry {aid} ({id}): starts from {} v{} but the entry before ended at {} v{}",
                    old.status, old.version, prev.status, prev.version
                ));
            }
        }
        if new.version <= old.version {
            out.problems.push(format!(
                "entry {aid} ({id}): version {} does not follow {}",
                new.version, old.version
            ));
        }
        if action == "undo" {
            // An undo restores the state before the change it undid.
            match before_last.get(&id) {
                Some(b)
                    if (b.status.as_str(), b.assignee.as_deref())
                        == (new.status.as_str(), new.assignee.as_deref()) => {}
                _ => out.problems.push(format!(
                    "entry {aid} ({id}): an undo to {} that is not the state before the last change",
                    new.status
                )),
            }
            before_last.remove(&id);
            last.insert(id, new);
            return Ok(());
        }
        before_last.insert(id.clone(), old.clone());
        let act = match action.as_str() {
            "claim" => Act::Claim,
            "assign" => Act::Assign(details.clone().unwrap_or_default()),
            "release" => Act::Release,
            "pending" => Act::Pending,
            "resolve" => Act::Resolve(details.clone().unwrap_or_default()),
            "escalate" => Act::Escalate(details.clone().unwrap_or_default()),
            "reopen" => Act::Reopen,
            "note" => Act::Note(details.clone().unwrap_or_default()),
            _ => Act::Close,
        };
        match Status::parse(&old.status) {
            Some(status) => {
                let from = State {
                    status,
                    assignee: old.assignee.clone(),
                };
                match wf::apply(&from, &act, &agent) {
                    Ok(to)
                        if to.status.as_str() == new.status
                            && to.assignee.as_deref() == new.assignee.as_deref() => {}
                    Ok(to) => out.problems.push(format!(
                        "entry {aid} ({id}): {action} by {agent} from {} gives {} ({}), the log says {} ({})",
                        old.status,
                        to.status,
                        to.assignee.as_deref().unwrap_or("-"),
                        new.status,
                        new.assignee.as_deref().unwrap_or("-")
                    )),
                    Err(e) => out.problems.push(format!(
                        "entry {aid} ({id}): {action} by {agent} from {} is not allowed ({e})",
                        old.status
                    )),
                }
            }
            None => out
                .problems
                .push(format!("entry {aid} ({id}): unknown status {}", old.status)),
        }
        last.insert(id, new);
        Ok(())
    };
    conn.each(
        "SELECT aid, agent, action, entity_id, old_value, new_value, details
         FROM audit_log WHERE entity = 'feedback' ORDER BY aid",
        &[],
        &mut each,
    )?;
    out.items = last.len() as u64;
    let mut ids: Vec<&String> = last.keys().collect();
    ids.sort();
    for id in ids {
        let logged = &last[id];
        let now = conn
            .row(
                "SELECT status, assignee, version FROM feedback WHERE id = ?1",
                &[sql::text(id)],
            )?
            .map(|r| Ok::<_, crate::error::Error>((r.text(0)?, r.opt_text(1)?, r.i64(2)?)))
            .transpose()?;
        match now {
            None => out.problems.push(format!(
                "{id}: in the audit log but no longer in the feedback table"
            )),
            Some((status, assignee, version)) => {
                if status != logged.status
                    || assignee.as_deref() != logged.assignee.as_deref()
                    || version < logged.version
                {
                    out.problems.push(format!(
                        "{id}: the log ends at {} ({}) v{}, the item is {} ({}) v{}",
                        logged.status,
                        logged.assignee.as_deref().unwrap_or("-"),
                        logged.version,
                        status,
                        assignee.as_deref().unwrap_or("-"),
                        version
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// A feedback item's audit entry as a sentence a person reads ("ann
/// resolved it (open -> resolved): refunded"). `details` is the note as it
/// may be shown (masked with `--mask-pii`).
pub fn sentence(e: &Entry, details: Option<&str>) -> String {
    let status = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| v.get("status").and_then(|x| x.as_str()).map(str::to_string))
            .unwrap_or_default()
    };
    let (from, to) = (status(&e.old_value), status(&e.new_value));
    let moved = if from.is_empty() || from == to {
        String::new()
    } else {
        format!(" ({from} -> {to})")
    };
    let who = &e.agent;
    let note = |prefix: &str| {
        details
            .filter(|d| !d.is_empty())
            .map(|d| format!("{prefix}{d}"))
            .unwrap_or_default()
    };
    match e.action.as_str() {
        "claim" => format!("{who} claimed it{moved}"),
        "assign" => format!("{who} assigned it{}{moved}", note(" to ")),
        "release" => format!("{who} released it{moved}"),
        "pending" => format!("{who} set it pending, waiting on the customer{moved}"),
        "resolve" => format!("{who} resolved it{moved}{}", note(": ")),
        "escalate" => format!("{who} escalated it{moved}{}", note(": ")),
        "reopen" => format!("{who} reopened it{moved}"),
        "close" => format!("{who} closed it{moved}"),
        "note" => format!("{who} noted{}", note(": ")),
        "undo" => format!(
            "{who} undid their last change{moved}{}",
            note(": ").replace(": undid ", ": undid the ")
        ),
        other => format!("{who}: {other}{moved}{}", note(": ")),
    }
}
