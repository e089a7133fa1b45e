//! Errors of the domain, each mapped to a documented process exit code.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes (documented in the README).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Unexpected failure (I/O, database).
    pub const FAILURE: i32 = 1;
    /// Bad input or a refused request: unreadable file, invalid arguments, a
    /// refused workflow transition, not enough data to train.
    pub const BAD_INPUT: i32 = 2;
    /// An import finished but rejected some rows (see the reject file).
    pub const ROWS_REJECTED: i32 = 3;
    /// Another agent holds the item or changed it first.
    pub const CONFLICT: i32 = 4;
    /// The feedback queue has nothing left to take.
    pub const QUEUE_EMPTY: i32 = 5;
    /// `crmtop doctor` found problems it did not fix.
    pub const PROBLEMS: i32 = 6;
    /// The operation was cancelled (Ctrl-C, SIGTERM, SIGHUP); nothing was written.
    pub const CANCELLED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadInput(String),

    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },

    #[error("{0}")]
    Conflict(String),

    #[error("the queue has nothing left to take")]
    QueueEmpty,

    #[error("cancelled; the database is unchanged")]
    Cancelled,

    #[error("read-only mode: {0} is disabled (started with --read-only)")]
    ReadOnly(String),

    #[error("{0}")]
    Schema(String),

    #[error("database error: {0}")]
    Db(crate::store::DbError),

    /// The file is damaged (SQLite found a malformed page).
    #[error("the database file is damaged ({0}); run `crmtop doctor` to see what can still be read and how to salvage it")]
    Damaged(String),

    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The database stayed locked by another process for longer than we
    /// wait (exit 1: try again, nothing is wrong with the input).
    #[error("{0}")]
    Busy(String),

    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn bad(msg: impl Into<String>) -> Self {
        Error::BadInput(msg.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput(_) | Error::File { .. } | Error::ReadOnly(_) | Error::Schema(_) => {
                exit::BAD_INPUT
            }
            Error::Conflict(_) => exit::CONFLICT,
            Error::QueueEmpty => exit::QUEUE_EMPTY,
            Error::Cancelled => exit::CANCELLED,
            Error::Db(e) if e.is_read_only() => exit::BAD_INPUT,
            Error::Db(_) | Error::Io(_) | Error::Other(_) | Error::Busy(_) | Error::Damaged(_) => {
                exit::FAILURE
            }
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            Error::Io(e.into())
        } else {
            Error::Other(format!("JSON error: {e}"))
        }
    }
}
