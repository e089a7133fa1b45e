//! Campaigns and their members: the campaigns themselves (here), the
//! candidates a campaign chooses from (`candidates`), the immutable
//! assignment, outcomes recorded by agents with optimistic locking and the
//! rows a report reads (`members`), and what next best action learns from
//! them (`learned`).

mod candidates;
mod learned;
mod members;
mod packed;
mod work;

pub use candidates::{candidates, candidates_now, candidates_of};
pub use learned::{held_out, learned, measured, treated_in_open};
pub use members::{member, members, window_rows, Member, WindowRow, OUTCOMES};
pub use work::{
    claim_next, record_outcome, release, release_held_by, seed_outcomes, work_page, work_row,
    WorkRow,
};

use crate::analytics::campaign::Assigned;
use crate::error::{Error, Result};
use crate::store::sql::{int, text, Row, Sql};
use crate::timeutil::DAY;
use rusqlite::types::Value;
use rusqlite::Connection;
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
pub fn create(conn: &dyn Sql, c: &NewCampaign, members: &[Assigned]) -> Result<i64> {
    let exists = conn
        .row("SELECT 1 FROM campaigns WHERE name = ?1", &[text(c.name)])?
        .is_some();
    if exists {
        return Err(Error::bad(format!(
            "a campaign named '{}' exists already (campaign list)",
            crate::term::safe(c.name)
        )));
    }
    let id = conn.count(
        "INSERT INTO campaigns(name, action, channel, cost, cost_share, target, control_share,
                               start_day, window_days, seed, model_id, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         RETURNING id",
        &[
            text(c.name),
            text(c.action),
            text(c.channel),
            Value::Real(c.cost),
            Value::Real(c.cost_share),
            text(c.target),
            Value::Real(c.control_share),
            int(c.start_day),
            int(c.window_days),
            int(c.seed as i64),
            c.model_id.map(Value::Integer).unwrap_or(Value::Null),
            int(crate::timeutil::now()),
            text(c.agent),
        ],
    )?;
    packed::write(conn, id, members)?;
    Ok(id)
}

/// Create a campaign with its members in one transaction, with its audit
/// entry (`detail` says who is in it).
pub fn create_audited(
    conn: &mut impl crate::store::sql::Writer,
    c: &NewCampaign,
    members: &[Assigned],
    detail: &str,
) -> Result<i64> {
    conn.write(&mut |tx| {
        let id = create(tx, c, members)?;
        // What next best action learned (the open campaigns' control
        // groups) is cached per data version: a file's moves on here (a
        // server's trigger moves its own).
        if let Some(file) = tx.sqlite() {
            crate::store::dashboard::bump_version(file)?;
        }
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
}

/// Close an open campaign, with its audit entry (false: it was closed).
/// Call inside the caller's transaction.
pub fn close_audited(conn: &dyn Sql, id: i64, agent: &str) -> Result<bool> {
    let closed = close(conn, id, agent)?;
    if closed {
        if let Some(file) = conn.sqlite() {
            crate::store::dashboard::bump_version(file)?;
        }
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
    conn: &dyn Sql,
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

/// A campaign's group sizes (from its packed chunks' counts) and the
/// members worked (outcomes recorded).
fn fill_counts(conn: &dyn Sql, c: &mut Campaign) -> Result<()> {
    (c.treatment, c.control) = packed::counts(conn, c.id)?;
    c.worked = conn.count(
        "SELECT count(*) FROM campaign_work WHERE campaign_id = ?1 AND outcome IS NOT NULL",
        &[int(c.id)],
    )?;
    Ok(())
}

fn row(r: &Row) -> Result<Campaign> {
    let start_day = r.i64(8)?;
    Ok(Campaign {
        id: r.i64(0)?,
        name: r.text(1)?,
        action: r.text(2)?,
        channel: r.text(3)?,
        cost: r.f64(4)?,
        cost_share: r.f64(5)?,
        target: r.text(6)?,
        control_share: r.f64(7)?,
        start: crate::timeutil::ts_to_day_string(start_day * DAY),
        start_day,
        window_days: r.i64(9)?,
        seed: r.i64(10)?,
        model_id: r.opt_i64(11)?,
        status: r.text(12)?,
        created_at: r.i64(13)?,
        created_by: r.text(14)?,
        closed_at: r.opt_i64(15)?,
        treatment: 0,
        control: 0,
        worked: 0,
    })
}

pub fn list(conn: &dyn Sql) -> Result<Vec<Campaign>> {
    // sql-format-ok: a constant column list.
    let mut all = conn
        .rows(&format!("{SELECT} ORDER BY c.id DESC"), &[])?
        .iter()
        .map(row)
        .collect::<Result<Vec<_>>>()?;
    for c in &mut all {
        fill_counts(conn, c)?;
    }
    Ok(all)
}

/// A campaign by its id (what the screens and the CLI hold once they have
/// one: a name made of digits cannot be mistaken for it).
pub fn get_by_id(conn: &dyn Sql, id: i64) -> Result<Campaign> {
    // sql-format-ok: a constant column list.
    let found = conn.row(&format!("{SELECT} WHERE c.id = ?1"), &[int(id)])?;
    let mut c = found
        .as_ref()
        .map(row)
        .transpose()?
        .ok_or_else(|| Error::BadInput(format!("no campaign {id} (campaign list)")))?;
    fill_counts(conn, &mut c)?;
    Ok(c)
}

/// A campaign by name (or by id, given as digits, when no campaign has
/// that name).
pub fn get(conn: &dyn Sql, name: &str) -> Result<Campaign> {
    let id = name
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| name.parse::<i64>().ok())
        .flatten();
    // sql-format-ok: a constant column list.
    let found = conn.row(
        &format!("{SELECT} WHERE c.name = ?1 OR c.id = ?2 ORDER BY c.name = ?1 DESC LIMIT 1"),
        &[text(name), id.map(Value::Integer).unwrap_or(Value::Null)],
    )?;
    let mut c = found.as_ref().map(row).transpose()?.ok_or_else(|| {
        Error::BadInput(format!(
            "no campaign '{}' (campaign list)",
            crate::term::safe(name)
        ))
    })?;
    fill_counts(conn, &mut c)?;
    Ok(c)
}

/// Close a campaign (its work list ends; its report stays).
pub fn close(conn: &dyn Sql, id: i64, agent: &str) -> Result<bool> {
    Ok(conn.exec(
        "UPDATE campaigns SET status = 'closed', closed_at = ?2, closed_by = ?3
         WHERE id = ?1 AND status = 'open'",
        &[int(id), int(crate::timeutil::now()), text(agent)],
    )? == 1)
}

/// Schema 10's second step: each campaign's member rows become its packed
/// assignment, and the members agents worked keep their outcomes, claims
/// and versions as work rows; the old table goes.
pub fn migrate_members(conn: &Connection) -> Result<()> {
    let ids: Vec<i64> = conn
        .prepare("SELECT DISTINCT campaign_id FROM campaign_members ORDER BY campaign_id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        let mut st = conn.prepare(
            "SELECT cid, grp = 'treatment', stratum, churn_prob, clv, value_at_risk, rank,
                    outcome IS NOT NULL OR claimed_by IS NOT NULL OR version > 1
             FROM campaign_members WHERE campaign_id = ?1 ORDER BY rank",
        )?;
        let mut members = Vec::new();
        let mut worked = Vec::new();
        let mut treated = 0i64;
        for r in st.query_map([id], |r| {
            let stratum: String = r.get(2)?;
            let rank: i64 = r.get(6)?;
            Ok((
                Assigned {
                    cid: r.get(0)?,
                    treatment: r.get(1)?,
                    stratum: match stratum.as_str() {
                        "high" => "high",
                        "medium" => "medium",
                        "low" => "low",
                        _ => "unscored",
                    },
                    churn_prob: r.get(3)?,
                    clv: r.get(4)?,
                    value_at_risk: r.get(5)?,
                    rank: u32::try_from(rank).unwrap_or(u32::MAX),
                },
                r.get::<_, bool>(7)?,
            ))
        })? {
            let (m, w) = r?;
            if m.treatment {
                if w {
                    // Its place among the treated, in rank order.
                    worked.push((m.cid, i64::from(m.rank), treated));
                }
                treated += 1;
            }
            members.push(m);
        }
        packed::write(conn, id, &members)?;
        let mut ins = conn.prepare(
            "INSERT INTO campaign_work(campaign_id, cid, rank, pos, outcome, note, outcome_at,
                                       outcome_by, claimed_by, claimed_at, version)
             SELECT campaign_id, cid, ?3, ?4, outcome, note, outcome_at, outcome_by, claimed_by,
                    claimed_at, version
             FROM campaign_members WHERE campaign_id = ?1 AND cid = ?2",
        )?;
        for (cid, rank, pos) in worked {
            ins.execute([id, cid, rank, pos])?;
        }
    }
    conn.execute_batch("DROP TABLE campaign_members")?;
    Ok(())
}

/// What doctor finds in the packed assignments: per campaign, chunks that
/// do not decode or whose stored count is wrong, ranks that are not
/// 1..=members once each; and the members whose customer is missing
/// (their cids, for a placeholder).
pub fn check_assignments(conn: &Connection) -> Result<(Vec<String>, Vec<i64>)> {
    let mut problems = Vec::new();
    let mut all_cids = Vec::new();
    let ids: Vec<(i64, String)> = conn
        .prepare("SELECT id, name FROM campaigns ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, name) in ids {
        let name = crate::term::safe(&name);
        let stored: i64 = conn.query_row(
            "SELECT coalesce(sum(members), 0) FROM campaign_assignment WHERE campaign_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let members = match packed::read(conn, id, None) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("campaign {name}: {e}"));
                continue;
            }
        };
        if members.len() as i64 != stored {
            problems.push(format!(
                "campaign {name}: {} members packed, {stored} counted",
                members.len()
            ));
        }
        let mut ranks: Vec<i64> = members.iter().map(|m| m.rank).collect();
        ranks.sort_unstable();
        if ranks.iter().enumerate().any(|(i, r)| *r != i as i64 + 1) {
            problems.push(format!(
                "campaign {name}: ranks are not 1 to {} once each",
                members.len()
            ));
        }
        all_cids.extend(members.iter().map(|m| m.cid));
    }
    all_cids.sort_unstable();
    all_cids.dedup();
    let mut missing = Vec::new();
    let mut st = conn.prepare("SELECT cid FROM customers ORDER BY cid")?;
    let mut rows = st.query([])?;
    let mut at = 0;
    while let Some(r) = rows.next()? {
        let cid: i64 = r.get(0)?;
        while at < all_cids.len() && all_cids[at] < cid {
            missing.push(all_cids[at]);
            at += 1;
        }
        if at < all_cids.len() && all_cids[at] == cid {
            at += 1;
        }
    }
    missing.extend_from_slice(&all_cids[at..]);
    Ok((problems, missing))
}
