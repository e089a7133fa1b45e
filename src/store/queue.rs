//! The queue's order and counts, from indexes.
//!
//! An item's priority now is `prio_static + age`, where the age term (0 to 30
//! points) grows with the time since the item was created, against the SLA
//! of its kind and phase (see `analytics::priority`). No index can hold a
//! value that changes with the clock, and sorting every open item on each
//! page costs about 100 ms at 100,000 items. Instead the top of the queue is
//! found with Fagin's threshold algorithm: two cursors walk the open items
//! by `prio_static` descending and by `created_at` ascending; every row read
//! has its exact priority; nothing unseen can score more than the static
//! frontier plus the age of the oldest unseen creation time, so the walk
//! stops as soon as the page's last item beats that bound, usually after
//! a few hundred rows.

use crate::analytics::priority::{self, SlaConfig, KINDS};
use crate::error::Result;
use crate::store::feedback::QueueFilter;
use crate::store::sql::Engine;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// Statuses of items in the queue.
pub const OPEN_STATUSES: [&str; 4] = ["new", "open", "pending", "escalated"];

/// One row of the `queue` table.
#[derive(Debug, Clone, PartialEq)]
pub struct QRow {
    pub fid: i64,
    pub prio_static: f64,
    pub created_at: i64,
    pub kind: String,
    pub status: String,
    pub assignee: Option<String>,
    pub channel: Option<String>,
}

const QCOLS: &str = "fid, prio_static, created_at, kind, status, assignee, channel";

fn read(r: &rusqlite::Row) -> rusqlite::Result<QRow> {
    Ok(QRow {
        fid: r.get(0)?,
        prio_static: r.get(1)?,
        created_at: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
        assignee: r.get(5)?,
        channel: r.get(6)?,
    })
}

/// Seconds an item may wait in its current phase (first response while
/// `new`, resolution afterwards).
pub fn sla_secs(sla: &SlaConfig, kind: &str, status: &str) -> i64 {
    (priority::sla_hours(sla, kind, status) * 3600.0).round() as i64
}

/// Past its SLA: the same test everywhere (lists, counts, the screen).
/// `created_at` is the start of the item's SLA clock (see
/// `feedback::SLA_START_SQL`); a pending item's clock is paused.
pub fn is_overdue(sla: &SlaConfig, kind: &str, status: &str, created_at: i64, now: i64) -> bool {
    status != "pending" && now - created_at >= sla_secs(sla, kind, status)
}

/// The priority of a queue row now.
pub fn priority_now(row: &QRow, sla: &SlaConfig, now: i64) -> f64 {
    row.prio_static + priority::age_term(sla, &row.kind, &row.status, row.created_at, now)
}

/// A filter as SQL over `queue`: a condition (constant text with `?`
/// placeholders), its parameters in order, and whether rows must also pass
/// the overdue test.
fn condition(filter: &QueueFilter, agent: &str) -> (String, Vec<Value>, bool) {
    condition_on(filter, agent, "", Engine::Sqlite)
}

/// [`condition`] over a table whose columns carry `prefix` (`"f."` for
/// `feedback f`, which has the same column names).
pub(crate) fn condition_on(
    filter: &QueueFilter,
    agent: &str,
    prefix: &'static str,
    engine: Engine,
) -> (String, Vec<Value>, bool) {
    let text = |s: &str| Value::Text(s.to_string());
    let p = prefix;
    match filter {
        QueueFilter::All => ("TRUE".into(), vec![], false),
        QueueFilter::Mine => (format!("{p}assignee = ?"), vec![text(agent)], false),
        QueueFilter::Assignee(a) => (format!("{p}assignee = ?"), vec![text(a)], false),
        QueueFilter::Unassigned => (format!("{p}assignee IS NULL"), vec![], false),
        QueueFilter::Escalated => (format!("{p}status = 'escalated'"), vec![], false),
        QueueFilter::Status(st) if st == "any" => ("TRUE".into(), vec![], false),
        QueueFilter::Status(st) => (format!("{p}status = ?"), vec![text(st)], false),
        QueueFilter::Kind(k) => (format!("{p}kind = ?"), vec![text(k)], false),
        QueueFilter::Channel(c) => (format!("{p}channel = ?"), vec![text(c)], false),
        QueueFilter::Overdue => ("TRUE".into(), vec![], true),
        QueueFilter::Text(t) | QueueFilter::TextNoNames(t) => {
            let names = matches!(filter, QueueFilter::Text(_));
            let (cond, mut params, overdue) = match (engine, super::feedback::fts_query(t)) {
                (_, None) => ("TRUE".into(), vec![], false),
                (Engine::Sqlite, Some(q)) => (
                    // sql-format-ok: a constant column prefix; the query is bound.
                    format!("{p}fid IN (SELECT rowid FROM feedback_fts WHERE feedback_fts MATCH ?)"),
                    vec![Value::Text(if names {
                        q
                    } else {
                        format!("{{id customer_id text}} : ({q})")
                    })],
                    false,
                ),
                // Every word as the start of a word (`word:*`); the words
                // are letters and digits only, and bound.
                (Engine::Postgres, Some(_)) => (
                    format!(
                        // sql-format-ok: a constant column prefix and column; the query is bound.
                        "{p}fid IN (SELECT fid FROM feedback_search WHERE {} @@ to_tsquery('simple', unaccent(?)))",
                        if names { "named" } else { "doc" }
                    ),
                    vec![Value::Text(super::feedback::tsquery(t))],
                    false,
                ),
            };
            // A number (`5133`, `F5133`, `f0005133`) also finds the item
            // it numbers (`F0005133`), as tickets are read out.
            match super::feedback::item_number(t) {
                Some(n) => {
                    params.extend(n.params());
                    (
                        // sql-format-ok: a constant column prefix and subquery; the number is bound.
                        format!(
                            "({cond} OR {p}fid IN (SELECT fid FROM feedback WHERE id IN ({})))",
                            super::feedback::number_ids_sql(engine)
                        ),
                        params,
                        overdue,
                    )
                }
                None => (cond, params, overdue),
            }
        }
        QueueFilter::Every(parts) => {
            let mut conds = Vec::new();
            let mut params = Vec::new();
            let mut overdue = false;
            for part in parts {
                let (c, ps, o) = condition_on(part, agent, prefix, engine);
                conds.push(format!("({c})"));
                params.extend(ps);
                overdue |= o;
            }
            if conds.is_empty() {
                conds.push("TRUE".into());
            }
            (conds.join(" AND "), params, overdue)
        }
    }
}

/// How many items a filter shows; every count is answered from an index.
pub fn count(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &SlaConfig,
    now: i64,
) -> Result<i64> {
    let (cond, params, overdue) = condition(filter, agent);
    if overdue {
        return overdue_count_where(conn, sla, now, &cond, &params);
    }
    // sql-format-ok: the condition is constant text with placeholders.
    let mut st = conn.prepare_cached(&format!("SELECT count(*) FROM queue WHERE {cond}"))?;
    Ok(st.query_row(params_from_iter(params), |r| r.get(0))?)
}

/// Items past their SLA: per kind and status, those created before its cutoff.
pub fn overdue_count(conn: &Connection, sla: &SlaConfig, now: i64) -> Result<i64> {
    overdue_count_where(conn, sla, now, "1", &[])
}

fn overdue_count_where(
    conn: &Connection,
    sla: &SlaConfig,
    now: i64,
    cond: &str,
    extra: &[Value],
) -> Result<i64> {
    let mut st = conn.prepare_cached(&format!(
        // sql-format-ok: the condition is constant text with placeholders.
        "SELECT count(*) FROM queue WHERE kind = ?1 AND status = ?2 AND created_at <= ?3 AND ({cond})"
    ))?;
    let mut n = 0i64;
    for kind in KINDS {
        // A pending item's clock is paused: it is never overdue.
        for status in OPEN_STATUSES.iter().filter(|s| **s != "pending") {
            let cutoff = now - sla_secs(sla, kind, status);
            let mut ps = vec![
                Value::Text(kind.to_string()),
                Value::Text(status.to_string()),
                Value::Integer(cutoff),
            ];
            ps.extend(extra.iter().cloned());
            n += st.query_row(params_from_iter(ps), |r| r.get::<_, i64>(0))?;
        }
    }
    Ok(n)
}

/// Every row a filter shows (for small filters).
fn load_all(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &SlaConfig,
    now: i64,
) -> Result<Vec<QRow>> {
    let (cond, params, overdue) = condition(filter, agent);
    if overdue {
        let mut st = conn.prepare_cached(&format!(
            // sql-format-ok: the column list and condition are constant text with placeholders.
            "SELECT {QCOLS} FROM queue WHERE kind = ?1 AND status = ?2 AND created_at <= ?3 AND ({cond})"
        ))?;
        let mut out = Vec::new();
        for kind in KINDS {
            for status in OPEN_STATUSES.iter().filter(|s| **s != "pending") {
                let cutoff = now - sla_secs(sla, kind, status);
                let mut ps = vec![
                    Value::Text(kind.to_string()),
                    Value::Text(status.to_string()),
                    Value::Integer(cutoff),
                ];
                ps.extend(params.iter().cloned());
                let rows = st.query_map(params_from_iter(ps), read)?;
                for r in rows {
                    out.push(r?);
                }
            }
        }
        return Ok(out);
    }
    // sql-format-ok: the column list and condition are constant text with placeholders.
    let mut st = conn.prepare_cached(&format!("SELECT {QCOLS} FROM queue WHERE {cond}"))?;
    let rows = st.query_map(params_from_iter(params), read)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Ranking key: priority descending, then fid ascending.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rank(f64, i64);

impl Eq for Rank {}

impl PartialOrd for Rank {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Rank {
    /// Greater = ranks higher.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
    }
}

/// The `k` highest-ranked items a filter shows: (priority now, row), best first.
pub fn top(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &SlaConfig,
    now: i64,
    k: usize,
) -> Result<Vec<(f64, QRow)>> {
    if k == 0 {
        return Ok(vec![]);
    }
    // Few items: read them all (an index range) and sort.
    let n = count(conn, filter, agent, sla, now)?;
    if n as usize <= (4 * k).max(2_000) {
        let mut all: Vec<(f64, QRow)> = load_all(conn, filter, agent, sla, now)?
            .into_iter()
            .map(|r| (priority_now(&r, sla, now), r))
            .collect();
        all.sort_by_key(|a| Reverse(Rank(a.0, a.1.fid)));
        all.truncate(k);
        return Ok(all);
    }
    threshold_top(conn, filter, agent, sla, now, k)
}

/// Fagin's threshold algorithm over the two orders (see the module comment).
fn threshold_top(
    conn: &Connection,
    filter: &QueueFilter,
    agent: &str,
    sla: &SlaConfig,
    now: i64,
    k: usize,
) -> Result<Vec<(f64, QRow)>> {
    let (cond, params, overdue_only) = condition(filter, agent);
    let keep = |r: &QRow| !overdue_only || is_overdue(sla, &r.kind, &r.status, r.created_at, now);
    // The shortest SLA gives the largest age any unseen item can have.
    let h_min = KINDS
        .iter()
        .flat_map(|k| {
            [
                priority::sla_hours(sla, k, "new"),
                priority::sla_hours(sla, k, "open"),
            ]
        })
        .fold(f64::INFINITY, f64::min);
    let age_bound = |created: i64| 10.0 * ((now - created) as f64 / 3600.0 / h_min).clamp(0.0, 3.0);
    // Each walk must follow its index: left to itself, SQLite would rather
    // use the filter's index and sort every match.
    let mut by_prio = conn.prepare_cached(&format!(
        // sql-format-ok: the column list and condition are constants.
        "SELECT {QCOLS} FROM queue INDEXED BY queue_prio WHERE {cond} ORDER BY prio_static DESC, fid"
    ))?;
    let mut by_age = conn.prepare_cached(&format!(
        // sql-format-ok: the column list and condition are constants.
        "SELECT {QCOLS} FROM queue INDEXED BY queue_created WHERE {cond} ORDER BY created_at, fid"
    ))?;
    let mut a = by_prio.query(params_from_iter(params.clone()))?;
    let mut b = by_age.query(params_from_iter(params))?;
    let mut seen: HashSet<i64> = HashSet::new();
    let mut best: BinaryHeap<Reverse<(Rank, usize)>> = BinaryHeap::new();
    let mut rows: Vec<QRow> = Vec::new();
    let (mut front_static, mut front_created) = (f64::INFINITY, i64::MIN);
    loop {
        let mut exhausted = false;
        for from_a in [true, false] {
            let next = if from_a { a.next()? } else { b.next()? };
            let Some(r) = next else {
                // One order read to the end: every row has been seen.
                exhausted = true;
                break;
            };
            let row = read(r)?;
            if from_a {
                front_static = row.prio_static;
            } else {
                front_created = row.created_at;
            }
            if !seen.insert(row.fid) || !keep(&row) {
                continue;
            }
            let rank = Rank(priority_now(&row, sla, now), row.fid);
            if best.len() < k || best.peek().is_some_and(|w| rank > w.0 .0) {
                rows.push(row);
                best.push(Reverse((rank, rows.len() - 1)));
                if best.len() > k {
                    best.pop();
                }
            }
        }
        if exhausted {
            break;
        }
        let bound = front_static + age_bound(front_created);
        if best.len() == k && best.peek().is_some_and(|w| w.0 .0 .0 > bound) {
            break;
        }
    }
    let mut out: Vec<(Rank, usize)> = best.into_iter().map(|r| r.0).collect();
    out.sort_by_key(|x| Reverse(x.0));
    Ok(out
        .into_iter()
        .map(|(rank, i)| (rank.0, rows[i].clone()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn db(n: i64, seed: u64) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        for (_, sql) in crate::store::MIGRATIONS {
            c.execute_batch(sql).unwrap();
        }
        c.execute("INSERT INTO customers(cid, id) VALUES (1, 'C1')", [])
            .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let now = 1_000_000_000i64;
        for fid in 1..=n {
            let kind = KINDS[rng.gen_range(0..KINDS.len())];
            let status = OPEN_STATUSES[rng.gen_range(0..4)];
            // Half fresh (within a day), half spread over 30 days.
            let age = if rng.gen_bool(0.5) {
                rng.gen_range(0..86_400)
            } else {
                rng.gen_range(0..30 * 86_400)
            };
            let assignee = match rng.gen_range(0..3) {
                0 => None,
                1 => Some("ann"),
                _ => Some("bob"),
            };
            let channel = ["email", "chat", "phone"][rng.gen_range(0..3)];
            c.execute(
                "INSERT INTO feedback(fid, id, cid, created_at, kind, status, assignee, channel)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    fid,
                    format!("F{fid}"),
                    now - age,
                    kind,
                    status,
                    assignee,
                    channel
                ],
            )
            .unwrap();
            c.execute(
                "INSERT INTO queue(fid, status, kind, channel, created_at, assignee, prio_static)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    fid,
                    status,
                    kind,
                    channel,
                    now - age,
                    assignee,
                    // Coarse values, so that ties happen.
                    (rng.gen_range(0..60) as f64) * 1.5
                ],
            )
            .unwrap();
        }
        c
    }

    /// The reference: every row, sorted.
    fn brute(c: &Connection, f: &QueueFilter, sla: &SlaConfig, now: i64) -> Vec<(f64, i64)> {
        // sql-format-ok: a constant column list.
        let mut st = c.prepare(&format!("SELECT {QCOLS} FROM queue")).unwrap();
        let mut v: Vec<(f64, i64)> = st
            .query_map([], read)
            .unwrap()
            .map(|r| r.unwrap())
            .filter(|r| keep(f, r, sla, now))
            .map(|r| (priority_now(&r, sla, now), r.fid))
            .collect();
        v.sort_by_key(|a| Reverse(Rank(a.0, a.1)));
        v
    }

    fn keep(f: &QueueFilter, r: &QRow, sla: &SlaConfig, now: i64) -> bool {
        match f {
            QueueFilter::All => true,
            QueueFilter::Mine => r.assignee.as_deref() == Some("ann"),
            QueueFilter::Unassigned => r.assignee.is_none(),
            QueueFilter::Escalated => r.status == "escalated",
            QueueFilter::Kind(k) => &r.kind == k,
            QueueFilter::Channel(ch) => r.channel.as_deref() == Some(ch.as_str()),
            QueueFilter::Overdue => is_overdue(sla, &r.kind, &r.status, r.created_at, now),
            QueueFilter::Status(s) => &r.status == s,
            QueueFilter::Assignee(a) => r.assignee.as_deref() == Some(a.as_str()),
            QueueFilter::Text(_) | QueueFilter::TextNoNames(_) => true,
            QueueFilter::Every(parts) => parts.iter().all(|p| keep(p, r, sla, now)),
        }
    }

    #[test]
    fn threshold_walk_and_counts_agree_with_sorting_everything() {
        let filters = [
            QueueFilter::All,
            QueueFilter::Mine,
            QueueFilter::Unassigned,
            QueueFilter::Escalated,
            QueueFilter::Overdue,
            QueueFilter::Kind("complaint".into()),
            QueueFilter::Channel("chat".into()),
            QueueFilter::Status("pending".into()),
            QueueFilter::Every(vec![QueueFilter::Mine, QueueFilter::Overdue]),
            QueueFilter::Every(vec![
                QueueFilter::Kind("question".into()),
                QueueFilter::Unassigned,
            ]),
        ];
        let mut sla = SlaConfig::default();
        sla.question.first_response_hours = 4.0;
        sla.praise.resolution_hours = 200.0;
        for seed in 0..3 {
            let c = db(3_000, seed);
            let now = 1_000_000_000i64;
            for f in &filters {
                let want = brute(&c, f, &sla, now);
                assert_eq!(
                    count(&c, f, "ann", &sla, now).unwrap() as usize,
                    want.len(),
                    "{f:?}"
                );
                for k in [1, 7, 50, 600] {
                    let got: Vec<(f64, i64)> = threshold_top(&c, f, "ann", &sla, now, k)
                        .unwrap()
                        .into_iter()
                        .map(|(p, r)| (p, r.fid))
                        .collect();
                    let w: Vec<(f64, i64)> = want.iter().take(k).copied().collect();
                    assert_eq!(got, w, "{f:?} k={k} seed={seed}");
                    let got2: Vec<i64> = top(&c, f, "ann", &sla, now, k)
                        .unwrap()
                        .into_iter()
                        .map(|(_, r)| r.fid)
                        .collect();
                    assert_eq!(got2, w.iter().map(|x| x.1).collect::<Vec<_>>());
                }
            }
        }
    }
}
