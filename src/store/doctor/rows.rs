//! Checks of the data: rows whose parent is gone, campaigns, jobs left by
//! dead processes, derived totals, the queue, the churn ranking, the search
//! index and the audit log's replay; each with its fix where one loses
//! nothing.

use super::*;

/// The full-text index of the queue's search against the items it indexes.
pub(super) fn check_search(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let off = search_index_mismatches(conn)?;
    if off == 0 {
        d.ok(
            "search index",
            "the queue's search index matches every item",
        );
        return Ok(());
    }
    let i = d.problem(
        "search index",
        Severity::Warning,
        format!("{off} feedback items are missing from the search index, stale in it, or in it though gone"),
        "crmtop doctor --fix rebuilds it from the items",
    );
    if fix {
        rebuild_search_index(conn)?;
        d.fixed(i, "rebuilt");
    }
    Ok(())
}

/// Items whose entry in the search index is missing or differs from what
/// the index is made of (`feedback_search_rows`: names and texts with the
/// letters FTS5 keeps spelled plainly, schema 17), plus entries of items
/// that are gone.
pub fn search_index_mismatches(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM feedback_search_rows s
                 LEFT JOIN feedback_fts x ON x.rowid = s.fid
                 WHERE x.rowid IS NULL OR x.id IS NOT s.id OR x.customer_id IS NOT s.customer_id
                    OR x.name IS NOT s.name OR x.text IS NOT s.text)
              + (SELECT count(*) FROM feedback_fts x WHERE x.rowid NOT IN (SELECT fid FROM feedback))",
        [],
        |r| r.get(0),
    )?)
}

/// Rebuild the search index from the items (what `doctor --fix` does).
pub fn rebuild_search_index(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "SAVEPOINT fts_rebuild;
         DELETE FROM feedback_fts;
         INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
             SELECT fid, id, customer_id, name, text FROM feedback_search_rows;
         RELEASE fts_rebuild;",
    )?;
    Ok(())
}

/// Rows that point at a customer, item, model or fit that is gone.
pub(super) fn check_foreign_keys(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let mut st = conn.prepare(
        "SELECT \"table\", parent, count(*) FROM pragma_foreign_key_check GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let orphans: Vec<(String, String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if orphans.is_empty() {
        d.ok(
            "orphan rows",
            "every row's customer, item, model and fit exists",
        );
        return Ok(());
    }
    let what: Vec<String> = orphans
        .iter()
        .map(|(t, p, n)| format!("{n} in {t} (missing {p})"))
        .collect();
    let i = d.problem(
        "orphan rows",
        Severity::Error,
        format!("rows whose parent is gone: {}", what.join(", ")),
        "crmtop doctor --fix: orders, events, feedback and attributes get a placeholder customer \
         'restored-<key>' (nothing is deleted); scores, values and queue rows, which are derived, \
         are removed and recomputed by the next train / clv",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        for table in [
            "orders",
            "events",
            "feedback",
            "customer_attrs",
            "campaign_work",
        ] {
            // The table names come from this list, not from the file.
            // sql-format-ok: a table name from a constant list.
            tx.execute(
                &format!(
                    "INSERT INTO customers(cid, id)
                     SELECT DISTINCT t.cid, 'restored-' || t.cid FROM {table} t
                     WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.cid = t.cid)"
                ),
                [],
            )?;
        }
        crate::store::scores::drop_orphans(&tx)?;
        crate::store::clv_values::drop_orphans(&tx)?;
        tx.execute_batch("DELETE FROM queue WHERE fid NOT IN (SELECT fid FROM feedback);")?;
        let left: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
        if left == 0 {
            crate::store::customers::refresh_all_order_aggregates(&tx)?;
            tx.commit()?;
            d.fixed(i, "placeholders created, derived rows removed");
        }
    }
    Ok(())
}

/// The campaigns' packed assignments: readable, counted right, ranked
/// once each, every member a customer (fix: a placeholder customer, as for
/// orders; a campaign's assignment is never changed).
pub(super) fn check_campaigns(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let (problems, missing) = crate::store::campaigns::check_assignments(conn)?;
    if problems.is_empty() && missing.is_empty() {
        d.ok(
            "campaigns",
            "every campaign's assignment reads back whole, each member a customer",
        );
        return Ok(());
    }
    if !problems.is_empty() {
        d.problem(
            "campaigns",
            Severity::Error,
            problems.join("; "),
            "restore the file from a backup (crmtop backup): an assignment is never rewritten",
        );
    }
    if !missing.is_empty() {
        let i = d.problem(
            "campaigns",
            Severity::Error,
            format!(
                "{} campaign members whose customer is gone",
                missing.len()
            ),
            "crmtop doctor --fix: they get a placeholder customer 'restored-<key>' (nothing is deleted)",
        );
        if fix {
            let tx = conn.unchecked_transaction()?;
            let mut st = tx.prepare(
                "INSERT OR IGNORE INTO customers(cid, id) VALUES (?1, 'restored-' || ?1)",
            )?;
            for cid in &missing {
                st.execute([cid])?;
            }
            drop(st);
            tx.commit()?;
            d.fixed(i, "placeholders created");
        }
    }
    Ok(())
}

pub(super) fn check_jobs(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let stale = crate::store::jobs::stale(conn)?;
    if stale.is_empty() {
        let died = crate::store::jobs::died(conn, 5).unwrap_or_default();
        d.ok("jobs", crate::store::jobs::history_text(&died));
        return Ok(());
    }
    let i = d.problem(
        "jobs",
        Severity::Warning,
        crate::store::jobs::stale_text(&stale),
        crate::store::jobs::STALE_FIX,
    );
    if fix {
        crate::store::jobs::clear_stale(conn)?;
        d.fixed(i, "marked failed");
    }
    Ok(())
}

/// The per-day sums of orders, events and feedback against the rows they sum.
pub(super) fn check_activity(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let faults = crate::store::activity::faults(conn)?;
    if faults.is_empty() {
        d.ok(
            "daily sums",
            "orders, events and feedback summed by customer and day match their rows",
        );
        return Ok(());
    }
    let what: Vec<String> = faults.iter().map(|(t, n)| format!("{n} in {t}")).collect();
    let i = d.problem(
        "daily sums",
        Severity::Warning,
        format!(
            "days whose sums differ from their rows (training and CLV read these): {}",
            what.join(", ")
        ),
        "crmtop doctor --fix recomputes them from the rows",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        crate::store::activity::rebuild(&tx)?;
        crate::store::packs::refresh(
            &tx,
            crate::store::packs::Scope::All,
            crate::jobs::Ctl::silent(),
        )?;
        tx.commit()?;
        d.fixed(i, "recomputed");
    }
    Ok(())
}

/// Each customer's packed history (what training reads) against their
/// daily sums.
pub(super) fn check_packs(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    use crate::store::packs;
    let bad = packs::faults(conn)?;
    let stale = packs::stale_count(conn)?;
    if bad == 0 {
        let waiting = match stale {
            0 => String::new(),
            n => format!(
                " ({n} changed since, read from their daily sums until the next import packs them)"
            ),
        };
        d.ok(
            "packed history",
            format!("every customer's packed history matches their daily sums{waiting}"),
        );
        return Ok(());
    }
    let i = d.problem(
        "packed history",
        Severity::Warning,
        format!(
            "{bad} customers' packed history differs from their daily sums (training reads it)"
        ),
        "crmtop doctor --fix packs every customer again from the daily sums",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        packs::refresh(&tx, packs::Scope::All, crate::jobs::Ctl::silent())?;
        tx.commit()?;
        d.fixed(i, "packed again");
    }
    Ok(())
}

/// Customer totals and monthly revenue against the orders they sum.
pub(super) fn check_totals(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let off: i64 = count(
        conn,
        "SELECT count(*) FROM customers c LEFT JOIN
           (SELECT cid, count(*) AS n, sum(amount) AS rev FROM orders GROUP BY cid) o ON o.cid = c.cid
         WHERE c.n_orders <> COALESCE(o.n, 0)
            OR abs(c.revenue - COALESCE(o.rev, 0)) > 0.005 + 1e-9 * abs(COALESCE(o.rev, 0))",
    )?;
    let months_off: i64 = count(
        conn,
        "SELECT count(*) FROM (
           SELECT strftime('%Y-%m', ts, 'unixepoch') AS month, count(*) AS n, sum(amount) AS rev
           FROM orders GROUP BY 1) o
         FULL JOIN monthly_revenue m ON m.month = o.month
         WHERE COALESCE(m.orders, 0) <> COALESCE(o.n, 0)
            OR abs(COALESCE(m.revenue, 0) - COALESCE(o.rev, 0)) > 0.005 + 1e-9 * abs(COALESCE(o.rev, 0))",
    )?;
    if off == 0 && months_off == 0 {
        d.ok(
            "totals",
            "customer totals and monthly revenue match the orders",
        );
        return Ok(());
    }
    let i = d.problem(
        "totals",
        Severity::Warning,
        format!(
            "{off} customers' order totals and {months_off} months of revenue differ from their orders"
        ),
        "crmtop doctor --fix recomputes them from the orders",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        crate::store::customers::refresh_all_order_aggregates(&tx)?;
        crate::store::customers::rebuild_monthly_revenue(&tx)?;
        crate::store::dashboard::bump_version(&tx)?;
        tx.commit()?;
        d.fixed(i, "recomputed");
    }
    Ok(())
}

/// The queue table holds exactly the open items, with their current state.
pub(super) fn check_queue(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let off: i64 = count(
        conn,
        "SELECT (SELECT count(*) FROM feedback f WHERE f.status IN ('new','open','pending','escalated')
                   AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.fid = f.fid AND q.status = f.status
                                   AND q.assignee IS f.assignee))
              + (SELECT count(*) FROM queue q WHERE NOT EXISTS (
                   SELECT 1 FROM feedback f WHERE f.fid = q.fid AND f.status IN ('new','open','pending','escalated')))",
    )?;
    if off == 0 {
        d.ok("queue", "the queue holds exactly the open feedback items");
        return Ok(());
    }
    let i = d.problem(
        "queue",
        Severity::Warning,
        format!(
            "{off} feedback items are missing from the queue, stale in it, or in it though closed"
        ),
        "crmtop doctor --fix rebuilds the queue from the feedback items",
    );
    if fix {
        let tx = conn.unchecked_transaction()?;
        crate::store::feedback::refresh_static_priority(&tx, None)?;
        tx.commit()?;
        d.fixed(i, "rebuilt");
    }
    Ok(())
}

pub(super) fn check_models(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let active = count(conn, "SELECT count(*) FROM models WHERE active = 1")?;
    if active > 1 {
        d.problem(
            "models",
            Severity::Error,
            format!("{active} churn models are marked active"),
            "crmtop model activate ID picks one",
        );
        return Ok(());
    }
    if let Some(id) = crate::store::models::active_id(conn)? {
        let (wrong, unranked, off) = crate::store::scores::rank_faults(conn, id)?;
        if wrong + unranked + off > 0 {
            let i = d.problem(
                "models",
                Severity::Error,
                format!(
                    "the active model's ranking disagrees with its scores: {wrong} wrong, {unranked} missing, {off} customers off"
                ),
                "crmtop doctor --fix rebuilds it from the scores",
            );
            if fix {
                let tx = conn.unchecked_transaction()?;
                crate::store::scores::rebuild_rank(&tx, id)?;
                tx.commit()?;
                d.fixed(i, "rebuilt");
            }
            return Ok(());
        }
    }
    if active == 1 {
        let missing = count(
            conn,
            "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM active_churn s WHERE s.cid = c.cid)",
        )?;
        let customers = count(conn, "SELECT count(*) FROM customers")?;
        d.findings.push(unscored(missing, customers));
    } else {
        d.ok("models", "no churn model yet (crmtop train makes one)");
    }
    Ok(())
}

/// The active CLV fit's values and the rankings the CLV screen walks
/// (fix: rebuilt from the values).
pub(super) fn check_clv_fit(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let active = count(conn, "SELECT count(*) FROM clv_fits WHERE active = 1")?;
    let Some(id) = crate::store::clv_values::active_fit(conn)? else {
        if active == 1 {
            d.problem(
                "CLV fit",
                Severity::Error,
                "the active CLV fit has no values",
                "crmtop clv fits again",
            );
        } else {
            d.ok("CLV fit", "no CLV fit yet (crmtop clv makes one)");
        }
        return Ok(());
    };
    let (wrong, unranked, off) = crate::store::clv_values::rank_faults(conn, id)?;
    if wrong + unranked + off > 0 {
        let i = d.problem(
            "CLV fit",
            Severity::Error,
            format!(
                "the active fit's rankings disagree with its values: {wrong} wrong, {unranked} missing, {off} customers off"
            ),
            "crmtop doctor --fix rebuilds them from the values",
        );
        if fix {
            let tx = conn.unchecked_transaction()?;
            crate::store::clv_values::rebuild_ranks(&tx, id)?;
            tx.commit()?;
            d.fixed(i, "rebuilt");
        }
        return Ok(());
    }
    d.ok(
        "CLV fit",
        format!("fit #{id}: its CLV and segment rankings agree with its values"),
    );
    Ok(())
}

pub(super) fn check_audit(d: &mut Doctor, conn: &Connection, fix: bool) -> Result<()> {
    let triggers = count(
        conn,
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'
         AND name IN ('audit_log_no_update', 'audit_log_no_delete')",
    )?;
    if triggers < 2 {
        let i = d.problem(
            "audit log",
            Severity::Error,
            "the triggers that keep the audit log append-only are missing",
            "crmtop doctor --fix creates them again",
        );
        if fix {
            conn.execute_batch(
                "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;
                 CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END;",
            )?;
            d.fixed(i, "created");
        }
    }
    let r = crate::store::audit::replay_feedback(conn)?;
    if r.problems.is_empty() {
        d.ok(
            "audit replay",
            format!(
                "{} workflow {} on {} {} replay to the items' current state",
                r.entries,
                if r.entries == 1 { "entry" } else { "entries" },
                r.items,
                if r.items == 1 { "item" } else { "items" }
            ),
        );
    } else {
        let n = r.problems.len();
        let shown: Vec<&str> = r.problems.iter().take(5).map(String::as_str).collect();
        d.problem(
            "audit replay",
            Severity::Error,
            format!(
                "{n} disagreements between the audit log and the items: {}{}",
                shown.join("; "),
                if n > 5 { "; ..." } else { "" }
            ),
            "an item was changed outside crmtop (or a write was lost): check those items' history with crmtop feedback show ID",
        );
    }
    Ok(())
}
