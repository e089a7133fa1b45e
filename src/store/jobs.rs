//! A record of long-running jobs, so that `crmtop doctor` can find jobs whose
//! process died (killed, machine lost) and say what they left behind (nothing:
//! their writes are one transaction that never committed).

use crate::error::Result;
use rusqlite::{params, Connection};

thread_local! {
    /// The job this thread runs (its record's id), from its start to its
    /// end: the job's own transaction records it done (`done_within`).
    static CURRENT: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Record the start of a job; returns its id.
pub fn start(conn: &Connection, kind: &str, agent: &str) -> Result<i64> {
    let pid = std::process::id();
    conn.execute(
        "INSERT INTO jobs(kind, agent, pid, started_at, status, pid_start) VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
        params![kind, agent, pid, crate::timeutil::now(), process_start(i64::from(pid))],
    )?;
    let id = conn.last_insert_rowid();
    set_current(Some(id));
    Ok(id)
}

/// Which job this thread runs (a server's jobs set it too).
pub fn set_current(id: Option<i64>) {
    CURRENT.with(|c| c.set(id));
}

/// Inside the running job's own transaction, just before its commit: its
/// record says done, and commits with its writes. A job killed after its
/// commit (while it prunes or warms the dashboard) is then not taken for
/// one that wrote nothing; a record still `running` never committed.
pub fn done_within(conn: &dyn super::sql::Sql) -> Result<()> {
    if let Some(id) = CURRENT.with(|c| c.get()) {
        conn.exec(
            "UPDATE jobs SET status = 'done', finished_at = ?1 WHERE id = ?2 AND status = 'running'",
            &[
                rusqlite::types::Value::Integer(crate::timeutil::now()),
                rusqlite::types::Value::Integer(id),
            ],
        )?;
    }
    Ok(())
}

/// Record how a job ended: `done`, `failed` or `cancelled`.
pub fn finish(conn: &Connection, id: i64, status: &str, message: Option<&str>) -> Result<()> {
    set_current(None);
    conn.execute(
        "UPDATE jobs SET status = ?2, finished_at = ?3, message = ?4 WHERE id = ?1",
        params![id, status, crate::timeutil::now(), message],
    )?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub agent: String,
    pub pid: i64,
    pub started_at: i64,
    pub status: String,
    pub finished_at: Option<i64>,
    pub message: Option<String>,
}

const JOB_COLUMNS: &str = "id, kind, agent, pid, started_at, status, finished_at, message";

fn job_row(r: &rusqlite::Row) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        agent: r.get(2)?,
        pid: r.get(3)?,
        started_at: r.get(4)?,
        status: r.get(5)?,
        finished_at: r.get(6)?,
        message: r.get(7)?,
    })
}

/// Jobs still marked running whose process no longer exists (or whose pid
/// now belongs to another process).
pub fn stale(conn: &Connection) -> Result<Vec<Job>> {
    let mut st = conn.prepare(&format!(
        // sql-format-ok: a constant column list.
        "SELECT {JOB_COLUMNS}, pid_start FROM jobs WHERE status = 'running' ORDER BY id"
    ))?;
    let rows = st.query_map([], |r| Ok((job_row(r)?, r.get::<_, Option<i64>>(8)?)))?;
    let mut out = Vec::new();
    for j in rows {
        let (j, pid_start) = j?;
        if !process_alive(j.pid, pid_start) {
            out.push(j);
        }
    }
    Ok(out)
}

/// Jobs that died, newest first (at most `limit`).
pub fn died(conn: &Connection, limit: i64) -> Result<Vec<Job>> {
    let mut st = conn.prepare(&format!(
        // sql-format-ok: a constant column list.
        "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'died' ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = st.query_map([limit], job_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What doctor says of the jobs when none is left running: the ones that
/// died lately, if any.
pub fn history_text(died: &[Job]) -> String {
    if died.is_empty() {
        return "no job was left running by a process that died".into();
    }
    let what: Vec<String> = died
        .iter()
        .map(|j| {
            format!(
                "{} #{} by {} (started {}, recorded as died {})",
                j.kind,
                j.id,
                j.agent,
                crate::timeutil::ts_to_minute_string(j.started_at),
                j.finished_at
                    .map(crate::timeutil::ts_to_minute_string)
                    .unwrap_or_default()
            )
        })
        .collect();
    format!(
        "no job is left running; history: {} (their process ended before they finished; nothing of them was written)",
        what.join(", ")
    )
}

/// What doctor says of jobs left running by a process that died.
pub fn stale_text(stale: &[Job]) -> String {
    let what: Vec<String> = stale
        .iter()
        .map(|j| {
            format!(
                "{} #{} by {} (pid {}, started {})",
                j.kind,
                j.id,
                j.agent,
                j.pid,
                crate::timeutil::ts_to_minute_string(j.started_at)
            )
        })
        .collect();
    format!(
        "jobs whose process died before finishing: {}; their writes were one transaction that never committed, so nothing of them is in the database",
        what.join(", ")
    )
}

/// How doctor mends jobs left running by a process that died.
pub const STALE_FIX: &str =
    "crmtop doctor --fix marks them failed; run them again (crmtop train / clv / import)";

/// The start time of a process (clock ticks since boot, field 22 of
/// /proc/PID/stat), to tell a reused pid from the job's process.
pub fn process_start(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a process of this host has that pid.
pub fn process_exists(pid: i64) -> bool {
    process_alive(pid, None)
}

fn process_alive(pid: i64, pid_start: Option<i64>) -> bool {
    if pid <= 0 || pid > i64::from(i32::MAX) {
        return false;
    }
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    let exists = r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists {
        return false;
    }
    match (pid_start, process_start(pid)) {
        (Some(recorded), Some(now)) => recorded == now,
        _ => true,
    }
}

/// Record running jobs whose process is gone as died. Runs whenever a
/// crmtop opens the file for writing; the jobs table is tiny. A job's own
/// writes were one transaction that never committed, so nothing of it is
/// in the database.
pub fn reap_dead(conn: &Connection) -> Result<usize> {
    let running: i64 = conn.query_row(
        "SELECT count(*) FROM jobs WHERE status = 'running'",
        [],
        |r| r.get(0),
    )?;
    if running == 0 {
        return Ok(0);
    }
    let stale = stale(conn)?;
    for j in &stale {
        conn.execute(
            "UPDATE jobs SET status = 'died', finished_at = ?2, message = ?3
             WHERE id = ?1 AND status = 'running'",
            params![
                j.id,
                crate::timeutil::now(),
                "the process ended before the job finished (killed, or the machine went down); nothing of it was written"
            ],
        )?;
    }
    Ok(stale.len())
}

/// What `crmtop doctor --fix` does about jobs left running: the same as
/// every opening for writing.
pub fn clear_stale(conn: &Connection) -> Result<usize> {
    reap_dead(conn)
}

/// In a backup copy, a job that was running when the copy was taken is not
/// running in the copy: it is marked died there (its writes are not in it).
pub fn mark_interrupted_in_copy(conn: &Connection) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE jobs SET status = 'died', finished_at = ?1,
             message = 'running when this backup was taken; its writes are not in the backup'
         WHERE status = 'running'",
        [crate::timeutil::now()],
    )?)
}
