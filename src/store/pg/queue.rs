//! The queue's order on PostgreSQL: the priority now (the static part plus
//! the age term of `analytics::priority`) as one SQL expression, so the
//! server ranks, counts and locks in one statement.

use super::Pg;
use crate::analytics::priority::{self, Inputs, SlaConfig, KINDS};
use crate::error::Result;
use crate::store::feedback::{self, QueueFilter, QueueItem, SLA_START_SQL};
use crate::store::queue::{condition_on, sla_secs};
use crate::store::sql::{Engine, Row, Sql};
use rusqlite::types::Value;

/// The SQL and parameters of an open item's priority now and of its SLA
/// test, over `queue`'s columns. Parameters are numbered from `first`:
/// the clock, then per kind the hours of its two phases (for the
/// priority) and the seconds of its two SLAs (for the test). The server
/// wants every parameter it is sent used, so only the parts asked for are
/// built.
struct Clock {
    priority: String,
    overdue: String,
    params: Vec<Value>,
}

fn clock(sla: &SlaConfig, now: i64, first: usize, priority: bool, overdue: bool, t: &str) -> Clock {
    let mut params = vec![Value::Integer(now)];
    let p_now = first;
    let mut hours = format!("CASE {t}kind");
    let mut secs = format!("CASE {t}kind");
    for kind in KINDS {
        if priority {
            let i = first + params.len();
            params.push(Value::Real(priority::sla_hours(sla, kind, "new")));
            params.push(Value::Real(priority::sla_hours(sla, kind, "open")));
            hours.push_str(&format!(
                " WHEN '{kind}' THEN CASE WHEN {t}status = 'new' THEN ${i}::float8 ELSE ${}::float8 END",
                i + 1
            ));
        }
        if overdue {
            let i = first + params.len();
            params.push(Value::Integer(sla_secs(sla, kind, "new")));
            params.push(Value::Integer(sla_secs(sla, kind, "open")));
            secs.push_str(&format!(
                " WHEN '{kind}' THEN CASE WHEN {t}status = 'new' THEN ${i}::bigint ELSE ${}::bigint END",
                i + 1
            ));
        }
    }
    hours.push_str(" ELSE 1.0::float8 END");
    secs.push_str(" ELSE 3600 END");
    Clock {
        // sql-format-ok: numbered placeholders and constant kinds only.
        priority: format!(
            "{t}prio_static + CASE WHEN {t}status = 'pending' THEN 0.0::float8 ELSE
               10.0 * LEAST(GREATEST((${p_now}::bigint - {t}created_at)::float8 / 3600.0::float8 / ({hours}), 0.0), 3.0) END"
        ),
        // sql-format-ok: numbered placeholders only.
        overdue: format!(
            "({t}status <> 'pending' AND ${p_now}::bigint - {t}created_at >= ({secs}))"
        ),
        params,
    }
}

/// Lock the best unassigned item nobody else is taking, other than those
/// already `tried`, inside the caller's transaction: its queue row and its
/// feedback row together (`FOR UPDATE OF q, f SKIP LOCKED`: the order a
/// workflow change locks them in, so a claim and a change never wait on
/// each other), one at a time (a lock held on a second candidate would
/// hide it from another agent's claim).
pub fn claimable(pg: &Pg, sla: &SlaConfig, now: i64, tried: &[i64]) -> Result<Option<i64>> {
    let c = clock(sla, now, 1, true, false, "q.");
    let mut params = c.params;
    let first = params.len() + 1;
    params.extend(tried.iter().map(|f| Value::Integer(*f)));
    let skip = if tried.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (first..first + tried.len())
            .map(|i| format!("${i}"))
            .collect();
        // sql-format-ok: numbered placeholders only.
        format!(" AND q.fid NOT IN ({})", marks.join(", "))
    };
    pg.row(
        // sql-format-ok: the expression is built of numbered placeholders.
        &format!(
            "SELECT q.fid FROM queue q JOIN feedback f ON f.fid = q.fid
             WHERE q.assignee IS NULL{skip}
             ORDER BY {} DESC, q.fid LIMIT 1 FOR UPDATE OF q, f SKIP LOCKED",
            c.priority
        ),
        &params,
    )?
    .map(|r| r.i64(0))
    .transpose()
}

/// A page of what a filter shows, with the total (see `feedback::page`).
#[allow(clippy::too_many_arguments)]
pub fn page(
    pg: &Pg,
    filter: &QueueFilter,
    agent: &str,
    sla: &SlaConfig,
    now: i64,
    offset: i64,
    limit: Option<i64>,
) -> Result<(Vec<QueueItem>, i64)> {
    if filter.beyond_queue() {
        return feedback::wide_page(
            pg,
            filter,
            agent,
            sla,
            now,
            offset,
            limit.unwrap_or(i64::MAX),
        );
    }
    // The filter's own `?` placeholders come first, then the clock's.
    let (cond, params, overdue) = condition_on(filter, agent, "", Engine::Postgres);
    let cond = crate::store::sql::numbered(&cond);
    let with_clock = |priority: bool| {
        let c = clock(sla, now, params.len() + 1, priority, overdue, "");
        let mut ps = params.clone();
        if priority || overdue {
            ps.extend(c.params);
        }
        let cond = if overdue {
            // sql-format-ok: constant text with numbered placeholders.
            format!("({cond}) AND {}", c.overdue)
        } else {
            cond.clone()
        };
        (cond, c.priority, ps)
    };
    let (counted, _, count_params) = with_clock(false);
    // sql-format-ok: constant text with numbered placeholders.
    let total = pg.count(
        &format!("SELECT count(*) FROM queue WHERE {counted}"),
        &count_params,
    )?;
    let (cond, prio, mut params) = with_clock(true);
    let n = params.len();
    params.push(Value::Integer(limit.unwrap_or(total).max(0)));
    params.push(Value::Integer(offset.max(0)));
    let ranked: Vec<(f64, i64)> = pg
        .rows(
            // sql-format-ok: constant text with numbered placeholders.
            &format!(
                "SELECT {prio} AS p, fid FROM queue WHERE {cond} ORDER BY p DESC, fid LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ),
            &params,
        )?
        .iter()
        .map(|r: &Row| Ok((r.f64(0)?, r.i64(1)?)))
        .collect::<Result<_>>()?;
    Ok((feedback::ranked_items(pg, &ranked)?, total))
}

/// The queue rows of many items at once (after an import): open items get
/// their row and time-independent priority, the others leave the queue.
pub(super) fn requeue_many(pg: &Pg, fids: &[i64]) -> Result<()> {
    let fids: Vec<i64> = fids.to_vec();
    let mut client = pg.client();
    // sql-format-ok: constants only.
    let inputs = client
        .query(
            &format!(
                "SELECT f.fid, f.status, f.kind, f.channel, {SLA_START_SQL}, f.assignee,
                        f.score, f.sentiment, s.prob, v.clv
                 FROM feedback f LEFT JOIN active_churn s ON s.cid = f.cid
                      LEFT JOIN active_clv v ON v.cid = f.cid
                 WHERE f.fid = ANY($1) AND f.status IN ('new', 'open', 'pending', 'escalated')"
            ),
            &[&fids],
        )
        .map_err(|e| pg.error(e))?;
    let mut q = (
        Vec::<i64>::new(),
        Vec::<String>::new(),
        Vec::<String>::new(),
        Vec::<Option<String>>::new(),
        Vec::<i64>::new(),
        Vec::<Option<String>>::new(),
        Vec::<f64>::new(),
    );
    for r in &inputs {
        let get = |e: postgres::Error| pg.error(e);
        let kind: String = r.try_get(2).map_err(get)?;
        let prio = priority::static_priority(&Inputs {
            kind: &kind,
            score: r.try_get(6).map_err(get)?,
            sentiment: r.try_get(7).map_err(get)?,
            churn_prob: r.try_get(8).map_err(get)?,
            clv: r.try_get(9).map_err(get)?,
        });
        q.0.push(r.try_get(0).map_err(get)?);
        q.1.push(r.try_get(1).map_err(get)?);
        q.2.push(kind);
        q.3.push(r.try_get(3).map_err(get)?);
        q.4.push(r.try_get(4).map_err(get)?);
        q.5.push(r.try_get(5).map_err(get)?);
        q.6.push(prio);
    }
    client
        .execute(
            "DELETE FROM queue WHERE fid = ANY($1) AND NOT (fid = ANY($2))",
            &[&fids, &q.0],
        )
        .map_err(|e| pg.error(e))?;
    client
        .execute(
            "INSERT INTO queue(fid, status, kind, channel, created_at, assignee, prio_static)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                  $6::text[], $7::float8[])
             ON CONFLICT(fid) DO UPDATE SET status = excluded.status, kind = excluded.kind,
               channel = excluded.channel, created_at = excluded.created_at, assignee = excluded.assignee,
               prio_static = excluded.prio_static",
            &[&q.0, &q.1, &q.2, &q.3, &q.4, &q.5, &q.6],
        )
        .map_err(|e| pg.error(e))?;
    Ok(())
}
