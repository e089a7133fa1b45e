//! One channel for everything the main loop waits on: keys, worker replies,
//! signals. The loop blocks on it (with a slow tick), so it never spins.

use super::worker::Response;
use std::sync::mpsc::Sender;

#[derive(Debug)]
pub enum Event {
    Input(crossterm::event::Event),
    Worker(Response),
    /// SIGHUP (the SSH connection dropped) or SIGTERM.
    Signal(i32),
    /// The input thread could not read the terminal any more.
    InputGone(String),
    /// Another agent changed the data (PostgreSQL's NOTIFY): reload now.
    Changed,
}

/// Read terminal events on their own thread.
pub fn spawn_input(tx: Sender<Event>) {
    let _ = std::thread::Builder::new()
        .name("crmtop-input".into())
        .spawn(move || loop {
            match crossterm::event::read() {
                Ok(ev) => {
                    if tx.send(Event::Input(ev)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Event::InputGone(e.to_string()));
                    return;
                }
            }
        });
}

/// Forward SIGHUP, SIGTERM and SIGINT to the loop.
pub fn spawn_signals(tx: Sender<Event>) -> crate::Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGTERM, SIGINT])?;
    let handle = signals.handle();
    let _ = std::thread::Builder::new()
        .name("crmtop-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if tx.send(Event::Signal(sig)).is_err() {
                    return;
                }
            }
        });
    Ok(handle)
}
