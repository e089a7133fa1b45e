//! Every file crmtop writes besides the database itself (reject files,
//! exports from the UI, backups, traces) is written through here:
//!
//! - it may not be the database or one of its `-wal`, `-shm` or `-journal`
//!   files, however it is spelled (compared by device and inode, so relative
//!   paths, `..`, hard links and a `--db` given through a symlink are all
//!   caught);
//! - a symlink at its final component is refused, not followed;
//! - it is created new, mode 0600, as a temporary file beside the target,
//!   synced and renamed over the target when complete: an existing file is
//!   replaced atomically, never reopened with its old mode or half-written.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

fn refuse(path: &Path, why: impl Into<String>) -> Error {
    Error::BadInput(format!(
        "will not write {}: {}",
        crate::term::safe(&path.display().to_string()),
        why.into()
    ))
}

/// The database file and the files SQLite keeps beside it.
pub fn database_files(db: &Path) -> Vec<PathBuf> {
    let mut v = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_os_string();
        name.push(suffix);
        v.push(PathBuf::from(name));
    }
    // Through a symlinked --db the side files live beside the real file.
    if let Ok(real) = db.canonicalize() {
        if real != db {
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut name = real.as_os_str().to_os_string();
                name.push(suffix);
                v.push(PathBuf::from(name));
            }
        }
    }
    v
}

/// Check that `target` may be written: not a symlink, not a directory or
/// device, and not one of `protected` (by device and inode; for files that
/// do not exist yet, by their resolved path).
pub fn check_target(target: &Path, protected: &[PathBuf]) -> Result<()> {
    if target.as_os_str().is_empty() {
        return Err(refuse(target, "the path is empty"));
    }
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(refuse(
                target,
                "it is a symbolic link (crmtop does not write through links; name the real file)",
            ))
        }
        Ok(m) if !m.is_file() => {
            return Err(refuse(target, "it is not a regular file"));
        }
        Ok(m) => {
            for p in protected {
                if let Ok(pm) = std::fs::metadata(p) {
                    if pm.dev() == m.dev() && pm.ino() == m.ino() {
                        return Err(refuse(
                            target,
                            "it is the database (or one of its -wal, -shm or -journal files)",
                        ));
                    }
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(refuse(target, e.to_string())),
    }
    // A side file of another name of the database (a hard link's -wal or
    // -journal): SQLite would use it for that name.
    let name = target.to_string_lossy();
    for suffix in ["-wal", "-shm", "-journal"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            if let Ok(sm) = std::fs::metadata(stem) {
                for p in protected {
                    if let Ok(pm) = std::fs::metadata(p) {
                        if pm.dev() == sm.dev() && pm.ino() == sm.ino() {
                            return Err(refuse(
                                target,
                                "it would be a -wal, -shm or -journal file of the database (under another name)",
                            ));
                        }
                    }
                }
            }
        }
    }
    // Not there yet: it must not resolve to where a protected file would be
    // (a -wal that SQLite has not created yet, a missing database).
    let resolved = resolve_new(target);
    for p in protected {
        if let Some(r) = &resolved {
            if resolve_new(p).as_ref() == Some(r) {
                return Err(refuse(target, what_it_is(p)));
            }
        }
    }
    Ok(())
}

/// Why a protected path may not be written.
fn what_it_is(p: &Path) -> String {
    let n = p.to_string_lossy();
    if n.ends_with("-wal") || n.ends_with("-shm") || n.ends_with("-journal") {
        "it is one of the database's -wal, -shm or -journal files".into()
    } else if n.ends_with(".db") || n.ends_with(".sqlite") || n.ends_with(".sqlite3") {
        "it is the database".into()
    } else {
        format!(
            "it is {} (the database or the input)",
            crate::term::safe(&n)
        )
    }
}

/// The absolute path a file would have: its directory resolved, its name kept.
fn resolve_new(p: &Path) -> Option<PathBuf> {
    let name = p.file_name()?;
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(dir.canonicalize().ok()?.join(name))
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A file being written: a private temporary file beside the target until
/// [`commit`](OutFile::commit) renames it into place. Dropped uncommitted,
/// it is removed and the target is untouched.
pub struct OutFile {
    target: PathBuf,
    tmp: PathBuf,
    protected: Vec<PathBuf>,
    file: Option<File>,
}

impl OutFile {
    /// Start writing `target`, which must not be any of `protected`.
    pub fn create(target: &Path, protected: &[PathBuf]) -> Result<OutFile> {
        check_target(target, protected)?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(refuse(
                target,
                format!("directory {} does not exist", dir.display()),
            ));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = dir.join(format!(
            ".{name}.tmp-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = create_new_private(&tmp)?;
        Ok(OutFile {
            target: target.to_path_buf(),
            tmp,
            protected: protected.to_vec(),
            file: Some(file),
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file's path (for writers that need a path, such as an
    /// SQLite backup).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Flush, sync, check the target again and rename into place.
    pub fn commit(mut self) -> Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush().map_err(|e| write_error(&self.target, e))?;
            f.sync_all().map_err(|e| write_error(&self.target, e))?;
        } else {
            File::open(&self.tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| write_error(&self.target, e))?;
        }
        check_target(&self.target, &self.protected)?;
        std::fs::rename(&self.tmp, &self.target).map_err(|e| write_error(&self.target, e))?;
        self.tmp = PathBuf::new();
        if let Some(dir) = self.target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("file already closed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// An SQLite file being written under a temporary name (a backup, a
/// salvage): removed with its -wal, -shm and -journal when dropped, unless
/// `keep` was set once it was moved into place.
pub struct TempDatabase {
    pub path: PathBuf,
    pub keep: bool,
}

impl TempDatabase {
    pub fn new(path: PathBuf) -> TempDatabase {
        let t = TempDatabase { path, keep: false };
        t.remove();
        t
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
        for suffix in ["-journal", "-wal", "-shm"] {
            let mut name = self.path.as_os_str().to_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        if !self.keep {
            self.remove();
        }
    }
}

fn write_error(path: &Path, e: std::io::Error) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    }
}

/// Create a file that must not exist yet, mode 0600, not following a
/// symlink.
pub fn create_new_private(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| write_error(path, e))
}

/// A path typed in a command, with a leading `~/` (or a lone `~`) taken as
/// the home directory, as a shell would (nothing else is expanded).
pub fn expand_home(path: &str) -> std::path::PathBuf {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    match (path.strip_prefix('~'), home) {
        (Some(""), Some(h)) => std::path::PathBuf::from(h),
        (Some(rest), Some(h)) if rest.starts_with('/') => {
            std::path::PathBuf::from(h).join(rest.trim_start_matches('/'))
        }
        _ => std::path::PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_database_by_any_spelling_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("crm.db");
        std::fs::write(&db, b"db").unwrap();
        let wal = dir.path().join("crm.db-wal");
        std::fs::write(&wal, b"wal").unwrap();
        let protected = database_files(&db);
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&db, &link).unwrap();
        let hard = dir.path().join("hard.db");
        std::fs::hard_link(&db, &hard).unwrap();
        let hard_wal = dir.path().join("hard.db-journal");
        for bad in [
            hard_wal.clone(),
            db.clone(),
            sub.join("../crm.db"),
            wal.clone(),
            link.clone(),
            hard.clone(),
            dir.path().join("crm.db-shm"),
            sub.clone(),
        ] {
            assert!(OutFile::create(&bad, &protected).is_err(), "{bad:?}");
        }
        assert_eq!(std::fs::read(&db).unwrap(), b"db");
        // A symlinked --db protects the real file.
        let dblink = dir.path().join("dblink.db");
        std::os::unix::fs::symlink(&db, &dblink).unwrap();
        assert!(OutFile::create(&db, &database_files(&dblink)).is_err());
    }

    #[test]
    fn replaces_atomically_with_a_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        std::fs::write(&out, b"old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut f = OutFile::create(&out, &[]).unwrap();
        f.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Dropped uncommitted: nothing changes, no temporary file is left.
        let mut f = OutFile::create(&out, &[]).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_leading_tilde_is_the_home_directory() {
        let home = std::env::var("HOME").unwrap_or_default();
        if home.is_empty() {
            return;
        }
        let h = std::path::PathBuf::from(&home);
        assert_eq!(expand_home("~/x.csv"), h.join("x.csv"));
        assert_eq!(expand_home("~"), h);
        // Only a leading "~/": another user's "~bob/", and a "~" inside, stay.
        assert_eq!(expand_home("~bob/x"), std::path::PathBuf::from("~bob/x"));
        assert_eq!(expand_home("a/~/x"), std::path::PathBuf::from("a/~/x"));
    }
}
