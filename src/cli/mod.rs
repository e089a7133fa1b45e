//! The command line: clap types and one function per subcommand.
//! Every command prints a human summary, or JSON with `--json`.

mod campaign;
mod churn;
mod clusters;
mod clv;
mod data;
mod demo;
mod feedback;
mod nba;
mod ops;
mod recommend;
mod survival;

pub use demo::{build_demo, first_models};

use crate::config::Config;
use crate::error::{exit, Error, Result};
use crate::store::{self, Mode, Store};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "crmtop",
    version,
    about = "A keyboard-driven terminal dashboard for customer retention: churn, CLV and feedback triage on one SQLite file or a PostgreSQL server.",
    long_about = None,
    after_help = "Run without a command to open the terminal UI. Exit codes: 0 ok, 1 failure, 2 bad input or refused, 3 rows rejected, 4 conflict with another agent, 5 queue empty, 6 doctor found problems, 130 cancelled."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Database file, or a PostgreSQL URL (postgres://USER@HOST/DBNAME) [default: $CRMTOP_DB, else ./crmtop.db]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Who is acting (audit log, queue) [default: $CRMTOP_AGENT, else the OS user]
    #[arg(long, global = true, value_name = "NAME")]
    pub agent: Option<String>,
    /// Open the database read-only (a file at the SQLite level, a server in read-only transactions); every write is refused
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Mask names, e-mails and phone numbers on screen and in exports
    #[arg(long, global = true)]
    pub mask_pii: bool,
    /// Config file [default: $CRMTOP_CONFIG, else ~/.config/crmtop/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Open the UI on a demo database (created at the demo path if missing)
    #[arg(long)]
    pub demo: bool,
    /// No colours (NO_COLOR is respected too)
    #[arg(long)]
    pub no_color: bool,
    /// Enable mouse support in the UI
    #[arg(long)]
    pub mouse: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a CSV file of customers, orders, feedback or events
    Import(data::ImportArgs),
    /// Generate a demo company (deterministic for a seed)
    Demo(demo::DemoArgs),
    /// Schema version, counts and date range
    Info(JsonFlag),
    /// Write records to stdout as CSV or JSON Lines
    Export(data::ExportArgs),
    /// Train a churn model version (and score every customer)
    Train(churn::TrainArgs),
    /// List, show and activate churn model versions
    #[command(subcommand)]
    Model(churn::ModelCmd),
    /// Re-score every customer with the active churn model
    Score(churn::ScoreArgs),
    /// Fit BG/NBD + Gamma-Gamma and value every customer (CLV, P(alive), RFM)
    Clv(clv::ClvArgs),
    /// RFM segments and the age x income matrix
    Segments(clv::SegmentsArgs),
    /// Kaplan-Meier retention curves by group, with the log-rank test
    Survival(survival::SurvivalArgs),
    /// Behavioural clusters (k-means on recency, frequency, spend, tenure, engagement, feedback), profiled and named
    Clusters(clusters::ClustersArgs),
    /// The feedback queue: list, next, claim, assign, pending, resolve, escalate, reopen, show
    #[command(subcommand)]
    Feedback(feedback::FeedbackCmd),
    /// Association rules between products (support, confidence, lift)
    Rules(recommend::RulesArgs),
    /// Products to offer a customer next (item-to-item), with the offline evaluation
    Recommend(recommend::RecommendArgs),
    /// The action with the highest expected gain for each customer at risk, explained
    NextAction(nba::NextActionArgs),
    /// Retention campaigns with control groups: create, list, show, next, outcome, report, close
    #[command(subcommand)]
    Campaign(campaign::CampaignCmd),
    /// Copy the database while agents work (SQLite's online backup API)
    Backup(ops::BackupArgs),
    /// Check integrity, schema, WAL, orphan rows, stale jobs, the audit log; --fix repairs
    Doctor(ops::DoctorArgs),
    /// Copy a crmtop database from a file into a PostgreSQL database, or back into a new file (checked by counts and checksums)
    Migrate(ops::MigrateArgs),
}

#[derive(Debug, Args, Clone, Copy)]
pub struct JsonFlag {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Csv,
    Json,
}

/// Everything a command needs besides its own arguments.
pub struct Ctx {
    pub global: Global,
    pub config: Config,
    pub agent: String,
}

impl Ctx {
    pub fn new(global: Global) -> Result<Ctx> {
        let config = Config::load(global.config.as_deref())?;
        if global.agent.as_deref().is_some_and(|a| a.trim().is_empty()) {
            // Said, not replaced by the OS user: a script passing an unset
            // variable would otherwise act under another name.
            return Err(Error::BadInput(
                "--agent is empty: give a name, or leave it out to act as $CRMTOP_AGENT or the OS user"
                    .into(),
            ));
        }
        let agent = crate::agent::resolve(global.agent.as_deref());
        crate::agent::validate(&agent).map_err(Error::BadInput)?;
        Ok(Ctx {
            global,
            config,
            agent,
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.global
            .db
            .clone()
            .unwrap_or_else(store::default_db_path)
    }

    pub fn mask_pii(&self) -> bool {
        self.global.mask_pii || self.config.mask_pii
    }

    /// Open the database for reading: read-only at the SQLite level, so a
    /// reading command never creates, migrates or changes a file.
    pub fn open_for_read(&self) -> Result<Store> {
        let path = self.db_path();
        // A server's URL: say what runs there, not "no such file".
        store::check_regular(&path)?;
        if !path.exists() {
            return Err(Error::File {
                path,
                message: "no such database; create one with `crmtop demo` or `crmtop import`"
                    .into(),
            });
        }
        store::open(&path, Mode::ReadOnly)
    }

    /// The database on either engine, for reading (the commands that run on
    /// PostgreSQL too).
    pub fn open_db_for_read(&self) -> Result<store::Db> {
        let path = self.db_path();
        if path.to_str().is_some_and(store::pg::is_url) {
            return store::Db::open(&path, Mode::ReadOnly);
        }
        Ok(store::Db::File(self.open_for_read()?))
    }

    /// The database on either engine, for a write.
    pub fn open_db_for_write(&self, what: &str) -> Result<store::Db> {
        if self.global.read_only {
            return Err(Error::ReadOnly(what.to_string()));
        }
        store::Db::open(&self.db_path(), Mode::ReadWrite)
    }

    /// Open the database for a write, refusing in read-only mode.
    pub fn open_for_write(&self, what: &str) -> Result<Store> {
        if self.global.read_only {
            return Err(Error::ReadOnly(what.to_string()));
        }
        store::open(&self.db_path(), Mode::ReadWrite)
    }
}

/// Print a value as pretty JSON on stdout (a closed pipe is an I/O error,
/// not a panic).
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    use std::io::Write;
    let s = crate::term::json_escape_controls(serde_json::to_string_pretty(v)?);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}")?;
    out.flush()?;
    Ok(())
}

/// Run a subcommand; returns the process exit code.
pub fn run(command: Command, ctx: &Ctx) -> Result<i32> {
    match command {
        Command::Import(a) => data::import(ctx, a),
        Command::Demo(a) => demo::demo(ctx, a),
        Command::Info(j) => data::info(ctx, j.json),
        Command::Export(a) => data::export(ctx, a),
        Command::Train(a) => churn::train(ctx, a),
        Command::Model(c) => churn::model(ctx, c),
        Command::Score(a) => churn::score(ctx, a),
        Command::Clv(a) => clv::clv(ctx, a),
        Command::Segments(a) => clv::segments(ctx, a),
        Command::Survival(a) => survival::survival(ctx, a),
        Command::Clusters(a) => clusters::clusters(ctx, a),
        Command::Campaign(c) => campaign::campaign(ctx, c),
        Command::NextAction(a) => nba::next_action(ctx, a),
        Command::Rules(a) => recommend::rules(ctx, a),
        Command::Recommend(a) => recommend::recommend(ctx, a),
        Command::Feedback(c) => feedback::run(ctx, c),
        Command::Backup(a) => ops::backup(ctx, a),
        Command::Doctor(a) => ops::doctor(ctx, a),
        Command::Migrate(a) => ops::migrate(ctx, a),
    }
}

/// Record how a job ended in the jobs table.
/// After a job changed the data: the dashboard's aggregates are computed
/// now, while the job still holds the user's attention, so the first screen
/// after it never pays for them. A cache: when it cannot be written (another
/// writer), a UI computes it on first view, as before.
pub fn warm_dashboard<T>(
    ctx: &Ctx,
    conn: &crate::store::Conn,
    result: &Result<T>,
    printer: &dyn Fn(crate::jobs::Progress),
) {
    // A job that computed them in its transaction left nothing to do, and
    // says nothing (a second dashboard phase after its own read as work).
    if store::dashboard::is_current(conn, ctx.config.thresholds.high).unwrap_or(false) {
        return;
    }
    warm_with(ctx, result, printer, &|high, medium| {
        store::dashboard::warm(conn, high, medium)
    });
}

/// `warm_dashboard` on a server (its cache is in `meta`, for every UI).
pub fn warm_server_dashboard<T>(
    ctx: &Ctx,
    pg: &crate::store::pg::Pg,
    result: &Result<T>,
    printer: &dyn Fn(crate::jobs::Progress),
) {
    warm_with(ctx, result, printer, &|high, medium| {
        store::pg::dashboard::aggregates(pg, true, high, medium).map(|_| ())
    });
}

/// After a job that succeeded: say so, and compute the aggregates with
/// the configured thresholds (best effort).
fn warm_with<T>(
    ctx: &Ctx,
    result: &Result<T>,
    printer: &dyn Fn(crate::jobs::Progress),
    warm: &dyn Fn(f64, f64) -> Result<()>,
) {
    if result.is_ok() {
        printer(crate::jobs::Progress {
            phase: "preparing the dashboard".into(),
            done: 0,
            total: 1,
        });
        let t = &ctx.config.thresholds;
        let _ = warm(t.high, t.medium);
    }
}

pub fn finish_job<T>(conn: &crate::store::Conn, job: i64, result: &Result<T>) {
    let (status, msg) = job_end(result);
    let _ = store::jobs::finish(conn, job, status, msg.as_deref());
}

/// `finish_job` on a server.
pub fn finish_server_job<T>(pg: &store::pg::Pg, job: i64, result: &Result<T>) {
    let (status, msg) = job_end(result);
    let _ = store::pg::jobs::finish(pg, job, status, msg.as_deref());
}

/// How a job ended, as its record says it.
fn job_end<T>(result: &Result<T>) -> (&'static str, Option<String>) {
    match result {
        Ok(_) => ("done", None),
        Err(Error::Cancelled) => ("cancelled", None),
        Err(e) => ("failed", Some(e.to_string())),
    }
}

pub const OK: i32 = exit::OK;

/// A progress reporter for long commands: on a terminal, one updating line
/// on stderr; with `CRMTOP_PROGRESS=1`, one line per phase with its duration
/// (for logs and benchmarks); with `CRMTOP_PROGRESS=json`, JSON lines (for
/// the UI, which runs training and CLV fits as child processes); otherwise
/// silent.
///
/// Test hook of the crash-safety tests: `CRMTOP_TEST_STALL_AT=PHASE` makes
/// the job stop at the first report of a phase containing PHASE (after
/// printing it) until it is cancelled or killed, so a test can kill it at
/// an exact point instead of racing it.
pub fn progress_printer() -> impl Fn(crate::jobs::Progress) + Sync {
    let stall_at = std::env::var("CRMTOP_TEST_STALL_AT")
        .ok()
        .filter(|s| !s.is_empty());
    let print = progress_lines();
    move |p: crate::jobs::Progress| {
        let stall = stall_at.as_deref().is_some_and(|s| p.phase.contains(s));
        print(p);
        if stall {
            let cancel = crate::signals::cancel_flag();
            while !cancel.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

fn progress_lines() -> impl Fn(crate::jobs::Progress) + Sync {
    use std::io::{IsTerminal, Write};
    use std::sync::Mutex;
    use std::time::Instant;
    let mode = std::env::var("CRMTOP_PROGRESS").unwrap_or_default();
    let lines = mode == "1";
    // For the UI, which runs training and CLV fits as child processes.
    let json = mode == "json";
    let tty = std::io::stderr().is_terminal();
    let state = Mutex::new((String::new(), Instant::now(), Instant::now(), 0u16));
    let start = Instant::now();
    let stalling = std::env::var_os("CRMTOP_TEST_STALL_AT").is_some();
    move |p: crate::jobs::Progress| {
        let Ok(mut st) = state.lock() else { return };
        if json {
            let pct = p.percent();
            if stalling || st.0 != p.phase || (pct != st.3 && st.2.elapsed().as_millis() >= 50) {
                // Never a panic when the reader is gone (the UI was killed):
                // the job goes on to its cancel and rollback.
                let _ = writeln!(
                    std::io::stderr(),
                    "{}",
                    serde_json::json!({"phase": p.phase, "done": p.done, "total": p.total})
                );
                st.0 = p.phase.clone();
                st.2 = Instant::now();
                st.3 = pct;
            }
        } else if lines {
            if st.0 != p.phase {
                if !st.0.is_empty() {
                    let _ = writeln!(
                        std::io::stderr(),
                        "[{:7.2} s] {} done in {:.2} s",
                        start.elapsed().as_secs_f64(),
                        st.0,
                        st.1.elapsed().as_secs_f64()
                    );
                }
                st.0 = p.phase.clone();
                st.1 = Instant::now();
            }
        } else if tty {
            let pct = p.percent();
            if st.0 != p.phase || (pct != st.3 && st.2.elapsed().as_millis() > 100) {
                let mut e = std::io::stderr();
                let _ = write!(e, "\r\x1b[2K{} {pct}%", p.phase);
                let _ = e.flush();
                st.0 = p.phase.clone();
                st.2 = Instant::now();
                st.3 = pct;
            }
        }
    }
}

/// Clear the progress line (on a terminal) before printing a result.
pub fn progress_done() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() && std::env::var("CRMTOP_PROGRESS").is_err() {
        eprint!("\r\x1b[2K");
    }
}
