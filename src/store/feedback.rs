//! Feedback items: priority upkeep, the queue, and workflow writes with
//! optimistic locking.

use crate::analytics::priority::{self, Inputs};
use crate::error::Result;
use rusqlite::Connection;

/// Register `crmtop_prio(kind, score, sentiment, churn_prob, clv)`: the
/// time-independent priority of `analytics::priority`, for set-based updates.
pub fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "crmtop_prio",
        5,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let kind: String = ctx.get(0)?;
            let inputs = Inputs {
                kind: &kind,
                score: ctx.get(1)?,
                sentiment: ctx.get(2)?,
                churn_prob: ctx.get(3)?,
                clv: ctx.get(4)?,
            };
            Ok(priority::static_priority(&inputs))
        },
    )?;
    Ok(())
}

/// Bring the queue rows of the given items (or of every item when `fids` is
/// None) in step with `feedback`: open items get their row and their
/// time-independent priority, the others leave the queue.
pub fn refresh_static_priority(conn: &Connection, fids: Option<&[i64]>) -> Result<usize> {
    register_functions(conn)?;
    const UPSERT: &str =
        "INSERT INTO queue(fid, status, kind, channel, created_at, assignee, prio_static)
         SELECT f.fid, f.status, f.kind, f.channel, f.created_at, f.assignee,
                crmtop_prio(f.kind, f.score, f.sentiment, c.churn_prob, c.clv)
         FROM feedback f JOIN customers c ON c.cid = f.cid
         WHERE f.status IN ('new', 'open', 'pending', 'escalated')";
    const ON_CONFLICT: &str = " ON CONFLICT(fid) DO UPDATE SET status = excluded.status, kind = excluded.kind,
           channel = excluded.channel, created_at = excluded.created_at, assignee = excluded.assignee,
           prio_static = excluded.prio_static";
    match fids {
        Some(fids) => {
            // sql-format-ok: constants only.
            let mut up = conn.prepare_cached(&format!("{UPSERT} AND f.fid = ?1{ON_CONFLICT}"))?;
            let mut del = conn.prepare_cached(
                "DELETE FROM queue WHERE fid = ?1
                 AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.fid = ?1 AND f.status IN ('new', 'open', 'pending', 'escalated'))",
            )?;
            let mut n = 0;
            for fid in fids {
                n += up.execute([fid])?;
                del.execute([fid])?;
            }
            Ok(n)
        }
        None => {
            conn.execute(
                "DELETE FROM queue WHERE fid NOT IN (SELECT fid FROM feedback WHERE status IN ('new', 'open', 'pending', 'escalated'))",
                [],
            )?;
            // sql-format-ok: constants only.
            Ok(conn.execute(&format!("{UPSERT}{ON_CONFLICT}"), [])?)
        }
    }
}

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
        }
    }
}

/// One item of the queue, with its customer's context.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueueItem {
    pub fid: i64,
    pub id: String,
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
    pub score: Option<f64>,
    pub churn_prob: Option<f64>,
    pub clv: Option<f64>,
    pub version: i64,
    pub first_response_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

/// `?1` now, `?2..?13` SLA hours (see `SlaConfig::sql_params`), `?14` mine
/// (agent), `?15` unassigned (0/1), `?16` overdue (0/1), `?17` status, `?18`
/// kind, `?19` channel, `?20` limit, `?21` offset.
fn queue_where() -> String {
    // sql-format-ok: AGE_SQL is a constant.
    format!(
        "(?14 IS NULL OR q.assignee = ?14) AND (?15 = 0 OR q.assignee IS NULL)
         AND (?16 = 0 OR {age} >= 10.0) AND (?17 IS NULL OR q.status = ?17)
         AND (?18 IS NULL OR q.kind = ?18) AND (?19 IS NULL OR q.channel = ?19)",
        age = priority::AGE_SQL
    )
}

type QueueParams = (
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn filter_params(filter: &QueueFilter, agent: &str) -> QueueParams {
    let mut p: QueueParams = (None, 0, 0, None, None, None);
    match filter {
        QueueFilter::All => {}
        QueueFilter::Mine => p.0 = Some(agent.to_string()),
        QueueFilter::Unassigned => p.1 = 1,
        QueueFilter::Overdue => p.2 = 1,
        QueueFilter::Escalated => p.3 = Some("escalated".into()),
        QueueFilter::Kind(k) => p.4 = Some(k.clone()),
        QueueFilter::Channel(c) => p.5 = Some(c.clone()),
    }
    p
}

/// A page of the queue, highest priority first.
pub fn queue_page(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &priority::SlaConfig,
    now: i64,
    offset: i64,
    limit: i64,
) -> Result<Vec<QueueItem>> {
    // sql-format-ok: constant text (AGE_SQL, the WHERE clause) only.
    let sql = format!(
        "SELECT t.prio, f.fid, f.id, c.id, c.name, f.status, f.kind, f.channel, f.created_at, f.assignee,
                f.sentiment, substr(f.text, 1, 500), f.score, c.churn_prob, c.clv, f.version,
                f.first_response_at, f.updated_at, f.updated_by
         FROM (SELECT q.fid, q.prio_static + {age} AS prio FROM queue q WHERE {w}
               ORDER BY prio DESC, q.fid LIMIT ?20 OFFSET ?21) t
         JOIN feedback f ON f.fid = t.fid JOIN customers c ON c.cid = f.cid
         ORDER BY t.prio DESC, f.fid",
        age = priority::AGE_SQL,
        w = queue_where()
    );
    let s = sla.sql_params();
    let f = filter_params(filter, agent);
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(
        rusqlite::params![
            now, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], f.0,
            f.1, f.2, f.3, f.4, f.5, limit, offset
        ],
        |r| {
            Ok(QueueItem {
                priority: r.get(0)?,
                fid: r.get(1)?,
                id: r.get(2)?,
                customer_id: r.get(3)?,
                customer_name: r.get(4)?,
                status: r.get(5)?,
                kind: r.get(6)?,
                channel: r.get(7)?,
                created_at: r.get(8)?,
                assignee: r.get(9)?,
                sentiment: r.get(10)?,
                text: r.get(11)?,
                score: r.get(12)?,
                churn_prob: r.get(13)?,
                clv: r.get(14)?,
                version: r.get(15)?,
                first_response_at: r.get(16)?,
                updated_at: r.get(17)?,
                updated_by: r.get(18)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many items a filter shows.
pub fn queue_count(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &priority::SlaConfig,
    now: i64,
) -> Result<i64> {
    // sql-format-ok: constant text only.
    let sql = format!("SELECT count(*) FROM queue q WHERE {}", queue_where());
    let s = sla.sql_params();
    let f = filter_params(filter, agent);
    let mut st = conn.prepare_cached(&sql)?;
    Ok(st.query_row(
        rusqlite::params![
            now, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], f.0,
            f.1, f.2, f.3, f.4, f.5
        ],
        |r| r.get(0),
    )?)
}

/// Kinds and channels present in the queue (for the filter cycle).
pub fn queue_facets(conn: &Connection) -> Result<(Vec<String>, Vec<String>)> {
    let mut st = conn.prepare_cached("SELECT DISTINCT kind FROM queue ORDER BY kind")?;
    let kinds = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT channel FROM queue WHERE channel IS NOT NULL ORDER BY channel",
    )?;
    let channels = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok((kinds, channels))
}
