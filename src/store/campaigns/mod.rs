//! Campaigns and their members: the campaigns themselves (here), the
//! candidates a campaign chooses from (`candidates`), the immutable
//! assignment, outcomes recorded by agents with optimistic locking and the
//! rows a report reads (`members`), and what next best action learns from
//! them (`learned`).

mod candidates;
mod learned;
mod members;

pub use candidates::{candidates, candidates_now};
pub use learned::{held_out, learned, measured};
pub use members::{
    claim_next, member, members, record_outcome, release, seed_outcomes, window_rows, work_page,
    work_row, Member, WindowRow, WorkRow,
};

use crate::analytics::campaign::Assigned;
use crate::error::{Error, Result};
use crate::timeutil::DAY;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

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
    let mut many = conn.prepare(&crate::store::multi_row_insert_sql(HEAD, 8, ROWS))?;
    let mut one = conn.prepare(&crate::store::multi_row_insert_sql(HEAD, 8, 1))?;
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

/// Create a campaign with its members in one transaction, with its audit
/// entry (`detail` says who is in it). A million members: a cache that holds
/// the write (a small one spills into the WAL mid-write: 9 s instead of 2),
/// statement journals in memory, and no per-row parent lookup (every
/// member's customer was just read from the customers table, which crmtop
/// never deletes from; doctor still checks the keys).
pub fn create_audited(
    conn: &mut Connection,
    c: &NewCampaign,
    members: &[Assigned],
    detail: &str,
) -> Result<i64> {
    crate::store::with_big_cache(conn, |conn| {
        conn.execute_batch("PRAGMA temp_store = MEMORY")?;
        crate::store::without_foreign_keys(conn, |conn| {
            crate::store::immediate(conn, |tx| {
                let id = create(tx, c, members)?;
                crate::store::audit::append(
                    tx,
                    c.agent,
                    "campaign_create",
                    "campaign",
                    &id.to_string(),
                    None,
                    Some(c.name),
                    Some(detail),
                )?;
                Ok(id)
            })
        })
    })
}

/// Close an open campaign, with its audit entry (false: it was closed).
/// Call inside the caller's transaction.
pub fn close_audited(conn: &Connection, id: i64, agent: &str) -> Result<bool> {
    let closed = close(conn, id, agent)?;
    if closed {
        crate::store::audit::append(
            conn,
            agent,
            "campaign_close",
            "campaign",
            &id.to_string(),
            Some("open"),
            Some("closed"),
            None,
        )?;
    }
    Ok(closed)
}

/// A campaign's report as of a day (default: the data's last day), from
/// its members' orders and spend in the window up to that day.
pub fn measure(
    conn: &Connection,
    c: &Campaign,
    as_of_day: Option<i64>,
) -> Result<crate::analytics::campaign::report::Measured> {
    use crate::analytics::campaign::report;
    let as_of_day = match as_of_day {
        Some(d) => d,
        None => crate::store::customers::latest_order(conn)?
            .map(|t| t.div_euclid(DAY))
            .unwrap_or_else(|| crate::timeutil::now() / DAY),
    };
    let end_day = report::window_end(c, as_of_day)?;
    let orders = crate::store::has_orders(conn)?;
    let rows = window_rows(conn, c.id, c.start_day * DAY, end_day * DAY, !orders)?;
    Ok(report::measured(c, as_of_day, end_day, orders, rows))
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

/// Close a campaign (its work list ends; its report stays).
pub fn close(conn: &Connection, id: i64, agent: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE campaigns SET status = 'closed', closed_at = ?2, closed_by = ?3
         WHERE id = ?1 AND status = 'open'",
        params![id, crate::timeutil::now(), agent],
    )? == 1)
}
