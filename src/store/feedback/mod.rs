//! Feedback items: the queue's pages, an item, search, and (in `upkeep`)
//! which items are queued with what priority.

use crate::analytics::priority::{self, Inputs};
use crate::error::Result;
use crate::store::sql::{self, Sql};
use rusqlite::types::Value;
use rusqlite::Connection;

mod find;
mod upkeep;
pub use find::{fid_of, fts_query, item_number, number_ids_sql, search, tsquery, PLAIN_LETTERS};
pub use upkeep::{
    refresh_priorities, refresh_priorities_given, refresh_priorities_prefetched,
    refresh_static_priority, register_functions, requeue, settle_sla_clocks, Pending, Prefetched,
};

/// The start of an item's SLA clock that no item reaches: items that need
/// no response (praise, an NPS promoter) are never overdue.
pub const NO_SLA: i64 = 1 << 60;

/// The SQL of an item's SLA clock start (`f` is the feedback row): its
/// creation plus the time it spent pending, or [`NO_SLA`].
pub const SLA_START_SQL: &str = "CASE WHEN f.kind = 'praise' OR (f.kind = 'nps' AND f.score >= 9)
              THEN 1152921504606846976 ELSE f.created_at + f.sla_paused_secs END";

/// Which part of the queue to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum QueueFilter {
    #[default]
    All,
    Mine,
    Unassigned,
    Overdue,
    Escalated,
    Kind(String),
    Channel(String),
    /// Items in one status: new, open, pending, escalated (the queue), or
    /// resolved, closed, or "any" (every item, open or not).
    Status(String),
    /// Items held by this agent.
    Assignee(String),
    /// Items whose id, customer id, customer name or text match these words
    /// (full-text search; each word may be the start of a word).
    Text(String),
    /// As `Text`, but not matching customer names (`--mask-pii`: a search
    /// that matched masked names would confirm who a customer is).
    TextNoNames(String),
    /// Every one of these at once.
    Every(Vec<QueueFilter>),
}

impl QueueFilter {
    pub fn label(&self) -> String {
        match self {
            QueueFilter::All => "all open".into(),
            QueueFilter::Mine => "mine".into(),
            QueueFilter::Unassigned => "unassigned".into(),
            QueueFilter::Overdue => "overdue".into(),
            QueueFilter::Escalated => "escalated".into(),
            QueueFilter::Kind(k) => format!("kind {k}"),
            QueueFilter::Channel(c) => format!("channel {c}"),
            QueueFilter::Status(s) => format!("status {s}"),
            QueueFilter::Assignee(a) => format!("assignee {a}"),
            QueueFilter::Text(t) | QueueFilter::TextNoNames(t) => format!("/{t}"),
            QueueFilter::Every(parts) => parts
                .iter()
                .map(QueueFilter::label)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl QueueFilter {
    /// The parts of the filter (one, or those of `Every`).
    pub fn parts(&self) -> Vec<&QueueFilter> {
        match self {
            QueueFilter::Every(p) => p.iter().collect(),
            QueueFilter::All => vec![],
            other => vec![other],
        }
    }

    /// The status asked for, if any.
    pub fn status(&self) -> Option<&str> {
        self.parts().into_iter().find_map(|p| match p {
            QueueFilter::Status(s) => Some(s.as_str()),
            QueueFilter::Escalated => Some("escalated"),
            _ => None,
        })
    }

    /// Whether this filter looks beyond the open queue (resolved, closed or
    /// any status): such pages come from `feedback`, newest first.
    pub fn beyond_queue(&self) -> bool {
        matches!(self.status(), Some("resolved" | "closed" | "any"))
    }

    /// The same filter with one part replaced (parts of the same kind are
    /// dropped first); `None` removes that kind.
    pub fn with(
        &self,
        same_kind: fn(&QueueFilter) -> bool,
        part: Option<QueueFilter>,
    ) -> QueueFilter {
        let mut parts: Vec<QueueFilter> = self
            .parts()
            .into_iter()
            .filter(|p| !same_kind(p))
            .cloned()
            .collect();
        parts.extend(part);
        match parts.len() {
            0 => QueueFilter::All,
            1 => parts.pop().unwrap_or_default(),
            _ => QueueFilter::Every(parts),
        }
    }
}

/// One item of the queue, with its customer's context.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueueItem {
    pub fid: i64,
    pub id: String,
    /// The customer's key.
    pub cid: i64,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub status: String,
    pub kind: String,
    pub channel: Option<String>,
    pub created_at: i64,
    pub assignee: Option<String>,
    pub priority: f64,
    pub sentiment: Option<f64>,
    pub text: Option<String>,
    /// The text is cut (a list's first 500 bytes): the item itself has it
    /// whole.
    pub text_cut: bool,
    pub score: Option<f64>,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub version: i64,
    pub first_response_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_at: Option<i64>,
    pub escalation_reason: Option<String>,
    /// The start of the SLA clock: creation plus time spent pending, or
    /// [`NO_SLA`] for items that need no response.
    pub sla_start: i64,
}

impl QueueItem {
    /// Why the item ranks where it does, in words (`priority::explain`).
    pub fn why(&self, sla: &crate::analytics::priority::SlaConfig, now: i64) -> Vec<String> {
        let inputs = Inputs {
            churn_prob: self.churn_prob,
            clv: self.clv,
            sentiment: self.sentiment,
            kind: &self.kind,
            score: self.score,
        };
        priority::explain(&inputs, sla, &self.status, self.sla_start, now)
    }
}

const ITEM_SQL: &str =
    "SELECT f.fid, f.id, c.id, c.name, f.status, f.kind, f.channel, f.created_at, f.assignee,
        f.sentiment, f.text, f.score, s.prob, v.clv, f.version,
        f.first_response_at, f.updated_at, f.updated_by, f.resolution_note, f.resolved_at,
        f.escalation_reason, c.cid,
        CASE WHEN f.kind = 'praise' OR (f.kind = 'nps' AND f.score >= 9)
              THEN 1152921504606846976 ELSE f.created_at + f.sla_paused_secs END
 FROM feedback f JOIN customers c ON c.cid = f.cid LEFT JOIN active_churn s ON s.cid = f.cid
      LEFT JOIN active_clv v ON v.cid = f.cid";

fn read_item(r: &sql::Row, priority: f64) -> Result<QueueItem> {
    Ok(QueueItem {
        priority,
        fid: r.i64(0)?,
        id: r.text(1)?,
        customer_id: r.text(2)?,
        customer_name: r.opt_text(3)?,
        status: r.text(4)?,
        kind: r.text(5)?,
        channel: r.opt_text(6)?,
        created_at: r.i64(7)?,
        assignee: r.opt_text(8)?,
        sentiment: r.opt_f64(9)?,
        text: r.opt_text(10)?,
        text_cut: false,
        score: r.opt_f64(11)?,
        churn_prob: r.opt_f64(12)?,
        clv: r.opt_f64(13)?,
        version: r.i64(14)?,
        first_response_at: r.opt_i64(15)?,
        updated_at: r.opt_i64(16)?,
        updated_by: r.opt_text(17)?,
        resolution_note: r.opt_text(18)?,
        resolved_at: r.opt_i64(19)?,
        escalation_reason: r.opt_text(20)?,
        cid: r.i64(21)?,
        sla_start: r.i64(22)?,
    })
}

/// Items by the query `ITEM_SQL` + `rest`, each with priority 0.
fn items_where(conn: &dyn Sql, rest: &str, params: &[Value]) -> Result<Vec<QueueItem>> {
    // sql-format-ok: callers pass constant text with placeholders.
    conn.rows(&format!("{ITEM_SQL} {rest}"), params)?
        .iter()
        .map(|r| read_item(r, 0.0))
        .collect()
}

/// One item by its key, open or not; its priority is the current one while
/// it is open, else 0.
pub fn item(
    conn: &dyn Sql,
    fid: i64,
    sla: &priority::SlaConfig,
    now: i64,
) -> Result<Option<QueueItem>> {
    let Some(mut it) = items_where(conn, "WHERE f.fid = ?1", &[sql::int(fid)])?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let prio = conn
        .row(
            "SELECT prio_static FROM queue WHERE fid = ?1",
            &[sql::int(fid)],
        )?
        .map(|r| r.f64(0))
        .transpose()?;
    if let Some(p) = prio {
        it.priority = p + priority::age_term(sla, &it.kind, &it.status, it.created_at, now);
    }
    Ok(Some(it))
}

/// The items of ranked queue rows, in the order given, each with its
/// priority (long texts cut for a list; `item` gives the whole text).
pub fn ranked_items(conn: &dyn Sql, ranked: &[(f64, i64)]) -> Result<Vec<QueueItem>> {
    let mut out = Vec::with_capacity(ranked.len());
    for &(prio, fid) in ranked {
        let Some(mut it) = items_where(conn, "WHERE f.fid = ?1", &[sql::int(fid)])?
            .into_iter()
            .next()
        else {
            continue;
        };
        it.priority = prio;
        if let Some(t) = it.text.as_mut() {
            if t.len() > 500 {
                let mut end = 500;
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t.truncate(end);
                it.text_cut = true;
            }
        }
        out.push(it);
    }
    Ok(out)
}

/// A page of the queue, highest priority first (see `store::queue`).
pub fn queue_page(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &priority::SlaConfig,
    now: i64,
    offset: i64,
    limit: i64,
) -> Result<Vec<QueueItem>> {
    let top = super::queue::top(
        conn,
        filter,
        agent,
        sla,
        now,
        (offset.max(0) + limit.max(0)) as usize,
    )?;
    let ranked: Vec<(f64, i64)> = top
        .into_iter()
        .skip(offset.max(0) as usize)
        .map(|(p, r)| (p, r.fid))
        .collect();
    ranked_items(conn, &ranked)
}

/// A page of what a filter shows, with the total of all it shows: the open
/// queue by priority, or (resolved, closed, any status) newest first.
/// `limit` None: every matching item.
#[allow(clippy::too_many_arguments)]
pub fn page(
    conn: &dyn Sql,
    filter: &QueueFilter,
    agent: &str,
    sla: &priority::SlaConfig,
    now: i64,
    offset: i64,
    limit: Option<i64>,
) -> Result<(Vec<QueueItem>, i64)> {
    if let Some(pg) = conn.postgres() {
        return super::pg::queue::page(pg, filter, agent, sla, now, offset, limit);
    }
    let Some(conn) = conn.sqlite() else {
        return Ok((vec![], 0));
    };
    if filter.beyond_queue() {
        return wide_page(
            conn,
            filter,
            agent,
            sla,
            now,
            offset,
            limit.unwrap_or(i64::MAX),
        );
    }
    let total = queue_count(conn, filter, agent, sla, now)?;
    let items = queue_page(
        conn,
        filter,
        agent,
        sla,
        now,
        offset,
        limit.unwrap_or(total),
    )?;
    Ok((items, total))
}

/// A page of items beyond the open queue (resolved, closed, or any status;
/// see [`QueueFilter::beyond_queue`]), newest first, with their total.
pub fn wide_page(
    conn: &dyn Sql,
    filter: &QueueFilter,
    agent: &str,
    sla: &priority::SlaConfig,
    now: i64,
    offset: i64,
    limit: i64,
) -> Result<(Vec<QueueItem>, i64)> {
    let (cond, params, overdue) = super::queue::condition_on(filter, agent, "f.", conn.engine());
    if overdue {
        // Only open items can be overdue: read the matching ones and test.
        let all: Vec<QueueItem> = items_where(
            conn,
            // sql-format-ok: the condition is constant text with placeholders.
            &format!(
                "WHERE {cond} AND f.status IN ('new','open','pending','escalated') ORDER BY f.fid DESC"
            ),
            &params,
        )?
        .into_iter()
        .filter(|it| super::queue::is_overdue(sla, &it.kind, &it.status, it.created_at, now))
        .collect();
        let total = all.len() as i64;
        let page = all
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(limit.max(0) as usize)
            .collect();
        return Ok((page, total));
    }
    // sql-format-ok: the condition is constant text with placeholders.
    let total = conn.count(
        &format!("SELECT count(*) FROM feedback f WHERE {cond}"),
        &params,
    )?;
    let mut all = params;
    all.push(Value::Integer(limit.max(0)));
    all.push(Value::Integer(offset.max(0)));
    // A search's matches are few: the most recently changed first (the
    // item one just resolved is on top). Without one, newest item first,
    // straight from the key.
    let searching = filter
        .parts()
        .iter()
        .any(|p| matches!(p, QueueFilter::Text(_) | QueueFilter::TextNoNames(_)));
    // Resolved and closed items: the most recently resolved first (what an
    // agent looks for there), along the (status, resolved_at) index.
    let done_status = matches!(filter.status(), Some("resolved" | "closed"));
    let order = if searching {
        "COALESCE(f.updated_at, f.created_at) DESC, f.fid DESC"
    } else if done_status {
        "f.resolved_at DESC, f.fid DESC"
    } else {
        "f.fid DESC"
    };
    // sql-format-ok: the condition and order are constant text with placeholders.
    let items = items_where(
        conn,
        &format!("WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?"),
        &all,
    )?;
    Ok((items, total))
}

/// Resolved or closed items, newest key first, optionally only one agent's,
/// one kind or one channel.
pub fn closed_page(
    conn: &dyn Sql,
    status: &str,
    assignee: Option<&str>,
    kind: Option<&str>,
    channel: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<Vec<QueueItem>> {
    items_where(
        conn,
        "WHERE f.status = ?1 AND (CAST(?2 AS TEXT) IS NULL OR f.assignee = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR f.kind = ?3) AND (CAST(?4 AS TEXT) IS NULL OR f.channel = ?4)
         ORDER BY f.resolved_at DESC, f.fid DESC LIMIT ?5 OFFSET ?6",
        &[
            sql::text(status),
            sql::opt_text(assignee),
            sql::opt_text(kind),
            sql::opt_text(channel),
            sql::int(limit),
            sql::int(offset),
        ],
    )
}

/// How many items a filter shows.
pub fn queue_count(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &priority::SlaConfig,
    now: i64,
) -> Result<i64> {
    super::queue::count(conn, filter, agent, sla, now)
}

/// Kinds and channels present in the queue (for the filter cycle), on
/// either engine. Index skip-scans (one seek per distinct value): DISTINCT
/// over 86,000 open items read every entry, 14 ms against 1 ms.
pub fn queue_facets(conn: &dyn Sql) -> Result<(Vec<String>, Vec<String>)> {
    let values = |col: &str| -> Result<Vec<String>> {
        conn.rows(
            // sql-format-ok: a constant column name.
            &format!(
                "WITH RECURSIVE k(v) AS (
                   SELECT min({col}) FROM queue
                   UNION ALL SELECT (SELECT min({col}) FROM queue WHERE {col} > k.v) FROM k WHERE k.v IS NOT NULL)
                 SELECT v FROM k WHERE v IS NOT NULL"
            ),
            &[],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect()
    };
    Ok((values("kind")?, values("channel")?))
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn the_item_query_uses_the_clock_start() {
        let norm = |x: &str| x.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(norm(ITEM_SQL).contains(&norm(SLA_START_SQL)));
        assert_eq!(NO_SLA, 1152921504606846976);
    }
}
