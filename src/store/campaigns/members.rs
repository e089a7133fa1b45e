//! A campaign's members: as a report reads them, as a work list shows
//! them, claimed and given an outcome under optimistic locking.

use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// One member with what the report and the work list need.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub customer_id: String,
    #[serde(skip)]
    pub cid: i64,
    pub name: Option<String>,
    pub group: String,
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
    /// Ordered in [start, start + window) (up to the report's as-of date).
    #[serde(skip)]
    pub ordered: bool,
    /// Spend in the window.
    #[serde(skip)]
    pub revenue: f64,
    /// The churn label now (explicit-label data).
    #[serde(skip)]
    pub churned: Option<bool>,
}

/// Every member of a campaign in rank order, with their orders and spend
/// in [from, to) (timestamps).
pub fn members(conn: &Connection, campaign_id: i64, from: i64, to: i64) -> Result<Vec<Member>> {
    members_where(conn, campaign_id, from, to, None)
}

/// One member (by cid), as `members` gives them.
pub fn member(
    conn: &Connection,
    campaign_id: i64,
    cid: i64,
    from: i64,
    to: i64,
) -> Result<Option<Member>> {
    Ok(members_where(conn, campaign_id, from, to, Some(cid))?.pop())
}

fn members_where(
    conn: &Connection,
    campaign_id: i64,
    from: i64,
    to: i64,
    cid: Option<i64>,
) -> Result<Vec<Member>> {
    let mut st = conn.prepare_cached(
        "SELECT c.id, m.cid, c.name, m.grp, m.stratum, m.churn_prob, m.clv, m.value_at_risk, m.rank,
                m.outcome, m.note, m.outcome_by, m.claimed_by, m.version,
                (SELECT sum(o.amount) FROM orders o WHERE o.cid = m.cid AND o.ts >= ?2 AND o.ts < ?3),
                c.churned
         FROM campaign_members m JOIN customers c ON c.cid = m.cid
         WHERE m.campaign_id = ?1 AND (?4 IS NULL OR m.cid = ?4) ORDER BY m.cid",
    )?;
    let rows = st.query_map(params![campaign_id, from, to, cid], |r| {
        Ok(Member {
            customer_id: r.get(0)?,
            cid: r.get(1)?,
            name: r.get(2)?,
            group: r.get(3)?,
            stratum: r.get(4)?,
            churn_prob: r.get(5)?,
            clv: r.get(6)?,
            value_at_risk: r.get(7)?,
            rank: r.get(8)?,
            outcome: r.get(9)?,
            note: r.get(10)?,
            outcome_by: r.get(11)?,
            claimed_by: r.get(12)?,
            version: r.get(13)?,
            // One lookup for both: no order in the window sums to NULL.
            ordered: r.get::<_, Option<f64>>(14)?.is_some(),
            revenue: r.get::<_, Option<f64>>(14)?.unwrap_or(0.0),
            churned: r.get::<_, Option<i64>>(15)?.map(|c| c == 1),
        })
    })?;
    // Read in customer order (the customers and their orders are then
    // visited in the order they are stored: a million members in seconds
    // less), returned in rank order.
    let mut out: Vec<Member> = rows.collect::<rusqlite::Result<_>>()?;
    out.sort_by_key(|m| m.rank);
    Ok(out)
}

/// What a report needs of a member: their group and band, the scores
/// before the campaign, the outcome, and what they did in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    pub treatment: bool,
    pub stratum: String,
    pub churn_prob: Option<f64>,
    pub value_at_risk: f64,
    pub outcome: Option<String>,
    /// Ordered in [from, to).
    pub ordered: bool,
    /// Spend in [from, to).
    pub revenue: f64,
    /// The churn label now (read only `with_label`).
    pub churned: Option<bool>,
}

/// Every member of a campaign in rank order, as its report reads them.
/// For a large campaign the window's orders are summed in one pass over
/// the orders index (a million members: 0.4 s, where a lookup per member
/// took 2.3 s); a small one looks each member up.
pub fn window_rows(
    conn: &Connection,
    campaign_id: i64,
    from: i64,
    to: i64,
    with_label: bool,
) -> Result<Vec<WindowRow>> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM campaign_members WHERE campaign_id = ?1",
        [campaign_id],
        |r| r.get(0),
    )?;
    // (cid, spend) in cid order, walked beside the members (also in cid
    // order): a merge, no hashing.
    let mut spend: Vec<(i64, f64)> = Vec::new();
    let per_member = n < 20_000;
    if !per_member {
        let mut st = conn.prepare_cached(
            "SELECT cid, total(amount) FROM orders WHERE ts >= ?1 AND ts < ?2
             GROUP BY cid ORDER BY cid",
        )?;
        let rows = st.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for r in rows {
            spend.push(r?);
        }
    }
    let mut at = 0usize;
    let mut st = conn.prepare_cached(
        "SELECT m.cid, m.grp, m.stratum, m.churn_prob, m.value_at_risk, m.rank, m.outcome,
                CASE WHEN ?4 THEN (SELECT total(o.amount) FROM orders o
                                   WHERE o.cid = m.cid AND o.ts >= ?2 AND o.ts < ?3) END,
                CASE WHEN ?4 THEN (SELECT count(*) FROM orders o
                                   WHERE o.cid = m.cid AND o.ts >= ?2 AND o.ts < ?3) END,
                CASE WHEN ?5 THEN (SELECT c.churned FROM customers c WHERE c.cid = m.cid) END
         FROM campaign_members m WHERE m.campaign_id = ?1 ORDER BY m.cid",
    )?;
    let rows = st.query_map(
        params![campaign_id, from, to, per_member, with_label],
        |r| {
            let cid: i64 = r.get(0)?;
            let rank: i64 = r.get(5)?;
            let (ordered, revenue) = if per_member {
                (r.get::<_, i64>(8)? > 0, r.get::<_, f64>(7)?)
            } else {
                while at < spend.len() && spend[at].0 < cid {
                    at += 1;
                }
                match spend.get(at) {
                    Some(&(c, s)) if c == cid => (true, s),
                    _ => (false, 0.0),
                }
            };
            Ok((
                rank,
                WindowRow {
                    treatment: r.get_ref(1)?.as_str()? == "treatment",
                    stratum: r.get(2)?,
                    churn_prob: r.get(3)?,
                    value_at_risk: r.get(4)?,
                    outcome: r.get(6)?,
                    ordered,
                    revenue,
                    churned: r.get::<_, Option<i64>>(9)?.map(|c| c == 1),
                },
            ))
        },
    )?;
    // Ranks are 1..=n: each row goes to its place, no sort.
    let len = usize::try_from(n).unwrap_or(0);
    let mut slots: Vec<Option<WindowRow>> = vec![None; len];
    let mut stray = Vec::new();
    for r in rows {
        let (rank, w) = r?;
        match usize::try_from(rank - 1).ok().filter(|&i| i < len) {
            Some(i) if slots[i].is_none() => slots[i] = Some(w),
            _ => stray.push((rank, w)),
        }
    }
    if stray.is_empty() && slots.iter().all(Option::is_some) {
        return Ok(slots.into_iter().flatten().collect());
    }
    // Not dense (a database edited by hand): sort what there is.
    let mut all: Vec<(i64, WindowRow)> = slots
        .into_iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i as i64 + 1, w)))
        .chain(stray)
        .collect();
    all.sort_by_key(|(rank, _)| *rank);
    Ok(all.into_iter().map(|(_, w)| w).collect())
}

/// A row of a campaign's work list: a treated member, by rank.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkRow {
    #[serde(skip)]
    pub cid: i64,
    pub customer_id: String,
    pub name: Option<String>,
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

const WORK_SELECT: &str =
    "SELECT m.cid, c.id, c.name, m.stratum, m.churn_prob, m.clv, m.value_at_risk,
        m.rank, m.outcome, m.note, m.outcome_by, m.claimed_by, m.version
 FROM campaign_members m JOIN customers c ON c.cid = m.cid";

fn work_row_of(r: &rusqlite::Row) -> rusqlite::Result<WorkRow> {
    Ok(WorkRow {
        cid: r.get(0)?,
        customer_id: r.get(1)?,
        name: r.get(2)?,
        stratum: r.get(3)?,
        churn_prob: r.get(4)?,
        clv: r.get(5)?,
        value_at_risk: r.get(6)?,
        rank: r.get(7)?,
        outcome: r.get(8)?,
        note: r.get(9)?,
        outcome_by: r.get(10)?,
        claimed_by: r.get(11)?,
        version: r.get(12)?,
    })
}

/// Treated members from `offset` in rank order (on the (campaign, rank)
/// index: a page of a million-member campaign reads a page).
pub fn work_page(
    conn: &Connection,
    campaign_id: i64,
    offset: i64,
    limit: i64,
) -> Result<Vec<WorkRow>> {
    // sql-format-ok: a constant column list.
    let mut st = conn.prepare(&format!(
        "{WORK_SELECT} WHERE m.campaign_id = ?1 AND m.grp = 'treatment'
         ORDER BY m.rank LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = st.query_map(params![campaign_id, limit, offset], work_row_of)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One member's work row (any group).
pub fn work_row(conn: &Connection, campaign_id: i64, cid: i64) -> Result<Option<WorkRow>> {
    // sql-format-ok: a constant column list.
    let mut st = conn.prepare(&format!(
        "{WORK_SELECT} WHERE m.campaign_id = ?1 AND m.cid = ?2"
    ))?;
    Ok(st
        .query_row(params![campaign_id, cid], work_row_of)
        .optional()?)
}

/// The treated member an agent works next: the highest value at risk
/// without an outcome, unclaimed or claimed by this agent; claimed for them
/// in the same statement (two agents never get the same customer).
pub fn claim_next(conn: &Connection, campaign_id: i64, agent: &str) -> Result<Option<i64>> {
    let cid: Option<i64> = conn
        .query_row(
            "UPDATE campaign_members SET claimed_by = ?2, claimed_at = ?3,
                    version = version + (claimed_by IS NOT ?2)
             WHERE campaign_id = ?1 AND cid = (
                 SELECT cid FROM campaign_members
                 WHERE campaign_id = ?1 AND grp = 'treatment' AND outcome IS NULL
                   AND (claimed_by IS NULL OR claimed_by = ?2)
                 ORDER BY claimed_by IS NULL, rank LIMIT 1)
             RETURNING cid",
            params![campaign_id, agent, crate::timeutil::now()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(cid)
}

/// Give back a treated member `agent` holds without an outcome, so another
/// agent's `next` can take them; `expected_version` as read. Returns the
/// new version, or says why not (someone else holds them, an outcome is
/// recorded, or they changed meanwhile).
pub fn release(
    conn: &Connection,
    campaign_id: i64,
    cid: i64,
    agent: &str,
    expected_version: i64,
) -> Result<i64> {
    let v: Option<i64> = conn
        .query_row(
            "UPDATE campaign_members SET claimed_by = NULL, claimed_at = NULL, version = version + 1
             WHERE campaign_id = ?1 AND cid = ?2 AND claimed_by = ?3 AND outcome IS NULL
               AND version = ?4
             RETURNING version",
            params![campaign_id, cid, agent, expected_version],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(v) = v {
        crate::store::audit::append(
            conn,
            agent,
            "campaign_release",
            "campaign_member",
            &format!("{campaign_id}/{cid}"),
            Some(agent),
            None,
            None,
        )?;
        return Ok(v);
    }
    type Cur = (i64, Option<String>, Option<String>);
    let cur: Option<Cur> = conn
        .query_row(
            "SELECT version, claimed_by, outcome FROM campaign_members WHERE campaign_id = ?1 AND cid = ?2",
            [campaign_id, cid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
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
    conn: &Connection,
    campaign_id: i64,
    cid: i64,
    outcome: &str,
    note: Option<&str>,
    agent: &str,
    expected_version: Option<i64>,
) -> Result<i64> {
    let status: String = conn.query_row(
        "SELECT status FROM campaigns WHERE id = ?1",
        [campaign_id],
        |r| r.get(0),
    )?;
    if status != "open" {
        return Err(Error::bad("the campaign is closed: its outcomes are final"));
    }
    type Cur = (String, i64, Option<String>, Option<String>);
    let cur: Option<Cur> = conn
        .query_row(
            "SELECT grp, version, outcome, claimed_by FROM campaign_members WHERE campaign_id = ?1 AND cid = ?2",
            [campaign_id, cid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((grp, version, old, claimed)) = cur else {
        return Err(Error::BadInput(
            "this customer is not in the campaign".into(),
        ));
    };
    if grp != "treatment" {
        return Err(Error::bad(
            "this customer is in the control group: the control group receives nothing, so it has no outcome",
        ));
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
                "changed by someone else meanwhile (version {version}, you read {v}); outcome now: {}",
                old.as_deref().unwrap_or("none")
            )));
        }
    }
    let n = conn.execute(
        "UPDATE campaign_members SET outcome = ?3, note = ?4, outcome_at = ?5, outcome_by = ?6,
                claimed_by = NULL, claimed_at = NULL, version = version + 1
         WHERE campaign_id = ?1 AND cid = ?2 AND version = ?7",
        params![
            campaign_id,
            cid,
            outcome,
            note,
            crate::timeutil::now(),
            agent,
            version
        ],
    )?;
    if n == 0 {
        return Err(Error::Conflict(
            "changed by someone else meanwhile; read it again".into(),
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
    conn: &Connection,
    campaign_id: i64,
    outcomes: &[(i64, &str)],
    agent: &str,
    at: i64,
) -> Result<()> {
    let mut st = conn.prepare(
        "UPDATE campaign_members SET outcome = ?3, outcome_at = ?4, outcome_by = ?5, version = version + 1
         WHERE campaign_id = ?1 AND cid = ?2 AND grp = 'treatment'",
    )?;
    for (cid, o) in outcomes {
        st.execute(params![campaign_id, cid, o, at, agent])?;
    }
    Ok(())
}
