//! Hardening: one test (at least) per class of break found by the
//! adversarial review: output paths that could destroy the database,
//! terminal injection, masking leaks, memory on hostile input, special
//! files, damaged files, killed jobs, busy files, all-or-nothing imports,
//! commands that must write nothing, and the smaller items.

mod common;
use common::{crmtop_cmd, fixture, stderr, stdout, TempDb};
use crmtop::ingest::Kind;
use crmtop::tui::action::Action;
use crmtop::tui::app::Screen;
use crmtop::tui::harness::Harness;
use std::path::Path;

const NOW: i64 = 1_751_241_600; // 2025-06-30

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

/// Every raw control a terminal would obey: C0 (but line ends), DEL, C1,
/// and the bidi controls.
fn raw_controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| c != '\n' && crmtop::term::is_unsafe(c))
        .collect()
}

fn assert_clean(what: &str, s: &str) {
    let bad = raw_controls(s);
    assert!(bad.is_empty(), "{what} printed raw controls {bad:?}:\n{s}");
}

// ---------------------------------------------------------------- class 1

#[test]
fn no_output_path_can_overwrite_the_database() {
    let db = common::demo_db(50, 1);
    let dir = db.dir.path();
    let before = bytes(&db.path);
    let link = dir.join("link.csv");
    std::os::unix::fs::symlink(&db.path, &link).unwrap();
    let dblink = dir.join("dblink.db");
    std::os::unix::fs::symlink(&db.path, &dblink).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let bad = fixture("orders_bad.csv");
    let spellings = [
        db.path.display().to_string(),
        "test.db".to_string(),
        "./test.db".to_string(),
        "sub/../test.db".to_string(),
        "test.db-wal".to_string(),
        "test.db-shm".to_string(),
        "test.db-journal".to_string(),
        "link.csv".to_string(),
    ];
    for (db_arg, reject) in spellings
        .iter()
        .map(|r| ("test.db", r.as_str()))
        .chain([("dblink.db", "test.db")])
    {
        for dry in [true, false] {
            let mut cmd = crmtop_cmd();
            cmd.current_dir(dir)
                .args(["--db", db_arg, "import", "orders"])
                .arg(&bad)
                .args(["--reject-file", reject]);
            if dry {
                cmd.arg("--dry-run");
            }
            let out = cmd.output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{reject}: {}", stderr(&out));
            assert!(stderr(&out).contains("will not write"), "{}", stderr(&out));
            assert_eq!(
                bytes(&db.path),
                before,
                "--reject-file {reject} changed the db"
            );
        }
    }
    // The input file is not overwritten by its own rejects either.
    let input = dir.join("in.csv");
    std::fs::copy(&bad, &input).unwrap();
    let out = db.run(&[
        "import",
        "orders",
        input.to_str().unwrap(),
        "--reject-file",
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(bytes(&input), bytes(&bad));
    // Backups: not onto the database, not through a link.
    for to in [db.path.to_str().unwrap(), link.to_str().unwrap()] {
        let out = db.run(&["backup", "--to", to, "--force"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    }
    assert_eq!(bytes(&db.path), before);
}

#[test]
fn files_written_are_new_private_and_replace_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let db = TempDb::new();
    let rejects = db.file("r.csv");
    std::fs::write(&rejects, "old").unwrap();
    std::fs::set_permissions(&rejects, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = db.run(&[
        "import",
        "orders",
        fixture("orders_bad.csv").to_str().unwrap(),
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let mode = std::fs::metadata(&rejects).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(std::fs::read(&rejects)
        .unwrap()
        .starts_with(b"line,field,reason"));
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(db.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

// ---------------------------------------------------------------- class 2

/// A company whose data carries every kind of terminal control.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]52;c;cm0gLXJmIC8=\u{7}\u{1b}Pdcs\u{1b}\\\u{9b}31m\u{85}\u{8}\u{0}\u{202e}gnp.exe\u{2066}";

/// As typed on a command line (no NUL there).
fn hostile_arg() -> String {
    HOSTILE.replace('\u{0}', "")
}

/// The hostile text as the engine under test stores it (a PostgreSQL
/// server cannot hold a NUL: a row with one is rejected there, tested in
/// tests/import.rs).
fn hostile() -> String {
    if common::engine_is_postgres() {
        HOSTILE.replace('\u{0}', "")
    } else {
        HOSTILE.to_string()
    }
}

/// Customers, feedback and orders full of hostile text, imported on the
/// engine under test.
fn hostile_db() -> TempDb {
    let db = TempDb::new().on_engine();
    let hostile = hostile();
    let cust = db.file("c.csv");
    std::fs::write(
        &cust,
        format!(
            "id,name,email,signup_date,\"tier{h}\"\nH1,\"Eve {h}\",eve@example.com,2024-01-02,\"gold{h}\"\nH2,Bob,bob@example.com,2024-01-03,silver\n",
            h = hostile
        ),
    )
    .unwrap();
    db.import(Kind::Customers, &cust).unwrap();
    let fb = db.file("f.csv");
    std::fs::write(
        &fb,
        format!(
            "id,customer_id,created_at,kind,channel,text\nF1,H1,2025-06-01,complaint,\"mail{h}\",\"help {h} now\"\nF2,H2,2025-06-02,question,chat,fine\n",
            h = hostile
        ),
    )
    .unwrap();
    db.import(Kind::Feedback, &fb).unwrap();
    let o = db.file("o.csv");
    std::fs::write(
        &o,
        format!("customer_id,date,amount,product\nH1,2025-05-01,10,\"mug{hostile}\"\nH2,2025-05-02,12,pen\n"),
    )
    .unwrap();
    db.import(Kind::Orders, &o).unwrap();
    db
}

#[test]
fn hostile_text_never_reaches_the_terminal_from_the_cli() {
    let db = hostile_db();
    let h = hostile_arg();
    let note = format!("done {h}");
    let out = crmtop_cmd()
        .args(["--db", db.target().to_str().unwrap(), "--agent", "ann"])
        .args(["feedback", "claim", "F1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = crmtop_cmd()
        .args(["--db", db.target().to_str().unwrap(), "--agent", "ann"])
        .args(["feedback", "resolve", "F1", "--note", &note])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text_commands: Vec<Vec<&str>> = vec![
        vec!["info"],
        vec!["feedback", "list", "--status", "resolved"],
        vec!["feedback", "list"],
        vec!["feedback", "show", "F1"],
        vec!["feedback", "show", &h],
        vec!["feedback", "claim", &h],
        vec!["export", "customers", "--format", "json"],
        vec!["export", "feedback", "--format", "json"],
        vec!["export", "orders", "--format", "json"],
        vec!["feedback", "show", "F1", "--json"],
        vec!["feedback", "list", "--json", "--status", "resolved"],
        vec!["info", "--json"],
    ];
    for args in &text_commands {
        let out = db.run(args);
        assert_clean(&format!("{args:?} stdout"), &stdout(&out));
        assert_clean(&format!("{args:?} stderr"), &stderr(&out));
        if args.contains(&"--json") || args.contains(&"json") {
            // JSON stays exact: the value read back holds the controls.
            let s = stdout(&out);
            let first = s.lines().next().unwrap_or("");
            let parsed: Result<serde_json::Value, _> = if args[0] == "export" {
                serde_json::from_str(first)
            } else {
                serde_json::from_str(&s)
            };
            assert!(parsed.is_ok(), "{args:?}: not JSON: {s}");
        }
    }
    // The JSON of the item carries the text exactly.
    let v: serde_json::Value =
        serde_json::from_slice(&db.run(&["feedback", "show", "F1", "--json"]).stdout).unwrap();
    assert!(v["text"].as_str().unwrap().contains(&hostile()));
    // CSV to a pipe or a file stays byte for byte.
    let out = db.run(&["export", "customers"]);
    assert!(stdout(&out).contains(&hostile()));
    // Importing with a hostile column name: the summary is clean.
    let f = db.file("h.csv");
    std::fs::write(&f, format!("id,\"x{}\"\nH3,1\n", hostile())).unwrap();
    let out = db.run(&["import", "customers", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_clean("import summary", &stdout(&out));
    // A hostile file name in an error.
    let out = db.run(&["import", "orders", &format!("/nonexistent/{h}.csv")]);
    assert_eq!(out.status.code(), Some(2));
    assert_clean("error", &stderr(&out));
    // Agent names are validated.
    let out = crmtop_cmd()
        .args([
            "--db",
            db.target().to_str().unwrap(),
            "--agent",
            &format!("x{h}"),
        ])
        .args(["feedback", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_clean("agent error", &stderr(&out));
    // An empty or blank --agent (a script's unset variable) is refused, not
    // replaced by the OS user.
    for blank in ["", "  "] {
        let out = crmtop_cmd()
            .args(["--db", db.target().to_str().unwrap(), "--agent", blank])
            .args(["feedback", "claim", "F2"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("--agent is empty"),
            "{}",
            stderr(&out)
        );
    }
    let out = db.run(&["feedback", "assign", "F2", "--to", "bad\tname"]);
    assert_ne!(out.status.code(), Some(0));
}

fn tui_screens(db: &Path, mask: bool) -> Vec<(String, ratatui::buffer::Buffer)> {
    let mut h = Harness::with_flags(db, NOW, 120, 40, false, mask).unwrap();
    let mut out = Vec::new();
    for s in Screen::ALL {
        h.step(Action::GoScreen(s));
        out.push((s.title().to_string(), h.draw()));
    }
    for s in [
        Screen::Customers,
        Screen::Churn,
        Screen::Clv,
        Screen::Feedback,
    ] {
        h.step(Action::GoScreen(s));
        for _ in 0..2 {
            h.step(Action::Open);
            out.push((format!("{} opened", s.title()), h.draw()));
            h.step(Action::Back);
            h.step(Action::Down);
        }
    }
    out
}

#[test]
fn hostile_text_never_reaches_the_terminal_from_the_tui() {
    let db = hostile_db();
    for (what, buf) in tui_screens(std::path::Path::new(&db.target()), false) {
        for cell in buf.content.iter() {
            assert!(
                raw_controls(cell.symbol()).is_empty(),
                "{what}: a cell holds {:?}",
                cell.symbol()
            );
        }
    }
    // The bytes written to a real terminal backend: no escape sequence
    // from the data (only the backend's own CSI for moving and colour).
    let mut h = Harness::with_flags(
        std::path::Path::new(&db.target()),
        NOW,
        120,
        40,
        false,
        false,
    )
    .unwrap();
    h.step(Action::GoScreen(Screen::Feedback));
    h.step(Action::Open);
    let buf = h.draw();
    let mut bytes: Vec<u8> = Vec::new();
    {
        use ratatui::backend::Backend;
        let mut backend = ratatui::backend::CrosstermBackend::new(&mut bytes);
        let cells = buf
            .content
            .iter()
            .enumerate()
            .map(|(i, c)| ((i as u16) % buf.area.width, (i as u16) / buf.area.width, c));
        backend.draw(cells).unwrap();
        Backend::flush(&mut backend).unwrap();
    }
    let s = String::from_utf8_lossy(&bytes);
    for seq in [
        "\u{1b}]",
        "\u{1b}P",
        "\u{9b}",
        "\u{7}",
        "\u{202e}",
        "\u{1b}[2J",
    ] {
        assert!(!s.contains(seq), "the frame's bytes hold {seq:?}");
    }
    assert!(s.contains('␛'), "controls are shown visibly");
}

mod injection_properties {
    use super::*;
    use proptest::prelude::*;

    fn hostile_string() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('\u{1b}'),
                Just('\u{9b}'),
                Just('\u{7}'),
                Just('\u{0}'),
                Just('\u{202e}'),
                Just('\u{2067}'),
                Just('\u{7f}'),
                Just('\u{85}'),
                Just(']'),
                Just('['),
                Just('\t'),
                Just('\r'),
                any::<char>(),
                proptest::char::range('a', 'z'),
            ],
            1..24,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    fn csv_cell(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10, .. ProptestConfig::default() })]
        #[test]
        fn any_imported_text_prints_clean(name in hostile_string(), attr in hostile_string(), text in hostile_string(), channel in hostile_string()) {
            let db = TempDb::new();
            let c = db.file("c.csv");
            std::fs::write(&c, format!("id,name,signup_date,plan,tier\nP1,{},2024-01-01,{},x\nP2,ok,2024-01-02,basic,y\n", csv_cell(&name), csv_cell(&attr))).unwrap();
            let _ = db.import(Kind::Customers, &c);
            let f = db.file("f.csv");
            std::fs::write(&f, format!("id,customer_id,created_at,kind,channel,text\nF1,P1,2025-06-01,complaint,{},{}\n", csv_cell(&channel), csv_cell(&text))).unwrap();
            let _ = db.import(Kind::Feedback, &f);
            for args in [vec!["info"], vec!["feedback", "list"], vec!["feedback", "show", "F1"]] {
                let out = db.run(&args);
                prop_assert!(raw_controls(&stdout(&out)).is_empty(), "{:?}: {:?}", args, stdout(&out));
                prop_assert!(raw_controls(&stderr(&out)).is_empty(), "{:?}: {:?}", args, stderr(&out));
            }
            for (what, buf) in tui_screens(&db.path, false) {
                for cell in buf.content.iter() {
                    prop_assert!(raw_controls(cell.symbol()).is_empty(), "{}: {:?}", what, cell.symbol());
                }
            }
        }
    }
}

// ---------------------------------------------------------------- class 3

#[test]
fn masking_leaves_nothing_personal_in_any_output() {
    let db = TempDb::new();
    // Ada appears in every kind of field: her own columns, attributes
    // whose names say they are personal, attributes whose values look
    // personal, a categorical attribute many customers share (so a model
    // makes a one-hot feature of it), free text, notes and reasons.
    let mut csv = String::from(
        "id,name,email,phone,signup_date,plan,work_email,mobile,notes,backup_contact\n",
    );
    csv.push_str("A1,Ada Lovelace,ada.lovelace@example.com,+44 20 7946 0958,2024-01-02,premium,ada.lovelace@example.com,+44 20 7946 0958,Ada Lovelace prefers calls,ada.lovelace@example.com\n");
    let mut orders = String::from("customer_id,date,amount\n");
    for i in 0..80 {
        csv.push_str(&format!(
            "C{i},Person {i},p{i}@example.org,,2024-0{}-01,basic,ada.lovelace@example.com,,,\n",
            1 + i % 9
        ));
        for k in 0..(1 + i % 4) {
            orders.push_str(&format!("C{i},2025-0{}-1{},{}\n", 1 + (k % 5), k, 10 + i));
        }
    }
    orders.push_str("A1,2025-01-10,50\nA1,2025-03-10,60\n");
    let c = db.file("c.csv");
    std::fs::write(&c, csv).unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let o = db.file("o.csv");
    std::fs::write(&o, orders).unwrap();
    db.import(Kind::Orders, &o).unwrap();
    let f = db.file("f.csv");
    std::fs::write(
        &f,
        "id,customer_id,created_at,kind,text\n\
         F1,A1,2025-06-01,complaint,\"This is Ada Lovelace, call +44 20 7946 0958 or ada.lovelace@example.com\"\n\
         F2,A1,2025-06-02,complaint,\"lovelace again\"\n",
    )
    .unwrap();
    db.import(Kind::Feedback, &f).unwrap();
    let agent = |args: &[&str]| {
        let out = crmtop_cmd()
            .args(["--db", db.path.to_str().unwrap(), "--agent", "ann"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    agent(&["feedback", "claim", "F1"]);
    agent(&[
        "feedback",
        "resolve",
        "F1",
        "--note",
        "told Ada Lovelace on +44 20 7946 0958",
    ]);
    agent(&["feedback", "claim", "F2"]);
    agent(&[
        "feedback",
        "escalate",
        "F2",
        "--reason",
        "Lovelace wants ada.lovelace@example.com answered",
    ]);
    common::train_and_fit(&db);
    // A campaign over everyone: its members' names and contacts.
    agent(&[
        "campaign",
        "create",
        "m",
        "--action",
        "call",
        "--start",
        "2025-06-01",
    ]);

    let secrets = [
        "Lovelace",
        "lovelace",
        "ada.lovelace@example.com",
        "7946 0958",
        "79460958",
        "prefers calls",
    ];
    let mut outputs: Vec<(String, String)> = Vec::new();
    let commands: Vec<Vec<&str>> = vec![
        vec!["export", "customers"],
        vec!["export", "customers", "--format", "json"],
        vec!["export", "feedback"],
        vec!["export", "feedback", "--format", "json"],
        vec!["export", "churn"],
        vec!["export", "churn", "--format", "json"],
        vec!["export", "clv"],
        vec!["feedback", "list", "--status", "resolved"],
        vec!["feedback", "list", "--status", "escalated", "--json"],
        vec!["feedback", "show", "F1"],
        vec!["feedback", "show", "F1", "--json"],
        vec!["feedback", "show", "F2"],
        vec!["feedback", "show", "F2", "--json"],
        vec!["model", "show"],
        vec!["model", "show", "--json"],
        vec!["train", "--json"],
        vec!["train"],
        vec!["info"],
        vec!["info", "--json"],
        vec!["campaign", "show", "m", "--json"],
        vec!["campaign", "next", "m"],
        vec!["campaign", "next", "m", "--json"],
    ];
    for args in &commands {
        let out = crmtop_cmd()
            .args(["--db", db.path.to_str().unwrap(), "--mask-pii"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        outputs.push((
            format!("{args:?}"),
            format!("{}{}", stdout(&out), stderr(&out)),
        ));
    }
    // Did the model make a feature of the shared e-mail? (Then `model show`
    // above was a real test of feature masking.)
    let unmasked = stdout(&db.run(&["model", "show", "--json"]));
    let has_email_feature = unmasked.contains("work_email=ada.lovelace@example.com");
    for (what, buf) in tui_screens(&db.path, true) {
        outputs.push((what, crmtop::tui::harness::buffer_text(&buf)));
    }
    for (what, text) in &outputs {
        for s in secrets {
            assert!(!text.contains(s), "{what} shows {s:?}:\n{text}");
        }
    }
    // Not masked without the flag (the test can fail).
    let plain = stdout(&db.run(&["feedback", "show", "F1"]));
    assert!(plain.contains("Lovelace"));
    eprintln!("one-hot feature of a personal attribute present: {has_email_feature}");
}

// ---------------------------------------------------------------- class 4

#[test]
fn a_record_without_end_is_rejected_without_being_held() {
    let db = TempDb::new();
    let f = db.file("big.csv");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&f).unwrap());
        w.write_all(b"customer_id,date,amount\n").unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..24 {
            w.write_all(&chunk).unwrap();
        }
        w.write_all(b"\nC1,2025-01-01,10\n").unwrap();
    }
    let rejects = db.file("r.csv");
    let out = db.run(&[
        "import",
        "orders",
        f.to_str().unwrap(),
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stdout(&out).contains("inserted 1"), "{}", stdout(&out));
    let r = std::fs::read(&rejects).unwrap();
    assert!(
        r.len() < 200_000,
        "the reject line is capped ({} bytes)",
        r.len()
    );
    assert!(String::from_utf8_lossy(&r).contains("longer than"));
    assert_eq!(db.count("SELECT count(*) FROM orders"), 1);
}

// ---------------------------------------------------------------- class 5

#[test]
fn special_files_are_read_once_or_refused() {
    let db = TempDb::new();
    // A directory and a device: refused with a clear message.
    for (p, word) in [
        (db.dir.path().to_str().unwrap(), "directory"),
        ("/dev/null", "device"),
    ] {
        let out = db.run(&["import", "orders", p]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(word), "{}", stderr(&out));
    }
    assert!(!db.path.exists(), "a refused import created the database");
    // Standard input.
    use std::io::Write;
    let mut child = crmtop_cmd()
        .args(["--db", db.path.to_str().unwrap(), "import", "orders", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(fixture("orders_only.csv")).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(db.count("SELECT count(*) FROM orders"), 5);
    // A FIFO whose writer comes later: opened once, read to its end.
    let fifo = db.file("in.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let child = crmtop_cmd()
        .args(["--db", db.path.to_str().unwrap(), "import", "events"])
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::write(&fifo, std::fs::read(fixture("events.csv")).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Waiting on a FIFO nobody writes: one SIGINT ends it (exit 130).
    let fifo2 = db.file("idle.fifo");
    let c = std::ffi::CString::new(fifo2.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let child = crmtop_cmd()
        .args(["--db", db.path.to_str().unwrap(), "import", "events"])
        .arg(&fifo2)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
}

// ---------------------------------------------------------------- class 6

#[test]
fn doctor_reports_every_single_page_corruption_and_salvages() {
    let db = common::demo_db(60, 3);
    let pages = std::fs::metadata(&db.path).unwrap().len() / 4096;
    let mut damaged_seen = 0;
    for page in (1..pages).step_by(((pages / 14).max(1)) as usize) {
        let copy = db.file(&format!("bad{page}.db"));
        std::fs::copy(&db.path, &copy).unwrap();
        {
            use std::io::{Seek, SeekFrom, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&copy).unwrap();
            f.seek(SeekFrom::Start(page * 4096)).unwrap();
            f.write_all(&[0xA5; 4096]).unwrap();
        }
        let out = crmtop_cmd()
            .args(["--db", copy.to_str().unwrap(), "doctor"])
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            code == Some(6) || code == Some(0),
            "page {page}: exit {code:?}\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        if code == Some(6) {
            damaged_seen += 1;
            assert!(
                stdout(&out).contains("salvage"),
                "page {page}: {}",
                stdout(&out)
            );
        }
        // Reading commands say damaged and point to doctor, or read.
        let out = crmtop_cmd()
            .args(["--db", copy.to_str().unwrap(), "export", "feedback"])
            .output()
            .unwrap();
        if !out.status.success() {
            assert!(
                stderr(&out).contains("doctor"),
                "page {page}: {}",
                stderr(&out)
            );
        }
    }
    assert!(
        damaged_seen > 5,
        "only {damaged_seen} damaged pages were noticed"
    );
    // Salvage a file with a damaged feedback table.
    let copy = db.file("bad-fb.db");
    std::fs::copy(&db.path, &copy).unwrap();
    let root: i64 = db.count("SELECT rootpage FROM sqlite_master WHERE name = 'feedback'");
    let leaf = {
        // A page of the feedback table: its root, if that is a leaf, else
        // a page after it.
        root as u64
    };
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&copy).unwrap();
        f.seek(SeekFrom::Start((leaf - 1) * 4096 + 200)).unwrap();
        f.write_all(&[0xA5; 2000]).unwrap();
    }
    let out_db = db.file("salvaged.db");
    let out = crmtop_cmd()
        .args([
            "--db",
            copy.to_str().unwrap(),
            "doctor",
            "--salvage",
            out_db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = crmtop::store::open(&out_db, crmtop::store::Mode::ReadWrite).unwrap();
    let customers: i64 = s
        .conn
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(customers, 60);
}

// ---------------------------------------------------------------- class 7

#[test]
fn a_backup_taken_during_a_job_carries_no_running_job() {
    let db = common::demo_db(30, 4);
    {
        let s = db.open();
        // This test's own process: alive, so the job is running.
        crmtop::store::jobs::start(&s.conn, "train", "tester").unwrap();
    }
    let to = db.file("b.db");
    let out = db.run(&["backup", "--to", to.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let b = crmtop::store::open(&to, crmtop::store::Mode::ReadOnly).unwrap();
    let running: i64 = b
        .conn
        .query_row(
            "SELECT count(*) FROM jobs WHERE status = 'running'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(running, 0);
    // In the source it is still running (its process lives).
    assert_eq!(
        db.count("SELECT count(*) FROM jobs WHERE status = 'running'"),
        1
    );
}

// ---------------------------------------------------------------- class 8

#[test]
fn busy_during_a_first_load_means_wait_or_a_clear_word_never_exit_2() {
    let db = TempDb::new();
    let mut big = String::from("customer_id,date,amount\n");
    for i in 0..20_000 {
        big.push_str(&format!(
            "C{},2025-01-{:02},{}\n",
            i % 500,
            1 + i % 28,
            5 + i % 50
        ));
    }
    let f = db.file("big.csv");
    std::fs::write(&f, big).unwrap();
    // The first load holds its lock until it is killed (also when this
    // test fails: the guard kills it).
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let first = crmtop_cmd()
        .args(["--db", db.path.to_str().unwrap(), "import", "orders"])
        .arg(&f)
        .env("CRMTOP_TEST_STALL_AT", "finishing")
        .env("CRMTOP_PROGRESS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _first = KillOnDrop(first);
    // Wait until it stalls.
    let started = std::time::Instant::now();
    while !db.file("test.db-journal").exists() && started.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    for args in [
        vec!["info"],
        vec!["feedback", "list"],
        vec!["feedback", "next"],
        vec![
            "import",
            "orders",
            fixture("orders_only.csv").to_str().unwrap(),
        ],
    ] {
        let out = db.run(&args);
        let code = out.status.code();
        assert_ne!(code, Some(2), "{args:?}: {}", stderr(&out));
        if args[0] == "import" || args.get(1) == Some(&"next") {
            // These need the write lock the stalled load holds: they wait
            // (5 s), then say so in words, exit 1.
            assert_eq!(code, Some(1), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("another import is loading this file; try again"),
                "{args:?}: {}",
                stderr(&out)
            );
        } else {
            // Readers read the last committed state.
            assert_eq!(code, Some(0), "{args:?}: {}", stderr(&out));
        }
    }
}

// ---------------------------------------------------------------- class 9

#[test]
fn an_import_whose_reject_file_cannot_be_written_commits_nothing() {
    let db = TempDb::new();
    db.import(Kind::Customers, &fixture("customers_extra.csv"))
        .unwrap();
    let before = db.count("SELECT count(*) FROM orders");
    let out = db.run(&[
        "import",
        "orders",
        fixture("orders_bad.csv").to_str().unwrap(),
        "--reject-file",
        "/nonexistent-dir/rejects.csv",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert_ne!(out.status.code(), Some(3));
    assert_eq!(
        db.count("SELECT count(*) FROM orders"),
        before,
        "good rows committed without their rejects"
    );
}

// --------------------------------------------------------------- class 10

#[test]
fn commands_that_should_write_nothing_write_nothing() {
    let db = TempDb::new();
    // A dry run into a missing database.
    let out = db.run(&[
        "import",
        "orders",
        fixture("orders_only.csv").to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!db.path.exists(), "a dry run created the database");
    // A refused import.
    let f = db.file("bad.csv");
    std::fs::write(&f, "nothing,useful\n1,2\n").unwrap();
    let out = db.run(&["import", "orders", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!db.path.exists(), "a refused import created the database");
    // info on a zero-byte file.
    std::fs::write(&db.path, b"").unwrap();
    let out = db.run(&["info"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::metadata(&db.path).unwrap().len(), 0);
    assert!(!db.file("test.db-wal").exists() && !db.file("test.db-shm").exists());
    std::fs::remove_file(&db.path).unwrap();
    // Reading commands and a read-only session leave no -wal or -shm.
    db.import(Kind::Orders, &fixture("orders_only.csv"))
        .unwrap();
    for args in [
        vec!["info"],
        vec!["--read-only", "info"],
        vec!["export", "orders"],
        vec!["feedback", "list"],
    ] {
        let before = bytes(&db.path);
        let out = db.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(bytes(&db.path), before, "{args:?} changed the file");
        assert!(!db.file("test.db-wal").exists(), "{args:?} left a -wal");
        assert!(!db.file("test.db-shm").exists(), "{args:?} left a -shm");
    }
}

// --------------------------------------------------------------- class 11

#[test]
fn smaller_items() {
    let db = TempDb::new();
    // Dates beyond the horizon are rejected with a reason.
    let f = db.file("o.csv");
    std::fs::write(
        &f,
        "customer_id,date,amount\nC1,9999-01-01,10\nC1,2025-01-01,10\n",
    )
    .unwrap();
    let rejects = db.file("r.csv");
    let out = db.run(&[
        "import",
        "orders",
        f.to_str().unwrap(),
        "--reject-file",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&rejects)
        .unwrap()
        .contains("in the future"));
    // --config naming a missing file.
    let out = db.run(&["--config", "/nonexistent/crmtop.toml", "info"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("config"), "{}", stderr(&out));
    // A keymap binding one key to two actions is reported at start.
    let cfg = db.file("c.toml");
    std::fs::write(&cfg, "[keys]\nquit = [\"j\"]\n").unwrap();
    let out = crmtop_cmd()
        .args([
            "--db",
            db.path.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ])
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bound to both"), "{}", stderr(&out));
    // Export with many sparse attribute columns puts each value under its
    // own column (the merge walk).
    let mut head = String::from("id");
    let mut row1 = String::from("W1");
    let mut row2 = String::from("W2");
    for i in 0..300 {
        head.push_str(&format!(",a{i:03}"));
        row1.push_str(&if i % 3 == 0 {
            format!(",v{i}")
        } else {
            ",".into()
        });
        row2.push_str(&if i % 5 == 0 {
            format!(",w{i}")
        } else {
            ",".into()
        });
    }
    let c = db.file("wide.csv");
    std::fs::write(&c, format!("{head}\n{row1}\n{row2}\n")).unwrap();
    db.import(Kind::Customers, &c).unwrap();
    let out = db.run(&["export", "customers", "--format", "json"]);
    for line in stdout(&out).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["id"] == "W1" {
            assert_eq!(v["a003"], "v3");
            assert_eq!(v["a004"], serde_json::Value::Null);
            assert_eq!(v["a297"], "v297");
        }
        if v["id"] == "W2" {
            assert_eq!(v["a005"], "w5");
            assert_eq!(v["a003"], serde_json::Value::Null);
        }
    }
}
