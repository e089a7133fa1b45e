//! CLV: the published CDNOW results, recovery on simulated data, conventions.

mod common;
use common::{fixture, TempDb};
use crmtop::analytics::clv::{self, bgnbd, gamma_gamma, optim, ClvOptions, TimeUnit};
use crmtop::ingest::Kind;
use crmtop::jobs::Ctl;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

fn cdnow() -> TempDb {
    let db = TempDb::new().on_engine();
    db.import(Kind::Orders, &fixture("cdnow_sample.csv"))
        .unwrap();
    db
}

fn run(db: &TempDb, o: &ClvOptions) -> crmtop::Result<clv::ClvReport> {
    db.fit_clv(o, Ctl::silent())
}

fn cdnow_opts() -> ClvOptions {
    ClvOptions {
        as_of: chrono::NaiveDate::from_ymd_opt(1997, 9, 30),
        time_unit: TimeUnit::Week,
        agent: "tester".into(),
        ..Default::default()
    }
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: {got} vs {want}"
    );
}

#[test]
fn cdnow_matches_the_published_estimates() {
    let db = cdnow();
    let r = run(&db, &cdnow_opts()).unwrap();
    assert_eq!(r.customers, 2357);
    assert_eq!(r.repeat_customers, 946);
    let b = r.bgnbd.unwrap();
    // Fader, Hardie & Lee (2005): 0.243, 4.414, 0.793, 2.426, LL -9582.4
    close(b.r, 0.2426, 1e-3, "r");
    close(b.alpha, 4.4136, 1e-3, "alpha");
    close(b.a, 0.7929, 1e-3, "a");
    close(b.b, 2.4259, 1e-3, "b");
    close(b.log_likelihood, -9582.43, 1e-3, "log-likelihood");
    let g = r.gamma_gamma.unwrap();
    // Fader & Hardie's Gamma-Gamma note: 6.25, 3.74, 15.44
    close(g.p, 6.2496, 1e-3, "p");
    close(g.q, 3.7442, 1e-3, "q");
    close(g.gamma, 15.4435, 1e-3, "gamma");
    // FHL 2005: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226
    let p = bgnbd::Params {
        r: b.r,
        alpha: b.alpha,
        a: b.a,
        b: b.b,
    };
    let e = p.expected_transactions(2.0, 30.43, 38.86, 39.0).unwrap();
    assert!((e - 1.226).abs() < 0.0015, "{e}");
    // The same in days gives the same rates, scaled.
    let d = run(
        &db,
        &ClvOptions {
            time_unit: TimeUnit::Day,
            ..cdnow_opts()
        },
    )
    .unwrap()
    .bgnbd
    .unwrap();
    close(d.alpha / 7.0, b.alpha, 2e-3, "alpha in days / 7");
    close(d.r, b.r, 2e-3, "r in days");
}

/// Customers drawn from a BG/NBD with known parameters, observed for 20-40 weeks.
fn simulate(n: usize, p: bgnbd::Params, seed: u64) -> Vec<(f64, f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let lam = Gamma::new(p.r, 1.0 / p.alpha).unwrap();
    let drop = Beta::new(p.a, p.b).unwrap();
    (0..n)
        .map(|_| {
            let big_t = rng.gen_range(20.0..40.0);
            let l = lam.sample(&mut rng);
            let q = drop.sample(&mut rng);
            let (mut t, mut x, mut tx) = (0.0, 0.0, 0.0);
            loop {
                t += Exp::new(l)
                    .map(|e| e.sample(&mut rng))
                    .unwrap_or(f64::INFINITY);
                if t > big_t {
                    break;
                }
                x += 1.0;
                tx = t;
                if rng.gen::<f64>() < q {
                    break;
                }
            }
            (x, tx, big_t)
        })
        .collect()
}

#[test]
fn bgnbd_recovers_known_parameters_within_sampling_error() {
    let truth = bgnbd::Params {
        r: 0.25,
        alpha: 4.0,
        a: 0.8,
        b: 2.5,
    };
    let data = bgnbd::Data::new(simulate(100_000, truth, 11), 0.0);
    let opt = optim::minimise(&data, &[1.0, 1.0, 1.0, 1.0], 500).unwrap();
    let se = optim::std_errors(&data, &opt.params).unwrap();
    for (k, want) in [truth.r, truth.alpha, truth.a, truth.b].iter().enumerate() {
        let z = (opt.params[k] - want) / se[k];
        assert!(
            z.abs() < 4.0,
            "param {k}: {} vs {want} (se {})",
            opt.params[k],
            se[k]
        );
    }
}

#[test]
fn gamma_gamma_recovers_known_parameters_and_refuses_an_infinite_mean() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let draw = |rng: &mut ChaCha8Rng, p: f64, q: f64, g: f64, n: usize| -> Vec<(f64, f64)> {
        (0..n)
            .map(|_| {
                let nu = Gamma::new(q, 1.0 / g).unwrap().sample(rng);
                let x = rng.gen_range(1..6);
                let z = Gamma::new(p, 1.0 / nu).unwrap();
                let m = (0..x).map(|_| z.sample(rng)).sum::<f64>() / f64::from(x);
                (f64::from(x), m)
            })
            .collect()
    };
    let data = gamma_gamma::Data::new(draw(&mut rng, 6.0, 4.0, 15.0, 20_000), 0.0);
    let opt = optim::minimise(&data, &[1.0, 1.0, 1.0], 500).unwrap();
    let se = optim::std_errors(&data, &opt.params).unwrap();
    for (k, want) in [6.0, 4.0, 15.0].iter().enumerate() {
        let z = (opt.params[k] - want) / se[k];
        assert!(
            z.abs() < 4.0,
            "param {k}: {} vs {want} (se {})",
            opt.params[k],
            se[k]
        );
    }
    // A spend distribution with an infinite mean (q = 0.7): the fit says so.
    let heavy = gamma_gamma::Data::new(draw(&mut rng, 3.0, 0.7, 10.0, 5_000), 0.0);
    let opt = optim::minimise(&heavy, &[1.0, 1.0, 1.0], 500).unwrap();
    let p = gamma_gamma::Params {
        p: opt.params[0],
        q: opt.params[1],
        gamma: opt.params[2],
    };
    assert!(p.q <= 1.0, "q = {}", p.q);
    assert_eq!(p.population_mean(), None);
}

#[test]
fn q_at_most_one_gives_no_money_figures_and_says_why() {
    // Repeat buyers whose spend levels are Pareto-like with an infinite mean.
    let db = TempDb::new().on_engine();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut csv = String::from("customer_id,date,amount\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for i in 0..400 {
        let level = 5.0 / rng.gen::<f64>().powf(1.6);
        let rate = rng.gen_range(0.01..0.08); // purchases per day
        let mut day = rng.gen_range(0..60) as f64;
        for _ in 0..rng.gen_range(2..6) {
            let amount = level * rng.gen_range(0.8..1.2);
            let d = start + chrono::Duration::days(day as i64);
            csv.push_str(&format!("H{i},{},{amount:.2}\n", d.format("%Y-%m-%d")));
            day += Exp::new(rate).unwrap().sample(&mut rng) + 1.0;
        }
    }
    let f = db.file("heavy.csv");
    std::fs::write(&f, csv).unwrap();
    db.import(Kind::Orders, &f).unwrap();
    let r = run(
        &db,
        &ClvOptions {
            as_of: chrono::NaiveDate::from_ymd_opt(2024, 12, 31),
            agent: "t".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let g = r.gamma_gamma.unwrap();
    assert!(g.q <= 1.0, "q = {}", g.q);
    assert!(r.gamma_gamma_note.unwrap().contains("infinite"));
    assert_eq!(r.customers, 0);
    assert_eq!(
        db.count("SELECT count(*) FROM active_clv WHERE clv IS NOT NULL"),
        0
    );
    // P(alive) and expected transactions are still there.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM active_clv WHERE p_alive IS NOT NULL AND exp_txn IS NOT NULL"
        ),
        400
    );
}

#[test]
fn zero_and_negative_repeat_spend_is_left_out_of_gamma_gamma() {
    let db = cdnow();
    let f = db.file("odd.csv");
    std::fs::write(
        &f,
        "customer_id,date,amount\nZ1,1997-01-05,10\nZ1,1997-02-05,0\nZ1,1997-03-05,0\nN1,1997-01-05,10\nN1,1997-02-05,-5\n",
    )
    .unwrap();
    db.import(Kind::Orders, &f).unwrap();
    let r = run(&db, &cdnow_opts()).unwrap();
    assert_eq!(r.excluded_non_positive_spend, 2);
    assert_eq!(r.repeat_customers, 948);
    assert_eq!(r.gamma_gamma.as_ref().unwrap().customers, 946);
    // They still get a CLV, from the population's mean spend.
    assert_eq!(
        db.count("SELECT count(*) FROM customers c JOIN active_clv v ON v.cid = c.cid WHERE c.id IN ('Z1', 'N1') AND v.clv > 0"),
        2
    );
}

#[test]
fn a_cancelled_fit_leaves_the_database_unchanged() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let db = cdnow();
    let first = run(&db, &cdnow_opts()).unwrap();
    let before = common::stdout(&db.run(&["export", "clv"]));
    for phase in [
        "fitting BG/NBD",
        "computing CLV",
        "writing values",
        "updating queue priorities",
        "committing",
    ] {
        let cancel = AtomicBool::new(false);
        let cb = |p: crmtop::jobs::Progress| {
            if p.phase == phase {
                cancel.store(true, Ordering::SeqCst);
            }
        };
        let r = db.fit_clv(
            &ClvOptions {
                horizon_months: 24,
                ..cdnow_opts()
            },
            Ctl::new(&cb, &cancel),
        );
        assert!(matches!(r, Err(crmtop::Error::Cancelled)), "{phase}");
        assert_eq!(db.count("SELECT count(*) FROM clv_fits"), 1);
        assert_eq!(
            db.count("SELECT id FROM clv_fits WHERE active"),
            first.fit_id
        );
        assert_eq!(
            common::stdout(&db.run(&["export", "clv"])),
            before,
            "{phase}"
        );
    }
}

/// Old fits' values leave with their tables after a fit's commit, and what
/// a fit reads ahead to clear them quickly (`soon_pruned`) is exactly what
/// its prune removes.
#[test]
fn old_fits_values_are_dropped_and_read_ahead_exactly() {
    if common::engine_is_postgres() {
        return; // a file's tables
    }
    let db = cdnow();
    let tables = |db: &TempDb| -> std::collections::BTreeSet<String> {
        db.dump_rows("SELECT name FROM sqlite_schema WHERE type = 'table' AND (name LIKE 'clv\\_%' ESCAPE '\\' OR name LIKE 'retired\\_%' ESCAPE '\\') ORDER BY name")
            .into_iter()
            .map(|t| t.trim_matches('"').to_string())
            .collect()
    };
    let keep = crmtop::store::clv::KEEP_FITS as usize;
    let mut read_ahead = 0;
    for k in 1..=keep + 2 {
        let soon: std::collections::BTreeSet<String> =
            crmtop::store::clv::soon_pruned(&db.open().conn)
                .unwrap()
                .into_iter()
                .collect();
        let before = tables(&db);
        run(&db, &cdnow_opts()).unwrap();
        let after = tables(&db);
        assert!(
            after.iter().all(|t| !t.starts_with("retired_")),
            "fit {k}: {after:?}"
        );
        assert_eq!(common::removed(&before, &after), soon, "fit {k}");
        read_ahead += soon.len();
    }
    assert_eq!(read_ahead, 2 * 3, "two fits pruned, three tables each");
}

#[test]
fn clv_json_has_every_documented_key_and_export_ranks() {
    let db = cdnow();
    let out = db.run(&["clv", "--as-of", "1997-09-30", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "as_of",
        "time_unit",
        "customers",
        "repeat_customers",
        "bgnbd",
        "gamma_gamma",
        "horizon_months",
        "discount_rate",
        "margin",
        "total_clv",
        "duration_ms",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    for k in ["r", "alpha", "a", "b", "log_likelihood"] {
        assert!(v["bgnbd"][k].is_number(), "bgnbd.{k}");
        assert!(
            v["bgnbd"]["std_err"][k].is_number() || k == "log_likelihood",
            "bgnbd.std_err.{k}"
        );
    }
    for k in ["p", "q", "gamma", "log_likelihood"] {
        assert!(v["gamma_gamma"][k].is_number(), "gamma_gamma.{k}");
    }
    let csv = common::stdout(&db.run(&["export", "clv"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("customer_id,p_alive,expected_transactions,expected_spend,clv,method,rfm,segment")
    );
    let clvs: Vec<f64> = lines
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    assert_eq!(clvs.len(), 2357);
    assert!(clvs.windows(2).all(|w| w[0] >= w[1]));
    let seg = db.run(&["segments", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&seg.stdout).unwrap();
    assert!(s["rfm"].as_array().unwrap().len() >= 5);
}

#[test]
fn retention_clv_for_subscription_customers() {
    let db = TempDb::new().on_engine();
    db.import(Kind::Customers, &fixture("telco_numeric.csv"))
        .unwrap();
    // No churn model yet: retention cannot run, and says why.
    let e = run(
        &db,
        &ClvOptions {
            method: clv::Method::Retention,
            revenue_attr: Some("MonthlyCharges".into()),
            agent: "t".into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("churn model"), "{e}");
    db.train(
        &crmtop::analytics::churn::TrainOptions {
            agent: "t".into(),
            ..Default::default()
        },
        Ctl::silent(),
    )
    .unwrap();
    let r = run(
        &db,
        &ClvOptions {
            revenue_attr: Some("MonthlyCharges".into()),
            agent: "t".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.by_method.get("retention"), Some(&7043));
    assert!(r.bgnbd.is_none());
    // A customer paying more per month with the same churn risk is worth more.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let values: std::collections::HashMap<i64, f64> = db
        .dump_rows("SELECT cid, clv FROM active_clv")
        .iter()
        .map(|r| {
            let (cid, clv) = r.split_once('|').unwrap();
            (cid.parse().unwrap(), clv.parse().unwrap())
        })
        .collect();
    for (cid, monthly) in crmtop::store::attributes::numeric(&db.db(), "MonthlyCharges").unwrap() {
        let clv = values[&cid];
        lo = lo.min(clv / monthly);
        hi = hi.max(clv / monthly);
    }
    assert!(lo > 0.0 && hi <= 12.0, "{lo} {hi}");
}

/// `crmtop clv --holdout-from`: on the CDNOW sample with a 39-week
/// calibration (1997-01-01..1997-09-30) and 39 weeks of holdout, the same
/// numbers as lifetimes 0.11.3's `calibration_and_holdout_data(freq='D',
/// freq_multiplier=7)` + `BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time`
/// (the reference printed by bench/holdout_lifetimes.py).
#[test]
fn cdnow_holdout_equals_lifetimes() {
    let db = cdnow();
    let r = cdnow_holdout(Some(clv::holdout::Family::Bgnbd));
    assert_eq!(r.customers, 2357);
    close(r.holdout_length, 39.0, 1e-9, "holdout length");
    close(r.r, 0.242594543, 1e-4, "r");
    close(r.alpha, 4.413602716, 1e-4, "alpha");
    // frequency: (customers, actual mean, predicted mean), lifetimes.
    let want: [(&str, usize, f64, f64); 8] = [
        ("0", 1411, 0.23671155, 0.22508734),
        ("1", 439, 0.69703872, 0.52313113),
        ("2", 214, 1.39252336, 1.04413410),
        ("3", 100, 1.56000000, 1.52027953),
        ("4", 62, 2.53225806, 2.16386585),
        ("5", 38, 2.94736842, 2.65384598),
        ("6", 29, 3.86206897, 3.50404246),
        ("7+", 64, 6.35937500, 6.15719082),
    ];
    assert_eq!(r.by_frequency.len(), want.len());
    for (row, (f, n, actual, pred)) in r.by_frequency.iter().zip(want) {
        assert_eq!(row.frequency, f);
        assert_eq!(row.customers, n, "frequency {f}");
        close(row.actual, actual, 1e-6, &format!("actual at {f}"));
        close(row.predicted, pred, 1e-3, &format!("predicted at {f}"));
    }
    close(r.total_actual, 1882.0, 1e-9, "total actual");
    close(r.total_predicted, 1653.40872418, 1e-3, "total predicted");
    close(r.mae, 0.78545424261, 1e-3, "MAE");
    close(r.rmse, 1.60798201228, 1e-3, "RMSE");
    // The period-transactions plot: customers by repeat purchases in
    // calibration, and lifetimes' sum of probability_of_n_purchases_up_to_time(T_i, n).
    let want_period = [
        (1411, 1407.6843312960784),
        (439, 460.32350376042547),
        (214, 192.4614138500712),
        (100, 101.16419151358173),
        (62, 59.847074413323156),
        (38, 38.11970202089729),
        (29, 25.549105390019342),
        (64, 71.8506777556031),
    ];
    assert_eq!(r.period_transactions.len(), 8);
    for (row, (n, e)) in r.period_transactions.iter().zip(want_period) {
        assert_eq!(row.actual, n, "{}", row.repeat_purchases);
        close(
            row.expected,
            e,
            1e-3,
            &format!("expected at {}", row.repeat_purchases),
        );
    }
    // The tracking plot: every repeat purchase up to the end is counted
    // once, the expectation only grows, and the holdout is marked.
    let last = r.tracking.last().unwrap();
    let first_holdout = r.tracking.iter().position(|t| t.holdout).unwrap();
    assert_eq!(r.tracking[first_holdout].start, "1997-10-01");
    assert!(r
        .tracking
        .windows(2)
        .all(|w| w[1].expected_cumulative >= w[0].expected_cumulative));
    let repeats = db.count(
        "SELECT count(*) - count(DISTINCT cid) FROM (SELECT DISTINCT cid, ts / 86400 AS d FROM orders) AS days",
    );
    close(
        last.actual_cumulative,
        repeats as f64,
        1e-9,
        "tracked repeats",
    );
    // The holdout's own repeats are the difference across the boundary.
    let before = r.tracking[first_holdout - 1].actual_cumulative;
    close(
        last.actual_cumulative - before,
        1882.0,
        1e-9,
        "holdout repeats",
    );
}

/// The CDNOW holdout (39 weeks each) with a model family.
fn cdnow_holdout(family: Option<clv::holdout::Family>) -> clv::holdout::HoldoutReport {
    let db = cdnow();
    let opened = db.db();
    let reads: &dyn crmtop::store::clv::Reads = match &opened {
        crmtop::store::Db::File(f) => &f.conn,
        crmtop::store::Db::Server(pg) => pg,
    };
    clv::holdout(
        reads,
        chrono::NaiveDate::from_ymd_opt(1997, 9, 30),
        chrono::NaiveDate::from_ymd_opt(1998, 6, 30),
        TimeUnit::Week,
        0.0,
        family,
    )
    .unwrap()
}

/// `--model pnbd` on the holdout: Pareto/NBD's published CDNOW estimates
/// (Fader, Hardie & Lee 2005; lifetimes' ParetoNBDFitter: 0.5533, 10.5780,
/// 0.6062, 11.6676; log-likelihood -9,594.97).
#[test]
fn cdnow_pareto_nbd_matches_the_published_estimates() {
    let r = cdnow_holdout(Some(clv::holdout::Family::Pnbd));
    assert_eq!(r.model, "pnbd");
    close(r.r, 0.5532933905171871, 1e-3, "r");
    close(r.alpha, 10.577988061629195, 1e-3, "alpha");
    close(r.s.unwrap(), 0.6062083893796629, 1e-3, "s");
    close(r.beta.unwrap(), 11.667601942474134, 1e-3, "beta");
    close(r.log_likelihood, -9594.974010040976, 1e-6, "log-likelihood");
    assert!(r.a.is_none() && r.b.is_none());
    assert!(r.notes.is_empty(), "{:?}", r.notes);
}

/// `--model mbgnbd` on the holdout: MBG/NBD on CDNOW, 39 weeks
/// (BTYDplus's estimates via lifetimes' tests: 0.525, 6.183, 0.891, 1.614).
#[test]
fn cdnow_mbg_nbd_matches_the_published_estimates() {
    let r = cdnow_holdout(Some(clv::holdout::Family::Mbgnbd));
    assert_eq!(r.model, "mbgnbd");
    close(r.r, 0.525, 1e-3, "r");
    close(r.alpha, 6.183, 1e-3, "alpha");
    close(r.a.unwrap(), 0.891, 1e-3, "a");
    close(r.b.unwrap(), 1.614, 1e-3, "b");
    // Every family predicts the same holdout; the errors differ.
    assert!(r.mae > 0.5 && r.mae < 1.0, "{}", r.mae);
}

/// `--model auto`: every family on the same held-out time, the smallest
/// mean absolute error wins and the report says why.
#[test]
fn auto_picks_the_family_that_predicts_the_holdout_best() {
    let r = cdnow_holdout(None);
    assert_eq!(r.comparison.len(), 3);
    let best = r
        .comparison
        .iter()
        .min_by(|a, b| a.mae.total_cmp(&b.mae))
        .unwrap();
    assert_eq!(r.model, best.model);
    assert_eq!(r.model, "pnbd");
    assert!(r
        .notes
        .iter()
        .any(|n| n.starts_with("auto: pnbd predicts the holdout best")));
}

#[test]
fn an_as_of_date_beyond_the_data_and_today_is_refused_and_keeps_the_active_fit() {
    let db = cdnow();
    run(&db, &cdnow_opts()).unwrap();
    let out = db.run(&["clv", "--as-of", "2099-01-01"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("--as-of 2099-01-01 is after today and after the latest order (1998-06-30)"),
        "{err}"
    );
    assert_eq!(db.count("SELECT count(*) FROM clv_fits"), 1);
    // A past date within the data is fine.
    let out = db.run(&["clv", "--as-of", "1998-01-01"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
}

#[test]
fn a_fit_leaves_the_dashboard_it_would_show_computed() {
    let Some((db, thresholds)) = common::dashboard_job_db() else {
        return;
    };
    let r = run(
        &db,
        &ClvOptions {
            horizon_months: 24,
            agent: "t".into(),
            dashboard: Some(thresholds),
            ..Default::default()
        },
    )
    .unwrap();
    let (cached, fresh) = common::cached_and_fresh(&db);
    // The new fit's figures, at the data version the commit left.
    assert_eq!(fresh["fit"]["id"], r.fit_id);
    assert_eq!(fresh["fit"]["horizon_months"], 24);
    assert!((fresh["total_clv"].as_f64().unwrap() - r.total_clv).abs() < 1e-6 * r.total_clv);
    let s = db.open();
    let version = crmtop::store::dashboard::data_version(&s.conn).unwrap();
    assert_eq!(cached["version"], version);
}
