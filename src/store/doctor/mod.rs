//! `crmtop doctor`: checks a database file and says how to fix each finding;
//! with `fix`, applies the fixes that lose nothing (checkpoint, stale jobs,
//! derived tables rebuilt from their sources, file modes, missing triggers).

use super::{latest_version, user_version};
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

mod file;
mod rows;

use file::*;
use rows::*;
pub use rows::{rebuild_search_index, search_index_mismatches};

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

/// The customers the active churn model has no score for, said alike on a
/// file and a server. A customer added since the model scored has none
/// until the next train or `crmtop score` (the README's "-"): normal after
/// every import, so information; a warning only when most customers have
/// none (the churn screens then rank few of them).
pub fn unscored(missing: i64, customers: i64) -> Finding {
    let most = missing * 2 > customers;
    Finding {
        check: "models",
        severity: if most { Severity::Warning } else { Severity::Ok },
        message: match missing {
            0 => "the active churn model scores every customer".into(),
            n => format!(
                "{n} of {customers} customers have no churn score yet (added since the active model scored; the next train scores them)"
            ),
        },
        fix: most.then(|| "crmtop score re-scores every customer with the active model".into()),
        fixed: false,
    }
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
    let r = check_activity(&mut d, &conn, fix);
    guard(&mut d, "daily sums", r);
    let r = check_packs(&mut d, &conn, fix);
    guard(&mut d, "packed history", r);
    let r = check_queue(&mut d, &conn, fix);
    guard(&mut d, "queue", r);
    let r = check_models(&mut d, &conn, fix);
    guard(&mut d, "models", r);
    let r = check_clv_fit(&mut d, &conn, fix);
    guard(&mut d, "CLV fit", r);
    let r = check_search(&mut d, &conn, fix);
    guard(&mut d, "search index", r);
    let r = check_audit(&mut d, &conn, fix);
    guard(&mut d, "audit", r);
    let r = check_retired(&mut d, &conn, fix);
    guard(&mut d, "old versions", r);
    let r = check_wal(&mut d, &conn, path, fix);
    guard(&mut d, "wal", r);
    Ok(finish(path, d))
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
