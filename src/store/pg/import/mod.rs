//! `crmtop import` on PostgreSQL. The reader thread validates rows as for a
//! file; here each batch is written set-based: its customers resolved in one
//! query (unknown ids created), its keys looked up in one query, new rows
//! sent with `COPY ... FROM STDIN`, changed rows updated in one statement
//! from arrays. The verdicts (inserted, updated, unchanged, duplicate) are
//! the file's: an empty cell never erases a customer's value, a second row
//! of the file with an id already written or matched is a duplicate.
//!
//! A batch's lookups, verdicts and new rows are `batch`'s. Changed rows are
//! written per kind in `update`; what a large load sets aside and builds
//! again at its end is `large`'s.
//!
//! The whole import is one transaction. Imports take an advisory lock for
//! the transaction, so new keys (the largest plus one) are theirs alone;
//! agents' workflow changes go on meanwhile (only imports create rows).

use super::Pg;

mod attrs;
mod batch;
mod customers;
mod large;
mod pipe;
mod update;
use crate::error::Result;
use crate::ingest::parse::Parsed;
use crate::ingest::Kind;
use crate::store::sql::Sql;
use postgres::types::ToSql;
use rusqlite::types::Value;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// The advisory lock every import holds until its commit.
const IMPORT_LOCK: i64 = 7_243_002;

pub(crate) struct PgRowWriter<'a> {
    pg: &'a Pg,
    kind: Kind,
    /// Rows with a larger key were inserted by this import.
    max_before: i64,
    next_key: i64,
    next_cid: i64,
    /// Existing rows matched by an earlier row of the file.
    matched: HashSet<i64>,
    /// Customer ids resolved so far; `all_cids`: every customer is in it
    /// (read whole at the start of a load large against the customers), so
    /// an id not in it is new without asking.
    cids: HashMap<String, i64>,
    all_cids: bool,
    /// The table was empty at the start: a key this import did not write
    /// cannot exist, and is not looked up. `written` holds the hashes of
    /// the keys it wrote (a hash met again is confirmed by the server).
    empty_before: bool,
    written: HashSet<u64>,
    pending: Vec<(usize, Parsed)>,
    /// What a large load sets aside while it copies and builds again at
    /// its end (`large`).
    set_aside: large::SetAside,
    /// With the foreign key set aside, the customers a load creates are written at its end
    /// with their order totals (counted here), instead of being written
    /// first and updated after: (cid, id), and per new customer from
    /// `first_new` on, (orders, revenue, first, last).
    held: Vec<(i64, String)>,
    /// Customers `resolve` gave a new key that no row written has named
    /// yet (see `give_birth`).
    unborn: HashMap<i64, String>,
    first_new: i64,
    new_totals: Vec<(i64, f64, i64, i64)>,
    /// Customers whose orders changed: their totals are recomputed.
    totals: HashSet<i64>,
    /// Items written: their queue rows follow.
    fids: Vec<i64>,
    pub customers_created: u64,
    /// The file's attribute columns (names shared by its rows, and their
    /// columns on the server), found or added once per file.
    attr_cols: Option<(
        std::sync::Arc<Vec<String>>,
        Vec<crate::store::attributes::Column>,
    )>,
    /// The load's COPY kept open across batches decided without the
    /// server (`pipe`); closed before anything else asks the server.
    pipe: Option<pipe::Pipe<'a>>,
}

/// A row as the table holds it, for comparison with the file's.
type Old = Vec<Value>;

/// A customer's start from her signup day (as SQLite's `unixepoch`).
fn since_of(signup: Option<&str>) -> Option<i64> {
    signup
        .and_then(crate::timeutil::parse_date)
        .map(crate::timeutil::date_to_ts)
}

impl<'a> PgRowWriter<'a> {
    /// Call inside the import's transaction: takes the import lock and reads
    /// the largest keys. A load of `estimated_rows` orders or events that
    /// is large against the table builds the table's index by customer and
    /// checks its foreign key once at the end, not row by row (where the
    /// user owns the table; else it loads with them in place).
    pub fn new(pg: &'a Pg, kind: Kind, estimated_rows: u64) -> Result<Self> {
        pg.exec(
            "SELECT pg_advisory_xact_lock(?1)",
            &[Value::Integer(IMPORT_LOCK)],
        )?;
        let max_before = pg.count(
            match kind {
                Kind::Customers => "SELECT COALESCE(max(cid), 0) FROM customers",
                Kind::Orders => "SELECT COALESCE(max(oid), 0) FROM orders",
                Kind::Events => "SELECT COALESCE(max(eid), 0) FROM events",
                Kind::Feedback => "SELECT COALESCE(max(fid), 0) FROM feedback",
            },
            &[],
        )?;
        let next_cid = pg.count("SELECT COALESCE(max(cid), 0) + 1 FROM customers", &[])?;
        let big = estimated_rows >= 100_000 && estimated_rows as i64 >= max_before / 4;
        let n_customers = pg.count("SELECT count(*) FROM customers", &[])?;
        let mut cids = HashMap::default();
        let all_cids = kind != Kind::Customers && n_customers <= 4 * estimated_rows as i64;
        if all_cids {
            pg.each("SELECT id, cid FROM customers", &[], &mut |r| {
                cids.insert(r.text(0)?, r.i64(1)?);
                Ok(())
            })?;
        }
        let set_aside = large::SetAside::new(pg, kind, big, n_customers)?;
        Ok(PgRowWriter {
            pg,
            kind,
            set_aside,
            max_before,
            next_key: max_before + 1,
            next_cid,
            matched: HashSet::default(),
            cids,
            all_cids,
            empty_before: max_before == 0,
            written: HashSet::default(),
            pending: Vec::new(),
            held: Vec::new(),
            unborn: HashMap::default(),
            first_new: next_cid,
            new_totals: Vec::new(),
            totals: HashSet::default(),
            fids: Vec::new(),
            customers_created: 0,
            attr_cols: None,
            pipe: None,
        })
    }

    /// Rows sent with COPY into `table (cols)`.
    fn copy(&self, table_cols: &str, rows: &[Vec<Value>]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        super::copy::send_rows(self.pg, table_cols, rows)
    }

    /// A statement with array parameters.
    fn exec_arrays(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<()> {
        self.pg
            .client()
            .execute(sql, params)
            .map_err(|e| self.pg.error(e))?;
        Ok(())
    }
}

impl PgRowWriter<'_> {
    /// Bring what depends on the written rows up to date: customers'
    /// order totals, the queue rows of written items; then the planner's
    /// statistics after a large load.
    pub fn finish(mut self, inserted: u64) -> Result<()> {
        self.close_pipe()?;
        let pg = self.pg;
        if !self.held.is_empty() {
            let rows: Vec<Vec<Value>> = self
                .held
                .iter()
                .map(|(cid, id)| {
                    let t = self
                        .new_totals
                        .get((cid - self.first_new) as usize)
                        .filter(|t| t.0 > 0);
                    vec![
                        Value::Integer(*cid),
                        Value::Text(id.clone()),
                        Value::Integer(t.map_or(0, |t| t.0)),
                        Value::Real(t.map_or(0.0, |t| t.1)),
                        t.map_or(Value::Null, |t| Value::Integer(t.2)),
                        t.map_or(Value::Null, |t| Value::Integer(t.3)),
                        t.map_or(Value::Null, |t| Value::Integer(t.2)),
                    ]
                })
                .collect();
            self.copy(
                "customers (cid, id, n_orders, revenue, first_order, last_order, since)",
                &rows,
            )?;
        }
        self.set_aside.rebuild(pg)?;
        if !self.totals.is_empty() {
            // The customers in a table of their own (an array of a million
            // keys probed one by one took seconds), then one join.
            pg.batch(
                "CREATE TEMP TABLE IF NOT EXISTS crmtop_touched (cid BIGINT PRIMARY KEY) ON COMMIT DROP;
                 TRUNCATE crmtop_touched;",
            )?;
            let cids: Vec<Vec<Value>> = self
                .totals
                .iter()
                .map(|&c| vec![Value::Integer(c)])
                .collect();
            self.copy("crmtop_touched (cid)", &cids)?;
            pg.batch(
                "ANALYZE crmtop_touched;
                 UPDATE customers c SET n_orders = COALESCE(a.n, 0), revenue = COALESCE(a.r, 0),
                   first_order = a.f, last_order = a.l,
                   since = COALESCE(CASE WHEN c.signup_date IS NOT NULL THEN c.since END, a.f)
                 FROM crmtop_touched t
                      LEFT JOIN (SELECT o.cid, count(*) AS n, sum(o.amount) AS r, min(o.ts) AS f, max(o.ts) AS l
                                   FROM orders o JOIN crmtop_touched k ON k.cid = o.cid
                                  GROUP BY o.cid) a ON a.cid = t.cid
                 WHERE c.cid = t.cid;",
            )?;
        }
        if !self.fids.is_empty() {
            super::queue::requeue_many(pg, &self.fids)?;
        }
        if inserted >= 100_000 {
            // sql-format-ok: a constant table name.
            pg.batch(&format!(
                "ANALYZE {}",
                match self.kind {
                    Kind::Customers => "customers",
                    Kind::Orders => "orders, customers",
                    Kind::Events => "events, customers",
                    Kind::Feedback => "feedback, queue, customers",
                }
            ))?;
        }
        Ok(())
    }
}

/// Run `f` in one transaction on `pg`: committed when it succeeds and
/// `keep` (a dry run is rolled back), else rolled back.
pub(crate) fn in_transaction<T>(pg: &Pg, keep: bool, f: impl FnOnce() -> Result<T>) -> Result<T> {
    // READ COMMITTED whatever the server's default: after the import lock,
    // each statement sees the rows an import before it committed.
    pg.begin("BEGIN ISOLATION LEVEL READ COMMITTED")?;
    let r = f().and_then(|v| {
        if keep {
            crate::store::jobs::done_within(pg)?;
        }
        Ok(v)
    });
    match r {
        Ok(v) if !keep => {
            pg.in_tx.set(false);
            pg.batch("ROLLBACK")?;
            Ok(v)
        }
        r => pg.finish(r),
    }
}
