//! The queue's upkeep: which items are in it and their time-independent
//! priority, after imports, workflow changes, and a new model or fit.

use super::{Inputs, SLA_START_SQL};
use crate::analytics::priority;
use crate::error::Result;
use crate::store::sql::{self, Sql};
use rusqlite::types::Value;
use rusqlite::Connection;

/// Register `crmtop_prio(kind, score, sentiment, churn_prob, clv)`: the
/// time-independent priority of `analytics::priority`, for set-based updates.
pub fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "crmtop_prio",
        5,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let kind: String = ctx.get(0)?;
            let inputs = Inputs {
                kind: &kind,
                score: ctx.get(1)?,
                sentiment: ctx.get(2)?,
                churn_prob: ctx.get(3)?,
                clv: ctx.get(4)?,
            };
            Ok(priority::static_priority(&inputs))
        },
    )?;
    Ok(())
}

/// After a bulk load that wrote queue rows itself (the demo): pending items
/// start their pause, and items that need no response get no clock.
pub fn settle_sla_clocks(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "UPDATE feedback SET pending_since = COALESCE(updated_at, created_at)
          WHERE status = 'pending' AND pending_since IS NULL;
         UPDATE queue SET created_at = 1152921504606846976
          WHERE fid IN (SELECT fid FROM feedback WHERE kind = 'praise' OR (kind = 'nps' AND score >= 9));",
    )?;
    Ok(())
}

/// Bring the queue rows of the given items (or of every item when `fids` is
/// None) in step with `feedback`: open items get their row and their
/// time-independent priority, the others leave the queue.
pub fn refresh_static_priority(conn: &Connection, fids: Option<&[i64]>) -> Result<usize> {
    register_functions(conn)?;
    // sql-format-ok: constants only.
    let upsert = format!(
        "INSERT INTO queue(fid, status, kind, channel, created_at, assignee, prio_static)
         SELECT f.fid, f.status, f.kind, f.channel, {SLA_START_SQL}, f.assignee,
                crmtop_prio(f.kind, f.score, f.sentiment, s.prob, v.clv)
         FROM feedback f JOIN customers c ON c.cid = f.cid LEFT JOIN active_churn s ON s.cid = f.cid
              LEFT JOIN active_clv v ON v.cid = f.cid
         WHERE f.status IN ('new', 'open', 'pending', 'escalated')"
    );
    let upsert = upsert.as_str();
    const ON_CONFLICT: &str = " ON CONFLICT(fid) DO UPDATE SET status = excluded.status, kind = excluded.kind,
           channel = excluded.channel, created_at = excluded.created_at, assignee = excluded.assignee,
           prio_static = excluded.prio_static";
    match fids {
        Some(fids) => {
            // sql-format-ok: constants only.
            let mut up = conn.prepare_cached(&format!("{upsert} AND f.fid = ?1{ON_CONFLICT}"))?;
            let mut del = conn.prepare_cached(
                "DELETE FROM queue WHERE fid = ?1
                 AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.fid = ?1 AND f.status IN ('new', 'open', 'pending', 'escalated'))",
            )?;
            let mut n = 0;
            for fid in fids {
                n += up.execute([fid])?;
                del.execute([fid])?;
            }
            Ok(n)
        }
        None => {
            conn.execute(
                "DELETE FROM queue WHERE fid NOT IN (SELECT fid FROM feedback WHERE status IN ('new', 'open', 'pending', 'escalated'))",
                [],
            )?;
            // sql-format-ok: constants only.
            Ok(conn.execute(&format!("{upsert}{ON_CONFLICT}"), [])?)
        }
    }
}

/// Bring one item's queue row in step with `feedback` (after a workflow
/// change): an open item gets its row and its time-independent priority,
/// computed here from its inputs, any other leaves the queue.
pub fn requeue(conn: &dyn Sql, fid: i64) -> Result<()> {
    // sql-format-ok: constants only.
    let inputs = conn.row(
        &format!(
            "SELECT f.status, f.kind, f.channel, {SLA_START_SQL}, f.assignee,
                    f.score, f.sentiment, s.prob, v.clv
             FROM feedback f JOIN customers c ON c.cid = f.cid LEFT JOIN active_churn s ON s.cid = f.cid
                  LEFT JOIN active_clv v ON v.cid = f.cid
             WHERE f.fid = ?1 AND f.status IN ('new', 'open', 'pending', 'escalated')"
        ),
        &[sql::int(fid)],
    )?;
    let Some(r) = inputs else {
        conn.exec("DELETE FROM queue WHERE fid = ?1", &[sql::int(fid)])?;
        return Ok(());
    };
    let kind = r.text(1)?;
    let prio = priority::static_priority(&Inputs {
        kind: &kind,
        score: r.opt_f64(5)?,
        sentiment: r.opt_f64(6)?,
        churn_prob: r.opt_f64(7)?,
        clv: r.opt_f64(8)?,
    });
    conn.exec(
        "INSERT INTO queue(fid, status, kind, channel, created_at, assignee, prio_static)
         VALUES (?1, ?2, ?3, CAST(?4 AS TEXT), ?5, CAST(?6 AS TEXT), ?7)
         ON CONFLICT(fid) DO UPDATE SET status = excluded.status, kind = excluded.kind,
           channel = excluded.channel, created_at = excluded.created_at, assignee = excluded.assignee,
           prio_static = excluded.prio_static",
        &[
            sql::int(fid),
            Value::Text(r.text(0)?),
            Value::Text(kind),
            sql::opt_text(r.opt_text(2)?.as_deref()),
            sql::int(r.i64(3)?),
            sql::opt_text(r.opt_text(4)?.as_deref()),
            Value::Real(prio),
        ],
    )?;
    Ok(())
}

/// Recompute the time-independent priority of every queued item after the
/// customers' churn probabilities or CLV changed (activating a model or a
/// fit). Only `prio_static` moves, and only where its value changes: a full
/// `refresh_static_priority` rewrites every column and every index of the
/// queue, 2 s for 86,000 open items against a few hundred ms.
pub fn refresh_priorities(conn: &Connection) -> Result<usize> {
    refresh_priorities_given(conn, None, None)
}

/// A queued item with what its time-independent priority is computed
/// from: fid, cid, kind, score, sentiment, and its priority now.
type Item = (i64, i64, String, Option<f64>, Option<f64>, Option<f64>);

/// The queued items with their inputs (the feedback row of each), in
/// customer order.
fn queue_items(conn: &Connection) -> Result<Vec<Item>> {
    let mut st = conn.prepare(
        "SELECT q.fid, f.cid, f.kind, f.score, f.sentiment, q.prio_static
           FROM queue q JOIN feedback f ON f.fid = q.fid",
    )?;
    let rows = st.query_map([], |r| r.try_into())?;
    let mut items: Vec<Item> = rows.collect::<rusqlite::Result<_>>()?;
    items.sort_unstable_by_key(|i| (i.1, i.0));
    Ok(items)
}

/// How many commits by other connections `conn` has seen.
fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// `data_version` after a read on `conn`, so that it counts every commit
/// before what is read next on another connection.
fn seen(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT count(*) FROM queue WHERE 0", [], |_| Ok(()))?;
    data_version(conn)
}

/// What the priorities' refresh reads, read before a job's write
/// transaction as a reader that keeps no writer out: the figure the job
/// does not compute (a retrain's CLV, a CLV fit's churn scores) with the
/// version it is of, and the queued items with their inputs. They are read
/// on a connection of their own with a small page cache (at a million
/// customers, the job's large cache made the kernel clear a page for every
/// one of the 86,000 items' feedback pages: 0.48 s instead of 0.2 s), and
/// used inside the transaction only if still current: the figure if its
/// version is still the active one, the items if no other connection has
/// committed since (`PRAGMA data_version` of the job's connection).
pub struct Prefetched {
    version: Option<i64>,
    values: crate::store::scores::ActiveByCid,
    items: Option<(i64, Vec<Item>)>,
}

/// What a figure's read gives: the version it is of, its values by key.
type Figure = (Option<i64>, crate::store::scores::ActiveByCid);

fn clv_figure(r: &Connection) -> Result<Figure> {
    Ok((
        crate::store::clv_values::active_fit(r)?,
        crate::store::clv_values::active_by_cid(r)?,
    ))
}

fn churn_figure(r: &Connection) -> Result<Figure> {
    Ok((
        crate::store::models::active_id(r)?,
        crate::store::scores::ActiveByCid::load(r)?,
    ))
}

/// A prefetch on a thread of its own, waiting for the word to start.
pub struct Pending {
    go: Option<std::sync::mpsc::Sender<()>>,
    run: Run,
}

enum Run {
    Thread(std::thread::JoinHandle<Result<Prefetched>>),
    Ready(Result<Prefetched>),
}

impl Pending {
    /// Start reading (when the job's own reads are done: started beside
    /// them, the prefetch lengthened a retrain's reading, its longest phase,
    /// from 1.32 to 1.51 s at a million customers, medians of 3).
    pub fn start(&self) {
        if let Some(go) = &self.go {
            let _ = go.send(());
        }
    }

    /// The prefetch, once read (started now if it was not).
    pub fn wait(self) -> Result<Prefetched> {
        self.start();
        match self.run {
            Run::Thread(h) => h
                .join()
                .unwrap_or_else(|_| Err(crate::Error::Other("a prefetch thread panicked".into()))),
            Run::Ready(p) => p,
        }
    }
}

impl Prefetched {
    /// The active CLV fit's values and the queue's items (for a retrain),
    /// read on a thread of its own from when the retrain has read its data
    /// (`Pending::start`): its reads (0.3 s at a million customers)
    /// then run beside the retrain's computation instead of delaying its
    /// write. Its items are used only if no other connection commits before
    /// the retrain's write lock, as always.
    pub fn clv_ahead(conn: &Connection) -> Result<Pending> {
        Prefetched::ahead(conn, clv_figure)
    }

    /// The active churn version's scores and the queue's items (for a CLV
    /// fit), read the same way from when the fit has summarised the orders.
    pub fn churn_ahead(conn: &Connection) -> Result<Pending> {
        Prefetched::ahead(conn, churn_figure)
    }

    fn ahead(conn: &Connection, figure: fn(&Connection) -> Result<Figure>) -> Result<Pending> {
        let seen = seen(conn)?;
        Ok(match crate::store::history::path_of(conn) {
            Ok(path) => {
                let (go, wait) = std::sync::mpsc::channel();
                let run = Run::Thread(std::thread::spawn(move || {
                    // Never told to start: the job ended before needing it.
                    wait.recv()
                        .map_err(|_| crate::Error::Other("prefetch not needed".into()))?;
                    let r = crate::store::history::read_conn(&path)?;
                    Prefetched::from_reader(&r, seen, figure)
                }));
                Pending { go: Some(go), run }
            }
            Err(_) => Pending {
                go: None,
                run: Run::Ready(Prefetched::in_place(conn, figure)),
            },
        })
    }

    /// The figure read there and then, on an in-memory database (no second
    /// connection: the refresh reads the items itself).
    fn in_place(
        conn: &Connection,
        figure: fn(&Connection) -> Result<Figure>,
    ) -> Result<Prefetched> {
        let (version, values) = figure(conn)?;
        Ok(Prefetched {
            version,
            values,
            items: None,
        })
    }

    /// The items and the figure read on `r`, a connection of their own,
    /// after the job's connection had seen `seen`.
    fn from_reader(
        r: &Connection,
        seen: i64,
        figure: fn(&Connection) -> Result<Figure>,
    ) -> Result<Prefetched> {
        let items = queue_items(r)?;
        let (version, values) = figure(r)?;
        Ok(Prefetched {
            version,
            values,
            items: Some((seen, items)),
        })
    }

    /// The values, if `now` (the active version read inside the
    /// transaction) is still the one they are of.
    fn if_current(self, now: Option<i64>) -> Option<crate::store::scores::ActiveByCid> {
        (self.version == now).then_some(self.values)
    }
}

/// `refresh_priorities_given` with the other figure and the queue's items
/// prefetched (each used if still current).
pub fn refresh_priorities_prefetched(
    conn: &Connection,
    churn: Option<crate::store::scores::ActiveByCid>,
    clv: Option<crate::store::scores::ActiveByCid>,
    mut other: Option<Prefetched>,
) -> Result<usize> {
    let items = match other.as_mut().and_then(|o| o.items.take()) {
        Some((seen, items)) if data_version(conn)? == seen => Some(items),
        _ => None,
    };
    let (churn, clv) = match (churn, clv, other) {
        (Some(c), None, Some(o)) => (
            Some(c),
            o.if_current(crate::store::clv_values::active_fit(conn)?),
        ),
        (None, Some(v), Some(o)) => (
            o.if_current(crate::store::models::active_id(conn)?),
            Some(v),
        ),
        (churn, clv, _) => (churn, clv),
    };
    refresh_with(conn, churn, clv, items)
}

/// `refresh_priorities` with the figures a job just computed and holds
/// (the active ones, in key order): they are not read back from the
/// tables it wrote (a million customers' scores: a few hundred ms).
pub fn refresh_priorities_given(
    conn: &Connection,
    churn: Option<crate::store::scores::ActiveByCid>,
    clv: Option<crate::store::scores::ActiveByCid>,
) -> Result<usize> {
    refresh_with(conn, churn, clv, None)
}

/// The refresh, with the queue's items when the caller read them. The
/// queued items' inputs (a lookup of each item's feedback row), in customer
/// order; the active scores and values read whole in key order and walked
/// beside them. A lookup per item into the scores and values tables
/// instead touched most of their pages: at a million customers and 86,000
/// queued items 0.8-1.0 s and a few hundred MB of page cache.
fn refresh_with(
    conn: &Connection,
    churn: Option<crate::store::scores::ActiveByCid>,
    clv: Option<crate::store::scores::ActiveByCid>,
    items: Option<Vec<Item>>,
) -> Result<usize> {
    let items = match items {
        Some(items) => items,
        None => queue_items(conn)?,
    };
    let mut churn = match churn {
        Some(c) => c,
        None => crate::store::scores::ActiveByCid::load(conn)?,
    };
    let mut clv = match clv {
        Some(c) => c,
        None => crate::store::clv_values::active_by_cid(conn)?,
    };
    let mut up = conn.prepare("UPDATE queue SET prio_static = ?2 WHERE fid = ?1")?;
    let mut n = 0;
    for (fid, cid, kind, score, sentiment, old) in &items {
        let p = priority::static_priority(&Inputs {
            kind,
            score: *score,
            sentiment: *sentiment,
            churn_prob: churn.get(*cid),
            clv: clv.get(*cid),
        });
        if *old != Some(p) {
            n += up.execute(rusqlite::params![fid, p])?;
        }
    }
    Ok(n)
}
