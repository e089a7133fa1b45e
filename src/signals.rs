//! SIGINT, SIGTERM and SIGHUP ask the running job to stop: the first signal
//! sets a flag that long work checks (it then rolls back and exits 130); a
//! second one ends the process at once. SIGUSR1 only asks (see below).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The process-wide cancel flag, with the signal handlers installed on first use.
pub fn cancel_flag() -> &'static AtomicBool {
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            // A second signal while the flag is already set exits immediately.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag));
            let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
        }
        // SIGUSR1: the UI that started this job is gone (its parent-death
        // signal, see tui::child). It can arrive several times, once for
        // each of the dying UI's threads the job is handed to, so it only
        // cancels and never ends the process at once.
        let _ = signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&flag));
        flag
    })
}
