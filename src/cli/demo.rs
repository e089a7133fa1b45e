//! `crmtop demo`: a simulated company made in a fresh file (with its first
//! churn model and CLV fit), or made in a scratch file and copied to a
//! server.

use super::data::parse_date_arg;
use super::{print_json, Ctx, OK};
use crate::error::{Error, Result};
use crate::ingest::demo;
use crate::jobs::Ctl;
use crate::store::{self, Mode};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of customers
    #[arg(long, default_value_t = 5000)]
    pub customers: usize,
    /// Random seed (same seed, same company)
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data runs for two years up to this day [default: today]
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Replace the database file even if it holds non-demo data
    #[arg(long)]
    pub force: bool,
    /// Only the data: no first churn model and CLV fit
    #[arg(long)]
    pub no_models: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// Remove a database file and its WAL and shared-memory files.
fn remove_db_files(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::File {
                    path: p,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Make room for a demo database at `path`: an existing demo database is
/// replaced; a database with other data only with `force`.
pub fn prepare_demo_path(path: &Path, force: bool) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    if !force {
        let s =
            store::open(path, Mode::ReadOnly).or_else(|_| store::open(path, Mode::ReadWrite))?;
        let is_demo = store::meta_get(&s.conn, "demo")?.is_some();
        let n: i64 = s
            .conn
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
        drop(s);
        if n > 0 && !is_demo {
            return Err(Error::bad(format!(
                "{} holds data that is not demo data; choose another --db or pass --force to replace it",
                path.display()
            )));
        }
    }
    remove_db_files(path)
}

/// A first churn model and CLV fit on a new demo database (so the first
/// screen has every chart). Should either fail, the screens say how to
/// make them (R).
pub fn first_models(ctx: &Ctx, conn: &mut crate::store::Conn) {
    let ctl = Ctl::new(&|_| {}, crate::signals::cancel_flag());
    let train = crate::analytics::churn::TrainOptions {
        agent: ctx.agent.clone(),
        ..Default::default()
    };
    if let Err(e) = crate::analytics::churn::train(conn, &train, ctl) {
        crate::errln!("crmtop: no churn model yet ({e}); press R in the UI to train one");
    }
    let clv = crate::analytics::clv::ClvOptions {
        agent: ctx.agent.clone(),
        ..Default::default()
    };
    if let Err(e) = crate::analytics::clv::fit(conn, &clv, ctl) {
        crate::errln!("crmtop: no CLV fit yet ({e}); press R on the CLV screen to fit one");
    }
}

/// Create a demo database at `path` (for `--demo`).
pub fn build_demo(ctx: &Ctx, path: &Path, customers: usize, seed: u64) -> Result<()> {
    let mut store = store::open(path, Mode::ReadWrite)?;
    let opts = demo::DemoOptions {
        customers,
        seed,
        as_of: crate::timeutil::today(),
    };
    let printer = super::progress_printer();
    let result = demo::generate(
        &mut store.conn,
        &opts,
        &ctx.agent,
        Ctl::new(&printer, crate::signals::cancel_flag()),
    );
    super::progress_done();
    result.map(|_| ())
}

pub fn demo(ctx: &Ctx, a: DemoArgs) -> Result<i32> {
    if ctx.global.read_only {
        return Err(Error::ReadOnly("demo".into()));
    }
    let path = ctx.db_path();
    if let Some(url) = path.to_str().filter(|p| store::pg::is_url(p)) {
        return demo_on_server(ctx, a, url);
    }
    store::check_regular(&path)?;
    prepare_demo_path(&path, a.force)?;
    let mut store = store::open(&path, Mode::ReadWrite)?;
    let printer = super::progress_printer();
    let s = generate_demo(ctx, &a, &mut store.conn, &printer);
    printer(crate::jobs::Progress {
        phase: "end".into(),
        done: 1,
        total: 1,
    });
    super::progress_done();
    let s = s?;
    // The first screen is ready at once.
    let t = &ctx.config.thresholds;
    let _ = store::dashboard::warm(&store.conn, t.high, t.medium);
    said_demo(&a, &path.display().to_string(), &s)
}

/// The demo company generated into `conn`, with a first churn model and
/// CLV fit unless `--no-models` (the same living database as `--demo`).
fn generate_demo(
    ctx: &Ctx,
    a: &DemoArgs,
    conn: &mut crate::store::Conn,
    printer: &(dyn Fn(crate::jobs::Progress) + Sync),
) -> Result<demo::DemoSummary> {
    let opts = demo::DemoOptions {
        customers: a.customers,
        seed: a.seed,
        as_of: a.as_of.unwrap_or_else(crate::timeutil::today),
    };
    let s = demo::generate(
        conn,
        &opts,
        &ctx.agent,
        Ctl::new(printer, crate::signals::cancel_flag()),
    )?;
    if !a.no_models {
        first_models(ctx, conn);
    }
    Ok(s)
}

/// What a demo made, said (JSON with `--json`).
fn said_demo(a: &DemoArgs, place: &str, s: &demo::DemoSummary) -> Result<i32> {
    if a.json {
        print_json(s)?;
    } else {
        crate::outln!(
            "{place}: demo company with {} customers, {} orders, {} events, {} feedback items (seed {}, as of {}) in {:.1} s",
            s.customers,
            s.orders,
            s.events,
            s.feedback,
            s.seed,
            s.as_of,
            s.duration_ms as f64 / 1000.0
        );
    }
    Ok(OK)
}

/// The demo company on a server: made in a private file of its own (the
/// generator writes a file's layout), with its first model and fit, then
/// copied into the server's empty database as `crmtop migrate` copies (one
/// transaction, every table checked); the file is removed after.
fn demo_on_server(ctx: &Ctx, a: DemoArgs, url: &str) -> Result<i32> {
    let pg = store::pg::Pg::connect(url, false)?;
    if a.force {
        return Err(Error::bad(
            "--force replaces a file; a server's database is not replaced: make a new one (createdb) and run the demo there",
        ));
    }
    // Refused before the work, not after it.
    store::pg::copy::check_empty(&pg)?;
    let started = std::time::Instant::now();
    let dir = tempfile::Builder::new().prefix("crmtop-demo").tempdir()?;
    let mut store = store::open(&dir.path().join("demo.db"), Mode::ReadWrite)?;
    let printer = super::progress_printer();
    let mut s = generate_demo(ctx, &a, &mut store.conn, &printer)?;
    let copied = store::pg::copy::from_sqlite(&store.conn, &pg, &mut |t, n| {
        printer(crate::jobs::Progress {
            phase: format!("copying {t}"),
            done: n,
            total: 0,
        })
    });
    super::progress_done();
    copied?;
    let r: Result<()> = Ok(());
    super::warm_server_dashboard(ctx, &pg, &r, &printer);
    // The time said is the whole of it: making it and copying it there
    // (the making alone said 16 s of a 2.5 minute demo at 200,000).
    s.duration_ms = started.elapsed().as_millis() as u64;
    said_demo(&a, &pg.shown, &s)
}
