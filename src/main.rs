use clap::Parser;
use crmtop::cli::{self, Cli, Ctx};

fn main() {
    // `crmtop export customers | head` ends quietly when head is done, as
    // Unix tools do, instead of panicking on the closed pipe. A job the UI
    // runs (CRMTOP_PROGRESS=json) keeps ignoring SIGPIPE: if the UI is
    // killed, the job must live on to its cancel and rollback.
    if std::env::var("CRMTOP_PROGRESS").as_deref() != Ok("json") {
        // SAFETY: setting a signal disposition before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let args = Cli::parse();
    let code = match Ctx::new(args.global.clone()) {
        Err(e) => {
            eprintln!("crmtop: {e}");
            e.exit_code()
        }
        Ok(ctx) => {
            let result = match args.command {
                Some(cmd) => cli::run(cmd, &ctx),
                None => crmtop::tui::run(&ctx),
            };
            match result {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("crmtop: {e}");
                    e.exit_code()
                }
            }
        }
    };
    std::process::exit(code);
}

/// mimalloc: the CSV importer allocates row values on its reader thread and
/// frees them on the writer thread, which glibc's allocator handles poorly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
