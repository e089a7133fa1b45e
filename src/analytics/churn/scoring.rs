//! Scoring every customer with a fitted model (probabilities and their
//! drivers), and the model versions' life after training: re-scoring a
//! version as of a date, activating one.

use super::*;

/// Probabilities and drivers of every customer at a cutoff: (cid, p, packed
/// drivers, see `store::drivers`).
pub(super) fn score_all(
    raw: &Raw,
    spec: &FeatureSpec,
    m: &Fitted,
    cutoff: usize,
    ctl: Ctl,
) -> Result<Vec<(i64, f64, Vec<u8>)>> {
    let n = raw.customers.len();
    let rows: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n);
    for (k, chunk) in rows.chunks(100_000).enumerate() {
        ctl.check()?;
        ctl.report("scoring customers", (k * 100_000) as u64, n as u64);
        let part: Vec<(i64, f64, Vec<u8>)> = chunk
            .par_chunks(10_000)
            .flat_map_iter(|sub| {
                let xr = spec.raw_matrix(raw, sub, cutoff);
                let mut x = xr.clone();
                spec.standardise(&mut x);
                let p = model::predict(m, &x.view());
                sub.iter()
                    .enumerate()
                    .map(|(r, &i)| {
                        let row = x.row(r);
                        let d = model::drivers(m, row.as_slice().unwrap_or(&row.to_vec()), 3);
                        let packed =
                            store::drivers::pack(d.iter().map(|&(j, c)| (j, xr[(r, j)], c)));
                        (raw.customers[i].cid, p[r], packed)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        out.extend(part);
    }
    Ok(out)
}

/// Recompute the scores of a version as of a date (default: its own as-of,
/// or the latest order day), and make it active when asked. Returns how
/// many customers were scored.
pub fn rescore(
    conn: &mut Connection,
    model_id: i64,
    as_of: Option<NaiveDate>,
    activate: bool,
    agent: &str,
    ctl: Ctl,
) -> Result<u64> {
    store::with_big_cache(conn, |c| {
        rescore_inner(c, model_id, as_of, activate, agent, ctl)
    })
}

/// The same on a PostgreSQL server: version `model_id`'s scores as of
/// `as_of` (default: the latest order's day), computed from the server's
/// rows and written there in one transaction (the active figures and the
/// queue's priorities follow when it is the active version).
pub fn rescore_on_server(
    pg: &store::pg::Pg,
    url: &str,
    model_id: i64,
    as_of: Option<NaiveDate>,
    agent: &str,
    ctl: Ctl,
) -> Result<u64> {
    let row = store::pg::models::get(pg, Some(model_id))?
        .ok_or_else(|| Error::bad(format!("no model v{model_id}")))?;
    let params: Params = serde_json::from_str(&row.params)
        .map_err(|e| Error::Other(format!("model v{model_id} cannot be read back: {e}")))?;
    let as_of = match as_of {
        Some(d) => d,
        None => default_as_of(pg)?,
    };
    let end = timeutil::date_to_ts(as_of) + DAY;
    let raw = features::extract_source(
        &crate::store::history::Source::Server(url.to_string()),
        &[end],
        &[end],
        features::history_for(&[end], &[end]),
        ctl,
    )?;
    let scores = score_all(&raw, &params.spec, &params.model, 0, ctl)?;
    drop(raw);
    ctl.report("writing scores", 0, 1);
    store::pg::models::rescore(
        pg,
        model_id,
        &scores,
        agent,
        &format!("scored {} customers as of {as_of}", scores.len()),
    )?;
    Ok(scores.len() as u64)
}

fn rescore_inner(
    conn: &mut Connection,
    model_id: i64,
    as_of: Option<NaiveDate>,
    activate: bool,
    agent: &str,
    ctl: Ctl,
) -> Result<u64> {
    let row = store::models::get(conn, model_id)?
        .ok_or_else(|| Error::bad(format!("no model v{model_id}")))?;
    let params: Params = serde_json::from_str(&row.params)
        .map_err(|e| Error::Other(format!("model v{model_id} cannot be read back: {e}")))?;
    let as_of = match as_of {
        Some(d) => d,
        None => default_as_of(conn)?,
    };
    let end = timeutil::date_to_ts(as_of) + DAY;
    let raw = features::extract(conn, &[end], &[end], ctl)?;
    let scores = score_all(&raw, &params.spec, &params.model, 0, ctl)?;
    drop(raw);
    let tx = store::begin_immediate(conn)?;
    let n = store::models::write_scores(
        &tx,
        model_id,
        scores.iter().map(|(c, p, d)| (*c, *p, d.as_slice())),
    )?;
    if activate || row.active {
        store::models::activate(&tx, model_id, ctl)?;
    }
    store::audit::append(
        &tx,
        agent,
        if activate && !row.active {
            "activate"
        } else {
            "score"
        },
        "model",
        &model_id.to_string(),
        None,
        Some("active"),
        Some(&format!("scored {n} customers as of {as_of}")),
    )?;
    ctl.check()?;
    store::dashboard::bump_version(&tx)?;
    tx.commit()?;
    Ok(n)
}

/// Make a version active (re-scoring it first if its scores were pruned).
pub fn activate(conn: &mut Connection, model_id: i64, agent: &str, ctl: Ctl) -> Result<()> {
    let row = store::models::get(conn, model_id)?
        .ok_or_else(|| Error::bad(format!("no model v{model_id}")))?;
    if !row.has_scores {
        rescore(conn, model_id, None, true, agent, ctl)?;
        return Ok(());
    }
    let tx = store::begin_immediate(conn)?;
    store::models::activate(&tx, model_id, ctl)?;
    store::audit::append(
        &tx,
        agent,
        "activate",
        "model",
        &model_id.to_string(),
        None,
        Some("active"),
        None,
    )?;
    store::dashboard::bump_version(&tx)?;
    tx.commit()?;
    Ok(())
}
