//! The long jobs' record on a server (schema 14), as a file keeps one
//! (`store::jobs`): `doctor` finds jobs whose process died and says that
//! nothing of them was written (their writes are one transaction that never
//! committed). A file asks the operating system whether a job's process is
//! alive; a server's jobs run on any host, so each holds a session advisory
//! lock on its id instead, which the server releases when the job's
//! connection ends, however it ended.

use super::Pg;
use crate::error::Result;
use crate::store::jobs::Job;
use crate::store::sql::Sql;
use rusqlite::types::Value;

/// The first key of the jobs' advisory locks (the second is the job's id).
const JOB_LOCK: i64 = 7_243_003;

/// What a job that died is recorded with.
const DIED: &str = "the process ended before the job finished (killed, or the machine or its connection went down); nothing of it was written";

/// Record the start of a job and hold its lock on this connection (outside
/// any transaction: the record stays whatever becomes of the job's own);
/// returns its id.
pub fn start(pg: &Pg, kind: &str, agent: &str) -> Result<i64> {
    reap_dead(pg)?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let id = pg
        .row(
            "INSERT INTO jobs(kind, agent, host, pid, started_at, status, backend)
             VALUES ($1, $2, $3, $4, $5, 'running', pg_backend_pid()) RETURNING id",
            &[
                Value::Text(kind.into()),
                Value::Text(agent.into()),
                Value::Text(host),
                Value::Integer(i64::from(std::process::id())),
                Value::Integer(crate::timeutil::now()),
            ],
        )?
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(0);
    pg.row(
        "SELECT 1 FROM (SELECT pg_advisory_lock(CAST($1 AS INTEGER), CAST($2 % 2147483647 AS INTEGER))) AS l",
        &[Value::Integer(JOB_LOCK), Value::Integer(id)],
    )?;
    crate::store::jobs::set_current(Some(id));
    Ok(id)
}

/// Record how a job ended (`done`, `failed` or `cancelled`) and let go of
/// its lock.
pub fn finish(pg: &Pg, id: i64, status: &str, message: Option<&str>) -> Result<()> {
    crate::store::jobs::set_current(None);
    pg.exec(
        "UPDATE jobs SET status = $2, finished_at = $3, message = $4 WHERE id = $1",
        &[
            Value::Integer(id),
            Value::Text(status.into()),
            Value::Integer(crate::timeutil::now()),
            message.map_or(Value::Null, |m| Value::Text(m.into())),
        ],
    )?;
    pg.row(
        "SELECT pg_advisory_unlock(CAST($1 AS INTEGER), CAST($2 % 2147483647 AS INTEGER))",
        &[Value::Integer(JOB_LOCK), Value::Integer(id)],
    )?;
    Ok(())
}

const COLUMNS: &str = "id, kind, agent, pid, started_at, status, finished_at, message";

/// A job from a row that starts with `COLUMNS`.
fn job_of(r: &crate::store::sql::Row) -> Result<Job> {
    Ok(Job {
        id: r.i64(0)?,
        kind: r.text(1)?,
        agent: r.text(2)?,
        pid: r.i64(3)?,
        started_at: r.i64(4)?,
        status: r.text(5)?,
        finished_at: r.opt_i64(6)?,
        message: r.opt_text(7)?,
    })
}

fn jobs(pg: &Pg, sql: &str, params: &[Value]) -> Result<Vec<Job>> {
    pg.rows(sql, params)?.iter().map(job_of).collect()
}

/// Jobs still marked running whose lock is free: their connection ended.
/// (Asked in a transaction of its own: a lock taken to look is let go at
/// its end.)
pub fn stale(pg: &Pg) -> Result<Vec<Job>> {
    pg.begin("BEGIN")?;
    let r = jobs(
        pg,
        // sql-format-ok: a constant column list.
        &format!(
            "SELECT {COLUMNS} FROM jobs WHERE status = 'running'
               AND pg_try_advisory_xact_lock(CAST($1 AS INTEGER), CAST(id % 2147483647 AS INTEGER))
             ORDER BY id"
        ),
        &[Value::Integer(JOB_LOCK)],
    );
    pg.finish(r)
}

/// Jobs that died, newest first (at most `limit`).
pub fn died(pg: &Pg, limit: i64) -> Result<Vec<Job>> {
    jobs(
        pg,
        // sql-format-ok: a constant column list.
        &format!("SELECT {COLUMNS} FROM jobs WHERE status = 'died' ORDER BY id DESC LIMIT $1"),
        &[Value::Integer(limit)],
    )
}

/// Record the running jobs whose connection ended as died (each job's
/// start does this first; `doctor --fix` too).
pub fn reap_dead(pg: &Pg) -> Result<usize> {
    if pg.read_only {
        return Ok(0);
    }
    pg.begin("BEGIN")?;
    let r = pg.exec(
        "UPDATE jobs SET status = 'died', finished_at = $2, message = $3
          WHERE status = 'running'
            AND pg_try_advisory_xact_lock(CAST($1 AS INTEGER), CAST(id % 2147483647 AS INTEGER))",
        &[
            Value::Integer(JOB_LOCK),
            Value::Integer(crate::timeutil::now()),
            Value::Text(DIED.into()),
        ],
    );
    pg.finish(r)
}

/// A job its server still runs (its lock is held): by whom, where, and
/// whether its process is known to be gone (on this host, no such
/// process), its transaction running on until the server notices.
pub struct Running {
    pub job: Job,
    pub host: String,
    pub backend: Option<i64>,
    pub orphaned: bool,
}

/// The jobs still running on the server (their lock held).
pub fn running(pg: &Pg) -> Result<Vec<Running>> {
    let here = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let rows = pg.rows(
        // sql-format-ok: a constant column list.
        &format!(
            "SELECT {COLUMNS}, host, backend FROM jobs j WHERE status = 'running'
               AND EXISTS (SELECT 1 FROM pg_locks l
                            WHERE l.locktype = 'advisory' AND l.granted
                              AND l.classid = CAST(CAST($1 AS INTEGER) AS oid)
                              AND l.objid = CAST(CAST(j.id % 2147483647 AS INTEGER) AS oid)
                              AND l.objsubid = 2)
             ORDER BY id"
        ),
        &[Value::Integer(JOB_LOCK)],
    )?;
    rows.iter()
        .map(|r| {
            let job = job_of(r)?;
            let host = r.text(8)?;
            let orphaned = host == here && !crate::store::jobs::process_exists(job.pid);
            Ok(Running {
                backend: r.opt_i64(9)?,
                host,
                job,
                orphaned,
            })
        })
        .collect()
}

/// End the server's transaction of a job whose process is gone (it would
/// be rolled back anyway, once the server noticed); whether it was ended.
pub fn end_orphan(pg: &Pg, backend: i64) -> Result<bool> {
    Ok(pg
        .row(
            "SELECT CASE WHEN pg_terminate_backend(CAST($1 AS INTEGER)) THEN 1 ELSE 0 END",
            &[Value::Integer(backend)],
        )?
        .map(|r| r.i64(0).unwrap_or(0) == 1)
        .unwrap_or(false))
}
