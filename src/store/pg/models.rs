//! Churn model versions on a server: a version and its scores written in
//! one transaction, the decision whether it becomes active made there
//! against the active version, and an activation copying its probabilities
//! into the active figures the queue's priority reads.

use super::Pg;
use crate::error::Result;
use crate::jobs::Ctl;
use crate::store::models::{NewModel, KEEP_SCORES, KEEP_VERSIONS};
use crate::store::sql::{self, Sql};
use rusqlite::types::Value;

/// One training at a time per database.
const TRAIN_LOCK: i64 = 7_243_003;

/// The active version's holdout AUC, if any.
pub fn active_auc(pg: &Pg) -> Result<Option<f64>> {
    Ok(active(pg)?.and_then(|(_, auc)| auc))
}

/// The active version and its holdout AUC, if any.
fn active(pg: &Pg) -> Result<Active> {
    let Some(r) = pg.row("SELECT id, report FROM models WHERE active", &[])? else {
        return Ok(None);
    };
    let report: serde_json::Value = serde_json::from_str(&r.text(1)?).unwrap_or_default();
    let auc = report
        .get("metrics")
        .and_then(|m| m.get("auc"))
        .and_then(|a| a.as_f64());
    Ok(Some((r.i64(0)?, auc)))
}

/// The active version and its holdout AUC, as `decide` is told.
pub type Active = Option<(i64, Option<f64>)>;

/// What `decide` answers once the version has its id: whether to activate
/// it, its report (JSON) and the audit entry's text.
pub type Decision = (bool, String, String);

/// Store version `m` with its scores (cid, probability, drivers JSON) in
/// one transaction; `decide(id, active version and its AUC)` says whether
/// it becomes the active one. Older versions are pruned as in a file.
pub fn store(
    pg: &Pg,
    m: &NewModel,
    scores: &[(i64, f64, Vec<u8>)],
    decide: &mut dyn FnMut(i64, Active) -> Result<Decision>,
    ctl: Ctl,
) -> Result<()> {
    pg.begin("BEGIN")?;
    let r = (|| {
        pg.exec("SELECT pg_advisory_xact_lock(?1)", &[sql::int(TRAIN_LOCK)])?;
        let prev = active(pg)?;
        let id = pg.count(
            "INSERT INTO models(kind, created_at, agent, as_of, window_days, label_source, n_train, n_test,
                                positive_rate, duration_ms, active, report, params)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, FALSE, ?11, ?12) RETURNING id",
            &[
                sql::text(m.kind),
                sql::int(crate::timeutil::now()),
                sql::text(m.agent),
                sql::text(m.as_of),
                sql::int(m.window_days),
                sql::text(m.label_source),
                sql::int(m.n_train),
                sql::int(m.n_test),
                Value::Real(m.positive_rate),
                sql::int(m.duration_ms),
                sql::text(&m.report.to_string()),
                sql::text(m.params),
            ],
        )?;
        new_scores(pg, id, scores)?;
        ctl.check()?;
        let (activate, report, audit) = decide(id, prev)?;
        pg.exec(
            "DELETE FROM models WHERE NOT active AND id NOT IN (SELECT id FROM models ORDER BY id DESC LIMIT ?1)",
            &[sql::int(KEEP_VERSIONS)],
        )?;
        pg.exec(
            "UPDATE models SET report = ?2, duration_ms = ?3 WHERE id = ?1",
            &[
                sql::int(id),
                sql::text(&report),
                sql::int(
                    serde_json::from_str::<serde_json::Value>(&report)
                        .ok()
                        .and_then(|r| r.get("duration_ms").and_then(|d| d.as_i64()))
                        .unwrap_or(0),
                ),
            ],
        )?;
        crate::store::audit::append(
            pg,
            m.agent,
            "train",
            "model",
            &id.to_string(),
            None,
            Some(if activate { "active" } else { "inactive" }),
            Some(&audit),
        )?;
        // The activation last: its TRUNCATE locks the active figures (that
        // opened tickets read) until the commit, which follows at once.
        if activate {
            ctl.report("updating queue priorities", 0, 1);
            activate_in_given(pg, id, Some(scores))?;
        }
        ctl.report("committing", 0, 1);
        // The last moment a cancel can still keep everything as it was.
        ctl.check()?;
        crate::store::jobs::done_within(pg)
    })();
    pg.finish(r)?;
    // Old versions' scores go after the commit, partition by partition,
    // without holding up a reader (best effort: the next training tries
    // again, and doctor says what is left).
    ctl.report("removing old scores", 0, 1);
    let _ = prune_scores(pg);
    Ok(())
}

/// Version `id`'s scores as a partition of `churn_scores`: copied into a
/// table of their own, indexed once from the whole, then attached (its
/// CHECK constraint spares the attach a scan; the attach does not hold up
/// readers of the other versions).
fn new_scores(pg: &Pg, id: i64, scores: &[(i64, f64, Vec<u8>)]) -> Result<()> {
    // sql-format-ok: the table is named after our own integer.
    pg.batch(&format!(
        "CREATE TABLE churn_scores_{id} (
             model_id BIGINT NOT NULL CHECK (model_id = {id}),
             cid      BIGINT NOT NULL,
             prob     DOUBLE PRECISION NOT NULL,
             drivers  TEXT NOT NULL)"
    ))?;
    copy_scores(pg, &format!("churn_scores_{id}"), id, scores)?;
    // sql-format-ok: the table is named after our own integer.
    pg.batch(&format!(
        "ALTER TABLE churn_scores_{id} ADD PRIMARY KEY (model_id, cid);
         ALTER TABLE churn_scores ATTACH PARTITION churn_scores_{id} FOR VALUES IN ({id})"
    ))
}

/// A partition for version `id`'s scores, to be filled (a copy from a file).
pub(super) fn scores_partition(pg: &Pg, id: i64) -> Result<()> {
    // sql-format-ok: the table is named after our own integer.
    pg.batch(&format!(
        "CREATE TABLE IF NOT EXISTS churn_scores_{id} PARTITION OF churn_scores FOR VALUES IN ({id})"
    ))
}

/// Drop the partitions of versions whose scores are no longer kept (not
/// the active one, not among the newest `KEEP_SCORES`, or gone): each
/// detached concurrently (readers go on), then dropped.
pub fn prune_scores(pg: &Pg) -> Result<usize> {
    let keep: std::collections::HashSet<i64> = pg
        .rows(
            "SELECT id FROM models WHERE active
             UNION SELECT id FROM (SELECT id FROM models ORDER BY id DESC LIMIT ?1) k",
            &[sql::int(KEEP_SCORES)],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<_>>()?;
    let parts: Vec<i64> = pg
        .rows(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'churn_scores'::regclass",
            &[],
        )?
        .iter()
        .filter_map(|r| r.text(0).ok())
        .filter_map(|n| n.strip_prefix("churn_scores_").and_then(|x| x.parse().ok()))
        .collect();
    let mut dropped = 0;
    for id in parts.into_iter().filter(|id| !keep.contains(id)) {
        // sql-format-ok: the table is named after our own integer.
        let detached = pg.batch(&format!(
            "ALTER TABLE churn_scores DETACH PARTITION churn_scores_{id} CONCURRENTLY"
        ));
        // A server before PostgreSQL 14 detaches only with a lock on every
        // version's scores: asked for briefly, else left for next time.
        // sql-format-ok: the table is named after our own integer.
        let drop = format!(
            "{}DROP TABLE churn_scores_{id}{}",
            if detached.is_ok() {
                ""
            } else {
                "SET lock_timeout = '1s'; "
            },
            if detached.is_ok() {
                ""
            } else {
                "; RESET lock_timeout"
            }
        );
        if pg.batch(&drop).is_ok() {
            dropped += 1;
        } else {
            let _ = pg.batch("RESET lock_timeout");
        }
    }
    Ok(dropped)
}

/// The active figures sent with COPY from a version's scores.
fn copy_active(pg: &Pg, scores: &[(i64, f64, Vec<u8>)]) -> Result<()> {
    super::copy::send_rows(
        pg,
        "active_churn (cid, prob)",
        scores
            .iter()
            .map(|(cid, p, _)| [Value::Integer(*cid), Value::Real(*p)]),
    )
}

/// Version `id`'s scores sent with COPY (a server keeps the drivers as
/// their JSON text).
fn copy_scores(pg: &Pg, table: &str, id: i64, scores: &[(i64, f64, Vec<u8>)]) -> Result<()> {
    super::copy::send_rows(
        pg,
        // sql-format-ok: the table is ours (churn_scores or a version's partition).
        &format!("{table} (model_id, cid, prob, drivers)"),
        scores.iter().map(|(cid, p, drivers)| {
            [
                Value::Integer(id),
                Value::Integer(*cid),
                Value::Real(*p),
                Value::Text(crate::store::drivers::text(drivers)),
            ]
        }),
    )
}

/// Every queued item's time-independent priority from the active figures
/// (after an activation), written where it changed: one read of the whole
/// queue with its inputs, one update from arrays.
pub(super) fn refresh_priorities(pg: &Pg) -> Result<()> {
    use crate::analytics::priority::{self, Inputs};
    let rows = pg.rows(
        "SELECT q.fid, q.prio_static, f.kind, f.score, f.sentiment, s.prob, v.clv
           FROM queue q JOIN feedback f ON f.fid = q.fid
                LEFT JOIN active_churn s ON s.cid = f.cid LEFT JOIN active_clv v ON v.cid = f.cid",
        &[],
    )?;
    let (mut fids, mut prios) = (Vec::new(), Vec::new());
    for r in &rows {
        let kind = r.text(2)?;
        let p = priority::static_priority(&Inputs {
            kind: &kind,
            score: r.opt_f64(3)?,
            sentiment: r.opt_f64(4)?,
            churn_prob: r.opt_f64(5)?,
            clv: r.opt_f64(6)?,
        });
        if p != r.f64(1)? {
            fids.push(r.i64(0)?);
            prios.push(p);
        }
    }
    if !fids.is_empty() {
        pg.client()
            .execute(
                "UPDATE queue q SET prio_static = u.p FROM unnest($1::bigint[], $2::float8[]) AS u(fid, p)
                  WHERE q.fid = u.fid",
                &[&fids, &prios],
            )
            .map_err(|e| pg.error(e))?;
    }
    Ok(())
}

const SELECT: &str =
    "SELECT id, kind, created_at, agent, as_of, window_days, label_source, n_train, n_test,
            positive_rate, duration_ms, report, active, params,
            EXISTS (SELECT 1 FROM churn_scores s WHERE s.model_id = models.id)
       FROM models";

fn model_row(r: &sql::Row) -> Result<crate::store::models::ModelRow> {
    Ok(crate::store::models::ModelRow {
        id: r.i64(0)?,
        kind: r.text(1)?,
        created_at: r.i64(2)?,
        agent: r.text(3)?,
        as_of: r.text(4)?,
        window_days: r.i64(5)?,
        label_source: r.text(6)?,
        n_train: r.i64(7)?,
        n_test: r.i64(8)?,
        positive_rate: r.f64(9)?,
        duration_ms: r.i64(10)?,
        report: serde_json::from_str(&r.text(11)?).unwrap_or(serde_json::Value::Null),
        active: r.i64(12)? == 1,
        params: r.text(13)?,
        has_scores: r.i64(14)? == 1,
    })
}

/// Every version on the server, newest first.
pub fn list(pg: &Pg) -> Result<Vec<crate::store::models::ModelRow>> {
    // sql-format-ok: a constant column list.
    pg.rows(&format!("{SELECT} ORDER BY id DESC"), &[])?
        .iter()
        .map(model_row)
        .collect()
}

/// One version, or the active one.
pub fn get(pg: &Pg, id: Option<i64>) -> Result<Option<crate::store::models::ModelRow>> {
    let rows = match id {
        // sql-format-ok: a constant column list.
        Some(id) => pg.rows(&format!("{SELECT} WHERE id = ?1"), &[sql::int(id)])?,
        // sql-format-ok: a constant column list.
        None => pg.rows(&format!("{SELECT} WHERE active"), &[])?,
    };
    rows.first().map(model_row).transpose()
}

/// Version `id`'s scores replaced by `scores` (a rescore as of another
/// date), in one transaction: when it is the active version, the active
/// figures and the queue's priorities follow. Audited as a file's score is.
pub fn rescore(
    pg: &Pg,
    id: i64,
    scores: &[(i64, f64, Vec<u8>)],
    agent: &str,
    detail: &str,
) -> Result<()> {
    pg.begin("BEGIN")?;
    let r = (|| {
        let m = locked_model(pg, id)?;
        pg.exec(
            "DELETE FROM churn_scores WHERE model_id = ?1",
            &[sql::int(id)],
        )?;
        scores_partition(pg, id)?;
        copy_scores(pg, "churn_scores", id, scores)?;
        if m.active {
            activate_in(pg, id)?;
        }
        crate::store::audit::append(
            pg,
            agent,
            "score",
            "model",
            &id.to_string(),
            None,
            Some("active"),
            Some(detail),
        )?;
        Ok(())
    })();
    pg.finish(r)
}

/// Inside a transaction: the training lock (one job on the versions at a
/// time), then version `id`.
fn locked_model(pg: &Pg, id: i64) -> Result<crate::store::models::ModelRow> {
    pg.exec("SELECT pg_advisory_xact_lock(?1)", &[sql::int(TRAIN_LOCK)])?;
    get(pg, Some(id))?.ok_or_else(|| crate::error::Error::bad(format!("no model v{id}")))
}

/// Make version `id` the active one: its probabilities become the active
/// figures and the queue's priorities follow, in one transaction, audited.
/// A version whose scores were pruned is refused (train again).
pub fn activate(pg: &Pg, id: i64, agent: &str) -> Result<()> {
    pg.begin("BEGIN")?;
    let r = (|| {
        let m = locked_model(pg, id)?;
        if !m.has_scores {
            return Err(crate::error::Error::bad(format!(
                "model v{id}'s scores were pruned (a server keeps the newest {KEEP_SCORES} versions' scores); train a new version instead"
            )));
        }
        let before = active(pg)?.map(|(a, _)| format!("v{a}"));
        activate_in(pg, id)?;
        crate::store::audit::append(
            pg,
            agent,
            "activate",
            "model",
            &id.to_string(),
            before.as_deref(),
            Some("active"),
            Some(&format!("model v{id} activated")),
        )?;
        Ok(())
    })();
    pg.finish(r)
}

/// Inside a transaction: version `id` active, its probabilities the active
/// figures, the queue's priorities recomputed.
fn activate_in(pg: &Pg, id: i64) -> Result<()> {
    activate_in_given(pg, id, None)
}

/// `activate_in` a version whose scores the caller holds: the active
/// figures are sent from them with COPY (half the time of an INSERT from
/// the version's partition at a million: 0.36 against 0.71 s on an idle
/// server).
fn activate_in_given(pg: &Pg, id: i64, scores: Option<&[(i64, f64, Vec<u8>)]>) -> Result<()> {
    pg.exec(
        "UPDATE models SET active = FALSE WHERE active AND id <> ?1",
        &[sql::int(id)],
    )?;
    pg.exec(
        "UPDATE models SET active = TRUE WHERE id = ?1",
        &[sql::int(id)],
    )?;
    // TRUNCATE, not DELETE: a million dead rows would follow the table
    // around until a vacuum; in key order, the key's index is appended to.
    super::replace_rows(pg, "active_churn", &|| match scores {
        Some(s) => copy_active(pg, s),
        None => pg
            .exec(
                "INSERT INTO active_churn(cid, prob)
                 SELECT cid, prob FROM churn_scores WHERE model_id = ?1 ORDER BY cid",
                &[sql::int(id)],
            )
            .map(|_| ()),
    })?;
    refresh_priorities(pg)?;
    // Open UIs reload the queue's new order (sent at the commit).
    pg.batch("NOTIFY crmtop_changes")
}
