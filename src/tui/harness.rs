//! Drive the real app without a terminal: actions in, the worker's requests
//! answered synchronously until nothing is left, the screen drawn on
//! ratatui's `TestBackend`. (The shape of csvlens' `step_and_draw`.)

use super::action::Action;
use super::app::AppState;
use super::keymap::Keymap;
use super::update::{self, Effect};
use super::worker::{Answer, Executor, Request};
use crate::config::Config;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use std::collections::VecDeque;
use std::path::Path;

pub struct Harness {
    pub state: AppState,
    /// A file's executor, or a server's when `db` is a PostgreSQL URL.
    pub exec: Box<dyn Answer>,
    queue: VecDeque<Request>,
}

impl Harness {
    /// The app on a database, drawn for the time `now`, at `w` x `h`.
    pub fn new(db: &Path, now: i64, w: u16, h: u16) -> crate::Result<Harness> {
        Harness::with_flags(db, now, w, h, false, false)
    }

    /// As `new`, started with `--read-only` and/or `--mask-pii`.
    pub fn with_flags(
        db: &Path,
        now: i64,
        w: u16,
        h: u16,
        read_only: bool,
        mask_pii: bool,
    ) -> crate::Result<Harness> {
        let server = db.to_str().is_some_and(crate::store::pg::is_url);
        let exec: Box<dyn Answer> = match db.to_str().filter(|_| server) {
            Some(url) => Box::new(super::worker::open_server(url, read_only)?),
            None => {
                let mut exec = Executor::open(db, read_only)?;
                exec.set_mask(mask_pii);
                Box::new(exec)
            }
        };
        let mut state = AppState::new(
            "test.db".into(),
            "tester".into(),
            read_only,
            mask_pii,
            true,
            Keymap::defaults(),
            Config::default(),
        );
        state.now = now;
        state.server = server;
        // `:columns` saves beside the test's database, never in the user's config.
        state.config_path = Some(if server {
            // One file per harness: tests run side by side in one process.
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::env::temp_dir().join(format!("crmtop-harness-{}-{n}.toml", std::process::id()))
        } else {
            db.with_extension("config.toml")
        });
        // Tests see the screens without colour codes; colour is checked separately.
        state.color = false;
        let mut h_ = Harness {
            state,
            exec,
            queue: VecDeque::new(),
        };
        h_.step(Action::Resize(w, h));
        let fx = update::init(&mut h_.state);
        h_.run(fx);
        Ok(h_)
    }

    fn run(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Request(r) => self.queue.push_back(r),
            }
        }
        // Answer everything, including what the answers ask for.
        while let Some(req) = self.queue.pop_front() {
            if let Some(resp) = self.exec.answer(req) {
                let fx = update::on_response(&mut self.state, resp);
                for e in fx {
                    match e {
                        Effect::Request(r) => self.queue.push_back(r),
                    }
                }
            }
        }
    }

    /// Apply an action and settle.
    pub fn step(&mut self, a: Action) {
        let fx = update::update(&mut self.state, a);
        self.run(fx);
    }

    /// Apply several actions.
    pub fn steps(&mut self, actions: impl IntoIterator<Item = Action>) {
        for a in actions {
            self.step(a);
        }
    }

    /// Feed a worker response (as if it had just arrived) and settle.
    pub fn respond(&mut self, r: super::worker::Response) {
        let fx = update::on_response(&mut self.state, r);
        self.run(fx);
    }

    /// Type a line into the command line and run it.
    pub fn command(&mut self, line: &str) {
        self.step(Action::StartCommand);
        for c in line.chars() {
            self.step(Action::Input(super::action::InputKey::Char(c)));
        }
        self.step(Action::Input(super::action::InputKey::Submit));
    }

    /// Apply an action without answering the requests it makes (to see
    /// loading states); returns them.
    pub fn step_pending(&mut self, a: Action) -> Vec<Request> {
        update::update(&mut self.state, a)
            .into_iter()
            .map(|e| match e {
                Effect::Request(r) => r,
            })
            .collect()
    }

    pub fn draw(&self) -> Buffer {
        let (w, h) = (self.state.width, self.state.height);
        let mut t = match Terminal::new(TestBackend::new(w, h)) {
            Ok(t) => t,
            Err(e) => panic!("test terminal: {e}"),
        };
        if let Err(e) = t.draw(|f| super::views::render(&self.state, f)) {
            panic!("draw: {e}");
        }
        t.backend().buffer().clone()
    }

    /// The screen as text, one line per row (trailing spaces trimmed).
    pub fn screen(&self) -> String {
        buffer_text(&self.draw())
    }

    /// The status line's message, whole (the screen may cut it).
    pub fn status_text(&self) -> String {
        self.state
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }
}

pub fn buffer_text(b: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..b.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = b[(x, y)].symbol();
            line.push_str(sym);
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
