//! Reading what a damaged database still holds: which tables can be read
//! whole, and `crmtop doctor --salvage OUT`, which copies every readable row
//! into a new database (what SQLite's `.recover` does for a damaged file,
//! done through the bundled library, row by row: a range of rows that
//! cannot be read is halved until only the unreadable rows are left out).

use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;

/// One table of a damaged file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableState {
    pub name: String,
    /// Rows read by a full scan of the table (without its indexes).
    pub rows: Option<i64>,
    /// Why the scan stopped, when it did.
    pub error: Option<String>,
}

/// The tables of the file and whether each reads whole.
pub fn table_states(conn: &Connection) -> Result<Vec<TableState>> {
    let names = table_names(conn)?;
    let mut out = Vec::new();
    for name in names {
        let q = quote(&name);
        // sql-format-ok: a table name read from sqlite_master, quoted.
        let sql = format!("SELECT count(*) FROM {q} NOT INDEXED");
        let r = conn.query_row(&sql, [], |r| r.get::<_, i64>(0));
        out.push(match r {
            Ok(n) => TableState {
                name,
                rows: Some(n),
                error: None,
            },
            Err(e) => TableState {
                name,
                rows: None,
                error: Some(e.to_string()),
            },
        });
    }
    Ok(out)
}

fn table_names(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
           AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE 'feedback_fts%' ORDER BY name",
    )?;
    let names = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(names)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The names of tables and indexes whose b-tree root is page `root`.
pub fn names_by_root(conn: &Connection) -> Vec<(i64, String, String)> {
    let Ok(mut st) =
        conn.prepare("SELECT rootpage, type, name FROM sqlite_master WHERE rootpage > 0")
    else {
        return Vec::new();
    };
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map(|rows| rows.filter_map(|r| r.ok()).collect())
        .unwrap_or_default()
}

/// What a salvage copied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SalvageReport {
    pub source: String,
    pub target: String,
    pub tables: Vec<SalvagedTable>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SalvagedTable {
    pub name: String,
    pub copied: i64,
    /// Rows the damaged file still counts or that a range held but could
    /// not be read (an estimate: a damaged page may hide how many it held).
    pub unreadable_ranges: i64,
}

/// Copy every readable row of the damaged database at `source` into a new
/// crmtop database at `target` (which must not exist).
pub fn salvage(source: &Path, target: &Path) -> Result<SalvageReport> {
    if target.exists() {
        return Err(Error::File {
            path: target.to_path_buf(),
            message: "already exists; salvage writes a new file".into(),
        });
    }
    crate::outfile::check_target(target, &crate::outfile::database_files(source))?;
    let src = super::open_raw(source, false)?;
    let version = super::user_version(&src).unwrap_or(0);
    if version > super::latest_version() {
        return Err(Error::Schema(
            "the damaged file is from a newer crmtop; salvage it with that version".into(),
        ));
    }
    let names = table_names(&src)?;
    // Written beside the target under a temporary name and renamed when
    // complete: an interrupted salvage leaves nothing at the target.
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "salvaged.db".into());
    let tmp = crate::outfile::TempDatabase::new(
        dir.join(format!(".{name}.salvage-{}", std::process::id())),
    );
    let dst = super::open(&tmp.path, super::Mode::ReadWrite)?;
    let conn = &dst.conn;
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let mut report = SalvageReport {
        source: source.display().to_string(),
        target: target.display().to_string(),
        tables: Vec::new(),
    };
    super::immediate_on(conn, || {
        // Each churn model version's scores, and each CLV fit's values,
        // are tables of their own.
        for name in &names {
            if let (Some(id), true) = (
                super::scores::version_of_table(name),
                name.starts_with("churn_scores_"),
            ) {
                super::scores::create(conn, id)?;
            }
            if let (Some(id), true) = (
                super::clv_values::fit_of_table(name),
                name.starts_with("clv_values_"),
            ) {
                super::clv_values::create(conn, id)?;
            }
        }
        for name in names {
            let dst_cols = columns(conn, &name);
            if dst_cols.is_empty() {
                continue; // a table this crmtop does not have
            }
            let src_cols = columns(&src, &name);
            let cols: Vec<String> = src_cols
                .into_iter()
                .filter(|c| dst_cols.contains(c))
                .collect();
            if cols.is_empty() {
                continue;
            }
            // The new file starts with its own rows in some tables (meta).
            // sql-format-ok: a table name from our own schema, quoted.
            conn.execute_batch(&format!("DELETE FROM {}", quote(&name)))
                .or_else(|_| Ok::<(), Error>(()))?;
            let t = copy_table(&src, conn, &name, &cols)?;
            report.tables.push(t);
        }
        // The daily sums are whatever the rows that were saved sum to.
        super::activity::rebuild(conn)?;
        super::packs::refresh(conn, super::packs::Scope::All, crate::jobs::Ctl::silent())?;
        super::scores::drop_orphans(conn)?;
        let active = super::models::active_id(conn)?;
        let scored = match active {
            Some(id) => super::scores::has(conn, id)?,
            None => false,
        };
        super::scores::point_active(conn, active.filter(|_| scored))?;
        super::clv_values::drop_orphans(conn)?;
        super::clv_values::point_at_active(conn)?;
        Ok(())
    })?;
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    drop(dst);
    std::fs::rename(&tmp.path, target).map_err(|e| Error::File {
        path: target.to_path_buf(),
        message: format!("cannot move the salvaged copy into place: {e}"),
    })?;
    // The -wal and -shm of the temporary name are gone with it.
    drop(tmp);
    Ok(report)
}

/// Reads that may fail before a table is given up as unreadable (a
/// damaged root page makes every range fail: halving would never end).
const MAX_FAILED_READS: u32 = 4_000;

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let Ok(mut st) = conn.prepare("SELECT name FROM pragma_table_info(?1)") else {
        return Vec::new();
    };
    st.query_map([table], |r| r.get(0))
        .map(|rows| rows.filter_map(|r| r.ok()).collect())
        .unwrap_or_default()
}

fn has_rowid(conn: &Connection, table: &str) -> bool {
    // sql-format-ok: a table name from sqlite_master, quoted.
    conn.prepare(&format!("SELECT rowid FROM {} LIMIT 0", quote(table)))
        .is_ok()
}

fn copy_table(
    src: &Connection,
    dst: &Connection,
    name: &str,
    cols: &[String],
) -> Result<SalvagedTable> {
    let list = cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    let marks = vec!["?"; cols.len()].join(", ");
    // The audit log refuses changes by trigger, not inserts; triggers that
    // keep derived tables fire as in any insert. OR IGNORE: a row a damaged
    // index reported twice is copied once.
    // sql-format-ok: names from both schemas, quoted; values bound.
    let insert = format!(
        "INSERT OR IGNORE INTO {}({list}) VALUES ({marks})",
        quote(name)
    );
    let mut ins = dst.prepare(&insert)?;
    let mut out = SalvagedTable {
        name: name.to_string(),
        copied: 0,
        unreadable_ranges: 0,
    };
    let width = cols.len();
    let mut copy_rows = |sql: &str,
                         params: &[i64],
                         out: &mut SalvagedTable|
     -> std::result::Result<(), rusqlite::Error> {
        let mut st = src.prepare(sql)?;
        let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
        let mut v = Vec::with_capacity(width);
        while let Some(r) = rows.next()? {
            v.clear();
            for i in 0..width {
                v.push(r.get::<_, rusqlite::types::Value>(i)?);
            }
            // A row met again after a range was halved is ignored (its key
            // is already there).
            if ins
                .execute(rusqlite::params_from_iter(v.iter()))
                .is_ok_and(|n| n > 0)
            {
                out.copied += 1;
            }
        }
        Ok(())
    };
    let q = quote(name);
    if has_rowid(src, name) {
        // sql-format-ok: names quoted.
        let sql = format!("SELECT {list} FROM {q} NOT INDEXED WHERE rowid BETWEEN ?1 AND ?2");
        let hi: i64 = src
            // sql-format-ok: a quoted table name.
            .query_row(&format!("SELECT max(rowid) FROM {q}"), [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .ok()
            .flatten()
            .unwrap_or(1 << 40);
        let lo: i64 = src
            // sql-format-ok: a quoted table name.
            .query_row(&format!("SELECT min(rowid) FROM {q}"), [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .ok()
            .flatten()
            .unwrap_or(i64::MIN / 2);
        let mut stack = vec![(lo.min(hi), hi.max(lo))];
        let mut failed = 0u32;
        let cancel = crate::signals::cancel_flag();
        while let Some((a, b)) = stack.pop() {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            match copy_rows(&sql, &[a, b], &mut out) {
                Ok(()) => {}
                Err(_) if failed >= MAX_FAILED_READS => {
                    out.unreadable_ranges += 1 + stack.len() as i64;
                    break;
                }
                Err(_) if a == b => {
                    failed += 1;
                    out.unreadable_ranges += 1
                }
                Err(_) => {
                    failed += 1;
                    let mid = a + (b - a) / 2;
                    stack.push((mid + 1, b));
                    stack.push((a, mid));
                }
            }
        }
    } else {
        // WITHOUT ROWID: read in key order until the damage, then from the
        // other end back to it.
        // sql-format-ok: names quoted.
        let fwd = format!("SELECT {list} FROM {q}");
        if copy_rows(&fwd, &[], &mut out).is_err() {
            out.unreadable_ranges += 1;
            let pk = primary_key(src, name);
            if !pk.is_empty() {
                let order = pk
                    .iter()
                    .map(|c| format!("{} DESC", quote(c)))
                    .collect::<Vec<_>>()
                    .join(", ");
                // sql-format-ok: names quoted.
                let back = format!("SELECT {list} FROM {q} ORDER BY {order}");
                let _ = copy_rows(&back, &[], &mut out);
            }
        }
    }
    Ok(out)
}

fn primary_key(conn: &Connection, table: &str) -> Vec<String> {
    let Ok(mut st) =
        conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
    else {
        return Vec::new();
    };
    st.query_map([table], |r| r.get(0))
        .map(|rows| rows.filter_map(|r| r.ok()).collect())
        .unwrap_or_default()
}
