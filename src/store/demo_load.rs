//! How `crmtop demo` writes a generated company: into a fresh file, in one
//! transaction, with the secondary indexes, the search index's triggers and
//! the daily sums' triggers set aside and rebuilt once at the end (sorting
//! once is far cheaper than millions of random B-tree inserts); rows many
//! per statement. The generator (`ingest::demo`) hands rows to a
//! [`DemoWriter`] and never sees the connection's engine.

use super::activity::{self, DayWriter, FeedbackFacts, Source};
use super::{BatchInsert, Conn, Value};
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use rusqlite::TransactionBehavior;

/// Columns of a customer row, in the order [`DemoWriter::customer`] takes them.
pub const CUSTOMER_COLUMNS: &str =
    "cid, id, name, email, phone, signup_date, birth_date, age, income, region, \
     plan, segment, n_orders, revenue, first_order, last_order, since";
/// Columns of an order row.
pub const ORDER_COLUMNS: &str = "order_key, cid, ts, amount, quantity, product, category";
/// Columns of an event row.
pub const EVENT_COLUMNS: &str = "event_key, cid, ts, kind, value";
/// Columns of a feedback row.
pub const FEEDBACK_COLUMNS: &str = "fid, id, cid, created_at, channel, kind, score, text, sentiment, status, \
     assignee, resolution_note, resolved_at, escalation_reason, first_response_at, updated_at, updated_by";
/// Columns of an open item's queue row.
pub const QUEUE_COLUMNS: &str = "fid, status, kind, channel, created_at, assignee, prio_static";

/// The rows of one load, batched per table.
pub struct DemoWriter<'t> {
    tx: &'t Conn,
    customers: BatchInsert<'t>,
    attrs: BatchInsert<'t>,
    orders: BatchInsert<'t>,
    events: BatchInsert<'t>,
    feedback: BatchInsert<'t>,
    queue: BatchInsert<'t>,
    days: DayWriter<'t>,
}

impl<'t> DemoWriter<'t> {
    /// A customer ([`CUSTOMER_COLUMNS`]).
    pub fn customer(&mut self, row: [Value; 17]) -> Result<()> {
        self.customers.push(row)
    }

    /// A customer's attributes, in the order the load was given their names.
    pub fn attributes(&mut self, cid: i64, values: [Value; 2]) -> Result<()> {
        let [a, b] = values;
        self.attrs.push([Value::Integer(cid), a, b])
    }

    /// An order ([`ORDER_COLUMNS`]).
    pub fn order(&mut self, row: [Value; 7]) -> Result<()> {
        self.orders.push(row)
    }

    /// An event ([`EVENT_COLUMNS`]).
    pub fn event(&mut self, row: [Value; 5]) -> Result<()> {
        self.events.push(row)
    }

    /// A feedback item ([`FEEDBACK_COLUMNS`]).
    pub fn feedback(&mut self, row: [Value; 17]) -> Result<()> {
        self.feedback.push(row)
    }

    /// An open item's queue row ([`QUEUE_COLUMNS`]).
    pub fn queue(&mut self, row: [Value; 7]) -> Result<()> {
        self.queue.push(row)
    }

    /// One customer's daily sums, written as the customer is (keys ascend).
    pub fn days<'a>(
        &mut self,
        cid: i64,
        orders: impl Iterator<Item = (i64, f64)>,
        events: impl Iterator<Item = (i64, &'a str, f64)>,
        feedback: impl Iterator<Item = FeedbackFacts<'a>>,
    ) -> Result<()> {
        self.days.customer(cid, orders, events, feedback)
    }

    /// The load's transaction, for the store's own writers (campaigns,
    /// monthly revenue) that run inside it.
    pub fn tx(&self) -> &'t Conn {
        self.tx
    }
}

/// What the load's end writes.
pub struct DemoStamp {
    pub as_of: String,
    pub agent: String,
    /// The audit entry's text.
    pub note: String,
}

/// Load a generated company into the empty database `conn`: `generate`
/// writes every row through the writer; once they are all written, `then`
/// runs in the same transaction (what reads them back: campaigns, monthly
/// revenue) and says what to stamp; then the indexes, search index and sums
/// are rebuilt, the demo stamp and audit entry written, and all of it
/// committed at once. A kill or a cancel leaves the empty database.
pub fn load<T, U>(
    conn: &mut Conn,
    attributes: [&str; 2],
    ctl: Ctl,
    generate: impl FnOnce(&mut DemoWriter<'_>) -> Result<T>,
    then: impl FnOnce(&Conn, T) -> Result<(U, DemoStamp)>,
) -> Result<U> {
    let existing: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
    if existing > 0 {
        return Err(Error::bad(
            "the database already has customers; demo data goes into a new file (use --force to replace a demo database)",
        ));
    }
    // A fresh file: load with a rollback journal (pages are written once, not
    // to the WAL and again at checkpoint), then return to WAL. A kill leaves
    // the empty database, restored from the journal.
    conn.execute_batch("PRAGMA cache_size = -262144; PRAGMA threads = 2;")?;
    let _: String = conn.query_row("PRAGMA journal_mode = TRUNCATE", [], |r| r.get(0))?;
    // Every key the generator writes is one it made in this transaction, and
    // rows are inserted many per statement (a customer's orders may reach
    // the table before the customer): no per-row foreign-key lookups. The
    // tests check the result with `crmtop doctor` (foreign_key_check).
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = load_in(conn, attributes, ctl, generate, then);
    let _ = conn.execute_batch("PRAGMA foreign_keys = ON");
    let _ = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
    let _ = conn.execute_batch("PRAGMA cache_size = -16384");
    result
}

fn load_in<T, U>(
    conn: &mut Conn,
    attributes: [&str; 2],
    ctl: Ctl,
    generate: impl FnOnce(&mut DemoWriter<'_>) -> Result<T>,
    then: impl FnOnce(&Conn, T) -> Result<(U, DemoStamp)>,
) -> Result<U> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let indexes = super::drop_indexes(
        &tx,
        &[
            "customers",
            "customer_attrs",
            "orders",
            "events",
            "feedback",
        ],
        true,
    )?;
    // The search index is built once at the end, not row by row; the daily
    // sums are written per customer by the writer.
    let triggers = super::drop_triggers(&tx, "feedback_fts_")?;
    let marks = super::packs::pause_marks(&tx)?;
    for s in [Source::Orders, Source::Events, Source::Feedback] {
        activity::begin_bulk(&tx, s)?;
    }
    let acols = super::attributes::ensure(&tx, &attributes.map(String::from))?;
    // sql-format-ok: columns named after our own integers.
    let attrs_sql = format!(
        "INSERT INTO customer_attrs(cid, {}, {})",
        acols[0].sql(),
        acols[1].sql()
    );
    let generated = {
        // sql-format-ok: the column lists are constants.
        let head = |table: &str, cols: &str| format!("INSERT INTO {table}({cols})");
        let mut w = DemoWriter {
            tx: &tx,
            customers: BatchInsert::new(&tx, &head("customers", CUSTOMER_COLUMNS), 17)?,
            attrs: BatchInsert::new(&tx, &attrs_sql, 3)?,
            orders: BatchInsert::new(&tx, &head("orders", ORDER_COLUMNS), 7)?,
            events: BatchInsert::new(&tx, &head("events", EVENT_COLUMNS), 5)?,
            feedback: BatchInsert::new(&tx, &head("feedback", FEEDBACK_COLUMNS), 17)?,
            queue: BatchInsert::new(&tx, &head("queue", QUEUE_COLUMNS), 7)?,
            days: DayWriter::new(&tx)?,
        };
        let generated = generate(&mut w)?;
        let DemoWriter {
            customers,
            attrs,
            orders,
            events,
            feedback,
            queue,
            days,
            ..
        } = w;
        customers.finish()?;
        attrs.finish()?;
        feedback.finish()?;
        orders.finish()?;
        events.finish()?;
        queue.finish()?;
        days.finish(&tx)?;
        generated
    };
    ctl.report("packing the history", 0, 1);
    super::packs::refresh(&tx, super::packs::Scope::All, ctl)?;
    let (out, stamp) = then(&tx, generated)?;
    super::feedback::settle_sla_clocks(&tx)?;
    super::rebuild_indexes(&tx, &indexes, ctl)?;
    ctl.check()?;
    ctl.report("building the search index", 0, 1);
    super::doctor::rebuild_search_index(&tx)?;
    super::create_triggers(&tx, &triggers)?;
    super::packs::resume_marks(&tx, &marks)?;
    ctl.report("committing", 0, 1);
    super::meta_set(&tx, "demo", "1")?;
    super::meta_set(&tx, "demo_as_of", &stamp.as_of)?;
    super::audit::append(
        &tx,
        &stamp.agent,
        "demo",
        "database",
        "demo",
        None,
        None,
        Some(&stamp.note),
    )?;
    ctl.check()?;
    super::dashboard::bump_version(&tx)?;
    tx.commit()?;
    Ok(out)
}
