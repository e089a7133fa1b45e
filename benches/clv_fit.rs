//! BG/NBD + Gamma-Gamma fits on 1,000,000 customers' summaries (the CLV
//! issue's target: <= 0.5 s; lifetimes takes 14 s for BG/NBD alone here).
//! The summaries are written to target/bench-data/clv_1m.csv for
//! bench/lifetimes_compare.py.

use criterion::{criterion_group, criterion_main, Criterion};
use crmtop::analytics::clv::{bgnbd, gamma_gamma, optim};
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

criterion_group!(benches, bench);
criterion_main!(benches);
