//! Logistic fit on 1,000,000 x 20 standardised features (the churn issue's
//! speed target: faster than scikit-learn's lbfgs, 0.75 s here).
//! The same data is written to target/bench-data/fit_1m_20.bin for
//! bench/fit_sklearn.py.

use criterion::{criterion_group, criterion_main, Criterion};
use crmtop::analytics::logistic::IrlsParams;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;

const N: usize = 1_000_000;
const D: usize = 20;

/// Standard normal features, a known coefficient vector, Bernoulli labels.
fn data() -> (Array2<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let normal = rand_distr::StandardNormal;
    let x = Array2::from_shape_fn((N, D), |_| rng.sample::<f64, _>(normal));
    let beta: Vec<f64> = (0..D).map(|j| ((j as f64) - 9.5) / 10.0).collect();
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            let z: f64 = -0.5 + r.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
            rng.gen::<f64>() < 1.0 / (1.0 + (-z).exp())
        })
        .collect();
    (x, y)
}

fn write_for_python(x: &Array2<f64>, y: &[bool]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let path = dir.join("fit_1m_20.bin");
    if path.exists() || std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    if let Ok(f) = std::fs::File::create(&path) {
        let mut w = std::io::BufWriter::new(f);
        for v in x.iter() {
            let _ = w.write_all(&v.to_le_bytes());
        }
        for &b in y {
            let _ = w.write_all(&[u8::from(b)]);
        }
    }
}

fn bench(c: &mut Criterion) {
    let (x, y) = data();
    write_for_python(&x, &y);
    let mut g = c.benchmark_group("logistic_fit_1m_x_20");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(20));
    g.bench_function("irls_l2_1", |b| {
        b.iter(|| {
            IrlsParams::default()
                .fit_arrays(&x, &y)
                .map(|f| f.iterations)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
