//! Whole CSV files imported for real into a fresh database: the first byte
//! picks the kind (customers, orders, feedback, events), the rest is the
//! file. No panic; every row read is inserted, updated, unchanged or
//! rejected; a re-import inserts nothing.
#![no_main]

use crmtop::ingest::{self, ImportOptions, Kind};
use crmtop::jobs::Ctl;
use crmtop::store::{self, Mode};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("crmtop-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("fuzz dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, body)) = data.split_first() else {
        return;
    };
    let kind = match k % 4 {
        0 => Kind::Customers,
        1 => Kind::Orders,
        2 => Kind::Feedback,
        _ => Kind::Events,
    };
    let d = dir();
    let file = d.join("input.csv");
    let db = d.join("fuzz.db");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(d.join(format!("fuzz.db{suffix}")));
    }
    let _ = std::fs::remove_file(d.join("rejects.csv"));
    std::fs::write(&file, body).expect("write input");
    let mut s = store::open(&db, Mode::ReadWrite).expect("open db");
    let mut opts = ImportOptions::new(kind, &file);
    opts.reject_file = Some(d.join("rejects.csv"));
    opts.agent = "fuzz".into();
    match ingest::import(&mut s.conn, &opts, Ctl::silent()) {
        Ok(r) => {
            assert_eq!(r.read, r.inserted + r.updated + r.unchanged + r.rejected);
            let again = ingest::import(&mut s.conn, &opts, Ctl::silent()).expect("re-import");
            assert_eq!(again.inserted, 0);
            assert_eq!(again.rejected, r.rejected);
        }
        // Unreadable files are refused with a reason; nothing else may fail.
        Err(crmtop::Error::File { .. }) => {}
        Err(e) => panic!("unexpected error: {e}"),
    }
});
