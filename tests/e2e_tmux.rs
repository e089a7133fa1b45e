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
    let db = common::TempDb::new();
    let out = db.run(&[
        "demo",
        "--customers",
        &customers.to_string(),
        "--seed",
        "5",
        "--as-of",
        "2025-06-30",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    db
}

#[test]
fn pressing_r_retrains_and_the_database_gains_a_model() {
    let db = demo(3000);
    let t = Tmux::start("retrain", 100, 30, &app(&db.path, ""));
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
    let t = Tmux::start("cancel", 100, 30, &app(&db.path, ""));
    t.wait_for("the dashboard", Duration::from_secs(20), |s| {
        s.contains("Customers 20,000")
    });
    t.send(&["R"]);
    t.wait_for("the job to start", Duration::from_secs(10), |s| {
        s.contains("training logistic")
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
    while !out.exists() && start.elapsed() < Duration::from_secs(10) {
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
