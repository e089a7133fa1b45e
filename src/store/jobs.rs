//! A record of long-running jobs, so that `crmtop doctor` can find jobs whose
//! process died (killed, machine lost) and say what they left behind (nothing:
//! their writes are one transaction that never committed).

use crate::error::Result;
use rusqlite::{params, Connection};

/// Record the start of a job; returns its id.
pub fn start(conn: &Connection, kind: &str, agent: &str) -> Result<i64> {
    conn.execute(
        "INSERT INTO jobs(kind, agent, pid, started_at, status) VALUES (?1, ?2, ?3, ?4, 'running')",
        params![kind, agent, std::process::id(), crate::timeutil::now()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Record how a job ended: `done`, `failed` or `cancelled`.
pub fn finish(conn: &Connection, id: i64, status: &str, message: Option<&str>) -> Result<()> {
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
}

/// Jobs still marked running whose process no longer exists.
pub fn stale(conn: &Connection) -> Result<Vec<Job>> {
    let mut st = conn.prepare(
        "SELECT id, kind, agent, pid, started_at, status FROM jobs WHERE status = 'running' ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Job {
            id: r.get(0)?,
            kind: r.get(1)?,
            agent: r.get(2)?,
            pid: r.get(3)?,
            started_at: r.get(4)?,
            status: r.get(5)?,
        })
    })?;
    let mut out = Vec::new();
    for j in rows {
        let j = j?;
        if !process_alive(j.pid) {
            out.push(j);
        }
    }
    Ok(out)
}

fn process_alive(pid: i64) -> bool {
    if pid <= 0 || pid > i64::from(i32::MAX) {
        return false;
    }
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Mark stale jobs as failed (what `crmtop doctor --fix` does).
pub fn clear_stale(conn: &Connection) -> Result<usize> {
    let stale = stale(conn)?;
    for j in &stale {
        finish(
            conn,
            j.id,
            "failed",
            Some("process died before finishing; nothing was written"),
        )?;
    }
    Ok(stale.len())
}
