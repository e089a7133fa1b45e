//! Behavioural clusters from the CLI: k chosen by silhouette, profiles that
//! add up, names, reproducible for a seed, and the customer lists filtered
//! by cluster.

mod common;

use common::*;
use crmtop::store::list::{self, ListQuery, SortColumn};

#[test]
fn clusters_profile_every_customer_and_filter_the_lists() {
    let db = demo_db(1500, 4);
    train_and_fit(&db);
    let db = db.on_engine();
    let out = db.run(&["clusters", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let k = v["k"].as_u64().unwrap() as usize;
    assert!((3..=8).contains(&k), "k {k}");
    assert!(v["chosen_by"].as_str().unwrap().contains("silhouette"));
    assert_eq!(
        v["silhouette"].as_array().unwrap().len(),
        6,
        "k = 3..8 tried"
    );
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), k);
    let sizes: Vec<u64> = clusters
        .iter()
        .map(|c| c["customers"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 1500);
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {sizes:?}"
    );
    let names: Vec<&str> = clusters
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), k, "names are distinct: {names:?}");
    for c in clusters {
        assert!(c["churn_rate"].as_f64().is_some() && c["mean_clv"].as_f64().is_some());
    }
    // Each customer's cluster is stored; the list filter shows exactly them.
    assert_eq!(db.count("SELECT count(*) FROM customer_clusters"), 1500);
    let mut q = ListQuery::new(SortColumn::Clv, true);
    q.cluster = Some(2);
    q.limit = 5000;
    let (rows, n) = match db.db() {
        crmtop::store::Db::File(s) => (
            list::page(&s.conn, &q).unwrap(),
            list::count(&s.conn, &q).unwrap(),
        ),
        crmtop::store::Db::Server(pg) => (
            crmtop::store::pg::list::page(&pg, &q, None).unwrap(),
            crmtop::store::pg::list::count(&pg, &q, None).unwrap(),
        ),
    };
    assert_eq!(rows.len() as u64, sizes[1]);
    assert_eq!(n as u64, sizes[1]);
    // The same seed gives the same clusters; --k is obeyed.
    let again = db.run(&["clusters", "--json"]);
    assert_eq!(stdout(&again), stdout(&out));
    let four = db.run(&["clusters", "--k", "4", "--json"]);
    let v4: serde_json::Value = serde_json::from_str(&stdout(&four)).unwrap();
    assert_eq!(v4["k"], 4);
    let bad = db.run(&["clusters", "--k", "1"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--k 1"), "{}", stderr(&bad));
}
