//! Campaigns from the CLI: stratified, reproducible, immutable assignment;
//! two agents working the treated customers without losing an outcome; the
//! report's JSON.

mod common;

use common::*;
use std::collections::HashMap;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

fn groups(db: &TempDb, name: &str) -> HashMap<String, (String, String)> {
    let v = json(&db.run(&["campaign", "show", name, "--json"]));
    v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["customer_id"].as_str().unwrap().to_string(),
                (
                    m["group"].as_str().unwrap().to_string(),
                    m["stratum"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn assignment_is_stratified_reproducible_and_immutable() {
    let db = demo_db(1200, 5);
    train_and_fit(&db);
    let db = db.on_engine();
    let create = |name: &str, seed: &str| {
        db.run(&[
            "campaign",
            "create",
            name,
            "--action",
            "call",
            "--control",
            "0.2",
            "--seed",
            seed,
            "--start",
            "2025-03-01",
        ])
    };
    assert!(create("a", "1").status.success());
    let a = groups(&db, "a");
    assert!(a.len() > 500, "every customer not lapsed: {}", a.len());
    for band in ["high", "medium", "low"] {
        let all: Vec<_> = a.values().filter(|(_, s)| s == band).collect();
        let held = all.iter().filter(|(g, _)| g == "control").count();
        assert_eq!(held, (all.len() as f64 * 0.2).round() as usize, "{band}");
    }
    // The same seed gives the same groups (once a is closed: an open
    // campaign's control group is left out of others); another seed others.
    assert!(db.run(&["campaign", "close", "a"]).status.success());
    assert!(create("b", "1").status.success());
    assert_eq!(groups(&db, "b"), a);
    let c = create("c", "2");
    assert!(c.status.success(), "{}", stderr(&c));
    let c_groups = groups(&db, "c");
    assert_ne!(c_groups, a);
    // c leaves out b's control group (b is open) and says so.
    let b_control: Vec<&String> = a
        .iter()
        .filter(|(_, (g, _))| g == "control")
        .map(|(id, _)| id)
        .collect();
    assert!(b_control.iter().all(|id| !c_groups.contains_key(*id)));
    assert_eq!(c_groups.len() + b_control.len(), a.len());
    assert!(
        stdout(&c).contains(&format!(
            "{} customers the target takes were left out",
            b_control.len()
        )),
        "{}",
        stdout(&c)
    );
    assert!(
        stdout(&c).contains("also being worked in another open campaign"),
        "{}",
        stdout(&c)
    );
    // A name is used once.
    let again = create("a", "1");
    assert!(!again.status.success());
    assert!(stderr(&again).contains("exists already"));
    // The assignment cannot be changed or deleted, even in SQL.
    use crmtop::store::sql::Sql;
    let s = db.db();
    let moved = s.exec(
        "UPDATE campaign_assignment SET treatment = 1 - treatment",
        &[],
    );
    assert!(moved.unwrap_err().to_string().contains("cannot be changed"));
    let gone = s.exec("DELETE FROM campaign_assignment", &[]);
    assert!(gone.unwrap_err().to_string().contains("cannot be deleted"));
    // Every step is in the audit log.
    assert_eq!(
        db.count("SELECT count(*) FROM audit_log WHERE action = 'campaign_create'"),
        3
    );
    // Unknown actions and bad targets say what is allowed.
    // Today, two years after the demo's last order, everyone is lapsed: said so.
    let late = db.run(&["campaign", "create", "x", "--action", "call"]);
    assert!(stderr(&late).contains("--start DATE"), "{}", stderr(&late));
    let bad = db.run(&["campaign", "create", "x", "--action", "telepathy"]);
    assert!(stderr(&bad).contains("call"), "{}", stderr(&bad));
    let bad = db.run(&[
        "campaign",
        "create",
        "x",
        "--action",
        "call",
        "--target",
        "risk=extreme",
    ]);
    assert!(
        stderr(&bad).contains("high, medium, low"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn two_agents_work_the_list_without_losing_an_outcome() {
    let db = demo_db(600, 6);
    train_and_fit(&db);
    let db = db.on_engine();
    assert!(db
        .run(&[
            "campaign",
            "create",
            "save",
            "--action",
            "email",
            "--target",
            "risk=high,medium",
            "--size",
            "100",
            "--start",
            "2025-03-01"
        ])
        .status
        .success());
    let next =
        |agent: &str| json(&db.run(&["--agent", agent, "campaign", "next", "save", "--json"]));
    let ann = next("ann");
    let bob = next("bob");
    assert_ne!(
        ann["customer_id"], bob["customer_id"],
        "two agents never get the same customer"
    );
    assert_eq!(ann["group"], "treatment");
    // Asking again gives ann the customer she holds.
    assert_eq!(next("ann")["customer_id"], ann["customer_id"]);
    let id = ann["customer_id"].as_str().unwrap();
    let version = ann["version"].as_i64().unwrap().to_string();
    let ok = db.run(&[
        "--agent",
        "ann",
        "campaign",
        "outcome",
        "save",
        id,
        "accepted",
        "--note",
        "wants the annual plan",
        "--version",
        &version,
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    // Bob, working from the same stale read, is refused, not overwriting.
    let late = db.run(&[
        "--agent",
        "bob",
        "campaign",
        "outcome",
        "save",
        id,
        "declined",
        "--version",
        &version,
    ]);
    assert!(!late.status.success());
    assert!(
        stderr(&late).contains("changed since you read it"),
        "{}",
        stderr(&late)
    );
    // Nor is carl, without the version: ann's outcome is hers until
    // someone replaces it knowingly.
    let over = db.run(&[
        "--agent",
        "carl",
        "campaign",
        "outcome",
        "save",
        id,
        "no_answer",
    ]);
    assert!(!over.status.success());
    assert!(
        stderr(&over).contains("ann recorded 'accepted'") && stderr(&over).contains("--version"),
        "{}",
        stderr(&over)
    );
    let shown = json(&db.run(&["campaign", "show", "save", "--json"]));
    let m = shown["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["customer_id"] == id)
        .unwrap();
    assert_eq!(m["outcome"], "accepted");
    assert_eq!(m["outcome_by"], "ann");
    // The control group receives nothing, so it has no outcome.
    let control = shown["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["group"] == "control")
        .unwrap();
    let refused = db.run(&[
        "campaign",
        "outcome",
        "save",
        control["customer_id"].as_str().unwrap(),
        "reached",
    ]);
    assert!(
        stderr(&refused).contains("control group"),
        "{}",
        stderr(&refused)
    );
    // Bob's customer is his: ann cannot record on it.
    let theirs = db.run(&[
        "--agent",
        "ann",
        "campaign",
        "outcome",
        "save",
        bob["customer_id"].as_str().unwrap(),
        "reached",
    ]);
    assert!(
        stderr(&theirs).contains("bob is working this customer"),
        "{}",
        stderr(&theirs)
    );
    // Bob left for the day: ann frees his hold (audited as hers), and the
    // customer can be worked again.
    let bobs = bob["customer_id"].as_str().unwrap();
    let freed = db.run(&[
        "--agent", "ann", "campaign", "release", "save", bobs, "--from", "bob",
    ]);
    assert!(freed.status.success(), "{}", stderr(&freed));
    assert!(
        stdout(&freed).contains("given back from bob"),
        "{}",
        stdout(&freed)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM audit_log WHERE action = 'campaign_release' AND agent = 'ann' AND old_value = 'bob'"),
        1
    );
    let again = db.run(&["--agent", "bob", "campaign", "release", "save", bobs]);
    assert!(!again.status.success(), "nothing left to give back");
    // A control member of an open campaign gets no action: it would spoil it.
    let held = control["customer_id"].as_str().unwrap();
    let advice = db.run(&["next-action", held, "--json"]);
    if advice.status.success() {
        let v = json(&advice);
        let why = v["customers"][0]["explanation"].as_str().unwrap();
        assert!(why.contains("control group of campaign save"), "{why}");
        assert!(v["customers"][0]["action"].is_null());
    }
    // The report counts it, with intervals in its JSON.
    let r = json(&db.run(&["campaign", "report", "save", "--json"]));
    for key in ["retention", "revenue"] {
        for f in [
            "treatment",
            "control",
            "difference",
            "ci_low",
            "ci_high",
            "p_value",
            "n_treatment",
            "n_control",
        ] {
            assert!(!r[key][f].is_null(), "{key}.{f} in {r}");
        }
    }
    assert_eq!(r["report"]["outcomes"]["accepted"], 1);
    assert_eq!(
        r["retention"]["n_treatment"].as_u64().unwrap()
            + r["retention"]["n_control"].as_u64().unwrap(),
        100
    );
    // Closed, its outcomes are final.
    assert!(db.run(&["campaign", "close", "save"]).status.success());
    let after = db.run(&[
        "--agent",
        "bob",
        "campaign",
        "outcome",
        "save",
        bob["customer_id"].as_str().unwrap(),
        "reached",
    ]);
    assert!(stderr(&after).contains("closed"), "{}", stderr(&after));
    // A campaign starting after the data has nothing to report yet.
    assert!(db
        .run(&[
            "campaign",
            "create",
            "later",
            "--action",
            "email",
            "--start",
            "2030-01-01",
            "--target",
            "lapsed=yes"
        ])
        .status
        .success());
    let early = db.run(&["campaign", "report", "later"]);
    assert!(
        stderr(&early).contains("nothing to measure yet"),
        "{}",
        stderr(&early)
    );
}

#[test]
fn reports_recover_the_demo_campaigns_true_effects() {
    // The demo's past campaigns have effects the generator knows (a call
    // that keeps would-be leavers, an e-mail that does nothing). The
    // report's 95% intervals must cover them at their nominal rate. "19 of
    // 20 seeds" is what the issue asked, but a correct 95% interval fails
    // that about a quarter of the time (P(at most 1 miss in 20) = 0.74), so
    // the rate is checked over 30 seeds x 2 campaigns: at least 90% (a
    // correct interval falls below that with probability about 0.03).
    let mut covered = 0;
    let mut tried = 0;
    for seed in 1..=30u64 {
        let db = TempDb::new();
        let summary = {
            let mut s = db.open();
            crmtop::ingest::demo::generate(
                &mut s.conn,
                &crmtop::ingest::demo::DemoOptions {
                    customers: 3000,
                    seed,
                    as_of: chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
                },
                "tester",
                crmtop::jobs::Ctl::silent(),
            )
            .unwrap()
        };
        for c in &summary.campaigns {
            let r = json(&db.run(&["campaign", "report", &c.name, "--json"]));
            let (lo, hi) = (
                r["retention"]["ci_low"].as_f64().unwrap(),
                r["retention"]["ci_high"].as_f64().unwrap(),
            );
            tried += 1;
            if lo <= c.true_retention_effect && c.true_retention_effect <= hi {
                covered += 1;
            } else {
                eprintln!(
                    "seed {seed} {}: truth {:.4} outside [{lo:.4}, {hi:.4}]",
                    c.name, c.true_retention_effect
                );
            }
        }
    }
    assert_eq!(tried, 60, "two campaigns per seed");
    assert!(
        covered >= 54,
        "{covered} of {tried} intervals cover the truth"
    );
}

#[test]
fn next_best_action_learns_from_the_demo_campaigns() {
    let db = demo_db(3000, 9);
    train_and_fit(&db);
    let db = db.on_engine();
    let v = json(&db.run(&["next-action", "--limit", "0", "--json"]));
    let all = v["customers"].as_array().unwrap();
    assert!(!all.is_empty());
    // The call kept would-be leavers in the high band; the e-mail did nothing.
    let high: Vec<_> = all.iter().filter(|c| c["band"] == "high").collect();
    let mut by_action: HashMap<String, usize> = HashMap::new();
    for c in &high {
        *by_action.entry(c["action"].to_string()).or_default() += 1;
    }
    let top = by_action.iter().max_by_key(|(_, n)| **n).unwrap();
    assert_eq!(top.0, "\"call\"", "{by_action:?}");
    let call = high.iter().find(|c| c["action"] == "call").unwrap();
    let why = call["explanation"].as_str().unwrap();
    assert!(
        why.contains("campaign spring-call") && why.contains("95% CI"),
        "{why}"
    );
    // One customer, the same advice for the same seed.
    let id = call["customer_id"].as_str().unwrap();
    let one = json(&db.run(&["next-action", id, "--json"]));
    assert_eq!(one["customers"][0]["action"], call["action"]);
    assert_eq!(one["customers"][0]["explanation"], call["explanation"]);
}

#[test]
fn the_playbook_in_the_config_steers_untested_actions() {
    let db = demo_db(1500, 4);
    train_and_fit(&db);
    let db = db.on_engine();
    let cfg = db.file("playbook.toml");
    std::fs::write(
        &cfg,
        "[[playbook]]\nwho = \"risk=medium\"\naction = \"sms\"\nprior_uplift = 0.3\n",
    )
    .unwrap();
    let cfg_arg = cfg.to_str().unwrap();
    let v = json(&db.run(&["--config", cfg_arg, "next-action", "--limit", "0", "--json"]));
    let medium: Vec<_> = v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["band"] == "medium")
        .collect();
    assert!(!medium.is_empty());
    let sms = medium.iter().filter(|c| c["action"] == "sms").count();
    assert!(sms * 10 >= medium.len() * 7, "{sms} of {}", medium.len());
    let one = medium.iter().find(|c| c["action"] == "sms").unwrap();
    assert_eq!(one["playbook"], "rule 1: risk=medium -> sms");
    let why = one["explanation"].as_str().unwrap();
    assert!(why.contains("playbook rule 1 (risk=medium)"), "{why}");
    // A rule naming an action the catalogue lacks is refused at load.
    std::fs::write(
        &cfg,
        "[[playbook]]\nwho = \"risk=high\"\naction = \"fax\"\n",
    )
    .unwrap();
    let out = db.run(&["--config", cfg_arg, "next-action"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("playbook rule 1: no action 'fax'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_campaign_without_two_groups_or_anyone_is_refused_with_the_right_reason() {
    let db = demo_db(600, 2);
    train_and_fit(&db);
    let db = db.on_engine();
    let one = db.run(&[
        "campaign",
        "create",
        "tiny",
        "--action",
        "call",
        "--size",
        "1",
        "--control",
        "0.2",
        "--start",
        "2025-06-01",
    ]);
    assert!(!one.status.success());
    assert!(
        stderr(&one).contains("each group needs at least one customer"),
        "{}",
        stderr(&one)
    );
    let nobody = db.run(&[
        "campaign",
        "create",
        "rich",
        "--action",
        "call",
        "--target",
        "clv>=99999999",
        "--start",
        "2025-06-01",
    ]);
    assert!(!nobody.status.success());
    let e = stderr(&nobody);
    assert!(
        e.contains("no customer matches the target 'clv>=99999999'"),
        "{e}"
    );
    assert!(!e.contains("lapsed"), "the lapse is not the reason: {e}");
    // Nothing was stored.
    let v = json(&db.run(&["campaign", "list", "--json"]));
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"tiny") && !names.contains(&"rich"),
        "{names:?}"
    );
    // A report's return comes with the range its revenue interval allows.
    let r = json(&db.run(&["campaign", "report", "summer-email", "--json"]));
    let cost = &r["report"]["cost"];
    let (lo, roi, hi) = (
        cost["roi_low"].as_f64().unwrap(),
        cost["roi"].as_f64().unwrap(),
        cost["roi_high"].as_f64().unwrap(),
    );
    assert!(lo <= roi && roi <= hi, "{cost}");
    assert!(
        cost["roi_verdict"].as_str().unwrap().contains("return"),
        "{cost}"
    );
}
