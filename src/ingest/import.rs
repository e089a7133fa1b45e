//! The CSV importer: header mapping, one transaction per file, a reject file
//! with line, field and reason for every bad row, and an idempotent upsert.

use super::fields::{self, Field};
use super::input::{self, Framer};
use super::parse::{Parsed, Parser, Reject};
use super::Kind;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store::row_writer::{Resolver, RowWriter, Verdict, WriteError, Writes};
use crate::store::{self, Conn as Connection};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub kind: Kind,
    pub file: PathBuf,
    /// Where rejected rows go; default `FILE` with its extension replaced by `.rejects.csv`.
    pub reject_file: Option<PathBuf>,
    /// Validate and count everything, then roll back.
    pub dry_run: bool,
    pub delimiter: u8,
    pub agent: String,
    /// A database the reject file must never be, besides the one written
    /// (the user's database when a dry run works on a scratch copy).
    pub protect_db: Option<PathBuf>,
    /// Dates later than now plus this many days are rejected.
    pub future_margin_days: i64,
}

impl ImportOptions {
    pub fn new(kind: Kind, file: impl Into<PathBuf>) -> Self {
        ImportOptions {
            kind,
            file: file.into(),
            reject_file: None,
            dry_run: false,
            delimiter: b',',
            agent: crate::agent::resolve(None),
            protect_db: None,
            future_margin_days: 1,
        }
    }

    pub fn reject_path(&self) -> PathBuf {
        self.reject_file
            .clone()
            .unwrap_or_else(|| default_reject_path(&self.file))
    }
}

/// `orders.csv` -> `orders.rejects.csv`.
pub fn default_reject_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    file.with_file_name(format!("{stem}.rejects.csv"))
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct ImportSummary {
    pub file: String,
    pub kind: String,
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Customers created because an orders/feedback/events row named an unknown one.
    pub customers_created: u64,
    /// Lines with no content at all (not data rows; not counted in `read`).
    pub blank_lines: u64,
    /// Columns the file has that this kind does not use.
    pub ignored_columns: Vec<String>,
    /// Extra columns of a customers file kept as attributes.
    pub attribute_columns: Vec<String>,
    pub reject_file: Option<String>,
    pub dry_run: bool,
    pub duration_ms: u64,
}

/// A column of the file: a known field, an attribute, or ignored.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    Known,
    Attribute(String),
    Ignored,
}

/// Header of the file mapped to fields.
pub(crate) struct Layout {
    pub columns: Vec<Column>,
    pub index: HashMap<Field, usize>,
    pub headers: Vec<String>,
}

fn file_error(path: &Path, message: impl Into<String>) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn map_header(kind: Kind, path: &Path, raw: &csv::ByteRecord, delimiter: u8) -> Result<Layout> {
    let mut headers = Vec::with_capacity(raw.len());
    for (i, h) in raw.iter().enumerate() {
        let h = std::str::from_utf8(h).map_err(|_| {
            file_error(
                path,
                format!("line 1: header column {} is not valid UTF-8", i + 1),
            )
        })?;
        headers.push(h.trim_start_matches('\u{feff}').trim().to_string());
    }
    if headers.iter().all(|h| h.is_empty()) {
        return Err(file_error(path, "line 1: the header row is empty"));
    }
    let mut index = HashMap::new();
    let mut columns = Vec::with_capacity(headers.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let norm = fields::normalise_header(h);
        if norm.is_empty() {
            return Err(file_error(
                path,
                format!("line 1: header column {} has no name", i + 1),
            ));
        }
        if let Some(prev) = seen.insert(norm.clone(), i) {
            return Err(file_error(
                path,
                format!(
                    "line 1: duplicate column '{h}' (columns {} and {})",
                    prev + 1,
                    i + 1
                ),
            ));
        }
        let field = fields::aliases(kind)
            .iter()
            .find(|(_, names)| names.contains(&norm.as_str()))
            .map(|(f, _)| *f);
        match field {
            Some(f) => {
                if let Some(prev) = index.insert(f, i) {
                    return Err(file_error(
                        path,
                        format!(
                            "line 1: columns '{}' and '{h}' both mean '{}'",
                            headers[prev],
                            f.name(kind)
                        ),
                    ));
                }
                columns.push(Column::Known);
            }
            None if kind == Kind::Customers => columns.push(Column::Attribute(h.clone())),
            None => columns.push(Column::Ignored),
        }
    }
    let missing: Vec<&str> = fields::required(kind)
        .iter()
        .filter(|f| !index.contains_key(f))
        .map(|f| f.name(kind))
        .collect();
    if !missing.is_empty() {
        let mut msg = format!(
            "line 1: missing required column(s) {} for a {kind} file (found: {})",
            missing.join(", "),
            headers
                .iter()
                .map(|h| fields::clip(h))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if headers.len() == 1 {
            for (d, name) in [(b';', "';'"), (b'\t', "tab"), (b'|', "'|'"), (b',', "','")] {
                if d != delimiter && headers[0].as_bytes().contains(&d) {
                    msg.push_str(&format!(
                        "; the header looks {name}-separated: try --delimiter {}",
                        if d == b'\t' {
                            "tab".to_string()
                        } else {
                            (d as char).to_string()
                        }
                    ));
                    break;
                }
            }
        }
        return Err(file_error(path, msg));
    }
    Ok(Layout {
        columns,
        index,
        headers,
    })
}

/// What the reader thread found in one record.
enum Outcome {
    Blank,
    WrongWidth(usize),
    Rejected(Reject),
    Row(Parsed),
}

/// Where a record of a batch stands on the writer side.
enum Slot {
    Blank,
    /// Waiting in the writer's batch until its flush.
    Pending,
    Done(std::result::Result<Verdict, Reject>),
}

/// Records read and validated by the reader thread, in file order.
struct Batch {
    records: Vec<csv::ByteRecord>,
    outcomes: Vec<Outcome>,
    /// The line each record starts on.
    lines: Vec<u64>,
    byte_pos: u64,
}

/// Records per batch, and the bytes a batch may hold (so that memory stays
/// flat however long the records are: the reader holds at most a few
/// batches).
const BATCH: usize = 4096;
const BATCH_BYTES: usize = 16 << 20;

type CsvReader = csv::Reader<Framer<Box<dyn Read + Send>>>;

/// Reader thread: read and validate records, send them in batches. Record
/// buffers come back through `free` to be reused.
#[allow(clippy::too_many_arguments)]
fn read_batches(
    mut rdr: CsvReader,
    mut parser: Parser,
    mut resolver: Option<Resolver>,
    width: usize,
    path: PathBuf,
    out: mpsc::SyncSender<Result<Batch>>,
    free: mpsc::Receiver<Vec<csv::ByteRecord>>,
    cancel: &'static std::sync::atomic::AtomicBool,
) {
    loop {
        let mut records = free.try_recv().unwrap_or_default();
        // A buffer that held a long record gives its memory back.
        for r in records.iter_mut() {
            if r.as_slice().len() > 1 << 16 {
                *r = csv::ByteRecord::new();
            }
        }
        records.resize_with(BATCH, csv::ByteRecord::new);
        let mut n = 0;
        let mut bytes = 0;
        let mut outcomes = Vec::with_capacity(BATCH);
        let mut lines = Vec::with_capacity(BATCH);
        let mut ended = false;
        while n < BATCH && bytes < BATCH_BYTES {
            match rdr.read_byte_record(&mut records[n]) {
                Ok(true) => {}
                Ok(false) => {
                    ended = true;
                    break;
                }
                Err(e) => {
                    let err = if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                        Error::Cancelled
                    } else {
                        Error::Other(format!(
                            "{}: read error: {e}",
                            crate::term::safe(&path.display().to_string())
                        ))
                    };
                    let _ = out.send(Err(err));
                    return;
                }
            }
            lines.push(rdr.get_mut().take_line());
            if let Some(whole) = input::uncut(&records[n]) {
                records[n] = whole;
                outcomes.push(Outcome::Rejected(Reject::new(
                    "",
                    format!(
                        "the record is longer than {} MiB (no line end?); only its start is kept here",
                        input::RECORD_MAX >> 20
                    ),
                )));
                bytes += records[n].as_slice().len();
                n += 1;
                continue;
            }
            let rec = &records[n];
            bytes += rec.as_slice().len();
            outcomes.push(
                if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty()) {
                    Outcome::Blank
                } else if rec.len() != width {
                    Outcome::WrongWidth(rec.len())
                } else {
                    match parser.parse(rec) {
                        Ok(mut p) => {
                            // (On a server, the writer resolves a batch at once.)
                            if let Some(Err(e)) = resolver.as_mut().map(|r| r.resolve(&mut p)) {
                                let _ = out.send(Err(e));
                                return;
                            }
                            Outcome::Row(p)
                        }
                        Err(r) => Outcome::Rejected(r),
                    }
                },
            );
            n += 1;
        }
        records.truncate(n);
        let byte_pos = rdr.position().byte();
        let last = ended;
        if out
            .send(Ok(Batch {
                records,
                outcomes,
                lines,
                byte_pos,
            }))
            .is_err()
            || last
        {
            return;
        }
    }
}

/// An import's input, opened and its header read and mapped, before any
/// database is opened: a file that cannot be imported is refused without
/// creating or changing one.
pub struct Prepared {
    rdr: CsvReader,
    layout: Layout,
    total_bytes: u64,
}

/// Open the input once (`-` is standard input) and map its header.
pub fn prepare(opts: &ImportOptions) -> Result<Prepared> {
    let path = opts.file.as_path();
    let inp = input::open(path, crate::signals::cancel_flag())?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(opts.delimiter)
        .buffer_capacity(1 << 20)
        .from_reader(Framer::new(inp.reader, opts.delimiter));
    let header = rdr
        .byte_headers()
        .map_err(|e| {
            if crate::signals::cancel_flag().load(std::sync::atomic::Ordering::Relaxed) {
                Error::Cancelled
            } else {
                file_error(path, format!("cannot read the header row: {e}"))
            }
        })?
        .clone();
    if header.is_empty() || (header.len() == 1 && header.get(0).is_some_and(|h| h.is_empty())) {
        return Err(file_error(
            path,
            "the file is empty (a header row is required)",
        ));
    }
    if input::uncut(&header).is_some() {
        return Err(file_error(
            path,
            format!(
                "line 1: the header row is longer than {} MiB; is this a CSV file?",
                input::RECORD_MAX >> 20
            ),
        ));
    }
    rdr.get_mut().take_line();
    let layout = map_header(opts.kind, path, &header, opts.delimiter)?;
    Ok(Prepared {
        rdr,
        layout,
        total_bytes: inp.size.unwrap_or(0),
    })
}

/// Import one CSV file in one transaction. Rows that fail validation are
/// written to the reject file and skipped; the others are upserted.
pub fn import(conn: &mut Connection, opts: &ImportOptions, ctl: Ctl) -> Result<ImportSummary> {
    let prepared = prepare(opts)?;
    import_prepared(conn, opts, prepared, ctl)
}

/// Where an import writes.
pub enum Target<'a> {
    File(&'a mut Connection),
    Server(&'a crate::store::pg::Pg),
}

/// [`import`] of an input [`prepare`]d before the database was opened.
pub fn import_prepared(
    conn: &mut Connection,
    opts: &ImportOptions,
    prepared: Prepared,
    ctl: Ctl,
) -> Result<ImportSummary> {
    import_into(Target::File(conn), opts, prepared, ctl)
}

/// [`import_prepared`] into a file or a server.
pub fn import_into(
    target: Target,
    opts: &ImportOptions,
    prepared: Prepared,
    ctl: Ctl,
) -> Result<ImportSummary> {
    let started = Instant::now();
    let path = opts.file.as_path();
    let Prepared {
        rdr,
        layout,
        total_bytes,
    } = prepared;

    let mut summary = ImportSummary {
        file: path.display().to_string(),
        kind: opts.kind.to_string(),
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let server = matches!(target, Target::Server(_));
    for (c, h) in layout.columns.iter().zip(&layout.headers) {
        match c {
            Column::Ignored => summary.ignored_columns.push(h.clone()),
            // A server keeps no attributes (yet): said, not dropped silently.
            Column::Attribute(_) if server => summary.ignored_columns.push(h.clone()),
            Column::Attribute(a) => summary.attribute_columns.push(a.clone()),
            Column::Known => {}
        }
    }
    let reject_path = opts.reject_path();
    let mut protected = match &target {
        Target::File(conn) => conn
            .path()
            .filter(|p| !p.is_empty())
            .map(|p| crate::outfile::database_files(Path::new(p)))
            .unwrap_or_default(),
        Target::Server(_) => Vec::new(),
    };
    if let Some(db) = &opts.protect_db {
        protected.extend(crate::outfile::database_files(db));
    }
    if path.as_os_str() != "-" {
        protected.push(path.to_path_buf());
    }
    // Refuse a reject file that would be the database before any work.
    crate::outfile::check_target(&reject_path, &protected)?;
    let mut rejects = RejectWriter::new(reject_path.clone(), &layout.headers, protected);

    let horizon = crate::timeutil::now().saturating_add(opts.future_margin_days.max(0) * 86_400);
    let parser = Parser::new(opts.kind, &layout, horizon);
    let width = layout.headers.len();
    let input = Input {
        parser,
        rdr,
        width,
        total_bytes,
    };
    match target {
        Target::File(conn) => {
            store::load::begin(conn)?;
            let first_load = !opts.dry_run && store::load::begin_first(conn)?;
            let result = write_all(conn, opts, ctl, input, &mut summary, &mut rejects);
            store::load::end(conn);
            if first_load {
                store::load::end_first(conn);
            }
            result?;
        }
        Target::Server(pg) => write_server(pg, opts, ctl, input, &mut summary, &mut rejects)?,
    }
    if rejects.count > 0 {
        summary.reject_file = Some(reject_path.display().to_string());
    }
    summary.duration_ms = started.elapsed().as_millis() as u64;
    ctl.report("import", total_bytes, total_bytes);
    Ok(summary)
}

/// The input side of an import: the parser and the CSV reader.
struct Input {
    parser: Parser,
    rdr: CsvReader,
    width: usize,
    total_bytes: u64,
}

/// The import's audit entry (when it changed anything).
fn audit_import(
    conn: &dyn store::sql::Sql,
    opts: &ImportOptions,
    summary: &ImportSummary,
) -> Result<()> {
    if summary.inserted + summary.updated == 0 {
        return Ok(());
    }
    let path = opts.file.as_path();
    crate::store::audit::append(
        conn,
        &opts.agent,
        "import",
        "file",
        &file_label(path),
        None,
        None,
        Some(&format!(
            "{} {}: read {}, inserted {}, updated {}, unchanged {}, rejected {}",
            opts.kind,
            file_label(path),
            summary.read,
            summary.inserted,
            summary.updated,
            summary.unchanged,
            summary.rejected
        )),
    )?;
    Ok(())
}

/// Writer side on a server: the batches in one transaction (rolled back
/// for a dry run, an error or a cancel).
fn write_server(
    pg: &crate::store::pg::Pg,
    opts: &ImportOptions,
    ctl: Ctl,
    input: Input,
    summary: &mut ImportSummary,
    rejects: &mut RejectWriter,
) -> Result<()> {
    let Input {
        parser,
        rdr,
        width,
        total_bytes,
    } = input;
    store::pg::import::in_transaction(pg, !opts.dry_run, || {
        // ~40 bytes per row is typical of orders and events files.
        let mut writer = store::pg::import::PgRowWriter::new(pg, opts.kind, total_bytes / 40)?;
        std::thread::scope(|s| -> Result<()> {
            let (out, batches) = mpsc::sync_channel::<Result<Batch>>(4);
            let (recycle, free) = mpsc::channel::<Vec<csv::ByteRecord>>();
            let file = opts.file.clone();
            let cancel = crate::signals::cancel_flag();
            let reader =
                s.spawn(move || read_batches(rdr, parser, None, width, file, out, free, cancel));
            let r = apply_batches(
                &mut writer,
                &batches,
                &recycle,
                summary,
                rejects,
                total_bytes,
                ctl,
            );
            drop(batches);
            reader
                .join()
                .map_err(|_| Error::Other("the CSV reader thread panicked".into()))?;
            r
        })?;
        ctl.check()?;
        ctl.report("finishing", 0, 1);
        summary.customers_created = writer.customers_created;
        writer.finish(summary.inserted)?;
        audit_import(pg, opts, summary)?;
        // The reject file is written and synced before the commit: if it
        // cannot be (a full disk), nothing is committed and nothing is lost.
        rejects.close()?;
        ctl.check()?;
        ctl.report("committing", 0, 1);
        Ok(())
    })
}

/// Writer side: apply the batches in one transaction, then commit (or roll
/// back for a dry run, an error or a cancel).
#[allow(clippy::too_many_arguments)]
fn write_all(
    conn: &mut Connection,
    opts: &ImportOptions,
    ctl: Ctl,
    input: Input,
    summary: &mut ImportSummary,
    rejects: &mut RejectWriter,
) -> Result<()> {
    let Input {
        parser,
        rdr,
        width,
        total_bytes,
    } = input;
    let path = opts.file.as_path();
    let db_path = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Error::Other("import needs a database file".into()))?;
    let tx = store::begin_immediate(conn)?;
    let outcome = std::thread::scope(|s| -> Result<()> {
        // Inside the write lock: nobody else can add customers from here on.
        let next_cid = store::load::next_cid(&tx)?;
        let resolver = Resolver::new(&db_path, next_cid, next_cid == 1)?;
        let (out, batches) = mpsc::sync_channel::<Result<Batch>>(4);
        let (recycle, free) = mpsc::channel::<Vec<csv::ByteRecord>>();
        let file = path.to_path_buf();
        let cancel = crate::signals::cancel_flag();
        let reader = s.spawn(move || {
            read_batches(rdr, parser, Some(resolver), width, file, out, free, cancel)
        });
        // ~40 bytes per row is typical of orders and events files.
        let mut writer = RowWriter::new(&tx, opts.kind, total_bytes / 40)?;
        apply_batches(
            &mut writer,
            &batches,
            &recycle,
            summary,
            rejects,
            total_bytes,
            ctl,
        )?;
        drop(batches);
        reader
            .join()
            .map_err(|_| Error::Other("the CSV reader thread panicked".into()))?;
        ctl.check()?;
        ctl.report("finishing", 0, 1);
        summary.customers_created = writer.customers_created;
        writer.finish(ctl)?;
        audit_import(&tx, opts, summary)?;
        Ok(())
    });
    // The reject file is written and synced before the commit: if it
    // cannot be (a full disk), nothing is committed and nothing is lost.
    let outcome = outcome.and_then(|()| rejects.close());
    match outcome {
        Ok(()) if !opts.dry_run => {
            ctl.report("committing", 0, 1);
            if summary.inserted + summary.updated > 0 {
                crate::store::dashboard::bump_version(&tx)?;
            }
            tx.commit()?;
            ctl.report("checkpoint", 0, 1);
            store::load::checkpoint(conn)?;
        }
        Ok(()) => tx.rollback()?,
        Err(e) => {
            let _ = tx.rollback();
            return Err(e);
        }
    }
    Ok(())
}

/// The batch loop, on either engine: each record's verdict (at once, or at
/// the writer's flush), counted and rejected in file order.
fn apply_batches(
    writer: &mut dyn Writes,
    batches: &mpsc::Receiver<Result<Batch>>,
    recycle: &mpsc::Sender<Vec<csv::ByteRecord>>,
    summary: &mut ImportSummary,
    rejects: &mut RejectWriter,
    total_bytes: u64,
    ctl: Ctl,
) -> Result<()> {
    for batch in batches.iter() {
        ctl.check()?;
        let Batch {
            records,
            outcomes,
            lines,
            byte_pos,
        } = batch?;
        // Each record's verdict: at once, or after the flush of the
        // rows the writer batches; then counted and rejected in order.
        let mut verdicts: Vec<Slot> = Vec::with_capacity(records.len());
        for (slot, outcome) in outcomes.into_iter().enumerate() {
            verdicts.push(match outcome {
                Outcome::Blank => Slot::Blank,
                Outcome::WrongWidth(n) => Slot::Done(Err(Reject::new(
                    "",
                    format!("expected {} columns, found {n}", rejects.headers.len()),
                ))),
                Outcome::Rejected(r) => Slot::Done(Err(r)),
                Outcome::Row(p) => match writer.write(slot, p) {
                    Ok(Some(v)) => Slot::Done(Ok(v)),
                    Ok(None) => Slot::Pending,
                    Err(WriteError::Reject(r)) => Slot::Done(Err(r)),
                    Err(WriteError::Fatal(e)) => return Err(e),
                },
            });
        }
        for (slot, v) in writer.flush()? {
            if let Some(s) = verdicts.get_mut(slot) {
                *s = Slot::Done(v);
            }
        }
        for ((rec, verdict), &line) in records.iter().zip(verdicts).zip(&lines) {
            let verdict = match verdict {
                Slot::Blank => {
                    summary.blank_lines += 1;
                    continue;
                }
                Slot::Done(v) => v,
                Slot::Pending => {
                    return Err(Error::Other(format!(
                        "line {line}: the writer lost track of this row"
                    )))
                }
            };
            summary.read += 1;
            match verdict {
                Ok(Verdict::Inserted) => summary.inserted += 1,
                Ok(Verdict::Updated) => summary.updated += 1,
                Ok(Verdict::Unchanged) => summary.unchanged += 1,
                Err(r) => {
                    summary.rejected += 1;
                    rejects.write(line, &r.field, &r.reason, rec)?;
                }
            }
        }
        ctl.report("import", byte_pos, total_bytes.max(byte_pos));
        let _ = recycle.send(records);
    }
    Ok(())
}

/// The file's name without its directories (for the audit log).
fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes rejected rows (line, field, reason, then the original cells).
/// The file is only created when the first row is rejected, as a private
/// temporary file that [`RejectWriter::close`] syncs and renames into place
/// before the import commits (see `crate::outfile`).
struct RejectWriter {
    path: PathBuf,
    pub(crate) headers: Vec<String>,
    writer: Option<csv::Writer<crate::outfile::OutFile>>,
    count: u64,
    /// Files the reject file must never be: the database and its side
    /// files, and the input.
    protected: Vec<PathBuf>,
}

/// The most one rejected cell keeps (the reject file of a hostile file
/// stays small; a cell this long is not a value anyone retypes).
const REJECT_CELL_MAX: usize = 64 * 1024;

impl RejectWriter {
    fn new(path: PathBuf, headers: &[String], protected: Vec<PathBuf>) -> Self {
        RejectWriter {
            path,
            headers: headers.to_vec(),
            writer: None,
            count: 0,
            protected,
        }
    }

    fn write(
        &mut self,
        line: u64,
        field: &str,
        reason: &str,
        record: &csv::ByteRecord,
    ) -> Result<()> {
        if self.writer.is_none() {
            let f = crate::outfile::OutFile::create(&self.path, &self.protected)?;
            let mut w = csv::WriterBuilder::new().flexible(true).from_writer(f);
            let mut head = vec!["line".to_string(), "field".into(), "reason".into()];
            head.extend(self.headers.iter().cloned());
            w.write_record(&head).map_err(csv_err)?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            let mut out = csv::ByteRecord::new();
            out.push_field(line.to_string().as_bytes());
            out.push_field(field.as_bytes());
            out.push_field(reason.as_bytes());
            for f in record.iter() {
                out.push_field(&f[..f.len().min(REJECT_CELL_MAX)]);
            }
            w.write_byte_record(&out).map_err(csv_err)?;
        }
        self.count += 1;
        Ok(())
    }

    /// Sync the reject file and move it into place (before the commit: if
    /// it cannot be written, the import rolls back).
    fn close(&mut self) -> Result<()> {
        if let Some(w) = self.writer.take() {
            let f = w
                .into_inner()
                .map_err(|e| Error::Other(format!("writing the reject file: {}", e.error())))?;
            f.commit()?;
        }
        Ok(())
    }
}

fn csv_err(e: csv::Error) -> Error {
    Error::Other(format!("writing the reject file: {e}"))
}
