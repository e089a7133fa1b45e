//! The CLV model families beyond BG/NBD: BG/BB on the donations data
//! imported as orders, sBG on Fader & Hardie's High End cohort imported as
//! contracts, each family recovering the parameters of data simulated from
//! it, and the CLI's `--model` choices.

mod common;

use common::*;
use crmtop::analytics::clv::{family, optim, sbg, ClvOptions, TimeUnit};
use crmtop::ingest::Kind;
use crmtop::jobs::Ctl;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: {got} vs {want}"
    );
}

fn opts(as_of: (i32, u32, u32), unit: TimeUnit, model: family::Model) -> ClvOptions {
    ClvOptions {
        as_of: chrono::NaiveDate::from_ymd_opt(as_of.0, as_of.1, as_of.2),
        time_unit: unit,
        model,
        agent: "tester".into(),
        ..Default::default()
    }
}

/// The donations summary as orders: every donor's first gift in 1995, her
/// repeat gifts in the years just before and at her last (1995 + recency),
/// on varying days (periods are calendar years, so the day does not matter).
fn donations_orders() -> String {
    let mut out = String::from("customer_id,date,amount\n");
    let mut id = 0;
    for line in std::fs::read_to_string(fixture("donations.csv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let v: Vec<u32> = line.split(',').map(|x| x.trim().parse().unwrap()).collect();
        let (freq, rec, weight) = (v[0], v[1], v[3]);
        for _ in 0..weight {
            id += 1;
            let day = 1 + id % 28;
            out.push_str(&format!("D{id},1995-03-{day:02},25\n"));
            for y in (rec + 1 - freq)..=rec {
                if y > 0 {
                    out.push_str(&format!(
                        "D{id},{}-{:02}-{day:02},{}\n",
                        1995 + y,
                        1 + id % 12,
                        20 + id % 7
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn donations_imported_as_orders_give_the_published_bgbb_estimates() {
    let db = TempDb::new().on_engine();
    let path = db.file("donations_orders.csv");
    std::fs::write(&path, donations_orders()).unwrap();
    db.import(Kind::Orders, &path).unwrap();
    let o = opts((2001, 12, 31), TimeUnit::Year, family::Model::Bgbb);
    let r = db.fit_clv(&o, Ctl::silent()).unwrap();
    let m = r.model.expect("the BG/BB fit");
    assert_eq!(m.family, "bgbb");
    assert_eq!(m.customers, 11104);
    for (name, want) in [
        ("alpha", 1.204),
        ("beta", 0.750),
        ("gamma", 0.657),
        ("delta", 2.783),
    ] {
        close(m.param(name).unwrap(), want, 1e-3, name);
        assert!(m.se(name).unwrap() > 0.0);
    }
    // Fader, Hardie & Shang (2010); lifetimes: -33,225.58.
    close(m.log_likelihood, -33225.58127, 1e-7, "log-likelihood");
    assert!(r.customers > 0, "the donors are valued");
}

#[test]
fn the_high_end_cohort_imported_as_contracts_gives_the_published_sbg_estimates() {
    // 1,000 customers who signed up on 2000-01-01; alive at the end of
    // years 1..7: 869, 743, 653, 593, 551, 517, 491.
    let alive = [1000u32, 869, 743, 653, 593, 551, 517, 491];
    let mut csv = String::from("id,signup_date,cancelled_at\n");
    let mut id = 0;
    for t in 1..alive.len() {
        for k in 0..(alive[t - 1] - alive[t]) {
            id += 1;
            csv.push_str(&format!(
                "S{id},2000-01-01,{}-{:02}-15\n",
                1999 + t,
                1 + k % 12
            ));
        }
    }
    for _ in 0..491 {
        id += 1;
        csv.push_str(&format!("S{id},2000-01-01,\n"));
    }
    let db = TempDb::new().on_engine();
    let path = db.file("high_end.csv");
    std::fs::write(&path, csv).unwrap();
    db.import(Kind::Customers, &path).unwrap();
    let r = db
        .fit_clv(
            &opts((2007, 1, 1), TimeUnit::Year, family::Model::Sbg),
            Ctl::silent(),
        )
        .unwrap();
    let m = r.model.expect("the sBG fit");
    assert_eq!(m.family, "sbg");
    close(m.param("alpha").unwrap(), 0.668, 1e-3, "alpha");
    close(m.param("beta").unwrap(), 3.806, 1e-3, "beta");
    close(m.log_likelihood, -1611.158147, 1e-7, "log-likelihood");
    // No revenue anywhere: survival without money, and it says so.
    assert!(
        r.notes.iter().any(|n| n.contains("no CLV in money")),
        "{:?}",
        r.notes
    );
    // `auto` sees contractual data and picks sBG, saying why.
    let r = db
        .fit_clv(
            &opts((2007, 1, 1), TimeUnit::Year, family::Model::Auto),
            Ctl::silent(),
        )
        .unwrap();
    let m = r.model.unwrap();
    assert_eq!(m.family, "sbg");
    assert!(m.chosen_because.unwrap().contains("contractual"));
}

#[test]
fn cli_fits_each_family_and_json_names_the_parameters() {
    let db = TempDb::new().on_engine();
    db.import(Kind::Orders, &fixture("cdnow_sample.csv"))
        .unwrap();
    let out = db.run(&["clv", "--as-of", "1997-09-30", "--model", "pnbd", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"]["family"], "pnbd");
    // Fader, Hardie & Lee (2005): 0.553, 10.578, 0.606, 11.669.
    for (name, want) in [
        ("r", 0.5533),
        ("alpha", 10.578),
        ("s", 0.6062),
        ("beta", 11.669),
    ] {
        close(
            v["model"]["params"][name].as_f64().unwrap(),
            want,
            1e-3,
            name,
        );
        assert!(v["model"]["std_err"][name].as_f64().unwrap() > 0.0);
    }
    assert!(v["total_clv"].as_f64().unwrap() > 0.0);
    let bad = db.run(&["clv", "--model", "nbd"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("pnbd"));
}

// ---------------------------------------------------------------------
// Recovery: data simulated from known parameters, fitted back; every
// estimate within two standard errors of the truth.

fn within_two_se(fit: &family::FitReport, truth: &[(&str, f64)]) {
    for (name, want) in truth {
        let (got, se) = (fit.param(name).unwrap(), fit.se(name).unwrap());
        assert!(
            (got - want).abs() <= 2.0 * se,
            "{}: {name} = {got:.4} +- {se:.4}, truth {want}",
            fit.family
        );
    }
}

/// (x, t_x, T) of `n` customers observed for 26 to 78 weeks.
fn simulate(
    n: usize,
    seed: u64,
    mut one: impl FnMut(&mut rand_chacha::ChaCha8Rng, f64) -> (f64, f64),
) -> Vec<(f64, f64, f64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let t = rng.gen_range(26.0..78.0);
            let (x, tx) = one(&mut rng, t);
            (x, tx, t)
        })
        .collect()
}

/// Purchases at rate lambda from 0 to T, ending early: `dies(rng)` after
/// each repeat purchase (and at 0 when `at_start`).
fn nbd_run(
    rng: &mut rand_chacha::ChaCha8Rng,
    lambda: f64,
    p: f64,
    t_end: f64,
    at_start: bool,
) -> (f64, f64) {
    let (mut x, mut tx, mut t) = (0.0, 0.0, 0.0);
    if at_start && rng.gen::<f64>() < p {
        return (0.0, 0.0);
    }
    let gap = Exp::new(lambda).unwrap();
    loop {
        t += gap.sample(rng);
        if t > t_end {
            return (x, tx);
        }
        x += 1.0;
        tx = t;
        if rng.gen::<f64>() < p {
            return (x, tx);
        }
    }
}

#[test]
fn bgnbd_and_mbgnbd_recover_simulated_parameters() {
    let (r, alpha, a, b) = (0.6, 5.0, 0.8, 2.5);
    let lam = Gamma::new(r, 1.0 / alpha).unwrap();
    let pd = Beta::new(a, b).unwrap();
    let rows = simulate(8000, 11, |rng, t| {
        let (l, p) = (lam.sample(rng), pd.sample(rng));
        nbd_run(rng, l, p, t, false)
    });
    let (_, fit) = family::fit(family::Model::Bgnbd, &rows, 0.0).unwrap();
    within_two_se(&fit, &[("r", r), ("alpha", alpha), ("a", a), ("b", b)]);
    let rows = simulate(8000, 12, |rng, t| {
        let (l, p) = (lam.sample(rng), pd.sample(rng));
        nbd_run(rng, l, p, t, true)
    });
    let (_, fit) = family::fit(family::Model::Mbgnbd, &rows, 0.0).unwrap();
    within_two_se(&fit, &[("r", r), ("alpha", alpha), ("a", a), ("b", b)]);
}

#[test]
fn pareto_nbd_recovers_simulated_parameters() {
    let (r, alpha, s, beta) = (0.55, 10.5, 0.6, 11.7);
    let lam = Gamma::new(r, 1.0 / alpha).unwrap();
    let mu = Gamma::new(s, 1.0 / beta).unwrap();
    let rows = simulate(8000, 13, |rng, t| {
        let (l, m): (f64, f64) = (lam.sample(rng), mu.sample(rng));
        let life = Exp::new(m).unwrap().sample(rng);
        let end = f64::min(life, t);
        let gap = Exp::new(l).unwrap();
        let (mut x, mut tx, mut now) = (0.0, 0.0, 0.0);
        loop {
            now += gap.sample(rng);
            if now > end {
                return (x, tx);
            }
            x += 1.0;
            tx = now;
        }
    });
    let (_, fit) = family::fit(family::Model::Pnbd, &rows, 0.0).unwrap();
    within_two_se(
        &fit,
        &[("r", r), ("alpha", alpha), ("s", s), ("beta", beta)],
    );
}

#[test]
fn bgbb_recovers_simulated_parameters() {
    let (al, be, ga, de) = (1.2, 0.75, 0.66, 2.8);
    let pd = Beta::new(al, be).unwrap();
    let td = Beta::new(ga, de).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    let rows: Vec<(f64, f64, f64)> = (0..10_000)
        .map(|_| {
            let (p, theta) = (pd.sample(&mut rng), td.sample(&mut rng));
            let n = 8;
            let (mut x, mut tx) = (0.0, 0.0);
            for i in 1..=n {
                if rng.gen::<f64>() < theta {
                    break;
                }
                if rng.gen::<f64>() < p {
                    x += 1.0;
                    tx = f64::from(i);
                }
            }
            (x, tx, f64::from(n))
        })
        .collect();
    let (_, fit) = family::fit(family::Model::Bgbb, &rows, 0.0).unwrap();
    within_two_se(
        &fit,
        &[("alpha", al), ("beta", be), ("gamma", ga), ("delta", de)],
    );
}

#[test]
fn sbg_recovers_simulated_parameters() {
    let (al, be) = (0.7, 3.5);
    let td = Beta::new(al, be).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    // Cohorts of every age from 1 to 10 periods.
    let obs: Vec<sbg::Obs> = (0..10_000)
        .map(|k| {
            let theta = td.sample(&mut rng);
            let n = 1 + k % 10;
            for t in 1..=n {
                if rng.gen::<f64>() < theta {
                    return sbg::Obs::Cancelled(t);
                }
            }
            sbg::Obs::Active(n)
        })
        .collect();
    let data = sbg::Data::new(obs, 0.0);
    let opt = optim::minimise(&data, &[1.0, 1.0], 500).unwrap();
    let se = optim::std_errors(&data, &opt.params).unwrap();
    let fit = family::FitReport::new(
        family::Model::Sbg,
        family::names(family::Model::Sbg),
        &opt.params,
        Some(se),
        data.log_likelihood(&sbg::Params::from_slice(&opt.params)),
        opt.iterations,
        data.len(),
    );
    within_two_se(&fit, &[("alpha", al), ("beta", be)]);
}
