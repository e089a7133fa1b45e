//! `crmtop backup`: a consistent copy of a live database through SQLite's
//! online backup API, while agents keep working.
//!
//! The source is read inside one read transaction, so the copy is the
//! database at one moment (in WAL mode writers are not held up; without it,
//! a write by another agent between two steps would restart the copy, and
//! under steady work it might never finish). The copy goes to a private
//! temporary file beside the target, is checked, synced and then renamed
//! over the target: an interrupted backup never leaves a half-written file
//! where a good one was.

use crate::error::{Error, Result};
use crate::jobs::Ctl;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub source: String,
    pub target: String,
    pub pages: u64,
    pub bytes: u64,
    pub duration_ms: u64,
}

/// Pages copied per step (4 MB with 4 KB pages): progress and cancel points.
const STEP_PAGES: i32 = 1024;

pub fn backup(source: &Path, target: &Path, force: bool, ctl: Ctl) -> Result<Summary> {
    let started = Instant::now();
    crate::store::check_regular(source)?;
    if !source.exists() {
        return Err(Error::File {
            path: source.to_path_buf(),
            message: "no such database".into(),
        });
    }
    if target.exists() && !force {
        return Err(Error::File {
            path: target.to_path_buf(),
            message: "already exists; pass --force to replace it".into(),
        });
    }
    // Never the database or its side files, never through a symlink.
    let protected = crate::outfile::database_files(source);
    crate::outfile::check_target(target, &protected)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::File {
            path: target.to_path_buf(),
            message: format!("directory {} does not exist", dir.display()),
        });
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    // Removed unless the backup completes.
    let mut tmp = crate::outfile::TempDatabase::new(
        dir.join(format!(".{name}.partial-{}", std::process::id())),
    );
    crate::outfile::create_new_private(&tmp.path)?;

    let src = crate::store::open_raw(source, false)?;
    // One snapshot for the whole copy.
    src.execute_batch("BEGIN")?;
    let _: i64 = src.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    let mut dst = Connection::open(&tmp.path)?;
    dst.busy_timeout(Duration::from_secs(5))?;
    {
        let b = Backup::new(&src, &mut dst)?;
        loop {
            ctl.check()?;
            match b.step(STEP_PAGES)? {
                StepResult::Done => break,
                StepResult::More => {}
                // Busy or locked: the target is ours alone and the source is
                // only read, so this passes. Wait and retry.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
            let p = b.progress();
            let total = p.pagecount.max(1) as u64;
            ctl.report(
                "copying pages",
                total - (p.remaining.max(0) as u64).min(total),
                total,
            );
        }
    }
    src.execute_batch("COMMIT")?;
    drop(src);
    // A job running in the source is not running in the copy.
    if dst
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'jobs'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0)
        > 0
        && crate::store::user_version(&dst)? >= 3
    {
        crate::store::jobs::mark_interrupted_in_copy(&dst)?;
    }
    ctl.report("checking the copy", 0, 1);
    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(Error::Other(format!(
            "the copy failed its check ({check}); the source may be damaged: run crmtop doctor"
        )));
    }
    let pages: i64 = dst.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    drop(dst);
    ctl.check()?;
    std::fs::File::open(&tmp.path)
        .and_then(|f| f.sync_all())
        .map_err(Error::Io)?;
    crate::outfile::check_target(target, &protected)?;
    std::fs::rename(&tmp.path, target).map_err(|e| Error::File {
        path: target.to_path_buf(),
        message: format!("cannot move the finished copy into place: {e}"),
    })?;
    tmp.keep = true;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(Summary {
        source: source.display().to_string(),
        target: target.display().to_string(),
        pages: pages.max(0) as u64,
        bytes,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
