//! Campaigns and their members: the candidates a campaign chooses from, the
//! immutable assignment, outcomes recorded by agents (optimistic locking),
//! and the rows its report is computed on.

use crate::analytics::campaign::{Assigned, Candidate, Fields};
use crate::error::{Error, Result};
use crate::timeutil::DAY;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Every customer as a candidate as of `start` (a timestamp): lapsed when
/// labelled churned, or with an order before the start and none in the 365
/// days before it. Only the `fields` asked for beyond the scores (the
/// others are empty).
pub fn candidates(conn: &Connection, start: i64, fields: Fields) -> Result<Vec<Candidate>> {
    candidates_where(conn, Some(start), None, fields)
}

/// Every customer (or the one with `cid`) as a candidate now: lapsed as
/// the dashboard counts them (churned, or no order in the 365 days before
/// the latest order in the data).
pub fn candidates_now(conn: &Connection, cid: Option<i64>) -> Result<Vec<Candidate>> {
    candidates_where(conn, None, cid, Fields::ALL)
}

fn candidates_where(
    conn: &Connection,
    start: Option<i64>,
    cid: Option<i64>,
    fields: Fields,
) -> Result<Vec<Candidate>> {
    // When the start is after every order (the usual case: a campaign that
    // starts today; advice now), each customer's last order before it is
    // the stored `last_order`; otherwise it is looked up per customer.
    let latest = super::customers::latest_order(conn)?;
    let (last, cutoff) = match start {
        Some(s) if latest.is_none_or(|l| l >= s) => (
            "(SELECT max(o.ts) FROM orders o WHERE o.cid = c.cid AND o.ts < ?1)",
            Some(s - 365 * DAY),
        ),
        Some(s) => ("c.last_order", Some(s - 365 * DAY)),
        None => ("c.last_order", super::dashboard::lapsed_cutoff(latest)),
    };
    let names = if fields.names {
        "c.id, c.name, c.email"
    } else {
        "'', NULL, NULL"
    };
    let (attrs, join) = if fields.attributes {
        (
            "c.plan, c.region, c.rfm_segment, k.cluster",
            "LEFT JOIN customer_clusters k ON k.cid = c.cid",
        )
    } else {
        ("NULL, NULL, NULL, NULL", "")
    };
    let (age, income) = if fields.attributes {
        ("c.age", "c.income")
    } else {
        ("NULL", "NULL")
    };
    // sql-format-ok: `last`, `names`, `attrs`, `join`, `age` and `income`
    // are constant expressions above.
    let sql = format!(
        "SELECT c.cid, {names}, {attrs},
                c.churn_prob, c.clv, c.churned, {last}, {age}, {income}
         FROM customers c {join}
         WHERE ?2 IS NULL OR c.cid = ?2"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![start.unwrap_or(0), cid], |r| {
        let churned: Option<i64> = r.get(10)?;
        let last_before: Option<i64> = r.get(11)?;
        // Columns not asked for are not even looked at (a million rows).
        let mut c = Candidate {
            cid: r.get(0)?,
            churn_prob: r.get(8)?,
            clv: r.get(9)?,
            lapsed: super::dashboard::is_lapsed(churned, last_before, cutoff),
            ..Default::default()
        };
        if fields.names {
            c.id = r.get(1)?;
            c.name = r.get(2)?;
            c.email = r.get(3)?;
        }
        if fields.attributes {
            c.plan = r.get(4)?;
            c.region = r.get(5)?;
            c.rfm_segment = r.get(6)?;
            c.cluster = r.get(7)?;
            c.age = number(r.get_ref(12)?);
            c.income = number(r.get_ref(13)?);
        }
        Ok(c)
    })?;
    // Sized once: growing a vector of a million candidates copies it ~20 times.
    let n: i64 = match cid {
        Some(_) => 1,
        None => conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?,
    };
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

/// A number from a column that may hold text (an import's raw value).
fn number(v: rusqlite::types::ValueRef) -> Option<f64> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub action: String,
    pub channel: String,
    pub cost: f64,
    pub cost_share: f64,
    pub target: String,
    pub control_share: f64,
    pub start: String,
    #[serde(skip)]
    pub start_day: i64,
    pub window_days: i64,
    pub seed: i64,
    pub model_id: Option<i64>,
    pub status: String,
    pub created_at: i64,
    pub created_by: String,
    pub closed_at: Option<i64>,
    pub treatment: i64,
    pub control: i64,
    /// Treated members with an outcome recorded.
    pub worked: i64,
}

/// What a new campaign is.
pub struct NewCampaign<'a> {
    pub name: &'a str,
    pub action: &'a str,
    pub channel: &'a str,
    pub cost: f64,
    pub cost_share: f64,
    pub target: &'a str,
    pub control_share: f64,
    pub start_day: i64,
    pub window_days: i64,
    pub seed: u64,
    pub model_id: Option<i64>,
    pub agent: &'a str,
}

/// Store a campaign and its assignment. Call inside a transaction.
pub fn create(conn: &Connection, c: &NewCampaign, members: &[Assigned]) -> Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE name = ?1)",
        [c.name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(Error::bad(format!(
            "a campaign named '{}' exists already (campaign list)",
            crate::term::safe(c.name)
        )));
    }
    conn.execute(
        "INSERT INTO campaigns(name, action, channel, cost, cost_share, target, control_share,
                               start_day, window_days, seed, model_id, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            c.name,
            c.action,
            c.channel,
            c.cost,
            c.cost_share,
            c.target,
            c.control_share,
            c.start_day,
            c.window_days,
            c.seed as i64,
            c.model_id,
            crate::timeutil::now(),
            c.agent
        ],
    )?;
    let id = conn.last_insert_rowid();
    // Bound in place, 100 rows a statement (no value copied into a buffer:
    // a million members are the whole of a campaign's creation time).
    const HEAD: &str = "INSERT INTO campaign_members(campaign_id, cid, grp, stratum, churn_prob, clv, value_at_risk, rank)";
    const ROWS: usize = 100;
    let mut many = conn.prepare(&super::multi_row_insert_sql(HEAD, 8, ROWS))?;
    let mut one = conn.prepare(&super::multi_row_insert_sql(HEAD, 8, 1))?;
    // In key order: appended to the table, not scattered through it.
    let mut sorted: Vec<&Assigned> = members.iter().collect();
    sorted.sort_by_key(|m| m.cid);
    let bind = |st: &mut rusqlite::Statement, base: usize, m: &Assigned| -> rusqlite::Result<()> {
        st.raw_bind_parameter(base + 1, id)?;
        st.raw_bind_parameter(base + 2, m.cid)?;
        st.raw_bind_parameter(base + 3, if m.treatment { "treatment" } else { "control" })?;
        st.raw_bind_parameter(base + 4, m.stratum)?;
        st.raw_bind_parameter(base + 5, m.churn_prob)?;
        st.raw_bind_parameter(base + 6, m.clv)?;
        st.raw_bind_parameter(base + 7, m.value_at_risk)?;
        st.raw_bind_parameter(base + 8, i64::from(m.rank))
    };
    let mut chunks = sorted.chunks_exact(ROWS);
    for chunk in &mut chunks {
        for (i, m) in chunk.iter().enumerate() {
            bind(&mut many, 8 * i, m)?;
        }
        many.raw_execute()?;
    }
    for m in chunks.remainder() {
        bind(&mut one, 0, m)?;
        one.raw_execute()?;
    }
    Ok(id)
}

const SELECT: &str = "SELECT c.id, c.name, c.action, c.channel, c.cost, c.cost_share, c.target,
        c.control_share, c.start_day, c.window_days, c.seed, c.model_id, c.status, c.created_at,
        c.created_by, c.closed_at
        FROM campaigns c";

/// A campaign's group sizes and worked count, in one pass over its members
/// (three counts took three: 0.45 s at a million members).
fn fill_counts(conn: &Connection, c: &mut Campaign) -> Result<()> {
    let mut st = conn.prepare_cached(
        "SELECT total(grp = 'treatment'), total(grp = 'control'),
                total(grp = 'treatment' AND outcome IS NOT NULL)
         FROM campaign_members WHERE campaign_id = ?1",
    )?;
    let (t, k, w): (f64, f64, f64) =
        st.query_row([c.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    (c.treatment, c.control, c.worked) = (t as i64, k as i64, w as i64);
    Ok(())
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Campaign> {
    let start_day: i64 = r.get(8)?;
    Ok(Campaign {
        id: r.get(0)?,
        name: r.get(1)?,
        action: r.get(2)?,
        channel: r.get(3)?,
        cost: r.get(4)?,
        cost_share: r.get(5)?,
        target: r.get(6)?,
        control_share: r.get(7)?,
        start: crate::timeutil::ts_to_day_string(start_day * DAY),
        start_day,
        window_days: r.get(9)?,
        seed: r.get(10)?,
        model_id: r.get(11)?,
        status: r.get(12)?,
        created_at: r.get(13)?,
        created_by: r.get(14)?,
        closed_at: r.get(15)?,
        treatment: 0,
        control: 0,
        worked: 0,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Campaign>> {
    // sql-format-ok: a constant column list.
    let mut st = conn.prepare(&format!("{SELECT} ORDER BY c.id DESC"))?;
    let rows = st.query_map([], row)?;
    let mut all: Vec<Campaign> = rows.collect::<rusqlite::Result<_>>()?;
    for c in &mut all {
        fill_counts(conn, c)?;
    }
    Ok(all)
}

/// A campaign by name (or by id, given as digits).
pub fn get(conn: &Connection, name: &str) -> Result<Campaign> {
    // sql-format-ok: a constant column list.
    let mut st = conn.prepare(&format!(
        "{SELECT} WHERE c.name = ?1 OR (?1 GLOB '[0-9]*' AND c.id = CAST(?1 AS INTEGER))"
    ))?;
    let mut c = st.query_row([name], row).optional()?.ok_or_else(|| {
        Error::BadInput(format!(
            "no campaign '{}' (campaign list)",
            crate::term::safe(name)
        ))
    })?;
    fill_counts(conn, &mut c)?;
    Ok(c)
}

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

/// Close a campaign (its work list ends; its report stays).
pub fn close(conn: &Connection, id: i64, agent: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE campaigns SET status = 'closed', closed_at = ?2, closed_by = ?3
         WHERE id = ?1 AND status = 'open'",
        params![id, crate::timeutil::now(), agent],
    )? == 1)
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
    super::audit::append(
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

/// What finished (closed) campaigns measured, per (action, risk band):
/// retained and counts in treatment and control, and each band's retention
/// without action (the control groups pooled). Retained as in the report:
/// an order in the window, or, for data without orders, not labelled churned.
#[allow(clippy::type_complexity)]
pub fn measured(
    conn: &Connection,
) -> Result<(
    std::collections::BTreeMap<(String, String), crate::analytics::nba::Measured>,
    std::collections::BTreeMap<String, f64>,
)> {
    use crate::analytics::nba::Measured;
    let orders = super::has_orders(conn)?;
    let mut out: std::collections::BTreeMap<(String, String), Measured> = Default::default();
    let mut base: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    // Only windows the data have seen to their end: an unfinished window
    // reads as nobody retained yet.
    let seen_to = super::customers::latest_order(conn)?
        .map(|t| t.div_euclid(DAY))
        .unwrap_or_else(|| crate::timeutil::now() / DAY);
    for c in list(conn)?
        .into_iter()
        .filter(|c| c.status == "closed" && c.start_day + c.window_days <= seen_to + 1)
    {
        let end = (c.start_day + c.window_days) * DAY;
        for m in window_rows(conn, c.id, c.start_day * DAY, end, !orders)? {
            let kept = if orders {
                m.ordered
            } else {
                m.churned != Some(true)
            };
            let e = out
                .entry((c.action.clone(), m.stratum.clone()))
                .or_default();
            if !e.campaigns.contains(&c.name) {
                e.campaigns.push(c.name.clone());
            }
            if m.treatment {
                e.n_treatment += 1.0;
                e.retained_treatment += f64::from(u8::from(kept));
            } else {
                e.n_control += 1.0;
                e.retained_control += f64::from(u8::from(kept));
                let b = base.entry(m.stratum.clone()).or_default();
                b.0 += f64::from(u8::from(kept));
                b.1 += 1.0;
            }
        }
    }
    let base = base
        .into_iter()
        .filter(|(_, (_, n))| *n > 0.0)
        .map(|(k, (x, n))| (k, x / n))
        .collect();
    Ok((out, base))
}

/// Customers held out in the control group of an open campaign, with the
/// campaign's name: acting on them would spoil the measurement.
pub fn held_out(conn: &Connection) -> Result<std::collections::HashMap<String, String>> {
    let mut st = conn.prepare(
        "SELECT cu.id, c.name FROM campaign_members m
         JOIN campaigns c ON c.id = m.campaign_id
         JOIN customers cu ON cu.cid = m.cid
         WHERE c.status = 'open' AND m.grp = 'control'",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What next best action learns from: the finished campaigns' measurements
/// and the open campaigns' control groups.
pub fn learned(conn: &Connection) -> Result<crate::analytics::nba::Learned> {
    let (measured, base) = measured(conn)?;
    Ok(crate::analytics::nba::Learned {
        measured,
        base,
        held_out: held_out(conn)?,
    })
}
