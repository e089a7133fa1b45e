//! Operations: backup and doctor.

use super::{print_json, Ctx, OK};
use crate::error::{exit, Error, Result};
use crate::jobs::Ctl;
use crate::store::{backup, doctor};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the copy goes (a private file, mode 0600)
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn backup(ctx: &Ctx, a: BackupArgs) -> Result<i32> {
    let path = ctx.db_path();
    if let Some(url) = path.to_str().filter(|p| crate::store::pg::is_url(p)) {
        return Err(Error::bad(format!(
            "a PostgreSQL database is backed up with PostgreSQL's own tool, which takes a consistent copy while agents work: \
             pg_dump -Fc -f crmtop.dump '{}' (restore with pg_restore -d URL crmtop.dump)",
            crate::store::pg::without_password(url)
        )));
    }
    let printer = super::progress_printer();
    let r = backup::backup(
        &path,
        &a.to,
        a.force,
        Ctl::new(&printer, crate::signals::cancel_flag()),
    );
    super::progress_done();
    let s = r?;
    if a.json {
        print_json(&s)?;
    } else {
        crate::outln!(
            "{} -> {}: {} pages, {:.1} MB in {:.1} s (a consistent copy; agents kept working)",
            s.source,
            s.target,
            s.pages,
            s.bytes as f64 / (1 << 20) as f64,
            s.duration_ms as f64 / 1000.0
        );
    }
    Ok(OK)
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Apply the fixes that lose nothing (checkpoint, stale jobs, derived tables, file modes)
    #[arg(long)]
    pub fix: bool,
    /// A quick integrity check (PRAGMA quick_check) instead of the full one
    #[arg(long)]
    pub quick: bool,
    /// Copy every row that can still be read from a damaged database into a
    /// new database FILE (what `sqlite3 .recover` does)
    #[arg(long, value_name = "FILE", conflicts_with = "fix")]
    pub salvage: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn doctor(ctx: &Ctx, a: DoctorArgs) -> Result<i32> {
    if a.fix && ctx.global.read_only {
        return Err(Error::ReadOnly("doctor --fix".into()));
    }
    let path = ctx.db_path();
    if let Some(url) = path.to_str().filter(|p| crate::store::pg::is_url(p)) {
        if a.salvage.is_some() {
            return Err(Error::bad(
                "--salvage reads a damaged SQLite file; a PostgreSQL database is restored from its pg_dump backup",
            ));
        }
        // Only --fix upgrades an old schema; a check reports it.
        let pg = if a.fix {
            crate::store::pg::Pg::connect(url, false)?
        } else {
            crate::store::pg::Pg::connect_as_is(url, ctx.global.read_only)?
        };
        let r = crate::store::pg::doctor::run(&pg, a.fix)?;
        return print_report(&r, a.fix, a.json);
    }
    if let Some(out) = &a.salvage {
        if out.exists() {
            return Err(Error::File {
                path: out.clone(),
                message: "already exists; salvage writes a new file".into(),
            });
        }
        let r = match crate::store::salvage::salvage(&path, out) {
            Ok(r) => r,
            Err(e @ (Error::Cancelled | Error::BadInput(_) | Error::ReadOnly(_))) => return Err(e),
            Err(e) => {
                crate::errln!(
                    "crmtop: nothing could be salvaged from {} ({e}); restore the latest backup",
                    path.display()
                );
                return Ok(exit::PROBLEMS);
            }
        };
        if a.json {
            print_json(&r)?;
        } else {
            crate::outln!("salvaged {} into {}", r.source, r.target);
            for t in &r.tables {
                crate::outln!(
                    "  {:<22} {:>9} rows{}",
                    t.name,
                    t.copied,
                    if t.unreadable_ranges > 0 {
                        format!("  ({} unreadable spots skipped)", t.unreadable_ranges)
                    } else {
                        String::new()
                    }
                );
            }
            crate::outln!(
                "next: crmtop doctor --fix --db {} (rebuilds what is derived), then use it in place of the damaged file",
                r.target
            );
        }
        return Ok(OK);
    }
    let r = match doctor::run(
        &path,
        doctor::Options {
            fix: a.fix,
            quick: a.quick,
            read_only: ctx.global.read_only,
        },
    ) {
        Ok(r) => r,
        // A file that cannot be opened at all, or is missing: input error.
        Err(e @ (Error::File { .. } | Error::ReadOnly(_) | Error::BadInput(_))) => return Err(e),
        // Anything else went wrong inside a damaged file: report, exit 6.
        Err(e) => {
            let r = doctor::Report {
                path: path.display().to_string(),
                findings: vec![doctor::Finding {
                    check: "database",
                    severity: doctor::Severity::Error,
                    message: format!("the check stopped: {e}"),
                    fix: Some(format!(
                        "copy what is readable into a new file: crmtop doctor --salvage NEW.db --db {}",
                        path.display()
                    )),
                    fixed: false,
                }],
                healthy: false,
            };
            if a.json {
                print_json(&r)?;
            } else {
                crate::outln!("{}", r.path);
                for f in &r.findings {
                    crate::outln!("  ERROR  {:<13} {}", f.check, f.message);
                    if let Some(fix) = &f.fix {
                        crate::outln!("  {:<6} {:<13} fix: {fix}", "", "");
                    }
                }
            }
            return Ok(exit::PROBLEMS);
        }
    };
    print_report(&r, a.fix, a.json)
}

fn print_report(r: &doctor::Report, fix: bool, json: bool) -> Result<i32> {
    if json {
        print_json(r)?;
    } else {
        crate::outln!("{}", r.path);
        // The checks' names in a column as wide as the longest.
        let w = r.findings.iter().map(|f| f.check.len()).max().unwrap_or(0);
        for f in &r.findings {
            let mark = match (f.severity, f.fixed) {
                (_, true) => "fixed",
                (doctor::Severity::Ok, _) => "ok",
                (doctor::Severity::Warning, _) => "WARN",
                (doctor::Severity::Error, _) => "ERROR",
            };
            crate::outln!("  {mark:<6} {:<w$} {}", f.check, f.message);
            if let (Some(fix), false) = (&f.fix, f.fixed) {
                crate::outln!("  {:<6} {:<w$} fix: {fix}", "", "");
            }
        }
        crate::outln!(
            "{}",
            if r.healthy {
                "healthy"
            } else if fix {
                "problems remain (see above)"
            } else if r.findings.iter().any(|f| f.severity != doctor::Severity::Ok
                && !f.fixed
                && f.fix.as_deref().is_some_and(|x| x.contains("--fix")))
            {
                "problems found (see above; crmtop doctor --fix repairs those that can be repaired without losing anything)"
            } else {
                "problems found (see above; each says what to do)"
            }
        );
    }
    Ok(if r.healthy { OK } else { exit::PROBLEMS })
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// What to copy: a crmtop SQLite file, or a PostgreSQL URL
    #[arg(long, value_name = "FILE|URL")]
    pub from: String,
    /// Where to: an empty PostgreSQL database (postgres://USER@HOST/DBNAME),
    /// or a new file
    #[arg(long, value_name = "URL|FILE")]
    pub to: String,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// `crmtop migrate --from FILE --to URL`, or back.
pub fn migrate(ctx: &Ctx, a: MigrateArgs) -> Result<i32> {
    use crate::store::pg::{copy, is_url, Pg};
    if ctx.global.read_only {
        return Err(Error::ReadOnly("migrate".into()));
    }
    let started = std::time::Instant::now();
    let verbose = !a.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut progress = |t: &str, n: u64| {
        if verbose {
            crate::errln!("  {t}: {n} rows");
        }
    };
    let (from, to, copied, after) = match (is_url(&a.from), is_url(&a.to)) {
        (false, true) => {
            let path = std::path::Path::new(&a.from);
            if !path.exists() {
                return Err(Error::File {
                    path: path.to_path_buf(),
                    message: "no such database file to copy from".into(),
                });
            }
            let file = crate::store::open(path, crate::store::Mode::ReadOnly)?;
            let pg = Pg::connect(&a.to, false)?;
            let copied = copy::from_sqlite(&file.conn, &pg, &mut progress)?;
            (
                a.from.clone(),
                pg.shown.clone(),
                copied,
                "The customers with their attributes, orders, events, feedback queue, audit log, campaigns, the latest clusters, the active churn model with every customer's score and drivers, and the active CLV fit with every customer's values are on the server. \
                 Older model versions and CLV fits stay in the file. Every screen and command runs on the server.",
            )
        }
        (true, false) => {
            let path = PathBuf::from(&a.to);
            if path.exists() {
                return Err(Error::File {
                    path,
                    message: "already exists; migrate writes a new file".into(),
                });
            }
            let pg = Pg::connect(&a.from, true)?;
            let mut file = crate::store::open(&path, crate::store::Mode::ReadWrite)?;
            let copied = match copy::to_sqlite(&pg, &mut file.conn, &mut progress) {
                Ok(c) => c,
                Err(e) => {
                    drop(file);
                    for f in crate::outfile::database_files(&path) {
                        let _ = std::fs::remove_file(f);
                    }
                    return Err(e);
                }
            };
            (
                pg.shown.clone(),
                a.to.clone(),
                copied,
                "The customers, orders, events, feedback queue and audit log are in the file. \
                 Churn probabilities and CLV are not: run crmtop train and crmtop clv on it.",
            )
        }
        _ => {
            return Err(Error::bad(
                "migrate copies between a crmtop file and a PostgreSQL database: --from FILE --to postgres://..., or --from postgres://... --to NEW_FILE",
            ))
        }
    };
    let secs = started.elapsed().as_secs_f64();
    if a.json {
        print_json(&serde_json::json!({
            "from": from,
            "to": to,
            "seconds": secs,
            "tables": copied,
        }))?;
        return Ok(OK);
    }
    crate::outln!("{from} -> {to} in {secs:.1} s");
    let w = copied.iter().map(|c| c.table.len()).max().unwrap_or(0);
    for c in &copied {
        crate::outln!(
            "  {:<w$} {:>10} {:<4}  checksum {} (equal on both sides)",
            c.table,
            crate::analytics::priority::count(c.rows as i64),
            if c.rows == 1 { "row" } else { "rows" },
            c.checksum
        );
    }
    crate::outln!("{after}");
    Ok(OK)
}
