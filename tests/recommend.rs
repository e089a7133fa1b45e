//! Association rules equal to mlxtend's, and recommendations that beat the
//! most-popular baseline on the demo's baskets.

mod common;

use common::*;
use crmtop::ingest::Kind;

#[test]
fn rules_equal_mlxtends_fpgrowth_and_association_rules() {
    // 400 baskets over 25 products with planted co-purchases; the reference
    // is mlxtend 0.25's fpgrowth(min_support=0.05, max_len=3) +
    // association_rules(confidence >= 0.3) (bench/rules_mlxtend.py).
    let db = TempDb::new().on_engine();
    db.import(Kind::Orders, &fixture("baskets.csv")).unwrap();
    let out = db.run(&[
        "rules",
        "--min-support",
        "0.05",
        "--min-confidence",
        "0.3",
        "--max-len",
        "3",
        "--limit",
        "0",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ours: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let want: Vec<(String, String, f64, f64, f64)> =
        std::fs::read_to_string(fixture("baskets_rules_mlxtend.txt"))
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(" | ").collect();
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                    f[4].parse().unwrap(),
                )
            })
            .collect();
    assert_eq!(ours.len(), want.len());
    let join = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (a, c, s, conf, lift) in want {
        let r = ours
            .iter()
            .find(|r| join(&r["antecedents"]) == a && join(&r["consequents"]) == c)
            .unwrap_or_else(|| panic!("missing rule {a} -> {c}"));
        for (got, want) in [
            (&r["support"], s),
            (&r["confidence"], conf),
            (&r["lift"], lift),
        ] {
            let got = got.as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-9 * want.abs().max(1.0),
                "{a} -> {c}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn recommendations_beat_the_most_popular_baseline_on_the_demo() {
    let db = demo_db(3000, 2).on_engine();
    let out = db.run(&["recommend", "--json", "--limit", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let e = &v["evaluation"];
    let (ours, base) = (
        e["hit_rate_at_10"].as_f64().unwrap(),
        e["baseline"]["hit_rate_at_10"].as_f64().unwrap(),
    );
    assert!(e["customers"].as_u64().unwrap() > 500);
    assert!(
        ours >= 1.2 * base,
        "hit rate@10 {ours} against the baseline's {base}"
    );
    assert!(e["ndcg_at_10"].as_f64().unwrap() > e["baseline"]["ndcg_at_10"].as_f64().unwrap());
    // A customer's recommendations never repeat what she bought.
    let c = &v["customers"][0];
    let bought: Vec<&str> = c["bought"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let recs = c["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 10);
    assert!(recs
        .iter()
        .all(|r| !bought.contains(&r["product"].as_str().unwrap())));
}
