//! import, info, export (the demo: `demo`).

use super::{print_json, Ctx, OutFormat, OK};
use crate::error::{exit, Error, Result};
use crate::export::{self, Format};
use crate::ingest::{self, ImportOptions, Kind};
use crate::jobs::Ctl;
use crate::store::{self, Mode};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportKind {
    Customers,
    Orders,
    Feedback,
    Events,
}

impl From<ImportKind> for Kind {
    fn from(k: ImportKind) -> Kind {
        match k {
            ImportKind::Customers => Kind::Customers,
            ImportKind::Orders => Kind::Orders,
            ImportKind::Feedback => Kind::Feedback,
            ImportKind::Events => Kind::Events,
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the file holds
    pub kind: ImportKind,
    /// The CSV file (header row required)
    pub file: PathBuf,
    /// Where rejected rows go [default: FILE with .rejects.csv]
    #[arg(long, value_name = "PATH")]
    pub reject_file: Option<PathBuf>,
    /// Validate and count, write nothing (the reject file is still written)
    #[arg(long)]
    pub dry_run: bool,
    /// Field delimiter: a single character, or `tab`
    #[arg(long, default_value = ",", value_parser = parse_delimiter)]
    pub delimiter: u8,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("'{s}' is not a single ASCII character (or `tab`)")),
    }
}

pub fn import(ctx: &Ctx, a: ImportArgs) -> Result<i32> {
    if ctx.global.read_only {
        return Err(Error::ReadOnly("import".into()));
    }
    let mut opts = ImportOptions {
        kind: a.kind.into(),
        file: a.file.clone(),
        reject_file: a.reject_file.clone(),
        dry_run: a.dry_run,
        delimiter: a.delimiter,
        agent: ctx.agent.clone(),
        protect_db: None,
        future_margin_days: ctx.config.future_margin_days,
    };
    let db = ctx.db_path();
    let server = db.to_str().is_some_and(store::pg::is_url);
    if !server {
        store::check_regular(&db)?;
    }
    if a.reject_file
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-")
    {
        return Err(Error::bad(
            "--reject-file -: rejected rows go to a file (they hold customer data); name one",
        ));
    }
    // Standard input has no name to derive a reject file's from.
    if a.file.as_os_str() == "-" && a.reject_file.is_none() {
        opts.reject_file = Some(PathBuf::from("stdin.rejects.csv"));
    }
    // The input is opened once and its header checked before any database
    // is opened: a file that cannot be imported creates or changes nothing.
    let prepared = ingest::prepare(&opts)?;
    // The reject file may not be the database (or the input): refused
    // before the database is opened, so a refusal changes nothing.
    let mut protected = if server {
        Vec::new()
    } else {
        crate::outfile::database_files(&db)
    };
    if a.file.as_os_str() != "-" {
        protected.push(a.file.clone());
    }
    crate::outfile::check_target(&opts.reject_path(), &protected)?;
    let cancel = crate::signals::cancel_flag();
    let printer = super::progress_printer();
    let result = if server {
        // A server: one transaction there (a dry run rolls it back, and
        // neither creates nor upgrades the schema: it needs a current one).
        let pg = if a.dry_run {
            let url = db.to_string_lossy();
            let pg = store::pg::Pg::connect_as_is(&url, false)?;
            let v = pg.schema_version()?;
            if v != store::pg::latest_version() {
                return Err(Error::Schema(format!(
                    "{}: schema version {v}, this crmtop writes {}; a dry run changes nothing, so run a writing command (or the import without --dry-run) first",
                    pg.shown,
                    store::pg::latest_version()
                )));
            }
            pg
        } else {
            match ctx.open_db_for_write("import")? {
                store::Db::Server(pg) => pg,
                store::Db::File(_) => return Err(Error::Other("a URL opened as a file".into())),
            }
        };
        let job = if a.dry_run {
            None
        } else {
            Some(store::pg::jobs::start(&pg, "import", &ctx.agent)?)
        };
        let r = ingest::import_into(
            ingest::Target::Server(&pg),
            &opts,
            prepared,
            Ctl::new(&printer, cancel),
        );
        if let Some(job) = job {
            super::warm_server_dashboard(ctx, &pg, &r, &printer);
            super::finish_server_job(&pg, job, &r);
        }
        r
    } else if a.dry_run && !db.exists() {
        // A dry run into a database that does not exist yet works on a
        // scratch one, removed afterwards: the dry run creates nothing.
        let scratch = ScratchDir::new()?;
        opts.protect_db = Some(db.clone());
        let mut store = store::open(&scratch.path.join("dry-run.db"), Mode::ReadWrite)?;
        ingest::import_prepared(&mut store.conn, &opts, prepared, Ctl::new(&printer, cancel))
    } else if a.dry_run {
        let mut store = store::open(&db, Mode::ReadWrite)?;
        ingest::import_prepared(&mut store.conn, &opts, prepared, Ctl::new(&printer, cancel))
    } else {
        let mut store = ctx.open_for_write("import")?;
        let job = store::jobs::start(&store.conn, "import", &ctx.agent)?;
        let r =
            ingest::import_prepared(&mut store.conn, &opts, prepared, Ctl::new(&printer, cancel));
        super::warm_dashboard(ctx, &store.conn, &r, &printer);
        super::finish_job(&store.conn, job, &r);
        r
    };
    printer(crate::jobs::Progress {
        phase: "end".into(),
        done: 1,
        total: 1,
    });
    super::progress_done();
    let s = result?;
    if a.json {
        print_json(&s)?;
    } else {
        crate::outln!(
            "{}: read {}, inserted {}, updated {}, unchanged {}, rejected {}{}",
            s.file,
            s.read,
            s.inserted,
            s.updated,
            s.unchanged,
            s.rejected,
            if s.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        );
        if s.customers_created > 0 {
            crate::outln!("customers created for unknown ids: {}", s.customers_created);
        }
        if !s.attribute_columns.is_empty() {
            crate::outln!(
                "kept as customer attributes: {}",
                s.attribute_columns.join(", ")
            );
        }
        if !s.ignored_columns.is_empty() {
            crate::outln!(
                "columns not used by a {} import: {}",
                s.kind,
                s.ignored_columns.join(", ")
            );
        }
        if s.blank_lines > 0 {
            crate::outln!("blank lines skipped: {}", s.blank_lines);
        }
        if let Some(r) = &s.reject_file {
            crate::outln!("rejected rows (line, field, reason) written to {r}");
        }
    }
    Ok(if s.rejected > 0 {
        exit::ROWS_REJECTED
    } else {
        OK
    })
}

pub fn parse_date_arg(s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    crate::timeutil::parse_timestamp(s)
        .map(crate::timeutil::ts_to_date)
        .ok_or_else(|| format!("'{s}' is not a date (YYYY-MM-DD, YYYYMMDD or RFC 3339)"))
}

pub fn info(ctx: &Ctx, json: bool) -> Result<i32> {
    let db = ctx.open_db_for_read()?;
    let place = match &db {
        store::Db::File(s) => s.path.display().to_string(),
        store::Db::Server(pg) => pg.shown.clone(),
    };
    let i = store::customers::info(&db, &place)?;
    let server = matches!(db, store::Db::Server(_));
    if json {
        print_json(&i)?;
        return Ok(OK);
    }
    crate::outln!("database        {}", i.path);
    crate::outln!("schema version  {}", i.schema_version);
    crate::outln!(
        "customers       {} ({} with orders)",
        i.customers,
        i.customers_with_orders
    );
    if !i.attributes.is_empty() {
        crate::outln!("attributes      {}", i.attributes.join(", "));
    }
    crate::outln!("orders          {}", i.orders);
    crate::outln!("events          {}", i.events);
    crate::outln!("feedback        {} ({} open)", i.feedback, i.feedback_open);
    match (&i.first_order, &i.last_order) {
        (Some(a), Some(b)) => crate::outln!("orders from     {a} to {b}"),
        _ => crate::outln!("orders from     (no orders)"),
    }
    crate::outln!(
        "churn models    {}{}",
        i.churn_models,
        i.active_model
            .map(|m| format!(" (active: v{m})"))
            .unwrap_or_default()
    );
    crate::outln!("CLV fits        {}", i.clv_fits);
    crate::outln!("audit entries   {}", i.audit_entries);
    if server {
        crate::outln!("database size   {:.1} MB", i.file_bytes as f64 / 1e6);
    } else {
        crate::outln!(
            "file size       {:.1} MB (WAL {:.1} MB)",
            i.file_bytes as f64 / 1e6,
            i.wal_bytes as f64 / 1e6
        );
    }
    Ok(OK)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportWhat {
    Customers,
    Orders,
    Feedback,
    /// Churn scores of the active model: customer, probability, drivers, model id
    Churn,
    /// CLV of the active fit, highest first
    Clv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub what: ExportWhat,
    /// csv, or json (JSON Lines: one object per line)
    #[arg(long, value_enum, default_value_t = OutFormat::Csv)]
    pub format: OutFormat,
}

pub fn export(ctx: &Ctx, a: ExportArgs) -> Result<i32> {
    // A file or a server (which keeps only the active CLV fit).
    let db = ctx.open_db_for_read()?;
    let conn: &dyn crate::store::sql::Sql = &db;
    let format = match a.format {
        OutFormat::Csv => Format::Csv,
        OutFormat::Json => Format::Json,
    };
    use std::io::IsTerminal;
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let lock = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    // CSV for a terminal is shown, so sanitised; to a pipe or file it
    // stays exact. (JSON Lines escape controls either way.)
    let mut out: Box<dyn std::io::Write> = if tty {
        Box::new(crate::term::SanitizingWriter::new(lock))
    } else {
        Box::new(lock)
    };
    let result = match a.what {
        ExportWhat::Customers => export::customers(conn, format, ctx.mask_pii(), &mut out),
        ExportWhat::Orders => export::orders(conn, format, &mut out),
        ExportWhat::Feedback => export::feedback(conn, format, ctx.mask_pii(), &mut out),
        ExportWhat::Churn => export::churn(conn, format, ctx.mask_pii(), &mut out),
        ExportWhat::Clv => export::clv(conn, format, &mut out),
    };
    match result {
        Ok(_) => Ok(OK),
        // A closed pipe (`| head`) is not an error.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(OK),
        Err(e) => Err(e),
    }
}

/// A private temporary directory, removed with everything in it when dropped.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn new() -> Result<ScratchDir> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("crmtop-dry-run-{}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::File {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(ScratchDir { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
