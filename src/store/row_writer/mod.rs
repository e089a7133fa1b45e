//! Upsert of validated rows: insert new ones, update changed ones, count
//! unchanged ones; keep customer totals, monthly revenue and the daily sums
//! in step. This file holds the writer and what every kind shares (the
//! verdicts, the indexes a load sets aside, the finish); `batch.rs` the
//! inserts many rows per statement, `customers.rs` new customers' (and
//! their attributes'), `kinds.rs` each kind's own insert-or-update.

use crate::error::{Error, Result};
use crate::ingest::fields::Field;
use crate::ingest::parse::{CustomerRow, EventRow, FeedbackRow, OrderRow, Parsed, Reject};
use crate::ingest::Kind;
use crate::store::activity;
use batch::MANY;

mod batch;
mod customers;
mod kinds;
mod resolver;
use crate::store::customers::AggregateDelta;
use crate::timeutil;
use chrono::Datelike;
pub(crate) use resolver::Resolver;
use rusqlite::{params, Connection, OptionalExtension, Statement};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// What happened to a valid row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Inserted,
    Updated,
    Unchanged,
}

/// Why a valid row could still not be written.
pub(crate) enum WriteError {
    Reject(Reject),
    Fatal(Error),
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError::Fatal(e.into())
    }
}

impl From<Error> for WriteError {
    fn from(e: Error) -> Self {
        WriteError::Fatal(e)
    }
}

pub(crate) type W<T> = std::result::Result<T, WriteError>;

/// What the import's batch loop needs of a writer, on either engine: each
/// valid row given under its slot, its verdict at once or at the flush
/// that ends the batch.
pub(crate) trait Writes {
    fn write(&mut self, slot: usize, row: Parsed) -> W<Option<Verdict>>;
    fn flush(&mut self) -> Result<Vec<SlotVerdict>>;
}

impl Writes for RowWriter<'_> {
    fn write(&mut self, slot: usize, row: Parsed) -> W<Option<Verdict>> {
        RowWriter::write(self, slot, row)
    }

    fn flush(&mut self) -> Result<Vec<SlotVerdict>> {
        RowWriter::flush(self)
    }
}

/// Whether a load of `kind` with `fields` can move the keys of customers
/// index `index`. One on a column the file does not write gets only its new
/// customers' empty keys, each after the last of its kind: cheaper kept up
/// to date than dropped and built again, when they are written many per
/// statement (1M customers: the seven such indexes of an id-and-attributes
/// file took 1.1 s live against 2.0 s built after). A customers file moves
/// the indexes of the columns it has (never the totals'); an orders file the
/// totals' (the tenure starts at the first order without a signup date);
/// an events file none. A feedback file creates its customers one by one:
/// it builds them all again, as an index not named here.
fn moves_customers_index(kind: Kind, index: &str, fields: &[Field]) -> bool {
    // The field of a customers file that writes the index's column; None:
    // one of the order totals.
    let written_by = match index {
        "customers_name" => Some(Field::Name),
        "customers_segment" => Some(Field::Segment),
        "customers_plan" => Some(Field::Plan),
        "customers_since" => Some(Field::SignupDate),
        "customers_last_order" | "customers_n_orders" | "customers_revenue" => None,
        _ => return true,
    };
    match kind {
        Kind::Customers => written_by.is_some_and(|f| fields.contains(&f)),
        Kind::Orders => written_by.is_none_or(|f| f == Field::SignupDate),
        Kind::Events => false,
        Kind::Feedback => true,
    }
}

pub(crate) struct RowWriter<'c> {
    conn: &'c Connection,
    /// Rows with a larger key were inserted by this import.
    max_before: i64,
    /// Existing rows this import has already matched by id: a second row of
    /// the file with the same id is a duplicate, whatever the database held.
    matched: HashSet<i64>,
    ins_cid: Statement<'c>,
    ins: Statement<'c>,
    sel: Statement<'c>,
    upd: Statement<'c>,
    /// The file's attribute columns (names shared by its rows, and their
    /// columns, in the file's order).
    attr_cols: Option<(
        std::sync::Arc<Vec<String>>,
        Vec<crate::store::attributes::Column>,
    )>,
    /// Order deltas per customer, indexed by cid (cids are dense integers).
    deltas: Vec<AggregateDelta>,
    /// Customers whose orders changed: their totals are recomputed.
    recompute: HashSet<i64>,
    /// The raw table whose daily sums this load brings up to date at its
    /// end, and the customers whose existing rows it changed (before and
    /// after): their days are recomputed.
    bulk: Option<crate::store::activity::Source>,
    /// The packs' stale-mark triggers and the loaded table's daily-sum
    /// triggers, set aside while the load runs.
    paused_marks: Vec<String>,
    paused_sums: Vec<String>,
    changed: HashSet<i64>,
    /// Revenue and order-count deltas per month (year * 100 + month).
    months: HashMap<i32, (f64, i64)>,
    touched_fids: Vec<i64>,
    /// Indexes dropped for a bulk load, built again in `finish`.
    deferred: Vec<(String, String)>,
    pub customers_created: u64,
    /// Rows (orders, events, customers) waiting to be inserted `MANY` per
    /// statement, with the caller's slot for each (see `flush`).
    pending: Vec<(usize, Parsed)>,
    /// The `MANY`-row insert of the file's kind; the largest rowid now, and
    /// the query for the keys (and rowids) of the rows inserted after one.
    many: Option<Statement<'c>>,
    inserted_after: Option<Statement<'c>>,
    max_rowid: i64,
    /// New customers' attributes waiting to be written `MANY` per statement.
    attr_batch: customers::AttributeBatch<'c>,
    /// Customers an orders or events file introduces, waiting likewise.
    new_customers: customers::NewCustomers<'c>,
    /// Customers the resolver gave a new key that no row written has named
    /// yet: created with the first that is (a rejected duplicate creates
    /// nothing), never if none is.
    unborn: customers::Unborn,
}

/// What `flush` reports for one pending row.
pub(crate) type SlotVerdict = (usize, std::result::Result<Verdict, Reject>);

impl<'c> RowWriter<'c> {
    /// `estimated_rows` decides whether a load is big enough (relative to the
    /// tables) to build secondary indexes after it rather than row by row.
    /// `fields`: the columns the file has (a customers file leaves the
    /// indexes of the others in place, see [`moves_customers_index`]).
    pub fn new(
        conn: &'c Connection,
        kind: Kind,
        estimated_rows: u64,
        fields: &[Field],
    ) -> Result<Self> {
        let (table, ins, sel, upd) = match kind {
            Kind::Customers => (
                "customers",
                "INSERT INTO customers(id, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned, cancelled_at, since)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, unixepoch(?5)) ON CONFLICT(id) DO NOTHING",
                "SELECT cid, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned, cancelled_at
                 FROM customers WHERE id = ?1",
                "UPDATE customers SET name = COALESCE(?2, name), email = COALESCE(?3, email),
                   phone = COALESCE(?4, phone), signup_date = COALESCE(?5, signup_date),
                   birth_date = COALESCE(?6, birth_date), age = COALESCE(?7, age),
                   income = COALESCE(?8, income), region = COALESCE(?9, region),
                   plan = COALESCE(?10, plan), segment = COALESCE(?11, segment),
                   churned = COALESCE(?12, churned), cancelled_at = COALESCE(?13, cancelled_at),
                   since = COALESCE(unixepoch(COALESCE(?5, signup_date)), first_order)
                 WHERE cid = ?1",
            ),
            Kind::Orders => (
                "orders",
                "INSERT INTO orders(order_key, cid, ts, amount, quantity, product, category)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(order_key) DO NOTHING",
                "SELECT oid, cid, ts, amount, quantity, product, category FROM orders WHERE order_key = ?1",
                "UPDATE orders SET cid = ?2, ts = ?3, amount = ?4, quantity = ?5, product = ?6, category = ?7
                 WHERE oid = ?1",
            ),
            Kind::Feedback => (
                "feedback",
                "INSERT INTO feedback(id, cid, created_at, channel, kind, score, text, sentiment, status, assignee, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?3) ON CONFLICT(id) DO NOTHING",
                "SELECT fid, cid, created_at, channel, kind, score, text FROM feedback WHERE id = ?1",
                "UPDATE feedback SET cid = ?2, created_at = ?3, channel = ?4, kind = ?5, score = ?6,
                   text = COALESCE(?7, text), sentiment = CASE WHEN ?7 IS NULL THEN sentiment ELSE ?8 END,
                   version = version + 1
                 WHERE fid = ?1",
            ),
            Kind::Events => (
                "events",
                "INSERT INTO events(event_key, cid, ts, kind, value)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(event_key) DO NOTHING",
                "SELECT eid, cid, ts, kind, value FROM events WHERE event_key = ?1",
                "UPDATE events SET cid = ?2, ts = ?3, kind = ?4, value = ?5 WHERE eid = ?1",
            ),
        };
        let max_rowid = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
        let max_before = match kind {
            Kind::Customers => max_rowid("SELECT COALESCE(max(cid), 0) FROM customers")?,
            Kind::Orders => max_rowid("SELECT COALESCE(max(oid), 0) FROM orders")?,
            Kind::Feedback => max_rowid("SELECT COALESCE(max(fid), 0) FROM feedback")?,
            Kind::Events => max_rowid("SELECT COALESCE(max(eid), 0) FROM events")?,
        };
        let customers = max_rowid("SELECT COALESCE(max(cid), 0) FROM customers")?;
        let big =
            |existing: i64| estimated_rows >= 100_000 && estimated_rows as i64 >= existing / 4;
        let mut deferred = Vec::new();
        if big(max_before) {
            deferred = if kind == Kind::Customers {
                crate::store::drop_indexes_where(conn, &[table], false, |index| {
                    moves_customers_index(kind, index, fields)
                })?
            } else {
                crate::store::drop_indexes(conn, &[table], false)?
            };
        }
        if kind != Kind::Customers && big(customers) {
            // Many new customers, and new totals for most of them: the
            // indexes of the totals are cheaper to build once afterwards
            // (measured: 41 s against 43 s for 10M orders). Those on the
            // columns only a customers file writes stay: the new customers'
            // keys are empty, and, created many per statement, each goes
            // after the last without a descent of its own.
            deferred.extend(crate::store::drop_indexes_where(
                conn,
                &["customers"],
                false,
                |index| moves_customers_index(kind, index, fields),
            )?);
        }
        // The daily sums of what this load adds are summed at its end.
        let bulk = match kind {
            Kind::Orders => Some(activity::Source::Orders),
            Kind::Events => Some(activity::Source::Events),
            Kind::Feedback => Some(activity::Source::Feedback),
            Kind::Customers => None,
        };
        let (mut paused_marks, mut paused_sums) = (Vec::new(), Vec::new());
        if let Some(b) = bulk {
            activity::begin_bulk(conn, b)?;
            paused_marks = crate::store::packs::pause_marks(conn)?;
            paused_sums = activity::pause_sums(conn, b)?;
        }
        // Orders and events, the big files, are inserted many rows per
        // statement (a statement costs more than a row: 10M orders 30% faster).
        // OR ROLLBACK: a statement of many rows that could fail half-way
        // keeps a journal of its own to undo itself alone, a copy of every
        // page it changes; with keys in no order (ids from a hash, UUIDs)
        // that is a page of the key index per row, written to a temp file
        // (2M orders with such keys: 13.2-13.8 s to load, 7.6-8.1 s
        // without). Any error ends the import and rolls its transaction
        // back anyway, so a failing statement may as well roll it back.
        let (many, inserted_after) = match kind {
            Kind::Orders => (
                // sql-format-ok: placeholders only, from constants.
                Some(conn.prepare(&format!(
                    "{} ON CONFLICT(order_key) DO NOTHING",
                    crate::store::multi_row_insert_sql(
                        "INSERT OR ROLLBACK INTO orders(order_key, cid, ts, amount, quantity, product, category)",
                        7,
                        MANY
                    )
                ))?),
                Some(conn.prepare("SELECT order_key, oid FROM orders WHERE oid > ?1 ORDER BY oid")?),
            ),
            Kind::Events => (
                // sql-format-ok: placeholders only, from constants.
                Some(conn.prepare(&format!(
                    "{} ON CONFLICT(event_key) DO NOTHING",
                    crate::store::multi_row_insert_sql(
                        "INSERT OR ROLLBACK INTO events(event_key, cid, ts, kind, value)",
                        5,
                        MANY
                    )
                ))?),
                Some(conn.prepare("SELECT event_key, eid FROM events WHERE eid > ?1 ORDER BY eid")?),
            ),
            // New customers too: a statement per customer cost more than
            // the customer (1M customers with 20 attributes: see customers.rs).
            Kind::Customers => (
                Some(conn.prepare(&customers::insert_many_sql(MANY))?),
                Some(conn.prepare("SELECT id, cid FROM customers WHERE cid > ?1 ORDER BY cid")?),
            ),
            Kind::Feedback => (None, None),
        };
        Ok(RowWriter {
            conn,
            max_before,
            matched: HashSet::default(),
            ins_cid: conn.prepare("INSERT INTO customers(cid, id) VALUES (?1, ?2)")?,
            ins: conn.prepare(ins)?,
            sel: conn.prepare(sel)?,
            upd: conn.prepare(upd)?,
            attr_cols: None,
            deltas: Vec::new(),
            recompute: HashSet::default(),
            bulk,
            paused_marks,
            paused_sums,
            changed: HashSet::default(),
            months: HashMap::default(),
            touched_fids: Vec::new(),
            deferred,
            customers_created: 0,
            pending: Vec::with_capacity(MANY),
            many,
            inserted_after,
            max_rowid: max_before,
            attr_batch: customers::AttributeBatch::default(),
            new_customers: customers::NewCustomers::default(),
            unborn: customers::Unborn::from(customers + 1),
        })
    }

    /// Create the customer a feedback row names, if the resolver gave it a
    /// new key and no row has brought it into being yet, at once: the
    /// item's search entry reads the customer's id. Not for a row that is a
    /// duplicate of an earlier one (checked first): it writes nothing.
    fn create_customer(&mut self, cid: i64, item: &str) -> W<()> {
        if !self.unborn.contains(cid) {
            return Ok(());
        }
        // The item's id met before in this file: a duplicate.
        let fid: Option<i64> = self.sel.query_row([item], |r| r.get(0)).optional()?;
        if fid.is_some_and(|f| f > self.max_before || self.matched.contains(&f)) {
            return Err(self.duplicate());
        }
        if let Some(id) = self.unborn.remove(cid) {
            self.ins_cid.execute(params![cid, id])?;
            self.customers_created += 1;
        }
        Ok(())
    }

    /// Whether the existing row `rowid` was already written or matched by an
    /// earlier row of this file.
    fn seen_before(&mut self, rowid: i64) -> bool {
        rowid > self.max_before || !self.matched.insert(rowid)
    }

    fn duplicate(&self) -> WriteError {
        WriteError::Reject(Reject::new(
            "id",
            "duplicate id: another row of this file has the same id (this one skipped)",
        ))
    }

    fn month_delta(&mut self, ts: i64, amount: f64, n: i64) {
        let d = timeutil::ts_to_date(ts);
        let e = self
            .months
            .entry(d.year() * 100 + d.month() as i32)
            .or_default();
        e.0 += amount;
        e.1 += n;
    }

    fn order_added(&mut self, cid: i64, ts: i64, amount: f64) {
        self.month_delta(ts, amount, 1);
        let i = cid.max(0) as usize;
        if i >= self.deltas.len() {
            let n = (i + 1).max(self.deltas.len() * 2);
            self.deltas.resize_with(n, AggregateDelta::default);
        }
        let d = &mut self.deltas[i];
        if d.orders == 0 {
            d.first = ts;
            d.last = ts;
        }
        d.orders += 1;
        d.revenue += amount;
        d.first = d.first.min(ts);
        d.last = d.last.max(ts);
    }

    /// Bring derived tables up to date for what this import touched.
    pub fn finish(mut self, ctl: crate::jobs::Ctl) -> Result<()> {
        self.flush_attributes()?;
        self.flush_customers()?;
        let c = self.conn;
        // The orders index first: recomputing totals reads orders by customer.
        let (by_customer, rest): (Vec<_>, Vec<_>) = self
            .deferred
            .iter()
            .cloned()
            .partition(|(name, _)| name.starts_with("orders_"));
        crate::store::rebuild_indexes(c, &by_customer, ctl)?;
        ctl.report("updating customer totals", 0, 1);
        let plain = self
            .deltas
            .iter()
            .enumerate()
            .filter(|(cid, d)| d.orders != 0 && !self.recompute.contains(&(*cid as i64)))
            .map(|(cid, d)| (cid as i64, d));
        crate::store::customers::apply_order_deltas(c, plain)?;
        if !self.recompute.is_empty() {
            c.execute_batch("CREATE TEMP TABLE IF NOT EXISTS touched(cid INTEGER PRIMARY KEY); DELETE FROM temp.touched;")?;
            {
                let mut st = c.prepare("INSERT OR IGNORE INTO temp.touched(cid) VALUES (?1)")?;
                for cid in &self.recompute {
                    st.execute([cid])?;
                }
            }
            crate::store::customers::refresh_order_aggregates(c)?;
            c.execute_batch("DELETE FROM temp.touched")?;
        }
        let months: Vec<(String, (f64, i64))> = self
            .months
            .iter()
            .map(|(k, v)| (format!("{:04}-{:02}", k / 100, k % 100), *v))
            .collect();
        crate::store::customers::apply_month_deltas(c, months.iter().map(|(m, v)| (m, v)))?;
        if !self.touched_fids.is_empty() {
            crate::store::feedback::refresh_static_priority(c, Some(&self.touched_fids))?;
        }
        crate::store::rebuild_indexes(c, &rest, ctl)?;
        if let Some(b) = self.bulk {
            ctl.report("summing by day", 0, 1);
            let changed: Vec<i64> = self.changed.iter().copied().collect();
            activity::resume_sums(c, &self.paused_sums)?;
            activity::end_bulk(c, b, &changed, ctl)?;
            crate::store::packs::resume_marks(c, &self.paused_marks)?;
        }
        Ok(())
    }
}
