//! Kaplan-Meier curves and the log-rank test, against lifelines 0.27
//! (`KaplanMeierFitter`, `multivariate_logrank_test`, `logrank_test`) on the
//! IBM Telco data: tenure (months) until churn, by contract.

mod common;
use common::{crmtop_cmd, fixture, stdout, TempDb};
use crmtop::analytics::survival::{self, Subject};
use crmtop::ingest::Kind;

fn telco() -> TempDb {
    let db = TempDb::new().on_engine();
    db.import(Kind::Customers, &fixture("telco_contract.csv"))
        .unwrap();
    db
}

/// (group, customers, events, median, [(t, S, lower, upper)]).
type Expected = (
    &'static str,
    u64,
    u64,
    Option<f64>,
    [(f64, f64, f64, f64); 4],
);

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol, "{what}: {got} vs {want}");
}

#[test]
fn kaplan_meier_and_log_rank_equal_lifelines_on_telco() {
    let db = telco();
    let out = crmtop_cmd()
        .args([
            "survival",
            "--duration",
            "tenure",
            "--event",
            "churned",
            "--by",
            "Contract",
            "--json",
            "--db",
        ])
        .arg(db.target())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // (group, n, events, median, [(t, S, lower, upper)]), from lifelines.
    let want: [Expected; 3] = [
        (
            "Month-to-month",
            3875,
            1655,
            Some(35.0),
            [
                (
                    1.0,
                    0.9019354838709666,
                    0.8921380576286736,
                    0.9108879555084513,
                ),
                (
                    12.0,
                    0.7030966363488644,
                    0.6872593576208209,
                    0.7183040754301769,
                ),
                (
                    36.0,
                    0.49110396952483665,
                    0.47049192586294974,
                    0.511370606972726,
                ),
                (
                    72.0,
                    0.12895190061439363,
                    0.07594478309947532,
                    0.19639627104996488,
                ),
            ],
        ),
        (
            "One year",
            1473,
            166,
            None,
            [
                (
                    2.0,
                    0.99863481228669,
                    0.9945525428513777,
                    0.9996583948832664,
                ),
                (
                    24.0,
                    0.9782723764279165,
                    0.9688606056979321,
                    0.9848616817763078,
                ),
                (
                    60.0,
                    0.8318260847306017,
                    0.8004685292754882,
                    0.8586960470949845,
                ),
                (
                    72.0,
                    0.5681456820286734,
                    0.44675806699898596,
                    0.6725229647509797,
                ),
            ],
        ),
        (
            "Two year",
            1695,
            48,
            None,
            [
                (24.0, 1.0, 1.0, 1.0),
                (
                    36.0,
                    0.9986759658872701,
                    0.9947153062156853,
                    0.9996687683469512,
                ),
                (
                    60.0,
                    0.9861995455959094,
                    0.977830622586306,
                    0.991423042702693,
                ),
                (
                    72.0,
                    0.9357385806467282,
                    0.9133361293527721,
                    0.9525006289242327,
                ),
            ],
        ),
    ];
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    for (g, (name, n, events, median, points)) in groups.iter().zip(want) {
        assert_eq!(g["group"], name);
        assert_eq!(g["customers"], n);
        assert_eq!(g["events"], events);
        assert_eq!(g["median"].as_f64(), median, "{name} median");
        let curve = g["curve"].as_array().unwrap();
        for (t, s, lo, hi) in points {
            let p = curve
                .iter()
                .find(|p| p["time"].as_f64() == Some(t))
                .unwrap_or_else(|| panic!("{name}: no point at {t}"));
            close(
                p["survival"].as_f64().unwrap(),
                s,
                1e-6,
                &format!("{name} S({t})"),
            );
            close(
                p["ci_low"].as_f64().unwrap(),
                lo,
                1e-6,
                &format!("{name} lower({t})"),
            );
            close(
                p["ci_high"].as_f64().unwrap(),
                hi,
                1e-6,
                &format!("{name} upper({t})"),
            );
        }
    }
    // multivariate_logrank_test: 2352.872538259342, 2 df.
    close(
        r["logrank"]["statistic"].as_f64().unwrap(),
        2352.872538259342,
        1e-6,
        "log-rank",
    );
    assert_eq!(r["logrank"]["df"], 2);
    // logrank_test between two of the groups: 926.0645586243711.
    let rows =
        crmtop::store::survival::subjects(&db.db(), Some("tenure"), "churned", Some("Contract"))
            .unwrap()
            .rows;
    let subjects = Subject::from_rows(rows);
    let pick = |g: &str| subjects.iter().filter(|s| s.group == g).collect::<Vec<_>>();
    let two = survival::log_rank(&[pick("Month-to-month"), pick("One year")]).unwrap();
    close(two.statistic, 926.0645586243711, 1e-6, "two-group log-rank");
    assert_eq!(two.df, 1);
    assert!(two.p_value < 1e-100);
}

#[test]
fn a_missing_column_is_named_with_the_ones_that_exist() {
    let db = telco();
    let out = crmtop_cmd()
        .args(["survival", "--duration", "tenur", "--db"])
        .arg(db.target())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("--duration tenur") && err.contains("tenure"),
        "{err}"
    );
}
