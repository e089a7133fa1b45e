//! Checks of the file itself: its modes, SQLite's integrity check, the
//! journal mode and the write-ahead log's size.

use super::*;

pub(super) fn check_modes(d: &mut Doctor, path: &Path, fix: bool) {
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
pub(super) fn check_integrity(
    d: &mut Doctor,
    conn: &Connection,
    quick: bool,
    path: &Path,
) -> Result<bool> {
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
    let roots = crate::store::salvage::names_by_root(conn);
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
    let states = crate::store::salvage::table_states(conn).unwrap_or_default();
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

pub(super) fn check_journal_mode(
    d: &mut Doctor,
    conn: &Connection,
    path: &Path,
    fix: bool,
) -> Result<()> {
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
        drop(crate::store::open(path, crate::store::Mode::ReadWrite)?);
        d.fixed(i, "WAL again");
    }
    Ok(())
}

/// Old versions' scores or fits' values retired by a job that was stopped
/// before it cleared them (space not yet reused; nothing reads them).
pub(super) fn check_retired(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let left = crate::store::retired::pending(conn)?;
    if left.is_empty() {
        return Ok(());
    }
    let i = d.problem(
        "old versions",
        Severity::Warning,
        format!(
            "{} tables of pruned model versions or CLV fits were not cleared (a job stopped before it finished; nothing reads them, their space is not reused yet)",
            left.len()
        ),
        "crmtop doctor --fix clears them, as the next retrain or CLV fit would",
    );
    if fix {
        let n = crate::store::retired::clear(conn, crate::jobs::Ctl::silent())?;
        d.fixed(i, format!("{n} cleared"));
    }
    Ok(())
}

pub(super) fn check_wal(d: &mut Doctor, conn: &Connection, path: &Path, fix: bool) -> Result<()> {
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
