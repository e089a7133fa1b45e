//! The CSV importer: header mapping, one transaction per file, a reject file
//! with line, field and reason for every bad row, and an idempotent upsert.

use super::batches::{read_and_apply, CsvReader};
use super::fields::{self, Field};
use super::input::{self, Framer};
use super::parse::Parser;
use super::rejects::RejectWriter;
use super::Kind;
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store::row_writer::{Resolver, RowWriter};
use crate::store::{self, Conn as Connection};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
    for (c, h) in layout.columns.iter().zip(&layout.headers) {
        match c {
            Column::Ignored => summary.ignored_columns.push(h.clone()),
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
            if opts.kind == Kind::Customers {
                store::load::statement_journals_in_memory(conn)?;
            }
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
    Ok(summary)
}

/// The input side of an import: the parser and the CSV reader.
pub(super) struct Input {
    pub(super) parser: Parser,
    pub(super) rdr: CsvReader,
    pub(super) width: usize,
    pub(super) total_bytes: u64,
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
    if !opts.dry_run && !summary.attribute_columns.is_empty() {
        // New attribute columns in a short transaction of their own: added
        // inside the load's, their ALTER TABLE would keep every reader of
        // the attributes (a detail, an export, a training) waiting until
        // the load commits. Empty columns are all a failed load leaves.
        store::pg::attributes::add_missing(pg, &summary.attribute_columns)?;
    }
    store::pg::import::in_transaction(pg, !opts.dry_run, || {
        // ~40 bytes per row is typical of orders and events files.
        let mut writer =
            store::pg::import::PgRowWriter::new(pg, opts.kind, input.total_bytes / 40)?;
        // (On a server the writer resolves customers a batch at a time.)
        read_and_apply(&mut writer, input, None, opts, summary, rejects, ctl)?;
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
    let total_bytes = input.total_bytes;
    let db_path = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Error::Other("import needs a database file".into()))?;
    let tx = store::begin_immediate(conn)?;
    let outcome = (|| -> Result<()> {
        // Inside the write lock: nobody else can add customers from here on.
        let next_cid = store::load::next_cid(&tx)?;
        let resolver = Resolver::new(&db_path, next_cid, next_cid == 1)?;
        // ~40 bytes per row is typical of orders and events files.
        let fields = input.parser.fields();
        let mut writer = RowWriter::new(&tx, opts.kind, total_bytes / 40, &fields)?;
        read_and_apply(
            &mut writer,
            input,
            Some(resolver),
            opts,
            summary,
            rejects,
            ctl,
        )?;
        ctl.check()?;
        ctl.report("finishing", 0, 1);
        summary.customers_created = writer.customers_created;
        writer.finish(ctl)?;
        audit_import(&tx, opts, summary)?;
        Ok(())
    })();
    // The reject file is written and synced before the commit: if it
    // cannot be (a full disk), nothing is committed and nothing is lost.
    let outcome = outcome.and_then(|()| rejects.close());
    match outcome {
        Ok(()) if !opts.dry_run => {
            ctl.report("committing", 0, 1);
            if summary.inserted + summary.updated > 0 {
                crate::store::dashboard::bump_version(&tx)?;
            }
            store::jobs::done_within(&*tx)?;
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

/// The file's name without its directories (for the audit log).
fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
