//! New customers written many per statement: a customers file's with their
//! attributes, where a statement per customer (and a second per customer's
//! attributes) cost more than the customers themselves (1M customers with
//! 20 attributes: the writer's 3.7 s, where SQLite takes 0.9 s to insert
//! the rows); and those an orders or events file introduces.

use super::{RowWriter, MANY};
use crate::error::Result;
use crate::ingest::parse::CustomerRow;
use crate::store::attributes;
use rusqlite::types::Value;
use rusqlite::Statement;
use std::sync::Arc;

/// The insert of `rows` new customers, bound as `insert_values` gives each
/// (the signup day twice: as given, and as `since`). A customer whose id
/// exists is left for the row-by-row path.
pub(super) fn insert_many_sql(rows: usize) -> String {
    let one = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, unixepoch(?))";
    // sql-format-ok: placeholders only, from constants.
    format!(
        "INSERT INTO customers(id, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned, cancelled_at, since)
         VALUES {} ON CONFLICT(id) DO NOTHING",
        vec![one; rows].join(", ")
    )
}

/// New customers' attribute values (the key, then a value per column of
/// the file, NULL for an empty cell), written many rows per statement.
#[derive(Default)]
pub(super) struct AttributeBatch<'c> {
    many: Option<Statement<'c>>,
    /// Rows per statement: `MANY`, or fewer for a file so wide that its
    /// values would pass SQLite's limit on a statement's parameters.
    per_statement: usize,
    values: Vec<Value>,
    rows: usize,
}

/// Parameters per statement, within SQLite's limit (32,766).
const MAX_PARAMETERS: usize = 32_000;

/// Customers the resolver gave a new key that no row written has named
/// yet, by key: the keys are dense from the first new one, so a slot each
/// (a map cost the writer 8% of an orders load).
#[derive(Default)]
pub(super) struct Unborn {
    first: i64,
    ids: Vec<Option<String>>,
}

impl Unborn {
    /// For keys from `first` (one past the largest before the load).
    pub(super) fn from(first: i64) -> Unborn {
        Unborn {
            first,
            ids: Vec::new(),
        }
    }

    fn slot(&self, cid: i64) -> Option<usize> {
        usize::try_from(cid - self.first).ok()
    }

    pub(super) fn insert(&mut self, cid: i64, id: String) {
        if let Some(i) = self.slot(cid) {
            if i >= self.ids.len() {
                self.ids.resize(i + 1, None);
            }
            self.ids[i] = Some(id);
        }
    }

    pub(super) fn contains(&self, cid: i64) -> bool {
        self.slot(cid)
            .and_then(|i| self.ids.get(i))
            .is_some_and(Option::is_some)
    }

    pub(super) fn remove(&mut self, cid: i64) -> Option<String> {
        self.slot(cid)
            .and_then(|i| self.ids.get_mut(i))
            .and_then(Option::take)
    }
}

/// Customers an orders or events file introduces (key and id), created
/// `MANY` per statement.
#[derive(Default)]
pub(super) struct NewCustomers<'c> {
    many: Option<Statement<'c>>,
    values: Vec<Value>,
}

impl<'c> RowWriter<'c> {
    /// Create customer `cid` (the resolver chose the key) with the next
    /// `MANY`: nothing reads the customers before `finish`.
    pub(super) fn queue_customer(&mut self, cid: i64, id: &str) -> Result<()> {
        let q = &mut self.new_customers;
        q.values.push(Value::Integer(cid));
        q.values.push(Value::Text(id.to_string()));
        self.customers_created += 1;
        if q.values.len() == 2 * MANY {
            if q.many.is_none() {
                // OR ROLLBACK: no statement journal (see the orders' insert);
                // the resolver gave each a new key and an id not in the table.
                q.many = Some(self.conn.prepare(&crate::store::multi_row_insert_sql(
                    "INSERT OR ROLLBACK INTO customers(cid, id)",
                    2,
                    MANY,
                ))?);
            }
            if let Some(many) = q.many.as_mut() {
                many.execute(rusqlite::params_from_iter(q.values.iter()))?;
            }
            q.values.clear();
        }
        Ok(())
    }

    /// Create the customers still queued.
    pub(super) fn flush_customers(&mut self) -> Result<()> {
        for pair in self.new_customers.values.chunks(2) {
            self.ins_cid
                .execute(rusqlite::params_from_iter(pair.iter()))?;
        }
        self.new_customers.values.clear();
        Ok(())
    }

    /// The file's attribute columns, found or added once per file (every
    /// row shares the same list).
    pub(super) fn attribute_columns(&mut self, names: &Arc<Vec<String>>) -> Result<()> {
        let same = self
            .attr_cols
            .as_ref()
            .is_some_and(|(known, _)| Arc::ptr_eq(known, names));
        if !same {
            self.flush_attributes()?;
            let cols = attributes::ensure(self.conn, names)?;
            let per_statement = (MAX_PARAMETERS / (cols.len() + 1)).clamp(1, MANY);
            self.attr_batch.many = Some(
                self.conn
                    .prepare(&attributes::insert_many_sql(&cols, per_statement))?,
            );
            self.attr_batch.per_statement = per_statement;
            self.attr_cols = Some((Arc::clone(names), cols));
        }
        Ok(())
    }

    /// Queue the attributes of customer `cid`, just inserted.
    pub(super) fn new_customer_attributes(&mut self, c: &CustomerRow, cid: i64) -> Result<()> {
        if c.attributes.is_empty() {
            return Ok(());
        }
        self.attribute_columns(&c.attr_names)?;
        let width = self.attr_cols.as_ref().map_or(0, |(_, cols)| cols.len());
        let start = self.attr_batch.values.len();
        self.attr_batch.values.push(Value::Integer(cid));
        self.attr_batch
            .values
            .resize(start + 1 + width, Value::Null);
        for (k, num, txt) in &c.attributes {
            if let Some(v) = self.attr_batch.values.get_mut(start + 1 + *k as usize) {
                *v = attributes::value(*num, txt.as_deref());
            }
        }
        self.attr_batch.rows += 1;
        if self.attr_batch.rows == self.attr_batch.per_statement {
            if let Some(many) = self.attr_batch.many.as_mut() {
                many.execute(rusqlite::params_from_iter(self.attr_batch.values.iter()))?;
            }
            self.attr_batch.values.clear();
            self.attr_batch.rows = 0;
        }
        Ok(())
    }

    /// Write the attributes still queued (fewer than `MANY` rows), one row
    /// per statement.
    pub(super) fn flush_attributes(&mut self) -> Result<()> {
        if self.attr_batch.rows == 0 {
            return Ok(());
        }
        let Some((_, cols)) = self.attr_cols.as_ref() else {
            return Ok(());
        };
        let mut one = self.conn.prepare(&attributes::insert_many_sql(cols, 1))?;
        for row in self.attr_batch.values.chunks(cols.len() + 1) {
            one.execute(rusqlite::params_from_iter(row.iter()))?;
        }
        self.attr_batch.values.clear();
        self.attr_batch.rows = 0;
        Ok(())
    }
}
