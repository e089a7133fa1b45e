use clap::Parser;
use crmtop::cli::{self, Cli, Ctx};

fn main() {
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
