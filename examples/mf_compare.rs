//! Matrix factorisation (discorec's implicit ALS) against crmtop's
//! item-to-item recommendations, on the offline evaluation `crmtop
//! recommend` prints: each customer's last basket held out, hit rate@10 and
//! NDCG@10 of products not bought before.
//!
//! usage: cargo run --release --example mf_compare -- DB [FACTORS...]

use crmtop::analytics::recommend::{self, Baskets};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = args.next().ok_or("usage: mf_compare DB [FACTORS...]")?;
    let factors: Vec<u32> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let factors = if factors.is_empty() {
        vec![8, 16, 32, 64]
    } else {
        factors
    };
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let (names, items) = crmtop::store::clv::basket_items(&conn)?;
    let b = Baskets::from_items(names, &items);
    let t = Instant::now();
    let e = recommend::evaluate(&b);
    println!(
        "item-to-item: hit rate@10 {:.3}, NDCG@10 {:.3} ({} customers, {:.1} s); most popular: {:.3}, {:.3}",
        e.hit_rate_at_10,
        e.ndcg_at_10,
        e.customers,
        t.elapsed().as_secs_f64(),
        e.baseline.hit_rate_at_10,
        e.baseline.ndcg_at_10
    );
    let h = recommend::holdout(&b);
    let data: Vec<(usize, u32, f32)> = h
        .train
        .iter()
        .enumerate()
        .flat_map(|(user, history)| history.iter().map(move |&p| (user, p, 1.0)))
        .collect();
    // Users of the held-out set, by their index in `train`.
    let held_users: Vec<usize> = h
        .train
        .iter()
        .enumerate()
        .filter(|(_, hist)| !hist.is_empty())
        .map(|(u, _)| u)
        .collect();
    let by_history: std::collections::HashMap<&[u32], usize> = held_users
        .iter()
        .map(|&u| (h.train[u].as_slice(), u))
        .collect();
    for f in factors {
        let t = Instant::now();
        let model = discorec::RecommenderBuilder::new()
            .factors(f)
            .iterations(15)
            .seed(7)
            .fit_implicit(&data);
        let (mut hit, mut nd, mut n) = (0.0, 0.0, 0usize);
        for (history, last) in &h.held {
            let Some(&u) = by_history.get(history.as_slice()) else {
                continue;
            };
            let recs: Vec<u32> = model
                .user_recs(&u, 10)
                .into_iter()
                .map(|(p, _)| *p)
                .collect();
            hit += f64::from(u8::from(recs.iter().any(|r| last.contains(r))));
            nd += recommend::ndcg(&recs, last);
            n += 1;
        }
        println!(
            "implicit ALS, {f} factors: hit rate@10 {:.3}, NDCG@10 {:.3} ({n} customers, {:.1} s)",
            hit / n.max(1) as f64,
            nd / n.max(1) as f64,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
