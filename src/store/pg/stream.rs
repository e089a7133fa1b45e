//! Bulk reads on a server (training's history, a CLV fit's orders): a
//! query's rows streamed on a connection of their own, in one run of the
//! client's event loop.
//!
//! The synchronous client enters its runtime once per row it hands over
//! (`RowIter::next` is a `block_on`): for the 17 million rows of a
//! 1,000,000-customer retrain that bookkeeping cost more CPU than the rows
//! themselves, on the cores the server needs to send them. Here the whole
//! result is read inside one `block_on`, and each row's cells are read
//! where they lie (texts borrowed, nothing allocated per row).

use super::values::{texty, Param};
use crate::error::{Error, Result};
use futures_util::TryStreamExt;
use postgres::types::{ToSql, Type};
use rusqlite::types::Value;
use tokio_postgres::{Config, NoTls, Row};

/// One row's cells, read by their column's type.
pub struct StreamedRow<'a> {
    row: &'a Row,
    shown: &'a str,
}

impl StreamedRow<'_> {
    fn wrong(&self, i: usize, what: &str) -> Error {
        let name = self.row.columns().get(i).map_or("?", |c| c.name());
        Error::Other(format!(
            "PostgreSQL at {}: column {name} is not {what}",
            self.shown
        ))
    }

    fn get<'b, T: postgres::types::FromSql<'b>>(&'b self, i: usize, what: &str) -> Result<T> {
        self.row.try_get(i).map_err(|_| self.wrong(i, what))
    }

    fn ty(&self, i: usize) -> Result<&Type> {
        self.row
            .columns()
            .get(i)
            .map(|c| c.type_())
            .ok_or_else(|| self.wrong(i, "there"))
    }

    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        const WHAT: &str = "an integer";
        Ok(match *self.ty(i)? {
            Type::INT8 => self.get::<Option<i64>>(i, WHAT)?,
            Type::INT4 => self.get::<Option<i32>>(i, WHAT)?.map(i64::from),
            Type::INT2 => self.get::<Option<i16>>(i, WHAT)?.map(i64::from),
            Type::BOOL => self.get::<Option<bool>>(i, WHAT)?.map(i64::from),
            _ => return Err(self.wrong(i, WHAT)),
        })
    }

    pub fn i64(&self, i: usize) -> Result<i64> {
        self.opt_i64(i)?.ok_or_else(|| self.wrong(i, "an integer"))
    }

    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        const WHAT: &str = "a number";
        Ok(match *self.ty(i)? {
            Type::FLOAT8 => self.get::<Option<f64>>(i, WHAT)?,
            Type::FLOAT4 => self.get::<Option<f32>>(i, WHAT)?.map(f64::from),
            Type::INT8 | Type::INT4 | Type::INT2 => self.opt_i64(i)?.map(|v| v as f64),
            _ => return Err(self.wrong(i, WHAT)),
        })
    }

    pub fn f64(&self, i: usize) -> Result<f64> {
        self.opt_f64(i)?.ok_or_else(|| self.wrong(i, "a number"))
    }

    /// A text cell, borrowed; `None` for a NULL or a column of another type.
    pub fn text(&self, i: usize) -> Option<&str> {
        match self.ty(i) {
            Ok(ty) if texty(ty) => self.row.try_get::<_, Option<&str>>(i).ok().flatten(),
            _ => None,
        }
    }
}

impl crate::store::sql::Cells for StreamedRow<'_> {
    fn opt_i64(&self, i: usize) -> Result<Option<i64>> {
        StreamedRow::opt_i64(self, i)
    }
    fn opt_f64(&self, i: usize) -> Result<Option<f64>> {
        StreamedRow::opt_f64(self, i)
    }
    fn text_at(&self, i: usize) -> Option<&str> {
        self.text(i)
    }
}

impl super::Pg {
    /// Every row of `sql` through `each`, streamed on a read-only
    /// connection of its own (`stream::each_row`): for reads of millions of
    /// rows, beside this connection's (outside its transaction).
    pub fn stream(
        &self,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&StreamedRow) -> Result<()>,
    ) -> Result<()> {
        each_row(&self.stream_config, &self.shown, sql, params, each)
    }

    /// `stream` on the server at `url`, without a connection of this kind.
    pub fn stream_url(
        url: &str,
        sql: &str,
        params: &[Value],
        each: &mut dyn FnMut(&StreamedRow) -> Result<()>,
    ) -> Result<()> {
        let config = super::config_of(url)?;
        let where_ = super::shown(&postgres::Config::from(config.clone()));
        each_row(&config, &where_, sql, params, each)
    }
}

/// Every row of `sql` (`?N` parameters) through `each`, on a new
/// read-only connection made with `config`; `shown` names the server in
/// messages.
pub fn each_row(
    config: &Config,
    shown: &str,
    sql: &str,
    params: &[Value],
    each: &mut dyn FnMut(&StreamedRow) -> Result<()>,
) -> Result<()> {
    let fail = |e: tokio_postgres::Error| {
        Error::Other(format!("PostgreSQL at {shown}: {}", super::message(&e)))
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the PostgreSQL client: {e}")))?;
    rt.block_on(async {
        let (client, conn) = config.connect(NoTls).await.map_err(|e| {
            Error::Other(format!(
                "cannot connect to the PostgreSQL server at {shown}: {}",
                super::message(&e)
            ))
        })?;
        let driver = tokio::spawn(conn);
        client
            .batch_execute("SET default_transaction_read_only = on")
            .await
            .map_err(fail)?;
        let st = client
            .prepare(&crate::store::sql::numbered(sql))
            .await
            .map_err(fail)?;
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let rows = client
            .query_raw(&st, ps.iter().map(|p| p as &dyn ToSql))
            .await
            .map_err(fail)?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.try_next().await.map_err(fail)? {
            each(&StreamedRow { row: &row, shown })?;
        }
        drop(client);
        let _ = driver.await;
        Ok(())
    })
}
