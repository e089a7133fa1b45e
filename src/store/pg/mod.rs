//! crmtop on PostgreSQL: a connection's transactions and statements, and
//! its errors as a user reads them (opening one: `connect`; its
//! migrations: `schema`), and the statements only PostgreSQL runs (the
//! queue's claims with `FOR UPDATE SKIP LOCKED`, `COPY`).
//!
//! The client is the `postgres` crate, the synchronous face of
//! `tokio-postgres`: crmtop's commands and worker threads are plain
//! threads, and the crate is the one the Rust PostgreSQL project keeps.

pub mod attributes;
pub mod clusters;
pub mod clv;
mod connect;
pub mod copy;
pub mod dashboard;
pub mod doctor;
pub(crate) mod import;
pub mod jobs;
pub mod list;
mod listen;
mod memo;
pub mod models;
pub mod queue;
mod schema;
pub mod search;
pub mod stream;
mod tables;
mod values;

use connect::{config_of, message, shown};
pub use connect::{is_url, without_password};
pub use listen::listen;
pub use schema::latest_version;
pub use tables::data_version;
pub(crate) use tables::{indexes_of, replace_rows};
use values::{cell, Param};

use super::sql::{numbered, Engine, Row, Sql, Writer};
use crate::error::{Error, Result};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Statement};
use rusqlite::types::Value;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A connection to a crmtop database on a PostgreSQL server.
pub struct Pg {
    /// None while lent to a bulk copy's thread (`lend`, `give_back`).
    client: RefCell<Option<Client>>,
    config: postgres::Config,
    /// The same settings, for bulk reads (`stream`).
    stream_config: tokio_postgres::Config,
    stmts: RefCell<HashMap<String, Statement>>,
    in_tx: Cell<bool>,
    /// The last COMMIT's outcome is unknown (the connection dropped).
    commit_unknown: Cell<bool>,
    /// Where, for messages: `user@host/dbname`, never the password.
    pub shown: String,
    pub read_only: bool,
}

impl Pg {
    /// Run statements with no parameters and no result (DDL, BEGIN...).
    pub fn batch(&self, sql: &str) -> Result<()> {
        self.client().batch_execute(sql).map_err(|e| self.error(e))
    }

    /// Commit after `r` succeeded, else roll back and return its error.
    fn finish<T>(&self, r: Result<T>) -> Result<T> {
        self.in_tx.set(false);
        match r {
            Ok(v) => match self.client().batch_execute("COMMIT") {
                Ok(()) => Ok(v),
                // The server may have committed before the connection went:
                // doing the work again could do it twice.
                Err(e) if e.is_closed() => {
                    self.commit_unknown.set(true);
                    Err(Error::Other(format!(
                        "the connection to the PostgreSQL server at {} dropped while the change was being committed: it may or may not have been made; look (crmtop feedback show ID) before doing it again",
                        self.shown
                    )))
                }
                Err(e) => Err(self.error(e)),
            },
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Open a transaction (`BEGIN ...`, ended by `finish`): inside it, a
    /// connection the server drops is not silently reopened (the work
    /// done so far is gone with it).
    pub(crate) fn begin(&self, sql: &str) -> Result<()> {
        self.with_client(|pg| pg.client().batch_execute(sql))?;
        self.in_tx.set(true);
        Ok(())
    }

    /// The statement for `sql` (prepared once per connection).
    fn statement(&self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(st) = self.stmts.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = self.client().prepare(&numbered(sql))?;
        self.stmts.borrow_mut().insert(sql.to_string(), st.clone());
        Ok(st)
    }

    /// The rows of a query, given at most `budget` to run; `None` when
    /// the server stopped it at that (nothing is changed: a read).
    pub fn rows_within(
        &self,
        sql: &str,
        params: &[Value],
        budget: std::time::Duration,
        settings: &str,
    ) -> Result<Option<Vec<Row>>> {
        self.begin("BEGIN")?;
        let r = (|| {
            // sql-format-ok: a number of milliseconds and our own settings.
            self.batch(&format!(
                "SET LOCAL statement_timeout = {}; {settings}",
                budget.as_millis().max(1)
            ))?;
            let ps: Vec<Param> = params.iter().map(Param).collect();
            let refs: Vec<&(dyn ToSql + Sync)> =
                ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let st = self.statement(sql).map_err(|e| self.error(e))?;
            let found = self.client().query(&st, &refs);
            match found {
                Ok(rows) => self.rows_of(&rows).map(Some),
                Err(e) if e.code() == Some(&SqlState::QUERY_CANCELED) => Ok(None),
                Err(e) => Err(self.error(e)),
            }
        })();
        // A cancelled statement leaves the transaction aborted: ended
        // either way (a read changes nothing).
        let _ = self.batch("ROLLBACK");
        self.in_tx.set(false);
        r
    }

    /// A result's rows as crmtop reads them.
    pub(crate) fn rows_of(&self, rows: &[postgres::Row]) -> Result<Vec<Row>> {
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| cell(r, i))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map(Row)
                    .map_err(|m| Error::Other(format!("PostgreSQL at {}: {m}", self.shown)))
            })
            .collect()
    }

    /// Run `f` on the client; a connection the server dropped is opened
    /// again and `f` run once more, unless a transaction was open (its
    /// work is gone: the caller's write loop starts it over).
    fn with_client<T>(
        &self,
        f: impl Fn(&Pg) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        match f(self) {
            Err(e) if e.is_closed() && !self.in_tx.get() => {
                self.reconnect()?;
                f(self).map_err(|e| self.error(e))
            }
            r => r.map_err(|e| self.error(e)),
        }
    }

    /// The connection. It is only ever lent (`lend`) to a thread that
    /// has it alone while its owner uses none of it, and given back before
    /// the owner goes on: asked for while lent is a bug in crmtop.
    pub(crate) fn client(&self) -> std::cell::RefMut<'_, Client> {
        std::cell::RefMut::map(self.client.borrow_mut(), |c| {
            c.as_mut()
                .expect("the PostgreSQL connection was used while lent to a bulk copy")
        })
    }

    /// The connection, lent to a thread of its own (a bulk copy); None
    /// when it is lent already.
    pub(crate) fn lend(&self) -> Option<Client> {
        self.client.borrow_mut().take()
    }

    /// The lent connection back.
    pub(crate) fn give_back(&self, client: Client) {
        *self.client.borrow_mut() = Some(client);
    }

    /// A driver error as a user reads it.
    pub(crate) fn error(&self, e: postgres::Error) -> Error {
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::LOCK_NOT_AVAILABLE
            {
                return Error::Busy(format!(
                    "another agent's change got in the way on {} ({}); try again",
                    self.shown,
                    db.message()
                ));
            }
            if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
                return Error::ReadOnly("writing".into());
            }
        }
        if e.is_closed() {
            return Error::Other(format!(
                "lost the connection to the PostgreSQL server at {} (it may have restarted); nothing was half-written: run the command again",
                self.shown
            ));
        }
        Error::Other(format!("PostgreSQL at {}: {}", self.shown, message(&e)))
    }
}

impl Sql for Pg {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn postgres(&self) -> Option<&Pg> {
        Some(self)
    }

    fn exec(&self, sql: &str, params: &[Value]) -> Result<usize> {
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let n = self.with_client(|pg| {
            let st = pg.statement(sql)?;
            pg.client().execute(&st, &refs)
        })?;
        Ok(n as usize)
    }

    /// Streams the rows (a portal, not the whole result in memory). `f`
    /// must not use this connection: it is busy with the result.
    fn each(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        let st = self.with_client(|pg| pg.statement(sql))?;
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let mut client = self.client();
        let mut it = client
            .query_raw(&st, ps.iter().map(|p| p as &dyn ToSql))
            .map_err(|e| self.error(e))?;
        let mut row = Row(Vec::new());
        while let Some(r) = it.next().map_err(|e| self.error(e))? {
            row.0.clear();
            for i in 0..r.len() {
                row.0.push(
                    cell(&r, i)
                        .map_err(|m| Error::Other(format!("PostgreSQL at {}: {m}", self.shown)))?,
                );
            }
            f(&row)?;
        }
        Ok(())
    }

    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.with_client(|pg| {
            let st = pg.statement(sql)?;
            pg.client().query(&st, &refs)
        })?;
        self.rows_of(&rows)
    }
}

/// Rolls back the open transaction when dropped armed (on a panic).
struct RollbackOnUnwind<'a>(&'a Pg, bool);

impl Drop for RollbackOnUnwind<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.in_tx.set(false);
            if let Ok(mut c) = self.0.client.try_borrow_mut() {
                if let Some(c) = c.as_mut() {
                    let _ = c.batch_execute("ROLLBACK");
                }
            }
        }
    }
}

impl Writer for Pg {
    /// A READ COMMITTED transaction: the queue's rows are locked as they
    /// are read (`FOR UPDATE`), and every change carries the version its
    /// author saw. A serialization failure or deadlock is retried; so is a
    /// connection the server dropped (nothing was committed).
    fn write<T>(&mut self, f: &mut dyn FnMut(&dyn Sql) -> Result<T>) -> Result<T> {
        let mut attempt: u64 = 0;
        loop {
            attempt += 1;
            self.commit_unknown.set(false);
            let r = (|| {
                let this: &Pg = self;
                this.begin("BEGIN")?;
                // A panic inside `f` rolls back (the worker that catches it
                // keeps the connection: the next write must not commit
                // half of this one, nor find its rows locked).
                let mut guard = RollbackOnUnwind(this, true);
                let r = f(this);
                guard.1 = false;
                drop(guard);
                this.finish(r)
            })();
            self.in_tx.set(false);
            if self.commit_unknown.get() {
                return r;
            }
            match r {
                Err(Error::Busy(_)) if attempt < 20 => {
                    std::thread::sleep(std::time::Duration::from_millis(
                        attempt * 7 + u64::from(std::process::id() % 11),
                    ));
                }
                Err(_)
                    if attempt < 3
                        && self.client.borrow().as_ref().is_some_and(Client::is_closed) =>
                {
                    self.reconnect()?;
                }
                r => return r,
            }
        }
    }
}
