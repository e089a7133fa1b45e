//! The store's errors as the rest of crmtop sees them: a `DbError` that
//! says what a caller may act on (busy, read-only, interrupted) without
//! naming the engine behind it.

use crate::error::Error;
use rusqlite::ErrorCode as C;

/// A database error (the engine's own, kept for its message and source).
#[derive(Debug)]
pub struct DbError(pub(crate) rusqlite::Error);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl DbError {
    fn code(&self) -> Option<C> {
        match &self.0 {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
            _ => None,
        }
    }

    /// A write refused because the database is open read-only.
    pub fn is_read_only(&self) -> bool {
        self.code() == Some(C::ReadOnly)
    }

    /// Another writer holds the lock.
    pub fn is_busy(&self) -> bool {
        matches!(self.code(), Some(C::DatabaseBusy | C::DatabaseLocked))
    }

    /// A statement stopped by an interrupt (a newer request replaced it).
    pub fn is_interrupt(&self) -> bool {
        self.code() == Some(C::OperationInterrupted)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        let e = DbError(e);
        if e.code() == Some(C::DatabaseCorrupt) {
            return Error::Damaged(e.to_string());
        }
        if e.is_busy() {
            return Error::Busy(format!(
                "the database is locked by another crmtop for longer than we wait ({e}); try again in a moment"
            ));
        }
        Error::Db(e)
    }
}
