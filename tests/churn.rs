//! The churn model through the library and the binary.

mod common;
use common::{fixture, TempDb};
use crmtop::analytics::churn::{self, ModelKind, TrainOptions};
use crmtop::ingest::Kind;
use crmtop::jobs::Ctl;
use std::fmt::Write as _;

fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
}

fn opts() -> TrainOptions {
    TrainOptions {
        as_of: Some(as_of()),
        agent: "tester".into(),
        ..Default::default()
    }
}

/// Customers of two kinds: loyal ones keep ordering; leaving ones stop in
/// February 2025 after support contacts and complaints. `noise` of each kind
/// behave like the other, so the model has something to learn.
fn synthetic(db: &TempDb, n: usize) {
    let mut seed: u64 = 7;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    let day = |d: i64| {
        let base = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        (base + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    // Day indices from 2024-06-01: 2025-02-01, T0 (2025-04-02), 2025-06-29.
    let (stop, t0, end) = (245, 305, 393);
    let mut orders = String::from("customer_id,date,amount\n");
    let mut events = String::from("customer_id,occurred_at,kind,value\n");
    let mut fb = String::from("customer_id,created_at,kind,text\n");
    let mut customers = String::from("id,plan\n");
    for i in 0..n {
        let leaving = (i % 2 == 1) != (rnd() < 0.15);
        // S0000 and S0001 are the sample customers: always true to their kind.
        let leaving = if i < 2 { i == 1 } else { leaving };
        let id = format!("S{i:04}");
        writeln!(
            customers,
            "{id},{}",
            if rnd() < 0.5 { "basic" } else { "premium" }
        )
        .unwrap();
        // Leaving customers stop somewhere around T0; some still order after it.
        let last = if leaving {
            t0 - 60 + (rnd() * 100.0) as i64
        } else {
            end
        };
        let mut d = (rnd() * 20.0) as i64;
        while d < last {
            writeln!(orders, "{id},{},{:.2}", day(d), 20.0 + rnd() * 80.0).unwrap();
            d += 10 + (rnd() * 15.0) as i64;
        }
        let contacts = if leaving {
            1 + (rnd() * 4.0) as i64
        } else {
            (rnd() * 2.0) as i64
        };
        for k in 0..contacts {
            writeln!(events, "{id},{},support_contact,1", day(stop - 60 + k * 9)).unwrap();
        }
        writeln!(
            events,
            "{id},{},login,{}",
            day(stop - 30),
            if leaving { 1 } else { 8 }
        )
        .unwrap();
        if leaving && rnd() < 0.7 {
            writeln!(fb, "{id},{},complaint,The app keeps crashing and support never answers. I want a refund!", day(stop - 10)).unwrap();
        }
    }
    for (name, text, kind) in [
        ("c.csv", &customers, Kind::Customers),
        ("o.csv", &orders, Kind::Orders),
        ("e.csv", &events, Kind::Events),
        ("f.csv", &fb, Kind::Feedback),
    ] {
        let f = db.file(name);
        std::fs::write(&f, text).unwrap();
        db.import(kind, &f).unwrap();
    }
}

fn train(db: &TempDb, o: &TrainOptions) -> crmtop::Result<churn::TrainReport> {
    db.train(o, Ctl::silent())
}

fn prob(db: &TempDb, id: &str) -> f64 {
    db.real(&format!(
        "SELECT s.prob FROM customers c JOIN active_churn s ON s.cid = c.cid WHERE c.id = '{id}'"
    ))
}

/// The active scores, by customer.
fn active_scores(db: &TempDb) -> Vec<String> {
    db.dump_rows("SELECT cid, prob FROM active_churn ORDER BY cid")
}

/// Set the active (or a given) model's recorded holdout AUC.
fn set_auc(db: &TempDb, auc: f64, which: &str) {
    let sql = if common::engine_is_postgres() {
        format!("UPDATE models SET report = jsonb_set(report::jsonb, '{{metrics,auc}}', '{auc}')::text WHERE {which}")
    } else {
        format!("UPDATE models SET report = json_set(report, '$.metrics.auc', {auc}) WHERE {which}")
    };
    assert_eq!(db.exec(&sql), 1);
}

#[test]
fn a_customer_built_riskier_scores_higher() {
    let db = TempDb::new().on_engine();
    synthetic(&db, 400);
    for kind in [
        ModelKind::Logistic,
        ModelKind::NaiveBayes,
        ModelKind::RandomForest,
    ] {
        let r = train(
            &db,
            &TrainOptions {
                kind,
                activate: true,
                ..opts()
            },
        )
        .unwrap();
        let auc = r.metrics.as_ref().unwrap().auc;
        assert!(auc > 0.75 && auc < 0.999, "{kind:?}: AUC {auc}");
        // S0001 stops ordering around T0 after complaints; S0000 keeps ordering.
        // (Gaussian naive Bayes is only held to its holdout AUC: scored as of
        // the as-of date, S0001 lies beyond the training range, where its
        // Gaussian tails say little.)
        if kind != ModelKind::NaiveBayes {
            let (risky, loyal) = (prob(&db, "S0001"), prob(&db, "S0000"));
            assert!(
                risky > 0.5 && loyal < 0.5,
                "{kind:?}: risky {risky} vs loyal {loyal}"
            );
        }
    }
    // The logistic model's drivers say why, in words.
    train(
        &db,
        &TrainOptions {
            activate: true,
            ..opts()
        },
    )
    .unwrap();
    let out = db.run(&["export", "churn"]);
    let text = common::stdout(&out);
    let risky = text.lines().find(|l| l.starts_with("S0001,")).unwrap();
    assert!(risky.contains("days since last order"), "{risky}");
    // Every row says whether the customer has already lapsed.
    assert_eq!(
        text.lines().next(),
        Some("customer_id,probability,drivers,model_id,lapsed")
    );
    assert!(text
        .lines()
        .skip(1)
        .all(|l| l.ends_with(",yes") || l.ends_with(",no")));
    // A file stores the drivers packed (store::drivers: a third of their
    // JSON); a server keeps the JSON text. Both read back as the same JSON.
    if let crmtop::store::history::Source::File(_) = db.source() {
        let kind = db.text("SELECT DISTINCT typeof(drivers) FROM active_churn");
        assert_eq!(kind, "blob");
    }
    let cid = db.count("SELECT cid FROM customers WHERE id = 'S0001'");
    let d = crmtop::store::detail::load(&db.db(), cid).unwrap().unwrap();
    let json = d.churn.map(|c| c.2).unwrap_or_default();
    let parsed: Vec<(usize, Option<f64>, f64)> = serde_json::from_str(&json).expect(&json);
    assert_eq!(parsed.len(), 3, "{json}");
}

#[test]
fn no_information_after_the_cutoff_reaches_training_features() {
    let db = TempDb::new().on_engine();
    synthetic(&db, 200);
    let (names1, x1, _) = churn::training_matrix(&db.db(), &db.source(), &opts()).unwrap();
    // Everything after T0 (2025-04-01 for a 90-day window to 2025-06-30):
    // orders (which change the labels), a new event kind, angry feedback.
    let mut o = String::from("customer_id,date,amount\n");
    let mut e = String::from("customer_id,occurred_at,kind\n");
    let mut f = String::from("customer_id,created_at,kind,score,text\n");
    for i in 0..200 {
        o.push_str(&format!("S{i:04},2025-05-{:02},999.99\n", 1 + i % 28));
        e.push_str(&format!(
            "S{i:04},2025-04-15,refund_request\nS{i:04},2025-06-30,support_contact\n"
        ));
        f.push_str(&format!(
            "S{i:04},2025-04-{:02},nps,0,Terrible. Cancelling.\n",
            2 + i % 27
        ));
    }
    for (name, text, kind) in [
        ("o2.csv", o, Kind::Orders),
        ("e2.csv", e, Kind::Events),
        ("f2.csv", f, Kind::Feedback),
    ] {
        let p = db.file(name);
        std::fs::write(&p, text).unwrap();
        db.import(kind, &p).unwrap();
    }
    let (names2, x2, _) = churn::training_matrix(&db.db(), &db.source(), &opts()).unwrap();
    assert_eq!(names1, names2);
    assert_eq!(
        x1, x2,
        "training features changed when only data after T0 changed"
    );
    assert!(!names2.iter().any(|n| n.contains("refund_request")));
}

/// statsmodels' Logit on Telco's numeric columns (TotalCharges' blanks mean-imputed):
/// (feature, coef, std err, z).
const STATSMODELS: [(&str, f64, f64, f64); 5] = [
    (
        "(intercept)",
        -1.6613122246902554,
        0.11527070607456323,
        -14.412267272967256,
    ),
    (
        "SeniorCitizen",
        0.633544307520366,
        0.07932738888689199,
        7.986451040556718,
    ),
    (
        "tenure",
        -0.06319234021084412,
        0.00521343824437114,
        -12.121048960169771,
    ),
    (
        "MonthlyCharges",
        0.02921716916026064,
        0.0017113382924126394,
        17.072702276222877,
    ),
    (
        "TotalCharges",
        0.00010031479480273631,
        5.911195018167684e-05,
        1.697030710278127,
    ),
];

#[test]
fn unpenalised_coefficients_and_std_errors_match_statsmodels() {
    let db = TempDb::new().on_engine();
    db.import(Kind::Customers, &fixture("telco_numeric.csv"))
        .unwrap();
    let r = train(
        &db,
        &TrainOptions {
            l2: 0.0,
            holdout: 0.0,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(r.label_source, "explicit churned column");
    assert!(r.metrics.is_none());
    let raw = r.coefficients_raw.unwrap();
    for (name, coef, se, z) in STATSMODELS {
        let c = raw
            .iter()
            .find(|c| c.feature == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert!(
            (c.coef - coef).abs() / coef.abs() < 1e-6,
            "{name} coef {} vs {coef}",
            c.coef
        );
        assert!(
            (c.std_err - se).abs() / se < 1e-6,
            "{name} se {} vs {se}",
            c.std_err
        );
        assert!((c.z - z).abs() / z.abs() < 1e-6, "{name} z {} vs {z}", c.z);
        assert!((c.odds_ratio - coef.exp()).abs() < 1e-9);
        assert!(c.ci_low < c.coef && c.coef < c.ci_high);
    }
    // Standardised and own units agree on z for the slopes.
    for c in r.coefficients.unwrap().iter().skip(1) {
        let o = raw.iter().find(|x| x.feature == c.feature).unwrap();
        assert!((c.z - o.z).abs() < 1e-9);
    }
}

#[test]
fn activation_follows_the_auc_rule() {
    let db = TempDb::new().on_engine();
    synthetic(&db, 300);
    let first = train(&db, &opts()).unwrap();
    assert!(first.active && first.activation.contains("first model"));
    // Pretend the active model was far better: the next one stays inactive.
    set_auc(&db, 0.999, &format!("id = {}", first.model_id));
    let second = train(&db, &opts()).unwrap();
    assert!(!second.active, "{}", second.activation);
    assert!(second.activation.contains("kept inactive"));
    assert_eq!(
        db.count("SELECT id FROM models WHERE active"),
        first.model_id
    );
    // Its scores are kept, but the customers still show the active model's.
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM churn_scores_{}",
            second.model_id
        )),
        300
    );
    // --activate overrides; so does `model activate`.
    let third = train(
        &db,
        &TrainOptions {
            activate: true,
            ..opts()
        },
    )
    .unwrap();
    assert!(third.active);
    let out = db.run(&["model", "activate", &second.model_id.to_string()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(
        db.count("SELECT id FROM models WHERE active"),
        second.model_id
    );
    // Within tolerance of the active AUC: activated.
    set_auc(&db, 0.5, "active");
    let fourth = train(&db, &opts()).unwrap();
    assert!(fourth.active, "{}", fourth.activation);
}

#[test]
fn bad_input_is_refused_and_the_active_model_kept() {
    // Too few labelled customers.
    let db = TempDb::new().on_engine();
    db.import(Kind::Orders, &fixture("orders_only.csv"))
        .unwrap();
    let e = train(&db, &opts()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("at least 50"), "{e}");

    // One class only, with a model already active.
    let db = TempDb::new().on_engine();
    synthetic(&db, 200);
    let good = train(&db, &opts()).unwrap();
    let mut csv = String::from("id,churned\n");
    for i in 0..200 {
        csv.push_str(&format!("S{i:04},0\n"));
    }
    let f = db.file("labels.csv");
    std::fs::write(&f, csv).unwrap();
    db.import(Kind::Customers, &f).unwrap();
    let e = train(&db, &opts()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("stayed"), "{e}");
    assert_eq!(
        db.count("SELECT id FROM models WHERE active"),
        good.model_id
    );
    assert_eq!(db.count("SELECT count(*) FROM models"), 1);

    // Labels but nothing to learn from.
    let db = TempDb::new().on_engine();
    let mut csv = String::from("id,churned\n");
    for i in 0..100 {
        csv.push_str(&format!("L{i},{}\n", i % 2));
    }
    let f = db.file("bare.csv");
    std::fs::write(&f, csv).unwrap();
    db.import(Kind::Customers, &f).unwrap();
    let e = train(&db, &opts()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("no usable features"), "{e}");
}

#[test]
fn a_cancelled_training_leaves_the_database_unchanged() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let db = TempDb::new().on_engine();
    synthetic(&db, 200);
    let first = train(&db, &opts()).unwrap();
    let before = active_scores(&db);
    for phase in [
        "fitting",
        "scoring customers",
        "writing scores",
        "updating queue priorities",
        "committing",
    ] {
        let cancel = AtomicBool::new(false);
        let cb = |p: crmtop::jobs::Progress| {
            if p.phase == phase {
                cancel.store(true, Ordering::SeqCst);
            }
        };
        let r = db.train(
            &TrainOptions {
                activate: true,
                ..opts()
            },
            Ctl::new(&cb, &cancel),
        );
        assert!(
            matches!(r, Err(crmtop::Error::Cancelled)),
            "{phase}: {:?}",
            r.map(|r| r.model_id)
        );
        assert_eq!(db.count("SELECT count(*) FROM models"), 1, "{phase}");
        assert_eq!(
            db.count("SELECT id FROM models WHERE active"),
            first.model_id
        );
        let after = active_scores(&db);
        assert_eq!(before, after, "{phase}");
    }
}

#[test]
fn train_json_has_every_documented_key() {
    let db = TempDb::new().on_engine();
    synthetic(&db, 200);
    let out = db.run(&["train", "--as-of", "2025-06-30", "--cv", "3", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "model_id",
        "kind",
        "active",
        "as_of",
        "window_days",
        "n_train",
        "n_test",
        "positive_rate",
        "features",
        "dropped_features",
        "metrics",
        "cv",
        "coefficients",
        "duration_ms",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    for k in [
        "auc",
        "pr_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "log_loss",
        "brier",
        "threshold",
    ] {
        assert!(v["metrics"][k].is_number(), "metrics.{k}");
    }
    for k in ["folds", "auc_mean", "auc_std", "log_loss_mean"] {
        assert!(v["cv"][k].is_number(), "cv.{k}");
    }
    let c0 = &v["coefficients"][0];
    assert_eq!(c0["feature"], "(intercept)");
    for k in [
        "feature",
        "coef",
        "std_err",
        "z",
        "p_value",
        "ci_low",
        "ci_high",
        "odds_ratio",
    ] {
        assert!(c0.get(k).is_some(), "coefficients.{k}");
    }
    let list: serde_json::Value =
        serde_json::from_slice(&db.run(&["model", "list", "--json"]).stdout).unwrap();
    // A list command's JSON: {"total", "offset", "items"}.
    assert_eq!(
        list["total"],
        list["items"].as_array().map_or(0, |a| a.len())
    );
    let m = &list["items"][0];
    for k in ["id", "kind", "active", "created_at", "metrics"] {
        assert!(m.get(k).is_some(), "model list: {k}");
    }
    let nb = db.run(&[
        "train",
        "--as-of",
        "2025-06-30",
        "--model",
        "naive_bayes",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&nb.stdout).unwrap();
    assert!(v["coefficients"].is_null());
    let bad = db.run(&["train", "--holdout", "1.5"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// A retrain and a CLV fit set the queue's priorities from the figures
/// they hold: the same as reading the new figures back (a file's path; a
/// server recomputes them from its tables). A priority weighs risk by
/// value: each job runs beside the other's figures.
#[test]
fn priorities_set_from_a_jobs_figures_equal_the_stored_figures() {
    let db = common::demo_db(400, 3);
    let fit = || {
        db.fit_clv(
            &crmtop::analytics::clv::ClvOptions {
                agent: "tester".into(),
                ..Default::default()
            },
            Ctl::silent(),
        )
        .unwrap()
    };
    fit();
    train(
        &db,
        &TrainOptions {
            activate: true,
            ..opts()
        },
    )
    .unwrap();
    let s = db.open();
    assert_eq!(
        crmtop::store::feedback::refresh_priorities(&s.conn).unwrap(),
        0,
        "a retrain's priorities differ from the stored scores'"
    );
    fit();
    assert_eq!(
        crmtop::store::feedback::refresh_priorities(&s.conn).unwrap(),
        0,
        "a CLV fit's priorities differ from the stored values'"
    );
    assert!(db.count("SELECT count(*) FROM queue") > 0);
}

/// The tables of a file whose names start with `prefix`.
fn tables_like(db: &TempDb, prefix: &str) -> Vec<String> {
    db.dump_rows(&format!(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, {}) = '{prefix}' ORDER BY name",
        prefix.len()
    ))
}

/// Old versions' scores leave with their tables after the retrain's commit
/// (retired inside it, dropped after), so the write lock is never held for
/// a cold drop; a retrain stopped while dropping leaves them retired, doctor
/// says so, and the next retrain or `doctor --fix` finishes the work.
#[test]
fn old_versions_scores_are_dropped_after_the_commit() {
    use std::sync::atomic::{AtomicBool, Ordering};
    if common::engine_is_postgres() {
        return; // a file's tables; a server prunes after its commit too
    }
    let db = TempDb::new();
    synthetic(&db, 120);
    let keep = crmtop::store::models::KEEP_SCORES as usize;
    let score_tables = |db: &TempDb| -> std::collections::BTreeSet<String> {
        tables_like(db, "churn_")
            .into_iter()
            .map(|t| t.trim_matches('"').to_string())
            .collect()
    };
    let mut read_ahead = 0;
    for k in 1..=keep + 2 {
        // What a retrain reads ahead (to clear it quickly after its
        // commit) is exactly what its prune removes.
        let soon: std::collections::BTreeSet<String> =
            crmtop::store::models::soon_pruned(&db.open().conn)
                .unwrap()
                .into_iter()
                .collect();
        let before = score_tables(&db);
        train(&db, &opts()).unwrap();
        let after = score_tables(&db);
        assert_eq!(common::removed(&before, &after), soon, "retrain {k}");
        read_ahead += soon.len();
        assert_eq!(
            tables_like(&db, "retired_"),
            Vec::<String>::new(),
            "retrain {k}"
        );
        assert_eq!(
            tables_like(&db, "churn_scores_").len(),
            k.min(keep),
            "retrain {k}"
        );
    }
    assert!(read_ahead >= 2, "no retrain pruned a version");
    // Stopped while dropping: the training stands, the old scores are retired.
    let cancel = AtomicBool::new(false);
    let cb = |p: crmtop::jobs::Progress| {
        if p.phase == "removing old scores" {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    let r = db.train(&opts(), Ctl::new(&cb, &cancel)).unwrap();
    assert_eq!(db.count("SELECT max(id) FROM models"), r.model_id);
    let oldest = r.model_id - keep as i64;
    assert_eq!(
        tables_like(&db, "retired_"),
        vec![
            format!("\"retired_churn_rank_{oldest}\""),
            format!("\"retired_churn_scores_{oldest}\"")
        ]
    );
    assert_eq!(tables_like(&db, "churn_scores_").len(), keep);
    // The retired version reads as pruned at once: `model list` says so.
    let out = db.run(&["model", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"].as_i64() == Some(oldest))
        .unwrap_or_else(|| panic!("v{oldest} in {list}"));
    assert_eq!(row["has_scores"], serde_json::json!(false), "{row}");
    // doctor says so and --fix drops them.
    let out = db.run(&["doctor"]);
    let text = common::stdout(&out);
    assert!(
        text.contains("old versions") && text.contains("not cleared"),
        "{text}"
    );
    let out = db.run(&["doctor", "--fix"]);
    assert!(
        common::stdout(&out).contains("2 cleared"),
        "{}",
        common::stdout(&out)
    );
    assert_eq!(tables_like(&db, "retired_"), Vec::<String>::new());
    let out = db.run(&["doctor"]);
    assert!(
        !common::stdout(&out).contains("old versions"),
        "{}",
        common::stdout(&out)
    );
    // A retrain stopped again; the next one clears what it left.
    let cancel = AtomicBool::new(false);
    let cb = |p: crmtop::jobs::Progress| {
        if p.phase == "removing old scores" {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    db.train(&opts(), Ctl::new(&cb, &cancel)).unwrap();
    assert_eq!(tables_like(&db, "retired_").len(), 2);
    train(&db, &opts()).unwrap();
    assert_eq!(tables_like(&db, "retired_"), Vec::<String>::new());
    assert_eq!(tables_like(&db, "churn_scores_").len(), keep);
}

#[test]
fn a_training_leaves_the_dashboard_it_would_show_computed() {
    let Some((db, thresholds)) = common::dashboard_job_db() else {
        return;
    };
    let with_dashboard = TrainOptions {
        dashboard: Some(thresholds),
        ..opts()
    };
    // A version that becomes active: the figures are its own.
    let active = train(
        &db,
        &TrainOptions {
            activate: true,
            ..with_dashboard.clone()
        },
    )
    .unwrap();
    assert!(active.active);
    let (cached, fresh) = common::cached_and_fresh(&db);
    assert_eq!(cached, fresh);
    assert_eq!(fresh["model"]["id"], active.model_id);
    assert!(fresh["scored"].as_i64().unwrap() > 0 && fresh["total_clv"].is_number());
    // A version kept inactive: the active version's figures.
    set_auc(&db, 0.999, "active");
    let kept = train(&db, &with_dashboard).unwrap();
    assert!(!kept.active, "{}", kept.activation);
    let (cached, fresh) = common::cached_and_fresh(&db);
    assert_eq!(cached, fresh);
    assert_eq!(fresh["model"]["id"], active.model_id);
    // At the data version the commit left, so the first screen uses it.
    let s = db.open();
    let version = crmtop::store::dashboard::data_version(&s.conn).unwrap();
    assert_eq!(cached["version"], version);
}
