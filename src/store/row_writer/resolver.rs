//! Customer ids to keys, for the reader thread of an import.

use crate::error::Result;
use crate::ingest::parse::Parsed;
use rusqlite::{Connection, OptionalExtension};
use rustc_hash::FxHashMap as HashMap;

/// Maps customer ids to keys on the reader thread, with its own read-only
/// connection. The import holds the database's write lock, so nobody else can
/// create a customer meanwhile: unknown ids get the next keys in order, and
/// the writer creates those customers as it meets them.
pub(crate) struct Resolver {
    /// None when the database had no customers: every id is new, and there
    /// is nothing to look up (a first load, written without the WAL, where
    /// a second connection would only wait for the writer's lock).
    conn: Option<Connection>,
    cids: HashMap<String, i64>,
    next_cid: i64,
}

impl Resolver {
    /// `next_cid`: one past the largest key, read inside the write transaction.
    pub fn new(path: &std::path::Path, next_cid: i64, no_customers: bool) -> Result<Self> {
        let conn = if no_customers {
            None
        } else {
            let conn = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Some(conn)
        };
        Ok(Resolver {
            conn,
            cids: HashMap::default(),
            next_cid,
        })
    }

    pub fn resolve(&mut self, row: &mut Parsed) -> Result<()> {
        let Some((id, cid, new)) = row.customer_ref() else {
            return Ok(());
        };
        if let Some(&c) = self.cids.get(id) {
            *cid = c;
            return Ok(());
        }
        let found: Option<i64> = match &self.conn {
            Some(conn) => conn
                .prepare_cached("SELECT cid FROM customers WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?,
            None => None,
        };
        let c = match found {
            Some(c) => c,
            None => {
                *new = true;
                self.next_cid += 1;
                self.next_cid - 1
            }
        };
        self.cids.insert(id.to_string(), c);
        *cid = c;
        Ok(())
    }
}
