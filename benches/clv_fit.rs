//! BG/NBD + Gamma-Gamma fits on 1,000,000 customers' summaries (the CLV
//! issue's target: <= 0.5 s; lifetimes takes 14 s for BG/NBD alone here).
//! The summaries are written to target/bench-data/clv_1m.csv for
//! bench/lifetimes_compare.py.

use criterion::{criterion_group, criterion_main, Criterion};
use crmtop::analytics::clv::{bgnbd, family, gamma_gamma, holdout, optim, sbg, TimeUnit};
use crmtop::analytics::survival;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};
use std::io::Write;

/// Customers from known BG/NBD and Gamma-Gamma processes, observed for 1 to
/// 104 weeks, with times on whole days (as real order data has them).
fn simulate(n: usize) -> Vec<(f64, f64, f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let lam = Gamma::new(0.5, 1.0 / 6.0).unwrap();
    let drop = Beta::new(0.8, 3.0).unwrap();
    let nu = Gamma::new(3.0, 1.0 / 40.0).unwrap();
    (0..n)
        .map(|_| {
            let t_days = rng.gen_range(7..728) as f64;
            let l = lam.sample(&mut rng) / 7.0;
            let q = drop.sample(&mut rng);
            let v = nu.sample(&mut rng);
            let spend = Gamma::new(6.0, 1.0 / v).unwrap();
            let (mut t, mut x, mut tx, mut sum) = (0.0f64, 0.0, 0.0, 0.0);
            loop {
                t += Exp::new(l)
                    .map(|e| e.sample(&mut rng))
                    .unwrap_or(f64::INFINITY);
                if t > t_days {
                    break;
                }
                x += 1.0;
                tx = t.floor();
                sum += spend.sample(&mut rng);
                if rng.gen::<f64>() < q {
                    break;
                }
            }
            let m = if x > 0.0 { sum / x } else { 0.0 };
            (x, tx / 7.0, t_days / 7.0, m)
        })
        .collect()
}

fn write_csv(rows: &[(f64, f64, f64, f64)]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let path = dir.join("clv_1m.csv");
    if path.exists() || std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    if let Ok(f) = std::fs::File::create(&path) {
        let mut w = std::io::BufWriter::new(f);
        let _ = writeln!(w, "frequency,recency,T,monetary_value");
        for (x, tx, t, m) in rows {
            let _ = writeln!(w, "{x},{tx},{t},{m}");
        }
    }
}

fn bench(c: &mut Criterion) {
    let rows = simulate(1_000_000);
    write_csv(&rows);
    let mut g = c.benchmark_group("clv_fit_1m");
    g.sample_size(10);
    g.bench_function("bgnbd_and_gamma_gamma", |b| {
        b.iter(|| {
            let bg = bgnbd::Data::new(rows.iter().map(|r| (r.0, r.1, r.2)), 0.0);
            let bo = optim::minimise(&bg, &[1.0, 10.0, 1.0, 1.0], 500).map(|o| o.params);
            let gg = gamma_gamma::Data::new(
                rows.iter()
                    .filter(|r| r.0 > 0.0 && r.3 > 0.0)
                    .map(|r| (r.0, r.3)),
                0.0,
            );
            let go = optim::minimise(&gg, &[1.0, 1.0, 1.0], 500).map(|o| o.params);
            (bo, go)
        })
    });
    g.bench_function("bgnbd_only", |b| {
        b.iter(|| {
            let bg = bgnbd::Data::new(rows.iter().map(|r| (r.0, r.1, r.2)), 0.0);
            optim::minimise(&bg, &[1.0, 10.0, 1.0, 1.0], 500).map(|o| o.params)
        })
    });
    g.finish();
    let bg = bgnbd::Data::new(rows.iter().map(|r| (r.0, r.1, r.2)), 0.0);
    if let Ok(o) = optim::minimise(&bg, &[1.0, 10.0, 1.0, 1.0], 500) {
        println!(
            "crmtop BG/NBD on the bench data: r {:.4} alpha {:.4} a {:.4} b {:.4} ({} iterations)",
            o.params[0], o.params[1], o.params[2], o.params[3], o.iterations
        );
    }
}

/// Issue 13's targets on 1,000,000 customers: Pareto/NBD <= 2 s, every
/// other family <= 1 s, a holdout check <= 1.5 x its family's fit, survival
/// curves of a 10-level group <= 1 s.
fn families(c: &mut Criterion) {
    let rows: Vec<(f64, f64, f64)> = simulate(1_000_000)
        .into_iter()
        .map(|r| (r.0, r.1, r.2))
        .collect();
    let mut g = c.benchmark_group("families_1m");
    g.sample_size(10);
    for (name, model) in [
        ("pnbd", family::Model::Pnbd),
        ("mbgnbd", family::Model::Mbgnbd),
        ("bgnbd", family::Model::Bgnbd),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| family::fit(model, &rows, 0.0).map(|f| f.1.log_likelihood))
        });
    }
    // BG/BB: 1M donors over 8 yearly opportunities.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let pd = Beta::new(1.2, 0.75).unwrap();
    let td = Beta::new(0.66, 2.8).unwrap();
    let bb: Vec<(f64, f64, f64)> = (0..1_000_000)
        .map(|_| {
            let (p, theta) = (pd.sample(&mut rng), td.sample(&mut rng));
            let (mut x, mut tx) = (0.0, 0.0);
            for i in 1..=8 {
                if rng.gen::<f64>() < theta {
                    break;
                }
                if rng.gen::<f64>() < p {
                    x += 1.0;
                    tx = f64::from(i);
                }
            }
            (x, tx, 8.0)
        })
        .collect();
    g.bench_function("bgbb", |b| {
        b.iter(|| family::fit(family::Model::Bgbb, &bb, 0.0).map(|f| f.1.log_likelihood))
    });
    // sBG: 1M contracts of ages 1..24 months.
    let td = Beta::new(0.7, 3.5).unwrap();
    let obs: Vec<sbg::Obs> = (0..1_000_000u32)
        .map(|k| {
            let theta = td.sample(&mut rng);
            let n = 1 + k % 24;
            (1..=n)
                .find(|_| rng.gen::<f64>() < theta)
                .map(sbg::Obs::Cancelled)
                .unwrap_or(sbg::Obs::Active(n))
        })
        .collect();
    g.bench_function("sbg", |b| {
        b.iter(|| {
            let data = sbg::Data::new(obs.iter().copied(), 0.0);
            optim::minimise(&data, &[1.0, 1.0], 500).map(|o| o.params)
        })
    });
    // The holdout check: 1M customers' purchase days over two years, the
    // last 26 weeks held out (a BG/NBD fit on the calibration, predictions,
    // the tracking plot), beside a plain BG/NBD fit on the same customers.
    let mut days: Vec<i64> = Vec::new();
    let mut starts = vec![0usize];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for r in simulate(1_000_000) {
        let first = 20_000 + rng.gen_range(0..300);
        days.push(first);
        let x = r.0 as i64;
        for k in 0..x {
            days.push(first + 1 + (k + 1) * (r.1 * 7.0) as i64 / x.max(1));
        }
        starts.push(days.len());
    }
    for w in starts.windows(2) {
        days[w[0]..w[1]].sort_unstable();
    }
    let end = 20_000 + 728;
    let cal_end = end - 26 * 7;
    g.bench_function("bgnbd_holdout", |b| {
        b.iter(|| {
            holdout::evaluate(
                starts.windows(2).map(|w| holdout::History {
                    days: &days[w[0]..w[1]],
                }),
                cal_end,
                end,
                TimeUnit::Week,
                0.0,
                holdout::Family::Bgnbd,
            )
            .map(|r| r.mae)
        })
    });
    // Survival: 1M customers in 10 groups.
    let subjects: Vec<survival::Subject> = (0..1_000_000u32)
        .map(|i| survival::Subject {
            duration: f64::from(1 + (i * 7919) % 72),
            event: (i * 104_729) % 3 == 0,
            group: format!("plan {}", i % 10),
        })
        .collect();
    g.bench_function("survival_10_groups", |b| {
        b.iter(|| {
            survival::report(&subjects, "months", "churned", Some("plan")).map(|r| r.groups.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench, families);
criterion_main!(benches);
