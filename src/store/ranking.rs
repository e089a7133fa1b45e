//! A ranking: a table `(value, cid)` with that primary key, WITHOUT ROWID,
//! that holds every customer once in the order a screen sorts by, a
//! customer without a value under the ranking's "missing" value (before
//! every value). The churn scores and the CLV fits keep theirs beside a
//! table of values by key (`store::scores`, `store::clv_values`).

use crate::error::Result;
use rusqlite::{Connection, ToSql};

/// One ranking: its table, its value column, the table of values by key it
/// ranks (with the same column) and the missing value.
pub struct Ranking<'a, V: ToSql> {
    pub table: &'a str,
    pub column: &'a str,
    pub values: &'a str,
    pub missing: V,
}

impl<V: ToSql> Ranking<'_, V> {
    /// Empty the ranking and fill it with every customer, in its order.
    pub fn fill(&self, conn: &Connection) -> Result<()> {
        let Ranking {
            table: r,
            column: col,
            values: v,
            ..
        } = self;
        // sql-format-ok: table and column names of our own schema.
        conn.execute_batch(&format!("DELETE FROM {r};"))?;
        // sql-format-ok: as above.
        conn.execute(
            &format!(
                "INSERT INTO {r}({col}, cid)
                 SELECT coalesce(x.{col}, ?1), c.cid FROM customers c LEFT JOIN {v} x ON x.cid = c.cid
                  ORDER BY 1, 2"
            ),
            [&self.missing],
        )?;
        Ok(())
    }

    /// Rank the customers who came after the values' last key (they come
    /// with ascending keys: a range, one seek) with the missing value;
    /// those ranked already stay.
    pub fn add_newcomers(&self, conn: &Connection) -> Result<()> {
        let Ranking {
            table: r,
            column: col,
            values: v,
            ..
        } = self;
        // sql-format-ok: table and column names of our own schema.
        conn.execute(
            &format!(
                "INSERT OR IGNORE INTO {r}({col}, cid)
                 SELECT ?1, c.cid FROM customers c
                  WHERE c.cid > coalesce((SELECT max(cid) FROM {v}), 0)
                  ORDER BY c.cid"
            ),
            [&self.missing],
        )?;
        Ok(())
    }
}
