//! What a large load sets aside while it copies, and builds again once at
//! its end: the loaded table's index by customer, its foreign key (only
//! into a database without customers: dropping it locks the customers
//! table, which every agent's queue reads, until the commit), and, into a
//! database without customers, the customers' own indexes (the lists'
//! orders: kept up row by row (with schema 7's trigrams, since dropped), they made copying
//! 864,000 new customers take 34 s, against 4.8 s without them).

use super::Pg;
use crate::error::Result;
use crate::ingest::Kind;

#[derive(Debug, Default)]
pub(super) struct SetAside {
    /// The table whose index by customer was dropped, and whether its
    /// foreign key was too.
    deferred: Option<(&'static str, bool)>,
    /// The definitions of the customers' indexes dropped.
    customer_indexes: Vec<String>,
    /// The name of the customers' unique key on `id`, when it was dropped
    /// (a load that creates every customer it meets, at its end).
    id_key: Option<String>,
}

impl SetAside {
    /// Set aside what a load of `kind` that is `big` against its table can
    /// (never waiting long for a table's lock: readers hold it; a load that
    /// cannot have it at once keeps the index in place).
    pub(super) fn new(pg: &Pg, kind: Kind, big: bool, n_customers: i64) -> Result<SetAside> {
        let mut out = SetAside::default();
        if !big {
            return Ok(out);
        }
        let table = match kind {
            Kind::Orders => Some("orders"),
            Kind::Events => Some("events"),
            Kind::Customers | Kind::Feedback => None,
        };
        if let Some(t) = table {
            let fk = n_customers == 0;
            pg.batch("SAVEPOINT crmtop_defer; SET LOCAL lock_timeout = '2s'")?;
            // sql-format-ok: constant table names.
            let ddl = if fk {
                format!("ALTER TABLE {t} DROP CONSTRAINT {t}_cid_fkey; DROP INDEX {t}_cid_ts;")
            } else {
                // sql-format-ok: a constant table name.
                format!("DROP INDEX {t}_cid_ts;")
            };
            match pg.batch(&ddl) {
                Ok(()) => {
                    pg.batch("RELEASE SAVEPOINT crmtop_defer; SET LOCAL lock_timeout TO DEFAULT")?;
                    out.deferred = Some((t, fk));
                }
                Err(_) => pg.batch("ROLLBACK TO SAVEPOINT crmtop_defer")?,
            }
        }
        if n_customers == 0 && kind != Kind::Feedback {
            out.customer_indexes = set_aside_customer_indexes(pg)?;
        }
        if n_customers == 0 && out.without_foreign_key() {
            // Its customers are written at the end in key order: the unique
            // index on their ids, kept up row by row, took 5 s of 1,000,000
            // inserts in random order; built once, a second.
            out.id_key = set_aside_id_key(pg)?;
        }
        Ok(out)
    }

    /// Whether the loaded table's foreign key is set aside (the customers
    /// the load creates are then written at its end, with their totals).
    pub(super) fn without_foreign_key(&self) -> bool {
        matches!(self.deferred, Some((_, true)))
    }

    /// Build again what was set aside (after the last row is written).
    pub(super) fn rebuild(&self, pg: &Pg) -> Result<()> {
        if self.deferred.is_some() || !self.customer_indexes.is_empty() || self.id_key.is_some() {
            // The index builds of a large load sort in memory.
            pg.batch("SET LOCAL maintenance_work_mem = '512MB'")?;
        }
        if let Some(name) = &self.id_key {
            // sql-format-ok: a constraint name read from the catalog, quoted.
            pg.batch(&format!(
                "ALTER TABLE customers ADD CONSTRAINT \"{}\" UNIQUE (id)",
                name.replace('"', "\"\"")
            ))?;
        }
        for def in &self.customer_indexes {
            pg.batch(def)?;
        }
        match self.deferred {
            Some(("orders", fk)) => {
                pg.batch("CREATE INDEX orders_cid_ts ON orders(cid, ts, amount)")?;
                if fk {
                    pg.batch("ALTER TABLE orders ADD CONSTRAINT orders_cid_fkey FOREIGN KEY (cid) REFERENCES customers(cid)")?;
                }
            }
            Some(("events", fk)) => {
                pg.batch("CREATE INDEX events_cid_ts ON events(cid, ts, kind, value)")?;
                if fk {
                    pg.batch("ALTER TABLE events ADD CONSTRAINT events_cid_fkey FOREIGN KEY (cid) REFERENCES customers(cid)")?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Drop the customers' indexes that back no constraint, returning their
/// definitions to build them again; none when the table's lock cannot be
/// had at once (then the load keeps them in place).
fn set_aside_customer_indexes(pg: &Pg) -> Result<Vec<String>> {
    let found = crate::store::pg::indexes_of(pg, "customers")?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    pg.batch("SAVEPOINT crmtop_defer_customers; SET LOCAL lock_timeout = '2s'")?;
    let drop = found
        .iter()
        .map(|(name, _)| format!("DROP INDEX \"{}\";", name.replace('"', "\"\"")))
        .collect::<String>();
    // sql-format-ok: index names read from the catalog, quoted as identifiers.
    match pg.batch(&drop) {
        Ok(()) => {
            pg.batch(
                "RELEASE SAVEPOINT crmtop_defer_customers; SET LOCAL lock_timeout TO DEFAULT",
            )?;
            Ok(found.into_iter().map(|(_, d)| d).collect())
        }
        Err(_) => {
            pg.batch("ROLLBACK TO SAVEPOINT crmtop_defer_customers")?;
            Ok(Vec::new())
        }
    }
}

/// Drop the customers' unique key on `id` (its name returned, to add it
/// again), or none when it cannot be had at once or is not there.
fn set_aside_id_key(pg: &Pg) -> Result<Option<String>> {
    use crate::store::sql::Sql;
    let Some(row) = pg.row(
        "SELECT c.conname FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = 'id'
          WHERE c.conrelid = 'customers'::regclass AND c.contype = 'u' AND c.conkey = ARRAY[a.attnum]",
        &[],
    )?
    else {
        return Ok(None);
    };
    let name = row.text(0)?;
    pg.batch("SAVEPOINT crmtop_defer_id; SET LOCAL lock_timeout = '2s'")?;
    // sql-format-ok: a constraint name read from the catalog, quoted.
    let drop = format!(
        "ALTER TABLE customers DROP CONSTRAINT \"{}\"",
        name.replace('"', "\"\"")
    );
    match pg.batch(&drop) {
        Ok(()) => {
            pg.batch("RELEASE SAVEPOINT crmtop_defer_id; SET LOCAL lock_timeout TO DEFAULT")?;
            Ok(Some(name))
        }
        Err(_) => {
            pg.batch("ROLLBACK TO SAVEPOINT crmtop_defer_id")?;
            Ok(None)
        }
    }
}
