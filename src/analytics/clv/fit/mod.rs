//! One CLV fit, end to end: the customers' summaries, the family (as asked
//! or chosen by holdout error) and its reliability notes, Gamma-Gamma for
//! the spend, every customer valued (`valuing`), and the fit stored and
//! made active in one transaction.

use super::family::{self, FitReport, Fitted, Model};
use super::*;

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

/// What a reader must know about a family's fit: no standard errors, a
/// poorly or weakly determined estimate, a fit at the edge of the space.
fn family_notes(model: Model, r: &FitReport, customers: usize, unit: TimeUnit) -> Vec<String> {
    let mut notes = Vec::new();
    match r.worst_relative_error() {
            None => notes.push(format!(
                "the {} Hessian is not invertible: no standard errors",
                model.title()
            )),
            // A boundary or flat optimum (a handful of customers, all
            // alike): estimates whose errors dwarf them mean nothing.
            Some(ratio) if ratio > 10.0 => notes.push(format!(
                "the {} fit is poorly determined (standard errors up to {} times the estimates; \
                 {} customers): treat its predictions as unreliable; import more order history, or try --penalizer 0.001",
                model.title(),
                if ratio.is_finite() { format!("{ratio:.0}") } else { "infinitely many".into() },
                customers,
            )),
            // One or two parameters the data barely determine: say which,
            // since a reader takes every printed estimate at its word.
            Some(ratio) if ratio > 1.0 => {
                let weak: Vec<String> = r
                    .params
                    .keys()
                    .filter(|n| matches!((r.se(n), r.param(n)), (Some(e), Some(v)) if e > v.abs()))
                    .map(|n| n.to_string())
                    .collect();
                let hint = if model == Model::Pnbd && weak.iter().any(|n| n == "s" || n == "beta") {
                    match (r.param("s"), r.param("beta")) {
                        (Some(s), Some(b)) if b > 0.0 => format!(
                            ": dropout rates barely differ between customers, so only s/beta = {:.4} per {} (the mean dropout rate) is pinned down, which is what the predictions use",
                            s / b,
                            unit.as_str()
                        ),
                        _ => String::new(),
                    }
                } else {
                    String::new()
                };
                notes.push(format!(
                    "the {} fit leaves {} weakly determined (standard error larger than the estimate){hint}",
                    model.title(),
                    weak.join(" and ")
                ));
            }
            Some(_) => {}
        }
    if r.params
        .values()
        .filter_map(|v| v.as_f64())
        .any(|v| !(1e-3..=1e4).contains(&v))
    {
        notes.push(format!(
                "the {} fit is at the edge of its parameter space ({}): the data do not pin the model down, so its CLV is not reliable; compare with --holdout-from DATE --model auto, or use another family",
                model.title(),
                r.params_text()
            ));
    }
    notes
}

/// What the Gamma-Gamma spend model gives: its parameters, its report, or
/// why there is no CLV in money.
type GgOutcome = (
    Option<gamma_gamma::Params>,
    Option<GgReport>,
    Option<String>,
);

/// Gamma-Gamma on repeat customers with a positive mean spend.
fn fit_gamma_gamma(summaries: &[summary::Summary], opts: &ClvOptions, ctl: Ctl) -> GgOutcome {
    let mut gg_params = None;
    let mut gg_report = None;
    let mut gg_note = None;
    {
        let data = gamma_gamma::Data::new(
            summaries
                .iter()
                .filter(|s| s.x > 0.0 && s.monetary > 0.0)
                .map(|s| (s.x, s.monetary)),
            opts.penalizer,
        );
        if data.len() < 10 {
            gg_note = Some(format!(
                "the Gamma-Gamma spend model needs at least 10 customers with a repeat purchase and positive spend (found {}); no CLV in money",
                data.len()
            ));
        } else {
            ctl.report("fitting Gamma-Gamma", 0, 1);
            match optim::minimise(&data, &[1.0, 1.0, 1.0], 500) {
                Ok(opt) => {
                    let p = gamma_gamma::Params {
                        p: opt.params[0],
                        q: opt.params[1],
                        gamma: opt.params[2],
                    };
                    let se = optim::std_errors(&data, &opt.params).map(|s| [s[0], s[1], s[2]]);
                    if p.q <= 1.0 {
                        gg_note = Some(format!(
                            "Gamma-Gamma q = {:.4} <= 1: the expected spend per transaction is infinite (the spend \
                             distribution's tail is too heavy), so no CLV in money is given. Try --penalizer, or \
                             check the order amounts for outliers.",
                            p.q
                        ));
                    }
                    gg_report = Some(GgReport {
                        p: p.p,
                        q: p.q,
                        gamma: p.gamma,
                        log_likelihood: data.log_likelihood(&p),
                        std_err: se,
                        iterations: opt.iterations,
                        customers: data.len(),
                        population_mean: p.population_mean(),
                    });
                    gg_params = Some(p);
                }
                Err(e) => gg_note = Some(format!("the Gamma-Gamma fit failed: {e}")),
            }
        }
    }
    (gg_params, gg_report, gg_note)
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

/// `--model auto`: sBG when the data are contractual (cancellation dates);
/// else the repeat-purchase family with the smallest error on held-out
/// time (the last 26 weeks), BG/NBD when no holdout can be made.
fn choose_model(
    reads: &dyn Reads,
    opts: &ClvOptions,
    as_of: NaiveDate,
    has_orders: bool,
) -> Result<(Model, String)> {
    let cancelled = reads.cancelled_count()?;
    if cancelled >= 10 {
        return Ok((
            Model::Sbg,
            format!("contractual data: {cancelled} customers have a cancellation date, so sBG values their contracts"),
        ));
    }
    if !has_orders {
        return Ok((
            Model::Bgnbd,
            "too few customers with orders to compare families: BG/NBD, the default".into(),
        ));
    }
    match holdout(
        reads,
        None,
        Some(as_of),
        opts.time_unit,
        opts.penalizer,
        None,
    ) {
        Ok(h) => {
            let model = holdout::Family::parse(h.model)
                .map(Model::from_family)
                .unwrap_or(Model::Bgnbd);
            let why = h
                .notes
                .iter()
                .find(|n| n.starts_with("auto: ") && n.contains("predicts the holdout best"))
                .map(|n| {
                    format!(
                        "{}, from {} to {}",
                        n.trim_start_matches("auto: "),
                        h.holdout_start,
                        h.holdout_end
                    )
                })
                .unwrap_or_else(|| format!("{} predicted the held-out time best", model.title()));
            Ok((model, why))
        }
        Err(e) => Ok((
            Model::Bgnbd,
            format!("no holdout check was possible ({e}): BG/NBD, the default"),
        )),
    }
}
