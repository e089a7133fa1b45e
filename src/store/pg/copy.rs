//! `crmtop migrate`: a crmtop SQLite file copied into PostgreSQL with
//! `COPY ... FROM STDIN`, in one transaction, each table checked by its
//! row count and a checksum of every value read back from the server
//! before the commit. A copy that does not match leaves the server as it
//! was. The customers' attributes, whose columns differ per database, are
//! copied in `attributes`; which tables go, in which order, in `tables`.

mod attributes;
mod tables;

use super::Pg;
use crate::error::{Error, Result};
use crate::store::sql::Sql;
use rusqlite::types::Value;
use std::io::Write;
use tables::{Table, TABLES};

/// What was copied: per table, its rows and checksum (equal on both sides).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Copied {
    pub table: String,
    pub rows: u64,
    pub checksum: String,
}

/// Rows of values sent with `COPY {target} FROM STDIN` (`target`: one of
/// our tables and its columns, a constant at every call), in pieces of
/// about a megabyte as they are formatted, so the server stores the first
/// rows while the next are written.
pub(crate) fn send_rows<R: AsRef<[Value]>>(
    pg: &Pg,
    target: &str,
    rows: impl IntoIterator<Item = R>,
) -> Result<()> {
    use std::io::Write;
    const PIECE: usize = 1 << 20;
    let mut client = pg.client();
    // sql-format-ok: our table and its columns (see above).
    let mut w = client
        .copy_in(&format!("COPY {target} FROM STDIN"))
        .map_err(|e| pg.error(e))?;
    let mut buf = Vec::with_capacity(PIECE + 4096);
    for row in rows {
        for (i, v) in row.as_ref().iter().enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            copy_text(v, &mut buf).map_err(Error::Other)?;
        }
        buf.push(b'\n');
        if buf.len() >= PIECE {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    w.finish().map_err(|e| pg.error(e))?;
    Ok(())
}

/// Rows in COPY's text format, appended to `out` (sent later with
/// [`send_formatted`]).
pub(crate) fn format_rows<R: AsRef<[Value]>>(
    rows: impl IntoIterator<Item = R>,
    out: &mut Vec<u8>,
) -> Result<()> {
    for row in rows {
        for (i, v) in row.as_ref().iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            copy_text(v, out).map_err(Error::Other)?;
        }
        out.push(b'\n');
    }
    Ok(())
}

/// A value in COPY's text format (`\N` is NULL; backslash, tab, newline
/// and carriage return escaped).
pub(super) fn copy_text(v: &Value, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    match v {
        Value::Null => out.extend_from_slice(b"\\N"),
        // Written in place, not through a String per number.
        Value::Integer(i) => {
            use std::io::Write;
            let _ = write!(out, "{i}");
        }
        Value::Real(f) => {
            use std::io::Write;
            let _ = write!(out, "{f:?}");
        }
        Value::Text(s) => {
            let bytes = s.as_bytes();
            if !bytes
                .iter()
                .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
            {
                out.extend_from_slice(bytes);
                return Ok(());
            }
            for &b in bytes {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
        Value::Blob(_) => return Err("holds bytes where crmtop keeps text or numbers".into()),
    }
    Ok(())
}

/// Bytes for a `bytea` column in COPY's text format: hex (`\x..`), its
/// backslash escaped.
fn copy_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\\\x");
    for byte in b {
        let _ = write!(out, "{byte:02x}");
    }
}

/// A running checksum of values, the same whichever engine they came from
/// (an integral number counts the same stored as an integer or a real).
#[derive(Default)]
struct Checksum(xxhash_rust::xxh3::Xxh3);

impl Checksum {
    fn add(&mut self, v: &Value) {
        let h = &mut self.0;
        match v {
            Value::Null => h.update(b"N"),
            Value::Integer(i) => {
                h.update(b"n");
                h.update(&i.to_le_bytes());
            }
            Value::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                h.update(b"n");
                h.update(&(*f as i64).to_le_bytes());
            }
            Value::Real(f) => {
                h.update(b"r");
                h.update(&f.to_bits().to_le_bytes());
            }
            Value::Text(s) => {
                h.update(b"t");
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            Value::Blob(b) => {
                h.update(b"b");
                h.update(b);
            }
        }
    }

    fn hex(&self) -> String {
        format!("{:016x}", self.0.digest())
    }
}

/// Where a copy went (for its check's message).
enum Dest<'a> {
    Server(&'a str),
    File,
}

/// The record of a copied table, or the error that stops the copy when
/// what was read back differs from what was sent (rows or checksum).
fn checked(
    table: &str,
    to: Dest,
    rows: u64,
    back: u64,
    sent: &Checksum,
    got: &Checksum,
) -> Result<Copied> {
    if back != rows || got.hex() != sent.hex() {
        return Err(Error::Other(match to {
            Dest::Server(shown) => format!(
                "{table}: the copy on {shown} does not match the file ({rows} rows sent, {back} read back, checksum {} against {}); nothing was committed",
                got.hex(),
                sent.hex()
            ),
            Dest::File => format!(
                "{table}: the file's copy does not match the server ({rows} rows read, {back} written, checksum {} against {}); nothing was committed",
                got.hex(),
                sent.hex()
            ),
        }));
    }
    Ok(Copied {
        table: table.to_string(),
        rows,
        checksum: sent.hex(),
    })
}

/// Refuse a database that holds crmtop data already (a copy goes into an
/// empty one): checked before any work.
pub fn check_empty(pg: &Pg) -> Result<()> {
    for t in [
        "customers",
        "feedback",
        "audit_log",
        "attribute_columns",
        "campaigns",
    ] {
        let n = pg
            // sql-format-ok: a constant table name.
            .row(&format!("SELECT count(*) FROM {t}"), &[])?
            .map(|r| r.i64(0))
            .transpose()?
            .unwrap_or(0);
        if n > 0 {
            return Err(Error::bad(format!(
                "{} already holds data ({n} rows in {t}); crmtop copies into an empty crmtop database (create a new one with `createdb`)",
                pg.shown
            )));
        }
    }
    Ok(())
}

/// Copy every table of `file` into `pg` (which must hold no customers,
/// feedback or audit entries yet), in one transaction.
pub fn from_sqlite(
    file: &rusqlite::Connection,
    pg: &Pg,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Vec<Copied>> {
    check_empty(pg)?;
    pg.begin("BEGIN")?;
    let r = (|| {
        // The tables the schema filled itself (none today) start empty.
        pg.batch("DELETE FROM meta")?;
        // The search's words are made once for every item after the copy,
        // not by a trigger per row (DDL is transactional: a failed copy
        // leaves the trigger as it was).
        pg.batch("ALTER TABLE feedback DISABLE TRIGGER feedback_words")?;
        // Every table of the file as of one moment (agents may be
        // working on it): one read transaction around the copy.
        file.execute_batch("BEGIN")?;
        // The active version's scores go into a partition of their own.
        let active: Option<i64> = file
            .query_row("SELECT id FROM models WHERE active = 1", [], |r| r.get(0))
            .ok();
        if let Some(id) = active {
            super::models::scores_partition(pg, id)?;
        }
        let copied: Result<Vec<Copied>> = (|| {
            let mut out = TABLES
                .iter()
                .map(|t| copy_table(file, pg, t, progress))
                .collect::<Result<Vec<_>>>()?;
            out.push(attributes::attributes_to_server(file, pg, progress)?);
            Ok(out)
        })();
        let _ = file.execute_batch("COMMIT");
        let out = copied?;
        pg.batch(
            "INSERT INTO feedback_search(fid, doc, named)
             SELECT f.fid,
                    to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(f.text, ''))),
                    to_tsvector('simple', unaccent(f.id || ' ' || c.id || ' ' || coalesce(c.name, '') || ' ' || coalesce(f.text, '')))
               FROM feedback f JOIN customers c ON c.cid = f.cid;
             ALTER TABLE feedback ENABLE TRIGGER feedback_words;",
        )?;
        pg.exec(
            "SELECT setval(pg_get_serial_sequence('audit_log', 'aid'), COALESCE(max(aid), 0) + 1, false) FROM audit_log",
            &[],
        )?;
        // The server's next version follows the file's.
        pg.exec(
            "SELECT setval(pg_get_serial_sequence('models', 'id'), COALESCE(max(id), 0) + 1, false) FROM models",
            &[],
        )?;
        pg.exec(
            "SELECT setval(pg_get_serial_sequence('clv_fits', 'id'), COALESCE(max(id), 0) + 1, false) FROM clv_fits",
            &[],
        )?;
        pg.exec(
            "SELECT setval(pg_get_serial_sequence('cluster_runs', 'id'), COALESCE(max(id), 0) + 1, false) FROM cluster_runs",
            &[],
        )?;
        pg.exec(
            "SELECT setval(pg_get_serial_sequence('campaigns', 'id'), COALESCE(max(id), 0) + 1, false) FROM campaigns",
            &[],
        )?;
        pg.batch("ANALYZE")?;
        Ok(out)
    })();
    pg.finish(r)
}

fn copy_table(
    file: &rusqlite::Connection,
    pg: &Pg,
    t: &Table,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Copied> {
    let ncols = t.cols.split(',').count();
    let mut sent = Checksum::default();
    let mut rows = 0u64;
    {
        // sql-format-ok: constant table and column names.
        let mut st = file.prepare(&format!(
            "SELECT {} FROM {} ORDER BY {}",
            t.cols, t.from, t.key
        ))?;
        let mut q = st.query([])?;
        let mut client = pg.client();
        // sql-format-ok: constant table and column names.
        let mut w = client
            .copy_in(&format!("COPY {} ({}) FROM STDIN", t.name, t.cols))
            .map_err(|e| pg.error(e))?;
        let mut line = Vec::with_capacity(256);
        // A file's drivers are packed (store::drivers); a server keeps their text.
        let drivers_at = t.cols.split(',').position(|c| c.trim() == "drivers");
        while let Some(r) = q.next()? {
            line.clear();
            for i in 0..ncols {
                let mut v: Value = r.get(i)?;
                if drivers_at == Some(i) {
                    v = crate::store::drivers::as_text(v);
                }
                if i > 0 {
                    line.push(b'\t');
                }
                if let (Value::Blob(b), true) = (&v, t.bytes && i + 1 == ncols) {
                    copy_bytes(b, &mut line);
                    sent.add(&v);
                    continue;
                }
                copy_text(&v, &mut line).map_err(|m| {
                    Error::Other(format!(
                        "{} row {}: column {}: {m}",
                        t.from,
                        rows + 1,
                        i + 1
                    ))
                })?;
                sent.add(&v);
            }
            line.push(b'\n');
            w.write_all(&line)?;
            rows += 1;
            if rows.is_multiple_of(100_000) {
                progress(t.name, rows);
            }
        }
        w.finish().map_err(|e| {
            Error::Other(format!(
                "copying {} into {}: {}",
                t.name,
                pg.shown,
                super::message(&e)
            ))
        })?;
    }
    progress(t.name, rows);
    // Read back what the server holds and compare.
    let mut got = Checksum::default();
    let mut back = 0u64;
    pg.each(
        // sql-format-ok: constant table and column names.
        &format!("SELECT {} FROM {} ORDER BY {}", t.cols, t.name, t.key),
        &[],
        &mut |r| {
            r.0.iter().for_each(|v| got.add(v));
            back += 1;
            Ok(())
        },
    )?;
    checked(t.name, Dest::Server(&pg.shown), rows, back, &sent, &got)
}

/// Copy a crmtop database on `pg` into `file`, a new crmtop file (made
/// and migrated by the caller, with no customers yet), in one transaction,
/// each table checked by its count and checksum read back from the file
/// before the commit. The customers' churn probabilities and CLV are not
/// copied: a file holds them per model and fit, which the server does not
/// have; `crmtop train` and `crmtop clv` make them again.
pub fn to_sqlite(
    pg: &Pg,
    file: &mut rusqlite::Connection,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Vec<Copied>> {
    let n: i64 = file.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
    if n > 0 {
        return Err(Error::bad(
            "the file already holds customers; migrate copies into a new file",
        ));
    }
    // Read at one point in time on the server.
    pg.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
    let r = (|| {
        let tx = file.transaction()?;
        let mut out = Vec::new();
        for t in TABLES.iter().filter(|t| t.back) {
            if t.name == "meta" {
                // What the new file wrote of itself gives way to the server's.
                tx.execute("DELETE FROM meta", [])?;
            }
            let ncols = t.cols.split(',').count();
            let marks = vec!["?"; ncols].join(", ");
            let mut sent = Checksum::default();
            let mut rows = 0u64;
            {
                // sql-format-ok: constant table and column names.
                let mut ins = tx.prepare(&format!(
                    "INSERT OR REPLACE INTO {} ({}) VALUES ({marks})",
                    t.from, t.cols
                ))?;
                pg.each(
                    // sql-format-ok: constant table and column names.
                    &format!("SELECT {} FROM {} ORDER BY {}", t.cols, t.name, t.key),
                    &[],
                    &mut |r| {
                        r.0.iter().for_each(|v| sent.add(v));
                        ins.execute(rusqlite::params_from_iter(r.0.iter()))?;
                        rows += 1;
                        if rows.is_multiple_of(100_000) {
                            progress(t.name, rows);
                        }
                        Ok(())
                    },
                )?;
            }
            progress(t.name, rows);
            let mut got = Checksum::default();
            let mut back = 0u64;
            {
                // sql-format-ok: constant table and column names.
                let mut st = tx.prepare(&format!(
                    "SELECT {} FROM {} ORDER BY {}",
                    t.cols, t.from, t.key
                ))?;
                let mut q = st.query([])?;
                while let Some(r) = q.next()? {
                    for i in 0..ncols {
                        got.add(&r.get::<_, Value>(i)?);
                    }
                    back += 1;
                }
            }
            out.push(checked(t.name, Dest::File, rows, back, &sent, &got)?);
        }
        out.push(attributes::attributes_to_file(pg, &tx, progress)?);
        // Derived from the orders (the server does not keep it).
        crate::store::customers::rebuild_monthly_revenue(&tx)?;
        // The queue's priorities came with it, computed from the server's
        // churn scores and CLV, which stay behind (a model and a fit are
        // made again here): recomputed from what the file holds, so the
        // order and its explanation agree.
        crate::store::feedback::refresh_priorities(&tx)?;
        // The daily sums came row by row through their triggers, which
        // marked every customer stale: pack them for training.
        crate::store::packs::refresh(
            &tx,
            crate::store::packs::Scope::Stale,
            crate::jobs::Ctl::silent(),
        )?;
        tx.commit()?;
        Ok(out)
    })();
    pg.finish(r)
}
