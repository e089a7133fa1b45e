//! One CLV fit, end to end: the customers' summaries, the family (as asked
//! or chosen by holdout error) and its reliability notes, Gamma-Gamma for
//! the spend, every customer valued (`valuing`), and the fit stored and
//! made active in one transaction.

mod choice;
mod spend;

use super::family::{self, FitReport, Fitted, Model};
use super::*;
use choice::{choose_model, family_notes};
use spend::fit_gamma_gamma;

/// A fit computed, not yet stored: its report (without its id) and every
/// customer's values.
pub(super) struct Computed {
    pub report: ClvReport,
    pub values: Vec<Value>,
    pub started: Instant,
}

/// The fit on a file, stored and made active in one transaction.
pub(super) fn fit_inner(conn: &mut Connection, opts: &ClvOptions, ctl: Ctl) -> Result<ClvReport> {
    // The old values this fit's prune retires, read ahead while it computes
    // (see store::retired::warm).
    let warming = store::retired::warm(conn, store::clv::soon_pruned(conn)?);
    // What the queue's priorities need beside the new values, read on a
    // thread of its own once the orders are summarised (see
    // store::feedback::Prefetched; a failed prefetch only means the
    // refresh reads for itself).
    let prefetch = store::feedback::Prefetched::churn_ahead(conn)?;
    let Computed {
        mut report,
        values,
        started,
    } = compute(&*conn, opts, ctl, &|| prefetch.start())?;
    // One transaction: the fit, every customer's values in the fit's own tables.
    ctl.check()?;
    ctl.report("writing values", 0, 1);
    let churn = prefetch.wait().ok();
    let tx = store::begin_immediate(conn)?;
    let id = store::clv::insert_fit(&tx, &report, &opts.agent)?;
    // The oldest kept fit's values are retired (cleared after the commit,
    // as a model version's scores).
    store::clv::prune(&tx)?;
    let held = store::scores::ActiveByCid::from_pairs(
        values.iter().filter_map(|v| v.clv.map(|c| (v.cid, c))),
    );
    // The dashboard's per-customer pass runs beside the writing (see
    // store::dashboard::Ahead; best effort).
    let ahead = opts.dashboard.and_then(|t| {
        let held = store::dashboard::Held {
            churn: None,
            clv: Some(held.clone()),
        };
        store::dashboard::Ahead::start(&tx, t.high, t.medium, held).ok()
    });
    store::clv_values::write(&tx, id, &values)?;
    ctl.check()?;
    store::clv::activate_given(&tx, id, ctl, Some(held), churn)?;
    report.fit_id = id;
    report.duration_ms = started.elapsed().as_millis() as u64;
    store::clv::update_report(&tx, id, &report)?;
    store::audit::append(
        &tx,
        &opts.agent,
        "clv",
        "clv_fit",
        &id.to_string(),
        None,
        Some("active"),
        Some(&audit_text(&report)),
    )?;
    crate::store::dashboard::bump_version(&tx)?;
    if let Some(ahead) = ahead {
        ctl.report("computing the dashboard", 0, 1);
        ahead.store(&tx)?;
    }
    ctl.report("committing", 0, 1);
    ctl.check()?;
    crate::store::jobs::done_within(&*tx)?;
    tx.commit()?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    // Committed: clearing the retired values is housekeeping (see
    // store::retired); what is left is cleared by the next job.
    warming.wait();
    let _ = store::retired::clear(conn, ctl);
    Ok(report)
}

/// The audit entry's text for a fit.
pub(super) fn audit_text(report: &ClvReport) -> String {
    format!(
        "{} customers valued, total CLV {:.2}",
        report.customers, report.total_clv
    )
}

/// The fit computed from what `reads` gives (a file's or a server's rows).
/// `read` is called once the orders are summarised (the rest is
/// computation).
pub(super) fn compute(
    reads: &dyn Reads,
    opts: &ClvOptions,
    ctl: Ctl,
    read: &dyn Fn(),
) -> Result<Computed> {
    let started = Instant::now();
    if opts.horizon_months == 0 || opts.horizon_months > 600 {
        return Err(Error::bad("--horizon-months must be between 1 and 600"));
    }
    if !(0.0..1.0).contains(&opts.discount) {
        return Err(Error::bad("--discount is a monthly rate in [0, 1)"));
    }
    if !(opts.margin.is_finite() && opts.margin >= 0.0) {
        return Err(Error::bad("--margin must be >= 0"));
    }
    if !(opts.penalizer.is_finite() && opts.penalizer >= 0.0) {
        return Err(Error::bad("--penalizer must be >= 0"));
    }
    let as_of = match opts.as_of {
        // A day beyond both the data and today would value every customer
        // as if years had passed without a purchase, and replace the active
        // fit with it.
        Some(d) if d > timeutil::today() => {
            let last: Option<i64> = reads.latest_order()?;
            let last_day = last.map(timeutil::ts_to_date);
            if last_day.is_none_or(|l| d > l) {
                return Err(Error::bad(format!(
                    "--as-of {d} is after today and after the latest order ({}): a CLV fit values customers as of a day the data reach",
                    last_day.map_or_else(|| "none".to_string(), |l| l.to_string())
                )));
            }
            d
        }
        Some(d) => d,
        None => {
            let last: Option<i64> = reads.latest_order()?;
            last.map(timeutil::ts_to_date)
                .unwrap_or_else(timeutil::today)
        }
    };
    let as_of_day = timeutil::date_to_ts(as_of) / DAY;
    let unit = opts.time_unit.days();
    let mut notes = Vec::new();

    ctl.report("summarising orders", 0, 1);
    let summaries = if opts.method == Method::Retention {
        Vec::new()
    } else {
        summary::summarise(reads, as_of_day, unit, ctl)?
    };
    read();
    ctl.check()?;
    if opts.method == Method::Bgnbd && summaries.len() < 10 {
        return Err(Error::bad(format!(
            "BG/NBD needs the order history of at least 10 customers (found {}); import orders, or use --method retention",
            summaries.len()
        )));
    }
    let use_bgnbd = summaries.len() >= 10;
    if !use_bgnbd && !summaries.is_empty() {
        notes.push(format!(
            "only {} customers have orders: too few for BG/NBD (at least 10); they are valued by the retention method if possible",
            summaries.len()
        ));
    }
    if use_bgnbd && summaries.iter().all(|s| s.t <= 0.0) {
        return Err(Error::bad(format!(
            "every customer's first order is on the as-of date {as_of}: there is no history to fit; use a later --as-of"
        )));
    }

    // The family: as asked, or chosen (`auto`) by holdout error, sBG when
    // the data are contractual.
    let mut model = opts.model;
    let mut chosen_because = None;
    if model == Model::Auto {
        let (m, why) = choose_model(reads, opts, as_of, use_bgnbd)?;
        model = m;
        chosen_because = Some(why);
    }
    if model == Model::Sbg && opts.method == Method::Bgnbd {
        return Err(Error::bad(
            "--model sbg values contracts, not orders: leave out --method bgnbd",
        ));
    }
    let transactional = use_bgnbd && model != Model::Sbg;
    // (x, t_x, T) per summary, in the family's time: BG/BB counts calendar
    // periods with a purchase, the others time since the first purchase.
    let rows: Vec<(f64, f64, f64)> = if !transactional {
        Vec::new()
    } else if model == Model::Bgbb {
        bgbb_rows(reads, &summaries, as_of_day, opts.time_unit)?
    } else {
        summaries.iter().map(|s| (s.x, s.tx, s.t)).collect()
    };
    let mut fitted: Option<Fitted> = None;
    let mut bg_report = None;
    let mut fit_report = None;
    if transactional {
        ctl.report(&format!("fitting {}", model.title()), 0, 1);
        let (f, mut r) = family::fit(model, &rows, opts.penalizer)?;
        notes.extend(family_notes(model, &r, rows.len(), opts.time_unit));
        if let Fitted::Bg(p) = f {
            let se = |n: &str| r.se(n);
            bg_report = Some(BgReport {
                r: p.r,
                alpha: p.alpha,
                a: p.a,
                b: p.b,
                log_likelihood: r.log_likelihood,
                std_err: match (se("r"), se("alpha"), se("a"), se("b")) {
                    (Some(r), Some(alpha), Some(a), Some(b)) => Some(BgStdErr { r, alpha, a, b }),
                    _ => None,
                },
                iterations: r.iterations,
                customers: summaries.len(),
                distinct_rows: bgnbd::Data::new(rows.iter().copied(), 0.0).groups(),
            });
        }
        r.chosen_because = chosen_because.take();
        fit_report = Some(r);
        fitted = Some(f);
    }
    ctl.check()?;

    // Gamma-Gamma on repeat customers with a positive mean spend.
    let repeat = summaries.iter().filter(|s| s.x > 0.0).count();
    let excluded_no_repeat = summaries.len() - repeat;
    let excluded_non_positive_spend = summaries
        .iter()
        .filter(|s| s.x > 0.0 && s.monetary <= 0.0)
        .count();
    let (gg_params, gg_report, gg_note) = if transactional {
        fit_gamma_gamma(&summaries, opts, ctl)
    } else {
        (None, None, None)
    };
    ctl.check()?;

    // Per customer.
    ctl.report("computing CLV", 0, 1);
    let disc = valuing::discount_factors(opts.horizon_months, opts.discount);
    let mut values = valuing::value_transactional(
        fitted, model, &summaries, &rows, gg_params, opts, unit, &disc, &mut notes, ctl,
    )?;

    // sBG: contracts valued by their survival.
    if model == Model::Sbg && opts.method != Method::Bgnbd {
        ctl.report("fitting sBG", 0, 1);
        let (v, r, mut n) = retention::sbg_values(reads, opts, as_of_day, &disc)?;
        let mut r = r;
        r.chosen_because = chosen_because.take();
        fit_report = Some(r);
        values.extend(v);
        notes.append(&mut n);
    }
    // Retention CLV for the others (or everyone with --method retention).
    let valued: rustc_hash::FxHashSet<i64> = values.iter().map(|v| v.cid).collect();
    let all_customers: i64 = reads.customers()?;
    // Retention CLV only runs when someone is left to value.
    if opts.method != Method::Bgnbd && (all_customers as usize) > valued.len() {
        let retention = retention::retention_values(reads, opts, as_of_day, &disc, &valued)?;
        match retention {
            Ok(v) => values.extend(v),
            Err(why) => {
                if opts.method == Method::Retention {
                    return Err(Error::bad(why));
                }
                let left = all_customers as usize - valued.len();
                if left > 0 {
                    notes.push(format!(
                        "{left} customers without orders have no CLV: {why}"
                    ));
                }
            }
        }
    }
    if values.is_empty() {
        return Err(Error::bad(
            "no customer could be valued: import orders (for BG/NBD), or train a churn model and give --revenue-attr (for retention CLV)",
        ));
    }

    // RFM on the customers with orders.
    valuing::assign_rfm(&summaries, &mut values);

    let total_clv: f64 = values.iter().filter_map(|v| v.clv).sum();
    let with_clv = values.iter().filter(|v| v.clv.is_some()).count();
    let mut by_method: HashMap<String, usize> = HashMap::new();
    for v in &values {
        if v.clv.is_some() {
            *by_method.entry(v.method.to_string()).or_default() += 1;
        }
    }
    let report = ClvReport {
        fit_id: 0,
        as_of: as_of.format("%Y-%m-%d").to_string(),
        time_unit: opts.time_unit.as_str().into(),
        customers: with_clv,
        repeat_customers: repeat,
        bgnbd: bg_report,
        gamma_gamma: gg_report,
        gamma_gamma_note: gg_note,
        excluded_no_repeat,
        excluded_non_positive_spend,
        horizon_months: opts.horizon_months,
        discount_rate: opts.discount,
        margin: opts.margin,
        penalizer: opts.penalizer,
        method: match opts.method {
            Method::Auto => "auto",
            Method::Bgnbd => "bgnbd",
            Method::Retention => "retention",
        }
        .into(),
        by_method,
        total_clv,
        mean_clv: if with_clv > 0 {
            total_clv / with_clv as f64
        } else {
            0.0
        },
        duration_ms: 0,
        notes,
        model: fit_report,
        matrices: fitted.as_ref().map(|p| {
            let max_x = rows.iter().map(|s| s.0).fold(0.0, f64::max);
            let max_t = rows.iter().map(|s| s.2).fold(0.0, f64::max);
            Matrices::of(p, max_x, max_t)
        }),
    };

    Ok(Computed {
        report,
        values,
        started,
    })
}

/// BG/BB's (x, t_x, n) per summary, in calendar periods of `unit`: x the
/// periods after the first with a purchase, t_x the last such period and n
/// the periods from the first purchase to the as-of date.
fn bgbb_rows(
    reads: &dyn Reads,
    summaries: &[summary::Summary],
    as_of_day: i64,
    unit: TimeUnit,
) -> Result<Vec<(f64, f64, f64)>> {
    let days = reads.purchase_days(as_of_day)?;
    let as_of = unit.period(as_of_day);
    let mut by_cid: HashMap<i64, (f64, f64, f64)> = HashMap::with_capacity(summaries.len());
    let mut periods: Vec<i64> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let cid = days[i].0;
        periods.clear();
        while i < days.len() && days[i].0 == cid {
            let p = unit.period(days[i].1);
            if periods.last() != Some(&p) {
                periods.push(p);
            }
            i += 1;
        }
        if let Some(r) = bgbb::summary(&periods, as_of) {
            by_cid.insert(cid, r);
        }
    }
    Ok(summaries
        .iter()
        .map(|s| by_cid.get(&s.cid).copied().unwrap_or((0.0, 0.0, 0.0)))
        .collect())
}
