//! `crmtop doctor` on PostgreSQL: the schema version, the queue against
//! the feedback items, rows that lost their customer, the audit log's
//! replay and its append-only triggers. The server keeps its own files
//! sound (WAL, checksums); `pg_amcheck` is the tool for that.

use super::Pg;
use crate::error::Result;
use crate::store::doctor::{Finding, Report, Severity};
use crate::store::sql::Sql;

fn count(pg: &Pg, sql: &str) -> Result<i64> {
    pg.count(sql, &[])
}

fn finding(check: &'static str, problem: Option<(String, String)>, ok: String) -> Finding {
    match problem {
        Some((message, fix)) => Finding {
            check,
            severity: Severity::Error,
            message,
            fix: Some(fix),
            fixed: false,
        },
        None => Finding {
            check,
            severity: Severity::Ok,
            message: ok,
            fix: None,
            fixed: false,
        },
    }
}

/// Check the database; with `fix`, rebuild the queue rows that are out of
/// step (derived from the items, nothing is lost).
pub fn run(pg: &Pg, fix: bool) -> Result<Report> {
    let mut findings = Vec::new();
    let v = pg.version()?;
    let latest = super::latest_version();
    let schema = finding(
        "schema",
        (v != latest).then(|| {
            if v > latest {
                (
                    format!(
                        "version {v}, written by a newer crmtop (this one knows up to {latest})"
                    ),
                    "upgrade crmtop".into(),
                )
            } else {
                (
                    format!("version {v}, this crmtop writes {latest}"),
                    "crmtop doctor --fix (or any writing command) upgrades it".into(),
                )
            }
        }),
        format!("version {v} (PostgreSQL)"),
    );
    // The other checks read the tables of the current schema.
    if v != latest {
        return Ok(Report {
            path: pg.shown.clone(),
            findings: vec![schema],
            healthy: false,
        });
    }
    findings.push(schema);
    let missing = count(
        pg,
        "SELECT count(*) FROM feedback f WHERE f.status IN ('new','open','pending','escalated')
           AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.fid = f.fid)",
    )?;
    let stale = count(
        pg,
        "SELECT count(*) FROM queue q JOIN feedback f ON f.fid = q.fid
          WHERE f.status NOT IN ('new','open','pending','escalated')
             OR f.status <> q.status OR f.assignee IS DISTINCT FROM q.assignee",
    )?;
    let open = count(pg, "SELECT count(*) FROM queue")?;
    let mut queue = finding(
        "queue",
        (missing + stale > 0).then(|| {
            (
                format!("{missing} open items missing from the queue, {stale} queue rows out of step with their item"),
                "crmtop doctor --fix rebuilds them from the items".into(),
            )
        }),
        format!("{open} open items, in step with the feedback table"),
    );
    if fix && missing + stale > 0 && !pg.read_only {
        let fids: Vec<i64> = pg
            .rows(
                "SELECT f.fid FROM feedback f LEFT JOIN queue q ON q.fid = f.fid
                  WHERE (f.status IN ('new','open','pending','escalated') AND q.fid IS NULL)
                     OR (q.fid IS NOT NULL AND (f.status <> q.status OR f.assignee IS DISTINCT FROM q.assignee))",
                &[],
            )?
            .iter()
            .map(|r| r.i64(0))
            .collect::<Result<_>>()?;
        pg.begin("BEGIN")?;
        let r = fids
            .iter()
            .try_for_each(|fid| crate::store::feedback::requeue(pg, *fid));
        pg.finish(r)?;
        queue.fixed = true;
    }
    findings.push(queue);
    // Customers' order totals (kept by imports) against their orders.
    const TOTALS: &str = "FROM customers c LEFT JOIN (SELECT cid, count(*) AS n, sum(amount) AS r, min(ts) AS f, max(ts) AS l
                                FROM orders GROUP BY cid) a ON a.cid = c.cid
          WHERE c.n_orders <> COALESCE(a.n, 0) OR abs(c.revenue - COALESCE(a.r, 0)) > 1e-6 * (1 + abs(c.revenue))
             OR c.first_order IS DISTINCT FROM a.f OR c.last_order IS DISTINCT FROM a.l";
    // sql-format-ok: a constant.
    let off = count(pg, &format!("SELECT count(*) {TOTALS}"))?;
    let mut totals = finding(
        "customer totals",
        (off > 0).then(|| {
            (
                format!("{off} customers' order count, revenue or first/last order differ from their orders"),
                "crmtop doctor --fix recomputes them from the orders".into(),
            )
        }),
        "every customer's order count, revenue and first/last order match the orders".into(),
    );
    if fix && off > 0 && !pg.read_only {
        pg.begin("BEGIN")?;
        let r = pg
            .exec(
                "UPDATE customers x SET n_orders = COALESCE(a.n, 0), revenue = COALESCE(a.r, 0),
                       first_order = a.f, last_order = a.l,
                       since = COALESCE(CASE WHEN x.signup_date IS NOT NULL THEN x.since END, a.f)
                     FROM customers c LEFT JOIN (SELECT cid, count(*) AS n, sum(amount) AS r, min(ts) AS f, max(ts) AS l
                                FROM orders GROUP BY cid) a ON a.cid = c.cid
                     WHERE x.cid = c.cid AND (c.n_orders <> COALESCE(a.n, 0) OR abs(c.revenue - COALESCE(a.r, 0)) > 1e-6 * (1 + abs(c.revenue))
                        OR c.first_order IS DISTINCT FROM a.f OR c.last_order IS DISTINCT FROM a.l)",
                &[],
            )
            .map(|_| ());
        pg.finish(r)?;
        totals.fixed = true;
    }
    findings.push(totals);
    // The active figures against the active version's scores.
    if let Some(id) = pg
        .row("SELECT id FROM models WHERE active", &[])?
        .map(|r| r.i64(0))
        .transpose()?
    {
        let off = pg.count(
            "SELECT count(*) FROM (SELECT cid, prob FROM churn_scores WHERE model_id = ?1) s
                    FULL JOIN active_churn a ON a.cid = s.cid
              WHERE s.cid IS NULL OR a.cid IS NULL OR a.prob IS DISTINCT FROM s.prob",
            &[crate::store::sql::int(id)],
        )?;
        let mut model = finding(
            "active model",
            (off > 0).then(|| {
                (
                    format!("{off} customers' active churn probability differs from model v{id}'s score"),
                    format!("crmtop doctor --fix (or crmtop model activate {id}) rewrites them"),
                )
            }),
            format!("model v{id}'s scores are the active figures"),
        );
        if fix && off > 0 && !pg.read_only {
            super::models::activate(pg, id, "doctor")?;
            model.fixed = true;
        }
        findings.push(model);
        // Customers added since it scored, as a file's doctor says it.
        let missing = count(
            pg,
            "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM active_churn a WHERE a.cid = c.cid)",
        )?;
        let customers = count(pg, "SELECT count(*) FROM customers")?;
        findings.push(crate::store::doctor::unscored(missing, customers));
    }
    // The active CLV fit's values (the server keeps no other): every value
    // a customer's, and a fit active when there are values.
    let fit = pg
        .row("SELECT id, customers FROM clv_fits WHERE active", &[])?
        .map(|r| Ok::<_, crate::Error>((r.i64(0)?, r.i64(1)?)))
        .transpose()?;
    let values = count(pg, "SELECT count(*) FROM active_clv")?;
    let valued = count(pg, "SELECT count(*) FROM active_clv WHERE clv IS NOT NULL")?;
    let strays = count(
        pg,
        "SELECT count(*) FROM active_clv v WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.cid = v.cid)",
    )?;
    findings.push(finding(
        "CLV values",
        match (fit, values) {
            (None, n) if n > 0 => Some((
                format!("{n} customers have CLV values but no CLV fit is active"),
                "run crmtop clv to fit and value them again".into(),
            )),
            _ if strays > 0 => Some((
                format!("{strays} CLV values belong to no customer"),
                "run crmtop clv to value the customers again".into(),
            )),
            (Some((id, n)), _) if n != valued => Some((
                format!("fit #{id} valued {n} customers; {valued} have a CLV"),
                "run crmtop clv to value the customers again".into(),
            )),
            _ => None,
        },
        match fit {
            Some((id, _)) => format!("fit #{id}'s values: {valued} customers with a CLV"),
            None => "no CLV fit yet".into(),
        },
    ));
    let lost = count(
        pg,
        "SELECT count(*) FROM customer_clusters k WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.cid = k.cid)",
    )?;
    let clustered = count(pg, "SELECT count(*) FROM customer_clusters")?;
    findings.push(finding(
        "clusters",
        (lost > 0).then(|| {
            (
                format!("{lost} cluster assignments belong to no customer"),
                "run crmtop clusters again".into(),
            )
        }),
        if clustered > 0 {
            format!("{clustered} customers in the latest clusters")
        } else {
            "no clusters yet".into()
        },
    ));
    // Attributes have no foreign key on a server (a large load writes one
    // row per customer and no lookup): a stray row is found here.
    let strays = count(
        pg,
        "SELECT count(*) FROM customer_attrs a WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.cid = a.cid)",
    )?;
    let with = count(pg, "SELECT count(*) FROM customer_attrs")?;
    let mut attrs = finding(
        "attributes",
        (strays > 0).then(|| {
            (
                format!("{strays} customers' attributes belong to no customer"),
                "crmtop doctor --fix gives them a placeholder customer 'restored-<key>' (nothing is deleted)".into(),
            )
        }),
        format!("{with} customers with attributes; every attribute row belongs to a customer"),
    );
    if fix && strays > 0 && !pg.read_only {
        pg.begin("BEGIN")?;
        let r = pg
            .exec(
                "INSERT INTO customers(cid, id)
                 SELECT a.cid, 'restored-' || a.cid FROM customer_attrs a
                  WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.cid = a.cid)",
                &[],
            )
            .map(|_| ());
        pg.finish(r)?;
        attrs.fixed = true;
    }
    findings.push(attrs);
    let audit = crate::store::audit::replay_feedback(pg)?;
    findings.push(finding(
        "audit log",
        (!audit.problems.is_empty()).then(|| {
            (
                format!(
                    "{} problems replaying {} entries: {}",
                    audit.problems.len(),
                    audit.entries,
                    audit.problems.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                ),
                "an update was lost or the log was changed outside crmtop; compare with a pg_dump backup".into(),
            )
        }),
        format!(
            "{} workflow {} replay to the state of {} {}",
            audit.entries,
            if audit.entries == 1 { "entry" } else { "entries" },
            audit.items,
            if audit.items == 1 { "item" } else { "items" }
        ),
    ));
    let guards = count(
        pg,
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass
           AND tgname IN ('audit_log_no_update', 'audit_log_no_delete', 'audit_log_no_truncate')
           AND tgenabled IN ('O', 'A')",
    )?;
    findings.push(finding(
        "append-only",
        (guards < 3).then(|| {
            (
                format!("{guards} of the audit log's 3 guard triggers are enabled"),
                "someone disabled them (ALTER TABLE audit_log ENABLE TRIGGER ALL restores them); see the README for a role that cannot".into(),
            )
        }),
        "UPDATE, DELETE and TRUNCATE of the audit log are refused".into(),
    ));
    findings.push(jobs(pg, fix)?);
    let healthy = findings
        .iter()
        .all(|f| f.severity == Severity::Ok || f.fixed);
    Ok(Report {
        path: pg.shown.clone(),
        findings,
        healthy,
    })
}

/// Jobs left running by a process (or a connection) that ended, as a
/// file's doctor finds them; `fix` records them as died.
fn jobs(pg: &Pg, fix: bool) -> Result<Finding> {
    // As a file's opening for writing records them (doctor opens it so),
    // unless read-only, or run by a role that may not write the record
    // (an agent's): then they are shown as left running.
    let _ = super::jobs::reap_dead(pg);
    let stale = super::jobs::stale(pg)?;
    if stale.is_empty() {
        let running = super::jobs::running(pg)?;
        let died = super::jobs::died(pg, 5)?;
        let history = crate::store::jobs::history_text(&died);
        let said = |r: &super::jobs::Running| {
            format!(
                "{} #{} by {} (pid {} on {}, started {})",
                r.job.kind,
                r.job.id,
                r.job.agent,
                r.job.pid,
                r.host,
                crate::timeutil::ts_to_minute_string(r.job.started_at)
            )
        };
        let (orphans, live): (Vec<_>, Vec<_>) = running.iter().partition(|r| r.orphaned);
        if orphans.is_empty() {
            let now: Vec<String> = live.iter().map(|r| said(r)).collect();
            return Ok(finding(
                "jobs",
                None,
                if now.is_empty() {
                    history
                } else {
                    format!("running now: {}; {history}", now.join(", "))
                },
            ));
        }
        // A process killed mid-statement: the server goes on with its
        // transaction until it next talks to the process, then rolls it
        // back. Meanwhile it holds its locks (another import waits).
        let mut f = Finding {
            check: "jobs",
            severity: Severity::Warning,
            message: format!(
                "{}: the process is gone, but the server still runs its transaction; it will be rolled back (nothing of it is kept), and holds its locks until then",
                orphans.iter().map(|r| said(r)).collect::<Vec<_>>().join(", ")
            ),
            fix: Some("crmtop doctor --fix ends it now (pg_terminate_backend)".into()),
            fixed: false,
        };
        if fix && !pg.read_only {
            let mut ended = true;
            for r in &orphans {
                ended &= r
                    .backend
                    .is_some_and(|b| super::jobs::end_orphan(pg, b).unwrap_or(false));
            }
            f.fixed = ended;
        }
        return Ok(f);
    }
    let mut f = Finding {
        check: "jobs",
        severity: Severity::Warning,
        message: crate::store::jobs::stale_text(&stale),
        fix: Some(crate::store::jobs::STALE_FIX.into()),
        fixed: false,
    };
    if fix && !pg.read_only {
        super::jobs::reap_dead(pg)?;
        f.fixed = true;
    }
    Ok(f)
}
