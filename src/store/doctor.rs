//! `crmtop doctor`: checks a database file and says how to fix each finding;
//! with `fix`, applies the fixes that lose nothing (checkpoint, stale jobs,
//! derived tables rebuilt from their sources, file modes, missing triggers).

use super::{latest_version, user_version};
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

/// The outcome of one check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
    /// What to do about it (None when all is well).
    pub fix: Option<String>,
    /// Whether `--fix` repaired it in this run.
    pub fixed: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub path: String,
    pub findings: Vec<Finding>,
    /// No error or warning is left (after the fixes of this run).
    pub healthy: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Apply the fixes that lose nothing.
    pub fix: bool,
    /// `PRAGMA quick_check` instead of the full `integrity_check`.
    pub quick: bool,
    /// `--read-only`: not even a died job is recorded.
    pub read_only: bool,
}

/// A WAL larger than this is worth a checkpoint.
const WAL_WARN_BYTES: u64 = 64 << 20;

struct Doctor {
    findings: Vec<Finding>,
}

impl Doctor {
    fn ok(&mut self, check: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            check,
            severity: Severity::Ok,
            message: message.into(),
            fix: None,
            fixed: false,
        });
    }

    fn problem(
        &mut self,
        check: &'static str,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> usize {
        self.findings.push(Finding {
            check,
            severity,
            message: message.into(),
            fix: Some(fix.into()),
            fixed: false,
        });
        self.findings.len() - 1
    }

    fn fixed(&mut self, i: usize, how: impl Into<String>) {
        if let Some(f) = self.findings.get_mut(i) {
            f.fixed = true;
            f.message = format!("{} (fixed: {})", f.message, how.into());
        }
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn count(conn: &Connection, sql: &str) -> Result<i64> {
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

/// Examine the database at `path` (and fix what can be fixed safely).
pub fn run(path: &Path, opts: Options) -> Result<Report> {
    if !path.exists() {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: "no such database".into(),
        });
    }
    super::check_regular(path)?;
    let mut d = Doctor {
        findings: Vec::new(),
    };
    check_modes(&mut d, path, opts.fix);
    // Like every crmtop that may write, doctor records jobs whose process
    // died as history first (a kill -9 is not a problem of the file).
    if !opts.read_only {
        if let Ok(c) = super::open_raw(path, true) {
            if user_version(&c).unwrap_or(0) >= 3 {
                let _ = super::jobs::reap_dead(&c);
            }
        }
    }

    // A first import interrupted before its commit leaves a rollback journal;
    // the first read-write open plays it back.
    let journal = sibling(path, "-journal");
    let hot = std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
    if hot {
        let i = d.problem(
            "journal",
            Severity::Warning,
            format!(
                "{} is left by an interrupted bulk load; until it is played back, read-only opens fail",
                journal.display()
            ),
            "open the database once read-write (any crmtop command, or crmtop doctor --fix), which restores it",
        );
        if opts.fix {
            drop(super::open(path, super::Mode::ReadWrite)?);
            d.fixed(i, "played back; the database is as it was before that load");
        }
    }

    let conn = super::open_raw(path, opts.fix)?;
    let tables = match count(&conn, "SELECT count(*) FROM sqlite_master") {
        Ok(n) => n,
        Err(e) => {
            d.problem(
                "database",
                Severity::Error,
                format!("not readable as an SQLite database: {e}"),
                "restore it from a backup (crmtop backup makes one)",
            );
            return Ok(finish(path, d));
        }
    };

    // Schema version.
    let v = user_version(&conn)?;
    if v == 0 && tables > 0 {
        d.problem(
            "schema",
            Severity::Error,
            "not a crmtop database (tables, but no crmtop schema version)",
            "point --db at a crmtop database",
        );
        return Ok(finish(path, d));
    }
    if v > latest_version() {
        d.problem(
            "schema",
            Severity::Error,
            format!(
                "schema version {v} is from a newer crmtop (this one knows up to {})",
                latest_version()
            ),
            "upgrade crmtop; nothing here touches the file",
        );
        return Ok(finish(path, d));
    }
    if v < latest_version() {
        let i = d.problem(
            "schema",
            Severity::Warning,
            format!("schema version {v}, current is {}", latest_version()),
            "open it once read-write (any crmtop command; crmtop doctor --fix) to apply the migrations",
        );
        if opts.fix {
            drop(super::open(path, super::Mode::ReadWrite)?);
            d.fixed(i, "migrated");
        } else {
            return Ok(finish(path, d));
        }
    } else {
        d.ok("schema", format!("schema version {v} (current)"));
    }

    let damaged = check_integrity(&mut d, &conn, opts.quick, path)?;
    // A damaged file: no fix writes into it (a repair could spread the
    // damage); the salvage path copies out what is readable instead.
    let fix = opts.fix && !damaged;
    let r = check_journal_mode(&mut d, &conn, path, fix);
    guard(&mut d, "journal mode", r);
    let r = check_foreign_keys(&mut d, &conn, fix);
    guard(&mut d, "orphan rows", r);
    let r = check_campaigns(&mut d, &conn, fix);
    guard(&mut d, "campaigns", r);
    let r = check_jobs(&mut d, &conn, fix);
    guard(&mut d, "jobs", r);
    let r = check_totals(&mut d, &conn, fix);
    guard(&mut d, "totals", r);
    let r = check_queue(&mut d, &conn, fix);
    guard(&mut d, "queue", r);
    let r = check_models(&mut d, &conn, fix);
    guard(&mut d, "models", r);
    let r = check_search(&mut d, &conn, fix);
    guard(&mut d, "search index", r);
    let r = check_audit(&mut d, &conn, fix);
    guard(&mut d, "audit", r);
    let r = check_wal(&mut d, &conn, path, fix);
    guard(&mut d, "wal", r);
    Ok(finish(path, d))
}

/// The full-text index of the queue's search against the items it indexes.
fn check_search(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let off = search_index_mismatches(conn)?;
    if off == 0 {
        d.ok(
            "search index",
            "the queue's search index matches every item",
        );
        return Ok(());
    }
    let i = d.problem(
        "search index",
        Severity::Warning,
        format!("{off} feedback items are missing from the search index, stale in it, or in it though gone"),
        "crmtop doctor --fix rebuilds it from the items",
    );
    if fix {
        rebuild_search_index(conn)?;
        d.fixed(i, "rebuilt");
    }
    Ok(())
}

/// Items whose entry in the search index is missing or differs, plus
/// entries of items that are gone.
pub fn search_index_mismatches(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM feedback f JOIN customers c ON c.cid = f.cid
                 LEFT JOIN feedback_fts x ON x.rowid = f.fid
                 WHERE x.rowid IS NULL OR x.id IS NOT f.id OR x.customer_id IS NOT c.id
                    OR x.name IS NOT c.name OR x.text IS NOT f.text)
              + (SELECT count(*) FROM feedback_fts x WHERE x.rowid NOT IN (SELECT fid FROM feedback))",
        [],
        |r| r.get(0),
    )?)
}

/// Rebuild the search index from the items (what `doctor --fix` does).
pub fn rebuild_search_index(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "SAVEPOINT fts_rebuild;
         DELETE FROM feedback_fts;
         INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
             SELECT f.fid, f.id, c.id, c.name, f.text FROM feedback f JOIN customers c ON c.cid = f.cid;
         RELEASE fts_rebuild;",
    )?;
    Ok(())
}

/// A check that could not run (the file is damaged where it looked) is a
/// finding, not the end of the report.
fn guard(d: &mut Doctor, check: &'static str, r: Result<()>) {
    if let Err(e) = r {
        d.problem(
            check,
            Severity::Error,
            format!("could not be checked: {e}"),
            "see the integrity finding: salvage what is readable with crmtop doctor --salvage NEW.db",
        );
    }
}

fn finish(path: &Path, d: Doctor) -> Report {
    let healthy = d
        .findings
        .iter()
        .all(|f| f.severity == Severity::Ok || f.fixed);
    Report {
        path: path.display().to_string(),
        findings: d.findings,
        healthy,
    }
}

fn check_modes(d: &mut Doctor, path: &Path, fix: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mut loose = Vec::new();
    for p in [
        path.to_path_buf(),
        sibling(path, "-wal"),
        sibling(path, "-shm"),
        sibling(path, "-journal"),
    ] {
        if let Ok(m) = std::fs::metadata(&p) {
            if m.permissions().mode() & 0o077 != 0 {
                loose.push(p);
            }
        }
    }
    if loose.is_empty() {
        d.ok("permissions", "the database files are private (0600)");
        return;
    }
    let names: Vec<String> = loose.iter().map(|p| p.display().to_string()).collect();
    let i = d.problem(
        "permissions",
        Severity::Warning,
        format!(
            "readable by other users: {} (customer data)",
            names.join(", ")
        ),
        format!("chmod 600 {}", names.join(" ")),
    );
    if fix {
        let all = loose
            .iter()
            .all(|p| std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).is_ok());
        if all {
            d.fixed(i, "set to 0600");
        }
    }
}

/// Returns whether the file is damaged.
fn check_integrity(d: &mut Doctor, conn: &Connection, quick: bool, path: &Path) -> Result<bool> {
    let pragma = if quick {
        "PRAGMA quick_check(50)"
    } else {
        "PRAGMA integrity_check(50)"
    };
    let lines: std::result::Result<Vec<String>, rusqlite::Error> = conn
        .prepare(pragma)
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect());
    let lines = match lines {
        Ok(l) => l,
        Err(e) => vec![e.to_string()],
    };
    if lines.len() == 1 && lines[0] == "ok" {
        d.ok(
            "integrity",
            if quick {
                "quick_check: ok"
            } else {
                "integrity_check: ok"
            },
        );
        return Ok(false);
    }
    // Which tables and indexes: integrity_check names b-trees by their root
    // page ("Tree 12 page 40 ...") or names an index outright.
    let roots = super::salvage::names_by_root(conn);
    let mut damaged: Vec<String> = Vec::new();
    for l in &lines {
        if let Some(rest) = l.strip_prefix("Tree ") {
            if let Some(root) = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<i64>().ok())
            {
                if let Some((_, kind, name)) = roots.iter().find(|(r, _, _)| *r == root) {
                    damaged.push(format!("{kind} {name}"));
                }
            }
        }
        for (_, kind, name) in &roots {
            if kind == "index" && l.contains(&format!("index {name}")) {
                damaged.push(format!("index {name}"));
            }
        }
    }
    damaged.sort();
    damaged.dedup();
    let states = super::salvage::table_states(conn).unwrap_or_default();
    let readable: Vec<String> = states
        .iter()
        .filter_map(|t| t.rows.map(|n| format!("{} ({n} rows)", t.name)))
        .collect();
    let unreadable: Vec<String> = states
        .iter()
        .filter(|t| t.rows.is_none())
        .map(|t| t.name.clone())
        .collect();
    let shown: Vec<&str> = lines.iter().take(5).map(String::as_str).collect();
    let mut msg = format!(
        "the file is damaged: {}{}",
        shown.join("; "),
        if lines.len() > 5 {
            format!(" (and {} more)", lines.len() - 5)
        } else {
            String::new()
        }
    );
    if !damaged.is_empty() {
        msg.push_str(&format!(". Damaged: {}", damaged.join(", ")));
    }
    if !unreadable.is_empty() {
        msg.push_str(&format!(
            ". Cannot be read whole: {}",
            unreadable.join(", ")
        ));
    }
    if !readable.is_empty() {
        msg.push_str(&format!(". Still readable: {}", readable.join(", ")));
    }
    let p = path.display();
    let only_indexes = !damaged.is_empty() && damaged.iter().all(|n| n.starts_with("index "));
    d.problem(
        "integrity",
        Severity::Error,
        msg,
        if only_indexes {
            format!("only indexes are damaged: `crmtop doctor --salvage NEW.db --db {p}` copies every row into a new file with fresh indexes; or restore the latest backup")
        } else {
            format!("restore the latest backup (crmtop backup --to FILE makes them), or copy every row that can still be read into a new file: `crmtop doctor --salvage NEW.db --db {p}`, then check it with `crmtop doctor --fix --db NEW.db`")
        },
    );
    Ok(true)
}

fn check_journal_mode(d: &mut Doctor, conn: &Connection, path: &Path, fix: bool) -> Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        d.ok("journal mode", "WAL");
        return Ok(());
    }
    let i = d.problem(
        "journal mode",
        Severity::Warning,
        format!("journal mode is {mode}, not WAL: agents working at once block each other"),
        "open it read-write once (crmtop doctor --fix), which switches it back to WAL",
    );
    if fix {
        drop(super::open(path, super::Mode::ReadWrite)?);
        d.fixed(i, "WAL again");
    }
    Ok(())
}

/// Rows that point at a customer, item, model or fit that is gone.
fn check_foreign_keys(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let mut st = conn.prepare(
        "SELECT \"table\", parent, count(*) FROM pragma_foreign_key_check GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let orphans: Vec<(String, String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if orphans.is_empty() {
        d.ok(
            "orphan rows",
            "every row's customer, item, model and fit exists",
        );
        return Ok(());
    }
    let what: Vec<String> = orphans
        .iter()
        .map(|(t, p, n)| format!("{n} in {t} (missing {p})"))
        .collect();
    let i = d.problem(
        "orphan rows",
        Severity::Error,
        format!("rows whose parent is gone: {}", what.join(", ")),
        "crmtop doctor --fix: orders, events, feedback and attributes get a placeholder customer \
         'restored-<key>' (nothing is deleted); scores, values and queue rows, which are derived, \
         are removed and recomputed by the next train / clv",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        for table in [
            "orders",
            "events",
            "feedback",
            "customer_attrs",
            "campaign_work",
        ] {
            // The table names come from this list, not from the file.
            // sql-format-ok: a table name from a constant list.
            tx.execute(
                &format!(
                    "INSERT INTO customers(cid, id)
                     SELECT DISTINCT t.cid, 'restored-' || t.cid FROM {table} t
                     WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.cid = t.cid)"
                ),
                [],
            )?;
        }
        super::scores::drop_orphans(&tx)?;
        tx.execute_batch(
            "DELETE FROM clv_values WHERE cid NOT IN (SELECT cid FROM customers)
                OR fit_id NOT IN (SELECT id FROM clv_fits);
             DELETE FROM queue WHERE fid NOT IN (SELECT fid FROM feedback);",
        )?;
        let left: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
        if left == 0 {
            super::customers::refresh_all_order_aggregates(&tx)?;
            tx.commit()?;
            d.fixed(i, "placeholders created, derived rows removed");
        }
    }
    Ok(())
}

/// The campaigns' packed assignments: readable, counted right, ranked
/// once each, every member a customer (fix: a placeholder customer, as for
/// orders; a campaign's assignment is never changed).
fn check_campaigns(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let (problems, missing) = super::campaigns::check_assignments(conn)?;
    if problems.is_empty() && missing.is_empty() {
        d.ok(
            "campaigns",
            "every campaign's assignment reads back whole, each member a customer",
        );
        return Ok(());
    }
    if !problems.is_empty() {
        d.problem(
            "campaigns",
            Severity::Error,
            problems.join("; "),
            "restore the file from a backup (crmtop backup): an assignment is never rewritten",
        );
    }
    if !missing.is_empty() {
        let i = d.problem(
            "campaigns",
            Severity::Error,
            format!(
                "{} campaign members whose customer is gone",
                missing.len()
            ),
            "crmtop doctor --fix: they get a placeholder customer 'restored-<key>' (nothing is deleted)",
        );
        if fix {
            let tx = conn.unchecked_transaction()?;
            let mut st = tx.prepare(
                "INSERT OR IGNORE INTO customers(cid, id) VALUES (?1, 'restored-' || ?1)",
            )?;
            for cid in &missing {
                st.execute([cid])?;
            }
            drop(st);
            tx.commit()?;
            d.fixed(i, "placeholders created");
        }
    }
    Ok(())
}

fn check_jobs(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let stale = super::jobs::stale(conn)?;
    if stale.is_empty() {
        let died = super::jobs::died(conn, 5).unwrap_or_default();
        if died.is_empty() {
            d.ok("jobs", "no job was left running by a process that died");
        } else {
            let what: Vec<String> = died
                .iter()
                .map(|j| {
                    format!(
                        "{} #{} by {} (started {}, recorded as died {})",
                        j.kind,
                        j.id,
                        j.agent,
                        crate::timeutil::ts_to_day_string(j.started_at),
                        j.finished_at
                            .map(crate::timeutil::ts_to_day_string)
                            .unwrap_or_default()
                    )
                })
                .collect();
            d.ok(
                "jobs",
                format!(
                    "no job is left running; history: {} (their process ended before they finished; nothing of them was written)",
                    what.join(", ")
                ),
            );
        }
        return Ok(());
    }
    let what: Vec<String> = stale
        .iter()
        .map(|j| {
            format!(
                "{} #{} by {} (pid {}, started {})",
                j.kind,
                j.id,
                j.agent,
                j.pid,
                crate::timeutil::ts_to_day_string(j.started_at)
            )
        })
        .collect();
    let i = d.problem(
        "jobs",
        Severity::Warning,
        format!(
            "jobs whose process died before finishing: {}; their writes were one transaction that never committed, so nothing of them is in the database",
            what.join(", ")
        ),
        "crmtop doctor --fix marks them failed; run them again (crmtop train / clv / import)",
    );
    if fix {
        super::jobs::clear_stale(conn)?;
        d.fixed(i, "marked failed");
    }
    Ok(())
}

/// Customer totals and monthly revenue against the orders they sum.
fn check_totals(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let off: i64 = count(
        conn,
        "SELECT count(*) FROM customers c LEFT JOIN
           (SELECT cid, count(*) AS n, sum(amount) AS rev FROM orders GROUP BY cid) o ON o.cid = c.cid
         WHERE c.n_orders <> COALESCE(o.n, 0)
            OR abs(c.revenue - COALESCE(o.rev, 0)) > 0.005 + 1e-9 * abs(COALESCE(o.rev, 0))",
    )?;
    let months_off: i64 = count(
        conn,
        "SELECT count(*) FROM (
           SELECT strftime('%Y-%m', ts, 'unixepoch') AS month, count(*) AS n, sum(amount) AS rev
           FROM orders GROUP BY 1) o
         FULL JOIN monthly_revenue m ON m.month = o.month
         WHERE COALESCE(m.orders, 0) <> COALESCE(o.n, 0)
            OR abs(COALESCE(m.revenue, 0) - COALESCE(o.rev, 0)) > 0.005 + 1e-9 * abs(COALESCE(o.rev, 0))",
    )?;
    if off == 0 && months_off == 0 {
        d.ok(
            "totals",
            "customer totals and monthly revenue match the orders",
        );
        return Ok(());
    }
    let i = d.problem(
        "totals",
        Severity::Warning,
        format!(
            "{off} customers' order totals and {months_off} months of revenue differ from their orders"
        ),
        "crmtop doctor --fix recomputes them from the orders",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        super::customers::refresh_all_order_aggregates(&tx)?;
        super::customers::rebuild_monthly_revenue(&tx)?;
        super::dashboard::bump_version(&tx)?;
        tx.commit()?;
        d.fixed(i, "recomputed");
    }
    Ok(())
}

/// The queue table holds exactly the open items, with their current state.
fn check_queue(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let off: i64 = count(
        conn,
        "SELECT (SELECT count(*) FROM feedback f WHERE f.status IN ('new','open','pending','escalated')
                   AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.fid = f.fid AND q.status = f.status
                                   AND q.assignee IS f.assignee))
              + (SELECT count(*) FROM queue q WHERE NOT EXISTS (
                   SELECT 1 FROM feedback f WHERE f.fid = q.fid AND f.status IN ('new','open','pending','escalated')))",
    )?;
    if off == 0 {
        d.ok("queue", "the queue holds exactly the open feedback items");
        return Ok(());
    }
    let i = d.problem(
        "queue",
        Severity::Warning,
        format!(
            "{off} feedback items are missing from the queue, stale in it, or in it though closed"
        ),
        "crmtop doctor --fix rebuilds the queue from the feedback items",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        super::feedback::refresh_static_priority(&tx, None)?;
        tx.commit()?;
        d.fixed(i, "rebuilt");
    }
    Ok(())
}

fn check_models(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let active = count(conn, "SELECT count(*) FROM models WHERE active = 1")?;
    if active > 1 {
        d.problem(
            "models",
            Severity::Error,
            format!("{active} churn models are marked active"),
            "crmtop model activate ID picks one",
        );
        return Ok(());
    }
    if let Some(id) = super::models::active_id(conn)? {
        let (wrong, unranked, off) = super::scores::rank_faults(conn, id)?;
        if wrong + unranked + off > 0 {
            let i = d.problem(
                "models",
                Severity::Error,
                format!(
                    "the active model's ranking disagrees with its scores: {wrong} wrong, {unranked} missing, {off} customers off"
                ),
                "crmtop doctor --fix rebuilds it from the scores",
            );
            if fix {
                let tx = conn.unchecked_transaction()?;
                super::scores::rebuild_rank(&tx, id)?;
                tx.commit()?;
                d.fixed(i, "rebuilt");
            }
            return Ok(());
        }
    }
    if active == 1 {
        let missing = count(
            conn,
            "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM active_churn s WHERE s.cid = c.cid)",
        )?;
        if missing > 0 {
            d.problem(
                "models",
                Severity::Warning,
                format!("{missing} customers have no score from the active model (added since it scored)"),
                "crmtop score re-scores every customer with it",
            );
            return Ok(());
        }
        d.ok("models", "the active churn model scores every customer");
    } else {
        d.ok("models", "no churn model yet (crmtop train makes one)");
    }
    Ok(())
}

fn check_audit(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let triggers = count(
        conn,
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'
         AND name IN ('audit_log_no_update', 'audit_log_no_delete')",
    )?;
    if triggers < 2 {
        let i = d.problem(
            "audit log",
            Severity::Error,
            "the triggers that keep the audit log append-only are missing",
            "crmtop doctor --fix creates them again",
        );
        if fix {
            conn.execute_batch(
                "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;
                 CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END;",
            )?;
            d.fixed(i, "created");
        }
    }
    let r = super::audit::replay_feedback(conn)?;
    if r.problems.is_empty() {
        d.ok(
            "audit replay",
            format!(
                "{} workflow entries on {} items replay to the items' current state",
                r.entries, r.items
            ),
        );
    } else {
        let n = r.problems.len();
        let shown: Vec<&str> = r.problems.iter().take(5).map(String::as_str).collect();
        d.problem(
            "audit replay",
            Severity::Error,
            format!(
                "{n} disagreements between the audit log and the items: {}{}",
                shown.join("; "),
                if n > 5 { "; ..." } else { "" }
            ),
            "an item was changed outside crmtop (or a write was lost): check those items' history with crmtop feedback show ID",
        );
    }
    Ok(())
}

fn check_wal(d: &mut Doctor, conn: &Connection, path: &Path, fix: bool) -> Result<()> {
    let wal = sibling(path, "-wal");
    let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    if size <= WAL_WARN_BYTES {
        d.ok("wal", format!("write-ahead log {:.1} MB", mb(size)));
        return Ok(());
    }
    let i = d.problem(
        "wal",
        Severity::Warning,
        format!(
            "the write-ahead log is {:.1} MB: reads get slower until it is copied into the database",
            mb(size)
        ),
        "crmtop doctor --fix checkpoints it (a reader that stays open can hold it back; close other crmtop windows)",
    );
    if fix {
        let (busy, _, _): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let after = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if busy == 0 {
            d.fixed(i, format!("checkpointed, now {:.1} MB", mb(after)));
        }
    }
    Ok(())
}
