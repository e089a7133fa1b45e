//! The data commands through the real binary: exit codes, demo determinism.

mod common;
use common::{crmtop_cmd, fixture, stderr, stdout, TempDb};

#[test]
fn import_exit_codes() {
    let db = TempDb::new().on_engine();
    let ok = db.run(&[
        "import",
        "customers",
        fixture("customers_extra.csv").to_str().unwrap(),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("inserted 4"));

    let rej = db.file("r.csv");
    let bad = db.run(&[
        "import",
        "orders",
        fixture("orders_bad.csv").to_str().unwrap(),
        "--reject-file",
        rej.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(3), "{}", stderr(&bad));
    assert!(stdout(&bad).contains("rejected 7"));
    assert!(rej.exists());

    let missing = db.run(&["import", "orders", "/nonexistent/orders.csv"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/orders.csv"));

    let json = db.run(&[
        "import",
        "orders",
        fixture("orders_only.csv").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["inserted"], 5);
    assert_eq!(v["customers_created"], 3);
}

#[test]
fn the_default_reject_file_sits_beside_the_input() {
    let db = TempDb::new().on_engine();
    let input = db.file("orders.csv");
    std::fs::copy(fixture("orders_bad.csv"), &input).unwrap();
    let out = db.run(&["import", "orders", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(db.file("orders.rejects.csv").exists());
}

#[test]
fn demo_is_deterministic_for_a_seed() {
    let export = |seed: &str| {
        let db = TempDb::new();
        let out = db.run(&[
            "demo",
            "--customers",
            "300",
            "--seed",
            seed,
            "--as-of",
            "2025-06-30",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        // Running it again on the same file replaces the demo database.
        let out = db.run(&[
            "demo",
            "--customers",
            "300",
            "--seed",
            seed,
            "--as-of",
            "2025-06-30",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut all = Vec::new();
        for what in ["customers", "orders", "feedback"] {
            let out = db.run(&["export", what]);
            assert_eq!(out.status.code(), Some(0));
            all.extend(out.stdout);
        }
        all
    };
    let a = export("7");
    assert_eq!(a, export("7"));
    assert_ne!(a, export("8"));
}

#[test]
fn demo_data_is_non_trivial() {
    let db = TempDb::new();
    db.run(&[
        "demo",
        "--customers",
        "500",
        "--seed",
        "3",
        "--as-of",
        "2025-06-30",
    ]);
    let out = db.run(&["info", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["customers"], 500);
    assert!(v["orders"].as_i64().unwrap() > 1000, "{v}");
    assert!(v["events"].as_i64().unwrap() > 1000, "{v}");
    assert!(v["feedback"].as_i64().unwrap() > 300, "{v}");
    assert!(v["feedback_open"].as_i64().unwrap() > 5, "{v}");
    assert_eq!(v["last_order"], "2025-06-29");
}

#[test]
fn demo_refuses_to_replace_real_data() {
    let db = TempDb::new();
    db.run(&[
        "import",
        "customers",
        fixture("customers_extra.csv").to_str().unwrap(),
    ]);
    let out = db.run(&["demo", "--customers", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not demo data"), "{}", stderr(&out));
    assert_eq!(db.count("SELECT count(*) FROM customers"), 4);
}

#[test]
fn export_formats_and_masking() {
    let db = TempDb::new();
    db.run(&[
        "import",
        "customers",
        fixture("customers_extra.csv").to_str().unwrap(),
    ]);
    let csv_out = stdout(&db.run(&["export", "customers"]));
    assert!(csv_out.starts_with("id,name,email,phone,signup_date,birth_date,age,income,region,plan,segment,churned,cancelled_at,devices,loyalty_tier\n"), "{csv_out}");
    assert!(csv_out.contains("C1,Ada Lovelace,ada@example.com"));
    let json = stdout(&db.run(&["export", "customers", "--format", "json"]));
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "C1");
    assert_eq!(first["loyalty_tier"], "gold");
    assert_eq!(first["churned"], false);
    let masked = stdout(&db.run(&["--mask-pii", "export", "customers"]));
    assert!(
        !masked.contains("Lovelace") && !masked.contains("ada@example.com"),
        "{masked}"
    );
    assert!(masked.contains("A** L*******"));
    // The config file's `mask_pii = true` does the same.
    let cfg = db.file("config.toml");
    std::fs::write(&cfg, "mask_pii = true\n").unwrap();
    let by_config = crmtop_cmd()
        .arg("--db")
        .arg(&db.path)
        .arg("--config")
        .arg(&cfg)
        .args(["export", "customers"])
        .output()
        .unwrap();
    assert_eq!(stdout(&by_config), masked);
    // Free text in feedback: e-mails and phone numbers inside it.
    let fb = db.file("fb.csv");
    std::fs::write(
        &fb,
        "id,customer_id,created_at,kind,text\nF1,C1,2024-05-01,complaint,Reach me at ada@example.com or +44 20 7946 0958\n",
    )
    .unwrap();
    db.run(&["import", "feedback", fb.to_str().unwrap()]);
    let plain = stdout(&db.run(&["export", "feedback"]));
    assert!(plain.contains("ada@example.com"), "{plain}");
    let hidden = stdout(&db.run(&["--mask-pii", "export", "feedback"]));
    assert!(
        !hidden.contains("ada@example.com") && !hidden.contains("7946 0958"),
        "{hidden}"
    );
    assert!(hidden.contains("***-0958"), "{hidden}");
}

#[test]
fn missing_database_is_reported_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = crmtop_cmd()
        .args(["info", "--db"])
        .arg(dir.path().join("none.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("crmtop demo"), "{}", stderr(&out));
}
