//! The UI against what the world throws at it: read-only mode, masked
//! personal data, resize storms and tiny terminals, very long and
//! right-to-left, CJK and emoji names, and degenerate companies (ten
//! customers, every order on one day, one-class labels, huge amounts).

mod common;
use common::TempDb;
use crmtop::ingest::Kind;
use crmtop::tui::action::{Action, InputKey};
use crmtop::tui::app::{Mode, Screen};
use crmtop::tui::harness::Harness;
use unicode_width::UnicodeWidthStr;

const NOW: i64 = 1_751_241_600; // 2025-06-30

fn status(h: &Harness) -> String {
    h.state
        .status
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

/// What the screens show must never be a NaN or an infinity.
fn assert_numbers_fine(screen: &str, what: &str) {
    for bad in ["NaN", "nan%", "inf", "Infinity"] {
        assert!(!screen.contains(bad), "{what} shows {bad}:\n{screen}");
    }
}

fn every_screen(h: &mut Harness, what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in Screen::ALL {
        h.step(Action::GoScreen(s));
        let text = h.screen();
        assert_numbers_fine(&text, &format!("{what}, {}", s.title()));
        out.push(text);
    }
    out
}

#[test]
fn read_only_refuses_every_change_and_says_why() {
    let db = common::demo_db(200, 2);
    common::train_and_fit(&db);
    let db = db.on_engine();
    let before = (
        db.count("SELECT count(*) FROM models"),
        db.count("SELECT count(*) FROM audit_log"),
        db.count("SELECT CAST(sum(version) AS BIGINT) FROM feedback"),
    );
    let mut h = Harness::with_flags(&db.target_path(), NOW, 100, 30, true, false).unwrap();
    assert!(h.screen().contains("READ-ONLY"), "{}", h.screen());
    let mut tried = 0;
    for (screen, actions) in [
        (Screen::Churn, vec![Action::Retrain]),
        (Screen::Clv, vec![Action::Retrain]),
        (Screen::Models, vec![Action::Activate]),
        (
            Screen::Feedback,
            vec![
                Action::FeedbackNext,
                Action::Claim,
                Action::Assign,
                Action::Pending,
                Action::Resolve,
                Action::Escalate,
                Action::Reopen,
            ],
        ),
    ] {
        h.step(Action::GoScreen(screen));
        for a in actions {
            h.state.status = None;
            h.step(a.clone());
            assert!(
                status(&h).contains("read-only (--read-only)"),
                "{a:?} on {screen:?}: {}",
                status(&h)
            );
            // No prompt opens for a note that could never be saved.
            assert!(
                matches!(h.state.mode, Mode::Normal),
                "{a:?}: {:?}",
                h.state.mode
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 10);
    // The command line too.
    h.command("train random_forest");
    assert!(status(&h).contains("read-only"), "{}", status(&h));
    h.command("clv --horizon-months 24");
    assert!(status(&h).contains("read-only"), "{}", status(&h));
    let after = (
        db.count("SELECT count(*) FROM models"),
        db.count("SELECT count(*) FROM audit_log"),
        db.count("SELECT CAST(sum(version) AS BIGINT) FROM feedback"),
    );
    assert_eq!(before, after);
}

#[test]
fn masked_personal_data_never_reaches_the_screen() {
    let db = TempDb::new().on_engine();
    let f = db.file("people.csv");
    std::fs::write(
        &f,
        "id,name,email,phone,signup_date\n\
         P1,Ada Lovelace,ada.lovelace@example.com,+44 20 7946 0958,2024-01-02\n\
         P2,Grace Hopper,grace@navy.mil,555-0100,2024-02-03\n",
    )
    .unwrap();
    db.import(Kind::Customers, &f).unwrap();
    let fb = db.file("fb.csv");
    std::fs::write(
        &fb,
        "id,customer_id,created_at,kind,text\n\
         F1,P1,2025-06-01,complaint,Call me on +44 20 7946 0958 or write to ada.lovelace@example.com\n",
    )
    .unwrap();
    db.import(Kind::Feedback, &fb).unwrap();
    let mut h = Harness::with_flags(&db.target_path(), NOW, 120, 40, false, true).unwrap();
    let mut seen = every_screen(&mut h, "masked");
    h.step(Action::GoScreen(Screen::Customers));
    h.step(Action::Open);
    seen.push(h.screen());
    h.step(Action::Back);
    h.step(Action::GoScreen(Screen::Feedback));
    h.step(Action::Open);
    seen.push(h.screen());
    let all = seen.join("\n");
    for secret in [
        "Lovelace",
        "Hopper",
        "ada.lovelace@example.com",
        "grace@navy.mil",
        "7946 0958",
        "555-0100",
    ] {
        assert!(!all.contains(secret), "{secret} is on screen:\n{all}");
    }
    // The masked forms are there, so the screens did show the rows.
    assert!(all.contains("A** L*******"), "{all}");
}

#[test]
fn resize_storms_and_tiny_terminals_never_break_the_screen() {
    let db = common::demo_db(150, 3);
    common::train_and_fit(&db);
    let db = db.on_engine();
    let mut h = Harness::new(&db.target_path(), NOW, 80, 24).unwrap();
    let sizes: Vec<(u16, u16)> = vec![
        (1, 1),
        (20, 5),
        (0, 0),
        (79, 24),
        (80, 23),
        (80, 24),
        (300, 100),
        (81, 25),
        (2, 200),
        (250, 3),
        (120, 40),
    ];
    for round in 0..3 {
        for s in Screen::ALL {
            h.step(Action::GoScreen(s));
            for &(w, ht) in &sizes {
                h.step(Action::Resize(w, ht));
                let text = h.screen();
                if w < 80 || ht < 24 {
                    if w >= 40 && ht >= 1 {
                        assert!(
                            text.contains("needs at least 80x24"),
                            "{w}x{ht} round {round}:\n{text}"
                        );
                    }
                } else {
                    assert!(text.contains("crmtop"), "{w}x{ht}:\n{text}");
                    assert_numbers_fine(&text, &format!("{w}x{ht}"));
                }
            }
        }
        // Open a detail view and a prompt, then keep resizing.
        h.step(Action::Resize(80, 24));
        h.step(Action::GoScreen(Screen::Customers));
        h.step(Action::Open);
        h.step(Action::Resize(1, 1));
        h.step(Action::Resize(80, 24));
        h.step(Action::Back);
        h.step(Action::StartFilter);
        h.step(Action::Input(InputKey::Char('a')));
        h.step(Action::Resize(20, 5));
        h.step(Action::Resize(100, 30));
        h.step(Action::Input(InputKey::Cancel));
    }
}

#[test]
fn long_and_unicode_names_keep_the_columns_aligned() {
    let db = TempDb::new().on_engine();
    let f = db.file("world.csv");
    let long = "Bartholomew ".repeat(40);
    std::fs::write(
        &f,
        format!(
            "id,name,plan,signup_date\n\
             U1,山田 太郎,basic,2024-01-01\n\
             U2,Zoë 🦀 Crab 🎉,premium,2024-01-01\n\
             U3,محمد الأحمد,basic,2024-01-01\n\
             U4,שרה כהן,standard,2024-01-01\n\
             U5,{long},basic,2024-01-01\n\
             U6,Ana\u{301} Combining,basic,2024-01-01\n\
             U7,Plain Name,basic,2024-01-01\n"
        ),
    )
    .unwrap();
    db.import(Kind::Customers, &f).unwrap();
    let orders = db.file("o.csv");
    let mut o = String::from("customer_id,timestamp,amount\n");
    for i in 1..=7 {
        o.push_str(&format!("U{i},2025-0{}-01,{}.00\n", 1 + i % 5, 10 * i));
    }
    std::fs::write(&orders, o).unwrap();
    db.import(Kind::Orders, &orders).unwrap();
    for (w, ht) in [(80u16, 24u16), (120, 40), (200, 50)] {
        let mut h = Harness::new(&db.target_path(), NOW, w, ht).unwrap();
        h.step(Action::GoScreen(Screen::Customers));
        let text = h.screen();
        // Every row's last-order column (the column after the name at
        // every width) starts in the same cell of the screen. (Measured on
        // the cells, as the terminal places them: a string width would
        // count an Arabic lam-alef pair as one column.)
        let buf = h.draw();
        let cell = |x: u16, y: u16| buf[(x, y)].symbol().to_string();
        let mut cols = Vec::new();
        for y in 0..ht {
            let row: String = (0..w.min(12)).map(|x| cell(x, y)).collect();
            if !row.contains("│U") {
                continue;
            }
            let x = (0..w.saturating_sub(6))
                .find(|&x| (0..6).map(|k| cell(x + k, y)).collect::<String>() == "2025-0")
                .unwrap_or_else(|| panic!("no last order in row {y}:\n{text}"));
            cols.push(x);
        }
        assert_eq!(cols.len(), 7, "{w}x{ht}:\n{text}");
        assert!(
            cols.windows(2).all(|p| p[0] == p[1]),
            "{w}x{ht}: {cols:?}\n{text}"
        );
        // And no line is wider than the terminal.
        for l in text.lines() {
            assert!(l.width() <= w as usize, "{w}: {l}");
        }
        // The detail view of the long name fits too.
        h.step(Action::Bottom);
        h.step(Action::Open);
        for l in h.screen().lines() {
            assert!(l.width() <= w as usize, "{w}: {l}");
        }
    }
}

/// A file of orders, one line per (customer, day, amount).
fn orders(db: &TempDb, rows: &[(String, &str, f64)]) {
    let f = db.file("orders.csv");
    let mut s = String::from("customer_id,timestamp,amount\n");
    for (c, d, a) in rows {
        s.push_str(&format!("{c},{d},{a}\n"));
    }
    std::fs::write(&f, s).unwrap();
    db.import(Kind::Orders, &f).unwrap();
}

fn cli(db: &TempDb, args: &[&str]) -> (i32, String) {
    let o = db.run(args);
    (
        o.status.code().unwrap_or(-1),
        format!("{}{}", common::stdout(&o), common::stderr(&o)),
    )
}

#[test]
fn degenerate_companies_get_clear_messages_and_sane_screens() {
    // Ten customers.
    let ten = TempDb::new().on_engine();
    let rows: Vec<(String, &str, f64)> = (0..10)
        .flat_map(|i| {
            [
                (format!("T{i}"), "2025-01-05", 20.0 + i as f64),
                (format!("T{i}"), "2025-03-07", 15.0),
            ]
        })
        .collect();
    orders(&ten, &rows);
    let (code, out) = cli(&ten, &["train"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("50"),
        "says how many labelled customers it needs: {out}"
    );
    let (code, out) = cli(&ten, &["clv"]);
    assert!(code == 0 || code == 2, "{code}: {out}");
    assert!(!out.contains("NaN") && !out.contains("panicked"), "{out}");

    // Every order on one day.
    let one_day = TempDb::new().on_engine();
    let rows: Vec<(String, &str, f64)> = (0..300)
        .map(|i| (format!("D{i}"), "2025-05-01", 10.0 + (i % 7) as f64))
        .collect();
    orders(&one_day, &rows);
    let (code, out) = cli(&one_day, &["train"]);
    assert_eq!(code, 2, "{out}");
    assert!(!out.contains("NaN") && !out.contains("panicked"), "{out}");
    let (code, out) = cli(&one_day, &["clv"]);
    assert!(code == 0 || code == 2, "{code}: {out}");
    assert!(!out.contains("NaN") && !out.contains("panicked"), "{out}");

    // One-class labels: everybody churned.
    let one_class = TempDb::new().on_engine();
    let f = one_class.file("c.csv");
    let mut s = String::from("id,income,churned\n");
    for i in 0..120 {
        s.push_str(&format!("L{i},{},1\n", 1000 * i));
    }
    std::fs::write(&f, s).unwrap();
    one_class.import(Kind::Customers, &f).unwrap();
    let (code, out) = cli(&one_class, &["train"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("one class") || out.contains("both"), "{out}");

    // Huge amounts (the largest the importer takes).
    let huge = TempDb::new().on_engine();
    let rows: Vec<(String, &str, f64)> = (0..200)
        .flat_map(|i| {
            [
                (format!("H{i}"), "2024-06-01", 9.0e11),
                (format!("H{i}"), "2024-11-15", 1.0e12),
                (format!("H{i}"), "2025-04-20", 5.0e11),
            ]
        })
        .collect();
    orders(&huge, &rows);
    let (code, out) = cli(&huge, &["clv"]);
    assert!(code == 0 || code == 2, "{code}: {out}");
    assert!(!out.contains("NaN") && !out.contains("panicked"), "{out}");

    for (db, what) in [
        (&ten, "ten customers"),
        (&one_day, "orders on one day"),
        (&one_class, "one-class labels"),
        (&huge, "huge amounts"),
    ] {
        for (w, ht) in [(80u16, 24u16), (120, 40)] {
            let mut h = Harness::new(&db.target_path(), NOW, w, ht).unwrap();
            every_screen(&mut h, what);
            h.step(Action::GoScreen(Screen::Customers));
            h.step(Action::Open);
            assert_numbers_fine(&h.screen(), &format!("{what}: detail"));
        }
    }
}
