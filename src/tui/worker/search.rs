//! The live filter's search index, shared by the worker's threads.

use crate::store::search::{Hits, SearchIndex};
use crate::store::{self, dashboard, Mode};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A search's text, the index it ran on, and its matches.
type LastSearch = (String, Arc<SearchIndex>, Arc<Hits>);

/// The live filter's search index, shared by the worker's threads and
/// rebuilt in the background when the data version moves on.
#[derive(Default)]
pub struct SearchCache {
    /// `--mask-pii`: ids only (see `SearchIndex::build_fields`).
    pub ids_only: AtomicBool,
    index: std::sync::Mutex<Option<Arc<SearchIndex>>>,
    /// Held while building, so two threads never build at once.
    build: std::sync::Mutex<()>,
    rebuilding: AtomicBool,
    /// The last search: its text, the index it ran on, its matches. Held
    /// while searching, so the page and the count of one keystroke share it.
    pub(super) last: std::sync::Mutex<Option<LastSearch>>,
}

impl SearchCache {
    pub(super) fn current(&self) -> Option<Arc<SearchIndex>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn build_with(&self, conn: &crate::store::Conn) -> crate::Result<Arc<SearchIndex>> {
        let version = dashboard::data_version(conn)?;
        self.build_at(version, |ids_only| {
            SearchIndex::build_fields(conn, ids_only)
        })
    }

    /// The index of data version `version`: the current one if it is of
    /// that version, else one `make` builds (given `ids_only`).
    pub(super) fn build_at(
        &self,
        version: i64,
        make: impl FnOnce(bool) -> crate::Result<SearchIndex>,
    ) -> crate::Result<Arc<SearchIndex>> {
        let _g = self.build.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = self.current().filter(|i| i.version == version) {
            return Ok(i);
        }
        let idx = Arc::new(make(self.ids_only.load(Ordering::Relaxed))?);
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&idx));
        Ok(idx)
    }

    /// Build (or rebuild) from a file on a thread of its own; the current
    /// index, if any, keeps answering meanwhile.
    pub fn build_in_background(self: &Arc<Self>, path: PathBuf) {
        self.in_background(move |me| {
            if let Ok(s) = store::open(&path, Mode::ReadOnly) {
                let _ = me.build_with(&s.conn);
            }
        });
    }

    /// Build from the server at `url`, likewise, a second after it is
    /// asked for. Asked for at the first list shown, the build streams
    /// every customer beside the next screens' first pages: at 1M, the
    /// first churn page took 371 ms beside it (60-140 ms alone), and the
    /// CLV page asked next waited behind it. A filter typed meanwhile
    /// builds it at once itself (`build_at`; the build lock makes one wait
    /// for the other).
    pub(super) fn build_on_server_in_background(self: &Arc<Self>, url: String) {
        use crate::store::pg;
        self.in_background(move |me| {
            std::thread::sleep(std::time::Duration::from_secs(1));
            if let Ok(conn) = pg::Pg::connect(&url, true) {
                if let Ok(version) = pg::data_version(&conn) {
                    let _ = me.build_at(version, |ids_only| pg::search::build(&conn, ids_only));
                }
            }
        });
    }

    fn in_background(self: &Arc<Self>, build: impl FnOnce(&SearchCache) + Send + 'static) {
        if self.rebuilding.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("crmtop-search".into())
            .spawn(move || {
                lowest_priority();
                let _ = catch_unwind(AssertUnwindSafe(|| build(&me)));
                me.rebuilding.store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.rebuilding.store(false, Ordering::SeqCst);
        }
    }

    /// `text`'s matches in `idx`. Held during the search: the page (one
    /// thread) and the count (the counter's) ask for the same text at
    /// once; the second waits for the first's answer instead of searching
    /// again beside it (two searches on two cores took twice as long
    /// each).
    pub(super) fn search(&self, idx: Arc<SearchIndex>, text: &str, version: i64) -> Arc<Hits> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, i, h)) = last.as_ref() {
            if t == text && Arc::ptr_eq(i, &idx) {
                return Arc::clone(h);
            }
        }
        let t0 = std::time::Instant::now();
        let h = Arc::new(idx.search(text));
        let stale = idx.version != version;
        super::trace(|| {
            format!(
                "{:>9.2} ms  search of {} chars: {} matches{}",
                t0.elapsed().as_secs_f64() * 1e3,
                text.chars().count(),
                h.len(),
                if stale { " (index being rebuilt)" } else { "" }
            )
        });
        *last = Some((text.to_string(), idx, Arc::clone(&h)));
        h
    }
}

/// This thread at the lowest CPU priority (nice 19; Linux schedules
/// threads one by one): an index built in the background yields to the
/// screens' own work. On a server, the backend that streams the rows
/// then waits for this thread too (1M customers at start: the first
/// churn page took 1.5 s beside the build, 0.1 s alone).
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this thread's own id; a refusal only
    // leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}
