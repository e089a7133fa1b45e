//! A campaign's members: as a report reads them, as a work list shows
//! them, claimed and given an outcome under optimistic locking. Who is in
//! the campaign is the packed assignment (`packed`); what agents did is a
//! `campaign_work` row per member they touched.

use super::packed::{self, Packed};
use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::HashMap;

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
    let all = packed::read_by_rank(conn, campaign_id)?;
    joined(conn, campaign_id, all, from, to)
}

/// One member (by cid), as `members` gives them.
pub fn member(
    conn: &Connection,
    campaign_id: i64,
    cid: i64,
    from: i64,
    to: i64,
) -> Result<Option<Member>> {
    let Some(m) = packed_of(conn, campaign_id, cid)? else {
        return Ok(None);
    };
    Ok(joined(conn, campaign_id, vec![m], from, to)?.pop())
}

/// The packed member for a customer: through their work row's place when
/// they have one, else by a search of the assignment.
fn packed_of(conn: &Connection, campaign_id: i64, cid: i64) -> Result<Option<Packed>> {
    let pos: Option<i64> = conn
        .prepare_cached("SELECT pos FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2")?
        .query_row([campaign_id, cid], |r| r.get(0))
        .optional()?;
    if let Some(p) = pos {
        if let Some(m) = packed::at(conn, campaign_id, true, p)?.filter(|m| m.cid == cid) {
            return Ok(Some(m));
        }
    }
    packed::find(conn, campaign_id, cid)
}

/// Members (in the order given) with their customer, work and window.
fn joined(
    conn: &Connection,
    campaign_id: i64,
    all: Vec<Packed>,
    from: i64,
    to: i64,
) -> Result<Vec<Member>> {
    let cids: Vec<i64> = all.iter().map(|m| m.cid).collect();
    let who = customers_of(conn, &cids, true, true)?;
    let spend = spend_of(conn, &cids, from, to)?;
    let work = work_of(conn, campaign_id)?;
    Ok(all
        .into_iter()
        .zip(who)
        .zip(spend)
        .map(|((m, c), s)| {
            let w = work.get(&m.cid).cloned().unwrap_or_default();
            Member {
                customer_id: c.id,
                cid: m.cid,
                name: c.name,
                group: if m.treatment { "treatment" } else { "control" }.into(),
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
                ordered: s.is_some(),
                revenue: s.unwrap_or(0.0),
                churned: c.churned,
            }
        })
        .collect())
}

/// What agents did with a member (a member without a work row: nothing).
#[derive(Debug, Clone)]
struct Work {
    outcome: Option<String>,
    note: Option<String>,
    outcome_by: Option<String>,
    claimed_by: Option<String>,
    version: i64,
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

fn work_from(r: &rusqlite::Row, at: usize) -> rusqlite::Result<Work> {
    Ok(Work {
        outcome: r.get(at)?,
        note: r.get(at + 1)?,
        outcome_by: r.get(at + 2)?,
        claimed_by: r.get(at + 3)?,
        version: r.get(at + 4)?,
    })
}

/// Every work row of a campaign, by cid.
fn work_of(conn: &Connection, campaign_id: i64) -> Result<HashMap<i64, Work>> {
    let mut st = conn.prepare_cached(
        "SELECT cid, outcome, note, outcome_by, claimed_by, version
         FROM campaign_work WHERE campaign_id = ?1",
    )?;
    let rows = st.query_map([campaign_id], |r| Ok((r.get(0)?, work_from(r, 1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One member's work row.
fn work_one(conn: &Connection, campaign_id: i64, cid: i64) -> Result<Work> {
    let mut st = conn.prepare_cached(
        "SELECT outcome, note, outcome_by, claimed_by, version
         FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
    )?;
    Ok(st
        .query_row([campaign_id, cid], |r| work_from(r, 0))
        .optional()?
        .unwrap_or_default())
}

/// Below this many members, each is looked up on its own; above, the
/// tables are read in one pass in key order and merged.
const LOOKUPS: usize = 20_000;

/// A customer's id, name and churn label, as a member shows them.
#[derive(Debug, Clone, Default)]
struct Who {
    id: String,
    name: Option<String>,
    churned: Option<bool>,
}

/// The customers of `cids` (in that order); `names`: id and name,
/// `label`: the churn label.
fn customers_of(conn: &Connection, cids: &[i64], names: bool, label: bool) -> Result<Vec<Who>> {
    let mut out = vec![Who::default(); cids.len()];
    if !names && !label {
        return Ok(out);
    }
    let who = |r: &rusqlite::Row| -> rusqlite::Result<Who> {
        Ok(Who {
            id: if names { r.get(1)? } else { String::new() },
            name: if names { r.get(2)? } else { None },
            churned: r.get::<_, Option<i64>>(3)?.map(|c| c == 1),
        })
    };
    if cids.len() < LOOKUPS {
        let mut st =
            conn.prepare_cached("SELECT cid, id, name, churned FROM customers WHERE cid = ?1")?;
        for (o, cid) in out.iter_mut().zip(cids) {
            if let Some(w) = st.query_row([cid], who).optional()? {
                *o = w;
            }
        }
        return Ok(out);
    }
    let index = CidIndex::new(cids);
    let mut st = conn.prepare_cached(if names {
        "SELECT cid, id, name, churned FROM customers ORDER BY cid"
    } else {
        "SELECT cid, NULL, NULL, churned FROM customers ORDER BY cid"
    })?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let w = who(r)?;
        index.each(r.get(0)?, |i| out[i] = w.clone());
    }
    Ok(out)
}

/// Where each customer is among members: a table by cid when the cids
/// are dense (they are rowids: usually 1..=customers) and each once, else
/// a map.
enum CidIndex {
    Dense(Vec<u32>),
    Sparse(HashMap<i64, Vec<usize>>),
}

impl CidIndex {
    const NONE: u32 = u32::MAX;

    fn new(cids: &[i64]) -> CidIndex {
        let (min, max) = cids
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &c| (lo.min(c), hi.max(c)));
        if !cids.is_empty()
            && min >= 0
            && max < 4 * cids.len() as i64 + 1_000_000
            && cids.len() < Self::NONE as usize
        {
            let mut at = vec![Self::NONE; max as usize + 1];
            let mut once = true;
            for (i, &c) in cids.iter().enumerate() {
                let slot = &mut at[c as usize];
                once &= *slot == Self::NONE;
                *slot = i as u32;
            }
            if once {
                return CidIndex::Dense(at);
            }
        }
        let mut map: HashMap<i64, Vec<usize>> = HashMap::new();
        for (i, &c) in cids.iter().enumerate() {
            map.entry(c).or_default().push(i);
        }
        CidIndex::Sparse(map)
    }

    /// Each place of `cid` among the members.
    fn each(&self, cid: i64, mut f: impl FnMut(usize)) {
        match self {
            CidIndex::Dense(at) => {
                if let Some(&i) = usize::try_from(cid).ok().and_then(|c| at.get(c)) {
                    if i != Self::NONE {
                        f(i as usize);
                    }
                }
            }
            CidIndex::Sparse(m) => m.get(&cid).into_iter().flatten().for_each(|&i| f(i)),
        }
    }
}

/// Each customer's spend in [from, to) (None: no order in it), in the
/// order of `cids`. For many customers the window's orders are summed in
/// one pass over the orders (a million members: 0.4 s, where a lookup per
/// member took 2.3 s).
fn spend_of(conn: &Connection, cids: &[i64], from: i64, to: i64) -> Result<Vec<Option<f64>>> {
    let mut out = vec![None; cids.len()];
    if cids.len() < LOOKUPS {
        let mut st = conn.prepare_cached(
            "SELECT total(amount), count(*) FROM orders WHERE cid = ?1 AND ts >= ?2 AND ts < ?3",
        )?;
        for (o, cid) in out.iter_mut().zip(cids) {
            let (s, n): (f64, i64) =
                st.query_row(params![cid, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
            *o = (n > 0).then_some(s);
        }
        return Ok(out);
    }
    let index = CidIndex::new(cids);
    let mut st = conn.prepare_cached(
        "SELECT cid, total(amount) FROM orders WHERE ts >= ?1 AND ts < ?2 GROUP BY cid",
    )?;
    let mut rows = st.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        let spent: f64 = r.get(1)?;
        index.each(r.get(0)?, |i| out[i] = Some(spent));
    }
    Ok(out)
}

/// The outcomes an agent can record.
pub const OUTCOMES: [&str; 4] = ["reached", "no_answer", "accepted", "declined"];

/// What a report needs of a member: their group and band, the scores
/// before the campaign, the outcome, and what they did in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    pub treatment: bool,
    pub stratum: &'static str,
    pub churn_prob: Option<f64>,
    pub value_at_risk: f64,
    pub outcome: Option<&'static str>,
    /// Ordered in [from, to).
    pub ordered: bool,
    /// Spend in [from, to).
    pub revenue: f64,
    /// The churn label now (read only `with_label`).
    pub churned: Option<bool>,
}

/// Every member of a campaign in rank order, as its report reads them:
/// the packed assignment, the outcomes of the members agents worked, and
/// the window's orders (and the label, `with_label`) in one pass each.
pub fn window_rows(
    conn: &Connection,
    campaign_id: i64,
    from: i64,
    to: i64,
    with_label: bool,
) -> Result<Vec<WindowRow>> {
    // Built as the assignment is decoded (no vector of packed members),
    // the window and the label filled in after.
    let all = packed::ByRank::read(conn, campaign_id)?;
    let mut rows: Vec<WindowRow> = Vec::with_capacity(all.len());
    let mut cids: Vec<i64> = Vec::with_capacity(all.len());
    all.for_each(|m| {
        cids.push(m.cid);
        rows.push(WindowRow {
            treatment: m.treatment,
            stratum: m.stratum,
            churn_prob: m.churn_prob,
            value_at_risk: m.value_at_risk,
            outcome: None,
            ordered: false,
            revenue: 0.0,
            churned: None,
        });
    })?;
    drop(all);
    let spend = spend_of(conn, &cids, from, to)?;
    let who = customers_of(conn, &cids, false, with_label)?;
    let mut outcomes: HashMap<i64, &'static str> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT cid, outcome FROM campaign_work WHERE campaign_id = ?1 AND outcome IS NOT NULL",
    )?;
    let mut found = st.query([campaign_id])?;
    while let Some(r) = found.next()? {
        // The schema allows these four only.
        let o = r.get_ref(1)?.as_str().unwrap_or("");
        if let Some(o) = OUTCOMES.iter().find(|k| **k == o) {
            outcomes.insert(r.get(0)?, o);
        }
    }
    for (((row, cid), s), w) in rows.iter_mut().zip(&cids).zip(spend).zip(who) {
        row.outcome = outcomes.remove(cid);
        row.ordered = s.is_some();
        row.revenue = s.unwrap_or(0.0);
        row.churned = w.churned;
    }
    Ok(rows)
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

fn work_row_of(conn: &Connection, campaign_id: i64, m: Packed) -> Result<WorkRow> {
    let w = work_one(conn, campaign_id, m.cid)?;
    let who = customers_of(conn, &[m.cid], true, false)?
        .pop()
        .unwrap_or_default();
    Ok(WorkRow {
        cid: m.cid,
        customer_id: who.id,
        name: who.name,
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
    })
}

/// Treated members from `offset` in rank order (a page of a million-member
/// campaign reads the chunk that holds it).
pub fn work_page(
    conn: &Connection,
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
pub fn work_row(conn: &Connection, campaign_id: i64, cid: i64) -> Result<Option<WorkRow>> {
    packed_of(conn, campaign_id, cid)?
        .map(|m| work_row_of(conn, campaign_id, m))
        .transpose()
}

/// The treated member an agent works next: one they hold without an
/// outcome, else the highest value at risk nobody holds and without an
/// outcome (given back, or not touched yet); claimed for them. Call inside
/// an immediate transaction (two agents never get the same customer).
pub fn claim_next(conn: &Connection, campaign_id: i64, agent: &str) -> Result<Option<i64>> {
    let now = crate::timeutil::now();
    let held: Option<i64> = conn
        .query_row(
            "UPDATE campaign_work SET claimed_at = ?3
             WHERE campaign_id = ?1 AND cid = (
                 SELECT cid FROM campaign_work
                 WHERE campaign_id = ?1 AND claimed_by = ?2 AND outcome IS NULL
                 ORDER BY rank LIMIT 1)
             RETURNING cid",
            params![campaign_id, agent, now],
            |r| r.get(0),
        )
        .optional()?;
    if held.is_some() {
        return Ok(held);
    }
    let given_back: Option<(i64, i64)> = conn
        .query_row(
            "SELECT cid, rank FROM campaign_work
             WHERE campaign_id = ?1 AND claimed_by IS NULL AND outcome IS NULL
             ORDER BY rank LIMIT 1",
            [campaign_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let untouched = first_untouched(conn, campaign_id)?;
    match (given_back, untouched) {
        (Some((cid, rank)), u) if u.as_ref().is_none_or(|u| rank < u.rank) => {
            conn.execute(
                "UPDATE campaign_work SET claimed_by = ?3, claimed_at = ?4, version = version + 1
                 WHERE campaign_id = ?1 AND cid = ?2",
                params![campaign_id, cid, agent, now],
            )?;
            Ok(Some(cid))
        }
        (_, Some(m)) => {
            conn.execute(
                "INSERT INTO campaign_work(campaign_id, cid, rank, pos, claimed_by, claimed_at, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 2)",
                params![campaign_id, m.cid, m.rank, m.pos, agent, now],
            )?;
            conn.execute(
                "UPDATE campaigns SET claim_cursor = ?2 WHERE id = ?1",
                [campaign_id, m.pos + 1],
            )?;
            Ok(Some(m.cid))
        }
        _ => Ok(None),
    }
}

/// The first treated member, in rank order, without a work row: from the
/// campaign's cursor (every member before it has one), which moves on.
fn first_untouched(conn: &Connection, campaign_id: i64) -> Result<Option<Packed>> {
    let mut cursor: i64 = conn.query_row(
        "SELECT claim_cursor FROM campaigns WHERE id = ?1",
        [campaign_id],
        |r| r.get(0),
    )?;
    let start = cursor;
    let mut has_work =
        conn.prepare_cached("SELECT 1 FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2")?;
    let found = 'search: loop {
        let page = packed::page(conn, campaign_id, true, cursor, packed::CHUNK as i64)?;
        if page.is_empty() {
            break None;
        }
        for m in page {
            if has_work.exists([campaign_id, m.cid])? {
                cursor = m.pos + 1;
            } else {
                break 'search Some(m);
            }
        }
    };
    if cursor != start {
        conn.execute(
            "UPDATE campaigns SET claim_cursor = ?2 WHERE id = ?1",
            [campaign_id, cursor],
        )?;
    }
    Ok(found)
}

/// The work row of a member, made (untouched: version 1) if they have
/// none. Errors when the customer is not in the campaign; gives whether
/// they are treated.
fn ensure_work(conn: &Connection, campaign_id: i64, cid: i64) -> Result<bool> {
    let treated_row: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2")?
        .query_row([campaign_id, cid], |r| r.get(0))
        .optional()?;
    if treated_row.is_some() {
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
    conn.execute(
        "INSERT INTO campaign_work(campaign_id, cid, rank, pos) VALUES (?1, ?2, ?3, ?4)",
        params![campaign_id, cid, m.rank, m.pos],
    )?;
    Ok(true)
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
            "UPDATE campaign_work SET claimed_by = NULL, claimed_at = NULL, version = version + 1
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
            &format!("{campaign_id}:{cid}"),
            Some(agent),
            None,
            None,
        )?;
        return Ok(v);
    }
    type Cur = (i64, Option<String>, Option<String>);
    let cur: Option<Cur> = conn
        .query_row(
            "SELECT version, claimed_by, outcome FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
            [campaign_id, cid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
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
    if !ensure_work(conn, campaign_id, cid)? {
        return Err(Error::bad(
            "this customer is in the control group: the control group receives nothing, so it has no outcome",
        ));
    }
    type Cur = (i64, Option<String>, Option<String>);
    let (version, old, claimed): Cur = conn.query_row(
        "SELECT version, outcome, claimed_by FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
        [campaign_id, cid],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
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
        "UPDATE campaign_work SET outcome = ?3, note = ?4, outcome_at = ?5, outcome_by = ?6,
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
    let treated: HashMap<i64, Packed> = packed::read(conn, campaign_id, Some(true))?
        .into_iter()
        .map(|m| (m.cid, m))
        .collect();
    let mut st = conn.prepare(
        "INSERT INTO campaign_work(campaign_id, cid, rank, pos, outcome, outcome_at, outcome_by, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 2)",
    )?;
    for (cid, o) in outcomes {
        if let Some(m) = treated.get(cid) {
            st.execute(params![campaign_id, cid, m.rank, m.pos, o, at, agent])?;
        }
    }
    Ok(())
}
