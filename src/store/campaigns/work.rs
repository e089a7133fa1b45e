//! A campaign's work list: treated members in rank order, claimed by one
//! agent at a time, given back, given an outcome under optimistic locking.
//! A member has a `campaign_work` row once an agent touched them; the rest
//! are read from the packed assignment.

use super::members::{customers_of, packed_of, Who};
use super::packed::{self, Packed};
use crate::error::{Error, Result};
use crate::store::sql::{int, opt_text, text, Row, Sql};
use serde::Serialize;
use std::collections::HashMap;

/// What agents did with a member (a member without a work row: nothing).
#[derive(Debug, Clone)]
pub(super) struct Work {
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub outcome_by: Option<String>,
    pub claimed_by: Option<String>,
    pub version: i64,
}

impl Default for Work {
    fn default() -> Self {
        Work {
            outcome: None,
            note: None,
            outcome_by: None,
            claimed_by: None,
            version: 1,
        }
    }
}

fn work_from(r: &Row, at: usize) -> Result<Work> {
    Ok(Work {
        outcome: r.opt_text(at)?,
        note: r.opt_text(at + 1)?,
        outcome_by: r.opt_text(at + 2)?,
        claimed_by: r.opt_text(at + 3)?,
        version: r.i64(at + 4)?,
    })
}

/// Every work row of a campaign, by cid.
pub(super) fn work_of(conn: &dyn Sql, campaign_id: i64) -> Result<HashMap<i64, Work>> {
    let mut out = HashMap::new();
    conn.each(
        "SELECT cid, outcome, note, outcome_by, claimed_by, version
         FROM campaign_work WHERE campaign_id = ?1",
        &[int(campaign_id)],
        &mut |r| {
            out.insert(r.i64(0)?, work_from(r, 1)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// One member's work row.
fn work_one(conn: &dyn Sql, campaign_id: i64, cid: i64) -> Result<Work> {
    conn.row(
        "SELECT outcome, note, outcome_by, claimed_by, version
         FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
        &[int(campaign_id), int(cid)],
    )?
    .map(|r| work_from(&r, 0))
    .transpose()
    .map(Option::unwrap_or_default)
}

/// A row of a campaign's work list: a treated member, by rank.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkRow {
    #[serde(skip)]
    pub cid: i64,
    pub customer_id: String,
    pub name: Option<String>,
    /// How to reach them (shown on the card an agent works from; not in
    /// the JSON, which lists members, not contacts).
    #[serde(skip)]
    pub phone: Option<String>,
    #[serde(skip)]
    pub email: Option<String>,
    pub stratum: String,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub value_at_risk: f64,
    pub rank: i64,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub outcome_by: Option<String>,
    pub claimed_by: Option<String>,
    pub version: i64,
}

impl WorkRow {
    /// A member as assigned, their customer and what agents did.
    pub(super) fn of(m: &Packed, who: Who, w: Work) -> WorkRow {
        WorkRow {
            cid: m.cid,
            customer_id: who.id,
            name: who.name,
            phone: who.phone,
            email: who.email,
            stratum: m.stratum.into(),
            churn_prob: m.churn_prob,
            clv: m.clv,
            value_at_risk: m.value_at_risk,
            rank: m.rank,
            outcome: w.outcome,
            note: w.note,
            outcome_by: w.outcome_by,
            claimed_by: w.claimed_by,
            version: w.version,
        }
    }
}

fn work_row_of(conn: &dyn Sql, campaign_id: i64, m: Packed) -> Result<WorkRow> {
    let w = work_one(conn, campaign_id, m.cid)?;
    let who = customers_of(conn, &[m.cid], true, false)?
        .pop()
        .unwrap_or_default();
    Ok(WorkRow::of(&m, who, w))
}

/// Treated members from `offset` in rank order (a page of a million-member
/// campaign reads the chunk that holds it).
pub fn work_page(
    conn: &dyn Sql,
    campaign_id: i64,
    offset: i64,
    limit: i64,
) -> Result<Vec<WorkRow>> {
    packed::page(conn, campaign_id, true, offset, limit)?
        .into_iter()
        .map(|m| work_row_of(conn, campaign_id, m))
        .collect()
}

/// One member's work row (any group).
pub fn work_row(conn: &dyn Sql, campaign_id: i64, cid: i64) -> Result<Option<WorkRow>> {
    packed_of(conn, campaign_id, cid)?
        .map(|m| work_row_of(conn, campaign_id, m))
        .transpose()
}

/// The treated member an agent works next: one they hold without an
/// outcome, else the highest value at risk nobody holds and without an
/// outcome (given back, or not touched yet); claimed for them. Call inside
/// an immediate transaction (two agents never get the same customer).
pub fn claim_next(conn: &dyn Sql, campaign_id: i64, agent: &str) -> Result<Option<i64>> {
    let now = crate::timeutil::now();
    if let Some(pg) = conn.postgres() {
        // One claim at a time per campaign on a server (a file's
        // immediate transaction is one writer already): the campaign's
        // row is locked until the commit, so two agents never take the
        // same member from the cursor.
        pg.exec(
            "SELECT id FROM campaigns WHERE id = ?1 FOR UPDATE",
            &[int(campaign_id)],
        )?;
    }
    let held = conn
        .row(
            "UPDATE campaign_work SET claimed_at = ?3
             WHERE campaign_id = ?1 AND cid = (
                 SELECT cid FROM campaign_work
                 WHERE campaign_id = ?1 AND claimed_by = ?2 AND outcome IS NULL
                 ORDER BY rank LIMIT 1)
             RETURNING cid",
            &[int(campaign_id), text(agent), int(now)],
        )?
        .map(|r| r.i64(0))
        .transpose()?;
    if held.is_some() {
        return Ok(held);
    }
    let given_back = conn
        .row(
            "SELECT cid, rank FROM campaign_work
             WHERE campaign_id = ?1 AND claimed_by IS NULL AND outcome IS NULL
             ORDER BY rank LIMIT 1",
            &[int(campaign_id)],
        )?
        .map(|r| Ok::<_, Error>((r.i64(0)?, r.i64(1)?)))
        .transpose()?;
    let untouched = first_untouched(conn, campaign_id)?;
    match (given_back, untouched) {
        (Some((cid, rank)), u) if u.as_ref().is_none_or(|u| rank < u.rank) => {
            // Still given back and without an outcome: on a server another
            // agent may have recorded one since it was read (a file's
            // immediate transaction rules that out).
            let n = conn.exec(
                "UPDATE campaign_work SET claimed_by = ?3, claimed_at = ?4, version = version + 1
                 WHERE campaign_id = ?1 AND cid = ?2 AND claimed_by IS NULL AND outcome IS NULL",
                &[int(campaign_id), int(cid), text(agent), int(now)],
            )?;
            if n == 0 {
                return Err(Error::Busy(
                    "another agent took or worked that customer meanwhile".into(),
                ));
            }
            Ok(Some(cid))
        }
        (_, Some(m)) => {
            conn.exec(
                "INSERT INTO campaign_work(campaign_id, cid, rank, pos, claimed_by, claimed_at, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 2)",
                &[
                    int(campaign_id),
                    int(m.cid),
                    int(m.rank),
                    int(m.pos),
                    text(agent),
                    int(now),
                ],
            )?;
            conn.exec(
                "UPDATE campaigns SET claim_cursor = ?2 WHERE id = ?1",
                &[int(campaign_id), int(m.pos + 1)],
            )?;
            Ok(Some(m.cid))
        }
        _ => Ok(None),
    }
}

/// Whether a member has a work row.
fn has_work(conn: &dyn Sql, campaign_id: i64, cid: i64) -> Result<bool> {
    Ok(conn
        .row(
            "SELECT 1 FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
            &[int(campaign_id), int(cid)],
        )?
        .is_some())
}

/// The first treated member, in rank order, without a work row: from the
/// campaign's cursor (every member before it has one), which moves on.
fn first_untouched(conn: &dyn Sql, campaign_id: i64) -> Result<Option<Packed>> {
    let mut cursor = conn.count(
        "SELECT claim_cursor FROM campaigns WHERE id = ?1",
        &[int(campaign_id)],
    )?;
    let start = cursor;
    let found = 'search: loop {
        let page = packed::page(conn, campaign_id, true, cursor, packed::CHUNK as i64)?;
        if page.is_empty() {
            break None;
        }
        for m in page {
            if has_work(conn, campaign_id, m.cid)? {
                cursor = m.pos + 1;
            } else {
                break 'search Some(m);
            }
        }
    };
    if cursor != start {
        conn.exec(
            "UPDATE campaigns SET claim_cursor = ?2 WHERE id = ?1",
            &[int(campaign_id), int(cursor)],
        )?;
    }
    Ok(found)
}

/// The work row of a member, made (untouched: version 1) if they have
/// none. Errors when the customer is not in the campaign; gives whether
/// they are treated.
fn ensure_work(conn: &dyn Sql, campaign_id: i64, cid: i64) -> Result<bool> {
    if has_work(conn, campaign_id, cid)? {
        return Ok(true);
    }
    let Some(m) = packed::find(conn, campaign_id, cid)? else {
        return Err(Error::BadInput(
            "this customer is not in the campaign".into(),
        ));
    };
    if !m.treatment {
        return Ok(false);
    }
    // Another agent's transaction may have made it meanwhile (a server's
    // writers run side by side): theirs stands, and the version check
    // that follows sees it.
    conn.exec(
        "INSERT INTO campaign_work(campaign_id, cid, rank, pos) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (campaign_id, cid) DO NOTHING",
        &[int(campaign_id), int(cid), int(m.rank), int(m.pos)],
    )?;
    Ok(true)
}

/// Give back a treated member `agent` holds without an outcome, so another
/// agent's `next` can take them; `expected_version` as read. Returns the
/// new version, or says why not (someone else holds them, an outcome is
/// recorded, or they changed meanwhile).
pub fn release(
    conn: &dyn Sql,
    campaign_id: i64,
    cid: i64,
    agent: &str,
    expected_version: i64,
) -> Result<i64> {
    release_as(conn, campaign_id, cid, agent, agent, expected_version)
}

/// Give back a treated member `holder` holds without an outcome, as
/// `actor` (the holder, or someone freeing the hold of an agent who left:
/// the audit says who did and whose it was). The version is read here.
pub fn release_held_by(
    conn: &dyn Sql,
    campaign_id: i64,
    cid: i64,
    holder: &str,
    actor: &str,
) -> Result<i64> {
    let v = conn.count(
        "SELECT version FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
        &[int(campaign_id), int(cid)],
    )?;
    release_as(conn, campaign_id, cid, holder, actor, v)
}

fn release_as(
    conn: &dyn Sql,
    campaign_id: i64,
    cid: i64,
    agent: &str,
    actor: &str,
    expected_version: i64,
) -> Result<i64> {
    let v = conn
        .row(
            "UPDATE campaign_work SET claimed_by = NULL, claimed_at = NULL, version = version + 1
             WHERE campaign_id = ?1 AND cid = ?2 AND claimed_by = ?3 AND outcome IS NULL
               AND version = ?4
             RETURNING version",
            &[
                int(campaign_id),
                int(cid),
                text(agent),
                int(expected_version),
            ],
        )?
        .map(|r| r.i64(0))
        .transpose()?;
    if let Some(v) = v {
        crate::store::audit::append(
            conn,
            actor,
            "campaign_release",
            "campaign_member",
            &format!("{campaign_id}:{cid}"),
            Some(agent),
            None,
            None,
        )?;
        return Ok(v);
    }
    type Cur = (i64, Option<String>, Option<String>);
    let cur: Option<Cur> = conn
        .row(
            "SELECT version, claimed_by, outcome FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
            &[int(campaign_id), int(cid)],
        )?
        .map(|r| Ok::<_, Error>((r.i64(0)?, r.opt_text(1)?, r.opt_text(2)?)))
        .transpose()?;
    if cur.is_none() && packed_of(conn, campaign_id, cid)?.is_some() {
        return Err(Error::Conflict("nobody holds this customer".into()));
    }
    Err(Error::Conflict(match cur {
        None => "not a member of this campaign".into(),
        Some((_, _, Some(o))) => format!("has an outcome already ({o}): nothing to give back"),
        Some((_, Some(by), _)) if by != agent => {
            format!("{} holds this customer, not you", crate::term::safe(&by))
        }
        Some((_, None, _)) => "nobody holds this customer".into(),
        Some((v, _, _)) => format!("changed meanwhile (version {v}, you read {expected_version})"),
    }))
}

/// Record an outcome on a treated member. `expected_version` (as read) makes
/// a change made meanwhile by someone else a conflict instead of lost.
pub fn record_outcome(
    conn: &dyn Sql,
    campaign_id: i64,
    cid: i64,
    outcome: &str,
    note: Option<&str>,
    agent: &str,
    expected_version: Option<i64>,
) -> Result<i64> {
    let status = conn
        .row(
            "SELECT status FROM campaigns WHERE id = ?1",
            &[int(campaign_id)],
        )?
        .map(|r| r.text(0))
        .transpose()?
        .ok_or_else(|| Error::BadInput(format!("no campaign {campaign_id}")))?;
    if status != "open" {
        return Err(Error::bad("the campaign is closed: its outcomes are final"));
    }
    if !ensure_work(conn, campaign_id, cid)? {
        return Err(Error::bad(
            "this customer is in the control group: the control group receives nothing, so it has no outcome",
        ));
    }
    let key = [int(campaign_id), int(cid)];
    let (version, old, claimed, old_by) = conn
        .row(
            "SELECT version, outcome, claimed_by, outcome_by FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
            &key,
        )?
        .map(|r| Ok::<_, Error>((r.i64(0)?, r.opt_text(1)?, r.opt_text(2)?, r.opt_text(3)?)))
        .transpose()?
        .ok_or_else(|| Error::Conflict("changed since you read it; read it again".into()))?;
    // Another agent's recorded outcome is replaced only knowingly: with the
    // version read (campaign show --json gives it).
    if let (Some(o), Some(by), None) = (&old, old_by.as_deref(), expected_version) {
        if by != agent {
            return Err(Error::Conflict(format!(
                "{} recorded '{o}' for this customer; to replace it, give --version {version}",
                crate::term::safe(by)
            )));
        }
    }
    if let Some(other) = claimed.filter(|c| c != agent) {
        return Err(Error::Conflict(format!(
            "{} is working this customer (claimed with `campaign next`); leave it to them",
            crate::term::safe(&other)
        )));
    }
    if let Some(v) = expected_version {
        if v > version {
            return Err(Error::bad(format!(
                "--version {v} is not one this customer has had (it is at {version})"
            )));
        }
        if v != version {
            return Err(Error::Conflict(format!(
                "changed since you read it (version {version}, you read {v}); outcome now: {}",
                old.as_deref().unwrap_or("none")
            )));
        }
    }
    let n = conn.exec(
        "UPDATE campaign_work SET outcome = ?3, note = ?4, outcome_at = ?5, outcome_by = ?6,
                claimed_by = NULL, claimed_at = NULL, version = version + 1
         WHERE campaign_id = ?1 AND cid = ?2 AND version = ?7",
        &[
            int(campaign_id),
            int(cid),
            text(outcome),
            opt_text(note),
            int(crate::timeutil::now()),
            text(agent),
            int(version),
        ],
    )?;
    if n == 0 {
        return Err(Error::Conflict(
            "changed since you read it; read it again".into(),
        ));
    }
    crate::store::audit::append(
        conn,
        agent,
        "campaign_outcome",
        "campaign_member",
        &format!("{campaign_id}:{cid}"),
        old.as_deref(),
        Some(outcome),
        note,
    )?;
    Ok(version + 1)
}

/// Outcomes recorded outside crmtop (the demo's past campaigns), in bulk:
/// `(cid, outcome)` for treated members, by `agent` at `at`.
pub fn seed_outcomes(
    conn: &dyn Sql,
    campaign_id: i64,
    outcomes: &[(i64, &str)],
    agent: &str,
    at: i64,
) -> Result<()> {
    let treated: HashMap<i64, Packed> = packed::read(conn, campaign_id, Some(true))?
        .into_iter()
        .map(|m| (m.cid, m))
        .collect();
    for (cid, o) in outcomes {
        if let Some(m) = treated.get(cid) {
            conn.exec(
                "INSERT INTO campaign_work(campaign_id, cid, rank, pos, outcome, outcome_at, outcome_by, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 2)",
                &[
                    int(campaign_id),
                    int(*cid),
                    int(m.rank),
                    int(m.pos),
                    text(o),
                    int(at),
                    text(agent),
                ],
            )?;
        }
    }
    Ok(())
}
