//! The terminal UI: terminal setup and restore (also on panic and signals),
//! and the main loop of the Elm shape: events -> `update` -> effects to the
//! worker; redraw only after an event.

pub mod action;
pub mod app;
pub mod campaign_update;
pub mod child;
pub mod commands;
pub mod event;
pub mod harness;
pub mod job_runner;
pub mod keymap;
pub mod layout;
pub mod line;
pub mod list_update;
mod loading;
pub mod messages;
mod navigation;
pub mod prompt;
pub mod queue_filter;
mod queue_prompt;
pub mod queue_update;
pub mod response_update;
pub mod screen_state;
pub mod scroll;
pub mod theme;
pub mod update;
pub mod views;
pub mod worker;

use crate::cli::Ctx;
use crate::error::{Error, Result};
use action::Action;
use app::{AppState, Mode};
use crossterm::event::{Event as CtEvent, KeyEventKind, MouseEventKind};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use event::Event;
use keymap::{Key, Keymap};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use update::Effect;

static MOUSE: AtomicBool = AtomicBool::new(false);
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Put the terminal back as it was: raw mode off, main screen, cursor shown,
/// mouse capture off. Safe to call more than once.
pub fn restore_terminal() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = crossterm::execute!(out, crossterm::event::DisableMouseCapture);
    }
    let _ = crossterm::execute!(
        out,
        crossterm::event::DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = terminal::disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The worker catches its own panics and reports them on screen;
        // printing here would scribble over the UI.
        let name = std::thread::current().name().map(str::to_string);
        if ACTIVE.load(Ordering::SeqCst) && name.as_deref() != Some("main") {
            return;
        }
        restore_terminal();
        default(info);
    }));
}

/// Where `--demo` keeps its database: `$XDG_DATA_HOME/crmtop/demo.db`, else
/// `~/.local/share/crmtop/demo.db`.
pub fn demo_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("crmtop").join("demo.db")
}

/// Create the demo database on first use.
fn ensure_demo(ctx: &Ctx) -> Result<PathBuf> {
    let path = ctx.global.db.clone().unwrap_or_else(demo_path);
    if path.exists() {
        return Ok(path);
    }
    if ctx.global.read_only {
        return Err(Error::ReadOnly("creating the demo database".into()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::File {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    crate::errln!(
        "crmtop: creating a demo database at {} (first run only)…",
        path.display()
    );
    crate::cli::build_demo(ctx, &path, 5_000, 42)?;
    // A living dashboard from the first start: a churn model and a CLV fit
    // (two seconds at 5,000 customers). Should either fail, the screens say
    // how to make them (R).
    crate::errln!("crmtop: training a first churn model and fitting CLV…");
    let mut s = crate::store::open(&path, crate::store::Mode::ReadWrite)?;
    crate::cli::first_models(ctx, &mut s.conn);
    Ok(path)
}

/// Colours unless NO_COLOR (non-empty), --no-color or theme = "mono".
pub fn use_color(ctx: &Ctx) -> bool {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !ctx.global.no_color && !no_color_env && ctx.config.theme != "mono"
}

/// The screen needs a terminal that can move its cursor: from cron or a
/// pipe, or with TERM=dumb, say what to do instead of failing half-way.
fn check_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::bad(
            "the screen needs a terminal (this looks like cron, a script or a pipe); \
             use a subcommand instead, e.g. `crmtop info`, `crmtop feedback list --json`, \
             `crmtop train` (`crmtop --help` lists them)",
        ));
    }
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        return Err(Error::bad(
            "TERM=dumb cannot draw crmtop's screen; run it in a terminal that moves its cursor \
             (xterm, screen, tmux, any modern one), or use the subcommands (`crmtop --help`)",
        ));
    }
    Ok(())
}

pub fn run(ctx: &Ctx) -> Result<i32> {
    let path = if ctx.global.demo {
        ensure_demo(ctx)?
    } else {
        ctx.db_path()
    };
    let mode = if ctx.global.read_only {
        crate::store::Mode::ReadOnly
    } else {
        crate::store::Mode::ReadWrite
    };
    let server = path.to_str().is_some_and(crate::store::pg::is_url);
    let label = if server {
        // Connect once here so that errors (no server, newer schema) print
        // before the screen is taken over.
        match crate::store::Db::open(&path, mode)? {
            crate::store::Db::Server(pg) => pg.shown.clone(),
            crate::store::Db::File(s) => s.path.display().to_string(),
        }
    } else {
        if !path.exists() {
            return Err(Error::File {
                path,
                message: "no such database; try `crmtop --demo`, or create one with `crmtop demo` or `crmtop import`"
                    .into(),
            });
        }
        // Open once here so that errors (newer schema, not a database) print
        // before the screen is taken over.
        drop(crate::store::open(&path, mode)?);
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    };
    let keymap = Keymap::with_overrides(&ctx.config.keys).map_err(Error::BadInput)?;
    check_terminal()?;
    let mut state = AppState::new(
        label,
        ctx.agent.clone(),
        ctx.global.read_only,
        ctx.mask_pii(),
        use_color(ctx),
        keymap,
        ctx.config.clone(),
    );
    state.config_path = ctx.global.config.clone();
    state.server = server;

    let (tx, rx) = mpsc::channel::<Event>();
    let policy = std::sync::Arc::new(crate::analytics::nba::Policy::from_config(&ctx.config)?);
    let (requests, worker) = worker::spawn(
        path,
        ctx.global.read_only,
        ctx.mask_pii(),
        policy,
        tx.clone(),
    )?;
    let signals = event::spawn_signals(tx.clone())?;

    install_panic_hook();
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = std::io::stdout();
    // Bracketed paste: a paste arrives whole, as text (not keys that act).
    crossterm::execute!(
        out,
        EnterAlternateScreen,
        crossterm::cursor::Hide,
        crossterm::event::EnableBracketedPaste
    )?;
    if ctx.global.mouse {
        MOUSE.store(true, Ordering::SeqCst);
        crossterm::execute!(out, crossterm::event::EnableMouseCapture)?;
    }
    let result = (|| -> Result<i32> {
        let mut terminal = Terminal::new(scroll::ScrollingBackend::new(CrosstermBackend::new(
            std::io::stdout(),
        ))?)?;
        terminal.clear()?;
        event::spawn_input(tx.clone());
        main_loop(&mut terminal, &mut state, &rx, &requests)
    })();
    let _ = requests.send(worker::Request::Shutdown);
    signals.close();
    restore_terminal();
    // A running job is cancelled by the shutdown: wait (a little) for it to
    // roll back and record how it ended, so nothing is left half-done.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !worker.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    result
}

fn send_all(requests: &mpsc::Sender<worker::Request>, fx: Vec<Effect>) {
    for e in fx {
        match e {
            Effect::Request(r) => {
                let _ = requests.send(r);
            }
        }
    }
}

/// Key events to actions, by mode.
fn translate(state: &AppState, ev: CtEvent) -> Vec<Action> {
    match ev {
        CtEvent::Key(k) if k.kind == KeyEventKind::Press => match &state.mode {
            Mode::Filter(_) | Mode::Command(_) | Mode::Prompt(_) => keymap::input_key(&k)
                .map(Action::Input)
                .into_iter()
                .collect(),
            Mode::Confirm(_) => match k.code {
                crossterm::event::KeyCode::Char(c) => {
                    vec![Action::Input(action::InputKey::Char(c))]
                }
                _ => vec![Action::Input(action::InputKey::Cancel)],
            },
            _ => Key::from_event(&k)
                .and_then(|key| state.keymap.lookup(state.screen, &key))
                .into_iter()
                .collect(),
        },
        CtEvent::Resize(w, h) => vec![Action::Resize(w, h)],
        // Pasted text goes into the line being typed, a line break or tab
        // as a space (a break would otherwise submit it); elsewhere it is
        // not taken for keys.
        CtEvent::Paste(text) => match &state.mode {
            Mode::Filter(_) | Mode::Command(_) | Mode::Prompt(_) => pasted(&text),
            _ => vec![],
        },
        CtEvent::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => vec![Action::Down],
            MouseEventKind::ScrollUp => vec![Action::Up],
            _ => vec![],
        },
        _ => vec![],
    }
}

/// A paste as the characters typed into a line: control characters (line
/// breaks, tabs, escapes) as spaces.
fn pasted(text: &str) -> Vec<Action> {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .map(|c| Action::Input(action::InputKey::Char(c)))
        .collect()
}

/// OSC 52: ask the terminal (even over SSH) to put text on the clipboard.
fn copy_osc52(text: &str) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{b64}\x07");
    let _ = out.flush();
}

fn main_loop<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    state: &mut AppState,
    rx: &mpsc::Receiver<Event>,
    requests: &mpsc::Sender<worker::Request>,
) -> Result<i32> {
    let size = terminal.size()?;
    update::update(state, Action::Resize(size.width, size.height));
    state.now = crate::timeutil::now();
    let fx = update::init(state);
    send_all(requests, fx);
    let refresh_every = Duration::from_secs(state.config.refresh_secs);
    let mut next_refresh = Instant::now() + refresh_every;
    let mut dirty = true;
    // Test hook for the reliability tests: CRMTOP_TEST_PANIC=main panics in
    // this loop after the first frame, =worker on the worker thread.
    let test_panic = std::env::var("CRMTOP_TEST_PANIC").unwrap_or_default();
    if test_panic == "worker" {
        let _ = requests.send(worker::Request::Panic);
    }
    let mut frames = 0u64;
    loop {
        if dirty {
            state.now = crate::timeutil::now();
            terminal.draw(|f| views::render(state, f))?;
            dirty = false;
            frames += 1;
            if frames == 2 && test_panic == "main" {
                panic!("a panic requested for testing (CRMTOP_TEST_PANIC=main)");
            }
        }
        if let Some(text) = state.clipboard.take() {
            copy_osc52(&text);
        }
        if state.quit {
            return Ok(0);
        }
        // Animate only while something is in flight; otherwise sleep until
        // the next refresh or event.
        let busy = state.job.is_some()
            || state.customers.loading
            || state.churn.loading
            || state.clv.loading
            || state.dashboard_loading
            || state.queue.loading
            || state.detail.as_ref().is_some_and(|d| d.loading);
        let timeout = if busy {
            Duration::from_millis(200)
        } else if state.status.is_some() {
            // A message on the status line fades on time, idle or not.
            next_refresh
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1))
        } else {
            next_refresh.saturating_duration_since(Instant::now())
        };
        match rx.recv_timeout(timeout) {
            Ok(Event::Input(ev)) => {
                for a in translate(state, ev) {
                    let fx = update::update(state, a);
                    send_all(requests, fx);
                }
                dirty = true;
            }
            Ok(Event::Worker(resp)) => {
                let fx = update::on_response(state, resp);
                send_all(requests, fx);
                dirty = true;
            }
            Ok(Event::Signal(_)) => {
                // SIGHUP (SSH gone), SIGTERM, SIGINT: stop now, cleanly.
                state.quit = true;
            }
            Ok(Event::InputGone(_)) => state.quit = true,
            Ok(Event::Changed) => {
                // Another agent's change (NOTIFY): reload now, at most a few
                // times a second however many arrive.
                let soon = Instant::now() + Duration::from_millis(100);
                if next_refresh > soon {
                    next_refresh = soon;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                state.now = crate::timeutil::now();
                update::update(state, Action::Tick);
                if Instant::now() >= next_refresh {
                    let fx = update::refresh(state);
                    send_all(requests, fx);
                    next_refresh = Instant::now() + refresh_every;
                }
                dirty = true;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_is_typed_whole_with_breaks_and_escapes_as_spaces() {
        let typed = |text: &str| -> String {
            pasted(text)
                .into_iter()
                .map(|a| match a {
                    Action::Input(action::InputKey::Char(c)) => c,
                    other => panic!("not a typed character: {other:?}"),
                })
                .collect()
        };
        assert_eq!(typed("søren\nhansen"), "søren hansen");
        assert_eq!(typed("a\r\nb\tc\x1b[31md"), "a  b c [31md");
        let long = "xy zw ".repeat(250) + "END";
        assert_eq!(typed(&long), long);
    }
}
