//! A campaign's members as its report and `campaign show` read them: the
//! packed assignment (`packed`) joined with the customers, the window's
//! orders and what agents recorded (`work`), for a million members in one
//! pass over each table.

use super::packed::{self, Packed};
use super::work::{work_of, WorkRow};
use crate::cid_index::CidIndex;
use crate::error::Result;
use crate::store::sql::{int, Row, Sql};
use serde::Serialize;
use std::collections::HashMap;

/// One member: their work-list row, their group, and what they did in
/// the campaign's window.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    #[serde(flatten)]
    pub row: WorkRow,
    pub group: String,
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
pub fn members(conn: &dyn Sql, campaign_id: i64, from: i64, to: i64) -> Result<Vec<Member>> {
    let all = packed::read_by_rank(conn, campaign_id)?;
    joined(conn, campaign_id, all, from, to)
}

/// One member (by cid), as `members` gives them.
pub fn member(
    conn: &dyn Sql,
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
pub(super) fn packed_of(conn: &dyn Sql, campaign_id: i64, cid: i64) -> Result<Option<Packed>> {
    let pos = conn
        .row(
            "SELECT pos FROM campaign_work WHERE campaign_id = ?1 AND cid = ?2",
            &[int(campaign_id), int(cid)],
        )?
        .map(|r| r.i64(0))
        .transpose()?;
    if let Some(p) = pos {
        if let Some(m) = packed::at(conn, campaign_id, true, p)?.filter(|m| m.cid == cid) {
            return Ok(Some(m));
        }
    }
    packed::find(conn, campaign_id, cid)
}

/// Members (in the order given) with their customer, work and window.
fn joined(
    conn: &dyn Sql,
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
            let churned = c.churned;
            Member {
                group: if m.treatment { "treatment" } else { "control" }.into(),
                row: WorkRow::of(&m, c, w),
                ordered: s.is_some(),
                revenue: s.unwrap_or(0.0),
                churned,
            }
        })
        .collect())
}

/// Below this many members, each is looked up on its own; above, the
/// tables are read in one pass in key order and merged.
const LOOKUPS: usize = 20_000;

/// A customer's id, name and churn label, as a member shows them.
#[derive(Debug, Clone, Default)]
pub(super) struct Who {
    pub id: String,
    pub name: Option<String>,
    pub churned: Option<bool>,
    /// How to reach them (read with the names).
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The customers of `cids` (in that order); `names`: id and name,
/// `label`: the churn label.
pub(super) fn customers_of(
    conn: &dyn Sql,
    cids: &[i64],
    names: bool,
    label: bool,
) -> Result<Vec<Who>> {
    let mut out = vec![Who::default(); cids.len()];
    if !names && !label {
        return Ok(out);
    }
    let who = |r: &Row| -> Result<Who> {
        Ok(Who {
            id: if names { r.text(1)? } else { String::new() },
            name: if names { r.opt_text(2)? } else { None },
            churned: r.opt_i64(3)?.map(|c| c == 1),
            phone: if names { r.opt_text(4)? } else { None },
            email: if names { r.opt_text(5)? } else { None },
        })
    };
    if cids.len() < LOOKUPS {
        for (o, cid) in out.iter_mut().zip(cids) {
            if let Some(r) = conn.row(
                "SELECT cid, id, name, churned, phone, email FROM customers WHERE cid = ?1",
                &[int(*cid)],
            )? {
                *o = who(&r)?;
            }
        }
        return Ok(out);
    }
    let index = CidIndex::new(cids);
    conn.each(
        if names {
            "SELECT cid, id, name, churned, phone, email FROM customers ORDER BY cid"
        } else {
            "SELECT cid, NULL, NULL, churned, NULL, NULL FROM customers ORDER BY cid"
        },
        &[],
        &mut |r| {
            if let Some(i) = index.get(r.i64(0)?) {
                out[i] = who(r)?;
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// Each customer's spend in [from, to) (None: no order in it), in the
/// order of `cids`. For many customers the window's orders are summed in
/// one pass over the orders (a million members: 0.4 s, where a lookup per
/// member took 2.3 s).
fn spend_of(conn: &dyn Sql, cids: &[i64], from: i64, to: i64) -> Result<Vec<Option<f64>>> {
    let mut out = vec![None; cids.len()];
    if cids.len() < LOOKUPS {
        for (o, cid) in out.iter_mut().zip(cids) {
            let r = conn.row(
                "SELECT coalesce(sum(amount), 0.0), count(*) FROM orders WHERE cid = ?1 AND ts >= ?2 AND ts < ?3",
                &[int(*cid), int(from), int(to)],
            )?;
            if let Some(r) = r {
                *o = (r.i64(1)? > 0).then_some(r.f64(0)?);
            }
        }
        return Ok(out);
    }
    let index = CidIndex::new(cids);
    conn.each(
        "SELECT cid, sum(amount) FROM orders WHERE ts >= ?1 AND ts < ?2 GROUP BY cid",
        &[int(from), int(to)],
        &mut |r| {
            if let Some(i) = index.get(r.i64(0)?) {
                out[i] = Some(r.f64(1)?);
            }
            Ok(())
        },
    )?;
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
    conn: &dyn Sql,
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
    conn.each(
        "SELECT cid, outcome FROM campaign_work WHERE campaign_id = ?1 AND outcome IS NOT NULL",
        &[int(campaign_id)],
        &mut |r| {
            // The schema allows these four only.
            let o = r.opt_text(1)?.unwrap_or_default();
            if let Some(o) = OUTCOMES.iter().find(|k| **k == o) {
                outcomes.insert(r.i64(0)?, o);
            }
            Ok(())
        },
    )?;
    for (((row, cid), s), w) in rows.iter_mut().zip(&cids).zip(spend).zip(who) {
        row.outcome = outcomes.remove(cid);
        row.ordered = s.is_some();
        row.revenue = s.unwrap_or(0.0);
        row.churned = w.churned;
    }
    Ok(rows)
}
