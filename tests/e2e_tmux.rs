//! The real binary in a real terminal (tmux): what a user sees.
//! Needs tmux (CI installs it).

mod common;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own, so tests do not meet each other or the user's.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, w: u16, h: u16, shell_cmd: &str) -> Tmux {
        assert!(
            Command::new("tmux")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success()),
            "the end-to-end tests need tmux (apt-get install tmux)"
        );
        let socket = format!("crmtop-test-{}-{name}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
            ])
            .arg(w.to_string())
            .arg("-y")
            .arg(h.to_string())
            .arg(shell_cmd)
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux new-session");
        assert!(ok.success());
        Tmux { socket }
    }

    fn send(&self, keys: &[&str]) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "t"])
            .args(keys)
            .status();
    }

    fn capture(&self) -> String {
        Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Wait until the screen satisfies `pred` (or time out and show it).
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_crmtop")
}

/// The app's command line with the test environment.
fn app(db: &Path, extra: &str) -> String {
    format!(
        "env CRMTOP_CONFIG=/nonexistent CRMTOP_AGENT=e2e {extra} {} --db {}",
        bin(),
        db.display()
    )
}

fn demo(customers: usize) -> common::TempDb {
    demo_in(common::TempDb::new(), customers)
}

fn demo_in(db: common::TempDb, customers: usize) -> common::TempDb {
    let out = db.run(&[
        "demo",
        "--customers",
        &customers.to_string(),
        "--seed",
        "5",
        "--as-of",
        "2025-06-30",
        // These tests start from a database without models.
        "--no-models",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    db
}

/// On the engine under test (a server's `R` runs the training in a child
/// process there too).
#[test]
fn pressing_r_retrains_and_the_database_gains_a_model() {
    let db = demo_in(common::TempDb::new().on_engine(), 3000);
    let t = Tmux::start("retrain", 100, 30, &app(Path::new(&db.target()), ""));
    // A server's UI opens on the queue (agents first): to the dashboard.
    t.wait_for("the first screen", Duration::from_secs(20), |s| {
        s.contains("crmtop  1 Dashboard")
    });
    t.send(&["1"]);
    t.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("Dashboard") && s.contains("Customers 3,000")
    });
    t.send(&["R"]);
    let s = t.wait_for("the completion message", Duration::from_secs(120), |s| {
        s.contains("model v1:")
    });
    assert!(s.contains("activated"), "{s}");
    assert_eq!(db.count("SELECT count(*) FROM models"), 1);
    // The screens refreshed with the new scores.
    t.send(&["3"]);
    t.wait_for(
        "the churn screen with the model",
        Duration::from_secs(10),
        |s| s.contains("model v1") && s.contains("top drivers"),
    );
    t.send(&["q"]);
    t.wait_for("the app to quit", Duration::from_secs(10), |s| {
        !s.contains("crmtop  1 Dashboard")
    });
}

#[test]
fn a_cancelled_retrain_leaves_no_model() {
    let db = demo(20_000);
    // The job waits at its fit until cancelled (the crash tests' hook): a
    // 20,000-customer retrain can end before the Escape below arrives.
    let t = Tmux::start(
        "cancel",
        100,
        30,
        &app(&db.path, "CRMTOP_TEST_STALL_AT=fitting"),
    );
    t.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("Customers 20,000")
    });
    t.send(&["R"]);
    t.wait_for("the job to reach its fit", Duration::from_secs(30), |s| {
        s.contains("fitting")
    });
    // A second R is refused while the first runs.
    t.send(&["R"]);
    t.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains("a job is running")
    });
    t.send(&["Escape"]);
    t.wait_for("the question", Duration::from_secs(5), |s| {
        s.contains("Cancel the running job?")
    });
    t.send(&["y"]);
    t.wait_for("the cancel", Duration::from_secs(60), |s| {
        s.contains("cancelled; the database is unchanged")
    });
    assert_eq!(db.count("SELECT count(*) FROM models"), 0);
    assert_eq!(
        db.count("SELECT count(*) FROM jobs WHERE status = 'cancelled'"),
        1
    );
}

#[test]
fn a_panic_in_the_main_loop_restores_the_terminal() {
    let db = demo(200);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stty.txt");
    let cmd = format!(
        "sh -c '{} ; stty -a > {} 2>&1; sleep 30'",
        app(&db.path, "CRMTOP_TEST_PANIC=main RUST_BACKTRACE=0"),
        out.display()
    );
    let t = Tmux::start("panic", 100, 30, &cmd);
    let s = t.wait_for("the panic message", Duration::from_secs(20), |s| {
        s.contains("panicked")
    });
    assert!(s.contains("CRMTOP_TEST_PANIC=main"), "{s}");
    let start = Instant::now();
    // Under a loaded machine (the whole suite in parallel) the shell may
    // take a while to get there: wait for the file to have content.
    while std::fs::metadata(&out).map_or(true, |m| m.len() == 0)
        && start.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let stty = std::fs::read_to_string(&out).unwrap_or_default();
    // Raw mode is off again: canonical input and echo are back.
    assert!(
        stty.contains(" icanon") && !stty.contains("-icanon"),
        "{stty}"
    );
    assert!(
        stty.contains(" echo ") || stty.contains(" echo\n"),
        "{stty}"
    );
    // And the alternate screen is gone: the UI's tab bar is no longer drawn.
    assert!(!s.contains("1 Dashboard"), "{s}");
}

#[test]
fn a_panic_in_the_worker_is_an_error_on_screen_not_a_crash() {
    let db = demo(200);
    let t = Tmux::start(
        "worker",
        100,
        30,
        &app(&db.path, "CRMTOP_TEST_PANIC=worker"),
    );
    let s = t.wait_for("the error", Duration::from_secs(20), |s| {
        s.contains("internal error")
    });
    assert!(s.contains("1 Dashboard"), "the UI is still up:\n{s}");
    t.send(&["2"]);
    t.wait_for("the UI to keep working", Duration::from_secs(10), |s| {
        s.contains("row 1 of 200")
    });
}

#[test]
fn a_small_terminal_gets_one_line_saying_what_it_needs() {
    let db = demo(200);
    let t = Tmux::start("small", 60, 20, &app(&db.path, ""));
    t.wait_for("the size message", Duration::from_secs(20), |s| {
        s.contains("crmtop needs at least 80x24 (now 60x20)")
    });
}

impl Tmux {
    /// The pid of the process the pane runs.
    fn pane_pid(&self) -> i32 {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display",
                "-p",
                "-t",
                "t",
                "#{pane_pid}",
            ])
            .output()
            .expect("tmux display");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pid")
    }
}

/// The children of a process (the job crmtop runs for a retrain).
fn children(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
                .flat_map(|s| {
                    s.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect::<Vec<i32>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn alive(pid: i32) -> bool {
    // A zombie (exited, not yet reaped) is not alive.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

fn wait_gone(pid: i32) {
    let start = Instant::now();
    while alive(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "process {pid} is still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(pid: i32, sig: &str) {
    let n = match sig {
        "-KILL" => libc::SIGKILL,
        "-HUP" => libc::SIGHUP,
        "-TERM" => libc::SIGTERM,
        other => panic!("no signal {other}"),
    };
    // SAFETY: kill(2) on a pid this test found under its own tmux server.
    assert_eq!(unsafe { libc::kill(pid, n) }, 0, "kill {sig} {pid}");
}

/// A demo with its first model, and the retrain's job held at `phase`.
fn retrain_held_at(name: &str, phase: &str, shell: bool) -> (common::TempDb, Tmux, i32) {
    let db = demo(1500);
    let out = db.run(&["train"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let env = format!("CRMTOP_TEST_STALL_AT={phase}");
    let cmd = if shell {
        format!(
            "sh -c \"{} ; echo EXITED \\$?; stty -a | grep -o ' icanon\\| -icanon'; echo TTY-CHECKED; sleep 60\"",
            app(&db.path, &env)
        )
    } else {
        app(&db.path, &env)
    };
    let t = Tmux::start(name, 100, 30, &cmd);
    t.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("Customers 1,500")
    });
    t.send(&["R"]);
    let short: String = phase.chars().take(12).collect();
    t.wait_for("the job at its phase", Duration::from_secs(60), |s| {
        s.contains(&short)
    });
    let pid = if shell {
        // The pane runs sh; crmtop is its child.
        *children(t.pane_pid()).first().expect("crmtop under sh")
    } else {
        t.pane_pid()
    };
    (db, t, pid)
}

fn model_state(db: &common::TempDb) -> (i64, i64, i64) {
    (
        db.count("SELECT count(*) FROM models"),
        db.count("SELECT id FROM models WHERE active = 1"),
        db.count("SELECT count(*) FROM active_churn"),
    )
}

/// kill -9 of the UI while its retrain is writing scores: the job (a child
/// process) is stopped with it and rolls back; the first model stays
/// active with every score.
#[test]
fn killing_the_ui_during_a_retrain_keeps_the_active_model() {
    let (db, t, ui) = retrain_held_at("kill9", "writing", false);
    let jobs = children(ui);
    assert_eq!(jobs.len(), 1, "the retrain runs as a child process");
    signal(ui, "-KILL");
    wait_gone(jobs[0]);
    drop(t);
    assert_eq!(model_state(&db), (1, 1, 1500));
    assert_eq!(
        db.count("SELECT integrity_check = 'ok' FROM pragma_integrity_check"),
        1
    );
    let jobs: String = db
        .open()
        .conn
        .query_row(
            "SELECT group_concat(kind || ':' || status || ':' || COALESCE(message, ''), ' | ') FROM jobs",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        db.count("SELECT count(*) FROM jobs WHERE kind = 'train' AND status = 'cancelled'"),
        1,
        "{jobs}"
    );
}

/// kill -9 of the job process itself: the UI says so and keeps working.
#[test]
fn a_killed_job_is_an_error_on_screen_and_changes_nothing() {
    let (db, t, ui) = retrain_held_at("killjob", "updating", false);
    let jobs = children(ui);
    assert_eq!(jobs.len(), 1);
    signal(jobs[0], "-KILL");
    t.wait_for("the error", Duration::from_secs(20), |s| {
        s.contains("the job was killed")
    });
    assert_eq!(model_state(&db), (1, 1, 1500));
    t.send(&["2"]);
    t.wait_for("the UI to keep working", Duration::from_secs(10), |s| {
        s.contains("row 1 of 1,500")
    });
}

/// SIGHUP (the SSH connection dropped) and SIGTERM: the UI cancels the
/// running job, waits for it to roll back, restores the terminal and ends.
#[test]
fn sighup_and_sigterm_end_the_ui_cleanly_and_cancel_the_job() {
    for sig in ["-HUP", "-TERM"] {
        let (db, t, ui) = retrain_held_at(&format!("sig{}", &sig[1..]), "writing", true);
        let jobs = children(ui);
        assert_eq!(jobs.len(), 1);
        signal(ui, sig);
        // The terminal check is printed after EXITED: wait for its end.
        let s = t.wait_for("the UI to end", Duration::from_secs(30), |s| {
            s.contains("EXITED") && s.contains("TTY-CHECKED")
        });
        // Raw mode is off again, and the alternate screen is gone.
        assert!(s.contains(" icanon") && !s.contains("-icanon"), "{s}");
        assert!(!s.contains("1 Dashboard"), "{s}");
        // The job was cancelled and rolled back before the UI ended.
        assert!(!alive(jobs[0]));
        assert_eq!(model_state(&db), (1, 1, 1500), "{sig}");
        assert_eq!(
            db.count("SELECT count(*) FROM jobs WHERE kind = 'train' AND status = 'cancelled'"),
            1,
            "{sig}"
        );
    }
}

/// CRMTOP_TRACE logs every request the screens make, while a user filters
/// by a customer's name, opens customers and feedback: none of their names,
/// e-mails or texts reach the log file.
#[test]
fn the_trace_log_holds_no_personal_data() {
    let db = demo(300);
    let (name, email): (String, String) = db
        .open()
        .conn
        .query_row(
            "SELECT name, email FROM customers WHERE name IS NOT NULL AND email IS NOT NULL ORDER BY cid LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let trace = db.file("trace.log");
    let t = Tmux::start(
        "trace",
        120,
        40,
        &app(&db.path, &format!("CRMTOP_TRACE={}", trace.display())),
    );
    t.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("Customers 300")
    });
    t.send(&["2"]);
    t.wait_for("the list", Duration::from_secs(10), |s| {
        s.contains("row 1 of 300")
    });
    let last = name.split(' ').next_back().unwrap_or(&name).to_string();
    t.send(&["/"]);
    t.send(&["-l", &last]);
    t.wait_for("the filter", Duration::from_secs(10), |s| {
        s.contains(&format!("filter: {last}"))
    });
    t.send(&["Enter"]);
    // The filtered rows shown before the second Enter opens the first (on
    // a loaded machine it once came before them and opened nothing).
    t.wait_for("the filtered list", Duration::from_secs(10), |s| {
        s.contains("row 1 of") && s.contains(&format!("filter: {last}"))
    });
    t.send(&["Enter"]);
    t.wait_for("the customer", Duration::from_secs(10), |s| {
        s.contains("Feedback history")
    });
    t.send(&["Escape", "5"]);
    t.wait_for("the queue", Duration::from_secs(10), |s| {
        s.contains("Feedback queue")
    });
    t.send(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    t.send(&["q"]);
    std::thread::sleep(Duration::from_millis(500));
    let log = std::fs::read_to_string(&trace).expect("the trace was written");
    assert!(log.lines().count() > 5, "{log}");
    let conn = db.open().conn;
    let mut st = conn
        .prepare("SELECT name, email, phone FROM customers")
        .unwrap();
    let people: Vec<(Option<String>, Option<String>, Option<String>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (n, e, p) in people.iter() {
        for v in [n, e, p].into_iter().flatten() {
            assert!(!log.contains(v.as_str()), "{v} is in the trace:\n{log}");
        }
    }
    for v in [&name, &email, &last] {
        assert!(!log.contains(v.as_str()), "{v} is in the trace:\n{log}");
    }
    let mut st = conn
        .prepare("SELECT text FROM feedback WHERE text IS NOT NULL LIMIT 200")
        .unwrap();
    let texts: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for x in texts {
        assert!(!log.contains(&x), "a feedback text is in the trace");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&trace).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}
